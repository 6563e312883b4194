/*
 * GRU over (time, features) samples, with PyTorch's gate equations and
 * parameter layout (weight_ih, weight_hh, bias_ih, bias_hh; gate rows r,
 * z, n), so that weights move between the two one to one:
 *
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h = (1 - z) * n + z * h
 *
 * The reset gate scales the recurrent part of n, bias included, so the
 * input's and the recurrent products are kept apart: the input's runs
 * once for every row and step, the recurrent one once per step over the
 * batch into that step's rows of its own buffer (leading dimensions, no
 * transposes), and the training forward keeps both, with the gates and
 * hidden states, for the backward through time.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "recurrent.h"
#include "vecmath.h"

/* The parts of the scratch for a batch of n rows. */
struct gru_buffers {
    float *gates;  /* (n, time, 3 hidden): r, z, n after activation */
    float *rec;    /* (n, time, 3 hidden): W_h h + b_h of each step */
    float *states; /* (n, time, hidden): the hidden states */
    float *dgx;    /* (n, time, 3 hidden): gradients of the input parts */
    float *dgh;    /* (n, time, 3 hidden): of the recurrent parts */
    float *dh;     /* (n, hidden): carried back one step */
    float *prev;   /* (n, time, hidden): the state each step started from */
};

static struct gru_buffers gru_buffers(const tnn_layer *layer, size_t n)
{
    const struct tnn__recurrent *g = layer->impl;
    const size_t steps = n * tnn__recurrent_time(layer), h = g->hidden;
    struct gru_buffers b;
    b.gates = g->scratch;
    b.rec = b.gates + steps * 3 * h;
    b.states = b.rec + steps * 3 * h;
    b.dgx = b.states + steps * h;
    b.dgh = b.dgx + steps * 3 * h;
    b.dh = b.dgh + steps * 3 * h;
    b.prev = b.dh + n * h;
    return b;
}

/* Values of per-batch state per sample: 14 hidden per step and one
 * hidden; SIZE_MAX if that overflows. */
static size_t gru_scratch(const tnn_layer *layer)
{
    const struct tnn__recurrent *g = layer->impl;
    size_t per_step, all;
    if (!tnn__mul_size(g->hidden, 14, &per_step) ||
        !tnn__mul_size(per_step, tnn__recurrent_time(layer), &all) ||
        all > SIZE_MAX - g->hidden)
        return SIZE_MAX;
    return all + g->hidden;
}

struct step_args {
    const tnn_layer *layer;
    struct gru_buffers b;
    size_t t;
    const float *dout; /* backward only */
};

/* One row of a step: the gates from the input's parts x (in place) and
 * the recurrent ones rec, then the hidden state s from the previous
 * one. A loop over the hidden units that vectorises
 * (vecmath.h). */
TNN_VECTOR_CLONES
static void cell_forward(float *restrict x, const float *restrict rec,
                         const float *restrict s_prev, float *restrict s,
                         size_t h)
{
    for (size_t j = 0; j < h; j++) {
        float reset = tnn__sigmoid(x[j] + rec[j]);
        float update = tnn__sigmoid(x[h + j] + rec[h + j]);
        float cand = tnn__tanh(x[2 * h + j] + reset * rec[2 * h + j]);
        float prev = s_prev[j];
        x[j] = reset;
        x[h + j] = update;
        x[2 * h + j] = cand;
        s[j] = (1.0f - update) * cand + update * prev;
    }
}

/* Rows [begin, end) of step t, each through cell_forward(). */
static void forward_rows(void *arg, size_t begin, size_t end)
{
    const struct step_args *a = arg;
    const struct tnn__recurrent *g = a->layer->impl;
    const size_t h = g->hidden;
    const size_t time = tnn__recurrent_time(a->layer), t = a->t;
    for (size_t r = begin; r < end; r++) {
        const size_t step = r * time + t;
        float *x = a->b.gates + step * 3 * h;
        const float *rec = a->b.rec + step * 3 * h;
        float *s = a->b.states + step * h;
        const float *s_prev = t ? s - h : tnn__recurrent_h0_row(g, r);
        cell_forward(x, rec, s_prev, s, h);
    }
}

static void gru_forward(tnn_layer *layer, const float *in, float *out,
                        size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    struct tnn__recurrent *g = layer->impl;
    const size_t time = tnn__recurrent_time(layer), h = g->hidden;
    const size_t g3 = 3 * h, steps = n * time;
    const float *w_ih = layer->param[0]->data, *w_hh = layer->param[1]->data;
    const float *b_ih = layer->param[2]->data, *b_hh = layer->param[3]->data;
    struct step_args a = {.layer = layer, .b = gru_buffers(layer, n)};
    for (size_t r = 0; r < steps; r++) {
        memcpy(a.b.gates + r * g3, b_ih, g3 * sizeof *b_ih);
        memcpy(a.b.rec + r * g3, b_hh, g3 * sizeof *b_hh);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)steps, (int)g3,
                (int)g->features, 1.0f, in, (int)g->features, w_ih,
                (int)g->features, 1.0f, a.b.gates, (int)g3);
    tnn__recurrent_state_product(layer, a.b.rec, time * g3, n);
    for (size_t t = 0; t < time; t++) {
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n,
                        (int)g3, (int)h, 1.0f, a.b.states + (t - 1) * h,
                        (int)(time * h), w_hh, (int)h, 1.0f, a.b.rec + t * g3,
                        (int)(time * g3));
        a.t = t;
        tnn__parallel_for(n, tnn__recurrent_min_rows(h), forward_rows, &a);
    }
    tnn__recurrent_output(layer, a.b.states, out, n);
    g->final_h = a.b.states + (time - 1) * h;
    g->final_c = NULL;
    g->last_rows = n;
    /* The gradients of the state sit where a larger pass may have been. */
    g->grad_rows = 0;
}

/* One row of a step, backward: from the hidden state's gradient (carried
 * in dh, plus the output's dy), the gradients of the input's (dgx) and
 * the recurrent (dgh) parts of the gates; dh keeps the part that reaches
 * the previous state directly, through z. */
TNN_VECTOR_CLONES
static void cell_backward(const float *restrict gate,
                          const float *restrict rec,
                          const float *restrict s_prev,
                          const float *restrict dy, float *restrict dgx,
                          float *restrict dgh, float *restrict dh, size_t h)
{
    for (size_t j = 0; j < h; j++) {
        float reset = gate[j], update = gate[h + j], cand = gate[2 * h + j];
        float dhj = dh[j] + dy[j];
        float dcand = dhj * (1.0f - update) * (1.0f - cand * cand);
        float dreset = dcand * rec[2 * h + j] * reset * (1.0f - reset);
        float dupdate = dhj * (s_prev[j] - cand) * update * (1.0f - update);
        dgx[j] = dgh[j] = dreset;
        dgx[h + j] = dgh[h + j] = dupdate;
        dgx[2 * h + j] = dcand;
        dgh[2 * h + j] = dcand * reset;
        dh[j] = dhj * update;
    }
}

/* Rows [begin, end) of step t, each through cell_backward(). */
static void backward_rows(void *arg, size_t begin, size_t end)
{
    const struct step_args *a = arg;
    const struct tnn__recurrent *g = a->layer->impl;
    const size_t h = g->hidden;
    const size_t time = tnn__recurrent_time(a->layer), t = a->t;
    for (size_t r = begin; r < end; r++) {
        const size_t step = r * time + t;
        const float *s_prev =
            t ? a->b.states + (step - 1) * h : tnn__recurrent_h0_row(g, r);
        cell_backward(a->b.gates + step * 3 * h, a->b.rec + step * 3 * h,
                      s_prev, tnn__recurrent_dout(a->layer, a->dout, r, t),
                      a->b.dgx + step * 3 * h, a->b.dgh + step * 3 * h,
                      a->b.dh + r * h, h);
    }
}

static void gru_backward(tnn_layer *layer, const float *in, const float *out,
                         const float *dout, float *din, size_t n,
                         bool accumulate)
{
    (void)out;
    struct tnn__recurrent *g = layer->impl;
    const size_t time = tnn__recurrent_time(layer), h = g->hidden;
    const size_t g3 = 3 * h, steps = n * time;
    const float *w_hh = layer->param[1]->data;
    struct step_args a = {
        .layer = layer, .b = gru_buffers(layer, n), .dout = dout};
    memset(a.b.dh, 0, n * h * sizeof *a.b.dh);
    for (size_t t = time; t-- > 0;) {
        a.t = t;
        tnn__parallel_for(n, tnn__recurrent_min_rows(h), backward_rows, &a);
        if (t == 0)
            break; /* the initial state's share follows the loop */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)h,
                    (int)g3, 1.0f, a.b.dgh + t * g3, (int)(time * g3), w_hh,
                    (int)h, 1.0f, a.b.dh, (int)h);
    }
    tnn__recurrent_weight_hh_gradient(layer, a.b.dgh, a.b.states, a.b.prev, n,
                                      accumulate);
    if (g->h0) {
        /* dh holds the part that reaches h0 through z; the recurrent
         * product's part joins it. */
        tnn__recurrent_state_backward(layer, a.b.dgh, time * g3, n, a.b.dh);
        g->grad_h0 = a.b.dh;
        g->grad_c0 = NULL;
        g->grad_rows = n;
    }
    tnn__recurrent_input_backward(layer, in, a.b.dgx, a.b.dgh, steps,
                                  accumulate, din);
}

/* ---- model files: input features, hidden, return_sequences ---------- */

static tnn_layer *gru_load_config(const struct tnn__layer_record *record,
                                  uint32_t version)
{
    (void)version;
    return tnn_gru_new(record->config[0], record->config[1],
                       (int)record->config[2]);
}

/* The two weights and two biases, of 3 gates each. */
static uint64_t gru_record_values(const struct tnn__layer_record *record,
                                  uint32_t version)
{
    (void)version;
    return tnn__recurrent_record_values(record, 3);
}

/* ONNX's GRU with linear_before_reset 1 computes PyTorch's equations (the
 * reset gate scales W_hn h + b_hn), with the gate blocks in the order z,
 * r, h (the library's r, z, n): blocks 1, 0, 2. */
static void gru_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    static const int order[3] = {1, 0, 2};
    tnn__recurrent_onnx_node(layer, "GRU", order, node);
    struct tnn__onnx_op *gru = &node->then[0];
    gru->attrs[gru->nattrs++] = (struct tnn__onnx_attr){
        .name = "linear_before_reset", .type = TNN__ONNX_ATTR_IS_INT, .i = 1};
}

const struct tnn__layer_ops tnn__gru_ops = {
    .kind = TNN_LAYER_GRU,
    .name = "gru",
    .bind = tnn__recurrent_bind,
    .reserve = tnn__recurrent_reserve,
    .forward = gru_forward,
    .backward = gru_backward,
    .init = tnn__recurrent_init,
    .destroy = tnn__recurrent_destroy,
    .sample_scratch = gru_scratch,
    .since_format = 8,
    .config_words = TNN__RECURRENT_CONFIG_WORDS,
    .save_config = tnn__recurrent_save_config,
    .load_config = gru_load_config,
    .record_values = gru_record_values,
    .param_names = tnn__recurrent_param_names,
    .onnx_node = gru_onnx_node,
};

tnn_layer *tnn_gru_new(size_t input_features, size_t hidden,
                       int return_sequences)
{
    return tnn__recurrent_new(__func__, &tnn__gru_ops, input_features, hidden,
                              return_sequences, 3);
}
