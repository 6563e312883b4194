/*
 * libFuzzer target for the IDX reader, tnn_idx_load_buffer().
 *
 * Input: one byte whose low two bits are the flags (TNN_IDX_SCALE,
 * TNN_IDX_FLATTEN), then the IDX file. Seeds in corpus/idx/ follow that
 * layout.
 *
 * Checked besides memory safety:
 *  - a refused file gives a negative status code, leaves *out NULL and
 *    explains itself in tnn_last_error();
 *  - an accepted file gives a tensor of the header's shape (flattened to
 *    two dimensions if asked), as many elements as data bytes, each the
 *    byte's value (divided by 255 with TNN_IDX_SCALE);
 *  - tnn_idx_load() on the same bytes written to a file agrees, as the
 *    two loaders share their parser and promise the same verdicts;
 *  - an accepted file loaded again with one allocation failing gives
 *    TNN_E_NOMEM, no tensor and no leak.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp(), ftruncate(), pwrite() */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinynn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_common.h"
#include "fuzz_scratch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (tnn_set_allocator(fuzz_malloc, fuzz_realloc, fuzz_free, NULL) !=
        TNN_OK)
        abort();
    open_scratch("idx");
    return 0;
}

static void check_failure(int rc, const tnn_tensor *t)
{
    CHECK(t == NULL);
    CHECK(rc < 0 && rc >= TNN_E_STATE);
    CHECK(tnn_last_error_code() == rc);
    CHECK(tnn_last_error()[0] != '\0');
}

/* t was accepted from file (size bytes) with flags: check it against the
 * header, which the parser has validated, so it can be read directly. */
static void check_tensor(const tnn_tensor *t, const uint8_t *file, size_t size,
                         int flags)
{
    CHECK(t != NULL);
    CHECK(size >= 4);
    int file_ndim = file[3];
    CHECK(file_ndim >= 1 && file_ndim <= TNN_MAX_DIMS);
    size_t header = 4 + 4 * (size_t)file_ndim;
    CHECK(size >= header);

    int ndim = tnn_tensor_ndim(t);
    int want_ndim =
        (flags & TNN_IDX_FLATTEN) && file_ndim >= 2 ? 2 : file_ndim;
    CHECK(ndim == want_ndim);
    size_t product = 1;
    for (int i = 0; i < ndim; i++) {
        size_t d = tnn_tensor_dim(t, i);
        CHECK(d >= 1);
        CHECK(product <= SIZE_MAX / d);
        product *= d;
    }
    CHECK(tnn_tensor_size(t) == product);
    CHECK(product == size - header);
    /* The leading dimension is the file's, flattened or not. */
    size_t dim0 = (size_t)file[4] << 24 | (size_t)file[5] << 16 |
                  (size_t)file[6] << 8 | (size_t)file[7];
    CHECK(tnn_tensor_dim(t, 0) == dim0);
    if (ndim == file_ndim) {
        for (int i = 1; i < ndim; i++) {
            const uint8_t *p = file + 4 + 4 * (size_t)i;
            size_t d = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
                       (size_t)p[2] << 8 | (size_t)p[3];
            CHECK(tnn_tensor_dim(t, i) == d);
        }
    }

    const float *v = tnn_tensor_cdata(t);
    const uint8_t *bytes = file + header;
    for (size_t k = 0; k < product; k++) {
        float want = (flags & TNN_IDX_SCALE) ? (float)bytes[k] / 255.0f
                                             : (float)bytes[k];
        CHECK(memcmp(&v[k], &want, sizeof want) == 0);
    }
}

static void check_same_tensor(const tnn_tensor *a, const tnn_tensor *b)
{
    CHECK(tnn_tensor_ndim(a) == tnn_tensor_ndim(b));
    for (int i = 0; i < tnn_tensor_ndim(a); i++)
        CHECK(tnn_tensor_dim(a, i) == tnn_tensor_dim(b, i));
    CHECK(memcmp(tnn_tensor_cdata(a), tnn_tensor_cdata(b),
                 tnn_tensor_size(a) * sizeof(float)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int flags = data[0] & (TNN_IDX_SCALE | TNN_IDX_FLATTEN);
    const uint8_t *file = data + 1;
    size_t file_size = size - 1;

    /* A stale message from the previous input must not satisfy the
     * checks. Not NULL, so that they see the loader reset it. */
    static char sentinel;
    tnn_clear_error();
    tnn_tensor *t = (tnn_tensor *)(void *)&sentinel;
    alloc_count = 0;
    int rc = tnn_idx_load_buffer(file, file_size, flags, &t);
    unsigned long allocations = alloc_count;
    if (rc == TNN_OK)
        check_tensor(t, file, file_size, flags);
    else
        check_failure(rc, t);

    if (rc == TNN_OK && allocations > 0) {
        tnn_tensor *v = (tnn_tensor *)(void *)&sentinel;
        alloc_count = 0;
        fail_at = 1 + file_size % allocations;
        int rc_nomem = tnn_idx_load_buffer(file, file_size, flags, &v);
        fail_at = 0;
        CHECK(rc_nomem == TNN_E_NOMEM);
        check_failure(rc_nomem, v);
    }

    if (write_scratch(file, file_size)) {
        tnn_clear_error();
        tnn_tensor *u = (tnn_tensor *)(void *)&sentinel;
        int rc_file = tnn_idx_load(scratch, flags, &u);
        CHECK(rc_file == rc);
        if (rc_file == TNN_OK)
            check_same_tensor(t, u);
        else
            check_failure(rc_file, u);
        tnn_tensor_free(u);
    }
    tnn_tensor_free(t);
    return 0;
}
