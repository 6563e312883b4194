#!/usr/bin/env python3
"""Coefficients of lib/gelu.c's erfc: erfc(a) = t * R(t) * exp(-a^2) for
a >= 0, t = 1 / (1 + P a), R a polynomial of degree DEGREE in t, fitted by
least squares on Chebyshev nodes of t in (0, 1] with weights 1 / R (so
that the error is relative), then written in powers of t. Needs numpy and
scipy (python3-scipy); run by hand when the form changes:
    python3 scripts/fit-erfc.py
It prints the coefficients, the split of ln 2 for the exponential, and the
largest relative error of R against scipy's erfcx over a fine grid."""
from decimal import Decimal, getcontext
import struct

import numpy as np
from numpy.polynomial import chebyshev as cheb
from numpy.polynomial import polynomial as poly
from scipy.special import erfcx

P = 0.3
DEGREE = 16


def fit():
    t = np.cos(np.linspace(0, np.pi, 20000)) * 0.5 + 0.5
    t = t[t > 1e-7]
    a = (1 / t - 1) / P
    r = erfcx(a) / t
    c = cheb.chebfit(2 * t - 1, r, DEGREE, w=1 / r)
    in_u = cheb.cheb2poly(c)
    in_t = np.zeros(1)
    for k, ck in enumerate(in_u):  # u = 2 t - 1
        in_t = poly.polyadd(in_t, ck * poly.polypow([-1, 2], k))
    return in_t


def ln2_split():
    """ln 2 as hi + lo, hi with its low 32 bits of mantissa zero, so that
    k * hi is exact for |k| < 2^20."""
    getcontext().prec = 50
    ln2 = Decimal(2).ln()
    bits = struct.unpack("<Q", struct.pack("<d", float(ln2)))[0]
    hi = struct.unpack("<d", struct.pack("<Q", bits & ~((1 << 32) - 1)))[0]
    return hi, float(ln2 - Decimal(hi))


def main():
    coeffs = fit()
    for k, ck in enumerate(coeffs):
        print("    %.17e, /* t^%d */" % (ck, k))
    hi, lo = ln2_split()
    print("ln2 hi %.17e lo %.17e" % (hi, lo))
    tt = np.linspace(1e-6, 1, 1000001)
    a = (1 / tt - 1) / P
    r = np.zeros_like(tt)
    for ck in coeffs[::-1]:
        r = r * tt + ck
    print("largest relative error %.2e" % np.max(np.abs(r * tt / erfcx(a) - 1)))


if __name__ == "__main__":
    main()
