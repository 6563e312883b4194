/*
 * Residual block: a layer that owns a run of layers f and gives x + f(x).
 *
 * Why a composite layer and not a graph: the model stays a list, so that
 * everything that walks it (files, optimizers, replicas, clones, surgery)
 * treats a block as one more layer. The block lends its layers' parameter
 * tensors as its own (param[] points at theirs, in order), which is all
 * the optimizer and the replicas see; files hold the block's record
 * followed by its layers' records and tensors (model_io_*.c walk them).
 *
 * The block keeps each inner layer's output for the backward, and two
 * gradient buffers that the backward alternates between.
 */
#include <string.h>

#include "internal.h"

/* Parameter tensors a block lends at most. */
#define RESIDUAL_MAX_PARAMS 16

struct residual {
    size_t count;
    size_t cap;
    tnn_layer **layers;
    /* Outputs of the inner layers for up to act_cap[i] values each. */
    float **act;
    size_t *act_cap;
    /* Gradients between inner layers, as wide as the widest. */
    float *grad[2];
    size_t grad_cap[2];
    /* The layer's param, grad and is_weight: its layers' lent. */
    tnn_tensor *lent_param[RESIDUAL_MAX_PARAMS];
    tnn_tensor *lent_grad[RESIDUAL_MAX_PARAMS];
    bool lent_is_weight[RESIDUAL_MAX_PARAMS];
};

const struct tnn__layer_ops tnn__residual_ops;

static struct residual *residual_of(const tnn_layer *block)
{
    return block && block->ops == &tnn__residual_ops ? block->impl : NULL;
}

/* Lend the inner layers' parameters as the block's, in order. */
static void lend_params(tnn_layer *block)
{
    const struct residual *r = block->impl;
    int p = 0;
    for (size_t i = 0; i < r->count; i++) {
        tnn_layer *inner = r->layers[i];
        for (int k = 0; k < inner->num_params; k++, p++) {
            block->param[p] = inner->param[k];
            block->grad[p] = inner->grad[k];
            block->is_weight[p] = inner->is_weight[k];
        }
    }
    block->num_params = p;
}

/* ---- binding ---------------------------------------------------------- */

/* Bind the inner layers from in, one after the other; the last output
 * must be in's shape. Undoes what it bound when it fails. */
static int residual_bind(const tnn_layer *layer, const char *func,
                         const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct residual *r = layer->impl;
    struct tnn__shape shape = *in;
    size_t i = 0;
    int rc = TNN_OK;
    for (; rc == TNN_OK && i < r->count; i++) {
        rc = tnn__layer_bind(r->layers[i], func, &shape);
        if (rc == TNN_OK)
            shape = r->layers[i]->out_shape;
    }
    char want[64], got[64];
    if (rc == TNN_OK && !tnn__shape_equal(&shape, in))
        rc = tnn__fail(TNN_E_SHAPE, func,
                       "residual block: its layers turn %s into %s; x + "
                       "f(x) needs the same shape",
                       tnn__shape_text(in, want, sizeof want),
                       tnn__shape_text(&shape, got, sizeof got));
    if (rc != TNN_OK) {
        /* An unbound block's layers are unbound (but for the shapes they
         * were born with), as they go back to being. */
        for (size_t k = 0; k < i; k++)
            tnn__layer_unbind(r->layers[k]);
        return rc;
    }
    *out = *in;
    out->vocabulary = 0;
    return TNN_OK;
}

static void residual_unbind(tnn_layer *layer)
{
    const struct residual *r = layer->impl;
    for (size_t i = 0; i < r->count; i++)
        tnn__layer_unbind(r->layers[i]);
}

/* ---- buffers ----------------------------------------------------------- */

static size_t widest(const struct residual *r)
{
    size_t width = 0;
    for (size_t i = 0; i < r->count; i++) {
        if (r->layers[i]->in_features > width)
            width = r->layers[i]->in_features;
        if (r->layers[i]->out_features > width)
            width = r->layers[i]->out_features;
    }
    return width;
}

static int residual_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct residual *r = layer->impl;
    for (size_t i = 0; i < r->count; i++) {
        int rc = tnn__layer_reserve(r->layers[i], func, n);
        if (rc != TNN_OK)
            return rc;
        float *act = tnn__grow_rows(func, "residual block outputs", r->act[i],
                                    &r->act_cap[i], n,
                                    r->layers[i]->out_features, sizeof(float));
        if (!act)
            return TNN_E_NOMEM;
        r->act[i] = act;
    }
    size_t width = widest(r);
    for (int k = 0; k < 2 && r->count > 1; k++) {
        float *g = tnn__grow_rows(func, "residual block gradients", r->grad[k],
                                  &r->grad_cap[k], n, width, sizeof(float));
        if (!g)
            return TNN_E_NOMEM;
        r->grad[k] = g;
    }
    return TNN_OK;
}

static size_t residual_sample_scratch(const tnn_layer *layer)
{
    const struct residual *r = layer->impl;
    size_t total = r->count > 1 ? 2 * widest(r) : 0;
    for (size_t i = 0; i < r->count; i++) {
        size_t values = tnn__layer_sample_values(r->layers[i]);
        if (values > SIZE_MAX - total)
            return SIZE_MAX;
        total += values;
    }
    return total;
}

/* ---- passes ------------------------------------------------------------ */

/* What the model sets on its layers around a step (keyed draws, the
 * batch-statistics hook) reaches the inner ones. */
static void pass_settings(const tnn_layer *block)
{
    const struct residual *r = block->impl;
    for (size_t i = 0; i < r->count; i++) {
        tnn_layer *inner = r->layers[i];
        inner->row_key = block->row_key;
        /* Each layer its own key (splitmix64's finaliser over the block's
         * and the position), so that two that draw do not draw alike. */
        uint64_t z = block->row_key.key + 0x9e3779b97f4a7c15u * (i + 1);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        inner->row_key.key = z ^ (z >> 31);
        inner->sync = block->sync;
    }
}

static void residual_forward(tnn_layer *layer, const float *in, float *out,
                             size_t n, bool training, tnn_rng *rng)
{
    struct residual *r = layer->impl;
    pass_settings(layer);
    const float *x = in;
    for (size_t i = 0; i < r->count; i++) {
        tnn_layer *inner = r->layers[i];
        inner->ops->forward(inner, x, r->act[i], n, training, rng);
        inner->forward_rows = training ? n : 0;
        x = r->act[i];
    }
    size_t values = n * layer->in_features;
    for (size_t j = 0; j < values; j++)
        out[j] = in[j] + x[j];
}

static void residual_backward(tnn_layer *layer, const float *in,
                              const float *out, const float *dout, float *din,
                              size_t n, bool accumulate)
{
    (void)out;
    struct residual *r = layer->impl;
    pass_settings(layer);
    const float *g = dout;
    for (size_t i = r->count; i-- > 0;) {
        tnn_layer *inner = r->layers[i];
        const float *x = i ? r->act[i - 1] : in;
        float *dx = i ? r->grad[i % 2] : din;
        inner->ops->backward(inner, x, r->act[i], g, dx, n, accumulate);
        g = dx;
    }
    if (!din)
        return;
    /* The skip's gradient joins the run's (the run's alone is dout for an
     * empty block). */
    size_t values = n * layer->in_features;
    if (r->count == 0)
        for (size_t j = 0; j < values; j++)
            din[j] = dout[j] + dout[j];
    else
        for (size_t j = 0; j < values; j++)
            din[j] += dout[j];
}

static void residual_sync_idle(tnn_layer *layer, bool forward)
{
    const struct residual *r = layer->impl;
    pass_settings(layer);
    /* In the order the passes make their sums: the backward's last layer
     * first. */
    for (size_t k = 0; k < r->count; k++) {
        tnn_layer *inner = r->layers[forward ? k : r->count - 1 - k];
        if (inner->ops->sync_idle)
            inner->ops->sync_idle(inner, forward);
    }
}

static void residual_commit(tnn_layer *layer)
{
    const struct residual *r = layer->impl;
    for (size_t i = 0; i < r->count; i++)
        tnn__layer_commit(r->layers[i]);
}

/* Every layer, in order (which layers keep the parameters they came with
 * when the block joins a model is the model's business: model.c). */
static void residual_init(tnn_layer *layer, tnn_rng *rng)
{
    const struct residual *r = layer->impl;
    for (size_t i = 0; i < r->count; i++) {
        tnn_layer *inner = r->layers[i];
        if (inner->ops->init)
            inner->ops->init(inner, rng);
    }
}

static void residual_destroy(tnn_layer *layer)
{
    struct residual *r = layer->impl;
    for (size_t i = 0; i < r->count; i++) {
        tnn__layer_destroy(r->layers[i]);
        tnn__free(r->act[i]);
    }
    tnn__free(r->layers);
    tnn__free(r->act);
    tnn__free(r->act_cap);
    tnn__free(r->grad[0]);
    tnn__free(r->grad[1]);
    /* The parameters were the inner layers', freed with them. */
    layer->num_params = 0;
}

/* ---- model files: the number of inner layers, whose records follow -- */

static void residual_save_config(const tnn_layer *layer, uint32_t version,
                                 uint32_t *words)
{
    (void)version;
    const struct residual *r = layer->impl;
    words[0] = (uint32_t)r->count;
}

static tnn_layer *residual_load_config(const struct tnn__layer_record *record,
                                       uint32_t version)
{
    (void)record;
    (void)version;
    return tnn_residual_new();
}

static tnn_layer *residual_clone(const tnn_layer *layer)
{
    const struct residual *r = layer->impl;
    tnn_layer *copy = tnn_residual_new();
    for (size_t i = 0; copy && i < r->count; i++) {
        tnn_layer *inner = tnn_layer_clone(r->layers[i]);
        if (!inner || tnn_residual_add(copy, inner) != TNN_OK) {
            tnn_layer_free(inner);
            tnn_layer_free(copy);
            return NULL;
        }
    }
    return copy;
}

static void residual_onnx_node(const tnn_layer *layer,
                               struct tnn__onnx_node *node)
{
    (void)layer;
    node->refusal = "residual blocks are not exported yet";
}

const struct tnn__layer_ops tnn__residual_ops = {
    .kind = TNN_LAYER_RESIDUAL,
    .name = "residual",
    /* Its layers may draw (dropout, attention): run alone in training, a
     * block takes a generator. */
    .needs_rng = true,
    .bind = residual_bind,
    .reserve = residual_reserve,
    .forward = residual_forward,
    .backward = residual_backward,
    .init = residual_init,
    .destroy = residual_destroy,
    .unbind = residual_unbind,
    .sync_idle = residual_sync_idle,
    .sample_scratch = residual_sample_scratch,
    .commit = residual_commit,
    .lends_params = true,
    .clone = residual_clone,
    .since_format = 9,
    .config_words = 1,
    .save_config = residual_save_config,
    .load_config = residual_load_config,
    .onnx_node = residual_onnx_node,
};

tnn_layer *tnn_residual_new(void)
{
    tnn_layer *block = tnn__layer_alloc(__func__, &tnn__residual_ops, 0, 0,
                                        sizeof(struct residual));
    if (block) {
        struct residual *r = block->impl;
        block->param = r->lent_param;
        block->grad = r->lent_grad;
        block->is_weight = r->lent_is_weight;
    }
    return block;
}

/* Room for one more inner layer in every per-layer array. */
static int grow(struct residual *r, const char *func)
{
    if (r->count < r->cap)
        return TNN_OK;
    size_t cap = r->cap ? 2 * r->cap : 4;
    tnn_layer **layers = tnn__realloc(r->layers, cap * sizeof *layers);
    if (layers)
        r->layers = layers;
    float **act = layers ? tnn__realloc(r->act, cap * sizeof *act) : NULL;
    if (act)
        r->act = act;
    size_t *act_cap =
        act ? tnn__realloc(r->act_cap, cap * sizeof *act_cap) : NULL;
    if (!act_cap)
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot grow a residual block to %zu layers", cap);
    r->act_cap = act_cap;
    r->cap = cap;
    return TNN_OK;
}

/* Blocks nest at most this deep, as model files allow. */
#define RESIDUAL_MAX_DEPTH 16

/* Levels of blocks in layer: 0 for any other kind, 1 for a block of
 * plain layers. */
static int depth_of(const tnn_layer *layer)
{
    const struct residual *r = residual_of(layer);
    int deepest = 0;
    for (size_t i = 0; r && i < r->count; i++) {
        int d = depth_of(r->layers[i]);
        deepest = d > deepest ? d : deepest;
    }
    return r ? deepest + 1 : 0;
}

/* Whether inner is block itself or holds it, however deep. */
static bool contains(const tnn_layer *inner, const tnn_layer *block)
{
    if (inner == block)
        return true;
    const struct residual *r = residual_of(inner);
    for (size_t i = 0; r && i < r->count; i++)
        if (contains(r->layers[i], block))
            return true;
    return false;
}

int tnn_residual_add(tnn_layer *block, tnn_layer *layer)
{
    struct residual *r = residual_of(block);
    if (!r)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "block is %s, not a residual block",
                         block ? block->ops->name : "NULL");
    if (!layer)
        return tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
    if (contains(layer, block))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "a residual block cannot hold itself");
    if (layer->owner || layer->parent)
        return tnn__fail(
            TNN_E_INVALID, __func__, "the %s layer already belongs to a %s",
            layer->ops->name, layer->owner ? "model" : "residual block");
    if (block->owner || block->parent || block->in_shape.ndim != 0)
        return tnn__fail(TNN_E_STATE, __func__,
                         "the block is in a model or has run: its layers are "
                         "fixed");
    if (!layer->trainable)
        return tnn__fail(TNN_E_STATE, __func__,
                         "the %s layer is frozen; a block trains or freezes "
                         "its layers together (freeze the block)",
                         layer->ops->name);
    if (layer->ops->kind == TNN_LAYER_EMBEDDING)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "an embedding reads a model's token ids; it cannot "
                         "be in a residual block");
    if (1 + depth_of(layer) > RESIDUAL_MAX_DEPTH)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "residual blocks nest at most %d deep",
                         RESIDUAL_MAX_DEPTH);
    if (block->num_params + layer->num_params > RESIDUAL_MAX_PARAMS)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "a residual block holds at most %d parameter "
                         "tensors; with this %s layer it would hold %d",
                         RESIDUAL_MAX_PARAMS, layer->ops->name,
                         block->num_params + layer->num_params);
    /* A layer that knows its input must take what the run gives. */
    if (r->count > 0 && layer->in_shape.ndim != 0) {
        const tnn_layer *last = r->layers[r->count - 1];
        if (last->out_shape.ndim != 0 &&
            !tnn__shape_equal(&last->out_shape, &layer->in_shape) &&
            !(layer->ops->steps_over_time && last->out_shape.ndim == 2 &&
              layer->in_shape.ndim == 1 &&
              last->out_shape.dims[1] == layer->in_shape.dims[0])) {
            char want[64], got[64];
            return tnn__fail(
                TNN_E_SHAPE, __func__,
                "%s layer expects inputs of shape %s; the block's %s layer "
                "gives %s",
                layer->ops->name,
                tnn__shape_text(&layer->in_shape, want, sizeof want),
                last->ops->name,
                tnn__shape_text(&last->out_shape, got, sizeof got));
        }
    }
    int rc = grow(r, __func__);
    if (rc != TNN_OK)
        return rc;
    r->layers[r->count] = layer;
    r->act[r->count] = NULL;
    r->act_cap[r->count] = 0;
    r->count++;
    layer->parent = block;
    lend_params(block);
    return TNN_OK;
}

size_t tnn_residual_num_layers(const tnn_layer *block)
{
    const struct residual *r = residual_of(block);
    return r ? r->count : 0;
}

tnn_layer *tnn_residual_layer(tnn_layer *block, size_t i)
{
    const struct residual *r = residual_of(block);
    return r && i < r->count ? r->layers[i] : NULL;
}

int tnn__layer_each(const tnn_layer *layer,
                    int (*visit)(const tnn_layer *l, void *ctx), void *ctx)
{
    if (layer->ops != &tnn__residual_ops)
        return visit(layer, ctx);
    const struct residual *r = layer->impl;
    for (size_t i = 0; i < r->count; i++) {
        int rc = tnn__layer_each(r->layers[i], visit, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}
