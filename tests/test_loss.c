/*
 * Losses: hand-computed values and gradients against central differences
 * computed in double precision.
 */
#include <math.h>
#include <stdio.h>

#include "testutil.h"

/* Double-precision reference of softmax cross-entropy for one row. */
static double ce_row(const float *z, size_t k, const double *target)
{
    double max = z[0];
    for (size_t j = 1; j < k; j++)
        max = fmax(max, z[j]);
    double sum = 0;
    for (size_t j = 0; j < k; j++)
        sum += exp(z[j] - max);
    double lse = max + log(sum), loss = 0;
    for (size_t j = 0; j < k; j++)
        loss += target[j] * (lse - z[j]);
    return loss;
}

START_TEST(mse_value_and_gradient)
{
    tnn_tensor *p = tnn_tensor_new_2d(2, 2);
    tnn_tensor *t = tnn_tensor_new_2d(2, 2);
    tnn_tensor *g = tnn_tensor_new_2d(2, 2);
    const float pv[4] = {1, 2, 3, 4}, tv[4] = {0, 2, 5, 3};
    tnn_tensor_copy_from(p, pv, 4);
    tnn_tensor_copy_from(t, tv, 4);
    double loss;
    ck_assert_int_eq(tnn_loss_mse(p, t, &loss, g), TNN_OK);
    /* (1 + 0 + 4 + 1) / (2 * 2) */
    ck_assert_double_eq_tol(loss, 1.5, 1e-12);
    const float want[4] = {0.5f, 0, -1, 0.5f}; /* (p - t) / m */
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(tnn_tensor_data(g)[i], want[i]);
    /* Central differences of J in double. */
    for (int i = 0; i < 4; i++) {
        double h = 1e-3, jp = 0, jm = 0;
        for (int k = 0; k < 4; k++) {
            double d = pv[k] - tv[k] + (k == i ? h : 0);
            double e = pv[k] - tv[k] - (k == i ? h : 0);
            jp += d * d / 4.0;
            jm += e * e / 4.0;
        }
        ck_assert_double_eq_tol(tnn_tensor_data(g)[i], (jp - jm) / (2 * h),
                                1e-6);
    }
    tnn_tensor *wrong = tnn_tensor_new_2d(2, 3);
    ck_assert_int_eq(tnn_loss_mse(p, wrong, &loss, NULL), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, "tnn_loss_mse");
    ck_assert_int_eq(tnn_loss_mse(NULL, t, &loss, NULL), TNN_E_INVALID);
    tnn_tensor_free(wrong);
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
}
END_TEST

/* Index labels and the equivalent one-hot rows give the same loss and
 * gradient, both matching finite differences of the double reference. */
START_TEST(cross_entropy_gradients)
{
    const size_t m = 3, k = 4;
    tnn_rng *rng = tnn_rng_new(8);
    tnn_tensor *z = tnn_tensor_new_2d(m, k);
    tnn_tensor_rand_uniform(z, rng, -3, 3);
    tnn_tensor *idx = tnn_tensor_new(1, &m);
    tnn_tensor *onehot = tnn_tensor_new_2d(m, k);
    const float labels[3] = {2, 0, 3};
    tnn_tensor_copy_from(idx, labels, 3);
    for (size_t r = 0; r < m; r++)
        tnn_tensor_data(onehot)[r * k + (size_t)labels[r]] = 1.0f;
    tnn_tensor *g1 = tnn_tensor_new_2d(m, k), *g2 = tnn_tensor_new_2d(m, k);
    double l1, l2, acc;
    ck_assert_int_eq(tnn_loss_cross_entropy(z, idx, &l1, g1, &acc), TNN_OK);
    ck_assert_int_eq(tnn_loss_cross_entropy(z, onehot, &l2, g2, NULL), TNN_OK);
    ck_assert_double_eq_tol(l1, l2, 1e-12);
    ck_assert_mem_eq(tnn_tensor_data(g1), tnn_tensor_data(g2), m * k * 4);

    float *zv = tnn_tensor_data(z);
    double ref = 0;
    size_t hits = 0;
    for (size_t r = 0; r < m; r++) {
        double t[4] = {0};
        t[(size_t)labels[r]] = 1;
        ref += ce_row(zv + r * k, k, t) / (double)m;
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            best = zv[r * k + j] > zv[r * k + best] ? j : best;
        hits += best == (size_t)labels[r];
    }
    ck_assert_double_eq_tol(l1, ref, 1e-6);
    ck_assert_double_eq_tol(acc, (double)hits / (double)m, 1e-12);
    for (size_t i = 0; i < m * k; i++) {
        float saved = zv[i];
        double h = 1e-2, lp, lm;
        zv[i] = (float)(saved + h);
        tnn_loss_cross_entropy(z, idx, &lp, NULL, NULL);
        zv[i] = (float)(saved - h);
        tnn_loss_cross_entropy(z, idx, &lm, NULL, NULL);
        zv[i] = saved;
        ck_assert_double_eq_tol(tnn_tensor_data(g1)[i], (lp - lm) / (2 * h),
                                2e-4);
    }
    tnn_tensor_free(z);
    tnn_tensor_free(idx);
    tnn_tensor_free(onehot);
    tnn_tensor_free(g1);
    tnn_tensor_free(g2);
    tnn_rng_free(rng);
}
END_TEST

START_TEST(cross_entropy_probability_rows)
{
    tnn_tensor *z = tnn_tensor_new_2d(1, 3);
    tnn_tensor *t = tnn_tensor_new_2d(1, 3);
    const float zv[3] = {0.5f, -1, 2}, tv[3] = {0.2f, 0.3f, 0.5f};
    tnn_tensor_copy_from(z, zv, 3);
    tnn_tensor_copy_from(t, tv, 3);
    tnn_tensor *g = tnn_tensor_new_2d(1, 3);
    double loss;
    ck_assert_int_eq(tnn_loss_cross_entropy(z, t, &loss, g, NULL), TNN_OK);
    const double td[3] = {0.2, 0.3, 0.5};
    ck_assert_double_eq_tol(loss, ce_row(zv, 3, td), 1e-6);
    double s = exp(0.5) + exp(-1.0) + exp(2.0);
    ck_assert_double_eq_tol(tnn_tensor_data(g)[0], exp(0.5) / s - 0.2, 1e-6);
    ck_assert_double_eq_tol(tnn_tensor_data(g)[2], exp(2.0) / s - 0.5, 1e-6);
    tnn_tensor_free(z);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
}
END_TEST

/* Rows that do not sum to 1: the gradient is still that of the loss. */
START_TEST(cross_entropy_unnormalised_rows)
{
    tnn_tensor *z = tnn_tensor_new_2d(1, 2), *t = tnn_tensor_new_2d(1, 2);
    const float zv[2] = {0.3f, -0.4f}, tv[2] = {0.5f, 0.0f};
    tnn_tensor_copy_from(z, zv, 2);
    tnn_tensor_copy_from(t, tv, 2);
    tnn_tensor *g = tnn_tensor_new_2d(1, 2);
    double loss;
    ck_assert_int_eq(tnn_loss_cross_entropy(z, t, &loss, g, NULL), TNN_OK);
    const double td[2] = {0.5, 0.0};
    ck_assert_double_eq_tol(loss, ce_row(zv, 2, td), 1e-6);
    for (int i = 0; i < 2; i++) {
        float *zp = tnn_tensor_data(z);
        double lp, lm, h = 1e-2;
        zp[i] = (float)(zv[i] + h);
        tnn_loss_cross_entropy(z, t, &lp, NULL, NULL);
        zp[i] = (float)(zv[i] - h);
        tnn_loss_cross_entropy(z, t, &lm, NULL, NULL);
        zp[i] = zv[i];
        ck_assert_double_eq_tol(tnn_tensor_data(g)[i], (lp - lm) / (2 * h),
                                1e-4);
    }
    tnn_tensor_free(z);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
}
END_TEST

START_TEST(cross_entropy_extreme_logits)
{
    tnn_tensor *z = tnn_tensor_new_2d(2, 2);
    const float zv[4] = {1e4f, -1e4f, -1e4f, 1e4f};
    tnn_tensor_copy_from(z, zv, 4);
    size_t two = 2;
    tnn_tensor *y = tnn_tensor_new(1, &two);
    const float yv[2] = {1, 1}; /* row 0 wrong by 2e4, row 1 right */
    tnn_tensor_copy_from(y, yv, 2);
    tnn_tensor *g = tnn_tensor_new_2d(2, 2);
    double loss, acc;
    ck_assert_int_eq(tnn_loss_cross_entropy(z, y, &loss, g, &acc), TNN_OK);
    ck_assert(isfinite(loss));
    ck_assert_double_eq_tol(loss, 1e4, 1e-3); /* (2e4 + 0) / 2 */
    ck_assert_double_eq(acc, 0.5);
    for (int i = 0; i < 4; i++)
        ck_assert(isfinite(tnn_tensor_data(g)[i]));
    ck_assert_float_eq_tol(tnn_tensor_data(g)[0], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(tnn_tensor_data(g)[1], -0.5f, 1e-6f);
    tnn_tensor_free(z);
    tnn_tensor_free(y);
    tnn_tensor_free(g);
}
END_TEST

/* A row with a NaN logit has a NaN loss and gradient and never counts as
 * right, even where its other logits pick the label. */
START_TEST(cross_entropy_nan_logits)
{
    tnn_tensor *z = tnn_tensor_new_2d(3, 3);
    const float zv[9] = {NAN, NAN, NAN, 2, NAN, 0, 3, 1, 0};
    tnn_tensor_copy_from(z, zv, 9);
    size_t three = 3;
    tnn_tensor *y = tnn_tensor_new(1, &three);
    const float yv[3] = {0, 0, 0};
    tnn_tensor_copy_from(y, yv, 3);
    tnn_tensor *g = tnn_tensor_new_2d(3, 3);
    double loss, acc;
    ck_assert_int_eq(tnn_loss_cross_entropy(z, y, &loss, g, &acc), TNN_OK);
    ck_assert(isnan(loss));
    ck_assert_double_eq_tol(acc, 1.0 / 3.0, 1e-12); /* row 2 only */
    for (int i = 0; i < 9; i++)
        ck_assert_msg(i < 6 ? isnan(tnn_tensor_data(g)[i])
                            : isfinite(tnn_tensor_data(g)[i]),
                      "gradient %d is %g", i, (double)tnn_tensor_data(g)[i]);
    tnn_tensor_free(z);
    tnn_tensor_free(y);
    tnn_tensor_free(g);
}
END_TEST

START_TEST(cross_entropy_misuse)
{
    tnn_tensor *z = tnn_tensor_new_2d(2, 3);
    size_t two = 2, three = 3;
    tnn_tensor *y = tnn_tensor_new(1, &two);
    double loss;
    const float bad[2][2] = {{0, 3}, {0.5f, 1}};
    tnn_tensor *g = tnn_tensor_new_2d(2, 3);
    tnn_tensor_fill(g, 7.0f);
    for (int b = 0; b < 2; b++) {
        tnn_tensor_copy_from(y, bad[b], 2);
        ck_assert_int_eq(tnn_loss_cross_entropy(z, y, &loss, g, NULL),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_loss_cross_entropy");
        /* Nothing written on failure. */
        for (int i = 0; i < 6; i++)
            ck_assert_float_eq(tnn_tensor_data(g)[i], 7.0f);
    }
    tnn_tensor_free(g);
    tnn_tensor *short_y = tnn_tensor_new(1, &three);
    ck_assert_int_eq(tnn_loss_cross_entropy(z, short_y, &loss, NULL, NULL),
                     TNN_E_SHAPE);
    ck_assert_int_eq(tnn_loss_cross_entropy(z, NULL, &loss, NULL, NULL),
                     TNN_E_INVALID);
    tnn_tensor_free(short_y);
    tnn_tensor_free(z);
    tnn_tensor_free(y);
}
END_TEST

/* A probability label below 0, NaN or infinite is refused, naming its row,
 * column and value, before anything is written. */
START_TEST(cross_entropy_refuses_bad_probabilities)
{
    static const struct {
        size_t row, col;
        float value;
        const char *text;
    } bad[] = {
        {1, 2, -0.25f, "-0.25"},
        {0, 1, NAN, "nan"},
        {1, 0, INFINITY, "inf"},
        {0, 0, -INFINITY, "-inf"},
    };
    const float zv[6] = {0.5f, -1, 2, 1, 0, -2};
    const float tv[6] = {0.2f, 0.3f, 0.5f, 1, 0, 0};
    tnn_tensor *z = tnn_tensor_new_2d(2, 3), *t = tnn_tensor_new_2d(2, 3);
    tnn_tensor *g = tnn_tensor_new_2d(2, 3);
    tnn_tensor_copy_from(z, zv, 6);
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        tnn_tensor_copy_from(t, tv, 6);
        tnn_tensor_data(t)[bad[b].row * 3 + bad[b].col] = bad[b].value;
        tnn_tensor_fill(g, 7.0f);
        double loss = 42.0, acc = 42.0;
        ck_assert_int_eq(tnn_loss_cross_entropy(z, t, &loss, g, &acc),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_loss_cross_entropy");
        char where[64];
        snprintf(where, sizeof where, "row %zu, column %zu is %s", bad[b].row,
                 bad[b].col, bad[b].text);
        ck_assert_msg(strstr(tnn_last_error(), where) != NULL,
                      "message \"%s\" does not say \"%s\"", tnn_last_error(),
                      where);
        ck_assert_double_eq(loss, 42.0);
        ck_assert_double_eq(acc, 42.0);
        for (int i = 0; i < 6; i++)
            ck_assert_float_eq(tnn_tensor_data(g)[i], 7.0f);
    }
    /* -0 is a probability of 0: the loss is that of the row without it. */
    tnn_tensor_copy_from(t, tv, 6);
    tnn_tensor_data(t)[4] = -0.0f;
    double loss;
    ck_assert_int_eq(tnn_loss_cross_entropy(z, t, &loss, g, NULL), TNN_OK);
    const double t0[3] = {0.2, 0.3, 0.5}, t1[3] = {1, 0, 0};
    ck_assert_double_eq_tol(
        loss, (ce_row(zv, 3, t0) + ce_row(zv + 3, 3, t1)) / 2, 1e-6);
    tnn_tensor_free(z);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
}
END_TEST

/* A model trained on probability rows refuses a negative one before its
 * parameters change. */
START_TEST(model_refuses_negative_probability)
{
    tnn_model *m = tnn_model_new(2);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(2, 3)), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_softmax_new()), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(2, 2), *y = tnn_tensor_new_2d(2, 3);
    const float xv[4] = {1, -1, 0.5f, 2};
    const float yv[6] = {0.5f, 0.75f, -0.25f, 0, 1, 0};
    tnn_tensor_copy_from(x, xv, 4);
    tnn_tensor_copy_from(y, yv, 6);
    tnn_tensor *w =
        tnn_tensor_clone(tnn_layer_param(tnn_model_layer(m, 0), 0));
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_model_train_batch");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "row 0, column 2"));
    ck_assert_mem_eq(
        tnn_tensor_data(w),
        tnn_tensor_data(tnn_layer_param(tnn_model_layer(m, 0), 0)),
        6 * sizeof(float));
    double loss, acc;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &acc), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_model_evaluate");
    tnn_tensor_free(w);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, mse_value_and_gradient);
    tcase_add_test(tc, cross_entropy_gradients);
    tcase_add_test(tc, cross_entropy_probability_rows);
    tcase_add_test(tc, cross_entropy_unnormalised_rows);
    tcase_add_test(tc, cross_entropy_extreme_logits);
    tcase_add_test(tc, cross_entropy_nan_logits);
    tcase_add_test(tc, cross_entropy_misuse);
    tcase_add_test(tc, cross_entropy_refuses_bad_probabilities);
    tcase_add_test(tc, model_refuses_negative_probability);
    suite_add_tcase(s, tc);
    return s;
}
