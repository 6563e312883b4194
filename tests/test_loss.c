/*
 * Losses: hand-computed values, gradients against central differences
 * computed in double precision, PyTorch's values (MAE, Huber, binary
 * cross-entropy), and the losses as models train and evaluate with them.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>

#include "golden.h"
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

/* ---- MAE, Huber and binary cross-entropy (since 1.7) -------------------- */

/* Double-precision references of the three losses on count values,
 * written from their definitions. */
static double mae_ref(const double *p, const double *t, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += fabs(p[i] - t[i]);
    return sum / (double)count;
}

static double huber_ref(const double *p, const double *t, size_t count,
                        double delta)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double d = p[i] - t[i];
        sum += fabs(d) <= delta ? 0.5 * d * d : delta * (fabs(d) - delta / 2);
    }
    return sum / (double)count;
}

/* -t log(sigmoid(z)) - (1 - t) log(1 - sigmoid(z)), from log(1 + exp(z)),
 * which is z + log(1 + exp(-z)) for z > 0. */
static double bce_ref(const double *z, const double *t, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double softplus =
            z[i] > 0 ? z[i] + log1p(exp(-z[i])) : log1p(exp(z[i]));
        sum += softplus - t[i] * z[i];
    }
    return sum / (double)count;
}

enum { REF_MAE, REF_HUBER, REF_BCE };

static double ref_loss(int which, const double *p, const double *t,
                       size_t count, double delta)
{
    return which == REF_MAE     ? mae_ref(p, t, count)
           : which == REF_HUBER ? huber_ref(p, t, count, delta)
                                : bce_ref(p, t, count);
}

static tnn_tensor *tensor_2d_of(size_t m, size_t k, const float *values)
{
    tnn_tensor *t = tnn_tensor_new_2d(m, k);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tnn_tensor_copy_from(t, values, m * k), TNN_OK);
    return t;
}

static void assert_values(const tnn_tensor *t, const float *want, size_t n,
                          const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(tnn_tensor_cdata(t)[i] == want[i],
                      "%s %zu is %a; expected %a", what, i,
                      (double)tnn_tensor_cdata(t)[i], (double)want[i]);
}

/* A (2, 2) case small enough to compute by hand. */
START_TEST(new_losses_hand_values)
{
    const float pv[4] = {1, 2, 3, 4}, tv[4] = {0, 2, 5, 3.5f};
    tnn_tensor *p = tensor_2d_of(2, 2, pv), *t = tensor_2d_of(2, 2, tv);
    tnn_tensor *g = tnn_tensor_new_2d(2, 2);
    double loss;
    /* d = p - t = 1, 0, -2, 0.5: MAE (1 + 0 + 2 + 0.5) / 4, gradient
     * sign(d) / 4, 0 where p = t. */
    ck_assert_int_eq(tnn_loss_mae(p, t, &loss, g), TNN_OK);
    ck_assert_double_eq(loss, 0.875);
    const float mae_grad[4] = {0.25f, 0.0f, -0.25f, 0.25f};
    assert_values(g, mae_grad, 4, "MAE gradient");
    /* Huber, delta 1: 0.5, 0, 1 * (2 - 0.5), 0.125 over 4; gradient d / 4
     * inside the threshold, delta sign(d) / 4 outside. */
    ck_assert_int_eq(tnn_loss_huber(p, t, 1.0f, &loss, g), TNN_OK);
    ck_assert_double_eq(loss, 0.53125);
    const float huber1_grad[4] = {0.25f, 0.0f, -0.25f, 0.125f};
    assert_values(g, huber1_grad, 4, "Huber gradient, delta 1");
    /* delta 0.5: 0.5 (1 - 0.25), 0, 0.5 (2 - 0.25), 0.125 over 4. */
    ck_assert_int_eq(tnn_loss_huber(p, t, 0.5f, &loss, g), TNN_OK);
    ck_assert_double_eq(loss, 0.34375);
    const float huber05_grad[4] = {0.125f, 0.0f, -0.125f, 0.125f};
    assert_values(g, huber05_grad, 4, "Huber gradient, delta 0.5");
    /* A delta above every |d| is half the MSE: (1 + 0 + 4 + 0.25) / 8. */
    ck_assert_int_eq(tnn_loss_huber(p, t, 10.0f, &loss, NULL), TNN_OK);
    ck_assert_double_eq(loss, 0.65625);

    /* Binary cross-entropy of logits 0, 0, 2, -2 against 1, 0, 1, 1:
     * log 2, log 2, log(1 + e^-2), 2 + log(1 + e^-2), over 4. */
    const float zv[4] = {0, 0, 2, -2}, yv[4] = {1, 0, 1, 1};
    tnn_tensor *z = tensor_2d_of(2, 2, zv), *y = tensor_2d_of(2, 2, yv);
    double acc;
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(z, y, &loss, g, &acc),
                     TNN_OK);
    double l2 = log(1 + exp(-2.0));
    ck_assert_double_eq_tol(loss, (2 * log(2.0) + 2 * l2 + 2) / 4, 1e-15);
    /* (sigmoid(z) - t) / 4 */
    double s2 = 1 / (1 + exp(-2.0));
    ck_assert_float_eq(tnn_tensor_data(g)[0], -0.125f);
    ck_assert_float_eq(tnn_tensor_data(g)[1], 0.125f);
    ck_assert_float_eq(tnn_tensor_data(g)[2], (float)((s2 - 1) / 4));
    ck_assert_float_eq(tnn_tensor_data(g)[3], (float)((1 - s2 - 1) / 4));
    /* Right where (z > 0) == (t > 0.5): the second and third. */
    ck_assert_double_eq(acc, 0.5);
    /* loss, grad and accuracy may each be NULL. */
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(z, y, NULL, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_loss_mae(p, t, NULL, NULL), TNN_OK);
    ck_assert_int_eq(tnn_loss_huber(p, t, 1.0f, NULL, NULL), TNN_OK);
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
    tnn_tensor_free(z);
    tnn_tensor_free(y);
}
END_TEST

/* Over more values than the sum's lanes (1,073: 134 runs of 8 and 1
 * left over), with and without the gradient: the double reference's
 * loss to within its rounding, the same bits both ways, and the
 * gradient (p - t) / m exactly. */
START_TEST(mse_many_values_against_double)
{
    enum { M = 37, K = 29, N = M * K };
    tnn_rng *rng = tnn_rng_new(77);
    tnn_tensor *p = tnn_tensor_new_2d(M, K), *t = tnn_tensor_new_2d(M, K);
    tnn_tensor *g = tnn_tensor_new_2d(M, K);
    tnn_tensor_rand_uniform(p, rng, -3, 3);
    tnn_tensor_rand_uniform(t, rng, -3, 3);
    double want = 0.0;
    for (size_t i = 0; i < N; i++) {
        float d = tnn_tensor_data(p)[i] - tnn_tensor_data(t)[i];
        want += (double)d * d;
    }
    want /= 2.0 * M;
    double with_grad, without;
    ck_assert_int_eq(tnn_loss_mse(p, t, &with_grad, g), TNN_OK);
    ck_assert_int_eq(tnn_loss_mse(p, t, &without, NULL), TNN_OK);
    ck_assert_msg(fabs(with_grad - want) <= 1e-13 * want,
                  "loss %a, reference %a", with_grad, want);
    ck_assert_mem_eq(&with_grad, &without, sizeof without);
    for (size_t i = 0; i < N; i++) {
        float d = tnn_tensor_data(p)[i] - tnn_tensor_data(t)[i];
        ck_assert_float_eq(tnn_tensor_data(g)[i], d * (1.0f / (float)M));
    }
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
    tnn_rng_free(rng);
}
END_TEST

/* The regression losses over more values than one chunk of their sums
 * (2^14), and more than the threads share: against double references,
 * with the same bits of loss and gradient on 1 and 3 threads (the chunks'
 * bounds and the order their sums add in follow from the count alone).
 * Outside a model the threads are OpenMP's: in a pthreads build both
 * runs are serial, and test_model.c's worker_threads_give_the_same_bits
 * checks a model's loss instead. Two sizes: 19 chunks of 2^14, and past
 * 256 of them, where the chunks grow instead (slow under the sanitizers:
 * the suite has a longer timeout). */
enum { LOSS_MSE, LOSS_MAE, LOSS_HUBER };

static double long_loss(int which, const tnn_tensor *p, const tnn_tensor *t,
                        tnn_tensor *g)
{
    double loss = NAN;
    int rc = which == LOSS_MSE   ? tnn_loss_mse(p, t, &loss, g)
             : which == LOSS_MAE ? tnn_loss_mae(p, t, &loss, g)
                                 : tnn_loss_huber(p, t, 0.5f, &loss, g);
    ck_assert_int_eq(rc, TNN_OK);
    return loss;
}

static double long_loss_reference(int which, const tnn_tensor *p,
                                  const tnn_tensor *t, size_t rows,
                                  size_t count)
{
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        /* The MSE takes its differences in float, the others in double. */
        float df = tnn_tensor_cdata(p)[i] - tnn_tensor_cdata(t)[i];
        double d = (double)tnn_tensor_cdata(p)[i] - tnn_tensor_cdata(t)[i];
        sum += which == LOSS_MSE   ? (double)df * df
               : which == LOSS_MAE ? fabs(d)
               : fabs(d) <= 0.5    ? 0.5 * d * d
                                   : 0.5 * (fabs(d) - 0.25);
    }
    return which == LOSS_MSE ? sum / (2.0 * (double)rows)
                             : sum / (double)count;
}

static void check_long_losses(size_t rows, size_t cols, int last)
{
    const size_t count = rows * cols;
    tnn_rng *rng = tnn_rng_new(5);
    tnn_tensor *p = tnn_tensor_new_2d(rows, cols);
    tnn_tensor *t = tnn_tensor_new_2d(rows, cols);
    tnn_tensor *g1 = tnn_tensor_new_2d(rows, cols);
    tnn_tensor *g3 = tnn_tensor_new_2d(rows, cols);
    ck_assert_ptr_nonnull(g3);
    tnn_tensor_rand_uniform(p, rng, -2, 2);
    tnn_tensor_rand_uniform(t, rng, -2, 2);
    const int saved = tnn_get_num_threads();
    for (int which = LOSS_MSE; which <= last; which++) {
        ck_assert_int_eq(tnn_set_num_threads(1), TNN_OK);
        double one = long_loss(which, p, t, g1);
        ck_assert_int_eq(tnn_set_num_threads(3), TNN_OK);
        double three = long_loss(which, p, t, g3);
        double value_only = long_loss(which, p, t, NULL);
        ck_assert_int_eq(tnn_set_num_threads(saved), TNN_OK);
        ck_assert_msg(memcmp(&one, &three, sizeof one) == 0,
                      "loss %d of %zu values: %a on 1 thread, %a on 3", which,
                      count, one, three);
        ck_assert_mem_eq(&one, &value_only, sizeof one);
        ck_assert_mem_eq(tnn_tensor_cdata(g1), tnn_tensor_cdata(g3),
                         count * sizeof(float));
        double want = long_loss_reference(which, p, t, rows, count);
        ck_assert_msg(fabs(one - want) <= 1e-12 * want,
                      "loss %d of %zu values: %a, reference %a", which, count,
                      one, want);
    }
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g1);
    tnn_tensor_free(g3);
    tnn_rng_free(rng);
}

START_TEST(long_losses_same_bits_on_any_thread_count)
{
    check_long_losses(1201, 256, LOSS_HUBER); /* 307,456 values */
    /* The chunks' size is the three losses' rule: the MSE alone here. */
    check_long_losses(4099, 1024 + 13, LOSS_MSE); /* 4,250,663 values */
}
END_TEST

/* The loss of each function is the double reference's, and its gradient
 * the reference's central differences (in double: the MAE and Huber
 * references are piecewise linear and quadratic, so the differences are
 * exact away from the kinks, which the data keep clear of). */
static void check_against_reference(int which, float delta)
{
    enum { M = 4, K = 3, N = M * K };
    tnn_rng *rng = tnn_rng_new(31 + (uint64_t)which);
    tnn_tensor *p = tnn_tensor_new_2d(M, K), *t = tnn_tensor_new_2d(M, K);
    tnn_tensor *g = tnn_tensor_new_2d(M, K);
    tnn_tensor_rand_uniform(p, rng, -4, 4);
    tnn_tensor_rand_uniform(t, rng, which == REF_BCE ? 0 : -4,
                            which == REF_BCE ? 1 : 4);
    const double h = 1e-4;
    double pd[N], td[N];
    for (size_t i = 0; i < N; i++) {
        float *pi = &tnn_tensor_data(p)[i];
        float ti = tnn_tensor_data(t)[i];
        /* Keep p - t clear of 0 and of +-delta by more than h. */
        while (which != REF_BCE && (fabsf(*pi - ti) < 0.01f ||
                                    fabsf(fabsf(*pi - ti) - delta) < 0.01f))
            *pi += 0.05f;
        pd[i] = *pi;
        td[i] = ti;
    }
    double loss, acc = -1;
    int rc = which == REF_MAE ? tnn_loss_mae(p, t, &loss, g)
             : which == REF_HUBER
                 ? tnn_loss_huber(p, t, delta, &loss, g)
                 : tnn_loss_binary_cross_entropy(p, t, &loss, g, &acc);
    ck_assert_int_eq(rc, TNN_OK);
    double want = ref_loss(which, pd, td, N, delta);
    ck_assert_msg(fabs(loss - want) <= 1e-14 * fabs(want),
                  "loss %d: %a, reference %a", which, loss, want);
    for (size_t i = 0; i < N; i++) {
        double saved = pd[i];
        pd[i] = saved + h;
        double jp = ref_loss(which, pd, td, N, delta);
        pd[i] = saved - h;
        double jm = ref_loss(which, pd, td, N, delta);
        pd[i] = saved;
        double fd = (jp - jm) / (2 * h), got = tnn_tensor_data(g)[i];
        ck_assert_msg(fabs(got - fd) <= 1e-9 + 1e-7 * fabs(fd),
                      "loss %d, gradient %zu: %a, central difference %a",
                      which, i, got, fd);
    }
    if (which == REF_BCE) {
        size_t hits = 0;
        for (size_t i = 0; i < N; i++)
            hits += (pd[i] > 0) == (td[i] > 0.5);
        ck_assert_double_eq(acc, (double)hits / N);
    }
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
    tnn_rng_free(rng);
}

START_TEST(new_losses_gradient_check)
{
    check_against_reference(REF_MAE, 1.0f);
    check_against_reference(REF_HUBER, 1.0f);
    check_against_reference(REF_HUBER, 0.3f);
    check_against_reference(REF_HUBER, 2.5f);
    check_against_reference(REF_BCE, 1.0f);
}
END_TEST

/* tests/data/losses-pytorch.txt holds PyTorch's L1Loss, HuberLoss and
 * BCEWithLogitsLoss, computed in float64 on fixed float32 inputs
 * (tests/reference/losses.py); each line gives the inputs too. The loss
 * must agree to double rounding (2e-16 measured) and the gradient to float
 * rounding. */
START_TEST(new_losses_match_pytorch)
{
    static const char *const names[] = {
        "mae", "huber_delta_1", "huber_delta_0.25", "huber_delta_3.5",
        "bce", "bce_one_column"};
    struct golden file;
    golden_open(&file, "losses-pytorch.txt");
    for (size_t c = 0; c < sizeof names / sizeof names[0]; c++) {
        golden_case(&file, names[c]);
        int kind = (int)golden_long(&file);
        size_t m = golden_size(&file);
        size_t k = golden_size(&file);
        float delta = (float)golden_double(&file);
        ck_assert(m >= 1 && k >= 1 && m * k <= 64);
        tnn_tensor *p = tnn_tensor_new_2d(m, k), *t = tnn_tensor_new_2d(m, k);
        tnn_tensor *g = tnn_tensor_new_2d(m, k);
        golden_floats(&file, tnn_tensor_data(p), m * k);
        golden_floats(&file, tnn_tensor_data(t), m * k);
        double want = golden_double(&file), loss;
        int rc = kind == TNN_LOSS_MAE ? tnn_loss_mae(p, t, &loss, g)
                 : kind == TNN_LOSS_HUBER
                     ? tnn_loss_huber(p, t, delta, &loss, g)
                     : tnn_loss_binary_cross_entropy(p, t, &loss, g, NULL);
        ck_assert_int_eq(rc, TNN_OK);
        ck_assert_msg(fabs(loss - want) <= 1e-14 * fabs(want),
                      "%s: loss %a; PyTorch %a", names[c], loss, want);
        for (size_t i = 0; i < m * k; i++) {
            double wg = golden_double(&file), got = tnn_tensor_data(g)[i];
            /* Float rounding: at most an ulp, 2^-23 relative (half of
             * that measured). */
            ck_assert_msg(fabs(got - wg) <= 0x1p-23 * fabs(wg),
                          "%s: gradient %zu is %a; PyTorch %a", names[c], i,
                          got, wg);
        }
        golden_end_case(&file);
        tnn_tensor_free(p);
        tnn_tensor_free(t);
        tnn_tensor_free(g);
    }
    golden_close(&file);
}
END_TEST

/* Binary cross-entropy is finite for any finite logit, up to FLT_MAX,
 * where exp() of the logit overflows even in double. */
START_TEST(binary_cross_entropy_extreme_logits)
{
    const float zv[6] = {FLT_MAX, -FLT_MAX, 1e30f, -1e30f, 89.0f, -89.0f};
    const float tv[6] = {0, 1, 1, 0, 0.5f, 0.5f};
    tnn_tensor *z = tensor_2d_of(3, 2, zv), *t = tensor_2d_of(3, 2, tv);
    tnn_tensor *g = tnn_tensor_new_2d(3, 2);
    double loss, acc;
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(z, t, &loss, g, &acc),
                     TNN_OK);
    /* Wrong by FLT_MAX twice; the others: 0, 0, 89 / 2 twice. */
    double want = (2.0 * FLT_MAX + 89.0) / 6;
    ck_assert_msg(isfinite(loss) && fabs(loss - want) <= 1e-15 * want,
                  "loss %a; expected %a", loss, want);
    /* sigmoid(z) - t is 1, -1, 0, 0, +-0.5 up to e^-89, over 6. */
    const float gw[6] = {1.0f / 6, -1.0f / 6, 0, 0, 0.5f / 6, -0.5f / 6};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(tnn_tensor_data(g)[i], gw[i], 1e-7f);
    ck_assert_double_eq_tol(acc, 3.0 / 6, 1e-15);
    tnn_tensor_free(z);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
}
END_TEST

/* A NaN prediction or logit gives a NaN loss and a NaN gradient where it
 * is, and leaves the other gradients alone. */
START_TEST(new_losses_nan_inputs)
{
    const float pv[4] = {NAN, 1, 2, 3}, tv[4] = {0, 1, 0, 1};
    tnn_tensor *p = tensor_2d_of(2, 2, pv), *t = tensor_2d_of(2, 2, tv);
    tnn_tensor *g = tnn_tensor_new_2d(2, 2);
    double loss;
    ck_assert_int_eq(tnn_loss_mae(p, t, &loss, g), TNN_OK);
    ck_assert(isnan(loss) && isnan(tnn_tensor_data(g)[0]));
    ck_assert_float_eq(tnn_tensor_data(g)[1], 0.0f);
    ck_assert_int_eq(tnn_loss_huber(p, t, 1.0f, &loss, g), TNN_OK);
    ck_assert(isnan(loss) && isnan(tnn_tensor_data(g)[0]));
    ck_assert_float_eq(tnn_tensor_data(g)[3], 0.25f);
    double accuracy;
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(p, t, &loss, g, &accuracy),
                     TNN_OK);
    ck_assert(isnan(loss) && isnan(tnn_tensor_data(g)[0]));
    ck_assert(isfinite(tnn_tensor_data(g)[1]));
    /* The NaN logit (target 0) never counts, as in cross-entropy: of the
     * others, 1 -> 1 and 3 -> 1 are right, 2 -> 0 is not. */
    ck_assert_double_eq(accuracy, 0.5);
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
}
END_TEST

/* Every bad argument: the documented code, a message naming the function
 * (and the value), and nothing written. */
START_TEST(new_losses_misuse)
{
    tnn_tensor *p = tnn_tensor_new_2d(2, 3), *t = tnn_tensor_new_2d(2, 3);
    tnn_tensor *g = tnn_tensor_new_2d(2, 3), *wide = tnn_tensor_new_2d(2, 4);
    tnn_tensor *tall = tnn_tensor_new_2d(3, 3);
    size_t six = 6;
    tnn_tensor *flat = tnn_tensor_new(1, &six);
    tnn_tensor_fill(t, 0.5f);
    double loss = 42.0, acc = 42.0;
    tnn_tensor_fill(g, 7.0f);
    static const char *const mae = "tnn_loss_mae", *const hub =
                                                       "tnn_loss_huber";
    static const char *const bce = "tnn_loss_binary_cross_entropy";

    ck_assert_int_eq(tnn_loss_mae(NULL, t, &loss, g), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, mae);
    ck_assert_int_eq(tnn_loss_mae(p, NULL, &loss, g), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, mae);
    ck_assert_int_eq(tnn_loss_mae(flat, flat, &loss, NULL), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, mae);
    ck_assert_int_eq(tnn_loss_mae(p, wide, &loss, g), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, mae);
    ck_assert_int_eq(tnn_loss_mae(p, tall, &loss, g), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, mae);
    ck_assert_int_eq(tnn_loss_mae(p, t, &loss, wide), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, mae);

    ck_assert_int_eq(tnn_loss_huber(NULL, t, 1.0f, &loss, g), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, hub);
    ck_assert_int_eq(tnn_loss_huber(p, NULL, 1.0f, &loss, g), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, hub);
    ck_assert_int_eq(tnn_loss_huber(flat, flat, 1.0f, &loss, g), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, hub);
    ck_assert_int_eq(tnn_loss_huber(p, wide, 1.0f, &loss, g), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, hub);
    ck_assert_int_eq(tnn_loss_huber(p, t, 1.0f, &loss, tall), TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, hub);
    static const struct {
        float delta;
        const char *text;
    } bad_delta[] = {
        {0.0f, "delta is 0;"},       {-0.0f, "delta is -0;"},
        {-1.0f, "delta is -1;"},     {NAN, "delta is nan;"},
        {INFINITY, "delta is inf;"}, {-INFINITY, "delta is -inf;"}};
    for (size_t b = 0; b < sizeof bad_delta / sizeof bad_delta[0]; b++) {
        ck_assert_int_eq(tnn_loss_huber(p, t, bad_delta[b].delta, &loss, g),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, hub);
        ck_assert_msg(strstr(tnn_last_error(), bad_delta[b].text),
                      "\"%s\" does not say \"%s\"", tnn_last_error(),
                      bad_delta[b].text);
    }
    /* The smallest positive delta is a delta. */
    ck_assert_int_eq(tnn_loss_huber(p, t, 0x1p-149f, NULL, NULL), TNN_OK);
    tnn_tensor_fill(g, 7.0f);

    ck_assert_int_eq(tnn_loss_binary_cross_entropy(NULL, t, &loss, g, &acc),
                     TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, bce);
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(p, NULL, &loss, g, &acc),
                     TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, bce);
    ck_assert_int_eq(
        tnn_loss_binary_cross_entropy(flat, flat, &loss, NULL, &acc),
        TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, bce);
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(p, tall, &loss, g, &acc),
                     TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, bce);
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(p, t, &loss, wide, &acc),
                     TNN_E_SHAPE);
    assert_failed_with(TNN_E_SHAPE, bce);
    static const struct {
        size_t row, col;
        float value;
        const char *text;
    } bad[] = {{1, 2, -0.25f, "-0.25"},   {0, 1, 1.5f, "1.5"},
               {1, 0, NAN, "nan"},        {0, 0, INFINITY, "inf"},
               {1, 1, -INFINITY, "-inf"}, {0, 2, 1.0000001f, "1"}};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        tnn_tensor_fill(t, 0.5f);
        tnn_tensor_data(t)[bad[b].row * 3 + bad[b].col] = bad[b].value;
        ck_assert_int_eq(tnn_loss_binary_cross_entropy(p, t, &loss, g, &acc),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, bce);
        char where[64];
        snprintf(where, sizeof where, "row %zu, column %zu is %s", bad[b].row,
                 bad[b].col, bad[b].text);
        ck_assert_msg(strstr(tnn_last_error(), where) != NULL,
                      "message \"%s\" does not say \"%s\"", tnn_last_error(),
                      where);
    }
    /* Nothing was written by any failed call. */
    ck_assert_double_eq(loss, 42.0);
    ck_assert_double_eq(acc, 42.0);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(tnn_tensor_data(g)[i], 7.0f);
    /* 0, -0 and 1 are targets. */
    const float edge[6] = {0, -0.0f, 1, 1, 0, 0.5f};
    tnn_tensor_copy_from(t, edge, 6);
    ck_assert_int_eq(tnn_loss_binary_cross_entropy(p, t, &loss, g, &acc),
                     TNN_OK);
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    tnn_tensor_free(g);
    tnn_tensor_free(wide);
    tnn_tensor_free(tall);
    tnn_tensor_free(flat);
}
END_TEST

/* ---- the new losses in models ------------------------------------------- */

static tnn_model *dense_model(size_t in, size_t out, tnn_layer *last, int loss)
{
    tnn_model *m = tnn_model_new(in);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tnn_model_set_seed(m, 5), TNN_OK);
    ck_assert_int_eq(tnn_model_add(m, tnn_dense_new(in, out)), TNN_OK);
    if (last)
        ck_assert_int_eq(tnn_model_add(m, last), TNN_OK);
    ck_assert_int_eq(tnn_model_set_loss(m, loss), TNN_OK);
    return m;
}

static int refuse_changes(const tnn_progress *p, void *user)
{
    int *calls = user;
    tnn_model *m = tnn_progress_model(p);
    if (!m)
        return 1;
    (*calls)++;
    ck_assert_int_eq(tnn_model_set_huber_delta(m, 2.0f), TNN_E_STATE);
    assert_failed_with(TNN_E_STATE, "tnn_model_set_huber_delta");
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MAE), TNN_E_STATE);
    ck_assert_float_eq(tnn_model_huber_delta(m), 0.5f);
    return 0;
}

START_TEST(model_loss_and_huber_delta_setters)
{
    tnn_model *m = dense_model(2, 1, NULL, TNN_LOSS_MSE);
    ck_assert_float_eq(tnn_model_huber_delta(m), 1.0f);
    const int losses[5] = {TNN_LOSS_MSE, TNN_LOSS_CROSS_ENTROPY, TNN_LOSS_MAE,
                           TNN_LOSS_HUBER, TNN_LOSS_BINARY_CROSS_ENTROPY};
    for (int c = 0; c < 5; c++)
        ck_assert_int_eq(tnn_model_set_loss(m, losses[c]), TNN_OK);
    /* 2 is no loss, nor is anything past the last. */
    const int bad_loss[3] = {2, TNN_LOSS_BINARY_CROSS_ENTROPY + 1, -1};
    for (int b = 0; b < 3; b++) {
        ck_assert_int_eq(tnn_model_set_loss(m, bad_loss[b]), TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_model_set_loss");
        char text[32];
        snprintf(text, sizeof text, "loss is %d;", bad_loss[b]);
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), text));
    }
    ck_assert_int_eq(tnn_model_set_loss(NULL, TNN_LOSS_MAE), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_model_set_loss");

    ck_assert_int_eq(tnn_model_set_huber_delta(m, 0.5f), TNN_OK);
    ck_assert_float_eq(tnn_model_huber_delta(m), 0.5f);
    const float bad[5] = {0.0f, -0.0f, -2.0f, NAN, INFINITY};
    for (int b = 0; b < 5; b++) {
        ck_assert_int_eq(tnn_model_set_huber_delta(m, bad[b]), TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_model_set_huber_delta");
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "delta is "));
        ck_assert_float_eq(tnn_model_huber_delta(m), 0.5f);
    }
    ck_assert_int_eq(tnn_model_set_huber_delta(NULL, 1.0f), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_model_set_huber_delta");
    ck_assert_float_eq(tnn_model_huber_delta(NULL), 0.0f);

    /* While fit runs, its callback may not change the loss or delta. */
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_HUBER), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.01f)), TNN_OK);
    tnn_tensor *x = tnn_tensor_new_2d(4, 2), *y = tnn_tensor_new_2d(4, 1);
    int calls = 0;
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 0, refuse_changes, &calls),
        TNN_OK);
    ck_assert_int_eq(calls, 3);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}
END_TEST

/* A model's loss (compute_gradients, evaluate) is the loss function's on
 * its outputs, with the model's Huber delta, and the last dense layer's
 * bias gradient is the loss gradient summed over the rows. */
START_TEST(model_uses_each_loss)
{
    const size_t m_rows = 5, k = 2;
    tnn_rng *rng = tnn_rng_new(17);
    tnn_tensor *x = tnn_tensor_new_2d(m_rows, 3);
    tnn_tensor *y = tnn_tensor_new_2d(m_rows, k);
    tnn_tensor_rand_uniform(x, rng, -2, 2);
    tnn_tensor_rand_uniform(y, rng, 0, 1);
    tnn_tensor *out = tnn_tensor_new_2d(m_rows, k);
    tnn_tensor *g = tnn_tensor_new_2d(m_rows, k);
    const int losses[4] = {TNN_LOSS_MAE, TNN_LOSS_HUBER, TNN_LOSS_HUBER,
                           TNN_LOSS_BINARY_CROSS_ENTROPY};
    const float deltas[4] = {1.0f, 1.0f, 0.2f, 1.0f};
    for (int c = 0; c < 4; c++) {
        tnn_model *m = dense_model(3, k, tnn_identity_new(), losses[c]);
        ck_assert_int_eq(tnn_model_set_huber_delta(m, deltas[c]), TNN_OK);
        double loss, eval_loss, acc, want, want_acc = NAN;
        ck_assert_int_eq(tnn_model_compute_gradients(m, x, y, &loss), TNN_OK);
        ck_assert_int_eq(tnn_model_evaluate(m, x, y, &eval_loss, &acc),
                         TNN_OK);
        ck_assert_int_eq(tnn_model_predict(m, x, out), TNN_OK);
        int rc =
            losses[c] == TNN_LOSS_MAE ? tnn_loss_mae(out, y, &want, g)
            : losses[c] == TNN_LOSS_HUBER
                ? tnn_loss_huber(out, y, deltas[c], &want, g)
                : tnn_loss_binary_cross_entropy(out, y, &want, g, &want_acc);
        ck_assert_int_eq(rc, TNN_OK);
        ck_assert_double_eq_tol(loss, want, 1e-12);
        ck_assert_double_eq_tol(eval_loss, want, 1e-12);
        if (losses[c] == TNN_LOSS_BINARY_CROSS_ENTROPY)
            ck_assert_double_eq(acc, want_acc);
        else
            ck_assert(isnan(acc));
        const float *bias_grad =
            tnn_tensor_cdata(tnn_layer_grad(tnn_model_layer(m, 0), 1));
        for (size_t j = 0; j < k; j++) {
            double sum = 0;
            for (size_t r = 0; r < m_rows; r++)
                sum += tnn_tensor_data(g)[r * k + j];
            ck_assert_double_eq_tol(bias_grad[j], sum, 1e-6);
        }
        tnn_model_free(m);
    }
    /* Delta 0.2 gives another loss than delta 1 on these outputs. */
    double l1, l02;
    tnn_loss_huber(out, y, 1.0f, &l1, NULL);
    tnn_loss_huber(out, y, 0.2f, &l02, NULL);
    ck_assert(fabs(l1 - l02) > 1e-3);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(out);
    tnn_tensor_free(g);
    tnn_rng_free(rng);
}
END_TEST

static void copy_params(tnn_model *to, tnn_model *from)
{
    tnn_layer *a = tnn_model_layer(to, 0), *b = tnn_model_layer(from, 0);
    for (int p = 0; p < 2; p++)
        ck_assert_int_eq(
            tnn_tensor_copy_from(tnn_layer_param(a, p),
                                 tnn_tensor_cdata(tnn_layer_param(b, p)),
                                 tnn_tensor_size(tnn_layer_param(b, p))),
            TNN_OK);
}

static void assert_close_tensors(const tnn_tensor *a, const tnn_tensor *b,
                                 double rel, const char *what)
{
    ck_assert_uint_eq(tnn_tensor_size(a), tnn_tensor_size(b));
    for (size_t i = 0; i < tnn_tensor_size(a); i++) {
        double u = tnn_tensor_cdata(a)[i], v = tnn_tensor_cdata(b)[i];
        ck_assert_msg(fabs(u - v) <= rel * fabs(v) + 1e-30,
                      "%s %zu: %a against %a", what, i, u, v);
    }
}

/* A sigmoid last layer under binary cross-entropy is fused: training
 * takes its input as the logits, so the loss and gradients are those of
 * the same model with an identity in its place, on logits, while
 * prediction gives the sigmoid's probabilities. */
START_TEST(fused_sigmoid_matches_logits)
{
    const size_t n = 6, k = 2;
    tnn_rng *rng = tnn_rng_new(23);
    tnn_tensor *x = tnn_tensor_new_2d(n, 3), *y = tnn_tensor_new_2d(n, k);
    tnn_tensor_rand_uniform(x, rng, -3, 3);
    tnn_tensor_rand_uniform(y, rng, 0, 1);
    tnn_tensor_data(y)[0] = 0.0f;
    tnn_tensor_data(y)[1] = 1.0f;
    tnn_model *fused =
        dense_model(3, k, tnn_sigmoid_new(), TNN_LOSS_BINARY_CROSS_ENTROPY);
    tnn_model *plain =
        dense_model(3, k, tnn_identity_new(), TNN_LOSS_BINARY_CROSS_ENTROPY);
    /* Weights large enough for saturated probabilities, where a sigmoid
     * followed by log() would lose the loss. */
    tnn_tensor_rand_uniform(tnn_layer_param(tnn_model_layer(fused, 0), 0), rng,
                            -8, 8);
    copy_params(plain, fused);
    double lf, lp;
    ck_assert_int_eq(tnn_model_compute_gradients(fused, x, y, &lf), TNN_OK);
    ck_assert_int_eq(tnn_model_compute_gradients(plain, x, y, &lp), TNN_OK);
    ck_assert_double_eq_tol(lf, lp, 1e-15 * lp);
    for (int p = 0; p < 2; p++)
        assert_close_tensors(tnn_layer_grad(tnn_model_layer(fused, 0), p),
                             tnn_layer_grad(tnn_model_layer(plain, 0), p),
                             0x1p-22, "gradient");
    double ef, ep, af, ap;
    ck_assert_int_eq(tnn_model_evaluate(fused, x, y, &ef, &af), TNN_OK);
    ck_assert_int_eq(tnn_model_evaluate(plain, x, y, &ep, &ap), TNN_OK);
    ck_assert_double_eq_tol(ef, lf, 1e-15 * lf);
    ck_assert_double_eq_tol(ep, lp, 1e-15 * lp);
    ck_assert_double_eq(af, ap);
    /* Predictions: probabilities from the fused model, logits from the
     * other. */
    tnn_tensor *pf = tnn_tensor_new_2d(n, k), *pl = tnn_tensor_new_2d(n, k);
    ck_assert_int_eq(tnn_model_predict(fused, x, pf), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(plain, x, pl), TNN_OK);
    for (size_t i = 0; i < n * k; i++) {
        double z = tnn_tensor_data(pl)[i], want = 1 / (1 + exp(-z));
        ck_assert_double_eq_tol(tnn_tensor_data(pf)[i], want, 1e-7);
    }
    /* One SGD step each: the same parameters after it. */
    ck_assert_int_eq(tnn_model_set_optim(fused, tnn_sgd_new(0.1f)), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(plain, tnn_sgd_new(0.1f)), TNN_OK);
    ck_assert_int_eq(tnn_model_apply_gradients(fused), TNN_OK);
    ck_assert_int_eq(tnn_model_apply_gradients(plain), TNN_OK);
    for (int p = 0; p < 2; p++)
        assert_close_tensors(tnn_layer_param(tnn_model_layer(fused, 0), p),
                             tnn_layer_param(tnn_model_layer(plain, 0), p),
                             1e-6, "parameter");
    /* Under another loss the sigmoid is not fused: MSE sees probabilities. */
    ck_assert_int_eq(tnn_model_set_loss(fused, TNN_LOSS_MSE), TNN_OK);
    double mse, want_mse;
    ck_assert_int_eq(tnn_model_evaluate(fused, x, y, &mse, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_predict(fused, x, pf), TNN_OK);
    ck_assert_int_eq(tnn_loss_mse(pf, y, &want_mse, NULL), TNN_OK);
    ck_assert_double_eq_tol(mse, want_mse, 1e-12);
    tnn_tensor_free(pf);
    tnn_tensor_free(pl);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(fused);
    tnn_model_free(plain);
    tnn_rng_free(rng);
}
END_TEST

/* evaluate's accuracy: binary accuracy over every value for binary
 * cross-entropy (with or without the fused sigmoid), NaN for MAE and
 * Huber; fit's progress reports the same kinds of figure. */
static int record_accuracy(const tnn_progress *p, void *user)
{
    double *acc = user;
    if (tnn_progress_event(p) == TNN_EVENT_EPOCH_END)
        *acc = tnn_progress_accuracy(p);
    return 0;
}

START_TEST(evaluate_accuracy_per_loss)
{
    /* One input, two outputs: logits (w0 x + b0, w1 x + b1) = (x, -x +
     * 0.5) for weights (1, -1) and biases (0, 0.5). */
    const float xv[4] = {-1, 0.25f, 1, 2};
    const float yv[8] = {0,    1, /* logits -1, 1.5: both right */
                         1,    0, /* 0.25, 0.25: first right */
                         0,    0, /* 1, -0.5: second right */
                         0.5f, 0.75f /* 2, -1.5: neither (0.5 is 0) */};
    tnn_tensor *x = tensor_2d_of(4, 1, xv), *y = tensor_2d_of(4, 2, yv);
    tnn_layer *last[3] = {tnn_identity_new(), tnn_sigmoid_new(), NULL};
    for (int c = 0; c < 3; c++) {
        tnn_model *m =
            dense_model(1, 2, last[c], TNN_LOSS_BINARY_CROSS_ENTROPY);
        tnn_layer *d = tnn_model_layer(m, 0);
        const float w[2] = {1, -1}, b[2] = {0, 0.5f};
        tnn_tensor_copy_from(tnn_layer_param(d, 0), w, 2);
        tnn_tensor_copy_from(tnn_layer_param(d, 1), b, 2);
        double loss, acc;
        ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &acc), TNN_OK);
        ck_assert_double_eq(acc, 4.0 / 8.0);
        ck_assert(isfinite(loss) && loss > 0);
        /* fit reports binary accuracy too (a running figure). */
        ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(1e-6f)), TNN_OK);
        double fit_acc = -1;
        ck_assert_int_eq(
            tnn_model_fit(m, x, y, x, y, 1, 4, 0, record_accuracy, &fit_acc),
            TNN_OK);
        ck_assert_double_eq(fit_acc, 4.0 / 8.0);
        for (int loss_kind = TNN_LOSS_MAE; loss_kind <= TNN_LOSS_HUBER;
             loss_kind++) {
            ck_assert_int_eq(tnn_model_set_loss(m, loss_kind), TNN_OK);
            ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &acc), TNN_OK);
            ck_assert(isnan(acc));
            ck_assert_int_eq(tnn_model_fit(m, x, y, NULL, NULL, 1, 4, 0,
                                           record_accuracy, &fit_acc),
                             TNN_OK);
            ck_assert(isnan(fit_acc));
        }
        tnn_model_free(m);
    }
    tnn_tensor_free(x);
    tnn_tensor_free(y);
}
END_TEST

/* Logistic regression: a dense layer and a sigmoid, trained with binary
 * cross-entropy on a separable set, classifies it without error. */
START_TEST(logistic_regression_separates)
{
    enum { N = 60 };
    tnn_rng *rng = tnn_rng_new(3);
    tnn_tensor *x = tnn_tensor_new_2d(N, 2), *y = tnn_tensor_new_2d(N, 1);
    for (size_t i = 0; i < N; i++) {
        float *row = tnn_tensor_data(x) + 2 * i;
        double s;
        do {
            row[0] = (float)(4 * tnn_rng_uniform(rng) - 2);
            row[1] = (float)(4 * tnn_rng_uniform(rng) - 2);
            s = row[0] - 2.0 * row[1] + 0.5;
        } while (fabs(s) < 0.3); /* a margin around the boundary */
        tnn_tensor_data(y)[i] = s > 0 ? 1.0f : 0.0f;
    }
    tnn_model *m =
        dense_model(2, 1, tnn_sigmoid_new(), TNN_LOSS_BINARY_CROSS_ENTROPY);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.5f)), TNN_OK);
    double before, loss, acc;
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &before, NULL), TNN_OK);
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, 200, 10, 1, NULL, NULL), TNN_OK);
    ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &acc), TNN_OK);
    ck_assert_double_eq(acc, 1.0);
    ck_assert_msg(loss < 0.1 && loss < before / 4, "loss %g (from %g)", loss,
                  before);
    /* The predictions are probabilities on the right side of 0.5. */
    tnn_tensor *p = tnn_tensor_new_2d(N, 1);
    ck_assert_int_eq(tnn_model_predict(m, x, p), TNN_OK);
    for (size_t i = 0; i < N; i++) {
        float q = tnn_tensor_data(p)[i];
        ck_assert(q >= 0.0f && q <= 1.0f);
        ck_assert_int_eq(q > 0.5f, tnn_tensor_data(y)[i] > 0.5f);
    }
    tnn_tensor_free(p);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
    tnn_rng_free(rng);
}
END_TEST

/* Fit y = 2x + 1 on 21 points of which one is an outlier (y = 60 at
 * x = 0.5) with loss, and return the slope and intercept. */
static void fit_line(int loss, float delta, int epochs, float lr,
                     double *slope, double *intercept)
{
    enum { N = 21 };
    tnn_tensor *x = tnn_tensor_new_2d(N, 1), *y = tnn_tensor_new_2d(N, 1);
    for (size_t i = 0; i < N; i++) {
        float xi = (float)i / 10.0f - 1.0f;
        tnn_tensor_data(x)[i] = xi;
        tnn_tensor_data(y)[i] = i == 15 ? 60.0f : 2.0f * xi + 1.0f;
    }
    tnn_model *m = dense_model(1, 1, NULL, loss);
    ck_assert_int_eq(tnn_model_set_huber_delta(m, delta), TNN_OK);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_adam_new(lr)), TNN_OK);
    tnn_optim_set_cosine_schedule(tnn_model_optim(m), epochs, 0.0f);
    ck_assert_int_eq(
        tnn_model_fit(m, x, y, NULL, NULL, epochs, N, 0, NULL, NULL), TNN_OK);
    tnn_layer *d = tnn_model_layer(m, 0);
    *slope = tnn_tensor_data(tnn_layer_param(d, 0))[0];
    *intercept = tnn_tensor_data(tnn_layer_param(d, 1))[0];
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_model_free(m);
}

/* MAE and Huber regression converge to the line despite the outlier,
 * which pulls the MSE fit far off it. */
START_TEST(robust_regression_fits_the_line)
{
    double slope, intercept;
    fit_line(TNN_LOSS_MSE, 1.0f, 3000, 0.05f, &slope, &intercept);
    /* Least squares: the outlier's 55 above the line over 21 points. */
    ck_assert_msg(fabs(intercept - 1) > 1.5, "MSE intercept %g", intercept);
    fit_line(TNN_LOSS_MAE, 1.0f, 3000, 0.05f, &slope, &intercept);
    ck_assert_msg(fabs(slope - 2) < 1e-3 && fabs(intercept - 1) < 1e-3,
                  "MAE line %g x + %g", slope, intercept);
    /* Huber's optimum moves off the line by the outlier's pull of delta /
     * N against the quadratic of the 20 others: about delta / 20 for the
     * intercept. */
    fit_line(TNN_LOSS_HUBER, 1.0f, 3000, 0.05f, &slope, &intercept);
    ck_assert_msg(fabs(slope - 2) < 0.2 && fabs(intercept - 1) < 0.1,
                  "Huber line %g x + %g", slope, intercept);
    double s_small, i_small;
    fit_line(TNN_LOSS_HUBER, 0.05f, 3000, 0.05f, &s_small, &i_small);
    ck_assert_msg(fabs(s_small - 2) < 0.02 && fabs(i_small - 1) < 0.01,
                  "Huber (delta 0.05) line %g x + %g", s_small, i_small);
}
END_TEST

/* A model under binary cross-entropy refuses targets outside [0, 1] (or
 * NaN) before any work: train_batch, compute_gradients, evaluate and fit
 * (its y and y_val), naming row and column, the parameters unchanged. */
START_TEST(model_refuses_bad_binary_targets)
{
    tnn_model *m =
        dense_model(2, 2, tnn_sigmoid_new(), TNN_LOSS_BINARY_CROSS_ENTROPY);
    ck_assert_int_eq(tnn_model_set_optim(m, tnn_sgd_new(0.1f)), TNN_OK);
    const float xv[4] = {1, -1, 0.5f, 2};
    const float good[4] = {0, 1, 0.25f, 1};
    tnn_tensor *x = tensor_2d_of(2, 2, xv), *ok = tensor_2d_of(2, 2, good);
    tnn_tensor *y = tnn_tensor_new_2d(2, 2);
    tnn_tensor *w =
        tnn_tensor_clone(tnn_layer_param(tnn_model_layer(m, 0), 0));
    const float bad[3] = {1.5f, -0.5f, NAN};
    for (int b = 0; b < 3; b++) {
        tnn_tensor_copy_from(y, good, 4);
        tnn_tensor_data(y)[3] = bad[b];
        double loss = 42, acc = 42;
        ck_assert_int_eq(tnn_model_train_batch(m, x, y, &loss), TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_model_train_batch");
        ck_assert_ptr_nonnull(strstr(tnn_last_error(), "row 1, column 1"));
        ck_assert_int_eq(tnn_model_compute_gradients(m, x, y, &loss),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_model_compute_gradients");
        ck_assert_int_eq(tnn_model_evaluate(m, x, y, &loss, &acc),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_model_evaluate");
        ck_assert_int_eq(
            tnn_model_fit(m, x, y, NULL, NULL, 1, 2, 0, NULL, NULL),
            TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_model_fit");
        ck_assert_int_eq(tnn_model_fit(m, x, ok, x, y, 1, 2, 0, NULL, NULL),
                         TNN_E_INVALID);
        assert_failed_with(TNN_E_INVALID, "tnn_model_fit");
        ck_assert_double_eq(loss, 42);
        ck_assert_double_eq(acc, 42);
        ck_assert_mem_eq(
            tnn_tensor_data(w),
            tnn_tensor_data(tnn_layer_param(tnn_model_layer(m, 0), 0)),
            4 * sizeof(float));
    }
    /* The same targets are fine for MAE, which has no range. */
    ck_assert_int_eq(tnn_model_set_loss(m, TNN_LOSS_MAE), TNN_OK);
    tnn_tensor_data(y)[3] = 1.5f;
    ck_assert_int_eq(tnn_model_train_batch(m, x, y, NULL), TNN_OK);
    tnn_tensor_free(w);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(ok);
    tnn_model_free(m);
}
END_TEST

Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mse_value_and_gradient);
    tcase_add_test(tc, mse_many_values_against_double);
    tcase_add_test(tc, long_losses_same_bits_on_any_thread_count);
    tcase_add_test(tc, cross_entropy_gradients);
    tcase_add_test(tc, cross_entropy_probability_rows);
    tcase_add_test(tc, cross_entropy_unnormalised_rows);
    tcase_add_test(tc, cross_entropy_extreme_logits);
    tcase_add_test(tc, cross_entropy_nan_logits);
    tcase_add_test(tc, cross_entropy_misuse);
    tcase_add_test(tc, cross_entropy_refuses_bad_probabilities);
    tcase_add_test(tc, model_refuses_negative_probability);
    tcase_add_test(tc, new_losses_hand_values);
    tcase_add_test(tc, new_losses_gradient_check);
    tcase_add_test(tc, new_losses_match_pytorch);
    tcase_add_test(tc, binary_cross_entropy_extreme_logits);
    tcase_add_test(tc, new_losses_nan_inputs);
    tcase_add_test(tc, new_losses_misuse);
    tcase_add_test(tc, model_loss_and_huber_delta_setters);
    tcase_add_test(tc, model_uses_each_loss);
    tcase_add_test(tc, fused_sigmoid_matches_logits);
    tcase_add_test(tc, evaluate_accuracy_per_loss);
    tcase_add_test(tc, logistic_regression_separates);
    tcase_add_test(tc, robust_regression_fits_the_line);
    tcase_add_test(tc, model_refuses_bad_binary_targets);
    suite_add_tcase(s, tc);
    return s;
}
