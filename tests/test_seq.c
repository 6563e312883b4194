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
    static const char *const grads[] = {
        "weight_ih gradient", "weight_hh gradient", "bias_ih gradient",
        "bias_hh gradient"};
    for (int p = 0; p < 4; p++) {
        tnn_tensor *g = tnn_layer_grad(lstm, p);
        assert_close(name, grads[p], tnn_tensor_data(g), &at,
                     tnn_tensor_size(g));
    }
    while (*at == ' ' || *at == '\n')
        at++;
    ck_assert_msg(*at == '\0', "%s: values left over", name);
    tnn_tensor_free(x);
    tnn_tensor_free(din);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_layer_free(lstm);
}

START_TEST(recurrent_layers_match_pytorch)
{
    FILE *f = fopen(TNN_TEST_DATA_DIR "/recurrent-pytorch.txt", "r");
    ck_assert_ptr_nonnull(f);
    static char line[1 << 18];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_msg(strchr(line, '\n'), "line too long");
        check_case(line);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 8);
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

Suite *seq_suite(void)
{
    Suite *s = suite_create("seq");
    TCase *tc = tcase_create("lstm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, recurrent_layers_match_pytorch);
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
