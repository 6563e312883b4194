/*
 * Layers run alone: gradients against central finite differences of the
 * layer's own output (sums in double), and hand-computed values.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "golden.h"
#include "testutil.h"

#define FD_STEP 1e-2

/* The test objective L = sum_i out_i * weight_i, so dL/dout = weight. */
static double objective(tnn_layer *layer, tnn_tensor *in, tnn_tensor *out,
                        const tnn_tensor *weight, tnn_rng *rng)
{
    /* Reseeding gives dropout the same mask on every evaluation. */
    tnn_rng_seed(rng, 1234);
    ck_assert_int_eq(tnn_layer_forward(layer, in, out, TNN_MODE_TRAIN, rng),
                     TNN_OK);
    double sum = 0.0;
    for (size_t i = 0; i < tnn_tensor_size(out); i++)
        sum += (double)tnn_tensor_data(out)[i] *
               (double)tnn_tensor_cdata(weight)[i];
    return sum;
}

/* Relative error between analytic and numeric gradients of one tensor,
 * ||a - n|| / max(||a||, ||n||, 1e-6). */
static double relative_error(const float *analytic, const double *numeric,
                             size_t n)
{
    double diff = 0.0, na = 0.0, nn = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = analytic[i] - numeric[i];
        diff += d * d;
        na += (double)analytic[i] * analytic[i];
        nn += numeric[i] * numeric[i];
    }
    double scale = fmax(fmax(sqrt(na), sqrt(nn)), 1e-6);
    return sqrt(diff) / scale;
}

/* Central differences of the objective with respect to every element of
 * values (the input or a parameter), compared with analytic. */
static void check_tensor_gradient(const char *what, tnn_layer *layer,
                                  tnn_tensor *in, tnn_tensor *out,
                                  const tnn_tensor *weight, tnn_rng *rng,
                                  tnn_tensor *values, const float *analytic,
                                  double tolerance)
{
    size_t n = tnn_tensor_size(values);
    double *numeric = calloc(n, sizeof *numeric);
    float *v = tnn_tensor_data(values);
    for (size_t i = 0; i < n; i++) {
        float saved = v[i];
        v[i] = (float)(saved + FD_STEP);
        double plus = objective(layer, in, out, weight, rng);
        v[i] = (float)(saved - FD_STEP);
        double minus = objective(layer, in, out, weight, rng);
        v[i] = saved;
        numeric[i] = (plus - minus) / (2.0 * FD_STEP);
    }
    double err = relative_error(analytic, numeric, n);
    ck_assert_msg(err < tolerance, "%s: %s gradient relative error %g",
                  tnn_layer_name(layer), what, err);
    free(numeric);
}

/* Full check of a layer on an input of the given shape (rows first):
 * input gradient and every parameter gradient. Inputs are kept away from 0
 * by at least `margin` so that ReLU's kink is never inside a difference
 * step. */
static void gradient_check_shape(tnn_layer *layer, int ndim,
                                 const size_t *dims, double margin,
                                 double tolerance, bool free_layer)
{
    size_t rows = dims[0], width = 1;
    for (int d = 1; d < ndim; d++)
        width *= dims[d];
    tnn_rng *rng = tnn_rng_new(77);
    tnn_layer_init(layer, rng);
    tnn_tensor *in = tnn_tensor_new(ndim, dims);
    tnn_tensor_rand_uniform(in, rng, -1.0f, 1.0f);
    for (size_t i = 0; i < tnn_tensor_size(in); i++) {
        float *x = &tnn_tensor_data(in)[i];
        if (fabsf(*x) < margin)
            *x = *x < 0 ? (float)-margin : (float)margin;
    }
    /* A negative margin asks for values at least 0.05 apart (a shuffled
     * grid), so that no difference step changes which one is largest. */
    if (margin < 0) {
        size_t count = tnn_tensor_size(in);
        float *x = tnn_tensor_data(in);
        for (size_t i = 0; i < count; i++)
            x[i] = 0.05f * (float)i - 0.025f * (float)count;
        for (size_t i = count; i > 1; i--) {
            size_t j = tnn_rng_next_u64(rng) % i;
            float t = x[i - 1];
            x[i - 1] = x[j];
            x[j] = t;
        }
    }
    /* Non-trivial parameters, so that e.g. gamma != 1 is exercised. */
    for (int p = 0; p < tnn_layer_num_params(layer); p++)
        tnn_tensor_rand_uniform(tnn_layer_param(layer, p), rng, 0.5f, 1.5f);
    size_t fixed_width = tnn_layer_out_features(layer);
    ck_assert_int_eq(tnn_layer_forward(layer, in, NULL, TNN_MODE_TRAIN, rng),
                     TNN_E_INVALID);
    /* A failed call binds nothing: width-taking layers stay unbound. */
    ck_assert_uint_eq(tnn_layer_out_features(layer), fixed_width);
    size_t out_width = fixed_width ? fixed_width : width;
    tnn_tensor *out = tnn_tensor_new_2d(rows, out_width);
    tnn_tensor *weight = tnn_tensor_new_2d(rows, out_width);
    tnn_tensor *din = tnn_tensor_new(ndim, dims);
    tnn_tensor_rand_uniform(weight, rng, -1.0f, 1.0f);

    objective(layer, in, out, weight, rng);
    tnn_layer_zero_grad(layer);
    ck_assert_int_eq(tnn_layer_backward(layer, in, out, weight, din), TNN_OK);
    float *din_copy = malloc(tnn_tensor_size(din) * sizeof(float));
    tnn_tensor_copy_to(din, din_copy, tnn_tensor_size(din));
    check_tensor_gradient("input", layer, in, out, weight, rng, in, din_copy,
                          tolerance);
    for (int p = 0; p < tnn_layer_num_params(layer); p++) {
        tnn_tensor *g = tnn_tensor_clone(tnn_layer_grad(layer, p));
        check_tensor_gradient("parameter", layer, in, out, weight, rng,
                              tnn_layer_param(layer, p), tnn_tensor_data(g),
                              tolerance);
        tnn_tensor_free(g);
    }
    free(din_copy);
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    tnn_tensor_free(weight);
    tnn_tensor_free(din);
    tnn_rng_free(rng);
    if (free_layer)
        tnn_layer_free(layer);
}

static void gradient_check(tnn_layer *layer, size_t rows, size_t width,
                           double margin, double tolerance)
{
    size_t dims[2] = {rows, width};
    gradient_check_shape(layer, 2, dims, margin, tolerance, true);
}

/* Image layers learn their output shape from their input: a model binds
 * the layer first, and the check runs on the bound layer. */
static void gradient_check_image(tnn_layer *layer, size_t n, size_t c,
                                 size_t h, size_t w, double tolerance)
{
    size_t dims[4] = {n, c, h, w};
    tnn_model *m = tnn_model_new_image(c, h, w);
    ck_assert_int_eq(tnn_model_add(m, layer), TNN_OK);
    double margin = tnn_layer_kind(layer) == TNN_LAYER_MAXPOOL2D ? -1.0 : 0.0;
    gradient_check_shape(tnn_model_layer(m, 0), 4, dims, margin, tolerance,
                         false);
    tnn_model_free(m);
}

START_TEST(dense_gradients)
{
    gradient_check(tnn_dense_new(5, 3), 4, 5, 0.0, 1e-3);
}
END_TEST

START_TEST(activation_gradients)
{
    gradient_check(tnn_relu_new(), 3, 6, 0.05, 1e-3);
    gradient_check(tnn_sigmoid_new(), 3, 6, 0.0, 1e-3);
    gradient_check(tnn_tanh_new(), 3, 6, 0.0, 1e-3);
    gradient_check(tnn_identity_new(), 3, 6, 0.0, 1e-3);
    gradient_check(tnn_softmax_new(), 3, 6, 0.0, 1e-3);
    gradient_check(tnn_leaky_relu_new(0.1f), 3, 6, 0.05, 1e-3);
    gradient_check(tnn_leaky_relu_new(-0.5f), 3, 6, 0.05, 1e-3);
    gradient_check(tnn_leaky_relu_new(0.0f), 3, 6, 0.05, 1e-3);
}
END_TEST

START_TEST(dropout_gradients_fixed_mask)
{
    gradient_check(tnn_dropout_new(0.4f), 5, 8, 0.0, 1e-3);
}
END_TEST

START_TEST(batchnorm_gradients_training)
{
    gradient_check(tnn_batchnorm_new(4), 6, 4, 0.0, 2e-3);
}
END_TEST

START_TEST(dense_forward_by_hand)
{
    tnn_layer *dense = tnn_dense_new(2, 3);
    const float w[6] = {1, 2, 3, 4, 5, 6}; /* W[i][j], i input, j output */
    const float b[3] = {0.5f, -1, 0};
    tnn_tensor_copy_from(tnn_layer_param(dense, 0), w, 6);
    tnn_tensor_copy_from(tnn_layer_param(dense, 1), b, 3);
    tnn_tensor *x = tnn_tensor_new_2d(2, 2);
    const float xv[4] = {1, -1, 2, 0.5f};
    tnn_tensor_copy_from(x, xv, 4);
    tnn_tensor *y = tnn_tensor_new_2d(2, 3);
    ck_assert_int_eq(tnn_layer_forward(dense, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    /* Row 0: (1*1 - 1*4, 1*2 - 1*5, 1*3 - 1*6) + b = (-2.5, -4, -3);
     * row 1: (2 + 2, 4 + 2.5, 6 + 3) + b = (4.5, 5.5, 9). */
    const float want[6] = {-2.5f, -4, -3, 4.5f, 5.5f, 9};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(tnn_tensor_data(y)[i], want[i], 1e-6f);
    /* Eval forward leaves nothing for backward. */
    ck_assert_int_eq(tnn_layer_backward(dense, x, y, y, NULL), TNN_E_STATE);
    assert_failed_with(TNN_E_STATE, "tnn_layer_backward");
    /* Backward of another batch size than the last forward's. */
    ck_assert_int_eq(tnn_layer_forward(dense, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    tnn_tensor *x1 = tnn_tensor_new_2d(1, 2), *y1 = tnn_tensor_new_2d(1, 3);
    ck_assert_int_eq(tnn_layer_backward(dense, x1, y1, y1, NULL), TNN_E_STATE);
    tnn_tensor_free(x1);
    tnn_tensor_free(y1);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(dense);
}
END_TEST

/* Whether two floats have the same bits (tells -0 from +0, and a NaN
 * from another NaN). */
static bool same_bits(float a, float b)
{
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    return ua == ub;
}

/* db += the column sums of dy (rows x width, width at most 64) in the
 * order docs/abi.md gives for a dense layer's bias gradient since 1.12.4:
 * from 131,072 values in chunks of ceil(rows / 16) rows, each summed
 * from zero row by row, the chunks' sums added in order; below that row
 * by row. */
static void bias_sums_in_order(const float *dy, size_t rows, size_t width,
                               float *db)
{
    size_t chunk = rows * width < 131072 ? rows : (rows + 15) / 16;
    float part[64];
    for (size_t first = 0; first < rows; first += chunk) {
        size_t last = rows - first < chunk ? rows : first + chunk;
        for (size_t j = 0; j < width; j++)
            part[j] = chunk == rows ? db[j] : 0.0f;
        for (size_t r = first; r < last; r++)
            for (size_t j = 0; j < width; j++)
                part[j] += dy[r * width + j];
        for (size_t j = 0; j < width; j++)
            db[j] = chunk == rows ? part[j] : db[j] + part[j];
    }
}

/* The bias gradient of long batches (lib/dense.c): rows below the
 * chunked sums, at their first size, filling the chunks and leaving the
 * last one short; the same bits as bias_sums_in_order() on 1 and 3
 * threads, and within float rounding of sums in double. Two backward
 * calls add twice, so that chunk sums left from the first call show. */
START_TEST(dense_bias_gradient_of_long_batches)
{
    const size_t width = 64, rows_of[] = {2047, 2048, 4096, 4100};
    const int thread_counts[] = {1, 3};
    int saved = tnn_get_num_threads();
    tnn_rng *rng = tnn_rng_new(21);
    for (size_t t = 0; t < 2 * sizeof rows_of / sizeof *rows_of; t++) {
        const size_t rows = rows_of[t / 2];
        ck_assert_int_eq(tnn_set_num_threads(thread_counts[t % 2]), TNN_OK);
        tnn_layer *dense = tnn_dense_new(width, width);
        tnn_tensor *x = tnn_tensor_new_2d(rows, width);
        tnn_tensor *y = tnn_tensor_new_2d(rows, width);
        tnn_tensor *dy = tnn_tensor_new_2d(rows, width);
        tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
        tnn_tensor_rand_uniform(dy, rng, -1.0f, 1.0f);
        /* Some rows large, so that the order of the float sums shows. */
        for (size_t r = 0; r < rows; r += 97)
            for (size_t j = 0; j < width; j++)
                tnn_tensor_data(dy)[r * width + j] *= 1000.0f;
        ck_assert_int_eq(tnn_layer_forward(dense, x, y, TNN_MODE_TRAIN, rng),
                         TNN_OK);
        float want[64];
        for (size_t j = 0; j < width; j++)
            want[j] = 0.5f;
        tnn_tensor_fill(tnn_layer_grad(dense, 1), 0.5f);
        const float *db = tnn_tensor_data(tnn_layer_grad(dense, 1));
        for (int call = 0; call < 2; call++) {
            ck_assert_int_eq(tnn_layer_backward(dense, x, y, dy, NULL),
                             TNN_OK);
            bias_sums_in_order(tnn_tensor_data(dy), rows, width, want);
            for (size_t j = 0; j < width; j++) {
                double sum = 0.5, size = 0.5;
                for (size_t r = 0; r < rows; r++) {
                    double v = tnn_tensor_data(dy)[r * width + j];
                    sum += (call + 1) * v;
                    size += (call + 1) * fabs(v);
                }
                ck_assert_msg(same_bits(db[j], want[j]),
                              "rows %zu, call %d: db[%zu] is %.9g, expected "
                              "%.9g",
                              rows, call, j, (double)db[j], (double)want[j]);
                ck_assert_msg(fabs(db[j] - sum) <= 1e-5 * size,
                              "rows %zu: db[%zu] is %.9g, the sum %.9g", rows,
                              j, (double)db[j], sum);
            }
        }
        tnn_tensor_free(x);
        tnn_tensor_free(y);
        tnn_tensor_free(dy);
        tnn_layer_free(dense);
    }
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
    tnn_rng_free(rng);
}
END_TEST

START_TEST(softmax_rows_sum_to_one)
{
    tnn_layer *sm = tnn_softmax_new();
    tnn_tensor *x = tnn_tensor_new_2d(2, 3);
    const float xv[6] = {1000, 1000, 1000, 0, 1, 2};
    tnn_tensor_copy_from(x, xv, 6);
    tnn_tensor *y = tnn_tensor_new_2d(2, 3);
    ck_assert_int_eq(tnn_layer_forward(sm, x, y, TNN_MODE_EVAL, NULL), TNN_OK);
    const float *p = tnn_tensor_cdata(y);
    for (int j = 0; j < 3; j++)
        ck_assert_float_eq_tol(p[j], 1.0f / 3.0f, 1e-6f);
    double e0 = 1, e1 = exp(1.0), e2 = exp(2.0), s = e0 + e1 + e2;
    ck_assert_float_eq_tol(p[3], (float)(e0 / s), 1e-6f);
    ck_assert_float_eq_tol(p[5], (float)(e2 / s), 1e-6f);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(sm);
}
END_TEST

START_TEST(dropout_modes)
{
    tnn_layer *drop = tnn_dropout_new(0.25f);
    tnn_rng *rng = tnn_rng_new(5);
    tnn_tensor *x = tnn_tensor_new_2d(200, 100);
    tnn_tensor *y = tnn_tensor_new_2d(200, 100);
    tnn_tensor_fill(x, 2.0f);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(x), tnn_tensor_data(y), 20000 * 4);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y, TNN_MODE_TRAIN, rng),
                     TNN_OK);
    size_t kept = 0;
    for (size_t i = 0; i < 20000; i++) {
        float v = tnn_tensor_data(y)[i];
        ck_assert(v == 0.0f || fabsf(v - 2.0f / 0.75f) < 1e-6f);
        kept += v != 0.0f;
    }
    /* 15000 expected, standard deviation 61. */
    ck_assert_uint_ge(kept, 14700);
    ck_assert_uint_le(kept, 15300);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
    tnn_layer_free(drop);
}
END_TEST

/* The mask, element by element, is the documented use of the generator:
 * element 2k is kept when the low 32 bits of draw k reach rate * 2^32,
 * element 2k + 1 when the high 32 bits do; an odd count leaves the last
 * draw's high half unused. */
START_TEST(dropout_mask_follows_generator)
{
    enum { ROWS = 7, COLS = 3, COUNT = ROWS * COLS };
    const float rate = 0.3f, scale = 1.0f / (1.0f - 0.3f);
    const uint64_t threshold = (uint64_t)((double)rate * 4294967296.0);
    tnn_layer *drop = tnn_dropout_new(rate);
    tnn_rng *rng = tnn_rng_new(77), *ref = tnn_rng_new(77);
    tnn_tensor *x = tnn_tensor_new_2d(ROWS, COLS);
    tnn_tensor *y = tnn_tensor_new_2d(ROWS, COLS);
    for (int i = 0; i < COUNT; i++)
        tnn_tensor_data(x)[i] = (float)(i + 1);
    for (int pass = 0; pass < 3; pass++) {
        ck_assert_int_eq(tnn_layer_forward(drop, x, y, TNN_MODE_TRAIN, rng),
                         TNN_OK);
        uint64_t bits = 0;
        for (int i = 0; i < COUNT; i++) {
            bits = i % 2 == 0 ? tnn_rng_next_u64(ref) : bits >> 32;
            bool keep = (bits & 0xffffffffu) >= threshold;
            ck_assert_float_eq(tnn_tensor_data(y)[i],
                               keep ? (float)(i + 1) * scale : 0.0f);
        }
        /* Both generators have made the same number of draws. */
        ck_assert_uint_eq(tnn_rng_next_u64(rng), tnn_rng_next_u64(ref));
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
    tnn_rng_free(ref);
    tnn_layer_free(drop);
}
END_TEST

/* ReLU passes the gradient where its output is positive and nothing
 * elsewhere, not even a NaN or an infinity. */
START_TEST(relu_backward_selects)
{
    tnn_layer *relu = tnn_relu_new();
    const float xv[6] = {-1.0f, 0.0f, 2.0f, 3.0f, -4.0f, 0.5f};
    const float gv[6] = {NAN, INFINITY, 7.0f, -8.0f, -INFINITY, 9.0f};
    const float want[6] = {0.0f, 0.0f, 7.0f, -8.0f, 0.0f, 9.0f};
    tnn_tensor *x = tnn_tensor_new_2d(2, 3), *y = tnn_tensor_new_2d(2, 3);
    tnn_tensor *dy = tnn_tensor_new_2d(2, 3), *dx = tnn_tensor_new_2d(2, 3);
    tnn_tensor_copy_from(x, xv, 6);
    tnn_tensor_copy_from(dy, gv, 6);
    ck_assert_int_eq(tnn_layer_forward(relu, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(relu, x, y, dy, dx), TNN_OK);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(tnn_tensor_data(dx)[i], want[i]);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(relu);
}
END_TEST

/* Leaky ReLU by hand, slope 0.25, as PyTorch's LeakyReLU computes it
 * (x > 0 ? x : slope * x, and the gradient's slope at 0): -0 stays -0,
 * infinities scale, a NaN passes both ways. */
START_TEST(leaky_relu_by_hand)
{
    tnn_layer *leaky = tnn_leaky_relu_new(0.25f);
    ck_assert_ptr_nonnull(leaky);
    ck_assert_int_eq(tnn_layer_kind(leaky), TNN_LAYER_LEAKY_RELU);
    ck_assert_str_eq(tnn_layer_name(leaky), "leaky_relu");
    const float xv[8] = {-2.0f, -0.0f,     0.0f,     3.0f,
                         NAN,   -INFINITY, INFINITY, -1e-30f};
    const float gv[8] = {4.0f, 4.0f, 4.0f, 4.0f, 4.0f, 4.0f, 4.0f, -8.0f};
    const float want_y[8] = {-0.5f, -0.0f,     0.0f,     3.0f,
                             NAN,   -INFINITY, INFINITY, -0.25e-30f};
    const float want_dx[8] = {1.0f, 1.0f, 1.0f, 4.0f, NAN, 1.0f, 4.0f, -2.0f};
    tnn_tensor *x = tnn_tensor_new_2d(2, 4), *y = tnn_tensor_new_2d(2, 4);
    tnn_tensor *dy = tnn_tensor_new_2d(2, 4), *dx = tnn_tensor_new_2d(2, 4);
    tnn_tensor_copy_from(x, xv, 8);
    tnn_tensor_copy_from(dy, gv, 8);
    ck_assert_int_eq(tnn_layer_forward(leaky, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(leaky, x, y, dy, dx), TNN_OK);
    for (int i = 0; i < 8; i++) {
        float got = tnn_tensor_data(y)[i], g = tnn_tensor_data(dx)[i];
        ck_assert_msg(isnan(want_y[i])
                          ? isnan(got)
                          : got == want_y[i] &&
                                !signbit(got) == !signbit(want_y[i]),
                      "leaky_relu(x[%d]) is %g, expected %g", i, (double)got,
                      (double)want_y[i]);
        ck_assert_msg(isnan(want_dx[i]) ? isnan(g) : g == want_dx[i],
                      "din[%d] is %g, expected %g", i, (double)g,
                      (double)want_dx[i]);
    }
    ck_assert_ptr_null(tnn_leaky_relu_new(NAN));
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_INVALID);
    ck_assert_ptr_null(tnn_leaky_relu_new(INFINITY));
    ck_assert_ptr_null(tnn_leaky_relu_new(-INFINITY));
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(leaky);
}
END_TEST

/* ReLU keeps a NaN (a NaN row must not turn into zeros and a confident
 * prediction), and its gradient there is NaN; -0 gives +0, infinities
 * max(0, x). */
START_TEST(relu_propagates_nan)
{
    tnn_layer *relu = tnn_relu_new();
    const float xv[6] = {NAN, -0.0f, INFINITY, -INFINITY, 3.0f, -2.0f};
    const float gv[6] = {5.0f, NAN, 6.0f, INFINITY, 7.0f, 8.0f};
    const float want_y[6] = {NAN, 0.0f, INFINITY, 0.0f, 3.0f, 0.0f};
    const float want_dx[6] = {NAN, 0.0f, 6.0f, 0.0f, 7.0f, 0.0f};
    tnn_tensor *x = tnn_tensor_new_2d(2, 3), *y = tnn_tensor_new_2d(2, 3);
    tnn_tensor *dy = tnn_tensor_new_2d(2, 3), *dx = tnn_tensor_new_2d(2, 3);
    tnn_tensor_copy_from(x, xv, 6);
    tnn_tensor_copy_from(dy, gv, 6);
    ck_assert_int_eq(tnn_layer_forward(relu, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(relu, x, y, dy, dx), TNN_OK);
    for (int i = 0; i < 6; i++) {
        float got = tnn_tensor_data(y)[i], g = tnn_tensor_data(dx)[i];
        ck_assert_msg(isnan(got) ? isnan(want_y[i]) : got == want_y[i],
                      "relu(x[%d]) is %g, expected %g", i, (double)got,
                      (double)want_y[i]);
        ck_assert_msg(!signbit(got), "relu(x[%d]) is negative", i);
        ck_assert_msg(isnan(g) ? isnan(want_dx[i]) : g == want_dx[i],
                      "din[%d] is %g, expected %g", i, (double)g,
                      (double)want_dx[i]);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(relu);
}
END_TEST

/* Where one NaN in row 0 of the input (at feature NAN_AT, image position
 * (1, 1)) must show as NaN; finite everywhere else. */
enum nan_reach {
    REACH_NONE,    /* nowhere */
    REACH_ELEMENT, /* the same element */
    REACH_ROW,     /* every value of row 0 */
    REACH_COLUMN,  /* that feature in every row (batch statistics) */
    REACH_WINDOW,  /* the pooling window over it: output 0 of row 0 */
    REACH_SKIP     /* not checked (an evaluation pass has no backward) */
};

#define NAN_ROWS 2
#define NAN_WIDTH 16 /* one 4x4 channel */
#define NAN_AT 5

static bool reached(enum nan_reach reach, size_t row, size_t j)
{
    switch (reach) {
    case REACH_ELEMENT: return row == 0 && j == NAN_AT;
    case REACH_ROW: return row == 0;
    case REACH_COLUMN: return j == NAN_AT;
    case REACH_WINDOW: return row == 0 && j == 0;
    default: return false;
    }
}

static void assert_nan_reach(const char *what, const char *pass,
                             enum nan_reach reach, const tnn_tensor *t)
{
    size_t width = tnn_tensor_size(t) / NAN_ROWS;
    for (size_t r = 0; r < NAN_ROWS; r++)
        for (size_t j = 0; j < width; j++) {
            float v = tnn_tensor_cdata(t)[r * width + j];
            bool want = reached(reach, r, j);
            ck_assert_msg(want ? isnan(v) : isfinite(v),
                          "%s %s: row %zu value %zu is %g, expected %s", what,
                          pass, r, j, (double)v, want ? "NaN" : "finite");
        }
}

static tnn_layer *make_dropout(void)
{
    return tnn_dropout_new(0.5f);
}
static tnn_layer *make_batchnorm(void)
{
    return tnn_batchnorm_new(NAN_WIDTH);
}
static tnn_layer *make_maxpool(void)
{
    return tnn_maxpool2d_new(2, 2);
}
static tnn_layer *make_avgpool(void)
{
    return tnn_avgpool2d_new(2, 2);
}
static tnn_layer *make_dense(void)
{
    return tnn_dense_new(NAN_WIDTH, 4);
}
static tnn_layer *make_conv2d(void)
{
    return tnn_conv2d_new(1, 1, 3, 3, 1, TNN_PADDING_VALID);
}

/* A NaN in an input row reaches that row's output through every kind and
 * mode, and the input gradient wherever the derivative depends on it.
 * Gradients that do not (identity, dropout, pooling's routing, products
 * with the weights) stay finite for a finite dout. */
START_TEST(nan_input_reaches_output)
{
    static const struct {
        const char *what;
        tnn_layer *(*make)(void);
        int mode;
        bool image;
        size_t out_width;
        enum nan_reach forward, backward;
    } cases[] = {
        {"relu", tnn_relu_new, TNN_MODE_TRAIN, false, 16, REACH_ELEMENT,
         REACH_ELEMENT},
        {"sigmoid", tnn_sigmoid_new, TNN_MODE_TRAIN, false, 16, REACH_ELEMENT,
         REACH_ELEMENT},
        {"tanh", tnn_tanh_new, TNN_MODE_TRAIN, false, 16, REACH_ELEMENT,
         REACH_ELEMENT},
        {"identity", tnn_identity_new, TNN_MODE_TRAIN, false, 16,
         REACH_ELEMENT, REACH_NONE},
        {"softmax", tnn_softmax_new, TNN_MODE_TRAIN, false, 16, REACH_ROW,
         REACH_ROW},
        {"dropout eval", make_dropout, TNN_MODE_EVAL, false, 16, REACH_ELEMENT,
         REACH_SKIP},
        {"dropout train", make_dropout, TNN_MODE_TRAIN, false, 16,
         REACH_ELEMENT, REACH_NONE},
        {"batchnorm eval", make_batchnorm, TNN_MODE_EVAL, false, 16,
         REACH_ELEMENT, REACH_SKIP},
        {"batchnorm train", make_batchnorm, TNN_MODE_TRAIN, false, 16,
         REACH_COLUMN, REACH_COLUMN},
        {"maxpool2d", make_maxpool, TNN_MODE_TRAIN, true, 4, REACH_WINDOW,
         REACH_NONE},
        {"avgpool2d", make_avgpool, TNN_MODE_TRAIN, true, 4, REACH_WINDOW,
         REACH_NONE},
        {"flatten", tnn_flatten_new, TNN_MODE_TRAIN, true, 16, REACH_ELEMENT,
         REACH_NONE},
        {"dense", make_dense, TNN_MODE_TRAIN, false, 4, REACH_ROW, REACH_NONE},
        {"conv2d", make_conv2d, TNN_MODE_TRAIN, true, 4, REACH_ROW,
         REACH_NONE},
    };
    const size_t flat[2] = {NAN_ROWS, NAN_WIDTH};
    const size_t image[4] = {NAN_ROWS, 1, 4, 4};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tnn_rng *rng = tnn_rng_new(9);
        tnn_layer *layer = cases[c].make();
        ck_assert_int_eq(tnn_layer_init(layer, rng), TNN_OK);
        tnn_tensor *x = cases[c].image ? tnn_tensor_new(4, image)
                                       : tnn_tensor_new(2, flat);
        tnn_tensor *din = cases[c].image ? tnn_tensor_new(4, image)
                                         : tnn_tensor_new(2, flat);
        tnn_tensor *y = tnn_tensor_new_2d(NAN_ROWS, cases[c].out_width);
        tnn_tensor *dy = tnn_tensor_new_2d(NAN_ROWS, cases[c].out_width);
        for (size_t i = 0; i < tnn_tensor_size(x); i++)
            tnn_tensor_data(x)[i] = 0.25f * (float)(i % 7) - 0.6f;
        tnn_tensor_data(x)[NAN_AT] = NAN;
        for (size_t i = 0; i < tnn_tensor_size(dy); i++)
            tnn_tensor_data(dy)[i] = 0.5f + 0.125f * (float)i;
        ck_assert_int_eq(tnn_layer_forward(layer, x, y, cases[c].mode, rng),
                         TNN_OK);
        assert_nan_reach(cases[c].what, "forward", cases[c].forward, y);
        if (cases[c].backward != REACH_SKIP) {
            ck_assert_int_eq(tnn_layer_backward(layer, x, y, dy, din), TNN_OK);
            assert_nan_reach(cases[c].what, "backward", cases[c].backward,
                             din);
        }
        tnn_tensor_free(x);
        tnn_tensor_free(din);
        tnn_tensor_free(y);
        tnn_tensor_free(dy);
        tnn_layer_free(layer);
        tnn_rng_free(rng);
    }
}
END_TEST

/* Max pooling takes a NaN wherever it lies in the window, and its
 * gradient goes to that position. */
START_TEST(maxpool_takes_nan)
{
    const size_t dims[4] = {1, 1, 2, 2};
    tnn_layer *maxp = tnn_maxpool2d_new(2, 2);
    tnn_tensor *x = tnn_tensor_new(4, dims), *dx = tnn_tensor_new(4, dims);
    tnn_tensor *y = tnn_tensor_new_2d(1, 1), *dy = tnn_tensor_new_2d(1, 1);
    tnn_tensor_fill(dy, 3.0f);
    for (int at = 0; at < 4; at++) {
        const float xv[4] = {1.0f, 4.0f, -2.0f, 2.0f};
        tnn_tensor_copy_from(x, xv, 4);
        tnn_tensor_data(x)[at] = NAN;
        ck_assert_int_eq(tnn_layer_forward(maxp, x, y, TNN_MODE_TRAIN, NULL),
                         TNN_OK);
        ck_assert_msg(isnan(tnn_tensor_data(y)[0]), "NaN at %d: max is %g", at,
                      (double)tnn_tensor_data(y)[0]);
        ck_assert_int_eq(tnn_layer_backward(maxp, x, y, dy, dx), TNN_OK);
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq(tnn_tensor_data(dx)[i], i == at ? 3.0f : 0.0f);
    }
    /* Of two NaNs the later one in the window takes the gradient, as the
     * rule "taken wherever it lies" visits them. */
    const float two[4] = {NAN, 5.0f, NAN, 2.0f};
    tnn_tensor_copy_from(x, two, 4);
    ck_assert_int_eq(tnn_layer_forward(maxp, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert(isnan(tnn_tensor_data(y)[0]));
    ck_assert_int_eq(tnn_layer_backward(maxp, x, y, dy, dx), TNN_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(tnn_tensor_data(dx)[i], i == 2 ? 3.0f : 0.0f);
    tnn_tensor_free(x);
    tnn_tensor_free(dx);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_layer_free(maxp);
}
END_TEST

/* The window rule written out: the first largest value in row-major
 * order, or the last NaN. */
static size_t reference_window_max(const float *plane, size_t w, size_t k,
                                   size_t y0, size_t x0)
{
    size_t best = y0 * w + x0;
    for (size_t ky = 0; ky < k; ky++)
        for (size_t kx = 0; kx < k; kx++) {
            size_t at = (y0 + ky) * w + x0 + kx;
            if (plane[at] > plane[best])
                best = at;
        }
    for (size_t ky = 0; ky < k; ky++)
        for (size_t kx = 0; kx < k; kx++) {
            size_t at = (y0 + ky) * w + x0 + kx;
            if (isnan(plane[at]))
                best = at;
        }
    return best;
}

/* 2x2 max pooling (which has a faster path of its own) against the rule,
 * value and gradient position, on planes full of ties (values from
 * {0, 1, 2}, as after a ReLU), odd and even sides, rows wider than the
 * fast path's chunks, and planes with NaNs here and there. */
START_TEST(maxpool_matches_the_window_rule)
{
    /* Rows of 16 outputs and fewer take the 16-lane path on AVX-512. */
    const size_t sides[][2] = {{26, 26}, {11, 11}, {2, 2},  {5, 8},
                               {4, 32},  {5, 33},  {4, 34}, {3, 1200},
                               {7, 3},   {9, 17},  {2, 31}};
    tnn_rng *rng = tnn_rng_new(99);
    for (size_t s = 0; s < sizeof sides / sizeof *sides; s++)
        for (int nans = 0; nans < 2; nans++) {
            const size_t h = sides[s][0], w = sides[s][1];
            const size_t oh = h / 2, ow = w / 2, planes = 6;
            size_t dims[4] = {2, 3, h, w};
            tnn_layer *maxp = tnn_maxpool2d_new(2, 2);
            tnn_tensor *x = tnn_tensor_new(4, dims);
            tnn_tensor *dx = tnn_tensor_new(4, dims);
            tnn_tensor *y = tnn_tensor_new_2d(2, 3 * oh * ow);
            tnn_tensor *dy = tnn_tensor_new_2d(2, 3 * oh * ow);
            tnn_tensor_rand_uniform(x, rng, 0.0f, 3.0f);
            float *xv = tnn_tensor_data(x);
            for (size_t i = 0; i < tnn_tensor_size(x); i++) {
                xv[i] = floorf(xv[i]);
                if (nans && i % 37 == 5)
                    xv[i] = NAN;
            }
            for (size_t i = 0; i < tnn_tensor_size(dy); i++)
                tnn_tensor_data(dy)[i] = (float)(i + 1);
            ck_assert_int_eq(
                tnn_layer_forward(maxp, x, y, TNN_MODE_TRAIN, NULL), TNN_OK);
            ck_assert_int_eq(tnn_layer_backward(maxp, x, y, dy, dx), TNN_OK);
            for (size_t q = 0; q < planes; q++) {
                const float *plane = xv + q * h * w;
                const float *dplane = tnn_tensor_cdata(dx) + q * h * w;
                for (size_t o = 0; o < oh * ow; o++) {
                    size_t best = reference_window_max(plane, w, 2, o / ow * 2,
                                                       o % ow * 2);
                    float got = tnn_tensor_data(y)[q * oh * ow + o];
                    ck_assert_msg(got == plane[best] ||
                                      (isnan(got) && isnan(plane[best])),
                                  "%zux%zu plane %zu output %zu: %g, want %g",
                                  h, w, q, o, (double)got,
                                  (double)plane[best]);
                    /* Windows do not overlap: each takes its own gradient. */
                    ck_assert_msg(dplane[best] ==
                                      tnn_tensor_data(dy)[q * oh * ow + o],
                                  "%zux%zu plane %zu output %zu: gradient not "
                                  "at %zu",
                                  h, w, q, o, best);
                }
            }
            tnn_tensor_free(x);
            tnn_tensor_free(dx);
            tnn_tensor_free(y);
            tnn_tensor_free(dy);
            tnn_layer_free(maxp);
        }
    tnn_rng_free(rng);
}
END_TEST

/* Dropout multiplies by its mask: a kept NaN stays NaN, and so does a
 * dropped one (0 * NaN), as does a dropped infinity; the input never
 * loses a non-finite value silently. */
START_TEST(dropout_keeps_nan_when_dropped)
{
    enum { COUNT = 64 };
    tnn_layer *drop = tnn_dropout_new(0.5f);
    tnn_rng *rng = tnn_rng_new(21);
    tnn_tensor *x = tnn_tensor_new_2d(2, COUNT / 2);
    tnn_tensor *y = tnn_tensor_new_2d(2, COUNT / 2);
    tnn_tensor *ones = tnn_tensor_new_2d(2, COUNT / 2);
    tnn_tensor *mask = tnn_tensor_new_2d(2, COUNT / 2);
    tnn_tensor_fill(ones, 1.0f);
    /* The mask itself: the same draws on finite inputs. */
    ck_assert_int_eq(tnn_layer_forward(drop, ones, mask, TNN_MODE_TRAIN, rng),
                     TNN_OK);
    for (int i = 0; i < COUNT; i++)
        tnn_tensor_data(x)[i] = i % 2 ? NAN : INFINITY;
    tnn_rng_seed(rng, 21);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y, TNN_MODE_TRAIN, rng),
                     TNN_OK);
    int dropped = 0;
    for (int i = 0; i < COUNT; i++) {
        float m = tnn_tensor_data(mask)[i], v = tnn_tensor_data(y)[i];
        dropped += m == 0.0f;
        if (m == 0.0f || i % 2)
            ck_assert_msg(isnan(v), "element %d (mask %g) is %g", i, (double)m,
                          (double)v);
        else
            ck_assert_float_eq(v, INFINITY);
    }
    ck_assert_int_gt(dropped, 0);
    ck_assert_int_lt(dropped, COUNT);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(ones);
    tnn_tensor_free(mask);
    tnn_rng_free(rng);
    tnn_layer_free(drop);
}
END_TEST

/* Running statistics after three training batches, computed by hand, and
 * the evaluation output that uses them. */
START_TEST(batchnorm_running_statistics)
{
    tnn_layer *bn = tnn_batchnorm_new(2);
    ck_assert_int_eq(tnn_batchnorm_set_momentum(bn, 0.9f), TNN_OK);
    ck_assert_float_eq(tnn_batchnorm_momentum(bn), 0.9f);
    ck_assert_float_eq(tnn_batchnorm_eps(bn), 1e-3f);
    tnn_tensor *x = tnn_tensor_new_2d(4, 2);
    tnn_tensor *y = tnn_tensor_new_2d(4, 2);
    double rm[2] = {0, 0}, rv[2] = {1, 1};
    for (int step = 0; step < 3; step++) {
        float xv[8];
        for (int r = 0; r < 4; r++) {
            xv[2 * r] = (float)(r + step);             /* mean 1.5 + step */
            xv[2 * r + 1] = (float)(3 * r * r - step); /* spread out */
        }
        tnn_tensor_copy_from(x, xv, 8);
        ck_assert_int_eq(tnn_layer_forward(bn, x, y, TNN_MODE_TRAIN, NULL),
                         TNN_OK);
        for (int j = 0; j < 2; j++) {
            double mean = 0, var = 0;
            for (int r = 0; r < 4; r++)
                mean += xv[2 * r + j] / 4.0;
            for (int r = 0; r < 4; r++)
                var += (xv[2 * r + j] - mean) * (xv[2 * r + j] - mean) / 4.0;
            rm[j] = 0.9 * rm[j] + 0.1 * mean;
            rv[j] = 0.9 * rv[j] + 0.1 * var;
            /* Training output is normalised with the batch statistics. */
            double y0 = (xv[j] - mean) / sqrt(var + 1e-3);
            ck_assert_double_eq_tol(tnn_tensor_data(y)[j], y0, 1e-5);
        }
    }
    for (int j = 0; j < 2; j++) {
        ck_assert_double_eq_tol(
            tnn_tensor_data(tnn_batchnorm_running_mean(bn))[j], rm[j], 1e-5);
        ck_assert_double_eq_tol(
            tnn_tensor_data(tnn_batchnorm_running_var(bn))[j], rv[j], 1e-4);
    }
    ck_assert_int_eq(tnn_layer_forward(bn, x, y, TNN_MODE_EVAL, NULL), TNN_OK);
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 2; j++) {
            double want =
                (tnn_tensor_data(x)[2 * r + j] - rm[j]) / sqrt(rv[j] + 1e-3);
            ck_assert_double_eq_tol(tnn_tensor_data(y)[2 * r + j], want, 1e-4);
        }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(bn);
}
END_TEST

START_TEST(batchnorm_single_row_is_defined)
{
    tnn_layer *bn = tnn_batchnorm_new(3);
    tnn_tensor_fill(tnn_layer_param(bn, 1), 0.25f); /* beta */
    tnn_tensor *x = tnn_tensor_new_2d(1, 3);
    tnn_tensor *y = tnn_tensor_new_2d(1, 3);
    tnn_tensor *din = tnn_tensor_new_2d(1, 3);
    tnn_tensor_fill(x, 7.0f);
    ck_assert_int_eq(tnn_layer_forward(bn, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(bn, x, y, x, din), TNN_OK);
    for (int j = 0; j < 3; j++) {
        ck_assert_float_eq(tnn_tensor_data(y)[j], 0.25f);
        ck_assert_float_eq(tnn_tensor_data(din)[j], 0.0f);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(din);
    tnn_layer_free(bn);
}
END_TEST

START_TEST(layer_misuse)
{
    ck_assert_ptr_null(tnn_dense_new(0, 3));
    assert_failed_with(TNN_E_INVALID, "tnn_dense_new");
    ck_assert_ptr_null(tnn_dropout_new(1.0f));
    assert_failed_with(TNN_E_INVALID, "tnn_dropout_new");
    ck_assert_ptr_null(tnn_dropout_new(-0.1f));
    ck_assert_ptr_null(tnn_dropout_new(NAN));
    ck_assert_ptr_null(tnn_batchnorm_new(0));
    assert_failed_with(TNN_E_INVALID, "tnn_batchnorm_new");

    tnn_layer *dense = tnn_dense_new(3, 2);
    tnn_layer *relu = tnn_relu_new();
    ck_assert_int_eq(tnn_dense_set_init(relu, TNN_INIT_ZEROS, 0),
                     TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_dense_set_init");
    ck_assert_int_eq(tnn_dense_set_init(dense, 17, 0), TNN_E_INVALID);
    ck_assert_int_eq(tnn_batchnorm_set_eps(dense, 1e-3f), TNN_E_INVALID);
    ck_assert_int_eq(tnn_layer_set_trainable(dense, 2), TNN_E_INVALID);
    ck_assert_int_eq(tnn_layer_set_trainable(NULL, 1), TNN_E_INVALID);

    tnn_tensor *x = tnn_tensor_new_2d(4, 5);
    tnn_tensor *y = tnn_tensor_new_2d(4, 2);
    ck_assert_int_eq(tnn_layer_forward(dense, x, y, TNN_MODE_EVAL, NULL),
                     TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_layer_forward");
    ck_assert_int_eq(tnn_layer_forward(dense, x, y, 7, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_layer_backward(dense, x, y, y, NULL), TNN_E_STATE);
    assert_failed_with(TNN_E_STATE, "tnn_layer_backward");
    ck_assert_int_eq(tnn_layer_forward(NULL, x, y, 0, NULL), TNN_E_INVALID);

    ck_assert_int_eq(tnn_layer_num_params(dense), 2);
    ck_assert_int_eq(tnn_layer_num_params(relu), 0);
    ck_assert_ptr_null(tnn_layer_param(dense, 2));
    ck_assert_ptr_null(tnn_layer_grad(relu, 0));
    ck_assert_uint_eq(tnn_tensor_dim(tnn_layer_param(dense, 0), 0), 3);
    ck_assert_uint_eq(tnn_tensor_dim(tnn_layer_param(dense, 0), 1), 2);
    ck_assert_int_eq(tnn_layer_kind(dense), TNN_LAYER_DENSE);
    ck_assert_str_eq(tnn_layer_name(relu), "relu");
    ck_assert_int_eq(tnn_layer_kind(NULL), 0);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(dense);
    tnn_layer_free(relu);
    tnn_layer_free(NULL);
}
END_TEST

static double sample_variance(const tnn_tensor *t)
{
    double s1 = 0, s2 = 0;
    size_t n = tnn_tensor_size(t);
    for (size_t i = 0; i < n; i++) {
        s1 += tnn_tensor_cdata(t)[i];
        s2 += (double)tnn_tensor_cdata(t)[i] * tnn_tensor_cdata(t)[i];
    }
    return s2 / (double)n - (s1 / (double)n) * (s1 / (double)n);
}

START_TEST(dense_initialisers)
{
    tnn_rng *rng = tnn_rng_new(3);
    tnn_layer *dense = tnn_dense_new(300, 200);
    ck_assert_int_eq(tnn_layer_init(dense, rng), TNN_OK);
    tnn_tensor *w = tnn_layer_param(dense, 0);
    double limit = sqrt(6.0 / 500.0);
    for (size_t i = 0; i < tnn_tensor_size(w); i++)
        ck_assert(fabs(tnn_tensor_data(w)[i]) <= limit);
    /* Uniform(-l, l) has variance l^2 / 3 = 2 / (in + out). */
    ck_assert_double_eq_tol(sample_variance(w), 2.0 / 500.0, 1e-4);

    ck_assert_int_eq(tnn_dense_set_init(dense, TNN_INIT_HE_NORMAL, 0), TNN_OK);
    tnn_layer_init(dense, rng);
    double sd = sqrt(2.0 / 300.0) / 0.87962566103423978;
    for (size_t i = 0; i < tnn_tensor_size(w); i++)
        ck_assert(fabs(tnn_tensor_data(w)[i]) <= 2.0 * sd + 1e-6);
    ck_assert_double_eq_tol(sample_variance(w), 2.0 / 300.0, 3e-4);

    ck_assert_int_eq(tnn_dense_set_init(dense, TNN_INIT_CONSTANT, 0.5f),
                     TNN_OK);
    tnn_layer_init(dense, rng);
    ck_assert_float_eq(tnn_tensor_data(w)[1234], 0.5f);
    ck_assert_float_eq(tnn_tensor_data(tnn_layer_param(dense, 1))[7], 0.0f);
    tnn_layer_free(dense);
    tnn_rng_free(rng);
}
END_TEST

START_TEST(conv2d_gradients)
{
    /* Stride 1 and 2, each padding mode, square and non-square kernels. */
    gradient_check_image(tnn_conv2d_new(2, 3, 3, 3, 1, TNN_PADDING_VALID), 2,
                         2, 5, 6, 2e-3);
    gradient_check_image(tnn_conv2d_new(2, 3, 3, 3, 1, TNN_PADDING_SAME), 2, 2,
                         5, 6, 2e-3);
    gradient_check_image(tnn_conv2d_new(3, 2, 2, 3, 2, TNN_PADDING_SAME), 2, 3,
                         5, 7, 2e-3);
    gradient_check_image(tnn_conv2d_new(1, 2, 3, 2, 2, 1), 3, 1, 6, 5, 2e-3);
    gradient_check_image(tnn_conv2d_new(2, 2, 1, 3, 2, TNN_PADDING_VALID), 2,
                         2, 4, 7, 2e-3);
}
END_TEST

START_TEST(pooling_gradients)
{
    gradient_check_image(tnn_maxpool2d_new(2, 2), 2, 3, 6, 5, 2e-3);
    gradient_check_image(tnn_maxpool2d_new(3, 1), 2, 2, 5, 5, 2e-3);
    gradient_check_image(tnn_avgpool2d_new(2, 2), 2, 3, 6, 5, 1e-3);
    gradient_check_image(tnn_avgpool2d_new(3, 2), 2, 2, 7, 5, 1e-3);
    gradient_check_image(tnn_flatten_new(), 2, 3, 4, 5, 1e-3);
}
END_TEST

START_TEST(spatial_batchnorm_gradients)
{
    gradient_check_image(tnn_batchnorm_new(3), 4, 3, 3, 4, 2e-3);
}
END_TEST

/* Direct convolution in double, the definition in the header. */
static double direct_conv(const float *x, const float *w, const float *b,
                          size_t cin, size_t h, size_t wd, size_t kh,
                          size_t kw, size_t stride, long pt, long pl, size_t i,
                          size_t oc, size_t y, size_t xo)
{
    double sum = b[oc];
    for (size_t c = 0; c < cin; c++)
        for (size_t u = 0; u < kh; u++)
            for (size_t v = 0; v < kw; v++) {
                long iy = (long)(y * stride + u) - pt;
                long ix = (long)(xo * stride + v) - pl;
                if (iy < 0 || ix < 0 || iy >= (long)h || ix >= (long)wd)
                    continue;
                sum += (double)w[((oc * cin + c) * kh + u) * kw + v] *
                       x[((i * cin + c) * h + (size_t)iy) * wd + (size_t)ix];
            }
    return sum;
}

START_TEST(conv2d_matches_direct_convolution)
{
    tnn_rng *rng = tnn_rng_new(2024);
    for (int trial = 0; trial < 12; trial++) {
        size_t n = 1 + tnn_rng_next_u64(rng) % 3;
        size_t cin = 1 + tnn_rng_next_u64(rng) % 3;
        size_t cout = 1 + tnn_rng_next_u64(rng) % 4;
        size_t kh = 1 + tnn_rng_next_u64(rng) % 4;
        size_t kw = 1 + tnn_rng_next_u64(rng) % 4;
        size_t stride = 1 + tnn_rng_next_u64(rng) % 3;
        size_t h = kh + tnn_rng_next_u64(rng) % 6;
        size_t wd = kw + tnn_rng_next_u64(rng) % 6;
        int mode = (int)(tnn_rng_next_u64(rng) % 3);
        int padding = mode == 0   ? TNN_PADDING_VALID
                      : mode == 1 ? TNN_PADDING_SAME
                                  : (int)(tnn_rng_next_u64(rng) % 3);
        tnn_layer *conv = tnn_conv2d_new(cin, cout, kh, kw, stride, padding);
        tnn_layer_init(conv, rng);
        tnn_tensor_rand_uniform(tnn_layer_param(conv, 1), rng, -1, 1);
        size_t dims[4] = {n, cin, h, wd};
        tnn_tensor *x = tnn_tensor_new(4, dims);
        tnn_tensor_rand_uniform(x, rng, -1, 1);
        /* Output size and padding from the header's definitions. */
        size_t oh, ow;
        long pt, pl;
        if (padding == TNN_PADDING_SAME) {
            oh = (h + stride - 1) / stride;
            ow = (wd + stride - 1) / stride;
            long th = (long)((oh - 1) * stride + kh) - (long)h;
            long tw = (long)((ow - 1) * stride + kw) - (long)wd;
            pt = th > 0 ? th / 2 : 0;
            pl = tw > 0 ? tw / 2 : 0;
        } else {
            long p = padding == TNN_PADDING_VALID ? 0 : padding;
            oh = (h + 2 * (size_t)p - kh) / stride + 1;
            ow = (wd + 2 * (size_t)p - kw) / stride + 1;
            pt = pl = p;
        }
        tnn_tensor *y = tnn_tensor_new_2d(n, cout * oh * ow);
        ck_assert_int_eq(tnn_layer_forward(conv, x, y, TNN_MODE_EVAL, NULL),
                         TNN_OK);
        ck_assert_uint_eq(tnn_layer_out_features(conv), cout * oh * ow);
        const float *w = tnn_tensor_cdata(tnn_layer_param(conv, 0));
        const float *b = tnn_tensor_cdata(tnn_layer_param(conv, 1));
        for (size_t i = 0; i < n; i++)
            for (size_t oc = 0; oc < cout; oc++)
                for (size_t yy = 0; yy < oh; yy++)
                    for (size_t xx = 0; xx < ow; xx++) {
                        double want =
                            direct_conv(tnn_tensor_cdata(x), w, b, cin, h, wd,
                                        kh, kw, stride, pt, pl, i, oc, yy, xx);
                        float got = tnn_tensor_cdata(
                            y)[((i * cout + oc) * oh + yy) * ow + xx];
                        ck_assert_msg(fabs(got - want) < 1e-5,
                                      "trial %d: %g vs %g", trial, got, want);
                    }
        tnn_tensor_free(x);
        tnn_tensor_free(y);
        tnn_layer_free(conv);
    }
    tnn_rng_free(rng);
}
END_TEST

START_TEST(pooling_by_hand)
{
    size_t dims[4] = {1, 1, 4, 4};
    tnn_tensor *x = tnn_tensor_new(4, dims);
    for (int i = 0; i < 16; i++)
        tnn_tensor_data(x)[i] = (float)((i * 5) % 16);
    /* 0 5 10 15 / 4 9 14 3 / 8 13 2 7 / 12 1 6 11 */
    tnn_tensor *y = tnn_tensor_new_2d(1, 4);
    tnn_layer *maxp = tnn_maxpool2d_new(2, 2), *avgp = tnn_avgpool2d_new(2, 2);
    ck_assert_int_eq(tnn_layer_forward(maxp, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    const float want_max[4] = {9, 15, 13, 11};
    ck_assert_mem_eq(tnn_tensor_data(y), want_max, sizeof want_max);
    ck_assert_int_eq(tnn_layer_forward(avgp, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    const float want_avg[4] = {4.5f, 10.5f, 8.5f, 6.5f};
    ck_assert_mem_eq(tnn_tensor_data(y), want_avg, sizeof want_avg);
    tnn_layer_free(maxp);
    tnn_layer_free(avgp);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(image_layer_misuse)
{
    ck_assert_ptr_null(tnn_conv2d_new(1, 8, 3, 3, 0, TNN_PADDING_VALID));
    assert_failed_with(TNN_E_INVALID, "tnn_conv2d_new");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "stride is 0"));
    ck_assert_ptr_null(tnn_conv2d_new(0, 8, 3, 3, 1, TNN_PADDING_VALID));
    ck_assert_ptr_null(tnn_conv2d_new(1, 8, 3, 3, 1, -3));
    ck_assert_ptr_null(tnn_maxpool2d_new(0, 1));
    assert_failed_with(TNN_E_INVALID, "tnn_maxpool2d_new");
    ck_assert_ptr_null(tnn_avgpool2d_new(2, 0));

    tnn_model *m = tnn_model_new_image(1, 5, 5);
    /* Kernel larger than the input. */
    ck_assert_int_eq(
        tnn_model_add(m, tnn_conv2d_new(1, 4, 6, 6, 1, TNN_PADDING_VALID)),
        TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_add");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "(1, 5, 5)"));
    /* Same with enough padding it fits. */
    ck_assert_int_eq(tnn_model_add(m, tnn_conv2d_new(1, 4, 6, 6, 1, 1)),
                     TNN_OK);
    /* Channel mismatch: the previous layer gives 4 channels. */
    ck_assert_int_eq(
        tnn_model_add(m, tnn_conv2d_new(3, 4, 1, 1, 1, TNN_PADDING_VALID)),
        TNN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "(4, 2, 2)"));
    /* Dense needs flat rows; batch-norm counts channels. */
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(16, 2)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(16)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(4)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_maxpool2d_new(3, 1)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(16, 2)), TNN_OK);
    ck_assert_int_eq(
        tnn_model_add(m, tnn_conv2d_new(1, 1, 1, 1, 1, TNN_PADDING_VALID)),
        TNN_E_SHAPE);
    char text[1024];
    tnn_model_summary(m, text, sizeof text, NULL);
    ck_assert_ptr_nonnull(strstr(text, "(None, 4, 2, 2)"));
    ck_assert_ptr_nonnull(strstr(text, "(None, 16)"));
    ck_assert_ptr_null(tnn_model_new_image(0, 28, 28));
    assert_failed_with(TNN_E_INVALID, "tnn_model_new_image");
    tnn_model_free(m);
}
END_TEST

/* Zero padding by hand: one image of 2 channels of 2 x 3, padded by 1 row
 * on top, none below, 2 columns on the left and 1 on the right, gives
 * 2 x 3 x 6. The values are copied bit for bit (a NaN, both infinities,
 * -0 and a subnormal at their own positions), the border is exactly +0;
 * the input gradient is the interior of dout, bit for bit, whatever the
 * border of dout holds (NaN, infinities). */
START_TEST(zeropad_by_hand)
{
    tnn_layer *pad = tnn_zeropad2d_new(1, 0, 2, 1);
    ck_assert_ptr_nonnull(pad);
    ck_assert_int_eq(tnn_layer_kind(pad), TNN_LAYER_ZEROPAD2D);
    ck_assert_str_eq(tnn_layer_name(pad), "zeropad2d");
    ck_assert_int_eq(tnn_layer_num_params(pad), 0);
    ck_assert_uint_eq(tnn_layer_out_features(pad), 0);
    const size_t dims[4] = {1, 2, 2, 3}, odims[4] = {1, 2, 3, 6};
    const float xv[12] = {1.5f,      -2.0f, NAN,    INFINITY, -0.0f, 3.25f,
                          -INFINITY, 7.0f,  1e-40f, -5.0f,    0.5f,  9.0f};
    const float Z = 0.0f;
    const float want_y[36] = {
        /* channel 0 */
        Z, Z, Z, Z, Z, Z,                /* top */
        Z, Z, 1.5f, -2.0f, NAN, Z,       /* row 0 */
        Z, Z, INFINITY, -0.0f, 3.25f, Z, /* row 1 */
        /* channel 1 */
        Z, Z, Z, Z, Z, Z,                 /* top */
        Z, Z, -INFINITY, 7.0f, 1e-40f, Z, /* row 0 */
        Z, Z, -5.0f, 0.5f, 9.0f, Z,       /* row 1 */
    };
    /* Where the input's 12 values land in the output. */
    const size_t interior[12] = {8, 9, 10, 14, 15, 16, 26, 27, 28, 32, 33, 34};
    tnn_tensor *x = tnn_tensor_new(4, dims), *dx = tnn_tensor_new(4, dims);
    tnn_tensor *y = tnn_tensor_new(4, odims), *dy = tnn_tensor_new(4, odims);
    tnn_tensor_copy_from(x, xv, 12);
    tnn_tensor_fill(y, 77.0f);
    tnn_tensor_fill(dx, 77.0f);
    /* dout: NaN, infinities and huge values on the border, distinct
     * values (and one NaN) inside. */
    for (size_t i = 0; i < 36; i++) {
        bool inside = false;
        for (size_t k = 0; k < 12; k++)
            inside = inside || interior[k] == i;
        tnn_tensor_data(dy)[i] = inside       ? 0.5f * (float)i - 4.0f
                                 : i % 3 == 0 ? NAN
                                 : i % 3 == 1 ? -INFINITY
                                              : 1e30f;
    }
    tnn_tensor_data(dy)[27] = NAN;
    ck_assert_int_eq(tnn_layer_forward(pad, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_uint_eq(tnn_layer_in_features(pad), 12);
    ck_assert_uint_eq(tnn_layer_out_features(pad), 36);
    for (size_t i = 0; i < 36; i++) {
        float got = tnn_tensor_data(y)[i];
        ck_assert_msg(same_bits(got, want_y[i]),
                      "zeropad output %zu is %g, expected %g", i, (double)got,
                      (double)want_y[i]);
    }
    ck_assert_int_eq(tnn_layer_backward(pad, x, y, dy, dx), TNN_OK);
    for (size_t k = 0; k < 12; k++) {
        float got = tnn_tensor_data(dx)[k];
        float want = tnn_tensor_data(dy)[interior[k]];
        ck_assert_msg(same_bits(got, want), "din[%zu] is %g, expected %g", k,
                      (double)got, (double)want);
    }
    ck_assert(isnan(tnn_tensor_data(dx)[7]));
    tnn_layer_free(pad);

    /* No padding at all copies the input, bit for bit, both ways. */
    tnn_layer *none = tnn_zeropad2d_new(0, 0, 0, 0);
    tnn_tensor *same = tnn_tensor_new(4, dims);
    ck_assert_int_eq(tnn_layer_forward(none, x, same, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_uint_eq(tnn_layer_out_features(none), 12);
    ck_assert_mem_eq(tnn_tensor_data(same), xv, sizeof xv);
    ck_assert_int_eq(tnn_layer_backward(none, x, same, x, dx), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(dx), xv, sizeof xv);
    tnn_layer_free(none);
    tnn_tensor_free(same);
    tnn_tensor_free(x);
    tnn_tensor_free(dx);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
}
END_TEST

/* Padding on some sides only, none on others; a batch of several images
 * of several channels. */
START_TEST(zeropad_gradients)
{
    gradient_check_image(tnn_zeropad2d_new(1, 2, 0, 3), 2, 3, 4, 5, 1e-3);
    gradient_check_image(tnn_zeropad2d_new(0, 0, 2, 1), 3, 2, 3, 4, 1e-3);
    gradient_check_image(tnn_zeropad2d_new(2, 0, 0, 0), 2, 1, 2, 2, 1e-3);
}
END_TEST

/* Zero padding takes images only: after rows (a model of features, a
 * flatten layer, a 2-D tensor run alone) it is refused with TNN_E_SHAPE
 * and a message that says why, and nothing is bound. */
START_TEST(zeropad_needs_images)
{
    tnn_model *rows = tnn_model_new(12);
    ck_assert_int_eq(tnn_model_add(rows, tnn_zeropad2d_new(1, 1, 1, 1)),
                     TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_add");
    ck_assert_ptr_nonnull(
        strstr(tnn_last_error(), "needs (channels, height, width) images"));
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "gives (12)"));
    ck_assert_uint_eq(tnn_model_num_layers(rows), 0);
    tnn_model_free(rows);

    tnn_model *img = tnn_model_new_image(1, 3, 4);
    ck_assert_int_eq(tnn_model_add(img, tnn_zeropad2d_new(0, 1, 2, 0)),
                     TNN_OK);
    ck_assert_uint_eq(tnn_model_out_features(img), 4 * 6);
    ck_assert_int_eq(tnn_model_add(img, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(img, tnn_zeropad2d_new(1, 0, 0, 0)),
                     TNN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "gives (24)"));
    ck_assert_uint_eq(tnn_model_num_layers(img), 2);
    char text[1024];
    tnn_model_summary(img, text, sizeof text, NULL);
    ck_assert_ptr_nonnull(strstr(text, "(None, 1, 4, 6)"));
    tnn_model_free(img);

    /* Run alone on rows, then on images of 12 values, then on images of
     * another shape. */
    tnn_layer *pad = tnn_zeropad2d_new(0, 1, 1, 0);
    tnn_tensor *flat = tnn_tensor_new_2d(2, 12),
               *out = tnn_tensor_new_2d(2, 20);
    ck_assert_int_eq(tnn_layer_forward(pad, flat, out, TNN_MODE_EVAL, NULL),
                     TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_layer_forward");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "zero padding needs"));
    ck_assert_uint_eq(tnn_layer_in_features(pad), 0);
    ck_assert_uint_eq(tnn_layer_out_features(pad), 0);
    const size_t d34[4] = {2, 1, 3, 4}, d43[4] = {2, 1, 4, 3};
    tnn_tensor *x34 = tnn_tensor_new(4, d34), *x43 = tnn_tensor_new(4, d43);
    ck_assert_int_eq(tnn_layer_forward(pad, x34, flat, TNN_MODE_EVAL, NULL),
                     TNN_E_SHAPE);
    ck_assert_uint_eq(tnn_layer_out_features(pad), 0);
    ck_assert_int_eq(tnn_layer_forward(pad, x34, out, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_uint_eq(tnn_layer_out_features(pad), 20);
    ck_assert_int_eq(tnn_layer_forward(pad, x43, out, TNN_MODE_EVAL, NULL),
                     TNN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "(1, 3, 4)"));
    tnn_tensor_free(flat);
    tnn_tensor_free(out);
    tnn_tensor_free(x34);
    tnn_tensor_free(x43);
    tnn_layer_free(pad);

    /* At most 4096 on each side. */
    for (int side = 0; side < 4; side++) {
        size_t p[4] = {0, 0, 0, 0};
        p[side] = 4097;
        ck_assert_ptr_null(tnn_zeropad2d_new(p[0], p[1], p[2], p[3]));
        assert_failed_with(TNN_E_INVALID, "tnn_zeropad2d_new");
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "4097"));
    }
    ck_assert_ptr_null(tnn_zeropad2d_new(SIZE_MAX, 0, 0, 0));
    tnn_layer *most = tnn_zeropad2d_new(4096, 4096, 4096, 4096);
    ck_assert_ptr_nonnull(most);
    tnn_layer_free(most);
}
END_TEST

/* Passes over whole activations large enough to be split over 3 threads
 * (336 images of 6 channels of 20x20: 806,400 values, 2^18 and more a
 * thread): the same bits for 1 and 3 threads, and the values a direct
 * loop gives. */
#define SPLIT_IMAGES 336
#define SPLIT_CH 6
#define SPLIT_SIDE 20
#define SPLIT_VALUES (SPLIT_IMAGES * SPLIT_CH * SPLIT_SIDE * SPLIT_SIDE)

static float split_input(size_t i)
{
    return i % 13 == 0 ? -0.0f : (float)((int)((i * 7919) % 101) - 50) / 8;
}

static float split_dout(size_t i)
{
    return (float)(i % 17) * 0.25f - 2.0f;
}

struct split_result {
    float *out, *din;
};

static struct split_result run_split_layer(tnn_layer *(*make)(void),
                                           size_t side, int threads)
{
    size_t dims[4] = {SPLIT_IMAGES, SPLIT_CH, SPLIT_SIDE, SPLIT_SIDE};
    tnn_tensor *in = tnn_tensor_new(4, dims), *din = tnn_tensor_new(4, dims);
    /* A pattern with ties, zeros of both signs and negatives. */
    for (size_t i = 0; i < SPLIT_VALUES; i++)
        tnn_tensor_data(in)[i] = split_input(i);
    tnn_layer *layer = make();
    int saved = tnn_get_num_threads();
    ck_assert_int_eq(tnn_set_num_threads(threads), TNN_OK);
    size_t odims[4] = {SPLIT_IMAGES, SPLIT_CH, side, side};
    size_t outs = SPLIT_IMAGES * SPLIT_CH * side * side;
    tnn_tensor *out = tnn_tensor_new(4, odims),
               *dout = tnn_tensor_new(4, odims);
    for (size_t i = 0; i < outs; i++)
        tnn_tensor_data(dout)[i] = split_dout(i);
    ck_assert_int_eq(tnn_layer_forward(layer, in, out, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(layer, in, out, dout, din), TNN_OK);
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
    struct split_result r = {malloc(outs * sizeof(float)),
                             malloc(SPLIT_VALUES * sizeof(float))};
    ck_assert(r.out && r.din);
    memcpy(r.out, tnn_tensor_data(out), outs * sizeof(float));
    memcpy(r.din, tnn_tensor_data(din), SPLIT_VALUES * sizeof(float));
    tnn_tensor_free(in);
    tnn_tensor_free(din);
    tnn_tensor_free(out);
    tnn_tensor_free(dout);
    tnn_layer_free(layer);
    return r;
}

static tnn_layer *make_relu(void)
{
    return tnn_relu_new();
}

static tnn_layer *make_avgpool3(void)
{
    return tnn_avgpool2d_new(3, 2);
}

START_TEST(split_passes_match_one_thread_and_direct_loops)
{
    tnn_layer *(*makes[])(void) = {make_relu, make_maxpool, make_avgpool3};
    for (size_t l = 0; l < 3; l++) {
        size_t k = l == 0 ? 1 : l == 1 ? 2 : 3, stride = l == 2 ? 2 : k;
        size_t side = (SPLIT_SIDE - k) / stride + 1;
        struct split_result one = run_split_layer(makes[l], side, 1);
        struct split_result three = run_split_layer(makes[l], side, 3);
        size_t outs =
            l == 0 ? SPLIT_VALUES : SPLIT_IMAGES * SPLIT_CH * side * side;
        ck_assert_mem_eq(one.out, three.out, outs * sizeof(float));
        ck_assert_mem_eq(one.din, three.din, SPLIT_VALUES * sizeof(float));
        /* Direct loops: forward of every output, input gradient summed. */
        float *din = calloc(SPLIT_VALUES, sizeof(float));
        ck_assert_ptr_nonnull(din);
        for (size_t q = 0; q < SPLIT_IMAGES * SPLIT_CH; q++)
            for (size_t oy = 0; oy < side; oy++)
                for (size_t ox = 0; ox < side; ox++) {
                    size_t o = (q * side + oy) * side + ox;
                    size_t base = q * SPLIT_SIDE * SPLIT_SIDE;
                    size_t at = base + oy * stride * SPLIT_SIDE + ox * stride;
                    float want = split_input(at), sum = 0.0f;
                    size_t best = at;
                    for (size_t ky = 0; ky < k; ky++)
                        for (size_t kx = 0; kx < k; kx++) {
                            size_t i = at + ky * SPLIT_SIDE + kx;
                            sum += split_input(i);
                            if (split_input(i) > split_input(best))
                                best = i;
                        }
                    if (l == 0) {
                        want = want > 0.0f ? want : 0.0f;
                        din[at] = want > 0.0f ? split_dout(o) : 0.0f;
                    } else if (l == 1) {
                        want = split_input(best);
                        din[best] += split_dout(o);
                    } else {
                        want = sum * (1.0f / 9.0f);
                        for (size_t ky = 0; ky < k; ky++)
                            for (size_t kx = 0; kx < k; kx++)
                                din[at + ky * SPLIT_SIDE + kx] +=
                                    split_dout(o) * (1.0f / 9.0f);
                    }
                    ck_assert_float_eq(one.out[o], want);
                }
        for (size_t i = 0; i < SPLIT_VALUES; i++)
            ck_assert_float_eq(one.din[i], din[i]);
        free(din);
        free(one.out);
        free(one.din);
        free(three.out);
        free(three.din);
    }
}
END_TEST

/* Zero padding split over 3 threads: the same bits as one thread, and
 * what a direct loop gives (-0 copied as -0, the border +0). */
static tnn_layer *make_zeropad(void)
{
    return tnn_zeropad2d_new(2, 0, 1, 1);
}

START_TEST(zeropad_split_matches_one_thread_and_direct_loop)
{
    size_t side = SPLIT_SIDE + 2;
    size_t outs = SPLIT_IMAGES * SPLIT_CH * side * side;
    struct split_result one = run_split_layer(make_zeropad, side, 1);
    struct split_result three = run_split_layer(make_zeropad, side, 3);
    ck_assert_mem_eq(one.out, three.out, outs * sizeof(float));
    ck_assert_mem_eq(one.din, three.din, SPLIT_VALUES * sizeof(float));
    for (size_t q = 0; q < SPLIT_IMAGES * SPLIT_CH; q++)
        for (size_t oy = 0; oy < side; oy++)
            for (size_t ox = 0; ox < side; ox++) {
                size_t o = (q * side + oy) * side + ox;
                bool inside = oy >= 2 && ox >= 1 && ox <= SPLIT_SIDE;
                size_t i = inside ? q * SPLIT_SIDE * SPLIT_SIDE +
                                        (oy - 2) * SPLIT_SIDE + (ox - 1)
                                  : 0;
                float want = inside ? split_input(i) : 0.0f;
                if (!same_bits(one.out[o], want))
                    ck_abort_msg("output %zu is %g, expected %g", o,
                                 (double)one.out[o], (double)want);
                if (inside && !same_bits(one.din[i], split_dout(o)))
                    ck_abort_msg("din[%zu] is %g, expected %g", i,
                                 (double)one.din[i], (double)split_dout(o));
            }
    free(one.out);
    free(one.din);
    free(three.out);
    free(three.din);
}
END_TEST

/* ---- layer normalisation and GELU (since 1.9) ------------------------- */

/* Gradients of the input, gamma and beta: groups that are the whole row,
 * groups of 4 of rows of 12, and the image rows of (2, 3, 4) images. */
START_TEST(layernorm_gradients)
{
    gradient_check(tnn_layernorm_new(6), 4, 6, 0.0, 2e-3);
    gradient_check(tnn_layernorm_new(4), 3, 12, 0.0, 2e-3);
    gradient_check(tnn_layernorm_new(1), 3, 5, 0.0, 2e-3);
    gradient_check_image(tnn_layernorm_new(4), 2, 2, 3, 4, 2e-3);
}
END_TEST

START_TEST(gelu_gradients)
{
    gradient_check(tnn_gelu_new(), 3, 6, 0.0, 1e-3);
    gradient_check_image(tnn_gelu_new(), 2, 2, 3, 3, 1e-3);
}
END_TEST

static void assert_near(const char *what, size_t i, double got, double want)
{
    ck_assert_msg(fabs(got - want) <= 1e-6 + 1e-6 * fabs(want),
                  "%s[%zu] is %.9g, expected %.9g", what, i, got, want);
}

/* Layer norm of a 2 x 4 batch by hand, with the default eps 1e-5: row 0
 * (0, 0, 4, 4) has mean 2 and variance 4, so xhat = (-a, -a, a, a) with
 * a = 2 / sqrt(4 + eps); row 1 (-3, 3, -3, 3) mean 0 and variance 9,
 * xhat = (-b, b, -b, b) with b = 3 / sqrt(9 + eps). With gamma (1, 2,
 * 0.5, -1) and beta (0, 1, -1, 0.5), and dout all ones: dbeta = 2 (two
 * groups), dgamma = the column sums of xhat, and row 0's input gradient
 * inv * (gamma - mean(gamma) - xhat * mean(gamma * xhat)) with inv = a / 2
 * and mean(gamma * xhat) = -0.875 a. Groups of 2 of the same rows: (0, 0)
 * and (4, 4) have variance 0 and give beta; (-3, 3) gives (-b', b') with
 * b' = 3 / sqrt(9 + eps) too. */
START_TEST(layernorm_by_hand)
{
    tnn_layer *ln = tnn_layernorm_new(4);
    ck_assert_ptr_nonnull(ln);
    ck_assert_int_eq(tnn_layer_kind(ln), TNN_LAYER_LAYERNORM);
    ck_assert_str_eq(tnn_layer_name(ln), "layernorm");
    ck_assert_int_eq(tnn_layer_num_params(ln), 2);
    ck_assert_uint_eq(tnn_layer_in_features(ln), 0);
    ck_assert_float_eq(tnn_layernorm_eps(ln), 1e-5f);
    for (size_t j = 0; j < 4; j++) {
        ck_assert_float_eq(tnn_tensor_data(tnn_layer_param(ln, 0))[j], 1.0f);
        ck_assert_float_eq(tnn_tensor_data(tnn_layer_param(ln, 1))[j], 0.0f);
    }
    const float xv[8] = {0, 0, 4, 4, -3, 3, -3, 3};
    const float gamma[4] = {1, 2, 0.5f, -1}, beta[4] = {0, 1, -1, 0.5f};
    tnn_tensor_copy_from(tnn_layer_param(ln, 0), gamma, 4);
    tnn_tensor_copy_from(tnn_layer_param(ln, 1), beta, 4);
    tnn_tensor *x = tnn_tensor_new_2d(2, 4), *y = tnn_tensor_new_2d(2, 4);
    tnn_tensor *dy = tnn_tensor_new_2d(2, 4), *dx = tnn_tensor_new_2d(2, 4);
    tnn_tensor_copy_from(x, xv, 8);
    tnn_tensor_fill(dy, 1.0f);
    ck_assert_int_eq(tnn_layer_forward(ln, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_uint_eq(tnn_layer_in_features(ln), 4);
    const double eps = (double)1e-5f;
    const double a = 2 / sqrt(4 + eps), b = 3 / sqrt(9 + eps);
    const double want_y[8] = {-a, -2 * a + 1, 0.5 * a - 1,  -a + 0.5,
                              -b, 2 * b + 1,  -0.5 * b - 1, -b + 0.5};
    for (size_t i = 0; i < 8; i++)
        assert_near("layernorm output", i, tnn_tensor_data(y)[i], want_y[i]);
    ck_assert_int_eq(tnn_layer_backward(ln, x, y, dy, dx), TNN_OK);
    const double want_dgamma[4] = {-a - b, -a + b, a - b, a + b};
    for (size_t j = 0; j < 4; j++) {
        assert_near("dgamma", j, tnn_tensor_data(tnn_layer_grad(ln, 0))[j],
                    want_dgamma[j]);
        assert_near("dbeta", j, tnn_tensor_data(tnn_layer_grad(ln, 1))[j],
                    2.0);
    }
    const double xhat0[4] = {-a, -a, a, a};
    for (size_t j = 0; j < 4; j++)
        assert_near("din", j, tnn_tensor_data(dx)[j],
                    a / 2 * (gamma[j] - 0.625 + xhat0[j] * 0.875 * a));
    /* The input gradient of each group sums to 0. */
    double sum = 0;
    for (size_t j = 4; j < 8; j++)
        sum += tnn_tensor_data(dx)[j];
    ck_assert_msg(fabs(sum) < 1e-6, "row 1's input gradient sums to %g", sum);
    tnn_layer_free(ln);

    tnn_layer *pairs = tnn_layernorm_new(2);
    const float g2[2] = {2, -1}, b2[2] = {0.25f, 0};
    tnn_tensor_copy_from(tnn_layer_param(pairs, 0), g2, 2);
    tnn_tensor_copy_from(tnn_layer_param(pairs, 1), b2, 2);
    ck_assert_int_eq(tnn_layer_forward(pairs, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    const double want_pairs[8] = {0.25,          0,  0.25,          0,
                                  -2 * b + 0.25, -b, -2 * b + 0.25, -b};
    for (size_t i = 0; i < 8; i++)
        assert_near("layernorm(2) output", i, tnn_tensor_data(y)[i],
                    want_pairs[i]);
    tnn_layer_free(pairs);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
}
END_TEST

/* A NaN stays in its own group, forward and back; the other group of its
 * row and the other row are finite. A large offset (1e4 + small spread)
 * loses nothing to the two-pass variance. */
START_TEST(layernorm_nan_stays_in_its_group)
{
    tnn_layer *ln = tnn_layernorm_new(4);
    tnn_tensor *x = tnn_tensor_new_2d(2, 8), *y = tnn_tensor_new_2d(2, 8);
    tnn_tensor *dy = tnn_tensor_new_2d(2, 8), *dx = tnn_tensor_new_2d(2, 8);
    const float xv[16] = {1,     NAN,   2,     3,     4,  -1, 0.5f, 2,
                          10000, 10001, 10002, 10003, -1, -2, -3,   -4};
    tnn_tensor_copy_from(x, xv, 16);
    for (size_t i = 0; i < 16; i++)
        tnn_tensor_data(dy)[i] = 0.25f * (float)i - 1.0f;
    ck_assert_int_eq(tnn_layer_forward(ln, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(ln, x, y, dy, dx), TNN_OK);
    for (size_t i = 0; i < 16; i++) {
        bool nan_group = i < 4;
        ck_assert_msg(nan_group ? isnan(tnn_tensor_data(y)[i])
                                : isfinite(tnn_tensor_data(y)[i]),
                      "output %zu is %g", i, (double)tnn_tensor_data(y)[i]);
        ck_assert_msg(nan_group ? isnan(tnn_tensor_data(dx)[i])
                                : isfinite(tnn_tensor_data(dx)[i]),
                      "din %zu is %g", i, (double)tnn_tensor_data(dx)[i]);
    }
    /* (10000, 10001, 10002, 10003): xhat = (-1.5, -0.5, 0.5, 1.5) /
     * sqrt(1.25 + eps). */
    const double s = 1 / sqrt(1.25 + (double)1e-5f);
    for (size_t j = 0; j < 4; j++)
        assert_near("offset group", j, tnn_tensor_data(y)[8 + j],
                    ((double)j - 1.5) * s);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(ln);
}
END_TEST

/* The input width must be a multiple of the features: refused when added
 * or run, with both numbers named; the eps setter and getter. */
START_TEST(layernorm_needs_a_multiple_of_its_features)
{
    tnn_model *m = tnn_model_new(6);
    ck_assert_int_eq(tnn_model_add(m, tnn_layernorm_new(4)), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_add");
    ck_assert_msg(strstr(tnn_last_error(), "6 values are not a multiple of "
                                           "4") != NULL,
                  "%s", tnn_last_error());
    ck_assert_int_eq(tnn_model_add(m, tnn_layernorm_new(3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_gelu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_layernorm_new(6)), TNN_OK);
    ck_assert_uint_eq(tnn_model_out_features(m), 6);
    ck_assert_uint_eq(tnn_model_num_params(m), 18);
    char text[2048];
    tnn_model_summary(m, text, sizeof text, NULL);
    ck_assert_msg(strstr(text, "layernorm") && strstr(text, "gelu"), "%s",
                  text);
    tnn_model_free(m);

    tnn_model *img = tnn_model_new_image(2, 3, 5);
    ck_assert_int_eq(tnn_model_add(img, tnn_layernorm_new(4)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(img, tnn_layernorm_new(5)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(img, tnn_layernorm_new(30)), TNN_OK);
    tnn_model_free(img);

    tnn_layer *ln = tnn_layernorm_new(4);
    tnn_tensor *x = tnn_tensor_new_2d(2, 6), *y = tnn_tensor_new_2d(2, 6);
    ck_assert_int_eq(tnn_layer_forward(ln, x, y, TNN_MODE_EVAL, NULL),
                     TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_layer_forward");
    ck_assert_uint_eq(tnn_layer_in_features(ln), 0);
    ck_assert_int_eq(tnn_layernorm_set_eps(ln, 0.5f), TNN_OK);
    ck_assert_float_eq(tnn_layernorm_eps(ln), 0.5f);
    ck_assert_int_eq(tnn_layernorm_set_eps(ln, 0.0f), TNN_E_INVALID);
    ck_assert_float_eq(tnn_layernorm_eps(ln), 0.5f);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(ln);
    ck_assert_ptr_null(tnn_layernorm_new(0));
    assert_failed_with(TNN_E_INVALID, "tnn_layernorm_new");
}
END_TEST

/* Weight decay leaves gamma and beta alone unless told to decay all: a
 * model whose targets are its own outputs has zero gradients, so only
 * decay can move them. */
START_TEST(layernorm_parameters_are_not_decayed)
{
    for (int all = 0; all <= 1; all++) {
        tnn_model *m = tnn_model_new(4);
        ck_assert_int_eq(tnn_model_add(m, tnn_layernorm_new(4)), TNN_OK);
        tnn_optim *sgd = tnn_sgd_new(0.5f);
        ck_assert_int_eq(tnn_optim_set_weight_decay(sgd, 0.5f), TNN_OK);
        ck_assert_int_eq(tnn_optim_set_decay_all(sgd, all), TNN_OK);
        ck_assert_int_eq(tnn_model_set_optim(m, sgd), TNN_OK);
        tnn_tensor *x = tnn_tensor_new_2d(3, 4), *t = tnn_tensor_new_2d(3, 4);
        for (size_t i = 0; i < 12; i++)
            tnn_tensor_data(x)[i] = (float)((i * 7) % 5) - 2.0f;
        ck_assert_int_eq(tnn_model_predict(m, x, t), TNN_OK);
        double loss;
        ck_assert_int_eq(tnn_model_train_batch(m, x, t, &loss), TNN_OK);
        ck_assert(loss == 0.0);
        float g =
            tnn_tensor_data(tnn_layer_param(tnn_model_layer(m, 0), 0))[0];
        ck_assert_msg(all ? g < 1.0f : g == 1.0f, "decay_all %d: gamma %g",
                      all, (double)g);
        tnn_tensor_free(x);
        tnn_tensor_free(t);
        tnn_model_free(m);
    }
}
END_TEST

/* A copy of a layer-norm keeps its features, eps and parameters, and
 * computes what the original does. */
START_TEST(layernorm_clone_keeps_eps_and_parameters)
{
    tnn_model *m = tnn_model_new(6);
    tnn_layer *ln = tnn_layernorm_new(3);
    ck_assert_int_eq(tnn_layernorm_set_eps(ln, 0.25f), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, ln), TNN_OK);
    const float gamma[3] = {0.5f, -2, 3}, beta[3] = {1, 0, -1};
    tnn_tensor_copy_from(tnn_layer_param(ln, 0), gamma, 3);
    tnn_tensor_copy_from(tnn_layer_param(ln, 1), beta, 3);
    tnn_layer *copy = tnn_layer_clone(ln);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(tnn_layer_kind(copy), TNN_LAYER_LAYERNORM);
    ck_assert_float_eq(tnn_layernorm_eps(copy), 0.25f);
    tnn_model *other = tnn_model_new(9);
    ck_assert_int_eq(tnn_model_add(other, copy), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_cdata(tnn_layer_param(copy, 0)), gamma,
                     sizeof gamma);
    ck_assert_mem_eq(tnn_tensor_cdata(tnn_layer_param(copy, 1)), beta,
                     sizeof beta);
    tnn_tensor *x = tnn_tensor_new_2d(1, 9), *y = tnn_tensor_new_2d(1, 9);
    for (size_t i = 0; i < 9; i++)
        tnn_tensor_data(x)[i] = (float)(i * i % 7);
    ck_assert_int_eq(tnn_model_predict(other, x, y), TNN_OK);
    /* (0, 1, 4): mean 5/3, variance 26/9, eps 0.25. */
    const double inv = 1 / sqrt(26.0 / 9 + 0.25);
    assert_near("copy", 0, tnn_tensor_data(y)[0], 0.5 * (-5.0 / 3) * inv + 1);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    tnn_model_free(other);
}
END_TEST

/* GELU over [-40, 40] at a step of 2e-4, against libm's erfc
 * and exp in double rounded to float: the library's own vectorised erfc
 * may differ by one unit in the last place, and only rarely (a double
 * result within 2e-12 of a float tie), for values and slopes alike. */
static double gelu_libm(double x)
{
    return 0.5 * x * erfc(-x * 0.70710678118654752440);
}

static double gelu_slope_libm(double x)
{
    return 0.5 * erfc(-x * 0.70710678118654752440) +
           x * 0.39894228040143267794 * exp(-0.5 * x * x);
}

static int ulps_apart(float a, float b)
{
    if (a == b)
        return 0;
    if (nextafterf(a, b) == b)
        return 1;
    return 2;
}

START_TEST(gelu_against_libm)
{
    const size_t n = 400001; /* -40 to 40 by 2e-4 */
    tnn_tensor *x = tnn_tensor_new_2d(1, n), *y = tnn_tensor_new_2d(1, n);
    tnn_tensor *dy = tnn_tensor_new_2d(1, n), *dx = tnn_tensor_new_2d(1, n);
    ck_assert_ptr_nonnull(dx);
    float *xv = tnn_tensor_data(x);
    for (size_t i = 0; i < n; i++)
        xv[i] = (float)(-40.0 + 2e-4 * (double)i);
    tnn_tensor_fill(dy, 1.0f);
    tnn_layer *gelu = tnn_gelu_new();
    ck_assert_int_eq(tnn_layer_forward(gelu, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(gelu, x, y, dy, dx), TNN_OK);
    size_t off_values = 0, off_slopes = 0;
    for (size_t i = 0; i < n; i++) {
        float want = (float)gelu_libm(xv[i]);
        float want_slope = (float)gelu_slope_libm(xv[i]);
        float got = tnn_tensor_data(y)[i], got_slope = tnn_tensor_data(dx)[i];
        int apart = ulps_apart(got, want);
        int slope_apart = ulps_apart(got_slope, want_slope);
        ck_assert_msg(apart <= 1 && slope_apart <= 1,
                      "gelu(%.9g) = %.9g slope %.9g, libm %.9g slope %.9g",
                      (double)xv[i], (double)got, (double)got_slope,
                      (double)want, (double)want_slope);
        off_values += (size_t)apart;
        off_slopes += (size_t)slope_apart;
    }
    ck_assert_msg(off_values <= n / 50000 && off_slopes <= n / 50000,
                  "%zu values and %zu slopes of %zu a unit apart", off_values,
                  off_slopes, n);
    tnn_layer_free(gelu);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
}
END_TEST

/* |got - want| in units of the last place of want: the gap between the
 * floats around it (the one below a power of two it rounds up to). */
static double ulps_from(float got, double want)
{
    const float w = fabsf((float)want);
    const double gap = fabs(want) < (double)w
                           ? (double)(w - nextafterf(w, 0.0f))
                           : (double)(nextafterf(w, INFINITY) - w);
    return fabs((double)got - want) / gap;
}

/* The sigmoid and tanh layers (the library's own vectorised exponential,
 * as the LSTM and GRU gates use it) against double-precision libm from
 * -100 to 100 by 2.5e-4: within 2.5 and 1.6 units in the last place
 * (glibc's expf and tanhf reach 2.5 and 2.2 by the same measure); where
 * the sigmoid would be below e^-87 it may give exactly 0. Then the
 * special values: signed zeros, infinities, NaN, and tiny inputs, whose
 * tanh is the input and sigmoid 1/2. */
START_TEST(sigmoid_tanh_against_libm)
{
    const size_t sweep = 800001, n = sweep + 7;
    tnn_tensor *x = tnn_tensor_new_2d(1, n), *y = tnn_tensor_new_2d(1, n);
    tnn_tensor *t = tnn_tensor_new_2d(1, n);
    ck_assert_ptr_nonnull(t);
    float *xv = tnn_tensor_data(x);
    for (size_t i = 0; i < sweep; i++)
        xv[i] = (float)(-100.0 + 2.5e-4 * (double)i);
    const float special[7] = {0.0f, -0.0f,  INFINITY, -INFINITY,
                              NAN,  1e-30f, -1e-30f};
    memcpy(xv + sweep, special, sizeof special);
    tnn_layer *sigmoid = tnn_sigmoid_new(), *tanh_layer = tnn_tanh_new();
    ck_assert_int_eq(tnn_layer_forward(sigmoid, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(tanh_layer, x, t, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    const float *yv = tnn_tensor_data(y), *tv = tnn_tensor_data(t);
    double worst_sigmoid = 0, worst_tanh = 0;
    for (size_t i = 0; i < sweep; i++) {
        const double want_y = 1.0 / (1.0 + exp(-(double)xv[i]));
        const double want_t = tanh((double)xv[i]);
        if (want_y < exp(-87.0))
            ck_assert_msg(yv[i] == 0.0f || ulps_from(yv[i], want_y) <= 2.5,
                          "sigmoid(%.9g) = %.9g", (double)xv[i],
                          (double)yv[i]);
        else
            worst_sigmoid = fmax(worst_sigmoid, ulps_from(yv[i], want_y));
        worst_tanh = fmax(worst_tanh, ulps_from(tv[i], want_t));
    }
    ck_assert_msg(worst_sigmoid <= 2.5 && worst_tanh <= 1.6,
                  "sigmoid %.3f, tanh %.3f units in the last place apart",
                  worst_sigmoid, worst_tanh);
    const float *ys = yv + sweep, *ts = tv + sweep;
    ck_assert(ys[0] == 0.5f && ys[1] == 0.5f && ys[2] == 1.0f &&
              ys[3] == 0.0f && isnan(ys[4]));
    ck_assert(ts[0] == 0.0f && !signbit(ts[0]) && ts[1] == 0.0f &&
              signbit(ts[1]) && ts[2] == 1.0f && ts[3] == -1.0f &&
              isnan(ts[4]));
    ck_assert(ys[5] == 0.5f && ys[6] == 0.5f && ts[5] == 1e-30f &&
              ts[6] == -1e-30f);
    tnn_layer_free(sigmoid);
    tnn_layer_free(tanh_layer);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(t);
}
END_TEST

/* GELU by hand: x Phi(x) and Phi(x) + x phi(x) at a few points (Phi(1) =
 * 0.8413447460685429, phi(1) = 0.24197072451914337, ...), and the limits
 * at the infinities; NaN passes both ways. */
START_TEST(gelu_by_hand)
{
    tnn_layer *gelu = tnn_gelu_new();
    ck_assert_ptr_nonnull(gelu);
    ck_assert_int_eq(tnn_layer_kind(gelu), TNN_LAYER_GELU);
    ck_assert_str_eq(tnn_layer_name(gelu), "gelu");
    ck_assert_int_eq(tnn_layer_num_params(gelu), 0);
    const float xv[8] = {0, 1, -1, 2, -3, INFINITY, -INFINITY, NAN};
    const double want_y[8] = {0,
                              0.8413447460685429,
                              -0.15865525393145707,
                              2 * 0.9772498680518208,
                              -3 * 0.0013498980316300957,
                              INFINITY,
                              0,
                              NAN};
    const double want_d[8] = {0.5,
                              0.8413447460685429 + 0.24197072451914337,
                              0.15865525393145707 - 0.24197072451914337,
                              0.9772498680518208 + 2 * 0.05399096651318806,
                              0.0013498980316300957 -
                                  3 * 0.0044318484119380075,
                              1,
                              0,
                              NAN};
    tnn_tensor *x = tnn_tensor_new_2d(2, 4), *y = tnn_tensor_new_2d(2, 4);
    tnn_tensor *dy = tnn_tensor_new_2d(2, 4), *dx = tnn_tensor_new_2d(2, 4);
    tnn_tensor_copy_from(x, xv, 8);
    tnn_tensor_fill(dy, 2.0f);
    ck_assert_int_eq(tnn_layer_forward(gelu, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(gelu, x, y, dy, dx), TNN_OK);
    for (size_t i = 0; i < 8; i++) {
        double got = tnn_tensor_data(y)[i], g = tnn_tensor_data(dx)[i];
        if (isnan(want_y[i])) {
            ck_assert(isnan(got) && isnan(g));
        } else if (isinf(want_y[i])) {
            ck_assert(got == want_y[i]);
            ck_assert(g == 2 * want_d[i]);
        } else {
            assert_near("gelu", i, got, want_y[i]);
            assert_near("gelu gradient", i, g, 2 * want_d[i]);
        }
    }
    ck_assert(signbit(tnn_tensor_data(y)[6])); /* gelu(-inf) is -0 */
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(gelu);
}
END_TEST

/* A layer norm run with the given threads on 2016 rows of 400 values:
 * its output in both modes, input gradient and parameter gradients. */
struct layernorm_run {
    float *train_out, *eval_out, *din, *dgamma, *dbeta;
};

static float *copy_of(const tnn_tensor *t)
{
    float *v = malloc(tnn_tensor_size(t) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    memcpy(v, tnn_tensor_cdata(t), tnn_tensor_size(t) * sizeof *v);
    return v;
}

static struct layernorm_run run_layernorm(size_t features, int threads)
{
    const size_t rows = 2016, width = 400;
    tnn_tensor *x = tnn_tensor_new_2d(rows, width);
    tnn_tensor *y = tnn_tensor_new_2d(rows, width);
    tnn_tensor *dy = tnn_tensor_new_2d(rows, width);
    tnn_tensor *dx = tnn_tensor_new_2d(rows, width);
    for (size_t i = 0; i < rows * width; i++) {
        tnn_tensor_data(x)[i] = split_input(i);
        tnn_tensor_data(dy)[i] = split_dout(i);
    }
    tnn_layer *ln = tnn_layernorm_new(features);
    for (size_t j = 0; j < features; j++) {
        tnn_tensor_data(tnn_layer_param(ln, 0))[j] =
            0.5f + 0.25f * (float)(j % 5);
        tnn_tensor_data(tnn_layer_param(ln, 1))[j] = (float)(j % 3) - 1.0f;
    }
    int saved = tnn_get_num_threads();
    ck_assert_int_eq(tnn_set_num_threads(threads), TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(ln, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_backward(ln, x, y, dy, dx), TNN_OK);
    struct layernorm_run r = {.train_out = copy_of(y), .din = copy_of(dx)};
    ck_assert_int_eq(tnn_layer_forward(ln, x, y, TNN_MODE_EVAL, NULL), TNN_OK);
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
    r.eval_out = copy_of(y);
    r.dgamma = copy_of(tnn_layer_grad(ln, 0));
    r.dbeta = copy_of(tnn_layer_grad(ln, 1));
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(ln);
    return r;
}

static void free_layernorm_run(struct layernorm_run *r)
{
    free(r->train_out);
    free(r->eval_out);
    free(r->din);
    free(r->dgamma);
    free(r->dbeta);
}

/* Layer norm split over 3 threads: the same bits as one thread, and an
 * evaluation the same as training. The parameter gradients too: each
 * feature's sums walk the groups in order however the features are split.
 * Groups of 20 (40320 of them) and of 200 (4032), so that the groups and
 * the features both go to several threads. */
START_TEST(layernorm_split_matches_one_thread)
{
    const size_t features[2] = {20, 200}, values = 2016 * 400;
    for (size_t c = 0; c < 2; c++) {
        struct layernorm_run one = run_layernorm(features[c], 1);
        struct layernorm_run three = run_layernorm(features[c], 3);
        ck_assert_mem_eq(one.train_out, three.train_out,
                         values * sizeof(float));
        ck_assert_mem_eq(one.train_out, one.eval_out, values * sizeof(float));
        ck_assert_mem_eq(three.train_out, three.eval_out,
                         values * sizeof(float));
        ck_assert_mem_eq(one.din, three.din, values * sizeof(float));
        ck_assert_mem_eq(one.dgamma, three.dgamma,
                         features[c] * sizeof(float));
        ck_assert_mem_eq(one.dbeta, three.dbeta, features[c] * sizeof(float));
        free_layernorm_run(&one);
        free_layernorm_run(&three);
    }
}
END_TEST

/* A layer norm taken out of a model and added after wider rows, which hold
 * more of its groups, keeps no statistics sized for the old rows (the
 * sanitizers and valgrind would see the overflow): it trains as its copy,
 * which never ran, does. */
START_TEST(layernorm_rebound_to_wider_rows)
{
    tnn_model *narrow = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_add(narrow, tnn_layernorm_new(2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(narrow, tnn_dense_new(4, 1)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(narrow, TNN_LOSS_MSE), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(narrow, tnn_sgd_new(0.1f)), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(8, 4), *y = tnn_tensor_new_2d(8, 1);
    for (size_t i = 0; i < 32; i++)
        tnn_tensor_data(x)[i] = split_input(i);
    for (size_t i = 0; i < 8; i++)
        tnn_tensor_data(y)[i] = split_dout(i);
    ck_assert_int_eq(tnn_model_train_batch(narrow, x, y, NULL), TNN_OK);
    tnn_layer_free(tnn_model_pop(narrow));
    tnn_layer *ln = tnn_model_pop(narrow);
    tnn_layer *copy = tnn_layer_clone(ln);
    ck_assert_ptr_nonnull(copy);
    tnn_tensor *wide_x = tnn_tensor_new_2d(8, 64);
    for (size_t i = 0; i < 8 * 64; i++)
        tnn_tensor_data(wide_x)[i] = split_input(i);
    tnn_model *wide[2];
    double loss[2];
    for (int k = 0; k < 2; k++) {
        wide[k] = tnn_model_new(64);
        ck_assert_int_eq(tnn_model_set_seed(wide[k], 5), TNN_OK);
        ck_assert_int_eq(tnn_model_add(wide[k], k ? copy : ln), TNN_OK);
        ck_assert_int_eq(tnn_model_add(wide[k], tnn_dense_new(64, 1)), TNN_OK);
        ck_assert_int_eq(tnn_model_set_loss(wide[k], TNN_LOSS_MSE), TNN_OK);
        ck_assert_int_eq(tnn_model_set_optim(wide[k], tnn_sgd_new(0.1f)),
                         TNN_OK);
        ck_assert_int_eq(tnn_model_train_batch(wide[k], wide_x, y, &loss[k]),
                         TNN_OK);
    }
    ck_assert(loss[0] == loss[1]);
    for (size_t l = 0; l < 2; l++)
        for (int p = 0; p < 2; p++) {
            const tnn_tensor *a =
                tnn_layer_param(tnn_model_layer(wide[0], l), p);
            const tnn_tensor *b =
                tnn_layer_param(tnn_model_layer(wide[1], l), p);
            ck_assert_mem_eq(tnn_tensor_cdata(a), tnn_tensor_cdata(b),
                             tnn_tensor_size(a) * sizeof(float));
        }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(wide_x);
    tnn_model_free(narrow);
    tnn_model_free(wide[0]);
    tnn_model_free(wide[1]);
}
END_TEST

/* tests/data/layers-pytorch.txt holds PyTorch's LayerNorm (features 4 and
 * 8 on rows of 8) and GELU, outputs and gradients computed in float64 on
 * fixed float32 values (tests/reference/layers.py); each line gives the
 * inputs, gamma, beta and dout too. Everything must agree within 1e-6 +
 * 1e-5 |x|. */
static void compare_values(struct golden *file, const char *what,
                           const float *got, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double want = golden_double(file);
        ck_assert_msg(fabs(got[i] - want) <= 1e-6 + 1e-5 * fabs(want),
                      "%s: %s %zu is %.9g; PyTorch %.9g", file->name, what, i,
                      (double)got[i], want);
    }
}

START_TEST(layers_match_pytorch)
{
    static const char *const names[] = {"layernorm_4", "layernorm_8", "gelu"};
    struct golden file;
    golden_open(&file, "layers-pytorch.txt");
    for (size_t c = 0; c < sizeof names / sizeof names[0]; c++) {
        golden_case(&file, names[c]);
        size_t features = golden_size(&file);
        size_t rows = golden_size(&file);
        size_t cols = golden_size(&file);
        float eps = (float)golden_double(&file);
        ck_assert(rows * cols <= 64 && features <= cols);
        tnn_layer *layer =
            features ? tnn_layernorm_new(features) : tnn_gelu_new();
        ck_assert_ptr_nonnull(layer);
        if (features)
            ck_assert_int_eq(tnn_layernorm_set_eps(layer, eps), TNN_OK);
        tnn_tensor *x = tnn_tensor_new_2d(rows, cols);
        tnn_tensor *y = tnn_tensor_new_2d(rows, cols);
        tnn_tensor *dy = tnn_tensor_new_2d(rows, cols);
        tnn_tensor *dx = tnn_tensor_new_2d(rows, cols);
        golden_floats(&file, tnn_tensor_data(x), rows * cols);
        for (int p = 0; p < tnn_layer_num_params(layer); p++)
            golden_floats(&file, tnn_tensor_data(tnn_layer_param(layer, p)),
                          features);
        golden_floats(&file, tnn_tensor_data(dy), rows * cols);
        ck_assert_int_eq(tnn_layer_forward(layer, x, y, TNN_MODE_TRAIN, NULL),
                         TNN_OK);
        ck_assert_int_eq(tnn_layer_backward(layer, x, y, dy, dx), TNN_OK);
        compare_values(&file, "output", tnn_tensor_data(y), rows * cols);
        compare_values(&file, "input gradient", tnn_tensor_data(dx),
                       rows * cols);
        for (int p = 0; p < tnn_layer_num_params(layer); p++)
            compare_values(&file, p ? "beta gradient" : "gamma gradient",
                           tnn_tensor_data(tnn_layer_grad(layer, p)),
                           features);
        golden_end_case(&file);
        tnn_tensor_free(x);
        tnn_tensor_free(y);
        tnn_tensor_free(dy);
        tnn_tensor_free(dx);
        tnn_layer_free(layer);
    }
    golden_close(&file);
}
END_TEST

Suite *layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dense_gradients);
    tcase_add_test(tc, activation_gradients);
    tcase_add_test(tc, dropout_gradients_fixed_mask);
    tcase_add_test(tc, batchnorm_gradients_training);
    tcase_add_test(tc, dense_forward_by_hand);
    tcase_add_test(tc, dense_bias_gradient_of_long_batches);
    tcase_add_test(tc, softmax_rows_sum_to_one);
    tcase_add_test(tc, dropout_modes);
    tcase_add_test(tc, dropout_mask_follows_generator);
    tcase_add_test(tc, relu_backward_selects);
    tcase_add_test(tc, relu_propagates_nan);
    tcase_add_test(tc, leaky_relu_by_hand);
    tcase_add_test(tc, nan_input_reaches_output);
    tcase_add_test(tc, maxpool_takes_nan);
    tcase_add_test(tc, maxpool_matches_the_window_rule);
    tcase_add_test(tc, dropout_keeps_nan_when_dropped);
    tcase_add_test(tc, batchnorm_running_statistics);
    tcase_add_test(tc, batchnorm_single_row_is_defined);
    tcase_add_test(tc, layer_misuse);
    tcase_add_test(tc, dense_initialisers);
    tcase_add_test(tc, conv2d_gradients);
    tcase_add_test(tc, pooling_gradients);
    tcase_add_test(tc, spatial_batchnorm_gradients);
    tcase_add_test(tc, conv2d_matches_direct_convolution);
    tcase_add_test(tc, pooling_by_hand);
    tcase_add_test(tc, split_passes_match_one_thread_and_direct_loops);
    tcase_add_test(tc, image_layer_misuse);
    tcase_add_test(tc, zeropad_by_hand);
    tcase_add_test(tc, zeropad_gradients);
    tcase_add_test(tc, zeropad_needs_images);
    tcase_add_test(tc, zeropad_split_matches_one_thread_and_direct_loop);
    tcase_add_test(tc, layernorm_gradients);
    tcase_add_test(tc, gelu_gradients);
    tcase_add_test(tc, layernorm_by_hand);
    tcase_add_test(tc, layernorm_nan_stays_in_its_group);
    tcase_add_test(tc, layernorm_needs_a_multiple_of_its_features);
    tcase_add_test(tc, layernorm_parameters_are_not_decayed);
    tcase_add_test(tc, layernorm_clone_keeps_eps_and_parameters);
    tcase_add_test(tc, layernorm_split_matches_one_thread);
    tcase_add_test(tc, layernorm_rebound_to_wider_rows);
    tcase_add_test(tc, gelu_by_hand);
    tcase_add_test(tc, gelu_against_libm);
    tcase_add_test(tc, sigmoid_tanh_against_libm);
    tcase_add_test(tc, layers_match_pytorch);
    suite_add_tcase(s, tc);
    return s;
}
