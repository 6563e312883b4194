/*
 * Max and average pooling over the positions of NCHW images, without
 * padding (Keras' "valid"): output side floor((side - k) / stride) + 1.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

struct pool2d {
    size_t k, stride;
    /* Max pooling: for every output of the last training batch, the
     * position of its maximum within the input plane. */
    uint32_t *argmax;
    size_t argmax_cap;
    /* Rows of the last training forward if it read a convolution's
     * blocked output (then argmax is in the blocked order), else 0, and
     * that output. */
    size_t blocked_rows;
    struct tnn__blocked blocked;
};

static int pool_bind(const tnn_layer *layer, const char *func,
                     const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct pool2d *p = layer->impl;
    char got[64];
    if (in->ndim != 3 || in->dims[1] < p->k || in->dims[2] < p->k ||
        in->dims[1] * in->dims[2] > UINT32_MAX)
        return tnn__fail(TNN_E_SHAPE, func,
                         "%s window %zu needs (channels, height, width) "
                         "images of at least %zux%zu; previous layer gives "
                         "%s",
                         layer->ops->name, p->k, p->k, p->k,
                         tnn__shape_text(in, got, sizeof got));
    *out =
        (struct tnn__shape){3,
                            {in->dims[0], (in->dims[1] - p->k) / p->stride + 1,
                             (in->dims[2] - p->k) / p->stride + 1},
                            0};
    return TNN_OK;
}

static int maxpool_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct pool2d *p = layer->impl;
    uint32_t *argmax =
        tnn__grow_rows(func, "pooling indices", p->argmax, &p->argmax_cap, n,
                       layer->out_features, sizeof *argmax);
    if (!argmax)
        return TNN_E_NOMEM;
    p->argmax = argmax;
    return TNN_OK;
}

/* Below this many input values per thread, waking another thread costs
 * more than it saves (as for ReLU, activation.c). */
#define POOL_MIN_VALUES_PER_THREAD ((size_t)1 << 18)

/* One pass over a batch; threads take ranges of planes (one channel of
 * one image), which share nothing. */
struct pool_pass {
    const tnn_layer *layer;
    const float *in;   /* forward input */
    float *out;        /* forward output */
    bool training;     /* forward: record the maxima */
    const float *dout; /* backward */
    float *din;
    const float *pooled; /* fused backward: the forward's output */
};

/* Visit every output of planes [begin, end): plane q, position (oy, ox). */
#define FOR_EACH_OUTPUT(layer, begin, end)                                    \
    for (size_t q = (begin); q < (end); q++)                                  \
        for (size_t oy = 0; oy < (layer)->out_shape.dims[1]; oy++)            \
            for (size_t ox = 0; ox < (layer)->out_shape.dims[2]; ox++)

static void run_planes(const tnn_layer *layer, size_t n, tnn__range_fn body,
                       struct pool_pass *pass)
{
    size_t plane = layer->in_shape.dims[1] * layer->in_shape.dims[2];
    size_t min_planes = POOL_MIN_VALUES_PER_THREAD / plane + 1;
    tnn__parallel_for(n * layer->in_shape.dims[0], min_planes, body, pass);
}

/* The position of the window's maximum at (y0, x0): the first of the
 * largest values in row-major order, or, if the window holds a NaN, the
 * last NaN, so that the window gives NaN and its gradient goes there. */
static size_t window_max(const float *plane, size_t w, size_t k, size_t y0,
                         size_t x0)
{
    size_t best = y0 * w + x0;
    float value = plane[best];
    /* The plain maximum first, which compiles to selects; whether the
     * window holds a NaN is noted on the way without a branch. */
    bool nan_seen = false;
    for (size_t ky = 0; ky < k; ky++)
        for (size_t kx = 0; kx < k; kx++) {
            size_t at = (y0 + ky) * w + x0 + kx;
            float v = plane[at];
            nan_seen |= isnan(v);
            if (v > value) {
                value = v;
                best = at;
            }
        }
    if (nan_seen)
        for (size_t ky = 0; ky < k; ky++)
            for (size_t kx = 0; kx < k; kx++) {
                size_t at = (y0 + ky) * w + x0 + kx;
                if (isnan(plane[at]))
                    best = at;
            }
    return best;
}

/* The common 2 x 2 window at stride 2 runs in two passes that vectorise,
 * since a plane's rows are too short (13 outputs after a 28 x 28 image's
 * first convolution) to fill vector registers one output row at a time:
 * the larger of each column's two values, then of each pair of columns,
 * over many output rows at once. Chunks of output rows keep the columns'
 * values on the stack. */
#define MAX2_CHUNK 1024

/* Column maxima of one row pair: top and the row below it, wide values,
 * top at position base of its plane. Returns whether a NaN was seen. */
TNN_VECTOR_CLONES
static int max2_columns(const float *top, size_t w, uint32_t base, size_t wide,
                        float *value, uint32_t *at)
{
    const float *bottom = top + w;
    int nan_seen = 0;
    for (size_t x = 0; x < wide; x++) {
        float t = top[x], b = bottom[x];
        /* The top value wins ties: it comes first in row-major order. */
        value[x] = b > t ? b : t;
        at[x] = b > t ? base + (uint32_t)(w + x) : base + (uint32_t)x;
        nan_seen |= (t != t) | (b != b);
    }
    return nan_seen;
}

/* Each output from its two columns: the larger, and of equal values the
 * one first in row-major order, as window_max() takes it. */
TNN_VECTOR_CLONES
static void max2_pairs(const float *value, const uint32_t *at, size_t count,
                       float *out, uint32_t *argmax)
{
    for (size_t o = 0; o < count; o++) {
        float l = value[2 * o], r = value[2 * o + 1];
        uint32_t pl = at[2 * o], pr = at[2 * o + 1];
        bool right = r > l || (r == l && pr < pl);
        out[o] = right ? r : l;
        if (argmax)
            argmax[o] = right ? pr : pl;
    }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(TNN_NO_CLONES)
#define TNN_MAX2_AVX512 1
#include <immintrin.h>

/* Output rows of up to 16 values, the convnets' (13 and 5 after a 28 x 28
 * image's convolutions), each from masked 16-lane loads of its two input
 * rows, the column pairs taken apart by two-register permutes: the loops
 * above run such rows on their scalar tails. The same rule as
 * max2_columns() and max2_pairs(), lane by lane; masked-off lanes read
 * nothing (AVX-512 suppresses their faults). */
__attribute__((target("avx512f"))) static bool
max2_plane_avx512(const float *plane, size_t w, size_t oh, size_t ow,
                  float *out, uint32_t *argmax)
{
    const size_t wide = 2 * ow;
    const __mmask16 lo = (__mmask16)(wide >= 16 ? 0xffffu : (1u << wide) - 1);
    const __mmask16 hi = (__mmask16)(wide > 16 ? (1u << (wide - 16)) - 1 : 0);
    const __mmask16 outs = (__mmask16)((1u << ow) - 1);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                           11, 12, 13, 14, 15);
    const __m512i even = _mm512_add_epi32(lane, lane);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i below = _mm512_set1_epi32((int)w);
    const __m512i sixteen = _mm512_set1_epi32(16);
    __mmask16 nan_seen = 0;
    for (size_t oy = 0; oy < oh; oy++) {
        const size_t top = 2 * oy * w;
        const float *t = plane + top;
        __m512 t0 = _mm512_maskz_loadu_ps(lo, t);
        __m512 b0 = _mm512_maskz_loadu_ps(lo, t + w);
        __m512 t1 = _mm512_maskz_loadu_ps(hi, t + 16);
        __m512 b1 = _mm512_maskz_loadu_ps(hi, t + w + 16);
        /* The top value wins ties: it comes first in row-major order. */
        __mmask16 down0 = _mm512_cmp_ps_mask(b0, t0, _CMP_GT_OQ);
        __mmask16 down1 = _mm512_cmp_ps_mask(b1, t1, _CMP_GT_OQ);
        nan_seen |= _mm512_cmp_ps_mask(t0, b0, _CMP_UNORD_Q);
        nan_seen |= _mm512_cmp_ps_mask(t1, b1, _CMP_UNORD_Q);
        __m512 v0 = _mm512_mask_blend_ps(down0, t0, b0);
        __m512 v1 = _mm512_mask_blend_ps(down1, t1, b1);
        __m512i at0 = _mm512_add_epi32(lane, _mm512_set1_epi32((int)top));
        __m512i at1 = _mm512_add_epi32(at0, sixteen);
        at0 = _mm512_mask_add_epi32(at0, down0, at0, below);
        at1 = _mm512_mask_add_epi32(at1, down1, at1, below);
        __m512 l = _mm512_permutex2var_ps(v0, even, v1);
        __m512 r = _mm512_permutex2var_ps(v0, odd, v1);
        __m512i pl = _mm512_permutex2var_epi32(at0, even, at1);
        __m512i pr = _mm512_permutex2var_epi32(at0, odd, at1);
        __mmask16 right = _mm512_cmp_ps_mask(r, l, _CMP_GT_OQ) |
                          (_mm512_cmp_ps_mask(r, l, _CMP_EQ_OQ) &
                           _mm512_cmplt_epu32_mask(pr, pl));
        _mm512_mask_storeu_ps(out + oy * ow, outs,
                              _mm512_mask_blend_ps(right, l, r));
        if (argmax)
            _mm512_mask_storeu_epi32(argmax + oy * ow, outs,
                                     _mm512_mask_blend_epi32(right, pl, pr));
    }
    return nan_seen == 0;
}
#endif

/* A whole plane of 2 x 2 windows at stride 2; false (having written
 * values the caller overwrites) if the plane holds a NaN, or if its rows
 * are too wide for the chunks, for window_max() to do instead. */
static bool max2_plane(const float *plane, size_t w, size_t oh, size_t ow,
                       float *out, uint32_t *argmax)
{
#ifdef TNN_MAX2_AVX512
    if (ow <= 16 && __builtin_cpu_supports("avx512f"))
        return max2_plane_avx512(plane, w, oh, ow, out, argmax);
#endif
    float value[MAX2_CHUNK];
    uint32_t at[MAX2_CHUNK];
    const size_t wide = 2 * ow, rows = MAX2_CHUNK / wide;
    if (rows == 0)
        return false;
    int nan_seen = 0;
    for (size_t first = 0; first < oh; first += rows) {
        size_t count = oh - first < rows ? oh - first : rows;
        for (size_t r = 0; r < count; r++) {
            size_t top = 2 * (first + r) * w;
            nan_seen |= max2_columns(plane + top, w, (uint32_t)top, wide,
                                     value + r * wide, at + r * wide);
        }
        max2_pairs(value, at, count * ow, out + first * ow,
                   argmax ? argmax + first * ow : NULL);
    }
    return !nan_seen;
}

static void maxpool_forward_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_pass *pass = arg;
    const tnn_layer *layer = pass->layer;
    const struct pool2d *p = layer->impl;
    uint32_t *argmax = pass->training ? p->argmax : NULL;
    const size_t k = p->k, stride = p->stride;
    const size_t h = layer->in_shape.dims[1], w = layer->in_shape.dims[2];
    const size_t oh = layer->out_shape.dims[1], ow = layer->out_shape.dims[2];
    const bool two = k == 2 && stride == 2;
    for (size_t q = begin; q < end; q++) {
        const float *plane = pass->in + q * h * w;
        float *out = pass->out + q * oh * ow;
        uint32_t *where = argmax ? argmax + q * oh * ow : NULL;
        /* pool_bind() keeps a plane's positions within uint32_t. */
        if (two && max2_plane(plane, w, oh, ow, out, where))
            continue;
        for (size_t oy = 0; oy < oh; oy++)
            for (size_t ox = 0; ox < ow; ox++) {
                size_t best =
                    window_max(plane, w, k, oy * stride, ox * stride);
                out[oy * ow + ox] = plane[best];
                if (where)
                    where[oy * ow + ox] = (uint32_t)best;
            }
    }
}

static void maxpool_forward(tnn_layer *layer, const float *in, float *out,
                            size_t n, bool training, tnn_rng *rng)
{
    (void)rng;
    ((struct pool2d *)layer->impl)->blocked_rows = 0;
    struct pool_pass pass = {layer, in, out, training, NULL, NULL, NULL};
    run_planes(layer, n, maxpool_forward_planes, &pass);
}

static void maxpool_backward_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_pass *pass = arg;
    const tnn_layer *layer = pass->layer;
    const struct pool2d *p = layer->impl;
    const size_t plane = layer->in_shape.dims[1] * layer->in_shape.dims[2];
    const size_t outs = layer->out_shape.dims[1] * layer->out_shape.dims[2];
    memset(pass->din + begin * plane, 0,
           (end - begin) * plane * sizeof *pass->din);
    for (size_t q = begin; q < end; q++)
        for (size_t o = 0; o < outs; o++)
            pass->din[q * plane + p->argmax[q * outs + o]] +=
                pass->dout[q * outs + o];
}

static void maxpool_backward(tnn_layer *layer, const float *in,
                             const float *out, const float *dout, float *din,
                             size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    (void)accumulate;
    if (!din)
        return;
    struct pool_pass pass = {layer, NULL, NULL, false, dout, din, NULL};
    run_planes(layer, n, maxpool_backward_planes, &pass);
}

/* ---- ReLU then 2 x 2 max pooling, fused (model.c) --------------------
 * Max pooling commutes with ReLU (a monotonic map): the pooling reads the
 * ReLU's input, and ReLU runs on the pooled values, a quarter as many.
 * Values and gradients are those of the two layers run one after the
 * other, bit for bit: where a window's maximum is positive it is the same
 * value at the same position; where it is not, ReLU gives +0 either way
 * and passes no gradient, whichever position took it; NaNs pass ReLU
 * unchanged. The ReLU's own output is never written. */

static bool maxpool_absorbs(const tnn_layer *pool, const tnn_layer *prev)
{
    const struct pool2d *p = pool->impl;
    return prev->ops->kind == TNN_LAYER_RELU && p->k == 2 && p->stride == 2;
}

static void relu_maxpool_forward_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_pass *pass = arg;
    const tnn_layer *layer = pass->layer;
    const size_t outs = layer->out_shape.dims[1] * layer->out_shape.dims[2];
    maxpool_forward_planes(arg, begin, end);
    for (size_t o = begin * outs; o < end * outs; o++)
        pass->out[o] = tnn__relu(pass->out[o]);
}

static void relu_maxpool_forward(tnn_layer *pool, const float *in, float *out,
                                 size_t n, bool training, tnn_rng *rng)
{
    (void)rng;
    ((struct pool2d *)pool->impl)->blocked_rows = 0;
    struct pool_pass pass = {pool, in, out, training, NULL, NULL, NULL};
    run_planes(pool, n, relu_maxpool_forward_planes, &pass);
}

/* One plane of ReLU's input gradient, the general way: from its window's
 * output gradient where a value holds the maximum, from nothing elsewhere
 * (0, or the NaN a NaN input makes). */
static void relu_maxpool_backward_nan(const float *in, size_t plane,
                                      const float *pooled, const float *dout,
                                      const uint32_t *argmax, size_t outs,
                                      float *din)
{
    for (size_t i = 0; i < plane; i++)
        din[i] = isnan(in[i]) ? in[i] : 0.0f;
    for (size_t o = 0; o < outs; o++)
        din[argmax[o]] = tnn__relu_gradient(pooled[o], dout[o]);
}

TNN_VECTOR_CLONES
static bool any_nan(const float *v, size_t count)
{
    int seen = 0;
    for (size_t i = 0; i < count; i++)
        seen |= v[i] != v[i];
    return seen;
}

/* The same when no pooled value is NaN, and so no input a window covers:
 * only the row and column no window covers (odd sides) are read for
 * NaNs, and each maximum's gradient is its output gradient masked by the
 * sign of the pooled value, without a branch on that sign (half of them
 * go each way after a ReLU). */
static void relu_maxpool_backward_plane(const tnn_layer *layer,
                                        const float *in, const float *pooled,
                                        const float *dout,
                                        const uint32_t *argmax, float *din)
{
    const size_t h = layer->in_shape.dims[1], w = layer->in_shape.dims[2];
    const size_t oh = layer->out_shape.dims[1], ow = layer->out_shape.dims[2];
    if (any_nan(pooled, oh * ow)) {
        relu_maxpool_backward_nan(in, h * w, pooled, dout, argmax, oh * ow,
                                  din);
        return;
    }
    memset(din, 0, h * w * sizeof *din);
    for (size_t y = 0; y < h; y++)
        for (size_t x = y < 2 * oh ? 2 * ow : 0; x < w; x++)
            din[y * w + x] = isnan(in[y * w + x]) ? in[y * w + x] : 0.0f;
    for (size_t o = 0; o < oh * ow; o++) {
        uint32_t bits;
        memcpy(&bits, &dout[o], sizeof bits);
        bits &= 0u - (uint32_t)(pooled[o] > 0.0f);
        memcpy(&din[argmax[o]], &bits, sizeof bits);
    }
}

static void relu_maxpool_backward_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_pass *pass = arg;
    const tnn_layer *layer = pass->layer;
    const struct pool2d *p = layer->impl;
    const size_t plane = layer->in_shape.dims[1] * layer->in_shape.dims[2];
    const size_t outs = layer->out_shape.dims[1] * layer->out_shape.dims[2];
    for (size_t q = begin; q < end; q++)
        relu_maxpool_backward_plane(
            layer, pass->in + q * plane, pass->pooled + q * outs,
            pass->dout + q * outs, p->argmax + q * outs,
            pass->din + q * plane);
}

static void relu_maxpool_backward(tnn_layer *pool, const float *in,
                                  const float *out, const float *dout,
                                  float *din, size_t n)
{
    struct pool_pass pass = {pool, in, NULL, false, dout, din, out};
    run_planes(pool, n, relu_maxpool_backward_planes, &pass);
}

/* ---- the same on a convolution's channel-blocked output (model.c) -----
 * Image i's value (c, y, x) sits at ((c / B) * h * w + y * w + x) * B +
 * c % B of its block of B * h * w values (internal.h): one window
 * position holds B channels side by side, and the passes below work on
 * all of them at once, a unit being one image's block of B channels. The
 * rules are window_max()'s and the NCHW passes' above, value for value:
 * the first of the largest values in row-major order, or the last NaN;
 * ReLU on the pooled value; the gradient to the maximum's position only,
 * and NaN inputs' own values where no window or no maximum takes them.
 * The pooled values and the output gradient stay NCHW, a quarter of the
 * size, read and written through small transposing buffers. The maxima's
 * positions are kept in the blocked order (the pooling's argmax buffer,
 * which only the blocked backward then reads: the model runs the two
 * together), NO_GRADIENT where ReLU passes nothing, so that the backward
 * need not read the pooled values unless one of its unit is NaN. */
#define NO_GRADIENT UINT32_MAX

/* The lane loops below are built once per vector width (TNN_INLINE
 * into the TNN_VECTOR_CLONES callers), with the block size a constant
 * there. */

/* Outputs of one row handled at once: the buffers' size. */
#define BLOCKED_OUTPUTS 32
/* Channels in a block at most (AVX-512's 16 floats). */
#define BLOCK_MAX 16

struct blocked_pass {
    const tnn_layer *layer;
    const float *in; /* the convolution's blocked output */
    size_t block;
    float *out; /* forward: NCHW */
    bool training;
    const float *pooled, *dout; /* backward: NCHW */
    float *din;                 /* backward: blocked */
};

/* A plane's sides before and after the pooling. */
struct unit_shape {
    size_t h, w, oh, ow;
};

static struct unit_shape unit_shape(const tnn_layer *layer)
{
    return (struct unit_shape){
        layer->in_shape.dims[1], layer->in_shape.dims[2],
        layer->out_shape.dims[1], layer->out_shape.dims[2]};
}

/* The maxima of count windows along a row, whose first one starts at
 * position p0 of the planes (a at its first value); window j's B
 * channels into value[j * B...], their positions into at[j * B...]
 * unless at is NULL. */
TNN_INLINE void max2_blocked(const float *a, size_t w, size_t B, uint32_t p0,
                             size_t count, float *value, uint32_t *at)
{
    for (size_t j = 0; j < count; j++, a += 2 * B, p0 += 2) {
        const float *b = a + B, *c = a + w * B, *d = c + B;
        const uint32_t wide = (uint32_t)w;
        for (size_t l = 0; l < B; l++) {
            float v = a[l];
            uint32_t p = p0;
            /* Strictly greater: of equal values the first stays. */
            p = b[l] > v ? p0 + 1 : p;
            v = b[l] > v ? b[l] : v;
            p = c[l] > v ? p0 + wide : p;
            v = c[l] > v ? c[l] : v;
            p = d[l] > v ? p0 + wide + 1 : p;
            v = d[l] > v ? d[l] : v;
            /* The last NaN, over whatever came before. */
            p = a[l] != a[l] ? p0 : p;
            v = a[l] != a[l] ? a[l] : v;
            p = b[l] != b[l] ? p0 + 1 : p;
            v = b[l] != b[l] ? b[l] : v;
            p = c[l] != c[l] ? p0 + wide : p;
            v = c[l] != c[l] ? c[l] : v;
            p = d[l] != d[l] ? p0 + wide + 1 : p;
            v = d[l] != d[l] ? d[l] : v;
            value[j * B + l] = tnn__relu(v);
            if (at)
                at[j * B + l] = v <= 0.0f ? NO_GRADIENT : p;
        }
    }
}

/* Unit u's pooled values, written plane by plane; B is a constant in
 * each caller, so that the lane loops unroll into vector operations. */
TNN_INLINE void relu_max2_blocked_unit(const struct blocked_pass *pass,
                                       size_t u, size_t B)
{
    const struct pool2d *p = pass->layer->impl;
    struct unit_shape us = unit_shape(pass->layer);
    const size_t w = us.w, oh = us.oh, ow = us.ow, outs = oh * ow;
    const float *in = pass->in + u * B * us.h * w;
    float *out = pass->out + u * B * outs; /* planes u * B... */
    uint32_t *argmax = pass->training ? p->argmax + u * B * outs : NULL;
    float value[BLOCKED_OUTPUTS * BLOCK_MAX];
    for (size_t oy = 0; oy < oh; oy++)
        for (size_t ox = 0; ox < ow; ox += BLOCKED_OUTPUTS) {
            size_t count =
                ow - ox < BLOCKED_OUTPUTS ? ow - ox : BLOCKED_OUTPUTS;
            size_t p0 = 2 * oy * w + 2 * ox, o = oy * ow + ox;
            max2_blocked(in + p0 * B, w, B, (uint32_t)p0, count, value,
                         argmax ? argmax + o * B : NULL);
            for (size_t l = 0; l < B; l++)
                for (size_t k = 0; k < count; k++)
                    out[l * outs + o + k] = value[k * B + l];
        }
}

TNN_VECTOR_CLONES
static void relu_max2_blocked_units(void *arg, size_t begin, size_t end)
{
    const struct blocked_pass *pass = arg;
    for (size_t u = begin; u < end; u++)
        if (pass->block == 16)
            relu_max2_blocked_unit(pass, u, 16);
        else
            relu_max2_blocked_unit(pass, u, 8);
}

static void run_blocked_units(const struct blocked_pass *pass, size_t n,
                              tnn__range_fn body)
{
    const tnn_layer *layer = pass->layer;
    const size_t unit =
        pass->block * layer->in_shape.dims[1] * layer->in_shape.dims[2];
    tnn__parallel_for(n * layer->in_shape.dims[0] / pass->block,
                      POOL_MIN_VALUES_PER_THREAD / unit + 1, body,
                      (void *)(uintptr_t)pass);
}

void tnn__relu_maxpool_forward_blocked(tnn_layer *pool,
                                       const struct tnn__blocked *in,
                                       float *out, size_t n, bool training)
{
    struct pool2d *p = pool->impl;
    struct blocked_pass pass = {pool,     in->values, in->block, out,
                                training, NULL,       NULL,      NULL};
    run_blocked_units(&pass, n, relu_max2_blocked_units);
    p->blocked_rows = training ? n : 0;
    p->blocked = *in;
}

bool tnn__maxpool_went_blocked(const tnn_layer *pool, size_t n)
{
    const struct pool2d *p = pool->impl;
    return n > 0 && p->blocked_rows == n;
}
/* NaN inputs keep their value in the gradient where nothing else goes:
 * 0 elsewhere. */
TNN_INLINE float nan_or_zero(float x)
{
    return x != x ? x : 0.0f;
}

/* Unit u's input gradient. Unless a pooled value of the unit is NaN, no
 * input in a window is NaN, the gradient at a maximum is its output
 * gradient or nothing (NO_GRADIENT), and only the rows and columns no
 * window covers are read for NaNs. */
TNN_INLINE void
relu_max2_blocked_backward_unit(const struct blocked_pass *pass, size_t u,
                                size_t B)
{
    const struct pool2d *p = pass->layer->impl;
    struct unit_shape us = unit_shape(pass->layer);
    const size_t h = us.h, w = us.w, oh = us.oh, ow = us.ow, outs = oh * ow;
    const float *in = pass->in + u * B * h * w;
    float *din = pass->din + u * B * h * w;
    const float *pooled = pass->pooled + u * B * outs;
    const float *dout = pass->dout + u * B * outs;
    const uint32_t *argmax = p->argmax + u * B * outs;
    const bool nan_free = !any_nan(pooled, B * outs);
    float g[BLOCKED_OUTPUTS * BLOCK_MAX];
    for (size_t oy = 0; oy < oh; oy++)
        for (size_t ox = 0; ox < ow; ox += BLOCKED_OUTPUTS) {
            size_t count =
                ow - ox < BLOCKED_OUTPUTS ? ow - ox : BLOCKED_OUTPUTS;
            const size_t o = oy * ow + ox;
            for (size_t l = 0; l < B; l++)
                for (size_t k = 0; k < count; k++) {
                    size_t at = l * outs + o + k;
                    g[k * B + l] =
                        nan_free ? dout[at]
                                 : tnn__relu_gradient(pooled[at], dout[at]);
                }
            for (size_t k = 0; k < count; k++) {
                const uint32_t *code = argmax + (o + k) * B;
                const uint32_t p0 = (uint32_t)(2 * oy * w + 2 * (ox + k));
                const uint32_t q[4] = {p0, p0 + 1, p0 + (uint32_t)w,
                                       p0 + (uint32_t)w + 1};
                for (int c = 0; c < 4; c++) {
                    const float *x = in + q[c] * B;
                    float *dx = din + q[c] * B;
                    for (size_t l = 0; l < B; l++) {
                        float other = nan_free ? 0.0f : nan_or_zero(x[l]);
                        dx[l] = code[l] == q[c] ? g[k * B + l] : other;
                    }
                }
            }
        }
    /* The last row and column when the sides are odd. */
    for (size_t y = 0; y < h; y++)
        for (size_t x = y < 2 * oh ? 2 * ow : 0; x < w; x++)
            for (size_t l = 0; l < B; l++)
                din[(y * w + x) * B + l] =
                    nan_or_zero(in[(y * w + x) * B + l]);
}

TNN_VECTOR_CLONES
static void relu_max2_blocked_backward_units(void *arg, size_t begin,
                                             size_t end)
{
    const struct blocked_pass *pass = arg;
    for (size_t u = begin; u < end; u++)
        if (pass->block == 16)
            relu_max2_blocked_backward_unit(pass, u, 16);
        else
            relu_max2_blocked_backward_unit(pass, u, 8);
}

const struct tnn__blocked *
tnn__relu_maxpool_backward_blocked(tnn_layer *pool, const float *out,
                                   const float *dout, size_t n)
{
    const struct pool2d *p = pool->impl;
    const struct tnn__blocked *b = &p->blocked;
    struct blocked_pass pass = {pool,  b->values, b->block, NULL,
                                false, out,       dout,     b->grad};
    run_blocked_units(&pass, n, relu_max2_blocked_backward_units);
    return b;
}

static void avgpool_forward_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_pass *pass = arg;
    const tnn_layer *layer = pass->layer;
    const struct pool2d *p = layer->impl;
    const size_t h = layer->in_shape.dims[1], w = layer->in_shape.dims[2];
    const size_t oh = layer->out_shape.dims[1], ow = layer->out_shape.dims[2];
    const float scale = 1.0f / (float)(p->k * p->k);
    FOR_EACH_OUTPUT(layer, begin, end)
    {
        const float *plane = pass->in + q * h * w;
        size_t y0 = oy * p->stride, x0 = ox * p->stride;
        float sum = 0.0f;
        for (size_t ky = 0; ky < p->k; ky++)
            for (size_t kx = 0; kx < p->k; kx++)
                sum += plane[(y0 + ky) * w + x0 + kx];
        pass->out[(q * oh + oy) * ow + ox] = sum * scale;
    }
}

static void avgpool_forward(tnn_layer *layer, const float *in, float *out,
                            size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    struct pool_pass pass = {layer, in, out, false, NULL, NULL, NULL};
    run_planes(layer, n, avgpool_forward_planes, &pass);
}

static void avgpool_backward_planes(void *arg, size_t begin, size_t end)
{
    const struct pool_pass *pass = arg;
    const tnn_layer *layer = pass->layer;
    const struct pool2d *p = layer->impl;
    const size_t h = layer->in_shape.dims[1], w = layer->in_shape.dims[2];
    const size_t oh = layer->out_shape.dims[1], ow = layer->out_shape.dims[2];
    const float scale = 1.0f / (float)(p->k * p->k);
    memset(pass->din + begin * h * w, 0,
           (end - begin) * h * w * sizeof *pass->din);
    FOR_EACH_OUTPUT(layer, begin, end)
    {
        float *plane = pass->din + q * h * w;
        float g = pass->dout[(q * oh + oy) * ow + ox] * scale;
        size_t y0 = oy * p->stride, x0 = ox * p->stride;
        for (size_t ky = 0; ky < p->k; ky++)
            for (size_t kx = 0; kx < p->k; kx++)
                plane[(y0 + ky) * w + x0 + kx] += g;
    }
}

static void avgpool_backward(tnn_layer *layer, const float *in,
                             const float *out, const float *dout, float *din,
                             size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    (void)accumulate;
    if (!din)
        return;
    struct pool_pass pass = {layer, NULL, NULL, false, dout, din, NULL};
    run_planes(layer, n, avgpool_backward_planes, &pass);
}

static size_t maxpool_scratch(const tnn_layer *layer)
{
    return layer->out_features; /* the positions of the maxima */
}

static void pool_destroy(tnn_layer *layer)
{
    struct pool2d *p = layer->impl;
    tnn__free(p->argmax);
}

/* ---- model files: window and stride ---------------------------------- */

static void pool_save_config(const tnn_layer *layer, uint32_t version,
                             uint32_t *words)
{
    (void)version;
    const struct pool2d *p = layer->impl;
    words[0] = (uint32_t)p->k;
    words[1] = (uint32_t)p->stride;
}

static tnn_layer *maxpool_load_config(const struct tnn__layer_record *record,
                                      uint32_t version)
{
    (void)version;
    return tnn_maxpool2d_new(record->config[0], record->config[1]);
}

static tnn_layer *avgpool_load_config(const struct tnn__layer_record *record,
                                      uint32_t version)
{
    (void)version;
    return tnn_avgpool2d_new(record->config[0], record->config[1]);
}

/* ---- ONNX: MaxPool and AveragePool, square window, no padding -------- */

static void pool_onnx_node(const tnn_layer *layer, const char *op,
                           struct tnn__onnx_node *node)
{
    const struct pool2d *p = layer->impl;
    const int64_t k = (int64_t)p->k, s = (int64_t)p->stride;
    *node = (struct tnn__onnx_node){
        .op = op,
        .nattrs = 2,
        .attrs = {{.name = "kernel_shape",
                   .type = TNN__ONNX_ATTR_IS_INTS,
                   .nints = 2,
                   .ints = {k, k}},
                  {.name = "strides",
                   .type = TNN__ONNX_ATTR_IS_INTS,
                   .nints = 2,
                   .ints = {s, s}}},
    };
}

static void maxpool_onnx_node(const tnn_layer *layer,
                              struct tnn__onnx_node *node)
{
    pool_onnx_node(layer, "MaxPool", node);
}

static void avgpool_onnx_node(const tnn_layer *layer,
                              struct tnn__onnx_node *node)
{
    pool_onnx_node(layer, "AveragePool", node);
}

const struct tnn__layer_ops tnn__maxpool2d_ops = {
    .kind = TNN_LAYER_MAXPOOL2D,
    .name = "maxpool2d",
    .bind = pool_bind,
    .reserve = maxpool_reserve,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .destroy = pool_destroy,
    .sample_scratch = maxpool_scratch,
    .absorbs = maxpool_absorbs,
    .forward_absorbing = relu_maxpool_forward,
    .backward_absorbing = relu_maxpool_backward,
    .since_format = 2,
    .config_words = 2,
    .save_config = pool_save_config,
    .load_config = maxpool_load_config,
    .onnx_node = maxpool_onnx_node,
};

const struct tnn__layer_ops tnn__avgpool2d_ops = {
    .kind = TNN_LAYER_AVGPOOL2D,
    .name = "avgpool2d",
    .bind = pool_bind,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .destroy = pool_destroy,
    .since_format = 2,
    .config_words = 2,
    .save_config = pool_save_config,
    .load_config = avgpool_load_config,
    .onnx_node = avgpool_onnx_node,
};

static tnn_layer *pool_new(const char *func, const struct tnn__layer_ops *ops,
                           size_t k, size_t stride)
{
    if (k < 1 || k > 4096 || stride < 1 || stride > 4096) {
        tnn__fail(TNN_E_INVALID, func,
                  "window %zu and stride %zu must be in [1, 4096]", k, stride);
        return NULL;
    }
    tnn_layer *layer =
        tnn__layer_alloc(func, ops, 0, 0, sizeof(struct pool2d));
    if (layer)
        *(struct pool2d *)layer->impl =
            (struct pool2d){.k = k, .stride = stride};
    return layer;
}

tnn_layer *tnn_maxpool2d_new(size_t k, size_t stride)
{
    return pool_new(__func__, &tnn__maxpool2d_ops, k, stride);
}

tnn_layer *tnn_avgpool2d_new(size_t k, size_t stride)
{
    return pool_new(__func__, &tnn__avgpool2d_ops, k, stride);
}
