/*
 * IDX data files: shapes, values, flags, every malformed variant, file and
 * buffer alike, and allocation failure. Each test writes its own small
 * files into a fresh temporary directory, so no data set is needed.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp(), opendir(), mkfifo(), fork() */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testchild.h"
#include "testutil.h"

Suite *idx_suite(void);

/* The directory is made once per test case, outside the forked test
 * processes, and emptied by listing it, so that it goes away even when a
 * test fails before cleaning up after itself. */
static char tmp_dir[64];

static void make_tmp_dir(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/tnn-idx-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void remove_tmp_dir(void)
{
    DIR *dir = opendir(tmp_dir);
    if (dir) {
        char path[sizeof tmp_dir + 256];
        for (struct dirent *e; (e = readdir(dir)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(tmp_dir);
}

/* Write len bytes to the file name in the test directory, replacing it;
 * returns its path, valid for the next few calls (a test keeps at most a
 * few paths at once). */
static const char *write_file(const char *name, const unsigned char *bytes,
                              size_t len)
{
    static char paths[8][160];
    static unsigned next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* clang-format off */
/* An IDX image file: magic 00 00 08 03, dims 3 x 2 x 2, then the bytes. */
static const unsigned char images[] = {
    0x00, 0x00, 0x08, 0x03,
    0, 0, 0, 3,   0, 0, 0, 2,   0, 0, 0, 2,
    0, 51, 102, 255,   1, 2, 3, 4,   200, 128, 254, 17,
};
/* A label file: magic 00 00 08 01, one dim of 3, the classes 7, 0, 9. */
static const unsigned char labels[] = {
    0x00, 0x00, 0x08, 0x01,
    0, 0, 0, 3,
    7, 0, 9,
};
/* clang-format on */
#define IMAGES_HEADER 16
#define IMAGES_COUNT 12

/* Write the header of an unsigned-byte file with ndim dims at p, the dims
 * big-endian; returns its length. */
static size_t put_header(unsigned char *p, int ndim, const uint32_t *dims)
{
    p[0] = 0;
    p[1] = 0;
    p[2] = 0x08;
    p[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++)
            p[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    return 4 + 4 * (size_t)ndim;
}

/* The last call failed with code and a message containing text. */
static void assert_message(int code, const char *func, const char *text)
{
    assert_failed_with(code, func);
    ck_assert_msg(strstr(tnn_last_error(), text) != NULL,
                  "message \"%s\" does not contain \"%s\"", tnn_last_error(),
                  text);
}

/* Both loaders reject bytes with code and a message containing text, and
 * leave *out NULL even when it held a pointer before. */
static void assert_rejected(const unsigned char *bytes, size_t len, int code,
                            const char *text)
{
    const char *path = write_file("bad.idx", bytes, len);
    tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
    tnn_tensor *t = keep;
    ck_assert_int_eq(tnn_idx_load(path, 0, &t), code);
    ck_assert_ptr_null(t);
    assert_message(code, "tnn_idx_load", text);
    ck_assert_msg(strstr(tnn_last_error(), path) != NULL,
                  "message \"%s\" does not name the path", tnn_last_error());

    t = keep;
    ck_assert_int_eq(tnn_idx_load_buffer(bytes, len, 0, &t), code);
    ck_assert_ptr_null(t);
    assert_message(code, "tnn_idx_load_buffer", text);
    tnn_tensor_free(keep);
}

START_TEST(images_raw_values_and_shape)
{
    const char *path = write_file("images.idx", images, sizeof images);
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load(path, 0, &t), TNN_OK);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tnn_tensor_ndim(t), 3);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), 3);
    ck_assert_uint_eq(tnn_tensor_dim(t, 1), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 2), 2);
    ck_assert_uint_eq(tnn_tensor_size(t), IMAGES_COUNT);
    const float *d = tnn_tensor_cdata(t);
    for (size_t i = 0; i < IMAGES_COUNT; i++)
        ck_assert_float_eq(d[i], (float)images[IMAGES_HEADER + i]);
    /* Row-major: element (2, 1, 0) is at 2 * 4 + 1 * 2 + 0. */
    ck_assert_float_eq(d[10], 254.0f);
    ck_assert_float_eq(d[3], 255.0f);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(images_scaled_to_unit_interval)
{
    const char *path = write_file("images.idx", images, sizeof images);
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load(path, TNN_IDX_SCALE, &t), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 3);
    const float *d = tnn_tensor_cdata(t);
    ck_assert_float_eq(d[0], 0.0f);
    ck_assert_float_eq(d[1], 0.2f);
    ck_assert_float_eq(d[2], 0.4f);
    ck_assert_float_eq(d[3], 1.0f);
    for (size_t i = 0; i < IMAGES_COUNT; i++) {
        double want = images[IMAGES_HEADER + i] / 255.0;
        ck_assert_double_eq_tol(d[i], want, 1e-7);
        ck_assert(d[i] >= 0.0f && d[i] <= 1.0f);
    }
    tnn_tensor_free(t);
}
END_TEST

START_TEST(labels_are_class_indices)
{
    const char *path = write_file("labels.idx", labels, sizeof labels);
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load(path, 0, &t), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 1);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), 3);
    const float want[3] = {7.0f, 0.0f, 9.0f};
    ck_assert_mem_eq(tnn_tensor_cdata(t), want, sizeof want);
    tnn_tensor_free(t);

    /* A 1-D file has no other dimensions to flatten: it stays 1-D. */
    ck_assert_int_eq(tnn_idx_load(path, TNN_IDX_FLATTEN, &t), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 1);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), 3);
    ck_assert_mem_eq(tnn_tensor_cdata(t), want, sizeof want);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(flatten_keeps_rows)
{
    const char *path = write_file("images.idx", images, sizeof images);
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load(path, TNN_IDX_FLATTEN, &t), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), 3);
    ck_assert_uint_eq(tnn_tensor_dim(t, 1), 4);
    const float *d = tnn_tensor_cdata(t);
    for (size_t i = 0; i < IMAGES_COUNT; i++)
        ck_assert_float_eq(d[i], (float)images[IMAGES_HEADER + i]);
    tnn_tensor_free(t);

    ck_assert_int_eq(tnn_idx_load(path, TNN_IDX_FLATTEN | TNN_IDX_SCALE, &t),
                     TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 1), 4);
    ck_assert_float_eq(tnn_tensor_cdata(t)[1], 0.2f);
    ck_assert_float_eq(tnn_tensor_cdata(t)[3], 1.0f);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(four_dims_load_and_flatten)
{
    /* (2, 1, 2, 3): two single-channel 2 x 3 images. */
    const uint32_t dims[4] = {2, 1, 2, 3};
    unsigned char bytes[4 + 16 + 12];
    ck_assert_uint_eq(put_header(bytes, 4, dims), 20);
    for (int i = 0; i < 12; i++)
        bytes[20 + i] = (unsigned char)(10 * i);
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load_buffer(bytes, sizeof bytes, 0, &t), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 4);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 1), 1);
    ck_assert_uint_eq(tnn_tensor_dim(t, 2), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 3), 3);
    ck_assert_float_eq(tnn_tensor_cdata(t)[11], 110.0f);
    tnn_tensor_free(t);

    ck_assert_int_eq(
        tnn_idx_load_buffer(bytes, sizeof bytes, TNN_IDX_FLATTEN, &t), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 1), 6);
    ck_assert_float_eq(tnn_tensor_cdata(t)[6], 60.0f);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(buffer_matches_file)
{
    const char *path = write_file("images.idx", images, sizeof images);
    const int flag_sets[4] = {0, TNN_IDX_SCALE, TNN_IDX_FLATTEN,
                              TNN_IDX_SCALE | TNN_IDX_FLATTEN};
    for (int k = 0; k < 4; k++) {
        tnn_tensor *from_file = NULL, *from_buf = NULL;
        ck_assert_int_eq(tnn_idx_load(path, flag_sets[k], &from_file), TNN_OK);
        ck_assert_int_eq(tnn_idx_load_buffer(images, sizeof images,
                                             flag_sets[k], &from_buf),
                         TNN_OK);
        ck_assert_int_eq(tnn_tensor_ndim(from_buf),
                         tnn_tensor_ndim(from_file));
        for (int i = 0; i < tnn_tensor_ndim(from_file); i++)
            ck_assert_uint_eq(tnn_tensor_dim(from_buf, i),
                              tnn_tensor_dim(from_file, i));
        ck_assert_mem_eq(tnn_tensor_cdata(from_buf),
                         tnn_tensor_cdata(from_file),
                         IMAGES_COUNT * sizeof(float));
        tnn_tensor_free(from_file);
        tnn_tensor_free(from_buf);
    }
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load_buffer(labels, sizeof labels, 0, &t),
                     TNN_OK);
    ck_assert_float_eq(tnn_tensor_cdata(t)[2], 9.0f);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(wrong_magic_and_type)
{
    unsigned char bytes[sizeof labels];
    memcpy(bytes, labels, sizeof bytes);
    bytes[0] = 0x1f; /* what a gzip-compressed file starts with */
    bytes[1] = 0x8b;
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT, "0x1f 0x8b");
    memcpy(bytes, labels, sizeof bytes);
    bytes[1] = 0x01;
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT, "0x00 0x01");

    memcpy(bytes, labels, sizeof bytes);
    bytes[2] = 0x0b; /* signed 16-bit */
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT,
                    "element type 0x0b is not supported");
    bytes[2] = 0x0d; /* float */
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT, "element type 0x0d");
}
END_TEST

START_TEST(bad_dimension_counts)
{
    unsigned char bytes[sizeof labels];
    memcpy(bytes, labels, sizeof bytes);
    bytes[3] = 0;
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT, "gives 0 dimensions");
    bytes[3] = 5;
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT, "gives 5 dimensions");
    bytes[3] = 0xff;
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT, "gives 255 dimensions");
    /* Only the magic: the dims count is checked before the length. */
    assert_rejected(bytes, 4, TNN_E_FORMAT, "gives 255 dimensions");
}
END_TEST

START_TEST(zero_dimension)
{
    unsigned char bytes[sizeof images];
    memcpy(bytes, images, sizeof bytes);
    bytes[11] = 0; /* dims[1] */
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT, "dims[1] is 0");
}
END_TEST

/* Four dims of 0xFFFFFFFF multiply to about 2^128. Rejected before any
 * allocation. */
START_TEST(overflowing_size)
{
    const uint32_t dims[4] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
    unsigned char bytes[4 + 16 + 3] = {0};
    put_header(bytes, 4, dims);
    struct counting_allocator a;
    counting_install(&a, 0);
    assert_rejected(bytes, sizeof bytes, TNN_E_FORMAT,
                    "element count overflows");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "4294967295"));
    /* Only the keep tensor assert_rejected() makes, 2 allocations. */
    ck_assert_int_eq(a.calls, 2);
    counting_remove();
}
END_TEST

/* A header announcing 2^32 - 1 bytes on a file of a few bytes is
 * reported as short without allocating the 16 GiB it asks for. */
START_TEST(huge_header_allocates_nothing)
{
    const uint32_t dims[1] = {UINT32_MAX};
    unsigned char bytes[8 + 3] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3};
    put_header(bytes, 1, dims);
    const char *path = write_file("huge.idx", bytes, sizeof bytes);
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load(path, 0, &t), TNN_E_CORRUPT);
    assert_message(TNN_E_CORRUPT, "tnn_idx_load", "expected 4294967295");
    ck_assert_int_eq(tnn_idx_load_buffer(bytes, sizeof bytes, 0, &t),
                     TNN_E_CORRUPT);
    assert_message(TNN_E_CORRUPT, "tnn_idx_load_buffer", "found 3");
    ck_assert_ptr_null(t);
    ck_assert_int_eq(a.calls, 0);
    counting_remove();
}
END_TEST

START_TEST(data_length_must_match)
{
    /* One byte short, then one byte too long. */
    assert_rejected(images, sizeof images - 1, TNN_E_CORRUPT,
                    "expected 12 data bytes after the 16-byte header, "
                    "found 11");
    unsigned char longer[sizeof images + 1];
    memcpy(longer, images, sizeof images);
    longer[sizeof images] = 42;
    assert_rejected(longer, sizeof longer, TNN_E_CORRUPT,
                    "expected 12 data bytes after the 16-byte header, "
                    "found 13");
    /* A header with no data at all. */
    assert_rejected(images, IMAGES_HEADER, TNN_E_CORRUPT,
                    "expected 12 data bytes after the 16-byte header, "
                    "found 0");
    assert_rejected(labels, sizeof labels - 3, TNN_E_CORRUPT, "found 0");
}
END_TEST

START_TEST(truncated_header)
{
    assert_rejected(images, 10, TNN_E_CORRUPT,
                    "truncated header: 10 bytes, the header needs 16");
    assert_rejected(images, 3, TNN_E_CORRUPT,
                    "truncated header: 3 bytes, the header needs 4");
    assert_rejected(images, 0, TNN_E_CORRUPT,
                    "truncated header: 0 bytes, the header needs 4");
    assert_rejected(labels, 7, TNN_E_CORRUPT,
                    "truncated header: 7 bytes, the header needs 8");
}
END_TEST

START_TEST(unreadable_paths)
{
    char path[160];
    snprintf(path, sizeof path, "%s/no-such-file.idx", tmp_dir);
    tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
    tnn_tensor *t = keep;
    ck_assert_int_eq(tnn_idx_load(path, 0, &t), TNN_E_IO);
    ck_assert_ptr_null(t);
    assert_message(TNN_E_IO, "tnn_idx_load", path);
    /* The reason before the path, which a long path cannot push out. */
    const char *reason = strstr(tnn_last_error(), strerror(ENOENT));
    ck_assert_ptr_nonnull(reason);
    ck_assert(reason < strstr(tnn_last_error(), path));

    /* A directory opens, but is no file to read. */
    t = keep;
    ck_assert_int_eq(tnn_idx_load(tmp_dir, 0, &t), TNN_E_IO);
    ck_assert_ptr_null(t);
    assert_message(TNN_E_IO, "tnn_idx_load", tmp_dir);
    assert_message(TNN_E_IO, "tnn_idx_load", "not a regular file");
    tnn_tensor_free(keep);
}
END_TEST

START_TEST(invalid_arguments)
{
    const char *path = write_file("labels.idx", labels, sizeof labels);
    tnn_tensor *keep = tnn_tensor_new_2d(1, 1);
    tnn_tensor *t = keep;
    ck_assert_int_eq(tnn_idx_load(NULL, 0, &t), TNN_E_INVALID);
    ck_assert_ptr_null(t);
    assert_message(TNN_E_INVALID, "tnn_idx_load", "path is NULL");
    ck_assert_int_eq(tnn_idx_load(path, 0, NULL), TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_idx_load", "out is NULL");

    t = keep;
    ck_assert_int_eq(tnn_idx_load_buffer(NULL, 11, 0, &t), TNN_E_INVALID);
    ck_assert_ptr_null(t);
    assert_message(TNN_E_INVALID, "tnn_idx_load_buffer", "data is NULL");
    ck_assert_int_eq(tnn_idx_load_buffer(labels, sizeof labels, 0, NULL),
                     TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_idx_load_buffer", "out is NULL");

    t = keep;
    ck_assert_int_eq(tnn_idx_load(path, 4, &t), TNN_E_INVALID);
    ck_assert_ptr_null(t);
    assert_message(TNN_E_INVALID, "tnn_idx_load", "flags is 0x4");
    t = keep;
    ck_assert_int_eq(
        tnn_idx_load_buffer(labels, sizeof labels, TNN_IDX_SCALE | 8, &t),
        TNN_E_INVALID);
    ck_assert_ptr_null(t);
    assert_message(TNN_E_INVALID, "tnn_idx_load_buffer", "flags is 0x9");
    ck_assert_int_eq(tnn_idx_load(path, -1, &t), TNN_E_INVALID);
    assert_message(TNN_E_INVALID, "tnn_idx_load", "flags is 0xffffffff");
    tnn_tensor_free(keep);
}
END_TEST

/* Fail each allocation a load needs in turn: TNN_E_NOMEM under the
 * loader's name, *out NULL, nothing left allocated. */
START_TEST(allocation_failure_leaks_nothing)
{
    const char *path = write_file("images.idx", images, sizeof images);
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_tensor *t = NULL;
    ck_assert_int_eq(tnn_idx_load(path, TNN_IDX_FLATTEN, &t), TNN_OK);
    long needed = a.calls;
    tnn_tensor_free(t);
    ck_assert_int_eq(needed, 2); /* the tensor and its data, nothing else */
    ck_assert_int_eq(a.live, 0);

    for (long n = 1; n <= needed; n++) {
        counting_install(&a, n);
        t = NULL;
        ck_assert_int_eq(tnn_idx_load(path, TNN_IDX_FLATTEN, &t), TNN_E_NOMEM);
        ck_assert_ptr_null(t);
        assert_message(TNN_E_NOMEM, "tnn_idx_load", path);
        ck_assert_int_eq(a.live, 0);

        counting_install(&a, n);
        ck_assert_int_eq(
            tnn_idx_load_buffer(images, sizeof images, TNN_IDX_SCALE, &t),
            TNN_E_NOMEM);
        ck_assert_ptr_null(t);
        assert_failed_with(TNN_E_NOMEM, "tnn_idx_load_buffer");
        ck_assert_int_eq(a.live, 0);
    }
    counting_remove();
}
END_TEST

static int load_idx_file(const char *path)
{
    tnn_tensor *t = NULL;
    int rc = tnn_idx_load(path, 0, &t);
    tnn_tensor_free(t);
    return rc;
}

/* tnn_idx_load(path) in a child process that fails the test after 3 s
 * instead of hanging the suite. */
static int load_in_child(const char *path, char *msg, size_t size)
{
    return run_in_child(load_idx_file, path, msg, size);
}

/* Opening a FIFO for reading waits for a writer: the loader must not. */
START_TEST(fifo_and_directory_are_refused_promptly)
{
    char fifo[160], msg[600];
    snprintf(fifo, sizeof fifo, "%s/fifo.idx", tmp_dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, tmp_dir};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(load_in_child(paths[i], msg, sizeof msg), TNN_E_IO);
        ck_assert_msg(strstr(msg, "tnn_idx_load: not a regular file: ") &&
                          strstr(msg, paths[i]),
                      "%s", msg);
    }
    unlink(fifo);
}
END_TEST

Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, make_tmp_dir, remove_tmp_dir);
    tcase_add_test(tc, images_raw_values_and_shape);
    tcase_add_test(tc, images_scaled_to_unit_interval);
    tcase_add_test(tc, labels_are_class_indices);
    tcase_add_test(tc, flatten_keeps_rows);
    tcase_add_test(tc, four_dims_load_and_flatten);
    tcase_add_test(tc, buffer_matches_file);
    tcase_add_test(tc, wrong_magic_and_type);
    tcase_add_test(tc, bad_dimension_counts);
    tcase_add_test(tc, zero_dimension);
    tcase_add_test(tc, overflowing_size);
    tcase_add_test(tc, huge_header_allocates_nothing);
    tcase_add_test(tc, data_length_must_match);
    tcase_add_test(tc, truncated_header);
    tcase_add_test(tc, unreadable_paths);
    tcase_add_test(tc, invalid_arguments);
    tcase_add_test(tc, allocation_failure_leaks_nothing);
    tcase_add_test(tc, fifo_and_directory_are_refused_promptly);
    suite_add_tcase(s, tc);
    return s;
}
