/*
 * The two backends of conv2d, dense and the attention's projections: built
 * with oneDNN, layers made while TNN_BACKEND=blas is set take the CBLAS
 * path, the others oneDNN's. Over every kind of convolution geometry,
 * every kind of dense shape and attention layers of several shapes the
 * two agree in the forward pass and every gradient; model files do
 * not depend on the backend; training allocates nothing once every batch
 * size has been seen; the caller's OpenMP thread count and floating-point
 * mode come back unchanged. Without oneDNN all layers take the CBLAS path
 * and the comparisons hold trivially.
 */
#define _GNU_SOURCE /* setenv(), RTLD_DEFAULT */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "testutil.h"

#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

/* ---- making layers on one backend ----------------------------------------
 */

struct env_saved {
    char value[32];
    bool was_set;
};

static struct env_saved backend_set(const char *backend)
{
    struct env_saved s = {{0}, false};
    const char *old = getenv("TNN_BACKEND");
    if (old) {
        snprintf(s.value, sizeof s.value, "%s", old);
        s.was_set = true;
    }
    ck_assert_int_eq(setenv("TNN_BACKEND", backend, 1), 0);
    return s;
}

/* The environment as it was: the suite also runs in one process. */
static void backend_restore(const struct env_saved *s)
{
    if (s->was_set)
        setenv("TNN_BACKEND", s->value, 1);
    else
        unsetenv("TNN_BACKEND");
}

struct geometry {
    size_t cin, cout, kh, kw, stride;
    int padding;
    size_t h, w;
};

static tnn_layer *conv_on(const char *backend, const struct geometry *g)
{
    struct env_saved saved = backend_set(backend);
    tnn_layer *conv =
        tnn_conv2d_new(g->cin, g->cout, g->kh, g->kw, g->stride, g->padding);
    backend_restore(&saved);
    ck_assert_ptr_nonnull(conv);
    return conv;
}

/* ---- agreement -----------------------------------------------------------
 * Each value is a float sum of at most a few hundred products (K = in
 * channels x kernel area for the forward pass and the input gradient,
 * images x output positions for the weight gradient), which the two
 * backends add in different orders: each result is off the exact sum by
 * about sqrt(terms) x 2^-24 of the terms' magnitudes, typically, and by
 * terms x 2^-24 at worst. With inputs in [-1, 1] the largest result in a
 * tensor is of the order of the terms' sum of magnitudes, so both must
 * agree within 1e-5 of the tensor's largest magnitude (at least 1): some
 * 40 times the typical error, and a bug (a wrong padding row, a lost
 * image) moves values by far more. */
#define RELATIVE_TOLERANCE 1e-5

static void assert_agree(const char *what, int shape, size_t n,
                         const float *got, const float *want, size_t count)
{
    double scale = 1.0;
    for (size_t i = 0; i < count; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(fabs((double)got[i] - (double)want[i]) <=
                          RELATIVE_TOLERANCE * scale,
                      "shape %d, %zu rows, %s[%zu]: oneDNN %.9g, CBLAS "
                      "%.9g (scale %g)",
                      shape, n, what, i, (double)got[i], (double)want[i],
                      scale);
}

static const struct geometry geometries[] = {
    /* 1x1 kernels, one and several channels */
    {1, 3, 1, 1, 1, TNN_PADDING_VALID, 5, 6},
    {4, 2, 1, 1, 2, TNN_PADDING_VALID, 5, 5},
    /* 3x3 at strides 1, 2 (the last row and column unread), 3 */
    {1, 4, 3, 3, 1, TNN_PADDING_VALID, 7, 6},
    {3, 5, 3, 3, 2, TNN_PADDING_VALID, 8, 9},
    {2, 3, 3, 3, 3, TNN_PADDING_VALID, 10, 8},
    /* same padding: even totals, odd total of the rows (the odd pixel
     * after them), 5x3 with an odd total of the columns, a 2x2 kernel
     * (odd total at stride 1) */
    {2, 3, 3, 3, 1, TNN_PADDING_SAME, 6, 7},
    {3, 2, 3, 3, 2, TNN_PADDING_SAME, 8, 7},
    {2, 4, 5, 3, 1, TNN_PADDING_SAME, 6, 5},
    {2, 4, 5, 3, 2, TNN_PADDING_SAME, 9, 6},
    {1, 2, 2, 2, 1, TNN_PADDING_SAME, 5, 5},
    /* explicit padding 0, 1, 2 */
    {3, 3, 5, 3, 3, 0, 11, 10},
    {2, 3, 3, 3, 1, 1, 6, 6},
    {2, 2, 5, 3, 2, 2, 7, 6},
    /* kernels as large as the (padded) input */
    {2, 3, 7, 6, 1, TNN_PADDING_VALID, 7, 6},
    {1, 2, 5, 5, 1, 1, 3, 3},
    /* the largest stride */
    {2, 2, 2, 3, 4096, TNN_PADDING_VALID, 5, 6},
    {3, 2, 3, 3, 4096, TNN_PADDING_SAME, 5, 6},
};
#define GEOMETRIES (sizeof geometries / sizeof *geometries)

struct pair {
    tnn_layer *blas, *dnnl;
    size_t in, out; /* values per image */
};

/* Output side along one axis, as the header defines it. */
static size_t out_side(size_t in, size_t k, size_t stride, int padding)
{
    if (padding == TNN_PADDING_SAME)
        return (in + stride - 1) / stride;
    size_t pad = padding == TNN_PADDING_VALID ? 0 : (size_t)padding;
    return (in + 2 * pad - k) / stride + 1;
}

/* One training forward and backward of n rows (x of ndim dimensions, the
 * first n) on both layers, from the same inputs and the same gradients to
 * add to. */
static void compare_step(struct pair *p, int shape, int ndim,
                         const size_t *dims, bool din, tnn_rng *rng)
{
    const size_t n = dims[0];
    tnn_tensor *x = tnn_tensor_new(ndim, dims);
    tnn_tensor *y[2] = {tnn_tensor_new_2d(n, p->out),
                        tnn_tensor_new_2d(n, p->out)};
    tnn_tensor *dy = tnn_tensor_new_2d(n, p->out);
    tnn_tensor *dx[2] = {tnn_tensor_new(ndim, dims),
                         tnn_tensor_new(ndim, dims)};
    tnn_tensor_rand_uniform(x, rng, -1, 1);
    tnn_tensor_rand_uniform(dy, rng, -1, 1);
    tnn_layer *layers[2] = {p->dnnl, p->blas};
    const int params = tnn_layer_num_params(p->blas);
    for (int i = 0; i < params; i++) {
        tnn_tensor_rand_uniform(tnn_layer_grad(layers[1], i), rng, -1, 1);
        ck_assert_int_eq(tnn_tensor_copy_from(
                             tnn_layer_grad(layers[0], i),
                             tnn_tensor_cdata(tnn_layer_grad(layers[1], i)),
                             tnn_tensor_size(tnn_layer_grad(layers[1], i))),
                         TNN_OK);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(
            tnn_layer_forward(layers[i], x, y[i], TNN_MODE_TRAIN, NULL),
            TNN_OK);
        ck_assert_int_eq(
            tnn_layer_backward(layers[i], x, y[i], dy, din ? dx[i] : NULL),
            TNN_OK);
    }
    assert_agree("out", shape, n, tnn_tensor_cdata(y[0]),
                 tnn_tensor_cdata(y[1]), n * p->out);
    for (int i = 0; i < params; i++) {
        char name[32];
        snprintf(name, sizeof name, "grad of parameter %d", i);
        assert_agree(name, shape, n,
                     tnn_tensor_cdata(tnn_layer_grad(p->dnnl, i)),
                     tnn_tensor_cdata(tnn_layer_grad(p->blas, i)),
                     tnn_tensor_size(tnn_layer_grad(p->blas, i)));
    }
    if (din)
        assert_agree("input grad", shape, n, tnn_tensor_cdata(dx[0]),
                     tnn_tensor_cdata(dx[1]), n * p->in);
    tnn_tensor_free(x);
    tnn_tensor_free(dy);
    for (int i = 0; i < 2; i++) {
        tnn_tensor_free(y[i]);
        tnn_tensor_free(dx[i]);
    }
}

/* Random parameters on the CBLAS layer (biases, the vectors, too), copied
 * to the other. */
static void same_params(struct pair *p, tnn_rng *rng)
{
    tnn_layer_init(p->blas, rng);
    const int params = tnn_layer_num_params(p->blas);
    for (int i = 0; i < params; i++)
        if (tnn_tensor_ndim(tnn_layer_param(p->blas, i)) == 1)
            tnn_tensor_rand_uniform(tnn_layer_param(p->blas, i), rng, -1, 1);
    for (int i = 0; i < params; i++) {
        const tnn_tensor *from = tnn_layer_param(p->blas, i);
        ck_assert_int_eq(tnn_tensor_copy_from(tnn_layer_param(p->dnnl, i),
                                              tnn_tensor_cdata(from),
                                              tnn_tensor_size(from)),
                         TNN_OK);
    }
}

/* Batch sizes 7, 3, 1 and back, each on the same pair of layers (so the
 * backends meet a size change between calls), with and without the input
 * gradient; the gradients are added to random values. */
START_TEST(backends_agree_on_every_geometry)
{
    tnn_rng *rng = tnn_rng_new(77);
    const size_t batches[] = {7, 3, 1, 7, 3, 1};
    for (int gi = 0; gi < (int)GEOMETRIES; gi++) {
        const struct geometry *g = &geometries[gi];
        struct pair p = {
            conv_on("blas", g), conv_on("dnnl", g), g->cin * g->h * g->w,
            g->cout * out_side(g->h, g->kh, g->stride, g->padding) *
                out_side(g->w, g->kw, g->stride, g->padding)};
        same_params(&p, rng);
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
            size_t dims[4] = {batches[b], g->cin, g->h, g->w};
            compare_step(&p, gi, 4, dims, b % 4 < 2, rng);
        }
        tnn_layer_free(p.blas);
        tnn_layer_free(p.dnnl);
    }
    tnn_rng_free(rng);
}
END_TEST

static tnn_layer *dense_on(const char *backend, size_t in, size_t out)
{
    struct env_saved saved = backend_set(backend);
    tnn_layer *dense = tnn_dense_new(in, out);
    backend_restore(&saved);
    ck_assert_ptr_nonnull(dense);
    return dense;
}

/* Dense shapes (inputs, outputs): single values, a single input or output,
 * the MNIST MLP's layers and shapes no kernel's blocking divides. The
 * batch sizes come back after more than three others, so that oneDNN's
 * kept products are made again. */
START_TEST(backends_agree_on_dense_shapes)
{
    static const size_t shapes[][2] = {{1, 1},   {1, 7},     {9, 1},
                                       {3, 4},   {784, 512}, {512, 10},
                                       {37, 67}, {130, 300}, {17, 1000}};
    const size_t batches[] = {7, 3, 1, 64, 5, 7, 3, 1};
    tnn_rng *rng = tnn_rng_new(78);
    for (int si = 0; si < (int)(sizeof shapes / sizeof *shapes); si++) {
        size_t in = shapes[si][0], out = shapes[si][1];
        struct pair p = {dense_on("blas", in, out), dense_on("dnnl", in, out),
                         in, out};
        same_params(&p, rng);
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
            size_t dims[2] = {batches[b], in};
            compare_step(&p, si, 2, dims, b % 3 < 2, rng);
        }
        tnn_layer_free(p.blas);
        tnn_layer_free(p.dnnl);
    }
    tnn_rng_free(rng);
}
END_TEST

static tnn_layer *attention_on(const char *backend, size_t width, size_t heads,
                               int causal)
{
    struct env_saved saved = backend_set(backend);
    tnn_layer *layer = tnn_attention_new(width, heads, causal, 0.0f);
    backend_restore(&saved);
    ck_assert_ptr_nonnull(layer);
    return layer;
}

/* The attention's two projections (x W^T + b with PyTorch's (out, in)
 * weights) on both backends: widths of one value, odd widths, char_lm's
 * 64 with 4 heads, causal and not, over steps and batch sizes that come
 * back after others, with and without the input gradient. */
START_TEST(backends_agree_on_attention)
{
    static const size_t shapes[][3] = {
        {1, 1, 1}, {6, 2, 5}, {9, 3, 1}, {64, 4, 32}, {20, 5, 7}};
    const size_t batches[] = {3, 1, 8, 2, 5, 3};
    tnn_rng *rng = tnn_rng_new(79);
    for (int si = 0; si < (int)(sizeof shapes / sizeof *shapes); si++) {
        size_t w = shapes[si][0], heads = shapes[si][1], time = shapes[si][2];
        int causal = si % 2;
        struct pair p = {attention_on("blas", w, heads, causal),
                         attention_on("dnnl", w, heads, causal), time * w,
                         time * w};
        same_params(&p, rng);
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
            size_t dims[3] = {batches[b], time, w};
            compare_step(&p, si, 3, dims, b % 3 < 2, rng);
        }
        tnn_layer_free(p.blas);
        tnn_layer_free(p.dnnl);
    }
    tnn_rng_free(rng);
}
END_TEST

/* ---- through a model -----------------------------------------------------
 */

/* Image 2x9x9 -> conv 3x3 same -> conv 3x3 stride 2 (frozen: its
 * gradients are overwritten, not added to) -> dense 2, SGD. */
static tnn_model *small_convnet(const char *backend, bool freeze)
{
    struct env_saved saved = backend_set(backend);
    tnn_model *m = tnn_model_new_image(2, 9, 9);
    ck_assert_int_eq(tnn_model_set_seed(m, 5), TNN_OK);
    ck_assert_int_eq(
        tnn_model_add(m, tnn_conv2d_new(2, 3, 3, 3, 1, TNN_PADDING_SAME)),
        TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_relu_new()), TNN_OK);
    tnn_layer *second = tnn_conv2d_new(3, 4, 3, 3, 2, TNN_PADDING_VALID);
    ck_assert_int_eq(tnn_model_add(m, second), TNN_OK);
    if (freeze)
        ck_assert_int_eq(tnn_layer_set_trainable(second, 0), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(64, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.05f)), TNN_OK);
    backend_restore(&saved);
    return m;
}

static void images(size_t n, uint64_t seed, tnn_tensor **x, tnn_tensor **y)
{
    tnn_rng *rng = tnn_rng_new(seed);
    size_t dims[4] = {n, 2, 9, 9};
    *x = tnn_tensor_new(4, dims);
    *y = tnn_tensor_new_2d(n, 2);
    tnn_tensor_rand_uniform(*x, rng, -1, 1);
    tnn_tensor_rand_uniform(*y, rng, -1, 1);
    tnn_rng_free(rng);
}

/* Two steps of m[0] (oneDNN) and m[1] (CBLAS) on the same batch, the
 * frozen layer's gradients first filled with garbage that a frozen layer
 * writes over; then its gradients, and the trained first layer's weights,
 * agree. */
static void frozen_models_agree(tnn_model *m[2], size_t frozen,
                                const tnn_tensor *x, const tnn_tensor *y,
                                size_t rows)
{
    tnn_layer *want_layer = tnn_model_layer(m[1], frozen);
    const int params = tnn_layer_num_params(want_layer);
    for (int i = 0; i < 2; i++) {
        tnn_layer *layer = tnn_model_layer(m[i], frozen);
        for (int k = 0; k < params; k++)
            tnn_tensor_fill(tnn_layer_grad(layer, k), k % 2 ? -1e3f : 1e3f);
        for (int step = 0; step < 2; step++)
            ck_assert_int_eq(tnn_model_train_batch(m[i], x, y, NULL), TNN_OK);
    }
    for (int k = 0; k < params; k++) {
        const tnn_tensor *want = tnn_layer_grad(want_layer, k);
        assert_agree(
            "frozen grad", k, rows,
            tnn_tensor_cdata(tnn_layer_grad(tnn_model_layer(m[0], frozen), k)),
            tnn_tensor_cdata(want), tnn_tensor_size(want));
        ck_assert_float_lt(fabsf(tnn_tensor_cdata(want)[0]), 1e2f);
    }
    const tnn_tensor *want = tnn_layer_param(tnn_model_layer(m[1], 0), 0);
    assert_agree(
        "trained weights", -1, rows,
        tnn_tensor_cdata(tnn_layer_param(tnn_model_layer(m[0], 0), 0)),
        tnn_tensor_cdata(want), tnn_tensor_size(want));
}

/* A frozen layer's gradients are overwritten at each step (accumulate
 * off): from garbage, both backends give the same. */
START_TEST(frozen_layer_gradients_agree)
{
    tnn_tensor *x, *y;
    images(6, 3, &x, &y);
    tnn_model *m[2] = {small_convnet("dnnl", true),
                       small_convnet("blas", true)};
    frozen_models_agree(m, 2, x, y, 6);
    tnn_model_free(m[0]);
    tnn_model_free(m[1]);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* (5 steps, 6 features) -> dense 6 on each step -> causal attention, 2
 * heads (frozen) -> flatten -> dense 2, SGD. */
static tnn_model *small_attention_model(const char *backend)
{
    struct env_saved saved = backend_set(backend);
    tnn_model *m = tnn_model_new_sequence(5, 6);
    ck_assert_int_eq(tnn_model_set_seed(m, 7), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(6, 6)), TNN_OK);
    tnn_layer *attention = tnn_attention_new(6, 2, 1, 0.0f);
    ck_assert_int_eq(tnn_model_add(m, attention), TNN_OK);
    ck_assert_int_eq(tnn_layer_set_trainable(attention, 0), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(30, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.05f)), TNN_OK);
    backend_restore(&saved);
    return m;
}

/* The same for a frozen attention layer, whose projections' weight
 * gradients are written over (oneDNN's product without the sum). */
START_TEST(frozen_attention_gradients_agree)
{
    tnn_rng *rng = tnn_rng_new(11);
    tnn_tensor *x = tnn_tensor_new(3, (size_t[]){4, 5, 6});
    tnn_tensor *y = tnn_tensor_new_2d(4, 2);
    tnn_tensor_rand_uniform(x, rng, -1, 1);
    tnn_tensor_rand_uniform(y, rng, -1, 1);
    tnn_model *m[2] = {small_attention_model("dnnl"),
                       small_attention_model("blas")};
    frozen_models_agree(m, 1, x, y, 4);
    tnn_model_free(m[0]);
    tnn_model_free(m[1]);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
}
END_TEST

static void *save(const tnn_model *m, size_t *size)
{
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, NULL, 0, size), TNN_OK);
    void *image = malloc(*size);
    ck_assert_ptr_nonnull(image);
    ck_assert_int_eq(tnn_model_save_buffer(m, 0, image, *size, NULL), TNN_OK);
    return image;
}

static tnn_model *load(const char *backend, const void *image, size_t size)
{
    struct env_saved saved = backend_set(backend);
    tnn_model *m = NULL;
    ck_assert_int_eq(tnn_model_load_buffer(image, size, &m), TNN_OK);
    backend_restore(&saved);
    return m;
}

/* A model trained on one backend saves the same file whatever backend
 * loads it again, and predicts the same on the other backend (within
 * float tolerance) and on its own (bit for bit). */
START_TEST(model_files_do_not_depend_on_the_backend)
{
    const char *backends[2] = {"dnnl", "blas"};
    tnn_tensor *x, *y;
    images(10, 8, &x, &y);
    for (int b = 0; b < 2; b++) {
        tnn_model *trained = small_convnet(backends[b], false);
        ck_assert_int_eq(
            tnn_model_fit(trained, x, y, NULL, NULL, 2, 4, 1, NULL, NULL),
            TNN_OK);
        size_t size, again_size;
        void *image = save(trained, &size);
        tnn_tensor *want = tnn_tensor_new_2d(10, 2);
        ck_assert_int_eq(tnn_model_predict(trained, x, want), TNN_OK);
        for (int other = 0; other < 2; other++) {
            tnn_model *loaded = load(backends[other], image, size);
            void *again = save(loaded, &again_size);
            ck_assert_uint_eq(again_size, size);
            ck_assert_mem_eq(again, image, size);
            tnn_tensor *got = tnn_tensor_new_2d(10, 2);
            ck_assert_int_eq(tnn_model_predict(loaded, x, got), TNN_OK);
            if (other == b)
                ck_assert_mem_eq(tnn_tensor_cdata(got), tnn_tensor_cdata(want),
                                 20 * sizeof(float));
            else
                assert_agree("prediction", -1, 10, tnn_tensor_cdata(got),
                             tnn_tensor_cdata(want), 20);
            free(again);
            tnn_tensor_free(got);
            tnn_model_free(loaded);
        }
        free(image);
        tnn_tensor_free(want);
        tnn_model_free(trained);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Once the training batch, the last partial batch and the validation
 * chunks have each been seen, epochs allocate nothing but fit's own
 * permutation. */
START_TEST(convnet_steady_state_allocates_nothing)
{
    tnn_tensor *x, *y, *vx, *vy;
    images(37, 4, &x, &y);
    images(11, 6, &vx, &vy);
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_model *m = small_convnet("dnnl", false);
    ck_assert_int_eq(tnn_model_fit(m, x, y, vx, vy, 1, 8, 1, NULL, NULL),
                     TNN_OK);
    long after_first = a.calls;
    ck_assert_int_eq(tnn_model_fit(m, x, y, vx, vy, 3, 8, 1, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(a.calls, after_first + 1);
    tnn_model_free(m);
    ck_assert_int_eq(a.live, 0);
    counting_remove();
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(vx);
    tnn_tensor_free(vy);
}
END_TEST

/* Every allocation failure while building and training a convnet (a
 * convolution and a dense layer) is reported as TNN_E_NOMEM, and nothing
 * leaks. */
START_TEST(convnet_allocation_failures)
{
    tnn_tensor *x, *y;
    images(5, 2, &x, &y);
    struct counting_allocator a;
    for (long n = 1;; n++) {
        counting_install(&a, n);
        tnn_model *m = tnn_model_new_image(2, 9, 9);
        int rc = m ? TNN_OK : TNN_E_NOMEM;
        tnn_layer *conv =
            rc == TNN_OK ? tnn_conv2d_new(2, 3, 3, 3, 2, 1) : NULL;
        if (rc == TNN_OK)
            rc = conv ? tnn_model_add(m, conv) : TNN_E_NOMEM;
        tnn_layer *flatten = rc == TNN_OK ? tnn_flatten_new() : NULL;
        if (rc == TNN_OK)
            rc = flatten ? tnn_model_add(m, flatten) : TNN_E_NOMEM;
        tnn_layer *dense = rc == TNN_OK ? tnn_dense_new(75, 4) : NULL;
        if (rc == TNN_OK)
            rc = dense ? tnn_model_add(m, dense) : TNN_E_NOMEM;
        if (rc == TNN_OK)
            rc = tnn_model_set_optim(m, tnn_adam_new(0.01f));
        if (rc == TNN_OK && !tnn_model_optim(m))
            rc = TNN_E_NOMEM;
        tnn_tensor *out = tnn_tensor_new_2d(5, 4);
        if (rc == TNN_OK)
            rc = out ? tnn_model_train_batch(m, x, out, NULL) : TNN_E_NOMEM;
        tnn_tensor_free(out);
        tnn_model_free(m);
        long calls = a.calls;
        ck_assert_int_eq(a.live, 0);
        counting_remove();
        if (calls < n) {
            ck_assert_int_eq(rc, TNN_OK);
            break;
        }
        ck_assert_msg(rc == TNN_E_NOMEM, "failing allocation %ld gave %d", n,
                      rc);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* ---- what the caller keeps ------------------------------------------------
 */

/* oneDNN's OpenMP thread count is the calling thread's: training on 2
 * threads gives the caller's own back. Found at run time (the tests do not
 * link libgomp themselves); absent without oneDNN. */
START_TEST(caller_openmp_threads_unchanged)
{
    int (*get)(void);
    void (*set)(int);
    /* POSIX's way round ISO C's ban on object to function pointer casts. */
    *(void **)&get = dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    *(void **)&set = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (!get || !set)
        return;
    const int saved = get(), saved_threads = tnn_get_num_threads();
    set(3);
    ck_assert_int_eq(tnn_set_num_threads(2), TNN_OK);
    tnn_tensor *x, *y;
    images(4, 1, &x, &y);
    tnn_model *m = small_convnet("dnnl", false);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    ck_assert_int_eq(get(), 3);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    set(saved);
    ck_assert_int_eq(tnn_set_num_threads(saved_threads), TNN_OK);
}
END_TEST

START_TEST(caller_fp_mode_unchanged)
{
#ifdef HAVE_MXCSR
    const unsigned saved = _mm_getcsr();
    const int saved_threads = tnn_get_num_threads();
    const unsigned modes[3] = {saved & ~0x8040u, saved | 0x8040u,
                               (saved & ~0x6000u) | 0x6000u};
    tnn_tensor *x, *y;
    images(4, 1, &x, &y);
    for (int i = 0; i < 3; i++)
        for (int threads = 1; threads <= 2; threads++) {
            ck_assert_int_eq(tnn_set_num_threads(threads), TNN_OK);
            tnn_model *m = small_convnet("dnnl", false);
            _mm_setcsr(modes[i]);
            unsigned before = _mm_getcsr();
            int rc = tnn_model_train_batch(m, x, y, NULL);
            unsigned after = _mm_getcsr();
            _mm_setcsr(saved);
            ck_assert_int_eq(rc, TNN_OK);
            /* The sticky exception flags (bits 0-5) may be raised. */
            ck_assert_uint_eq(after & ~0x3fu, before & ~0x3fu);
            tnn_model_free(m);
        }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    ck_assert_int_eq(tnn_set_num_threads(saved_threads), TNN_OK);
#endif
}
END_TEST

/* conv 3x3 1 -> 16 [-> identity] -> ReLU -> 2x2 max pooling -> flatten ->
 * dense 2, on 1x8x8 images; trained one step on 4 of them. */
static tnn_model *blocked_route_model(bool apart)
{
    tnn_model *m = tnn_model_new_image(1, 8, 8);
    add_conv_relu_pool(m, tnn_conv2d_new(1, 16, 3, 3, 1, TNN_PADDING_VALID),
                       apart);
    ck_assert_int_eq(tnn_model_add(m, tnn_flatten_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(16 * 3 * 3, 2)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    size_t dims[4] = {4, 1, 8, 8};
    tnn_tensor *x = tnn_tensor_new(4, dims), *y = tnn_tensor_new_2d(4, 2);
    tnn_rng *rng = tnn_rng_new(3);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_rng_free(rng);
    return m;
}

/* tnn_layer_backward() of the pooling after the model's step. */
static int pooling_backward(tnn_model *m, size_t pool)
{
    size_t in_dims[4] = {4, 16, 6, 6}, out_dims[4] = {4, 16, 3, 3};
    tnn_tensor *in = tnn_tensor_new(4, in_dims),
               *din = tnn_tensor_new(4, in_dims);
    tnn_tensor *out = tnn_tensor_new(4, out_dims);
    tnn_tensor *dout = tnn_tensor_new(4, out_dims);
    ck_assert_ptr_nonnull(dout);
    int rc = tnn_layer_backward(tnn_model_layer(m, pool), in, out, dout, din);
    tnn_tensor_free(in);
    tnn_tensor_free(din);
    tnn_tensor_free(out);
    tnn_tensor_free(dout);
    return rc;
}

/* With oneDNN (and a CPU whose convolutions take 8 or 16 channels a
 * vector, oneDNN not capped below it), the model's convolution hands its
 * output to the pooling in its blocked layout, which the model's own tests
 * compare with the NCHW passes bit for bit; what shows here that it ran is
 * that the pooling's positions are then the blocked route's own:
 * tnn_layer_backward() of the pooling refuses with TNN_E_STATE (no training
 * forward of its own) instead of reading them. Kept apart by an identity, the
 * NCHW route leaves the pooling's backward usable, as before. */
START_TEST(conv_relu_pool_takes_the_blocked_route)
{
    const bool dnnl =
        dlsym(RTLD_DEFAULT, "dnnl_version") != NULL && !getenv("TNN_BACKEND");
    /* oneDNN's choice of kernels, and so of layouts, follows the CPU
     * unless capped (tests/valgrind.sh caps it at SSE4.1). */
#if defined(__GNUC__) && defined(__x86_64__)
    const bool wide = __builtin_cpu_supports("avx2") &&
                      !getenv("DNNL_MAX_CPU_ISA") &&
                      !getenv("ONEDNN_MAX_CPU_ISA");
#else
    const bool wide = false;
#endif
    tnn_model *blocked = blocked_route_model(false);
    tnn_model *apart = blocked_route_model(true);
    int rc = pooling_backward(blocked, 2);
    if (dnnl && wide)
        ck_assert_int_eq(rc, TNN_E_STATE);
    else
        ck_assert(rc == TNN_OK || rc == TNN_E_STATE);
    ck_assert_int_eq(pooling_backward(apart, 3), TNN_OK);
    tnn_model_free(blocked);
    tnn_model_free(apart);
}
END_TEST

Suite *backends_suite(void)
{
    Suite *s = suite_create("backends");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, backends_agree_on_every_geometry);
    tcase_add_test(tc, backends_agree_on_dense_shapes);
    tcase_add_test(tc, backends_agree_on_attention);
    tcase_add_test(tc, frozen_layer_gradients_agree);
    tcase_add_test(tc, frozen_attention_gradients_agree);
    tcase_add_test(tc, model_files_do_not_depend_on_the_backend);
    tcase_add_test(tc, convnet_steady_state_allocates_nothing);
    tcase_add_test(tc, convnet_allocation_failures);
    tcase_add_test(tc, caller_openmp_threads_unchanged);
    tcase_add_test(tc, caller_fp_mode_unchanged);
    tcase_add_test(tc, conv_relu_pool_takes_the_blocked_route);
    suite_add_tcase(s, tc);
    return s;
}
