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
 *
 * A custom mutator keeps the framing of mutated images intact half of the
 * time (see below), so that the fuzzer spends its time in the content
 * checks rather than in the length fields it would otherwise break.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinynn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed);

/* Limits on what the target runs. A model may declare up to 2^31 - 1
 * inputs in a few bytes (no dense layer needs a weight per input), and a
 * convolution with a large padding turns a small image into a large one;
 * running such models would allocate gigabytes and take seconds for
 * nothing the parser can get wrong, so they are only loaded and saved.
 * Layers with parameters must have them in the file, which bounds the
 * rest by the input size. */
#define MAX_WIDTH 4096
#define MAX_CONV_MACS ((size_t)1 << 24) /* per row */

/* Two rows, so that batch-norm's training path sees a real variance. */
#define ROWS 2

#include "fuzz_common.h"

/* FNV-1a: any stable hash will do. */
static uint32_t hash_input(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (tnn_set_allocator(fuzz_malloc, fuzz_realloc, fuzz_free, NULL) !=
        TNN_OK)
        abort();
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

/* Whether m's buffers exceed its per-sample bound, counted as the library
 * documents it: the input, each layer's output and gradient (flatten moves
 * no data) and the layers' own per-sample state. */
static int too_large_per_sample(tnn_model *m)
{
    double total = (double)tnn_model_in_features(m);
    for (size_t i = 0; i < tnn_model_num_layers(m); i++) {
        tnn_layer *layer = tnn_model_layer(m, i);
        double out = (double)tnn_layer_out_features(layer);
        switch (tnn_layer_kind(layer)) {
        case TNN_LAYER_FLATTEN: break;
        case TNN_LAYER_DROPOUT:
        case TNN_LAYER_BATCHNORM:
        case TNN_LAYER_MAXPOOL2D: total += 3 * out; break;
        case TNN_LAYER_CONV2D: {
            /* Patch rows and the channels-last product per position. */
            const tnn_tensor *w = tnn_layer_param(layer, 0);
            double out_ch = (double)tnn_tensor_dim(w, 0);
            double kernel =
                (double)(tnn_tensor_size(w) / tnn_tensor_dim(w, 0));
            total += 2 * out + out / out_ch * (kernel + out_ch);
            break;
        }
        default: total += 2 * out; break;
        }
    }
    return total > (double)tnn_model_max_sample_values(m);
}

static int cheap_enough(tnn_model *m)
{
    if (tnn_model_in_features(m) > MAX_WIDTH)
        return 0;
    /* A model above its per-sample bound is refused by prediction before
     * it allocates (TNN_E_INVALID naming the layer); that refusal is
     * checked here, and such a model is not run further. */
    tnn_tensor *one = tnn_tensor_new_2d(1, tnn_model_in_features(m));
    tnn_tensor *out = tnn_tensor_new_2d(1, tnn_model_out_features(m));
    CHECK(one != NULL && out != NULL);
    int rc = TNN_OK;
    if (too_large_per_sample(m)) {
        rc = tnn_model_predict(m, one, out);
        CHECK(rc == TNN_E_INVALID);
        CHECK(strstr(tnn_last_error(), "values per sample") != NULL);
    }
    tnn_tensor_free(one);
    tnn_tensor_free(out);
    if (rc != TNN_OK)
        return 0;
    for (size_t i = 0; i < tnn_model_num_layers(m); i++) {
        tnn_layer *layer = tnn_model_layer(m, i);
        size_t out = tnn_layer_out_features(layer);
        if (out > MAX_WIDTH)
            return 0;
        if (tnn_layer_kind(layer) != TNN_LAYER_CONV2D)
            continue;
        /* Multiply-adds: every output value sums in_channels * kh * kw
         * products, the size of one kernel (weights are (out_channels,
         * in_channels, kh, kw)). */
        const tnn_tensor *w = tnn_layer_param(layer, 0);
        CHECK(w != NULL && tnn_tensor_ndim(w) == 4);
        size_t kernel = tnn_tensor_size(w) / tnn_tensor_dim(w, 0);
        if (kernel > MAX_CONV_MACS / out)
            return 0;
    }
    return 1;
}

/* A fixed input of ROWS rows with mixed signs, so that relu and the
 * saturating activations see both sides; NULL if m is too costly to
 * run. Image models take rows of channels * height * width values. */
static tnn_tensor *make_input(tnn_model *m)
{
    if (!cheap_enough(m))
        return NULL;
    size_t width = tnn_model_in_features(m);
    tnn_tensor *x = tnn_tensor_new_2d(ROWS, width);
    CHECK(x != NULL);
    float *v = tnn_tensor_data(x);
    /* Models that start with an embedding read ids: 0 is always one. */
    const bool ids = tnn_model_num_layers(m) > 0 &&
                     tnn_layer_kind(tnn_model_layer(m, 0)) ==
                         TNN_LAYER_EMBEDDING;
    for (size_t k = 0; k < ROWS * width; k++)
        v[k] = ids ? 0.0f : (float)((int)(k % 7) - 3) * 0.25f;
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

/* One training step on x. The labels are one-hot rows of class 0: as
 * probability rows they suit cross-entropy, as targets they suit MSE, so
 * they are valid whatever loss the file chose. A diverging model may stop
 * with TNN_E_NUMERIC when it checks for finite values; nothing else may
 * go wrong. */
static void train_step(tnn_model *m, const tnn_tensor *x)
{
    size_t width = tnn_model_out_features(m);
    tnn_tensor *y = tnn_tensor_new_2d(ROWS, width);
    CHECK(y != NULL);
    for (size_t r = 0; r < ROWS; r++)
        tnn_tensor_data(y)[r * width] = 1.0f;
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

static void check_same_image(const tnn_model *a, const tnn_model *b, int flags)
{
    size_t len_a, len_b;
    uint8_t *image_a = save(a, flags, &len_a);
    uint8_t *image_b = save(b, flags, &len_b);
    CHECK(len_a == len_b);
    CHECK(memcmp(image_a, image_b, len_a) == 0);
    free(image_a);
    free(image_b);
}

/* Saving m with one allocation failing (number pick modulo those a save
 * makes) gives TNN_E_NOMEM and writes nothing. */
static void save_without_memory(const tnn_model *m, int flags, uint32_t pick)
{
    size_t needed = 0;
    alloc_count = 0;
    CHECK(tnn_model_save_buffer(m, flags, NULL, 0, &needed) == TNN_OK);
    unsigned long total = alloc_count;
    if (total == 0)
        return;
    uint8_t *image = malloc(needed);
    CHECK(image != NULL);
    memset(image, 0xa5, needed);
    tnn_clear_error();
    alloc_count = 0;
    fail_at = 1 + pick % total;
    int rc = tnn_model_save_buffer(m, flags, image, needed, NULL);
    fail_at = 0;
    CHECK(rc == TNN_E_NOMEM);
    CHECK(tnn_last_error_code() == TNN_E_NOMEM);
    CHECK(image[0] == 0xa5);
    free(image);
}

/* Everything an accepted model must support. */
static void exercise(tnn_model *m, uint32_t pick)
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
    save_without_memory(m, has_optim ? TNN_SAVE_OPTIMIZER : 0, pick);
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
        train_step(m, x);
        train_step(copy, x);
        check_same_image(m, copy, TNN_SAVE_OPTIMIZER);
        tnn_model_free(round_trip(m, TNN_SAVE_OPTIMIZER, x));
    }
    tnn_model_free(copy);
    tnn_tensor_free(x);
}

/* ---- structure-aware mutation -------------------------------------------
 *
 * Inserting or removing a byte inside a section breaks its length field
 * and the file length in the trailer, so plain byte mutation rarely makes
 * a file whose tensor directory gains or loses an entry, or whose layer
 * list grows. Half of the mutations therefore change the payload of one
 * section and then repair the framing as docs/format.md lays it out:
 * the section's length and CRC, the file length and every other CRC. The
 * CRCs are not needed by this build (it skips them) but make every such
 * input a valid file for an ordinary build too, so a finding can become a
 * regression test as it is. The other half are plain byte mutations,
 * which keep the framing checks themselves under test. */

#define FILE_HEADER 24
#define SECTION_HEAD 16
#define FILE_TRAILER 16
#define MAX_SECTIONS 5

struct span {
    size_t at; /* offset of the payload */
    size_t len;
};

static uint64_t load_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void store_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Bitwise: the mutator runs far less often than the target, and a table
 * would be one more thing to get wrong. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* The payloads of the sections of an image by their stated lengths; 0 if
 * the image is not framed as a model file. */
static size_t split_sections(const uint8_t *data, size_t size, struct span *s)
{
    static const uint8_t magic[8] = {0x89, 'T', 'N', 'N', 'M', 'O', 'D', '\n'};
    if (size < FILE_HEADER + FILE_TRAILER || memcmp(data, magic, 8) != 0)
        return 0;
    size_t end = size - FILE_TRAILER, pos = FILE_HEADER, n = 0;
    while (pos < end && n < MAX_SECTIONS) {
        if (end - pos < SECTION_HEAD)
            return 0;
        uint64_t len = load_u64(data + pos + 8);
        if (len > end - pos - SECTION_HEAD)
            return 0;
        s[n].at = pos + SECTION_HEAD;
        s[n].len = (size_t)len;
        pos = s[n].at + s[n].len;
        n++;
    }
    return pos == end ? n : 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
    struct span s[MAX_SECTIONS];
    size_t n = split_sections(data, size, s);
    if (n == 0 || seed % 2 == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    struct span k = s[(seed / 2) % n];
    /* Everything but the payload stays; the payload may grow into the
     * rest of max_size. */
    size_t fixed = size - k.len;
    if (k.len == 0 || fixed >= max_size)
        return LLVMFuzzerMutate(data, size, max_size);
    size_t tail_at = k.at + k.len, tail_len = size - tail_at;
    uint8_t *tail = malloc(tail_len);
    if (!tail)
        return LLVMFuzzerMutate(data, size, max_size);
    memcpy(tail, data + tail_at, tail_len);
    size_t len = LLVMFuzzerMutate(data + k.at, k.len, max_size - fixed);
    memcpy(data + k.at + len, tail, tail_len);
    free(tail);
    size = fixed + len;
    store_le(data + k.at - 8, len, 8);
    store_le(data + k.at - 12, crc32_ieee(data + k.at, len), 4);
    store_le(data + FILE_HEADER - 4, crc32_ieee(data, FILE_HEADER - 4), 4);
    store_le(data + size - FILE_TRAILER, size, 8);
    store_le(data + size - 8, crc32_ieee(data, size - 8), 4);
    return size;
}

/* ---- the target -------------------------------------------------------- */

/* The refusal contract: a status code, no model, a message. */
static void check_refusal(int rc, const tnn_model *m)
{
    CHECK(m == NULL);
    CHECK(rc < 0 && rc >= TNN_E_STATE);
    CHECK(tnn_last_error_code() == rc);
    CHECK(tnn_last_error()[0] != '\0');
}

/* Not NULL, so that the checks see the loader reset *out. */
static char sentinel;

/* Load the accepted file again with one allocation failing (number pick
 * modulo the total of a load); it must fail cleanly with TNN_E_NOMEM. */
static void load_without_memory(const uint8_t *data, size_t size,
                                unsigned long total, uint32_t pick)
{
    if (total == 0)
        return;
    tnn_clear_error();
    tnn_model *m = (tnn_model *)(void *)&sentinel;
    alloc_count = 0;
    fail_at = 1 + pick % total;
    int rc = tnn_model_load_buffer(data, size, &m);
    fail_at = 0;
    CHECK(rc == TNN_E_NOMEM);
    check_refusal(rc, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A stale message from the previous input must not satisfy the
     * checks. */
    tnn_clear_error();
    tnn_model *m = (tnn_model *)(void *)&sentinel;
    alloc_count = 0;
    int rc = tnn_model_load_buffer(data, size, &m);
    unsigned long allocations = alloc_count;
    if (rc != TNN_OK) {
        check_refusal(rc, m);
        return 0;
    }
    CHECK(m != NULL);
    uint32_t pick = hash_input(data, size);
    load_without_memory(data, size, allocations, pick);
    exercise(m, pick);
    tnn_model_free(m);
    return 0;
}
