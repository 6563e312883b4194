/*
 * libFuzzer target for the ONNX reader, tnn_model_load_onnx_buffer(), and
 * through what it accepts, the writer.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks the
 * reader's contract and aborts when it is broken:
 *  - a refused file gives TNN_E_FORMAT or TNN_E_VERSION (or TNN_E_NOMEM
 *    under an allocation failure), leaves *out NULL and explains itself;
 *  - loading never allocates more than docs/onnx.md's bound, 32 bytes per
 *    byte of input and 64 KiB;
 *  - an accepted file gives a model that exports, whose export imports
 *    back to a model that exports the same bytes and predicts the same
 *    bits;
 *  - one failing allocation of an accepted load gives TNN_E_NOMEM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinynn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_common.h"

/* Models too large to run cheaply are only loaded and exported. */
#define MAX_VALUES ((size_t)1 << 16)
#define ROWS 2

/* Live bytes and their peak, for the allocation bound: each block keeps
 * its size in a header. */
static size_t live_bytes, peak_bytes;

static void *bounded_malloc(size_t size, void *ctx)
{
    (void)ctx;
    if (++alloc_count == fail_at)
        return NULL;
    size_t *p = malloc(size + 16);
    if (!p)
        return NULL;
    *p = size;
    live_bytes += size;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return (char *)p + 16;
}

static void bounded_free(void *ptr, void *ctx)
{
    (void)ctx;
    if (!ptr)
        return;
    size_t *p = (size_t *)((char *)ptr - 16);
    live_bytes -= *p;
    free(p);
}

static void *bounded_realloc(void *ptr, size_t size, void *ctx)
{
    if (!ptr)
        return bounded_malloc(size, ctx);
    size_t old = *(size_t *)((char *)ptr - 16);
    void *q = bounded_malloc(size, ctx);
    if (!q)
        return NULL;
    memcpy(q, ptr, old < size ? old : size);
    bounded_free(ptr, ctx);
    return q;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (tnn_set_allocator(bounded_malloc, bounded_realloc, bounded_free,
                          NULL) != TNN_OK)
        abort();
    tnn_set_num_threads(1);
    return 0;
}

static void check_refusal(int rc, const tnn_model *m)
{
    CHECK(m == NULL);
    CHECK(rc == TNN_E_FORMAT || rc == TNN_E_VERSION || rc == TNN_E_NOMEM);
    CHECK(tnn_last_error_code() == rc);
    CHECK(tnn_last_error()[0] != '\0');
}

static uint8_t *export(const tnn_model *m, size_t *len)
{
    size_t needed = 0;
    CHECK(tnn_model_save_onnx_buffer(m, NULL, 0, &needed) == TNN_OK);
    uint8_t *image = malloc(needed);
    CHECK(image != NULL);
    CHECK(tnn_model_save_onnx_buffer(m, image, needed, NULL) == TNN_OK);
    *len = needed;
    return image;
}

/* Outputs for a fixed input, or NULL when the model is too large to run
 * cheaply. */
static tnn_tensor *predict(tnn_model *m)
{
    size_t in = tnn_model_in_features(m), out = tnn_model_out_features(m);
    if (in > MAX_VALUES || out > MAX_VALUES)
        return NULL;
    for (size_t i = 0; i < tnn_model_num_layers(m); i++) {
        tnn_layer *l = tnn_model_layer(m, i);
        if (tnn_layer_out_features(l) > MAX_VALUES)
            return NULL;
        if (tnn_layer_kind(l) == TNN_LAYER_CONV2D) {
            const tnn_tensor *w = tnn_layer_param(l, 0);
            size_t kernel = tnn_tensor_size(w) / tnn_tensor_dim(w, 0);
            if (kernel > MAX_VALUES / (tnn_layer_out_features(l) + 1))
                return NULL;
        }
    }
    tnn_tensor *x = tnn_tensor_new_2d(ROWS, in);
    tnn_tensor *y = tnn_tensor_new_2d(ROWS, out);
    CHECK(x != NULL && y != NULL);
    for (size_t k = 0; k < ROWS * in; k++)
        tnn_tensor_data(x)[k] = (float)((int)(k % 7) - 3) * 0.25f;
    int rc = tnn_model_predict(m, x, y);
    /* The per-sample bound may refuse a model; nothing else may fail. */
    CHECK(rc == TNN_OK || rc == TNN_E_INVALID);
    tnn_tensor_free(x);
    if (rc != TNN_OK) {
        tnn_tensor_free(y);
        return NULL;
    }
    return y;
}

static void exercise(tnn_model *m)
{
    size_t len1, len2;
    uint8_t *image1 = export(m, &len1);
    tnn_model *copy = NULL;
    CHECK(tnn_model_load_onnx_buffer(image1, len1, &copy) == TNN_OK);
    uint8_t *image2 = export(copy, &len2);
    CHECK(len1 == len2 && memcmp(image1, image2, len1) == 0);
    tnn_tensor *a = predict(m);
    tnn_tensor *b = a ? predict(copy) : NULL;
    if (a) {
        CHECK(b != NULL);
        CHECK(memcmp(tnn_tensor_cdata(a), tnn_tensor_cdata(b),
                     tnn_tensor_size(a) * sizeof(float)) == 0);
    }
    tnn_tensor_free(a);
    tnn_tensor_free(b);
    tnn_model_free(copy);
    free(image1);
    free(image2);
}

/* Not NULL, so that the checks see the reader reset *out. */
static char sentinel;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tnn_clear_error();
    tnn_model *m = (tnn_model *)(void *)&sentinel;
    alloc_count = 0;
    peak_bytes = live_bytes;
    size_t before = live_bytes;
    int rc = tnn_model_load_onnx_buffer(data, size, &m);
    unsigned long allocations = alloc_count;
    CHECK(peak_bytes - before <= 32 * size + 65536);
    if (rc != TNN_OK) {
        check_refusal(rc, m);
        CHECK(rc != TNN_E_NOMEM);
        return 0;
    }
    CHECK(m != NULL);
    exercise(m);
    tnn_model_free(m);
    if (allocations) {
        tnn_clear_error();
        m = (tnn_model *)(void *)&sentinel;
        alloc_count = 0;
        fail_at = 1 + (size * 2654435761u) % allocations;
        rc = tnn_model_load_onnx_buffer(data, size, &m);
        fail_at = 0;
        CHECK(rc == TNN_E_NOMEM);
        check_refusal(rc, m);
    }
    return 0;
}
