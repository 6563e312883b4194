/*
 * Model files: round trips, exact resumption, atomic replacement, format
 * versions, a golden file from an earlier release, and every kind of
 * damage a file can suffer.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testchild.h"
#include "testutil.h"

#ifndef TNN_TEST_DATA_DIR
#define TNN_TEST_DATA_DIR "tests/data"
#endif

/* A model with every kind of layer, trained a little so that every
 * parameter, statistic and optimizer slot holds something particular. */
static tnn_model *every_kind_model(uint64_t seed)
{
    tnn_model *m = tnn_model_new(6);
    ck_assert_ptr_nonnull(m);
    tnn_model_set_seed(m, seed);
    tnn_layer *first = tnn_dense_new(6, 8);
    tnn_dense_set_init(first, TNN_INIT_HE_NORMAL, 0);
    ck_assert_int_eq(tnn_model_add(m, first), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(8)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dropout_new(0.25f)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 5)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_tanh_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_sigmoid_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_identity_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(5, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_optim *adam = tnn_adam_new(0.01f);
    tnn_optim_set_weight_decay(adam, 0.01f);
    tnn_optim_set_cosine_schedule(adam, 100, 0.001f);
    tnn_model_set_optim(m, adam);
    return m;
}

static void make_data(size_t n, tnn_tensor **x, tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(99);
    *x = tnn_tensor_new_2d(n, 6);
    *y = tnn_tensor_new(1, &n);
    tnn_tensor_rand_normal(*x, rng, 0, 1);
    for (size_t i = 0; i < n; i++) {
        const float *row = tnn_tensor_cdata(*x) + 6 * i;
        tnn_tensor_data(*y)[i] =
            row[0] + row[1] > 0 ? (row[2] > 0 ? 2.0f : 1.0f) : 0.0f;
    }
    tnn_rng_free(rng);
}

static void assert_same_predictions(tnn_model *a, tnn_model *b,
                                    const tnn_tensor *x)
{
    size_t n = tnn_tensor_dim(x, 0);
    tnn_tensor *pa = tnn_tensor_new_2d(n, 3), *pb = tnn_tensor_new_2d(n, 3);
    ck_assert_int_eq(tnn_model_predict(a, x, pa), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(b, x, pb), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(pa), tnn_tensor_data(pb), n * 3 * 4);
    tnn_tensor_free(pa);
    tnn_tensor_free(pb);
}

static void assert_same_parameters(tnn_model *a, tnn_model *b)
{
    ck_assert_uint_eq(tnn_model_num_layers(a), tnn_model_num_layers(b));
    for (size_t i = 0; i < tnn_model_num_layers(a); i++) {
        tnn_layer *la = tnn_model_layer(a, i), *lb = tnn_model_layer(b, i);
        ck_assert_int_eq(tnn_layer_kind(la), tnn_layer_kind(lb));
        ck_assert_int_eq(tnn_layer_trainable(la), tnn_layer_trainable(lb));
        for (int p = 0; p < tnn_layer_num_params(la); p++) {
            tnn_tensor *ta = tnn_layer_param(la, p),
                       *tb = tnn_layer_param(lb, p);
            ck_assert_uint_eq(tnn_tensor_size(ta), tnn_tensor_size(tb));
            ck_assert_mem_eq(tnn_tensor_data(ta), tnn_tensor_data(tb),
                             tnn_tensor_size(ta) * 4);
        }
    }
}

/* The file image of a model, malloc'ed. */
static unsigned char *image_of(const tnn_model *m, int flags, size_t *size)
{
    ck_assert_int_eq(tnn_model_save_buffer(m, flags, NULL, 0, size), TNN_OK);
    unsigned char *buf = malloc(*size);
    size_t again;
    ck_assert_int_eq(tnn_model_save_buffer(m, flags, buf, *size, &again),
                     TNN_OK);
    ck_assert_uint_eq(again, *size);
    return buf;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tnn-io-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Number of entries in tmpdir besides . and .. */
static int entries_in_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    char path[512];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        if (rmdir(path) != 0)
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

START_TEST(round_trip_predicts_bit_identically)
{
    tnn_tensor *x, *y;
    make_data(64, &x, &y);
    tnn_model *m = every_kind_model(5);
    tnn_layer_set_trainable(tnn_model_layer(m, 4), 0);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 16, 1, NULL, NULL),
                     TNN_OK);
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/model.tnn", tmpdir);
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
    tnn_model *loaded = NULL;
    ck_assert_int_eq(tnn_model_load(path, &loaded), TNN_OK);
    ck_assert_ptr_nonnull(loaded);
    assert_same_predictions(m, loaded, x);
    assert_same_parameters(m, loaded);
    ck_assert_int_eq(tnn_layer_trainable(tnn_model_layer(loaded, 4)), 0);
    ck_assert_ptr_null(tnn_model_optim(loaded)); /* not asked for */
    tnn_layer *bn = tnn_model_layer(loaded, 1);
    ck_assert_mem_eq(
        tnn_tensor_data(tnn_batchnorm_running_var(bn)),
        tnn_tensor_data(tnn_batchnorm_running_var(tnn_model_layer(m, 1))),
        8 * 4);
    /* The buffer API writes the same bytes as the file API. */
    size_t size;
    unsigned char *image = image_of(m, 0, &size);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq((size_t)st.st_size, size);
    ck_assert_int_eq(entries_in_tmpdir(), 1); /* no temporary file left */
    free(image);
    remove_tmpdir();
    tnn_model_free(loaded);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Two epochs in one go, or one epoch, save with the optimizer, load, one
 * more: the same bits (shuffling and dropout continue from the saved
 * generator, Adam from its moments and step count). */
START_TEST(resumed_training_is_exact)
{
    tnn_tensor *x, *y;
    make_data(48, &x, &y);
    tnn_model *straight = every_kind_model(8);
    ck_assert_int_eq(
        tnn_model_fit(straight, x, y, NULL, NULL, 2, 10, 1, NULL, NULL),
        TNN_OK);
    tnn_model *first = every_kind_model(8);
    ck_assert_int_eq(
        tnn_model_fit(first, x, y, NULL, NULL, 1, 10, 1, NULL, NULL), TNN_OK);
    size_t size;
    unsigned char *image = image_of(first, TNN_SAVE_OPTIMIZER, &size);
    tnn_model *resumed = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &resumed), TNN_OK);
    ck_assert_ptr_nonnull(tnn_model_optim(resumed));
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(resumed)), 5);
    ck_assert_float_eq(tnn_optim_current_lr(tnn_model_optim(resumed)),
                       tnn_optim_current_lr(tnn_model_optim(first)));
    ck_assert_int_eq(
        tnn_model_fit(resumed, x, y, NULL, NULL, 1, 10, 1, NULL, NULL),
        TNN_OK);
    assert_same_parameters(straight, resumed);
    assert_same_predictions(straight, resumed, x);

    /* A clone carries everything too. */
    tnn_model *clone = tnn_model_clone(first);
    ck_assert_ptr_nonnull(clone);
    ck_assert_int_eq(
        tnn_model_fit(clone, x, y, NULL, NULL, 1, 10, 1, NULL, NULL), TNN_OK);
    assert_same_parameters(straight, clone);
    free(image);
    tnn_model_free(clone);
    tnn_model_free(straight);
    tnn_model_free(first);
    tnn_model_free(resumed);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(fine_tuning_keeps_frozen_weights)
{
    tnn_tensor *x, *y;
    make_data(40, &x, &y);
    tnn_model *m = every_kind_model(2);
    size_t size;
    unsigned char *image = image_of(m, 0, &size);
    tnn_model *loaded = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &loaded), TNN_OK);
    tnn_layer *first = tnn_model_layer(loaded, 0);
    ck_assert_int_eq(tnn_layer_set_trainable(first, 0), TNN_OK);
    tnn_tensor *before = tnn_tensor_clone(tnn_layer_param(first, 0));
    tnn_tensor *last =
        tnn_tensor_clone(tnn_layer_param(tnn_model_layer(loaded, 8), 0));
    ck_assert_int_eq(tnn_model_set_optim(loaded, tnn_sgd_new(0.1f)), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(loaded, x, y, NULL, NULL, 2, 8, 1, NULL, NULL), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(before),
                     tnn_tensor_data(tnn_layer_param(first, 0)), 48 * 4);
    ck_assert(
        memcmp(tnn_tensor_data(last),
               tnn_tensor_data(tnn_layer_param(tnn_model_layer(loaded, 8), 0)),
               15 * 4) != 0);
    free(image);
    tnn_tensor_free(before);
    tnn_tensor_free(last);
    tnn_model_free(loaded);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

static void store_u32(unsigned char *at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

/* CRC-32 as docs/format.md specifies it, written here independently. */
static uint32_t reference_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

START_TEST(format_header_as_documented)
{
    tnn_model *m = every_kind_model(1);
    size_t size;
    unsigned char *image = image_of(m, 0, &size);
    const unsigned char magic[8] = {0x89, 'T', 'N', 'N', 'M', 'O', 'D', '\n'};
    ck_assert_mem_eq(image, magic, 8);
    ck_assert_uint_eq(image[8], 1);  /* format version 1, little-endian */
    ck_assert_uint_eq(image[16], 4); /* sections without the optimizer */
    ck_assert_mem_eq(image + size - 4, "TEND", 4);
    uint32_t crc = (uint32_t)image[20] | (uint32_t)image[21] << 8 |
                   (uint32_t)image[22] << 16 | (uint32_t)image[23] << 24;
    ck_assert_uint_eq(crc, reference_crc32(image, 20));
    ck_assert_uint_eq(reference_crc32((const unsigned char *)"123456789", 9),
                      0xcbf43926u);
    free(image);
    tnn_model_free(m);
}
END_TEST

START_TEST(newer_format_is_refused)
{
    tnn_model *m = every_kind_model(1);
    size_t size;
    unsigned char *image = image_of(m, 0, &size);
    store_u32(image + 8, 10);
    store_u32(image + 20, reference_crc32(image, 20));
    tnn_model *out = (tnn_model *)image; /* must be reset to NULL */
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &out), TNN_E_VERSION);
    ck_assert_ptr_null(out);
    assert_failed_with(TNN_E_VERSION, "tnn_model_load_buffer");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "version 10"));
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "library's 9"));
    free(image);
    tnn_model_free(m);
}
END_TEST

/* A sequence model is format 8, and its input shape is corrupt in a file
 * that says it is format 7; one with an LSTM too, whose kind format 7
 * does not have. */
START_TEST(sequence_models_need_format_8)
{
    for (int lstm = 0; lstm < 2; lstm++) {
        tnn_model *m = tnn_model_new_sequence(3, 4);
        ck_assert_int_eq(
            tnn_model_add(m, lstm ? tnn_lstm_new(4, 2, 0) : tnn_flatten_new()),
            TNN_OK);
        size_t size;
        unsigned char *image = image_of(m, 0, &size);
        ck_assert_uint_eq((unsigned)image[8] | (unsigned)image[9] << 8, 8);
        tnn_model *out = NULL;
        ck_assert_int_eq(tnn_model_load_buffer(image, size, &out), TNN_OK);
        tnn_model_free(out);
        store_u32(image + 8, 7);
        store_u32(image + 20, reference_crc32(image, 20));
        ck_assert_int_eq(tnn_model_load_buffer(image, size, &out),
                         TNN_E_CORRUPT);
        ck_assert_ptr_null(out);
        free(image);
        tnn_model_free(m);
    }
}
END_TEST

/* Load a damaged image: an error with a message, no model, no leak. */
static void assert_rejected(const unsigned char *data, size_t size,
                            const char *what, size_t where)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *out = NULL;
    int rc = tnn_model_load_buffer(data, size, &out);
    long live = a.live;
    counting_remove();
    ck_assert_msg(rc == TNN_E_CORRUPT || rc == TNN_E_FORMAT ||
                      rc == TNN_E_VERSION,
                  "%s at %zu: load gave %d", what, where, rc);
    ck_assert_ptr_null(out);
    ck_assert_msg(strlen(tnn_last_error()) > 0, "%s at %zu: no message", what,
                  where);
    ck_assert_msg(live == 0, "%s at %zu: %ld blocks leaked", what, where,
                  live);
}

START_TEST(every_truncation_is_rejected)
{
    tnn_model *m = every_kind_model(3);
    size_t size;
    unsigned char *image = image_of(m, TNN_SAVE_OPTIMIZER, &size);
    for (size_t len = 0; len < size; len++)
        assert_rejected(image, len, "truncation", len);
    free(image);
    tnn_model_free(m);
}
END_TEST

static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t load_le64(const unsigned char *p)
{
    return load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

/* Offset of the head of the section tagged tag: the header, then
 * sections. */
static size_t section_head(const unsigned char *image, size_t size,
                           const char *tag)
{
    size_t pos = 24;
    while (memcmp(image + pos, tag, 4) != 0) {
        pos += 16 + (size_t)load_le64(image + pos + 8);
        ck_assert_uint_lt(pos, size);
    }
    return pos;
}

/* Offset of the data section's payload. */
static size_t data_payload_offset(const unsigned char *image, size_t size)
{
    return section_head(image, size, "DATA") + 16;
}

/* The generator's pending normal draw in a file is one the generator can
 * make: a larger or non-finite value (the checksums made right) is
 * corrupt, as it would let tnn_tensor_rand_normal() overflow. */
START_TEST(pending_normal_draw_is_checked)
{
    tnn_model *m = every_kind_model(1);
    size_t size;
    unsigned char *image = image_of(m, 0, &size);
    const size_t payload = section_head(image, size, "MODL") + 16;
    const size_t model_len = (size_t)load_le64(image + payload - 8);
    const double values[4] = {1e300, INFINITY, -8.6, 8.5};
    const int expected[4] = {TNN_E_CORRUPT, TNN_E_CORRUPT, TNN_E_CORRUPT,
                             TNN_OK};
    for (int i = 0; i < 4; i++) {
        uint64_t bits;
        memcpy(&bits, &values[i], sizeof bits);
        store_u32(image + payload + 56, (uint32_t)bits);
        store_u32(image + payload + 60, (uint32_t)(bits >> 32));
        store_u32(image + payload + 64, 1);
        store_u32(image + payload - 12,
                  reference_crc32(image + payload, model_len));
        store_u32(image + size - 8, reference_crc32(image, size - 8));
        tnn_model *out = NULL;
        ck_assert_int_eq(tnn_model_load_buffer(image, size, &out),
                         expected[i]);
        if (expected[i] == TNN_OK) {
            tnn_rng *rng = tnn_model_rng(out);
            ck_assert_double_eq(tnn_rng_normal(rng), 8.5);
        } else {
            ck_assert_ptr_nonnull(strstr(tnn_last_error(), "inconsistent"));
        }
        tnn_model_free(out);
    }
    free(image);
    tnn_model_free(m);
}
END_TEST

START_TEST(bit_flips_are_rejected)
{
    tnn_tensor *x, *y;
    make_data(32, &x, &y);
    tnn_model *m = every_kind_model(4);
    tnn_model_fit(m, x, y, NULL, NULL, 1, 8, 1, NULL, NULL);
    size_t size;
    unsigned char *image = image_of(m, TNN_SAVE_OPTIMIZER, &size);
    size_t data_at = data_payload_offset(image, size);
    /* Every byte of the header, sections before the data, and the
     * trailer, one bit each. */
    for (size_t i = 0; i < size; i++) {
        if (i == data_at)
            i = size - 16;
        image[i] ^= (unsigned char)(1u << (i % 8));
        assert_rejected(image, size, "bit flip", i);
        image[i] ^= (unsigned char)(1u << (i % 8));
    }
    /* Random flips in the data. */
    tnn_rng *rng = tnn_rng_new(17);
    for (int k = 0; k < 300; k++) {
        size_t i = data_at + tnn_rng_next_u64(rng) % (size - 16 - data_at);
        unsigned char bit = (unsigned char)(1u << (tnn_rng_next_u64(rng) % 8));
        image[i] ^= bit;
        assert_rejected(image, size, "data bit flip", i);
        image[i] ^= bit;
    }
    /* And the undamaged image still loads. */
    tnn_model *ok = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &ok), TNN_OK);
    tnn_model_free(ok);
    tnn_rng_free(rng);
    free(image);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(save_is_atomic)
{
    make_tmpdir();
    char path[128], tmp[160];
    snprintf(path, sizeof path, "%s/model.tnn", tmpdir);
    tnn_model *m = every_kind_model(6);
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
    size_t size;
    unsigned char *original = image_of(m, 0, &size);

    /* Failures before the rename leave the old file alone. */
    tnn_model *other = every_kind_model(7);
    ck_assert_int_eq(tnn_model_save(other, path, TNN_SAVE_OPTIMIZER | 8),
                     TNN_E_INVALID);
    struct counting_allocator a;
    counting_install(&a, 0);
    size_t probe_size;
    ck_assert_int_eq(
        tnn_model_save_buffer(other, TNN_SAVE_OPTIMIZER, NULL, 0, &probe_size),
        TNN_OK);
    long needed = a.calls;
    counting_remove();
    ck_assert_int_ge(needed, 2);
    for (long n = 1; n <= needed; n++) {
        counting_install(&a, n);
        int rc = tnn_model_save(other, path, TNN_SAVE_OPTIMIZER);
        counting_remove();
        ck_assert_int_eq(rc, TNN_E_NOMEM);
        ck_assert_int_eq(a.live, 0);
    }
    /* A directory in the way is refused, and nothing is left behind. */
    snprintf(tmp, sizeof tmp, "%s/dir.tnn", tmpdir);
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    ck_assert_int_eq(tnn_model_save(other, tmp, 0), TNN_E_IO);
    assert_failed_with(TNN_E_IO, "tnn_model_save");
    ck_assert_int_eq(entries_in_tmpdir(), 2); /* model.tnn and dir.tnn */
    snprintf(tmp, sizeof tmp, "%s/missing/model.tnn", tmpdir);
    ck_assert_int_eq(tnn_model_save(other, tmp, 0), TNN_E_IO);

    FILE *f = fopen(path, "rb");
    unsigned char *now = malloc(size + 1);
    ck_assert_uint_eq(fread(now, 1, size + 1, f), size);
    fclose(f);
    ck_assert_mem_eq(now, original, size);
    free(now);
    free(original);
    remove_tmpdir();
    tnn_model_free(other);
    tnn_model_free(m);
}
END_TEST

/* Golden predictions are compared to float rounding: the BLAS (and the
 * kernel it picks for the CPU, e.g. under valgrind) decides the order of
 * the sums. Bit-identity within one build is tested by the round trips. */
static void assert_golden_value(float got, double want, size_t i)
{
    ck_assert_msg(fabs(got - want) <= 1e-5 * fmax(1.0, fabs(want)),
                  "prediction %zu: %a, golden %a", i, (double)got, want);
}

/* A small convolutional network with every image layer. */
static tnn_model *image_model(uint64_t seed)
{
    tnn_model *m = tnn_model_new_image(2, 7, 6);
    tnn_model_set_seed(m, seed);
    ck_assert_int_eq(
        tnn_model_add(m, tnn_conv2d_new(2, 3, 3, 2, 1, TNN_PADDING_SAME)),
        TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_batchnorm_new(3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_maxpool2d_new(2, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_conv2d_new(3, 4, 2, 2, 1, 1)),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_avgpool2d_new(2, 1)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dropout_new(0.3f)), TNN_OK);
    ck_assert_int_eq(
        tnn_model_add(m, tnn_dense_new(tnn_model_out_features(m), 3)), TNN_OK);
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_adam_new(0.01f));
    return m;
}

/* n images of 2 x height x width, uniform in [-1, 1) from seed, labelled
 * i % 3. */
static void random_images(size_t n, uint64_t seed, size_t height, size_t width,
                          tnn_tensor **x, tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(seed);
    size_t dims[4] = {n, 2, height, width};
    *x = tnn_tensor_new(4, dims);
    *y = tnn_tensor_new(1, &n);
    tnn_tensor_rand_uniform(*x, rng, -1, 1);
    for (size_t i = 0; i < n; i++)
        tnn_tensor_data(*y)[i] = (float)(i % 3);
    tnn_rng_free(rng);
}

static void image_data(size_t n, tnn_tensor **x, tnn_tensor **y)
{
    random_images(n, 5, 7, 6, x, y);
}

/* A test's own checks on the image that flags gave and the model loaded
 * from it. */
typedef void image_check(const unsigned char *image, size_t size,
                         tnn_model *back, int flags);

/* Two models that build(seed) makes train on x, y (three classes, batches
 * of 8): straight two epochs, first one. first saved without, then with,
 * its optimizer loads back predicting bit for bit, after check, and saves
 * again to the same bytes; with its optimizer it trains one more epoch to
 * straight's parameters and predictions. */
static void assert_round_trips(tnn_model *(*build)(uint64_t seed),
                               uint64_t seed, const tnn_tensor *x,
                               const tnn_tensor *y, image_check *check)
{
    tnn_model *straight = build(seed), *first = build(seed);
    ck_assert_int_eq(
        tnn_model_fit(straight, x, y, NULL, NULL, 2, 8, 1, NULL, NULL),
        TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(first, x, y, NULL, NULL, 1, 8, 1, NULL, NULL), TNN_OK);
    for (int flags = 0; flags <= TNN_SAVE_OPTIMIZER; flags++) {
        size_t size, again;
        unsigned char *image = image_of(first, flags, &size);
        tnn_model *back = NULL;
        ck_assert_int_eq(tnn_model_load_buffer(image, size, &back), TNN_OK);
        check(image, size, back, flags);
        assert_same_predictions(first, back, x);
        unsigned char *image2 = image_of(back, flags, &again);
        ck_assert_uint_eq(again, size);
        ck_assert_mem_eq(image2, image, size);
        free(image2);
        if (flags) {
            ck_assert_int_eq(
                tnn_model_fit(back, x, y, NULL, NULL, 1, 8, 1, NULL, NULL),
                TNN_OK);
            assert_same_parameters(straight, back);
            assert_same_predictions(straight, back, x);
        }
        tnn_model_free(back);
        free(image);
    }
    tnn_model_free(straight);
    tnn_model_free(first);
}

/* The image model's layers come back; every truncation of the file with
 * the optimizer is rejected. */
static void check_image_model(const unsigned char *image, size_t size,
                              tnn_model *back, int flags)
{
    ck_assert_uint_eq(tnn_model_num_layers(back), 9);
    ck_assert_int_eq(tnn_layer_kind(tnn_model_layer(back, 0)),
                     TNN_LAYER_CONV2D);
    if (flags)
        for (size_t len = 0; len < size; len += 7)
            assert_rejected(image, len, "truncation", len);
}

START_TEST(image_model_round_trip_and_resume)
{
    tnn_tensor *x, *y;
    image_data(24, &x, &y);
    assert_round_trips(image_model, 3, x, y, check_image_model);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* tests/data/golden-v2.tnn: the image model in format 2 (libtinynn
 * 1.3.0), written by write_golden_v2() below under TNN_WRITE_GOLDEN; its
 * predictions for image_data(4) are in golden-v2.expected. */
static void write_golden_v2(const char *model_path, const char *expected_path)
{
    tnn_tensor *x, *y;
    image_data(24, &x, &y);
    tnn_model *m = image_model(2027);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 2, 8, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_save(m, model_path, TNN_SAVE_OPTIMIZER),
                     TNN_OK);
    tnn_tensor *out = tnn_tensor_new_2d(24, 3);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_OK);
    FILE *f = fopen(expected_path, "w");
    for (size_t i = 0; i < 12; i++)
        fprintf(f, "%a\n", (double)tnn_tensor_data(out)[i]);
    fclose(f);
    tnn_tensor_free(out);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}

START_TEST(golden_v2_image_file_still_loads)
{
    const char *model_path = TNN_TEST_DATA_DIR "/golden-v2.tnn";
    const char *expected_path = TNN_TEST_DATA_DIR "/golden-v2.expected";
    if (getenv("TNN_WRITE_GOLDEN") && !strcmp(getenv("TNN_WRITE_GOLDEN"), "2"))
        write_golden_v2(model_path, expected_path);
    tnn_model *m = NULL;
    ck_assert_msg(tnn_model_load(model_path, &m) == TNN_OK, "%s",
                  tnn_last_error());
    tnn_tensor *x, *y;
    image_data(24, &x, &y);
    tnn_tensor *out = tnn_tensor_new_2d(24, 3);
    ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_OK);
    FILE *f = fopen(expected_path, "r");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < 12; i++) {
        double want;
        ck_assert_int_eq(fscanf(f, "%la", &want), 1);
        assert_golden_value(tnn_tensor_data(out)[i], want, i);
    }
    fclose(f);
    tnn_tensor_free(out);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* tests/data/golden-v1.tnn was written by libtinynn 1.2.0 (format 1): the
 * every_kind_model(2026) trained 3 epochs on make_data(64) in batches of
 * 16, saved with its optimizer; its predictions for the inputs
 * golden_input() makes are in tests/data/golden-v1.expected. Every later
 * version must load it and predict the same values. */
static tnn_tensor *golden_input(void)
{
    tnn_tensor *x = tnn_tensor_new_2d(4, 6);
    for (size_t i = 0; i < 24; i++)
        tnn_tensor_data(x)[i] = (float)((int)(i * 7 % 11) - 5) / 4.0f;
    return x;
}

START_TEST(golden_file_still_loads)
{
    const char *model_path = TNN_TEST_DATA_DIR "/golden-v1.tnn";
    const char *expected_path = TNN_TEST_DATA_DIR "/golden-v1.expected";
    tnn_model *m = NULL;
    ck_assert_msg(tnn_model_load(model_path, &m) == TNN_OK, "%s",
                  tnn_last_error());
    tnn_tensor *in = golden_input(), *out = tnn_tensor_new_2d(4, 3);
    ck_assert_int_eq(tnn_model_predict(m, in, out), TNN_OK);
    FILE *f = fopen(expected_path, "r");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < 12; i++) {
        double want;
        ck_assert_int_eq(fscanf(f, "%la", &want), 1);
        assert_golden_value(tnn_tensor_data(out)[i], want, i);
    }
    fclose(f);
    ck_assert_ptr_nonnull(tnn_model_optim(m));
    ck_assert_int_eq(tnn_optim_steps(tnn_model_optim(m)), 12);
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    tnn_model_free(m);
}
END_TEST

START_TEST(file_api_misuse)
{
    tnn_model *m = every_kind_model(1), *out = NULL;
    ck_assert_int_eq(tnn_model_save(NULL, "/tmp/x", 0), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_model_save");
    ck_assert_int_eq(tnn_model_save(m, NULL, 0), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_save(m, "/tmp/x", 4), TNN_E_INVALID);
    tnn_model_set_optim(m, NULL);
    ck_assert_int_eq(
        tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, NULL),
        TNN_E_STATE);
    assert_failed_with(TNN_E_STATE, "tnn_model_save_buffer");
    char small[16] = {0};
    size_t needed = 0;
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, small, sizeof small, &needed),
                     TNN_E_SHAPE);
    ck_assert_uint_gt(needed, sizeof small);
    ck_assert_int_eq(small[0], 0); /* untouched */
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, NULL, 5, &needed),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_load(NULL, &out), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_load("/tmp/x", NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_load("/nonexistent/model.tnn", &out), TNN_E_IO);
    assert_failed_with(TNN_E_IO, "tnn_model_load");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "/nonexistent/model.tnn"));
    ck_assert_int_eq(tnn_model_load("/tmp", &out), TNN_E_IO);
    ck_assert_int_eq(tnn_model_load_buffer(NULL, 10, &out), TNN_E_INVALID);
    ck_assert_int_eq(tnn_model_load_buffer("hello, world", 12, &out),
                     TNN_E_FORMAT);
    assert_failed_with(TNN_E_FORMAT, "tnn_model_load_buffer");
    ck_assert_ptr_null(tnn_model_clone(NULL));
    tnn_model_free(m);
}
END_TEST

/* Build a model from new layers (NULL entries: failed constructors,
 * whose code is the last error), freeing what cannot be added. */
static int assemble(tnn_model *m, tnn_layer **layers, int count)
{
    int rc = m ? TNN_OK : TNN_E_NOMEM;
    for (int i = 0; i < count; i++) {
        if (rc == TNN_OK)
            rc = layers[i] ? tnn_model_add(m, layers[i]) : TNN_E_NOMEM;
        else
            tnn_layer_free(layers[i]);
    }
    if (rc == TNN_OK)
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_optim *adam = rc == TNN_OK ? tnn_adam_new(1e-2f) : NULL;
    if (rc == TNN_OK)
        rc = adam ? tnn_model_set_optim(m, adam) : TNN_E_NOMEM;
    return rc;
}

/* The MNIST-shaped model: 784 -> 512 relu dropout -> 10. */
static int build_mnist_shape(tnn_model **m)
{
    *m = tnn_model_new(784);
    tnn_layer *layers[4] = {NULL, NULL, NULL, NULL};
    if (*m) {
        layers[0] = tnn_dense_new(784, 512);
        layers[1] = tnn_relu_new();
        layers[2] = tnn_dropout_new(0.2f);
        layers[3] = tnn_dense_new(512, 10);
    }
    return assemble(*m, layers, 4);
}

/* A convnet with every image layer but average pooling, a leaky ReLU,
 * zero padding (3 x 7 x 6 padded to 3 x 8 x 8), layer normalisation of
 * the image rows and GELU. */
static int build_image_shape(tnn_model **m)
{
    *m = tnn_model_new_image(2, 7, 6);
    tnn_layer *layers[9] = {NULL, NULL, NULL, NULL, NULL,
                            NULL, NULL, NULL, NULL};
    if (*m) {
        layers[0] = tnn_conv2d_new(2, 3, 3, 3, 1, TNN_PADDING_SAME);
        layers[1] = tnn_batchnorm_new(3);
        layers[2] = tnn_leaky_relu_new(0.1f);
        layers[3] = tnn_zeropad2d_new(1, 0, 0, 2);
        layers[4] = tnn_layernorm_new(8);
        layers[5] = tnn_gelu_new();
        layers[6] = tnn_maxpool2d_new(2, 2);
        layers[7] = tnn_flatten_new();
        layers[8] = tnn_dense_new(48, 3);
    }
    return assemble(*m, layers, 9);
}

/* Rows through layer normalisation in groups and GELU: 12 -> dense 8 ->
 * layernorm(4) -> gelu -> dense 8 -> layernorm(8) -> dense 3. */
static int build_sequence_shape(tnn_model **m)
{
    *m = tnn_model_new(12);
    tnn_layer *layers[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    if (*m) {
        layers[0] = tnn_dense_new(12, 8);
        layers[1] = tnn_layernorm_new(4);
        layers[2] = tnn_gelu_new();
        layers[3] = tnn_dense_new(8, 8);
        layers[4] = tnn_layernorm_new(8);
        layers[5] = tnn_dense_new(8, 3);
    }
    return assemble(*m, layers, 6);
}

/* Build, train two steps, save and load, with allocation n failing, for
 * every n: each failure is reported as TNN_E_NOMEM, and nothing leaks. */
static void allocation_failure_sweep(int (*build)(tnn_model **),
                                     const tnn_tensor *x, const tnn_tensor *y)
{
    struct counting_allocator a;
    for (long n = 1;; n++) {
        counting_install(&a, n);
        tnn_model *m = NULL, *loaded = NULL;
        int rc = build(&m);
        for (int step = 0; step < 2 && rc == TNN_OK; step++)
            rc = tnn_model_train_batch(m, x, y, NULL);
        size_t size = 0;
        void *image = NULL;
        if (rc == TNN_OK)
            rc = tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, NULL, 0, &size);
        if (rc == TNN_OK && !(image = malloc(size)))
            rc = TNN_E_IO;
        if (rc == TNN_OK)
            rc = tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, image, size,
                                       NULL);
        if (rc == TNN_OK)
            rc = tnn_model_load_buffer(image, size, &loaded);
        free(image);
        tnn_model_free(loaded);
        tnn_model_free(m);
        long calls = a.calls;
        ck_assert_msg(a.live == 0, "failing allocation %ld leaked %ld", n,
                      a.live);
        counting_remove();
        if (calls < n) {
            ck_assert_int_eq(rc, TNN_OK);
            break;
        }
        ck_assert_msg(rc == TNN_E_NOMEM, "failing allocation %ld gave %d (%s)",
                      n, rc, tnn_last_error());
    }
}

START_TEST(allocation_failure_sweep_mnist_shape)
{
    tnn_rng *rng = tnn_rng_new(1);
    tnn_tensor *x = tnn_tensor_new_2d(16, 784);
    size_t sixteen = 16;
    tnn_tensor *y = tnn_tensor_new(1, &sixteen);
    tnn_tensor_rand_uniform(x, rng, 0, 1);
    for (size_t i = 0; i < 16; i++)
        tnn_tensor_data(y)[i] = (float)(i % 10);
    tnn_rng_free(rng);
    allocation_failure_sweep(build_mnist_shape, x, y);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(allocation_failure_sweep_image_model)
{
    tnn_tensor *x, *y;
    image_data(8, &x, &y);
    allocation_failure_sweep(build_image_shape, x, y);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

START_TEST(allocation_failure_sweep_sequence_model)
{
    tnn_rng *rng = tnn_rng_new(3);
    tnn_tensor *x = tnn_tensor_new_2d(8, 12);
    size_t eight = 8;
    tnn_tensor *y = tnn_tensor_new(1, &eight);
    tnn_tensor_rand_uniform(x, rng, -1, 1);
    for (size_t i = 0; i < 8; i++)
        tnn_tensor_data(y)[i] = (float)(i % 3);
    tnn_rng_free(rng);
    allocation_failure_sweep(build_sequence_shape, x, y);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Found by fuzzing. A tensor name with a NUL inside compared equal to the
 * name before the NUL (tests/data/regress-nul-name.tnn, checksums
 * intact); and a convolution whose output size overflowed. */
START_TEST(fuzz_regressions)
{
    tnn_model *m = NULL;
    ck_assert_int_eq(
        tnn_model_load(TNN_TEST_DATA_DIR "/regress-nul-name.tnn", &m),
        TNN_E_CORRUPT);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "byte 0x00"));

    tnn_model *img = tnn_model_new_image(1, 2, 2);
    ck_assert_int_eq(
        tnn_model_add(img, tnn_conv2d_new(1, 1 << 20, 1, 1, 1, 4096)),
        TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_model_add");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "more than"));
    tnn_model_free(img);
}
END_TEST

/* A model is written in the oldest format that describes it, so that
 * readers of that format (libtinynn 1.2 reads format 1) load it. */
START_TEST(oldest_sufficient_format_is_written)
{
    /* Dense layers and batch-norm over flat input: format 1, whose model
     * section has no input shape (68 bytes, 96 in format 2). */
    tnn_model *dense = every_kind_model(1);
    tnn_model *img = image_model(1);
    /* A flatten layer needs format 2, even on flat input. */
    tnn_model *flat = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_add(flat, tnn_dense_new(4, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(flat, tnn_flatten_new()), TNN_OK);
    /* A leaky ReLU needs format 3. */
    tnn_model *leaky = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_add(leaky, tnn_dense_new(4, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(leaky, tnn_leaky_relu_new(0.2f)), TNN_OK);
    /* A model with zero padding needs format 6, whose model section has
     * format 5's Huber delta (here the default). */
    tnn_model *padded = tnn_model_new_image(1, 2, 2);
    ck_assert_int_eq(tnn_model_add(padded, tnn_zeropad2d_new(0, 1, 1, 0)),
                     TNN_OK);
    ck_assert_int_eq(tnn_model_add(padded, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(padded, tnn_dense_new(9, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(padded, tnn_adam_new(0.01f)), TNN_OK);
    /* Layer normalisation or GELU needs format 7, whose model section is
     * format 5's. */
    tnn_model *normed = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_add(normed, tnn_layernorm_new(2)), TNN_OK);
    tnn_model *gelu = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_add(gelu, tnn_gelu_new()), TNN_OK);
    const struct {
        tnn_model *model;
        uint32_t version;
        uint64_t model_section;
    } cases[] = {{dense, 1, 68}, {img, 2, 96},     {flat, 2, 96},
                 {leaky, 3, 96}, {padded, 6, 100}, {normed, 7, 100},
                 {gelu, 7, 100}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int flags = 0; flags <= TNN_SAVE_OPTIMIZER; flags++) {
            if (flags && !tnn_model_optim(cases[c].model))
                continue;
            size_t size, again;
            unsigned char *image = image_of(cases[c].model, flags, &size);
            ck_assert_uint_eq(load_le32(image + 8), cases[c].version);
            ck_assert_uint_eq(
                load_le64(image + section_head(image, size, "MODL") + 8),
                cases[c].model_section);
            tnn_model *back = NULL;
            ck_assert_int_eq(tnn_model_load_buffer(image, size, &back),
                             TNN_OK);
            unsigned char *image2 = image_of(back, flags, &again);
            ck_assert_uint_eq(again, size);
            ck_assert_mem_eq(image2, image, size);
            free(image2);
            free(image);
            tnn_model_free(back);
        }
    }
    tnn_model_free(dense);
    tnn_model_free(img);
    tnn_model_free(flat);
    tnn_model_free(leaky);
    tnn_model_free(padded);
    tnn_model_free(normed);
    tnn_model_free(gelu);
}
END_TEST

/* Clipping settings are saved with the optimizer, in format 4; a model
 * saved without its optimizer keeps the older format. The loaded copy
 * trains on bit for bit. */
START_TEST(clipping_saved_with_the_optimizer)
{
    tnn_model *m = every_kind_model(4);
    tnn_optim *o = tnn_model_optim(m);
    ck_assert_int_eq(tnn_optim_set_clip_norm(o, 0.5f), TNN_OK);
    ck_assert_int_eq(tnn_optim_set_clip_value(o, 0.25f), TNN_OK);
    tnn_tensor *x, *y;
    make_data(16, &x, &y);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    size_t size;
    unsigned char *plain = image_of(m, 0, &size);
    ck_assert_uint_eq(load_le32(plain + 8), 1);
    free(plain);
    unsigned char *image = image_of(m, TNN_SAVE_OPTIMIZER, &size);
    ck_assert_uint_eq(load_le32(image + 8), 4);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &back), TNN_OK);
    ck_assert_float_eq(tnn_optim_clip_norm(tnn_model_optim(back)), 0.5f);
    ck_assert_float_eq(tnn_optim_clip_value(tnn_model_optim(back)), 0.25f);
    for (int step = 0; step < 3; step++) {
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
        ck_assert_int_eq(tnn_model_train_batch(back, x, y, NULL), TNN_OK);
    }
    assert_same_parameters(m, back);
    free(image);
    tnn_model_free(back);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* A leaky ReLU keeps its slope through a file; a file that claims an older
 * format than its kinds exist in (checksums made right) is refused. */
START_TEST(leaky_relu_round_trip_and_older_format_refused)
{
    tnn_model *m = tnn_model_new(3);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(3, 4)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_leaky_relu_new(-0.75f)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(4, 3)), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(5, 3);
    for (size_t i = 0; i < 15; i++)
        tnn_tensor_data(x)[i] = (float)((int)(i * 5 % 7) - 3);
    size_t size;
    unsigned char *image = image_of(m, 0, &size);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &back), TNN_OK);
    ck_assert_int_eq(tnn_layer_kind(tnn_model_layer(back, 1)),
                     TNN_LAYER_LEAKY_RELU);
    assert_same_predictions(m, back, x);
    /* The slope itself, through the layer run alone: -0.75 * -2. */
    tnn_tensor *in = tnn_tensor_new_2d(1, 4), *out = tnn_tensor_new_2d(1, 4);
    tnn_tensor_fill(in, -2.0f);
    ck_assert_int_eq(tnn_layer_forward(tnn_model_layer(back, 1), in, out,
                                       TNN_MODE_EVAL, NULL),
                     TNN_OK);
    ck_assert_float_eq(tnn_tensor_data(out)[0], 1.5f);
    store_u32(image + 8, 2);
    store_u32(image + 20, reference_crc32(image, 20));
    store_u32(image + size - 8, reference_crc32(image, size - 8));
    tnn_model *old = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &old), TNN_E_CORRUPT);
    ck_assert_ptr_null(old);
    ck_assert_msg(strstr(tnn_last_error(), "unknown kind 13") != NULL, "%s",
                  tnn_last_error());
    free(image);
    tnn_tensor_free(in);
    tnn_tensor_free(out);
    tnn_tensor_free(x);
    tnn_model_free(back);
    tnn_model_free(m);
}
END_TEST

static unsigned char *read_whole(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    ck_assert_int_gt(len, 0);
    rewind(f);
    unsigned char *data = malloc((size_t)len);
    ck_assert_uint_eq(fread(data, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *size = (size_t)len;
    return data;
}

/* Every golden file, loaded and saved again (with its optimizer when it
 * has one, header flag 1), gives back its own bytes: reading and writing
 * agree on every field of every kind, whichever module writes it. */
START_TEST(golden_files_resave_to_the_same_bytes)
{
    static const char *const names[] = {"golden-v1.tnn", "golden-v2.tnn"};
    for (size_t k = 0; k < 2; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", TNN_TEST_DATA_DIR, names[k]);
        size_t size, resaved_size;
        unsigned char *golden = read_whole(path, &size);
        tnn_model *m = NULL;
        ck_assert_msg(tnn_model_load_buffer(golden, size, &m) == TNN_OK,
                      "%s: %s", names[k], tnn_last_error());
        int flags = golden[12] & 1 ? TNN_SAVE_OPTIMIZER : 0;
        unsigned char *resaved = image_of(m, flags, &resaved_size);
        ck_assert_uint_eq(resaved_size, size);
        ck_assert_msg(memcmp(resaved, golden, size) == 0,
                      "%s re-saves to other bytes", names[k]);
        free(resaved);
        free(golden);
        tnn_model_free(m);
    }
}
END_TEST

/* The model of golden-v1.tnn, trained the same way today, is written in
 * the layout libtinynn 1.2 wrote: the same bytes up to the data's CRC
 * (the data's last bits depend on the BLAS), the same lengths. */
START_TEST(format_1_has_the_layout_of_libtinynn_1_2)
{
    size_t golden_size, size;
    unsigned char *golden =
        read_whole(TNN_TEST_DATA_DIR "/golden-v1.tnn", &golden_size);
    tnn_tensor *x, *y;
    make_data(64, &x, &y);
    tnn_model *m = every_kind_model(2026);
    ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 3, 16, 1, NULL, NULL),
                     TNN_OK);
    unsigned char *image = image_of(m, TNN_SAVE_OPTIMIZER, &size);
    ck_assert_uint_eq(size, golden_size);
    size_t data = section_head(golden, golden_size, "DATA");
    ck_assert_uint_eq(section_head(image, size, "DATA"), data);
    ck_assert_mem_eq(image, golden, data + 4);
    ck_assert_mem_eq(image + data + 8, golden + data + 8, 8);
    ck_assert_mem_eq(image + size - 16, golden + size - 16, 8);
    ck_assert_mem_eq(image + size - 4, golden + size - 4, 4);
    free(image);
    free(golden);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Every number in msg is at most limit: none was read from where data
 * was cut off. */
static void assert_numbers_at_most(const char *msg, unsigned long long limit)
{
    for (const char *p = msg; *p; p++) {
        if (*p < '0' || *p > '9' || (p > msg && p[-1] >= '0' && p[-1] <= '9'))
            continue;
        unsigned long long v = strtoull(p, NULL, 10);
        ck_assert_msg(v <= limit, "\"%s\": %llu is more than %llu", msg, v,
                      limit);
    }
}

/* A file cut anywhere says that it is truncated, with its size and, once
 * the heads of all sections are in, the size it should have. */
static void assert_cuts_reported(const tnn_model *m, int flags)
{
    size_t size;
    unsigned char *image = image_of(m, flags, &size);
    size_t heads_end = data_payload_offset(image, size);
    char has[64], whole[64];
    snprintf(whole, sizeof whole, "bytes of %zu", size);
    tnn_model *none = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, 0, &none), TNN_E_FORMAT);
    ck_assert_ptr_null(none);
    for (size_t len = 1; len < size; len++) {
        tnn_model *out = NULL;
        ck_assert_int_eq(tnn_model_load_buffer(image, len, &out),
                         TNN_E_CORRUPT);
        const char *msg = tnn_last_error();
        ck_assert_msg(strstr(msg, "truncated"), "cut at %zu: %s", len, msg);
        snprintf(has, sizeof has, " has %zu bytes", len);
        ck_assert_msg(strstr(msg, has), "cut at %zu: %s", len, msg);
        assert_numbers_at_most(msg, size);
        if (len >= heads_end)
            ck_assert_msg(strstr(msg, whole), "cut at %zu: %s", len, msg);
    }
    free(image);
}

START_TEST(truncated_files_say_so)
{
    tnn_model *dense = every_kind_model(3), *img = image_model(3);
    assert_cuts_reported(dense, 0);
    assert_cuts_reported(dense, TNN_SAVE_OPTIMIZER);
    assert_cuts_reported(img, 0);
    assert_cuts_reported(img, TNN_SAVE_OPTIMIZER);

    /* Bytes after the end are reported as such. */
    size_t size;
    unsigned char *image = image_of(dense, 0, &size);
    unsigned char *longer = malloc(size + 3);
    memcpy(longer, image, size);
    memset(longer + size, 0, 3);
    tnn_model *out = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(longer, size + 3, &out),
                     TNN_E_CORRUPT);
    char want[96];
    snprintf(want, sizeof want,
             "3 bytes follow the end of the model at byte %zu", size);
    ck_assert_msg(strstr(tnn_last_error(), want), "%s", tnn_last_error());

    /* From a file, the messages end with its path. */
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/cut.tnn", tmpdir);
    FILE *f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(image, 1, size / 2, f), size / 2);
    fclose(f);
    ck_assert_int_eq(tnn_model_load(path, &out), TNN_E_CORRUPT);
    snprintf(want, sizeof want, "truncated: the file has %zu bytes of ",
             size / 2);
    assert_failed_with(TNN_E_CORRUPT, "tnn_model_load");
    ck_assert_msg(strstr(tnn_last_error(), want), "%s", tnn_last_error());
    const char *msg = tnn_last_error();
    ck_assert_str_eq(msg + strlen(msg) - strlen(path), path);
    image[size / 2] ^= 1;
    f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(image, 1, size, f), size);
    fclose(f);
    ck_assert_int_eq(tnn_model_load(path, &out), TNN_E_CORRUPT);
    msg = tnn_last_error();
    ck_assert_msg(strstr(msg, "checksum mismatch in "), "%s", msg);
    ck_assert_str_eq(msg + strlen(msg) - strlen(path), path);
    remove_tmpdir();
    free(longer);
    free(image);
    tnn_model_free(dense);
    tnn_model_free(img);
}
END_TEST

static int load_model_file(const char *path)
{
    tnn_model *m = NULL;
    int rc = tnn_model_load(path, &m);
    tnn_model_free(m);
    return rc;
}

START_TEST(fifo_and_directory_are_refused_promptly)
{
    make_tmpdir();
    char fifo[128], msg[600];
    snprintf(fifo, sizeof fifo, "%s/model.tnn", tmpdir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, tmpdir};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(
            run_in_child(load_model_file, paths[i], msg, sizeof msg),
            TNN_E_IO);
        ck_assert_msg(strstr(msg, "tnn_model_load: not a regular file: ") &&
                          strstr(msg, paths[i]),
                      "%s", msg);
    }
    /* Nor is one replaced by a save. */
    tnn_model *m = every_kind_model(1);
    ck_assert_int_eq(tnn_model_save(m, fifo, 0), TNN_E_IO);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "not a regular file"));
    struct stat st;
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    ck_assert_int_eq(entries_in_tmpdir(), 1);
    tnn_model_free(m);
    remove_tmpdir();
}
END_TEST

static mode_t mode_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

START_TEST(new_files_get_the_umask_permissions)
{
    static const mode_t masks[] = {022, 077, 027, 002, 0};
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/model.tnn", tmpdir);
    tnn_model *m = every_kind_model(1);
    mode_t old = umask(022);
    for (size_t i = 0; i < sizeof masks / sizeof *masks; i++) {
        umask(masks[i]);
        unlink(path);
        ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
        ck_assert_uint_eq(mode_of(path), 0666 & ~masks[i]);
        ck_assert_uint_eq(umask(masks[i]), masks[i]); /* unchanged */
    }
    umask(old);
    tnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* The umask as /proc shows it, read without changing it (umask() can
 * only read it by setting it); -1 where /proc does not show it. */
static long proc_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    unsigned long mask;
    long found = -1;
    while (found < 0 && fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %lo", &mask) == 1)
            found = (long)mask;
    fclose(f);
    return found;
}

struct saver {
    const tnn_model *model;
    char path[128];
    int failed;    /* saves that failed */
    int bad_modes; /* files whose mode was not 0666 & ~umask */
};

#define SAVERS 4
#define TEST_UMASK 027

static void *save_repeatedly(void *arg)
{
    struct saver *s = arg;
    for (int i = 0; i < 25; i++) {
        unlink(s->path);
        if (tnn_model_save(s->model, s->path, 0) != TNN_OK) {
            s->failed++;
            continue;
        }
        struct stat st;
        if (stat(s->path, &st) != 0 || (st.st_mode & 0777) != 0640)
            s->bad_modes++;
    }
    return NULL;
}

struct watcher {
    atomic_int stop; /* set by the main thread when the savers are done */
    int changes;     /* reads of another umask */
};

static void *watch_umask(void *arg)
{
    struct watcher *w = arg;
    while (!atomic_load(&w->stop)) {
        long mask = proc_umask();
        w->changes += mask >= 0 && mask != TEST_UMASK;
    }
    return NULL;
}

/* The umask is the process's: saves on several threads at once must never
 * change it, not even for a moment. */
START_TEST(concurrent_saves_leave_the_umask_alone)
{
    make_tmpdir();
    tnn_model *m = every_kind_model(1);
    mode_t old = umask(TEST_UMASK);
    struct saver savers[SAVERS];
    pthread_t threads[SAVERS], watcher_thread;
    struct watcher w = {.changes = 0};
    atomic_init(&w.stop, 0);
    ck_assert_int_eq(pthread_create(&watcher_thread, NULL, watch_umask, &w),
                     0);
    for (int i = 0; i < SAVERS; i++) {
        savers[i] = (struct saver){m, {0}, 0, 0};
        snprintf(savers[i].path, sizeof savers[i].path, "%s/model-%d.tnn",
                 tmpdir, i);
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL, save_repeatedly, &savers[i]), 0);
    }
    for (int i = 0; i < SAVERS; i++)
        pthread_join(threads[i], NULL);
    atomic_store(&w.stop, 1);
    pthread_join(watcher_thread, NULL);
    mode_t now = umask(old);
    ck_assert_uint_eq(now, TEST_UMASK);
    ck_assert_int_eq(w.changes, 0);
    for (int i = 0; i < SAVERS; i++) {
        ck_assert_int_eq(savers[i].failed, 0);
        ck_assert_int_eq(savers[i].bad_modes, 0);
    }
    tnn_model_free(m);
    remove_tmpdir();
}
END_TEST

START_TEST(resave_keeps_permissions_and_owner)
{
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/model.tnn", tmpdir);
    tnn_model *m = every_kind_model(1);
    mode_t old = umask(022);
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
    ck_assert_uint_eq(mode_of(path), 0644);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
    ck_assert_uint_eq(mode_of(path), 0600);
    /* Kept as it was, not filtered through the umask. */
    umask(077);
    ck_assert_int_eq(chmod(path, 0664), 0);
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
    ck_assert_uint_eq(mode_of(path), 0664);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(path, 4242, 4343), 0);
        ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_uid, 4242);
        ck_assert_uint_eq(st.st_gid, 4343);
        ck_assert_uint_eq(st.st_mode & 07777, 0664);
    }
    ck_assert_int_eq(entries_in_tmpdir(), 1);
    umask(old);
    tnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* The file at path holds exactly the image of m. */
static void assert_file_holds(const char *path, const tnn_model *m)
{
    size_t size, got;
    unsigned char *image = image_of(m, 0, &size);
    unsigned char *data = read_whole(path, &got);
    ck_assert_uint_eq(got, size);
    ck_assert_mem_eq(data, image, size);
    free(data);
    free(image);
}

static void assert_link_to(const char *link, const char *target)
{
    char buf[256];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, target);
}

/* In a sticky world-writable directory (as /tmp), a link that neither the
 * caller nor the directory's owner owns is not followed, as the kernel's
 * protected_symlinks rule has it: another user cannot point a save at
 * the caller's files. Needs root to give the link another owner. */
START_TEST(others_links_in_sticky_directories_not_followed)
{
    make_tmpdir();
    char shared[128], victim[128], link[160];
    snprintf(shared, sizeof shared, "%s/shared", tmpdir);
    snprintf(victim, sizeof victim, "%s/victim.tnn", tmpdir);
    snprintf(link, sizeof link, "%s/out.tnn", shared);
    tnn_model *a = every_kind_model(1), *b = every_kind_model(2);
    ck_assert_int_eq(tnn_model_save(a, victim, 0), TNN_OK);
    ck_assert_int_eq(mkdir(shared, 0700), 0);
    ck_assert_int_eq(chmod(shared, 01777), 0);
    ck_assert_int_eq(symlink(victim, link), 0);
    /* Another user than the caller: nobody, unless the caller is nobody
     * (then lchown fails without root, and the check is skipped). */
    uid_t other = geteuid() == 65534 ? 65533 : 65534;
    if (lchown(link, other, other) == 0) {
        ck_assert_int_eq(tnn_model_save(b, link, 0), TNN_E_IO);
        assert_failed_with(TNN_E_IO, "tnn_model_save");
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "Permission denied"));
        assert_file_holds(victim, a);
        assert_link_to(link, victim);
        /* The caller's own link is followed. */
        ck_assert_int_eq(lchown(link, geteuid(), getegid()), 0);
        ck_assert_int_eq(tnn_model_save(b, link, 0), TNN_OK);
        assert_file_holds(victim, b);
    }
    ck_assert_int_eq(unlink(link), 0);
    ck_assert_int_eq(rmdir(shared), 0);
    remove_tmpdir();
    tnn_model_free(a);
    tnn_model_free(b);
}
END_TEST

START_TEST(saves_write_through_symbolic_links)
{
    make_tmpdir();
    char real[128], sub[128], link[160], chain[128], dangling[160];
    char created[160], loop[128], loop2[128];
    snprintf(real, sizeof real, "%s/real.tnn", tmpdir);
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    snprintf(link, sizeof link, "%s/link.tnn", sub);
    snprintf(chain, sizeof chain, "%s/chain.tnn", tmpdir);
    snprintf(dangling, sizeof dangling, "%s/dangling.tnn", sub);
    snprintf(created, sizeof created, "%s/new.tnn", sub);
    snprintf(loop, sizeof loop, "%s/loop.tnn", tmpdir);
    snprintf(loop2, sizeof loop2, "%s/loop2.tnn", tmpdir);
    tnn_model *a = every_kind_model(1), *b = every_kind_model(2);
    ck_assert_int_eq(tnn_model_save(a, real, 0), TNN_OK);
    ck_assert_int_eq(chmod(real, 0600), 0);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    /* Relative targets are relative to the link's directory. */
    ck_assert_int_eq(symlink("../real.tnn", link), 0);
    ck_assert_int_eq(symlink("sub/link.tnn", chain), 0);
    ck_assert_int_eq(symlink("new.tnn", dangling), 0);

    ck_assert_int_eq(tnn_model_save(b, link, 0), TNN_OK);
    assert_link_to(link, "../real.tnn");
    assert_file_holds(real, b);
    ck_assert_uint_eq(mode_of(real), 0600);
    ck_assert_int_eq(tnn_model_save(a, chain, 0), TNN_OK);
    assert_link_to(chain, "sub/link.tnn");
    assert_link_to(link, "../real.tnn");
    assert_file_holds(real, a);
    /* A dangling link gets its target. */
    ck_assert_int_eq(tnn_model_save(b, dangling, 0), TNN_OK);
    assert_link_to(dangling, "new.tnn");
    assert_file_holds(created, b);
    tnn_model *loaded = NULL;
    ck_assert_int_eq(tnn_model_load(dangling, &loaded), TNN_OK);
    tnn_model_free(loaded);
    /* A loop is an error, not a hang. */
    ck_assert_int_eq(symlink("loop2.tnn", loop), 0);
    ck_assert_int_eq(symlink("loop.tnn", loop2), 0);
    ck_assert_int_eq(tnn_model_save(a, loop, 0), TNN_E_IO);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), strerror(ELOOP)));
    ck_assert_int_eq(entries_in_tmpdir(), 5); /* no temporary file */

    unlink(link);
    unlink(dangling);
    unlink(created);
    tnn_model_free(a);
    tnn_model_free(b);
    remove_tmpdir();
}
END_TEST

/* Names up to NAME_MAX work: the temporary file's name does not grow
 * with the target's. */
START_TEST(long_file_names_save_and_load)
{
    make_tmpdir();
    tnn_model *m = every_kind_model(1);
    static const size_t lengths[] = {250, 255};
    char name[256], path[400];
    for (size_t i = 0; i < 2; i++) {
        memset(name, 'm', lengths[i] - 4);
        memcpy(name + lengths[i] - 4, ".tnn", 5);
        snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        ck_assert_msg(tnn_model_save(m, path, 0) == TNN_OK, "%s",
                      tnn_last_error());
        tnn_model *loaded = NULL;
        ck_assert_msg(tnn_model_load(path, &loaded) == TNN_OK, "%s",
                      tnn_last_error());
        assert_same_parameters(m, loaded);
        tnn_model_free(loaded);
        ck_assert_int_eq(entries_in_tmpdir(), (int)i + 1);
    }
    tnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* Messages are cut at a fixed length: the reason comes before the path,
 * so that a long path cannot push it out. */
START_TEST(failed_save_gives_the_reason_first)
{
    make_tmpdir();
    tnn_model *m = every_kind_model(1), *other = every_kind_model(2);
    char path[1024], want[1200];
    int n = snprintf(path, sizeof path, "%s/missing", tmpdir);
    while (n < 700)
        n += snprintf(path + n, sizeof path - (size_t)n, "/%0200d", 0);
    snprintf(path + n, sizeof path - (size_t)n, "/model.tnn");
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_E_IO);
    snprintf(want, sizeof want, "tnn_model_save: cannot save: %s",
             strerror(ENOENT));
    ck_assert_msg(!strncmp(tnn_last_error(), want, strlen(want)), "%s",
                  tnn_last_error());

    /* A write that fails (the file size limit): the old file stays, the
     * temporary one goes. */
    snprintf(path, sizeof path, "%s/model.tnn", tmpdir);
    ck_assert_int_eq(tnn_model_save(m, path, 0), TNN_OK);
    struct rlimit old_limit, limit;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    limit = old_limit;
    limit.rlim_cur = 64;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
    int rc = tnn_model_save(other, path, 0);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(rc, TNN_E_IO);
    snprintf(want, sizeof want, "tnn_model_save: cannot save: %s (write): %s",
             strerror(EFBIG), path);
    ck_assert_str_eq(tnn_last_error(), want);
    assert_file_holds(path, m);
    ck_assert_int_eq(entries_in_tmpdir(), 1);
    tnn_model_free(m);
    tnn_model_free(other);
    remove_tmpdir();
}
END_TEST

/* ---- the losses of 1.7 and the Huber delta: format 5 -------------------- */

/* Make the CRCs of the section whose head is at head, of the header and
 * of the whole file right again after an edit. */
static void fix_crcs(unsigned char *image, size_t size, size_t head)
{
    size_t len = (size_t)load_le64(image + head + 8);
    store_u32(image + head + 4, reference_crc32(image + head + 16, len));
    store_u32(image + 20, reference_crc32(image, 20));
    store_u32(image + size - 8, reference_crc32(image, size - 8));
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* A dense model trained one step with Adam under loss and delta. */
static tnn_model *loss_model(int loss, float delta, tnn_layer *last,
                             const tnn_tensor *x, const tnn_tensor *y)
{
    tnn_model *m = tnn_model_new(4);
    ck_assert_int_eq(tnn_model_set_seed(m, 11), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(4, 3)), TNN_OK);
    if (last)
        ck_assert_int_eq(tnn_model_add(m, last), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, loss), TNN_OK);
    ck_assert_int_eq(tnn_model_set_huber_delta(m, delta), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(0.01f)), TNN_OK);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    return m;
}

static void loss_data(tnn_tensor **x, tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(12);
    *x = tnn_tensor_new_2d(8, 4);
    *y = tnn_tensor_new_2d(8, 3);
    tnn_tensor_rand_normal(*x, rng, 0, 1);
    tnn_tensor_rand_uniform(*y, rng, 0, 1);
    tnn_rng_free(rng);
}

/* A model whose loss is new in 1.7 or whose Huber delta is not 1 is
 * written in format 5, whose model section ends with the delta (100
 * bytes); it loads with its loss and delta, evaluates, predicts and
 * trains on exactly as the original, and saves again to the same bytes,
 * with and without its optimizer. A clone keeps them too. */
START_TEST(new_losses_round_trip_in_format_5)
{
    tnn_tensor *x, *y;
    loss_data(&x, &y);
    const struct {
        int loss;
        float delta;
        int last; /* 0 none, 1 sigmoid, 2 softmax */
    } cases[] = {{TNN_LOSS_MAE, 1.0f, 0},
                 {TNN_LOSS_HUBER, 0.3f, 0},
                 {TNN_LOSS_HUBER, 1.0f, 0},
                 {TNN_LOSS_BINARY_CROSS_ENTROPY, 1.0f, 1},
                 {TNN_LOSS_BINARY_CROSS_ENTROPY, 1.0f, 0},
                 {TNN_LOSS_MSE, 2.5f, 0},
                 {TNN_LOSS_CROSS_ENTROPY, 0.75f, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tnn_layer *last = cases[c].last == 1   ? tnn_sigmoid_new()
                          : cases[c].last == 2 ? tnn_softmax_new()
                                               : NULL;
        tnn_model *m = loss_model(cases[c].loss, cases[c].delta, last, x, y);
        for (int flags = 0; flags <= TNN_SAVE_OPTIMIZER; flags++) {
            size_t size, again;
            unsigned char *image = image_of(m, flags, &size);
            ck_assert_uint_eq(load_le32(image + 8), 5);
            size_t modl = section_head(image, size, "MODL");
            ck_assert_uint_eq(load_le64(image + modl + 8), 100);
            ck_assert_uint_eq(load_le32(image + modl + 16 + 8),
                              (uint32_t)cases[c].loss);
            ck_assert_uint_eq(load_le32(image + modl + 16 + 96),
                              float_bits(cases[c].delta));
            tnn_model *back = NULL;
            ck_assert_int_eq(tnn_model_load_buffer(image, size, &back),
                             TNN_OK);
            ck_assert_float_eq(tnn_model_huber_delta(back), cases[c].delta);
            unsigned char *image2 = image_of(back, flags, &again);
            ck_assert_uint_eq(again, size);
            ck_assert_mem_eq(image2, image, size);
            double l1, l2, a1, a2;
            ck_assert_int_eq(tnn_model_evaluate(m, x, y, &l1, &a1), TNN_OK);
            ck_assert_int_eq(tnn_model_evaluate(back, x, y, &l2, &a2), TNN_OK);
            ck_assert_mem_eq(&l1, &l2, sizeof l1);
            ck_assert_mem_eq(&a1, &a2, sizeof a1); /* NaN for regression */
            if (flags) {
                tnn_model *copy = tnn_model_clone(m);
                ck_assert_float_eq(tnn_model_huber_delta(copy),
                                   cases[c].delta);
                for (int step = 0; step < 2; step++) {
                    double la, lb, lc;
                    ck_assert_int_eq(tnn_model_train_batch(m, x, y, &la),
                                     TNN_OK);
                    ck_assert_int_eq(tnn_model_train_batch(back, x, y, &lb),
                                     TNN_OK);
                    ck_assert_int_eq(tnn_model_train_batch(copy, x, y, &lc),
                                     TNN_OK);
                    ck_assert_mem_eq(&la, &lb, sizeof la);
                    ck_assert_mem_eq(&la, &lc, sizeof la);
                }
                assert_same_parameters(m, back);
                assert_same_parameters(m, copy);
                tnn_model_free(copy);
            }
            free(image);
            free(image2);
            tnn_model_free(back);
        }
        tnn_model_free(m);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Format 5 for an image model: the delta follows the input shape, and
 * the optimizer section has format 4's fields. Setting the delta back to 1 on
 * a model of an older loss gives back the older format, byte for byte. */
START_TEST(format_5_only_when_needed)
{
    tnn_model *img = image_model(2);
    size_t size, size5;
    unsigned char *before = image_of(img, TNN_SAVE_OPTIMIZER, &size);
    ck_assert_uint_eq(load_le32(before + 8), 2);
    ck_assert_int_eq(tnn_model_set_huber_delta(img, 4.0f), TNN_OK);
    unsigned char *image5 = image_of(img, TNN_SAVE_OPTIMIZER, &size5);
    ck_assert_uint_eq(load_le32(image5 + 8), 5);
    /* 4 bytes of delta, and the optimizer's two clip fields (format 4). */
    ck_assert_uint_eq(size5, size + 12);
    size_t modl = section_head(image5, size5, "MODL");
    ck_assert_uint_eq(load_le64(image5 + modl + 8), 100);
    ck_assert_uint_eq(load_le32(image5 + modl + 16 + 96), float_bits(4.0f));
    /* The rest of the model section is format 2's. */
    ck_assert_mem_eq(image5 + modl + 16, before + modl + 16, 96);
    tnn_model *back = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image5, size5, &back), TNN_OK);
    ck_assert_float_eq(tnn_model_huber_delta(back), 4.0f);
    ck_assert_int_eq(tnn_model_set_huber_delta(img, 1.0f), TNN_OK);
    size_t size_again;
    unsigned char *after = image_of(img, TNN_SAVE_OPTIMIZER, &size_again);
    ck_assert_uint_eq(size_again, size);
    ck_assert_mem_eq(after, before, size);
    free(before);
    free(image5);
    free(after);
    tnn_model_free(back);
    tnn_model_free(img);
}
END_TEST

static void assert_refused_saying(const unsigned char *image, size_t size,
                                  const char *text)
{
    tnn_model *out = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &out), TNN_E_CORRUPT);
    ck_assert_ptr_null(out);
    assert_failed_with(TNN_E_CORRUPT, "tnn_model_load_buffer");
    ck_assert_msg(strstr(tnn_last_error(), text) != NULL,
                  "\"%s\" does not say \"%s\"", tnn_last_error(), text);
}

/* A file's Huber delta must be one the setter takes, its loss one its
 * format has (the checksums made right each time). */
START_TEST(bad_loss_or_delta_in_file_is_refused)
{
    tnn_tensor *x, *y;
    loss_data(&x, &y);
    tnn_model *m = loss_model(TNN_LOSS_HUBER, 0.5f, NULL, x, y);
    size_t size;
    unsigned char *image = image_of(m, 0, &size);
    size_t modl = section_head(image, size, "MODL");
    unsigned char *copy = malloc(size);
    const float bad[5] = {0.0f, -0.0f, -1.0f, NAN, INFINITY};
    for (int b = 0; b < 5; b++) {
        memcpy(copy, image, size);
        store_u32(copy + modl + 16 + 96, float_bits(bad[b]));
        fix_crcs(copy, size, modl);
        assert_refused_saying(copy, size, "Huber delta");
        ck_assert_ptr_nonnull(
            strstr(tnn_last_error(), "tnn_model_set_huber_delta"));
    }
    /* No loss 2 or 6 exists. */
    for (uint32_t loss = 2; loss <= 6; loss += 4) {
        memcpy(copy, image, size);
        store_u32(copy + modl + 16 + 8, loss);
        fix_crcs(copy, size, modl);
        assert_refused_saying(copy, size, "unknown loss");
    }
    /* Claimed as format 4, the model section is 4 bytes too long. */
    memcpy(copy, image, size);
    store_u32(copy + 8, 4);
    fix_crcs(copy, size, modl);
    assert_refused_saying(copy, size, "model section has the wrong length");
    free(copy);
    free(image);
    tnn_model_free(m);

    /* A format 1 file with a loss of 1.7. */
    tnn_model *old = every_kind_model(1);
    image = image_of(old, 0, &size);
    ck_assert_uint_eq(load_le32(image + 8), 1);
    modl = section_head(image, size, "MODL");
    for (uint32_t loss = TNN_LOSS_MAE; loss <= TNN_LOSS_BINARY_CROSS_ENTROPY;
         loss++) {
        store_u32(image + modl + 16 + 8, loss);
        fix_crcs(image, size, modl);
        char text[64];
        snprintf(text, sizeof text, "loss %u, which format version 1", loss);
        assert_refused_saying(image, size, text);
    }
    free(image);
    tnn_model_free(old);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- zero padding: format 6 ------------------------------------------- */

/* An image model with zero padding before a valid convolution and before
 * a pooling, on some sides only: 2 x 5 x 4 -> pad (1, 0, 2, 1) (2 x 6 x 7)
 * -> conv 3@3x3 valid (3 x 4 x 5) -> relu -> pad (0, 2, 0, 1) (3 x 6 x 6)
 * -> maxpool 2/2 (3 x 3 x 3) -> flatten -> dense 3. */
static tnn_model *padded_model(uint64_t seed)
{
    tnn_model *m = tnn_model_new_image(2, 5, 4);
    ck_assert_ptr_nonnull(m);
    tnn_model_set_seed(m, seed);
    ck_assert_int_eq(tnn_model_add(m, tnn_zeropad2d_new(1, 0, 2, 1)), TNN_OK);
    ck_assert_int_eq(
        tnn_model_add(m, tnn_conv2d_new(2, 3, 3, 3, 1, TNN_PADDING_VALID)),
        TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_zeropad2d_new(0, 2, 0, 1)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_maxpool2d_new(2, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(27, 3)), TNN_OK);
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_adam_new(0.01f));
    return m;
}

/* The format 6 file of padded_model(), and what it must refuse. */
static void check_padded_model(const unsigned char *image, size_t size,
                               tnn_model *back, int flags)
{
    (void)flags;
    ck_assert_uint_eq(load_le32(image + 8), 6);
    size_t modl = section_head(image, size, "MODL");
    ck_assert_uint_eq(load_le64(image + modl + 8), 100);
    /* The first record: kind 14, 40 -> 84 values, 4 words. */
    size_t rec = section_head(image, size, "LAYR") + 16;
    ck_assert_uint_eq(load_le32(image + rec), TNN_LAYER_ZEROPAD2D);
    ck_assert_uint_eq(load_le64(image + rec + 8), 40);
    ck_assert_uint_eq(load_le64(image + rec + 16), 84);
    ck_assert_uint_eq(load_le32(image + rec + 24), 4);
    ck_assert_uint_eq(load_le32(image + rec + 28), 1);
    ck_assert_uint_eq(load_le32(image + rec + 32), 0);
    ck_assert_uint_eq(load_le32(image + rec + 36), 2);
    ck_assert_uint_eq(load_le32(image + rec + 40), 1);
    ck_assert_uint_eq(tnn_model_num_layers(back), 7);
    ck_assert_int_eq(tnn_layer_kind(tnn_model_layer(back, 0)),
                     TNN_LAYER_ZEROPAD2D);
    ck_assert_int_eq(tnn_layer_kind(tnn_model_layer(back, 3)),
                     TNN_LAYER_ZEROPAD2D);
    ck_assert_uint_eq(tnn_layer_out_features(tnn_model_layer(back, 0)),
                      2 * 6 * 7);
    ck_assert_uint_eq(tnn_layer_out_features(tnn_model_layer(back, 3)),
                      3 * 6 * 6);

    /* Claimed as format 5. */
    unsigned char *copy = malloc(size);
    memcpy(copy, image, size);
    store_u32(copy + 8, 5);
    fix_crcs(copy, size, modl);
    assert_refused_saying(copy, size, "layer 0 has unknown kind 14");
    /* A padding above 4096, then a padding that gives another width
     * than the recorded one. */
    size_t layr = section_head(image, size, "LAYR");
    memcpy(copy, image, size);
    store_u32(copy + rec + 28, 4097);
    fix_crcs(copy, size, layr);
    assert_refused_saying(copy, size, "tnn_zeropad2d_new");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "layer 0"));
    memcpy(copy, image, size);
    store_u32(copy + rec + 40, 2);
    fix_crcs(copy, size, layr);
    tnn_model *out = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(copy, size, &out), TNN_E_CORRUPT);
    ck_assert_ptr_null(out);
    free(copy);
}

/* A model with zero padding is written in format 6, its records holding
 * the four paddings (top, bottom, left, right); it loads back predicting
 * bit for bit, saves again to the same bytes, and resumes training
 * exactly. Claimed as format 5 (checksums made right), kind 14 is unknown
 * there and the file is corrupt; so is a record whose paddings the
 * constructor refuses or that do not give the recorded width. */
START_TEST(zeropad_round_trip_and_older_format_refused)
{
    tnn_tensor *x, *y;
    random_images(24, 15, 5, 4, &x, &y);
    assert_round_trips(padded_model, 3, x, y, check_padded_model);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- layer normalisation and GELU: format 7 -------------------------- */

/* 6 -> dense 8 -> layernorm(4) (eps 1e-3) -> gelu -> dense 3, its gamma
 * and beta moved away from 1 and 0 by training. */
static tnn_model *normed_model(uint64_t seed)
{
    tnn_model *m = tnn_model_new(6);
    ck_assert_ptr_nonnull(m);
    tnn_model_set_seed(m, seed);
    tnn_layer *ln = tnn_layernorm_new(4);
    ck_assert_int_eq(tnn_layernorm_set_eps(ln, 1e-3f), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(6, 8)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, ln), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_gelu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(8, 3)), TNN_OK);
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_adam_new(0.01f));
    return m;
}

/* The format 7 file of normed_model(), and what it must refuse. */
static void check_normed_model(const unsigned char *image, size_t size,
                               tnn_model *back, int flags)
{
    (void)flags;
    ck_assert_uint_eq(load_le32(image + 8), 7);
    /* The second record: kind 15, 8 -> 8 values, 2 words (features 4,
     * eps 1e-3); the third kind 16 without words. */
    size_t layr = section_head(image, size, "LAYR");
    size_t rec = layr + 16 + 36; /* after the dense record (2 words) */
    ck_assert_uint_eq(load_le32(image + rec), TNN_LAYER_LAYERNORM);
    ck_assert_uint_eq(load_le64(image + rec + 8), 8);
    ck_assert_uint_eq(load_le64(image + rec + 16), 8);
    ck_assert_uint_eq(load_le32(image + rec + 24), 2);
    ck_assert_uint_eq(load_le32(image + rec + 28), 4);
    float eps;
    uint32_t word = load_le32(image + rec + 32);
    memcpy(&eps, &word, sizeof eps);
    ck_assert_float_eq(eps, 1e-3f);
    ck_assert_uint_eq(load_le32(image + rec + 36), TNN_LAYER_GELU);
    ck_assert_uint_eq(load_le32(image + rec + 36 + 24), 0);
    tnn_layer *ln = tnn_model_layer(back, 1);
    ck_assert_int_eq(tnn_layer_kind(ln), TNN_LAYER_LAYERNORM);
    ck_assert_float_eq(tnn_layernorm_eps(ln), 1e-3f);
    ck_assert_int_eq(tnn_layer_kind(tnn_model_layer(back, 2)), TNN_LAYER_GELU);

    /* Claimed as format 6. */
    unsigned char *copy = malloc(size);
    memcpy(copy, image, size);
    store_u32(copy + 8, 6);
    fix_crcs(copy, size, section_head(image, size, "MODL"));
    assert_refused_saying(copy, size, "layer 1 has unknown kind 15");
    /* features 3, which 8 inputs are no multiple of; eps 0. */
    memcpy(copy, image, size);
    store_u32(copy + rec + 28, 3);
    fix_crcs(copy, size, layr);
    assert_refused_saying(copy, size, "not a multiple of 3");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "layer 1"));
    memcpy(copy, image, size);
    store_u32(copy + rec + 32, 0);
    fix_crcs(copy, size, layr);
    assert_refused_saying(copy, size, "tnn_layernorm_set_eps");
    free(copy);
}

/* A model with layer normalisation and GELU is written in format 7, the
 * layer-norm's record holding its features and eps; it loads back
 * predicting bit for bit, saves again to the same bytes, and resumes
 * training exactly. Claimed as format 6, kind 15 is unknown there; a
 * record whose features do not divide the width, or whose eps the setter
 * refuses, is refused. */
START_TEST(layernorm_gelu_round_trip_and_older_format_refused)
{
    tnn_tensor *x, *y;
    make_data(24, &x, &y);
    assert_round_trips(normed_model, 3, x, y, check_normed_model);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

Suite *model_io_suite(void)
{
    Suite *s = suite_create("model_io");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip_predicts_bit_identically);
    tcase_add_test(tc, resumed_training_is_exact);
    tcase_add_test(tc, fine_tuning_keeps_frozen_weights);
    tcase_add_test(tc, format_header_as_documented);
    tcase_add_test(tc, newer_format_is_refused);
    tcase_add_test(tc, sequence_models_need_format_8);
    tcase_add_test(tc, pending_normal_draw_is_checked);
    tcase_add_test(tc, every_truncation_is_rejected);
    tcase_add_test(tc, bit_flips_are_rejected);
    tcase_add_test(tc, save_is_atomic);
    tcase_add_test(tc, golden_file_still_loads);
    tcase_add_test(tc, image_model_round_trip_and_resume);
    tcase_add_test(tc, golden_v2_image_file_still_loads);
    tcase_add_test(tc, allocation_failure_sweep_image_model);
    tcase_add_test(tc, allocation_failure_sweep_sequence_model);
    tcase_add_test(tc, fuzz_regressions);
    tcase_add_test(tc, file_api_misuse);
    tcase_add_test(tc, allocation_failure_sweep_mnist_shape);
    tcase_add_test(tc, oldest_sufficient_format_is_written);
    tcase_add_test(tc, format_1_has_the_layout_of_libtinynn_1_2);
    tcase_add_test(tc, golden_files_resave_to_the_same_bytes);
    tcase_add_test(tc, leaky_relu_round_trip_and_older_format_refused);
    tcase_add_test(tc, clipping_saved_with_the_optimizer);
    tcase_add_test(tc, truncated_files_say_so);
    tcase_add_test(tc, fifo_and_directory_are_refused_promptly);
    tcase_add_test(tc, new_files_get_the_umask_permissions);
    tcase_add_test(tc, concurrent_saves_leave_the_umask_alone);
    tcase_add_test(tc, resave_keeps_permissions_and_owner);
    tcase_add_test(tc, saves_write_through_symbolic_links);
    tcase_add_test(tc, others_links_in_sticky_directories_not_followed);
    tcase_add_test(tc, long_file_names_save_and_load);
    tcase_add_test(tc, failed_save_gives_the_reason_first);
    tcase_add_test(tc, new_losses_round_trip_in_format_5);
    tcase_add_test(tc, format_5_only_when_needed);
    tcase_add_test(tc, bad_loss_or_delta_in_file_is_refused);
    tcase_add_test(tc, zeropad_round_trip_and_older_format_refused);
    tcase_add_test(tc, layernorm_gelu_round_trip_and_older_format_refused);
    suite_add_tcase(s, tc);
    return s;
}
