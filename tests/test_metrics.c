/*
 * Metrics: hand-computed values on tiny cases, scikit-learn's values on
 * the cases of tests/reference/metrics.py (tests/data/metrics-sklearn.txt),
 * the ways classes may be given, the printed table, and every refusal.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream() */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "testutil.h"

#ifndef TNN_TEST_DATA_DIR
#define TNN_TEST_DATA_DIR "tests/data"
#endif

/* A tensor of rows x cols values (cols 0: a 1-D tensor of rows). */
static tnn_tensor *tensor_of(const float *values, size_t rows, size_t cols)
{
    tnn_tensor *t = cols ? tnn_tensor_new_2d(rows, cols)
                         : tnn_tensor_new(1, (size_t[]){rows});
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tnn_tensor_copy_from(t, values, tnn_tensor_size(t)),
                     TNN_OK);
    return t;
}

/* got within 1e-12 relative of want (exactly 0 when want is). */
static void assert_close(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want),
                  "%s is %a (%.17g); expected %a (%.17g)", what, got, got,
                  want, want);
}

/* ---- hand-computed ------------------------------------------------------ */

/* true 0 0 0 1 1 2, predicted 0 0 1 1 2 2:
 *
 *          pred 0  1  2     precision  recall  F1          support
 *   true 0      2  1  0     2/2        2/3     4/5         3
 *   true 1      0  1  1     1/2        1/2     2/4         2
 *   true 2      0  0  1     1/2        1/1     2/3         1
 *
 * F1 = 2 tp / (predicted + true count). Macro: the plain means; weighted
 * by support (3, 2, 1); micro: 4 right of 6. */
START_TEST(hand_computed_classification)
{
    const float truth[6] = {0, 0, 0, 1, 1, 2}, guess[6] = {0, 0, 1, 1, 2, 2};
    tnn_tensor *t = tensor_of(truth, 6, 0), *p = tensor_of(guess, 6, 0);
    size_t counts[9];
    ck_assert_int_eq(tnn_confusion_matrix(p, t, 3, counts), TNN_OK);
    const size_t want_counts[9] = {2, 1, 0, 0, 1, 1, 0, 0, 1};
    for (int i = 0; i < 9; i++)
        ck_assert_uint_eq(counts[i], want_counts[i]);
    double acc = -1;
    ck_assert_int_eq(tnn_accuracy(p, t, &acc), TNN_OK);
    assert_close(acc, 4.0 / 6.0, "accuracy");

    double prec[3], rec[3], f1[3];
    size_t support[3];
    ck_assert_int_eq(tnn_class_scores(counts, 3, prec, rec, f1, support),
                     TNN_OK);
    const double want_p[3] = {1.0, 0.5, 0.5}, want_r[3] = {2.0 / 3, 0.5, 1.0},
                 want_f[3] = {0.8, 0.5, 2.0 / 3};
    const size_t want_s[3] = {3, 2, 1};
    for (int j = 0; j < 3; j++) {
        assert_close(prec[j], want_p[j], "precision");
        assert_close(rec[j], want_r[j], "recall");
        assert_close(f1[j], want_f[j], "f1");
        ck_assert_uint_eq(support[j], want_s[j]);
    }
    /* Each output may be NULL. */
    ck_assert_int_eq(tnn_class_scores(counts, 3, NULL, NULL, NULL, NULL),
                     TNN_OK);
    ck_assert_int_eq(tnn_class_scores(counts, 3, NULL, rec, NULL, NULL),
                     TNN_OK);

    static const struct {
        int (*fn)(const size_t *, size_t, int, double *);
        const char *name;
        double macro, weighted, micro;
    } cases[] = {
        {tnn_precision, "precision", 2.0 / 3, (3 * 1.0 + 2 * 0.5 + 0.5) / 6,
         4.0 / 6},
        {tnn_recall, "recall", (2.0 / 3 + 0.5 + 1.0) / 3, 4.0 / 6, 4.0 / 6},
        {tnn_f1_score, "f1", (0.8 + 0.5 + 2.0 / 3) / 3,
         (3 * 0.8 + 2 * 0.5 + 2.0 / 3) / 6, 4.0 / 6},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double v = -1;
        ck_assert_int_eq(cases[c].fn(counts, 3, TNN_AVERAGE_MACRO, &v),
                         TNN_OK);
        assert_close(v, cases[c].macro, cases[c].name);
        ck_assert_int_eq(cases[c].fn(counts, 3, TNN_AVERAGE_WEIGHTED, &v),
                         TNN_OK);
        assert_close(v, cases[c].weighted, cases[c].name);
        ck_assert_int_eq(cases[c].fn(counts, 3, TNN_AVERAGE_MICRO, &v),
                         TNN_OK);
        assert_close(v, cases[c].micro, cases[c].name);
    }
    /* The hand values themselves, as fractions. */
    ck_assert_double_eq_tol((0.8 + 0.5 + 2.0 / 3) / 3, 59.0 / 90, 1e-15);
    ck_assert_double_eq_tol((3 * 0.8 + 2 * 0.5 + 2.0 / 3) / 6, 61.0 / 90,
                            1e-15);
    tnn_tensor_free(t);
    tnn_tensor_free(p);
}
END_TEST

/* Scores of 3 rows of 4 classes; the label's rank in its row is 1, 4 and,
 * in the last row, 3 or 4: its score ties with another, and a row counts
 * when fewer than k scores are larger than its label's. */
START_TEST(hand_computed_top_k)
{
    const float scores[12] = {0.7f, 0.1f,  0.1f, 0.1f,  /* label 0 */
                              0.4f, 0.3f,  0.1f, 0.2f,  /* label 2 */
                              0.5f, 0.25f, 0.0f, 0.0f}; /* label 3 */
    const float labels[3] = {0, 2, 3};
    tnn_tensor *s = tensor_of(scores, 3, 4), *l = tensor_of(labels, 3, 0);
    const double want[5] = {0, 1.0 / 3, 1.0 / 3, 2.0 / 3, 1.0};
    for (size_t k = 1; k <= 4; k++) {
        double acc = -1;
        ck_assert_int_eq(tnn_top_k_accuracy(s, l, k, &acc), TNN_OK);
        assert_close(acc, want[k], "top-k accuracy");
    }
    /* Top-1 is the accuracy of the first largest score. */
    double acc1 = -1, acc = -1;
    ck_assert_int_eq(tnn_top_k_accuracy(s, l, 1, &acc1), TNN_OK);
    ck_assert_int_eq(tnn_accuracy(s, l, &acc), TNN_OK);
    assert_close(acc, acc1, "accuracy");
    tnn_tensor_free(s);
    tnn_tensor_free(l);
}
END_TEST

/* pred 1 2 3 4 against target 1 3 2 6 (errors 0 1 1 2; mean 3, squares
 * about it 4 0 1 9): MAE 1, RMSE sqrt(6 / 4), R^2 1 - 6 / 14. A second
 * output of constant target 5 predicted 5 5 5 7 scores MAE 0.5, RMSE
 * sqrt(4 / 4) and R^2 0; predicted exactly, R^2 1. */
START_TEST(hand_computed_regression)
{
    const float pred1[4] = {1, 2, 3, 4}, target1[4] = {1, 3, 2, 6};
    tnn_tensor *p = tensor_of(pred1, 4, 0), *t = tensor_of(target1, 4, 0);
    double v = -1;
    ck_assert_int_eq(tnn_mean_absolute_error(p, t, &v), TNN_OK);
    assert_close(v, 1.0, "MAE");
    ck_assert_int_eq(tnn_root_mean_squared_error(p, t, &v), TNN_OK);
    assert_close(v, sqrt(1.5), "RMSE");
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    assert_close(v, 4.0 / 7, "R2");
    tnn_tensor_free(p);
    tnn_tensor_free(t);

    const float pred2[8] = {1, 5, 2, 5, 3, 5, 4, 7};
    const float target2[8] = {1, 5, 3, 5, 2, 5, 6, 5};
    p = tensor_of(pred2, 4, 2);
    t = tensor_of(target2, 4, 2);
    ck_assert_int_eq(tnn_mean_absolute_error(p, t, &v), TNN_OK);
    assert_close(v, (1.0 + 0.5) / 2, "MAE");
    ck_assert_int_eq(tnn_root_mean_squared_error(p, t, &v), TNN_OK);
    assert_close(v, (sqrt(1.5) + 1.0) / 2, "RMSE");
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    assert_close(v, (4.0 / 7 + 0.0) / 2, "R2");
    tnn_tensor_data(p)[7] = 5;
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    assert_close(v, (4.0 / 7 + 1.0) / 2, "R2");
    /* A perfect prediction scores 0, 0, 1. */
    ck_assert_int_eq(tnn_r2_score(t, t, &v), TNN_OK);
    ck_assert_double_eq(v, 1.0);
    ck_assert_int_eq(tnn_mean_absolute_error(t, t, &v), TNN_OK);
    ck_assert_double_eq(v, 0.0);
    ck_assert_int_eq(tnn_root_mean_squared_error(t, t, &v), TNN_OK);
    ck_assert_double_eq(v, 0.0);
    tnn_tensor_free(p);
    tnn_tensor_free(t);
}
END_TEST

/* ---- scikit-learn's values --------------------------------------------- */

static char reference[1 << 16];

static void load_reference(void)
{
    FILE *f = fopen(TNN_TEST_DATA_DIR "/metrics-sklearn.txt", "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(reference, 1, sizeof reference - 1, f);
    ck_assert_msg(feof(f), "metrics-sklearn.txt is larger than %zu bytes",
                  sizeof reference - 1);
    reference[n] = '\0';
    fclose(f);
}

/* The values of the reference line named name, exactly count of them. */
static void reference_line(const char *name, double *values, size_t count)
{
    size_t len = strlen(name);
    const char *at = reference;
    while (at && !(strncmp(at, name, len) == 0 && at[len] == ' ')) {
        at = strchr(at, '\n');
        if (at)
            at++;
    }
    ck_assert_msg(at != NULL, "metrics-sklearn.txt has no line %s", name);
    char *end = (char *)at + len;
    for (size_t i = 0; i < count; i++) {
        char *start = end;
        values[i] = strtod(start, &end);
        ck_assert_msg(end != start, "%s has fewer than %zu values", name,
                      count);
    }
    while (*end == ' ')
        end++;
    ck_assert_msg(*end == '\n' || *end == '\0', "%s has more than %zu values",
                  name, count);
}

static tnn_tensor *reference_tensor(const char *name, size_t rows, size_t cols)
{
    double v[128];
    float f[128];
    size_t n = rows * (cols ? cols : 1);
    ck_assert_uint_le(n, 128);
    reference_line(name, v, n);
    for (size_t i = 0; i < n; i++) {
        f[i] = (float)v[i];
        ck_assert_msg((double)f[i] == v[i], "%s[%zu] is no float", name, i);
    }
    return tensor_of(f, rows, cols);
}

/* Counts, accuracy, per-class and averaged scores of a case against
 * the reference's lines "<name>.<item>". */
static void check_classification(const char *name, const tnn_tensor *pred,
                                 const tnn_tensor *labels, size_t classes)
{
    char key[64];
    double want[64];
    size_t counts[16];
    ck_assert_uint_le(classes, 4);
    ck_assert_int_eq(tnn_confusion_matrix(pred, labels, classes, counts),
                     TNN_OK);
    snprintf(key, sizeof key, "%s.confusion", name);
    reference_line(key, want, classes * classes);
    for (size_t i = 0; i < classes * classes; i++)
        ck_assert_msg((double)counts[i] == want[i],
                      "%s: count %zu is %zu; scikit-learn %g", name, i,
                      counts[i], want[i]);

    double got;
    ck_assert_int_eq(tnn_accuracy(pred, labels, &got), TNN_OK);
    snprintf(key, sizeof key, "%s.accuracy", name);
    reference_line(key, want, 1);
    assert_close(got, want[0], key);

    double scores[3][4];
    size_t support[4];
    ck_assert_int_eq(tnn_class_scores(counts, classes, scores[0], scores[1],
                                      scores[2], support),
                     TNN_OK);
    static const char *const items[3] = {"precision", "recall", "f1"};
    for (int w = 0; w < 3; w++) {
        snprintf(key, sizeof key, "%s.%s", name, items[w]);
        reference_line(key, want, classes);
        for (size_t j = 0; j < classes; j++)
            assert_close(scores[w][j], want[j], key);
    }
    snprintf(key, sizeof key, "%s.support", name);
    reference_line(key, want, classes);
    for (size_t j = 0; j < classes; j++)
        ck_assert_msg((double)support[j] == want[j],
                      "%s: support %zu is %zu; scikit-learn %g", name, j,
                      support[j], want[j]);

    int (*const fns[3])(const size_t *, size_t, int,
                        double *) = {tnn_precision, tnn_recall, tnn_f1_score};
    static const char *const averages[3] = {"macro", "weighted", "micro"};
    static const int average_codes[3] = {
        TNN_AVERAGE_MACRO, TNN_AVERAGE_WEIGHTED, TNN_AVERAGE_MICRO};
    for (int w = 0; w < 3; w++)
        for (int a = 0; a < 3; a++) {
            got = -1;
            ck_assert_int_eq(fns[w](counts, classes, average_codes[a], &got),
                             TNN_OK);
            snprintf(key, sizeof key, "%s.%s_%s", name, items[w], averages[a]);
            reference_line(key, want, 1);
            assert_close(got, want[0], key);
        }
}

static void check_regression(const char *name)
{
    char key[64];
    double shape[2], want;
    snprintf(key, sizeof key, "%s.shape", name);
    reference_line(key, shape, 2);
    size_t m = (size_t)shape[0], k = (size_t)shape[1];
    snprintf(key, sizeof key, "%s.pred", name);
    tnn_tensor *p = reference_tensor(key, m, k);
    snprintf(key, sizeof key, "%s.target", name);
    tnn_tensor *t = reference_tensor(key, m, k);
    static const char *const items[3] = {"mae", "rmse", "r2"};
    int (*const fns[3])(const tnn_tensor *, const tnn_tensor *, double *) = {
        tnn_mean_absolute_error, tnn_root_mean_squared_error, tnn_r2_score};
    for (int w = 0; w < 3; w++) {
        double got = NAN;
        ck_assert_int_eq(fns[w](p, t, &got), TNN_OK);
        snprintf(key, sizeof key, "%s.%s", name, items[w]);
        reference_line(key, &want, 1);
        assert_close(got, want, key);
    }
    tnn_tensor_free(p);
    tnn_tensor_free(t);
}

START_TEST(metrics_match_sklearn)
{
    load_reference();
    double shape[2], v[20];
    reference_line("multiclass.shape", shape, 2);
    const size_t m = (size_t)shape[0], c = (size_t)shape[1];
    ck_assert_uint_eq(m, 20);
    ck_assert_uint_eq(c, 4);
    tnn_tensor *scores = reference_tensor("multiclass.scores", m, c);
    tnn_tensor *labels = reference_tensor("multiclass.labels", m, 0);
    /* Classes from the scores are numpy's argmax. */
    tnn_tensor *pred = tnn_tensor_new(1, (size_t[]){m});
    ck_assert_int_eq(tnn_predicted_classes(scores, pred), TNN_OK);
    reference_line("multiclass.predicted", v, m);
    for (size_t r = 0; r < m; r++)
        ck_assert_msg(tnn_tensor_data(pred)[r] == (float)v[r],
                      "row %zu predicted %g; numpy %g", r,
                      (double)tnn_tensor_data(pred)[r], v[r]);
    /* The same figures from the scores and from the classes. */
    check_classification("multiclass", scores, labels, c);
    check_classification("multiclass", pred, labels, c);
    reference_line("multiclass.top_k_accuracy", v, 3);
    for (size_t k = 1; k <= 3; k++) {
        double got = -1;
        ck_assert_int_eq(tnn_top_k_accuracy(scores, labels, k, &got), TNN_OK);
        assert_close(got, v[k - 1], "top-k accuracy");
    }
    /* And with one-hot labels. */
    tnn_tensor *one_hot = tnn_tensor_new_2d(m, c);
    for (size_t r = 0; r < m; r++)
        tnn_tensor_data(one_hot)[r * c + (size_t)tnn_tensor_data(labels)[r]] =
            1;
    check_classification("multiclass", scores, one_hot, c);
    tnn_tensor_free(one_hot);
    tnn_tensor_free(scores);
    tnn_tensor_free(labels);
    tnn_tensor_free(pred);

    labels = reference_tensor("binary.labels", 12, 0);
    pred = reference_tensor("binary.predicted", 12, 0);
    check_classification("binary", pred, labels, 2);
    tnn_tensor_free(labels);
    tnn_tensor_free(pred);

    check_regression("regression");
    check_regression("constant");
}
END_TEST

/* ---- how classes are given ---------------------------------------------- */

START_TEST(classes_as_scores_indices_or_one_hot)
{
    /* 5 rows of 3 classes; row 2's largest score appears twice (the first
     * is the class), row 4's is an infinity. */
    const float scores[15] = {0.1f, 0.7f,  0.2f,      /* 1 */
                              2.0f, -1.0f, 0.0f,      /* 0 */
                              0.3f, 0.6f,  0.6f,      /* 1 */
                              -5,   -4,    -3,        /* 2 */
                              0,    0,     INFINITY}; /* 2 */
    const float truth[5] = {1, 2, 2, 2, 0};
    const float want_pred[5] = {1, 0, 1, 2, 2};
    tnn_tensor *s = tensor_of(scores, 5, 3);
    tnn_tensor *t = tensor_of(truth, 5, 0);
    tnn_tensor *classes = tnn_tensor_new_2d(5, 1);
    ck_assert_int_eq(tnn_predicted_classes(s, classes), TNN_OK);
    for (int r = 0; r < 5; r++)
        ck_assert_float_eq(tnn_tensor_data(classes)[r], want_pred[r]);

    size_t from_scores[9], from_indices[9], from_one_hot[9], from_column[9];
    ck_assert_int_eq(tnn_confusion_matrix(s, t, 3, from_scores), TNN_OK);
    ck_assert_int_eq(tnn_confusion_matrix(classes, t, 3, from_indices),
                     TNN_OK);
    /* One-hot labels, and labels as an (m, 1) column. */
    float one_hot[15] = {0};
    for (int r = 0; r < 5; r++)
        one_hot[r * 3 + (int)truth[r]] = 1;
    tnn_tensor *oh = tensor_of(one_hot, 5, 3);
    tnn_tensor *column = tensor_of(truth, 5, 1);
    ck_assert_int_eq(tnn_confusion_matrix(s, oh, 3, from_one_hot), TNN_OK);
    ck_assert_int_eq(tnn_confusion_matrix(classes, column, 3, from_column),
                     TNN_OK);
    const size_t want[9] = {0, 0, 1, 0, 1, 0, 1, 1, 1};
    for (int i = 0; i < 9; i++) {
        ck_assert_uint_eq(from_scores[i], want[i]);
        ck_assert_uint_eq(from_indices[i], want[i]);
        ck_assert_uint_eq(from_one_hot[i], want[i]);
        ck_assert_uint_eq(from_column[i], want[i]);
    }
    double a1 = -1, a2 = -1, a3 = -1, a4 = -1;
    ck_assert_int_eq(tnn_accuracy(s, t, &a1), TNN_OK);
    ck_assert_int_eq(tnn_accuracy(classes, oh, &a2), TNN_OK);
    ck_assert_int_eq(tnn_accuracy(s, oh, &a3), TNN_OK);
    ck_assert_int_eq(tnn_accuracy(t, column, &a4), TNN_OK);
    assert_close(a1, 2.0 / 5, "accuracy");
    assert_close(a2, 2.0 / 5, "accuracy");
    assert_close(a3, 2.0 / 5, "accuracy");
    ck_assert_double_eq(a4, 1.0);
    /* Top-1 counts row 2, whose label's score ties with the largest:
     * no score is larger than the label's. Accuracy takes the first. */
    double k1 = -1, k2 = -1;
    ck_assert_int_eq(tnn_top_k_accuracy(s, oh, 1, &k1), TNN_OK);
    ck_assert_int_eq(tnn_top_k_accuracy(s, t, 1, &k2), TNN_OK);
    assert_close(k1, 3.0 / 5, "top-1 accuracy");
    ck_assert_double_eq(k1, k2);
    /* Without scores any integer index is a class: -0 is 0. */
    const float big_a[2] = {1e6f, -0.0f}, big_b[2] = {1e6f, 0.0f};
    tnn_tensor *ba = tensor_of(big_a, 2, 0), *bb = tensor_of(big_b, 2, 0);
    ck_assert_int_eq(tnn_accuracy(ba, bb, &a1), TNN_OK);
    ck_assert_double_eq(a1, 1.0);
    /* One class: every row is right. */
    const float zeros[2] = {0, 0};
    tnn_tensor *z = tensor_of(zeros, 2, 0);
    size_t one = 9;
    ck_assert_int_eq(tnn_confusion_matrix(z, z, 1, &one), TNN_OK);
    ck_assert_uint_eq(one, 2);
    tnn_tensor_free(z);
    tnn_tensor_free(ba);
    tnn_tensor_free(bb);
    tnn_tensor_free(s);
    tnn_tensor_free(t);
    tnn_tensor_free(classes);
    tnn_tensor_free(oh);
    tnn_tensor_free(column);
}
END_TEST

/* ---- the printed table ---------------------------------------------------
 */

static char *printed(const size_t *counts, size_t classes, int *rc)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(f);
    *rc = tnn_confusion_matrix_print(f, counts, classes);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

START_TEST(confusion_matrix_printed)
{
    const size_t counts[9] = {2, 1, 0, 0, 1, 1, 0, 0, 1};
    int rc;
    char *text = printed(counts, 3, &rc);
    ck_assert_int_eq(rc, TNN_OK);
    ck_assert_str_eq(text, "true\\pred  0  1  2\n"
                           "        0  2  1  0\n"
                           "        1  0  1  1\n"
                           "        2  0  0  1\n");
    free(text);
    /* Columns as wide as the widest count. */
    const size_t wide[4] = {12345, 7, 0, 100};
    text = printed(wide, 2, &rc);
    ck_assert_int_eq(rc, TNN_OK);
    ck_assert_str_eq(text, "true\\pred      0      1\n"
                           "        0  12345      7\n"
                           "        1      0    100\n");
    free(text);
    /* A class number wider than the corner, a count of SIZE_MAX. */
    size_t many[144] = {0};
    many[143] = 5;
    text = printed(many, 12, &rc);
    ck_assert_int_eq(rc, TNN_OK);
    ck_assert_ptr_nonnull(strstr(text, "\n       11   0   0"));
    ck_assert_ptr_nonnull(strstr(text, "   0   5\n"));
    ck_assert_ptr_nonnull(strstr(text, "true\\pred   0   1"));
    free(text);
    const size_t huge[1] = {SIZE_MAX};
    text = printed(huge, 1, &rc);
    ck_assert_int_eq(rc, TNN_OK);
    char want[128];
    snprintf(want, sizeof want, "true\\pred  %*d\n        0  %zu\n",
             snprintf(NULL, 0, "%zu", (size_t)SIZE_MAX), 0, (size_t)SIZE_MAX);
    ck_assert_str_eq(text, want);
    free(text);

    /* A stream that refuses writes, or whose device is full. */
    FILE *ro = fopen("/dev/null", "r");
    ck_assert_ptr_nonnull(ro);
    ck_assert_int_eq(tnn_confusion_matrix_print(ro, counts, 3), TNN_E_IO);
    assert_failed_with(TNN_E_IO, "tnn_confusion_matrix_print");
    fclose(ro);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        ck_assert_int_eq(tnn_confusion_matrix_print(full, counts, 3),
                         TNN_E_IO);
        assert_failed_with(TNN_E_IO, "tnn_confusion_matrix_print");
        fclose(full);
    }
}
END_TEST

/* ---- counts at the edges ------------------------------------------------ */

START_TEST(counts_at_the_edges)
{
    /* No rows at all: every ratio is 0 / 0, so 0. */
    const size_t none[4] = {0};
    double p[2] = {-1, -1}, r[2] = {-1, -1}, f[2] = {-1, -1}, v;
    size_t s[2] = {9, 9};
    ck_assert_int_eq(tnn_class_scores(none, 2, p, r, f, s), TNN_OK);
    for (int j = 0; j < 2; j++) {
        ck_assert_double_eq(p[j], 0.0);
        ck_assert_double_eq(r[j], 0.0);
        ck_assert_double_eq(f[j], 0.0);
        ck_assert_uint_eq(s[j], 0);
    }
    for (int a = TNN_AVERAGE_MACRO; a <= TNN_AVERAGE_MICRO; a++) {
        v = -1;
        ck_assert_int_eq(tnn_f1_score(none, 2, a, &v), TNN_OK);
        ck_assert_double_eq(v, 0.0);
        v = -1;
        ck_assert_int_eq(tnn_precision(none, 2, a, &v), TNN_OK);
        ck_assert_double_eq(v, 0.0);
    }
    /* Counts near SIZE_MAX: sums that fit are fine, in double. */
    const size_t big[4] = {SIZE_MAX / 2, 0, 0, SIZE_MAX / 2};
    ck_assert_int_eq(tnn_class_scores(big, 2, p, r, f, s), TNN_OK);
    ck_assert_double_eq(p[0], 1.0);
    ck_assert_double_eq(f[1], 1.0);
    ck_assert_uint_eq(s[0], SIZE_MAX / 2);
    ck_assert_int_eq(tnn_recall(big, 2, TNN_AVERAGE_WEIGHTED, &v), TNN_OK);
    ck_assert_double_eq(v, 1.0);
    /* ... and sums that do not are refused, outputs untouched. */
    const size_t over[4] = {SIZE_MAX / 2, 1, 1, SIZE_MAX / 2};
    p[0] = -1;
    s[0] = 9;
    v = -1;
    ck_assert_int_eq(tnn_class_scores(over, 2, p, r, f, s), TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_class_scores");
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "true class 1"));
    ck_assert_int_eq(tnn_f1_score(over, 2, TNN_AVERAGE_MACRO, &v),
                     TNN_E_INVALID);
    assert_failed_with(TNN_E_INVALID, "tnn_f1_score");
    ck_assert_double_eq(p[0], -1);
    ck_assert_uint_eq(s[0], 9);
    ck_assert_double_eq(v, -1);
}
END_TEST

/* ---- regression at the edges -------------------------------------------- */

START_TEST(regression_at_the_edges)
{
    /* The largest floats: every difference and square is finite in
     * double. */
    const float pred[2] = {FLT_MAX, -FLT_MAX}, target[2] = {-FLT_MAX, FLT_MAX};
    tnn_tensor *p = tensor_of(pred, 2, 0), *t = tensor_of(target, 2, 0);
    double v = -1;
    ck_assert_int_eq(tnn_mean_absolute_error(p, t, &v), TNN_OK);
    assert_close(v, 2.0 * FLT_MAX, "MAE");
    ck_assert_int_eq(tnn_root_mean_squared_error(p, t, &v), TNN_OK);
    assert_close(v, 2.0 * FLT_MAX, "RMSE");
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    assert_close(v, 1.0 - 4.0, "R2");
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    /* One row: its target is constant. */
    const float one = 3, other = 4;
    p = tensor_of(&one, 1, 1);
    t = tensor_of(&one, 1, 1);
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    ck_assert_double_eq(v, 1.0);
    tnn_tensor_data(p)[0] = other;
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    ck_assert_double_eq(v, 0.0);
    tnn_tensor_free(p);
    tnn_tensor_free(t);
    /* A constant target of many rows: 1 predicted exactly, 0 when one
     * prediction is off by one float step. */
    enum { ROWS = 3001 };
    static float values[ROWS], near[ROWS];
    for (int i = 0; i < ROWS; i++) {
        values[i] = 0.1f;
        near[i] = 0.1f;
    }
    near[17] = nextafterf(0.1f, 1.0f);
    p = tensor_of(values, ROWS, 0);
    t = tensor_of(values, ROWS, 0);
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    ck_assert_double_eq(v, 1.0);
    tnn_tensor_copy_from(p, near, ROWS);
    ck_assert_int_eq(tnn_r2_score(p, t, &v), TNN_OK);
    ck_assert_double_eq(v, 0.0);
    tnn_tensor_free(p);
    tnn_tensor_free(t);
}
END_TEST

/* ---- refusals -------------------------------------------------------------
 * Each bad argument gives its code and a message naming the function, and
 * leaves the output as it was. */

#define REFUSED(code, func, call)                                             \
    do {                                                                      \
        tnn_clear_error();                                                    \
        ck_assert_int_eq((call), (code));                                     \
        assert_failed_with((code), (func));                                   \
    } while (0)

/* The message also names what was refused. */
#define REFUSED_NAMING(code, func, call, what)                                \
    do {                                                                      \
        REFUSED(code, func, call);                                            \
        ck_assert_msg(strstr(tnn_last_error(), (what)) != NULL,               \
                      "message \"%s\" does not name %s", tnn_last_error(),    \
                      (what));                                                \
    } while (0)

START_TEST(classification_refusals)
{
    const float sv[8] = {0.1f, 0.9f, 0.8f, 0.2f, 0.5f, 0.4f, 0.3f, 0.6f};
    const float lv[4] = {1, 0, 0, 1};
    tnn_tensor *s = tensor_of(sv, 4, 2), *l = tensor_of(lv, 4, 0);
    tnn_tensor *out = tnn_tensor_new(1, (size_t[]){4});
    tnn_tensor *short_l = tensor_of(lv, 3, 0);
    tnn_tensor *s3 = tnn_tensor_new_2d(4, 3);
    tnn_tensor *cube = tnn_tensor_new(3, (size_t[]){4, 1, 1});
    tnn_tensor *col = tensor_of(lv, 4, 1);
    tnn_tensor *wrong_out = tnn_tensor_new_2d(4, 2);
    tnn_tensor *bad = tensor_of(lv, 4, 0);
    float *bv = tnn_tensor_data(bad);
    tnn_tensor *nan_s = tensor_of(sv, 4, 2);
    tnn_tensor_data(nan_s)[5] = NAN;
    tnn_tensor_fill(out, -3);

    const char *f = "tnn_predicted_classes";
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_predicted_classes(NULL, out),
                   "scores");
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_predicted_classes(s, NULL),
                   "classes");
    REFUSED(TNN_E_SHAPE, f, tnn_predicted_classes(l, out));
    REFUSED(TNN_E_SHAPE, f, tnn_predicted_classes(cube, out));
    REFUSED(TNN_E_SHAPE, f, tnn_predicted_classes(s, short_l));
    REFUSED(TNN_E_SHAPE, f, tnn_predicted_classes(s, wrong_out));
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_predicted_classes(nan_s, out),
                   "row 2");
    for (int r = 0; r < 4; r++)
        ck_assert_float_eq(tnn_tensor_data(out)[r], -3);

    size_t counts[9] = {7, 7, 7, 7, 7, 7, 7, 7, 7};
    f = "tnn_confusion_matrix";
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_confusion_matrix(NULL, l, 2, counts),
                   "predicted");
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_confusion_matrix(s, NULL, 2, counts),
                   "labels");
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_confusion_matrix(s, l, 2, NULL),
                   "counts");
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_confusion_matrix(s, l, 0, counts),
                   "classes");
    REFUSED_NAMING(TNN_E_INVALID, f,
                   tnn_confusion_matrix(l, l, SIZE_MAX, counts), "classes");
    REFUSED(
        TNN_E_INVALID, f,
        tnn_confusion_matrix(l, l, (size_t)1 << (sizeof(size_t) * 4), counts));
    REFUSED(TNN_E_SHAPE, f, tnn_confusion_matrix(s, short_l, 2, counts));
    REFUSED(TNN_E_SHAPE, f, tnn_confusion_matrix(cube, l, 2, counts));
    REFUSED(TNN_E_SHAPE, f, tnn_confusion_matrix(l, cube, 2, counts));
    REFUSED_NAMING(TNN_E_SHAPE, f, tnn_confusion_matrix(s3, l, 2, counts),
                   "predicted");
    REFUSED_NAMING(TNN_E_SHAPE, f, tnn_confusion_matrix(l, s3, 2, counts),
                   "labels");
    REFUSED(TNN_E_SHAPE, f, tnn_confusion_matrix(s, l, 3, counts));
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_confusion_matrix(nan_s, l, 2, counts),
                   "row 2");
    /* Class indices: not an integer, negative, too large, NaN, infinite;
     * each refused naming its row. */
    const float bad_values[6] = {0.5f, -1, 2, NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 6; i++) {
        memcpy(bv, lv, sizeof lv);
        bv[3] = bad_values[i];
        REFUSED_NAMING(TNN_E_INVALID, f,
                       tnn_confusion_matrix(s, bad, 2, counts),
                       "labels row 3");
        REFUSED_NAMING(TNN_E_INVALID, f,
                       tnn_confusion_matrix(bad, l, 2, counts),
                       "predicted row 3");
    }
    for (int i = 0; i < 9; i++)
        ck_assert_uint_eq(counts[i], 7);

    double acc = -2;
    f = "tnn_accuracy";
    REFUSED(TNN_E_INVALID, f, tnn_accuracy(NULL, l, &acc));
    REFUSED(TNN_E_INVALID, f, tnn_accuracy(s, NULL, &acc));
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_accuracy(s, l, NULL), "accuracy");
    REFUSED(TNN_E_SHAPE, f, tnn_accuracy(s, short_l, &acc));
    REFUSED(TNN_E_SHAPE, f, tnn_accuracy(s, s3, &acc));
    REFUSED(TNN_E_SHAPE, f, tnn_accuracy(cube, l, &acc));
    REFUSED(TNN_E_INVALID, f, tnn_accuracy(nan_s, l, &acc));
    /* 2 is no class of two-column scores. */
    bv[3] = 2;
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_accuracy(s, bad, &acc),
                   "labels row 3");
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_accuracy(bad, s, &acc),
                   "predicted row 3");
    bv[3] = -1;
    REFUSED(TNN_E_INVALID, f, tnn_accuracy(bad, l, &acc));
    bv[3] = 0.25f;
    REFUSED(TNN_E_INVALID, f, tnn_accuracy(l, bad, &acc));
    ck_assert_double_eq(acc, -2);

    f = "tnn_top_k_accuracy";
    REFUSED(TNN_E_INVALID, f, tnn_top_k_accuracy(NULL, l, 1, &acc));
    REFUSED(TNN_E_INVALID, f, tnn_top_k_accuracy(s, NULL, 1, &acc));
    REFUSED(TNN_E_INVALID, f, tnn_top_k_accuracy(s, l, 1, NULL));
    REFUSED_NAMING(TNN_E_SHAPE, f, tnn_top_k_accuracy(l, l, 1, &acc),
                   "scores");
    REFUSED(TNN_E_SHAPE, f, tnn_top_k_accuracy(cube, l, 1, &acc));
    REFUSED(TNN_E_SHAPE, f, tnn_top_k_accuracy(s, short_l, 1, &acc));
    REFUSED(TNN_E_SHAPE, f, tnn_top_k_accuracy(s, s3, 1, &acc));
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_top_k_accuracy(s, l, 0, &acc),
                   "k is 0");
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_top_k_accuracy(s, l, 3, &acc),
                   "k is 3");
    REFUSED(TNN_E_INVALID, f, tnn_top_k_accuracy(s, l, SIZE_MAX, &acc));
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_top_k_accuracy(nan_s, l, 1, &acc),
                   "scores row 2");
    bv[3] = 2;
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_top_k_accuracy(s, bad, 1, &acc),
                   "labels row 3");
    ck_assert_double_eq(acc, -2);

    tnn_tensor_free(s);
    tnn_tensor_free(l);
    tnn_tensor_free(out);
    tnn_tensor_free(short_l);
    tnn_tensor_free(s3);
    tnn_tensor_free(cube);
    tnn_tensor_free(col);
    tnn_tensor_free(wrong_out);
    tnn_tensor_free(bad);
    tnn_tensor_free(nan_s);
}
END_TEST

START_TEST(count_refusals)
{
    const size_t counts[4] = {1, 2, 3, 4};
    double p[2] = {-1, -1}, v = -1;
    size_t s[2] = {9, 9};
    const char *f = "tnn_class_scores";
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_class_scores(NULL, 2, p, p, p, s),
                   "counts");
    REFUSED_NAMING(TNN_E_INVALID, f, tnn_class_scores(counts, 0, p, p, p, s),
                   "classes");
    REFUSED(TNN_E_INVALID, f, tnn_class_scores(counts, SIZE_MAX, p, p, p, s));
    ck_assert_double_eq(p[0], -1);
    ck_assert_uint_eq(s[0], 9);

    int (*const fns[3])(const size_t *, size_t, int,
                        double *) = {tnn_precision, tnn_recall, tnn_f1_score};
    static const char *const names[3] = {"tnn_precision", "tnn_recall",
                                         "tnn_f1_score"};
    for (int w = 0; w < 3; w++) {
        f = names[w];
        REFUSED_NAMING(TNN_E_INVALID, f,
                       fns[w](NULL, 2, TNN_AVERAGE_MACRO, &v), "counts");
        REFUSED_NAMING(TNN_E_INVALID, f,
                       fns[w](counts, 2, TNN_AVERAGE_MACRO, NULL), "out");
        REFUSED_NAMING(TNN_E_INVALID, f, fns[w](counts, 2, 0, &v),
                       "average is 0");
        REFUSED(TNN_E_INVALID, f, fns[w](counts, 2, 4, &v));
        REFUSED(TNN_E_INVALID, f, fns[w](counts, 2, -1, &v));
        REFUSED_NAMING(TNN_E_INVALID, f,
                       fns[w](counts, 0, TNN_AVERAGE_MICRO, &v), "classes");
        REFUSED(TNN_E_INVALID, f,
                fns[w](counts, SIZE_MAX, TNN_AVERAGE_WEIGHTED, &v));
        ck_assert_double_eq(v, -1);
    }

    f = "tnn_confusion_matrix_print";
    REFUSED_NAMING(TNN_E_INVALID, f,
                   tnn_confusion_matrix_print(NULL, counts, 2), "stream");
    REFUSED_NAMING(TNN_E_INVALID, f,
                   tnn_confusion_matrix_print(stdout, NULL, 2), "counts");
    REFUSED_NAMING(TNN_E_INVALID, f,
                   tnn_confusion_matrix_print(stdout, counts, 0), "classes");
    REFUSED(TNN_E_INVALID, f,
            tnn_confusion_matrix_print(stdout, counts, SIZE_MAX));
}
END_TEST

START_TEST(regression_refusals)
{
    const float v4[4] = {1, 2, 3, 4};
    tnn_tensor *a = tensor_of(v4, 2, 2), *b = tensor_of(v4, 2, 2);
    tnn_tensor *flat = tensor_of(v4, 4, 0), *col = tensor_of(v4, 4, 1);
    tnn_tensor *wide = tensor_of(v4, 1, 4);
    tnn_tensor *cube = tnn_tensor_new(3, (size_t[]){2, 1, 2});
    tnn_tensor *bad = tensor_of(v4, 2, 2);
    int (*const fns[3])(const tnn_tensor *, const tnn_tensor *, double *) = {
        tnn_mean_absolute_error, tnn_root_mean_squared_error, tnn_r2_score};
    static const char *const names[3] = {"tnn_mean_absolute_error",
                                         "tnn_root_mean_squared_error",
                                         "tnn_r2_score"};
    for (int w = 0; w < 3; w++) {
        const char *f = names[w];
        double v = -1;
        REFUSED_NAMING(TNN_E_INVALID, f, fns[w](NULL, b, &v), "pred");
        REFUSED_NAMING(TNN_E_INVALID, f, fns[w](a, NULL, &v), "target");
        REFUSED_NAMING(TNN_E_INVALID, f, fns[w](a, b, NULL), "out");
        REFUSED(TNN_E_SHAPE, f, fns[w](a, flat, &v));
        REFUSED(TNN_E_SHAPE, f, fns[w](a, wide, &v));
        REFUSED(TNN_E_SHAPE, f, fns[w](flat, col, &v));
        REFUSED(TNN_E_SHAPE, f, fns[w](cube, cube, &v));
        REFUSED(TNN_E_SHAPE, f, fns[w](a, cube, &v));
        const float non_finite[3] = {NAN, INFINITY, -INFINITY};
        for (int i = 0; i < 3; i++) {
            tnn_tensor_copy_from(bad, v4, 4);
            tnn_tensor_data(bad)[3] = non_finite[i];
            REFUSED_NAMING(TNN_E_INVALID, f, fns[w](bad, b, &v),
                           "pred row 1, output 1");
            REFUSED_NAMING(TNN_E_INVALID, f, fns[w](a, bad, &v),
                           "target row 1, output 1");
        }
        ck_assert_double_eq(v, -1);
    }
    tnn_tensor_free(a);
    tnn_tensor_free(b);
    tnn_tensor_free(flat);
    tnn_tensor_free(col);
    tnn_tensor_free(wide);
    tnn_tensor_free(cube);
    tnn_tensor_free(bad);
}
END_TEST

/* Nothing here allocates: a failing allocator changes nothing. */
START_TEST(metrics_never_allocate)
{
    const float sv[6] = {0.1f, 0.9f, 0.8f, 0.2f, 0.5f, 0.4f};
    const float lv[3] = {1, 0, 1};
    tnn_tensor *s = tensor_of(sv, 3, 2), *l = tensor_of(lv, 3, 0);
    tnn_tensor *out = tnn_tensor_new(1, (size_t[]){3});
    struct counting_allocator alloc;
    counting_install(&alloc, 1);
    size_t counts[4];
    double v, p[2];
    ck_assert_int_eq(tnn_predicted_classes(s, out), TNN_OK);
    ck_assert_int_eq(tnn_confusion_matrix(s, l, 2, counts), TNN_OK);
    ck_assert_int_eq(tnn_accuracy(s, l, &v), TNN_OK);
    ck_assert_int_eq(tnn_top_k_accuracy(s, l, 2, &v), TNN_OK);
    ck_assert_int_eq(tnn_class_scores(counts, 2, p, p, p, NULL), TNN_OK);
    ck_assert_int_eq(tnn_f1_score(counts, 2, TNN_AVERAGE_WEIGHTED, &v),
                     TNN_OK);
    ck_assert_int_eq(tnn_r2_score(s, s, &v), TNN_OK);
    ck_assert_int_eq(tnn_root_mean_squared_error(s, s, &v), TNN_OK);
    ck_assert_int_eq(tnn_mean_absolute_error(s, s, &v), TNN_OK);
    ck_assert_int_eq(alloc.calls, 0);
    counting_remove();
    tnn_tensor_free(s);
    tnn_tensor_free(l);
    tnn_tensor_free(out);
}
END_TEST

/* A sigmoid's column of probabilities: class 1 above one half, the
 * classes then counted as two; a NaN refused before anything is written. */
START_TEST(binary_probabilities_give_classes)
{
    const float pv[5] = {0.2f, 0.5f, 0.51f, 0.9f, 0.0f};
    const float lv[5] = {0, 1, 1, 1, 1};
    tnn_tensor *p = tnn_tensor_new_2d(5, 1), *l = tnn_tensor_new_2d(5, 1);
    tnn_tensor *classes = tnn_tensor_new(1, (size_t[]){5});
    tnn_tensor_copy_from(p, pv, 5);
    tnn_tensor_copy_from(l, lv, 5);
    ck_assert_int_eq(tnn_predicted_classes(p, classes), TNN_OK);
    const float want[5] = {0, 0, 1, 1, 0};
    for (int i = 0; i < 5; i++)
        ck_assert_float_eq(tnn_tensor_data(classes)[i], want[i]);
    size_t counts[4];
    ck_assert_int_eq(tnn_confusion_matrix(classes, l, 2, counts), TNN_OK);
    ck_assert_uint_eq(counts[0], 1); /* true 0, predicted 0 */
    ck_assert_uint_eq(counts[1], 0);
    ck_assert_uint_eq(counts[2], 2); /* true 1, predicted 0 */
    ck_assert_uint_eq(counts[3], 2);
    tnn_tensor_data(p)[3] = NAN;
    tnn_tensor_fill(classes, -3.0f);
    ck_assert_int_eq(tnn_predicted_classes(p, classes), TNN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(tnn_last_error(), "row 3"));
    ck_assert_float_eq(tnn_tensor_data(classes)[0], -3.0f);
    tnn_tensor_free(p);
    tnn_tensor_free(l);
    tnn_tensor_free(classes);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hand_computed_classification);
    tcase_add_test(tc, hand_computed_top_k);
    tcase_add_test(tc, hand_computed_regression);
    tcase_add_test(tc, metrics_match_sklearn);
    tcase_add_test(tc, classes_as_scores_indices_or_one_hot);
    tcase_add_test(tc, confusion_matrix_printed);
    tcase_add_test(tc, counts_at_the_edges);
    tcase_add_test(tc, regression_at_the_edges);
    tcase_add_test(tc, classification_refusals);
    tcase_add_test(tc, count_refusals);
    tcase_add_test(tc, regression_refusals);
    tcase_add_test(tc, metrics_never_allocate);
    tcase_add_test(tc, binary_probabilities_give_classes);
    suite_add_tcase(s, tc);
    return s;
}
