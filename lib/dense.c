/*
 * Dense layer: y = x W + b with W (in, out) row-major. The products run on
 * oneDNN in a build with it (dense_dnnl.c), unless TNN_BACKEND=blas is in
 * the environment when the layer is made, and through cblas_sgemm
 * otherwise or whenever oneDNN cannot make them.
 */
#include <math.h>

#include <cblas.h>

#include "dense_dnnl.h"
#include "internal.h"

struct dense {
    int init;
    float init_value;
    bool want_dnnl;
    struct tnn__dnnl_dense *dnnl;
    float *bias_parts; /* BIAS_MAX_CHUNKS rows of out floats; NULL when out
                          is wider than BIAS_MAX_WIDTH */
};

/* The bias gradient's column sums. Below BIAS_SPLIT_FROM values they add
 * row by row on the calling thread, as always. From it, in row chunks
 * (at most BIAS_MAX_CHUNKS, bounds following from the rows alone), each
 * chunk's sums into its own row of bias_parts, which are then added in
 * chunk order: the same bits on any thread count. The threads take the
 * chunks as ReLU's and the loss's passes take their ranges, so each
 * mostly reads rows it has just written. Summed on the calling thread
 * alone (width 64 at batch 4096), half of every 1 MB pass came from the
 * other core's caches while the other thread waited; split by columns
 * instead, both threads read from both cores and the step was slower
 * than on one thread. Wider layers keep no chunk rows (16 x width floats
 * a layer) and sum row by row: measured at widths 64 to 256 only. */
#define BIAS_MAX_CHUNKS ((size_t)16)
#define BIAS_MAX_WIDTH ((size_t)256)
/* As ReLU's passes (activation.c): below this many values a thread,
 * waking another one costs more than it saves. */
#define BIAS_MIN_PER_THREAD ((size_t)1 << 16)
#define BIAS_SPLIT_FROM (2 * BIAS_MIN_PER_THREAD)

/* The weights' widths: the layer's own, which its input and output are
 * time times over when it runs on each step of a sequence. */
static size_t dense_in(const tnn_layer *layer)
{
    return layer->param[0]->dims[0];
}

static size_t dense_out(const tnn_layer *layer)
{
    return layer->param[0]->dims[1];
}

/* Rows of the products: the samples' time steps, or the samples. */
static size_t dense_rows(const tnn_layer *layer, size_t n)
{
    return n * (layer->in_features / dense_in(layer));
}

static void dense_init(tnn_layer *layer, tnn_rng *rng)
{
    const struct dense *d = layer->impl;
    tnn__init_weights(layer, d->init, d->init_value, (double)dense_in(layer),
                      (double)dense_out(layer), rng);
}

static void dense_forward(tnn_layer *layer, const float *in, float *out,
                          size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    n = dense_rows(layer, n);
    const size_t width = dense_out(layer);
    const int rows = (int)n, k = (int)dense_in(layer), m = (int)width;
    const float *b = layer->param[1]->data;
#ifdef TNN_HAVE_DNNL
    struct dense *d = layer->impl;
    if (d->dnnl &&
        tnn__dnnl_dense_forward(d->dnnl, in, layer->param[0]->data, b, out, n))
        return;
#endif
    /* Seed every row with the bias so the product adds onto it (beta 1):
     * one pass fewer than adding the bias afterwards. */
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < width; j++)
            out[r * width + j] = b[j];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, m, k, 1.0f,
                in, k, layer->param[0]->data, m, 1.0f, out, m);
}

/* sums (+)= the column sums of rows [first, last) of x, width wide. */
TNN_VECTOR_CLONES
static void add_column_sums(const float *x, size_t first, size_t last,
                            size_t width, float *sums)
{
    for (size_t r = first; r < last; r++) {
        const float *row = x + r * width;
        for (size_t j = 0; j < width; j++)
            sums[j] += row[j];
    }
}

struct bias_pass {
    const float *dout;
    float *parts;
    size_t rows, width, chunk_rows;
};

static void bias_chunks(void *arg, size_t begin, size_t end)
{
    const struct bias_pass *p = arg;
    for (size_t c = begin; c < end; c++) {
        float *sums = p->parts + c * p->width;
        size_t first = c * p->chunk_rows;
        size_t last =
            p->rows - first < p->chunk_rows ? p->rows : first + p->chunk_rows;
        for (size_t j = 0; j < p->width; j++)
            sums[j] = 0.0f;
        add_column_sums(p->dout, first, last, p->width, sums);
    }
}

/* db (+)= the column sums of dout, rows x width. */
static void bias_gradient(const struct dense *d, const float *dout, float *db,
                          size_t rows, size_t width, bool accumulate)
{
    if (!accumulate)
        for (size_t j = 0; j < width; j++)
            db[j] = 0.0f;
    if (!d->bias_parts || rows * width < BIAS_SPLIT_FROM) {
        add_column_sums(dout, 0, rows, width, db);
        return;
    }
    struct bias_pass pass = {.dout = dout,
                             .parts = d->bias_parts,
                             .rows = rows,
                             .width = width,
                             .chunk_rows = (rows + BIAS_MAX_CHUNKS - 1) /
                                           BIAS_MAX_CHUNKS};
    const size_t chunks = (rows + pass.chunk_rows - 1) / pass.chunk_rows;
    const size_t chunk_values = pass.chunk_rows * width;
    tnn__parallel_for(chunks,
                      (BIAS_MIN_PER_THREAD + chunk_values - 1) / chunk_values,
                      bias_chunks, &pass);
    for (size_t c = 0; c < chunks; c++)
        for (size_t j = 0; j < width; j++)
            db[j] += d->bias_parts[c * width + j];
}

static void dense_backward(tnn_layer *layer, const float *in, const float *out,
                           const float *dout, float *din, size_t n,
                           bool accumulate)
{
    (void)out;
    n = dense_rows(layer, n);
    const size_t width = dense_out(layer);
    const int rows = (int)n, k = (int)dense_in(layer), m = (int)width;
    bias_gradient(layer->impl, dout, layer->grad[1]->data, n, width,
                  accumulate);
#ifdef TNN_HAVE_DNNL
    struct dense *d = layer->impl;
    if (d->dnnl &&
        tnn__dnnl_dense_backward(d->dnnl, in, layer->param[0]->data, dout,
                                 layer->grad[0]->data, din, n, accumulate))
        return;
#endif
    /* dW = x^T dy, db = column sums of dy, dx = dy W^T; the transposes are
     * sgemm flags, never copies. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, m, rows, 1.0f, in,
                k, dout, m, accumulate ? 1.0f : 0.0f, layer->grad[0]->data, m);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, m, 1.0f,
                    dout, m, layer->param[0]->data, m, 0.0f, din, k);
}

/* oneDNN's products for n rows, if they were asked for; without them
 * (oneDNN refused the shape) the BLAS takes over for good. TNN_OK or
 * TNN_E_NOMEM. */
static int dense_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct dense *d = layer->impl;
    size_t steps = layer->in_features / dense_in(layer);
    if (steps > 1 && n > TNN_MAX_BLAS_DIM / steps)
        return tnn__fail(TNN_E_SHAPE, func,
                         "dense layer: %zu rows of %zu steps are more than "
                         "%zu",
                         n, steps, TNN_MAX_BLAS_DIM);
    if (!d->want_dnnl)
        return TNN_OK;
    int rc = tnn__dnnl_dense_reserve(&d->dnnl, func, dense_in(layer),
                                     dense_out(layer), false, n * steps);
    if (rc != TNN__DNNL_DENSE_UNSUPPORTED)
        return rc;
    tnn__dnnl_dense_free(d->dnnl);
    d->dnnl = NULL;
    d->want_dnnl = false;
    return TNN_OK;
}

static void dense_destroy(tnn_layer *layer)
{
    struct dense *d = layer->impl;
    tnn__dnnl_dense_free(d->dnnl);
    tnn__free(d->bias_parts);
}

/* ---- model files: init, its constant -------------------------------- */

/* Format 9 adds the weights' widths, which the record's widths are time
 * times over for a layer run on each step. */
static uint32_t dense_config_words_in(uint32_t version)
{
    return version >= 9 ? 4 : 2;
}

static uint32_t dense_format_needed(const tnn_layer *layer)
{
    return layer->in_features != dense_in(layer) ? 9 : 1;
}

static void dense_save_config(const tnn_layer *layer, uint32_t version,
                              uint32_t *words)
{
    const struct dense *d = layer->impl;
    words[0] = (uint32_t)d->init;
    words[1] = tnn__float_word(d->init_value);
    if (version >= 9) {
        words[2] = (uint32_t)dense_in(layer);
        words[3] = (uint32_t)dense_out(layer);
    }
}

/* The weights' widths of a record. */
static void dense_record_widths(const struct tnn__layer_record *record,
                                uint32_t version, uint64_t *in, uint64_t *out)
{
    *in = version >= 9 ? record->config[2] : record->in;
    *out = version >= 9 ? record->config[3] : record->out;
}

static tnn_layer *dense_load_config(const struct tnn__layer_record *record,
                                    uint32_t version)
{
    uint64_t in, out;
    dense_record_widths(record, version, &in, &out);
    tnn_layer *layer = tnn_dense_new((size_t)in, (size_t)out);
    if (layer &&
        tnn_dense_set_init(layer, (int)record->config[0],
                           tnn__word_float(record->config[1])) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}

static uint64_t dense_record_values(const struct tnn__layer_record *record,
                                    uint32_t version)
{
    uint64_t in, out;
    dense_record_widths(record, version, &in, &out);
    return tnn__add_sat(tnn__mul_sat(in, out), out);
}

/* ---- ONNX: Gemm over the library's own (in, out) weights, y = x W + b
 * with no transposition, which the reader maps back to the same layer. */

static void dense_onnx_node(const tnn_layer *layer,
                            struct tnn__onnx_node *node)
{
    const int64_t in = (int64_t)dense_in(layer);
    const int64_t out = (int64_t)dense_out(layer);
    if (layer->in_features != dense_in(layer)) {
        node->refusal = "a dense layer on each time step is not exported "
                        "yet";
        return;
    }
    *node = (struct tnn__onnx_node){
        .op = "Gemm",
        .ninputs = 2,
        .inputs = {{.suffix = "weight",
                    .tensor = layer->param[0],
                    .ndims = 2,
                    .dims = {in, out}},
                   {.suffix = "bias",
                    .tensor = layer->param[1],
                    .ndims = 1,
                    .dims = {out}}},
    };
}

const struct tnn__layer_ops tnn__dense_ops = {
    .kind = TNN_LAYER_DENSE,
    .name = "dense",
    .reserve = dense_reserve,
    .forward = dense_forward,
    .backward = dense_backward,
    .init = dense_init,
    .destroy = dense_destroy,
    .steps_over_time = true,
    .since_format = 1,
    .config_words = 4,
    .config_words_in = dense_config_words_in,
    .format_needed = dense_format_needed,
    .save_config = dense_save_config,
    .load_config = dense_load_config,
    .record_values = dense_record_values,
    .onnx_node = dense_onnx_node,
};

tnn_layer *tnn_dense_new(size_t in, size_t out)
{
    if (in == 0 || out == 0) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "in is %zu and out is %zu; both must be at least 1", in,
                  out);
        return NULL;
    }
    size_t weights;
    if (!tnn__mul_size(in, out, &weights) || weights > TNN_MAX_BLAS_DIM) {
        tnn__fail(TNN_E_INVALID, __func__, "%zu x %zu weights are too many",
                  in, out);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__dense_ops, in, out,
                                        sizeof(struct dense));
    if (!layer)
        return NULL;
    struct dense *d = layer->impl;
    d->want_dnnl = tnn__want_dnnl();
    if (out <= BIAS_MAX_WIDTH) {
        d->bias_parts = tnn__calloc(BIAS_MAX_CHUNKS * out, sizeof(float));
        if (!d->bias_parts) {
            tnn__fail(TNN_E_NOMEM, __func__,
                      "cannot allocate the bias gradient's %zu partial sums",
                      BIAS_MAX_CHUNKS * out);
            tnn_layer_free(layer);
            return NULL;
        }
    }
    struct tnn__shape in_shape = {1, {in}, 0}, out_shape = {1, {out}, 0};
    tnn__layer_set_shapes(layer, &in_shape, &out_shape);
    size_t wdims[2] = {in, out};
    if (tnn__layer_add_param(layer, __func__, 2, wdims, true) != TNN_OK ||
        tnn__layer_add_param(layer, __func__, 1, &out, false) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}

int tnn_dense_set_init(tnn_layer *dense, int init, float value)
{
    int rc = tnn__check_init(__func__, dense, &tnn__dense_ops, init, value);
    if (rc != TNN_OK)
        return rc;
    struct dense *d = dense->impl;
    d->init = init;
    d->init_value = value;
    return TNN_OK;
}
