/*
 * Sequence models: (time, features) samples, the LSTM and the GRU, against
 * PyTorch's numbers (tests/reference/recurrent.py), finite differences and
 * a task that needs the recurrence.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tinynn.h"

/* ---- PyTorch's LSTM and GRU on fixed values --------------------------- */

/* count hexadecimal floats from *at into v, as float (the inputs) or
 * kept in double (the results). */
static void read_floats(char **at, float *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)strtod(*at, at);
}

static double *read_doubles(char **at, size_t count)
{
    double *v = malloc((count ? count : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < count; i++)
        v[i] = strtod(*at, at);
    return v;
}

/* got against PyTorch's float64 result: float rounding through a few
 * steps of products and activations. */
static void assert_close(const char *name, const char *what, const float *got,
                         char **at, size_t count)
{
    double *want = read_doubles(at, count);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 2e-6 + 2e-5 * fabs(want[i]),
                      "%s %s[%zu] is %.9g, PyTorch gives %.9g", name, what, i,
                      (double)got[i], want[i]);
    free(want);
}

/* PyTorch's gradients of the four parameters, in their order. */
static void assert_param_grads(const char *name, tnn_layer *layer, char **at)
{
    static const char *const grads[] = {
        "weight_ih gradient", "weight_hh gradient", "bias_ih gradient",
        "bias_hh gradient"};
    for (int p = 0; p < 4; p++) {
        tnn_tensor *g = tnn_layer_grad(layer, p);
        assert_close(name, grads[p], tnn_tensor_data(g), at,
                     tnn_tensor_size(g));
    }
}

static void assert_all_read(const char *name, const char *at)
{
    while (*at == ' ' || *at == '\n')
        at++;
    ck_assert_msg(*at == '\0', "%s: values left over", name);
}

/* check on every line of a file of tests/data; the number of lines. */
static int check_lines(const char *path, void (*check)(char *line))
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char line[1 << 18];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_msg(strchr(line, '\n'), "line too long");
        check(line);
        cases++;
    }
    fclose(f);
    return cases;
}

static void check_case(char *line)
{
    char name[64], *at;
    size_t f, h, time, rows;
    int rs, used = 0;
    ck_assert_int_eq(sscanf(line, "%63s %zu %zu %zu %zu %d%n", name, &f, &h,
                            &time, &rows, &rs, &used),
                     6);
    at = line + used;
    tnn_layer *lstm = strncmp(name, "gru", 3) == 0 ? tnn_gru_new(f, h, rs)
                                                   : tnn_lstm_new(f, h, rs);
    ck_assert_ptr_nonnull(lstm);
    size_t in_dims[3] = {rows, time, f};
    tnn_tensor *x = tnn_tensor_new(3, in_dims);
    tnn_tensor *din = tnn_tensor_new(3, in_dims);
    size_t out_width = rs ? time * h : h;
    tnn_tensor *y = tnn_tensor_new_2d(rows, out_width);
    tnn_tensor *dy = tnn_tensor_new_2d(rows, out_width);
    read_floats(&at, tnn_tensor_data(x), tnn_tensor_size(x));
    for (int p = 0; p < 4; p++) {
        tnn_tensor *param = tnn_layer_param(lstm, p);
        read_floats(&at, tnn_tensor_data(param), tnn_tensor_size(param));
    }
    read_floats(&at, tnn_tensor_data(dy), tnn_tensor_size(dy));
    ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_uint_eq(tnn_layer_out_features(lstm), out_width);
    tnn_layer_zero_grad(lstm);
    ck_assert_int_eq(tnn_layer_backward(lstm, x, y, dy, din), TNN_OK);
    assert_close(name, "output", tnn_tensor_data(y), &at, tnn_tensor_size(y));
    assert_close(name, "input gradient", tnn_tensor_data(din), &at,
                 tnn_tensor_size(din));
    assert_param_grads(name, lstm, &at);
    assert_all_read(name, at);
    tnn_tensor_free(x);
    tnn_tensor_free(din);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_layer_free(lstm);
}

START_TEST(recurrent_layers_match_pytorch)
{
    ck_assert_int_eq(
        check_lines(TNN_TEST_DATA_DIR "/recurrent-pytorch.txt", check_case),
        8);
}
END_TEST

/* ---- initial states against PyTorch ------------------------------------ */

static tnn_tensor *state_tensor(size_t rows, size_t h, int shared)
{
    size_t one[1] = {h};
    return shared ? tnn_tensor_new(1, one) : tnn_tensor_new_2d(rows, h);
}

static void check_state_case(char *line)
{
    char name[64], *at;
    size_t f, h, time, rows;
    int rs, shared, used = 0;
    ck_assert_int_eq(sscanf(line, "%63s %zu %zu %zu %zu %d %d%n", name, &f, &h,
                            &time, &rows, &rs, &shared, &used),
                     7);
    at = line + used;
    const bool gru = strncmp(name, "gru", 3) == 0;
    tnn_layer *rnn = gru ? tnn_gru_new(f, h, rs) : tnn_lstm_new(f, h, rs);
    ck_assert_ptr_nonnull(rnn);
    size_t in_dims[3] = {rows, time, f};
    tnn_tensor *x = tnn_tensor_new(3, in_dims);
    tnn_tensor *din = tnn_tensor_new(3, in_dims);
    size_t out_width = rs ? time * h : h;
    tnn_tensor *y = tnn_tensor_new_2d(rows, out_width);
    tnn_tensor *dy = tnn_tensor_new_2d(rows, out_width);
    tnn_tensor *h0 = state_tensor(rows, h, shared);
    tnn_tensor *c0 = gru ? NULL : state_tensor(rows, h, shared);
    tnn_tensor *dh0 = state_tensor(rows, h, shared);
    tnn_tensor *dc0 = gru ? NULL : state_tensor(rows, h, shared);
    tnn_tensor *hn = tnn_tensor_new_2d(rows, h);
    tnn_tensor *cn = gru ? NULL : tnn_tensor_new_2d(rows, h);
    read_floats(&at, tnn_tensor_data(x), tnn_tensor_size(x));
    for (int p = 0; p < 4; p++) {
        tnn_tensor *param = tnn_layer_param(rnn, p);
        read_floats(&at, tnn_tensor_data(param), tnn_tensor_size(param));
    }
    read_floats(&at, tnn_tensor_data(h0), tnn_tensor_size(h0));
    if (c0)
        read_floats(&at, tnn_tensor_data(c0), tnn_tensor_size(c0));
    read_floats(&at, tnn_tensor_data(dy), tnn_tensor_size(dy));
    ck_assert_int_eq(tnn_recurrent_set_state(rnn, h0, c0), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(rnn, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_recurrent_state(rnn, hn, cn), TNN_OK);
    tnn_layer_zero_grad(rnn);
    ck_assert_int_eq(tnn_layer_backward(rnn, x, y, dy, din), TNN_OK);
    ck_assert_int_eq(tnn_recurrent_state_grad(rnn, dh0, dc0), TNN_OK);
    assert_close(name, "output", tnn_tensor_data(y), &at, tnn_tensor_size(y));
    assert_close(name, "final h", tnn_tensor_data(hn), &at,
                 tnn_tensor_size(hn));
    if (cn)
        assert_close(name, "final c", tnn_tensor_data(cn), &at,
                     tnn_tensor_size(cn));
    assert_close(name, "input gradient", tnn_tensor_data(din), &at,
                 tnn_tensor_size(din));
    assert_param_grads(name, rnn, &at);
    assert_close(name, "h0 gradient", tnn_tensor_data(dh0), &at,
                 tnn_tensor_size(dh0));
    if (dc0)
        assert_close(name, "c0 gradient", tnn_tensor_data(dc0), &at,
                     tnn_tensor_size(dc0));
    assert_all_read(name, at);
    TENSORS_FREE(x, din, y, dy, h0, c0, dh0, dc0, hn, cn);
    tnn_layer_free(rnn);
}

START_TEST(recurrent_state_matches_pytorch)
{
    ck_assert_int_eq(check_lines(TNN_TEST_DATA_DIR
                                 "/recurrent-state-pytorch.txt",
                                 check_state_case),
                     6);
}
END_TEST

/* ---- finite differences ------------------------------------------------ */

/* sum(w * out) in double, after an evaluation-mode forward. */
static double objective(tnn_layer *layer, const tnn_tensor *x, tnn_tensor *y,
                        tnn_tensor *w)
{
    ck_assert_int_eq(tnn_layer_forward(layer, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    double sum = 0.0;
    for (size_t i = 0; i < tnn_tensor_size(y); i++)
        sum += (double)tnn_tensor_data(w)[i] * tnn_tensor_data(y)[i];
    return sum;
}

/* Central differences of the objective over every value of t against
 * grad. */
static void check_values(const char *what, tnn_layer *layer,
                         const tnn_tensor *x, tnn_tensor *y, tnn_tensor *w,
                         tnn_tensor *t, const float *grad)
{
    const float step = 1e-2f;
    for (size_t i = 0; i < tnn_tensor_size(t); i++) {
        float *v = &tnn_tensor_data(t)[i], keep = *v;
        *v = keep + step;
        double up = objective(layer, x, y, w);
        *v = keep - step;
        double down = objective(layer, x, y, w);
        *v = keep;
        double numeric = (up - down) / (2.0 * (double)step);
        ck_assert_msg(fabs(numeric - grad[i]) <= 2e-3 * (1.0 + fabs(numeric)),
                      "%s gradient [%zu]: %.6g analytic, %.6g numeric", what,
                      i, (double)grad[i], numeric);
    }
}

static void recurrent_gradient_check(tnn_layer *(*make)(size_t, size_t, int),
                                     size_t f, size_t h, size_t time,
                                     size_t rows, int rs)
{
    tnn_rng *rng = tnn_rng_new(31);
    tnn_layer *lstm = make(f, h, rs);
    /* Larger than PyTorch's start, so that the gates saturate somewhat. */
    for (int p = 0; p < 4; p++)
        tnn_tensor_rand_uniform(tnn_layer_param(lstm, p), rng, -0.8f, 0.8f);
    size_t dims[3] = {rows, time, f};
    tnn_tensor *x = tnn_tensor_new(3, dims), *din = tnn_tensor_new(3, dims);
    tnn_tensor_rand_uniform(x, rng, -1.5f, 1.5f);
    size_t width = rs ? time * h : h;
    tnn_tensor *y = tnn_tensor_new_2d(rows, width);
    tnn_tensor *w = tnn_tensor_new_2d(rows, width);
    tnn_tensor_rand_uniform(w, rng, -1.0f, 1.0f);
    ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    tnn_layer_zero_grad(lstm);
    ck_assert_int_eq(tnn_layer_backward(lstm, x, y, w, din), TNN_OK);
    tnn_tensor *dx = tnn_tensor_clone(din);
    check_values("input", lstm, x, y, w, x, tnn_tensor_data(dx));
    for (int p = 0; p < 4; p++) {
        tnn_tensor *g = tnn_tensor_clone(tnn_layer_grad(lstm, p));
        check_values("parameter", lstm, x, y, w, tnn_layer_param(lstm, p),
                     tnn_tensor_data(g));
        tnn_tensor_free(g);
    }
    tnn_tensor_free(dx);
    tnn_tensor_free(x);
    tnn_tensor_free(din);
    tnn_tensor_free(y);
    tnn_tensor_free(w);
    tnn_layer_free(lstm);
    tnn_rng_free(rng);
}

START_TEST(recurrent_gradients)
{
    for (int gru = 0; gru < 2; gru++) {
        tnn_layer *(*make)(size_t, size_t, int) =
            gru ? tnn_gru_new : tnn_lstm_new;
        recurrent_gradient_check(make, 3, 4, 5, 2, 1);
        recurrent_gradient_check(make, 2, 5, 6, 3, 0);
        recurrent_gradient_check(make, 4, 3, 1, 2, 0);
    }
}
END_TEST

/* A backward that adds to the gradients adds one more batch's (to the
 * rounding of adding step by step onto what is there). */
START_TEST(recurrent_backward_accumulates)
{
    tnn_rng *rng = tnn_rng_new(5);
    tnn_layer *lstm = _i ? tnn_gru_new(2, 3, 1) : tnn_lstm_new(2, 3, 1);
    tnn_layer_init(lstm, rng);
    size_t dims[3] = {2, 4, 2};
    tnn_tensor *x = tnn_tensor_new(3, dims);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor *y = tnn_tensor_new_2d(2, 12), *dy = tnn_tensor_new_2d(2, 12);
    tnn_tensor_rand_uniform(dy, rng, -1.0f, 1.0f);
    ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    tnn_layer_zero_grad(lstm);
    ck_assert_int_eq(tnn_layer_backward(lstm, x, y, dy, NULL), TNN_OK);
    tnn_tensor *once[4];
    for (int p = 0; p < 4; p++)
        once[p] = tnn_tensor_clone(tnn_layer_grad(lstm, p));
    ck_assert_int_eq(tnn_layer_backward(lstm, x, y, dy, NULL), TNN_OK);
    for (int p = 0; p < 4; p++) {
        const float *g = tnn_tensor_data(tnn_layer_grad(lstm, p));
        for (size_t i = 0; i < tnn_tensor_size(once[p]); i++)
            ck_assert_float_eq_tol(g[i], 2.0f * tnn_tensor_data(once[p])[i],
                                   1e-6f);
        tnn_tensor_free(once[p]);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_layer_free(lstm);
    tnn_rng_free(rng);
}
END_TEST

/* ---- shapes ------------------------------------------------------------ */

START_TEST(sequence_model_shapes)
{
    tnn_model *m = tnn_model_new_sequence(7, 3);
    ck_assert_ptr_nonnull(m);
    tnn_layer *lstm = tnn_lstm_new(3, 5, 1);
    ck_assert_str_eq(tnn_layer_name(lstm), "lstm");
    ck_assert_int_eq(tnn_layer_kind(lstm), TNN_LAYER_LSTM);
    ck_assert_int_eq(tnn_layer_num_params(lstm), 4);
    ck_assert_int_eq(tnn_model_add(m, lstm), TNN_OK);
    ck_assert_uint_eq(tnn_layer_out_features(lstm), 35);
    /* The next LSTM takes (7, 5); one of 3 features cannot. */
    ck_assert_int_eq(tnn_model_add(m, tnn_lstm_new(3, 4, 0)), TNN_E_SHAPE);
    ck_assert_msg(strstr(tnn_last_error(), "(7, 5)"), "%s", tnn_last_error());
    tnn_layer *gru = tnn_gru_new(5, 4, 0);
    ck_assert_str_eq(tnn_layer_name(gru), "gru");
    ck_assert_int_eq(tnn_layer_kind(gru), TNN_LAYER_GRU);
    ck_assert_int_eq(tnn_model_add(m, gru), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(4, 2)), TNN_OK);
    char text[2048];
    ck_assert_int_eq(tnn_model_summary(m, text, sizeof text, NULL), TNN_OK);
    ck_assert_msg(strstr(text, "(None, 7, 3)") &&
                      strstr(text, "(None, 7, 5)") &&
                      strstr(text, "(None, 4)"),
                  "%s", text);
    /* 4 * 5 * (3 + 5 + 2) and 3 * 4 * (5 + 4 + 2) and 4 * 2 + 2. */
    ck_assert_uint_eq(tnn_model_num_params(m), 200 + 132 + 10);
    tnn_model_free(m);

    /* A dense layer takes a sequence after a flatten. */
    tnn_model *flat = tnn_model_new_sequence(4, 3);
    ck_assert_int_eq(tnn_model_add(flat, tnn_dense_new(12, 2)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(flat, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(flat, tnn_dense_new(12, 2)), TNN_OK);
    tnn_model_free(flat);
}
END_TEST

/* A sequence model without an LSTM goes to ONNX with a (batch, time,
 * features) input, its per-step softmax as Softmax over the last axis,
 * and comes back a sequence model predicting the same. */
START_TEST(sequence_model_onnx_round_trip)
{
    tnn_model *m = tnn_model_new_sequence(4, 3);
    ck_assert_int_eq(tnn_model_add(m, tnn_layernorm_new(3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(12, 2)), TNN_OK);
    size_t size = 0;
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, NULL, 0, &size), TNN_OK);
    unsigned char *image = malloc(size);
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, image, size, NULL), TNN_OK);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_onnx_buffer(image, size, &back), TNN_OK);
    char text[2048];
    ck_assert_int_eq(tnn_model_summary(back, text, sizeof text, NULL), TNN_OK);
    ck_assert_msg(strstr(text, "(None, 4, 3)"), "%s", text);
    tnn_rng *rng = tnn_rng_new(9);
    size_t dims[3] = {5, 4, 3};
    tnn_tensor *x = tnn_tensor_new(3, dims);
    tnn_tensor_rand_uniform(x, rng, -2.0f, 2.0f);
    tnn_tensor *p1 = tnn_tensor_new_2d(5, 2), *p2 = tnn_tensor_new_2d(5, 2);
    ck_assert_int_eq(tnn_model_predict(m, x, p1), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(back, x, p2), TNN_OK);
    for (size_t i = 0; i < 10; i++)
        ck_assert_float_eq_tol(tnn_tensor_data(p1)[i], tnn_tensor_data(p2)[i],
                               1e-6f);
    free(image);
    tnn_tensor_free(x);
    tnn_tensor_free(p1);
    tnn_tensor_free(p2);
    tnn_rng_free(rng);
    tnn_model_free(back);
    tnn_model_free(m);
}
END_TEST

/* On (time, features) samples a softmax normalises each step: two steps
 * of (0, ln 3) give (1/4, 3/4) each, whatever the other step holds. A
 * softmax over images cannot be written as ONNX's Softmax over the last
 * axis, which would normalise each image row. */
START_TEST(softmax_per_step)
{
    tnn_model *m = tnn_model_new_sequence(2, 2);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    const float l3 = logf(3.0f);
    float in[4] = {0.0f, l3, 5.0f, 5.0f + l3};
    tnn_tensor *x = tnn_tensor_new_2d(1, 4), *y = tnn_tensor_new_2d(1, 4);
    tnn_tensor_copy_from(x, in, 4);
    ck_assert_int_eq(tnn_model_predict(m, x, y), TNN_OK);
    const float want[4] = {0.25f, 0.75f, 0.25f, 0.75f};
    for (size_t i = 0; i < 4; i++)
        ck_assert_float_eq_tol(tnn_tensor_data(y)[i], want[i], 1e-6f);
    /* Cross-entropy over (time, classes) takes a class per step and
     * averages over the steps: classes 1 and 0 cost -ln(3/4) and
     * -ln(1/4); one of the two steps is right. Distributions per step
     * give the same. */
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    double loss = 0.0, accuracy = 0.0;
    tnn_tensor *ids = tnn_tensor_new_2d(1, 2);
    tnn_tensor_data(ids)[0] = 1.0f;
    ck_assert_int_eq(tnn_model_evaluate(m, x, ids, &loss, &accuracy), TNN_OK);
    const double want_loss = (log(4.0 / 3.0) + log(4.0)) / 2.0;
    ck_assert_double_eq_tol(loss, want_loss, 1e-6);
    ck_assert_double_eq_tol(accuracy, 0.5, 1e-12);
    const float dist[4] = {0.0f, 1.0f, 1.0f, 0.0f};
    tnn_tensor_copy_from(y, dist, 4);
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &accuracy), TNN_OK);
    ck_assert_double_eq_tol(loss, want_loss, 1e-6);
    /* A class per sample is no longer what the outputs hold. */
    size_t one_dim = 1;
    tnn_tensor *one = tnn_tensor_new(1, &one_dim);
    ck_assert_int_eq(tnn_model_evaluate(m, x, one, &loss, NULL), TNN_E_SHAPE);
    tnn_tensor_free(one);
    tnn_tensor_free(ids);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);

    tnn_model *img = tnn_model_new_image(1, 2, 2);
    ck_assert_int_eq(tnn_model_add(img, tnn_softmax_new()), TNN_OK);
    size_t size = 0;
    ck_assert_int_eq(tnn_model_save_onnx_buffer(img, NULL, 0, &size),
                     TNN_E_FORMAT);
    ck_assert_msg(strstr(tnn_last_error(), "softmax"), "%s", tnn_last_error());
    tnn_model_free(img);
}
END_TEST

/* Sequence models are format 8 whatever else they hold: a loss of 1.7
 * (format 5) does not lower it. */
START_TEST(sequence_model_files)
{
    for (int loss = 0; loss < 2; loss++) {
        tnn_model *m = tnn_model_new_sequence(3, 2);
        ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
        ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(6, 1)), TNN_OK);
        ck_assert_int_eq(
            tnn_model_set_loss(m, loss ? TNN_LOSS_HUBER : TNN_LOSS_MAE),
            TNN_OK);
        if (loss)
            ck_assert_int_eq(tnn_model_set_huber_delta(m, 0.5f), TNN_OK);
        size_t size = 0;
        ck_assert_int_eq(tnn_model_save_buffer(m, 0, NULL, 0, &size), TNN_OK);
        unsigned char *image = malloc(size);
        ck_assert_int_eq(tnn_model_save_buffer(m, 0, image, size, NULL),
                         TNN_OK);
        ck_assert_uint_eq((unsigned)image[8], 8);
        tnn_model *copy = NULL;
        ck_assert_int_eq(tnn_model_load_buffer(image, size, &copy), TNN_OK);
        char text[1024];
        ck_assert_int_eq(tnn_model_summary(copy, text, sizeof text, NULL),
                         TNN_OK);
        ck_assert_msg(strstr(text, "(None, 3, 2)"), "%s", text);
        ck_assert_float_eq(tnn_model_huber_delta(copy), loss ? 0.5f : 1.0f);
        free(image);
        tnn_model_free(copy);
        tnn_model_free(m);
    }
}
END_TEST

/* ---- training, files --------------------------------------------------- */

/* Sequences of 8 steps of 2 values in [-1, 1]; the class is the sign of
 * the first step's first value (at least 0.25 away from 0), which only a
 * state carried through the steps can tell at the last one. */
static void sign_task(size_t n, uint64_t seed, tnn_tensor **x, tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(seed);
    size_t dims[3] = {n, 8, 2};
    *x = tnn_tensor_new(3, dims);
    *y = tnn_tensor_new_2d(n, 2);
    tnn_tensor_rand_uniform(*x, rng, -1.0f, 1.0f);
    for (size_t r = 0; r < n; r++) {
        float *first = &tnn_tensor_data(*x)[r * 16];
        bool positive = *first > 0.0f;
        *first = (positive ? 0.25f : -0.25f) + 0.75f * *first;
        tnn_tensor_data(*y)[r * 2] = positive ? 0.0f : 1.0f;
        tnn_tensor_data(*y)[r * 2 + 1] = positive ? 1.0f : 0.0f;
    }
    tnn_rng_free(rng);
}

static tnn_model *sign_model(bool gru)
{
    tnn_model *m = tnn_model_new_sequence(8, 2);
    ck_assert_int_eq(
        tnn_model_add(m, gru ? tnn_gru_new(2, 12, 0) : tnn_lstm_new(2, 12, 0)),
        TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(12, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.02f)), TNN_OK);
    return m;
}

START_TEST(recurrent_layers_learn_what_came_first)
{
    tnn_tensor *x, *y, *xt, *yt;
    sign_task(1024, 1, &x, &y);
    sign_task(512, 2, &xt, &yt);
    tnn_model *m = sign_model(_i == 1);
    double loss0, acc0, loss, acc;
    ck_assert_int_eq(tnn_model_evaluate(m, xt, yt, &loss0, &acc0), TNN_OK);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 30, 32, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_evaluate(m, xt, yt, &loss, &acc), TNN_OK);
    ck_assert_msg(acc >= 0.95 && loss < 0.5 * loss0,
                  "accuracy %.3f (from %.3f), loss %.4f (from %.4f)", acc,
                  acc0, loss, loss0);

    /* A file holds the model (format 8), and its copy predicts the same
     * bits; so does the copy of a model saved with its optimizer, which
     * trains on as the original does. */
    size_t size = 0;
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, &size), TNN_OK);
    unsigned char *image = malloc(size);
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, image, size, NULL),
        TNN_OK);
    ck_assert_uint_eq((unsigned)image[8] | (unsigned)image[9] << 8, 8);
    tnn_model *copy = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &copy), TNN_OK);
    tnn_tensor *p1 = tnn_tensor_new_2d(512, 2),
               *p2 = tnn_tensor_new_2d(512, 2);
    ck_assert_int_eq(tnn_model_predict(m, xt, p1), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(copy, xt, p2), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(p1), tnn_tensor_data(p2),
                     512 * 2 * sizeof(float));
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 1, 32, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(copy, x, y, NULL, NULL, 1, 32, 1, NULL, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m, xt, p1), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(copy, xt, p2), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(p1), tnn_tensor_data(p2),
                     512 * 2 * sizeof(float));
    free(image);
    tnn_tensor_free(p1);
    tnn_tensor_free(p2);
    tnn_model_free(copy);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(xt);
    tnn_tensor_free(yt);
}
END_TEST

/* Every allocation of building, training, saving and loading a sequence
 * model may fail: each failure is reported, and nothing leaks. */
static tnn_model *recurrent_sweep_model(void)
{
    tnn_model *m = tnn_model_new_sequence(8, 2);
    if (!m)
        return NULL;
    int rc = sweep_add(m, tnn_lstm_new(2, 3, 1), TNN_OK);
    rc = sweep_add(m, tnn_gru_new(3, 4, 0), rc);
    tnn_optim *opt = rc == TNN_OK ? tnn_adam_new(0.01f) : NULL;
    rc = rc == TNN_OK ? (opt ? tnn_model_set_optim(m, opt) : TNN_E_NOMEM) : rc;
    rc = sweep_add(m, tnn_dense_new(4, 2), rc);
    if (rc != TNN_OK) {
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

START_TEST(recurrent_allocation_failures)
{
    tnn_tensor *x, *y;
    sign_task(24, 3, &x, &y);
    sweep_model_allocations(recurrent_sweep_model, x, y, 8);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- initial states: gradients, carrying, refusals ---------------------- */

/* sum(w * out) after an evaluation forward from the state (h0, c0). */
static double state_objective(tnn_layer *layer, const tnn_tensor *x,
                              tnn_tensor *y, tnn_tensor *w,
                              const tnn_tensor *h0, const tnn_tensor *c0)
{
    ck_assert_int_eq(tnn_recurrent_set_state(layer, h0, c0), TNN_OK);
    return objective(layer, x, y, w);
}

/* Central differences over every value of the state tensor t (h0 or c0)
 * against grad. */
static void check_state_values(const char *what, tnn_layer *layer,
                               const tnn_tensor *x, tnn_tensor *y,
                               tnn_tensor *w, tnn_tensor *h0, tnn_tensor *c0,
                               tnn_tensor *t, const float *grad)
{
    const float step = 1e-2f;
    for (size_t i = 0; i < tnn_tensor_size(t); i++) {
        float *v = &tnn_tensor_data(t)[i], keep = *v;
        *v = keep + step;
        double up = state_objective(layer, x, y, w, h0, c0);
        *v = keep - step;
        double down = state_objective(layer, x, y, w, h0, c0);
        *v = keep;
        double numeric = (up - down) / (2.0 * (double)step);
        ck_assert_msg(fabs(numeric - grad[i]) <= 2e-3 * (1.0 + fabs(numeric)),
                      "%s gradient [%zu]: %.6g analytic, %.6g numeric", what,
                      i, (double)grad[i], numeric);
    }
}

static void state_gradient_check(int gru, int shared, int rs)
{
    const size_t f = 3, h = 4, time = 4, rows = 3;
    tnn_rng *rng = tnn_rng_new(77);
    tnn_layer *rnn = gru ? tnn_gru_new(f, h, rs) : tnn_lstm_new(f, h, rs);
    for (int p = 0; p < 4; p++)
        tnn_tensor_rand_uniform(tnn_layer_param(rnn, p), rng, -0.8f, 0.8f);
    size_t dims[3] = {rows, time, f};
    tnn_tensor *x = tnn_tensor_new(3, dims), *din = tnn_tensor_new(3, dims);
    tnn_tensor_rand_uniform(x, rng, -1.5f, 1.5f);
    size_t width = rs ? time * h : h;
    tnn_tensor *y = tnn_tensor_new_2d(rows, width);
    tnn_tensor *w = tnn_tensor_new_2d(rows, width);
    tnn_tensor_rand_uniform(w, rng, -1.0f, 1.0f);
    tnn_tensor *h0 = state_tensor(rows, h, shared);
    tnn_tensor *c0 = gru ? NULL : state_tensor(rows, h, shared);
    tnn_tensor *dh0 = state_tensor(rows, h, shared);
    tnn_tensor *dc0 = gru ? NULL : state_tensor(rows, h, shared);
    tnn_tensor_rand_uniform(h0, rng, -1.0f, 1.0f);
    if (c0)
        tnn_tensor_rand_uniform(c0, rng, -2.0f, 2.0f);
    ck_assert_int_eq(tnn_recurrent_set_state(rnn, h0, c0), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(rnn, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    tnn_layer_zero_grad(rnn);
    ck_assert_int_eq(tnn_layer_backward(rnn, x, y, w, din), TNN_OK);
    ck_assert_int_eq(tnn_recurrent_state_grad(rnn, dh0, dc0), TNN_OK);
    tnn_tensor *dw_hh = tnn_tensor_clone(tnn_layer_grad(rnn, 1));
    check_state_values("h0", rnn, x, y, w, h0, c0, h0, tnn_tensor_data(dh0));
    if (c0)
        check_state_values("c0", rnn, x, y, w, h0, c0, c0,
                           tnn_tensor_data(dc0));
    /* weight_hh's gradient includes the first step's product with h0. */
    ck_assert_int_eq(tnn_recurrent_set_state(rnn, h0, c0), TNN_OK);
    check_values("weight_hh", rnn, x, y, w, tnn_layer_param(rnn, 1),
                 tnn_tensor_data(dw_hh));
    TENSORS_FREE(x, din, y, w, h0, c0, dh0, dc0, dw_hh);
    tnn_layer_free(rnn);
    tnn_rng_free(rng);
}

START_TEST(recurrent_state_gradients)
{
    for (int gru = 0; gru < 2; gru++)
        for (int shared = 0; shared < 2; shared++)
            state_gradient_check(gru, shared, shared ? 0 : 1);
}
END_TEST

/* Steps time0 .. time0 + time of x (rows, 2 time, f) as their own tensor. */
static tnn_tensor *window(tnn_tensor *x, size_t rows, size_t f, size_t time0,
                          size_t time)
{
    size_t dims[3] = {rows, time, f};
    tnn_tensor *part = tnn_tensor_new(3, dims);
    for (size_t r = 0; r < rows; r++)
        memcpy(tnn_tensor_data(part) + r * time * f,
               tnn_tensor_data(x) + (r * 2 * time + time0) * f,
               time * f * sizeof(float));
    return part;
}

/* A sequence of 2T steps run at once, or as two windows of T with the
 * final state of the first (per row) as the start of the second, gives
 * the same states; a state shared by all rows gives what the same state
 * repeated per row gives. */
START_TEST(recurrent_state_carries)
{
    const int gru = _i;
    const size_t f = 3, h = 5, time = 6, rows = 4;
    tnn_rng *rng = tnn_rng_new(5);
    tnn_layer *whole = gru ? tnn_gru_new(f, h, 1) : tnn_lstm_new(f, h, 1);
    tnn_layer *half = gru ? tnn_gru_new(f, h, 1) : tnn_lstm_new(f, h, 1);
    for (int p = 0; p < 4; p++) {
        tnn_tensor_rand_uniform(tnn_layer_param(whole, p), rng, -0.6f, 0.6f);
        tnn_tensor_copy_from(tnn_layer_param(half, p),
                             tnn_tensor_data(tnn_layer_param(whole, p)),
                             tnn_tensor_size(tnn_layer_param(whole, p)));
    }
    size_t dims[3] = {rows, 2 * time, f};
    tnn_tensor *x = tnn_tensor_new(3, dims);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor *first = window(x, rows, f, 0, time);
    tnn_tensor *second = window(x, rows, f, time, time);
    tnn_tensor *y = tnn_tensor_new_2d(rows, 2 * time * h);
    tnn_tensor *y1 = tnn_tensor_new_2d(rows, time * h);
    tnn_tensor *y2 = tnn_tensor_new_2d(rows, time * h);
    tnn_tensor *hn = tnn_tensor_new_2d(rows, h);
    tnn_tensor *cn = gru ? NULL : tnn_tensor_new_2d(rows, h);
    ck_assert_int_eq(tnn_layer_forward(whole, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(half, first, y1, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_recurrent_state(half, hn, cn), TNN_OK);
    ck_assert_int_eq(tnn_recurrent_set_state(half, hn, cn), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(half, second, y2, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < time * h; i++) {
            float a = tnn_tensor_data(y)[r * 2 * time * h + time * h + i];
            float b = tnn_tensor_data(y2)[r * time * h + i];
            ck_assert_msg(fabsf(a - b) <= 1e-6f, "row %zu [%zu]: %.9g, %.9g",
                          r, i, (double)a, (double)b);
        }
    /* Shared against repeated. */
    size_t one[1] = {h};
    tnn_tensor *h_shared = tnn_tensor_new(1, one);
    tnn_tensor *c_shared = gru ? NULL : tnn_tensor_new(1, one);
    tnn_tensor_rand_uniform(h_shared, rng, -1.0f, 1.0f);
    if (c_shared)
        tnn_tensor_rand_uniform(c_shared, rng, -1.0f, 1.0f);
    for (size_t r = 0; r < rows; r++) {
        memcpy(tnn_tensor_data(hn) + r * h, tnn_tensor_data(h_shared),
               h * sizeof(float));
        if (cn)
            memcpy(tnn_tensor_data(cn) + r * h, tnn_tensor_data(c_shared),
                   h * sizeof(float));
    }
    ck_assert_int_eq(tnn_recurrent_set_state(half, h_shared, c_shared),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(half, first, y1, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_recurrent_set_state(half, hn, cn), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(half, first, y2, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    for (size_t i = 0; i < rows * time * h; i++)
        ck_assert(fabsf(tnn_tensor_data(y1)[i] - tnn_tensor_data(y2)[i]) <=
                  1e-6f);
    /* Back to zeros: the whole sequence's first window again. */
    ck_assert_int_eq(tnn_recurrent_set_state(half, NULL, NULL), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(half, first, y1, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    for (size_t r = 0; r < rows; r++)
        ck_assert_mem_eq(tnn_tensor_data(y1) + r * time * h,
                         tnn_tensor_data(y) + r * 2 * time * h,
                         time * h * sizeof(float));
    TENSORS_FREE(x, first, second, y, y1, y2, hn, cn, h_shared, c_shared);
    tnn_layer_free(whole);
    tnn_layer_free(half);
    tnn_rng_free(rng);
}
END_TEST

/* What a per-row state refuses, in a layer and in a model, and what the
 * functions refuse. */
START_TEST(recurrent_state_refusals)
{
    tnn_layer *lstm = tnn_lstm_new(2, 3, 0);
    tnn_tensor *h3 = tnn_tensor_new_2d(3, 3), *h2 = tnn_tensor_new_2d(2, 3);
    tnn_tensor *wide = tnn_tensor_new_2d(3, 4);
    size_t dims[3] = {2, 4, 2};
    tnn_tensor *x = tnn_tensor_new(3, dims), *y = tnn_tensor_new_2d(2, 3);
    tnn_tensor_fill(x, 0.5f);
    ck_assert_int_eq(tnn_recurrent_state(lstm, h2, NULL), TNN_E_STATE);
    ck_assert_int_eq(tnn_recurrent_state_grad(lstm, h2, NULL), TNN_E_STATE);
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, wide, NULL), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, h3, h2), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, h3, NULL), TNN_OK);
    /* 3 rows of state, a pass of 2. */
    ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_E_SHAPE);
    ck_assert_ptr_nonnull(
        strstr(tnn_last_error(), "initial state has 3 rows"));
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, h2, h2), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(lstm, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_recurrent_state(lstm, h3, NULL), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_recurrent_state(lstm, NULL, NULL), TNN_E_INVALID);
    /* No backward since the state was set. */
    ck_assert_int_eq(tnn_recurrent_state_grad(lstm, h2, NULL), TNN_E_STATE);
    /* Setting a state drops the pending backward. */
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, h2, NULL), TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(lstm, x, y, y, NULL), TNN_E_STATE);
    tnn_layer *gru = tnn_gru_new(2, 3, 0), *dense = tnn_dense_new(2, 3);
    ck_assert_int_eq(tnn_recurrent_set_state(gru, h2, h2), TNN_E_INVALID);
    ck_assert_int_eq(tnn_recurrent_set_state(dense, h2, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_recurrent_set_state(NULL, h2, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_recurrent_state(dense, h2, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_recurrent_state_grad(gru, h2, h2), TNN_E_INVALID);
    tnn_layer_free(dense);
    tnn_layer_free(lstm);

    /* In a model: passes of the state's rows only, fit refused, ONNX too. */
    tnn_model *m = tnn_model_new_sequence(4, 2);
    ck_assert_int_eq(tnn_model_add(m, gru), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    ck_assert_int_eq(tnn_recurrent_set_state(gru, h3, NULL), TNN_OK);
    tnn_tensor *target = tnn_tensor_new_2d(2, 2),
               *out = tnn_tensor_new_2d(2, 2);
    tnn_tensor_fill(target, 0.25f);
    double loss = 0.0;
    ck_assert_int_eq(tnn_model_train_batch(m, x, target, &loss), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_recurrent_set_state(gru, h2, NULL), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(m, x, target, NULL, NULL, 1, 2, 0, NULL, NULL),
        TNN_E_STATE);
    ck_assert_int_eq(tnn_model_train_batch(m, x, target, &loss), TNN_OK);
    ck_assert_int_eq(tnn_recurrent_state_grad(gru, h2, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_OK);
    ck_assert_int_eq(tnn_model_save_onnx(m, "/nonexistent/never.onnx"),
                     TNN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "initial state"));
    /* A shared state suits every pass, fit included. */
    size_t one[1] = {3};
    tnn_tensor *shared = tnn_tensor_new(1, one);
    tnn_tensor_fill(shared, 0.1f);
    ck_assert_int_eq(tnn_recurrent_set_state(gru, shared, NULL), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(m, x, target, NULL, NULL, 1, 1, 0, NULL, NULL), TNN_OK);
    TENSORS_FREE(h3, h2, wide, x, y, target, out, shared);
    tnn_model_free(m);
}
END_TEST

/* A per-row state in a residual block, in chunked and sharded passes;
 * what later passes and state changes do to pending backwards and to the
 * state's gradients; a c0-only state. */
START_TEST(recurrent_state_in_models)
{
    const size_t rows = 300, h = 3;
    tnn_model *m = tnn_model_new_sequence(4, 2);
    tnn_layer *block = tnn_residual_new(), *gru = tnn_gru_new(2, 2, 1);
    ck_assert_int_eq(tnn_residual_add(block, gru), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, block), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    size_t dims[3] = {rows, 4, 2};
    tnn_tensor *x = tnn_tensor_new(3, dims);
    tnn_tensor *target = tnn_tensor_new_2d(rows, 2);
    tnn_tensor *out = tnn_tensor_new_2d(rows, 2);
    tnn_tensor *h300 = tnn_tensor_new_2d(rows, 2);
    tnn_tensor_fill(x, 0.5f);
    tnn_tensor_fill(h300, 0.25f);
    ck_assert_int_eq(tnn_recurrent_set_state(gru, h300, NULL), TNN_OK);
    /* 300 rows would run as chunks of 256 and 44: refused, out untouched. */
    tnn_tensor_fill(out, 7.0f);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "in one pass"));
    ck_assert(tnn_tensor_data(out)[0] == 7.0f);
    double loss = 0.0, accuracy = 0.0;
    ck_assert_int_eq(tnn_model_evaluate(m, x, target, &loss, &accuracy),
                     TNN_E_SHAPE);
    /* A batch of 300 reserves 300 rows: then one pass holds them. */
    ck_assert_int_eq(tnn_model_compute_gradients(m, x, target, &loss), TNN_OK);
    tnn_tensor *dh0 = tnn_tensor_new_2d(rows, 2);
    ck_assert_int_eq(tnn_recurrent_state_grad(gru, dh0, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_OK);
    ck_assert_int_eq(tnn_model_evaluate(m, x, target, &loss, &accuracy),
                     TNN_OK);
    /* A forward since the backward: no gradient to give. */
    ck_assert_int_eq(tnn_recurrent_state_grad(gru, dh0, NULL), TNN_E_STATE);
    /* Replicas sharing a batch cannot split per-row states. */
    ck_assert_int_eq(tnn_model_set_shard(m, 0, 2), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_E_STATE);
    ck_assert_int_eq(tnn_model_set_shard(m, 0, 1), TNN_OK);
    /* Setting the state drops the block's pending backward too. */
    tnn_tensor *x2 = tnn_tensor_new(3, (size_t[]){2, 4, 2});
    tnn_tensor *y2 = tnn_tensor_new(3, (size_t[]){2, 4, 2});
    tnn_tensor_fill(x2, 0.5f);
    tnn_tensor *h2 = tnn_tensor_new_2d(2, 2);
    ck_assert_int_eq(tnn_recurrent_set_state(gru, h2, NULL), TNN_OK);
    tnn_layer_free(tnn_model_pop(m));
    tnn_layer_free(tnn_model_pop(m));
    ck_assert_ptr_eq(tnn_model_pop(m), block);
    tnn_rng *rng = tnn_rng_new(1);
    ck_assert_msg(tnn_layer_forward(block, x2, y2, TNN_MODE_TRAIN, rng) ==
                      TNN_OK,
                  "%s", tnn_last_error());
    tnn_rng_free(rng);
    tnn_tensor *h1 = tnn_tensor_new_2d(1, 2);
    ck_assert_int_eq(tnn_recurrent_set_state(gru, h1, NULL), TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(block, x2, y2, y2, NULL), TNN_E_STATE);
    /* A c0 alone: zero hidden states, those cells. */
    tnn_layer *lstm = tnn_lstm_new(2, h, 0);
    tnn_tensor *c0 = tnn_tensor_new(1, (size_t[]){h});
    tnn_tensor *yl = tnn_tensor_new_2d(2, h), *yz = tnn_tensor_new_2d(2, h);
    ck_assert_int_eq(tnn_layer_forward(lstm, x2, yz, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    tnn_tensor_fill(c0, 0.0f);
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, NULL, c0), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(lstm, x2, yl, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(yl), tnn_tensor_data(yz),
                     2 * h * sizeof(float));
    tnn_tensor_fill(c0, 2.0f);
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, NULL, c0), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(lstm, x2, yl, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert(tnn_tensor_data(yl)[0] != tnn_tensor_data(yz)[0]);
    TENSORS_FREE(x, target, out, h300, dh0, x2, y2, h2, h1, c0, yl, yz);
    tnn_layer_free(lstm);
    tnn_layer_free(block);
    tnn_model_free(m);
}
END_TEST

/* Every allocation of setting a state may fail: the layer keeps its old
 * state, and nothing leaks. */
START_TEST(recurrent_state_allocation_failures)
{
    tnn_layer *lstm = tnn_lstm_new(2, 3, 1);
    tnn_tensor *h2 = tnn_tensor_new_2d(2, 3), *c2 = tnn_tensor_new_2d(2, 3);
    ck_assert_int_eq(tnn_recurrent_set_state(lstm, h2, NULL), TNN_OK);
    struct counting_allocator a;
    bool done = false;
    for (long fail_at = 1; !done && fail_at < 20; fail_at++) {
        counting_install(&a, fail_at);
        int rc = tnn_recurrent_set_state(lstm, h2, c2);
        counting_remove();
        if (rc == TNN_OK) {
            done = true;
            ck_assert_int_eq(a.live,
                             1); /* c0 in, h0 and the product replaced */
        } else {
            ck_assert_int_eq(rc, TNN_E_NOMEM);
            ck_assert_int_eq(a.live, 0);
        }
    }
    ck_assert(done);
    tnn_tensor_free(h2);
    tnn_tensor_free(c2);
    tnn_layer_free(lstm);
}
END_TEST

Suite *seq_suite(void)
{
    Suite *s = suite_create("seq");
    TCase *tc = tcase_create("lstm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, recurrent_layers_match_pytorch);
    tcase_add_test(tc, recurrent_state_matches_pytorch);
    tcase_add_test(tc, recurrent_state_gradients);
    tcase_add_loop_test(tc, recurrent_state_carries, 0, 2);
    tcase_add_test(tc, recurrent_state_refusals);
    tcase_add_test(tc, recurrent_state_in_models);
    tcase_add_test(tc, recurrent_state_allocation_failures);
    tcase_add_test(tc, recurrent_gradients);
    tcase_add_loop_test(tc, recurrent_backward_accumulates, 0, 2);
    tcase_add_test(tc, sequence_model_shapes);
    tcase_add_test(tc, sequence_model_onnx_round_trip);
    tcase_add_test(tc, softmax_per_step);
    tcase_add_test(tc, sequence_model_files);
    tcase_add_loop_test(tc, recurrent_layers_learn_what_came_first, 0, 2);
    tcase_add_test(tc, recurrent_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
