/*
 * Optimizers: 10-step trajectories of a dense 3 -> 2 model under MSE
 * against a double-precision reference of the published update rules.
 */
#include <fenv.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

#define ROWS 4
#define IN 3
#define OUT 2
#define STEPS 10

static const float X[ROWS * IN] = {0.5f,  -1, 2,     1, 0.25f, -0.5f,
                                   -1.5f, 1,  0.75f, 2, -2,    1};
static const float Y[ROWS * OUT] = {1, -1, 0.5f, 2, -1, 0, 3, 1};

enum rule { SGD, MOMENTUM, NESTEROV, ADAM, ADAMW };

struct config {
    enum rule rule;
    double lr, mu, decay;
    bool decay_all;
    /* schedule: 0 none, 1 step (every 3 steps, gamma 0.5), 2 cosine over
     * 8 steps down to lr / 10 */
    int schedule;
};

static double scheduled_lr(const struct config *c, int t)
{
    if (c->schedule == 1)
        return c->lr * pow(0.5, floor(t / 3.0));
    if (c->schedule == 2) {
        double s = fmin(t, 8) / 8.0, min = c->lr / 10;
        return min + (c->lr - min) * (1 + cos(3.14159265358979323846 * s)) / 2;
    }
    return c->lr;
}

/* params: W (IN x OUT) then b (OUT), in double. */
static void reference(const struct config *c, const float *w0, double *p)
{
    const int n = IN * OUT + OUT;
    double m[IN * OUT + OUT] = {0}, v[IN * OUT + OUT] = {0};
    for (int i = 0; i < IN * OUT; i++)
        p[i] = w0[i];
    for (int i = IN * OUT; i < n; i++)
        p[i] = 0.0;
    for (int t = 0; t < STEPS; t++) {
        double g[IN * OUT + OUT] = {0};
        for (int r = 0; r < ROWS; r++)
            for (int j = 0; j < OUT; j++) {
                double pred = p[IN * OUT + j];
                for (int i = 0; i < IN; i++)
                    pred += X[r * IN + i] * p[i * OUT + j];
                double d = (pred - Y[r * OUT + j]) / ROWS;
                for (int i = 0; i < IN; i++)
                    g[i * OUT + j] += X[r * IN + i] * d;
                g[IN * OUT + j] += d;
            }
        double lr = scheduled_lr(c, t);
        for (int k = 0; k < n; k++) {
            bool decays = k < IN * OUT || c->decay_all;
            double lambda = decays ? c->decay : 0.0;
            double gk = g[k] + (c->rule == ADAMW ? 0.0 : lambda * p[k]);
            switch (c->rule) {
            case SGD: p[k] -= lr * gk; break;
            case MOMENTUM:
                v[k] = c->mu * v[k] + gk;
                p[k] -= lr * v[k];
                break;
            case NESTEROV:
                v[k] = c->mu * v[k] + gk;
                p[k] -= lr * (gk + c->mu * v[k]);
                break;
            case ADAM:
            case ADAMW: {
                m[k] = 0.9 * m[k] + 0.1 * gk;
                v[k] = 0.999 * v[k] + 0.001 * gk * gk;
                double mh = m[k] / (1 - pow(0.9, t + 1));
                double vh = v[k] / (1 - pow(0.999, t + 1));
                double shrink = c->rule == ADAMW ? lr * lambda * p[k] : 0.0;
                p[k] -= lr * mh / (sqrt(vh) + 1e-7) + shrink;
                break;
            }
            }
        }
    }
}

static tnn_optim *make_optim(const struct config *c)
{
    bool adam = c->rule == ADAM || c->rule == ADAMW;
    tnn_optim *o =
        adam ? tnn_adam_new((float)c->lr) : tnn_sgd_new((float)c->lr);
    ck_assert_ptr_nonnull(o);
    if (c->rule == MOMENTUM || c->rule == NESTEROV)
        ck_assert_int_eq(tnn_sgd_set_momentum(o, (float)c->mu), TNN_OK);
    if (c->rule == NESTEROV)
        ck_assert_int_eq(tnn_sgd_set_nesterov(o, 1), TNN_OK);
    if (c->rule == ADAMW)
        ck_assert_int_eq(tnn_adam_set_decoupled(o, 1), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_weight_decay(o, (float)c->decay), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_decay_all(o, c->decay_all), TNN_OK);
    if (c->schedule == 1)
        ck_assert_int_eq(tnn_optim_set_step_schedule(o, 3, 0.5f), TNN_OK);
    if (c->schedule == 2)
        ck_assert_int_eq(
            tnn_optim_set_cosine_schedule(o, 8, (float)(c->lr / 10)), TNN_OK);
    return o;
}

static void run_trajectory(const struct config *c)
{
    tnn_model *model = tnn_model_new(IN);
    tnn_layer *dense = tnn_dense_new(IN, OUT);
    ck_assert_int_eq(tnn_model_add(model, dense), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(model, make_optim(c)), TNN_OK);
    float w0[IN * OUT];
    tnn_tensor_copy_to(tnn_layer_param(dense, 0), w0, IN * OUT);
    /* Non-zero biases would hide a decay_all mistake less; start them
     * at 0 as the reference does. */
    tnn_tensor *x = tnn_tensor_new_2d(ROWS, IN);
    tnn_tensor *y = tnn_tensor_new_2d(ROWS, OUT);
    tnn_tensor_copy_from(x, X, ROWS * IN);
    tnn_tensor_copy_from(y, Y, ROWS * OUT);
    for (int t = 0; t < STEPS; t++)
        ck_assert_int_eq(tnn_model_train_batch(model, x, y, NULL), TNN_OK);
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(model)), STEPS);

    double want[IN * OUT + OUT];
    reference(c, w0, want);
    const float *w = tnn_tensor_cdata(tnn_layer_param(dense, 0));
    const float *b = tnn_tensor_cdata(tnn_layer_param(dense, 1));
    for (int k = 0; k < IN * OUT + OUT; k++) {
        double got = k < IN * OUT ? w[k] : b[k - IN * OUT];
        ck_assert_msg(fabs(got - want[k]) <= 2e-5 * fmax(1.0, fabs(want[k])),
                      "rule %d schedule %d parameter %d: %.9g, reference "
                      "%.9g",
                      c->rule, c->schedule, k, got, want[k]);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(model);
}

START_TEST(sgd_trajectory)
{
    run_trajectory(&(struct config){SGD, 0.05, 0, 0, false, 0});
}
END_TEST

START_TEST(momentum_trajectory)
{
    run_trajectory(&(struct config){MOMENTUM, 0.05, 0.9, 0, false, 0});
}
END_TEST

START_TEST(nesterov_trajectory)
{
    run_trajectory(&(struct config){NESTEROV, 0.05, 0.8, 0, false, 0});
}
END_TEST

START_TEST(adam_trajectory)
{
    run_trajectory(&(struct config){ADAM, 0.01, 0, 0, false, 0});
}
END_TEST

START_TEST(adamw_trajectory)
{
    run_trajectory(&(struct config){ADAMW, 0.01, 0, 0.5, false, 0});
}
END_TEST

START_TEST(l2_trajectories)
{
    run_trajectory(&(struct config){SGD, 0.05, 0, 0.3, false, 0});
    run_trajectory(&(struct config){SGD, 0.05, 0, 0.3, true, 0});
    run_trajectory(&(struct config){MOMENTUM, 0.05, 0.5, 0.2, true, 0});
    run_trajectory(&(struct config){ADAM, 0.01, 0, 0.2, false, 0});
    run_trajectory(&(struct config){ADAM, 0.01, 0, 0.2, true, 0});
}
END_TEST

START_TEST(schedule_trajectories)
{
    run_trajectory(&(struct config){SGD, 0.05, 0, 0, false, 1});
    run_trajectory(&(struct config){SGD, 0.05, 0, 0, false, 2});
    run_trajectory(&(struct config){ADAM, 0.01, 0, 0, false, 2});
}
END_TEST

START_TEST(schedule_values)
{
    tnn_optim *o = tnn_sgd_new(0.1f);
    ck_assert_float_eq(tnn_optim_current_lr(o), 0.1f);
    ck_assert_int_eq(tnn_optim_set_cosine_schedule(o, 10, 0.0f), TNN_OK);
    ck_assert_float_eq_tol(tnn_optim_current_lr(o), 0.1f, 1e-7f);
    ck_assert_int_eq(tnn_optim_clear_schedule(o), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_lr(o, 0.5f), TNN_OK);
    ck_assert_float_eq(tnn_optim_lr(o), 0.5f);
    ck_assert_float_eq(tnn_optim_current_lr(o), 0.5f);
    tnn_optim_free(o);
}
END_TEST

#ifdef HAVE_MXCSR
/* Whether this thread's FPU flushes an underflowing product to zero once
 * asked (valgrind, for one, does not model the mode). */
static bool fpu_honours_flush(void)
{
    unsigned caller = _mm_getcsr();
    _mm_setcsr(caller | 0x8040u);
    volatile float tiny = 0x1p-70f; /* squared: 2^-140, subnormal */
    float product = tiny * tiny;
    _mm_setcsr(caller);
    return product == 0.0f;
}
#endif

/* dense 1 -> 1 at w = b = 0, SGD with lr 1 and momentum 0.5: one step on
 * x = 2^-60 against t = -2^-60 gives the weight the gradient 2^-120, then
 * steps on x = 0 give it none, so its velocity halves every step:
 * 2^-120, 2^-121, ... The update flushes subnormal results to zero: the
 * velocity 2^-126 (FLT_MIN) of step 7 is the last non-zero one, and the
 * weight stops at -2^-120 (2 - 2^-6), exactly. Kept subnormal, the
 * velocity would go on moving the weight. */
START_TEST(decaying_state_flushed_to_zero)
{
#ifdef HAVE_MXCSR
    if (!fpu_honours_flush())
        return;
    const int saved_threads = tnn_get_num_threads();
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(tnn_set_num_threads(threads), TNN_OK);
        tnn_model *m = tnn_model_new(1);
        ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(1, 1)), TNN_OK);
        tnn_optim *sgd = tnn_sgd_new(1.0f);
        ck_assert_int_eq(tnn_sgd_set_momentum(sgd, 0.5f), TNN_OK);
        ck_assert_int_eq(tnn_model_set_optim(m, sgd), TNN_OK);
        tnn_layer *dense = tnn_model_layer(m, 0);
        tnn_tensor_data(tnn_layer_param(dense, 0))[0] = 0.0f;
        tnn_tensor_data(tnn_layer_param(dense, 1))[0] = 0.0f;
        tnn_tensor *x = tnn_tensor_new_2d(1, 1), *y = tnn_tensor_new_2d(1, 1);
        tnn_tensor_data(x)[0] = 0x1p-60f;
        tnn_tensor_data(y)[0] = -0x1p-60f;
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
        tnn_tensor_data(x)[0] = 0.0f;
        for (int step = 2; step <= 40; step++)
            ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
        float w = tnn_tensor_data(tnn_layer_param(dense, 0))[0];
        ck_assert_float_eq(w, -0x1p-120f * (2.0f - 0x1p-6f));
        tnn_tensor_free(x);
        tnn_tensor_free(y);
        tnn_model_free(m);
    }
    ck_assert_int_eq(tnn_set_num_threads(saved_threads), TNN_OK);
#endif
}
END_TEST

/* Training leaves the caller's floating-point mode as it found it, with
 * or without flushing of its own, on 1 and 2 threads. */
START_TEST(caller_fp_mode_unchanged)
{
#ifdef HAVE_MXCSR
    const unsigned saved = _mm_getcsr();
    const int saved_threads = tnn_get_num_threads();
    const unsigned modes[3] = {saved & ~0x8040u, saved | 0x8040u,
                               (saved & ~0x8040u) | 0x0040u};
    for (int i = 0; i < 3; i++)
        for (int threads = 1; threads <= 2; threads++) {
            ck_assert_int_eq(tnn_set_num_threads(threads), TNN_OK);
            tnn_model *m = tnn_model_new(3);
            ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, 4)), TNN_OK);
            ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)),
                             TNN_OK);
            ck_assert_int_eq(tnn_model_set_check_finite(m, 1), TNN_OK);
            tnn_tensor *x = tnn_tensor_new_2d(5, 3),
                       *y = tnn_tensor_new_2d(5, 4);
            tnn_tensor_fill(x, 0.5f);
            _mm_setcsr(modes[i]);
            /* As the FPU took it (valgrind, for one, keeps no FTZ bit). */
            unsigned before = _mm_getcsr();
            int rc = tnn_model_train_batch(m, x, y, NULL);
            unsigned after = _mm_getcsr();
            _mm_setcsr(saved);
            ck_assert_int_eq(rc, TNN_OK);
            /* The sticky exception flags (bits 0-5) may be raised. */
            ck_assert_uint_eq(after & ~0x3fu, before & ~0x3fu);
            tnn_tensor_free(x);
            tnn_tensor_free(y);
            tnn_model_free(m);
        }
    ck_assert_int_eq(tnn_set_num_threads(saved_threads), TNN_OK);
#endif
}
END_TEST

/* The update's bits do not depend on which thread computes them, also in
 * a rounding direction the caller chose after the worker threads were
 * made: three runs on 2 threads agree bit for bit. The model (dense 3 ->
 * 2^17, 524,288 parameters) is large enough for the update to be split. */
#define UPWARD_WIDTH ((size_t)1 << 17)

static float *train_rounding_upward(void)
{
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, UPWARD_WIDTH)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_seed(m, 11), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(4, 3);
    tnn_tensor *y = tnn_tensor_new_2d(4, UPWARD_WIDTH);
    for (size_t i = 0; i < 12; i++)
        tnn_tensor_data(x)[i] = 0.1f * (float)i - 0.5f;
    tnn_tensor_fill(y, 0.3f);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    const int saved = fegetround();
    ck_assert_int_eq(fesetround(FE_UPWARD), 0);
    int rc = TNN_OK;
    for (int step = 0; step < 10 && rc == TNN_OK; step++)
        rc = tnn_model_train_batch(m, x, y, NULL);
    fesetround(saved);
    ck_assert_int_eq(rc, TNN_OK);
    const size_t count = 3 * UPWARD_WIDTH;
    float *weights = malloc(count * sizeof *weights);
    ck_assert_ptr_nonnull(weights);
    tnn_tensor_copy_to(tnn_layer_param(tnn_model_layer(m, 0), 0), weights,
                       count);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    return weights;
}

START_TEST(update_bits_independent_of_thread)
{
    const int saved_threads = tnn_get_num_threads();
    ck_assert_int_eq(tnn_set_num_threads(2), TNN_OK);
    float *first = train_rounding_upward();
    for (int run = 0; run < 2; run++) {
        float *again = train_rounding_upward();
        ck_assert_mem_eq(first, again, 3 * UPWARD_WIDTH * sizeof *first);
        free(again);
    }
    free(first);
    ck_assert_int_eq(tnn_set_num_threads(saved_threads), TNN_OK);
}
END_TEST

START_TEST(optim_misuse)
{
    ck_assert_ptr_null(tnn_sgd_new(0.0f));
    assert_failed_with(TNN_E_INVALID, "tnn_sgd_new");
    ck_assert_ptr_null(tnn_adam_new(-1.0f));
    assert_failed_with(TNN_E_INVALID, "tnn_adam_new");
    ck_assert_ptr_null(tnn_adam_new(NAN));
    tnn_optim *sgd = tnn_sgd_new(0.1f), *adam = tnn_adam_new(0.1f);
    ck_assert_int_eq(tnn_optim_set_lr(sgd, 0.0f), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_optim_set_lr");
    ck_assert_float_eq(tnn_optim_lr(sgd), 0.1f);
    ck_assert_int_eq(tnn_sgd_set_momentum(sgd, 1.0f), TNN_E_INVALID);
    ck_assert_int_eq(tnn_sgd_set_momentum(adam, 0.5f), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_sgd_set_momentum");
    ck_assert_int_eq(tnn_adam_set_decoupled(sgd, 1), TNN_E_INVALID);
    ck_assert_int_eq(tnn_adam_set_betas(adam, 0.9f, 1.0f), TNN_E_INVALID);
    ck_assert_int_eq(tnn_adam_set_eps(adam, 0.0f), TNN_E_INVALID);
    ck_assert_int_eq(tnn_optim_set_weight_decay(adam, -1.0f), TNN_E_INVALID);
    ck_assert_int_eq(tnn_optim_set_step_schedule(adam, 0, 0.5f),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_optim_set_cosine_schedule(adam, 10, 1.0f),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_optim_set_lr(NULL, 0.1f), TNN_E_INVALID);
    tnn_optim_free(sgd);
    tnn_optim_free(adam);
    tnn_optim_free(NULL);
}
END_TEST

/* tests/data/clip-pytorch.txt holds PyTorch's clip_grad_value_ and
 * clip_grad_norm_ applied to fixed gradients of a (3, 2) weight and a (2)
 * bias (tests/reference/clip.py). The same gradients, written into a dense
 * layer's gradient tensors and applied by SGD with lr 1 from zero
 * weights, leave the negated clipped gradients in the parameters. */
static void apply_clipped(float value, float norm, bool infinite, float got[8])
{
    static const float weight_grad[6] = {1.0f, -2.0f, 3.0f,
                                         4.0f, 0.5f,  -0.25f};
    static const float bias_grad[2] = {10.0f, -0.1f};
    tnn_model *m = tnn_model_new(3);
    tnn_layer *dense = tnn_dense_new(3, 2);
    ck_assert_int_eq(tnn_model_add(m, dense), TNN_OK);
    tnn_optim *sgd = tnn_sgd_new(1.0f);
    ck_assert_int_eq(tnn_optim_set_clip_value(sgd, value), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_clip_norm(sgd, norm), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, sgd), TNN_OK);
    tnn_tensor_fill(tnn_layer_param(dense, 0), 0.0f);
    tnn_tensor_fill(tnn_layer_param(dense, 1), 0.0f);
    tnn_tensor_copy_from(tnn_layer_grad(dense, 0), weight_grad, 6);
    tnn_tensor_copy_from(tnn_layer_grad(dense, 1), bias_grad, 2);
    if (infinite)
        tnn_tensor_data(tnn_layer_grad(dense, 0))[2] = INFINITY;
    ck_assert_int_eq(tnn_model_apply_gradients(m), TNN_OK);
    for (int i = 0; i < 6; i++)
        got[i] = -tnn_tensor_data(tnn_layer_param(dense, 0))[i];
    for (int i = 0; i < 2; i++)
        got[6 + i] = -tnn_tensor_data(tnn_layer_param(dense, 1))[i];
    /* Consumed: the gradients are zero after the update. */
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(tnn_tensor_data(tnn_layer_grad(dense, 0))[i], 0.0f);
    tnn_model_free(m);
}

START_TEST(gradient_clipping_matches_pytorch)
{
    static const struct {
        const char *name;
        float value, norm;
        bool infinite;
    } cases[] = {{"value", 1.5f, 0.0f, false},
                 {"norm", 0.0f, 2.0f, false},
                 {"value_then_norm", 1.5f, 2.0f, false},
                 {"norm_not_reached", 0.0f, 100.0f, false},
                 {"norm_of_infinity", 0.0f, 2.0f, true}};
    FILE *f = fopen(TNN_TEST_DATA_DIR "/clip-pytorch.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        char *at = line + strlen(cases[c].name);
        ck_assert_msg(strncmp(line, cases[c].name, strlen(cases[c].name)) == 0,
                      "line %zu is not case %s", c, cases[c].name);
        float got[8];
        apply_clipped(cases[c].value, cases[c].norm, cases[c].infinite, got);
        for (int i = 0; i < 8; i++) {
            double want = strtod(at, &at);
            bool same = isnan(want)
                            ? isnan(got[i])
                            : fabs(got[i] - want) <= 1e-6 * fabs(want) + 1e-30;
            ck_assert_msg(same, "%s: gradient %d clipped to %a; PyTorch %a",
                          cases[c].name, i, (double)got[i], want);
        }
    }
    fclose(f);
    /* Off by default, refused when negative or not finite. */
    tnn_optim *o = tnn_adam_new(0.1f);
    ck_assert_float_eq(tnn_optim_clip_norm(o), 0.0f);
    ck_assert_float_eq(tnn_optim_clip_value(o), 0.0f);
    ck_assert_int_eq(tnn_optim_set_clip_norm(o, -1.0f), TNN_E_INVALID);
    ck_assert_int_eq(tnn_optim_set_clip_value(o, NAN), TNN_E_INVALID);
    ck_assert_int_eq(tnn_optim_set_clip_norm(o, INFINITY), TNN_E_INVALID);
    ck_assert_int_eq(tnn_optim_set_clip_norm(o, 0.5f), TNN_OK);
    ck_assert_float_eq(tnn_optim_clip_norm(o), 0.5f);
    tnn_optim_free(o);
}
END_TEST

Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("core");
    /* The split-update tests train a model of 393,216 parameters: a few
     * seconds under ThreadSanitizer or valgrind, past Check's default. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sgd_trajectory);
    tcase_add_test(tc, momentum_trajectory);
    tcase_add_test(tc, nesterov_trajectory);
    tcase_add_test(tc, adam_trajectory);
    tcase_add_test(tc, gradient_clipping_matches_pytorch);
    tcase_add_test(tc, adamw_trajectory);
    tcase_add_test(tc, l2_trajectories);
    tcase_add_test(tc, schedule_trajectories);
    tcase_add_test(tc, schedule_values);
    tcase_add_test(tc, optim_misuse);
    tcase_add_test(tc, decaying_state_flushed_to_zero);
    tcase_add_test(tc, caller_fp_mode_unchanged);
    tcase_add_test(tc, update_bits_independent_of_thread);
    suite_add_tcase(s, tc);
    return s;
}
