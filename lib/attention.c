/*
 * Multi-head self-attention over (time, width) samples, as PyTorch's
 * MultiheadAttention(width, heads, dropout, batch_first=True) computes it
 * with query, key and value all the input, in PyTorch's parameter layout
 * (in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias), so that
 * weights move between the two one to one:
 *
 *   [Q K V] = x W_in^T + b_in                      (time, 3 width)
 *   A_h = softmax(Q_h K_h^T / sqrt(d) + M)         (time, time), per head
 *   O_h = dropout(A_h) V_h                         (time, d)
 *   y = [O_1 ... O_heads] W_out^T + b_out          (time, width)
 *
 * with d = width / heads, Q_h, K_h, V_h head h's d columns of Q, K and V,
 * and M -infinity above the diagonal when causal (those weights are 0:
 * they are never computed), zero otherwise.
 *
 * The two projections run once each over every row and step of the batch:
 * as oneDNN matrix products in a build with it (dense_dnnl.c, with the
 * weights in PyTorch's (out, in) layout), which took a fifth off char_lm's
 * epoch against OpenBLAS's on these thin products (docs/performance.md),
 * and otherwise one cblas_sgemm each way, the transposes as its flags.
 * What lies between works on (sample, head) pairs, split over threads by
 * tnn__parallel_for: each pair reads its head's columns of Q, K and V in
 * place through the leading dimension 3 width, and writes only its own
 * things: its probabilities, its dropout mask, its head's columns of the
 * concatenation (forward) and of the gradient of [Q K V] (backward).
 * Nothing is summed across pairs, so that the results do not depend on
 * how the pairs are split, nor on the thread count.
 *
 * Inside a pair the products are small (time x d x time) and the library
 * never calls the BLAS from inside a parallel loop: OpenBLAS's pthreads
 * build serialises concurrent callers on one lock, and its OpenMP build
 * and the reference BLAS, though safe, pay a call's overhead for a few
 * thousand multiplications. So the pair products are loops written here
 * (combine()): each computes a block of 16 outputs at once, every one a
 * sum in a fixed order over its terms, in lanes that the compiler keeps
 * in vector registers; no sum is reordered by the vectorisation, so that
 * every ISA variant (TNN_VECTOR_CLONES) gives the same bits. The blocks
 * run along a head's d columns for the products that sum over steps (P V,
 * dS K, dS^T Q, P^T dO, reading the rows of Q, K, V and dO in place), and
 * along the steps for the two that sum over d (Q K^T and dO V^T), which
 * read K_h and V_h as (d, time) from a copy the pair makes in its own
 * part of the scratch (time d values, against time^2 d multiplications
 * that read them). The softmax's exponentials are a vectorised
 * polynomial (tnn__exp_nonpositive()), its sums in double.
 *
 * Dropout draws one 32-bit half of a counter-based 64-bit draw per
 * attention weight: weight (h, i, j) of a sample takes half e % 2 of draw
 * e / 2 of the sample's stream, e = (h time + i) time + j, so that any
 * pair can make its own draws. The stream of a sample is
 * tnn__row_stream(key, row): in a sharded model key is the layer's row
 * key and row the sample's index in the global batch (replica.c), so
 * that the masks do not depend on how the batch is split; otherwise key
 * is one draw from the model's generator per training forward and row
 * the sample's index in the batch.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "dense_dnnl.h"
#include "internal.h"
#include "vecmath.h"

/* Multiplications that a thread's share of the pairs must reach (a
 * pair's forward makes 2 time^2 d), so that waking the thread costs less
 * than it saves. */
#define ATT_MIN_WORK_PER_THREAD ((size_t)1 << 15)

struct attention {
    size_t width;
    size_t heads;
    bool causal;
    float dropout;
    /* Per-batch state, scratch_cap floats, laid out by att_buffers(). */
    float *scratch;
    size_t scratch_cap;
    /* A bias gradient's column sums, in double (3 width). */
    double *sums;
    /* The projections' products on oneDNN (dense_dnnl.c), chosen as for
     * dense layers (TNN_BACKEND); NULL for the CBLAS path. */
    bool want_dnnl;
    struct tnn__dnnl_dense *proj[2];
};

enum { IN_PROJ, OUT_PROJ };

/* Columns the pair products compute at once: one AVX-512 vector, two
 * AVX2 ones, four SSE ones, held in registers across a whole sum. */
#define ATT_BLOCK ((size_t)16)

/* The parts of the scratch for a batch of n rows of time steps. */
struct att_buffers {
    float *qkv;     /* (n, time, 3 width): Q, K and V */
    float *concat;  /* (n, time, width): [O_1 ... O_heads] */
    float *probs;   /* (n, heads, time, time): the attention weights */
    float *mask;    /* (n, heads, time, time): 0 or 1 / (1 - dropout);
                       NULL without dropout */
    float *square;  /* (n, heads, time, time): the weights after dropout,
                       then dS (backward); a row of them (forward) */
    float *dconcat; /* (n, time, width) */
    float *dqkv;    /* (n, time, 3 width) */
    float *pack;    /* (n, heads, d, padded time): K_h or V_h transposed */
};

static size_t att_time(const tnn_layer *layer)
{
    return layer->in_shape.dims[0];
}

/* Steps rounded up to whole blocks: the rows of the transposed K_h and
 * V_h, which the products read a block at a time. */
static size_t padded(size_t time)
{
    return (time + ATT_BLOCK - 1) / ATT_BLOCK * ATT_BLOCK;
}

/* Values of per-batch state per sample: 8 width per step, width per
 * padded step, and per head two or (with a dropout mask) three time *
 * time; SIZE_MAX if that overflows. */
static size_t per_sample(size_t time, size_t width, size_t heads, bool mask)
{
    size_t steps_part, pack, square, head_part;
    if (time > SIZE_MAX - ATT_BLOCK ||
        !tnn__mul_size(time, 8 * width, &steps_part) ||
        !tnn__mul_size(padded(time), width, &pack) ||
        steps_part > SIZE_MAX - pack || !tnn__mul_size(time, time, &square) ||
        !tnn__mul_size(square, mask ? 3 : 2, &square) ||
        !tnn__mul_size(square, heads, &head_part) ||
        steps_part + pack > SIZE_MAX - head_part)
        return SIZE_MAX;
    return steps_part + pack + head_part;
}

static bool has_mask(const struct attention *a)
{
    return a->dropout > 0.0f;
}

static size_t att_scratch(const tnn_layer *layer)
{
    const struct attention *a = layer->impl;
    return per_sample(att_time(layer), a->width, a->heads, has_mask(a));
}

static struct att_buffers att_buffers(const tnn_layer *layer, size_t n)
{
    const struct attention *a = layer->impl;
    const size_t time = att_time(layer), w = a->width;
    const size_t steps = n * time, weights = n * a->heads * time * time;
    struct att_buffers b;
    b.qkv = a->scratch;
    b.concat = b.qkv + steps * 3 * w;
    b.probs = b.concat + steps * w;
    b.mask = has_mask(a) ? b.probs + weights : NULL;
    b.square = b.probs + (has_mask(a) ? 2 : 1) * weights;
    b.dconcat = b.square + weights;
    b.dqkv = b.dconcat + steps * w;
    b.pack = b.dqkv + steps * 3 * w;
    return b;
}

static void free_projections(struct attention *a)
{
    tnn__dnnl_dense_free(a->proj[IN_PROJ]);
    tnn__dnnl_dense_free(a->proj[OUT_PROJ]);
    a->proj[IN_PROJ] = a->proj[OUT_PROJ] = NULL;
}

/* oneDNN's products for steps rows; where it refuses a shape the BLAS
 * takes over for good, as in dense layers. TNN_OK or TNN_E_NOMEM. */
static int reserve_projections(struct attention *a, const char *func,
                               size_t steps)
{
    const size_t w = a->width;
    int rc = tnn__dnnl_dense_reserve(&a->proj[IN_PROJ], func, w, 3 * w, true,
                                     steps);
    if (rc == TNN_OK)
        rc = tnn__dnnl_dense_reserve(&a->proj[OUT_PROJ], func, w, w, true,
                                     steps);
    if (rc != TNN__DNNL_DENSE_UNSUPPORTED)
        return rc;
    free_projections(a);
    a->want_dnnl = false;
    return TNN_OK;
}

static int att_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct attention *a = layer->impl;
    /* The projections take every row and step as one matrix. */
    size_t steps;
    if (!tnn__mul_size(n, att_time(layer), &steps) || steps > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, func,
                         "attention layer: %zu rows of %zu steps exceed the "
                         "BLAS's sizes",
                         n, att_time(layer));
    float *scratch = tnn__grow_rows(func,
                                    "an attention layer's per-batch "
                                    "state",
                                    a->scratch, &a->scratch_cap, n,
                                    att_scratch(layer), sizeof *scratch);
    if (!scratch)
        return TNN_E_NOMEM;
    a->scratch = scratch;
    return a->want_dnnl ? reserve_projections(a, func, steps) : TNN_OK;
}

/* (time, width) samples for any time; the output has their shape. */
static int att_bind(const tnn_layer *layer, const char *func,
                    const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct attention *a = layer->impl;
    char got[64];
    if (in->ndim != 2 || in->dims[1] != a->width || in->dims[0] == 0)
        return tnn__fail(TNN_E_SHAPE, func,
                         "attention of width %zu takes (time, %zu) samples, "
                         "not %s",
                         a->width, a->width,
                         tnn__shape_text(in, got, sizeof got));
    out->ndim = 2;
    out->dims[0] = in->dims[0];
    out->dims[1] = in->dims[1];
    return TNN_OK;
}

/* ---- the pairs' passes --------------------------------------------------
 */

struct att_pass {
    size_t time, width, heads, d;
    bool causal;
    float scale; /* 1 / sqrt(d) */
    struct att_buffers b;
    /* Forward, training with dropout: the streams' key and the first
     * sample's row, the threshold of a kept draw and the kept scale. */
    bool drop;
    uint64_t key;
    uint64_t first_row;
    uint64_t threshold;
    uint32_t scale_bits;
};

/* scale when a draw of 32 bits keeps its weight, else 0, chosen by a bit
 * mask rather than a branch (as dropout.c). */
static inline float keep_or_drop(uint64_t half, uint64_t threshold,
                                 uint32_t scale_bits)
{
    union {
        uint32_t bits;
        float value;
    } m = {.bits = scale_bits & (0u - (uint32_t)(half >= threshold))};
    return m.value;
}

/* The mask of row i of pair (sample, head) for its first count weights:
 * weight e of the sample (e = (head time + i) time + j) takes half e % 2
 * of draw e / 2 of the sample's stream. */
static void mask_row(const struct att_pass *p, uint64_t stream, size_t head,
                     size_t i, size_t count, float *mask)
{
    const uint64_t first = ((uint64_t)head * p->time + i) * p->time;
    uint64_t bits = 0;
    for (size_t j = 0; j < count; j++) {
        uint64_t e = first + j;
        if (j == 0 || (e & 1) == 0)
            bits = tnn__row_draw(stream, e >> 1);
        uint64_t half = (e & 1) ? bits >> 32 : bits & 0xffffffffu;
        mask[j] = keep_or_drop(half, p->threshold, p->scale_bits);
    }
}

/* Columns of a head: the (time, d) block of rows ld apart at src into
 * the (d, tp) block at t, each row zero past time. */
static void transpose_block(const float *restrict src, size_t ld, size_t time,
                            size_t d, size_t tp, float *restrict t)
{
    for (size_t c = 0; c < d; c++) {
        float *row = t + c * tp;
        for (size_t j = 0; j < time; j++)
            row[j] = src[j * ld + c];
        for (size_t j = time; j < tp; j++)
            row[j] = 0.0f;
    }
}

/* acc[c] = the sum over t < count of coef[t cs] rows[t ld + c], for the
 * ATT_BLOCK columns c from rows, in local blocks the compiler keeps in
 * vector registers: the terms of even t and of odd t summed apart, each
 * in the order of t, then added (two chains of additions in flight, in
 * an order fixed here, whatever the vector width). */
static inline void combine(float *restrict acc, const float *restrict coef,
                           size_t cs, const float *restrict rows, size_t ld,
                           size_t count)
{
    float even[ATT_BLOCK] = {0.0f}, odd[ATT_BLOCK] = {0.0f};
    size_t t = 0;
    for (; t + 1 < count; t += 2) {
        const float a = coef[t * cs], b = coef[(t + 1) * cs];
        const float *r = rows + t * ld, *u = r + ld;
        for (size_t c = 0; c < ATT_BLOCK; c++) {
            even[c] += a * r[c];
            odd[c] += b * u[c];
        }
    }
    if (t < count) {
        const float a = coef[t * cs];
        const float *r = rows + t * ld;
        for (size_t c = 0; c < ATT_BLOCK; c++)
            even[c] += a * r[c];
    }
    for (size_t c = 0; c < ATT_BLOCK; c++)
        acc[c] = even[c] + odd[c];
}

/* The same for the first len < ATT_BLOCK columns. */
static inline void combine_part(float *restrict acc,
                                const float *restrict coef, size_t cs,
                                const float *restrict rows, size_t ld,
                                size_t count, size_t len)
{
    float sum[ATT_BLOCK] = {0.0f};
    for (size_t t = 0; t < count; t++) {
        const float a = coef[t * cs];
        const float *r = rows + t * ld;
        for (size_t c = 0; c < len; c++)
            sum[c] += a * r[c];
    }
    memcpy(acc, sum, len * sizeof *acc);
}

/* out[c] = the sum over t < count of coef[t cs] rows[t ld + c], for c <
 * len: a row of a head's d columns from count rows of them. */
static inline void combine_rows(float *restrict out,
                                const float *restrict coef, size_t cs,
                                const float *restrict rows, size_t ld,
                                size_t count, size_t len)
{
    size_t c = 0;
    for (; c + ATT_BLOCK <= len; c += ATT_BLOCK)
        combine(out + c, coef, cs, rows + c, ld, count);
    if (c < len)
        combine_part(out + c, coef, cs, rows + c, ld, count, len - c);
}

/* s[j] = x . y_j for j < count, from x (d values) and the y_j as the
 * columns of the (d, tp) block yt, tp a whole number of blocks. */
static inline void dot_columns(float *restrict s, const float *restrict x,
                               const float *restrict yt, size_t tp, size_t d,
                               size_t count)
{
    size_t j = 0;
    for (; j + ATT_BLOCK <= count; j += ATT_BLOCK)
        combine(s + j, x, 1, yt + j, tp, d);
    if (j < count) {
        float acc[ATT_BLOCK];
        combine(acc, x, 1, yt + j, tp, d);
        for (size_t c = 0; j + c < count; c++)
            s[j + c] = acc[c];
    }
}

/* Steps a row of the weights covers: up to the diagonal when causal. */
static inline size_t row_end(const struct att_pass *p, size_t i)
{
    return p->causal ? i + 1 : p->time;
}

/* The first row whose weights cover step j. */
static inline size_t column_start(const struct att_pass *p, size_t j)
{
    return p->causal ? j : 0;
}

/* Pairs [begin, end): the weights of every row, the dropout mask, and
 * the head's columns of the concatenation. */
TNN_VECTOR_CLONES
static void forward_pairs(void *arg, size_t begin, size_t end)
{
    const struct att_pass *p = arg;
    const size_t time = p->time, w = p->width, d = p->d, ld = 3 * w;
    const size_t tp = padded(time);
    for (size_t pair = begin; pair < end; pair++) {
        const size_t sample = pair / p->heads, head = pair % p->heads;
        const float *q = p->b.qkv + sample * time * ld + head * d;
        const float *k = q + w, *v = q + 2 * w;
        float *probs = p->b.probs + pair * time * time;
        float *mask = p->drop ? p->b.mask + pair * time * time : NULL;
        float *dropped = p->b.square + pair * time * time;
        float *kt = p->b.pack + pair * d * tp;
        float *o = p->b.concat + sample * time * w + head * d;
        const uint64_t stream =
            p->drop ? tnn__row_stream(p->key, p->first_row + sample) : 0;
        transpose_block(k, ld, time, d, tp, kt);
        for (size_t i = 0; i < time; i++) {
            const size_t jn = row_end(p, i);
            float *s = probs + i * time;
            dot_columns(s, q + i * ld, kt, tp, d, jn);
            float max = -INFINITY;
            for (size_t j = 0; j < jn; j++) {
                s[j] *= p->scale;
                max = s[j] > max ? s[j] : max;
            }
            for (size_t j = 0; j < jn; j++)
                s[j] = tnn__exp_nonpositive(s[j] - max);
            double sum = 0.0;
            for (size_t j = 0; j < jn; j++)
                sum += s[j];
            const float inv = (float)(1.0 / sum);
            for (size_t j = 0; j < jn; j++)
                s[j] *= inv;
            for (size_t j = jn; j < time; j++)
                s[j] = 0.0f;
            const float *weights = s;
            if (mask) {
                float *m = mask + i * time;
                mask_row(p, stream, head, i, jn, m);
                for (size_t j = jn; j < time; j++)
                    m[j] = 0.0f;
                /* A product, not a select: a dropped NaN stays NaN. */
                for (size_t j = 0; j < jn; j++)
                    dropped[j] = s[j] * m[j];
                weights = dropped;
            }
            combine_rows(o + i * w, weights, 1, v, ld, jn, d);
        }
    }
}

/* Pairs [begin, end): the head's columns of the gradients of Q, K and V
 * from those of its output (dconcat). With P the weights, M the mask (1
 * without dropout) and dO the output's gradient:
 *   dV_j = sum_i P_ij M_ij dO_i,   dP_ij = M_ij dO_i . V_j,
 *   dS_ij = P_ij (dP_ij - sum_k dP_ik P_ik) / sqrt(d),
 *   dQ_i = sum_j dS_ij K_j,   dK_j = sum_i dS_ij Q_i. */
TNN_VECTOR_CLONES
static void backward_pairs(void *arg, size_t begin, size_t end)
{
    const struct att_pass *p = arg;
    const size_t time = p->time, w = p->width, d = p->d, ld = 3 * w;
    const size_t tp = padded(time);
    for (size_t pair = begin; pair < end; pair++) {
        const size_t sample = pair / p->heads, head = pair % p->heads;
        const size_t at = sample * time * ld + head * d;
        const float *q = p->b.qkv + at, *k = q + w, *v = q + 2 * w;
        float *dq = p->b.dqkv + at, *dk = dq + w, *dv = dq + 2 * w;
        const float *probs = p->b.probs + pair * time * time;
        const float *mask = p->b.mask ? p->b.mask + pair * time * time : NULL;
        const float *dout = p->b.dconcat + sample * time * w + head * d;
        float *ds = p->b.square + pair * time * time;
        float *vt = p->b.pack + pair * d * tp;
        /* dV from the weights after dropout, kept in ds until dS takes
         * their place. */
        const float *weights = probs;
        if (mask) {
            for (size_t i = 0; i < time; i++)
                for (size_t j = 0; j < row_end(p, i); j++)
                    ds[i * time + j] =
                        probs[i * time + j] * mask[i * time + j];
            weights = ds;
        }
        for (size_t j = 0; j < time; j++) {
            const size_t i0 = column_start(p, j);
            combine_rows(dv + j * ld, weights + i0 * time + j, time,
                         dout + i0 * w, w, time - i0, d);
        }
        transpose_block(v, ld, time, d, tp, vt);
        for (size_t i = 0; i < time; i++) {
            const size_t jn = row_end(p, i);
            const float *pi = probs + i * time;
            float *dp = ds + i * time;
            dot_columns(dp, dout + i * w, vt, tp, d, jn);
            if (mask)
                for (size_t j = 0; j < jn; j++)
                    dp[j] *= mask[i * time + j];
            double dot = 0.0;
            for (size_t j = 0; j < jn; j++)
                dot += (double)dp[j] * pi[j];
            const float sum = (float)dot;
            for (size_t j = 0; j < jn; j++)
                dp[j] = pi[j] * (dp[j] - sum) * p->scale;
            combine_rows(dq + i * ld, dp, 1, k, ld, jn, d);
        }
        for (size_t j = 0; j < time; j++) {
            const size_t i0 = column_start(p, j);
            combine_rows(dk + j * ld, ds + i0 * time + j, time, q + i0 * ld,
                         ld, time - i0, d);
        }
    }
}

static struct att_pass make_pass(const tnn_layer *layer, size_t n)
{
    const struct attention *a = layer->impl;
    const size_t d = a->width / a->heads;
    return (struct att_pass){
        .time = att_time(layer),
        .width = a->width,
        .heads = a->heads,
        .d = d,
        .causal = a->causal,
        .scale = (float)(1.0 / sqrt((double)d)),
        .b = att_buffers(layer, n),
    };
}

/* Pairs that make a thread's share worth waking it. */
static size_t min_pairs(const struct att_pass *p)
{
    size_t work;
    if (!tnn__mul_size(p->time * p->time, 2 * p->d, &work) || work == 0)
        return 1;
    return work >= ATT_MIN_WORK_PER_THREAD ? 1
                                           : ATT_MIN_WORK_PER_THREAD / work;
}

/* Every row of rows (steps of width values) seeded with bias. */
static void seed_rows(float *rows, size_t steps, size_t width,
                      const float *bias)
{
    for (size_t r = 0; r < steps; r++)
        memcpy(rows + r * width, bias, width * sizeof *rows);
}

/* y = x W^T + b over steps rows, W (out, in) as PyTorch's Linear has it. */
static void project(const struct attention *a, int which, const float *x,
                    const float *weight, const float *bias, float *y,
                    size_t steps, size_t in, size_t out)
{
#ifdef TNN_HAVE_DNNL
    if (a->proj[which] &&
        tnn__dnnl_dense_forward(a->proj[which], x, weight, bias, y, steps))
        return;
#else
    (void)a;
    (void)which;
#endif
    /* The product adds onto the bias (beta 1). */
    seed_rows(y, steps, out, bias);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)steps, (int)out,
                (int)in, 1.0f, x, (int)in, weight, (int)in, 1.0f, y, (int)out);
}

/* The weight gradient dy^T x (added to dw when accumulate) and, unless dx
 * is NULL, the input gradient dy W. */
static void project_backward(const struct attention *a, int which,
                             const float *x, const float *weight,
                             const float *dy, float *dw, float *dx,
                             size_t steps, size_t in, size_t out,
                             bool accumulate)
{
#ifdef TNN_HAVE_DNNL
    if (a->proj[which] &&
        tnn__dnnl_dense_backward(a->proj[which], x, weight, dy, dw, dx, steps,
                                 accumulate))
        return;
#else
    (void)a;
    (void)which;
#endif
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in,
                (int)steps, 1.0f, dy, (int)out, x, (int)in,
                accumulate ? 1.0f : 0.0f, dw, (int)in);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)steps,
                    (int)in, (int)out, 1.0f, dy, (int)out, weight, (int)in,
                    0.0f, dx, (int)in);
}

static void att_forward(tnn_layer *layer, const float *in, float *out,
                        size_t n, bool training, tnn_rng *rng)
{
    const struct attention *a = layer->impl;
    struct att_pass pass = make_pass(layer, n);
    const size_t w = a->width, steps = n * pass.time;
    const float *w_in = layer->param[0]->data, *b_in = layer->param[1]->data;
    const float *w_out = layer->param[2]->data;
    const float *b_out = layer->param[3]->data;
    project(a, IN_PROJ, in, w_in, b_in, pass.b.qkv, steps, w, 3 * w);
    /* The mask is kept for the backward of a training forward with
     * dropout; evaluation uses every weight. */
    if (training && has_mask(a)) {
        const float keep = 1.0f / (1.0f - a->dropout);
        pass.drop = true;
        pass.threshold = (uint64_t)((double)a->dropout * 4294967296.0);
        memcpy(&pass.scale_bits, &keep, sizeof pass.scale_bits);
        if (layer->row_key.on) {
            pass.key = layer->row_key.key;
            pass.first_row = layer->row_key.first_row;
        } else {
            pass.key = rng ? tnn__rng_next(rng) : 0;
        }
    }
    tnn__parallel_for(n * a->heads, min_pairs(&pass), forward_pairs, &pass);
    project(a, OUT_PROJ, pass.b.concat, w_out, b_out, out, steps, w, w);
}

/* The column sums of steps rows of width values, in double, row by row,
 * into the bias gradient g. */
static void column_sums(double *sums, const float *rows, size_t steps,
                        size_t width, float *g, bool accumulate)
{
    for (size_t j = 0; j < width; j++)
        sums[j] = 0.0;
    for (size_t r = 0; r < steps; r++)
        for (size_t j = 0; j < width; j++)
            sums[j] += rows[r * width + j];
    for (size_t j = 0; j < width; j++)
        g[j] = (accumulate ? g[j] : 0.0f) + (float)sums[j];
}

static void att_backward(tnn_layer *layer, const float *in, const float *out,
                         const float *dout, float *din, size_t n,
                         bool accumulate)
{
    (void)out;
    const struct attention *a = layer->impl;
    struct att_pass pass = make_pass(layer, n);
    const size_t w = a->width, steps = n * pass.time;
    /* y = concat W_out^T + b_out: dconcat = dy W_out, dW_out = dy^T
     * concat, db_out = the column sums of dy. */
    project_backward(a, OUT_PROJ, pass.b.concat, layer->param[2]->data, dout,
                     layer->grad[2]->data, pass.b.dconcat, steps, w, w,
                     accumulate);
    column_sums(a->sums, dout, steps, w, layer->grad[3]->data, accumulate);
    tnn__parallel_for(n * a->heads, min_pairs(&pass), backward_pairs, &pass);
    /* [Q K V] = x W_in^T + b_in: dW_in = dqkv^T x, db_in = its column
     * sums, dx = dqkv W_in. */
    project_backward(a, IN_PROJ, in, layer->param[0]->data, pass.b.dqkv,
                     layer->grad[0]->data, din, steps, w, 3 * w, accumulate);
    column_sums(a->sums, pass.b.dqkv, steps, 3 * w, layer->grad[1]->data,
                accumulate);
}

/* PyTorch 1.13's initialisation: MultiheadAttention._reset_parameters()
 * draws in_proj_weight with xavier_uniform_, whose fans for a (3 width,
 * width) matrix are width in and 3 width out: uniform in +-sqrt(6 / (4
 * width)); it zeroes both biases but leaves out_proj.weight as its
 * nn.Linear made it, kaiming_uniform_(a = sqrt(5)): uniform in +-1 /
 * sqrt(width). */
static void att_init(tnn_layer *layer, tnn_rng *rng)
{
    const struct attention *a = layer->impl;
    const double w = (double)a->width;
    const float in_limit = (float)sqrt(6.0 / (w + 3.0 * w));
    const float out_limit = (float)(1.0 / sqrt(w));
    tnn_tensor_rand_uniform(layer->param[0], rng, -in_limit, in_limit);
    tnn_tensor_fill(layer->param[1], 0.0f);
    tnn_tensor_rand_uniform(layer->param[2], rng, -out_limit, out_limit);
    tnn_tensor_fill(layer->param[3], 0.0f);
}

static void att_destroy(tnn_layer *layer)
{
    struct attention *a = layer->impl;
    tnn__free(a->scratch);
    tnn__free(a->sums);
    free_projections(a);
}

/* ---- model files: width, heads, causal and the dropout rate ------------
 */

#define ATT_CONFIG_WORDS 4

static void att_save_config(const tnn_layer *layer, uint32_t version,
                            uint32_t *words)
{
    (void)version;
    const struct attention *a = layer->impl;
    words[0] = (uint32_t)a->width;
    words[1] = (uint32_t)a->heads;
    words[2] = a->causal ? 1u : 0u;
    words[3] = tnn__float_word(a->dropout);
}

static tnn_layer *att_load_config(const struct tnn__layer_record *record,
                                  uint32_t version)
{
    (void)version;
    /* A causal word other than 0 and 1 must be refused, not wrapped into
     * one of them. */
    int causal = record->config[2] <= 1 ? (int)record->config[2] : 2;
    return tnn_attention_new(record->config[0], record->config[1], causal,
                             tnn__word_float(record->config[3]));
}

/* The two weights (4 width^2) and two biases (4 width). */
static uint64_t att_record_values(const struct tnn__layer_record *record,
                                  uint32_t version)
{
    (void)version;
    const uint64_t w4 = tnn__mul_sat(4, record->config[0]);
    return tnn__add_sat(tnn__mul_sat(w4, record->config[0]), w4);
}

static const char *const att_param_names[] = {
    "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"};

static void att_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    (void)layer;
    node->refusal = "ONNX export does not describe multi-head attention";
}

/* Two tables that differ only in needs_rng: a layer with dropout needs a
 * generator in training (tnn_layer_forward() refuses NULL then), one
 * without draws nothing and takes NULL. Both are the kind
 * TNN_LAYER_ATTENTION; the file formats know the first (kinds.c), whose
 * load_config makes the layer through the constructor, which picks. */
#define ATTENTION_OPS(rng)                                                    \
    {                                                                         \
        .kind = TNN_LAYER_ATTENTION, .name = "attention", .needs_rng = rng,   \
        .bind = att_bind, .reserve = att_reserve, .forward = att_forward,     \
        .backward = att_backward, .init = att_init, .destroy = att_destroy,   \
        .sample_scratch = att_scratch, .since_format = 9,                     \
        .config_words = ATT_CONFIG_WORDS, .save_config = att_save_config,     \
        .load_config = att_load_config, .record_values = att_record_values,   \
        .param_names = att_param_names, .onnx_node = att_onnx_node,           \
    }

const struct tnn__layer_ops tnn__attention_ops = ATTENTION_OPS(false);
static const struct tnn__layer_ops attention_dropout_ops = ATTENTION_OPS(true);

/* The four parameters in PyTorch's shapes. */
static int add_params(tnn_layer *layer, const char *func, size_t width)
{
    const size_t in_w[2] = {3 * width, width}, in_b = 3 * width;
    const size_t out_w[2] = {width, width};
    int rc = tnn__layer_add_param(layer, func, 2, in_w, true);
    if (rc == TNN_OK)
        rc = tnn__layer_add_param(layer, func, 1, &in_b, false);
    if (rc == TNN_OK)
        rc = tnn__layer_add_param(layer, func, 2, out_w, true);
    if (rc == TNN_OK)
        rc = tnn__layer_add_param(layer, func, 1, &width, false);
    return rc;
}

tnn_layer *tnn_attention_new(size_t width, size_t heads, int causal,
                             float dropout)
{
    /* 4 width^2 weights at most 2^31 - 1: also keeps 3 width, the
     * projections' widest dimension, within the BLAS's int sizes. */
    size_t weights = 0;
    if (width == 0 || heads == 0 || width % heads != 0 ||
        !tnn__mul_size(width, width, &weights) ||
        weights > TNN_MAX_BLAS_DIM / 4 || (causal != 0 && causal != 1) ||
        !(dropout >= 0.0f && dropout < 1.0f)) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "width %zu, heads %zu, causal %d, dropout %g: width and "
                  "heads must be >= 1 with heads dividing width and 4 * "
                  "width * width at most %zu, causal 0 or 1 and dropout in "
                  "[0, 1)",
                  width, heads, causal, (double)dropout, TNN_MAX_BLAS_DIM);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__,
                                        dropout > 0.0f ? &attention_dropout_ops
                                                       : &tnn__attention_ops,
                                        0, 0, sizeof(struct attention));
    if (!layer)
        return NULL;
    struct attention *a = layer->impl;
    a->width = width;
    a->heads = heads;
    a->causal = causal == 1;
    a->dropout = dropout;
    a->want_dnnl = tnn__want_dnnl();
    a->sums = tnn__calloc(3 * width, sizeof *a->sums);
    if (!a->sums) {
        tnn_layer_free(layer);
        tnn__fail(TNN_E_NOMEM, __func__,
                  "cannot allocate an attention layer of width %zu", width);
        return NULL;
    }
    if (add_params(layer, __func__, width) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}
