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

#include "recurrent.h"
#include "vecmath.h"

/* The parts of the scratch for a batch of n rows. */
struct lstm_buffers {
    float *gates;  /* (n, time, 4 hidden): i, f, g, o after activation */
    float *cells;  /* (n, time, hidden) */
    float *states; /* (n, time, hidden): the hidden states */
    float *dgates; /* (n, time, 4 hidden): gradients before activation */
    float *dh;     /* (n, hidden) */
    float *dc;     /* (n, hidden) */
    float *prev;   /* (n, time, hidden): the state each step started from */
};

static struct lstm_buffers lstm_buffers(const tnn_layer *layer, size_t n)
{
    const struct tnn__recurrent *l = layer->impl;
    const size_t steps = n * tnn__recurrent_time(layer), h = l->hidden;
    struct lstm_buffers b;
    b.gates = l->scratch;
    b.cells = b.gates + steps * 4 * h;
    b.states = b.cells + steps * h;
    b.dgates = b.states + steps * h;
    b.dh = b.dgates + steps * 4 * h;
    b.dc = b.dh + n * h;
    b.prev = b.dc + n * h;
    return b;
}

/* Values of per-batch state per sample: 11 hidden per step and 2 hidden;
 * SIZE_MAX if that overflows. */
static size_t per_sample(size_t time, size_t hidden)
{
    size_t per_step, all;
    if (!tnn__mul_size(hidden, 11, &per_step) ||
        !tnn__mul_size(per_step, time, &all) || all > SIZE_MAX - 2 * hidden)
        return SIZE_MAX;
    return all + 2 * hidden;
}

static size_t lstm_scratch(const tnn_layer *layer)
{
    const struct tnn__recurrent *l = layer->impl;
    return per_sample(tnn__recurrent_time(layer), l->hidden);
}

/* ---- forward ----------------------------------------------------------- */

struct step_args {
    const tnn_layer *layer;
    struct lstm_buffers b;
    size_t t;
    const float *dout; /* backward only */
};

/* One row of a step: the gates z from their pre-activations in place,
 * the cell state c from the previous one and the hidden state s. A loop over
 * the hidden units that vectorises (vecmath.h). */
TNN_VECTOR_CLONES
static void cell_forward(float *restrict z, const float *restrict c_prev,
                         float *restrict c, float *restrict s, size_t h)
{
    for (size_t j = 0; j < h; j++) {
        float i = tnn__sigmoid(z[j]), f = tnn__sigmoid(z[h + j]);
        float g = tnn__tanh(z[2 * h + j]), o = tnn__sigmoid(z[3 * h + j]);
        float cj = i * g + f * c_prev[j];
        z[j] = i;
        z[h + j] = f;
        z[2 * h + j] = g;
        z[3 * h + j] = o;
        c[j] = cj;
        s[j] = o * tnn__tanh(cj);
    }
}

/* Rows [begin, end) of step t, each through cell_forward(). */
static void forward_rows(void *arg, size_t begin, size_t end)
{
    const struct step_args *a = arg;
    const struct tnn__recurrent *l = a->layer->impl;
    const size_t h = l->hidden, time = tnn__recurrent_time(a->layer), t = a->t;
    for (size_t r = begin; r < end; r++) {
        const size_t step = r * time + t;
        float *z = a->b.gates + step * 4 * h;
        float *c = a->b.cells + step * h;
        float *s = a->b.states + step * h;
        const float *c_prev = t ? c - h : tnn__recurrent_c0_row(l, r);
        cell_forward(z, c_prev, c, s, h);
    }
}

static void lstm_forward(tnn_layer *layer, const float *in, float *out,
                         size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    struct tnn__recurrent *l = layer->impl;
    const size_t time = tnn__recurrent_time(layer), h = l->hidden, g4 = 4 * h;
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
    tnn__recurrent_state_product(layer, a.b.gates, time * g4, n);
    for (size_t t = 0; t < time; t++) {
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n,
                        (int)g4, (int)h, 1.0f, a.b.states + (t - 1) * h,
                        (int)(time * h), w_hh, (int)h, 1.0f,
                        a.b.gates + t * g4, (int)(time * g4));
        a.t = t;
        tnn__parallel_for(n, tnn__recurrent_min_rows(h), forward_rows, &a);
    }
    tnn__recurrent_output(layer, a.b.states, out, n);
    l->final_h = a.b.states + (time - 1) * h;
    l->final_c = a.b.cells + (time - 1) * h;
    l->last_rows = n;
    /* The gradients of the state sit where a larger pass may have been. */
    l->grad_rows = 0;
}

/* ---- backward ---------------------------------------------------------- */

/* One row of a step, backward: the gates' gradients dz before
 * activation from the activated gates z, the cell states, the carried
 * gradients dh and dc and the output's dy; dc becomes the previous
 * step's. */
TNN_VECTOR_CLONES
static void cell_backward(const float *restrict z, const float *restrict c,
                          const float *restrict c_prev,
                          const float *restrict dy, float *restrict dz,
                          const float *restrict dh, float *restrict dc,
                          size_t h)
{
    for (size_t j = 0; j < h; j++) {
        float i = z[j], f = z[h + j], g = z[2 * h + j], o = z[3 * h + j];
        float tc = tnn__tanh(c[j]);
        float dhj = dh[j] + dy[j];
        float dcj = dc[j] + dhj * o * (1.0f - tc * tc);
        dz[j] = dcj * g * i * (1.0f - i);
        dz[h + j] = dcj * c_prev[j] * f * (1.0f - f);
        dz[2 * h + j] = dcj * i * (1.0f - g * g);
        dz[3 * h + j] = dhj * tc * o * (1.0f - o);
        dc[j] = dcj * f;
    }
}

/* Rows [begin, end) of step t, each through cell_backward(). */
static void backward_rows(void *arg, size_t begin, size_t end)
{
    const struct step_args *a = arg;
    const struct tnn__recurrent *l = a->layer->impl;
    const size_t h = l->hidden, time = tnn__recurrent_time(a->layer), t = a->t;
    for (size_t r = begin; r < end; r++) {
        const size_t step = r * time + t;
        const float *z = a->b.gates + step * 4 * h;
        const float *c = a->b.cells + step * h;
        const float *c_prev = t ? c - h : tnn__recurrent_c0_row(l, r);
        const float *dy = tnn__recurrent_dout(a->layer, a->dout, r, t);
        float *dz = a->b.dgates + step * 4 * h;
        float *dh = a->b.dh + r * h, *dc = a->b.dc + r * h;
        cell_backward(z, c, c_prev, dy, dz, dh, dc, h);
    }
}

static void lstm_backward(tnn_layer *layer, const float *in, const float *out,
                          const float *dout, float *din, size_t n,
                          bool accumulate)
{
    (void)out;
    struct tnn__recurrent *l = layer->impl;
    const size_t time = tnn__recurrent_time(layer), h = l->hidden, g4 = 4 * h;
    const size_t steps = n * time;
    const float *w_hh = layer->param[1]->data;
    struct step_args a = {
        .layer = layer, .b = lstm_buffers(layer, n), .dout = dout};
    memset(a.b.dh, 0, n * h * sizeof *a.b.dh);
    memset(a.b.dc, 0, n * h * sizeof *a.b.dc);
    for (size_t t = time; t-- > 0;) {
        a.t = t;
        tnn__parallel_for(n, tnn__recurrent_min_rows(h), backward_rows, &a);
        if (t == 0)
            break; /* the initial state's share follows the loop */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)h,
                    (int)g4, 1.0f, a.b.dgates + t * g4, (int)(time * g4), w_hh,
                    (int)h, 0.0f, a.b.dh, (int)h);
    }
    tnn__recurrent_weight_hh_gradient(layer, a.b.dgates, a.b.states, a.b.prev,
                                      n, accumulate);
    if (l->h0) {
        /* dc holds c0's gradient now; h0's is the first step's through
         * weight_hh alone. */
        memset(a.b.dh, 0, n * h * sizeof *a.b.dh);
        tnn__recurrent_state_backward(layer, a.b.dgates, time * g4, n, a.b.dh);
        l->grad_h0 = a.b.dh;
        l->grad_c0 = a.b.dc;
        l->grad_rows = n;
    }
    tnn__recurrent_input_backward(layer, in, a.b.dgates, a.b.dgates, steps,
                                  accumulate, din);
}

static tnn_layer *lstm_load_config(const struct tnn__layer_record *record,
                                   uint32_t version)
{
    (void)version;
    return tnn_lstm_new(record->config[0], record->config[1],
                        (int)record->config[2]);
}

/* The two weights and two biases, of 4 gates each. */
static uint64_t lstm_record_values(const struct tnn__layer_record *record,
                                   uint32_t version)
{
    (void)version;
    return tnn__recurrent_record_values(record, 4);
}

/* ONNX's LSTM computes PyTorch's equations with the gate blocks in the
 * order i, o, f, c (the library's i, f, g, o): blocks 0, 3, 1, 2. */
static void lstm_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    static const int order[4] = {0, 3, 1, 2};
    tnn__recurrent_onnx_node(layer, "LSTM", order, node);
}

const struct tnn__layer_ops tnn__lstm_ops = {
    .kind = TNN_LAYER_LSTM,
    .name = "lstm",
    .bind = tnn__recurrent_bind,
    .reserve = tnn__recurrent_reserve,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .init = tnn__recurrent_init,
    .destroy = tnn__recurrent_destroy,
    .sample_scratch = lstm_scratch,
    .since_format = 8,
    .config_words = TNN__RECURRENT_CONFIG_WORDS,
    .save_config = tnn__recurrent_save_config,
    .load_config = lstm_load_config,
    .record_values = lstm_record_values,
    .param_names = tnn__recurrent_param_names,
    .onnx_node = lstm_onnx_node,
};

tnn_layer *tnn_lstm_new(size_t input_features, size_t hidden,
                        int return_sequences)
{
    return tnn__recurrent_new(__func__, &tnn__lstm_ops, input_features, hidden,
                              return_sequences, 4);
}
