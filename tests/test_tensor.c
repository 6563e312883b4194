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

Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, new_has_shape_and_zeros);
    tcase_add_test(tc, bad_shapes_rejected);
    tcase_add_test(tc, copy_in_and_out);
    tcase_add_test(tc, fill_clone_reshape);
    tcase_add_test(tc, null_handles);
    tcase_add_test(tc, random_fill_reproducible);
    tcase_add_test(tc, rand_normal_refuses_overflowing_spread);
    tcase_add_test(tc, rand_uniform_widest_range);
    tcase_add_test(tc, allocation_failure_leaks_nothing);
    suite_add_tcase(s, tc);
    return s;
}
