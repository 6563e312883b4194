/*
 * Losses: value and input gradient in one pass, sums in double: MSE,
 * cross-entropy, and (since 1.7) MAE, Huber and binary cross-entropy.
 */
#include <math.h>

#include "internal.h"

/* MSE, MAE and Huber sum in lanes (internal.h): with one running sum the
 * MSE alone was most of a step of a width-64 model at batch 4096, on one
 * thread while the other waited. Past LOSS_CHUNK values they also sum in
 * chunks, which the threads share: the lanes still left that pass on the
 * calling thread, reading 3 MB a step while the other thread waited. */

/* Values of a chunk: each chunk's lanes are folded into its own sum, and
 * the chunks' sums are added in order. The chunks' bounds follow from the
 * count alone, never from the threads that share them, which gives the
 * same bits on any number of threads. They are multiples of
 * TNN_SUM_LANES, so that value i stays in lane i % TNN_SUM_LANES as
 * internal.h has it, and only the last chunk has a scalar tail; up to
 * LOSS_CHUNK values the sum is the lanes' fold, as before chunks. */
#define LOSS_CHUNK ((size_t)1 << 14)
#define LOSS_MAX_CHUNKS 256
/* As ReLU's passes (activation.c): below this many values a thread,
 * waking another one costs more than it saves. Counted in whole chunks:
 * the pass splits from 8 chunks on two threads, the last of them maybe
 * short (from 114,689 values). */
#define LOSS_MIN_PER_THREAD ((size_t)1 << 16)

struct sum_pass;
/* The sum of one chunk, values [begin, end), gradient included. */
typedef double (*chunk_sum_fn)(const struct sum_pass *p, size_t begin,
                               size_t end);

struct sum_pass {
    const float *pred, *target;
    float *grad;  /* NULL: the value only */
    double scale; /* of the gradient: MSE's and MAE's are floats */
    double delta; /* Huber's */
    chunk_sum_fn sum;
    size_t count, chunk;
    double *chunk_sums;
};

/* LOSS_CHUNK, or past LOSS_MAX_CHUNKS of those, the smallest multiple of
 * TNN_SUM_LANES that makes LOSS_MAX_CHUNKS chunks. */
static size_t chunk_size(size_t count)
{
    if (count <= LOSS_CHUNK * LOSS_MAX_CHUNKS)
        return LOSS_CHUNK;
    size_t chunk = count / LOSS_MAX_CHUNKS + (count % LOSS_MAX_CHUNKS != 0);
    return chunk + (TNN_SUM_LANES - chunk % TNN_SUM_LANES) % TNN_SUM_LANES;
}

static void sum_chunks(void *arg, size_t begin, size_t end)
{
    const struct sum_pass *p = arg;
    for (size_t c = begin; c < end; c++) {
        size_t first = c * p->chunk;
        size_t last =
            p->count - first < p->chunk ? p->count : first + p->chunk;
        p->chunk_sums[c] = p->sum(p, first, last);
    }
}

/* The sum of sum() over every chunk of count values, gradients into grad
 * unless it is NULL; scale and delta are the loss's (sum_pass). */
static double chunked_sum(chunk_sum_fn sum, const float *pred,
                          const float *target, size_t count, double scale,
                          double delta, float *grad)
{
    double sums[LOSS_MAX_CHUNKS];
    struct sum_pass p = {.pred = pred,
                         .target = target,
                         .grad = grad,
                         .scale = scale,
                         .delta = delta,
                         .sum = sum,
                         .count = count,
                         .chunk = chunk_size(count),
                         .chunk_sums = sums};
    size_t chunks = (count + p.chunk - 1) / p.chunk;
    size_t min_chunks = (LOSS_MIN_PER_THREAD + p.chunk - 1) / p.chunk;
    tnn__parallel_for(chunks, min_chunks, sum_chunks, &p);
    double total = 0.0;
    for (size_t c = 0; c < chunks; c++)
        total += sums[c];
    return total;
}

/* The sum of (p - t)^2 over count values, and (p - t) * inv_n into grad
 * unless it is NULL. The whole lanes run in a loop for each case: with the
 * test for grad inside one loop, GCC kept every lane in a scalar register
 * (0.42 ns a value with the arrays in the caches). */
TNN_VECTOR_CLONES
static double squares(const float *pred, const float *target, size_t count,
                      float inv_n, float *grad)
{
    double lane[TNN_SUM_LANES] = {0};
    size_t i = 0;
    if (grad)
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++) {
                float diff = pred[i + l] - target[i + l];
                lane[l] += (double)diff * diff;
                grad[i + l] = diff * inv_n;
            }
    else
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++) {
                float diff = pred[i + l] - target[i + l];
                lane[l] += (double)diff * diff;
            }
    for (size_t l = 0; i < count; i++, l++) {
        float diff = pred[i] - target[i];
        lane[l] += (double)diff * diff;
        if (grad)
            grad[i] = diff * inv_n;
    }
    return tnn__fold_lanes(lane);
}

static double squares_chunk(const struct sum_pass *p, size_t begin, size_t end)
{
    return squares(p->pred + begin, p->target + begin, end - begin,
                   (float)p->scale, p->grad ? p->grad + begin : NULL);
}

double tnn__mse(const float *pred, const float *target, size_t n, size_t k,
                float *grad)
{
    const float inv_n = 1.0f / (float)n;
    return chunked_sum(squares_chunk, pred, target, n * k, inv_n, 0.0, grad) /
           (2.0 * (double)n);
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

/* ---- the losses of 1.7 ---------------------------------------------------
 * Means over all n * k values. Differences are taken in double, which
 * holds the difference of two floats exactly unless their magnitudes lie
 * more than 2^29 apart, so that the sums see little rounding but their
 * own. */

/* sign(d) * step: 0 where p = t, and NaN passes as NaN. */
TNN_INLINE float absolute_slope(double d, float step)
{
    return d > 0.0 ? step : d < 0.0 ? -step : (float)(d * step);
}

/* The sum of |p - t| over count values, and its slopes into grad unless
 * it is NULL; in whole lanes as squares() runs. */
TNN_VECTOR_CLONES
static double absolutes(const float *pred, const float *target, size_t count,
                        float step, float *grad)
{
    double lane[TNN_SUM_LANES] = {0};
    size_t i = 0;
    if (grad)
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++) {
                double d = (double)pred[i + l] - (double)target[i + l];
                lane[l] += fabs(d);
                grad[i + l] = absolute_slope(d, step);
            }
    else
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++)
                lane[l] += fabs((double)pred[i + l] - (double)target[i + l]);
    for (size_t l = 0; i < count; i++, l++) {
        double d = (double)pred[i] - (double)target[i];
        lane[l] += fabs(d);
        if (grad)
            grad[i] = absolute_slope(d, step);
    }
    return tnn__fold_lanes(lane);
}

/* Chunks start at multiples of TNN_SUM_LANES: value i of the whole count
 * stays in lane i % TNN_SUM_LANES. */
static double absolutes_chunk(const struct sum_pass *p, size_t begin,
                              size_t end)
{
    return absolutes(p->pred + begin, p->target + begin, end - begin,
                     (float)p->scale, p->grad ? p->grad + begin : NULL);
}

double tnn__mae(const float *pred, const float *target, size_t n, size_t k,
                float *grad)
{
    const size_t count = n * k;
    const float step = (float)(1.0 / (double)count);
    return chunked_sum(absolutes_chunk, pred, target, count, step, 0.0, grad) /
           (double)count;
}

/* Huber's term of one difference; a NaN d takes the quadratic side: NaN
 * loss and gradient. */
TNN_INLINE double huber_term(double d, double dl)
{
    double a = fabs(d);
    return !(a > dl) ? 0.5 * d * d : dl * (a - 0.5 * dl);
}

TNN_INLINE float huber_slope(double d, double dl, double inv)
{
    return !(fabs(d) > dl) ? (float)(d * inv)
                           : (float)((d > 0.0 ? dl : -dl) * inv);
}

/* The sum of Huber's terms over count values, and their slopes times inv
 * into grad unless it is NULL; in whole lanes as squares() runs. */
TNN_VECTOR_CLONES
static double hubers(const float *pred, const float *target, size_t count,
                     double dl, double inv, float *grad)
{
    double lane[TNN_SUM_LANES] = {0};
    size_t i = 0;
    if (grad)
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++) {
                double d = (double)pred[i + l] - (double)target[i + l];
                lane[l] += huber_term(d, dl);
                grad[i + l] = huber_slope(d, dl, inv);
            }
    else
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++)
                lane[l] += huber_term(
                    (double)pred[i + l] - (double)target[i + l], dl);
    for (size_t l = 0; i < count; i++, l++) {
        double d = (double)pred[i] - (double)target[i];
        lane[l] += huber_term(d, dl);
        if (grad)
            grad[i] = huber_slope(d, dl, inv);
    }
    return tnn__fold_lanes(lane);
}

static double huber_chunk(const struct sum_pass *p, size_t begin, size_t end)
{
    return hubers(p->pred + begin, p->target + begin, end - begin, p->delta,
                  p->scale, p->grad ? p->grad + begin : NULL);
}

double tnn__huber(const float *pred, const float *target, size_t n, size_t k,
                  float delta, float *grad)
{
    const size_t count = n * k;
    const double inv = 1.0 / (double)count;
    return chunked_sum(huber_chunk, pred, target, count, inv, delta, grad) *
           inv;
}

int tnn__check_binary_targets(const char *func, const float *targets, size_t n,
                              size_t k)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < k; j++) {
            float t = targets[r * k + j];
            /* Also refuses NaN, for which both comparisons are false. */
            if (!(t >= 0.0f && t <= 1.0f))
                return tnn__fail(TNN_E_INVALID, func,
                                 "target row %zu, column %zu is %g; binary "
                                 "cross-entropy takes targets in [0, 1]",
                                 r, j, (double)t);
        }
    return TNN_OK;
}

double tnn__binary_cross_entropy(const float *logits, const float *targets,
                                 size_t n, size_t k, float *grad,
                                 size_t *correct)
{
    const size_t count = n * k;
    const double inv = 1.0 / (double)count;
    double sum = 0.0;
    size_t hits = 0;
    for (size_t i = 0; i < count; i++) {
        const double z = logits[i], t = targets[i];
        /* -log(sigmoid(z)) t - log(1 - sigmoid(z)) (1 - t), written so
         * that exp() never overflows: finite for every finite z. */
        const double e = exp(-fabs(z));
        sum += (z > 0.0 ? z : 0.0) - z * t + log1p(e);
        /* sigmoid(z) from the same exp(-|z|), which is at most 1. */
        if (grad) {
            double p = z >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            grad[i] = (float)((p - t) * inv);
        }
        /* A NaN logit never counts, as in cross-entropy. */
        hits += !isnan(logits[i]) && (logits[i] > 0.0f) == (targets[i] > 0.5f);
    }
    *correct = hits;
    return sum * inv;
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

/* pred and target 2-D of the same shape, and grad (unless NULL) too. */
static int check_pair(const char *func, const char *pred_name,
                      const tnn_tensor *pred, const char *target_name,
                      const tnn_tensor *target)
{
    int rc = check_2d(func, pred_name, pred);
    if (rc == TNN_OK)
        rc = check_2d(func, target_name, target);
    if (rc == TNN_OK)
        rc = check_same_shape(func, target_name, target, pred);
    return rc;
}

int tnn_loss_mae(const tnn_tensor *pred, const tnn_tensor *target,
                 double *loss, tnn_tensor *grad)
{
    int rc = check_pair(__func__, "pred", pred, "target", target);
    if (rc == TNN_OK && grad)
        rc = check_same_shape(__func__, "grad", grad, pred);
    if (rc != TNN_OK)
        return rc;
    double value = tnn__mae(pred->data, target->data, pred->dims[0],
                            pred->dims[1], grad ? grad->data : NULL);
    if (loss)
        *loss = value;
    return TNN_OK;
}

int tnn_loss_huber(const tnn_tensor *pred, const tnn_tensor *target,
                   float delta, double *loss, tnn_tensor *grad)
{
    int rc = check_pair(__func__, "pred", pred, "target", target);
    if (rc == TNN_OK && !(delta > 0.0f && isfinite(delta)))
        rc =
            tnn__fail(TNN_E_INVALID, __func__,
                      "delta is %g; it must be finite and > 0", (double)delta);
    if (rc == TNN_OK && grad)
        rc = check_same_shape(__func__, "grad", grad, pred);
    if (rc != TNN_OK)
        return rc;
    double value = tnn__huber(pred->data, target->data, pred->dims[0],
                              pred->dims[1], delta, grad ? grad->data : NULL);
    if (loss)
        *loss = value;
    return TNN_OK;
}

int tnn_loss_binary_cross_entropy(const tnn_tensor *logits,
                                  const tnn_tensor *targets, double *loss,
                                  tnn_tensor *grad, double *accuracy)
{
    int rc = check_pair(__func__, "logits", logits, "targets", targets);
    if (rc == TNN_OK && grad)
        rc = check_same_shape(__func__, "grad", grad, logits);
    const size_t n = rc == TNN_OK ? logits->dims[0] : 0;
    const size_t k = rc == TNN_OK ? logits->dims[1] : 0;
    /* Targets are checked before anything is written. */
    if (rc == TNN_OK)
        rc = tnn__check_binary_targets(__func__, targets->data, n, k);
    if (rc != TNN_OK)
        return rc;
    size_t correct;
    double value = tnn__binary_cross_entropy(
        logits->data, targets->data, n, k, grad ? grad->data : NULL, &correct);
    if (loss)
        *loss = value;
    if (accuracy)
        *accuracy = (double)correct / (double)(n * k);
    return TNN_OK;
}
