/*
 * Losses: value and input gradient in one pass, sums in double.
 */
#include <math.h>

#include "internal.h"

double tnn__mse(const float *pred, const float *target, size_t n, size_t k,
                float *grad)
{
    double sum = 0.0;
    const float inv_n = 1.0f / (float)n;
    for (size_t i = 0, c = n * k; i < c; i++) {
        float diff = pred[i] - target[i];
        sum += (double)diff * diff;
        if (grad)
            grad[i] = diff * inv_n;
    }
    return sum / (2.0 * (double)n);
}

static size_t argmax(const float *x, size_t k)
{
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (x[j] > x[best])
            best = j;
    return best;
}

/* Class index of a label that must be an integer in [0, k). */
static int label_class(const char *func, float label, size_t row, size_t k,
                       size_t *cls)
{
    if (!(label >= 0.0f && label < (float)k) || label != floorf(label))
        return tnn__fail(TNN_E_INVALID, func,
                         "label of row %zu is %g; it must be a class index "
                         "in [0, %zu)",
                         row, (double)label, k);
    *cls = (size_t)label;
    return TNN_OK;
}

int tnn__check_class_labels(const char *func, const float *labels, size_t n,
                            size_t k)
{
    size_t cls;
    for (size_t r = 0; r < n; r++) {
        int rc = label_class(func, labels[r], r, k, &cls);
        if (rc != TNN_OK)
            return rc;
    }
    return TNN_OK;
}

/* Every entry of n probability rows of k finite and >= 0. A negative one
 * would make the loss negative and reward the wrong logits. Rows need not
 * sum to 1: the loss and its gradient are defined for any mass. */
int tnn__check_probability_labels(const char *func, const float *labels,
                                  size_t n, size_t k)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < k; j++) {
            float t = labels[r * k + j];
            if (!(t >= 0.0f) || !isfinite(t))
                return tnn__fail(TNN_E_INVALID, func,
                                 "label row %zu, column %zu is %g; "
                                 "probabilities must be finite and >= 0",
                                 r, j, (double)t);
        }
    return TNN_OK;
}

int tnn__cross_entropy(const char *func, const float *logits,
                       const float *labels, bool index_labels, size_t n,
                       size_t k, float *grad, double *loss, size_t *correct)
{
    /* Labels are checked before anything is written to grad. */
    int rc = index_labels ? tnn__check_class_labels(func, labels, n, k)
                          : tnn__check_probability_labels(func, labels, n, k);
    if (rc != TNN_OK)
        return rc;
    double total = 0.0;
    size_t hits = 0;
    const double inv_n = 1.0 / (double)n;
    for (size_t r = 0; r < n; r++) {
        const float *z = logits + r * k;
        size_t cls =
            index_labels ? (size_t)labels[r] : argmax(labels + r * k, k);
        size_t top = argmax(z, k);
        /* log-sum-exp around the maximum: finite for any finite logits. */
        double max = z[top], sum = 0.0;
        for (size_t j = 0; j < k; j++)
            sum += exp((double)z[j] - max);
        double lse = max + log(sum);
        /* argmax() passes over a NaN logit; such a row (its lse is NaN)
         * is no right answer, whatever its other logits. */
        hits += top == cls && !isnan(lse);
        /* J_row = sum_c t_c (lse - z_c), so dJ/dz_j = p_j sum_c t_c - t_j;
         * for rows that sum to 1 that is the familiar p - t. */
        double mass = 1.0;
        if (index_labels) {
            total += lse - z[cls];
        } else {
            mass = 0.0;
            for (size_t j = 0; j < k; j++) {
                total += labels[r * k + j] * (lse - z[j]);
                mass += labels[r * k + j];
            }
        }
        if (grad) {
            for (size_t j = 0; j < k; j++) {
                double p = exp((double)z[j] - lse);
                double t = index_labels ? (j == cls) : labels[r * k + j];
                grad[r * k + j] = (float)((p * mass - t) * inv_n);
            }
        }
    }
    *loss = total * inv_n;
    *correct = hits;
    return TNN_OK;
}

static int check_2d(const char *func, const char *name, const tnn_tensor *t)
{
    if (!t)
        return tnn__fail(TNN_E_INVALID, func, "%s is NULL", name);
    if (t->ndim != 2)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s has %d dims; expected 2 (rows, values)", name,
                         t->ndim);
    return TNN_OK;
}

static int check_same_shape(const char *func, const char *name,
                            const tnn_tensor *t, const tnn_tensor *like)
{
    if (t->ndim != like->ndim || t->dims[0] != like->dims[0] ||
        t->dims[1] != like->dims[1])
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s is (%zu, %zu); expected (%zu, %zu)", name,
                         t->dims[0], t->ndim > 1 ? t->dims[1] : 0,
                         like->dims[0], like->dims[1]);
    return TNN_OK;
}

int tnn_loss_mse(const tnn_tensor *pred, const tnn_tensor *target,
                 double *loss, tnn_tensor *grad)
{
    int rc = check_2d(__func__, "pred", pred);
    if (rc == TNN_OK)
        rc = check_2d(__func__, "target", target);
    if (rc == TNN_OK)
        rc = check_same_shape(__func__, "target", target, pred);
    if (rc == TNN_OK && grad)
        rc = check_same_shape(__func__, "grad", grad, pred);
    if (rc != TNN_OK)
        return rc;
    double value = tnn__mse(pred->data, target->data, pred->dims[0],
                            pred->dims[1], grad ? grad->data : NULL);
    if (loss)
        *loss = value;
    return TNN_OK;
}

int tnn_loss_cross_entropy(const tnn_tensor *logits, const tnn_tensor *labels,
                           double *loss, tnn_tensor *grad, double *accuracy)
{
    int rc = check_2d(__func__, "logits", logits);
    if (rc != TNN_OK)
        return rc;
    if (!labels)
        return tnn__fail(TNN_E_INVALID, __func__, "labels is NULL");
    const size_t n = logits->dims[0], k = logits->dims[1];
    bool index_labels = labels->ndim == 1;
    if (index_labels
            ? labels->dims[0] != n
            : check_same_shape(__func__, "labels", labels, logits) != TNN_OK)
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "labels must be (%zu) class indices or (%zu, %zu) "
                         "probability rows",
                         n, n, k);
    if (grad && (rc = check_same_shape(__func__, "grad", grad, logits)))
        return rc;
    double value;
    size_t correct;
    rc = tnn__cross_entropy(__func__, logits->data, labels->data, index_labels,
                            n, k, grad ? grad->data : NULL, &value, &correct);
    if (rc != TNN_OK)
        return rc;
    if (loss)
        *loss = value;
    if (accuracy)
        *accuracy = (double)correct / (double)n;
    return TNN_OK;
}
