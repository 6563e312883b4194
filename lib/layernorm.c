/*
 * Layer normalisation, as PyTorch's LayerNorm(features) computes it: each
 * consecutive group of `features` values of a row (the last dimension) is
 * normalised by its own mean and biased variance, then scaled by gamma and
 * shifted by beta, both `features` long. Sums are in double, the variance
 * in two passes, so that the output agrees with a computation in double
 * to float rounding.
 *
 * A training forward keeps each group's mean and 1 / sqrt(variance + eps),
 * as the doubles it computed, in a per-batch buffer (two per group, made
 * by reserve): the backward needs them for every value, and working them
 * out again from the input would take two more passes over it, each a
 * chain of dependent additions. An evaluation forward keeps nothing, so
 * that prediction needs no buffer.
 *
 * Both passes split the groups over threads; each group's values depend
 * on that group alone. The parameter gradients are sums over every group,
 * which a second split, over the features, makes: each feature's sums walk
 * the groups in order, so that they do not depend on the thread count.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* A value costs about 2 ns each way (chains of dependent sums in double):
 * below this many values per thread, waking another costs more than it
 * saves. */
#define LN_MIN_VALUES_PER_THREAD ((size_t)1 << 14)

/* Features per part of the parameter gradients' split: the range one
 * thread takes is a whole number of these. */
#define LN_FEATURE_BLOCK ((size_t)8)

/* Features whose sums one walk over the groups makes, in local doubles:
 * a thread's range goes in walks of this many, each reading 256 bytes of
 * every group, rather than in blocks that would fetch each cache line of
 * the input twice. */
#define LN_FEATURE_CHUNK ((size_t)64)

struct layernorm {
    size_t features;
    float eps;
    /* Per group of the last training batch: the mean and 1 / sqrt(var +
     * eps) side by side (stats_cap values). */
    double *stats;
    size_t stats_cap;
};

/* One pass over a batch of groups, of which threads take ranges. */
struct ln_pass {
    size_t features;
    size_t groups;
    double eps;
    const float *x;
    const float *gamma;
    const float *beta; /* forward */
    const float *dout; /* backward */
    float *y;          /* forward: the output; backward: the input gradient */
    double *stats;     /* forward: NULL when evaluating */
    float *dgamma;     /* backward: the parameter gradients */
    float *dbeta;
    bool accumulate;
};

/* Mean and 1 / sqrt(biased variance + eps) of one group of n values. */
static inline void group_moments(const float *x, size_t n, double eps,
                                 double *mean, double *inv_std)
{
    const size_t whole = n - n % TNN_SUM_LANES;
    double part[TNN_SUM_LANES] = {0};
    for (size_t j = 0; j < whole; j += TNN_SUM_LANES)
        for (size_t k = 0; k < TNN_SUM_LANES; k++)
            part[k] += x[j + k];
    for (size_t j = whole; j < n; j++)
        part[j - whole] += x[j];
    const double m = tnn__fold_lanes(part) / (double)n;
    double part2[TNN_SUM_LANES] = {0};
    for (size_t j = 0; j < whole; j += TNN_SUM_LANES)
        for (size_t k = 0; k < TNN_SUM_LANES; k++) {
            double d = x[j + k] - m;
            part2[k] += d * d;
        }
    for (size_t j = whole; j < n; j++) {
        double d = x[j] - m;
        part2[j - whole] += d * d;
    }
    *mean = m;
    *inv_std = 1.0 / sqrt(tnn__fold_lanes(part2) / (double)n + eps);
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

/* The statistics of n rows. */
static int layernorm_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct layernorm *ln = layer->impl;
    size_t width = 2 * (layer->in_features / ln->features);
    double *stats = tnn__grow_rows(func, "layernorm statistics", ln->stats,
                                   &ln->stats_cap, n, width, sizeof *stats);
    if (!stats)
        return TNN_E_NOMEM;
    ln->stats = stats;
    return TNN_OK;
}

/* Two doubles a group, counted as the floats they take. */
static size_t layernorm_scratch(const tnn_layer *layer)
{
    const struct layernorm *ln = layer->impl;
    size_t values;
    return tnn__mul_size(layer->in_features / ln->features, 4, &values)
               ? values
               : SIZE_MAX;
}

static struct ln_pass make_pass(const tnn_layer *layer, const float *in,
                                size_t n)
{
    const struct layernorm *ln = layer->impl;
    return (struct ln_pass){
        .features = ln->features,
        .groups = n * (layer->in_features / ln->features),
        .eps = ln->eps,
        .x = in,
        .gamma = layer->param[0]->data,
        .beta = layer->param[1]->data,
    };
}

/* Groups that make a thread's share worth waking it. */
static size_t min_groups(const struct ln_pass *pass)
{
    return LN_MIN_VALUES_PER_THREAD / pass->features + 1;
}

TNN_VECTOR_CLONES
static void forward_groups(void *arg, size_t begin, size_t end)
{
    const struct ln_pass *p = arg;
    const size_t f = p->features;
    for (size_t g = begin; g < end; g++) {
        const float *x = p->x + g * f;
        float *y = p->y + g * f;
        double mean, inv_std;
        group_moments(x, f, p->eps, &mean, &inv_std);
        if (p->stats) {
            p->stats[2 * g] = mean;
            p->stats[2 * g + 1] = inv_std;
        }
        for (size_t j = 0; j < f; j++)
            y[j] = (float)((double)p->gamma[j] * ((x[j] - mean) * inv_std) +
                           p->beta[j]);
    }
}

static void layernorm_forward(tnn_layer *layer, const float *in, float *out,
                              size_t n, bool training, tnn_rng *rng)
{
    (void)rng;
    struct layernorm *ln = layer->impl;
    struct ln_pass pass = make_pass(layer, in, n);
    pass.y = out;
    pass.stats = training ? ln->stats : NULL;
    tnn__parallel_for(pass.groups, min_groups(&pass), forward_groups, &pass);
}

/* Adds value j's gamma * dout to *s1 and its product with xhat to *s2. */
static inline void gradient_terms(const struct ln_pass *p, const float *x,
                                  const float *dy, double mean, double inv_std,
                                  size_t j, double *s1, double *s2)
{
    double xhat = (x[j] - mean) * inv_std;
    double gj = (double)p->gamma[j] * dy[j];
    *s1 += gj;
    *s2 += gj * xhat;
}

/* Per group, with xhat = (x - mean) * inv_std and g = gamma * dout:
 * dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)). */
TNN_VECTOR_CLONES
static void input_gradient_groups(void *arg, size_t begin, size_t end)
{
    const struct ln_pass *p = arg;
    const size_t f = p->features;
    for (size_t g = begin; g < end; g++) {
        const float *x = p->x + g * f, *dy = p->dout + g * f;
        const double mean = p->stats[2 * g], inv_std = p->stats[2 * g + 1];
        const size_t whole = f - f % TNN_SUM_LANES;
        double part1[TNN_SUM_LANES] = {0}, part2[TNN_SUM_LANES] = {0};
        for (size_t j = 0; j < whole; j += TNN_SUM_LANES)
            for (size_t k = 0; k < TNN_SUM_LANES; k++)
                gradient_terms(p, x, dy, mean, inv_std, j + k, &part1[k],
                               &part2[k]);
        for (size_t j = whole; j < f; j++)
            gradient_terms(p, x, dy, mean, inv_std, j, &part1[j - whole],
                           &part2[j - whole]);
        const double s1 = tnn__fold_lanes(part1) / (double)f;
        const double s2 = tnn__fold_lanes(part2) / (double)f;
        float *dx = p->y + g * f;
        for (size_t j = 0; j < f; j++) {
            double xhat = (x[j] - mean) * inv_std;
            double gj = (double)p->gamma[j] * dy[j];
            dx[j] = (float)(inv_std * (gj - s1 - xhat * s2));
        }
    }
}

/* dgamma (the sum of dout * xhat) and dbeta (of dout) of the w features
 * from `first`, over every group in order. */
static void column_sums(const struct ln_pass *p, size_t first, size_t w)
{
    const size_t f = p->features;
    double dg[LN_FEATURE_CHUNK] = {0}, db[LN_FEATURE_CHUNK] = {0};
    for (size_t g = 0; g < p->groups; g++) {
        const float *x = p->x + g * f + first, *dy = p->dout + g * f + first;
        const double mean = p->stats[2 * g], inv_std = p->stats[2 * g + 1];
        for (size_t j = 0; j < w; j++) {
            double xhat = (x[j] - mean) * inv_std;
            dg[j] += dy[j] * xhat;
            db[j] += dy[j];
        }
    }
    float *dgamma = p->dgamma + first, *dbeta = p->dbeta + first;
    for (size_t j = 0; j < w; j++) {
        dgamma[j] = (p->accumulate ? dgamma[j] : 0.0f) + (float)dg[j];
        dbeta[j] = (p->accumulate ? dbeta[j] : 0.0f) + (float)db[j];
    }
}

/* The parameter gradients of feature blocks [begin, end). */
static void parameter_gradient_blocks(void *arg, size_t begin, size_t end)
{
    const struct ln_pass *p = arg;
    size_t first = begin * LN_FEATURE_BLOCK;
    size_t last = end * LN_FEATURE_BLOCK;
    if (last > p->features)
        last = p->features;
    for (size_t j = first; j < last; j += LN_FEATURE_CHUNK)
        column_sums(p, j,
                    last - j < LN_FEATURE_CHUNK ? last - j : LN_FEATURE_CHUNK);
}

/* The parameter gradients first, which read dout and in: the input
 * gradient may then be written over either, as the loop per group this
 * replaced allowed. */
static void layernorm_backward(tnn_layer *layer, const float *in,
                               const float *out, const float *dout, float *din,
                               size_t n, bool accumulate)
{
    (void)out;
    struct layernorm *ln = layer->impl;
    struct ln_pass pass = make_pass(layer, in, n);
    pass.dout = dout;
    pass.stats = ln->stats;
    pass.dgamma = layer->grad[0]->data;
    pass.dbeta = layer->grad[1]->data;
    pass.accumulate = accumulate;
    size_t blocks = (pass.features + LN_FEATURE_BLOCK - 1) / LN_FEATURE_BLOCK;
    size_t block_values = pass.groups * LN_FEATURE_BLOCK;
    size_t min_blocks =
        block_values ? LN_MIN_VALUES_PER_THREAD / block_values + 1 : blocks;
    tnn__parallel_for(blocks, min_blocks, parameter_gradient_blocks, &pass);
    if (!din)
        return;
    pass.y = din;
    tnn__parallel_for(pass.groups, min_groups(&pass), input_gradient_groups,
                      &pass);
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
    tnn__free(ln->stats);
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
    .reserve = layernorm_reserve,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
    .init = layernorm_init,
    .destroy = layernorm_destroy,
    .sample_scratch = layernorm_scratch,
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
    int status = tnn__check_eps(__func__, layer, eps);
    if (status != TNN_OK)
        return status;
    ln->eps = eps;
    return TNN_OK;
}

float tnn_layernorm_eps(const tnn_layer *layer)
{
    const struct layernorm *ln = as_layernorm(__func__, layer);
    return ln ? ln->eps : 0.0f;
}
