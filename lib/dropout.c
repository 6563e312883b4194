/*
 * Inverted dropout: scale the kept units in training so that evaluation is
 * the identity.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

struct dropout {
    float rate;
    /* 0 or 1 / (1 - rate) per element of the last training batch. */
    float *mask;
    size_t mask_cap;
};

static int dropout_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct dropout *d = layer->impl;
    float *mask = tnn__grow_rows(func, "a dropout mask", d->mask, &d->mask_cap,
                                 n, layer->in_features, sizeof *mask);
    if (!mask)
        return TNN_E_NOMEM;
    d->mask = mask;
    return TNN_OK;
}

/* scale when a draw of 32 bits keeps its element, else 0, chosen by a bit
 * mask so that the compiler cannot turn it into a branch. */
static inline float keep_or_drop(uint64_t half, uint64_t threshold,
                                 uint32_t scale_bits)
{
    union {
        uint32_t bits;
        float value;
    } m = {.bits = scale_bits & (0u - (uint32_t)(half >= threshold))};
    return m.value;
}

/* In a sharded model each row draws from its own stream, keyed by the
 * step and its index in the global batch (replica.c), so that the masks
 * do not depend on which replica holds the row. */
static void keyed_mask(const tnn_layer *layer, size_t n, uint64_t threshold,
                       uint32_t scale_bits, float *mask)
{
    const size_t width = layer->in_features;
    for (size_t r = 0; r < n; r++) {
        uint64_t stream =
            tnn__row_stream(layer->row_key.key, layer->row_key.first_row + r);
        float *row = mask + r * width;
        for (size_t i = 0; i < width; i += 2) {
            uint64_t bits = tnn__row_draw(stream, i / 2);
            row[i] = keep_or_drop(bits & 0xffffffffu, threshold, scale_bits);
            if (i + 1 < width)
                row[i + 1] = keep_or_drop(bits >> 32, threshold, scale_bits);
        }
    }
}

/* The mask of a training forward of n rows, 1 / (1 - rate) or 0 for
 * each value; false at rate 0, where the mask is all 1 and the forward
 * a copy. */
static bool draw_mask(tnn_layer *layer, size_t n, tnn_rng *rng)
{
    struct dropout *d = layer->impl;
    size_t count = n * layer->in_features;
    float *restrict mask = d->mask;
    if (d->rate == 0.0f) {
        for (size_t i = 0; i < count; i++)
            mask[i] = 1.0f;
        return false;
    }
    /* Each 64-bit draw decides two elements: a 32-bit half at or above
     * rate * 2^32 keeps its element. The generator runs on a local copy,
     * which stays in registers, and keep-or-drop is a bit mask, not a
     * branch the CPU would mispredict at every dropped element; the mask
     * is applied in a second loop, which vectorises. */
    const float scale = 1.0f / (1.0f - d->rate);
    const uint64_t threshold = (uint64_t)((double)d->rate * 4294967296.0);
    uint32_t scale_bits;
    memcpy(&scale_bits, &scale, sizeof scale_bits);
    if (layer->row_key.on) {
        keyed_mask(layer, n, threshold, scale_bits, mask);
        return true;
    }
    tnn_rng local = *rng;
    for (size_t i = 0; i < count; i += 2) {
        uint64_t bits = tnn__rng_next(&local);
        mask[i] = keep_or_drop(bits & 0xffffffffu, threshold, scale_bits);
        if (i + 1 < count)
            mask[i + 1] = keep_or_drop(bits >> 32, threshold, scale_bits);
    }
    *rng = local;
    return true;
}

static void dropout_forward(tnn_layer *layer, const float *in, float *out,
                            size_t n, bool training, tnn_rng *rng)
{
    const struct dropout *d = layer->impl;
    size_t count = n * layer->in_features;
    if (!training || !draw_mask(layer, n, rng)) {
        if (out != in)
            memcpy(out, in, count * sizeof *out);
        return;
    }
    /* A product, not a select: a dropped NaN or infinity gives NaN, not
     * 0, so that a broken input shows in the output whatever the mask. */
    for (size_t i = 0; i < count; i++)
        out[i] = in[i] * d->mask[i];
}

static void dropout_backward(tnn_layer *layer, const float *in,
                             const float *out, const float *dout, float *din,
                             size_t n, bool accumulate)
{
    (void)in;
    (void)out;
    (void)accumulate;
    if (!din)
        return;
    const struct dropout *d = layer->impl;
    for (size_t i = 0, c = n * layer->in_features; i < c; i++)
        din[i] = dout[i] * d->mask[i];
}

/* ---- ReLU then dropout, fused (model.c) -----------------------------
 * A dropout after a ReLU reads the ReLU's input and writes the rectified
 * value times the mask, so that the ReLU's output is never written nor
 * read back; backward, both layers' gradients come from one pass. Values
 * and gradients are those of the two layers run one after the other, bit
 * for bit: relu(x) * mask is the same product, and for y = relu(x), y is
 * NaN exactly where x is (then y = x) and y > 0 exactly where x > 0. The
 * passes split over the threads as ReLU's do. */
#define RELU_DROPOUT_MIN_PER_THREAD ((size_t)1 << 16)

struct relu_dropout_pass {
    const float *x; /* the ReLU's input */
    const float *mask;
    const float *dout;
    float *y; /* forward: the dropout's output; backward: dx */
    bool masked;
};

TNN_VECTOR_CLONES
static void relu_dropout_forward_range(void *arg, size_t begin, size_t end)
{
    const struct relu_dropout_pass *pass = arg;
    const float *x = pass->x, *mask = pass->mask;
    float *y = pass->y;
    if (!pass->masked) {
        for (size_t i = begin; i < end; i++)
            y[i] = tnn__relu(x[i]);
        return;
    }
    for (size_t i = begin; i < end; i++)
        y[i] = tnn__relu(x[i]) * mask[i];
}

TNN_VECTOR_CLONES
static void relu_dropout_backward_range(void *arg, size_t begin, size_t end)
{
    const struct relu_dropout_pass *pass = arg;
    const float *x = pass->x, *mask = pass->mask, *dout = pass->dout;
    float *dx = pass->y;
    for (size_t i = begin; i < end; i++)
        dx[i] = tnn__relu_gradient(x[i], dout[i] * mask[i]);
}

static bool dropout_absorbs(const tnn_layer *dropout, const tnn_layer *prev)
{
    (void)dropout;
    return prev->ops->kind == TNN_LAYER_RELU;
}

static void relu_dropout_forward(tnn_layer *layer, const float *in, float *out,
                                 size_t n, bool training, tnn_rng *rng)
{
    const struct dropout *d = layer->impl;
    struct relu_dropout_pass pass = {in, d->mask, NULL, out,
                                     training && draw_mask(layer, n, rng)};
    tnn__parallel_for(n * layer->in_features,
                      tnn__spread_min(RELU_DROPOUT_MIN_PER_THREAD),
                      relu_dropout_forward_range, &pass);
}

static void relu_dropout_backward(tnn_layer *layer, const float *in,
                                  const float *out, const float *dout,
                                  float *din, size_t n)
{
    (void)out;
    const struct dropout *d = layer->impl;
    struct relu_dropout_pass pass = {in, d->mask, dout, din, true};
    tnn__parallel_for(n * layer->in_features,
                      tnn__spread_min(RELU_DROPOUT_MIN_PER_THREAD),
                      relu_dropout_backward_range, &pass);
}

static size_t dropout_scratch(const tnn_layer *layer)
{
    return layer->in_features; /* the mask */
}

static void dropout_destroy(tnn_layer *layer)
{
    struct dropout *d = layer->impl;
    tnn__free(d->mask);
}

/* ---- model files: the rate ------------------------------------------ */

static void dropout_save_config(const tnn_layer *layer, uint32_t version,
                                uint32_t *words)
{
    (void)version;
    words[0] = tnn__float_word(((const struct dropout *)layer->impl)->rate);
}

static tnn_layer *dropout_load_config(const struct tnn__layer_record *record,
                                      uint32_t version)
{
    (void)version;
    return tnn_dropout_new(tnn__word_float(record->config[0]));
}

const struct tnn__layer_ops tnn__dropout_ops = {
    .kind = TNN_LAYER_DROPOUT,
    .name = "dropout",
    .needs_rng = true,
    .reserve = dropout_reserve,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .absorbs = dropout_absorbs,
    .forward_absorbing = relu_dropout_forward,
    .backward_absorbing = relu_dropout_backward,
    .destroy = dropout_destroy,
    .sample_scratch = dropout_scratch,
    .since_format = 1,
    .config_words = 1,
    .save_config = dropout_save_config,
    .load_config = dropout_load_config,
};

tnn_layer *tnn_dropout_new(float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f)) {
        tnn__fail(TNN_E_INVALID, __func__, "rate is %g; it must be in [0, 1)",
                  (double)rate);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__dropout_ops, 0, 0,
                                        sizeof(struct dropout));
    if (layer)
        ((struct dropout *)layer->impl)->rate = rate;
    return layer;
}
