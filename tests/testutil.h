/*
 * Helpers shared by the Check suites.
 */
#ifndef TINYNN_TESTUTIL_H
#define TINYNN_TESTUTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tinynn.h"

/* An allocator that counts live blocks and can fail the N-th request. */
struct counting_allocator {
    long calls;   /* malloc + realloc requests so far */
    long live;    /* blocks allocated and not yet freed */
    long fail_at; /* fail request number fail_at (1-based); 0 = never */
};

static inline void *counting_malloc(size_t size, void *ctx)
{
    struct counting_allocator *a = ctx;
    if (++a->calls == a->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        a->live++;
    return p;
}

static inline void *counting_realloc(void *ptr, size_t size, void *ctx)
{
    struct counting_allocator *a = ctx;
    if (++a->calls == a->fail_at)
        return NULL;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        a->live++;
    return p;
}

static inline void counting_free(void *ptr, void *ctx)
{
    struct counting_allocator *a = ctx;
    if (ptr)
        a->live--;
    free(ptr);
}

static inline void counting_install(struct counting_allocator *a, long fail_at)
{
    a->calls = 0;
    a->live = 0;
    a->fail_at = fail_at;
    ck_assert_int_eq(
        tnn_set_allocator(counting_malloc, counting_realloc, counting_free, a),
        TNN_OK);
}

static inline void counting_remove(void)
{
    ck_assert_int_eq(tnn_set_allocator(NULL, NULL, NULL, NULL), TNN_OK);
}

/* The last call failed with code and left a message naming func. */
#define assert_failed_with(code, func)                                        \
    do {                                                                      \
        ck_assert_int_eq(tnn_last_error_code(), (code));                      \
        ck_assert_msg(strstr(tnn_last_error(), (func)) != NULL,               \
                      "message \"%s\" does not name %s", tnn_last_error(),    \
                      (func));                                                \
    } while (0)

/* Every suite, in the order they run: X(name) stands for name_suite(),
 * which tests/test_<name>.c defines. Adding a suite is one line here. */
#define TNN_TEST_SUITES(X)                                                    \
    X(runtime)                                                                \
    X(rng)                                                                    \
    X(tensor)                                                                 \
    X(layers)                                                                 \
    X(loss)                                                                   \
    X(optim)                                                                  \
    X(model)                                                                  \
    X(model_io)                                                               \
    X(threads)                                                                \
    X(misuse)                                                                 \
    X(idx)                                                                    \
    X(augment)                                                                \
    X(backends)                                                               \
    X(replicas)                                                               \
    X(metrics)                                                                \
    X(data)                                                                   \
    X(callbacks)                                                              \
    X(surgery)                                                                \
    X(onnx)                                                                   \
    X(seq)                                                                    \
    X(attention)                                                              \
    X(tokens)

#define TNN_DECLARE_SUITE(name) Suite *name##_suite(void);
TNN_TEST_SUITES(TNN_DECLARE_SUITE)
#undef TNN_DECLARE_SUITE

#endif
