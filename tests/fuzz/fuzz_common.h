/*
 * What the fuzz targets share: a CHECK that aborts with the last error,
 * and an allocator that can fail one chosen allocation (alloc_count,
 * fail_at), so that allocation failures reproduce from the input alone.
 */
#ifndef TINYNN_FUZZ_COMMON_H
#define TINYNN_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "tinynn.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            check_failed(#cond, __FILE__, __LINE__);                         \
    } while (0)

static void check_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: check failed: %s\nlast error: %s\n", file, line,
            what, tnn_last_error());
    abort();
}

static unsigned long alloc_count; /* allocations since the last reset */
static unsigned long fail_at;     /* number of the one to fail; 0: none */

static inline void *fuzz_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return ++alloc_count == fail_at ? NULL : malloc(size);
}

static inline void *fuzz_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ctx;
    return ++alloc_count == fail_at ? NULL : realloc(ptr, size);
}

static inline void fuzz_free(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

#endif
