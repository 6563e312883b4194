/*
 * Batch normalisation over the features of (batch, features) rows, with
 * Keras' conventions: running = momentum * running + (1 - momentum) * batch,
 * biased variance throughout.
 */
#include <math.h>

#include "internal.h"

struct batchnorm {
    float momentum;
    float eps;
    tnn_tensor *running_mean;
    tnn_tensor *running_var;
    /* Per feature: batch statistics as doubles (the sums that decide the
     * result), and 1 / sqrt(var + eps) of the last training batch. */
    double *sum;
    double *sum2;
    float *inv_std;
    /* Normalised inputs of the last training batch, for backward. */
    float *xhat;
    size_t xhat_rows;
};

static int batchnorm_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct batchnorm *bn = layer->impl;
    if (n <= bn->xhat_rows)
        return TNN_OK;
    size_t count;
    float *xhat = tnn__mul_size(n, layer->in_features, &count)
                      ? tnn__calloc(count, sizeof *xhat)
                      : NULL;
    if (!xhat)
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot allocate %zu x %zu values", n,
                         layer->in_features);
    tnn__free(bn->xhat);
    bn->xhat = xhat;
    bn->xhat_rows = n;
    return TNN_OK;
}

static void batchnorm_init(tnn_layer *layer, tnn_rng *rng)
{
    (void)rng;
    struct batchnorm *bn = layer->impl;
    tnn_tensor_fill(layer->param[0], 1.0f);
    tnn_tensor_fill(layer->param[1], 0.0f);
    tnn_tensor_fill(bn->running_mean, 0.0f);
    tnn_tensor_fill(bn->running_var, 1.0f);
}

/* Batch mean and biased variance per feature, into bn->sum (mean) and
 * bn->sum2 (variance); two passes for accuracy. */
static void batch_moments(struct batchnorm *bn, const float *in, size_t n,
                          size_t f)
{
    for (size_t j = 0; j < f; j++)
        bn->sum[j] = bn->sum2[j] = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f; j++)
            bn->sum[j] += in[r * f + j];
    for (size_t j = 0; j < f; j++)
        bn->sum[j] /= (double)n;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f; j++) {
            double d = in[r * f + j] - bn->sum[j];
            bn->sum2[j] += d * d;
        }
    for (size_t j = 0; j < f; j++)
        bn->sum2[j] /= (double)n;
}

static void batchnorm_forward(tnn_layer *layer, const float *in, float *out,
                              size_t n, bool training, tnn_rng *rng)
{
    (void)rng;
    struct batchnorm *bn = layer->impl;
    const size_t f = layer->in_features;
    const float *gamma = layer->param[0]->data, *beta = layer->param[1]->data;
    float *rmean = bn->running_mean->data, *rvar = bn->running_var->data;
    if (!training) {
        for (size_t j = 0; j < f; j++)
            bn->inv_std[j] = 1.0f / sqrtf(rvar[j] + bn->eps);
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < f; j++)
                out[r * f + j] = gamma[j] * (in[r * f + j] - rmean[j]) *
                                     bn->inv_std[j] +
                                 beta[j];
        return;
    }
    batch_moments(bn, in, n, f);
    for (size_t j = 0; j < f; j++) {
        bn->inv_std[j] = (float)(1.0 / sqrt(bn->sum2[j] + bn->eps));
        rmean[j] = bn->momentum * rmean[j] +
                   (1.0f - bn->momentum) * (float)bn->sum[j];
        rvar[j] = bn->momentum * rvar[j] +
                  (1.0f - bn->momentum) * (float)bn->sum2[j];
    }
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f; j++) {
            float xh = (in[r * f + j] - (float)bn->sum[j]) * bn->inv_std[j];
            bn->xhat[r * f + j] = xh;
            out[r * f + j] = gamma[j] * xh + beta[j];
        }
}

/* With s1 = sum dy and s2 = sum dy * xhat over the batch:
 * dbeta = s1, dgamma = s2, dx = gamma * inv_std / n * (n dy - s1 - xhat s2).
 */
static void batchnorm_backward(tnn_layer *layer, const float *in,
                               const float *out, const float *dout,
                               float *din, size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    struct batchnorm *bn = layer->impl;
    const size_t f = layer->in_features;
    double *s1 = bn->sum, *s2 = bn->sum2;
    for (size_t j = 0; j < f; j++)
        s1[j] = s2[j] = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f; j++) {
            s1[j] += dout[r * f + j];
            s2[j] += (double)dout[r * f + j] * bn->xhat[r * f + j];
        }
    float *dgamma = layer->grad[0]->data, *dbeta = layer->grad[1]->data;
    for (size_t j = 0; j < f; j++) {
        dgamma[j] = (accumulate ? dgamma[j] : 0.0f) + (float)s2[j];
        dbeta[j] = (accumulate ? dbeta[j] : 0.0f) + (float)s1[j];
    }
    if (!din)
        return;
    const float *gamma = layer->param[0]->data;
    const double inv_n = 1.0 / (double)n;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f; j++) {
            double g = dout[r * f + j] - s1[j] * inv_n -
                       bn->xhat[r * f + j] * s2[j] * inv_n;
            din[r * f + j] = (float)(gamma[j] * bn->inv_std[j] * g);
        }
}

static void batchnorm_destroy(tnn_layer *layer)
{
    struct batchnorm *bn = layer->impl;
    tnn_tensor_free(bn->running_mean);
    tnn_tensor_free(bn->running_var);
    tnn__free(bn->sum);
    tnn__free(bn->sum2);
    tnn__free(bn->inv_std);
    tnn__free(bn->xhat);
}

const struct tnn_layer_ops tnn__batchnorm_ops = {
    .kind = TNN_LAYER_BATCHNORM,
    .name = "batchnorm",
    .reserve = batchnorm_reserve,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .init = batchnorm_init,
    .destroy = batchnorm_destroy,
};

tnn_layer *tnn_batchnorm_new(size_t features)
{
    if (features == 0) {
        tnn__fail(TNN_E_INVALID, __func__, "features is 0");
        return NULL;
    }
    tnn_layer *layer =
        tnn__layer_alloc(__func__, &tnn__batchnorm_ops, features, features,
                         sizeof(struct batchnorm));
    if (!layer)
        return NULL;
    struct batchnorm *bn = layer->impl;
    bn->momentum = 0.99f;
    bn->eps = 1e-3f;
    bn->running_mean = tnn_tensor_new(1, &features);
    bn->running_var = tnn_tensor_new(1, &features);
    bn->sum = tnn__calloc(features, sizeof *bn->sum);
    bn->sum2 = tnn__calloc(features, sizeof *bn->sum2);
    bn->inv_std = tnn__calloc(features, sizeof *bn->inv_std);
    if (!bn->running_mean || !bn->running_var || !bn->sum || !bn->sum2 ||
        !bn->inv_std) {
        tnn_layer_free(layer);
        tnn__fail(TNN_E_NOMEM, __func__,
                  "cannot allocate a batchnorm of %zu features", features);
        return NULL;
    }
    if (tnn__layer_add_param(layer, __func__, 1, &features, false) !=
            TNN_OK ||
        tnn__layer_add_param(layer, __func__, 1, &features, false) !=
            TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    batchnorm_init(layer, NULL);
    return layer;
}

static struct batchnorm *as_batchnorm(const char *func, const tnn_layer *l)
{
    if (!l || l->ops != &tnn__batchnorm_ops) {
        tnn__fail(TNN_E_INVALID, func, "layer is %s, not batchnorm",
                  l ? l->ops->name : "NULL");
        return NULL;
    }
    return l->impl;
}

int tnn_batchnorm_set_momentum(tnn_layer *layer, float momentum)
{
    struct batchnorm *bn = as_batchnorm(__func__, layer);
    if (!bn)
        return TNN_E_INVALID;
    if (!(momentum >= 0.0f && momentum < 1.0f))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "momentum is %g; it must be in [0, 1)",
                         (double)momentum);
    bn->momentum = momentum;
    return TNN_OK;
}

float tnn_batchnorm_momentum(const tnn_layer *layer)
{
    const struct batchnorm *bn = as_batchnorm(__func__, layer);
    return bn ? bn->momentum : 0.0f;
}

int tnn_batchnorm_set_eps(tnn_layer *layer, float eps)
{
    struct batchnorm *bn = as_batchnorm(__func__, layer);
    if (!bn)
        return TNN_E_INVALID;
    if (!(eps > 0.0f) || !isfinite(eps))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "eps is %g; it must be positive and finite",
                         (double)eps);
    bn->eps = eps;
    return TNN_OK;
}

float tnn_batchnorm_eps(const tnn_layer *layer)
{
    const struct batchnorm *bn = as_batchnorm(__func__, layer);
    return bn ? bn->eps : 0.0f;
}

tnn_tensor *tnn_batchnorm_running_mean(tnn_layer *layer)
{
    struct batchnorm *bn = as_batchnorm(__func__, layer);
    return bn ? bn->running_mean : NULL;
}

tnn_tensor *tnn_batchnorm_running_var(tnn_layer *layer)
{
    struct batchnorm *bn = as_batchnorm(__func__, layer);
    return bn ? bn->running_var : NULL;
}
