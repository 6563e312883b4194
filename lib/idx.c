/*
 * IDX data files (the MNIST format) read into float tensors.
 *
 * Layout: magic bytes 00 00 <type> <ndims>, then ndims big-endian uint32
 * dimensions, then the elements row-major. Only unsigned bytes (type 0x08)
 * are accepted: that is what MNIST and its relatives use, and any other
 * type would need its own conversion and tests.
 */
#define _POSIX_C_SOURCE 200809L /* fdopen() */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAGIC_BYTES 4
#define IDX_HEADER_MAX (IDX_MAGIC_BYTES + 4 * TNN_MAX_DIMS)
#define IDX_KNOWN_FLAGS (TNN_IDX_SCALE | TNN_IDX_FLATTEN)

/* Files are converted through a small stack buffer, so a load allocates
 * nothing but the tensor it returns. */
#define IDX_CHUNK 4096

/* Where the bytes come from: every message names the public function the
 * caller used and, for a file, the path (last, so that a long path cannot
 * push the reason out of the fixed-size message). */
struct idx_source {
    const char *func;
    const char *in;   /* " in " or "" */
    const char *path; /* the path or "" */
};

struct idx_header {
    int ndim;
    size_t dims[TNN_MAX_DIMS];
    size_t count;        /* elements, which are also the data bytes */
    size_t header_bytes; /* magic and dimensions */
};

static int check_args(const char *func, int flags, tnn_tensor **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, func, "out is NULL");
    *out = NULL;
    if (flags & ~IDX_KNOWN_FLAGS)
        return tnn__fail(TNN_E_INVALID, func,
                         "flags is 0x%x; only TNN_IDX_SCALE (0x%x) and "
                         "TNN_IDX_FLATTEN (0x%x) are defined",
                         (unsigned)flags, (unsigned)TNN_IDX_SCALE,
                         (unsigned)TNN_IDX_FLATTEN);
    return TNN_OK;
}

static int io_fail(const struct idx_source *src, const char *what, int err)
{
    /* POSIX does not promise a thread-safe strerror(), but glibc's only
     * writes shared storage for codes it does not know, and fopen, fread
     * and the open calls report known ones. strerror_r() differs between GNU
     * and XSI and would tie the file to one of them. */
    return tnn__fail(TNN_E_IO, src->func, "cannot %s: %s: %s", what,
                     strerror(err), src->path);
}

static int truncated(const struct idx_source *src, size_t have, size_t need)
{
    return tnn__fail(TNN_E_CORRUPT, src->func,
                     "truncated header: %zu bytes, the header needs %zu%s%s",
                     have, need, src->in, src->path);
}

/* Check the magic first, so that a file of another kind is reported as
 * such even when it is shorter than a full IDX header. */
static int parse_magic(const struct idx_source *src, const unsigned char *p,
                       size_t avail, struct idx_header *h)
{
    if (avail < IDX_MAGIC_BYTES)
        return truncated(src, avail, IDX_MAGIC_BYTES);
    if (p[0] != 0 || p[1] != 0)
        return tnn__fail(TNN_E_FORMAT, src->func,
                         "magic starts with 0x%02x 0x%02x; an IDX file "
                         "starts with two zero bytes%s%s",
                         (unsigned)p[0], (unsigned)p[1], src->in, src->path);
    if (p[2] != IDX_TYPE_UBYTE)
        return tnn__fail(TNN_E_FORMAT, src->func,
                         "element type 0x%02x is not supported; only "
                         "unsigned bytes (0x%02x) are%s%s",
                         (unsigned)p[2], (unsigned)IDX_TYPE_UBYTE, src->in,
                         src->path);
    if (p[3] < 1 || p[3] > TNN_MAX_DIMS)
        return tnn__fail(TNN_E_FORMAT, src->func,
                         "header gives %u dimensions; 1 to %d are "
                         "supported%s%s",
                         (unsigned)p[3], TNN_MAX_DIMS, src->in, src->path);
    h->ndim = p[3];
    h->header_bytes = IDX_MAGIC_BYTES + 4 * (size_t)h->ndim;
    return TNN_OK;
}

/* Parse the header at the start of the avail bytes at p. Shared by the
 * file and buffer loaders so that both accept and reject the same input
 * with the same messages. */
static int parse_header(const struct idx_source *src, const unsigned char *p,
                        size_t avail, struct idx_header *h)
{
    int rc = parse_magic(src, p, avail, h);
    if (rc != TNN_OK)
        return rc;
    if (avail < h->header_bytes)
        return truncated(src, avail, h->header_bytes);
    h->count = 1;
    for (int i = 0; i < h->ndim; i++) {
        h->dims[i] = tnn__load_be32(p + IDX_MAGIC_BYTES + 4 * (size_t)i);
        if (h->dims[i] == 0)
            return tnn__fail(TNN_E_FORMAT, src->func,
                             "dims[%d] is 0; every dimension must be at "
                             "least 1%s%s",
                             i, src->in, src->path);
        if (!tnn__mul_size(h->count, h->dims[i], &h->count))
            return tnn__fail(TNN_E_FORMAT, src->func,
                             "element count overflows size_t at dims[%d] = "
                             "%zu%s%s",
                             i, h->dims[i], src->in, src->path);
    }
    return TNN_OK;
}

/* actual is uintmax_t because a file may be larger than size_t allows. */
static int check_length(const struct idx_source *src,
                        const struct idx_header *h, uintmax_t actual)
{
    if (actual == h->count)
        return TNN_OK;
    return tnn__fail(TNN_E_CORRUPT, src->func,
                     "expected %zu data bytes after the %zu-byte header, "
                     "found %ju%s%s",
                     h->count, h->header_bytes, actual, src->in, src->path);
}

static int new_tensor(const struct idx_source *src, const struct idx_header *h,
                      int flags, tnn_tensor **t)
{
    size_t dims[TNN_MAX_DIMS];
    int ndim = h->ndim;
    memcpy(dims, h->dims, (size_t)ndim * sizeof *dims);
    if ((flags & TNN_IDX_FLATTEN) && ndim >= 2) {
        dims[1] = h->count / h->dims[0];
        ndim = 2;
    }
    *t = tnn_tensor_new(ndim, dims);
    if (*t)
        return TNN_OK;
    /* Report under the function the caller used; the copy is needed
     * because tnn__fail() overwrites the message it would read. */
    char why[256];
    snprintf(why, sizeof why, "%s", tnn_last_error());
    return tnn__fail(tnn_last_error_code(), src->func, "%s%s%s", why, src->in,
                     src->path);
}

/* Division rather than multiplication by 1/255, so that byte values whose
 * quotient is a short decimal (51 -> 0.2) give exactly the nearest float. */
static void convert(float *dst, const unsigned char *bytes, size_t n,
                    int flags)
{
    if (flags & TNN_IDX_SCALE) {
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)bytes[i] / 255.0f;
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)bytes[i];
    }
}

int tnn_idx_load_buffer(const void *data, size_t size, int flags,
                        tnn_tensor **out)
{
    const struct idx_source src = {__func__, "", ""};
    int rc = check_args(__func__, flags, out);
    if (rc != TNN_OK)
        return rc;
    if (!data)
        return tnn__fail(TNN_E_INVALID, __func__, "data is NULL");
    const unsigned char *bytes = data;
    struct idx_header h;
    rc = parse_header(&src, bytes, size, &h);
    if (rc == TNN_OK)
        rc = check_length(&src, &h, size - h.header_bytes);
    tnn_tensor *t = NULL;
    if (rc == TNN_OK)
        rc = new_tensor(&src, &h, flags, &t);
    if (rc != TNN_OK)
        return rc;
    convert(t->data, bytes + h.header_bytes, h.count, flags);
    *out = t;
    return TNN_OK;
}

/* The file as a stream, if it is a regular file (tnn__open_regular():
 * pipes and devices have no size to check beforehand, and a FIFO
 * without a writer would hang the caller). */
static int open_regular(const struct idx_source *src, FILE **f,
                        uintmax_t *size)
{
    int fd;
    size_t bytes;
    int rc = tnn__open_regular(src->func, src->path, &fd, &bytes);
    if (rc != TNN_OK)
        return rc;
    if (!(*f = fdopen(fd, "rb"))) {
        rc = io_fail(src, "open", errno);
        close(fd);
        return rc;
    }
    *size = bytes;
    return TNN_OK;
}

/* The header, with the length checked against the file's size, so that a
 * header announcing gigabytes is rejected before anything is allocated.
 * Leaves f positioned at the first data byte. */
static int read_header(const struct idx_source *src, FILE *f,
                       uintmax_t file_size, struct idx_header *h)
{
    unsigned char head[IDX_HEADER_MAX];
    size_t got = fread(head, 1, sizeof head, f);
    if (got < sizeof head && ferror(f))
        return io_fail(src, "read", errno);
    int rc = parse_header(src, head, got, h);
    if (rc != TNN_OK)
        return rc;
    rc = check_length(
        src, h, file_size > h->header_bytes ? file_size - h->header_bytes : 0);
    if (rc != TNN_OK)
        return rc;
    if (fseek(f, (long)h->header_bytes, SEEK_SET) != 0)
        return io_fail(src, "seek", errno);
    return TNN_OK;
}

static int read_data(const struct idx_source *src, FILE *f,
                     const struct idx_header *h, int flags, tnn_tensor *t)
{
    unsigned char chunk[IDX_CHUNK];
    size_t done = 0;
    while (done < h->count) {
        size_t want = h->count - done;
        if (want > sizeof chunk)
            want = sizeof chunk;
        size_t got = fread(chunk, 1, want, f);
        convert(t->data + done, chunk, got, flags);
        done += got;
        if (got < want) {
            if (ferror(f))
                return io_fail(src, "read", errno);
            /* The file shrank after its size was checked. */
            return check_length(src, h, done);
        }
    }
    return TNN_OK;
}

int tnn_idx_load(const char *path, int flags, tnn_tensor **out)
{
    int rc = check_args(__func__, flags, out);
    if (rc != TNN_OK)
        return rc;
    if (!path)
        return tnn__fail(TNN_E_INVALID, __func__, "path is NULL");
    const struct idx_source src = {__func__, " in ", path};
    FILE *f = NULL;
    uintmax_t size = 0;
    rc = open_regular(&src, &f, &size);
    if (rc != TNN_OK)
        return rc;
    struct idx_header h;
    tnn_tensor *t = NULL;
    rc = read_header(&src, f, size, &h);
    if (rc == TNN_OK)
        rc = new_tensor(&src, &h, flags, &t);
    if (rc == TNN_OK)
        rc = read_data(&src, f, &h, flags, t);
    /* Nothing was written, so a failing fclose() loses nothing. */
    fclose(f);
    if (rc != TNN_OK) {
        tnn_tensor_free(t);
        return rc;
    }
    *out = t;
    return TNN_OK;
}
