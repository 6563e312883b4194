/*
 * Metrics: classes from scores, the confusion matrix and what follows from
 * it (accuracy, precision, recall, F1), top-k accuracy, and the regression
 * scores. Nothing here allocates; sums are in double; every argument is
 * checked before any output is written.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"

/* "(2, 3)" into buf. */
static const char *shape_text(const tnn_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    for (int i = 0; i < t->ndim && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%zu", i ? ", " : "(",
                         t->dims[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < size)
        snprintf(buf + used, size - used, ")");
    return buf;
}

/* ---- classes as the metrics take them ---------------------------------- */

/* A tensor of classes: class indices (cols 0) or rows of cols >= 2 scores. */
struct class_arg {
    const char *name;
    const float *data;
    size_t rows;
    size_t cols;
};

static int class_arg(const char *func, const char *name, const tnn_tensor *t,
                     struct class_arg *a)
{
    if (!t)
        return tnn__fail(TNN_E_INVALID, func, "%s is NULL", name);
    a->name = name;
    a->data = t->data;
    a->rows = t->dims[0];
    if (t->ndim == 1 || (t->ndim == 2 && t->dims[1] == 1)) {
        a->cols = 0;
        return TNN_OK;
    }
    if (t->ndim == 2) {
        a->cols = t->dims[1];
        return TNN_OK;
    }
    char shape[96];
    return tnn__fail(TNN_E_SHAPE, func,
                     "%s is %s; expected (m) or (m, 1) class indices or "
                     "(m, c) scores",
                     name, shape_text(t, shape, sizeof shape));
}

/* The arguments every classification metric begins with, checked in the
 * order of its parameters: the classes or scores x (named name), the
 * labels, and where the result goes (named out_name). */
static int class_args(const char *func, const char *name, const tnn_tensor *x,
                      const tnn_tensor *labels, const void *out,
                      const char *out_name, struct class_arg *a,
                      struct class_arg *t)
{
    int rc = class_arg(func, name, x, a);
    if (rc == TNN_OK)
        rc = class_arg(func, "labels", labels, t);
    if (rc == TNN_OK && !out)
        rc = tnn__fail(TNN_E_INVALID, func, "%s is NULL", out_name);
    return rc;
}

/* Index of the first largest of c values; false if one is NaN. */
static bool row_argmax(const float *x, size_t c, size_t *best)
{
    size_t b = 0;
    for (size_t j = 0; j < c; j++) {
        if (isnan(x[j]))
            return false;
        if (x[j] > x[b])
            b = j;
    }
    *best = b;
    return true;
}

/* The class of row r, which must be below classes. */
static int class_of(const char *func, const struct class_arg *a, size_t r,
                    size_t classes, size_t *cls)
{
    if (a->cols) {
        if (!row_argmax(a->data + r * a->cols, a->cols, cls))
            return tnn__fail(TNN_E_INVALID, func,
                             "%s row %zu holds a NaN; scores must be numbers",
                             a->name, r);
        return TNN_OK;
    }
    /* Compared in double: exact for every float and every class count. */
    double v = a->data[r];
    if (!(v >= 0.0 && v < (double)classes) || v != floor(v)) {
        if (classes == SIZE_MAX) /* no scores give a class count */
            return tnn__fail(TNN_E_INVALID, func,
                             "%s row %zu is %g; a class index must be an "
                             "integer >= 0",
                             a->name, r, v);
        return tnn__fail(TNN_E_INVALID, func,
                         "%s row %zu is %g; a class index must be an "
                         "integer in [0, %zu)",
                         a->name, r, v, classes);
    }
    *cls = (size_t)v;
    return TNN_OK;
}

static int check_classes(const char *func, const struct class_arg *a,
                         size_t classes)
{
    size_t cls;
    for (size_t r = 0; r < a->rows; r++) {
        int rc = class_of(func, a, r, classes, &cls);
        if (rc != TNN_OK)
            return rc;
    }
    return TNN_OK;
}

static int check_rows(const char *func, const struct class_arg *a,
                      const struct class_arg *b)
{
    if (a->rows != b->rows)
        return tnn__fail(TNN_E_SHAPE, func, "%s has %zu rows; %s has %zu",
                         b->name, b->rows, a->name, a->rows);
    return TNN_OK;
}

/* Scores must have the class count of the call. */
static int check_columns(const char *func, const struct class_arg *a,
                         size_t classes)
{
    if (a->cols && a->cols != classes)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s has %zu columns of scores; expected %zu (one a "
                         "class)",
                         a->name, a->cols, classes);
    return TNN_OK;
}

/* A count of classes whose square matrix of size_t fits in memory. */
static int check_class_count(const char *func, size_t classes)
{
    size_t entries, bytes;
    if (classes == 0)
        return tnn__fail(TNN_E_INVALID, func,
                         "classes is 0; there must be at least one");
    if (!tnn__mul_size(classes, classes, &entries) ||
        !tnn__mul_size(entries, sizeof(size_t), &bytes))
        return tnn__fail(TNN_E_INVALID, func,
                         "classes is %zu; a matrix of classes * classes "
                         "counts does not fit in memory",
                         classes);
    return TNN_OK;
}

/* One column of probabilities (a sigmoid's): class 1 above one half. The
 * whole column is checked before anything is written. */
static int binary_classes(const tnn_tensor *scores, tnn_tensor *classes)
{
    const size_t m = scores->dims[0];
    for (size_t r = 0; r < m; r++)
        if (isnan(scores->data[r]))
            return tnn__fail(TNN_E_INVALID, "tnn_predicted_classes",
                             "scores row %zu is NaN", r);
    for (size_t r = 0; r < m; r++)
        classes->data[r] = scores->data[r] > 0.5f ? 1.0f : 0.0f;
    return TNN_OK;
}

int tnn_predicted_classes(const tnn_tensor *scores, tnn_tensor *classes)
{
    if (!scores)
        return tnn__fail(TNN_E_INVALID, __func__, "scores is NULL");
    if (!classes)
        return tnn__fail(TNN_E_INVALID, __func__, "classes is NULL");
    char shape[96];
    if (scores->ndim != 2)
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "scores is %s; expected (m, c) with c >= 2, or "
                         "(m, 1) probabilities",
                         shape_text(scores, shape, sizeof shape));
    const size_t m = scores->dims[0], c = scores->dims[1];
    if (classes->size != m)
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "classes holds %zu elements; expected %zu, one a row "
                         "of scores",
                         classes->size, m);
    if (c == 1)
        return binary_classes(scores, classes);
    const struct class_arg a = {"scores", scores->data, m, c};
    int rc = check_classes(__func__, &a, c);
    if (rc != TNN_OK)
        return rc;
    for (size_t r = 0; r < m; r++) {
        size_t cls = 0;
        row_argmax(scores->data + r * c, c, &cls);
        classes->data[r] = (float)cls;
    }
    return TNN_OK;
}

int tnn_confusion_matrix(const tnn_tensor *predicted, const tnn_tensor *labels,
                         size_t classes, size_t *counts)
{
    struct class_arg p, t;
    int rc;
    if ((rc = class_args(__func__, "predicted", predicted, labels, counts,
                         "counts", &p, &t)) ||
        (rc = check_class_count(__func__, classes)) ||
        (rc = check_rows(__func__, &p, &t)) ||
        (rc = check_columns(__func__, &p, classes)) ||
        (rc = check_columns(__func__, &t, classes)) ||
        (rc = check_classes(__func__, &p, classes)) ||
        (rc = check_classes(__func__, &t, classes)))
        return rc;
    for (size_t i = 0; i < classes * classes; i++)
        counts[i] = 0;
    for (size_t r = 0; r < p.rows; r++) {
        size_t pc = 0, tc = 0;
        class_of(__func__, &p, r, classes, &pc);
        class_of(__func__, &t, r, classes, &tc);
        counts[tc * classes + pc]++;
    }
    return TNN_OK;
}

int tnn_accuracy(const tnn_tensor *predicted, const tnn_tensor *labels,
                 double *accuracy)
{
    struct class_arg p, t;
    int rc;
    if ((rc = class_args(__func__, "predicted", predicted, labels, accuracy,
                         "accuracy", &p, &t)) ||
        (rc = check_rows(__func__, &p, &t)))
        return rc;
    /* The class count is that of the scores; any index without them. */
    size_t classes = p.cols ? p.cols : t.cols ? t.cols : SIZE_MAX;
    if ((rc = check_columns(__func__, &t, classes)))
        return rc;
    size_t hits = 0;
    for (size_t r = 0; r < p.rows; r++) {
        size_t pc = 0, tc = 0; /* set on success; GCC cannot tell */
        if ((rc = class_of(__func__, &p, r, classes, &pc)) ||
            (rc = class_of(__func__, &t, r, classes, &tc)))
            return rc;
        hits += pc == tc;
    }
    *accuracy = (double)hits / (double)p.rows;
    return TNN_OK;
}

int tnn_top_k_accuracy(const tnn_tensor *scores, const tnn_tensor *labels,
                       size_t k, double *accuracy)
{
    struct class_arg s, t;
    int rc = class_args(__func__, "scores", scores, labels, accuracy,
                        "accuracy", &s, &t);
    if (rc != TNN_OK)
        return rc;
    char shape[96];
    if (!s.cols)
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "scores is %s; expected (m, c) with c >= 2",
                         shape_text(scores, shape, sizeof shape));
    const size_t c = s.cols;
    if ((rc = check_rows(__func__, &s, &t)) ||
        (rc = check_columns(__func__, &t, c)))
        return rc;
    if (k == 0 || k > c)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "k is %zu; it must be in [1, %zu], the number of "
                         "classes",
                         k, c);
    size_t hits = 0;
    for (size_t r = 0; r < s.rows; r++) {
        size_t best, tc;
        if ((rc = class_of(__func__, &s, r, c, &best)) ||
            (rc = class_of(__func__, &t, r, c, &tc)))
            return rc;
        const float *x = s.data + r * c;
        size_t larger = 0;
        for (size_t j = 0; j < c; j++)
            larger += x[j] > x[tc];
        hits += larger < k;
    }
    *accuracy = (double)hits / (double)s.rows;
    return TNN_OK;
}

/* ---- scores from a confusion matrix ------------------------------------ */

/* Counts and class count usable: no sum of counts exceeds SIZE_MAX (the
 * total bounds every row and column sum). */
static int check_counts(const char *func, const size_t *counts, size_t classes)
{
    if (!counts)
        return tnn__fail(TNN_E_INVALID, func, "counts is NULL");
    int rc = check_class_count(func, classes);
    if (rc != TNN_OK)
        return rc;
    size_t total = 0;
    for (size_t i = 0; i < classes * classes; i++) {
        if (counts[i] > SIZE_MAX - total)
            return tnn__fail(TNN_E_INVALID, func,
                             "counts sum past %zu at true class %zu, "
                             "predicted %zu; a confusion matrix counts rows",
                             (size_t)SIZE_MAX, i / classes, i % classes);
        total += counts[i];
    }
    return TNN_OK;
}

/* One class's counts: true positives, predicted as it, truly it. */
struct class_counts {
    size_t tp, predicted, actual;
};

static struct class_counts class_counts(const size_t *counts, size_t classes,
                                        size_t j)
{
    struct class_counts cc = {counts[j * classes + j], 0, 0};
    for (size_t i = 0; i < classes; i++) {
        cc.predicted += counts[i * classes + j];
        cc.actual += counts[j * classes + i];
    }
    return cc;
}

/* a / b, 0 when b is 0 (scikit-learn's zero_division=0). */
static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

enum score { PRECISION, RECALL, F1 };

static double class_score(struct class_counts cc, enum score which)
{
    switch (which) {
    case PRECISION: return ratio(cc.tp, cc.predicted);
    case RECALL: return ratio(cc.tp, cc.actual);
    case F1:
        /* 2 P R / (P + R) = 2 tp / (predicted + actual), 0 for 0 / 0; in
         * double, where the sum cannot overflow. */
        if (cc.predicted == 0 && cc.actual == 0)
            return 0.0;
        return 2.0 * (double)cc.tp /
               ((double)cc.predicted + (double)cc.actual);
    }
    return 0.0;
}

int tnn_class_scores(const size_t *counts, size_t classes, double *precision,
                     double *recall, double *f1, size_t *support)
{
    int rc = check_counts(__func__, counts, classes);
    if (rc != TNN_OK)
        return rc;
    for (size_t j = 0; j < classes; j++) {
        struct class_counts cc = class_counts(counts, classes, j);
        if (precision)
            precision[j] = class_score(cc, PRECISION);
        if (recall)
            recall[j] = class_score(cc, RECALL);
        if (f1)
            f1[j] = class_score(cc, F1);
        if (support)
            support[j] = cc.actual;
    }
    return TNN_OK;
}

static int averaged(const char *func, const size_t *counts, size_t classes,
                    int average, enum score which, double *out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, func, "out is NULL");
    if (average != TNN_AVERAGE_MACRO && average != TNN_AVERAGE_WEIGHTED &&
        average != TNN_AVERAGE_MICRO)
        return tnn__fail(TNN_E_INVALID, func,
                         "average is %d; expected TNN_AVERAGE_MACRO (1), "
                         "_WEIGHTED (2) or _MICRO (3)",
                         average);
    int rc = check_counts(func, counts, classes);
    if (rc != TNN_OK)
        return rc;
    double sum = 0.0;
    size_t total = 0, diagonal = 0;
    for (size_t j = 0; j < classes; j++) {
        struct class_counts cc = class_counts(counts, classes, j);
        double v = class_score(cc, which);
        sum += average == TNN_AVERAGE_WEIGHTED ? v * (double)cc.actual : v;
        total += cc.actual;
        diagonal += cc.tp;
    }
    switch (average) {
    case TNN_AVERAGE_MACRO: *out = sum / (double)classes; break;
    case TNN_AVERAGE_WEIGHTED: *out = total ? sum / (double)total : 0.0; break;
    default:
        /* Every row is one prediction of one true class, so the summed
         * true positives over the summed predictions (or true counts). */
        *out = ratio(diagonal, total);
        break;
    }
    return TNN_OK;
}

int tnn_precision(const size_t *counts, size_t classes, int average,
                  double *out)
{
    return averaged(__func__, counts, classes, average, PRECISION, out);
}

int tnn_recall(const size_t *counts, size_t classes, int average, double *out)
{
    return averaged(__func__, counts, classes, average, RECALL, out);
}

int tnn_f1_score(const size_t *counts, size_t classes, int average,
                 double *out)
{
    return averaged(__func__, counts, classes, average, F1, out);
}

static int decimal_digits(size_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

int tnn_confusion_matrix_print(FILE *stream, const size_t *counts,
                               size_t classes)
{
    if (!stream)
        return tnn__fail(TNN_E_INVALID, __func__, "stream is NULL");
    if (!counts)
        return tnn__fail(TNN_E_INVALID, __func__, "counts is NULL");
    int rc = check_class_count(__func__, classes);
    if (rc != TNN_OK)
        return rc;
    /* Columns as wide as the widest count or class, two spaces apart; the
     * first column holds the corner's "true\pred" and the true classes. */
    size_t largest = classes - 1;
    for (size_t i = 0; i < classes * classes; i++)
        if (counts[i] > largest)
            largest = counts[i];
    static const char corner[] = "true\\pred";
    const int width = decimal_digits(largest);
    int first = decimal_digits(classes - 1);
    if (first < (int)sizeof corner - 1)
        first = (int)sizeof corner - 1;
    bool ok = fprintf(stream, "%*s", first, corner) >= 0;
    for (size_t j = 0; ok && j < classes; j++)
        ok = fprintf(stream, "  %*zu", width, j) >= 0;
    ok = ok && fputc('\n', stream) != EOF;
    for (size_t i = 0; ok && i < classes; i++) {
        ok = fprintf(stream, "%*zu", first, i) >= 0;
        for (size_t j = 0; ok && j < classes; j++)
            ok =
                fprintf(stream, "  %*zu", width, counts[i * classes + j]) >= 0;
        ok = ok && fputc('\n', stream) != EOF;
    }
    /* A buffered stream reports a failed write only when it is flushed. */
    ok = ok && fflush(stream) == 0;
    if (!ok)
        return tnn__fail(TNN_E_IO, __func__,
                         "writing the confusion matrix failed");
    return TNN_OK;
}

/* ---- regression -------------------------------------------------------- */

/* pred and target of the same shape, (m) or (m, k), every value finite;
 * *m rows of *k outputs. */
static int regression_args(const char *func, const tnn_tensor *pred,
                           const tnn_tensor *target, const double *out,
                           size_t *m, size_t *k)
{
    if (!pred)
        return tnn__fail(TNN_E_INVALID, func, "pred is NULL");
    if (!target)
        return tnn__fail(TNN_E_INVALID, func, "target is NULL");
    if (!out)
        return tnn__fail(TNN_E_INVALID, func, "out is NULL");
    char a[96], b[96];
    if (pred->ndim > 2)
        return tnn__fail(TNN_E_SHAPE, func,
                         "pred is %s; expected (m) or (m, k): m rows of k "
                         "outputs",
                         shape_text(pred, a, sizeof a));
    if (target->ndim != pred->ndim || target->dims[0] != pred->dims[0] ||
        (pred->ndim == 2 && target->dims[1] != pred->dims[1]))
        return tnn__fail(
            TNN_E_SHAPE, func, "target is %s; expected pred's shape %s",
            shape_text(target, a, sizeof a), shape_text(pred, b, sizeof b));
    *m = pred->dims[0];
    *k = pred->ndim == 2 ? pred->dims[1] : 1;
    const tnn_tensor *t[2] = {pred, target};
    static const char *const names[2] = {"pred", "target"};
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < t[w]->size; i++)
            if (!isfinite(t[w]->data[i]))
                return tnn__fail(TNN_E_INVALID, func,
                                 "%s row %zu, output %zu is %g; values must "
                                 "be finite",
                                 names[w], i / *k, i % *k,
                                 (double)t[w]->data[i]);
    return TNN_OK;
}

int tnn_mean_absolute_error(const tnn_tensor *pred, const tnn_tensor *target,
                            double *out)
{
    size_t m, k;
    int rc = regression_args(__func__, pred, target, out, &m, &k);
    if (rc != TNN_OK)
        return rc;
    /* Each output's mean over m rows, averaged over k outputs: the mean
     * over all m * k values. */
    double sum = 0.0;
    for (size_t i = 0; i < pred->size; i++)
        sum += fabs((double)pred->data[i] - (double)target->data[i]);
    *out = sum / (double)pred->size;
    return TNN_OK;
}

int tnn_root_mean_squared_error(const tnn_tensor *pred,
                                const tnn_tensor *target, double *out)
{
    size_t m, k;
    int rc = regression_args(__func__, pred, target, out, &m, &k);
    if (rc != TNN_OK)
        return rc;
    double sum = 0.0;
    for (size_t j = 0; j < k; j++) {
        double squares = 0.0;
        for (size_t i = 0; i < m; i++) {
            double d = (double)pred->data[i * k + j] - target->data[i * k + j];
            squares += d * d;
        }
        sum += sqrt(squares / (double)m);
    }
    *out = sum / (double)k;
    return TNN_OK;
}

int tnn_r2_score(const tnn_tensor *pred, const tnn_tensor *target, double *out)
{
    size_t m, k;
    int rc = regression_args(__func__, pred, target, out, &m, &k);
    if (rc != TNN_OK)
        return rc;
    const float *p = pred->data, *y = target->data;
    double sum = 0.0;
    for (size_t j = 0; j < k; j++) {
        double mean = 0.0, res = 0.0, tot = 0.0;
        bool constant = true;
        for (size_t i = 0; i < m; i++) {
            mean += y[i * k + j];
            constant = constant && y[i * k + j] == y[j];
        }
        mean /= (double)m;
        for (size_t i = 0; i < m; i++) {
            double d = (double)y[i * k + j] - p[i * k + j];
            double e = (double)y[i * k + j] - mean;
            res += d * d;
            tot += e * e;
        }
        /* A constant target (tested exactly, not through a rounded mean)
         * has nothing to explain: 1 if predicted exactly, else 0. */
        if (constant)
            sum += res == 0.0 ? 1.0 : 0.0;
        else
            sum += 1.0 - res / tot;
    }
    *out = sum / (double)k;
    return TNN_OK;
}
