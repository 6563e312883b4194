/*
 * Float e^x, logistic sigmoid and tanh for the library's elementwise
 * loops, built from additions, multiplications, selects and bit steps
 * only. Unlike expf() and tanhf(), which are calls, loops of these
 * vectorise (TNN_VECTOR_CLONES); and since the library is built with
 * -ffp-contract=off, every ISA variant and a scalar evaluation give the
 * same bits. Their accuracy, measured against double-precision libm over
 * every seventh float in [-100, 100]: tnn__exp_nonpositive within 1 ulp,
 * tnn__sigmoid within 2.4 ulp (the formula 1 / (1 + expf(-x)) with
 * glibc's expf: 2.5), tnn__tanh within 1.5 ulp (glibc's tanhf: 2.2).
 * tests/test_layers.c checks the sigmoid and tanh layers, which use them,
 * against libm over a dense sweep.
 */
#ifndef TINYNN_VECMATH_H
#define TINYNN_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* e^x for x <= 0: Cody and Waite's reduction to x = n ln 2 + r,
 * |r| <= ln 2 / 2, and Cephes's polynomial for e^r, scaled by 2^n
 * through the exponent bits. Below -87 it gives 0 (e^x < 2^-125: no
 * subnormal results); a NaN stays NaN. */
static inline float tnn__exp_nonpositive(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float shifter = 12582912.0f; /* 1.5 2^23: rounds to integers */
    const float t = x * log2e + shifter;
    const float n = t - shifter;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    float r = x - n * ln2_hi;
    r = r - n * ln2_lo;
    float poly = 1.9875691500e-4f;
    poly = poly * r + 1.3981999507e-3f;
    poly = poly * r + 8.3334519073e-3f;
    poly = poly * r + 4.1665795894e-2f;
    poly = poly * r + 1.6666665459e-1f;
    poly = poly * r + 5.0000001201e-1f;
    const float y = poly * (r * r) + r + 1.0f;
    /* n + 127 in the exponent field: the low bits of t hold n. */
    const uint32_t scale_bits = (bits - 0x4b400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return x < -87.0f ? 0.0f : y * scale;
}

/* 1 / (1 + e^-x), from e = e^-|x| so that the exponential never
 * overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below. Exactly 0 below
 * -87 (where it would be under 2^-125), 1 at +infinity, NaN for NaN. */
static inline float tnn__sigmoid(float x)
{
    const float e = tnn__exp_nonpositive(-fabsf(x));
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

/* tanh x, odd: for |x| < 0.625 |x| + |x|^3 P(x^2), P of degree 4 fitted
 * by scripts/fit-tanh.py (where (1 - e) / (1 + e) would lose the low
 * bits of 1 - e), else (1 - e) / (1 + e) with e = e^(-2|x|), which
 * rounds to 1 from |x| of about 8.7 (a correctly rounded tanh from 9.0,
 * within 1 ulp until then); the sign copied back (tanh -0 is -0). */
static inline float tnn__tanh(float x)
{
    const float a = fabsf(x), z = a * a;
    const float e = tnn__exp_nonpositive(-2.0f * a);
    const float large = (1.0f - e) / (1.0f + e);
    float p = -5.691975821e-03f;
    p = p * z + 2.062628232e-02f;
    p = p * z - 5.373531580e-02f;
    p = p * z + 1.333138198e-01f;
    p = p * z - 3.333328068e-01f;
    const float small = a + a * z * p;
    return copysignf(a < 0.625f ? small : large, x);
}

#endif /* TINYNN_VECMATH_H */
