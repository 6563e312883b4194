/*
 * The protocol-buffer wire format, as much as ONNX files need: a reader
 * that walks the fields of one message in place, bounded by its bytes,
 * and a writer of the fields the exporter emits. Used by onnx_read.c and
 * onnx_write.c; docs/onnx.md says why the library reads the wire format
 * itself.
 */
#ifndef TINYNN_PROTOBUF_H
#define TINYNN_PROTOBUF_H

#include "internal.h"

enum tnn__pb_wire {
    TNN__PB_VARINT = 0,
    TNN__PB_FIXED64 = 1,
    TNN__PB_BYTES = 2,
    TNN__PB_FIXED32 = 5
};

/* The fields of one message, from p up to end. A malformed field (a
 * varint longer than 10 bytes, a length past end, a group or an unknown
 * wire type, field number 0) stops the walk and sets bad. */
struct tnn__pb {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
};

/* One field: its number and wire type, and its value: the number for
 * varints and fixed widths, or len bytes at data for length-delimited
 * ones. */
struct tnn__pb_field {
    uint32_t number;
    enum tnn__pb_wire wire;
    uint64_t value;
    const uint8_t *data;
    size_t len;
};

/* data may be NULL when len is 0 (an absent sub-message). */
static inline struct tnn__pb tnn__pb_open(const uint8_t *data, size_t len)
{
    return (struct tnn__pb){data, data ? data + len : data, false};
}

/* The next field into *f: false at the end of the message or when it is
 * malformed (then bad is set). */
bool tnn__pb_next(struct tnn__pb *r, struct tnn__pb_field *f);

/* The elements of a repeated scalar field, packed (one length-delimited
 * field) or not (one field each): call with each occurrence of the field;
 * each element goes to fn, which returns false to stop. False when the
 * field is malformed for kind (TNN__PB_VARINT or TNN__PB_FIXED32 /
 * TNN__PB_FIXED64 elements) or fn stopped. */
typedef bool (*tnn__pb_element_fn)(void *arg, uint64_t value);
bool tnn__pb_elements(const struct tnn__pb_field *f, enum tnn__pb_wire kind,
                      tnn__pb_element_fn fn, void *arg);

/* Bit patterns of the wire's scalars. */
static inline float tnn__pb_float(uint64_t value)
{
    return tnn__word_float((uint32_t)value);
}

/* ---- writing: fields appended to a tnn__writer ---------------------------
 * Failures are the writer's (an allocation): check w->failed at the end. */
void tnn__pb_put_varint(struct tnn__writer *w, uint32_t number, uint64_t v);
void tnn__pb_put_bytes(struct tnn__writer *w, uint32_t number,
                       const void *data, size_t len);
void tnn__pb_put_string(struct tnn__writer *w, uint32_t number, const char *s);
void tnn__pb_put_float(struct tnn__writer *w, uint32_t number, float f);
/* A packed repeated varint field of count values. */
void tnn__pb_put_packed(struct tnn__writer *w, uint32_t number,
                        const int64_t *values, size_t count);
/* A sub-message: the bytes another writer holds (sub is not freed). */
void tnn__pb_put_message(struct tnn__writer *w, uint32_t number,
                         const struct tnn__writer *sub);

#endif /* TINYNN_PROTOBUF_H */
