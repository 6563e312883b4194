#!/usr/bin/env python3
"""Coefficients of lib/vecmath.h's tanh for |x| < LIMIT:
tanh(x) = x + x^3 P(x^2), P a polynomial of degree DEGREE in z = x^2,
fitted by least squares on Chebyshev nodes of z in (0, LIMIT^2] with
weights x^3 / tanh(x) (so that the error is relative to tanh), then
written in powers of z and rounded to float. Needs numpy; run by hand
when the form changes:
    python3 scripts/fit-tanh.py
It prints the coefficients (highest power first, as the Horner steps use
them) and the largest error, in units of the last place, of the float
evaluation against numpy's double tanh over a fine grid."""
import numpy as np
from numpy.polynomial import chebyshev as cheb
from numpy.polynomial import polynomial as poly

LIMIT = 0.625
DEGREE = 4


def fit():
    top = LIMIT * LIMIT
    z = (np.cos(np.linspace(0, np.pi, 20001)) * 0.5 + 0.5) * top
    z = z[z > 1e-12]
    x = np.sqrt(z)
    p = (np.tanh(x) - x) / x**3
    c = cheb.chebfit(2 * z / top - 1, p, DEGREE, w=x**3 / np.tanh(x))
    in_u = cheb.cheb2poly(c)
    in_z = np.zeros(1)
    for k, ck in enumerate(in_u):  # u = 2 z / top - 1
        in_z = poly.polyadd(in_z, ck * poly.polypow([-1, 2 / top], k))
    return in_z.astype(np.float32)


def evaluate(coeffs, x):
    z = x * x
    p = np.zeros_like(x)
    for ck in coeffs[::-1]:
        p = (p * z + ck).astype(np.float32)
    return (x + (x * z).astype(np.float32) * p).astype(np.float32)


def main():
    coeffs = fit()
    for k in range(len(coeffs) - 1, -1, -1):
        print("    %.9e /* z^%d */" % (coeffs[k], k))
    x = np.linspace(1e-6, LIMIT, 1000001).astype(np.float32)
    want = np.tanh(x.astype(np.float64))
    ulp = np.spacing(want.astype(np.float32)).astype(np.float64)
    worst = np.max(np.abs(evaluate(coeffs, x) - want) / ulp)
    print("largest error %.3f ulp" % worst)


if __name__ == "__main__":
    main()
