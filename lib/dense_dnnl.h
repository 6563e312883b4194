/*
 * dense's oneDNN backend (dense_dnnl.c, built with TNN_HAVE_DNNL): the
 * three products of a dense layer as oneDNN matrix-multiplication
 * primitives, for dense.c and the attention's two projections
 * (attention.c). Nothing here is part of the public API or ABI.
 */
#ifndef TINYNN_DENSE_DNNL_H
#define TINYNN_DENSE_DNNL_H

#include <stdbool.h>
#include <stddef.h>

struct tnn__dnnl_dense;

/* tnn__dnnl_dense_reserve's answer when oneDNN makes no primitive for the
 * shape (or fails inside): the caller takes the CBLAS path. Not a TNN_E_*
 * code, and no message is recorded. */
#define TNN__DNNL_DENSE_UNSUPPORTED 1

/* Make the primitives for batches of n rows of a layer of in inputs and
 * out outputs (creating *dense on the first call) and the scratchpad they
 * need, from the library's allocator. The weights w are (in, out)
 * row-major, dense's layout, or with out_in (out, in), PyTorch's Linear
 * layout that the attention's projections keep; out_in is fixed by the
 * first call. TNN_OK; TNN_E_NOMEM with the message recorded for func; or
 * TNN__DNNL_DENSE_UNSUPPORTED. On failure *dense is kept as it was (or
 * NULL). */
int tnn__dnnl_dense_reserve(struct tnn__dnnl_dense **dense, const char *func,
                            size_t in, size_t out, bool out_in, size_t n);

/* y (n x out) = x (n x in) w (in x out, or its transpose stored as out x
 * in) + b, making the primitives for n
 * if they are not ready. False, having written nothing the caller relies
 * on, when they could not be made now: the caller computes it another
 * way. */
bool tnn__dnnl_dense_forward(struct tnn__dnnl_dense *dense, const float *x,
                             const float *w, const float *b, float *y,
                             size_t n);

/* dw = x^T dy (or dy^T x for (out, in) weights; added to when accumulate,
 * else overwritten) and, unless dx is NULL, dx = dy w^T (dy w). The bias
 * gradient stays with the caller. False when the primitives for n could not be
 * made or one of them refused to run (oneDNN checks its arguments before it
 * computes, so dw has not been added to): the caller computes both again. */
bool tnn__dnnl_dense_backward(struct tnn__dnnl_dense *dense, const float *x,
                              const float *w, const float *dy, float *dw,
                              float *dx, size_t n, bool accumulate);

/* Free everything; NULL does nothing. */
void tnn__dnnl_dense_free(struct tnn__dnnl_dense *dense);

#endif /* TINYNN_DENSE_DNNL_H */
