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
 * short (from 114,689 values). Half as many values a thread in a step
 * whose products ran on OpenMP's threads (tnn__spread_min()). */
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
    size_t min_chunks =
        (tnn__spread_min(LOSS_MIN_PER_THREAD) + p.chunk - 1) / p.chunk;
    tnn__parallel_for(chunks, min_chunks, sum_chunks, &p);
    double total = 0.0;
    for (size_t c = 0; c < chunks; c++)
        total += sums[c];
    return total;
}

/* One value's term of a regression loss and its slope (the gradient's
 * value), from prediction p and target t; scale and delta as sum_pass
 * holds them. */
typedef double (*term_fn)(float p, float t, double delta);
typedef float (*slope_fn)(float p, float t, double scale, double delta);

/* The sum of term() over values [begin, end) of p's arrays, and slope()
 * into p->grad unless it is NULL, in TNN_SUM_LANES lanes: chunks start at
 * multiples of TNN_SUM_LANES, so value i stays in lane i % TNN_SUM_LANES.
 * The whole lanes run in a loop of their own with and without a
 * gradient: with the test for it inside one loop, GCC kept every lane in
 * a scalar register (the MSE: 0.42 ns a value in the caches). Built into
 * each loss's TNN_VECTOR_CLONES pass, where term() and slope() become
 * that loss's code. */
TNN_INLINE double lanes_sum(const struct sum_pass *p, size_t begin, size_t end,
                            term_fn term, slope_fn slope)
{
    const float *pred = p->pred + begin, *target = p->target + begin;
    float *grad = p->grad ? p->grad + begin : NULL;
    const double scale = p->scale, delta = p->delta;
    const size_t count = end - begin;
    double lane[TNN_SUM_LANES] = {0};
    size_t i = 0;
    if (grad)
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++) {
                lane[l] += term(pred[i + l], target[i + l], delta);
                grad[i + l] = slope(pred[i + l], target[i + l], scale, delta);
            }
    else
        for (; i + TNN_SUM_LANES <= count; i += TNN_SUM_LANES)
            for (size_t l = 0; l < TNN_SUM_LANES; l++)
                lane[l] += term(pred[i + l], target[i + l], delta);
    for (size_t l = 0; i < count; i++, l++) {
        lane[l] += term(pred[i], target[i], delta);
        if (grad)
            grad[i] = slope(pred[i], target[i], scale, delta);
    }
    return tnn__fold_lanes(lane);
}

/* The MSE: (p - t)^2, and (p - t) times the float 1/n. */
TNN_INLINE double square_term(float p, float t, double delta)
{
    (void)delta;
    float diff = p - t;
    return (double)diff * diff;
}

TNN_INLINE float square_slope(float p, float t, double scale, double delta)
{
    (void)delta;
    return (p - t) * (float)scale;
}

TNN_VECTOR_CLONES
static double squares_chunk(const struct sum_pass *p, size_t begin, size_t end)
{
    return lanes_sum(p, begin, end, square_term, square_slope);
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

/* The MAE: |p - t|, and sign(p - t) times the float 1/count: 0 where
 * p = t, and NaN passes as NaN. */
TNN_INLINE double absolute_term(float p, float t, double delta)
{
    (void)delta;
    return fabs((double)p - (double)t);
}

TNN_INLINE float absolute_slope(float p, float t, double scale, double delta)
{
    (void)delta;
    const float step = (float)scale;
    double d = (double)p - (double)t;
    return d > 0.0 ? step : d < 0.0 ? -step : (float)(d * step);
}

TNN_VECTOR_CLONES
static double absolutes_chunk(const struct sum_pass *p, size_t begin,
                              size_t end)
{
    return lanes_sum(p, begin, end, absolute_term, absolute_slope);
}

double tnn__mae(const float *pred, const float *target, size_t n, size_t k,
                float *grad)
{
    const size_t count = n * k;
    const float step = (float)(1.0 / (double)count);
    return chunked_sum(absolutes_chunk, pred, target, count, step, 0.0, grad) /
           (double)count;
}

/* Huber's loss with delta: quadratic up to |p - t| = delta, linear
 * beyond, its slope times scale; a NaN difference takes the quadratic
 * side: NaN loss and gradient. */
TNN_INLINE double huber_term(float p, float t, double delta)
{
    double d = (double)p - (double)t, a = fabs(d);
    return !(a > delta) ? 0.5 * d * d : delta * (a - 0.5 * delta);
}

TNN_INLINE float huber_slope(float p, float t, double scale, double delta)
{
    double d = (double)p - (double)t;
    return !(fabs(d) > delta) ? (float)(d * scale)
                              : (float)((d > 0.0 ? delta : -delta) * scale);
}

TNN_VECTOR_CLONES
static double huber_chunk(const struct sum_pass *p, size_t begin, size_t end)
{
    return lanes_sum(p, begin, end, huber_term, huber_slope);
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
