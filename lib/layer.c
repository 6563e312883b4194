/*
 * What all layers share: allocation, parameters, the public accessors and
 * running a layer alone.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "model_io.h"

tnn_layer *tnn__layer_alloc(const char *func, const struct tnn__layer_ops *ops,
                            size_t in, size_t out, size_t impl_size)
{
    if (in > TNN_MAX_BLAS_DIM || out > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, func,
                  "width %zu exceeds the supported maximum %zu",
                  in > out ? in : out, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    tnn_layer *layer = tnn__calloc(1, sizeof *layer);
    void *impl = impl_size ? tnn__calloc(1, impl_size) : NULL;
    if (!layer || (impl_size && !impl)) {
        tnn__free(layer);
        tnn__free(impl);
        tnn__fail(TNN_E_NOMEM, func, "cannot allocate a %s layer", ops->name);
        return NULL;
    }
    layer->ops = ops;
    layer->in_features = in;
    layer->out_features = out;
    layer->param = layer->own_param;
    layer->grad = layer->own_grad;
    layer->is_weight = layer->own_is_weight;
    layer->trainable = true;
    layer->impl = impl;
    return layer;
}

int tnn__layer_add_param(tnn_layer *layer, const char *func, int ndim,
                         const size_t *dims, bool is_weight)
{
    int i = layer->num_params;
    layer->param[i] = tnn_tensor_new(ndim, dims);
    layer->grad[i] = tnn_tensor_new(ndim, dims);
    if (!layer->param[i] || !layer->grad[i]) {
        tnn_tensor_free(layer->param[i]);
        tnn_tensor_free(layer->grad[i]);
        layer->param[i] = layer->grad[i] = NULL;
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot allocate the parameters of a %s layer",
                         layer->ops->name);
    }
    layer->is_weight[i] = is_weight;
    layer->num_params = i + 1;
    return TNN_OK;
}

size_t tnn__shape_size(const struct tnn__shape *s)
{
    size_t size = s->ndim ? 1 : 0;
    for (int i = 0; i < s->ndim; i++)
        if (!tnn__mul_size(size, s->dims[i], &size))
            return SIZE_MAX; /* larger than anything accepted */
    return size;
}

bool tnn__shape_equal(const struct tnn__shape *a, const struct tnn__shape *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

const char *tnn__shape_text(const struct tnn__shape *s, char *buf, size_t size)
{
    if (s->ndim == 3)
        snprintf(buf, size, "(%zu, %zu, %zu)", s->dims[0], s->dims[1],
                 s->dims[2]);
    else if (s->ndim == 2)
        snprintf(buf, size, "(%zu, %zu)", s->dims[0], s->dims[1]);
    else
        snprintf(buf, size, "(%zu)", s->ndim ? s->dims[0] : (size_t)0);
    return buf;
}

void tnn__init_weights(tnn_layer *layer, int init, float value, double fan_in,
                       double fan_out, tnn_rng *rng)
{
    tnn_tensor *w = layer->param[0];
    switch (init) {
    case TNN_INIT_HE_NORMAL: {
        /* N(0,1) truncated at 2 has standard deviation 0.8796; dividing by
         * it keeps the variance at 2 / fan_in, as Keras does. */
        double sd = sqrt(2.0 / fan_in) / 0.87962566103423978;
        for (size_t i = 0; i < w->size; i++) {
            double z;
            do
                z = tnn_rng_normal(rng);
            while (fabs(z) > 2.0);
            w->data[i] = (float)(sd * z);
        }
        break;
    }
    case TNN_INIT_ZEROS: tnn_tensor_fill(w, 0.0f); break;
    case TNN_INIT_CONSTANT: tnn_tensor_fill(w, value); break;
    default: {
        float limit = (float)sqrt(6.0 / (fan_in + fan_out));
        tnn_tensor_rand_uniform(w, rng, -limit, limit);
        break;
    }
    }
    tnn_tensor_fill(layer->param[1], 0.0f);
}

const struct tnn_model *tnn__layer_model(const tnn_layer *layer)
{
    while (layer->parent)
        layer = layer->parent;
    return layer->owner;
}

int tnn__layer_check_idle(const char *func, const tnn_layer *layer)
{
    if (!layer)
        return TNN_OK;
    return tnn__check_not_training(func, tnn__layer_model(layer),
                                   layer->ops->name);
}

static int add_state_count(const tnn_layer *layer, void *ctx)
{
    *(int *)ctx += layer->ops->num_state;
    return 0;
}

int tnn__layer_state_count(const tnn_layer *layer)
{
    int count = 0;
    tnn__layer_each(layer, add_state_count, &count);
    return count;
}

struct state_search {
    int k; /* counted down through the layers before the one holding it */
    tnn_tensor *found;
};

/* The layers visited are those of the non-const layer that
 * tnn__layer_state() was given, so its tensor is the caller's to use. */
static int find_state(const tnn_layer *layer, void *ctx)
{
    struct state_search *search = ctx;
    if (search->k >= layer->ops->num_state) {
        search->k -= layer->ops->num_state;
        return 0;
    }
    search->found = layer->ops->state((tnn_layer *)layer, search->k);
    return 1;
}

tnn_tensor *tnn__layer_state(tnn_layer *layer, int k)
{
    struct state_search search = {k, NULL};
    tnn__layer_each(layer, find_state, &search);
    return search.found;
}

void *tnn__layer_impl_of(const char *func, const tnn_layer *layer,
                         const struct tnn__layer_ops *ops)
{
    if (!layer || layer->ops != ops) {
        tnn__fail(TNN_E_INVALID, func, "layer is %s, not %s",
                  layer ? layer->ops->name : "NULL", ops->name);
        return NULL;
    }
    return layer->impl;
}

int tnn__check_eps(const char *func, const tnn_layer *layer, float eps)
{
    if (tnn__layer_check_idle(func, layer) != TNN_OK)
        return TNN_E_STATE;
    if (!(eps > 0.0f) || !isfinite(eps))
        return tnn__fail(TNN_E_INVALID, func,
                         "eps is %g; it must be positive and finite",
                         (double)eps);
    return TNN_OK;
}

int tnn__check_init(const char *func, const tnn_layer *layer,
                    const struct tnn__layer_ops *ops, int init, float value)
{
    if (!tnn__layer_impl_of(func, layer, ops))
        return TNN_E_INVALID;
    if (init < TNN_INIT_GLOROT_UNIFORM || init > TNN_INIT_CONSTANT)
        return tnn__fail(TNN_E_INVALID, func,
                         "init is %d; not an enum tnn_init value", init);
    if (!isfinite(value))
        return tnn__fail(TNN_E_INVALID, func, "value %g is not finite",
                         (double)value);
    return tnn__layer_check_idle(func, layer);
}

void *tnn__grow_rows(const char *func, const char *what, void *buffer,
                     size_t *cap, size_t n, size_t per_row, size_t size)
{
    size_t count;
    bool fits = tnn__mul_size(n, per_row, &count);
    if (fits && count <= *cap && buffer)
        return buffer;
    void *grown = fits ? tnn__calloc(count ? count : 1, size) : NULL;
    if (!grown) {
        tnn__fail(TNN_E_NOMEM, func, "cannot allocate %s for %zu rows of %zu",
                  what, n, per_row);
        return NULL;
    }
    tnn__free(buffer);
    *cap = count;
    return grown;
}

void tnn__layer_set_shapes(tnn_layer *layer, const struct tnn__shape *in,
                           const struct tnn__shape *out)
{
    layer->in_shape = *in;
    layer->out_shape = *out;
    layer->in_features = tnn__shape_size(in);
    layer->out_features = tnn__shape_size(out);
}

/* Token ids go to an embedding of a vocabulary at least theirs, and
 * nowhere else. */
static int check_tokens(const tnn_layer *layer, const char *func,
                        const struct tnn__shape *in)
{
    if (in->vocabulary == 0)
        return TNN_OK;
    size_t vocabulary = tnn__embedding_vocabulary(layer);
    if (vocabulary == 0)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s layer cannot take token ids; a model of tokens "
                         "starts with an embedding",
                         layer->ops->name);
    if (vocabulary < in->vocabulary)
        return tnn__fail(TNN_E_SHAPE, func,
                         "embedding of %zu ids cannot take ids of a "
                         "vocabulary of %zu",
                         vocabulary, in->vocabulary);
    return TNN_OK;
}

/* Whether a layer born with (features) inputs is given (time, features)
 * samples, which it takes as rows (ops->steps_over_time). */
static bool over_time(const tnn_layer *layer, const struct tnn__shape *in)
{
    return layer->ops->steps_over_time && !layer->bound_by_input &&
           layer->in_shape.ndim == 1 && in->ndim == 2 &&
           in->dims[1] == layer->in_shape.dims[0];
}

static int bind_over_time(tnn_layer *layer, const char *func,
                          const struct tnn__shape *in)
{
    struct tnn__shape out = {2, {in->dims[0], layer->out_shape.dims[0]}, 0};
    if (tnn__shape_size(&out) > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s layer: output of more than %zu values",
                         layer->ops->name, TNN_MAX_BLAS_DIM);
    layer->bound_by_input = true;
    layer->unbound_in = layer->in_features;
    layer->unbound_out = layer->out_features;
    tnn__layer_set_shapes(layer, in, &out);
    return TNN_OK;
}

int tnn__layer_bind(tnn_layer *layer, const char *func,
                    const struct tnn__shape *in)
{
    char want[64], got[64];
    int rc = check_tokens(layer, func, in);
    if (rc != TNN_OK)
        return rc;
    if (layer->in_shape.ndim != 0) {
        if (tnn__shape_equal(&layer->in_shape, in))
            return TNN_OK;
        if (over_time(layer, in))
            return bind_over_time(layer, func, in);
        if (layer->in_shape.ndim == 1 && in->ndim == 1)
            return tnn__fail(TNN_E_SHAPE, func,
                             "%s layer expects %zu inputs, previous layer "
                             "gives %zu",
                             layer->ops->name, layer->in_shape.dims[0],
                             in->dims[0]);
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s layer expects inputs of shape %s, previous "
                         "layer gives %s",
                         layer->ops->name,
                         tnn__shape_text(&layer->in_shape, want, sizeof want),
                         tnn__shape_text(in, got, sizeof got));
    }
    size_t size = tnn__shape_size(in);
    if (size == 0 || size > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s layer: input of 0 or more than %zu values",
                         layer->ops->name, TNN_MAX_BLAS_DIM);
    struct tnn__shape out = *in;
    out.vocabulary = 0;
    if (layer->ops->bind) {
        rc = layer->ops->bind(layer, func, in, &out);
        if (rc != TNN_OK)
            return rc;
    }
    if (tnn__shape_size(&out) > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s layer: output of more than %zu values",
                         layer->ops->name, TNN_MAX_BLAS_DIM);
    layer->bound_by_input = true;
    layer->unbound_in = layer->in_features;
    layer->unbound_out = layer->out_features;
    tnn__layer_set_shapes(layer, in, &out);
    return TNN_OK;
}

void tnn__layer_unbind(tnn_layer *layer)
{
    if (!layer->bound_by_input)
        return;
    if (layer->ops->unbind)
        layer->ops->unbind(layer);
    /* A layer born with (features) inputs and bound to time steps goes
     * back to its born shapes. */
    if (layer->ops->steps_over_time) {
        layer->in_shape = (struct tnn__shape){1, {layer->unbound_in}, 0};
        layer->out_shape = (struct tnn__shape){1, {layer->unbound_out}, 0};
    } else {
        layer->in_shape.ndim = 0;
        layer->out_shape.ndim = 0;
    }
    layer->in_features = layer->unbound_in;
    layer->out_features = layer->unbound_out;
    layer->bound_by_input = false;
}

int tnn__layer_reserve(tnn_layer *layer, const char *func, size_t n)
{
    return layer->ops->reserve ? layer->ops->reserve(layer, func, n) : TNN_OK;
}

bool tnn__layer_learns(const tnn_layer *layer)
{
    return layer->trainable && layer->num_params > 0;
}

size_t tnn__layer_sample_values(const tnn_layer *layer)
{
    size_t scratch =
        layer->ops->sample_scratch ? layer->ops->sample_scratch(layer) : 0;
    size_t out = layer->out_features;
    return scratch > SIZE_MAX - out ? SIZE_MAX : out + scratch;
}

void tnn__layer_commit(tnn_layer *layer)
{
    if (layer->ops->commit)
        layer->ops->commit(layer);
}

void tnn_layer_free(tnn_layer *layer)
{
    /* A model frees its own layers; freeing one here would leave the model
     * holding a dangling pointer. */
    if (layer && (layer->owner || layer->parent)) {
        tnn__fail(TNN_E_STATE, __func__,
                  "the %s layer belongs to a %s, which frees it",
                  layer->ops->name, layer->owner ? "model" : "residual block");
        return;
    }
    tnn__layer_destroy(layer);
}

void tnn__layer_destroy(tnn_layer *layer)
{
    if (!layer)
        return;
    if (layer->ops->destroy)
        layer->ops->destroy(layer);
    for (int i = 0; !layer->ops->lends_params && i < layer->num_params; i++) {
        tnn_tensor_free(layer->param[i]);
        tnn_tensor_free(layer->grad[i]);
    }
    tnn__free(layer->impl);
    tnn__free(layer);
}

/* Copy the values of one tensor into another of the same size. */
static int copy_values(const char *func, const char *what, tnn_tensor *to,
                       const tnn_tensor *from)
{
    if (!to || !from || to->size != from->size)
        return tnn__fail(TNN_E_STATE, func,
                         "the copy's %s do not match the layer's", what);
    memcpy(to->data, from->data, from->size * sizeof *from->data);
    return TNN_OK;
}

/* The copy is made as a model file would make it: the kind's
 * configuration words through its own loader, then the values. */
tnn_layer *tnn_layer_clone(const tnn_layer *layer)
{
    if (!layer) {
        tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
        return NULL;
    }
    const struct tnn__layer_ops *ops = layer->ops;
    if (ops->clone) {
        tnn_layer *copy = ops->clone(layer);
        if (copy) {
            copy->trainable = layer->trainable;
            copy->keep_params = true;
        }
        return copy;
    }
    struct tnn__layer_record record = {
        .kind = (uint32_t)ops->kind,
        .trainable = layer->trainable,
        .in = layer->in_features,
        .out = layer->out_features,
        .nconfig = tnn__layer_config_words(ops, TNN__FORMAT_VERSION)};
    if (ops->save_config)
        ops->save_config(layer, TNN__FORMAT_VERSION, record.config);
    tnn_layer *copy = ops->load_config
                          ? ops->load_config(&record, TNN__FORMAT_VERSION)
                          : tnn__layer_alloc(__func__, ops, 0, 0, 0);
    if (!copy) {
        /* The only refusal left for a configuration that a layer already
         * has is running out of memory. */
        tnn__fail(TNN_E_NOMEM, __func__,
                  "cannot allocate a copy of the %s "
                  "layer",
                  ops->name);
        return NULL;
    }
    int rc = copy->num_params == layer->num_params
                 ? TNN_OK
                 : tnn__fail(TNN_E_STATE, __func__,
                             "the copy of the %s layer has %d parameter "
                             "tensors, not %d",
                             ops->name, copy->num_params, layer->num_params);
    for (int p = 0; rc == TNN_OK && p < layer->num_params; p++)
        rc = copy_values(__func__, "parameters", copy->param[p],
                         layer->param[p]);
    for (int k = 0; rc == TNN_OK && k < ops->num_state; k++)
        rc = copy_values(__func__, ops->state_names[k], ops->state(copy, k),
                         ops->state((tnn_layer *)layer, k));
    if (rc != TNN_OK) {
        tnn__layer_destroy(copy);
        return NULL;
    }
    copy->trainable = layer->trainable;
    copy->keep_params = true;
    return copy;
}

int tnn_layer_kind(const tnn_layer *layer)
{
    return layer ? (int)layer->ops->kind : 0;
}

const char *tnn_layer_name(const tnn_layer *layer)
{
    return layer ? layer->ops->name : "";
}

size_t tnn_layer_in_features(const tnn_layer *layer)
{
    return layer ? layer->in_features : 0;
}

size_t tnn_layer_out_features(const tnn_layer *layer)
{
    return layer ? layer->out_features : 0;
}

int tnn_layer_num_params(const tnn_layer *layer)
{
    return layer ? layer->num_params : 0;
}

tnn_tensor *tnn_layer_param(tnn_layer *layer, int i)
{
    if (!layer || i < 0 || i >= layer->num_params)
        return NULL;
    return layer->param[i];
}

tnn_tensor *tnn_layer_grad(tnn_layer *layer, int i)
{
    if (!layer || i < 0 || i >= layer->num_params)
        return NULL;
    return layer->grad[i];
}

int tnn_layer_set_trainable(tnn_layer *layer, int trainable)
{
    if (!layer)
        return tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
    if (trainable != 0 && trainable != 1)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "trainable is %d; it must be 0 or 1", trainable);
    int rc = tnn__layer_check_idle(__func__, layer);
    if (rc != TNN_OK)
        return rc;
    if (layer->parent)
        return tnn__fail(TNN_E_STATE, __func__,
                         "the %s layer is in a residual block, which trains "
                         "or freezes its layers together",
                         layer->ops->name);
    /* A frozen layer's gradients are overwritten, not consumed by the
     * optimizer: start a trainable layer again from zero. */
    if (trainable == 1 && !layer->trainable)
        tnn__layer_zero_grad(layer);
    layer->trainable = trainable == 1;
    return TNN_OK;
}

/* A block's layers train or freeze with it (tnn_layer_set_trainable()
 * refuses them): a layer is trainable when it and every block around it
 * are. */
int tnn_layer_trainable(const tnn_layer *layer)
{
    if (!layer)
        return 0;
    for (const tnn_layer *l = layer; l; l = l->parent)
        if (!l->trainable)
            return 0;
    return 1;
}

int tnn_layer_init(tnn_layer *layer, tnn_rng *rng)
{
    if (!layer)
        return tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
    if (!rng)
        return tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
    int rc = tnn__layer_check_idle(__func__, layer);
    if (rc != TNN_OK)
        return rc;
    if (layer->ops->init)
        layer->ops->init(layer, rng);
    return TNN_OK;
}

void tnn__layer_zero_grad(tnn_layer *layer)
{
    for (int i = 0; i < layer->num_params; i++)
        tnn_tensor_fill(layer->grad[i], 0.0f);
}

int tnn_layer_zero_grad(tnn_layer *layer)
{
    if (!layer)
        return tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
    int rc = tnn__layer_check_idle(__func__, layer);
    if (rc == TNN_OK)
        tnn__layer_zero_grad(layer);
    return rc;
}

/* t must hold rows of width values (any layout: (rows, width) or
 * (rows, channels, height, width)); rows 0 accepts any number. */
static int check_rows(const char *func, const char *name, const tnn_tensor *t,
                      size_t rows, size_t width)
{
    if (!t)
        return tnn__fail(TNN_E_INVALID, func, "%s is NULL", name);
    size_t got = t->ndim >= 2 ? t->size / t->dims[0] : 0;
    if (t->ndim < 2 || (rows && t->dims[0] != rows) || got != width)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s has %zu rows of %zu values; expected %zu rows "
                         "of %zu",
                         name, t->dims[0], got, rows ? rows : t->dims[0],
                         width);
    return TNN_OK;
}

/* The sample shape of a batch tensor: (n, f) gives (f), (n, t, f) gives
 * (t, f) and (n, c, h, w) gives (c, h, w). */
static int sample_shape(const char *func, const tnn_tensor *t,
                        struct tnn__shape *s)
{
    if (!t)
        return tnn__fail(TNN_E_INVALID, func, "in is NULL");
    if (t->ndim < 2 || t->ndim > 4)
        return tnn__fail(TNN_E_SHAPE, func,
                         "in has %d dims; expected (rows, features), (rows, "
                         "time, features) or (rows, channels, height, "
                         "width)",
                         t->ndim);
    *s = (struct tnn__shape){0};
    s->ndim = t->ndim - 1;
    for (int i = 0; i < s->ndim; i++)
        s->dims[i] = t->dims[i + 1];
    return TNN_OK;
}

/* A layer run alone is held to its model's bound, or to the default. */
static int check_sample_values(const char *func, const tnn_layer *layer)
{
    size_t limit = layer->owner ? layer->owner->max_sample_values
                                : TNN_DEFAULT_MAX_SAMPLE_VALUES;
    size_t values = tnn__layer_sample_values(layer);
    char shape[64];
    if (values > limit)
        return tnn__fail(
            TNN_E_INVALID, func,
            "%s layer needs %zu values per sample (output %s); "
            "the limit is %zu",
            layer->ops->name, values,
            tnn__shape_text(&layer->out_shape, shape, sizeof shape), limit);
    return TNN_OK;
}

int tnn_layer_forward(tnn_layer *layer, const tnn_tensor *in, tnn_tensor *out,
                      int mode, tnn_rng *rng)
{
    if (!layer)
        return tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
    if (mode != TNN_MODE_EVAL && mode != TNN_MODE_TRAIN)
        return tnn__fail(TNN_E_INVALID, __func__, "mode is %d", mode);
    struct tnn__shape shape;
    int rc = tnn__layer_check_idle(__func__, layer);
    if (rc == TNN_OK)
        rc = sample_shape(__func__, in, &shape);
    if (rc != TNN_OK)
        return rc;
    size_t n = in->dims[0];
    if (n > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, __func__, "batch of %zu rows", n);
    bool training = mode == TNN_MODE_TRAIN;
    if (training && layer->ops->needs_rng && !rng)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "a %s layer in training mode needs an rng",
                         layer->ops->name);
    /* Binding is undone if anything after it fails, so that a failed call
     * leaves the layer as it was. */
    const bool was_bound = layer->bound_by_input;
    rc = tnn__layer_bind(layer, __func__, &shape);
    if (rc == TNN_OK)
        rc = check_sample_values(__func__, layer);
    if (rc == TNN_OK)
        rc = check_rows(__func__, "out", out, n, layer->out_features);
    if (rc == TNN_OK && layer->ops->check_input)
        rc = layer->ops->check_input(layer, __func__, in->data, n);
    if (rc == TNN_OK)
        rc = tnn__layer_check_state_rows(layer, __func__, n);
    if (rc == TNN_OK)
        rc = tnn__layer_reserve(layer, __func__, n);
    if (rc != TNN_OK) {
        if (layer->bound_by_input && !was_bound)
            tnn__layer_unbind(layer);
        return rc;
    }
    layer->ops->forward(layer, in->data, out->data, n, training, rng);
    layer->forward_rows = training ? n : 0;
    if (training)
        tnn__layer_commit(layer);
    return TNN_OK;
}

int tnn_layer_backward(tnn_layer *layer, const tnn_tensor *in,
                       const tnn_tensor *out, const tnn_tensor *dout,
                       tnn_tensor *din)
{
    if (!layer)
        return tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
    if (tnn__layer_check_idle(__func__, layer) != TNN_OK)
        return TNN_E_STATE;
    if (layer->forward_rows == 0)
        return tnn__fail(TNN_E_STATE, __func__,
                         "no forward pass in training mode preceded it");
    size_t n = layer->forward_rows;
    if (in && in->ndim >= 2 && in->dims[0] != n)
        return tnn__fail(TNN_E_STATE, __func__,
                         "in has %zu rows; the last training forward had %zu",
                         in->dims[0], n);
    int rc = check_rows(__func__, "in", in, n, layer->in_features);
    if (rc == TNN_OK)
        rc = check_rows(__func__, "out", out, n, layer->out_features);
    if (rc == TNN_OK)
        rc = check_rows(__func__, "dout", dout, n, layer->out_features);
    if (rc == TNN_OK && din)
        rc = check_rows(__func__, "din", din, n, layer->in_features);
    if (rc != TNN_OK)
        return rc;
    layer->ops->backward(layer, in->data, out->data, dout->data,
                         din ? din->data : NULL, n, true);
    return TNN_OK;
}
