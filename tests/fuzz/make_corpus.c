/*
 * Writes the seed corpora of the fuzz targets: valid model images made
 * through the public API, IDX inputs (a flags byte, then the file) and
 * delimited-text inputs (a choice byte, the targets, then the file; see
 * fuzz_csv.c), valid ones and near misses. Regenerate them whenever the model
 * format changes, so that the fuzzer starts from files the loader accepts:
 *
 *     tests/fuzz/run.sh corpus
 *
 * or by hand: make_corpus DIR, which writes DIR/model/, DIR/idx/ and
 * DIR/csv/.
 *
 * Everything is deterministic (fixed seeds, one thread), so regenerating
 * without a format change rewrites the same bytes. Widths are small: a
 * seed is cheap for the fuzzer to mutate and every layer kind, optimizer
 * and flag is still represented.
 */
#define _POSIX_C_SOURCE 200809L /* mkdir() */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tinynn.h"

static const char *out_dir;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, detail);
    exit(1);
}

/* Stop at the first failed library call: a seed that is not what its name
 * says would mislead whoever reads the corpus. */
static void ok(int rc, const char *what)
{
    if (rc != TNN_OK)
        die(what, tnn_last_error());
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die(path, strerror(errno));
}

static void write_file(const char *sub, const char *name, const void *data,
                       size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        die(path, strerror(errno));
    if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
        die(path, "cannot write");
    printf("%6zu  %s\n", size, path);
}

/* ---- models ------------------------------------------------------------- */

static tnn_layer *dense(size_t in, size_t out)
{
    tnn_layer *layer = tnn_dense_new(in, out);
    if (!layer)
        die("tnn_dense_new", tnn_last_error());
    return layer;
}

static void add(tnn_model *m, tnn_layer *layer)
{
    if (!layer)
        die("layer constructor", tnn_last_error());
    ok(tnn_model_add(m, layer), "tnn_model_add");
}

static tnn_model *new_model(size_t in, uint64_t seed)
{
    tnn_model *m = tnn_model_new(in);
    if (!m)
        die("tnn_model_new", tnn_last_error());
    ok(tnn_model_set_seed(m, seed), "tnn_model_set_seed");
    return m;
}

/* steps training steps on a batch of rows drawn from a fixed generator,
 * so that parameters, statistics and optimizer slots hold particular
 * values rather than their initial ones. */
static void train(tnn_model *m, int steps, size_t rows)
{
    size_t in = tnn_model_in_features(m), out = tnn_model_out_features(m);
    tnn_rng *rng = tnn_rng_new(7);
    tnn_tensor *x = tnn_tensor_new_2d(rows, in);
    tnn_tensor *y = tnn_tensor_new_2d(rows, out);
    if (!rng || !x || !y)
        die("train", tnn_last_error());
    ok(tnn_tensor_rand_normal(x, rng, 0.0f, 1.0f), "rand_normal");
    /* One-hot rows: probabilities for cross-entropy, targets for MSE. */
    for (size_t r = 0; r < rows; r++)
        tnn_tensor_data(y)[r * out + r % out] = 1.0f;
    for (int s = 0; s < steps; s++)
        ok(tnn_model_train_batch(m, x, y, NULL), "tnn_model_train_batch");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
}

static void save(const tnn_model *m, int flags, const char *name)
{
    size_t needed = 0;
    ok(tnn_model_save_buffer(m, flags, NULL, 0, &needed), "size query");
    void *image = malloc(needed);
    if (!image)
        die(name, "out of memory");
    ok(tnn_model_save_buffer(m, flags, image, needed, NULL),
       "tnn_model_save_buffer");
    /* A seed the loader refuses would be worthless: check it loads. */
    tnn_model *back = NULL;
    ok(tnn_model_load_buffer(image, needed, &back), name);
    tnn_model_free(back);
    write_file("model", name, image, needed);
    free(image);
}

/* Dense, relu, softmax with cross-entropy and Adam: the MNIST shape in
 * miniature; with and without the optimizer. */
static void model_mlp(void)
{
    tnn_model *m = new_model(6, 1);
    add(m, dense(6, 5));
    add(m, tnn_relu_new());
    add(m, dense(5, 3));
    add(m, tnn_softmax_new());
    ok(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), "set_loss");
    ok(tnn_model_set_optim(m, tnn_adam_new(0.01f)), "set_optim");
    train(m, 2, 4);
    save(m, TNN_SAVE_OPTIMIZER, "mlp-adam-opt.tnn");
    save(m, 0, "mlp-adam.tnn");
    tnn_model_free(m);
}

/* sigmoid, tanh, identity with MSE; SGD with Nesterov momentum, L2 on
 * every parameter and a step schedule; one layer frozen. */
static void model_activations(void)
{
    tnn_model *m = new_model(4, 2);
    tnn_layer *first = dense(4, 4);
    ok(tnn_dense_set_init(first, TNN_INIT_HE_NORMAL, 0.0f), "set_init");
    add(m, first);
    add(m, tnn_sigmoid_new());
    tnn_layer *frozen = dense(4, 3);
    ok(tnn_dense_set_init(frozen, TNN_INIT_CONSTANT, 0.125f), "set_init");
    ok(tnn_layer_set_trainable(frozen, 0), "set_trainable");
    add(m, frozen);
    add(m, tnn_tanh_new());
    add(m, tnn_identity_new());
    add(m, dense(3, 2));
    tnn_optim *sgd = tnn_sgd_new(0.05f);
    ok(tnn_sgd_set_momentum(sgd, 0.9f), "set_momentum");
    ok(tnn_sgd_set_nesterov(sgd, 1), "set_nesterov");
    ok(tnn_optim_set_weight_decay(sgd, 0.001f), "set_weight_decay");
    ok(tnn_optim_set_decay_all(sgd, 1), "set_decay_all");
    ok(tnn_optim_set_step_schedule(sgd, 2, 0.5f), "set_step_schedule");
    ok(tnn_model_set_optim(m, sgd), "set_optim");
    train(m, 3, 3);
    save(m, TNN_SAVE_OPTIMIZER, "act-sgd-opt.tnn");
    save(m, 0, "act-sgd.tnn");
    tnn_model_free(m);
}

/* A leaky ReLU (format 3) between two dense layers, plain SGD. */
static void model_leaky(void)
{
    tnn_model *m = new_model(4, 3);
    add(m, dense(4, 3));
    tnn_layer *leaky = tnn_leaky_relu_new(0.05f);
    if (!leaky)
        die("tnn_leaky_relu_new", tnn_last_error());
    add(m, leaky);
    add(m, dense(3, 2));
    ok(tnn_model_set_optim(m, tnn_sgd_new(0.05f)), "set_optim");
    train(m, 2, 3);
    save(m, TNN_SAVE_OPTIMIZER, "leaky-sgd-opt.tnn");
    tnn_model_free(m);
}

/* Batch-norm and dropout (trained, so the running statistics moved and
 * the generator advanced), AdamW with a cosine schedule, saved in
 * training mode with the finite check on. */
static void model_batchnorm(void)
{
    tnn_model *m = new_model(5, 3);
    tnn_layer *bn = tnn_batchnorm_new(5);
    add(m, dense(5, 5));
    if (!bn)
        die("tnn_batchnorm_new", tnn_last_error());
    ok(tnn_batchnorm_set_momentum(bn, 0.9f), "set_momentum");
    ok(tnn_batchnorm_set_eps(bn, 0.01f), "set_eps");
    add(m, bn);
    add(m, tnn_relu_new());
    add(m, tnn_dropout_new(0.25f));
    add(m, dense(5, 2));
    tnn_optim *adam = tnn_adam_new(0.01f);
    ok(tnn_adam_set_betas(adam, 0.8f, 0.99f), "set_betas");
    ok(tnn_adam_set_eps(adam, 1e-6f), "set_eps");
    ok(tnn_adam_set_decoupled(adam, 1), "set_decoupled");
    ok(tnn_optim_set_weight_decay(adam, 0.01f), "set_weight_decay");
    ok(tnn_optim_set_cosine_schedule(adam, 10, 0.001f), "cosine");
    ok(tnn_model_set_optim(m, adam), "set_optim");
    ok(tnn_model_set_check_finite(m, 1), "set_check_finite");
    train(m, 2, 4);
    ok(tnn_model_set_mode(m, TNN_MODE_TRAIN), "set_mode");
    save(m, TNN_SAVE_OPTIMIZER, "bn-dropout-adamw-opt.tnn");
    save(m, 0, "bn-dropout.tnn");
    tnn_model_free(m);
}

/* Edge shapes: no layers at all; a model that starts with width-taking
 * layers; an optimizer that has not stepped yet (no slots). */
static void model_edges(void)
{
    tnn_model *empty = new_model(3, 4);
    save(empty, 0, "empty.tnn");
    tnn_model_free(empty);

    tnn_model *m = new_model(3, 5);
    add(m, tnn_tanh_new());
    add(m, tnn_batchnorm_new(3));
    add(m, tnn_softmax_new());
    ok(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), "set_optim");
    save(m, TNN_SAVE_OPTIMIZER, "no-dense-sgd-unstepped-opt.tnn");
    tnn_model_free(m);
}

/* Images (since format 2): convolutions with same, valid and counted
 * padding, both poolings, batch-norm over channels, flatten into dense.
 * 1 x 8 x 8 -> conv 2@3x3 same -> bn -> relu -> maxpool 2/2 (2 x 4 x 4)
 * -> conv 3@2x2 stride 2 valid (3 x 2 x 2) -> avgpool 2/1 (3 x 1 x 1)
 * -> flatten -> dense 3 -> softmax. */
static void model_cnn(void)
{
    tnn_model *m = tnn_model_new_image(1, 8, 8);
    if (!m)
        die("tnn_model_new_image", tnn_last_error());
    ok(tnn_model_set_seed(m, 6), "tnn_model_set_seed");
    add(m, tnn_conv2d_new(1, 2, 3, 3, 1, TNN_PADDING_SAME));
    add(m, tnn_batchnorm_new(2));
    add(m, tnn_relu_new());
    add(m, tnn_maxpool2d_new(2, 2));
    tnn_layer *conv = tnn_conv2d_new(2, 3, 2, 2, 2, TNN_PADDING_VALID);
    if (!conv)
        die("tnn_conv2d_new", tnn_last_error());
    ok(tnn_conv2d_set_init(conv, TNN_INIT_HE_NORMAL, 0.0f), "set_init");
    add(m, conv);
    add(m, tnn_avgpool2d_new(2, 1));
    add(m, tnn_flatten_new());
    add(m, dense(3, 3));
    add(m, tnn_softmax_new());
    ok(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), "set_loss");
    ok(tnn_model_set_optim(m, tnn_adam_new(0.01f)), "set_optim");
    train(m, 2, 3);
    save(m, TNN_SAVE_OPTIMIZER, "cnn-adam-opt.tnn");
    save(m, 0, "cnn-adam.tnn");
    tnn_model_free(m);
}

/* A sequence model (format 8): 5 steps of 3 -> LSTM 4 (every step) ->
 * layer norm -> GRU 3 (last step) -> dense 2 softmax, Adam. */
static void model_sequence(void)
{
    tnn_model *m = tnn_model_new_sequence(5, 3);
    if (!m)
        die("tnn_model_new_sequence", tnn_last_error());
    ok(tnn_model_set_seed(m, 8), "tnn_model_set_seed");
    add(m, tnn_lstm_new(3, 4, 1));
    add(m, tnn_layernorm_new(4));
    add(m, tnn_gru_new(4, 3, 0));
    add(m, dense(3, 2));
    add(m, tnn_softmax_new());
    ok(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), "set_loss");
    ok(tnn_model_set_optim(m, tnn_adam_new(0.01f)), "set_optim");
    train(m, 2, 3);
    save(m, TNN_SAVE_OPTIMIZER, "seq-adam-opt.tnn");
    save(m, 0, "seq-adam.tnn");
    tnn_model_free(m);
}

/* A token model (format 9): 4 ids of 6 -> embedding 4 -> positions ->
 * residual (layer norm, attention of 2 heads, causal) -> residual (layer
 * norm, dense 4 -> 6 on every step, GELU, a residual block of dense 6 -> 6)
 * ... -> dense 4 -> 6 on every step, softmax per step, Adam. Trained on
 * ids, with a distribution per step. */
static void model_tokens(void)
{
    tnn_model *m = tnn_model_new_tokens(4, 6);
    if (!m)
        die("tnn_model_new_tokens", tnn_last_error());
    ok(tnn_model_set_seed(m, 8), "tnn_model_set_seed");
    add(m, tnn_embedding_new(6, 4));
    add(m, tnn_position_embedding_new(4, 4));
    tnn_layer *attend = tnn_residual_new(), *mlp = tnn_residual_new();
    tnn_layer *inner = tnn_residual_new();
    if (!attend || !mlp || !inner)
        die("tnn_residual_new", tnn_last_error());
    ok(tnn_residual_add(attend, tnn_layernorm_new(4)), "residual_add");
    ok(tnn_residual_add(attend, tnn_attention_new(4, 2, 1, 0.0f)),
       "residual_add");
    ok(tnn_residual_add(inner, dense(6, 6)), "residual_add");
    ok(tnn_residual_add(mlp, tnn_layernorm_new(4)), "residual_add");
    ok(tnn_residual_add(mlp, dense(4, 6)), "residual_add");
    ok(tnn_residual_add(mlp, tnn_gelu_new()), "residual_add");
    ok(tnn_residual_add(mlp, inner), "residual_add");
    ok(tnn_residual_add(mlp, dense(6, 4)), "residual_add");
    add(m, attend);
    add(m, mlp);
    add(m, dense(4, 6));
    add(m, tnn_softmax_new());
    ok(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), "set_loss");
    ok(tnn_model_set_optim(m, tnn_adam_new(0.01f)), "set_optim");
    tnn_tensor *x = tnn_tensor_new_2d(3, 4), *y = tnn_tensor_new_2d(3, 4);
    if (!x || !y)
        die("model_tokens", tnn_last_error());
    for (size_t i = 0; i < 12; i++) {
        tnn_tensor_data(x)[i] = (float)(i % 6);
        tnn_tensor_data(y)[i] = (float)((i * 5 + 1) % 6);
    }
    for (int s = 0; s < 2; s++)
        ok(tnn_model_train_batch(m, x, y, NULL), "tnn_model_train_batch");
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    save(m, TNN_SAVE_OPTIMIZER, "tokens-adam-opt.tnn");
    save(m, 0, "tokens-adam.tnn");
    tnn_model_free(m);
}

/* A non-square image of two channels, a padding count and a constant
 * initialiser: 2 x 5 x 4 -> conv 1@3x2 stride 2 pad 1 (1 x 3 x 3) ->
 * tanh -> maxpool 3/1 (1 x 1 x 1) -> flatten, MSE with SGD. */
static void model_cnn_padded(void)
{
    tnn_model *m = tnn_model_new_image(2, 5, 4);
    if (!m)
        die("tnn_model_new_image", tnn_last_error());
    ok(tnn_model_set_seed(m, 8), "tnn_model_set_seed");
    tnn_layer *conv = tnn_conv2d_new(2, 1, 3, 2, 2, 1);
    if (!conv)
        die("tnn_conv2d_new", tnn_last_error());
    ok(tnn_conv2d_set_init(conv, TNN_INIT_CONSTANT, 0.25f), "set_init");
    add(m, conv);
    add(m, tnn_tanh_new());
    add(m, tnn_maxpool2d_new(3, 1));
    add(m, tnn_flatten_new());
    ok(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), "set_optim");
    train(m, 1, 2);
    save(m, TNN_SAVE_OPTIMIZER, "cnn-padded-sgd-opt.tnn");
    tnn_model_free(m);
}

/* Zero padding (format 6), on some sides only, before a valid
 * convolution and after it: 1 x 4 x 3 -> pad (1, 0, 2, 1) (1 x 5 x 6) ->
 * conv 2@2x2 valid (2 x 4 x 5) -> pad (0, 2, 0, 1) (2 x 6 x 6) -> avgpool
 * 3/3 (2 x 2 x 2) -> flatten -> dense 2, SGD with momentum. */
static void model_zeropad(void)
{
    tnn_model *m = tnn_model_new_image(1, 4, 3);
    if (!m)
        die("tnn_model_new_image", tnn_last_error());
    ok(tnn_model_set_seed(m, 9), "tnn_model_set_seed");
    add(m, tnn_zeropad2d_new(1, 0, 2, 1));
    add(m, tnn_conv2d_new(1, 2, 2, 2, 1, TNN_PADDING_VALID));
    add(m, tnn_zeropad2d_new(0, 2, 0, 1));
    add(m, tnn_avgpool2d_new(3, 3));
    add(m, tnn_flatten_new());
    add(m, dense(8, 2));
    tnn_optim *sgd = tnn_sgd_new(0.05f);
    ok(tnn_sgd_set_momentum(sgd, 0.5f), "set_momentum");
    ok(tnn_model_set_optim(m, sgd), "set_optim");
    train(m, 2, 3);
    save(m, TNN_SAVE_OPTIMIZER, "zeropad-sgd-opt.tnn");
    save(m, 0, "zeropad.tnn");
    tnn_model_free(m);
}

/* A one-pixel image padded by 4096: conv2d's output alone is above the
 * default per-sample bound, so prediction must refuse it, not allocate
 * gigabytes. Never trained (that would need the memory). */
static void model_huge_geometry(void)
{
    tnn_model *m = tnn_model_new_image(1, 1, 1);
    if (!m)
        die("tnn_model_new_image", tnn_last_error());
    add(m, tnn_conv2d_new(1, 1, 1, 1, 1, 4096));
    add(m, tnn_maxpool2d_new(4096, 4096));
    save(m, 0, "conv-padding-4096.tnn");
    tnn_model_free(m);
}

/* ---- IDX ---------------------------------------------------------------- */

/* A flags byte, then an IDX header of ndim dims and their elements, each
 * filled with a pattern; extra adds (or, negative, removes) data bytes to
 * make near misses. */
static void idx(const char *name, int flags, int type, int ndim,
                const uint32_t *dims, long extra)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= dims[i];
    size_t data = (size_t)((long)count + extra);
    size_t size = 1 + 4 + 4 * (size_t)ndim + data;
    unsigned char *buf = calloc(size, 1);
    if (!buf)
        die(name, "out of memory");
    unsigned char *p = buf;
    *p++ = (unsigned char)flags;
    *p++ = 0;
    *p++ = 0;
    *p++ = (unsigned char)type;
    *p++ = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        *p++ = (unsigned char)(dims[i] >> 24);
        *p++ = (unsigned char)(dims[i] >> 16);
        *p++ = (unsigned char)(dims[i] >> 8);
        *p++ = (unsigned char)dims[i];
    }
    /* 37 is odd, so 256 consecutive bytes take every value once: the
     * 16 x 16 matrix shows scaling 0 and 255 and all between. */
    for (size_t k = 0; k < data; k++)
        *p++ = (unsigned char)(k * 37 + 11);

    /* Valid seeds must load and near misses must not. */
    tnn_tensor *t = NULL;
    int rc = tnn_idx_load_buffer(buf + 1, size - 1, flags, &t);
    int valid = type == 0x08 && extra == 0;
    if ((rc == TNN_OK) != valid)
        die(name, rc == TNN_OK ? "near miss accepted" : tnn_last_error());
    tnn_tensor_free(t);
    write_file("idx", name, buf, size);
    free(buf);
}

static void idx_corpus(void)
{
    const uint32_t labels[] = {10};
    const uint32_t images[] = {3, 4, 4};
    const uint32_t matrix[] = {16, 16};
    const uint32_t tensor4[] = {2, 3, 2, 2};
    /* More data than tnn_idx_load() converts at once (4096 bytes), so the
     * file path of the comparison in fuzz_idx runs its chunk loop. */
    const uint32_t chunked[] = {2, 48, 48};
    idx("labels-1d.idx", 0, 0x08, 1, labels, 0);
    idx("images-3d-scale.idx", TNN_IDX_SCALE, 0x08, 3, images, 0);
    idx("images-3d-flatten.idx", TNN_IDX_FLATTEN, 0x08, 3, images, 0);
    idx("matrix-2d-both.idx", TNN_IDX_SCALE | TNN_IDX_FLATTEN, 0x08, 2, matrix,
        0);
    idx("tensor-4d-flatten.idx", TNN_IDX_FLATTEN, 0x08, 4, tensor4, 0);
    idx("images-3d-chunked.idx", TNN_IDX_SCALE, 0x08, 3, chunked, 0);
    /* Near misses: one byte short, one byte long, a float element type. */
    idx("near-short.idx", 0, 0x08, 3, images, -1);
    idx("near-long.idx", TNN_IDX_SCALE, 0x08, 1, labels, 1);
    idx("near-float-type.idx", 0, 0x0d, 2, matrix, 0);
}

/* ---- delimited text -------------------------------------------------------
 */

/* fuzz_csv's choice byte: flags 0 to 2 (none, header, no header), the
 * delimiter's number in its table (0 detect, 1 ',', 2 ';', 3 '\t', 4 ' '),
 * and number mode. */
static unsigned char csv_choice(int flags, int delim, int number)
{
    return (unsigned char)(flags | delim << 2 | (number ? 3 << 5 : 0));
}

/* A seed: the choice byte, the targets (NULL: none), the text. Valid
 * seeds must load and near misses must not. */
static void csv(const char *name, int flags, int delim, const char *targets,
                const char *text, size_t len, int valid)
{
    static const int flag_values[3] = {0, TNN_CSV_HEADER, TNN_CSV_NO_HEADER};
    static const char delims[5] = {0, ',', ';', '\t', ' '};
    size_t tlen = targets ? strlen(targets) : 0;
    if (tlen > 15)
        die(name, "targets longer than 15 bytes");
    size_t size = 2 + tlen + len;
    unsigned char *buf = malloc(size);
    if (!buf)
        die(name, "out of memory");
    buf[0] = csv_choice(flags, delim, 0);
    buf[1] = targets ? (unsigned char)tlen : 0xff;
    memcpy(buf + 2, targets ? targets : "", tlen);
    memcpy(buf + 2 + tlen, text, len);
    tnn_tensor *x = NULL, *y = NULL;
    int rc = tnn_csv_load_buffer(text, len, flag_values[flags], delims[delim],
                                 targets, &x, &y);
    if ((rc == TNN_OK) != valid)
        die(name, rc == TNN_OK ? "near miss accepted" : tnn_last_error());
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    write_file("csv", name, buf, size);
    free(buf);
}

/* A number-mode seed: one field. */
static void csv_number(const char *name, const char *field)
{
    size_t len = strlen(field);
    unsigned char buf[512];
    buf[0] = csv_choice(0, 0, 1);
    memcpy(buf + 1, field, len);
    write_file("csv", name, buf, 1 + len);
}

static uint32_t crc32_bytes(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* text as one gzip member holding one stored (uncompressed) deflate
 * block, into out; returns its size. */
static size_t gzip_stored(const char *text, unsigned char *out)
{
    size_t len = strlen(text), k = 0;
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0,
                                           0,    0,    0, 0, 0xff};
    memcpy(out, head, sizeof head);
    k = sizeof head;
    out[k++] = 1; /* final block, stored */
    out[k++] = (unsigned char)len;
    out[k++] = (unsigned char)(len >> 8);
    out[k++] = (unsigned char)~len;
    out[k++] = (unsigned char)(~len >> 8);
    memcpy(out + k, text, len);
    k += len;
    uint32_t crc = crc32_bytes((const unsigned char *)text, len);
    for (int i = 0; i < 4; i++)
        out[k++] = (unsigned char)(crc >> (8 * i));
    for (int i = 0; i < 4; i++)
        out[k++] = (unsigned char)(len >> (8 * i));
    return k;
}

static void csv_corpus(void)
{
#define TEXT(s) s, sizeof s - 1
    csv("header-comma.csv", 0, 0, "label",
        TEXT("# iris-like\nsepal,petal,label\n5.1,1.4,0\n6.2,4.5,1\n"
             "7.7,6.7,2\n"),
        1);
    csv("semicolon-quoted.csv", 0, 2, "-1",
        TEXT("\"a;b\";\"c \"\"d\"\"\";e\n\"1.5\"; 2 ;-3e-2\n"
             "4;\" 5 \";6\n"),
        1);
    csv("tab-crlf.csv", 1, 3, "0,y",
        TEXT("x\ty\tz\r\n1\t2\t3\r\n\r\n# c\r\n4\t5\t6\r\n"), 1);
    csv("blanks-no-header.csv", 2, 4, "2,0",
        TEXT("  1   2\t3\n4 5 6  \n7\t8 9\n"), 1);
    csv("specials-detect.csv", 0, 0, NULL,
        TEXT("\xef\xbb\xbfnan;-inf;Infinity\n1e-45;3.4028235e38;-0\n"), 1);
    csv("long-digits.csv", 0, 1, "",
        TEXT("0.1000000000000000055511151231257827021181583404541015625,"
             "16777217,7.00649232162408535461864791644958065640130970938257"
             "885878534141944895541342930300743319094181060791015625e-46\n"),
        1);
    csv("near-field-count.csv", 0, 0, NULL, TEXT("a,b\n1,2\n3\n"), 0);
    csv("near-quote.csv", 0, 1, NULL, TEXT("1,\"2\n"), 0);
    csv("near-overflow.csv", 0, 0, NULL, TEXT("1,2\n3,3.5e38\n"), 0);
    csv("near-target.csv", 0, 0, "c", TEXT("a,b\n1,2\n"), 0);
    /* Only the file loader inflates: the buffer loader refuses this. */
    unsigned char gz[256];
    size_t gz_len = gzip_stored("a,b\n1,2\n3,4\n", gz);
    csv("gzip-stored.csv", 0, 0, "b", (const char *)gz, gz_len, 0);
#undef TEXT
    csv_number("number-short", "0.1");
    csv_number("number-max", "3.4028235e38");
    csv_number("number-overflow", "3.4028236e38");
    csv_number("number-subnormal", "1.4e-45");
    csv_number("number-halfway", "16777217.00000000000000000000001");
    csv_number("number-long", "1234567890123456789012345678901234567890e-60");
    csv_number("number-blanks", "  -2.5E+3\t");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr,
                "usage: %s DIR (writes DIR/model, DIR/idx and DIR/csv)\n",
                argv[0]);
        return 2;
    }
    out_dir = argv[1];
    char path[4096];
    make_dir(out_dir);
    snprintf(path, sizeof path, "%s/model", out_dir);
    make_dir(path);
    snprintf(path, sizeof path, "%s/idx", out_dir);
    make_dir(path);
    snprintf(path, sizeof path, "%s/csv", out_dir);
    make_dir(path);

    /* Bit-identical seeds from run to run. */
    ok(tnn_set_num_threads(1), "tnn_set_num_threads");
    model_mlp();
    model_activations();
    model_batchnorm();
    model_edges();
    model_leaky();
    model_cnn();
    model_sequence();
    model_tokens();
    model_cnn_padded();
    model_zeropad();
    model_huge_geometry();
    idx_corpus();
    csv_corpus();
    return 0;
}
