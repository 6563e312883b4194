/*
 * The seeded generator: determinism and the moments of its distributions.
 */
#include <math.h>
#include <stdint.h>

#include "testutil.h"

START_TEST(same_seed_same_sequence)
{
    tnn_rng *a = tnn_rng_new(42);
    tnn_rng *b = tnn_rng_new(42);
    tnn_rng *c = tnn_rng_new(43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = tnn_rng_next_u64(a);
        ck_assert_uint_eq(x, tnn_rng_next_u64(b));
        differ += x != tnn_rng_next_u64(c);
    }
    ck_assert_int_ge(differ, 999);
    /* Reseeding restarts the sequence, spare normal included. */
    tnn_rng_normal(a);
    ck_assert_int_eq(tnn_rng_seed(a, 7), TNN_OK);
    ck_assert_int_eq(tnn_rng_seed(b, 7), TNN_OK);
    ck_assert_double_eq(tnn_rng_normal(a), tnn_rng_normal(b));
    tnn_rng_free(a);
    tnn_rng_free(b);
    tnn_rng_free(c);
}
END_TEST

START_TEST(zero_seed_is_mixed)
{
    tnn_rng *r = tnn_rng_new(0);
    int nonzero = 0;
    for (int i = 0; i < 8; i++)
        nonzero += tnn_rng_next_u64(r) != 0;
    ck_assert_int_eq(nonzero, 8);
    tnn_rng_free(r);
}
END_TEST

/* The first outputs of xoshiro256** from splitmix64(0): pins the algorithm
 * so that seeded results never change between releases. */
START_TEST(sequence_is_pinned)
{
    uint64_t sm = 0;
    uint64_t s[4];
    for (int i = 0; i < 4; i++) {
        uint64_t z = (sm += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        s[i] = z ^ (z >> 31);
    }
    tnn_rng *r = tnn_rng_new(0);
    for (int i = 0; i < 100; i++) {
        uint64_t x = s[1] * 5;
        x = (x << 7) | (x >> 57);
        uint64_t expected = x * 9;
        uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = (s[3] << 45) | (s[3] >> 19);
        ck_assert_uint_eq(tnn_rng_next_u64(r), expected);
    }
    tnn_rng_free(r);
    /* Known first value of splitmix64 seeded with 0. */
    sm = 0;
    uint64_t z = (sm += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    ck_assert_uint_eq(z ^ (z >> 31), 0xe220a8397b1dcdafu);
}
END_TEST

START_TEST(uniform_moments)
{
    tnn_rng *r = tnn_rng_new(2026);
    const int n = 1000000;
    double sum = 0, sumsq = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        double u = tnn_rng_uniform(r);
        sum += u;
        sumsq += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    ck_assert_double_ge(lo, 0.0);
    ck_assert_double_lt(hi, 1.0);
    /* Standard error of the mean is sqrt(1/12/n) = 2.9e-4. */
    ck_assert_double_eq_tol(mean, 0.5, 1.5e-3);
    ck_assert_double_eq_tol(var, 1.0 / 12.0, 1e-3);
    tnn_rng_free(r);
}
END_TEST

START_TEST(normal_moments)
{
    tnn_rng *r = tnn_rng_new(99);
    const int n = 1000000;
    double sum = 0, sumsq = 0, sum4 = 0;
    for (int i = 0; i < n; i++) {
        double x = tnn_rng_normal(r);
        ck_assert(isfinite(x));
        sum += x;
        sumsq += x * x;
        sum4 += x * x * x * x;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    /* Standard errors: mean 1e-3, variance 1.4e-3, fourth moment 1e-2. */
    ck_assert_double_eq_tol(mean, 0.0, 5e-3);
    ck_assert_double_eq_tol(var, 1.0, 7e-3);
    ck_assert_double_eq_tol(sum4 / n, 3.0, 5e-2);
    tnn_rng_free(r);
}
END_TEST

START_TEST(null_rng_is_reported)
{
    ck_assert_uint_eq(tnn_rng_next_u64(NULL), 0);
    assert_failed_with(TNN_E_INVALID, "tnn_rng_next_u64");
    ck_assert_double_eq(tnn_rng_uniform(NULL), 0.0);
    assert_failed_with(TNN_E_INVALID, "tnn_rng_uniform");
    ck_assert_double_eq(tnn_rng_normal(NULL), 0.0);
    assert_failed_with(TNN_E_INVALID, "tnn_rng_normal");
    ck_assert_int_eq(tnn_rng_seed(NULL, 1), TNN_E_INVALID);
    tnn_rng_free(NULL);
}
END_TEST

START_TEST(rng_new_out_of_memory)
{
    struct counting_allocator a;
    counting_install(&a, 1);
    ck_assert_ptr_null(tnn_rng_new(5));
    assert_failed_with(TNN_E_NOMEM, "tnn_rng_new");
    ck_assert_int_eq(a.live, 0);
    counting_remove();
}
END_TEST

/* The state as bytes carries the whole generator, the kept normal draw
 * included: a generator set from them goes on with the same values; the
 * bytes are little-endian words (seed 0's first word, by splitmix64). */
START_TEST(state_bytes_restart_the_sequence)
{
    tnn_rng *a = tnn_rng_new(7), *b = tnn_rng_new(99);
    (void)tnn_rng_normal(a); /* leaves one normal kept */
    unsigned char state[TNN_RNG_STATE_BYTES];
    ck_assert_int_eq(tnn_rng_get_state(a, state), TNN_OK);
    ck_assert_uint_eq(state[40], 1);
    ck_assert_int_eq(tnn_rng_set_state(b, state), TNN_OK);
    ck_assert(tnn_rng_normal(a) == tnn_rng_normal(b));
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(tnn_rng_next_u64(a), tnn_rng_next_u64(b));
    tnn_rng *zero = tnn_rng_new(0);
    ck_assert_int_eq(tnn_rng_get_state(zero, state), TNN_OK);
    uint64_t word = 0;
    for (int k = 7; k >= 0; k--)
        word = word << 8 | state[k];
    ck_assert_uint_eq(word, 0xe220a8397b1dcdafu);
    tnn_rng_free(a);
    tnn_rng_free(b);
    tnn_rng_free(zero);
}
END_TEST

Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, same_seed_same_sequence);
    tcase_add_test(tc, state_bytes_restart_the_sequence);
    tcase_add_test(tc, zero_seed_is_mixed);
    tcase_add_test(tc, sequence_is_pinned);
    tcase_add_test(tc, uniform_moments);
    tcase_add_test(tc, normal_moments);
    tcase_add_test(tc, null_rng_is_reported);
    tcase_add_test(tc, rng_new_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}
