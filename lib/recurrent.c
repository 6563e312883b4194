/*
 * The parts of the recurrent kinds that do not depend on their gate
 * equations (recurrent.h).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "recurrent.h"

/* The four parameters in PyTorch's shapes. */
static int add_params(tnn_layer *layer, const char *func)
{
    const struct tnn__recurrent *rnn = layer->impl;
    const size_t rows = rnn->gates * rnn->hidden;
    const size_t w_ih[2] = {rows, rnn->features},
                 w_hh[2] = {rows, rnn->hidden};
    int rc = tnn__layer_add_param(layer, func, 2, w_ih, true);
    if (rc == TNN_OK)
        rc = tnn__layer_add_param(layer, func, 2, w_hh, true);
    for (int p = 0; p < 2 && rc == TNN_OK; p++)
        rc = tnn__layer_add_param(layer, func, 1, &rows, false);
    return rc;
}

tnn_layer *tnn__recurrent_new(const char *func,
                              const struct tnn__layer_ops *ops,
                              size_t features, size_t hidden,
                              int return_sequences, size_t gates)
{
    /* Each weight matrix within the BLAS's int sizes, as dense's. */
    size_t weights = 0;
    if (features == 0 || hidden == 0 || features > TNN_MAX_BLAS_DIM ||
        hidden > TNN_MAX_BLAS_DIM ||
        !tnn__mul_size(gates * hidden, features + hidden, &weights) ||
        weights > TNN_MAX_BLAS_DIM ||
        (return_sequences != 0 && return_sequences != 1)) {
        tnn__fail(TNN_E_INVALID, func,
                  "input_features %zu, hidden %zu, return_sequences %d: "
                  "both sizes must be >= 1 with %zu * hidden * "
                  "(input_features + hidden) weights at most %zu, and "
                  "return_sequences 0 or 1",
                  features, hidden, return_sequences, gates, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    tnn_layer *layer =
        tnn__layer_alloc(func, ops, 0, 0, sizeof(struct tnn__recurrent));
    if (!layer)
        return NULL;
    struct tnn__recurrent *rnn = layer->impl;
    rnn->features = features;
    rnn->hidden = hidden;
    rnn->gates = gates;
    rnn->return_sequences = return_sequences == 1;
    rnn->bias_sum = tnn__calloc(gates * hidden, sizeof *rnn->bias_sum);
    rnn->zeros = tnn__calloc(hidden, sizeof *rnn->zeros);
    if (!rnn->bias_sum || !rnn->zeros) {
        tnn_layer_free(layer);
        tnn__fail(TNN_E_NOMEM, func,
                  "cannot allocate a %s layer of %zu hidden units", ops->name,
                  hidden);
        return NULL;
    }
    if (add_params(layer, func) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}

size_t tnn__recurrent_time(const tnn_layer *layer)
{
    return layer->in_shape.dims[0];
}

size_t tnn__recurrent_min_rows(size_t hidden)
{
    return hidden >= 2048 ? 1 : 2048 / hidden;
}

int tnn__recurrent_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct tnn__recurrent *rnn = layer->impl;
    /* The products take every row and step as one matrix, and a step's
     * gates as a leading dimension: both within the BLAS's int sizes. */
    size_t time = tnn__recurrent_time(layer), steps, step_gates;
    if (!tnn__mul_size(n, time, &steps) || steps > TNN_MAX_BLAS_DIM ||
        !tnn__mul_size(time, rnn->gates * rnn->hidden, &step_gates) ||
        step_gates > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s layer: %zu rows of %zu steps of %zu gate "
                         "values exceed the BLAS's sizes",
                         layer->ops->name, n, time, rnn->gates * rnn->hidden);
    float *scratch =
        tnn__grow_rows(func, "a recurrent layer's per-batch state",
                       rnn->scratch, &rnn->scratch_cap, n,
                       layer->ops->sample_scratch(layer), sizeof *scratch);
    if (!scratch)
        return TNN_E_NOMEM;
    if (scratch != rnn->scratch) {
        rnn->last_rows = 0;
        rnn->grad_rows = 0;
    }
    rnn->scratch = scratch;
    return TNN_OK;
}

int tnn__recurrent_bind(const tnn_layer *layer, const char *func,
                        const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct tnn__recurrent *rnn = layer->impl;
    char got[64];
    if (in->ndim != 2 || in->dims[1] != rnn->features)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s of %zu input features takes (time, %zu) "
                         "samples, not %s",
                         layer->ops->name, rnn->features, rnn->features,
                         tnn__shape_text(in, got, sizeof got));
    if (rnn->return_sequences)
        *out = (struct tnn__shape){2, {in->dims[0], rnn->hidden}, 0};
    else
        *out = (struct tnn__shape){1, {rnn->hidden}, 0};
    return TNN_OK;
}

void tnn__recurrent_init(tnn_layer *layer, tnn_rng *rng)
{
    const struct tnn__recurrent *rnn = layer->impl;
    const float k = (float)(1.0 / sqrt((double)rnn->hidden));
    for (int p = 0; p < layer->num_params; p++)
        tnn_tensor_rand_uniform(layer->param[p], rng, -k, k);
}

void tnn__recurrent_destroy(tnn_layer *layer)
{
    struct tnn__recurrent *rnn = layer->impl;
    tnn__free(rnn->scratch);
    tnn__free(rnn->bias_sum);
    tnn__free(rnn->zeros);
    tnn__free(rnn->h0);
    tnn__free(rnn->c0);
    tnn__free(rnn->h0_proj);
}

void tnn__recurrent_output(const tnn_layer *layer, const float *states,
                           float *out, size_t n)
{
    const struct tnn__recurrent *rnn = layer->impl;
    const size_t time = tnn__recurrent_time(layer), h = rnn->hidden;
    if (rnn->return_sequences) {
        memcpy(out, states, n * time * h * sizeof *out);
        return;
    }
    for (size_t r = 0; r < n; r++)
        memcpy(out + r * h, states + (r * time + time - 1) * h,
               h * sizeof *out);
}

const float *tnn__recurrent_dout(const tnn_layer *layer, const float *dout,
                                 size_t r, size_t t)
{
    const struct tnn__recurrent *rnn = layer->impl;
    const size_t time = tnn__recurrent_time(layer), h = rnn->hidden;
    if (rnn->return_sequences)
        return dout + (r * time + t) * h;
    return t == time - 1 ? dout + r * h : rnn->zeros;
}

/* The column sums, in double, row by row, of count rows of width values
 * that start ld values apart. */
static void sum_columns(double *sum, const float *rows, size_t count,
                        size_t ld, size_t width)
{
    for (size_t j = 0; j < width; j++)
        sum[j] = 0.0;
    for (size_t r = 0; r < count; r++)
        for (size_t j = 0; j < width; j++)
            sum[j] += rows[r * ld + j];
}

/* The column sums of steps rows of width values into the bias gradient
 * p. */
static void column_sums(tnn_layer *layer, int p, const float *rows,
                        size_t steps, bool accumulate)
{
    struct tnn__recurrent *rnn = layer->impl;
    const size_t width = rnn->gates * rnn->hidden;
    sum_columns(rnn->bias_sum, rows, steps, width, width);
    float *db = layer->grad[p]->data;
    for (size_t j = 0; j < width; j++)
        db[j] = (accumulate ? db[j] : 0.0f) + (float)rnn->bias_sum[j];
}

void tnn__recurrent_bias_gradients(tnn_layer *layer, const float *dgx,
                                   const float *dgh, size_t steps,
                                   bool accumulate)
{
    column_sums(layer, 2, dgx, steps, accumulate);
    if (dgh == dgx) {
        struct tnn__recurrent *rnn = layer->impl;
        const size_t width = rnn->gates * rnn->hidden;
        float *db = layer->grad[3]->data;
        for (size_t j = 0; j < width; j++)
            db[j] = (accumulate ? db[j] : 0.0f) + (float)rnn->bias_sum[j];
        return;
    }
    column_sums(layer, 3, dgh, steps, accumulate);
}

void tnn__recurrent_input_backward(tnn_layer *layer, const float *in,
                                   const float *dgx, const float *dgh,
                                   size_t steps, bool accumulate, float *din)
{
    const struct tnn__recurrent *rnn = layer->impl;
    const int rows = (int)(rnn->gates * rnn->hidden), f = (int)rnn->features;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, f, (int)steps,
                1.0f, dgx, rows, in, f, accumulate ? 1.0f : 0.0f,
                layer->grad[0]->data, f);
    tnn__recurrent_bias_gradients(layer, dgx, dgh, steps, accumulate);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)steps, f,
                    rows, 1.0f, dgx, rows, layer->param[0]->data, f, 0.0f, din,
                    f);
}

void tnn__recurrent_save_config(const tnn_layer *layer, uint32_t version,
                                uint32_t *words)
{
    (void)version;
    const struct tnn__recurrent *rnn = layer->impl;
    words[0] = (uint32_t)rnn->features;
    words[1] = (uint32_t)rnn->hidden;
    words[2] = rnn->return_sequences;
}

uint64_t tnn__recurrent_record_values(const struct tnn__layer_record *record,
                                      uint64_t gates)
{
    uint64_t rows = tnn__mul_sat(gates, record->config[1]);
    uint64_t per_row =
        tnn__add_sat(tnn__add_sat(record->config[0], record->config[1]), 2);
    return tnn__mul_sat(rows, per_row);
}

const char *const tnn__recurrent_param_names[] = {"weight_ih", "weight_hh",
                                                  "bias_ih", "bias_hh"};

/* ---- ONNX ---------------------------------------------------------------
 * Batch-first data meets ONNX's layout 0, (time, batch, features), by
 * Transpose nodes around the recurrent node, as PyTorch writes it: the
 * runtimes read layout 0 (onnxruntime refuses layout 1). */

/* The gate blocks of parameter p (hidden rows of width values each) in
 * ONNX's order, appended to in's pieces. */
static void onnx_gate_pieces(const tnn_layer *layer, int p, const int *order,
                             size_t width, struct tnn__onnx_input *in)
{
    const struct tnn__recurrent *rnn = layer->impl;
    const size_t block = rnn->hidden * width;
    for (size_t j = 0; j < rnn->gates; j++)
        in->pieces[in->npieces++] = (struct tnn__onnx_piece){
            layer->param[p], (size_t)order[j] * block, block};
}

void tnn__recurrent_onnx_node(const tnn_layer *layer, const char *op,
                              const int *order, struct tnn__onnx_node *node)
{
    const struct tnn__recurrent *rnn = layer->impl;
    if (rnn->h0) {
        node->refusal = "its initial state (tnn_recurrent_set_state) is not "
                        "written to ONNX";
        return;
    }
    const int64_t rows = (int64_t)(rnn->gates * rnn->hidden);
    const struct tnn__onnx_attr swap = {.name = "perm",
                                        .type = TNN__ONNX_ATTR_IS_INTS,
                                        .nints = 3,
                                        .ints = {1, 0, 2}};
    *node = (struct tnn__onnx_node){.op = "Transpose", .nattrs = 1};
    node->attrs[0] = swap;
    struct tnn__onnx_op *rec = &node->then[0];
    *rec = (struct tnn__onnx_op){
        .op = op,
        .nattrs = 1,
        .attrs = {{.name = "hidden_size",
                   .type = TNN__ONNX_ATTR_IS_INT,
                   .i = (int64_t)rnn->hidden}},
        .ninputs = 3,
        .inputs = {{.suffix = "W",
                    .ndims = 3,
                    .dims = {1, rows, (int64_t)rnn->features}},
                   {.suffix = "R",
                    .ndims = 3,
                    .dims = {1, rows, (int64_t)rnn->hidden}},
                   {.suffix = "B", .ndims = 2, .dims = {1, 2 * rows}}},
        /* Y_h, (1, batch, hidden), for the last step's states */
        .data_output = rnn->return_sequences ? 0 : 1,
    };
    onnx_gate_pieces(layer, 0, order, rnn->features, &rec->inputs[0]);
    onnx_gate_pieces(layer, 1, order, rnn->hidden, &rec->inputs[1]);
    onnx_gate_pieces(layer, 2, order, 1, &rec->inputs[2]);
    onnx_gate_pieces(layer, 3, order, 1, &rec->inputs[2]);
    /* Y is (time, 1, batch, hidden), Y_h (1, batch, hidden). */
    node->then[1] = (struct tnn__onnx_op){
        .op = "Squeeze",
        .ninputs = 1,
        .inputs = {{.suffix = "axes",
                    .nints = 1,
                    .ints = {rnn->return_sequences ? 1 : 0}}},
    };
    node->nthen = 2;
    if (rnn->return_sequences) {
        node->then[2] = (struct tnn__onnx_op){.op = "Transpose", .nattrs = 1};
        node->then[2].attrs[0] = swap;
        node->nthen = 3;
    }
}

/* ---- the initial state ---------------------------------------------------
 * Step 0 reads h0 (and the LSTM c0) where it read zeros: W_hh h0 joins the
 * first step's recurrent part, and the backward gives h0 and c0 their
 * gradients and weight_hh its share from them. */

void tnn__recurrent_state_product(tnn_layer *layer, float *rec, size_t ld,
                                  size_t n)
{
    struct tnn__recurrent *rnn = layer->impl;
    if (!rnn->h0 || n == 0)
        return;
    const int width = (int)(rnn->gates * rnn->hidden), h = (int)rnn->hidden;
    const float *w_hh = layer->param[1]->data;
    if (!rnn->state_broadcast) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, width, h,
                    1.0f, rnn->h0, h, w_hh, h, 1.0f, rec, (int)ld);
        return;
    }
    /* One product for all rows, then added to each as the bias is. */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, width, h, 1.0f, w_hh, h, rnn->h0,
                1, 0.0f, rnn->h0_proj, 1);
    for (size_t r = 0; r < n; r++)
        for (int j = 0; j < width; j++)
            rec[r * ld + (size_t)j] += rnn->h0_proj[j];
}

void tnn__recurrent_state_backward(tnn_layer *layer, const float *dz,
                                   size_t ld, size_t n, float *dh)
{
    const struct tnn__recurrent *rnn = layer->impl;
    if (!rnn->h0 || n == 0)
        return;
    const int h = (int)rnn->hidden;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, h,
                (int)(rnn->gates * rnn->hidden), 1.0f, dz, (int)ld,
                layer->param[1]->data, h, 1.0f, dh, h);
}

void tnn__recurrent_weight_hh_gradient(tnn_layer *layer, const float *dz,
                                       const float *states, float *prev,
                                       size_t n, bool accumulate)
{
    const struct tnn__recurrent *rnn = layer->impl;
    const size_t time = tnn__recurrent_time(layer), h = rnn->hidden;
    const size_t width = rnn->gates * h, steps = n * time;
    for (size_t r = 0; r < n; r++) {
        float *row = prev + r * time * h;
        memcpy(row, tnn__recurrent_h0_row(rnn, r), h * sizeof *row);
        memcpy(row + h, states + r * time * h, (time - 1) * h * sizeof *row);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)width, (int)h,
                (int)steps, 1.0f, dz, (int)width, prev, (int)h,
                accumulate ? 1.0f : 0.0f, layer->grad[1]->data, (int)h);
}

static bool is_recurrent(const tnn_layer *layer)
{
    return layer->ops->kind == TNN_LAYER_LSTM ||
           layer->ops->kind == TNN_LAYER_GRU;
}

/* The layer if it is an LSTM or a GRU; NULL with TNN_E_INVALID if not. */
static struct tnn__recurrent *recurrent_of(const char *func,
                                           const tnn_layer *layer)
{
    if (!layer) {
        tnn__fail(TNN_E_INVALID, func, "layer is NULL");
        return NULL;
    }
    if (!is_recurrent(layer)) {
        tnn__fail(TNN_E_INVALID, func,
                  "the layer is a %s layer, not an LSTM or a GRU",
                  layer->ops->name);
        return NULL;
    }
    return layer->impl;
}

/* A state tensor: (hidden) for every row, or (rows, hidden). Its rows in
 * *rows, 0 for the first form. */
static int state_shape(const char *func, const char *name, const tnn_tensor *t,
                       size_t hidden, size_t *rows)
{
    if (t->ndim == 1 && t->dims[0] == hidden) {
        *rows = 0;
        return TNN_OK;
    }
    if (t->ndim == 2 && t->dims[1] == hidden && t->dims[0] >= 1 &&
        t->dims[0] <= TNN_MAX_BLAS_DIM) {
        *rows = t->dims[0];
        return TNN_OK;
    }
    return tnn__fail(TNN_E_SHAPE, func,
                     "%s must be (%zu) or (rows, %zu); it has %d dims, the "
                     "first %zu",
                     name, hidden, hidden, t->ndim, t->dims[0]);
}

static float *copy_state(const tnn_tensor *t)
{
    float *copy = tnn__malloc(t->size * sizeof *copy);
    if (copy)
        memcpy(copy, t->data, t->size * sizeof *copy);
    return copy;
}

int tnn_recurrent_set_state(tnn_layer *layer, const tnn_tensor *h0,
                            const tnn_tensor *c0)
{
    struct tnn__recurrent *rnn = recurrent_of(__func__, layer);
    if (!rnn)
        return TNN_E_INVALID;
    int rc = tnn__layer_check_idle(__func__, layer);
    if (rc != TNN_OK)
        return rc;
    if (c0 && layer->ops->kind == TNN_LAYER_GRU)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "a GRU has no cell state: c0 must be NULL");
    size_t rows = 0, c_rows = 0;
    if (h0 && (rc = state_shape(__func__, "h0", h0, rnn->hidden, &rows)))
        return rc;
    if (c0 && (rc = state_shape(__func__, "c0", c0, rnn->hidden, &c_rows)))
        return rc;
    if (h0 && c0 && (rows != c_rows || h0->ndim != c0->ndim))
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "h0 and c0 must have the same shape");
    if (!h0 && c0)
        rows = c_rows;
    float *new_h = NULL, *new_c = NULL, *proj = NULL;
    if (h0 || c0) {
        const size_t values = (rows ? rows : 1) * rnn->hidden;
        new_h = h0 ? copy_state(h0) : tnn__calloc(values, sizeof *new_h);
        new_c = c0 ? copy_state(c0) : NULL;
        proj = tnn__malloc(rnn->gates * rnn->hidden * sizeof *proj);
        if (!new_h || (c0 && !new_c) || !proj) {
            tnn__free(new_h);
            tnn__free(new_c);
            tnn__free(proj);
            return tnn__fail(TNN_E_NOMEM, __func__,
                             "cannot allocate an initial state of %zu rows",
                             rows ? rows : 1);
        }
    }
    tnn__free(rnn->h0);
    tnn__free(rnn->c0);
    tnn__free(rnn->h0_proj);
    rnn->h0 = new_h;
    rnn->c0 = new_c;
    rnn->h0_proj = proj;
    rnn->state_rows = rows ? rows : 1;
    rnn->state_broadcast = rows == 0;
    rnn->grad_rows = 0;
    /* A backward reads the state its forward read: none is pending now,
     * in the layer or in the blocks around it. */
    layer->forward_rows = 0;
    for (tnn_layer *block = (tnn_layer *)layer->parent; block;
         block = (tnn_layer *)block->parent)
        block->forward_rows = 0;
    return TNN_OK;
}

/* out must be (rows, hidden), or (hidden) where want_rows is 0. */
static int check_out(const char *func, const char *name, const tnn_tensor *t,
                     size_t want_rows, size_t hidden)
{
    bool ok = want_rows ? t->ndim == 2 && t->dims[0] == want_rows &&
                              t->dims[1] == hidden
                        : t->ndim == 1 && t->dims[0] == hidden;
    if (ok)
        return TNN_OK;
    if (want_rows)
        return tnn__fail(TNN_E_SHAPE, func, "%s must be (%zu, %zu)", name,
                         want_rows, hidden);
    return tnn__fail(TNN_E_SHAPE, func, "%s must be (%zu)", name, hidden);
}

/* rows rows of hidden values, stride apart, into t's rows. */
static void copy_rows(tnn_tensor *t, const float *from, size_t rows,
                      size_t stride, size_t hidden)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(t->data + r * hidden, from + r * stride,
               hidden * sizeof *t->data);
}

int tnn_recurrent_state(const tnn_layer *layer, tnn_tensor *h, tnn_tensor *c)
{
    const struct tnn__recurrent *rnn = recurrent_of(__func__, layer);
    if (!rnn)
        return TNN_E_INVALID;
    if (!h && !c)
        return tnn__fail(TNN_E_INVALID, __func__, "h and c are both NULL");
    if (c && layer->ops->kind == TNN_LAYER_GRU)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "a GRU has no cell state: c must be NULL");
    if (rnn->last_rows == 0)
        return tnn__fail(TNN_E_STATE, __func__,
                         "the %s layer has no forward pass to report",
                         layer->ops->name);
    int rc = TNN_OK;
    if (h)
        rc = check_out(__func__, "h", h, rnn->last_rows, rnn->hidden);
    if (rc == TNN_OK && c)
        rc = check_out(__func__, "c", c, rnn->last_rows, rnn->hidden);
    if (rc != TNN_OK)
        return rc;
    /* Each row's states of every step lie together: its last ones are a
     * sample apart. */
    const size_t stride = tnn__recurrent_time(layer) * rnn->hidden;
    if (h)
        copy_rows(h, rnn->final_h, rnn->last_rows, stride, rnn->hidden);
    if (c)
        copy_rows(c, rnn->final_c, rnn->last_rows, stride, rnn->hidden);
    return TNN_OK;
}

/* A broadcast state's gradient is the sum over the rows, in double. */
static void sum_rows(tnn_tensor *t, const float *from, size_t rows,
                     size_t hidden)
{
    for (size_t j = 0; j < hidden; j++) {
        double sum = 0.0;
        for (size_t r = 0; r < rows; r++)
            sum += from[r * hidden + j];
        t->data[j] = (float)sum;
    }
}

int tnn_recurrent_state_grad(const tnn_layer *layer, tnn_tensor *dh0,
                             tnn_tensor *dc0)
{
    const struct tnn__recurrent *rnn = recurrent_of(__func__, layer);
    if (!rnn)
        return TNN_E_INVALID;
    if (!dh0 && !dc0)
        return tnn__fail(TNN_E_INVALID, __func__, "dh0 and dc0 are both NULL");
    if (dc0 && layer->ops->kind == TNN_LAYER_GRU)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "a GRU has no cell state: dc0 must be NULL");
    if (!rnn->h0)
        return tnn__fail(TNN_E_STATE, __func__,
                         "the %s layer has no initial state (see "
                         "tnn_recurrent_set_state)",
                         layer->ops->name);
    if (rnn->grad_rows == 0)
        return tnn__fail(TNN_E_STATE, __func__,
                         "the %s layer has no backward pass since its "
                         "initial state was set",
                         layer->ops->name);
    const size_t rows = rnn->state_broadcast ? 0 : rnn->grad_rows;
    int rc = TNN_OK;
    if (dh0)
        rc = check_out(__func__, "dh0", dh0, rows, rnn->hidden);
    if (rc == TNN_OK && dc0)
        rc = check_out(__func__, "dc0", dc0, rows, rnn->hidden);
    if (rc != TNN_OK)
        return rc;
    const float *from[2] = {rnn->grad_h0, rnn->grad_c0};
    tnn_tensor *to[2] = {dh0, dc0};
    for (int i = 0; i < 2; i++) {
        if (!to[i])
            continue;
        if (rows)
            copy_rows(to[i], from[i], rows, rnn->hidden, rnn->hidden);
        else
            sum_rows(to[i], from[i], rnn->grad_rows, rnn->hidden);
    }
    return TNN_OK;
}

static bool has_row_state(const tnn_layer *layer)
{
    if (!is_recurrent(layer))
        return false;
    const struct tnn__recurrent *rnn = layer->impl;
    return rnn->h0 && !rnn->state_broadcast;
}

struct pass_rows {
    const char *func;
    size_t n;
};

static int check_pass_rows(const tnn_layer *layer, void *ctx)
{
    const struct pass_rows *pass = ctx;
    if (!has_row_state(layer))
        return TNN_OK;
    const struct tnn__recurrent *rnn = layer->impl;
    if (pass->n == rnn->state_rows)
        return TNN_OK;
    return tnn__fail(TNN_E_SHAPE, pass->func,
                     "the %s layer's initial state has %zu rows, for passes "
                     "of %zu rows; this one has %zu",
                     layer->ops->name, rnn->state_rows, rnn->state_rows,
                     pass->n);
}

int tnn__layer_check_state_rows(const tnn_layer *layer, const char *func,
                                size_t n)
{
    struct pass_rows pass = {func, n};
    return tnn__layer_each(layer, check_pass_rows, &pass);
}

static int found_row_state(const tnn_layer *layer, void *ctx)
{
    (void)ctx;
    return has_row_state(layer);
}

bool tnn__layer_has_row_state(const tnn_layer *layer)
{
    return tnn__layer_each(layer, found_row_state, NULL) != 0;
}
