/*
 * GELU in its exact erf form, x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))),
 * as PyTorch's GELU() computes it by default (approximate='none'). Values
 * and derivatives are computed in double and rounded once; 1 + erf(z) is
 * taken as erfc(-z), which keeps its digits where x is very negative. The
 * backward reads the input, as leaky ReLU's does.
 */
#include <math.h>

#include "internal.h"

/* erfc and exp cost tens of nanoseconds a value: threads pay off sooner
 * than for ReLU. */
#define GELU_MIN_PER_THREAD ((size_t)1 << 15)

#define GELU_SQRT1_2 0.70710678118654752440      /* 1 / sqrt(2) */
#define GELU_INV_SQRT_2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */

struct gelu_pass {
    const float *x;    /* the input */
    const float *dout; /* backward only */
    float *y;          /* forward: the output; backward: the input gradient */
};

/* x * Phi(x); the limits at the infinities (-0 and +inf), NaN for NaN. */
static double gelu_value(double x)
{
    if (isinf(x))
        return x > 0 ? x : -0.0;
    return 0.5 * x * erfc(-x * GELU_SQRT1_2);
}

/* Phi(x) + x * phi(x); 0 and 1 at the infinities, NaN for NaN. */
static double gelu_slope(double x)
{
    if (isinf(x))
        return x > 0 ? 1.0 : 0.0;
    return 0.5 * erfc(-x * GELU_SQRT1_2) +
           x * GELU_INV_SQRT_2PI * exp(-0.5 * x * x);
}

static void gelu_forward_range(void *arg, size_t begin, size_t end)
{
    const struct gelu_pass *pass = arg;
    for (size_t i = begin; i < end; i++)
        pass->y[i] = (float)gelu_value(pass->x[i]);
}

static void gelu_backward_range(void *arg, size_t begin, size_t end)
{
    const struct gelu_pass *pass = arg;
    for (size_t i = begin; i < end; i++)
        pass->y[i] = (float)(gelu_slope(pass->x[i]) * pass->dout[i]);
}

static void gelu_forward(tnn_layer *layer, const float *in, float *out,
                         size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    struct gelu_pass pass = {in, NULL, out};
    tnn__parallel_for(n * layer->in_features, GELU_MIN_PER_THREAD,
                      gelu_forward_range, &pass);
}

static void gelu_backward(tnn_layer *layer, const float *in, const float *out,
                          const float *dout, float *din, size_t n,
                          bool accumulate)
{
    (void)out;
    (void)accumulate;
    if (!din)
        return;
    struct gelu_pass pass = {in, dout, din};
    tnn__parallel_for(n * layer->in_features, GELU_MIN_PER_THREAD,
                      gelu_backward_range, &pass);
}

/* ---- ONNX: no node before operator set 20, which has Gelu ------------ */

static void gelu_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    (void)layer;
    node->refusal = "ONNX has no Gelu operator before operator set 20, and "
                    "the library writes operator sets 13 and 17";
}

const struct tnn__layer_ops tnn__gelu_ops = {
    .kind = TNN_LAYER_GELU,
    .name = "gelu",
    .forward = gelu_forward,
    .backward = gelu_backward,
    .since_format = 7,
    .onnx_node = gelu_onnx_node,
};

tnn_layer *tnn_gelu_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__gelu_ops, 0, 0, 0);
}
