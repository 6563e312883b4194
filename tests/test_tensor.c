/*
 * Tensors: shapes, contents, every error path, allocation failure.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "testutil.h"

START_TEST(new_has_shape_and_zeros)
{
    size_t dims[4] = {2, 3, 4, 5};
    tnn_tensor *t = tnn_tensor_new(4, dims);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tnn_tensor_ndim(t), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(tnn_tensor_dim(t, i), dims[i]);
    ck_assert_uint_eq(tnn_tensor_dim(t, 4), 0);
    ck_assert_uint_eq(tnn_tensor_dim(t, -1), 0);
    ck_assert_uint_eq(tnn_tensor_size(t), 120);
    const float *d = tnn_tensor_cdata(t);
    for (size_t i = 0; i < 120; i++)
        ck_assert_float_eq(d[i], 0.0f);
    ck_assert_ptr_eq(tnn_tensor_data(t), d);
    tnn_tensor_free(t);

    t = tnn_tensor_new_2d(7, 1);
    ck_assert_int_eq(tnn_tensor_ndim(t), 2);
    ck_assert_uint_eq(tnn_tensor_dim(t, 0), 7);
    ck_assert_uint_eq(tnn_tensor_dim(t, 1), 1);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(bad_shapes_rejected)
{
    size_t dims[5] = {2, 2, 2, 2, 2};
    ck_assert_ptr_null(tnn_tensor_new(5, dims));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_new");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "ndim is 5"));
    ck_assert_ptr_null(tnn_tensor_new(0, dims));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_new");
    ck_assert_ptr_null(tnn_tensor_new(2, NULL));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_new");

    size_t zero[3] = {4, 0, 3};
    ck_assert_ptr_null(tnn_tensor_new(3, zero));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_new");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "dims[1] is 0"));

    size_t huge[2] = {SIZE_MAX / 2, 3};
    ck_assert_ptr_null(tnn_tensor_new(2, huge));
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_new");
    /* Fits as a count but not in bytes. */
    size_t bytes[1] = {SIZE_MAX / 2};
    ck_assert_ptr_null(tnn_tensor_new(1, bytes));
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_new");
}
END_TEST

START_TEST(copy_in_and_out)
{
    tnn_tensor *t = tnn_tensor_new_2d(2, 3);
    const float src[6] = {1, -2, 3.5f, 4, 5, -6.25f};
    ck_assert_int_eq(tnn_tensor_copy_from(t, src, 6), TNN_OK);
    /* Row-major: element (1, 2) is at 1 * 3 + 2. */
    ck_assert_float_eq(tnn_tensor_data(t)[1 * 3 + 2], -6.25f);
    float dst[8] = {0};
    dst[6] = 99;
    ck_assert_int_eq(tnn_tensor_copy_to(t, dst, 8), TNN_OK);
    ck_assert_mem_eq(dst, src, sizeof src);
    ck_assert_float_eq(dst[6], 99.0f);

    ck_assert_int_eq(tnn_tensor_copy_from(t, src, 5), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_copy_from");
    ck_assert_int_eq(tnn_tensor_copy_from(t, src, 7), TNN_E_SHAPE);
    ck_assert_int_eq(tnn_tensor_copy_to(t, dst, 5), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_copy_to");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "capacity is 5"));
    ck_assert_int_eq(tnn_tensor_copy_from(t, NULL, 6), TNN_E_INVALID);
    ck_assert_int_eq(tnn_tensor_copy_to(t, NULL, 6), TNN_E_INVALID);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(fill_clone_reshape)
{
    tnn_tensor *t = tnn_tensor_new_2d(4, 6);
    ck_assert_int_eq(tnn_tensor_fill(t, 2.5f), TNN_OK);
    for (size_t i = 0; i < 24; i++)
        ck_assert_float_eq(tnn_tensor_data(t)[i], 2.5f);
    tnn_tensor_data(t)[5] = -1.0f;

    tnn_tensor *c = tnn_tensor_clone(t);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(tnn_tensor_data(c), tnn_tensor_data(t));
    ck_assert_mem_eq(tnn_tensor_data(c), tnn_tensor_data(t), 24 * 4);
    tnn_tensor_data(c)[0] = 7.0f; /* independent storage */
    ck_assert_float_eq(tnn_tensor_data(t)[0], 2.5f);

    size_t shape[3] = {2, 3, 4};
    float *before = tnn_tensor_data(t);
    ck_assert_int_eq(tnn_tensor_reshape(t, 3, shape), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(t), 3);
    ck_assert_uint_eq(tnn_tensor_dim(t, 2), 4);
    ck_assert_ptr_eq(tnn_tensor_data(t), before);
    ck_assert_float_eq(tnn_tensor_data(t)[5], -1.0f);

    size_t wrong[2] = {5, 5};
    ck_assert_int_eq(tnn_tensor_reshape(t, 2, wrong), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_reshape");
    ck_assert_int_eq(tnn_tensor_ndim(t), 3); /* unchanged on failure */
    size_t zero[2] = {0, 24};
    ck_assert_int_eq(tnn_tensor_reshape(t, 2, zero), TNN_E_INVALID);
    ck_assert_int_eq(tnn_tensor_reshape(t, 5, shape), TNN_E_INVALID);
    tnn_tensor_free(c);
    tnn_tensor_free(t);
}
END_TEST

START_TEST(null_handles)
{
    tnn_tensor_free(NULL);
    ck_assert_int_eq(tnn_tensor_ndim(NULL), 0);
    ck_assert_uint_eq(tnn_tensor_size(NULL), 0);
    ck_assert_uint_eq(tnn_tensor_dim(NULL, 0), 0);
    ck_assert_ptr_null(tnn_tensor_data(NULL));
    ck_assert_ptr_null(tnn_tensor_cdata(NULL));
    float buf[1];
    ck_assert_int_eq(tnn_tensor_copy_from(NULL, buf, 1), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_copy_from");
    ck_assert_int_eq(tnn_tensor_copy_to(NULL, buf, 1), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_copy_to");
    ck_assert_int_eq(tnn_tensor_fill(NULL, 0), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_fill");
    ck_assert_ptr_null(tnn_tensor_clone(NULL));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_clone");
    size_t d[1] = {1};
    ck_assert_int_eq(tnn_tensor_reshape(NULL, 1, d), TNN_E_INVALID);
    tnn_rng *r = tnn_rng_new(1);
    ck_assert_int_eq(tnn_tensor_rand_uniform(NULL, r, 0, 1), TNN_E_INVALID);
    ck_assert_int_eq(tnn_tensor_rand_normal(NULL, r, 0, 1), TNN_E_INVALID);
    tnn_rng_free(r);
}
END_TEST

START_TEST(random_fill_reproducible)
{
    tnn_tensor *a = tnn_tensor_new_2d(100, 100);
    tnn_tensor *b = tnn_tensor_new_2d(100, 100);
    tnn_rng *ra = tnn_rng_new(11);
    tnn_rng *rb = tnn_rng_new(11);
    ck_assert_int_eq(tnn_tensor_rand_uniform(a, ra, -0.5f, 0.25f), TNN_OK);
    ck_assert_int_eq(tnn_tensor_rand_uniform(b, rb, -0.5f, 0.25f), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(a), tnn_tensor_data(b), 10000 * 4);
    double sum = 0;
    for (size_t i = 0; i < 10000; i++) {
        float v = tnn_tensor_data(a)[i];
        ck_assert(v >= -0.5f && v < 0.25f);
        sum += v;
    }
    /* Mean -0.125, standard error 0.75 / sqrt(12e4) = 2.2e-3. */
    ck_assert_double_eq_tol(sum / 10000, -0.125, 1e-2);

    ck_assert_int_eq(tnn_tensor_rand_normal(a, ra, 3.0f, 2.0f), TNN_OK);
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < 10000; i++) {
        double v = tnn_tensor_data(a)[i];
        s1 += v;
        s2 += v * v;
    }
    double mean = s1 / 10000, var = s2 / 10000 - mean * mean;
    ck_assert_double_eq_tol(mean, 3.0, 0.06);
    ck_assert_double_eq_tol(var, 4.0, 0.25);

    ck_assert_int_eq(tnn_tensor_rand_uniform(a, ra, 1.0f, 1.0f),
                     TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_rand_uniform");
    ck_assert_int_eq(tnn_tensor_rand_uniform(a, ra, 0.0f, INFINITY),
                     TNN_E_INVALID);
    ck_assert_int_eq(tnn_tensor_rand_normal(a, ra, 0.0f, -1.0f),
                     TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_rand_normal");
    ck_assert_int_eq(tnn_tensor_rand_normal(a, ra, NAN, 1.0f), TNN_E_INVALID);
    ck_assert_int_eq(tnn_tensor_rand_normal(a, NULL, 0.0f, 1.0f),
                     TNN_E_INVALID);
    tnn_rng_free(ra);
    tnn_rng_free(rb);
    tnn_tensor_free(a);
    tnn_tensor_free(b);
}
END_TEST

/* A normal whose draws could round to infinity is refused: |mean| + 40
 * stddev must not exceed FLT_MAX (draws lie within 8.57 stddev). The
 * tensor and the generator are left as they were. */
START_TEST(rand_normal_refuses_overflowing_spread)
{
    static const struct {
        float mean, stddev;
        const char *text;
    } bad[] = {
        {0.0f, 1e38f, "stddev 1e+38"},
        {0.0f, FLT_MAX, "stddev 3.40282e+38"},
        {0.0f, 8.6e36f, "stddev 8.6e+36"}, /* 40 * 8.6e36 > FLT_MAX */
        {-3e38f, 2e36f, "mean -3e+38"},
    };
    tnn_tensor *t = tnn_tensor_new_2d(100, 100);
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        tnn_rng *r = tnn_rng_new(5), *fresh = tnn_rng_new(5);
        tnn_tensor_fill(t, 5.0f);
        ck_assert_int_eq(
            tnn_tensor_rand_normal(t, r, bad[b].mean, bad[b].stddev),
            TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_tensor_rand_normal");
        ck_assert_msg(strstr(tnn_last_error(), bad[b].text) != NULL,
                      "message \"%s\" does not say \"%s\"", tnn_last_error(),
                      bad[b].text);
        for (size_t i = 0; i < tnn_tensor_size(t); i++)
            ck_assert_float_eq(tnn_tensor_data(t)[i], 5.0f);
        ck_assert_uint_eq(tnn_rng_next_u64(r), tnn_rng_next_u64(fresh));
        tnn_rng_free(r);
        tnn_rng_free(fresh);
    }
    /* Just inside the limit: finite draws with the asked spread. */
    tnn_rng *r = tnn_rng_new(5);
    const double sd = 8e36;
    ck_assert_int_eq(tnn_tensor_rand_normal(t, r, 0.0f, (float)sd), TNN_OK);
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < tnn_tensor_size(t); i++) {
        double v = tnn_tensor_data(t)[i];
        ck_assert_msg(isfinite(v) && fabs(v) <= 8.58 * sd, "draw %zu is %g", i,
                      v);
        s1 += v / sd;
        s2 += (v / sd) * (v / sd);
    }
    double mean = s1 / 10000, var = s2 / 10000 - mean * mean;
    ck_assert_double_eq_tol(mean, 0.0, 0.05);
    ck_assert_double_eq_tol(var, 1.0, 0.06);
    ck_assert_int_eq(tnn_tensor_rand_normal(t, r, -3e38f, 1e36f), TNN_OK);
    for (size_t i = 0; i < tnn_tensor_size(t); i++)
        ck_assert(isfinite(tnn_tensor_data(t)[i]));
    tnn_rng_free(r);
    tnn_tensor_free(t);
}
END_TEST

/* A uniform range wider than FLT_MAX is computed in double: finite draws
 * on both sides, inside [lo, hi). */
START_TEST(rand_uniform_widest_range)
{
    tnn_tensor *t = tnn_tensor_new_2d(100, 100);
    tnn_rng *r = tnn_rng_new(6);
    ck_assert_int_eq(tnn_tensor_rand_uniform(t, r, -FLT_MAX, FLT_MAX), TNN_OK);
    double sum = 0;
    size_t negative = 0;
    for (size_t i = 0; i < tnn_tensor_size(t); i++) {
        float v = tnn_tensor_data(t)[i];
        ck_assert_msg(isfinite(v) && v >= -FLT_MAX && v < FLT_MAX,
                      "draw %zu is %g", i, (double)v);
        sum += v / (double)FLT_MAX;
        negative += v < 0;
    }
    /* Mean 0, standard error 1 / sqrt(3e4) = 5.8e-3 (of FLT_MAX). */
    ck_assert_double_eq_tol(sum / 10000, 0.0, 0.03);
    ck_assert_uint_gt(negative, 4700);
    ck_assert_uint_lt(negative, 5300);
    tnn_rng_free(r);
    tnn_tensor_free(t);
}
END_TEST

/* Fail each allocation a tensor needs in turn: NULL, TNN_E_NOMEM, and
 * nothing left allocated. */
START_TEST(allocation_failure_leaks_nothing)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_tensor *probe = tnn_tensor_new_2d(10, 10);
    long needed = a.calls;
    tnn_tensor_free(probe);
    ck_assert_int_eq(needed, 2);

    for (long n = 1; n <= needed; n++) {
        counting_install(&a, n);
        ck_assert_ptr_null(tnn_tensor_new_2d(10, 10));
        assert_failed_with(TNN_E_NOMEM, "tnn_tensor_new_2d");
        ck_assert_int_eq(a.live, 0);
    }
    tnn_tensor *src = tnn_tensor_new_2d(3, 3);
    counting_install(&a, 2);
    ck_assert_ptr_null(tnn_tensor_clone(src));
    assert_failed_with(TNN_E_NOMEM, "tnn_tensor_clone");
    ck_assert_int_eq(a.live, 0);
    counting_remove();
    tnn_tensor_free(src);
}
END_TEST

/* An allocator whose blocks start 16, 32 or 48 bytes past a cache line,
 * in turn (the block's own address kept in the word before). */
static int shift_turn;

static void *shifted_malloc(size_t size, void *ctx)
{
    (void)ctx;
    size_t shift = 16 * (size_t)(1 + shift_turn++ % 3);
    unsigned char *raw = aligned_alloc(64, (size + shift + 63) / 64 * 64);
    if (!raw)
        return NULL;
    memcpy(raw + shift - sizeof raw, &raw, sizeof raw);
    return raw + shift;
}

static void *shifted_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ptr;
    (void)size;
    (void)ctx;
    return NULL; /* tensors never grow */
}

static void shifted_free(void *ptr, void *ctx)
{
    (void)ctx;
    if (!ptr)
        return;
    void *raw;
    memcpy(&raw, (unsigned char *)ptr - sizeof raw, sizeof raw);
    free(raw);
}

/* A tensor's data starts on a 64-byte boundary whatever the allocator's
 * blocks are aligned to (the vector loops over parameters, gradients and
 * the optimizer's state rely on it for speed), and every value of it is
 * usable; views and clones free cleanly. */
START_TEST(data_starts_on_a_cache_line)
{
    ck_assert_int_eq(
        tnn_set_allocator(shifted_malloc, shifted_realloc, shifted_free, NULL),
        TNN_OK);
    const size_t sizes[] = {1, 15, 16, 17, 1000, 4099};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (int turn = 0; turn < 3; turn++) {
            tnn_tensor *t = tnn_tensor_new_2d(sizes[i], 1);
            ck_assert_ptr_nonnull(t);
            float *data = tnn_tensor_data(t);
            ck_assert_uint_eq((uintptr_t)data % 64, 0);
            for (size_t j = 0; j < sizes[i]; j++) {
                ck_assert(data[j] == 0.0f);
                data[j] = (float)j;
            }
            tnn_tensor *c = tnn_tensor_clone(t);
            ck_assert_ptr_nonnull(c);
            ck_assert_uint_eq((uintptr_t)tnn_tensor_data(c) % 64, 0);
            ck_assert(tnn_tensor_data(c)[sizes[i] - 1] ==
                      (float)(sizes[i] - 1));
            tnn_tensor *v = tnn_tensor_view_rows(t, 0, 1);
            ck_assert_ptr_nonnull(v);
            /* The view outlives its tensor: the storage goes with it. */
            tnn_tensor_free(t);
            ck_assert(tnn_tensor_data(v)[0] == 0.0f);
            tnn_tensor_free(v);
            tnn_tensor_free(c);
        }
    }
    ck_assert_int_eq(tnn_set_allocator(NULL, NULL, NULL, NULL), TNN_OK);
}
END_TEST

/* A wrapped buffer is used in place and stays the caller's. */
START_TEST(wrap_uses_the_callers_storage)
{
    float data[6] = {1, 2, 3, 4, 5, 6};
    size_t dims[2] = {2, 3};
    tnn_tensor *t = tnn_tensor_wrap(data, 2, dims);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_eq(tnn_tensor_data(t), data);
    ck_assert_uint_eq(tnn_tensor_size(t), 6);
    ck_assert_int_eq(tnn_tensor_is_shared(t), 1);
    ck_assert_int_eq(tnn_tensor_fill(t, 7.0f), TNN_OK);
    ck_assert(data[0] == 7.0f && data[5] == 7.0f);
    data[2] = -1.0f;
    ck_assert(tnn_tensor_cdata(t)[2] == -1.0f);
    /* Freed handle, storage untouched (valgrind would see a bad free). */
    tnn_tensor_free(t);
    ck_assert(data[0] == 7.0f);

    ck_assert_ptr_null(tnn_tensor_wrap(NULL, 2, dims));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_wrap");
    size_t zero[2] = {2, 0};
    ck_assert_ptr_null(tnn_tensor_wrap(data, 2, zero));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_wrap");
    ck_assert_ptr_null(tnn_tensor_wrap(data, 5, dims));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_wrap");
    size_t huge[2] = {SIZE_MAX / 2, 3};
    ck_assert_ptr_null(tnn_tensor_wrap(data, 2, huge));
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_wrap");
}
END_TEST

/* Views share the parent's values both ways, keep its other dimensions,
 * and keep the storage alive whichever is freed first. */
START_TEST(views_share_rows)
{
    size_t dims[3] = {5, 2, 2};
    tnn_tensor *t = tnn_tensor_new(3, dims);
    for (size_t i = 0; i < 20; i++)
        tnn_tensor_data(t)[i] = (float)i;
    ck_assert_int_eq(tnn_tensor_is_shared(t), 0);
    tnn_tensor *v = tnn_tensor_view_rows(t, 1, 3);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(tnn_tensor_is_shared(t), 1);
    ck_assert_int_eq(tnn_tensor_ndim(v), 3);
    ck_assert_uint_eq(tnn_tensor_dim(v, 0), 3);
    ck_assert_uint_eq(tnn_tensor_dim(v, 1), 2);
    ck_assert_uint_eq(tnn_tensor_size(v), 12);
    ck_assert_ptr_eq(tnn_tensor_data(v), tnn_tensor_data(t) + 4);
    tnn_tensor_data(v)[0] = -4.0f; /* row 1 of t */
    ck_assert(tnn_tensor_data(t)[4] == -4.0f);
    tnn_tensor_data(t)[15] = -15.0f; /* last value of v */
    ck_assert(tnn_tensor_cdata(v)[11] == -15.0f);

    /* A view of a view: rows 2 and 3 of t. */
    tnn_tensor *w = tnn_tensor_view_rows(v, 1, 2);
    ck_assert_ptr_eq(tnn_tensor_data(w), tnn_tensor_data(t) + 8);
    /* Reshaping a view changes that handle only. */
    size_t flat[1] = {8};
    ck_assert_int_eq(tnn_tensor_reshape(w, 1, flat), TNN_OK);
    ck_assert_int_eq(tnn_tensor_ndim(v), 3);

    /* The parent first: the views still read its values. */
    tnn_tensor_free(t);
    ck_assert(tnn_tensor_cdata(w)[7] == -15.0f);
    ck_assert(tnn_tensor_cdata(v)[0] == -4.0f);
    tnn_tensor_free(v);
    ck_assert(tnn_tensor_cdata(w)[0] == 8.0f);
    ck_assert_int_eq(tnn_tensor_is_shared(w), 0);
    tnn_tensor_free(w);

    /* Views over wrapped storage stay the caller's. */
    float data[4] = {1, 2, 3, 4};
    size_t two[2] = {4, 1};
    tnn_tensor *wrapped = tnn_tensor_wrap(data, 2, two);
    tnn_tensor *tail = tnn_tensor_view_rows(wrapped, 3, 1);
    tnn_tensor_free(wrapped);
    ck_assert(tnn_tensor_cdata(tail)[0] == 4.0f);
    tnn_tensor_free(tail);
}
END_TEST

START_TEST(view_ranges_checked)
{
    tnn_tensor *t = tnn_tensor_new_2d(4, 3);
    ck_assert_ptr_null(tnn_tensor_view_rows(t, 0, 0));
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_view_rows");
    ck_assert_ptr_null(tnn_tensor_view_rows(t, 4, 1));
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_view_rows");
    ck_assert_ptr_null(tnn_tensor_view_rows(t, 1, 4));
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_view_rows");
    ck_assert_ptr_null(tnn_tensor_view_rows(t, SIZE_MAX, 2));
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_view_rows");
    ck_assert_ptr_null(tnn_tensor_view_rows(NULL, 0, 1));
    assert_failed_with(TNN_E_INVALID, "tnn_tensor_view_rows");
    /* Failures left t alone. */
    ck_assert_int_eq(tnn_tensor_is_shared(t), 0);
    tnn_tensor *all = tnn_tensor_view_rows(t, 0, 4);
    ck_assert_uint_eq(tnn_tensor_size(all), 12);
    tnn_tensor_free(all);
    tnn_tensor_free(t);
}
END_TEST

/* Each allocation of a view or a wrap fails in turn: NULL, TNN_E_NOMEM,
 * the parent unchanged and nothing leaked. */
START_TEST(view_allocation_failures)
{
    struct counting_allocator a;
    for (long n = 1; n <= 2; n++) {
        counting_install(&a, 0);
        tnn_tensor *t = tnn_tensor_new_2d(3, 2);
        a.fail_at = a.calls + n;
        ck_assert_ptr_null(tnn_tensor_view_rows(t, 0, 1));
        assert_failed_with(TNN_E_NOMEM, "tnn_tensor_view_rows");
        ck_assert_int_eq(tnn_tensor_is_shared(t), 0);
        tnn_tensor_free(t);
        ck_assert_int_eq(a.live, 0);

        float data[2] = {0, 0};
        size_t dims[1] = {2};
        counting_install(&a, n);
        ck_assert_ptr_null(tnn_tensor_wrap(data, 1, dims));
        assert_failed_with(TNN_E_NOMEM, "tnn_tensor_wrap");
        ck_assert_int_eq(a.live, 0);
    }
    counting_remove();
}
END_TEST

/* Rows move with their labels, and the result is a permutation that the
 * generator's state decides. */
START_TEST(shuffle_keeps_pairs)
{
    enum { N = 50 };
    tnn_tensor *x = tnn_tensor_new_2d(N, 3);
    tnn_tensor *y = tnn_tensor_new_2d(N, 1);
    for (size_t i = 0; i < N; i++) {
        for (size_t k = 0; k < 3; k++)
            tnn_tensor_data(x)[i * 3 + k] = (float)(10 * i + k);
        tnn_tensor_data(y)[i] = (float)i;
    }
    tnn_rng *rng = tnn_rng_new(5);
    ck_assert_int_eq(tnn_tensor_shuffle_rows(x, y, rng), TNN_OK);
    int seen[N] = {0}, moved = 0;
    for (size_t i = 0; i < N; i++) {
        float label = tnn_tensor_data(y)[i];
        size_t from = (size_t)label;
        ck_assert(label == (float)from && from < N);
        seen[from]++;
        moved += from != i;
        for (size_t k = 0; k < 3; k++)
            ck_assert(tnn_tensor_data(x)[i * 3 + k] == (float)(10 * from + k));
    }
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, N / 2);

    /* The same seed, the same order, with or without y. */
    tnn_tensor *x2 = tnn_tensor_new_2d(N, 3);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < 3; k++)
            tnn_tensor_data(x2)[i * 3 + k] = (float)(10 * i + k);
    tnn_rng_seed(rng, 5);
    ck_assert_int_eq(tnn_tensor_shuffle_rows(x2, NULL, rng), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(x2), tnn_tensor_data(x),
                     sizeof(float) * N * 3);

    tnn_tensor *short_y = tnn_tensor_new_2d(N - 1, 1);
    ck_assert_int_eq(tnn_tensor_shuffle_rows(x, short_y, rng), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_tensor_shuffle_rows");
    tnn_tensor *part = tnn_tensor_view_rows(x, 0, N);
    ck_assert_int_eq(tnn_tensor_shuffle_rows(x, part, rng), TNN_E_INVALID);
    ck_assert_int_eq(tnn_tensor_shuffle_rows(x, NULL, NULL), TNN_E_INVALID);
    ck_assert_int_eq(tnn_tensor_shuffle_rows(NULL, y, rng), TNN_E_INVALID);
    tnn_tensor_free(part);
    tnn_tensor_free(short_y);
    tnn_tensor_free(x2);
    tnn_rng_free(rng);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Training on a view of the first rows is training on a copy of them, and
 * predicting from a wrapped raw buffer is predicting from a tensor. */
START_TEST(models_take_views_and_wraps)
{
    enum { N = 64, D = 5 };
    tnn_tensor *x = tnn_tensor_new_2d(N, D);
    tnn_tensor *y = tnn_tensor_new_2d(N, 1);
    tnn_rng *rng = tnn_rng_new(3);
    tnn_tensor_rand_uniform(x, rng, -1.0f, 1.0f);
    tnn_tensor_rand_uniform(y, rng, -1.0f, 1.0f);
    tnn_tensor *xv = tnn_tensor_view_rows(x, 0, 40);
    tnn_tensor *yv = tnn_tensor_view_rows(y, 0, 40);
    tnn_tensor *xc = tnn_tensor_new_2d(40, D);
    tnn_tensor *yc = tnn_tensor_new_2d(40, 1);
    tnn_tensor_copy_from(xc, tnn_tensor_cdata(x), 40 * D);
    tnn_tensor_copy_from(yc, tnn_tensor_cdata(y), 40);
    tnn_model *m[2];
    for (int i = 0; i < 2; i++) {
        m[i] = tnn_model_new(D);
        tnn_model_add(m[i], tnn_dense_new(D, 4));
        tnn_model_add(m[i], tnn_tanh_new());
        tnn_model_add(m[i], tnn_dense_new(4, 1));
        tnn_model_set_optim(m[i], tnn_adam_new(0.01f));
        ck_assert_int_eq(tnn_model_fit(m[i], i ? xc : xv, i ? yc : yv, NULL,
                                       NULL, 3, 8, 1, NULL, NULL),
                         TNN_OK);
    }
    float raw[N * D];
    memcpy(raw, tnn_tensor_cdata(x), sizeof raw);
    size_t dims[2] = {N, D};
    tnn_tensor *wrapped = tnn_tensor_wrap(raw, 2, dims);
    tnn_tensor *p0 = tnn_tensor_new_2d(N, 1), *p1 = tnn_tensor_new_2d(N, 1);
    ck_assert_int_eq(tnn_model_predict(m[0], wrapped, p0), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(m[1], x, p1), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(p0), tnn_tensor_data(p1),
                     sizeof(float) * N);
    /* Predictions into a view land in the parent's rows. */
    tnn_tensor *p2 = tnn_tensor_new_2d(N + 2, 1);
    tnn_tensor *into = tnn_tensor_view_rows(p2, 2, N);
    ck_assert_int_eq(tnn_model_predict(m[0], wrapped, into), TNN_OK);
    ck_assert_mem_eq(tnn_tensor_data(p2) + 2, tnn_tensor_data(p1),
                     sizeof(float) * N);
    ck_assert(tnn_tensor_data(p2)[0] == 0.0f);
    tnn_tensor *views[] = {xv, yv, xc, yc, wrapped, p0, p1, into, p2, x, y};
    for (size_t i = 0; i < sizeof views / sizeof *views; i++)
        tnn_tensor_free(views[i]);
    tnn_model_free(m[0]);
    tnn_model_free(m[1]);
    tnn_rng_free(rng);
}
END_TEST

Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, new_has_shape_and_zeros);
    tcase_add_test(tc, bad_shapes_rejected);
    tcase_add_test(tc, copy_in_and_out);
    tcase_add_test(tc, fill_clone_reshape);
    tcase_add_test(tc, null_handles);
    tcase_add_test(tc, data_starts_on_a_cache_line);
    tcase_add_test(tc, random_fill_reproducible);
    tcase_add_test(tc, rand_normal_refuses_overflowing_spread);
    tcase_add_test(tc, rand_uniform_widest_range);
    tcase_add_test(tc, allocation_failure_leaks_nothing);
    tcase_add_test(tc, wrap_uses_the_callers_storage);
    tcase_add_test(tc, views_share_rows);
    tcase_add_test(tc, view_ranges_checked);
    tcase_add_test(tc, view_allocation_failures);
    tcase_add_test(tc, shuffle_keeps_pairs);
    tcase_add_test(tc, models_take_views_and_wraps);
    suite_add_tcase(s, tc);
    return s;
}
