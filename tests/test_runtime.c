/*
 * Versions, status codes, the last-error message, the allocator hook and
 * the thread setting.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

START_TEST(version_matches_header)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", TNN_VERSION_MAJOR,
             TNN_VERSION_MINOR, TNN_VERSION_PATCH);
    ck_assert_str_eq(tnn_version_string(), expected);
    ck_assert_str_eq(TNN_VERSION_STRING, expected);
    ck_assert_int_eq(tnn_version_number(), TNN_VERSION_MAJOR * 10000 +
                                               TNN_VERSION_MINOR * 100 +
                                               TNN_VERSION_PATCH);
    ck_assert_int_eq(tnn_version_number(), TNN_VERSION_NUMBER);
}
END_TEST

START_TEST(status_codes_are_fixed)
{
    /* These values are part of the ABI: a change here is a break. */
    ck_assert_int_eq(TNN_OK, 0);
    ck_assert_int_eq(TNN_E_INVALID, -1);
    ck_assert_int_eq(TNN_E_SHAPE, -2);
    ck_assert_int_eq(TNN_E_NOMEM, -3);
    ck_assert_int_eq(TNN_E_IO, -4);
    ck_assert_int_eq(TNN_E_FORMAT, -5);
    ck_assert_int_eq(TNN_E_CORRUPT, -6);
    ck_assert_int_eq(TNN_E_VERSION, -7);
    ck_assert_int_eq(TNN_E_NUMERIC, -8);
    ck_assert_int_eq(TNN_E_STATE, -9);
}
END_TEST

START_TEST(strerror_names_each_code)
{
    ck_assert_str_eq(tnn_strerror(TNN_OK), "success");
    ck_assert_str_eq(tnn_strerror(TNN_E_SHAPE), "shape mismatch");
    ck_assert_str_eq(tnn_strerror(TNN_E_NOMEM), "out of memory");
    ck_assert_str_eq(tnn_strerror(-1000), "unknown error");
    ck_assert_str_eq(tnn_strerror(5), "unknown error");
    /* Every defined code has a distinct name. */
    for (int a = TNN_E_STATE; a <= TNN_OK; a++)
        for (int b = a + 1; b <= TNN_OK; b++)
            ck_assert_str_ne(tnn_strerror(a), tnn_strerror(b));
}
END_TEST

/* Libraries built on this one record their failures the same way. */
START_TEST(set_error_records_a_failure)
{
    tnn_clear_error();
    ck_assert_int_eq(tnn_set_error(TNN_E_IO, "my_fn", "socket closed"),
                     TNN_E_IO);
    ck_assert_str_eq(tnn_last_error(), "my_fn: socket closed");
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_IO);
    ck_assert_int_eq(tnn_set_error(0, "my_fn", "x"), TNN_E_INVALID);
    ck_assert_int_eq(tnn_last_error_code(), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "tnn_set_error"));
    tnn_clear_error();
}
END_TEST

START_TEST(last_error_set_and_cleared)
{
    tnn_clear_error();
    ck_assert_str_eq(tnn_last_error(), "");
    ck_assert_int_eq(tnn_last_error_code(), TNN_OK);
    ck_assert_int_eq(tnn_set_num_threads(0), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_set_num_threads");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "0"));
    tnn_clear_error();
    ck_assert_str_eq(tnn_last_error(), "");
}
END_TEST

static void *fail_in_thread(void *arg)
{
    (void)arg;
    tnn_set_num_threads(-3);
    return NULL;
}

START_TEST(last_error_is_per_thread)
{
    tnn_clear_error();
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, fail_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_str_eq(tnn_last_error(), "");
    ck_assert_int_eq(tnn_last_error_code(), TNN_OK);
}
END_TEST

START_TEST(allocator_all_or_nothing)
{
    ck_assert_int_eq(
        tnn_set_allocator(counting_malloc, NULL, counting_free, NULL),
        TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_set_allocator");
    ck_assert_int_eq(tnn_set_allocator(NULL, NULL, NULL, NULL), TNN_OK);
}
END_TEST

START_TEST(allocator_sees_every_allocation)
{
    struct counting_allocator a;
    counting_install(&a, 0);
    tnn_rng *rng = tnn_rng_new(1);
    tnn_tensor *t = tnn_tensor_new_2d(3, 4);
    tnn_tensor *c = tnn_tensor_clone(t);
    ck_assert_ptr_nonnull(rng);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(a.live, 5); /* rng, 2 x (tensor + data) */
    tnn_tensor_free(c);
    tnn_tensor_free(t);
    tnn_rng_free(rng);
    ck_assert_int_eq(a.live, 0);
    counting_remove();
}
END_TEST

START_TEST(num_threads_roundtrip)
{
    ck_assert_int_ge(tnn_get_num_threads(), 1);
    ck_assert_int_eq(tnn_set_num_threads(2), TNN_OK);
    ck_assert_int_eq(tnn_get_num_threads(), 2);
    ck_assert_int_eq(tnn_set_num_threads(1), TNN_OK);
    ck_assert_int_eq(tnn_get_num_threads(), 1);
    ck_assert_int_eq(tnn_set_num_threads(-1), TNN_E_INVALID);
    ck_assert_int_eq(tnn_get_num_threads(), 1);
}
END_TEST

Suite *runtime_suite(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, status_codes_are_fixed);
    tcase_add_test(tc, strerror_names_each_code);
    tcase_add_test(tc, last_error_set_and_cleared);
    tcase_add_test(tc, set_error_records_a_failure);
    tcase_add_test(tc, last_error_is_per_thread);
    tcase_add_test(tc, allocator_all_or_nothing);
    tcase_add_test(tc, allocator_sees_every_allocation);
    tcase_add_test(tc, num_threads_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}
