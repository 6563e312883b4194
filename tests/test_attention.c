/*
 * Multi-head self-attention: against PyTorch's numbers
 * (tests/reference/attention.py), finite differences with and without
 * dropout, accumulation, dropout's draws, thread independence, files and
 * refusals.
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tinynn.h"

/* A (rows, time, width) tensor. */
static tnn_tensor *seq_tensor(size_t rows, size_t time, size_t width)
{
    size_t dims[3] = {rows, time, width};
    tnn_tensor *t = tnn_tensor_new(3, dims);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* ---- PyTorch's MultiheadAttention on fixed values ----------------------
 */

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

/* got against PyTorch's float64 result. */
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
    size_t width, heads, time, rows;
    int causal, used = 0;
    ck_assert_int_eq(sscanf(line, "%63s %zu %zu %zu %zu %d%n", name, &width,
                            &heads, &time, &rows, &causal, &used),
                     6);
    at = line + used;
    tnn_layer *att = tnn_attention_new(width, heads, causal, 0.0f);
    ck_assert_ptr_nonnull(att);
    tnn_tensor *x = seq_tensor(rows, time, width);
    tnn_tensor *din = seq_tensor(rows, time, width);
    tnn_tensor *y = seq_tensor(rows, time, width);
    tnn_tensor *dy = seq_tensor(rows, time, width);
    read_floats(&at, tnn_tensor_data(x), tnn_tensor_size(x));
    for (int p = 0; p < 4; p++) {
        tnn_tensor *param = tnn_layer_param(att, p);
        read_floats(&at, tnn_tensor_data(param), tnn_tensor_size(param));
    }
    read_floats(&at, tnn_tensor_data(dy), tnn_tensor_size(dy));
    ck_assert_int_eq(tnn_layer_forward(att, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_uint_eq(tnn_layer_out_features(att), time * width);
    tnn_layer_zero_grad(att);
    ck_assert_int_eq(tnn_layer_backward(att, x, y, dy, din), TNN_OK);
    assert_close(name, "output", tnn_tensor_data(y), &at, tnn_tensor_size(y));
    assert_close(name, "input gradient", tnn_tensor_data(din), &at,
                 tnn_tensor_size(din));
    static const char *const grads[] = {
        "in_proj_weight gradient", "in_proj_bias gradient",
        "out_proj.weight gradient", "out_proj.bias gradient"};
    for (int p = 0; p < 4; p++) {
        tnn_tensor *g = tnn_layer_grad(att, p);
        assert_close(name, grads[p], tnn_tensor_data(g), &at,
                     tnn_tensor_size(g));
    }
    while (*at == ' ' || *at == '\n')
        at++;
    ck_assert_msg(*at == '\0', "%s: values left over", name);
    /* An evaluation forward gives the same output. */
    tnn_tensor *y2 = seq_tensor(rows, time, width);
    ck_assert_int_eq(tnn_layer_forward(att, x, y2, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(y), tnn_tensor_data(y2),
                     tnn_tensor_size(y) * sizeof(float));
    tnn_tensor_free(y2);
    tnn_tensor_free(x);
    tnn_tensor_free(din);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_layer_free(att);
}

START_TEST(attention_matches_pytorch)
{
    FILE *f = fopen(TNN_TEST_DATA_DIR "/attention-pytorch.txt", "r");
    ck_assert_ptr_nonnull(f);
    static char line[1 << 18];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_msg(strchr(line, '\n'), "line too long");
        check_case(line);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 5);
}
END_TEST

/* ---- finite differences ------------------------------------------------
 */

/* sum(w * out) in double after a forward: in evaluation mode when seed is
 * 0, else in training mode with a generator of that seed, which makes the
 * same dropout mask every time. */
static double objective(tnn_layer *layer, const tnn_tensor *x, tnn_tensor *y,
                        tnn_tensor *w, uint64_t seed)
{
    tnn_rng *rng = seed ? tnn_rng_new(seed) : NULL;
    ck_assert_int_eq(tnn_layer_forward(layer, x, y,
                                       seed ? TNN_MODE_TRAIN : TNN_MODE_EVAL,
                                       rng),
                     TNN_OK);
    tnn_rng_free(rng);
    double sum = 0.0;
    for (size_t i = 0; i < tnn_tensor_size(y); i++)
        sum += (double)tnn_tensor_data(w)[i] * tnn_tensor_data(y)[i];
    return sum;
}

/* Central differences of the objective over every value of t against
 * grad. */
static void check_values(const char *what, tnn_layer *layer,
                         const tnn_tensor *x, tnn_tensor *y, tnn_tensor *w,
                         uint64_t seed, tnn_tensor *t, const float *grad)
{
    const float step = 1e-2f;
    for (size_t i = 0; i < tnn_tensor_size(t); i++) {
        float *v = &tnn_tensor_data(t)[i], keep = *v;
        *v = keep + step;
        double up = objective(layer, x, y, w, seed);
        *v = keep - step;
        double down = objective(layer, x, y, w, seed);
        *v = keep;
        double numeric = (up - down) / (2.0 * (double)step);
        ck_assert_msg(fabs(numeric - grad[i]) <= 2e-3 * (1.0 + fabs(numeric)),
                      "%s gradient [%zu]: %.6g analytic, %.6g numeric", what,
                      i, (double)grad[i], numeric);
    }
}

/* The input's and every parameter's gradient against finite differences,
 * for a layer of the given shape with dropout (checked with the mask of a
 * training forward with the generator of seed) or without (seed 0). */
static void gradient_check(size_t width, size_t heads, size_t time,
                           size_t rows, int causal, float dropout,
                           uint64_t seed)
{
    tnn_rng *rng = tnn_rng_new(31 + width + time);
    tnn_layer *att = tnn_attention_new(width, heads, causal, dropout);
    ck_assert_ptr_nonnull(att);
    /* Larger than the initialisation, so that the weights are far from
     * uniform. */
    for (int p = 0; p < 4; p++)
        tnn_tensor_rand_uniform(tnn_layer_param(att, p), rng, -0.7f, 0.7f);
    tnn_tensor *x = seq_tensor(rows, time, width);
    tnn_tensor *din = seq_tensor(rows, time, width);
    tnn_tensor *y = seq_tensor(rows, time, width);
    tnn_tensor *w = seq_tensor(rows, time, width);
    tnn_tensor_rand_uniform(x, rng, -1.5f, 1.5f);
    tnn_tensor_rand_uniform(w, rng, -1.0f, 1.0f);
    tnn_rng *drop = tnn_rng_new(seed ? seed : 1);
    ck_assert_int_eq(tnn_layer_forward(att, x, y, TNN_MODE_TRAIN, drop),
                     TNN_OK);
    tnn_rng_free(drop);
    tnn_layer_zero_grad(att);
    ck_assert_int_eq(tnn_layer_backward(att, x, y, w, din), TNN_OK);
    tnn_tensor *dx = tnn_tensor_clone(din);
    check_values("input", att, x, y, w, seed, x, tnn_tensor_data(dx));
    static const char *const names[] = {"in_proj_weight", "in_proj_bias",
                                        "out_proj.weight", "out_proj.bias"};
    for (int p = 0; p < 4; p++) {
        tnn_tensor *g = tnn_tensor_clone(tnn_layer_grad(att, p));
        check_values(names[p], att, x, y, w, seed, tnn_layer_param(att, p),
                     tnn_tensor_data(g));
        tnn_tensor_free(g);
    }
    tnn_tensor_free(dx);
    tnn_tensor_free(x);
    tnn_tensor_free(din);
    tnn_tensor_free(y);
    tnn_tensor_free(w);
    tnn_layer_free(att);
    tnn_rng_free(rng);
}

START_TEST(attention_gradients)
{
    for (int causal = 0; causal < 2; causal++) {
        gradient_check(4, 1, 3, 2, causal, 0.0f, 0);
        gradient_check(6, 2, 4, 2, causal, 0.0f, 0);
        gradient_check(8, 4, 5, 2, causal, 0.0f, 0);
        gradient_check(6, 3, 1, 3, causal, 0.0f, 0); /* one step */
        gradient_check(4, 1, 1, 2, causal, 0.0f, 0);
    }
}
END_TEST

/* The training backward with dropout, the mask held fixed by the seed. */
START_TEST(attention_dropout_gradients)
{
    for (int causal = 0; causal < 2; causal++) {
        gradient_check(6, 2, 5, 2, causal, 0.3f, 77);
        gradient_check(4, 1, 4, 2, causal, 0.5f, 78);
    }
}
END_TEST

/* ---- accumulation ------------------------------------------------------
 */

/* tnn_layer_backward() adds: twice is twice once, and din may be NULL
 * (the parameter gradients are the same). */
START_TEST(attention_backward_accumulates)
{
    tnn_rng *rng = tnn_rng_new(5);
    tnn_layer *att = tnn_attention_new(6, 2, _i, 0.0f);
    ck_assert_int_eq(tnn_layer_init(att, rng), TNN_OK);
    tnn_tensor *x = seq_tensor(3, 4, 6), *y = seq_tensor(3, 4, 6);
    tnn_tensor *dy = seq_tensor(3, 4, 6), *din = seq_tensor(3, 4, 6);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(dy, rng, -1.0f, 1.0f);
    ck_assert_int_eq(tnn_layer_forward(att, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    tnn_layer_zero_grad(att);
    ck_assert_int_eq(tnn_layer_backward(att, x, y, dy, din), TNN_OK);
    tnn_tensor *once[4];
    for (int p = 0; p < 4; p++)
        once[p] = tnn_tensor_clone(tnn_layer_grad(att, p));
    tnn_layer_zero_grad(att);
    ck_assert_int_eq(tnn_layer_backward(att, x, y, dy, NULL), TNN_OK);
    for (int p = 0; p < 4; p++)
        ck_assert_mem_eq(tnn_tensor_data(tnn_layer_grad(att, p)),
                         tnn_tensor_data(once[p]),
                         tnn_tensor_size(once[p]) * sizeof(float));
    ck_assert_int_eq(tnn_layer_backward(att, x, y, dy, NULL), TNN_OK);
    for (int p = 0; p < 4; p++) {
        const float *g = tnn_tensor_data(tnn_layer_grad(att, p));
        for (size_t i = 0; i < tnn_tensor_size(once[p]); i++)
            ck_assert_float_eq_tol(g[i], 2.0f * tnn_tensor_data(once[p])[i],
                                   1e-6f);
        tnn_tensor_free(once[p]);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(din);
    tnn_layer_free(att);
    tnn_rng_free(rng);
}
END_TEST

/* A model with a layer norm before a frozen attention layer: the model
 * overwrites a frozen layer's gradients (the backward without
 * accumulation) and still passes the input gradient on; a trainable one
 * adds into them. */
static tnn_model *frozen_model(int frozen)
{
    tnn_model *m = tnn_model_new_sequence(4, 6);
    ck_assert_int_eq(tnn_model_set_seed(m, 3), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_layernorm_new(6)), TNN_OK);
    tnn_layer *att = tnn_attention_new(6, 3, 1, 0.0f);
    ck_assert_int_eq(tnn_model_add(m, att), TNN_OK);
    ck_assert_int_eq(tnn_layer_set_trainable(att, !frozen), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(24, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    return m;
}

START_TEST(attention_frozen_overwrites)
{
    tnn_rng *rng = tnn_rng_new(8);
    tnn_tensor *x = seq_tensor(5, 4, 6), *y = tnn_tensor_new_2d(5, 2);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_model *live = frozen_model(0), *frozen = frozen_model(1);
    ck_assert_int_eq(tnn_model_compute_gradients(live, x, y, NULL), TNN_OK);
    tnn_layer *fa = tnn_model_layer(frozen, 1);
    for (int p = 0; p < 4; p++)
        tnn_tensor_fill(tnn_layer_grad(fa, p), 123.0f);
    ck_assert_int_eq(tnn_model_compute_gradients(frozen, x, y, NULL), TNN_OK);
    for (size_t l = 0; l < 2; l++)
        for (int p = 0; p < tnn_layer_num_params(tnn_model_layer(live, l));
             p++) {
            tnn_tensor *a = tnn_layer_grad(tnn_model_layer(live, l), p);
            tnn_tensor *b = tnn_layer_grad(tnn_model_layer(frozen, l), p);
            ck_assert_mem_eq(tnn_tensor_data(a), tnn_tensor_data(b),
                             tnn_tensor_size(a) * sizeof(float));
        }
    /* Twice adds for the trainable one, overwrites for the frozen one. */
    tnn_tensor *once = tnn_tensor_clone(tnn_layer_grad(fa, 0));
    ck_assert_int_eq(tnn_model_compute_gradients(frozen, x, y, NULL), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(tnn_layer_grad(fa, 0)),
                     tnn_tensor_data(once), tnn_tensor_size(once) * 4);
    ck_assert_int_eq(tnn_model_compute_gradients(live, x, y, NULL), TNN_OK);
    const float *twice =
        tnn_tensor_data(tnn_layer_grad(tnn_model_layer(live, 1), 0));
    for (size_t i = 0; i < tnn_tensor_size(once); i++)
        ck_assert_float_eq_tol(twice[i], 2.0f * tnn_tensor_data(once)[i],
                               1e-6f);
    tnn_tensor_free(once);
    tnn_model_free(live);
    tnn_model_free(frozen);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
}
END_TEST

/* ---- dropout -----------------------------------------------------------
 */

START_TEST(attention_dropout_eval_and_reproducible)
{
    tnn_rng *rng = tnn_rng_new(11);
    tnn_layer *plain = tnn_attention_new(8, 2, 0, 0.0f);
    tnn_layer *drop = tnn_attention_new(8, 2, 0, 0.4f);
    ck_assert_int_eq(tnn_layer_init(plain, rng), TNN_OK);
    for (int p = 0; p < 4; p++)
        ck_assert_int_eq(
            tnn_tensor_copy_from(tnn_layer_param(drop, p),
                                 tnn_tensor_cdata(tnn_layer_param(plain, p)),
                                 tnn_tensor_size(tnn_layer_param(plain, p))),
            TNN_OK);
    tnn_tensor *x = seq_tensor(4, 6, 8);
    tnn_tensor *y1 = seq_tensor(4, 6, 8), *y2 = seq_tensor(4, 6, 8);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    const size_t bytes = tnn_tensor_size(x) * sizeof(float);
    /* Evaluation ignores the rate; so does training at rate 0. */
    ck_assert_int_eq(tnn_layer_forward(plain, x, y1, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y2, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(y1), tnn_tensor_data(y2), bytes);
    ck_assert_int_eq(tnn_layer_forward(plain, x, y2, TNN_MODE_TRAIN, NULL),
                     TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(y1), tnn_tensor_data(y2), bytes);
    /* Training with dropout needs a generator, and gives the same bits
     * for the same seed, others for another. */
    ck_assert_int_eq(tnn_layer_forward(drop, x, y1, TNN_MODE_TRAIN, NULL),
                     TNN_E_INVALID);
    tnn_rng *a = tnn_rng_new(5), *b = tnn_rng_new(5), *c = tnn_rng_new(6);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y1, TNN_MODE_TRAIN, a),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y2, TNN_MODE_TRAIN, b),
                     TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(y1), tnn_tensor_data(y2), bytes);
    ck_assert_int_eq(tnn_layer_forward(drop, x, y2, TNN_MODE_TRAIN, c),
                     TNN_OK);
    ck_assert_int_ne(memcmp(tnn_tensor_data(y1), tnn_tensor_data(y2), bytes),
                     0);
    /* The generator moved on: the next mask is another. */
    ck_assert_int_eq(tnn_layer_forward(drop, x, y2, TNN_MODE_TRAIN, a),
                     TNN_OK);
    ck_assert_int_ne(memcmp(tnn_tensor_data(y1), tnn_tensor_data(y2), bytes),
                     0);
    tnn_rng_free(a);
    tnn_rng_free(b);
    tnn_rng_free(c);
    tnn_tensor_free(x);
    tnn_tensor_free(y1);
    tnn_tensor_free(y2);
    tnn_layer_free(plain);
    tnn_layer_free(drop);
    tnn_rng_free(rng);
}
END_TEST

/* Attention that shows its weights: Q = K = 0 (uniform weights 1 / T
 * over the steps it may see), V = x, no output projection but the
 * identity, and each head's columns of x_j the one-hot e_j. Output i of
 * head h, column j, is then M_ij / T, where M is the mask (1 / (1 - p)
 * or 0), or 1 / (i + 1) when causal. */
static tnn_layer *revealing_layer(size_t time, size_t heads, int causal,
                                  float rate)
{
    const size_t w = time * heads;
    tnn_layer *att = tnn_attention_new(w, heads, causal, rate);
    ck_assert_ptr_nonnull(att);
    for (int p = 0; p < 4; p++)
        tnn_tensor_fill(tnn_layer_param(att, p), 0.0f);
    float *w_in = tnn_tensor_data(tnn_layer_param(att, 0));
    float *w_out = tnn_tensor_data(tnn_layer_param(att, 2));
    for (size_t k = 0; k < w; k++) {
        w_in[(2 * w + k) * w + k] = 1.0f; /* V = x */
        w_out[k * w + k] = 1.0f;
    }
    return att;
}

static tnn_tensor *one_hot_steps(size_t rows, size_t time, size_t heads)
{
    const size_t w = time * heads;
    tnn_tensor *x = seq_tensor(rows, time, w);
    tnn_tensor_fill(x, 0.0f);
    float *v = tnn_tensor_data(x);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < time; j++)
            for (size_t h = 0; h < heads; h++)
                v[(r * time + j) * w + h * time + j] = 1.0f;
    return x;
}

START_TEST(attention_dropout_rate)
{
    const size_t time = 8, heads = 2, rows = 1000, w = time * heads;
    const float rate = 0.3f, kept = 1.0f / (1.0f - rate);
    const int causal = _i;
    tnn_layer *att = revealing_layer(time, heads, causal, rate);
    tnn_tensor *x = one_hot_steps(rows, time, heads);
    tnn_tensor *y = seq_tensor(rows, time, w);
    tnn_rng *rng = tnn_rng_new(2024);
    ck_assert_int_eq(tnn_layer_forward(att, x, y, TNN_MODE_TRAIN, rng),
                     TNN_OK);
    const float *v = tnn_tensor_data(y);
    size_t dropped = 0, seen = 0, same_in_both = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < time; i++)
            for (size_t j = 0; j < (causal ? i + 1 : time); j++) {
                const float uniform = 1.0f / (float)(causal ? i + 1 : time);
                bool drop[2];
                for (size_t h = 0; h < heads; h++) {
                    float got = v[(r * time + i) * w + h * time + j];
                    drop[h] = got == 0.0f;
                    if (!drop[h])
                        ck_assert_float_eq_tol(got, uniform * kept, 1e-6f);
                    dropped += drop[h];
                    seen++;
                }
                same_in_both += drop[0] == drop[1];
            }
    const double fraction = (double)dropped / (double)seen;
    ck_assert_msg(fabs(fraction - rate) < 0.01, "%.4f of weights dropped",
                  fraction);
    /* The heads draw apart: both drop or keep with chance 0.58. */
    const double agree = 2.0 * (double)same_in_both / (double)seen;
    ck_assert_msg(fabs(agree - 0.58) < 0.02, "heads agree on %.4f", agree);
    /* Evaluation shows the weights themselves. */
    ck_assert_int_eq(tnn_layer_forward(att, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    for (size_t i = 0; i < time; i++)
        for (size_t j = 0; j < time; j++) {
            float want =
                causal && j > i ? 0.0f : 1.0f / (float)(causal ? i + 1 : time);
            ck_assert_float_eq_tol(v[i * w + j], want, 1e-6f);
        }
    tnn_rng_free(rng);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_layer_free(att);
}
END_TEST

/* ---- threads -----------------------------------------------------------
 */

/* Sizes that split the (sample, head) pairs over two threads (64 pairs,
 * at least 16 a thread) while every product stays too small for OpenBLAS
 * to split (m n k at most 2^18), whose own split may round differently:
 * the library's part is what must not depend on the thread count. */
#define TH_ROWS 32
#define TH_TIME 16
#define TH_WIDTH 8
#define TH_VALUES (TH_ROWS * TH_TIME * TH_WIDTH)

struct run {
    float out[TH_VALUES];
    float din[TH_VALUES];
    float grads[4][3 * TH_WIDTH * TH_WIDTH];
    float trained[3 * TH_WIDTH * TH_WIDTH];
};

/* A layer alone and a model with it, forward and backward with dropout,
 * on threads threads. */
static void run_on(int threads, struct run *r)
{
    ck_assert_int_eq(tnn_set_num_threads(threads), TNN_OK);
    tnn_rng *rng = tnn_rng_new(99);
    tnn_layer *att = tnn_attention_new(TH_WIDTH, 2, 1, 0.2f);
    ck_assert_int_eq(tnn_layer_init(att, rng), TNN_OK);
    tnn_tensor *x = seq_tensor(TH_ROWS, TH_TIME, TH_WIDTH);
    tnn_tensor *y = seq_tensor(TH_ROWS, TH_TIME, TH_WIDTH);
    tnn_tensor *dy = seq_tensor(TH_ROWS, TH_TIME, TH_WIDTH);
    tnn_tensor *din = seq_tensor(TH_ROWS, TH_TIME, TH_WIDTH);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(dy, rng, -1.0f, 1.0f);
    ck_assert_int_eq(tnn_layer_forward(att, x, y, TNN_MODE_TRAIN, rng),
                     TNN_OK);
    tnn_layer_zero_grad(att);
    ck_assert_int_eq(tnn_layer_backward(att, x, y, dy, din), TNN_OK);
    tnn_tensor_copy_to(y, r->out, TH_VALUES);
    tnn_tensor_copy_to(din, r->din, TH_VALUES);
    for (int p = 0; p < 4; p++)
        tnn_tensor_copy_to(tnn_layer_grad(att, p), r->grads[p],
                           tnn_tensor_size(tnn_layer_grad(att, p)));
    tnn_layer_free(att);

    /* In a model the pairs run on its worker threads in every build. */
    tnn_model *m = tnn_model_new_sequence(TH_TIME, TH_WIDTH);
    ck_assert_int_eq(tnn_model_set_seed(m, 4), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(TH_WIDTH, 2, 0, 0.1f)),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    for (int step = 0; step < 3; step++)
        ck_assert_int_eq(tnn_model_train_batch(m, x, dy, NULL), TNN_OK);
    tnn_tensor_copy_to(tnn_layer_param(tnn_model_layer(m, 0), 0), r->trained,
                       3 * TH_WIDTH * TH_WIDTH);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(din);
    tnn_rng_free(rng);
}

START_TEST(attention_thread_independent)
{
    const int before = tnn_get_num_threads();
    struct run *one = calloc(1, sizeof *one), *two = calloc(1, sizeof *two);
    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(two);
    run_on(1, one);
    run_on(2, two);
    ck_assert_int_eq(tnn_set_num_threads(before), TNN_OK);
    ck_assert_mem_eq(one->out, two->out, sizeof one->out);
    ck_assert_mem_eq(one->din, two->din, sizeof one->din);
    ck_assert_mem_eq(one->grads, two->grads, sizeof one->grads);
    ck_assert_mem_eq(one->trained, two->trained, sizeof one->trained);
    free(one);
    free(two);
}
END_TEST

/* ---- replicas ----------------------------------------------------------
 */

/* Two replicas in threads, summing through a hook in shared memory in
 * rank order (as tests/test_replicas.c does). */
struct pair_shared {
    pthread_barrier_t barrier;
    float *slot[2];
    size_t count[2];
};

struct pair_replica {
    struct pair_shared *s;
    int rank;
    float *sum;
    size_t cap;
    tnn_model *model;
    const tnn_tensor *x, *y;
    int rc;
};

static int pair_sum(float *buf, size_t count, void *ctx)
{
    struct pair_replica *r = ctx;
    struct pair_shared *s = r->s;
    s->slot[r->rank] = buf;
    s->count[r->rank] = count;
    pthread_barrier_wait(&s->barrier);
    int failed = s->count[0] != s->count[1];
    if (!failed && count > r->cap) {
        float *grown = realloc(r->sum, count * sizeof *grown);
        failed = grown == NULL;
        if (grown) {
            r->sum = grown;
            r->cap = count;
        }
    }
    for (size_t k = 0; !failed && k < count; k++)
        r->sum[k] = s->slot[0][k] + s->slot[1][k];
    pthread_barrier_wait(&s->barrier);
    if (failed)
        return -1;
    memcpy(buf, r->sum, count * sizeof *buf);
    return 0;
}

/* Causal attention with dropout, flatten, dense; SGD. */
static tnn_model *replica_attention_model(void)
{
    tnn_model *m = tnn_model_new_sequence(4, 8);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tnn_model_set_seed(m, 21), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(8, 2, 1, 0.3f)),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(32, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    return m;
}

static void *run_pair_replica(void *arg)
{
    struct pair_replica *r = arg;
    r->rc = tnn_model_set_allreduce(r->model, pair_sum, r);
    if (r->rc == TNN_OK)
        r->rc = tnn_model_set_shard(r->model, (size_t)r->rank, 2);
    if (r->rc == TNN_OK)
        r->rc = tnn_model_fit(r->model, r->x, r->y, NULL, NULL, 2, 8, 1, NULL,
                              NULL);
    return NULL;
}

/* Sharded, each row draws its attention dropout mask from its own stream,
 * keyed by its index in the global batch: two replicas train the model
 * one replica alone trains, within the rounding of the sums. */
START_TEST(attention_replicas_draw_as_one)
{
    tnn_rng *rng = tnn_rng_new(40);
    tnn_tensor *x = seq_tensor(16, 4, 8), *y = tnn_tensor_new_2d(16, 3);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_rng_free(rng);
    struct pair_shared s;
    pthread_barrier_init(&s.barrier, NULL, 2);
    struct pair_replica r[2];
    pthread_t threads[2];
    for (int q = 0; q < 2; q++) {
        r[q] = (struct pair_replica){.s = &s, .rank = q, .x = x, .y = y};
        r[q].model = replica_attention_model();
        ck_assert_int_eq(
            pthread_create(&threads[q], NULL, run_pair_replica, &r[q]), 0);
    }
    for (int q = 0; q < 2; q++) {
        pthread_join(threads[q], NULL);
        ck_assert_msg(r[q].rc == TNN_OK, "replica %d: %s", q,
                      tnn_last_error());
    }
    tnn_model *alone = replica_attention_model();
    ck_assert_int_eq(tnn_model_set_shard(alone, 0, 1), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(alone, x, y, NULL, NULL, 2, 8, 1, NULL, NULL), TNN_OK);
    /* And one that draws its masks from the generator instead. */
    tnn_model *unsharded = replica_attention_model();
    ck_assert_int_eq(
        tnn_model_fit(unsharded, x, y, NULL, NULL, 2, 8, 1, NULL, NULL),
        TNN_OK);
    double worst = 0.0, other = 0.0;
    for (int p = 0; p < 4; p++) {
        const tnn_tensor *a =
            tnn_layer_param(tnn_model_layer(r[0].model, 0), p);
        const tnn_tensor *b =
            tnn_layer_param(tnn_model_layer(r[1].model, 0), p);
        const tnn_tensor *c = tnn_layer_param(tnn_model_layer(alone, 0), p);
        const tnn_tensor *u =
            tnn_layer_param(tnn_model_layer(unsharded, 0), p);
        ck_assert_mem_eq(tnn_tensor_cdata(a), tnn_tensor_cdata(b),
                         tnn_tensor_size(a) * sizeof(float));
        for (size_t k = 0; k < tnn_tensor_size(a); k++) {
            worst = fmax(
                worst, fabs(tnn_tensor_cdata(a)[k] - tnn_tensor_cdata(c)[k]));
            other = fmax(
                other, fabs(tnn_tensor_cdata(u)[k] - tnn_tensor_cdata(c)[k]));
        }
    }
    ck_assert_msg(worst <= 1e-5, "replicas differ from one by %g", worst);
    ck_assert_msg(other > 1e-4, "other masks change only %g", other);
    tnn_model_free(alone);
    tnn_model_free(unsharded);
    for (int q = 0; q < 2; q++) {
        free(r[q].sum);
        tnn_model_free(r[q].model);
    }
    pthread_barrier_destroy(&s.barrier);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- models and files --------------------------------------------------
 */

static tnn_model *sequence_model(int causal, float rate)
{
    tnn_model *m = tnn_model_new_sequence(5, 8);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tnn_model_set_seed(m, 17), TNN_OK);
    tnn_layer *att = tnn_attention_new(8, 2, causal, rate);
    ck_assert_str_eq(tnn_layer_name(att), "attention");
    ck_assert_int_eq(tnn_layer_kind(att), TNN_LAYER_ATTENTION);
    ck_assert_int_eq(tnn_layer_num_params(att), 4);
    ck_assert_int_eq(tnn_model_add(m, att), TNN_OK);
    ck_assert_uint_eq(tnn_layer_out_features(att), 40);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(40, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MSE), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    return m;
}

/* PyTorch's initialisation: in_proj_weight Glorot-uniform over (3 width,
 * width), out_proj.weight uniform in +-1 / sqrt(width), biases zero. */
START_TEST(attention_initialisation)
{
    tnn_model *m = tnn_model_new_sequence(3, 64);
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(64, 4, 0, 0.0f)),
                     TNN_OK);
    tnn_layer *att = tnn_model_layer(m, 0);
    const double limits[4] = {sqrt(6.0 / 256.0), 0.0, 1.0 / 8.0, 0.0};
    for (int p = 0; p < 4; p++) {
        const tnn_tensor *t = tnn_layer_param(att, p);
        const float *v = tnn_tensor_cdata(t);
        double max = 0.0, sum2 = 0.0;
        for (size_t i = 0; i < tnn_tensor_size(t); i++) {
            max = fmax(max, fabs(v[i]));
            sum2 += (double)v[i] * v[i];
        }
        ck_assert_msg(max <= limits[p], "parameter %d reaches %g", p, max);
        /* The variance of the uniform distribution, limit^2 / 3. */
        double var = sum2 / (double)tnn_tensor_size(t);
        ck_assert_msg(fabs(var - limits[p] * limits[p] / 3.0) <=
                          0.1 * limits[p] * limits[p] / 3.0,
                      "parameter %d has variance %g", p, var);
    }
    ck_assert_uint_eq(tnn_model_num_params(m), 4 * 64 * 64 + 4 * 64);
    tnn_model_free(m);
}
END_TEST

static void assert_same_predictions(tnn_model *a, tnn_model *b,
                                    const tnn_tensor *x)
{
    tnn_tensor *p1 = tnn_tensor_new_2d(6, 3), *p2 = tnn_tensor_new_2d(6, 3);
    ck_assert_int_eq(tnn_model_predict(a, x, p1), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(b, x, p2), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(p1), tnn_tensor_data(p2),
                     18 * sizeof(float));
    tnn_tensor_free(p1);
    tnn_tensor_free(p2);
}

START_TEST(attention_model_files)
{
    tnn_rng *rng = tnn_rng_new(12);
    tnn_tensor *x = seq_tensor(6, 5, 8), *y = tnn_tensor_new_2d(6, 3);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_model *m = sequence_model(_i, 0.25f);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    size_t size = 0;
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, &size), TNN_OK);
    unsigned char *image = malloc(size);
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, image, size, NULL),
        TNN_OK);
    ck_assert_uint_eq((unsigned)image[8] | (unsigned)image[9] << 8, 9);
    tnn_model *copy = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &copy), TNN_OK);
    assert_same_predictions(m, copy, x);
    char text[2048];
    ck_assert_int_eq(tnn_model_summary(copy, text, sizeof text, NULL), TNN_OK);
    ck_assert_msg(strstr(text, "attention") && strstr(text, "(None, 5, 8)"),
                  "%s", text);
    /* The copy trains on as the original does, dropout included. */
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_train_batch(copy, x, y, NULL), TNN_OK);
    assert_same_predictions(m, copy, x);
    tnn_model_free(copy);

    /* Through a file too. */
    char path[] = "/tmp/tnn-attention-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
    ck_assert_int_eq(tnn_model_load(path, &copy), TNN_OK);
    unlink(path);
    assert_same_predictions(m, copy, x);
    tnn_model_free(copy);

    /* A clone, and a clone of the layer, keep the configuration. */
    copy = tnn_model_clone(m);
    ck_assert_ptr_nonnull(copy);
    assert_same_predictions(m, copy, x);
    tnn_layer *twin = tnn_layer_clone(tnn_model_layer(m, 0));
    ck_assert_ptr_nonnull(twin);
    tnn_tensor *out = seq_tensor(6, 5, 8);
    ck_assert_int_eq(tnn_layer_forward(twin, x, out, TNN_MODE_TRAIN, NULL),
                     TNN_E_INVALID); /* dropout needs a generator */
    tnn_layer_free(twin);
    tnn_tensor_free(out);
    tnn_model_free(copy);

    /* ONNX export refuses it. */
    ck_assert_int_eq(tnn_model_save_onnx_buffer(m, NULL, 0, &size),
                     TNN_E_FORMAT);
    ck_assert_msg(strstr(tnn_last_error(), "attention"), "%s",
                  tnn_last_error());
    free(image);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
}
END_TEST

/* Once the buffers are made for a batch, training steps, smaller
 * batches and predictions allocate nothing. */
START_TEST(attention_steady_state_allocates_nothing)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_rng *rng = tnn_rng_new(6);
    tnn_tensor *x = seq_tensor(6, 5, 8), *y = tnn_tensor_new_2d(6, 3);
    tnn_tensor *x4 = seq_tensor(4, 5, 8), *y4 = tnn_tensor_new_2d(4, 3);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(x4, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y4, rng, -1.0f, 1.0f);
    tnn_model *m = sequence_model(1, 0.2f);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    const long after_first = a.calls;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
        ck_assert_int_eq(tnn_model_train_batch(m, x4, y4, NULL), TNN_OK);
        ck_assert_int_eq(tnn_model_predict(m, x, y), TNN_OK);
    }
    ck_assert_int_eq(a.calls, after_first);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(x4);
    tnn_tensor_free(y4);
    tnn_rng_free(rng);
    ck_assert_int_eq(a.live, 0);
    counting_remove();
}
END_TEST

/* ---- refusals ----------------------------------------------------------
 */

static void store_le32(unsigned char *at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* A model file whose attention record has configuration word k set to
 * value (the checksums made right) is corrupt. */
static void assert_config_refused(const unsigned char *image, size_t size,
                                  int k, uint32_t value)
{
    unsigned char *copy = malloc(size);
    memcpy(copy, image, size);
    size_t pos = 24;
    while (memcmp(copy + pos, "LAYR", 4) != 0) {
        pos += 16 + (size_t)le32(copy + pos + 8);
        ck_assert_uint_lt(pos, size);
    }
    const size_t payload = pos + 16, len = le32(copy + pos + 8);
    /* kind, trainable, in, out, the word count, then the words. */
    ck_assert_uint_eq(le32(copy + payload), TNN_LAYER_ATTENTION);
    ck_assert_uint_eq(le32(copy + payload + 24), 4);
    store_le32(copy + payload + 28 + 4 * (size_t)k, value);
    store_le32(copy + pos + 4, crc32_of(copy + payload, len));
    store_le32(copy + size - 8, crc32_of(copy, size - 8));
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *out = NULL;
    int rc = tnn_model_load_buffer(copy, size, &out);
    long live = a.live;
    counting_remove();
    ck_assert_msg(rc == TNN_E_CORRUPT, "word %d = %u: load gave %d (%s)", k,
                  value, rc, tnn_last_error());
    ck_assert_ptr_null(out);
    ck_assert_int_eq(live, 0);
    free(copy);
}

START_TEST(attention_refusals)
{
    const float nan = nanf("");
    struct {
        size_t width, heads;
        int causal;
        float dropout;
    } bad[] = {
        {0, 1, 0, 0.0f},        {8, 0, 0, 0.0f},
        {8, 3, 0, 0.0f},        {8, 16, 0, 0.0f},
        {8, 2, 2, 0.0f},        {8, 2, -1, 0.0f},
        {8, 2, 0, -0.1f},       {8, 2, 0, 1.0f},
        {8, 2, 0, nan},         {8, 2, 0, INFINITY},
        {23171, 1, 0, 0.0f}, /* 4 w^2 > 2^31 - 1 */
        {SIZE_MAX, 1, 0, 0.0f}, {(size_t)1 << 32, 1, 0, 0.0f},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tnn_layer *l = tnn_attention_new(bad[i].width, bad[i].heads,
                                         bad[i].causal, bad[i].dropout);
        ck_assert_msg(l == NULL, "case %zu accepted", i);
        assert_failed_with(TNN_E_INVALID, "tnn_attention_new");
    }

    /* Shapes: a model of another width, of flat rows, of images. */
    tnn_model *m = tnn_model_new_sequence(5, 6);
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(8, 2, 0, 0.0f)),
                     TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_add");
    ck_assert_msg(strstr(tnn_last_error(), "(5, 6)"), "%s", tnn_last_error());
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(6, 3, 1, 0.0f)),
                     TNN_OK);
    tnn_model_free(m);
    m = tnn_model_new(8);
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(8, 2, 0, 0.0f)),
                     TNN_E_SHAPE);
    tnn_model_free(m);
    m = tnn_model_new_image(1, 4, 8);
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(8, 2, 0, 0.0f)),
                     TNN_E_SHAPE);
    tnn_model_free(m);
    tnn_layer *att = tnn_attention_new(8, 2, 0, 0.0f);
    tnn_tensor *flat = tnn_tensor_new_2d(3, 8), *out = tnn_tensor_new_2d(3, 8);
    ck_assert_int_eq(tnn_layer_forward(att, flat, out, TNN_MODE_EVAL, NULL),
                     TNN_E_SHAPE);
    /* Bound to (time, 8) by a first run, it keeps that time. */
    tnn_tensor *x = seq_tensor(2, 3, 8), *y = seq_tensor(2, 3, 8);
    tnn_tensor *x4 = seq_tensor(2, 4, 8), *y4 = seq_tensor(2, 4, 8);
    tnn_tensor_fill(x, 0.5f);
    ck_assert_int_eq(tnn_layer_forward(att, x, y, TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_layer_forward(att, x4, y4, TNN_MODE_EVAL, NULL),
                     TNN_E_SHAPE);
    tnn_tensor_free(flat);
    tnn_tensor_free(out);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(x4);
    tnn_tensor_free(y4);
    tnn_layer_free(att);

    /* Files whose configuration the constructor refuses are corrupt. */
    m = tnn_model_new_sequence(4, 8);
    ck_assert_int_eq(tnn_model_add(m, tnn_attention_new(8, 2, 1, 0.5f)),
                     TNN_OK);
    size_t size = 0;
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, NULL, 0, &size), TNN_OK);
    unsigned char *image = malloc(size);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, image, size, NULL), TNN_OK);
    assert_config_refused(image, size, 1, 3);           /* heads */
    assert_config_refused(image, size, 1, 0);           /* heads */
    assert_config_refused(image, size, 2, 2);           /* causal */
    assert_config_refused(image, size, 2, 0xffffffffu); /* causal */
    assert_config_refused(image, size, 3, 0x3f800000u); /* dropout 1 */
    assert_config_refused(image, size, 3, 0x7fc00000u); /* NaN */
    assert_config_refused(image, size, 0, 0xffffffffu); /* width */
    assert_config_refused(image, size, 0, 16);          /* another width */
    free(image);
    tnn_model_free(m);
}
END_TEST

/* Every allocation of building, training, saving and loading a model with
 * attention may fail: each failure is reported, and nothing leaks. */
static tnn_model *attention_sweep_model(void)
{
    tnn_model *m = tnn_model_new_sequence(5, 8);
    if (!m)
        return NULL;
    int rc = sweep_add(m, tnn_attention_new(8, 2, 1, 0.1f), TNN_OK);
    tnn_optim *opt = rc == TNN_OK ? tnn_adam_new(0.01f) : NULL;
    rc = rc == TNN_OK ? (opt ? tnn_model_set_optim(m, opt) : TNN_E_NOMEM) : rc;
    rc = sweep_add(m, tnn_flatten_new(), rc);
    rc = sweep_add(m, tnn_dense_new(40, 3), rc);
    if (rc != TNN_OK) {
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

START_TEST(attention_allocation_failures)
{
    tnn_rng *rng = tnn_rng_new(3);
    tnn_tensor *x = seq_tensor(12, 5, 8), *y = tnn_tensor_new_2d(12, 3);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_rng_free(rng);
    sweep_model_allocations(attention_sweep_model, x, y, 4);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

Suite *attention_suite(void)
{
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("attention");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, attention_matches_pytorch);
    tcase_add_test(tc, attention_gradients);
    tcase_add_test(tc, attention_dropout_gradients);
    tcase_add_loop_test(tc, attention_backward_accumulates, 0, 2);
    tcase_add_test(tc, attention_frozen_overwrites);
    tcase_add_test(tc, attention_dropout_eval_and_reproducible);
    tcase_add_loop_test(tc, attention_dropout_rate, 0, 2);
    tcase_add_test(tc, attention_thread_independent);
    tcase_add_test(tc, attention_replicas_draw_as_one);
    tcase_add_test(tc, attention_initialisation);
    tcase_add_loop_test(tc, attention_model_files, 0, 2);
    tcase_add_test(tc, attention_steady_state_allocates_nothing);
    tcase_add_test(tc, attention_refusals);
    tcase_add_test(tc, attention_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
