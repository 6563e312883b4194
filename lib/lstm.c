/*
 * LSTM over (time, features) samples, with PyTorch's gate equations and
 * parameter layout (weight_ih, weight_hh, bias_ih, bias_hh; gate rows i,
 * f, g, o), so that weights move between the two one to one.
 *
 * Rows are batch-major, (batch, time, features), as the model stores
 * them. The input's product with weight_ih runs once for every row and
 * step together; the recurrent product runs once per step over the whole
 * batch, reading the previous step's hidden states and writing that
 * step's gates in place through the leading dimensions, so that nothing
 * is transposed to time-major and back. The training forward keeps the
 * activated gates, the cell states and the hidden states of every step
 * for the backward, which runs through time in reverse.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "internal.h"

struct lstm {
    size_t features;
    size_t hidden;
    bool return_sequences;
    /* Per-batch state (scratch_cap values), per row: gates (time, 4
     * hidden), cells and hidden states (time, hidden) each, then for the
     * backward the gates' gradients (time, 4 hidden) and the hidden and
     * cell gradients carried back one step (hidden) each. */
    float *scratch;
    size_t scratch_cap;
    /* The bias gradient's column sums, in double. */
    double *bias_sum;
};

/* The parts of the scratch for a batch of n rows. */
struct lstm_buffers {
    float *gates;  /* (n, time, 4 hidden): i, f, g, o after activation */
    float *cells;  /* (n, time, hidden) */
    float *states; /* (n, time, hidden): the hidden states */
    float *dgates; /* (n, time, 4 hidden): gradients before activation */
    float *dh;     /* (n, hidden) */
    float *dc;     /* (n, hidden) */
};

static size_t lstm_time(const tnn_layer *layer)
{
    return layer->in_shape.dims[0];
}

static struct lstm_buffers lstm_buffers(const tnn_layer *layer, size_t n)
{
    const struct lstm *l = layer->impl;
    const size_t steps = n * lstm_time(layer), h = l->hidden;
    struct lstm_buffers b;
    b.gates = l->scratch;
    b.cells = b.gates + steps * 4 * h;
    b.states = b.cells + steps * h;
    b.dgates = b.states + steps * h;
    b.dh = b.dgates + steps * 4 * h;
    b.dc = b.dh + n * h;
    return b;
}

/* Values of per-batch state per sample: 10 hidden per step and 2 hidden;
 * SIZE_MAX if that overflows. */
static size_t per_sample(size_t time, size_t hidden)
{
    size_t per_step, all;
    if (!tnn__mul_size(hidden, 10, &per_step) ||
        !tnn__mul_size(per_step, time, &all) || all > SIZE_MAX - 2 * hidden)
        return SIZE_MAX;
    return all + 2 * hidden;
}

static int lstm_bind(const tnn_layer *layer, const char *func,
                     const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct lstm *l = layer->impl;
    char got[64];
    if (in->ndim != 2 || in->dims[1] != l->features)
        return tnn__fail(TNN_E_SHAPE, func,
                         "lstm of %zu input features takes (time, %zu) "
                         "samples, not %s",
                         l->features, l->features,
                         tnn__shape_text(in, got, sizeof got));
    if (l->return_sequences)
        *out = (struct tnn__shape){2, {in->dims[0], l->hidden}};
    else
        *out = (struct tnn__shape){1, {l->hidden}};
    return TNN_OK;
}

static size_t lstm_scratch(const tnn_layer *layer)
{
    const struct lstm *l = layer->impl;
    return per_sample(lstm_time(layer), l->hidden);
}

static int lstm_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct lstm *l = layer->impl;
    float *scratch = tnn__grow_rows(func, "the LSTM's per-batch state",
                                    l->scratch, &l->scratch_cap, n,
                                    lstm_scratch(layer), sizeof *scratch);
    if (!scratch)
        return TNN_E_NOMEM;
    l->scratch = scratch;
    return TNN_OK;
}

static inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* ---- forward ----------------------------------------------------------- */

struct step_args {
    const tnn_layer *layer;
    struct lstm_buffers b;
    size_t t;
    const float *dout; /* backward only */
};

/* Rows [begin, end) of step t: the gates from their pre-activations in
 * place, then the new cell and hidden states. */
static void forward_rows(void *arg, size_t begin, size_t end)
{
    const struct step_args *a = arg;
    const struct lstm *l = a->layer->impl;
    const size_t h = l->hidden, time = lstm_time(a->layer), t = a->t;
    for (size_t r = begin; r < end; r++) {
        const size_t step = r * time + t;
        float *z = a->b.gates + step * 4 * h;
        float *c = a->b.cells + step * h;
        float *s = a->b.states + step * h;
        const float *c_prev = t ? c - h : NULL;
        for (size_t j = 0; j < h; j++) {
            float i = sigmoid(z[j]), f = sigmoid(z[h + j]);
            float g = tanhf(z[2 * h + j]), o = sigmoid(z[3 * h + j]);
            float cj = i * g + (c_prev ? f * c_prev[j] : 0.0f);
            z[j] = i;
            z[h + j] = f;
            z[2 * h + j] = g;
            z[3 * h + j] = o;
            c[j] = cj;
            s[j] = o * tanhf(cj);
        }
    }
}

/* Rows worth handing to a thread: a few thousand values at least. */
static size_t min_rows(size_t hidden)
{
    return hidden >= 2048 ? 1 : 2048 / hidden;
}

static void lstm_forward(tnn_layer *layer, const float *in, float *out,
                         size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    const struct lstm *l = layer->impl;
    const size_t time = lstm_time(layer), h = l->hidden, g4 = 4 * h;
    const size_t steps = n * time;
    const float *w_ih = layer->param[0]->data, *w_hh = layer->param[1]->data;
    const float *b_ih = layer->param[2]->data, *b_hh = layer->param[3]->data;
    struct step_args a = {.layer = layer, .b = lstm_buffers(layer, n)};
    for (size_t r = 0; r < steps; r++)
        for (size_t j = 0; j < g4; j++)
            a.b.gates[r * g4 + j] = b_ih[j] + b_hh[j];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)steps, (int)g4,
                (int)l->features, 1.0f, in, (int)l->features, w_ih,
                (int)l->features, 1.0f, a.b.gates, (int)g4);
    for (size_t t = 0; t < time; t++) {
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n,
                        (int)g4, (int)h, 1.0f, a.b.states + (t - 1) * h,
                        (int)(time * h), w_hh, (int)h, 1.0f,
                        a.b.gates + t * g4, (int)(time * g4));
        a.t = t;
        tnn__parallel_for(n, min_rows(h), forward_rows, &a);
    }
    if (l->return_sequences) {
        memcpy(out, a.b.states, steps * h * sizeof *out);
        return;
    }
    for (size_t r = 0; r < n; r++)
        memcpy(out + r * h, a.b.states + (r * time + time - 1) * h,
               h * sizeof *out);
}

/* ---- backward ---------------------------------------------------------- */

/* Rows [begin, end) of step t: the gates' gradients before activation
 * from the hidden state's (carried in dh, plus the output's) and the cell
 * state's (carried in dc); dc becomes the previous step's. */
static void backward_rows(void *arg, size_t begin, size_t end)
{
    const struct step_args *a = arg;
    const struct lstm *l = a->layer->impl;
    const size_t h = l->hidden, time = lstm_time(a->layer), t = a->t;
    for (size_t r = begin; r < end; r++) {
        const size_t step = r * time + t;
        const float *z = a->b.gates + step * 4 * h;
        const float *c = a->b.cells + step * h;
        const float *c_prev = t ? c - h : NULL;
        const float *dy = NULL;
        if (l->return_sequences)
            dy = a->dout + step * h;
        else if (t == time - 1)
            dy = a->dout + r * h;
        float *dz = a->b.dgates + step * 4 * h;
        float *dh = a->b.dh + r * h, *dc = a->b.dc + r * h;
        for (size_t j = 0; j < h; j++) {
            float i = z[j], f = z[h + j], g = z[2 * h + j], o = z[3 * h + j];
            float tc = tanhf(c[j]);
            float dhj = dh[j] + (dy ? dy[j] : 0.0f);
            float dcj = dc[j] + dhj * o * (1.0f - tc * tc);
            float cp = c_prev ? c_prev[j] : 0.0f;
            dz[j] = dcj * g * i * (1.0f - i);
            dz[h + j] = dcj * cp * f * (1.0f - f);
            dz[2 * h + j] = dcj * i * (1.0f - g * g);
            dz[3 * h + j] = dhj * tc * o * (1.0f - o);
            dc[j] = dcj * f;
        }
    }
}

/* Both biases' gradient: the column sums of the gates' gradients over
 * every row and step, in double, in row order. */
static void bias_gradients(tnn_layer *layer, const float *dgates, size_t steps,
                           bool accumulate)
{
    struct lstm *l = layer->impl;
    const size_t g4 = 4 * l->hidden;
    double *sum = l->bias_sum;
    for (size_t j = 0; j < g4; j++)
        sum[j] = 0.0;
    for (size_t r = 0; r < steps; r++)
        for (size_t j = 0; j < g4; j++)
            sum[j] += dgates[r * g4 + j];
    for (int p = 2; p < 4; p++) {
        float *db = layer->grad[p]->data;
        for (size_t j = 0; j < g4; j++)
            db[j] = (accumulate ? db[j] : 0.0f) + (float)sum[j];
    }
}

static void lstm_backward(tnn_layer *layer, const float *in, const float *out,
                          const float *dout, float *din, size_t n,
                          bool accumulate)
{
    (void)out;
    const struct lstm *l = layer->impl;
    const size_t time = lstm_time(layer), h = l->hidden, g4 = 4 * h;
    const size_t steps = n * time, f = l->features;
    const float *w_ih = layer->param[0]->data, *w_hh = layer->param[1]->data;
    float *dw_ih = layer->grad[0]->data, *dw_hh = layer->grad[1]->data;
    struct step_args a = {
        .layer = layer, .b = lstm_buffers(layer, n), .dout = dout};
    memset(a.b.dh, 0, n * h * sizeof *a.b.dh);
    memset(a.b.dc, 0, n * h * sizeof *a.b.dc);
    if (!accumulate)
        memset(dw_hh, 0, g4 * h * sizeof *dw_hh);
    for (size_t t = time; t-- > 0;) {
        a.t = t;
        tnn__parallel_for(n, min_rows(h), backward_rows, &a);
        if (t == 0)
            break; /* the state before the first step is no parameter */
        const float *dz = a.b.dgates + t * g4;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)h,
                    (int)g4, 1.0f, dz, (int)(time * g4), w_hh, (int)h, 0.0f,
                    a.b.dh, (int)h);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g4, (int)h,
                    (int)n, 1.0f, dz, (int)(time * g4),
                    a.b.states + (t - 1) * h, (int)(time * h), 1.0f, dw_hh,
                    (int)h);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g4, (int)f,
                (int)steps, 1.0f, a.b.dgates, (int)g4, in, (int)f,
                accumulate ? 1.0f : 0.0f, dw_ih, (int)f);
    bias_gradients(layer, a.b.dgates, steps, accumulate);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)steps,
                    (int)f, (int)g4, 1.0f, a.b.dgates, (int)g4, w_ih, (int)f,
                    0.0f, din, (int)f);
}

/* PyTorch's initialisation: every parameter uniform in +-1/sqrt(hidden). */
static void lstm_init(tnn_layer *layer, tnn_rng *rng)
{
    const struct lstm *l = layer->impl;
    const float k = (float)(1.0 / sqrt((double)l->hidden));
    for (int p = 0; p < layer->num_params; p++)
        tnn_tensor_rand_uniform(layer->param[p], rng, -k, k);
}

static void lstm_destroy(tnn_layer *layer)
{
    struct lstm *l = layer->impl;
    tnn__free(l->scratch);
    tnn__free(l->bias_sum);
}

/* ---- model files: input features, hidden, return_sequences ---------- */

static void lstm_save_config(const tnn_layer *layer, uint32_t version,
                             uint32_t *words)
{
    (void)version;
    const struct lstm *l = layer->impl;
    words[0] = (uint32_t)l->features;
    words[1] = (uint32_t)l->hidden;
    words[2] = l->return_sequences;
}

static tnn_layer *lstm_load_config(const struct tnn__layer_record *record,
                                   uint32_t version)
{
    (void)version;
    return tnn_lstm_new(record->config[0], record->config[1],
                        (int)record->config[2]);
}

/* The two weights and two biases. */
static uint64_t lstm_record_values(const struct tnn__layer_record *record,
                                   uint32_t version)
{
    (void)version;
    uint64_t g4 = tnn__mul_sat(4, record->config[1]);
    uint64_t per_gate =
        tnn__add_sat(tnn__add_sat(record->config[0], record->config[1]), 2);
    return tnn__mul_sat(g4, per_gate);
}

static const char *const lstm_param_names[] = {"weight_ih", "weight_hh",
                                               "bias_ih", "bias_hh"};

static void lstm_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    (void)layer;
    node->refusal = "the library does not write ONNX's LSTM operator yet";
}

const struct tnn__layer_ops tnn__lstm_ops = {
    .kind = TNN_LAYER_LSTM,
    .name = "lstm",
    .bind = lstm_bind,
    .reserve = lstm_reserve,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .init = lstm_init,
    .destroy = lstm_destroy,
    .sample_scratch = lstm_scratch,
    .since_format = 8,
    .config_words = 3,
    .save_config = lstm_save_config,
    .load_config = lstm_load_config,
    .record_values = lstm_record_values,
    .param_names = lstm_param_names,
    .onnx_node = lstm_onnx_node,
};

/* The four parameters in PyTorch's shapes. */
static int add_params(tnn_layer *layer, const char *func)
{
    const struct lstm *l = layer->impl;
    const size_t g4 = 4 * l->hidden;
    const size_t w_ih[2] = {g4, l->features}, w_hh[2] = {g4, l->hidden};
    int rc = tnn__layer_add_param(layer, func, 2, w_ih, true);
    if (rc == TNN_OK)
        rc = tnn__layer_add_param(layer, func, 2, w_hh, true);
    for (int p = 0; p < 2 && rc == TNN_OK; p++)
        rc = tnn__layer_add_param(layer, func, 1, &g4, false);
    return rc;
}

tnn_layer *tnn_lstm_new(size_t input_features, size_t hidden,
                        int return_sequences)
{
    if (input_features == 0 || input_features > TNN_MAX_BLAS_DIM ||
        hidden == 0 || hidden > TNN_MAX_BLAS_DIM / 4 ||
        (return_sequences != 0 && return_sequences != 1)) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "input_features %zu, hidden %zu, return_sequences %d: "
                  "input_features must be in [1, %zu], hidden in [1, %zu] "
                  "and return_sequences 0 or 1",
                  input_features, hidden, return_sequences, TNN_MAX_BLAS_DIM,
                  TNN_MAX_BLAS_DIM / 4);
        return NULL;
    }
    tnn_layer *layer =
        tnn__layer_alloc(__func__, &tnn__lstm_ops, 0, 0, sizeof(struct lstm));
    if (!layer)
        return NULL;
    struct lstm *l = layer->impl;
    l->features = input_features;
    l->hidden = hidden;
    l->return_sequences = return_sequences == 1;
    l->bias_sum = tnn__calloc(4 * hidden, sizeof *l->bias_sum);
    if (!l->bias_sum) {
        tnn_layer_free(layer);
        tnn__fail(TNN_E_NOMEM, __func__,
                  "cannot allocate an LSTM of %zu hidden units", hidden);
        return NULL;
    }
    if (add_params(layer, __func__) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}
