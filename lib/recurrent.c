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
    if (!rnn->bias_sum) {
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
    return t == time - 1 ? dout + r * h : NULL;
}

/* The column sums of steps rows of width values, in double, row by row,
 * into the bias gradient p. */
static void column_sums(tnn_layer *layer, int p, const float *rows,
                        size_t steps, bool accumulate)
{
    struct tnn__recurrent *rnn = layer->impl;
    const size_t width = rnn->gates * rnn->hidden;
    double *sum = rnn->bias_sum;
    for (size_t j = 0; j < width; j++)
        sum[j] = 0.0;
    for (size_t r = 0; r < steps; r++)
        for (size_t j = 0; j < width; j++)
            sum[j] += rows[r * width + j];
    float *db = layer->grad[p]->data;
    for (size_t j = 0; j < width; j++)
        db[j] = (accumulate ? db[j] : 0.0f) + (float)sum[j];
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
