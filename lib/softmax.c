/*
 * Softmax over each row, or over each time step's features of a (time,
 * features) sample, as PyTorch's softmax(dim=-1) and ONNX's Softmax with
 * axis -1 compute it. Followed by cross-entropy in a model, the model
 * fuses the two and this layer only runs for predictions.
 */
#include <math.h>

#include "internal.h"

/* The values normalised together: a time step's features in a sequence,
 * the whole row otherwise. */
static size_t group_width(const tnn_layer *layer)
{
    return layer->in_shape.ndim == 2 ? layer->in_shape.dims[1]
                                     : layer->in_features;
}

static void softmax_forward(tnn_layer *layer, const float *in, float *out,
                            size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    const size_t k = group_width(layer);
    n *= layer->in_features / k;
    for (size_t r = 0; r < n; r++) {
        const float *x = in + r * k;
        float *y = out + r * k;
        /* Subtracting the row maximum keeps exp() from overflowing. The
         * maximum may pass over a NaN, but exp() of it makes the sum, and
         * so the whole row, NaN. */
        float max = x[0];
        for (size_t j = 1; j < k; j++)
            max = x[j] > max ? x[j] : max;
        double sum = 0.0;
        for (size_t j = 0; j < k; j++) {
            y[j] = expf(x[j] - max);
            sum += y[j];
        }
        float scale = (float)(1.0 / sum);
        for (size_t j = 0; j < k; j++)
            y[j] *= scale;
    }
}

/* dx_j = y_j * (dy_j - sum_i dy_i y_i) */
static void softmax_backward(tnn_layer *layer, const float *in,
                             const float *out, const float *dout, float *din,
                             size_t n, bool accumulate)
{
    (void)in;
    (void)accumulate;
    if (!din)
        return;
    const size_t k = group_width(layer);
    n *= layer->in_features / k;
    for (size_t r = 0; r < n; r++) {
        const float *y = out + r * k, *dy = dout + r * k;
        double dot = 0.0;
        for (size_t j = 0; j < k; j++)
            dot += (double)dy[j] * y[j];
        for (size_t j = 0; j < k; j++)
            din[r * k + j] = y[j] * (dy[j] - (float)dot);
    }
}

/* ONNX: Softmax over the last axis, which is each row's or each time
 * step's (the default axis differs between operator sets, so it is
 * written). Over an image's last axis it would normalise each image row,
 * not the whole image as the layer does. */
static void softmax_onnx_node(const tnn_layer *layer,
                              struct tnn__onnx_node *node)
{
    if (layer->in_shape.ndim == 3) {
        node->refusal = "it normalises whole images, and ONNX's Softmax over "
                        "the last axis would normalise each image row";
        return;
    }
    *node = (struct tnn__onnx_node){
        .op = "Softmax",
        .nattrs = 1,
        .attrs = {{.name = "axis", .type = TNN__ONNX_ATTR_IS_INT, .i = -1}},
    };
}

const struct tnn__layer_ops tnn__softmax_ops = {
    .kind = TNN_LAYER_SOFTMAX,
    .name = "softmax",
    .forward = softmax_forward,
    .backward = softmax_backward,
    .fuses_with_cross_entropy = true,
    .since_format = 1,
    .onnx_node = softmax_onnx_node,
};

tnn_layer *tnn_softmax_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__softmax_ops, 0, 0, 0);
}
