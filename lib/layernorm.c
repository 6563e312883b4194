/*
 * Layer normalisation, as PyTorch's LayerNorm(features) computes it: each
 * consecutive group of `features` values of a row (the last dimension) is
 * normalised by its own mean and biased variance, then scaled by gamma and
 * shifted by beta, both `features` long. Nothing is kept between the
 * passes: the backward works the groups' statistics out again from the
 * input, so the layer needs no per-batch state. Sums are in double, the
 * variance in two passes, so that the output agrees with a computation in
 * double to float rounding.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

struct layernorm {
    size_t features;
    float eps;
    /* Parameter gradients of one backward, summed in double. */
    double *dgamma;
    double *dbeta;
};

/* Mean and 1 / sqrt(biased variance + eps) of one group of n values. */
static void group_moments(const float *x, size_t n, double eps, double *mean,
                          double *inv_std)
{
    double sum = 0.0;
    for (size_t j = 0; j < n; j++)
        sum += x[j];
    double m = sum / (double)n, sum2 = 0.0;
    for (size_t j = 0; j < n; j++) {
        double d = x[j] - m;
        sum2 += d * d;
    }
    *mean = m;
    *inv_std = 1.0 / sqrt(sum2 / (double)n + eps);
}

/* The input width must be a positive multiple of the features. */
static int layernorm_bind(const tnn_layer *layer, const char *func,
                          const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct layernorm *ln = layer->impl;
    size_t width = tnn__shape_size(in);
    char got[64];
    if (width % ln->features != 0)
        return tnn__fail(TNN_E_SHAPE, func,
                         "layernorm of %zu features cannot take inputs of "
                         "shape %s: %zu values are not a multiple of %zu",
                         ln->features, tnn__shape_text(in, got, sizeof got),
                         width, ln->features);
    *out = *in;
    return TNN_OK;
}

static void layernorm_forward(tnn_layer *layer, const float *in, float *out,
                              size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    const struct layernorm *ln = layer->impl;
    const size_t f = ln->features, groups = n * (layer->in_features / f);
    const float *gamma = layer->param[0]->data, *beta = layer->param[1]->data;
    for (size_t g = 0; g < groups; g++) {
        const float *x = in + g * f;
        float *y = out + g * f;
        double mean, inv_std;
        group_moments(x, f, ln->eps, &mean, &inv_std);
        for (size_t j = 0; j < f; j++)
            y[j] = (float)((double)gamma[j] * ((x[j] - mean) * inv_std) +
                           beta[j]);
    }
}

/* Per group, with xhat = (x - mean) * inv_std and g = gamma * dout:
 * dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)); dgamma sums
 * dout * xhat and dbeta dout over every group of the batch. */
static void layernorm_backward(tnn_layer *layer, const float *in,
                               const float *out, const float *dout, float *din,
                               size_t n, bool accumulate)
{
    (void)out;
    const struct layernorm *ln = layer->impl;
    const size_t f = ln->features, groups = n * (layer->in_features / f);
    const float *gamma = layer->param[0]->data;
    for (size_t j = 0; j < f; j++)
        ln->dgamma[j] = ln->dbeta[j] = 0.0;
    for (size_t g = 0; g < groups; g++) {
        const float *x = in + g * f, *dy = dout + g * f;
        double mean, inv_std, s1 = 0.0, s2 = 0.0;
        group_moments(x, f, ln->eps, &mean, &inv_std);
        for (size_t j = 0; j < f; j++) {
            double xhat = (x[j] - mean) * inv_std;
            double gj = (double)gamma[j] * dy[j];
            ln->dgamma[j] += dy[j] * xhat;
            ln->dbeta[j] += dy[j];
            s1 += gj;
            s2 += gj * xhat;
        }
        if (!din)
            continue;
        s1 /= (double)f;
        s2 /= (double)f;
        float *dx = din + g * f;
        for (size_t j = 0; j < f; j++) {
            double xhat = (x[j] - mean) * inv_std;
            double gj = (double)gamma[j] * dy[j];
            dx[j] = (float)(inv_std * (gj - s1 - xhat * s2));
        }
    }
    float *dgamma = layer->grad[0]->data, *dbeta = layer->grad[1]->data;
    for (size_t j = 0; j < f; j++) {
        dgamma[j] = (accumulate ? dgamma[j] : 0.0f) + (float)ln->dgamma[j];
        dbeta[j] = (accumulate ? dbeta[j] : 0.0f) + (float)ln->dbeta[j];
    }
}

static void layernorm_init(tnn_layer *layer, tnn_rng *rng)
{
    (void)rng;
    tnn_tensor_fill(layer->param[0], 1.0f);
    tnn_tensor_fill(layer->param[1], 0.0f);
}

static void layernorm_destroy(tnn_layer *layer)
{
    struct layernorm *ln = layer->impl;
    tnn__free(ln->dgamma);
    tnn__free(ln->dbeta);
}

/* ---- model files: the features and eps ------------------------------- */

static void layernorm_save_config(const tnn_layer *layer, uint32_t version,
                                  uint32_t *words)
{
    (void)version;
    const struct layernorm *ln = layer->impl;
    words[0] = (uint32_t)ln->features;
    words[1] = tnn__float_word(ln->eps);
}

static tnn_layer *layernorm_load_config(const struct tnn__layer_record *record,
                                        uint32_t version)
{
    (void)version;
    tnn_layer *layer = tnn_layernorm_new(record->config[0]);
    if (layer && tnn_layernorm_set_eps(
                     layer, tnn__word_float(record->config[1])) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}

/* gamma and beta. */
static uint64_t layernorm_record_values(const struct tnn__layer_record *record,
                                        uint32_t version)
{
    (void)version;
    return tnn__mul_sat(2, record->config[0]);
}

static const char *const layernorm_param_names[] = {"gamma", "beta"};

/* ---- ONNX: LayerNormalization over the last axis (operator set 17) ----
 * The groups must be that axis: the whole row of (features) samples, or
 * the image rows of (channels, height, width) ones. */

static void layernorm_onnx_node(const tnn_layer *layer,
                                struct tnn__onnx_node *node)
{
    const struct layernorm *ln = layer->impl;
    const struct tnn__shape *s = &layer->in_shape;
    if (s->dims[s->ndim - 1] != ln->features) {
        node->refusal = "its groups are not the last axis of its input, "
                        "which is all ONNX's LayerNormalization with axis "
                        "-1 normalises";
        return;
    }
    const int64_t f = (int64_t)ln->features;
    *node = (struct tnn__onnx_node){
        .op = "LayerNormalization",
        .opset = 17,
        .nattrs = 2,
        .attrs = {{.name = "axis", .type = TNN__ONNX_ATTR_IS_INT, .i = -1},
                  {.name = "epsilon",
                   .type = TNN__ONNX_ATTR_IS_FLOAT,
                   .f = ln->eps}},
        .ninputs = 2,
        .inputs = {{.suffix = "scale",
                    .tensor = layer->param[0],
                    .ndims = 1,
                    .dims = {f}},
                   {.suffix = "bias",
                    .tensor = layer->param[1],
                    .ndims = 1,
                    .dims = {f}}},
    };
}

const struct tnn__layer_ops tnn__layernorm_ops = {
    .kind = TNN_LAYER_LAYERNORM,
    .name = "layernorm",
    .bind = layernorm_bind,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
    .init = layernorm_init,
    .destroy = layernorm_destroy,
    .since_format = 7,
    .config_words = 2,
    .save_config = layernorm_save_config,
    .load_config = layernorm_load_config,
    .record_values = layernorm_record_values,
    .param_names = layernorm_param_names,
    .onnx_node = layernorm_onnx_node,
};

tnn_layer *tnn_layernorm_new(size_t features)
{
    if (features == 0 || features > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "features is %zu; it must be in [1, %zu]", features,
                  TNN_MAX_BLAS_DIM);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__layernorm_ops, 0, 0,
                                        sizeof(struct layernorm));
    if (!layer)
        return NULL;
    struct layernorm *ln = layer->impl;
    ln->features = features;
    ln->eps = 1e-5f;
    ln->dgamma = tnn__calloc(features, sizeof *ln->dgamma);
    ln->dbeta = tnn__calloc(features, sizeof *ln->dbeta);
    if (!ln->dgamma || !ln->dbeta) {
        tnn_layer_free(layer);
        tnn__fail(TNN_E_NOMEM, __func__,
                  "cannot allocate a layernorm of %zu features", features);
        return NULL;
    }
    if (tnn__layer_add_param(layer, __func__, 1, &features, false) != TNN_OK ||
        tnn__layer_add_param(layer, __func__, 1, &features, false) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    layernorm_init(layer, NULL);
    return layer;
}

static struct layernorm *as_layernorm(const char *func, const tnn_layer *l)
{
    return tnn__layer_impl_of(func, l, &tnn__layernorm_ops);
}

int tnn_layernorm_set_eps(tnn_layer *layer, float eps)
{
    struct layernorm *ln = as_layernorm(__func__, layer);
    if (!ln)
        return TNN_E_INVALID;
    if (tnn__layer_check_idle(__func__, layer) != TNN_OK)
        return TNN_E_STATE;
    if (!(eps > 0.0f) || !isfinite(eps))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "eps is %g; it must be positive and finite",
                         (double)eps);
    ln->eps = eps;
    return TNN_OK;
}

float tnn_layernorm_eps(const tnn_layer *layer)
{
    const struct layernorm *ln = as_layernorm(__func__, layer);
    return ln ? ln->eps : 0.0f;
}
