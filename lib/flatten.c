/*
 * Flatten: (channels, height, width) samples become rows of
 * channels * height * width features. Rows are already laid out that way,
 * so there is nothing to move: the model gives this layer its input buffer
 * as its output, and the copies below only run when it is used alone.
 */
#include <string.h>

#include "internal.h"

static int flatten_bind(const tnn_layer *layer, const char *func,
                        const struct tnn__shape *in, struct tnn__shape *out)
{
    (void)layer;
    (void)func;
    *out = (struct tnn__shape){1, {tnn__shape_size(in)}, 0};
    return TNN_OK;
}

static void flatten_forward(tnn_layer *layer, const float *in, float *out,
                            size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    if (out != in)
        memcpy(out, in, n * layer->in_features * sizeof *out);
}

static void flatten_backward(tnn_layer *layer, const float *in,
                             const float *out, const float *dout, float *din,
                             size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    (void)accumulate;
    if (din && din != dout)
        memcpy(din, dout, n * layer->in_features * sizeof *din);
}

/* ONNX: Flatten from axis 1, the batch kept as the rows. */
static void flatten_onnx_node(const tnn_layer *layer,
                              struct tnn__onnx_node *node)
{
    (void)layer;
    *node = (struct tnn__onnx_node){
        .op = "Flatten",
        .nattrs = 1,
        .attrs = {{.name = "axis", .type = TNN__ONNX_ATTR_IS_INT, .i = 1}},
    };
}

const struct tnn__layer_ops tnn__flatten_ops = {
    .kind = TNN_LAYER_FLATTEN,
    .name = "flatten",
    .bind = flatten_bind,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .aliases_input = true,
    .since_format = 2,
    .onnx_node = flatten_onnx_node,
};

tnn_layer *tnn_flatten_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__flatten_ops, 0, 0, 0);
}
