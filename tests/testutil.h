/*
 * Helpers shared by the Check suites.
 */
#ifndef TINYNN_TESTUTIL_H
#define TINYNN_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
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

/* conv [-> identity, which keeps the convolution apart from what follows]
 * -> ReLU -> 2x2 max pooling at stride 2, appended to m: the stage whose
 * pooling may read the convolution's blocked output. */
static inline void add_conv_relu_pool(tnn_model *m, tnn_layer *conv,
                                      bool apart)
{
    ck_assert_int_eq(tnn_model_add(m, conv), TNN_OK);
    if (apart)
        ck_assert_int_eq(tnn_model_add(m, tnn_identity_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_maxpool2d_new(2, 2)), TNN_OK);
}

/* Free each of a list of tensors (NULL ones included). */
static inline void tensors_free(tnn_tensor *const *tensors, size_t count)
{
    for (size_t i = 0; i < count; i++)
        tnn_tensor_free(tensors[i]);
}
#define TENSORS_FREE(...)                                                     \
    tensors_free((tnn_tensor *const[]){__VA_ARGS__},                          \
                 sizeof((tnn_tensor *const[]){__VA_ARGS__}) /                 \
                     sizeof(tnn_tensor *))

/* For sweep builders: add layer to m unless rc is already a failure or
 * the layer's allocation failed (NULL); a layer not added is freed. */
static inline int sweep_add(tnn_model *m, tnn_layer *layer, int rc)
{
    if (rc != TNN_OK || !layer) {
        tnn_layer_free(layer);
        return rc != TNN_OK ? rc : TNN_E_NOMEM;
    }
    return tnn_model_add(m, layer);
}

/* Build a model (build returns NULL, having freed what it made, when an
 * allocation fails), train it one epoch on x, y in batches of batch rows,
 * save it with its optimizer and load it, with the n-th allocation
 * failing, for n = 1, 2, ... until a run needs fewer: every failing run
 * returns TNN_E_NOMEM and leaks nothing, the last succeeds. */
static inline void sweep_model_allocations(tnn_model *(*build)(void),
                                           const tnn_tensor *x,
                                           const tnn_tensor *y, size_t batch)
{
    static unsigned char image[1 << 16];
    for (long n = 1;; n++) {
        struct counting_allocator a;
        counting_install(&a, n);
        tnn_model *m = build(), *copy = NULL;
        int rc = m ? TNN_OK : TNN_E_NOMEM;
        if (rc == TNN_OK)
            rc = tnn_model_fit(m, x, y, NULL, NULL, 1, batch, 1, NULL, NULL);
        size_t size = 0;
        if (rc == TNN_OK)
            rc = tnn_model_save_buffer(m, TNN_SAVE_OPTIMIZER, image,
                                       sizeof image, &size);
        if (rc == TNN_OK)
            rc = tnn_model_load_buffer(image, size, &copy);
        tnn_model_free(copy);
        tnn_model_free(m);
        int failed = a.calls >= n;
        long live = a.live;
        counting_remove();
        ck_assert_msg(live == 0,
                      "%ld blocks leaked with allocation %ld failing", live,
                      n);
        if (!failed) {
            ck_assert_msg(rc == TNN_OK, "%s", tnn_last_error());
            return;
        }
        ck_assert_msg(rc == TNN_E_NOMEM, "allocation %ld failing gave %d: %s",
                      n, rc, tnn_last_error());
    }
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
