/*
 * What the recurrent kinds (lstm.c, gru.c) share: their private state,
 * binding to (time, features) samples, PyTorch's parameter layout and
 * initialisation, their configuration in model files, the bias gradients
 * and the output of every step or the last. Each kind keeps its own
 * passes and the layout of its per-batch scratch.
 */
#ifndef TINYNN_RECURRENT_H
#define TINYNN_RECURRENT_H

#include "internal.h"

struct tnn__recurrent {
    size_t features;
    size_t hidden;
    size_t gates; /* 4 for the LSTM, 3 for the GRU */
    bool return_sequences;
    /* Per-batch state, scratch_cap values, laid out by the kind. */
    float *scratch;
    size_t scratch_cap;
    /* A bias gradient's column sums, in double (gates * hidden). */
    double *bias_sum;
    /* hidden zeros: the state before step 0 without an initial state,
     * the output's gradient at steps that give none, so that the loops
     * over a step's units read a row either way and vectorise. */
    float *zeros;

    /* The initial state (tnn_recurrent_set_state), h0 NULL if none:
     * state_rows rows of hidden values, or one that every row starts from
     * (state_broadcast); c0 the LSTM's cells (NULL: zero). */
    float *h0;
    float *c0;
    size_t state_rows;
    bool state_broadcast;
    /* gates * hidden: W_hh h0 of a broadcast state, for the forward. */
    float *h0_proj;
    /* What the last forward left: each row's last hidden and cell states
     * (row r at r * time * hidden), for last_rows rows (0: none); and the
     * last backward with a state, the gradients of h0 and c0 (grad_rows
     * rows of hidden; 0: none). Both point into scratch, so they are
     * forgotten when it moves. */
    const float *final_h;
    const float *final_c;
    size_t last_rows;
    const float *grad_h0;
    const float *grad_c0;
    size_t grad_rows;
};

/* Where step 0 reads the previous state of row r: the initial state's
 * row (or its only one), else zeros. */
static inline const float *
tnn__recurrent_h0_row(const struct tnn__recurrent *rnn, size_t r)
{
    if (!rnn->h0)
        return rnn->zeros;
    return rnn->h0 + (rnn->state_broadcast ? 0 : r * rnn->hidden);
}

static inline const float *
tnn__recurrent_c0_row(const struct tnn__recurrent *rnn, size_t r)
{
    if (!rnn->c0)
        return rnn->zeros;
    return rnn->c0 + (rnn->state_broadcast ? 0 : r * rnn->hidden);
}

/* Adds W_hh h0 to the first step's rec rows (n rows, ld values apart),
 * gates * hidden wide, when the layer has an initial state. */
void tnn__recurrent_state_product(tnn_layer *layer, float *rec, size_t ld,
                                  size_t n);

/* After the pass back through time, from the first step's gradients of
 * the recurrent parts (dz, n rows ld values apart): adds dz W_hh to dh (n
 * rows of hidden), which becomes the gradient of h0. Nothing without a
 * state. */
void tnn__recurrent_state_backward(tnn_layer *layer, const float *dz,
                                   size_t ld, size_t n, float *dh);

/* weight_hh's gradient, added to or (unless accumulate) written over, as
 * one product over every row and step: dz^T prev, from the gradients of
 * the recurrent parts of the gates (dz, (n, time, gates hidden)) and the
 * state each step started from, which it writes into prev ((n, time,
 * hidden)): the initial state's row at step 0 (zeros without one), the
 * hidden state of the step before (states) after. One product with all
 * the steps' rows runs at several times the speed of one a step over the
 * batch's rows. */
void tnn__recurrent_weight_hh_gradient(tnn_layer *layer, const float *dz,
                                       const float *states, float *prev,
                                       size_t n, bool accumulate);

/* A new layer of ops' kind with gates * hidden rows in its weights:
 * weight_ih (gates hidden, features), weight_hh (gates hidden, hidden),
 * bias_ih and bias_hh (gates hidden), as PyTorch has them. NULL with
 * TNN_E_INVALID for sizes out of range, TNN_E_NOMEM. */
tnn_layer *tnn__recurrent_new(const char *func,
                              const struct tnn__layer_ops *ops,
                              size_t features, size_t hidden,
                              int return_sequences, size_t gates);

/* Steps of the samples the layer is bound to. */
size_t tnn__recurrent_time(const tnn_layer *layer);

/* Rows of a step worth handing to a thread. */
size_t tnn__recurrent_min_rows(size_t hidden);

/* The kind's per-batch scratch for n rows of ops->sample_scratch values. */
int tnn__recurrent_reserve(tnn_layer *layer, const char *func, size_t n);

/* (time, features) samples give (time, hidden) or (hidden). */
int tnn__recurrent_bind(const tnn_layer *layer, const char *func,
                        const struct tnn__shape *in, struct tnn__shape *out);

/* Every parameter uniform in +-1/sqrt(hidden), as PyTorch. */
void tnn__recurrent_init(tnn_layer *layer, tnn_rng *rng);
void tnn__recurrent_destroy(tnn_layer *layer);

/* From the hidden states (n, time, hidden): out gets all of them or each
 * row's last. */
void tnn__recurrent_output(const tnn_layer *layer, const float *states,
                           float *out, size_t n);

/* The gradient the output gives step t of row r (zeros: none). */
const float *tnn__recurrent_dout(const tnn_layer *layer, const float *dout,
                                 size_t r, size_t t);

/* bias_ih's gradient from the column sums of dgx and bias_hh's from those
 * of dgh (steps rows of gates * hidden each; dgh may be dgx), added to
 * the gradients or written over them. */
void tnn__recurrent_bias_gradients(tnn_layer *layer, const float *dgx,
                                   const float *dgh, size_t steps,
                                   bool accumulate);

/* After the pass through time, from the gradients of the input's parts of
 * the gates (dgx) and of the recurrent parts (dgh, which may be dgx) over
 * steps rows: weight_ih's gradient, both biases' and, unless din is NULL,
 * the input gradient. */
void tnn__recurrent_input_backward(tnn_layer *layer, const float *in,
                                   const float *dgx, const float *dgh,
                                   size_t steps, bool accumulate, float *din);

/* Model files: u32 features, hidden and return_sequences. */
#define TNN__RECURRENT_CONFIG_WORDS 3
void tnn__recurrent_save_config(const tnn_layer *layer, uint32_t version,
                                uint32_t *words);
/* The values of the four parameters a record with gates gates claims. */
uint64_t tnn__recurrent_record_values(const struct tnn__layer_record *record,
                                      uint64_t gates);

extern const char *const tnn__recurrent_param_names[];

/* ONNX (docs/onnx.md): a Transpose of the (batch, time, features) data to
 * ONNX's (time, batch, features), the node op (LSTM or GRU, one forward
 * direction, hidden_size) over W, R and B in ONNX's gate order, where
 * order[j] is the library's gate block written j-th, a Squeeze of the
 * direction axis, and for every step's states a Transpose back to
 * (batch, time, hidden); for the last step's, the node's Y_h output
 * instead of Y. The kind adds its own attributes to then[0]. */
void tnn__recurrent_onnx_node(const tnn_layer *layer, const char *op,
                              const int *order, struct tnn__onnx_node *node);

#endif
