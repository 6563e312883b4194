/*
 * Declarations shared between the library's modules. Nothing here is part
 * of the public API or ABI.
 */
#ifndef TINYNN_INTERNAL_H
#define TINYNN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinynn.h"

#if defined(__GNUC__)
#define TNN_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TNN_PRINTF_LIKE(fmt, args)
#endif

/* error.c: record code and a formatted message for tnn_last_error(); return
 * code so that callers can write `return tnn__fail(...)`. */
int tnn__fail(int code, const char *func, const char *fmt, ...)
    TNN_PRINTF_LIKE(3, 4);

/* alloc.c: the hookable allocator. Every allocation goes through these. */
void *tnn__malloc(size_t size);
void *tnn__realloc(void *ptr, size_t size);
void tnn__free(void *ptr);
/* count * size bytes, zeroed; NULL on overflow or failure. */
void *tnn__calloc(size_t count, size_t size);

/* Overflow-checked a * b; false if it does not fit in size_t. */
static inline bool tnn__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* tensor.c: the layout every module relies on. */
struct tnn_tensor {
    int ndim;
    size_t dims[TNN_MAX_DIMS];
    size_t size;
    float *data;
};

/* Check a tensor argument and its shape in one place, so messages agree.
 * Returns TNN_OK or the failure recorded with func's name. */
int tnn__check_tensor(const char *func, const char *name,
                      const tnn_tensor *t);

#endif /* TINYNN_INTERNAL_H */
