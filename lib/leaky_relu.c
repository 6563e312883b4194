/*
 * Leaky ReLU: x where x > 0, slope * x elsewhere, as PyTorch's LeakyReLU
 * and Keras' LeakyReLU compute it. Its backward reads the input, not the
 * output, so that any slope (0 and negative ones too) gives the right
 * gradient.
 */
#include <math.h>

#include "internal.h"

/* As ReLU's: below this many values a thread, waking another costs more
 * than it saves. */
#define LEAKY_MIN_PER_THREAD ((size_t)1 << 18)

struct leaky_relu {
    float slope;
};

struct leaky_pass {
    float slope;
    const float *x;    /* the input */
    const float *dout; /* backward only */
    float *y;          /* forward: the output; backward: the input gradient */
};

/* "x > 0" keeps x; a NaN falls to slope * NaN, which is NaN: a broken
 * input shows in the output. */
TNN_VECTOR_CLONES
static void leaky_forward_range(void *arg, size_t begin, size_t end)
{
    const struct leaky_pass *pass = arg;
    for (size_t i = begin; i < end; i++) {
        float x = pass->x[i];
        pass->y[i] = x > 0.0f ? x : pass->slope * x;
    }
}

/* The derivative is 1 above 0 and slope at and below it (PyTorch's choice
 * at 0); a NaN input gives a NaN gradient. */
TNN_VECTOR_CLONES
static void leaky_backward_range(void *arg, size_t begin, size_t end)
{
    const struct leaky_pass *pass = arg;
    for (size_t i = begin; i < end; i++) {
        float x = pass->x[i], g = pass->dout[i];
        float d = x > 0.0f ? g : pass->slope * g;
        pass->y[i] = isnan(x) ? x : d;
    }
}

static void leaky_forward(tnn_layer *layer, const float *in, float *out,
                          size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    const struct leaky_relu *l = layer->impl;
    struct leaky_pass pass = {l->slope, in, NULL, out};
    tnn__parallel_for(n * layer->in_features, LEAKY_MIN_PER_THREAD,
                      leaky_forward_range, &pass);
}

static void leaky_backward(tnn_layer *layer, const float *in, const float *out,
                           const float *dout, float *din, size_t n,
                           bool accumulate)
{
    (void)out;
    (void)accumulate;
    if (!din)
        return;
    const struct leaky_relu *l = layer->impl;
    struct leaky_pass pass = {l->slope, in, dout, din};
    tnn__parallel_for(n * layer->in_features, LEAKY_MIN_PER_THREAD,
                      leaky_backward_range, &pass);
}

/* ---- model files: the slope ----------------------------------------- */

static void leaky_save_config(const tnn_layer *layer, uint32_t version,
                              uint32_t *words)
{
    (void)version;
    words[0] =
        tnn__float_word(((const struct leaky_relu *)layer->impl)->slope);
}

static tnn_layer *leaky_load_config(const struct tnn__layer_record *record,
                                    uint32_t version)
{
    (void)version;
    return tnn_leaky_relu_new(tnn__word_float(record->config[0]));
}

/* ---- ONNX: LeakyRelu, whose alpha is the slope ---------------------- */

static void leaky_onnx_node(const tnn_layer *layer,
                            struct tnn__onnx_node *node)
{
    const struct leaky_relu *l = layer->impl;
    *node = (struct tnn__onnx_node){
        .op = "LeakyRelu",
        .nattrs = 1,
        .attrs = {{.name = "alpha",
                   .type = TNN__ONNX_ATTR_IS_FLOAT,
                   .f = l->slope}},
    };
}

const struct tnn__layer_ops tnn__leaky_relu_ops = {
    .kind = TNN_LAYER_LEAKY_RELU,
    .name = "leaky_relu",
    .forward = leaky_forward,
    .backward = leaky_backward,
    .since_format = 3,
    .config_words = 1,
    .save_config = leaky_save_config,
    .load_config = leaky_load_config,
    .onnx_node = leaky_onnx_node,
};

tnn_layer *tnn_leaky_relu_new(float slope)
{
    if (!isfinite(slope)) {
        tnn__fail(TNN_E_INVALID, __func__, "slope is %g; it must be finite",
                  (double)slope);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__leaky_relu_ops, 0, 0,
                                        sizeof(struct leaky_relu));
    if (layer)
        ((struct leaky_relu *)layer->impl)->slope = slope;
    return layer;
}
