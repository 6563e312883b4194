/*
 * Bytes in files: fixed-width integers in a stated byte order, whatever
 * the host's, and a growing output buffer and a bounded input cursor that
 * remember failure, so that a writer or parser checks once at its end
 * instead of after every field.
 */
#include <string.h>

#include "internal.h"

uint32_t tnn__load_le32(const uint8_t *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 |
           (uint32_t)at[3] << 24;
}

uint64_t tnn__load_le64(const uint8_t *at)
{
    return tnn__load_le32(at) | (uint64_t)tnn__load_le32(at + 4) << 32;
}

uint32_t tnn__load_be32(const uint8_t *at)
{
    return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 |
           (uint32_t)at[2] << 8 | (uint32_t)at[3];
}

void tnn__store_le32(uint8_t *at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        at[i] = (uint8_t)(v >> (8 * i));
}

/* ---- writing ---------------------------------------------------------- */

void tnn__put_bytes(struct tnn__writer *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        uint8_t *grown = cap - w->len >= n ? tnn__realloc(w->data, cap) : NULL;
        if (!grown) {
            w->failed = true;
            return;
        }
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

void tnn__put_u32(struct tnn__writer *w, uint32_t v)
{
    uint8_t b[4];
    tnn__store_le32(b, v);
    tnn__put_bytes(w, b, 4);
}

void tnn__put_u64(struct tnn__writer *w, uint64_t v)
{
    tnn__put_u32(w, (uint32_t)v);
    tnn__put_u32(w, (uint32_t)(v >> 32));
}

void tnn__put_f32(struct tnn__writer *w, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    tnn__put_u32(w, v);
}

void tnn__put_f64(struct tnn__writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    tnn__put_u64(w, v);
}

/* ---- reading ---------------------------------------------------------- */

const uint8_t *tnn__get_bytes(struct tnn__reader *r, size_t n)
{
    if (r->short_read || n > r->len - r->pos) {
        r->short_read = true;
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

uint32_t tnn__get_u32(struct tnn__reader *r)
{
    const uint8_t *at = tnn__get_bytes(r, 4);
    return at ? tnn__load_le32(at) : 0;
}

uint64_t tnn__get_u64(struct tnn__reader *r)
{
    uint64_t lo = tnn__get_u32(r);
    return lo | (uint64_t)tnn__get_u32(r) << 32;
}

float tnn__get_f32(struct tnn__reader *r)
{
    uint32_t v = tnn__get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

double tnn__get_f64(struct tnn__reader *r)
{
    uint64_t v = tnn__get_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

bool tnn__reader_done(const struct tnn__reader *r)
{
    return !r->short_read && r->pos == r->len;
}

int tnn__writer_copy_out(const char *func, struct tnn__writer *w, void *buf,
                         size_t size, size_t *needed)
{
    int rc = TNN_OK;
    if (needed)
        *needed = w->len;
    if (buf && size < w->len)
        rc = tnn__fail(TNN_E_SHAPE, func,
                       "size is %zu; the model needs %zu bytes", size, w->len);
    else if (buf)
        memcpy(buf, w->data, w->len);
    tnn__free(w->data);
    *w = (struct tnn__writer){0};
    return rc;
}
