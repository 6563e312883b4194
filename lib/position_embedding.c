/*
 * Learned position embedding: row t of a (time, width) table added to step
 * t of every sample, the positions of a transformer as PyTorch models
 * write them (an Embedding of the positions, added). The table's gradient
 * sums over the rows in their order, one thread: the sums do not depend
 * on the thread count.
 */
#include <string.h>

#include "internal.h"

static void position_init(tnn_layer *layer, tnn_rng *rng)
{
    tnn_tensor *table = layer->param[0];
    for (size_t i = 0; i < table->size; i++)
        table->data[i] = (float)tnn_rng_normal(rng);
}

static void position_forward(tnn_layer *layer, const float *in, float *out,
                             size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    const float *table = layer->param[0]->data;
    size_t values = layer->in_features;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < values; i++)
            out[r * values + i] = in[r * values + i] + table[i];
}

static void position_backward(tnn_layer *layer, const float *in,
                              const float *out, const float *dout, float *din,
                              size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    float *grad = layer->grad[0]->data;
    size_t values = layer->in_features;
    if (!accumulate)
        memset(grad, 0, values * sizeof *grad);
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < values; i++)
            grad[i] += dout[r * values + i];
    if (din)
        memcpy(din, dout, n * values * sizeof *din);
}

/* ---- model files: time, width ---------------------------------------- */

static void position_save_config(const tnn_layer *layer, uint32_t version,
                                 uint32_t *words)
{
    (void)version;
    words[0] = (uint32_t)layer->in_shape.dims[0];
    words[1] = (uint32_t)layer->in_shape.dims[1];
}

static tnn_layer *position_load_config(const struct tnn__layer_record *record,
                                       uint32_t version)
{
    (void)version;
    return tnn_position_embedding_new(record->config[0], record->config[1]);
}

static uint64_t position_record_values(const struct tnn__layer_record *record,
                                       uint32_t version)
{
    (void)version;
    return tnn__mul_sat(record->config[0], record->config[1]);
}

static void position_onnx_node(const tnn_layer *layer,
                               struct tnn__onnx_node *node)
{
    (void)layer;
    node->refusal = "position embeddings are not exported yet";
}

static const char *const position_param_names[] = {"weight"};

const struct tnn__layer_ops tnn__position_embedding_ops = {
    .kind = TNN_LAYER_POSITION_EMBEDDING,
    .name = "position_embedding",
    .forward = position_forward,
    .backward = position_backward,
    .init = position_init,
    .since_format = 9,
    .config_words = 2,
    .save_config = position_save_config,
    .load_config = position_load_config,
    .record_values = position_record_values,
    .param_names = position_param_names,
    .onnx_node = position_onnx_node,
};

tnn_layer *tnn_position_embedding_new(size_t time, size_t width)
{
    size_t values;
    if (time == 0 || width == 0 || !tnn__mul_size(time, width, &values) ||
        values > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "time is %zu and width %zu; both must be >= 1, with at "
                  "most %zu values in the table",
                  time, width, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__position_embedding_ops,
                                        values, values, 0);
    if (!layer)
        return NULL;
    struct tnn__shape shape = {2, {time, width}, 0};
    tnn__layer_set_shapes(layer, &shape, &shape);
    size_t dims[2] = {time, width};
    if (tnn__layer_add_param(layer, __func__, 2, dims, true) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}
