/*
 * The protocol-buffer wire format (protobuf.h). Every length is checked
 * against the bytes that remain before anything is read or trusted, so a
 * message can be walked straight from untrusted input.
 */
#include <string.h>

#include "protobuf.h"

/* A varint of at most 10 bytes (64 bits); false if it runs past end or
 * longer. */
static bool get_varint(struct tnn__pb *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1)
            return false;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static uint64_t get_fixed(struct tnn__pb *r, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static bool malformed(struct tnn__pb *r)
{
    r->bad = true;
    r->p = r->end;
    return false;
}

bool tnn__pb_next(struct tnn__pb *r, struct tnn__pb_field *f)
{
    if (r->bad || r->p >= r->end)
        return false;
    uint64_t key;
    if (!get_varint(r, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
        return malformed(r);
    f->number = (uint32_t)(key >> 3);
    f->wire = (enum tnn__pb_wire)(key & 7);
    f->data = NULL;
    f->len = 0;
    size_t left = (size_t)(r->end - r->p);
    switch (f->wire) {
    case TNN__PB_VARINT: return get_varint(r, &f->value) || malformed(r);
    case TNN__PB_FIXED64:
        if (left < 8)
            return malformed(r);
        f->value = get_fixed(r, 8);
        return true;
    case TNN__PB_FIXED32:
        if (left < 4)
            return malformed(r);
        f->value = get_fixed(r, 4);
        return true;
    case TNN__PB_BYTES:
        if (!get_varint(r, &f->value) || f->value > (uint64_t)(r->end - r->p))
            return malformed(r);
        f->data = r->p;
        f->len = (size_t)f->value;
        r->p += f->len;
        return true;
    }
    return malformed(r);
}

static size_t fixed_width(enum tnn__pb_wire kind)
{
    return kind == TNN__PB_FIXED32 ? 4 : kind == TNN__PB_FIXED64 ? 8 : 0;
}

bool tnn__pb_elements(const struct tnn__pb_field *f, enum tnn__pb_wire kind,
                      tnn__pb_element_fn fn, void *arg)
{
    if (f->wire == kind)
        return fn(arg, f->value);
    if (f->wire != TNN__PB_BYTES)
        return false;
    struct tnn__pb r = tnn__pb_open(f->data, f->len);
    size_t width = fixed_width(kind);
    if (width && f->len % width)
        return false;
    while (r.p < r.end) {
        uint64_t v;
        if (width)
            v = get_fixed(&r, width);
        else if (!get_varint(&r, &v))
            return false;
        if (!fn(arg, v))
            return false;
    }
    return true;
}

/* ---- writing ------------------------------------------------------------ */

static void put_raw_varint(struct tnn__writer *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    tnn__put_bytes(w, b, n);
}

static void put_key(struct tnn__writer *w, uint32_t number,
                    enum tnn__pb_wire wire)
{
    put_raw_varint(w, (uint64_t)number << 3 | (uint64_t)wire);
}

void tnn__pb_put_varint(struct tnn__writer *w, uint32_t number, uint64_t v)
{
    put_key(w, number, TNN__PB_VARINT);
    put_raw_varint(w, v);
}

void tnn__pb_put_bytes(struct tnn__writer *w, uint32_t number,
                       const void *data, size_t len)
{
    put_key(w, number, TNN__PB_BYTES);
    put_raw_varint(w, len);
    if (len)
        tnn__put_bytes(w, data, len);
}

void tnn__pb_put_string(struct tnn__writer *w, uint32_t number, const char *s)
{
    tnn__pb_put_bytes(w, number, s, strlen(s));
}

void tnn__pb_put_float(struct tnn__writer *w, uint32_t number, float f)
{
    put_key(w, number, TNN__PB_FIXED32);
    tnn__put_f32(w, f);
}

void tnn__pb_put_packed(struct tnn__writer *w, uint32_t number,
                        const int64_t *values, size_t count)
{
    struct tnn__writer packed = {0};
    for (size_t i = 0; i < count; i++)
        put_raw_varint(&packed, (uint64_t)values[i]);
    if (packed.failed)
        w->failed = true;
    else
        tnn__pb_put_bytes(w, number, packed.data, packed.len);
    tnn__free(packed.data);
}

void tnn__pb_put_message(struct tnn__writer *w, uint32_t number,
                         const struct tnn__writer *sub)
{
    if (sub->failed)
        w->failed = true;
    else
        tnn__pb_put_bytes(w, number, sub->data, sub->len);
}
