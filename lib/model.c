/*
 * The sequential model: owns its layers, optimizer, generator and the
 * per-batch buffers, and walks the layers for training and inference.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The rows a model is fed: dims[0] rows of everything else. */
struct rows {
    const float *data;
    size_t count;
    size_t width;
    /* Labels that are class indices, one per row. */
    bool index;
};

/* ---- buffers ------------------------------------------------------------ */

static size_t width_after(const tnn_model *m, size_t layers)
{
    return layers == 0 ? m->in_features : m->layers[layers - 1]->out_features;
}

static const struct tnn__shape *shape_after(const tnn_model *m, size_t layers)
{
    return layers == 0 ? &m->in_shape : &m->layers[layers - 1]->out_shape;
}

static void free_buffers(tnn_model *m)
{
    /* A flatten layer's buffers are its input's: free each buffer once. */
    for (size_t i = 0; m->act && i <= m->num_layers; i++)
        if (i == 0 || m->act[i] != m->act[i - 1])
            tnn__free(m->act[i]);
    for (size_t i = 0; m->dact && i <= m->num_layers; i++)
        if (i == 0 || m->dact[i] != m->dact[i - 1])
            tnn__free(m->dact[i]);
    tnn__free(m->act);
    tnn__free(m->dact);
    tnn__free(m->labels);
    m->act = m->dact = NULL;
    m->labels = NULL;
    m->rows_cap = 0;
}

/* The values one sample occupies in the buffers: the input row, every
 * layer's output and its gradient (none for flatten, which moves no data)
 * and the layers' own per-sample state. Refused above the model's bound,
 * so that a small file or a careless geometry cannot make a prediction of
 * one sample allocate gigabytes. */
static int check_sample_values(const tnn_model *m, const char *func)
{
    size_t total = m->in_features;
    for (size_t i = 0; i < m->num_layers; i++) {
        const tnn_layer *layer = m->layers[i];
        if (layer->ops->aliases_input)
            continue;
        size_t own = tnn__layer_sample_values(layer);
        own = own > SIZE_MAX - layer->out_features ? SIZE_MAX
                                                   : own + layer->out_features;
        total = own > SIZE_MAX - total ? SIZE_MAX : total + own;
        if (total > m->max_sample_values) {
            char shape[64];
            return tnn__fail(
                TNN_E_INVALID, func,
                "layer %zu (%s, output %s) takes the values per "
                "sample to %zu; the limit is %zu (see "
                "tnn_model_set_max_sample_values)",
                i, layer->ops->name,
                tnn__shape_text(&layer->out_shape, shape, sizeof shape), total,
                m->max_sample_values);
        }
    }
    return TNN_OK;
}

/* Make every buffer hold n rows; allocates only when n grows. */
static int ensure_rows(tnn_model *m, const char *func, size_t n)
{
    int rc = check_sample_values(m, func);
    if (rc != TNN_OK || n <= m->rows_cap)
        return rc;
    free_buffers(m);
    size_t count = m->num_layers + 1;
    m->act = tnn__calloc(count, sizeof *m->act);
    m->dact = tnn__calloc(count, sizeof *m->dact);
    bool ok = m->act && m->dact;
    size_t values;
    for (size_t i = 0; ok && i < count; i++) {
        /* A layer that moves no data (flatten) gets its input's buffer as
         * its output (but not the caller's x, which layer 0 reads in
         * place). */
        if (i >= 2 && m->layers[i - 1]->ops->aliases_input) {
            m->act[i] = m->act[i - 1];
            m->dact[i] = m->dact[i - 1];
            continue;
        }
        ok = tnn__mul_size(n, width_after(m, i), &values);
        m->act[i] = ok ? tnn__calloc(values, sizeof(float)) : NULL;
        m->dact[i] = ok && i ? tnn__calloc(values, sizeof(float)) : NULL;
        ok = m->act[i] && (i == 0 || m->dact[i]);
    }
    /* Labels are as wide as the output at most (probability rows). */
    if (ok && tnn__mul_size(n, width_after(m, m->num_layers), &values))
        m->labels = tnn__calloc(values, sizeof(float));
    ok = ok && m->labels;
    if (!ok) {
        free_buffers(m);
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot allocate buffers for %zu rows", n);
    }
    /* A layer's own refusal (no memory, or a batch too large for it) is
     * passed on as it reported it. */
    for (size_t i = 0; i < m->num_layers; i++) {
        rc = tnn__layer_reserve(m->layers[i], func, n);
        if (rc != TNN_OK) {
            free_buffers(m);
            return rc;
        }
    }
    m->rows_cap = n;
    return TNN_OK;
}

/* Match the pool to the thread count; only allocates when it changes. */
static int ensure_pool(tnn_model *m, const char *func)
{
    int threads = tnn_get_num_threads();
    if (tnn__pool_parts(m->pool) == threads)
        return TNN_OK;
    tnn__pool_free(m->pool);
    m->pool = NULL;
    return threads > 1 ? tnn__pool_new(func, threads, &m->pool) : TNN_OK;
}

int tnn__check_not_training(const char *func, const tnn_model *owner,
                            const char *layer_kind)
{
    if (!owner || !owner->busy)
        return TNN_OK;
    /* One text for the model, its optimizer and its layers: "the model"
     * or "the dense layer's model". */
    return tnn__fail(TNN_E_STATE, func,
                     "the %s%smodel is training (called from a "
                     "tnn_model_fit() callback)",
                     layer_kind ? layer_kind : "",
                     layer_kind ? " layer's " : "");
}

/* A model is busy while tnn_model_fit() runs: its callback may read it
 * but not change it. */
static int check_idle(const tnn_model *m, const char *func)
{
    if (!m)
        return tnn__fail(TNN_E_INVALID, func, "model is NULL");
    return tnn__check_not_training(func, m, NULL);
}

/* ---- life cycle ----------------------------------------------------------
 */

static tnn_model *model_new(const char *func, const struct tnn__shape *in)
{
    tnn_model *m = tnn__calloc(1, sizeof *m);
    tnn_rng *rng = tnn_rng_new(0);
    if (!m || !rng) {
        tnn__free(m);
        tnn_rng_free(rng);
        tnn__fail(TNN_E_NOMEM, func, "cannot allocate a model");
        return NULL;
    }
    m->in_shape = *in;
    m->in_features = tnn__shape_size(in);
    m->rng = rng;
    m->loss = TNN_LOSS_MSE;
    m->huber_delta = 1.0f;
    m->mode = TNN_MODE_EVAL;
    m->max_sample_values = TNN_DEFAULT_MAX_SAMPLE_VALUES;
    return m;
}

tnn_model *tnn_model_new(size_t input_features)
{
    if (input_features == 0 || input_features > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "input_features is %zu; it must be in [1, %zu]",
                  input_features, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    struct tnn__shape in = {1, {input_features}, 0};
    return model_new(__func__, &in);
}

tnn_model *tnn_model_new_image(size_t channels, size_t height, size_t width)
{
    struct tnn__shape in = {3, {channels, height, width}, 0};
    size_t size = 0;
    if (channels == 0 || height == 0 || width == 0 ||
        !tnn__mul_size(channels, height, &size) ||
        !tnn__mul_size(size, width, &size) || size > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "shape (%zu, %zu, %zu) must have sides >= 1 and at most "
                  "%zu values",
                  channels, height, width, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    return model_new(__func__, &in);
}

tnn_model *tnn_model_new_sequence(size_t time, size_t features)
{
    struct tnn__shape in = {2, {time, features}, 0};
    size_t size = 0;
    if (time == 0 || features == 0 || !tnn__mul_size(time, features, &size) ||
        size > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "shape (%zu, %zu) must have sides >= 1 and at most %zu "
                  "values",
                  time, features, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    return model_new(__func__, &in);
}

tnn_model *tnn_model_new_tokens(size_t time, size_t vocabulary)
{
    /* Ids travel as floats, which hold every integer up to 2^24. */
    if (time == 0 || time > TNN_MAX_BLAS_DIM || vocabulary == 0 ||
        vocabulary > ((size_t)1 << 24)) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "time is %zu and vocabulary %zu; time must be in [1, %zu] "
                  "and vocabulary in [1, 2^24]",
                  time, vocabulary, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    struct tnn__shape in = {1, {time}, vocabulary};
    return model_new(__func__, &in);
}

void tnn_model_free(tnn_model *m)
{
    if (!m)
        return;
    free_buffers(m);
    for (size_t i = 0; i < m->num_layers; i++)
        tnn__layer_destroy(m->layers[i]);
    tnn__free(m->layers);
    tnn__optim_destroy(m->optim);
    tnn_rng_free(m->rng);
    tnn__pool_free(m->pool);
    tnn__free(m->reduce_buf);
    tnn__free(m);
}

/* A layer or optimizer that a model owns is never the caller's to give:
 * refusing it must not free it. */
static int check_unowned(const tnn_model *m, const char *func,
                         const char *what, const struct tnn_model *owner)
{
    if (!owner)
        return TNN_OK;
    return tnn__fail(TNN_E_STATE, func, "%s already belongs to %s", what,
                     owner == m ? "this model" : "another model");
}

/* The layer list changes (a layer added, removed, inserted or replaced):
 * the buffers sized for the old one go first, and the optimizer's state
 * with the parameter list it belonged to (the next step would rebuild it,
 * but a file saved before then must not hold state that no longer fits). */
static void layers_changing(tnn_model *m)
{
    free_buffers(m);
    if (m->optim)
        tnn__optim_forget_state(m->optim);
}

/* Room for one more layer in the list. */
static int grow_layers(tnn_model *m, const char *func)
{
    if (m->num_layers < m->layers_cap)
        return TNN_OK;
    size_t cap = m->layers_cap ? 2 * m->layers_cap : 8;
    tnn_layer **grown = tnn__realloc(m->layers, cap * sizeof *grown);
    if (!grown)
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot grow the layer list to %zu", cap);
    m->layers = grown;
    m->layers_cap = cap;
    return TNN_OK;
}

/* Initialise a layer joining a model, unless it came with its parameters
 * (kept, or held by a block that was); a block's layers each as if they
 * joined alone. The marks are cleared, so that a later re-seed
 * initialises everything. */
static void init_joining(tnn_layer *layer, tnn_rng *rng, bool kept)
{
    kept = kept || layer->keep_params;
    size_t inner = tnn_residual_num_layers(layer);
    for (size_t i = 0; i < inner; i++)
        init_joining(tnn_residual_layer(layer, i), rng, kept);
    if (inner == 0 && !kept && layer->ops->init &&
        layer->ops->kind != TNN_LAYER_RESIDUAL)
        layer->ops->init(layer, rng);
    layer->keep_params = false;
}

/* A layer joins the model: initialised from its generator, unless it
 * comes with parameters (a clone, or a layer taken out of a model). */
static void join(tnn_model *m, tnn_layer *layer)
{
    init_joining(layer, m->rng, false);
    layer->owner = m;
}

/* A layer leaves the model for the caller, with its parameters, which it
 * keeps when it joins a model again, and without the shape the model gave
 * it (a dense layer keeps the widths it was made with). */
static void leave(tnn_layer *layer)
{
    layer->owner = NULL;
    layer->forward_rows = 0;
    layer->keep_params = true;
    tnn__layer_unbind(layer);
}

/* An embedding reads the model's ids, which only the first layer sees:
 * layer may not go to position index > 0, nor may a layer go before an
 * embedding at position 0 (next is the position after the new layer's
 * of the layer that follows it). */
static int check_embedding_place(const tnn_model *m, const char *func,
                                 const tnn_layer *layer, size_t index,
                                 size_t next)
{
    if (layer && tnn__embedding_vocabulary(layer) && index > 0)
        return tnn__fail(TNN_E_SHAPE, func,
                         "an embedding reads the model's token ids: it can "
                         "only be the first layer");
    if (next == 0 && m->num_layers > 0 &&
        tnn__embedding_vocabulary(m->layers[0]))
        return tnn__fail(TNN_E_SHAPE, func,
                         "the embedding reads the model's token ids: no "
                         "layer can go before it");
    return TNN_OK;
}

/* A layer in a residual block is the block's to free. */
static int check_not_in_block(const char *func, const tnn_layer *layer)
{
    if (!layer || !layer->parent)
        return TNN_OK;
    return tnn__fail(TNN_E_STATE, func,
                     "the %s layer belongs to a residual block",
                     layer->ops->name);
}

int tnn_model_add(tnn_model *m, tnn_layer *layer)
{
    if (layer && check_unowned(m, __func__, "the layer", layer->owner))
        return TNN_E_STATE;
    if (check_not_in_block(__func__, layer) != TNN_OK)
        return TNN_E_STATE;
    int rc = check_idle(m, __func__);
    if (rc == TNN_OK && !layer)
        rc = tnn__fail(TNN_E_INVALID, __func__, "layer is NULL");
    if (rc == TNN_OK)
        rc = check_embedding_place(m, __func__, layer, m->num_layers,
                                   m->num_layers + 1);
    if (rc == TNN_OK)
        rc = tnn__layer_bind(layer, __func__, shape_after(m, m->num_layers));
    if (rc == TNN_OK)
        rc = grow_layers(m, __func__);
    if (rc != TNN_OK) {
        tnn_layer_free(layer);
        return rc;
    }
    layers_changing(m);
    join(m, layer);
    m->layers[m->num_layers++] = layer;
    return TNN_OK;
}

tnn_layer *tnn_model_pop(tnn_model *m)
{
    if (check_idle(m, __func__) != TNN_OK)
        return NULL;
    if (m->num_layers == 0) {
        tnn__fail(TNN_E_STATE, __func__, "the model has no layers");
        return NULL;
    }
    layers_changing(m);
    tnn_layer *layer = m->layers[--m->num_layers];
    leave(layer);
    return layer;
}

/* Whether layer, bound to the input of position index, gives what the
 * layer now at position next takes (anything past the last layer). */
static int check_fits_before(const tnn_model *m, const char *func,
                             const tnn_layer *layer, size_t next)
{
    char want[64], got[64];
    if (next >= m->num_layers ||
        tnn__shape_equal(&layer->out_shape, &m->layers[next]->in_shape))
        return TNN_OK;
    return tnn__fail(
        TNN_E_SHAPE, func, "the %s layer gives %s; layer %zu (%s) takes %s",
        layer->ops->name, tnn__shape_text(&layer->out_shape, got, sizeof got),
        next, m->layers[next]->ops->name,
        tnn__shape_text(&m->layers[next]->in_shape, want, sizeof want));
}

/* The index of tnn_model_insert() or tnn_model_replace(), below the
 * number of positions the call may place a layer at. None is left only
 * to a replace in an empty model: an insert may always append. */
static int check_index(const tnn_model *m, const char *func, size_t index,
                       size_t positions)
{
    if (positions == 0)
        return tnn__fail(TNN_E_INVALID, func,
                         "the model has no layer to replace");
    if (index >= positions)
        return tnn__fail(TNN_E_INVALID, func,
                         "index is %zu; the model has %zu layers, so it must "
                         "be at most %zu",
                         index, m->num_layers, positions - 1);
    return TNN_OK;
}

/* The checks of tnn_model_insert() and tnn_model_replace(): index below
 * positions, the layer bound to the input of position index and fitting
 * before position next. On failure the layer is freed, as tnn_model_add()
 * does, unless another model owns it. */
static int check_placed(tnn_model *m, const char *func, tnn_layer *layer,
                        size_t index, size_t positions, size_t next)
{
    if (layer && check_unowned(m, func, "the layer", layer->owner))
        return TNN_E_STATE;
    if (check_not_in_block(func, layer) != TNN_OK)
        return TNN_E_STATE;
    int rc = check_idle(m, func);
    if (rc == TNN_OK && !layer)
        rc = tnn__fail(TNN_E_INVALID, func, "layer is NULL");
    if (rc == TNN_OK)
        rc = check_index(m, func, index, positions);
    if (rc == TNN_OK)
        rc = check_embedding_place(m, func, layer, index, next);
    if (rc == TNN_OK)
        rc = tnn__layer_bind(layer, func, shape_after(m, index));
    if (rc == TNN_OK)
        rc = check_fits_before(m, func, layer, next);
    if (rc != TNN_OK)
        tnn_layer_free(layer);
    return rc;
}

int tnn_model_insert(tnn_model *m, size_t index, tnn_layer *layer)
{
    /* Any layer's position, or past the last. */
    size_t positions = m ? m->num_layers + 1 : 0;
    int rc = check_placed(m, __func__, layer, index, positions, index);
    if (rc == TNN_OK && (rc = grow_layers(m, __func__)) != TNN_OK)
        tnn_layer_free(layer);
    if (rc != TNN_OK)
        return rc;
    layers_changing(m);
    memmove(m->layers + index + 1, m->layers + index,
            (m->num_layers - index) * sizeof *m->layers);
    join(m, layer);
    m->layers[index] = layer;
    m->num_layers++;
    return TNN_OK;
}

int tnn_model_replace(tnn_model *m, size_t index, tnn_layer *layer,
                      tnn_layer **old)
{
    if (old)
        *old = NULL;
    size_t positions = m ? m->num_layers : 0;
    int rc = check_placed(m, __func__, layer, index, positions, index + 1);
    if (rc != TNN_OK)
        return rc;
    layers_changing(m);
    tnn_layer *replaced = m->layers[index];
    leave(replaced);
    join(m, layer);
    m->layers[index] = layer;
    if (old)
        *old = replaced;
    else
        tnn__layer_destroy(replaced);
    return TNN_OK;
}

/* ---- accessors -----------------------------------------------------------
 */

size_t tnn_model_num_layers(const tnn_model *m)
{
    return m ? m->num_layers : 0;
}

tnn_layer *tnn_model_layer(tnn_model *m, size_t i)
{
    return m && i < m->num_layers ? m->layers[i] : NULL;
}

size_t tnn_model_in_features(const tnn_model *m)
{
    return m ? m->in_features : 0;
}

size_t tnn_model_out_features(const tnn_model *m)
{
    return m ? width_after(m, m->num_layers) : 0;
}

static size_t layer_param_count(const tnn_layer *layer)
{
    size_t total = 0;
    for (int p = 0; p < layer->num_params; p++)
        total += layer->param[p]->size;
    return total;
}

/* Values of the layer's saved state: batch-norm's running statistics. */
static size_t layer_state_count(const tnn_layer *layer)
{
    size_t total = 0;
    for (int k = 0; k < tnn__layer_state_count(layer); k++)
        total += tnn__layer_state((tnn_layer *)layer, k)->size;
    return total;
}

size_t tnn_model_num_params(const tnn_model *m)
{
    size_t total = 0;
    for (size_t i = 0; m && i < m->num_layers; i++)
        total += layer_param_count(m->layers[i]);
    return total;
}

/* snprintf into buf at *used, counting what would not fit. */
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    TNN_PRINTF_LIKE(4, 5);

#include <stdarg.h>
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *at = *used < size ? buf + *used : NULL;
    int n = vsnprintf(at, at ? size - *used : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

int tnn_model_summary(const tnn_model *m, char *buf, size_t size,
                      size_t *needed)
{
    if (!m)
        return tnn__fail(TNN_E_INVALID, __func__, "model is NULL");
    if (!buf && size > 0)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "buf is NULL but size is %zu", size);
    /* As Keras counts them: parameters, then the saved state that is no
     * parameter (batch-norm's running statistics) as non-trainable. */
    size_t used = 0, trainable = 0, total = 0;
    char shape[64];
    append(buf, size, &used, "%-5s %-12s %-22s %12s\n", "#", "Layer",
           "Output shape", "Params");
    append(buf, size, &used, "%.54s\n",
           "======================================================");
    append(buf, size, &used, "%-5s %-12s (None, %s\n", "", "input",
           tnn__shape_text(&m->in_shape, shape, sizeof shape) + 1);
    for (size_t i = 0; i < m->num_layers; i++) {
        const tnn_layer *layer = m->layers[i];
        size_t learned = layer_param_count(layer);
        size_t params = learned + layer_state_count(layer);
        char text[80];
        snprintf(text, sizeof text, "(None, %s",
                 tnn__shape_text(&layer->out_shape, shape, sizeof shape) + 1);
        append(buf, size, &used, "%-5zu %-12s %-22s %12zu%s\n", i,
               layer->ops->name, text, params,
               layer->trainable || !learned ? "" : " (frozen)");
        if (layer->trainable)
            trainable += learned;
        total += params;
    }
    append(buf, size, &used, "%.54s\n",
           "======================================================");
    append(buf, size, &used,
           "Total params: %zu\nTrainable params: %zu\n"
           "Non-trainable params: %zu\n",
           total, trainable, total - trainable);
    if (size > 0 && used >= size)
        buf[size - 1] = '\0';
    if (needed)
        *needed = used;
    return TNN_OK;
}

int tnn_model_set_seed(tnn_model *m, uint64_t seed)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    tnn_rng_seed(m->rng, seed);
    /* As if nothing had been trained: the optimizer starts over too. */
    if (m->optim)
        tnn__optim_reset(m->optim);
    for (size_t i = 0; i < m->num_layers; i++)
        if (m->layers[i]->ops->init)
            m->layers[i]->ops->init(m->layers[i], m->rng);
    return TNN_OK;
}

tnn_rng *tnn_model_rng(tnn_model *m)
{
    return m ? m->rng : NULL;
}

int tnn_model_set_loss(tnn_model *m, int loss)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    /* 2 is no loss (enum tnn_loss_kind). */
    if (loss < TNN_LOSS_MSE || loss > TNN_LOSS_BINARY_CROSS_ENTROPY ||
        loss == 2)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "loss is %d; not an enum tnn_loss_kind value", loss);
    m->loss = loss;
    return TNN_OK;
}

int tnn_model_set_huber_delta(tnn_model *m, float delta)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    if (!(delta > 0.0f && isfinite(delta)))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "delta is %g; it must be finite and > 0",
                         (double)delta);
    m->huber_delta = delta;
    return TNN_OK;
}

float tnn_model_huber_delta(const tnn_model *m)
{
    return m ? m->huber_delta : 0.0f;
}

int tnn_model_set_optim(tnn_model *m, tnn_optim *opt)
{
    /* Giving a model the optimizer it has already is no change. */
    bool same = m && opt && m->optim == opt;
    if (opt && !same &&
        check_unowned(m, __func__, "the optimizer", opt->owner))
        return TNN_E_STATE;
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK) {
        if (!same)
            tnn_optim_free(opt);
        return rc;
    }
    if (same)
        return TNN_OK;
    tnn__optim_destroy(m->optim);
    m->optim = opt;
    if (opt)
        opt->owner = m;
    return TNN_OK;
}

tnn_optim *tnn_model_optim(tnn_model *m)
{
    return m ? m->optim : NULL;
}

int tnn_model_set_mode(tnn_model *m, int mode)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    if (mode != TNN_MODE_EVAL && mode != TNN_MODE_TRAIN)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "mode is %d; not an enum tnn_mode value", mode);
    m->mode = mode;
    return TNN_OK;
}

int tnn_model_mode(const tnn_model *m)
{
    return m ? m->mode : 0;
}

int tnn_model_set_max_sample_values(tnn_model *m, size_t values)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    if (values < m->in_features)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "values is %zu; it must be at least the %zu input "
                         "values of a sample",
                         values, m->in_features);
    m->max_sample_values = values;
    return TNN_OK;
}

size_t tnn_model_max_sample_values(const tnn_model *m)
{
    return m ? m->max_sample_values : 0;
}

int tnn_model_set_check_finite(tnn_model *m, int on)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    if (on != 0 && on != 1)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "on is %d; it must be 0 or 1", on);
    m->check_finite = on == 1;
    return TNN_OK;
}

/* ---- argument checks ------------------------------------------------------
 */

/* x: dims[0] rows of in_features values (any shape with that many). */
static int check_input(const tnn_model *m, const char *func, const char *name,
                       const tnn_tensor *x, struct rows *rows)
{
    if (!x)
        return tnn__fail(TNN_E_INVALID, func, "%s is NULL", name);
    size_t n = x->dims[0];
    if (x->ndim < 2 || x->size / n != m->in_features)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s must be (rows, %zu); it has %d dims with %zu "
                         "values per row",
                         name, m->in_features, x->ndim, x->size / n);
    /* Ids are checked before any pass: against the model's vocabulary,
     * then the first layer's own check (an embedding's). */
    int rc = TNN_OK;
    if (m->in_shape.vocabulary)
        rc = tnn__check_indices(func, "token id", x->data, x->size,
                                m->in_features, m->in_shape.vocabulary);
    if (rc == TNN_OK && m->num_layers && m->layers[0]->ops->check_input)
        rc = m->layers[0]->ops->check_input(m->layers[0], func, x->data, n);
    if (rc != TNN_OK)
        return rc;
    *rows = (struct rows){x->data, n, m->in_features, false};
    return TNN_OK;
}

/* Whether the loss computes the last layer with itself: cross-entropy a
 * final softmax, binary cross-entropy a final sigmoid. */
static bool fused_last(const tnn_model *m)
{
    if (m->num_layers == 0)
        return false;
    const struct tnn__layer_ops *ops = m->layers[m->num_layers - 1]->ops;
    return (m->loss == TNN_LOSS_CROSS_ENTROPY &&
            ops->fuses_with_cross_entropy) ||
           (m->loss == TNN_LOSS_BINARY_CROSS_ENTROPY &&
            ops->fuses_with_binary_cross_entropy);
}

/* Layers that run before the loss: all but a fused softmax or sigmoid. */
static size_t head_layers(const tnn_model *m)
{
    return m->num_layers - (fused_last(m) ? 1 : 0);
}

/* Distributions per sample under cross-entropy: one per time step of
 * (time, classes) outputs, else one. */
static size_t loss_steps(const tnn_model *m)
{
    const struct tnn__shape *s = shape_after(m, head_layers(m));
    return m->loss == TNN_LOSS_CROSS_ENTROPY && s->ndim == 2 ? s->dims[0] : 1;
}

/* y: as many rows as x, each a class index (1-D y, cross-entropy) or as
 * wide as the loss input; for (time, classes) outputs under
 * cross-entropy, a class index per step ((rows, time) y) or a
 * distribution per step. */
static int check_labels(const tnn_model *m, const char *func, const char *name,
                        const tnn_tensor *y, size_t n, struct rows *rows)
{
    if (!y)
        return tnn__fail(TNN_E_INVALID, func, "%s is NULL", name);
    size_t width = width_after(m, head_layers(m));
    size_t steps = loss_steps(m);
    bool per_step = m->loss == TNN_LOSS_CROSS_ENTROPY &&
                    shape_after(m, head_layers(m))->ndim == 2;
    bool index = m->loss == TNN_LOSS_CROSS_ENTROPY &&
                 ((y->ndim == 1 && steps == 1) ||
                  (per_step && y->ndim == 2 && y->dims[1] == steps));
    size_t want = index ? steps : width;
    if (per_step && (y->dims[0] != n || y->size / y->dims[0] != want))
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s must be (%zu, %zu), a class per step, or have "
                         "%zu rows of %zu values, a distribution per step; "
                         "it has %zu rows of %zu",
                         name, n, steps, n, width, y->dims[0],
                         y->size / y->dims[0]);
    if (y->dims[0] != n || y->size / y->dims[0] != want)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s must have %zu rows of %zu value%s; it has %zu "
                         "rows of %zu",
                         name, n, want, want == 1 ? "" : "s", y->dims[0],
                         y->size / y->dims[0]);
    /* Checked before any computation, so that a bad label changes
     * nothing (batch-norm statistics, the generator). */
    int rc = TNN_OK;
    if (index && steps > 1)
        rc = tnn__check_indices(func, name, y->data, n * steps, steps,
                                width / steps);
    else if (m->loss == TNN_LOSS_CROSS_ENTROPY)
        rc = index ? tnn__check_class_labels(func, y->data, n * steps,
                                             width / steps)
                   : tnn__check_probability_labels(func, y->data, n * steps,
                                                   width / steps);
    else if (m->loss == TNN_LOSS_BINARY_CROSS_ENTROPY)
        rc = tnn__check_binary_targets(func, y->data, n, width);
    if (rc != TNN_OK)
        return rc;
    *rows = (struct rows){y->data, n, want, index};
    return TNN_OK;
}

static int check_trainable(const tnn_model *m, const char *func)
{
    int rc = check_idle(m, func);
    if (rc != TNN_OK)
        return rc;
    if (m->num_layers == 0)
        return tnn__fail(TNN_E_STATE, func, "the model has no layers");
    if (!m->optim)
        return tnn__fail(TNN_E_STATE, func,
                         "the model has no optimizer; call "
                         "tnn_model_set_optim() first");
    return TNN_OK;
}

/* ---- the passes ------------------------------------------------------------
 */

/* Whether layer i + 1 runs layer i and itself as one pass each way (a
 * ReLU and the max pooling or the dropout after it). Only inside a model,
 * whose buffers nobody else reads: layer i's output is never written. */
static bool absorbed(const tnn_model *m, size_t i)
{
    if (i + 1 >= m->num_layers)
        return false;
    const tnn_layer *next = m->layers[i + 1];
    return next->ops->absorbs && next->ops->absorbs(next, m->layers[i]);
}

/* Whether layers i, i + 1 and i + 2 are a convolution, a ReLU and a max
 * pooling that absorbs it, which may run on the convolution's blocked
 * output (internal.h); like absorbed(), only inside a model: the
 * convolution's and the ReLU's outputs are never written. */
static bool conv_relu_pool(const tnn_model *m, size_t i)
{
    return i + 2 < m->num_layers &&
           m->layers[i]->ops->kind == TNN_LAYER_CONV2D &&
           m->layers[i + 2]->ops->kind == TNN_LAYER_MAXPOOL2D &&
           absorbed(m, i + 1);
}

/* Run layers [0, count) on n rows from x; the last one writes into
 * last_out when given (predictions straight into the caller's tensor). */
static const float *forward_layers(tnn_model *m, const float *x, size_t n,
                                   size_t count, bool training,
                                   float *last_out)
{
    const float *in = x;
    struct tnn__pool *before = tnn__pool_enter(m->pool);
    /* For this forward and the loss and backward after it. */
    tnn__pool_set_spread(m->pool,
                         tnn__products_spread(n, m->layers, m->num_layers));
    for (size_t i = 0; i < count; i++) {
        tnn_layer *layer = m->layers[i];
        struct tnn__blocked blocked;
        if (i + 2 < count && conv_relu_pool(m, i) &&
            tnn__conv2d_forward_blocked(layer, in, n, &blocked)) {
            float *out = last_out && i + 3 == count ? last_out : m->act[i + 3];
            tnn__relu_maxpool_forward_blocked(m->layers[i + 2], &blocked, out,
                                              n, training);
            /* The pooling's own backward cannot follow this forward. */
            layer->forward_rows = training ? n : 0;
            m->layers[i + 1]->forward_rows = training ? n : 0;
            m->layers[i + 2]->forward_rows = 0;
            i += 2;
            in = out;
            continue;
        }
        if (i + 1 < count && absorbed(m, i)) {
            /* Layer i's output (act[i + 1]) is skipped. */
            layer->forward_rows = training ? n : 0;
            layer = m->layers[++i];
            float *out = last_out && i + 1 == count ? last_out : m->act[i + 1];
            layer->ops->forward_absorbing(layer, in, out, n, training, m->rng);
            layer->forward_rows = training ? n : 0;
            in = out;
            continue;
        }
        float *out = last_out && i + 1 == count ? last_out : m->act[i + 1];
        layer->ops->forward(layer, in, out, n, training, m->rng);
        layer->forward_rows = training ? n : 0;
        in = out;
    }
    tnn__pool_leave(before);
    return in;
}

/* Loss of n rows of loss input against labels; gradient into grad unless
 * NULL; *correct counts right answers: rows for cross-entropy, values for
 * binary cross-entropy (see accuracy_of()). */
static int compute_loss(const tnn_model *m, const char *func,
                        const float *head, const struct rows *y, size_t n,
                        float *grad, double *loss, size_t *correct)
{
    size_t width = width_after(m, head_layers(m));
    size_t steps = loss_steps(m);
    *correct = 0;
    if (m->loss == TNN_LOSS_CROSS_ENTROPY)
        return tnn__cross_entropy(func, head, y->data, y->index, n * steps,
                                  width / steps, grad, loss, correct);
    if (m->loss == TNN_LOSS_BINARY_CROSS_ENTROPY) {
        *loss =
            tnn__binary_cross_entropy(head, y->data, n, width, grad, correct);
        return TNN_OK;
    }
    /* The regression losses split long passes over the threads. */
    struct tnn__pool *before = tnn__pool_enter(m->pool);
    if (m->loss == TNN_LOSS_MAE)
        *loss = tnn__mae(head, y->data, n, width, grad);
    else if (m->loss == TNN_LOSS_HUBER)
        *loss = tnn__huber(head, y->data, n, width, m->huber_delta, grad);
    else
        *loss = tnn__mse(head, y->data, n, width, grad);
    tnn__pool_leave(before);
    return TNN_OK;
}

/* The accuracy of correct right answers (compute_loss()) over rows:
 * per row for cross-entropy, per value for binary cross-entropy (Keras'
 * binary accuracy), NaN for the regression losses. */
static double accuracy_of(const tnn_model *m, double correct, double rows)
{
    if (m->loss == TNN_LOSS_CROSS_ENTROPY)
        return correct / (rows * (double)loss_steps(m));
    if (m->loss == TNN_LOSS_BINARY_CROSS_ENTROPY)
        return correct / (rows * (double)width_after(m, head_layers(m)));
    return NAN;
}

/* Forget the gradients of a step that will not be applied: trainable
 * layers accumulate into theirs, which the next step expects at zero. */
static void discard_gradients(tnn_model *m)
{
    for (size_t i = 0; i < m->num_layers; i++)
        if (m->layers[i]->trainable)
            tnn__layer_zero_grad(m->layers[i]);
}

/* Names the parameter of optimizer slot `slot` in a message. */
static void describe_slot(const tnn_model *m, size_t slot, char *buf,
                          size_t size)
{
    for (size_t i = 0; i < m->num_layers; i++) {
        const tnn_layer *layer = m->layers[i];
        if (slot < (size_t)layer->num_params) {
            snprintf(buf, size, "parameter %zu of layer %zu (%s)", slot, i,
                     layer->ops->name);
            return;
        }
        slot -= (size_t)layer->num_params;
    }
    snprintf(buf, size, "a parameter");
}

/* The first layer that learns; it alone needs no input gradient, nor do
 * the layers before it. */
static size_t first_learning(const tnn_model *m, size_t head)
{
    size_t first = 0;
    while (first < head && !tnn__layer_learns(m->layers[first]))
        first++;
    return first;
}

/* Layers [first, head) backwards; first is first_learning(m, head). */
static void backward_layers(tnn_model *m, const float *x, size_t n,
                            size_t head, size_t first)
{
    struct tnn__pool *before = tnn__pool_enter(m->pool);
    for (size_t i = head; i-- > first;) {
        tnn_layer *layer = m->layers[i];
        /* After a blocked forward (conv_relu_pool()) the convolution's
         * and the ReLU's outputs were never written: the blocked route is
         * the only one back. */
        if (i >= 2 && i - 2 >= first && conv_relu_pool(m, i - 2) &&
            tnn__maxpool_went_blocked(layer, n)) {
            tnn_layer *conv = m->layers[i - 2];
            const struct tnn__blocked *blocked =
                tnn__relu_maxpool_backward_blocked(layer, m->act[i + 1],
                                                   m->dact[i + 1], n);
            tnn__conv2d_backward_blocked(
                conv, i > 2 ? m->act[i - 2] : x, blocked, m->dact[i - 1],
                i - 2 > first ? m->dact[i - 2] : NULL, n, conv->trainable);
            i -= 2;
            continue;
        }
        /* An absorbed layer is past the first layer that learns: it
         * passes a gradient on, into dact[i - 1]. */
        if (i >= 2 && i - 1 > first && absorbed(m, i - 1)) {
            layer->ops->backward_absorbing(layer, m->act[i - 1], m->act[i + 1],
                                           m->dact[i + 1], m->dact[i - 1], n);
            i--;
            continue;
        }
        const float *in = i ? m->act[i] : x;
        /* Trainable layers add into their gradients, which the optimizer
         * leaves at zero; frozen layers overwrite theirs. */
        layer->ops->backward(layer, in, m->act[i + 1], m->dact[i + 1],
                             i > first ? m->dact[i] : NULL, n,
                             layer->trainable);
    }
    tnn__pool_leave(before);
}

/* Make lasting what the training forward prepared (batch-norm's
 * statistics), once the step has succeeded. */
static void commit_layers(tnn_model *m)
{
    for (size_t i = 0; i < head_layers(m); i++)
        tnn__layer_commit(m->layers[i]);
}

/* A per-row initial state (tnn_recurrent_set_state) needs a call's count
 * rows in one pass (chunk rows at a time, chunk >= count) of exactly its
 * rows, and no replicas splitting them: checked before anything runs. */
static int check_state_rows(const tnn_model *m, const char *func, size_t count,
                            size_t chunk)
{
    for (size_t i = 0; i < m->num_layers; i++) {
        const tnn_layer *layer = m->layers[i];
        if (!tnn__layer_has_row_state(layer))
            continue;
        if (m->shard_count > 1)
            return tnn__fail(TNN_E_STATE, func,
                             "layer %zu (%s) has an initial state per row, "
                             "which replicas sharing a batch cannot split",
                             i, layer->ops->name);
        int rc = tnn__layer_check_state_rows(layer, func, count);
        if (rc != TNN_OK)
            return rc;
        if (chunk < count)
            return tnn__fail(TNN_E_SHAPE, func,
                             "layer %zu (%s) has an initial state per row: "
                             "its %zu rows must run in one pass, not in "
                             "chunks of %zu",
                             i, layer->ops->name, count, chunk);
    }
    return TNN_OK;
}

/* Names a step in messages: "epoch 2, step 17", "step 40" or "batch".
 * Written out only when a message needs it: formatting it at every step
 * cost as much as a small model's loss. */
struct step_name {
    int epoch;   /* from 1; 0 outside tnn_model_fit() */
    size_t step; /* from 1; 0 for a batch that no update follows */
};

static const char *step_text(const struct step_name *name, char *buf,
                             size_t size)
{
    if (name->epoch > 0)
        snprintf(buf, size, "epoch %d, step %zu", name->epoch, name->step);
    else if (name->step > 0)
        snprintf(buf, size, "step %zu", name->step);
    else
        snprintf(buf, size, "batch");
    return buf;
}

/* The name of the coming update's step outside tnn_model_fit(). */
static struct step_name next_step(const tnn_model *m)
{
    return (struct step_name){0, (size_t)tnn_optim_steps(m->optim) + 1};
}

/* Forward, loss and backward of n rows (first_row the first one's index
 * in the global batch, for keyed random draws): the trainable layers'
 * gradients gain this batch's, summed over the replicas when a hook is
 * set, and *f gets the global figures; what the forward prepared is left
 * to commit_layers(). where names the step in messages. A failure changes
 * nothing but the gradients, which are then zero if the backward ran. */
static int compute_step(tnn_model *m, const char *func, const float *x,
                        const struct rows *y, size_t n, size_t first_row,
                        struct tnn__figures *f, const struct step_name *where)
{
    char name[64];
    const tnn_rng rng_before = *m->rng;
    size_t head = head_layers(m);
    if (m->shard_count > 0)
        tnn__replica_key_layers(m, tnn__rng_next(m->rng), first_row);
    /* Layers learn of replicas only when there are some. */
    const bool synced = m->sync_batchnorm && m->allreduce;
    if (synced)
        tnn__replica_sync_layers(m, true);
    size_t first = first_learning(m, head);
    double loss = 0.0;
    size_t correct = 0;
    int rc = TNN_OK;
    if (n > 0) {
        const float *out = forward_layers(m, x, n, head, true, NULL);
        rc = compute_loss(m, func, out, y, n, head ? m->dact[head] : NULL,
                          &loss, &correct);
        /* A diverging run stops before it reaches the weights; with
         * replicas, after the hook, so that all of them stop (taking part
         * in the sums the backward would make). */
        if (rc == TNN_OK && isfinite(loss))
            backward_layers(m, x, n, head, first);
        else if (rc == TNN_OK)
            tnn__replica_idle(m, head, first, false);
    } else {
        tnn__replica_idle(m, head, first, true);
        tnn__replica_idle(m, head, first, false);
    }
    const bool sync_failed = synced && m->sync_failed;
    if (synced)
        tnn__replica_sync_layers(m, false);
    if (m->shard_count > 0)
        tnn__replica_unkey_layers(m);
    *f = (struct tnn__figures){(double)n, loss * (double)n, (double)correct,
                               loss};
    if (rc == TNN_OK && m->allreduce) {
        rc = tnn__replica_reduce(m, func, true, f);
        if (rc == TNN_OK && sync_failed)
            rc = tnn__fail(TNN_E_IO, func,
                           "%s: the allreduce hook failed on batch "
                           "statistics; nothing was changed",
                           step_text(where, name, sizeof name));
        if (rc == TNN_OK && f->rows == 0.0)
            rc = tnn__fail(TNN_E_SHAPE, func, "%s: no replica has rows",
                           step_text(where, name, sizeof name));
        if (rc != TNN_OK)
            discard_gradients(m);
    }
    if (rc == TNN_OK && m->allreduce)
        f->loss = f->loss_sum / f->rows;
    if (rc == TNN_OK && !isfinite(f->loss)) {
        if (m->allreduce)
            discard_gradients(m);
        rc = tnn__fail(TNN_E_NUMERIC, func, "%s: loss is %g",
                       step_text(where, name, sizeof name), f->loss);
    }
    if (rc != TNN_OK)
        *m->rng = rng_before;
    return rc;
}

/* The optimizer's update from the gradients, which it then zeroes:
 * clipping, the finiteness check when it is on, the step. had_state says
 * whether the optimizer had its state before the step; a failure puts
 * that back, zeroes the gradients and changes nothing else. rows: of the
 * batch the gradients came from, 0 if not known (it decides whether the
 * update is worth splitting over the threads). */
static int apply_step(tnn_model *m, const char *func, bool had_state,
                      size_t rows, const struct step_name *where)
{
    tnn__optim_clip(m->optim, m->layers, m->num_layers);
    size_t slot = 0;
    if (m->check_finite &&
        !tnn__optim_step_finite(m->optim, m->layers, m->num_layers, &slot)) {
        char what[96], name[64];
        describe_slot(m, slot, what, sizeof what);
        discard_gradients(m);
        if (!had_state)
            tnn__optim_forget_state(m->optim);
        return tnn__fail(TNN_E_NUMERIC, func,
                         "%s: the update would make %s or its optimizer "
                         "state non-finite; nothing was changed",
                         step_text(where, name, sizeof name), what);
    }
    tnn__optim_step(m->optim, m->layers, m->num_layers, rows, m->pool);
    return TNN_OK;
}

/* One training step on n rows: forward, loss, backward, update. A step
 * that fails changes nothing the caller can see: parameters, optimizer
 * state, batch-norm statistics and the generator are those of before
 * it, and the gradients are zero. */
static int train_step(tnn_model *m, const char *func, const float *x,
                      const struct rows *y, size_t n, size_t first_row,
                      struct tnn__figures *f, const struct step_name *where)
{
    /* The optimizer's state is made first: once backward has added into
     * the gradients, the step must not fail for want of memory. */
    const bool had_state = m->optim->num_slots > 0;
    int rc = tnn__optim_prepare(m->optim, func, m->layers, m->num_layers);
    if (rc != TNN_OK)
        return rc;
    const tnn_rng rng_before = *m->rng;
    rc = compute_step(m, func, x, y, n, first_row, f, where);
    if (rc == TNN_OK)
        rc = apply_step(m, func, had_state, n, where);
    else if (!had_state)
        tnn__optim_forget_state(m->optim);
    if (rc != TNN_OK) {
        *m->rng = rng_before;
        return rc;
    }
    commit_layers(m);
    return TNN_OK;
}

/* The checks of a step on the batch x, y that tnn_model_train_batch()
 * and tnn_model_compute_gradients() share. */
static int check_step(tnn_model *m, const char *func, const tnn_tensor *x,
                      const tnn_tensor *y, struct rows *xr, struct rows *yr)
{
    int rc = check_input(m, func, "x", x, xr);
    if (rc == TNN_OK)
        rc = check_labels(m, func, "y", y, xr->count, yr);
    if (rc == TNN_OK && xr->count > TNN_MAX_BLAS_DIM)
        rc = tnn__fail(TNN_E_SHAPE, func, "batch of %zu rows", xr->count);
    if (rc == TNN_OK)
        rc = check_state_rows(m, func, xr->count, xr->count);
    if (rc == TNN_OK)
        rc = ensure_rows(m, func, xr->count);
    if (rc == TNN_OK)
        rc = ensure_pool(m, func);
    if (rc == TNN_OK)
        rc = tnn__replica_reserve(m, func);
    return rc;
}

int tnn_model_train_batch(tnn_model *m, const tnn_tensor *x,
                          const tnn_tensor *y, double *loss)
{
    struct rows xr = {0}, yr = {0};
    int rc = check_trainable(m, __func__);
    if (rc == TNN_OK)
        rc = check_step(m, __func__, x, y, &xr, &yr);
    if (rc != TNN_OK)
        return rc;
    struct tnn__figures f;
    const struct step_name where = next_step(m);
    rc = train_step(m, __func__, xr.data, &yr, xr.count, 0, &f, &where);
    if (rc == TNN_OK && loss)
        *loss = f.loss;
    return rc;
}

int tnn_model_compute_gradients(tnn_model *m, const tnn_tensor *x,
                                const tnn_tensor *y, double *loss)
{
    struct rows xr = {0}, yr = {0};
    int rc = check_idle(m, __func__);
    if (rc == TNN_OK && m->num_layers == 0)
        rc = tnn__fail(TNN_E_STATE, __func__, "the model has no layers");
    if (rc == TNN_OK)
        rc = check_step(m, __func__, x, y, &xr, &yr);
    if (rc != TNN_OK)
        return rc;
    struct tnn__figures f;
    const struct step_name batch = {0, 0};
    rc = compute_step(m, __func__, xr.data, &yr, xr.count, 0, &f, &batch);
    if (rc != TNN_OK)
        return rc;
    commit_layers(m);
    if (loss)
        *loss = f.loss;
    return TNN_OK;
}

int tnn_model_apply_gradients(tnn_model *m)
{
    int rc = check_trainable(m, __func__);
    if (rc != TNN_OK)
        return rc;
    const bool had_state = m->optim->num_slots > 0;
    rc = tnn__optim_prepare(m->optim, __func__, m->layers, m->num_layers);
    if (rc == TNN_OK)
        rc = ensure_pool(m, __func__);
    if (rc != TNN_OK) {
        if (!had_state)
            tnn__optim_forget_state(m->optim);
        return rc;
    }
    const struct step_name where = next_step(m);
    return apply_step(m, __func__, had_state, 0, &where);
}

int tnn_model_set_allreduce(tnn_model *m, tnn_allreduce_fn fn, void *ctx)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    m->allreduce = fn;
    m->allreduce_ctx = fn ? ctx : NULL;
    return TNN_OK;
}

int tnn_model_set_sync_batchnorm(tnn_model *m, int on)
{
    int rc = check_idle(m, __func__);
    if (rc == TNN_OK && on != 0 && on != 1)
        rc = tnn__fail(TNN_E_INVALID, __func__, "on is %d; it must be 0 or 1",
                       on);
    if (rc == TNN_OK)
        m->sync_batchnorm = on == 1;
    return rc;
}

int tnn_model_set_shard(tnn_model *m, size_t index, size_t count)
{
    int rc = check_idle(m, __func__);
    if (rc != TNN_OK)
        return rc;
    /* Slices are computed as n * index / count in size_t. */
    if (count > ((size_t)1 << 20) || (count ? index >= count : index != 0))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "index %zu of %zu replicas: the index must be below "
                         "the count (at most 2^20), or 0 with count 0",
                         index, count);
    m->shard_index = index;
    m->shard_count = count;
    return TNN_OK;
}

/* Largest chunk evaluation and prediction run at once. */
static size_t chunk_rows(const tnn_model *m, size_t total)
{
    size_t chunk = m->rows_cap > 256 ? m->rows_cap : 256;
    return chunk < total ? chunk : total;
}

/* A sharded model's replicas need the hook to sum what they computed. */
static int check_shard(const tnn_model *m, const char *func)
{
    if (m->shard_count > 1 && !m->allreduce)
        return tnn__fail(TNN_E_STATE, func,
                         "replica %zu of %zu has no allreduce hook (see "
                         "tnn_model_set_allreduce)",
                         m->shard_index, m->shard_count);
    return TNN_OK;
}

/* Loss and accuracy over the rows (this replica's slice of them, summed
 * over the replicas when a hook is set). */
static int evaluate_rows(tnn_model *m, const char *func, const struct rows *x,
                         const struct rows *y, double *loss, double *accuracy)
{
    size_t first, count;
    tnn__replica_slice(m, x->count, &first, &count);
    size_t chunk = chunk_rows(m, count ? count : 1);
    int rc = check_state_rows(m, func, count, chunk);
    if (rc == TNN_OK)
        rc = ensure_rows(m, func, chunk);
    if (rc == TNN_OK)
        rc = tnn__replica_reserve(m, func);
    if (rc != TNN_OK)
        return rc;
    struct tnn__figures f = {(double)count, 0.0, 0.0, 0.0};
    size_t hits = 0;
    for (size_t start = first; start < first + count; start += chunk) {
        size_t n =
            first + count - start < chunk ? first + count - start : chunk;
        const float *out = forward_layers(m, x->data + start * x->width, n,
                                          head_layers(m), false, NULL);
        struct rows part = {y->data + start * y->width, n, y->width, y->index};
        double value;
        size_t correct;
        rc = compute_loss(m, func, out, &part, n, NULL, &value, &correct);
        if (rc != TNN_OK)
            return rc;
        f.loss_sum += value * (double)n;
        hits += correct;
    }
    f.correct = (double)hits;
    if (m->allreduce && (rc = tnn__replica_reduce(m, func, false, &f)) != 0)
        return rc;
    *loss = f.loss_sum / f.rows;
    *accuracy = accuracy_of(m, f.correct, f.rows);
    return TNN_OK;
}

int tnn_model_evaluate(tnn_model *m, const tnn_tensor *x, const tnn_tensor *y,
                       double *loss, double *accuracy)
{
    struct rows xr = {0}, yr = {0};
    int rc = check_idle(m, __func__);
    if (rc == TNN_OK)
        rc = check_shard(m, __func__);
    if (rc == TNN_OK)
        rc = check_input(m, __func__, "x", x, &xr);
    if (rc == TNN_OK)
        rc = check_labels(m, __func__, "y", y, xr.count, &yr);
    if (rc != TNN_OK)
        return rc;
    double value, acc;
    rc = evaluate_rows(m, __func__, &xr, &yr, &value, &acc);
    if (rc != TNN_OK)
        return rc;
    if (loss)
        *loss = value;
    if (accuracy)
        *accuracy = acc;
    return TNN_OK;
}

static int run_forward(tnn_model *m, const char *func, const tnn_tensor *x,
                       tnn_tensor *out, bool training)
{
    struct rows xr = {0};
    int rc = check_idle(m, func);
    if (rc == TNN_OK)
        rc = check_input(m, func, "x", x, &xr);
    if (rc != TNN_OK)
        return rc;
    size_t width = width_after(m, m->num_layers);
    if (!out)
        return tnn__fail(TNN_E_INVALID, func, "out is NULL");
    if (out->dims[0] != xr.count || out->size / out->dims[0] != width)
        return tnn__fail(TNN_E_SHAPE, func,
                         "out must be (%zu, %zu); it has %zu rows of %zu",
                         xr.count, width, out->dims[0],
                         out->size / out->dims[0]);
    /* Outputs go straight into out, so it must not overlap x. */
    if (out->data < x->data + x->size && x->data < out->data + out->size)
        return tnn__fail(TNN_E_INVALID, func, "out overlaps x");
    /* A training forward keeps what backward needs: one chunk only. */
    size_t chunk = training ? xr.count : chunk_rows(m, xr.count);
    if (training && chunk > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, func, "batch of %zu rows", chunk);
    rc = check_state_rows(m, func, xr.count, chunk);
    if (rc == TNN_OK)
        rc = ensure_rows(m, func, chunk);
    if (rc == TNN_OK)
        rc = ensure_pool(m, func);
    if (rc != TNN_OK)
        return rc;
    for (size_t start = 0; start < xr.count; start += chunk) {
        size_t n = xr.count - start < chunk ? xr.count - start : chunk;
        const float *in = xr.data + start * xr.width;
        float *dst = out->data + start * width;
        if (m->num_layers == 0)
            memcpy(dst, in, n * width * sizeof *dst);
        else
            forward_layers(m, in, n, m->num_layers, training, dst);
    }
    /* A training forward is no step that could fail half-way. */
    for (size_t i = 0; training && i < m->num_layers; i++)
        tnn__layer_commit(m->layers[i]);
    return TNN_OK;
}

int tnn_model_predict(tnn_model *m, const tnn_tensor *x, tnn_tensor *out)
{
    return run_forward(m, __func__, x, out, false);
}

int tnn_model_forward(tnn_model *m, const tnn_tensor *x, tnn_tensor *out)
{
    return run_forward(m, __func__, x, out, m && m->mode == TNN_MODE_TRAIN);
}

/* ---- fit ---------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fisher-Yates with the model's generator. */
static void shuffle_indices(tnn_rng *rng, size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(tnn_rng_uniform(rng) * (double)i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* Copying shuffled rows: what a row copy reads comes from memory, in no
 * order, and two threads' misses overlap (the MNIST MLP's copies: 26-30
 * ms an epoch on 2 threads, 33-43 ms on 1), from this many values a
 * thread, in steps whose update is split anyway: in a model whose steps
 * run on one thread the copy would be the only work waking the others
 * (slower on a machine whose other core is busy, measured). */
#define GATHER_MIN_PER_THREAD ((size_t)1 << 13)

struct gather_pass {
    float *dst;
    const struct rows *src;
    const size_t *perm; /* the batch's first row's entry */
};

static void gather_range(void *arg, size_t begin, size_t end)
{
    const struct gather_pass *pass = arg;
    const size_t width = pass->src->width;
    for (size_t r = begin; r < end; r++)
        memcpy(pass->dst + r * width, pass->src->data + pass->perm[r] * width,
               width * sizeof *pass->dst);
}

/* split: whether the step's update is split (tnn__update_splits()). */
static void gather(tnn_model *m, bool split, float *dst,
                   const struct rows *src, const size_t *perm, size_t start,
                   size_t n)
{
    struct gather_pass pass = {dst, src, perm + start};
    if (!split) {
        gather_range(&pass, 0, n);
        return;
    }
    size_t width = src->width ? src->width : 1;
    struct tnn__pool *before = tnn__pool_enter(m->pool);
    tnn__parallel_for(n, (GATHER_MIN_PER_THREAD + width - 1) / width,
                      gather_range, &pass);
    tnn__pool_leave(before);
}

static int check_fit_args(tnn_model *m, const char *func, int epochs,
                          size_t batch_size, int shuffle,
                          const tnn_tensor *x_val, const tnn_tensor *y_val)
{
    int rc = check_trainable(m, func);
    if (rc != TNN_OK)
        return rc;
    if (epochs < 1)
        return tnn__fail(TNN_E_INVALID, func,
                         "epochs is %d; it must be at least 1", epochs);
    if (batch_size < 1 || batch_size > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_INVALID, func,
                         "batch_size is %zu; it must be in [1, %zu]",
                         batch_size, TNN_MAX_BLAS_DIM);
    if (shuffle != 0 && shuffle != 1)
        return tnn__fail(TNN_E_INVALID, func,
                         "shuffle is %d; it must be 0 or 1", shuffle);
    if (!x_val != !y_val)
        return tnn__fail(TNN_E_INVALID, func,
                         "x_val and y_val must be given together");
    return TNN_OK;
}

int tnn_model_fit(tnn_model *m, const tnn_tensor *x, const tnn_tensor *y,
                  const tnn_tensor *x_val, const tnn_tensor *y_val, int epochs,
                  size_t batch_size, int shuffle, tnn_fit_callback callback,
                  void *user)
{
    struct rows xr = {0}, yr = {0}, xv = {0}, yv = {0};
    int rc =
        check_fit_args(m, __func__, epochs, batch_size, shuffle, x_val, y_val);
    if (rc == TNN_OK)
        rc = check_shard(m, __func__);
    for (size_t i = 0; rc == TNN_OK && i < m->num_layers; i++)
        if (tnn__layer_has_row_state(m->layers[i]))
            rc = tnn__fail(TNN_E_STATE, __func__,
                           "layer %zu (%s) has an initial state per row, "
                           "which batches of shuffled or remaining rows do "
                           "not keep: train with tnn_model_train_batch",
                           i, m->layers[i]->ops->name);
    if (rc == TNN_OK)
        rc = check_input(m, __func__, "x", x, &xr);
    if (rc == TNN_OK)
        rc = check_labels(m, __func__, "y", y, xr.count, &yr);
    if (rc == TNN_OK && x_val)
        rc = check_input(m, __func__, "x_val", x_val, &xv);
    if (rc == TNN_OK && x_val)
        rc = check_labels(m, __func__, "y_val", y_val, xv.count, &yv);
    size_t batch = batch_size < xr.count ? batch_size : xr.count;
    if (rc == TNN_OK)
        rc = ensure_rows(m, __func__, batch);
    if (rc == TNN_OK)
        rc = ensure_pool(m, __func__);
    if (rc == TNN_OK)
        rc = tnn__replica_reserve(m, __func__);
    if (rc != TNN_OK)
        return rc;
    size_t *perm = NULL;
    if (shuffle && !(perm = tnn__calloc(xr.count, sizeof *perm)))
        return tnn__fail(TNN_E_NOMEM, __func__,
                         "cannot allocate a permutation of %zu rows",
                         xr.count);

    m->busy = true;
    struct tnn_progress p = {.model = m,
                             .fit = ++m->fits,
                             .epochs = epochs,
                             .batches = (xr.count + batch - 1) / batch};
    bool stop = false;
    for (int epoch = 0; epoch < epochs && !stop && rc == TNN_OK; epoch++) {
        double started = now_seconds(), loss_sum = 0.0;
        size_t seen = 0, hits = 0;
        if (perm)
            shuffle_indices(m->rng, perm, xr.count);
        p.epoch = epoch;
        p.val_loss = p.val_accuracy = NAN;
        for (size_t b = 0; b < p.batches && !stop; b++) {
            /* This replica's slice of the global batch (all of it when
             * the model is not sharded). */
            size_t start = b * batch, first, n;
            tnn__replica_slice(
                m, xr.count - start < batch ? xr.count - start : batch, &first,
                &n);
            start += first;
            const float *xb = xr.data + start * xr.width;
            struct rows yb = {yr.data + start * yr.width, n, yr.width,
                              yr.index};
            if (perm) {
                const bool split =
                    tnn__update_splits(n, m->layers, m->num_layers, m->pool);
                gather(m, split, m->act[0], &xr, perm, start, n);
                gather(m, split, m->labels, &yr, perm, start, n);
                xb = m->act[0];
                yb.data = m->labels;
            }
            const struct step_name where = {epoch + 1, b + 1};
            struct tnn__figures f;
            rc = train_step(m, __func__, xb, &yb, n, start, &f, &where);
            if (rc != TNN_OK)
                break;
            loss_sum += f.loss_sum;
            hits += (size_t)f.correct;
            seen += (size_t)f.rows;
            p.event = TNN_EVENT_BATCH_END;
            p.batch = b;
            p.loss = loss_sum / (double)seen;
            p.accuracy = accuracy_of(m, (double)hits, (double)seen);
            p.seconds = now_seconds() - started;
            stop = callback && callback(&p, user) != 0;
        }
        if (rc != TNN_OK || stop)
            break;
        if (x_val)
            rc = evaluate_rows(m, __func__, &xv, &yv, &p.val_loss,
                               &p.val_accuracy);
        p.event = TNN_EVENT_EPOCH_END;
        p.seconds = now_seconds() - started;
        if (rc == TNN_OK && callback && callback(&p, user) != 0)
            stop = true;
    }
    m->busy = false;
    tnn__free(perm);
    return rc;
}
