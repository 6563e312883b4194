/*
 * Elementwise activations. Each backward uses the forward's output, which
 * the model keeps, so these layers store nothing. A final sigmoid under
 * binary cross-entropy is fused into the loss (as softmax is into
 * cross-entropy): its backward then never runs in training.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "vecmath.h"

static size_t count(const tnn_layer *layer, size_t n)
{
    return n * layer->in_features;
}

/* Below this many elements per thread, waking another thread costs more
 * than it saves: 20-80 us when it has gone to sleep, against about 0.15
 * ns a value here (bench_sweep, 2 threads, width 64 at batch 1024: a step
 * took 346 us with ReLU split at 2^15 values a thread, 290 us on one).
 * Above it the values mostly come from a product split over the threads,
 * half of them in each one's caches: width 64 at batch 4096 (2^18
 * values), predict took 183-188 us split against 196-200 us on one
 * thread, a step 726-761 us against 782-794 us, in turns. Halved in a
 * step whose products ran on OpenMP's threads (tnn__spread_min()). */
#define RELU_MIN_PER_THREAD ((size_t)1 << 16)

/* What a ReLU pass reads and writes; each thread takes a range. */
struct relu_pass {
    const float *x; /* forward: the input; backward: the output */
    const float *dout;
    float *y; /* forward: the output; backward: the input gradient */
};

/* ReLU runs over every hidden unit at every step: TNN_VECTOR_CLONES
 * builds its loops for wider vector units too, where the select that
 * keeps a NaN costs no more than the plain one. */
TNN_VECTOR_CLONES
static void relu_forward_range(void *arg, size_t begin, size_t end)
{
    const struct relu_pass *pass = arg;
    const float *in = pass->x;
    float *out = pass->y;
    for (size_t i = begin; i < end; i++)
        out[i] = tnn__relu(in[i]);
}

TNN_VECTOR_CLONES
static void relu_backward_range(void *arg, size_t begin, size_t end)
{
    const struct relu_pass *pass = arg;
    const float *out = pass->x, *dout = pass->dout;
    float *din = pass->y;
    /* dout is read whether or not it is kept: selects, not branches on
     * the sign of every element, so that the loop vectorises. Where the
     * output is NaN the derivative is undefined and the gradient NaN;
     * elsewhere at or below 0 nothing passes, not even a NaN dout. */
    for (size_t i = begin; i < end; i++)
        din[i] = tnn__relu_gradient(out[i], dout[i]);
}

static void relu_forward(tnn_layer *layer, const float *in, float *out,
                         size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    struct relu_pass pass = {in, NULL, out};
    tnn__parallel_for(count(layer, n), tnn__spread_min(RELU_MIN_PER_THREAD),
                      relu_forward_range, &pass);
}

static void relu_backward(tnn_layer *layer, const float *in, const float *out,
                          const float *dout, float *din, size_t n,
                          bool accumulate)
{
    (void)in;
    (void)accumulate;
    if (!din)
        return;
    struct relu_pass pass = {out, dout, din};
    tnn__parallel_for(count(layer, n), tnn__spread_min(RELU_MIN_PER_THREAD),
                      relu_backward_range, &pass);
}

static void sigmoid_forward(tnn_layer *layer, const float *in, float *out,
                            size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    for (size_t i = 0, c = count(layer, n); i < c; i++)
        out[i] = tnn__sigmoid(in[i]);
}

static void sigmoid_backward(tnn_layer *layer, const float *in,
                             const float *out, const float *dout, float *din,
                             size_t n, bool accumulate)
{
    (void)in;
    (void)accumulate;
    if (!din)
        return;
    for (size_t i = 0, c = count(layer, n); i < c; i++)
        din[i] = dout[i] * out[i] * (1.0f - out[i]);
}

static void tanh_forward(tnn_layer *layer, const float *in, float *out,
                         size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    for (size_t i = 0, c = count(layer, n); i < c; i++)
        out[i] = tnn__tanh(in[i]);
}

static void tanh_backward(tnn_layer *layer, const float *in, const float *out,
                          const float *dout, float *din, size_t n,
                          bool accumulate)
{
    (void)in;
    (void)accumulate;
    if (!din)
        return;
    for (size_t i = 0, c = count(layer, n); i < c; i++)
        din[i] = dout[i] * (1.0f - out[i] * out[i]);
}

static void identity_forward(tnn_layer *layer, const float *in, float *out,
                             size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    if (out != in)
        memcpy(out, in, count(layer, n) * sizeof *out);
}

static void identity_backward(tnn_layer *layer, const float *in,
                              const float *out, const float *dout, float *din,
                              size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    (void)accumulate;
    if (din && din != dout)
        memcpy(din, dout, count(layer, n) * sizeof *din);
}

/* ---- ONNX: the operators of the same names, without attributes ------ */

static void relu_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    (void)layer;
    node->op = "Relu";
}

static void sigmoid_onnx_node(const tnn_layer *layer,
                              struct tnn__onnx_node *node)
{
    (void)layer;
    node->op = "Sigmoid";
}

static void tanh_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    (void)layer;
    node->op = "Tanh";
}

static void identity_onnx_node(const tnn_layer *layer,
                               struct tnn__onnx_node *node)
{
    (void)layer;
    node->op = "Identity";
}

const struct tnn__layer_ops tnn__relu_ops = {
    .kind = TNN_LAYER_RELU,
    .name = "relu",
    .forward = relu_forward,
    .backward = relu_backward,
    .since_format = 1,
    .onnx_node = relu_onnx_node,
};

const struct tnn__layer_ops tnn__sigmoid_ops = {
    .kind = TNN_LAYER_SIGMOID,
    .name = "sigmoid",
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    /* Last under binary cross-entropy, the loss takes its input as the
     * logits: the model stops before it in training, and it runs only for
     * predictions. */
    .fuses_with_binary_cross_entropy = true,
    .since_format = 1,
    .onnx_node = sigmoid_onnx_node,
};

const struct tnn__layer_ops tnn__tanh_ops = {
    .kind = TNN_LAYER_TANH,
    .name = "tanh",
    .forward = tanh_forward,
    .backward = tanh_backward,
    .since_format = 1,
    .onnx_node = tanh_onnx_node,
};

const struct tnn__layer_ops tnn__identity_ops = {
    .kind = TNN_LAYER_IDENTITY,
    .name = "identity",
    .forward = identity_forward,
    .backward = identity_backward,
    .since_format = 1,
    .onnx_node = identity_onnx_node,
};

tnn_layer *tnn_relu_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__relu_ops, 0, 0, 0);
}

tnn_layer *tnn_sigmoid_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__sigmoid_ops, 0, 0, 0);
}

tnn_layer *tnn_tanh_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__tanh_ops, 0, 0, 0);
}

tnn_layer *tnn_identity_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__identity_ops, 0, 0, 0);
}
