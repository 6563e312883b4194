/*
 * conv2d's oneDNN backend (conv2d_dnnl.c, built with TNN_HAVE_DNNL): the
 * forward pass, the weight and bias gradient and the input gradient of a
 * convolution layer as oneDNN primitives, for conv2d.c alone. Nothing here
 * is part of the public API or ABI.
 */
#ifndef TINYNN_CONV2D_DNNL_H
#define TINYNN_CONV2D_DNNL_H

#include <stdbool.h>
#include <stddef.h>

/* The geometry of one image's convolution; padding after the last row or
 * column follows from the others (Keras's same padding puts the odd pixel
 * there). */
struct tnn__conv_shape {
    size_t in_ch, out_ch, h, w, kh, kw, oh, ow, stride, pad_top, pad_left;
};

struct tnn__dnnl_conv;

/* tnn__dnnl_conv_reserve's answer when oneDNN makes no primitive for the
 * geometry (or fails inside): the caller takes the CBLAS path. Not a
 * TNN_E_* code, and no message is recorded. */
#define TNN__DNNL_UNSUPPORTED 1

/* Make the primitives for batches of n images (creating *conv on the first
 * call) and the buffers they need, from the library's allocator. TNN_OK;
 * TNN_E_NOMEM with the message recorded for func; or
 * TNN__DNNL_UNSUPPORTED. On failure *conv is kept as it was (or NULL). */
int tnn__dnnl_conv_reserve(struct tnn__dnnl_conv **conv, const char *func,
                           const struct tnn__conv_shape *shape, size_t n);

/* out (n x out_ch x oh x ow) from in (n x in_ch x h x w), the OIHW weights
 * w and the biases b. False, having written nothing the caller relies on,
 * when the primitives for n could not be made now: the caller computes it
 * another way. */
bool tnn__dnnl_conv_forward(struct tnn__dnnl_conv *conv, const float *in,
                            const float *w, const float *b, float *out,
                            size_t n);

/* After a forward of the same n images (whose input may be kept): the
 * weight and bias gradients dw, db (added to when accumulate, else
 * overwritten) and, unless din is NULL, the input gradient. False, having
 * written nothing, as tnn__dnnl_conv_forward. */
bool tnn__dnnl_conv_backward(struct tnn__dnnl_conv *conv, const float *in,
                             const float *w, const float *dout, float *dw,
                             float *db, float *din, size_t n, bool accumulate);

struct tnn__blocked; /* internal.h */

/* As tnn__dnnl_conv_forward, but leaving the output in oneDNN's layout
 * with the channels in blocks (n x out_ch / block x oh x ow x block) in a
 * buffer of conv's, *out set; out->grad is the buffer that
 * tnn__dnnl_conv_backward_blocked reads the output gradient from in the
 * same layout. Both stay valid until the next call on conv. A model's
 * ReLU and pooling pass reads and writes them instead of NCHW copies.
 * False, having written nothing, when the primitives for n use no such
 * layout (slot->block in conv2d_dnnl.c; answered without running anything
 * once they are made) or could not be made now: the caller runs
 * tnn__dnnl_conv_forward. */
bool tnn__dnnl_conv_forward_blocked(struct tnn__dnnl_conv *conv,
                                    const float *in, const float *w,
                                    const float *b, size_t n,
                                    struct tnn__blocked *out);

/* tnn__dnnl_conv_backward after tnn__dnnl_conv_forward_blocked of the
 * same n images, with the output gradient in its grad buffer. False as
 * tnn__dnnl_conv_backward, the gradient left in place. */
bool tnn__dnnl_conv_backward_blocked(struct tnn__dnnl_conv *conv,
                                     const float *in, const float *w,
                                     float *dw, float *db, float *din,
                                     size_t n, bool accumulate);

/* That blocked output gradient of n images (out, as the forward set it)
 * into dout in NCHW, for another way to the gradients when the blocked
 * backward fails. */
void tnn__dnnl_conv_unblock_grad(const struct tnn__dnnl_conv *conv, size_t n,
                                 const struct tnn__blocked *out, float *dout);

/* Free everything; NULL does nothing. */
void tnn__dnnl_conv_free(struct tnn__dnnl_conv *conv);

#endif /* TINYNN_CONV2D_DNNL_H */
