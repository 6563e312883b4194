/*
 * GELU in its exact erf form, x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))),
 * as PyTorch's GELU() computes it by default (approximate='none'). Values
 * and derivatives are computed in double and rounded once to float; 1 +
 * erf(z) is taken as erfc(-z), which keeps its digits where x is very
 * negative. A training forward keeps each value's slope, Phi(x) + x
 * phi(x) rounded to float, in a per-batch buffer, since it has Phi and
 * phi at hand: the backward is then one multiplication a value, where
 * working them out again took as long as the forward.
 *
 * libm's erfc and exp cost tens of nanoseconds a call and do not
 * vectorise; GELU runs over every hidden unit of a transformer's
 * feed-forward layers, where they were 40% of a training step. So erfc and
 * exp are computed here by straight-line code that the compiler vectorises
 * (TNN_VECTOR_CLONES), with a relative error below 2e-12: the float
 * results are libm's rounded to float, bar a rare last-bit tie.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Vectorised, a value costs a few nanoseconds: threads pay off sooner than
 * for ReLU, later than when the values took libm's erfc. */
#define GELU_MIN_PER_THREAD ((size_t)1 << 15)

/* The backward's multiplications are memory-bound, as ReLU's are. */
#define GELU_SLOPES_PER_THREAD ((size_t)1 << 17)

#define GELU_INV_SQRT_2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */

/* Beyond this |x| Phi is 0 or 1 to double precision, the values round to
 * their limits in float (x or -0, slopes 1 or 0), and further out
 * exp(-x^2 / 2) would leave the range of normal doubles. */
#define GELU_SATURATED 37.0

/* erfc(a) = t * R(t) * exp(-a^2) for a >= 0 with t = 1 / (1 + P a): R is
 * smooth on (0, 1] (R(0) = P / sqrt(pi)), and a polynomial of degree 16
 * meets erfc's relative error of 1.5e-12 everywhere. Coefficients fitted
 * by scripts/fit-erfc.py (weighted least squares on Chebyshev nodes). */
#define ERFC_P 0.3
static const double erfc_r[17] = {
    1.69256875064101697e-01,  1.69256875202524526e-01,
    1.61640301689047056e-01,  1.46407753278244540e-01,
    1.24574224963822741e-01,  9.83759017400344243e-02,
    6.90381298729297876e-02,  5.01306967330129374e-02,
    -3.71823283593745307e-03, 7.68391667279334778e-02,
    -1.45959459708974615e-01, 1.98123884639067077e-01,
    -2.00280569933150632e-01, 1.14384457673747955e-01,
    -2.90673440350586836e-02, 3.74010693969806240e-05,
    9.59937860661176342e-04,
};

/* ln 2 split so that k * LN2_HI is exact for the k that occur here. */
#define LN2_HI 6.93146705627441406e-01
#define LN2_LO 4.74932503903167256e-07
#define LOG2_E 1.44269504088896340736
/* 1.5 * 2^52: adding it rounds a double of magnitude < 2^51 to an integer
 * held in the low bits of the sum's representation. */
#define ROUND_MAGIC 6755399441055744.0

/* exp(y) for y in [-708, 0]: y = k ln 2 + r with |r| <= ln 2 / 2, exp(r)
 * by its Taylor series to r^12 (remainder below 2e-15), times 2^k built in
 * the exponent field. Integer steps on the representation rather than a
 * conversion, which AVX-512F and the baseline cannot vectorise. */
static inline double gelu_exp(double y)
{
    double shifted = y * LOG2_E + ROUND_MAGIC;
    double k = shifted - ROUND_MAGIC;
    double r = (y - k * LN2_HI) - k * LN2_LO;
    double sum = 1.0 / 479001600.0; /* 1 / 12! */
    static const double inv_factorial[12] = {
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
    };
    for (int i = 11; i >= 0; i--)
        sum = sum * r + inv_factorial[i];
    uint64_t bits, magic_bits, scale_bits;
    const double magic = ROUND_MAGIC;
    memcpy(&bits, &shifted, sizeof bits);
    memcpy(&magic_bits, &magic, sizeof magic_bits);
    scale_bits = (bits - magic_bits + 1023u) << 52;
    double scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return sum * scale;
}

/* Phi(x) and x * phi(x) for |x| <= GELU_SATURATED (NaN gives NaN). */
static inline void gelu_parts(double x, double *cdf, double *x_pdf)
{
    double a2 = 0.5 * x * x; /* exact: x is a float */
    double a = fabs(x) * 0.70710678118654752440;
    double t = 1.0 / (1.0 + ERFC_P * a);
    double r = erfc_r[16];
    for (int i = 15; i >= 0; i--)
        r = r * t + erfc_r[i];
    double e = gelu_exp(-a2);
    double half_erfc = 0.5 * t * r * e; /* erfc(|x| / sqrt 2) / 2 */
    /* Phi(x) is half_erfc below 0 and 1 - half_erfc above: selecting
     * constants rather than results keeps the loop free of branches. */
    double base = x < 0 ? 0.0 : 1.0, sign = x < 0 ? 1.0 : -1.0;
    *cdf = base + sign * half_erfc;
    *x_pdf = x * GELU_INV_SQRT_2PI * e;
}

struct gelu {
    /* Phi(x) + x phi(x) per value of the last training batch. */
    float *slope;
    size_t slope_cap;
};

struct gelu_pass {
    const float *x;    /* forward: the input */
    const float *dout; /* backward only */
    float *y;          /* forward: the output; backward: the input gradient */
    float *slope;      /* forward: NULL when evaluating */
};

/* Phi and phi are taken at x clamped to +-GELU_SATURATED, where they are
 * already 1 or 0 to double precision; below -GELU_SATURATED the value is
 * the clamped x times a tiny Phi (which rounds to -0, and keeps -inf from
 * making NaN). Clamping by selects of inputs, not of results, keeps the
 * loops free of branches. NaN passes (its comparisons are false). */
static inline double gelu_clamp_below(double x)
{
    return x < -GELU_SATURATED ? -GELU_SATURATED : x;
}

static inline double gelu_clamp(double x)
{
    double below = gelu_clamp_below(x);
    return below > GELU_SATURATED ? GELU_SATURATED : below;
}

/* x * Phi(x): -0 and x in the limits, so at the infinities too; slopes
 * 1 and 0 there. */
TNN_VECTOR_CLONES
static void gelu_forward_range(void *arg, size_t begin, size_t end)
{
    const struct gelu_pass *pass = arg;
    const float *x = pass->x;
    float *y = pass->y, *slope = pass->slope;
    double cdf, x_pdf;
    if (!slope) {
        for (size_t i = begin; i < end; i++) {
            gelu_parts(gelu_clamp(x[i]), &cdf, &x_pdf);
            y[i] = (float)(gelu_clamp_below(x[i]) * cdf);
        }
        return;
    }
    for (size_t i = begin; i < end; i++) {
        gelu_parts(gelu_clamp(x[i]), &cdf, &x_pdf);
        y[i] = (float)(gelu_clamp_below(x[i]) * cdf);
        slope[i] = (float)(cdf + x_pdf);
    }
}

TNN_VECTOR_CLONES
static void gelu_backward_range(void *arg, size_t begin, size_t end)
{
    const struct gelu_pass *pass = arg;
    const float *dout = pass->dout, *slope = pass->slope;
    float *din = pass->y;
    for (size_t i = begin; i < end; i++)
        din[i] = dout[i] * slope[i];
}

static int gelu_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct gelu *g = layer->impl;
    float *slope = tnn__grow_rows(func, "GELU slopes", g->slope, &g->slope_cap,
                                  n, layer->in_features, sizeof *slope);
    if (!slope)
        return TNN_E_NOMEM;
    g->slope = slope;
    return TNN_OK;
}

static void gelu_forward(tnn_layer *layer, const float *in, float *out,
                         size_t n, bool training, tnn_rng *rng)
{
    (void)rng;
    struct gelu *g = layer->impl;
    struct gelu_pass pass = {in, NULL, out, training ? g->slope : NULL};
    tnn__parallel_for(n * layer->in_features, GELU_MIN_PER_THREAD,
                      gelu_forward_range, &pass);
}

static void gelu_backward(tnn_layer *layer, const float *in, const float *out,
                          const float *dout, float *din, size_t n,
                          bool accumulate)
{
    (void)in;
    (void)out;
    (void)accumulate;
    if (!din)
        return;
    struct gelu *g = layer->impl;
    struct gelu_pass pass = {NULL, dout, din, g->slope};
    tnn__parallel_for(n * layer->in_features, GELU_SLOPES_PER_THREAD,
                      gelu_backward_range, &pass);
}

static size_t gelu_scratch(const tnn_layer *layer)
{
    return layer->in_features; /* the slopes */
}

static void gelu_destroy(tnn_layer *layer)
{
    struct gelu *g = layer->impl;
    tnn__free(g->slope);
}

/* No configuration; loading and copying make a new layer with its
 * private state. */
static tnn_layer *gelu_load_config(const struct tnn__layer_record *record,
                                   uint32_t version)
{
    (void)record;
    (void)version;
    return tnn_gelu_new();
}

/* ---- ONNX: no node before operator set 20, which has Gelu ------------ */

static void gelu_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    (void)layer;
    node->refusal = "ONNX has no Gelu operator before operator set 20, and "
                    "the library writes operator sets 13 and 17";
}

const struct tnn__layer_ops tnn__gelu_ops = {
    .kind = TNN_LAYER_GELU,
    .name = "gelu",
    .reserve = gelu_reserve,
    .forward = gelu_forward,
    .backward = gelu_backward,
    .destroy = gelu_destroy,
    .sample_scratch = gelu_scratch,
    .load_config = gelu_load_config,
    .since_format = 7,
    .onnx_node = gelu_onnx_node,
};

tnn_layer *tnn_gelu_new(void)
{
    return tnn__layer_alloc(__func__, &tnn__gelu_ops, 0, 0,
                            sizeof(struct gelu));
}
