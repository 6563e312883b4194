/*
 * libFuzzer target for the model-file parser, tnn_model_load_buffer().
 *
 * Built with -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (see run.sh) so
 * that the loader skips its CRC-32 checks: a mutated input would otherwise
 * stop at the header checksum and the fuzzer would never see the parser.
 *
 * Beyond "no crash, no leak, no undefined behaviour" the target checks the
 * loader's contract, and aborts when it is broken:
 *  - a refused file gives a negative status code, leaves *out NULL and
 *    explains itself in tnn_last_error();
 *  - an accepted file gives a usable model: it predicts, it saves, what it
 *    saves loads back into a model that saves the same bytes and predicts
 *    the same bits, and with an optimizer it trains on exactly like its
 *    copy.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinynn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Widest input the target feeds the model. A model without dense layers
 * may declare up to 2^31 - 1 inputs in a few bytes; predicting with it
 * would allocate gigabytes for nothing the parser can get wrong. A dense
 * or batch-norm layer must have its parameters in the file, so every
 * other width is bounded by the input size already. */
#define MAX_WIDTH 4096

/* Two rows, so that batch-norm's training path sees a real variance. */
#define ROWS 2

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            check_failed(#cond, __LINE__);                                   \
    } while (0)

static void check_failed(const char *what, int line)
{
    fprintf(stderr, "fuzz_model.c:%d: check failed: %s\nlast error: %s\n",
            line, what, tnn_last_error());
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* One thread: results must not depend on the thread count anyway,
     * and a pool of threads per model would only slow the fuzzer down. */
    tnn_set_num_threads(1);
    return 0;
}

/* The whole image of m saved with flags, in a malloc() buffer. */
static uint8_t *save(const tnn_model *m, int flags, size_t *len)
{
    size_t needed = 0;
    CHECK(tnn_model_save_buffer(m, flags, NULL, 0, &needed) == TNN_OK);
    CHECK(needed > 0);
    uint8_t *image = malloc(needed);
    CHECK(image != NULL);
    /* One byte short must be refused without touching the buffer. */
    memset(image, 0xa5, needed);
    CHECK(tnn_model_save_buffer(m, flags, image, needed - 1, NULL) ==
          TNN_E_SHAPE);
    CHECK(image[0] == 0xa5);
    size_t again = 0;
    CHECK(tnn_model_save_buffer(m, flags, image, needed, &again) == TNN_OK);
    CHECK(again == needed);
    *len = needed;
    return image;
}

static tnn_model *load(const uint8_t *image, size_t len)
{
    tnn_model *m = NULL;
    int rc = tnn_model_load_buffer(image, len, &m);
    /* What the library itself wrote must always load. */
    CHECK(rc == TNN_OK);
    CHECK(m != NULL);
    return m;
}

static int narrow_enough(const tnn_model *m)
{
    return tnn_model_in_features(m) <= MAX_WIDTH &&
           tnn_model_out_features(m) <= MAX_WIDTH;
}

/* A fixed input of ROWS rows with mixed signs, so that relu and the
 * saturating activations see both sides; NULL if m is too wide. */
static tnn_tensor *make_input(const tnn_model *m)
{
    if (!narrow_enough(m))
        return NULL;
    size_t width = tnn_model_in_features(m);
    tnn_tensor *x = tnn_tensor_new_2d(ROWS, width);
    CHECK(x != NULL);
    float *v = tnn_tensor_data(x);
    for (size_t k = 0; k < ROWS * width; k++)
        v[k] = (float)((int)(k % 7) - 3) * 0.25f;
    return x;
}

/* Outputs of m for x, in a new tensor. */
static tnn_tensor *predict(tnn_model *m, const tnn_tensor *x)
{
    tnn_tensor *out = tnn_tensor_new_2d(ROWS, tnn_model_out_features(m));
    CHECK(out != NULL);
    CHECK(tnn_model_predict(m, x, out) == TNN_OK);
    return out;
}

static void check_same_bits(const tnn_tensor *a, const tnn_tensor *b)
{
    CHECK(tnn_tensor_size(a) == tnn_tensor_size(b));
    CHECK(memcmp(tnn_tensor_cdata(a), tnn_tensor_cdata(b),
                 tnn_tensor_size(a) * sizeof(float)) == 0);
}

/* One training step on x with all-zero labels (class 0 for
 * cross-entropy, which is valid for any width). A diverging model may
 * stop with TNN_E_NUMERIC when it checks for finite values; nothing
 * else may go wrong. */
static void train_step(tnn_model *m, const tnn_tensor *x, int loss_kind)
{
    size_t rows = ROWS;
    tnn_tensor *y = loss_kind == TNN_LOSS_CROSS_ENTROPY
                        ? tnn_tensor_new(1, &rows)
                        : tnn_tensor_new_2d(ROWS, tnn_model_out_features(m));
    CHECK(y != NULL);
    int rc = tnn_model_train_batch(m, x, y, NULL);
    CHECK(rc == TNN_OK || rc == TNN_E_NUMERIC);
    tnn_tensor_free(y);
}

/* Save m with flags, load the image, save the copy: the two images must
 * be the same bytes, and the two models must predict the same bits. The
 * loaded copy is returned for further comparison. */
static tnn_model *round_trip(tnn_model *m, int flags, const tnn_tensor *x)
{
    size_t len1, len2;
    uint8_t *image1 = save(m, flags, &len1);
    tnn_model *copy = load(image1, len1);
    uint8_t *image2 = save(copy, flags, &len2);
    CHECK(len1 == len2);
    CHECK(memcmp(image1, image2, len1) == 0);
    free(image1);
    free(image2);
    if (x) {
        tnn_tensor *a = predict(m, x), *b = predict(copy, x);
        check_same_bits(a, b);
        tnn_tensor_free(a);
        tnn_tensor_free(b);
    }
    return copy;
}

static void check_same_image(const tnn_model *a, const tnn_model *b,
                             int flags)
{
    size_t len_a, len_b;
    uint8_t *image_a = save(a, flags, &len_a);
    uint8_t *image_b = save(b, flags, &len_b);
    CHECK(len_a == len_b);
    CHECK(memcmp(image_a, image_b, len_a) == 0);
    free(image_a);
    free(image_b);
}

/* Everything an accepted model must support. */
static void exercise(tnn_model *m)
{
    char summary[256];
    size_t needed = 0;
    CHECK(tnn_model_summary(m, summary, sizeof summary, &needed) == TNN_OK);
    CHECK(needed > 0);
    (void)tnn_model_num_params(m);

    tnn_tensor *x = make_input(m);
    if (x) {
        tnn_tensor *out = predict(m, x);
        tnn_tensor_free(out);
    }

    int has_optim = tnn_model_optim(m) != NULL;
    tnn_model *plain = round_trip(m, 0, x);
    tnn_model_free(plain);
    if (!has_optim) {
        CHECK(tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, NULL) ==
              TNN_E_STATE);
        tnn_tensor_free(x);
        return;
    }

    /* The clone goes through the same image, optimizer included. */
    tnn_model *clone = tnn_model_clone(m);
    CHECK(clone != NULL);
    check_same_image(m, clone, TNN_SAVE_OPTIMIZER);
    tnn_model_free(clone);

    tnn_model *copy = round_trip(m, TNN_SAVE_OPTIMIZER, x);
    if (x && tnn_model_num_layers(m) > 0) {
        /* Resuming from the file continues exactly: one step on each
         * leaves them identical, optimizer state and generator included.
         * The step also gives optimizer slots to a file that had none,
         * so their round trip is checked too. */
        int loss_kind = TNN_LOSS_MSE;
        tnn_model *probe = round_trip(m, 0, NULL);
        /* The loss is not readable through the API; a saved image without
         * optimizer differs from one with MSE only there, so ask the
         * model: cross-entropy refuses 2-D zero labels of the wrong
         * width only when the width differs, so try it instead. */
        tnn_model_free(probe);
        loss_kind = guess_loss(m);
        train_step(m, x, loss_kind);
        train_step(copy, x, loss_kind);
        check_same_image(m, copy, TNN_SAVE_OPTIMIZER);
        tnn_model_free(round_trip(m, TNN_SAVE_OPTIMIZER, x));
    }
    tnn_model_free(copy);
    tnn_tensor_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A stale message from the previous input must not satisfy the check
     * below. */
    tnn_clear_error();
    tnn_model *m = (tnn_model *)data; /* must be overwritten */
    int rc = tnn_model_load_buffer(data, size, &m);
    if (rc != TNN_OK) {
        CHECK(m == NULL);
        CHECK(rc < 0 && rc >= TNN_E_STATE);
        CHECK(tnn_last_error_code() == rc);
        CHECK(tnn_last_error()[0] != '\0');
        return 0;
    }
    CHECK(m != NULL);
    exercise(m);
    tnn_model_free(m);
    return 0;
}
