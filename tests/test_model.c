/*
 * The sequential model: learning small problems, closed-form agreement,
 * fit mechanics, determinism, steady-state allocations, ownership and
 * misuse.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "testutil.h"

static tnn_tensor *tensor_from(size_t rows, size_t cols, const float *v)
{
    tnn_tensor *t =
        cols ? tnn_tensor_new_2d(rows, cols) : tnn_tensor_new(1, &rows);
    ck_assert_ptr_nonnull(t);
    tnn_tensor_copy_from(t, v, tnn_tensor_size(t));
    return t;
}

/* XOR with class-index labels and a fused softmax: 100% accuracy. */
START_TEST(learns_xor)
{
    const float xv[8] = {0, 0, 0, 1, 1, 0, 1, 1}, yv[4] = {0, 1, 1, 0};
    tnn_tensor *x = tensor_from(4, 2, xv), *y = tensor_from(4, 0, yv);
    tnn_model *m = tnn_model_new(2);
    ck_assert_int_eq(tnn_model_set_seed(m, 3), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(2, 8)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_tanh_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.05f)), TNN_OK);
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    double loss, acc;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &acc), TNN_OK);
    ck_assert_double_eq(acc, 1.0);
    ck_assert_double_lt(loss, 0.05);
    /* Predictions are probabilities: the softmax runs outside training. */
    tnn_tensor *p = tnn_tensor_new_2d(4, 2);
    ck_assert_int_eq(tnn_model_predict(m, x, p), TNN_OK);
    for (int r = 0; r < 4; r++) {
        const float *row = tnn_tensor_cdata(p) + 2 * r;
        ck_assert_float_eq_tol(row[0] + row[1], 1.0f, 1e-6f);
        ck_assert(row[(int)yv[r]] > 0.9f);
    }
    tnn_tensor_free(p);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Data of the textbook example: y = 4 + 3x + noise. */
static void line_data(size_t n, tnn_tensor **x, tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(12);
    *x = tnn_tensor_new_2d(n, 1);
    *y = tnn_tensor_new_2d(n, 1);
    for (size_t i = 0; i < n; i++) {
        float xi = (float)(2.0 * tnn_rng_uniform(rng));
        tnn_tensor_data(*x)[i] = xi;
        tnn_tensor_data(*y)[i] =
            (float)(4.0 + 3.0 * xi + 0.5 * tnn_rng_normal(rng));
    }
    tnn_rng_free(rng);
}

/* Solve (X^T X / m + lambda I) t = X^T y / m for t = (t0, t1): the fixed
 * point of t -= alpha * (dJ/dt + lambda t). */
static void closed_form(const tnn_tensor *x, const tnn_tensor *y,
                        double lambda, double t[2])
{
    double n = (double)tnn_tensor_size(x), sx = 0, sxx = 0, sy = 0, sxy = 0;
    for (size_t i = 0; i < tnn_tensor_size(x); i++) {
        double xi = tnn_tensor_cdata(x)[i], yi = tnn_tensor_cdata(y)[i];
        sx += xi;
        sxx += xi * xi;
        sy += yi;
        sxy += xi * yi;
    }
    double a = 1 + lambda, b = sx / n, d = sxx / n + lambda;
    double det = a * d - b * b;
    t[0] = (d * sy / n - b * sxy / n) / det;
    t[1] = (a * sxy / n - b * sy / n) / det;
}

static void linear_regression(double lambda)
{
    tnn_tensor *x, *y;
    line_data(200, &x, &y);
    tnn_model *m = tnn_model_new(1);
    tnn_layer *dense = tnn_dense_new(1, 1);
    ck_assert_int_eq(tnn_dense_set_init(dense, TNN_INIT_ZEROS, 0), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, dense), TNN_OK);
    tnn_optim *sgd = tnn_sgd_new(0.3f);
    ck_assert_int_eq(tnn_optim_set_weight_decay(sgd, (float)lambda), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_decay_all(sgd, 1), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, sgd), TNN_OK);
    for (int i = 0; i < 3000; i++)
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    double t[2];
    closed_form(x, y, lambda, t);
    double t0 = tnn_tensor_data(tnn_layer_param(dense, 1))[0];
    double t1 = tnn_tensor_data(tnn_layer_param(dense, 0))[0];
    ck_assert_double_eq_tol(t0, t[0], 1e-4);
    ck_assert_double_eq_tol(t1, t[1], 1e-4);
    if (lambda == 0.0) {
        ck_assert_double_eq_tol(t0, 4.0, 0.3);
        ck_assert_double_eq_tol(t1, 3.0, 0.3);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}

START_TEST(linear_regression_closed_form)
{
    linear_regression(0.0);
    linear_regression(0.1);
}
END_TEST

struct fit_log {
    int batch_events, epoch_events;
    size_t last_batches;
    double last_loss, val_loss;
    int stop_after;
};

static int log_progress(const tnn_progress *p, void *user)
{
    struct fit_log *log = user;
    if (tnn_progress_event(p) == TNN_EVENT_BATCH_END) {
        log->batch_events++;
        ck_assert_uint_eq(tnn_progress_batch(p),
                          (size_t)(log->batch_events - 1) %
                              tnn_progress_batches(p));
    } else {
        ck_assert_int_eq(tnn_progress_event(p), TNN_EVENT_EPOCH_END);
        ck_assert_int_eq(tnn_progress_epoch(p), log->epoch_events);
        log->epoch_events++;
        log->val_loss = tnn_progress_val_loss(p);
    }
    ck_assert_int_eq(tnn_progress_epochs(p), 3);
    ck_assert(tnn_progress_seconds(p) >= 0.0);
    ck_assert(isnan(tnn_progress_accuracy(p))); /* MSE */
    log->last_batches = tnn_progress_batches(p);
    log->last_loss = tnn_progress_loss(p);
    return log->stop_after && log->batch_events == log->stop_after;
}

static tnn_model *small_regressor(uint64_t seed, float dropout)
{
    tnn_model *m = tnn_model_new(1);
    tnn_model_add(m, tnn_dense_new(1, 16));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_dropout_new(dropout));
    tnn_model_add(m, tnn_batchnorm_new(16));
    tnn_model_add(m, tnn_dense_new(16, 1));
    tnn_model_set_optim(m, tnn_adam_new(0.01f));
    ck_assert_int_eq(tnn_model_set_seed(m, seed), TNN_OK);
    ck_assert_uint_eq(tnn_model_num_layers(m), 5);
    return m;
}

START_TEST(fit_batches_and_callbacks)
{
    tnn_tensor *x, *y;
    line_data(10, &x, &y);
    tnn_model *m = small_regressor(1, 0.0f);
    struct fit_log log = {0};
    /* 10 rows in batches of 4: 4, 4 and a partial 2. */
    ck_assert_int_eq(tnn_model_fit(m, x, y, x, y, 3, 4, 1, log_progress, &log),
                     TNN_OK);
    ck_assert_int_eq(log.batch_events, 9);
    ck_assert_int_eq(log.epoch_events, 3);
    ck_assert_uint_eq(log.last_batches, 3);
    double loss;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, NULL), TNN_OK);
    ck_assert_double_eq_tol(log.val_loss, loss, 1e-9);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 9);

    struct fit_log stop = {.stop_after = 2};
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 3, 4, 0, log_progress, &stop),
        TNN_OK);
    ck_assert_int_eq(stop.batch_events, 2);
    ck_assert_int_eq(stop.epoch_events, 0);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 11);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

static void train_copy(uint64_t seed, float *weights, size_t count)
{
    tnn_tensor *x, *y;
    line_data(50, &x, &y);
    tnn_model *m = small_regressor(seed, 0.3f);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 8, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(
        tnn_tensor_copy_to(tnn_layer_param(tnn_model_layer(m, 0), 0), weights,
                           count),
        TNN_OK);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}

START_TEST(same_seed_bit_identical)
{
    float a[16], b[16], c[16];
    train_copy(42, a, 16);
    train_copy(42, b, 16);
    train_copy(43, c, 16);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, c, sizeof a) != 0);
}
END_TEST

/* The optimizer's worker threads split elementwise work only: any thread
 * count gives the same bits (the matrices here are too small for the BLAS
 * to split). */
START_TEST(thread_count_does_not_change_results)
{
    int saved = tnn_get_num_threads();
    float one[16], three[16];
    ck_assert_int_eq(tnn_set_num_threads(1), TNN_OK);
    train_copy(42, one, 16);
    ck_assert_int_eq(tnn_set_num_threads(3), TNN_OK);
    train_copy(42, three, 16);
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
    ck_assert_mem_eq(one, three, sizeof one);
}
END_TEST

/* The count values of t, then the bits of loss in two more floats
 * (malloc'd), for same_bits_on_1_and_3_threads(). */
static float *values_and_loss(tnn_tensor *t, size_t count, double loss)
{
    _Static_assert(sizeof loss == 2 * sizeof(float), "a double in 2 floats");
    float *values = malloc((count + 2) * sizeof *values);
    ck_assert_ptr_nonnull(values);
    ck_assert_int_eq(tnn_tensor_copy_to(t, values, count), TNN_OK);
    memcpy(values + count, &loss, sizeof loss);
    return values;
}

/* A dense layer 1 -> width in a model seeded with seed, run calls times on
 * rows of four inputs in turn and targets in steps of 1/8: training steps
 * with Adam (returns the weights) or tnn_model_compute_gradients() (returns
 * the bias gradient); the last loss's bits after them, values_and_loss(). */
static float *run_dense_from_1(size_t width, size_t rows, uint64_t seed,
                               bool train, int calls)
{
    tnn_model *m = tnn_model_new(1);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(1, width)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_seed(m, seed), TNN_OK);
    if (train)
        ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(rows, 1);
    tnn_tensor *y = tnn_tensor_new_2d(rows, width);
    for (size_t r = 0; r < rows; r++)
        tnn_tensor_data(x)[r] = 0.5f * (float)(r % 4) - 0.75f;
    for (size_t i = 0; i < rows * width; i++)
        tnn_tensor_data(y)[i] = (float)(i % 5) * 0.125f;
    double loss = 0.0;
    for (int call = 0; call < calls; call++)
        ck_assert_int_eq(train ? tnn_model_train_batch(m, x, y, &loss)
                               : tnn_model_compute_gradients(m, x, y, &loss),
                         TNN_OK);
    tnn_layer *dense = tnn_model_layer(m, 0);
    float *values = values_and_loss(train ? tnn_layer_param(dense, 0)
                                          : tnn_layer_grad(dense, 1),
                                    width, loss);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return values;
}

/* A model large enough for the update to be split over the worker
 * threads (dense 1 -> 2^18: 524,288 parameters, 16 rows: rows times
 * parameters 2^23, lib/optim.c; products of depth 1 and 16, which no
 * BLAS splits along their sums), and its MSE over 2^22 values: 1 and 3
 * threads, same bits. Returns the weights, then the last loss's bits in
 * two more floats. (With 4 rows, as before 1.12.5, the update no longer
 * split once it stayed on one thread below 2^23 rows times
 * parameters.) */
static float *train_wide(void)
{
    return run_dense_from_1((size_t)1 << 18, 16, 9, true, 3);
}

/* The count values train() returns (malloc'd: weights, maybe a loss's
 * bits after them) are the same bits on 1 and on 3 threads. */
static void same_bits_on_1_and_3_threads(float *(*train)(void), size_t count)
{
    int saved = tnn_get_num_threads();
    ck_assert_int_eq(tnn_set_num_threads(1), TNN_OK);
    float *one = train();
    ck_assert_int_eq(tnn_set_num_threads(3), TNN_OK);
    float *three = train();
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
    ck_assert_mem_eq(one, three, count * sizeof *one);
    free(one);
    free(three);
}

START_TEST(worker_threads_give_the_same_bits)
{
    same_bits_on_1_and_3_threads(train_wide, ((size_t)1 << 18) + 2);
}
END_TEST

/* A model in the regime of a spread step (lib/optim.c): dense 256 -> 256
 * and a ReLU on 256 rows, so that its products run on the threads
 * (rows times the 65,536 weights: 2^24 multiply-adds), its update of
 * 65,792 parameters is split, and its ReLU and MSE passes over 65,536
 * values split from half their usual size (tnn__spread_min()), which on
 * 2 or 3 threads they would not otherwise. The tests cannot see which
 * way the passes ran; they hold what must not change. Weights, biases,
 * inputs and targets are small multiples of powers of two, so that every
 * sum, in the products too, is exact in any order. */
#define SPREAD_WIDTH ((size_t)256)
#define SPREAD_ROWS ((size_t)256)

static float spread_x(size_t i)
{
    return 0.25f * (float)((int)((i * 7) % 8) - 4);
}

static float spread_w(size_t i)
{
    return 0.0625f * (float)((int)((i * 5) % 7) - 3);
}

static float spread_b(size_t j)
{
    return 0.125f * (float)((int)(j % 3) - 1);
}

static float spread_y(size_t i)
{
    return 0.125f * (float)(i % 5);
}

static tnn_model *spread_model(tnn_tensor **x, tnn_tensor **y)
{
    const size_t w = SPREAD_WIDTH, n = SPREAD_ROWS;
    tnn_model *m = tnn_model_new(w);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(w, w)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    tnn_layer *dense = tnn_model_layer(m, 0);
    for (size_t i = 0; i < w * w; i++)
        tnn_tensor_data(tnn_layer_param(dense, 0))[i] = spread_w(i);
    for (size_t j = 0; j < w; j++)
        tnn_tensor_data(tnn_layer_param(dense, 1))[j] = spread_b(j);
    *x = tnn_tensor_new_2d(n, w);
    *y = tnn_tensor_new_2d(n, w);
    for (size_t i = 0; i < n * w; i++) {
        tnn_tensor_data(*x)[i] = spread_x(i);
        tnn_tensor_data(*y)[i] = spread_y(i);
    }
    return m;
}

/* One training step of spread_model(): its weights, biases and the
 * loss's bits. */
static float *spread_step(void)
{
    const size_t w = SPREAD_WIDTH;
    tnn_tensor *x, *y;
    tnn_model *m = spread_model(&x, &y);
    double loss;
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, &loss), TNN_OK);
    tnn_layer *dense = tnn_model_layer(m, 0);
    float *values = malloc((w * w + w + 2) * sizeof *values);
    ck_assert_ptr_nonnull(values);
    ck_assert_int_eq(
        tnn_tensor_copy_to(tnn_layer_param(dense, 0), values, w * w), TNN_OK);
    ck_assert_int_eq(
        tnn_tensor_copy_to(tnn_layer_param(dense, 1), values + w * w, w),
        TNN_OK);
    memcpy(values + w * w + w, &loss, sizeof loss);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return values;
}

START_TEST(spread_steps_give_the_same_bits)
{
    same_bits_on_1_and_3_threads(spread_step, SPREAD_WIDTH * SPREAD_WIDTH +
                                                  SPREAD_WIDTH + 2);
}
END_TEST

/* spread_model()'s loss and gradients on 3 threads (J = 1/(2m) * the
 * sum of squares, dJ/dp = (p - t) / m), against the same sums in double,
 * which are exact: equal, bit for bit. */
START_TEST(spread_gradients_are_exact)
{
    const size_t w = SPREAD_WIDTH, n = SPREAD_ROWS;
    int saved = tnn_get_num_threads();
    ck_assert_int_eq(tnn_set_num_threads(3), TNN_OK);
    tnn_tensor *x, *y;
    tnn_model *m = spread_model(&x, &y);
    double loss;
    int rc = tnn_model_compute_gradients(m, x, y, &loss);
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
    ck_assert_int_eq(rc, TNN_OK);
    double *g = calloc(n * w, sizeof *g);
    ck_assert_ptr_nonnull(g);
    double squares = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < w; j++) {
            double pre = spread_b(j);
            for (size_t k = 0; k < w; k++)
                pre += (double)spread_x(r * w + k) * spread_w(k * w + j);
            double diff = (pre > 0.0 ? pre : 0.0) - spread_y(r * w + j);
            squares += diff * diff;
            g[r * w + j] = pre > 0.0 ? diff / (double)n : 0.0;
        }
    ck_assert_double_eq(loss, squares / (2.0 * (double)n));
    tnn_layer *dense = tnn_model_layer(m, 0);
    const float *dw = tnn_tensor_data(tnn_layer_grad(dense, 0));
    const float *db = tnn_tensor_data(tnn_layer_grad(dense, 1));
    for (size_t j = 0; j < w; j++) {
        double gb = 0.0;
        for (size_t r = 0; r < n; r++)
            gb += g[r * w + j];
        ck_assert_float_eq(db[j], (float)gb);
        for (size_t k = 0; k < w; k++) {
            double gw = 0.0;
            for (size_t r = 0; r < n; r++)
                gw += (double)spread_x(r * w + k) * g[r * w + j];
            ck_assert_float_eq(dw[k * w + j], (float)gw);
        }
    }
    free(g);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* A dense layer 1 -> 64 at 4,100 rows: its bias gradient is past the
 * size where it adds in row chunks, which a model's threads share
 * (lib/dense.c), the last chunk short. Its products have depth 1, so that
 * nothing else in the bias gradient can follow the thread count (a
 * product summing over the rows may: its weight gradient is not
 * compared). Two calls of tnn_model_compute_gradients(), which add up;
 * returns the bias gradient and the last loss's bits. */
static float *long_batch_bias_gradient(void)
{
    return run_dense_from_1(64, 4100, 4, false, 2);
}

START_TEST(long_batch_bias_gradients_same_bits)
{
    same_bits_on_1_and_3_threads(long_batch_bias_gradient, 64 + 2);
}
END_TEST

/* Each batch's running loss, from a tnn_model_fit callback. */
struct batch_losses {
    double loss[8];
    int count;
};

static int record_batch_loss(const tnn_progress *p, void *user)
{
    struct batch_losses *b = user;
    if (tnn_progress_event(p) == TNN_EVENT_BATCH_END && b->count < 8)
        b->loss[b->count++] = tnn_progress_loss(p);
    return 0;
}

/* Two epochs of a shuffled fit, batches of 32 of 80 rows: the losses into
 * *losses, the weights returned (malloc'd). */
static float *fit_shuffled_wide(struct batch_losses *losses)
{
    const size_t rows = 80, width = 1024, outs = 256;
    tnn_model *m = tnn_model_new(width);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(width, outs)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.01f)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_seed(m, 5), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(rows, width);
    tnn_tensor *y = tnn_tensor_new_2d(rows, outs);
    for (size_t i = 0; i < rows * width; i++)
        tnn_tensor_data(x)[i] = (float)((i * 7919) % 101) / 101.0f - 0.5f;
    for (size_t i = 0; i < rows * outs; i++)
        tnn_tensor_data(y)[i] = (float)(i % 4) * 0.25f;
    *losses = (struct batch_losses){{0}, 0};
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 32, 1,
                                   record_batch_loss, losses),
                     TNN_OK);
    float *weights = malloc(width * outs * sizeof *weights);
    ck_assert_ptr_nonnull(weights);
    ck_assert_int_eq(
        tnn_tensor_copy_to(tnn_layer_param(tnn_model_layer(m, 0), 0), weights,
                           width * outs),
        TNN_OK);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return weights;
}

/* tnn_model_fit copies each shuffled batch's rows on several threads
 * when the step's update is split (2^18 parameters and more, 2^23 rows
 * times parameters: here 262,400 and 32 rows) and a batch holds 2^14
 * values (32 rows of 1024 inputs: three ranges on 3 threads). This
 * model's products may sum in another order on 3 threads, so the runs
 * on 1 and 3 threads agree to float rounding, not bit for bit: every
 * batch's loss and the trained weights, which a row copied twice or left
 * out would move by far more. */
START_TEST(shuffled_batches_copied_on_threads_give_the_same_rows)
{
    int saved = tnn_get_num_threads();
    struct batch_losses on_one, on_three;
    ck_assert_int_eq(tnn_set_num_threads(1), TNN_OK);
    float *one = fit_shuffled_wide(&on_one);
    ck_assert_int_eq(tnn_set_num_threads(3), TNN_OK);
    float *three = fit_shuffled_wide(&on_three);
    ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
    ck_assert_int_eq(on_one.count, 6);
    ck_assert_int_eq(on_three.count, 6);
    for (int b = 0; b < 6; b++)
        ck_assert_msg(fabs(on_one.loss[b] - on_three.loss[b]) <=
                          1e-6 * on_one.loss[b],
                      "batch %d: loss %.9g on 1 thread, %.9g on 3", b,
                      on_one.loss[b], on_three.loss[b]);
    for (size_t i = 0; i < 1024 * 256; i++)
        ck_assert_msg(fabsf(one[i] - three[i]) <= 1e-6f,
                      "weight %zu: %.9g on 1 thread, %.9g on 3", i,
                      (double)one[i], (double)three[i]);
    free(one);
    free(three);
}
END_TEST

/* After the first step, training allocates nothing. */
START_TEST(no_allocation_in_steady_state)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_tensor *x, *y;
    line_data(64, &x, &y);
    tnn_model *m = small_regressor(5, 0.2f);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    long after_first = a.calls;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    ck_assert_int_eq(a.calls, after_first);
    /* fit allocates its permutation once, whatever the number of steps. */
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 3, 8, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(a.calls, after_first + 1);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    ck_assert_int_eq(a.live, 0);
    counting_remove();
}
END_TEST

START_TEST(frozen_layer_keeps_weights)
{
    tnn_tensor *x, *y;
    line_data(32, &x, &y);
    tnn_model *m = small_regressor(9, 0.0f);
    tnn_layer *first = tnn_model_layer(m, 0);
    ck_assert_int_eq(tnn_layer_set_trainable(first, 0), TNN_OK);
    tnn_tensor *before = tnn_tensor_clone(tnn_layer_param(first, 0));
    tnn_tensor *last_before =
        tnn_tensor_clone(tnn_layer_param(tnn_model_layer(m, 4), 0));
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 8, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(before),
                     tnn_tensor_data(tnn_layer_param(first, 0)), 16 * 4);
    ck_assert(
        memcmp(tnn_tensor_data(last_before),
               tnn_tensor_data(tnn_layer_param(tnn_model_layer(m, 4), 0)),
               16 * 4) != 0);
    char text[1024];
    size_t needed;
    ck_assert_int_eq(tnn_model_summary(m, text, sizeof text, &needed), TNN_OK);
    ck_assert_ptr_nonnull(strstr(text, "(frozen)"));
    /* The frozen dense layer's 32 and, since 1.7, batch-norm's 32 running
     * statistics. */
    ck_assert_ptr_nonnull(strstr(text, "Non-trainable params: 64"));
    tnn_tensor_free(before);
    tnn_tensor_free(last_before);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Batch-norm's running statistics count as non-trainable parameters in
 * the summary, as Keras counts them: dense 3 -> 4 (16), batch-norm of 4
 * (8 learned, 8 running), dense 4 -> 2 (10), that one frozen. */
START_TEST(summary_counts_running_statistics)
{
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, 4)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(4)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(4, 2)), TNN_OK);
    ck_assert_int_eq(tnn_layer_set_trainable(tnn_model_layer(m, 2), 0),
                     TNN_OK);
    char text[1024];
    ck_assert_int_eq(tnn_model_summary(m, text, sizeof text, NULL), TNN_OK);
    ck_assert_ptr_nonnull(
        strstr(text, "batchnorm    (None, 4)                        16\n"));
    ck_assert_ptr_nonnull(strstr(text, "Total params: 42\n"));
    ck_assert_ptr_nonnull(strstr(text, "Trainable params: 24\n"));
    ck_assert_ptr_nonnull(strstr(text, "Non-trainable params: 18\n"));
    ck_assert_uint_eq(tnn_model_num_params(m), 34);
    tnn_model_free(m);
}
END_TEST

START_TEST(summary_and_counts)
{
    tnn_model *m = tnn_model_new(784);
    tnn_model_add(m, tnn_dense_new(784, 512));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_dropout_new(0.2f));
    tnn_model_add(m, tnn_dense_new(512, 10));
    tnn_model_add(m, tnn_softmax_new());
    ck_assert_uint_eq(tnn_model_num_params(m), 784 * 512 + 512 + 5130);
    ck_assert_uint_eq(tnn_model_out_features(m), 10);
    ck_assert_uint_eq(tnn_model_in_features(m), 784);
    char text[2048];
    size_t needed;
    ck_assert_int_eq(tnn_model_summary(m, text, sizeof text, &needed), TNN_OK);
    ck_assert_uint_eq(strlen(text), needed);
    ck_assert_ptr_nonnull(strstr(text, "dense"));
    ck_assert_ptr_nonnull(strstr(text, "(None, 512)"));
    ck_assert_ptr_nonnull(strstr(text, "401920"));
    ck_assert_ptr_nonnull(strstr(text, "Total params: 407050"));
    /* A short buffer is truncated but terminated, and says what it
     * needs. */
    char small[16];
    size_t again;
    ck_assert_int_eq(tnn_model_summary(m, small, sizeof small, &again),
                     TNN_OK);
    ck_assert_uint_eq(again, needed);
    ck_assert_uint_eq(strlen(small), 15);
    ck_assert_int_eq(tnn_model_summary(m, NULL, 0, &again), TNN_OK);
    ck_assert_uint_eq(again, needed);
    tnn_model_free(m);
}
END_TEST

START_TEST(predict_any_batch_size)
{
    tnn_model *m = tnn_model_new(3);
    tnn_model_add(m, tnn_dense_new(3, 5));
    tnn_model_add(m, tnn_sigmoid_new());
    tnn_model_add(m, tnn_dense_new(5, 2));
    tnn_rng *rng = tnn_rng_new(4);
    tnn_tensor *x = tnn_tensor_new_2d(1000, 3);
    tnn_tensor_rand_normal(x, rng, 0, 1);
    tnn_tensor *all = tnn_tensor_new_2d(1000, 2);
    ck_assert_int_eq(tnn_model_predict(m, x, all), TNN_OK);
    tnn_tensor *one = tnn_tensor_new_2d(1, 3), *out = tnn_tensor_new_2d(1, 2);
    for (size_t r = 0; r < 1000; r += 111) {
        tnn_tensor_copy_from(one, tnn_tensor_cdata(x) + 3 * r, 3);
        ck_assert_int_eq(tnn_model_predict(m, one, out), TNN_OK);
        for (int j = 0; j < 2; j++)
            ck_assert_float_eq_tol(tnn_tensor_data(out)[j],
                                   tnn_tensor_data(all)[2 * r + (size_t)j],
                                   1e-6f);
    }
    tnn_tensor *wrong = tnn_tensor_new_2d(999, 2);
    ck_assert_int_eq(tnn_model_predict(m, x, wrong), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_predict");
    tnn_tensor_free(wrong);
    tnn_tensor_free(one);
    tnn_tensor_free(out);
    tnn_tensor_free(x);
    tnn_tensor_free(all);
    tnn_rng_free(rng);
    tnn_model_free(m);
}
END_TEST

START_TEST(divergence_is_reported)
{
    tnn_tensor *x, *y;
    line_data(20, &x, &y);
    tnn_model *m = tnn_model_new(1);
    tnn_model_add(m, tnn_dense_new(1, 1));
    tnn_model_set_optim(m, tnn_sgd_new(1e6f));
    ck_assert_int_eq(tnn_model_set_check_finite(m, 1), TNN_OK);
    int rc = tnn_model_fit(m, x, y, NULL, NULL, 50, 5, 0, NULL, NULL);
    ck_assert_int_eq(rc, TNN_E_NUMERIC);
    assert_failed_with(TNN_E_NUMERIC, "tnn_model_fit");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "epoch "));
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "step "));
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

START_TEST(add_checks_shapes_and_takes_ownership)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = tnn_model_new(784);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(784, 512)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(784, 10)), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_add");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "expects 784 inputs"));
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "gives 512"));
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(10)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(NULL, tnn_relu_new()), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_add(m, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_set_optim(NULL, tnn_sgd_new(0.1f)),
                     TNN_E_INVALID);
    ck_assert_uint_eq(tnn_model_num_layers(m), 1);
    tnn_model_free(m);
    ck_assert_int_eq(a.live, 0); /* rejected layers were freed */
    counting_remove();
}
END_TEST

START_TEST(model_misuse)
{
    ck_assert_ptr_null(tnn_model_new(0));
    assert_failed_with(TNN_E_INVALID, "tnn_model_new");
    tnn_model *m = tnn_model_new(2);
    tnn_tensor *x = tnn_tensor_new_2d(4, 2), *y = tnn_tensor_new_2d(4, 1);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_STATE);
    assert_failed_with(TNN_E_STATE, "tnn_model_train_batch");
    tnn_model_add(m, tnn_dense_new(2, 1));
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_STATE);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "optimizer"));
    tnn_model_set_optim(m, tnn_sgd_new(0.1f));
    tnn_tensor *bad_x = tnn_tensor_new_2d(4, 3),
               *bad_y = tnn_tensor_new_2d(3, 1);
    ck_assert_int_eq(tnn_model_train_batch(m, bad_x, y, NULL), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_train_batch(m, x, bad_y, NULL), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_train_batch");
    ck_assert_int_eq(tnn_model_train_batch(m, NULL, y, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 0, 2, 0, NULL, NULL),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 1, 0, 0, NULL, NULL),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_fit(m, x, y, x, NULL, 1, 2, 0, NULL, NULL),
                     TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_model_fit");
    ck_assert_int_eq(tnn_model_set_loss(m, 9), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_set_mode(m, 2), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_set_check_finite(m, 5), TNN_E_INVALID);
    /* Cross-entropy labels must be class indices of the output width. */
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    size_t four = 4;
    tnn_tensor *labels = tnn_tensor_new(1, &four);
    tnn_tensor_fill(labels, 1.0f); /* one output: only class 0 exists */
    ck_assert_int_eq(tnn_model_train_batch(m, x, labels, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_evaluate(NULL, x, y, NULL, NULL),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_predict(m, x, NULL), TNN_E_INVALID);
    tnn_model_free(NULL);
    tnn_tensor_free(labels);
    tnn_tensor_free(bad_x);
    tnn_tensor_free(bad_y);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Add a layer whose constructor may have failed, passing its code on. */
static int add_made(tnn_model *m, tnn_layer *layer)
{
    return layer ? tnn_model_add(m, layer) : tnn_last_error_code();
}

/* Fail every allocation in turn while building and training a small
 * model: each failure is reported, and nothing leaks. */
START_TEST(allocation_failure_sweep)
{
    struct counting_allocator a;
    tnn_tensor *x, *y;
    line_data(16, &x, &y);
    for (long n = 1;; n++) {
        counting_install(&a, n);
        tnn_model *m = tnn_model_new(1);
        int rc = m ? TNN_OK : TNN_E_NOMEM;
        if (rc == TNN_OK)
            rc = add_made(m, tnn_dense_new(1, 8));
        if (rc == TNN_OK)
            rc = add_made(m, tnn_batchnorm_new(8));
        if (rc == TNN_OK)
            rc = add_made(m, tnn_dropout_new(0.5f));
        if (rc == TNN_OK)
            rc = add_made(m, tnn_dense_new(8, 1));
        if (rc == TNN_OK)
            rc = tnn_model_set_optim(m, tnn_adam_new(0.01f));
        if (rc == TNN_OK && !tnn_model_optim(m))
            rc = TNN_E_NOMEM;
        if (rc == TNN_OK)
            rc = tnn_model_fit(m, x, y, x, y, 2, 4, 1, NULL, NULL);
        tnn_model_free(m);
        long calls = a.calls;
        ck_assert_int_eq(a.live, 0);
        counting_remove();
        if (calls < n) { /* every allocation succeeded */
            ck_assert_int_eq(rc, TNN_OK);
            break;
        }
        ck_assert_msg(rc == TNN_E_NOMEM, "failing allocation %ld gave %d", n,
                      rc);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* A fit callback may read the model but not change it. */
static int meddle(const tnn_progress *p, void *user)
{
    tnn_model *m = user;
    (void)p;
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_E_STATE);
    assert_failed_with(TNN_E_STATE, "tnn_model_add");
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY),
                     TNN_E_STATE);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(1.0f)), TNN_E_STATE);
    ck_assert_int_eq(tnn_model_set_seed(m, 1), TNN_E_STATE);
    tnn_tensor *x = tnn_tensor_new_2d(2, 1), *out = tnn_tensor_new_2d(2, 1);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_E_STATE);
    ck_assert_int_eq(tnn_model_fit(m, x, out, NULL, NULL, 1, 1, 0, NULL, NULL),
                     TNN_E_STATE);
    ck_assert_uint_eq(tnn_model_num_layers(m), 5); /* reading is fine */
    tnn_tensor_free(x);
    tnn_tensor_free(out);
    return 0;
}

START_TEST(callback_cannot_change_the_model)
{
    tnn_tensor *x, *y;
    line_data(12, &x, &y);
    tnn_model *m = small_regressor(3, 0.1f);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 1, 4, 1, meddle, m),
                     TNN_OK);
    /* After fit, the model is open to changes again. */
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* A bad label or a non-finite loss changes nothing: not the batch-norm
 * statistics, not the weights. */
START_TEST(failed_steps_change_nothing)
{
    tnn_model *m = tnn_model_new(2);
    tnn_model_add(m, tnn_dense_new(2, 3));
    tnn_model_add(m, tnn_batchnorm_new(3));
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_sgd_new(0.1f));
    tnn_model_set_check_finite(m, 1);
    tnn_tensor *x = tnn_tensor_new_2d(4, 2);
    size_t four = 4;
    tnn_tensor *y = tnn_tensor_new(1, &four);
    tnn_tensor_fill(x, 1.5f);
    tnn_tensor_data(x)[1] = -2.0f;
    tnn_tensor_data(y)[3] = 3.0f; /* no class 3 among 3 outputs */
    tnn_tensor *mean = tnn_batchnorm_running_mean(tnn_model_layer(m, 1));
    tnn_tensor *w =
        tnn_tensor_clone(tnn_layer_param(tnn_model_layer(m, 0), 0));
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "row 3"));
    for (int j = 0; j < 3; j++)
        ck_assert_float_eq(tnn_tensor_data(mean)[j], 0.0f);
    tnn_tensor_data(y)[3] = 1.0f;
    tnn_tensor_data(x)[0] = INFINITY;
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_NUMERIC);
    assert_failed_with(TNN_E_NUMERIC, "tnn_model_train_batch");
    ck_assert_mem_eq(
        tnn_tensor_data(w),
        tnn_tensor_data(tnn_layer_param(tnn_model_layer(m, 0), 0)), 6 * 4);
    /* out may not alias x. */
    tnn_tensor *xy = tnn_tensor_new_2d(4, 3);
    tnn_tensor *view = tnn_tensor_new_2d(4, 2);
    ck_assert_int_eq(tnn_model_predict(m, view, view), TNN_E_SHAPE);
    tnn_tensor_free(view);
    tnn_model *wide = tnn_model_new(3);
    tnn_model_add(wide, tnn_dense_new(3, 3));
    ck_assert_int_eq(tnn_model_predict(wide, xy, xy), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_model_predict");
    tnn_model_free(wide);
    tnn_tensor_free(xy);
    tnn_tensor_free(w);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Every parameter of m, flattened into a new buffer (caller frees). */
static float *all_params(tnn_model *m, size_t *count)
{
    size_t n = 0;
    for (size_t i = 0; i < tnn_model_num_layers(m); i++)
        for (int p = 0; p < tnn_layer_num_params(tnn_model_layer(m, i)); p++)
            n += tnn_tensor_size(tnn_layer_param(tnn_model_layer(m, i), p));
    float *v = malloc(n * sizeof *v), *at = v;
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < tnn_model_num_layers(m); i++)
        for (int p = 0; p < tnn_layer_num_params(tnn_model_layer(m, i)); p++) {
            tnn_tensor *t = tnn_layer_param(tnn_model_layer(m, i), p);
            memcpy(at, tnn_tensor_cdata(t), tnn_tensor_size(t) * sizeof *at);
            at += tnn_tensor_size(t);
        }
    *count = n;
    return v;
}

static void assert_same_params(tnn_model *a, tnn_model *b)
{
    size_t na, nb;
    float *va = all_params(a, &na), *vb = all_params(b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(va, vb, na * sizeof *va);
    free(va);
    free(vb);
}

/* dense -> batchnorm -> dropout -> dense, SGD with momentum: every kind of
 * state a step touches (parameters, velocities, running statistics, the
 * generator's draws for dropout). */
static tnn_model *stateful_model(void)
{
    tnn_model *m = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(4, 6)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(6)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dropout_new(0.5f)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(6, 2)), TNN_OK);
    tnn_optim *sgd = tnn_sgd_new(0.05f);
    ck_assert_int_eq(tnn_sgd_set_momentum(sgd, 0.9f), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, sgd), TNN_OK);
    ck_assert_int_eq(tnn_model_set_seed(m, 5), TNN_OK);
    return m;
}

static void fill_ramp(tnn_tensor *t, float scale)
{
    for (size_t i = 0; i < tnn_tensor_size(t); i++)
        tnn_tensor_data(t)[i] = scale * (float)((int)(i % 7) - 3);
}

/* A batch of 8 rows for stateful_model(): ramps of inputs and targets. */
static void ramp_batch(tnn_tensor **x, tnn_tensor **y)
{
    *x = tnn_tensor_new_2d(8, 4);
    *y = tnn_tensor_new_2d(8, 2);
    fill_ramp(*x, 0.5f);
    fill_ramp(*y, 0.25f);
}

/* a and b train on for steps steps of (x, y) and agree bit for bit. */
static void assert_train_alike(tnn_model *a, tnn_model *b, const tnn_tensor *x,
                               const tnn_tensor *y, int steps)
{
    for (int i = 0; i < steps; i++) {
        ck_assert_int_eq(tnn_model_train_batch(a, x, y, NULL), TNN_OK);
        ck_assert_int_eq(tnn_model_train_batch(b, x, y, NULL), TNN_OK);
    }
    assert_same_params(a, b);
}

/* compute_gradients then apply_gradients is train_batch: the same bits
 * in the parameters, the optimizer's state and the losses, over steps
 * that draw dropout masks and move batch-norm statistics. */
START_TEST(split_step_is_train_batch)
{
    tnn_model *a = stateful_model(), *b = stateful_model();
    tnn_tensor *x, *y;
    ramp_batch(&x, &y);
    for (int step = 0; step < 4; step++) {
        double la, lb;
        ck_assert_int_eq(tnn_model_train_batch(a, x, y, &la), TNN_OK);
        ck_assert_int_eq(tnn_model_compute_gradients(b, x, y, &lb), TNN_OK);
        ck_assert_int_eq(tnn_model_apply_gradients(b), TNN_OK);
        ck_assert_msg(la == lb, "step %d: loss %a against %a", step, la, lb);
    }
    assert_same_params(a, b);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(b)), 4);
    /* And they go on alike: optimizer state and generator agree too. */
    assert_train_alike(a, b, x, y, 2);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(a);
    tnn_model_free(b);
}
END_TEST

static bool all_zero(const tnn_tensor *t)
{
    for (size_t i = 0; i < tnn_tensor_size(t); i++)
        if (tnn_tensor_cdata(t)[i] != 0.0f)
            return false;
    return true;
}

static int grads_zero_in_callback(const tnn_progress *p, void *user)
{
    (void)p;
    tnn_model *m = user;
    for (size_t i = 0; i < tnn_model_num_layers(m); i++)
        for (int k = 0; k < tnn_layer_num_params(tnn_model_layer(m, i)); k++)
            ck_assert(all_zero(tnn_layer_grad(tnn_model_layer(m, i), k)));
    return 0;
}

/* What tnn_layer_grad() holds, as the header says: the batch's gradient
 * after compute (added: twice the same batch gives twice the gradient),
 * zero after apply, train_batch and inside fit's callbacks; values
 * written in between are what the update uses. */
START_TEST(gradients_are_visible_between_compute_and_apply)
{
    tnn_model *m = tnn_model_new(4);
    tnn_layer *d1 = tnn_dense_new(4, 5), *d2 = tnn_dense_new(5, 2);
    ck_assert_int_eq(tnn_model_add(m, d1), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_tanh_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, d2), TNN_OK);
    ck_assert_int_eq(tnn_model_set_seed(m, 3), TNN_OK);
    tnn_tensor *x, *y;
    x = tnn_tensor_new_2d(8, 4);
    y = tnn_tensor_new_2d(8, 2);
    fill_ramp(x, 0.5f);
    fill_ramp(y, 0.25f);
    /* No optimizer needed to compute. */
    ck_assert_int_eq(tnn_model_compute_gradients(m, x, y, NULL), TNN_OK);
    tnn_tensor *g = tnn_layer_grad(d1, 0);
    size_t n = tnn_tensor_size(g);
    float *once = malloc(n * sizeof *once);
    memcpy(once, tnn_tensor_cdata(g), n * sizeof *once);
    ck_assert(!all_zero(g));
    ck_assert_int_eq(tnn_model_compute_gradients(m, x, y, NULL), TNN_OK);
    /* Within rounding: a BLAS adds the product into what the gradient held
     * inside its own sums (beta 1). */
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq_tol(tnn_tensor_cdata(g)[i], 2.0f * once[i],
                               1e-6f * fabsf(once[i]) + 1e-9f);
    /* Zeroed by hand, the update changes nothing (plain SGD), but counts. */
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    size_t before_count;
    float *before = all_params(m, &before_count);
    ck_assert_int_eq(tnn_layer_zero_grad(d1), TNN_OK);
    ck_assert_int_eq(tnn_layer_zero_grad(d2), TNN_OK);
    ck_assert_int_eq(tnn_model_apply_gradients(m), TNN_OK);
    size_t after_count;
    float *after = all_params(m, &after_count);
    ck_assert_mem_eq(before, after, before_count * sizeof *before);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 1);
    /* A gradient written by hand: the update is -lr times it. */
    tnn_tensor_data(tnn_layer_grad(d2, 1))[0] = 2.0f;
    float b0 = tnn_tensor_data(tnn_layer_param(d2, 1))[0];
    ck_assert_int_eq(tnn_model_apply_gradients(m), TNN_OK);
    ck_assert_float_eq(tnn_tensor_data(tnn_layer_param(d2, 1))[0],
                       b0 - 0.1f * 2.0f);
    ck_assert(all_zero(tnn_layer_grad(d2, 1)));
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    ck_assert(all_zero(g));
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 1, 3, 1, grads_zero_in_callback, m),
        TNN_OK);
    free(once);
    free(before);
    free(after);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* With check_finite on, a step whose update would overflow returns
 * TNN_E_NUMERIC and leaves the model exactly as before the step: a clone
 * taken before it and the model then train on bit-identically. */
START_TEST(failed_update_changes_nothing)
{
    tnn_model *m = stateful_model();
    ck_assert_int_eq(tnn_model_set_check_finite(m, 1), TNN_OK);
    tnn_tensor *x, *y;
    ramp_batch(&x, &y);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    tnn_model *before = tnn_model_clone(m);
    ck_assert_ptr_nonnull(before);
    /* A finite loss and finite gradients, but an update beyond FLT_MAX. */
    ck_assert_int_eq(tnn_optim_set_lr(tnn_model_optim(m), 3e38f), TNN_OK);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_NUMERIC);
    assert_failed_with(TNN_E_NUMERIC, "tnn_model_train_batch");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "step 2"));
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "nothing was changed"));
    assert_same_params(m, before);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 1);
    for (size_t i = 0; i < tnn_model_num_layers(m); i++)
        for (int p = 0; p < tnn_layer_num_params(tnn_model_layer(m, i)); p++) {
            tnn_tensor *g = tnn_layer_grad(tnn_model_layer(m, i), p);
            for (size_t k = 0; k < tnn_tensor_size(g); k++)
                ck_assert_float_eq(tnn_tensor_data(g)[k], 0.0f);
        }
    tnn_tensor *rm = tnn_batchnorm_running_mean(tnn_model_layer(m, 1));
    tnn_tensor *rm0 = tnn_batchnorm_running_mean(tnn_model_layer(before, 1));
    ck_assert_mem_eq(tnn_tensor_cdata(rm), tnn_tensor_cdata(rm0),
                     6 * sizeof(float));
    /* Velocities and the generator: the next steps agree bit for bit. */
    ck_assert_int_eq(tnn_optim_set_lr(tnn_model_optim(m), 0.05f), TNN_OK);
    assert_train_alike(m, before, x, y, 3);
    tnn_model_free(before);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Without check_finite, a NaN or infinite loss still stops training with
 * TNN_E_NUMERIC before the update, in train_batch and in fit, and the
 * model is as before the failing step. */
START_TEST(divergence_is_loud_by_default)
{
    tnn_model *m = stateful_model();
    tnn_tensor *x, *y;
    ramp_batch(&x, &y);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    tnn_model *before = tnn_model_clone(m);
    tnn_tensor_data(y)[5] = NAN;
    double loss = 123.0;
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, &loss), TNN_E_NUMERIC);
    assert_failed_with(TNN_E_NUMERIC, "tnn_model_train_batch");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "loss is"));
    ck_assert_double_eq(loss, 123.0);
    assert_same_params(m, before);
    tnn_tensor_data(y)[5] = 0.0f;
    tnn_tensor_data(x)[9] = INFINITY;
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 4, 0, NULL, NULL),
                     TNN_E_NUMERIC);
    assert_failed_with(TNN_E_NUMERIC, "tnn_model_fit");
    /* Row 2 of 8 holds the infinity: the first batch of 4 fails. */
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "epoch 1, step 1"));
    assert_same_params(m, before);
    tnn_tensor_data(x)[9] = 1.0f;
    assert_train_alike(m, before, x, y, 2);
    tnn_model_free(before);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* A validation set of the wrong shape is named as such. */
START_TEST(fit_names_the_validation_set)
{
    tnn_model *m = stateful_model();
    tnn_tensor *x = tnn_tensor_new_2d(8, 4), *y = tnn_tensor_new_2d(8, 2);
    tnn_tensor *xv = tnn_tensor_new_2d(5, 4), *yv = tnn_tensor_new_2d(4, 2);
    tnn_tensor *xw = tnn_tensor_new_2d(5, 3);
    ck_assert_int_eq(tnn_model_fit(m, x, y, xv, yv, 1, 4, 0, NULL, NULL),
                     TNN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "y_val must have 5 rows"));
    ck_assert_int_eq(tnn_model_fit(m, x, y, xw, yv, 1, 4, 0, NULL, NULL),
                     TNN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "x_val must be"));
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 0);
    tnn_tensor_free(xw);
    tnn_tensor_free(xv);
    tnn_tensor_free(yv);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Probability labels are checked before any work, as class indices are:
 * fit refuses a negative entry in its last batch before the first step,
 * and train_batch leaves the batch-norm statistics alone. */
START_TEST(probability_labels_checked_before_work)
{
    tnn_model *m = stateful_model();
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(8, 4), *y = tnn_tensor_new_2d(8, 2);
    fill_ramp(x, 0.5f);
    for (size_t r = 0; r < 8; r++)
        tnn_tensor_data(y)[2 * r + r % 2] = 1.0f;
    tnn_tensor_data(y)[15] = -0.5f;
    tnn_model *before = tnn_model_clone(m);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 0, NULL, NULL),
                     TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "row 7, column 1"));
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 0);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_INVALID);
    tnn_tensor *rm = tnn_batchnorm_running_mean(tnn_model_layer(m, 1));
    for (int j = 0; j < 6; j++)
        ck_assert_float_eq(tnn_tensor_data(rm)[j], 0.0f);
    assert_same_params(m, before);
    tnn_model_free(before);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* The per-sample bound is a setting of the model: a clone keeps it, a
 * loaded file starts at the default. */
START_TEST(sample_bound_cloned_not_saved)
{
    tnn_model *m = stateful_model();
    ck_assert_uint_eq(tnn_model_max_sample_values(m),
                      TNN_DEFAULT_MAX_SAMPLE_VALUES);
    ck_assert_int_eq(tnn_model_set_max_sample_values(m, 40), TNN_OK);
    tnn_model *copy = tnn_model_clone(m);
    ck_assert_ptr_nonnull(copy);
    ck_assert_uint_eq(tnn_model_max_sample_values(copy), 40);
    /* 4 inputs + (6 + 6) + (6 + 6 + 6 normalised) + (6 + 6 + 6 mask) +
     * (2 + 2) = 56 values per sample, 52 up to the dropout: above 40, so
     * prediction refuses. */
    tnn_tensor *x = tnn_tensor_new_2d(1, 4), *out = tnn_tensor_new_2d(1, 2);
    ck_assert_int_eq(tnn_model_predict(copy, x, out), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "limit is 40"));
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "layer 2 (dropout"));
    ck_assert_int_eq(tnn_model_set_max_sample_values(copy, 56), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(copy, x, out), TNN_OK);
    ck_assert_int_eq(tnn_model_set_max_sample_values(copy, 55), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(copy, x, out), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "layer 3 (dense"));
    size_t size = 0;
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, NULL, 0, &size), TNN_OK);
    void *image = malloc(size);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, image, size, NULL), TNN_OK);
    tnn_model *loaded = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &loaded), TNN_OK);
    ck_assert_uint_eq(tnn_model_max_sample_values(loaded),
                      TNN_DEFAULT_MAX_SAMPLE_VALUES);
    free(image);
    tnn_model_free(loaded);
    tnn_tensor_free(x);
    tnn_tensor_free(out);
    tnn_model_free(copy);
    tnn_model_free(m);
}
END_TEST

static void *saved_image(const tnn_model *m, size_t *size)
{
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, size), TNN_OK);
    void *image = malloc(*size);
    ck_assert_ptr_nonnull(image);
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, image, *size, NULL),
        TNN_OK);
    return image;
}

/* A model's first step makes the optimizer's state; when that step fails
 * the state goes again, so that the model saves the same bytes as
 * before it (SGD with momentum and Adam). */
START_TEST(failed_first_step_leaves_no_state)
{
    for (int adam = 0; adam <= 1; adam++) {
        tnn_model *m = stateful_model();
        if (adam)
            ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)),
                             TNN_OK);
        tnn_tensor *x = tnn_tensor_new_2d(8, 4), *y = tnn_tensor_new_2d(8, 2);
        fill_ramp(x, 0.5f);
        tnn_tensor_data(y)[3] = NAN;
        size_t before_size, after_size;
        void *before = saved_image(m, &before_size);
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_NUMERIC);
        void *after = saved_image(m, &after_size);
        ck_assert_uint_eq(after_size, before_size);
        ck_assert_mem_eq(after, before, before_size);
        free(before);
        free(after);
        tnn_tensor_free(x);
        tnn_tensor_free(y);
        tnn_model_free(m);
    }
}
END_TEST

/* A layer added after training makes the optimizer's state obsolete: the
 * model saves and clones without it, and trains on with fresh state. */
START_TEST(layer_added_after_training_saves)
{
    tnn_model *m = stateful_model();
    tnn_tensor *x, *y;
    ramp_batch(&x, &y);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_identity_new()), TNN_OK);
    size_t size;
    void *image = saved_image(m, &size);
    tnn_model *loaded = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &loaded), TNN_OK);
    tnn_model *copy = tnn_model_clone(m);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(loaded)), 1);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
        ck_assert_int_eq(tnn_model_train_batch(loaded, x, y, NULL), TNN_OK);
        ck_assert_int_eq(tnn_model_train_batch(copy, x, y, NULL), TNN_OK);
    }
    assert_same_params(m, loaded);
    assert_same_params(m, copy);
    free(image);
    tnn_model_free(loaded);
    tnn_model_free(copy);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Flatten moves no data: it adds nothing to the per-sample count. */
START_TEST(sample_bound_skips_flatten)
{
    tnn_model *m = tnn_model_new_image(1, 4, 4);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(16, 2)), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(1, 16), *out = tnn_tensor_new_2d(1, 2);
    /* 16 inputs + 0 + (2 + 2). */
    ck_assert_int_eq(tnn_model_set_max_sample_values(m, 20), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_OK);
    ck_assert_int_eq(tnn_model_set_max_sample_values(m, 19), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "layer 1 (dense"));
    tnn_tensor_free(x);
    tnn_tensor_free(out);
    tnn_model_free(m);
}
END_TEST

/* A layer of a model run alone keeps batch-norm's statistics current, as
 * before the deferred update; the model's training forward does too. */
START_TEST(training_forward_updates_statistics)
{
    tnn_model *m = stateful_model();
    tnn_tensor *x = tnn_tensor_new_2d(8, 4), *out = tnn_tensor_new_2d(8, 2);
    fill_ramp(x, 0.5f);
    tnn_tensor *rm = tnn_batchnorm_running_mean(tnn_model_layer(m, 1));
    ck_assert_int_eq(tnn_model_set_mode(m, TNN_MODE_TRAIN), TNN_OK);
    ck_assert_int_eq(tnn_model_forward(m, x, out), TNN_OK);
    float moved = 0.0f;
    for (int j = 0; j < 6; j++)
        moved += fabsf(tnn_tensor_data(rm)[j]);
    ck_assert_float_gt(moved, 0.0f);
    tnn_tensor_free(x);
    tnn_tensor_free(out);
    tnn_model_free(m);
}
END_TEST

/* Reseeding a trained model makes it the model a fresh one with that seed
 * would be, optimizer included. */
START_TEST(reseed_restarts_training)
{
    float fresh[16], again[16];
    train_copy(21, fresh, 16);
    tnn_tensor *x, *y;
    line_data(50, &x, &y);
    tnn_model *m = small_regressor(5, 0.3f);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 1, 8, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_set_seed(m, 21), TNN_OK);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 0);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 8, 1, NULL, NULL),
                     TNN_OK);
    tnn_tensor_copy_to(tnn_layer_param(tnn_model_layer(m, 0), 0), again, 16);
    ck_assert_mem_eq(fresh, again, sizeof fresh);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* conv 1x1 -> ReLU [-> identity, which keeps the two apart] -> 2x2 max
 * pooling [-> a second one] -> flatten -> dense 4, SGD, on 2x5x7 images.
 * The 1x1 convolution keeps a NaN in its input pixel. */
static tnn_model *relu_pool_model(bool apart, bool second)
{
    tnn_model *m = tnn_model_new_image(2, 5, 7);
    ck_assert_int_eq(tnn_model_set_seed(m, 31), TNN_OK);
    ck_assert_int_eq(
        tnn_model_add(m, tnn_conv2d_new(2, 3, 1, 1, 1, TNN_PADDING_VALID)),
        TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    if (apart)
        ck_assert_int_eq(tnn_model_add(m, tnn_identity_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_maxpool2d_new(2, 2)), TNN_OK);
    if (second)
        ck_assert_int_eq(tnn_model_add(m, tnn_maxpool2d_new(2, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(second ? 3 : 18, 4)),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    return m;
}

/* The convolution's and the dense layer's parameters, bit for bit. */
static void assert_same_fused_params(tnn_model *a, tnn_model *b)
{
    size_t na = tnn_model_num_layers(a), nb = tnn_model_num_layers(b);
    const size_t layers[2][2] = {{0, 0}, {na - 1, nb - 1}};
    for (int l = 0; l < 2; l++)
        for (int p = 0; p < 2; p++) {
            const tnn_tensor *ta =
                tnn_layer_param(tnn_model_layer(a, layers[l][0]), p);
            const tnn_tensor *tb =
                tnn_layer_param(tnn_model_layer(b, layers[l][1]), p);
            ck_assert_mem_eq(tnn_tensor_cdata(ta), tnn_tensor_cdata(tb),
                             tnn_tensor_size(ta) * sizeof(float));
        }
}

/* What a fusion test made: the fused and the unfused model, their
 * predictions, the data and its generator. */
static void free_fusion_run(tnn_model *models[2], tnn_tensor *p[2],
                            tnn_tensor *x, tnn_tensor *y, tnn_rng *rng)
{
    for (int i = 0; i < 2; i++) {
        tnn_tensor_free(p[i]);
        tnn_model_free(models[i]);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
}

/* A ReLU followed by a 2x2 max pooling runs as one pass each way inside a
 * model; it must give exactly what the two layers give one after the
 * other: predictions and trained parameters bit for bit, on inputs full
 * of ties at zero (as ReLU makes them) and with a NaN that does not reach
 * the loss, whose gradient ReLU passes on: on the row and column that no
 * window covers, or (with a second pooling) in a window whose output the
 * second pooling leaves out. */
START_TEST(relu_pool_fusion_changes_nothing)
{
    /* (second pooling, row, column) of the NaN */
    const size_t nans[2][3] = {{0, 4, 6}, {1, 1, 5}};
    for (int c = 0; c < 2; c++) {
        bool second = nans[c][0];
        tnn_model *models[2] = {relu_pool_model(false, second),
                                relu_pool_model(true, second)};
        size_t dims[4] = {5, 2, 5, 7};
        tnn_tensor *x = tnn_tensor_new(4, dims), *y = tnn_tensor_new_2d(5, 4);
        tnn_rng *rng = tnn_rng_new(8);
        tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
        tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
        float *xv = tnn_tensor_data(x);
        for (size_t i = 0; i < tnn_tensor_size(x); i++)
            xv[i] = floorf(xv[i] * 2.0f) / 2.0f;
        tnn_tensor *p[2] = {tnn_tensor_new_2d(5, 4), tnn_tensor_new_2d(5, 4)};
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(tnn_model_train_batch(models[i], x, y, NULL),
                                 TNN_OK);
                ck_assert_int_eq(tnn_model_predict(models[i], x, p[i]),
                                 TNN_OK);
            }
            assert_same_fused_params(models[0], models[1]);
            ck_assert_mem_eq(tnn_tensor_cdata(p[0]), tnn_tensor_cdata(p[1]),
                             20 * sizeof(float));
        }
        /* Image 3, channel 1. Only its gradient reaches the convolution's
         * weights, and in both the same way. */
        xv[((3 * 2 + 1) * 5 + nans[c][1]) * 7 + nans[c][2]] = NAN;
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(tnn_model_train_batch(models[i], x, y, NULL),
                             TNN_OK);
        assert_same_fused_params(models[0], models[1]);
        const tnn_tensor *w =
            tnn_layer_param(tnn_model_layer(models[0], 0), 0);
        ck_assert(isnan(tnn_tensor_cdata(w)[0]));
        free_fusion_run(models, p, x, y, rng);
    }
}
END_TEST

/* One training step of both models on x, y, then their predictions of x
 * into p: parameters and the rows x cols predictions bit for bit. */
static void step_both_alike(tnn_model *models[2], const tnn_tensor *x,
                            const tnn_tensor *y, tnn_tensor *p[2],
                            size_t values)
{
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(tnn_model_train_batch(models[i], x, y, NULL), TNN_OK);
        ck_assert_int_eq(tnn_model_predict(models[i], x, p[i]), TNN_OK);
    }
    assert_same_params(models[0], models[1]);
    ck_assert_mem_eq(tnn_tensor_cdata(p[0]), tnn_tensor_cdata(p[1]),
                     values * sizeof(float));
}

/* conv 3x3 2 -> 16 [-> identity, which keeps the convolution apart] ->
 * ReLU -> 2x2 max pooling -> conv 1x1 16 -> 16 [-> identity] -> ReLU ->
 * 2x2 max pooling -> flatten -> dense 4, Adam, on 2x9x11 images: 16x7x9
 * (odd sides), 16x3x4, 16x1x2. The second pooling leaves the first one's
 * last row out. The first convolution starts with zero weights on its
 * second input channel. */
static tnn_model *conv_relu_pool_model(bool apart)
{
    tnn_model *m = tnn_model_new_image(2, 9, 11);
    ck_assert_int_eq(tnn_model_set_seed(m, 41), TNN_OK);
    add_conv_relu_pool(m, tnn_conv2d_new(2, 16, 3, 3, 1, TNN_PADDING_VALID),
                       apart);
    add_conv_relu_pool(m, tnn_conv2d_new(16, 16, 1, 1, 1, TNN_PADDING_VALID),
                       apart);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(32, 4)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    /* The first convolution's weights on input channel 1 (OIHW) at 0. */
    float *w = tnn_tensor_data(tnn_layer_param(tnn_model_layer(m, 0), 0));
    for (size_t oc = 0; oc < 16; oc++)
        for (size_t k = 0; k < 9; k++)
            w[(oc * 2 + 1) * 9 + k] = 0.0f;
    return m;
}

/* A convolution, a ReLU and a 2x2 max pooling: with oneDNN the pooling
 * reads the convolution's channel-blocked output and writes its gradient
 * in that layout, which no NCHW copy then sits between; it must give
 * exactly what the layers give with the convolution kept apart (an
 * identity after it): predictions and trained parameters bit for bit, on
 * quantised inputs and a flat image (ties), batches of 6 and of 1, and with
 * NaNs that do not reach the loss but whose gradients reach the first
 * convolution's weights: one in the corner that only the output row and column
 * no window covers read, one in the rows the second pooling leaves out. */
START_TEST(conv_relu_pool_blocked_changes_nothing)
{
    tnn_model *models[2] = {conv_relu_pool_model(false),
                            conv_relu_pool_model(true)};
    size_t dims[4] = {6, 2, 9, 11};
    tnn_tensor *x = tnn_tensor_new(4, dims), *y = tnn_tensor_new_2d(6, 4);
    tnn_tensor *one = NULL;
    tnn_rng *rng = tnn_rng_new(12);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    float *xv = tnn_tensor_data(x);
    for (size_t i = 0; i < tnn_tensor_size(x); i++)
        xv[i] = floorf(xv[i] * 4.0f) / 4.0f;
    /* Image 0's channel 0 is flat, and the first convolution starts blind
     * to channel 1: each window of each channel a four-way tie at the
     * first step, of positive values in about half of the channels, whose
     * positions still matter (channel 1's patches differ). */
    for (size_t i = 0; i < 9 * 11; i++)
        xv[i] = 0.75f;
    tnn_tensor *p[2] = {tnn_tensor_new_2d(6, 4), tnn_tensor_new_2d(6, 4)};
    for (int step = 0; step < 4; step++)
        step_both_alike(models, x, y, p, 24);
    /* One image, as a batch of its own. */
    one = tnn_tensor_view_rows(x, 2, 1);
    tnn_tensor *y1 = tnn_tensor_view_rows(y, 2, 1);
    ck_assert(one && y1);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(tnn_model_train_batch(models[i], one, y1, NULL),
                         TNN_OK);
    assert_same_params(models[0], models[1]);
    /* Image 3, channel 1: the corner (8, 10), which only the first
     * convolution's output (6, 8) reads; then (6, 1), whose outputs the
     * first pooling's last row or nothing takes. */
    const size_t nans[2][2] = {{8, 10}, {6, 1}};
    for (int c = 0; c < 2; c++) {
        xv[((3 * 2 + 1) * 9 + nans[c][0]) * 11 + nans[c][1]] = NAN;
        step_both_alike(models, x, y, p, 24);
        const tnn_tensor *w =
            tnn_layer_param(tnn_model_layer(models[0], 0), 0);
        ck_assert(isnan(tnn_tensor_cdata(w)[0]));
        xv[((3 * 2 + 1) * 9 + nans[c][0]) * 11 + nans[c][1]] = 0.5f;
        /* The NaN weights would spread to every output: start again. */
        for (int i = 0; i < 2; i++) {
            tnn_model_free(models[i]);
            models[i] = conv_relu_pool_model(i == 1);
        }
    }
    tnn_tensor_free(one);
    tnn_tensor_free(y1);
    free_fusion_run(models, p, x, y, rng);
}
END_TEST

/* conv 3x3 1 -> 16 [-> identity] -> ReLU -> 2x2 max pooling -> flatten
 * -> dense 2, SGD, on 1x4x71 images: outputs 16x2x69, pooled 16x1x34,
 * rows longer than the blocked pass's 32 outputs at a time. */
static tnn_model *wide_rows_model(bool apart)
{
    tnn_model *m = tnn_model_new_image(1, 4, 71);
    ck_assert_int_eq(tnn_model_set_seed(m, 43), TNN_OK);
    add_conv_relu_pool(m, tnn_conv2d_new(1, 16, 3, 3, 1, TNN_PADDING_VALID),
                       apart);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(16 * 34, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.05f)), TNN_OK);
    return m;
}

START_TEST(conv_relu_pool_blocked_wide_rows)
{
    tnn_model *models[2] = {wide_rows_model(false), wide_rows_model(true)};
    size_t dims[4] = {3, 1, 4, 71};
    tnn_tensor *x = tnn_tensor_new(4, dims), *y = tnn_tensor_new_2d(3, 2);
    tnn_rng *rng = tnn_rng_new(14);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_tensor *p[2] = {tnn_tensor_new_2d(3, 2), tnn_tensor_new_2d(3, 2)};
    for (int step = 0; step < 3; step++)
        step_both_alike(models, x, y, p, 6);
    free_fusion_run(models, p, x, y, rng);
}
END_TEST

/* dense 5 -> 8 -> ReLU [-> identity, which keeps the two apart] ->
 * dropout 0.375 -> dense 3, Adam. Three of the first layer's eight units
 * have zero weights and bias, so that the ReLU's input holds exact zeros
 * (ties) at every step. */
static tnn_model *relu_dropout_model(bool apart)
{
    tnn_model *m = tnn_model_new(5);
    ck_assert_int_eq(tnn_model_set_seed(m, 17), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(5, 8)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    if (apart)
        ck_assert_int_eq(tnn_model_add(m, tnn_identity_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dropout_new(0.375f)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    tnn_layer *first = tnn_model_layer(m, 0);
    float *w = tnn_tensor_data(tnn_layer_param(first, 0));
    for (size_t i = 0; i < 5 * 8; i++)
        if (i % 8 < 3)
            w[i] = 0.0f;
    return m;
}

/* A ReLU followed by dropout runs as one pass each way inside a model: it
 * must give exactly what the two layers give one after the other, the
 * same masks drawn from the same generator: parameters after each epoch
 * of a shuffled fit and predictions, bit for bit. */
START_TEST(relu_dropout_fusion_changes_nothing)
{
    tnn_model *models[2] = {relu_dropout_model(false),
                            relu_dropout_model(true)};
    tnn_tensor *x = tnn_tensor_new_2d(40, 5), *y = tnn_tensor_new_2d(40, 3);
    tnn_rng *rng = tnn_rng_new(4);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_tensor *p[2] = {tnn_tensor_new_2d(40, 3), tnn_tensor_new_2d(40, 3)};
    for (int epoch = 0; epoch < 3; epoch++) {
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(tnn_model_fit(models[i], x, y, NULL, NULL, 1, 16,
                                           1, NULL, NULL),
                             TNN_OK);
            ck_assert_int_eq(tnn_model_predict(models[i], x, p[i]), TNN_OK);
        }
        assert_same_fused_params(models[0], models[1]);
        ck_assert_mem_eq(tnn_tensor_cdata(p[0]), tnn_tensor_cdata(p[1]),
                         40 * 3 * sizeof(float));
    }
    /* The zero units stayed at zero: ReLU passed them no gradient. */
    const float *w =
        tnn_tensor_cdata(tnn_layer_param(tnn_model_layer(models[0], 0), 0));
    ck_assert_float_eq(w[0], 0.0f);
    ck_assert_float_eq(w[8 + 2], 0.0f);
    free_fusion_run(models, p, x, y, rng);
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, learns_xor);
    tcase_add_test(tc, linear_regression_closed_form);
    tcase_add_test(tc, fit_batches_and_callbacks);
    tcase_add_test(tc, same_seed_bit_identical);
    tcase_add_test(tc, thread_count_does_not_change_results);
    tcase_add_test(tc, worker_threads_give_the_same_bits);
    tcase_add_test(tc, long_batch_bias_gradients_same_bits);
    tcase_add_test(tc, spread_steps_give_the_same_bits);
    tcase_add_test(tc, spread_gradients_are_exact);
    tcase_add_test(tc, shuffled_batches_copied_on_threads_give_the_same_rows);
    tcase_add_test(tc, no_allocation_in_steady_state);
    tcase_add_test(tc, frozen_layer_keeps_weights);
    tcase_add_test(tc, summary_and_counts);
    tcase_add_test(tc, summary_counts_running_statistics);
    tcase_add_test(tc, predict_any_batch_size);
    tcase_add_test(tc, divergence_is_reported);
    tcase_add_test(tc, add_checks_shapes_and_takes_ownership);
    tcase_add_test(tc, model_misuse);
    tcase_add_test(tc, allocation_failure_sweep);
    tcase_add_test(tc, callback_cannot_change_the_model);
    tcase_add_test(tc, failed_steps_change_nothing);
    tcase_add_test(tc, reseed_restarts_training);
    tcase_add_test(tc, failed_update_changes_nothing);
    tcase_add_test(tc, split_step_is_train_batch);
    tcase_add_test(tc, gradients_are_visible_between_compute_and_apply);
    tcase_add_test(tc, divergence_is_loud_by_default);
    tcase_add_test(tc, fit_names_the_validation_set);
    tcase_add_test(tc, training_forward_updates_statistics);
    tcase_add_test(tc, probability_labels_checked_before_work);
    tcase_add_test(tc, sample_bound_cloned_not_saved);
    tcase_add_test(tc, failed_first_step_leaves_no_state);
    tcase_add_test(tc, layer_added_after_training_saves);
    tcase_add_test(tc, sample_bound_skips_flatten);
    tcase_add_test(tc, relu_pool_fusion_changes_nothing);
    tcase_add_test(tc, conv_relu_pool_blocked_changes_nothing);
    tcase_add_test(tc, conv_relu_pool_blocked_wide_rows);
    tcase_add_test(tc, relu_dropout_fusion_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
