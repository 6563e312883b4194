/*
 * Token models: ids through an embedding, learned positions, dense layers
 * on every step, residual blocks and cross-entropy with a class per step,
 * against PyTorch's numbers (tests/reference/tokens.py), finite
 * differences and values worked out by hand.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tinynn.h"

static tnn_tensor *tensor_2d(size_t rows, size_t cols, const float *v)
{
    tnn_tensor *t = tnn_tensor_new_2d(rows, cols);
    ck_assert_ptr_nonnull(t);
    if (v)
        tnn_tensor_copy_from(t, v, rows * cols);
    return t;
}

static void read_floats(char **at, float *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)strtod(*at, at);
}

/* got against PyTorch's float64 numbers. */
static void assert_close(const char *name, const char *what, const float *got,
                         char **at, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        double want = strtod(*at, at);
        ck_assert_msg(fabs(got[i] - want) <= 2e-6 + 2e-5 * fabs(want),
                      "%s %s[%zu] is %.9g, PyTorch gives %.9g", name, what, i,
                      (double)got[i], want);
    }
}

/* ---- PyTorch's numbers ------------------------------------------------- */

/* The model of tokens.py: embedding, positions, a pre-norm block
 * (layernorm, dense, GELU, dense) and a dense layer on every step. */
static tnn_model *pytorch_model(size_t vocab, size_t time, size_t width,
                                size_t hidden, tnn_layer **params_of)
{
    tnn_model *m = tnn_model_new_tokens(time, vocab);
    tnn_layer *block = tnn_residual_new();
    ck_assert_ptr_nonnull(block);
    ck_assert_int_eq(tnn_residual_add(block, tnn_layernorm_new(width)), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(width, hidden)), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_gelu_new()), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(hidden, width)), 0);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(vocab, width)), 0);
    ck_assert_int_eq(tnn_model_add(m, tnn_position_embedding_new(time, width)),
                     0);
    ck_assert_int_eq(tnn_model_add(m, block), 0);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(width, vocab)), 0);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), 0);
    /* The ten parameters in the file's order: embedding, positions, the
     * block's six, the head's two. */
    for (int p = 0; p < 10; p++)
        params_of[p] = p < 1   ? tnn_model_layer(m, 0)
                       : p < 2 ? tnn_model_layer(m, 1)
                       : p < 8 ? block
                               : tnn_model_layer(m, 3);
    return m;
}

static int param_index(int p)
{
    return p < 2 ? 0 : p < 8 ? p - 2 : p - 8;
}

static void check_pytorch_case(char *line)
{
    char name[32];
    size_t vocab, time, width, hidden, rows;
    int used = 0;
    ck_assert_int_eq(sscanf(line, "%31s %zu %zu %zu %zu %zu%n", name, &vocab,
                            &time, &width, &hidden, &rows, &used),
                     6);
    char *at = line + used;
    tnn_layer *owner[10];
    tnn_model *m = pytorch_model(vocab, time, width, hidden, owner);
    tnn_tensor *x = tensor_2d(rows, time, NULL);
    tnn_tensor *y = tensor_2d(rows, time, NULL);
    read_floats(&at, tnn_tensor_data(x), rows * time);
    read_floats(&at, tnn_tensor_data(y), rows * time);
    for (int p = 0; p < 10; p++) {
        tnn_tensor *t = tnn_layer_param(owner[p], param_index(p));
        ck_assert_ptr_nonnull(t);
        read_floats(&at, tnn_tensor_data(t), tnn_tensor_size(t));
    }
    double loss = 0.0;
    ck_assert_msg(tnn_model_compute_gradients(m, x, y, &loss) == TNN_OK, "%s",
                  tnn_last_error());
    double want = strtod(at, &at);
    ck_assert_msg(fabs(loss - want) <= 1e-6 * (1.0 + fabs(want)),
                  "%s: loss %.9g, PyTorch gives %.9g", name, loss, want);
    tnn_tensor *logits = tensor_2d(rows, time * vocab, NULL);
    ck_assert_int_eq(tnn_model_predict(m, x, logits), TNN_OK);
    assert_close(name, "logits", tnn_tensor_data(logits), &at,
                 rows * time * vocab);
    static const char *const what[10] = {
        "embedding", "positions", "gamma", "beta", "w1",
        "b1",        "w2",        "b2",    "w3",   "b3"};
    for (int p = 0; p < 10; p++) {
        tnn_tensor *g = tnn_layer_grad(owner[p], param_index(p));
        assert_close(name, what[p], tnn_tensor_data(g), &at,
                     tnn_tensor_size(g));
    }
    while (*at == ' ' || *at == '\n')
        at++;
    ck_assert_msg(*at == '\0', "%s: values left over", name);
    tnn_tensor_free(logits);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}

START_TEST(token_model_matches_pytorch)
{
    FILE *f = fopen(TNN_TEST_DATA_DIR "/tokens-pytorch.txt", "r");
    ck_assert_ptr_nonnull(f);
    static char line[1 << 18];
    int cases = 0;
    for (int threads = 1; threads <= 2; threads++) {
        tnn_set_num_threads(threads);
        rewind(f);
        while (fgets(line, sizeof line, f)) {
            ck_assert_msg(strchr(line, '\n'), "line too long");
            check_pytorch_case(line);
            cases++;
        }
    }
    fclose(f);
    tnn_set_num_threads(0);
    ck_assert_int_eq(cases, 6);
}
END_TEST

/* ---- the embedding ------------------------------------------------------ */

/* Rows of the table by hand; the gradient adds each position's into its
 * id's row; ids get a zero gradient. */
START_TEST(embedding_by_hand)
{
    tnn_layer *e = tnn_embedding_new(3, 2);
    ck_assert_int_eq(tnn_layer_kind(e), TNN_LAYER_EMBEDDING);
    ck_assert_int_eq(tnn_layer_num_params(e), 1);
    const float table[6] = {1, 2, 3, 4, 5, 6};
    tnn_tensor_copy_from(tnn_layer_param(e, 0), table, 6);
    const float ids[4] = {2, 0, 2, 1};
    tnn_tensor *x = tensor_2d(2, 2, ids), *y = tensor_2d(2, 4, NULL);
    ck_assert_int_eq(tnn_layer_forward(e, x, y, TNN_MODE_TRAIN, NULL), 0);
    const float want[8] = {5, 6, 1, 2, 5, 6, 3, 4};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(tnn_tensor_data(y)[i], want[i]);
    ck_assert_uint_eq(tnn_layer_in_features(e), 2);
    ck_assert_uint_eq(tnn_layer_out_features(e), 4);
    const float d[8] = {1, 1, 10, 10, 100, 100, 1000, 1000};
    tnn_tensor *dy = tensor_2d(2, 4, d), *dx = tensor_2d(2, 2, NULL);
    tnn_tensor_fill(dx, 7.0f);
    ck_assert_int_eq(tnn_layer_backward(e, x, y, dy, dx), TNN_OK);
    const float grad[6] = {10, 10, 1000, 1000, 101, 101};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(tnn_tensor_data(tnn_layer_grad(e, 0))[i], grad[i]);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(tnn_tensor_data(dx)[i], 0.0f);
    /* Bad ids are refused before anything is written. */
    const float bad[4][4] = {
        {0, 1, 3, 0}, {0, -1, 0, 0}, {0.5f, 0, 0, 0}, {0, 0, 0, NAN}};
    for (int b = 0; b < 4; b++) {
        tnn_tensor_copy_from(x, bad[b], 4);
        tnn_tensor_fill(y, -9.0f);
        ck_assert_int_eq(tnn_layer_forward(e, x, y, TNN_MODE_EVAL, NULL),
                         TNN_E_INVALID);
        ck_assert_msg(strstr(tnn_last_error(), "token id"), "%s",
                      tnn_last_error());
        ck_assert_float_eq(tnn_tensor_data(y)[0], -9.0f);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(e);
}
END_TEST

/* A token model checks every id against its vocabulary, names the row
 * and step, and takes only an embedding first. */
START_TEST(token_model_checks_ids)
{
    tnn_model *m = tnn_model_new_tokens(3, 4);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, 2)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(3, 2)), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(5, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    char text[1024];
    ck_assert_int_eq(tnn_model_summary(m, text, sizeof text, NULL), TNN_OK);
    ck_assert_msg(strstr(text, "(None, 3, 2)"), "%s", text);
    /* Id 4 is in the layer's table but not in the model's vocabulary. */
    const float ids[6] = {0, 1, 2, 3, 4, 0};
    tnn_tensor *x = tensor_2d(2, 3, ids), *y = tensor_2d(2, 6, NULL);
    ck_assert_int_eq(tnn_model_predict(m, x, y), TNN_E_INVALID);
    ck_assert_msg(strstr(tnn_last_error(), "row 1, step 1"), "%s",
                  tnn_last_error());
    tnn_tensor_data(x)[4] = 3.0f;
    ck_assert_int_eq(tnn_model_predict(m, x, y), TNN_OK);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* ---- dense on every step ------------------------------------------------ */

/* A dense layer on (time, features) is the same layer on each step's row;
 * taken out, it goes back to its own widths; files keep it. */
START_TEST(dense_on_every_step)
{
    tnn_model *m = tnn_model_new_sequence(3, 2);
    tnn_layer *d = tnn_dense_new(2, 4);
    ck_assert_int_eq(tnn_model_add(m, d), TNN_OK);
    ck_assert_uint_eq(tnn_layer_in_features(d), 6);
    ck_assert_uint_eq(tnn_model_out_features(m), 12);
    tnn_rng *rng = tnn_rng_new(3);
    tnn_tensor *x = tensor_2d(5, 6, NULL), *y = tensor_2d(5, 12, NULL);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    ck_assert_int_eq(tnn_model_predict(m, x, y), TNN_OK);
    const float *w = tnn_tensor_data(tnn_layer_param(d, 0));
    const float *b = tnn_tensor_data(tnn_layer_param(d, 1));
    for (size_t r = 0; r < 15; r++)
        for (size_t j = 0; j < 4; j++) {
            double want = b[j];
            for (size_t k = 0; k < 2; k++)
                want += (double)tnn_tensor_data(x)[r * 2 + k] * w[k * 4 + j];
            ck_assert_double_eq_tol(tnn_tensor_data(y)[r * 4 + j], want, 1e-5);
        }
    size_t size = 0;
    unsigned char *image = malloc(4096);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, image, 4096, &size), 0);
    ck_assert_uint_eq((unsigned)image[8], 9);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &back), TNN_OK);
    tnn_tensor *y2 = tensor_2d(5, 12, NULL);
    ck_assert_int_eq(tnn_model_predict(back, x, y2), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(y), tnn_tensor_data(y2),
                     60 * sizeof(float));
    tnn_layer *out = tnn_model_pop(m);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(tnn_layer_in_features(out), 2);
    ck_assert_uint_eq(tnn_layer_out_features(out), 4);
    tnn_model *flat = tnn_model_new(2);
    ck_assert_int_eq(tnn_model_add(flat, out), TNN_OK);
    tnn_model_free(flat);
    free(image);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(y2);
    tnn_rng_free(rng);
    tnn_model_free(back);
    tnn_model_free(m);
}
END_TEST

/* ---- residual blocks ---------------------------------------------------- */

/* x + f(x) by hand; an empty block doubles; the gradient of the input is
 * dout plus f's. */
START_TEST(residual_by_hand)
{
    tnn_layer *block = tnn_residual_new();
    ck_assert_int_eq(tnn_layer_kind(block), TNN_LAYER_RESIDUAL);
    tnn_tensor *x = tensor_2d(1, 2, (const float[]){1.0f, -2.0f});
    tnn_tensor *y = tensor_2d(1, 2, NULL);
    ck_assert_int_eq(tnn_layer_forward(block, x, y, TNN_MODE_EVAL, NULL), 0);
    ck_assert_float_eq(tnn_tensor_data(y)[0], 2.0f);
    ck_assert_float_eq(tnn_tensor_data(y)[1], -4.0f);
    tnn_layer_free(block);

    block = tnn_residual_new();
    tnn_layer *d = tnn_dense_new(2, 2);
    ck_assert_int_eq(tnn_residual_add(block, d), TNN_OK);
    ck_assert_int_eq(tnn_residual_add(block, tnn_relu_new()), TNN_OK);
    ck_assert_uint_eq(tnn_residual_num_layers(block), 2u);
    ck_assert_ptr_eq(tnn_residual_layer(block, 0), d);
    ck_assert_ptr_null(tnn_residual_layer(block, 2));
    ck_assert_int_eq(tnn_layer_num_params(block), 2);
    ck_assert_ptr_eq(tnn_layer_param(block, 0), tnn_layer_param(d, 0));
    /* W = [[1, 2], [3, 4]], b = (0.5, 0): f(1, -2) = relu(-4.5, -6) = 0;
     * f(2, 1) = relu(5.5, 8). */
    tnn_tensor_copy_from(tnn_layer_param(d, 0), (const float[]){1, 2, 3, 4},
                         4);
    tnn_tensor_copy_from(tnn_layer_param(d, 1), (const float[]){0.5f, 0}, 2);
    tnn_tensor_copy_from(x, (const float[]){2.0f, 1.0f}, 2);
    ck_assert_int_eq(tnn_layer_forward(block, x, y, TNN_MODE_TRAIN, NULL),
                     TNN_E_INVALID); /* a block in training takes an rng */
    tnn_rng *rng = tnn_rng_new(1);
    ck_assert_int_eq(tnn_layer_forward(block, x, y, TNN_MODE_TRAIN, rng), 0);
    ck_assert_float_eq(tnn_tensor_data(y)[0], 7.5f);
    ck_assert_float_eq(tnn_tensor_data(y)[1], 9.0f);
    tnn_tensor *dy = tensor_2d(1, 2, (const float[]){1.0f, 10.0f});
    tnn_tensor *dx = tensor_2d(1, 2, NULL);
    ck_assert_int_eq(tnn_layer_backward(block, x, y, dy, dx), TNN_OK);
    /* dx = dy + W dy = (1 + 1 + 20, 10 + 3 + 40). */
    ck_assert_float_eq(tnn_tensor_data(dx)[0], 22.0f);
    ck_assert_float_eq(tnn_tensor_data(dx)[1], 53.0f);
    /* dW = x^T dy: (2, 20; 1, 10); db = dy. */
    const float dw[4] = {2, 20, 1, 10};
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(tnn_tensor_data(tnn_layer_grad(block, 0))[i],
                           dw[i]);
    ck_assert_float_eq(tnn_tensor_data(tnn_layer_grad(d, 1))[1], 10.0f);
    /* The inner layers are the block's. */
    tnn_layer_free(d);
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_STATE);
    ck_assert_int_eq(tnn_layer_set_trainable(d, 0), TNN_E_STATE);
    /* An inner layer reports its block's setting. */
    ck_assert_int_eq(tnn_layer_trainable(d), 1);
    ck_assert_int_eq(tnn_layer_set_trainable(block, 0), TNN_OK);
    ck_assert_int_eq(tnn_layer_trainable(d), 0);
    ck_assert_int_eq(tnn_layer_set_trainable(block, 1), TNN_OK);
    ck_assert_int_eq(tnn_layer_trainable(d), 1);
    tnn_model *m = tnn_model_new(2);
    ck_assert_int_eq(tnn_model_add(m, d), TNN_E_STATE);
    ck_assert_uint_eq(tnn_model_num_layers(m), 0u);
    tnn_model_free(m);
    tnn_rng_free(rng);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(dy);
    tnn_tensor_free(dx);
    tnn_layer_free(block);
}
END_TEST

/* sum(w * out) in double after an evaluation forward. */
static double objective(tnn_layer *layer, const tnn_tensor *x, tnn_tensor *y,
                        tnn_tensor *w)
{
    ck_assert_int_eq(tnn_layer_forward(layer, x, y, TNN_MODE_EVAL, NULL), 0);
    double s = 0.0;
    for (size_t i = 0; i < tnn_tensor_size(y); i++)
        s += (double)tnn_tensor_data(y)[i] * tnn_tensor_data(w)[i];
    return s;
}

/* Finite differences of a nested block (layer norm, dense, tanh, and a
 * block of dense, GELU, dense inside) on sequences: input and every
 * parameter. */
START_TEST(residual_gradients)
{
    tnn_layer *inner = tnn_residual_new();
    ck_assert_int_eq(tnn_residual_add(inner, tnn_dense_new(3, 5)), 0);
    ck_assert_int_eq(tnn_residual_add(inner, tnn_gelu_new()), 0);
    ck_assert_int_eq(tnn_residual_add(inner, tnn_dense_new(5, 3)), 0);
    tnn_layer *block = tnn_residual_new();
    ck_assert_int_eq(tnn_residual_add(block, tnn_layernorm_new(3)), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(3, 3)), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_tanh_new()), 0);
    ck_assert_int_eq(tnn_residual_add(block, inner), 0);
    ck_assert_int_eq(tnn_layer_num_params(block), 8);
    tnn_rng *rng = tnn_rng_new(5);
    ck_assert_int_eq(tnn_layer_init(block, rng), TNN_OK);
    for (int p = 0; p < tnn_layer_num_params(block); p++)
        tnn_tensor_rand_uniform(tnn_layer_param(block, p), rng, -0.8f, 0.8f);
    size_t dims[3] = {2, 4, 3};
    tnn_tensor *x = tnn_tensor_new(3, dims), *y = tnn_tensor_new(3, dims);
    tnn_tensor *w = tnn_tensor_new(3, dims), *dx = tnn_tensor_new(3, dims);
    tnn_tensor_rand_uniform(x, rng, -1.5f, 1.5f);
    tnn_tensor_rand_uniform(w, rng, -1.0f, 1.0f);
    ck_assert_int_eq(tnn_layer_forward(block, x, y, TNN_MODE_TRAIN, rng), 0);
    ck_assert_int_eq(tnn_layer_backward(block, x, y, w, dx), TNN_OK);
    const float h = 1e-2f;
    for (int p = -1; p < tnn_layer_num_params(block); p++) {
        tnn_tensor *t = p < 0 ? x : tnn_layer_param(block, p);
        tnn_tensor *g = p < 0 ? dx : tnn_layer_grad(block, p);
        for (size_t i = 0; i < tnn_tensor_size(t); i++) {
            float keep = tnn_tensor_data(t)[i];
            tnn_tensor_data(t)[i] = keep + h;
            double up = objective(block, x, y, w);
            tnn_tensor_data(t)[i] = keep - h;
            double down = objective(block, x, y, w);
            tnn_tensor_data(t)[i] = keep;
            double want = (up - down) / (2.0 * h);
            double got = tnn_tensor_data(g)[i];
            ck_assert_msg(fabs(got - want) <= 3e-3 + 3e-3 * fabs(want),
                          "parameter %d [%zu]: %g, differences give %g", p, i,
                          got, want);
        }
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(w);
    tnn_tensor_free(dx);
    tnn_rng_free(rng);
    tnn_layer_free(block);
}
END_TEST

/* What a block refuses, changing nothing. */
START_TEST(residual_refusals)
{
    tnn_layer *block = tnn_residual_new();
    tnn_layer *d = tnn_dense_new(3, 4);
    ck_assert_int_eq(tnn_residual_add(block, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_residual_add(d, block), TNN_E_INVALID);
    ck_assert_int_eq(tnn_residual_add(block, block), TNN_E_INVALID);
    ck_assert_int_eq(tnn_residual_add(block, d), TNN_OK);
    /* dense(3, 4) then dense(5, 2): 4 is not 5. */
    tnn_layer *wrong = tnn_dense_new(5, 2);
    ck_assert_int_eq(tnn_residual_add(block, wrong), TNN_E_SHAPE);
    ck_assert_uint_eq(tnn_residual_num_layers(block), 1u);
    tnn_layer_free(wrong);
    /* (3) into (4): no x + f(x). */
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, block), TNN_E_SHAPE);
    ck_assert_msg(strstr(tnn_last_error(), "same shape"), "%s",
                  tnn_last_error());
    ck_assert_uint_eq(tnn_model_num_layers(m), 0u);
    /* Sixteen parameter tensors at most. */
    block = tnn_residual_new();
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(3, 3)), 0);
    tnn_layer *more = tnn_dense_new(3, 3);
    ck_assert_int_eq(tnn_residual_add(block, more), TNN_E_INVALID);
    ck_assert_int_eq(tnn_residual_add(block, tnn_relu_new()), TNN_OK);
    /* In a model its layers are fixed, and another owner's layer is
     * refused. */
    ck_assert_int_eq(tnn_model_add(m, block), TNN_OK);
    ck_assert_int_eq(tnn_residual_add(block, more), TNN_E_STATE);
    tnn_layer *other = tnn_residual_new();
    ck_assert_int_eq(tnn_residual_add(other, block), TNN_E_INVALID);
    ck_assert_int_eq(tnn_residual_add(other, tnn_model_layer(m, 0)),
                     TNN_E_INVALID);
    ck_assert_uint_eq(tnn_residual_num_layers(NULL), 0u);
    ck_assert_uint_eq(tnn_residual_num_layers(more), 0u);
    ck_assert_ptr_null(tnn_residual_layer(more, 0));
    tnn_layer_free(other);
    tnn_layer_free(more);
    tnn_model_free(m);
}
END_TEST

/* The summary of a model tree's parameters counts a block's layers'. */
static double train_copy_task(tnn_model *m, tnn_tensor *x, tnn_tensor *y,
                              int epochs)
{
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, epochs, 16, 1, NULL, NULL), TNN_OK);
    double loss, accuracy;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &accuracy), TNN_OK);
    return accuracy;
}

/* A token model that must read each step's id (the target is the next
 * id of a fixed cycle): learnt to 100%, saved with its optimizer, loaded
 * and trained on exactly as the original, cloned. */
START_TEST(token_model_learns_and_resumes)
{
    const size_t time = 6, vocab = 5, rows = 64;
    tnn_tensor *x = tensor_2d(rows, time, NULL),
               *y = tensor_2d(rows, time, NULL);
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < time; t++) {
            size_t id = (r * 3 + t * (r % 2 + 1)) % vocab;
            tnn_tensor_data(x)[r * time + t] = (float)id;
            tnn_tensor_data(y)[r * time + t] = (float)((id * 2 + 1) % vocab);
        }
    tnn_model *m = tnn_model_new_tokens(time, vocab);
    tnn_layer *block = tnn_residual_new();
    ck_assert_int_eq(tnn_residual_add(block, tnn_layernorm_new(8)), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(8, 16)), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_relu_new()), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_dropout_new(0.1f)), 0);
    ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(16, 8)), 0);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(vocab, 8)), 0);
    ck_assert_int_eq(tnn_model_add(m, tnn_position_embedding_new(time, 8)), 0);
    ck_assert_int_eq(tnn_model_add(m, block), 0);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, vocab)), 0);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), 0);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), 0);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.02f)), 0);
    ck_assert_uint_eq(tnn_model_num_params(m), 5 * 8 + 6 * 8 + 16 + 8 * 16 +
                                                   16 + 16 * 8 + 8 + 8 * 5 +
                                                   5);
    ck_assert_double_eq_tol(train_copy_task(m, x, y, 30), 1.0, 1e-12);

    unsigned char *image = malloc(1 << 16);
    size_t size = 0;
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, image, 1 << 16, &size),
        TNN_OK);
    ck_assert_uint_eq((unsigned)image[8], 9);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &back), TNN_OK);
    tnn_model *copy = tnn_model_clone(m);
    ck_assert_ptr_nonnull(copy);
    train_copy_task(m, x, y, 2);
    train_copy_task(back, x, y, 2);
    tnn_tensor *p1 = tensor_2d(rows, time * vocab, NULL);
    tnn_tensor *p2 = tensor_2d(rows, time * vocab, NULL);
    ck_assert_int_eq(tnn_model_predict(m, x, p1), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(back, x, p2), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(p1), tnn_tensor_data(p2),
                     rows * time * vocab * sizeof(float));
    /* The clone holds the block's layers with their values. */
    ck_assert_uint_eq(tnn_residual_num_layers(tnn_model_layer(copy, 2)), 5u);
    ck_assert_uint_eq(tnn_model_num_params(copy), tnn_model_num_params(m));
    free(image);
    tnn_tensor_free(p1);
    tnn_tensor_free(p2);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(copy);
    tnn_model_free(back);
    tnn_model_free(m);
}
END_TEST

/* Every allocation of building, training, saving and loading a token
 * model may fail: each failure is reported, and nothing leaks. */
static tnn_model *token_sweep_model(void)
{
    tnn_model *m = tnn_model_new_tokens(4, 3);
    if (!m)
        return NULL;
    int rc = sweep_add(m, tnn_embedding_new(3, 4), TNN_OK);
    rc = sweep_add(m, tnn_position_embedding_new(4, 4), rc);
    tnn_layer *block = rc == TNN_OK ? tnn_residual_new() : NULL;
    tnn_layer *d = block ? tnn_dense_new(4, 4) : NULL;
    if (block && (!d || tnn_residual_add(block, d) != TNN_OK)) {
        tnn_layer_free(d);
        tnn_layer_free(block);
        block = NULL;
    }
    rc = sweep_add(m, block, rc);
    tnn_optim *opt = rc == TNN_OK ? tnn_adam_new(0.01f) : NULL;
    rc = rc == TNN_OK ? (opt ? tnn_model_set_optim(m, opt) : TNN_E_NOMEM) : rc;
    rc = sweep_add(m, tnn_dense_new(4, 3), rc);
    if (rc == TNN_OK)
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    if (rc != TNN_OK) {
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

START_TEST(token_allocation_failures)
{
    tnn_tensor *x = tensor_2d(8, 4, NULL), *y = tensor_2d(8, 4, NULL);
    for (size_t i = 0; i < 32; i++) {
        tnn_tensor_data(x)[i] = (float)(i % 3);
        tnn_tensor_data(y)[i] = (float)((i + 1) % 3);
    }
    sweep_model_allocations(token_sweep_model, x, y, 4);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- what review found -------------------------------------------------- */

static tnn_model *load_data_file(const char *name, int *rc)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", TNN_TEST_DATA_DIR, name);
    tnn_model *m = NULL;
    *rc = tnn_model_load(path, &m);
    return m;
}

/* Crafted files: an inner block that uses up the records its block
 * counted on (read past the records before), inner widths that the
 * shapes contradict, a frozen layer inside a block. */
START_TEST(residual_files_refused)
{
    const char *names[3] = {"residual-nest-over.tnn", "residual-width-lie.tnn",
                            "residual-inner-frozen.tnn"};
    for (int i = 0; i < 3; i++) {
        int rc;
        tnn_model *m = load_data_file(names[i], &rc);
        ck_assert_msg(rc == TNN_E_CORRUPT, "%s: %d %s", names[i], rc,
                      tnn_last_error());
        ck_assert_ptr_null(m);
    }
}
END_TEST

/* Blocks nest 16 deep, as files allow; a frozen layer, an embedding are
 * refused; an embedding is a model's first layer only. */
START_TEST(residual_and_embedding_placement)
{
    tnn_layer *block = tnn_residual_new();
    ck_assert_int_eq(tnn_residual_add(block, tnn_relu_new()), TNN_OK);
    for (int depth = 2; depth <= 16; depth++) {
        tnn_layer *outer = tnn_residual_new();
        ck_assert_int_eq(tnn_residual_add(outer, block), TNN_OK);
        block = outer;
    }
    tnn_layer *too_deep = tnn_residual_new();
    ck_assert_int_eq(tnn_residual_add(too_deep, block), TNN_E_INVALID);
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, block), TNN_OK);
    size_t size = 0;
    unsigned char *image = malloc(1 << 16);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, image, 1 << 16, &size), 0);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &back), TNN_OK);
    tnn_model_free(back);
    free(image);
    tnn_model_free(m);

    tnn_layer *frozen = tnn_dense_new(3, 3);
    ck_assert_int_eq(tnn_layer_set_trainable(frozen, 0), TNN_OK);
    ck_assert_int_eq(tnn_residual_add(too_deep, frozen), TNN_E_STATE);
    tnn_layer *e = tnn_embedding_new(4, 1);
    ck_assert_int_eq(tnn_residual_add(too_deep, e), TNN_E_INVALID);
    ck_assert_uint_eq(tnn_residual_num_layers(too_deep), 0u);
    tnn_layer_free(frozen);
    tnn_layer_free(too_deep);

    m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, e), TNN_E_SHAPE); /* freed */
    tnn_model_free(m);
    m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, tnn_embedding_new(4, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_insert(m, 0, tnn_relu_new()), TNN_E_SHAPE);
    ck_assert_uint_eq(tnn_model_num_layers(m), 1u);
    tnn_model_free(m);
}
END_TEST

/* A block made of copies keeps their values when its model takes it, and
 * is initialised by re-seeding like any layer: the same seed twice gives
 * the same values. */
START_TEST(cloned_block_reinitialises)
{
    tnn_layer *block = tnn_residual_new();
    ck_assert_int_eq(tnn_residual_add(block, tnn_dense_new(3, 3)), TNN_OK);
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, block), TNN_OK);
    tnn_tensor_fill(tnn_layer_param(block, 0), 0.5f);
    tnn_layer *copy = tnn_layer_clone(block);
    ck_assert_ptr_nonnull(copy);
    tnn_model *m2 = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m2, copy), TNN_OK);
    ck_assert_float_eq(tnn_tensor_data(tnn_layer_param(copy, 0))[4], 0.5f);
    ck_assert_int_eq(tnn_model_set_seed(m2, 1), TNN_OK);
    float first = tnn_tensor_data(tnn_layer_param(copy, 0))[4];
    ck_assert_float_ne(first, 0.5f);
    ck_assert_int_eq(tnn_model_set_seed(m2, 1), TNN_OK);
    ck_assert_float_eq(tnn_tensor_data(tnn_layer_param(copy, 0))[4], first);
    tnn_model_free(m2);
    tnn_model_free(m);
}
END_TEST

/* A class per step that is none is named by its row and step. */
START_TEST(step_labels_named)
{
    tnn_model *m = tnn_model_new_sequence(3, 2);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    tnn_tensor *x = tensor_2d(2, 6, NULL), *y = tensor_2d(2, 3, NULL);
    tnn_tensor_data(y)[5] = 2.0f;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, NULL, NULL), TNN_E_INVALID);
    ck_assert_msg(strstr(tnn_last_error(), "row 1, step 2"), "%s",
                  tnn_last_error());
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* Three replicas in threads with synchronised batch-norm inside a block;
 * the last batch leaves one replica without rows, whose sums must come in
 * the order of the others' (the backward's last layer first). */
#define SYNC_REPLICAS 3

struct sync_shared {
    pthread_barrier_t barrier;
    float *slot[SYNC_REPLICAS];
    size_t count[SYNC_REPLICAS];
    int mismatches;
};

struct sync_replica {
    struct sync_shared *shared;
    int rank;
    float sum[1024];
    tnn_model *m;
    const tnn_tensor *x, *y;
    int rc;
};

static int sync_hook(float *buf, size_t count, void *ctx)
{
    struct sync_replica *r = ctx;
    struct sync_shared *s = r->shared;
    s->slot[r->rank] = buf;
    s->count[r->rank] = count;
    pthread_barrier_wait(&s->barrier);
    bool same = true;
    for (int q = 0; q < SYNC_REPLICAS; q++)
        same = same && s->count[q] == count && count <= 1024;
    if (same)
        for (size_t k = 0; k < count; k++) {
            float v = 0.0f;
            for (int q = 0; q < SYNC_REPLICAS; q++)
                v += s->slot[q][k];
            r->sum[k] = v;
        }
    else if (r->rank == 0)
        s->mismatches++;
    pthread_barrier_wait(&s->barrier);
    if (!same)
        return -1;
    memcpy(buf, r->sum, count * sizeof *buf);
    return 0;
}

static void *sync_run(void *arg)
{
    struct sync_replica *r = arg;
    r->rc = tnn_model_fit(r->m, r->x, r->y, NULL, NULL, 1, 4, 0, NULL, NULL);
    return NULL;
}

START_TEST(residual_sync_batchnorm_replicas)
{
    size_t rows = 6;
    tnn_tensor *x = tensor_2d(rows, 8, NULL), *y = tnn_tensor_new(1, &rows);
    for (size_t i = 0; i < rows * 8; i++)
        tnn_tensor_data(x)[i] = (float)sin((double)i * 0.37);
    for (size_t i = 0; i < rows; i++)
        tnn_tensor_data(y)[i] = (float)(i % 3);
    struct sync_shared shared = {.mismatches = 0};
    pthread_barrier_init(&shared.barrier, NULL, SYNC_REPLICAS);
    struct sync_replica reps[SYNC_REPLICAS];
    pthread_t threads[SYNC_REPLICAS];
    for (int q = 0; q < SYNC_REPLICAS; q++) {
        tnn_model *m = tnn_model_new(8);
        tnn_layer *b = tnn_residual_new();
        ck_assert_int_eq(tnn_residual_add(b, tnn_batchnorm_new(8)), 0);
        ck_assert_int_eq(tnn_residual_add(b, tnn_dense_new(8, 4)), 0);
        ck_assert_int_eq(tnn_residual_add(b, tnn_batchnorm_new(4)), 0);
        ck_assert_int_eq(tnn_residual_add(b, tnn_dense_new(4, 8)), 0);
        ck_assert_int_eq(tnn_model_add(m, b), 0);
        ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 3)), 0);
        ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), 0);
        ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), 0);
        ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), 0);
        ck_assert_int_eq(tnn_model_set_shard(m, (size_t)q, SYNC_REPLICAS), 0);
        reps[q] = (struct sync_replica){
            .shared = &shared, .rank = q, .m = m, .x = x, .y = y};
        ck_assert_int_eq(tnn_model_set_allreduce(m, sync_hook, &reps[q]), 0);
        ck_assert_int_eq(tnn_model_set_sync_batchnorm(m, 1), 0);
    }
    for (int q = 0; q < SYNC_REPLICAS; q++)
        pthread_create(&threads[q], NULL, sync_run, &reps[q]);
    for (int q = 0; q < SYNC_REPLICAS; q++)
        pthread_join(threads[q], NULL);
    ck_assert_int_eq(shared.mismatches, 0);
    for (int q = 0; q < SYNC_REPLICAS; q++) {
        ck_assert_int_eq(reps[q].rc, TNN_OK);
        tnn_model_free(reps[q].m);
    }
    pthread_barrier_destroy(&shared.barrier);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

Suite *tokens_suite(void)
{
    Suite *s = suite_create("tokens");
    TCase *tc = tcase_create("tokens");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, token_model_matches_pytorch);
    tcase_add_test(tc, embedding_by_hand);
    tcase_add_test(tc, token_model_checks_ids);
    tcase_add_test(tc, dense_on_every_step);
    tcase_add_test(tc, residual_by_hand);
    tcase_add_test(tc, residual_gradients);
    tcase_add_test(tc, residual_refusals);
    tcase_add_test(tc, token_model_learns_and_resumes);
    tcase_add_test(tc, token_allocation_failures);
    tcase_add_test(tc, residual_files_refused);
    tcase_add_test(tc, residual_and_embedding_placement);
    tcase_add_test(tc, cloned_block_reinitialises);
    tcase_add_test(tc, step_labels_named);
    tcase_add_test(tc, residual_sync_batchnorm_replicas);
    suite_add_tcase(s, tc);
    return s;
}
