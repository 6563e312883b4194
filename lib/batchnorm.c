/*
 * Batch normalisation over the features of (batch, features) rows, with
 * Keras' conventions: running = momentum * running + (1 - momentum) * batch,
 * biased variance throughout.
 */
#include <math.h>
#include <string.h>

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
    float *mean; /* the batch mean of the last training batch, as float */
    /* Running statistics updated by the last training batch, made the
     * running ones by commit once the step has succeeded. */
    float *next_mean;
    float *next_var;
    bool pending;
    /* Normalised inputs of the last training batch, for backward. */
    float *xhat;
    size_t xhat_cap;
    /* Synchronised over replicas: what a sum carries (2 C + 1 floats),
     * and the values per channel of the global batch. */
    float *sync_buf;
    double sync_values;
};

static int batchnorm_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct batchnorm *bn = layer->impl;
    float *xhat =
        tnn__grow_rows(func, "normalised inputs", bn->xhat, &bn->xhat_cap, n,
                       layer->in_features, sizeof *xhat);
    if (!xhat)
        return TNN_E_NOMEM;
    bn->xhat = xhat;
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
    bn->pending = false;
}

/* Samples are (features) or (channels, height, width). Statistics are per
 * feature, or per channel over every position of the image: element
 * (r, c, p) of a batch is x[(r * C + c) * P + p] with P positions. */
static size_t channels(const tnn_layer *layer)
{
    return layer->param[0]->size;
}

/* Replace buf by its sum over the replicas; a failure is noted for the
 * model, which fails the step. */
static void sum_over_replicas(const tnn_layer *layer, float *buf, size_t count)
{
    if (layer->sync.fn(buf, count, layer->sync.ctx) != 0)
        *layer->sync.failed = true;
}

/* As batch_moments(), over every replica's rows: the sums of each pass
 * are summed over the replicas (in single precision) before they are
 * divided. */
static void synced_moments(const tnn_layer *layer, struct batchnorm *bn,
                           const float *in, size_t n, size_t c_count,
                           size_t p_count)
{
    float *buf = bn->sync_buf;
    for (size_t c = 0; c < c_count; c++) {
        double sum = 0.0;
        for (size_t r = 0; r < n; r++) {
            const float *x = in + (r * c_count + c) * p_count;
            for (size_t p = 0; p < p_count; p++)
                sum += x[p];
        }
        buf[c] = (float)sum;
    }
    buf[c_count] = (float)(n * p_count);
    sum_over_replicas(layer, buf, c_count + 1);
    bn->sync_values = buf[c_count];
    for (size_t c = 0; c < c_count; c++) {
        bn->sum[c] = buf[c] / bn->sync_values;
        double sum2 = 0.0;
        for (size_t r = 0; r < n; r++) {
            const float *x = in + (r * c_count + c) * p_count;
            for (size_t p = 0; p < p_count; p++) {
                double d = x[p] - bn->sum[c];
                sum2 += d * d;
            }
        }
        buf[c] = (float)sum2;
    }
    sum_over_replicas(layer, buf, c_count);
    for (size_t c = 0; c < c_count; c++)
        bn->sum2[c] = buf[c] / bn->sync_values;
}

/* Batch mean and biased variance per channel into bn->sum and bn->sum2;
 * two passes in double for accuracy. */
static void batch_moments(struct batchnorm *bn, const float *in, size_t n,
                          size_t c_count, size_t p_count)
{
    const double count = (double)(n * p_count);
    for (size_t c = 0; c < c_count; c++)
        bn->sum[c] = bn->sum2[c] = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < c_count; c++) {
            const float *x = in + (r * c_count + c) * p_count;
            for (size_t p = 0; p < p_count; p++)
                bn->sum[c] += x[p];
        }
    for (size_t c = 0; c < c_count; c++)
        bn->sum[c] /= count;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < c_count; c++) {
            const float *x = in + (r * c_count + c) * p_count;
            for (size_t p = 0; p < p_count; p++) {
                double d = x[p] - bn->sum[c];
                bn->sum2[c] += d * d;
            }
        }
    for (size_t c = 0; c < c_count; c++)
        bn->sum2[c] /= count;
}

/* The batch's statistics (over every replica's rows when synchronised)
 * and the running statistics they make, pending until commit. */
static void training_statistics(tnn_layer *layer, const float *in, size_t n)
{
    struct batchnorm *bn = layer->impl;
    const size_t cc = channels(layer), pc = layer->in_features / cc;
    const float *rmean = bn->running_mean->data, *rvar = bn->running_var->data;
    if (layer->sync.fn)
        synced_moments(layer, bn, in, n, cc, pc);
    else
        batch_moments(bn, in, n, cc, pc);
    for (size_t c = 0; c < cc; c++) {
        bn->inv_std[c] = (float)(1.0 / sqrt(bn->sum2[c] + bn->eps));
        bn->mean[c] = (float)bn->sum[c];
        bn->next_mean[c] = bn->momentum * rmean[c] +
                           (1.0f - bn->momentum) * (float)bn->sum[c];
        bn->next_var[c] = bn->momentum * rvar[c] +
                          (1.0f - bn->momentum) * (float)bn->sum2[c];
    }
    bn->pending = true;
}

static void batchnorm_forward(tnn_layer *layer, const float *in, float *out,
                              size_t n, bool training, tnn_rng *rng)
{
    (void)rng;
    struct batchnorm *bn = layer->impl;
    const size_t cc = channels(layer), pc = layer->in_features / cc;
    const float *gamma = layer->param[0]->data, *beta = layer->param[1]->data;
    float *rmean = bn->running_mean->data, *rvar = bn->running_var->data;
    const float *mean = rmean;
    if (training) {
        training_statistics(layer, in, n);
        mean = bn->mean;
    } else {
        for (size_t c = 0; c < cc; c++)
            bn->inv_std[c] = 1.0f / sqrtf(rvar[c] + bn->eps);
    }
    /* The two modes round in a different order; each order is kept as it
     * was first released, so that saved models predict the same bits. */
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < cc; c++) {
            size_t at = (r * cc + c) * pc;
            for (size_t p = 0; p < pc; p++) {
                if (training) {
                    float xh = (in[at + p] - mean[c]) * bn->inv_std[c];
                    bn->xhat[at + p] = xh;
                    out[at + p] = gamma[c] * xh + beta[c];
                } else {
                    out[at + p] =
                        gamma[c] * (in[at + p] - mean[c]) * bn->inv_std[c] +
                        beta[c];
                }
            }
        }
}

/* Synchronised: each replica's dy is its own rows' mean-loss gradient, 1
 * / n_r of the loss's; the global batch's is 1 / N. s1 and s2 become
 * (sum over replicas of n_r s_r) / n_r, the global sums in this
 * replica's scale, and the count the global values per channel; the
 * parameter gradients keep this replica's own sums, which the model's
 * sum of gradients combines. Returns 1 / the global values. */
static double synced_sums(const tnn_layer *layer, struct batchnorm *bn,
                          double *s1, double *s2, size_t n, size_t cc)
{
    float *buf = bn->sync_buf;
    for (size_t c = 0; c < cc; c++) {
        buf[c] = (float)((double)n * s1[c]);
        buf[cc + c] = (float)((double)n * s2[c]);
    }
    sum_over_replicas(layer, buf, 2 * cc);
    for (size_t c = 0; n > 0 && c < cc; c++) {
        s1[c] = buf[c] / (double)n;
        s2[c] = buf[cc + c] / (double)n;
    }
    return 1.0 / bn->sync_values;
}

/* A replica with no rows takes part in the sums with zeros, and its
 * running statistics move as the others' do. */
static void batchnorm_sync_idle(tnn_layer *layer, bool forward)
{
    struct batchnorm *bn = layer->impl;
    size_t cc = channels(layer);
    if (forward) {
        training_statistics(layer, NULL, 0);
        return;
    }
    for (size_t c = 0; c < 2 * cc; c++)
        bn->sync_buf[c] = 0.0f;
    sum_over_replicas(layer, bn->sync_buf, 2 * cc);
}

/* With s1 = sum dy and s2 = sum dy * xhat over the batch (and positions):
 * dbeta = s1, dgamma = s2, dx = gamma * inv_std / m * (m dy - s1 - xhat s2)
 * where m is the number of values per channel.
 */
static void batchnorm_backward(tnn_layer *layer, const float *in,
                               const float *out, const float *dout, float *din,
                               size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    struct batchnorm *bn = layer->impl;
    const size_t cc = channels(layer), pc = layer->in_features / cc;
    double *s1 = bn->sum, *s2 = bn->sum2;
    for (size_t c = 0; c < cc; c++)
        s1[c] = s2[c] = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < cc; c++) {
            size_t at = (r * cc + c) * pc;
            for (size_t p = 0; p < pc; p++) {
                s1[c] += dout[at + p];
                s2[c] += (double)dout[at + p] * bn->xhat[at + p];
            }
        }
    float *dgamma = layer->grad[0]->data, *dbeta = layer->grad[1]->data;
    for (size_t c = 0; c < cc; c++) {
        dgamma[c] = (accumulate ? dgamma[c] : 0.0f) + (float)s2[c];
        dbeta[c] = (accumulate ? dbeta[c] : 0.0f) + (float)s1[c];
    }
    double inv_m = 1.0 / (double)(n * pc);
    if (layer->sync.fn)
        inv_m = synced_sums(layer, bn, s1, s2, n, cc);
    if (!din)
        return;
    const float *gamma = layer->param[0]->data;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < cc; c++) {
            size_t at = (r * cc + c) * pc;
            for (size_t p = 0; p < pc; p++) {
                double g = dout[at + p] - s1[c] * inv_m -
                           bn->xhat[at + p] * s2[c] * inv_m;
                din[at + p] = (float)(gamma[c] * bn->inv_std[c] * g);
            }
        }
}

/* (features) with that many features, or (channels, h, w) with that many
 * channels. */
static int batchnorm_bind(const tnn_layer *layer, const char *func,
                          const struct tnn__shape *in, struct tnn__shape *out)
{
    char got[64];
    if ((in->ndim == 1 || in->ndim == 3) && in->dims[0] == channels(layer)) {
        *out = *in;
        return TNN_OK;
    }
    return tnn__fail(TNN_E_SHAPE, func,
                     "batchnorm layer of %zu features (or channels) cannot "
                     "take inputs of shape %s",
                     channels(layer), tnn__shape_text(in, got, sizeof got));
}

static void batchnorm_commit(tnn_layer *layer)
{
    struct batchnorm *bn = layer->impl;
    if (!bn->pending)
        return;
    size_t bytes = channels(layer) * sizeof(float);
    memcpy(bn->running_mean->data, bn->next_mean, bytes);
    memcpy(bn->running_var->data, bn->next_var, bytes);
    bn->pending = false;
}

static size_t batchnorm_scratch(const tnn_layer *layer)
{
    return layer->in_features; /* the normalised inputs */
}

static void batchnorm_destroy(tnn_layer *layer)
{
    struct batchnorm *bn = layer->impl;
    tnn_tensor_free(bn->running_mean);
    tnn_tensor_free(bn->running_var);
    tnn__free(bn->sum);
    tnn__free(bn->sum2);
    tnn__free(bn->inv_std);
    tnn__free(bn->mean);
    tnn__free(bn->next_mean);
    tnn__free(bn->next_var);
    tnn__free(bn->xhat);
    tnn__free(bn->sync_buf);
}

/* ---- model files: momentum, eps and, since format 2, the features -----
 * (format 1 had only per-feature batch-norm, as wide as its input). */

static uint32_t batchnorm_config_words(uint32_t version)
{
    return version >= 2 ? 3 : 2;
}

static size_t batchnorm_features(const tnn_layer *layer)
{
    return layer->param[0]->size;
}

static uint32_t batchnorm_format_needed(const tnn_layer *layer)
{
    return batchnorm_features(layer) != layer->in_features ? 2 : 1;
}

static void batchnorm_save_config(const tnn_layer *layer, uint32_t version,
                                  uint32_t *words)
{
    const struct batchnorm *bn = layer->impl;
    words[0] = tnn__float_word(bn->momentum);
    words[1] = tnn__float_word(bn->eps);
    if (version >= 2)
        words[2] = (uint32_t)batchnorm_features(layer);
}

static uint64_t record_features(const struct tnn__layer_record *record,
                                uint32_t version)
{
    return version >= 2 ? record->config[2] : record->in;
}

static tnn_layer *batchnorm_load_config(const struct tnn__layer_record *record,
                                        uint32_t version)
{
    /* At most 2^32 - 1, or the width, which the loader bounded. */
    tnn_layer *layer =
        tnn_batchnorm_new((size_t)record_features(record, version));
    if (layer && (tnn_batchnorm_set_momentum(
                      layer, tnn__word_float(record->config[0])) != TNN_OK ||
                  tnn_batchnorm_set_eps(
                      layer, tnn__word_float(record->config[1])) != TNN_OK)) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}

/* gamma, beta and the two running statistics. */
static uint64_t batchnorm_record_values(const struct tnn__layer_record *record,
                                        uint32_t version)
{
    return tnn__mul_sat(4, record_features(record, version));
}

static tnn_tensor *batchnorm_state(tnn_layer *layer, int k)
{
    struct batchnorm *bn = layer->impl;
    return k == 0 ? bn->running_mean : bn->running_var;
}

static const char *const batchnorm_param_names[] = {"gamma", "beta"};
static const char *const batchnorm_state_names[] = {"running_mean",
                                                    "running_var"};

/* ---- ONNX: BatchNormalization in inference, from the running statistics
 * (ONNX's momentum weighs the running value as the layer's does). */

/* A per-channel vector of the layer as one of the node's inputs. */
static struct tnn__onnx_input channels_input(const char *suffix,
                                             const tnn_tensor *t, int64_t c)
{
    return (struct tnn__onnx_input){
        .suffix = suffix, .tensor = t, .ndims = 1, .dims = {c}};
}

static void batchnorm_onnx_node(const tnn_layer *layer,
                                struct tnn__onnx_node *node)
{
    const struct batchnorm *bn = layer->impl;
    const int64_t c = (int64_t)batchnorm_features(layer);
    *node = (struct tnn__onnx_node){
        .op = "BatchNormalization",
        .nattrs = 2,
        .attrs = {{.name = "epsilon",
                   .type = TNN__ONNX_ATTR_IS_FLOAT,
                   .f = bn->eps},
                  {.name = "momentum",
                   .type = TNN__ONNX_ATTR_IS_FLOAT,
                   .f = bn->momentum}},
        .ninputs = 4,
        .inputs = {channels_input("scale", layer->param[0], c),
                   channels_input("bias", layer->param[1], c),
                   channels_input("running_mean", bn->running_mean, c),
                   channels_input("running_var", bn->running_var, c)},
    };
}

const struct tnn__layer_ops tnn__batchnorm_ops = {
    .kind = TNN_LAYER_BATCHNORM,
    .name = "batchnorm",
    .bind = batchnorm_bind,
    .reserve = batchnorm_reserve,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .init = batchnorm_init,
    .destroy = batchnorm_destroy,
    .sample_scratch = batchnorm_scratch,
    .commit = batchnorm_commit,
    .sync_idle = batchnorm_sync_idle,
    .since_format = 1,
    .config_words = 3,
    .config_words_in = batchnorm_config_words,
    .format_needed = batchnorm_format_needed,
    .save_config = batchnorm_save_config,
    .load_config = batchnorm_load_config,
    .record_values = batchnorm_record_values,
    .param_names = batchnorm_param_names,
    .num_state = 2,
    .state_names = batchnorm_state_names,
    .state = batchnorm_state,
    .onnx_node = batchnorm_onnx_node,
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
    bn->mean = tnn__calloc(features, sizeof *bn->mean);
    bn->next_mean = tnn__calloc(features, sizeof *bn->next_mean);
    bn->next_var = tnn__calloc(features, sizeof *bn->next_var);
    bn->sync_buf = tnn__calloc(2 * features + 1, sizeof *bn->sync_buf);
    if (!bn->running_mean || !bn->running_var || !bn->sum || !bn->sum2 ||
        !bn->inv_std || !bn->mean || !bn->next_mean || !bn->next_var ||
        !bn->sync_buf) {
        tnn_layer_free(layer);
        tnn__fail(TNN_E_NOMEM, __func__,
                  "cannot allocate a batchnorm of %zu features", features);
        return NULL;
    }
    if (tnn__layer_add_param(layer, __func__, 1, &features, false) != TNN_OK ||
        tnn__layer_add_param(layer, __func__, 1, &features, false) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    batchnorm_init(layer, NULL);
    return layer;
}

static struct batchnorm *as_batchnorm(const char *func, const tnn_layer *l)
{
    return tnn__layer_impl_of(func, l, &tnn__batchnorm_ops);
}

int tnn_batchnorm_set_momentum(tnn_layer *layer, float momentum)
{
    struct batchnorm *bn = as_batchnorm(__func__, layer);
    if (!bn)
        return TNN_E_INVALID;
    if (tnn__layer_check_idle(__func__, layer) != TNN_OK)
        return TNN_E_STATE;
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
    int status = tnn__check_eps(__func__, layer, eps);
    if (status != TNN_OK)
        return status;
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
