/*
 * Embedding: token ids to rows of a (vocabulary, width) table, as PyTorch's
 * Embedding. Ids arrive as floats (tensors hold floats); they are checked
 * before any pass (tnn__check_indices), so that the passes only read
 * them. The backward adds each position's gradient into its id's row in
 * the order of the positions, one thread: the sums do not depend on the
 * thread count, and the work is a copy's.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* The largest id a float holds exactly, with all below it: 2^24. */
#define EMBEDDING_MAX_VOCABULARY ((size_t)1 << 24)

struct embedding {
    size_t vocabulary;
    size_t width;
};

extern const struct tnn__layer_ops tnn__embedding_ops;

int tnn__check_indices(const char *func, const char *what, const float *values,
                       size_t count, size_t steps, size_t limit)
{
    for (size_t i = 0; i < count; i++) {
        float v = values[i];
        /* Written so that NaN fails too. */
        if (!(v >= 0.0f && v < (float)limit && v == floorf(v)))
            return tnn__fail(TNN_E_INVALID, func,
                             "%s %g at row %zu, step %zu is not an integer "
                             "in [0, %zu)",
                             what, (double)v, i / steps, i % steps, limit);
    }
    return TNN_OK;
}

size_t tnn__embedding_vocabulary(const tnn_layer *layer)
{
    if (layer->ops != &tnn__embedding_ops)
        return 0;
    const struct embedding *e = layer->impl;
    return e->vocabulary;
}

/* Samples of time ids, (time) or a flat row of them. */
static int embedding_bind(const tnn_layer *layer, const char *func,
                          const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct embedding *e = layer->impl;
    char got[64];
    if (in->ndim != 1)
        return tnn__fail(TNN_E_SHAPE, func,
                         "embedding takes samples of token ids, (time); it "
                         "was given %s",
                         tnn__shape_text(in, got, sizeof got));
    *out = (struct tnn__shape){2, {in->dims[0], e->width}, 0};
    return TNN_OK;
}

static int embedding_check_input(const tnn_layer *layer, const char *func,
                                 const float *in, size_t n)
{
    const struct embedding *e = layer->impl;
    size_t time = layer->in_features;
    return tnn__check_indices(func, "token id", in, n * time, time,
                              e->vocabulary);
}

static void embedding_init(tnn_layer *layer, tnn_rng *rng)
{
    tnn_tensor *table = layer->param[0];
    for (size_t i = 0; i < table->size; i++)
        table->data[i] = (float)tnn_rng_normal(rng);
}

/* The row of an id the checks let through; NULL for any other, which
 * reads as zeros, so that no value can make the passes leave the table. */
static const float *row_of(const tnn_tensor *table, size_t vocabulary,
                           size_t width, float id)
{
    if (!(id >= 0.0f && id < (float)vocabulary))
        return NULL;
    return table->data + (size_t)id * width;
}

static void embedding_forward(tnn_layer *layer, const float *in, float *out,
                              size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    const struct embedding *e = layer->impl;
    size_t positions = n * layer->in_features;
    for (size_t i = 0; i < positions; i++) {
        const float *row =
            row_of(layer->param[0], e->vocabulary, e->width, in[i]);
        if (row)
            memcpy(out + i * e->width, row, e->width * sizeof *out);
        else
            memset(out + i * e->width, 0, e->width * sizeof *out);
    }
}

static void embedding_backward(tnn_layer *layer, const float *in,
                               const float *out, const float *dout, float *din,
                               size_t n, bool accumulate)
{
    (void)out;
    const struct embedding *e = layer->impl;
    tnn_tensor *grad = layer->grad[0];
    size_t positions = n * layer->in_features;
    if (!accumulate)
        memset(grad->data, 0, grad->size * sizeof *grad->data);
    for (size_t i = 0; i < positions; i++) {
        float id = in[i];
        if (!(id >= 0.0f && id < (float)e->vocabulary))
            continue;
        float *row = grad->data + (size_t)id * e->width;
        const float *d = dout + i * e->width;
        for (size_t j = 0; j < e->width; j++)
            row[j] += d[j];
    }
    /* Ids are not differentiable: their gradient is zero. */
    if (din)
        memset(din, 0, positions * sizeof *din);
}

/* ---- model files: vocabulary, width ---------------------------------- */

static void embedding_save_config(const tnn_layer *layer, uint32_t version,
                                  uint32_t *words)
{
    (void)version;
    const struct embedding *e = layer->impl;
    words[0] = (uint32_t)e->vocabulary;
    words[1] = (uint32_t)e->width;
}

static tnn_layer *embedding_load_config(const struct tnn__layer_record *record,
                                        uint32_t version)
{
    (void)version;
    return tnn_embedding_new(record->config[0], record->config[1]);
}

static uint64_t embedding_record_values(const struct tnn__layer_record *record,
                                        uint32_t version)
{
    (void)version;
    return tnn__mul_sat(record->config[0], record->config[1]);
}

/* ONNX: Gather (axis 0) of the table's rows by the ids, which ONNX wants
 * as integers: the model's input, int64 (batch, time), as the writer
 * declares it for a model of tokens. The table is Gather's data, its
 * first input; the ids its indices, the second. */
static void embedding_onnx_node(const tnn_layer *layer,
                                struct tnn__onnx_node *node)
{
    const struct embedding *e = layer->impl;
    if (layer->in_shape.vocabulary == 0) {
        node->refusal = "it is written as a Gather of the model's int64 "
                        "token ids, so only as the first layer of a model "
                        "made by tnn_model_new_tokens()";
        return;
    }
    *node = (struct tnn__onnx_node){
        .op = "Gather",
        .nattrs = 1,
        .attrs = {{.name = "axis", .type = TNN__ONNX_ATTR_IS_INT, .i = 0}},
        .ninputs = 1,
        .inputs = {{.suffix = "weight",
                    .tensor = layer->param[0],
                    .ndims = 2,
                    .dims = {(int64_t)e->vocabulary, (int64_t)e->width}}},
        .data_input = 1,
    };
}

static const char *const embedding_param_names[] = {"weight"};

const struct tnn__layer_ops tnn__embedding_ops = {
    .kind = TNN_LAYER_EMBEDDING,
    .name = "embedding",
    .bind = embedding_bind,
    .check_input = embedding_check_input,
    .forward = embedding_forward,
    .backward = embedding_backward,
    .init = embedding_init,
    .since_format = 9,
    .config_words = 2,
    .save_config = embedding_save_config,
    .load_config = embedding_load_config,
    .record_values = embedding_record_values,
    .param_names = embedding_param_names,
    .onnx_node = embedding_onnx_node,
};

tnn_layer *tnn_embedding_new(size_t vocabulary, size_t width)
{
    size_t values;
    if (vocabulary == 0 || width == 0 ||
        !tnn__mul_size(vocabulary, width, &values) ||
        values > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "vocabulary is %zu and width %zu; both must be >= 1, "
                  "with at most %zu values in the table",
                  vocabulary, width, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__embedding_ops, 0, 0,
                                        sizeof(struct embedding));
    if (!layer)
        return NULL;
    struct embedding *e = layer->impl;
    e->vocabulary = vocabulary;
    e->width = width;
    size_t dims[2] = {vocabulary, width};
    if (tnn__layer_add_param(layer, __func__, 2, dims, true) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}
