/*
 * The floors' matrix products, on the engine the library's dense layers
 * use (products.c): oneDNN's matmul in a build with it, cblas_sgemm
 * otherwise.
 */
#ifndef TINYNN_BENCH_PRODUCTS_H
#define TINYNN_BENCH_PRODUCTS_H

#include <stdbool.h>

/* C (m x n) = op(A) op(B) + beta C, row-major, beta 0 or 1, where op
 * transposes when ta / tb is set; on one thread below 2^23 multiply-adds,
 * as the library runs them. */
void product(bool ta, bool tb, int m, int n, int k, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc);

/* Forget the shapes product() has prepared (their primitives). */
void product_reset(void);

/* What product() runs on, e.g. "oneDNN matmul (brg:avx512_core)". */
const char *product_engine(void);

#endif
