/*
 * 2-D convolution over NCHW images, lowered to one matrix product per
 * batch: every output position of every image becomes a row of the
 * patches it sees (im2row), so the BLAS multiplies a (n * positions) x
 * (in_channels * kh * kw) matrix by the transposed (out_channels x same)
 * weights in a single call.
 *
 * Built with oneDNN (TNN_HAVE_DNNL), its convolutions take over
 * (conv2d_dnnl.c); the products above remain the fallback for a geometry
 * oneDNN makes no primitive for, and for a batch size whose primitives
 * cannot be made when it first comes (then a few images at a time, in the
 * buffers reserved for that). TNN_BACKEND=blas in the environment
 * when a layer is made keeps it on the products (a diagnostic knob).
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "conv2d_dnnl.h"
#include "internal.h"

struct conv2d {
    size_t in_ch, out_ch, kh, kw, stride;
    int padding; /* TNN_PADDING_VALID, TNN_PADDING_SAME or >= 0 */
    int init;
    float init_value;
    /* Patches of col_images images (n * positions x K), then their
     * gradient; the product in channels-last order (n * positions x
     * out_ch). */
    float *col;
    float *tmp;
    size_t col_images;
    /* col holds the patches of the last forward's whole batch. */
    bool col_is_batch;
    /* Images reserved for. */
    size_t rows_cap;
    /* Whether oneDNN was asked for when the layer was made; its state,
     * NULL on the products' path. */
    bool want_dnnl;
    struct tnn__dnnl_conv *dnnl;
};

/* Where the kernel sits: output size and the padding before the first row
 * and column. */
struct geometry {
    size_t h, w, oh, ow, pad_top, pad_left, k;
};

/* Output side and leading padding along one axis; false if the kernel
 * does not fit. Same padding puts the odd pixel at the end, as Keras. */
static bool axis(size_t in, size_t k, size_t stride, int padding, size_t *out,
                 size_t *pad_before)
{
    *out = *pad_before = 0;
    size_t total;
    /* Sides, kernels, strides and paddings are each below 2^31 or 4096,
     * so none of these sums overflows a 64-bit size_t. */
    if (padding == TNN_PADDING_SAME) {
        *out = (in + stride - 1) / stride;
        size_t need = (*out - 1) * stride + k;
        total = need > in ? need - in : 0;
        *pad_before = total / 2;
        return true;
    }
    size_t pad = padding == TNN_PADDING_VALID ? 0 : (size_t)padding;
    if (in + 2 * pad < k)
        return false;
    *out = (in + 2 * pad - k) / stride + 1;
    *pad_before = pad;
    return true;
}

static void geometry_of(const tnn_layer *layer, struct geometry *g)
{
    const struct conv2d *c = layer->impl;
    g->h = layer->in_shape.dims[1];
    g->w = layer->in_shape.dims[2];
    axis(g->h, c->kh, c->stride, c->padding, &g->oh, &g->pad_top);
    axis(g->w, c->kw, c->stride, c->padding, &g->ow, &g->pad_left);
    g->k = c->in_ch * c->kh * c->kw;
}

static int conv2d_bind(const tnn_layer *layer, const char *func,
                       const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct conv2d *c = layer->impl;
    char got[64];
    if (in->ndim != 3 || in->dims[0] != c->in_ch)
        return tnn__fail(TNN_E_SHAPE, func,
                         "conv2d layer expects (%zu, height, width) images, "
                         "previous layer gives %s",
                         c->in_ch, tnn__shape_text(in, got, sizeof got));
    size_t oh, ow, pad;
    if (!axis(in->dims[1], c->kh, c->stride, c->padding, &oh, &pad) ||
        !axis(in->dims[2], c->kw, c->stride, c->padding, &ow, &pad))
        return tnn__fail(TNN_E_SHAPE, func,
                         "conv2d kernel %zux%zu is larger than the padded "
                         "input %s",
                         c->kh, c->kw, tnn__shape_text(in, got, sizeof got));
    *out = (struct tnn__shape){3, {c->out_ch, oh, ow}, 0};
    return TNN_OK;
}

#ifdef TNN_HAVE_DNNL
static void shape_of(const tnn_layer *layer, struct tnn__conv_shape *s)
{
    const struct conv2d *c = layer->impl;
    struct geometry g;
    geometry_of(layer, &g);
    *s = (struct tnn__conv_shape){c->in_ch,  c->out_ch, g.h,       g.w,
                                  c->kh,     c->kw,     g.oh,      g.ow,
                                  c->stride, g.pad_top, g.pad_left};
}

/* oneDNN's primitives for n images, if they were asked for; without them
 * (no primitive for this geometry) the products take over for good.
 * TNN_OK or TNN_E_NOMEM. */
static int reserve_dnnl(tnn_layer *layer, const char *func, size_t n)
{
    struct conv2d *c = layer->impl;
    if (!c->want_dnnl)
        return TNN_OK;
    struct tnn__conv_shape shape;
    shape_of(layer, &shape);
    int rc = tnn__dnnl_conv_reserve(&c->dnnl, func, &shape, n);
    if (rc != TNN__DNNL_UNSUPPORTED)
        return rc;
    tnn__dnnl_conv_free(c->dnnl);
    c->dnnl = NULL;
    c->want_dnnl = false;
    return TNN_OK;
}
#else
static int reserve_dnnl(tnn_layer *layer, const char *func, size_t n)
{
    (void)layer;
    (void)func;
    (void)n;
    return TNN_OK;
}
#endif

/* Patch buffers for images images. */
static int reserve_patches(tnn_layer *layer, const char *func, size_t images)
{
    struct conv2d *c = layer->impl;
    if (images <= c->col_images)
        return TNN_OK;
    struct geometry g;
    geometry_of(layer, &g);
    size_t rows = images * g.oh * g.ow, col_size, tmp_size;
    bool fits = tnn__mul_size(rows, g.k, &col_size) &&
                tnn__mul_size(rows, c->out_ch, &tmp_size);
    float *col = fits ? tnn__calloc(col_size, sizeof(float)) : NULL;
    float *tmp = col ? tnn__calloc(tmp_size, sizeof(float)) : NULL;
    if (!tmp) {
        tnn__free(col);
        return tnn__fail(fits ? TNN_E_NOMEM : TNN_E_SHAPE, func,
                         "conv2d buffers for %zu images", images);
    }
    tnn__free(c->col);
    tnn__free(c->tmp);
    c->col = col;
    c->tmp = tmp;
    c->col_images = images;
    c->col_is_batch = false;
    return TNN_OK;
}

static int conv2d_reserve(tnn_layer *layer, const char *func, size_t n)
{
    struct conv2d *c = layer->impl;
    if (n <= c->rows_cap)
        return TNN_OK;
    struct geometry g;
    geometry_of(layer, &g);
    size_t rows;
    if (!tnn__mul_size(n, g.oh * g.ow, &rows) || rows > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_SHAPE, func, "conv2d buffers for %zu images",
                         n);
    int rc = reserve_dnnl(layer, func, n);
    /* With oneDNN, patches of one image: what its fallback needs. */
    if (rc == TNN_OK)
        rc = reserve_patches(layer, func, c->dnnl ? 1 : n);
    if (rc == TNN_OK)
        c->rows_cap = n;
    return rc;
}

/* Row (image i, output y, x) of the patch matrix: input values under the
 * kernel, channel-major like the weights, 0 in the padding. */
static void im2row(const struct conv2d *c, const struct geometry *g,
                   const float *in, size_t n, float *col)
{
    const size_t plane = g->h * g->w;
    for (size_t i = 0; i < n; i++)
        for (size_t oy = 0; oy < g->oh; oy++)
            for (size_t ox = 0; ox < g->ow; ox++) {
                float *row = col + ((i * g->oh + oy) * g->ow + ox) * g->k;
                for (size_t ch = 0; ch < c->in_ch; ch++) {
                    const float *img = in + (i * c->in_ch + ch) * plane;
                    for (size_t ky = 0; ky < c->kh; ky++) {
                        /* Unsigned arithmetic: above the top wraps and
                         * fails the bound check like below the bottom. */
                        size_t iy = oy * c->stride + ky - g->pad_top;
                        for (size_t kx = 0; kx < c->kw; kx++) {
                            size_t ix = ox * c->stride + kx - g->pad_left;
                            *row++ = iy < g->h && ix < g->w
                                         ? img[iy * g->w + ix]
                                         : 0.0f;
                        }
                    }
                }
            }
}

/* The adjoint of im2row: add each patch gradient back onto the input. */
static void row2im(const struct conv2d *c, const struct geometry *g,
                   const float *col, size_t n, float *din)
{
    const size_t plane = g->h * g->w;
    memset(din, 0, n * c->in_ch * plane * sizeof *din);
    for (size_t i = 0; i < n; i++)
        for (size_t oy = 0; oy < g->oh; oy++)
            for (size_t ox = 0; ox < g->ow; ox++) {
                const float *row =
                    col + ((i * g->oh + oy) * g->ow + ox) * g->k;
                for (size_t ch = 0; ch < c->in_ch; ch++) {
                    float *img = din + (i * c->in_ch + ch) * plane;
                    for (size_t ky = 0; ky < c->kh; ky++) {
                        size_t iy = oy * c->stride + ky - g->pad_top;
                        for (size_t kx = 0; kx < c->kw; kx++, row++) {
                            size_t ix = ox * c->stride + kx - g->pad_left;
                            if (iy < g->h && ix < g->w)
                                img[iy * g->w + ix] += *row;
                        }
                    }
                }
            }
}

/* The products for n <= col_images images. */
static void forward_images(tnn_layer *layer, const float *in, float *out,
                           size_t n)
{
    const struct conv2d *c = layer->impl;
    struct geometry g;
    geometry_of(layer, &g);
    const size_t positions = g.oh * g.ow, rows = n * positions;
    im2row(c, &g, in, n, c->col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows,
                (int)c->out_ch, (int)g.k, 1.0f, c->col, (int)g.k,
                layer->param[0]->data, (int)g.k, 0.0f, c->tmp, (int)c->out_ch);
    /* Channels-last product to NCHW, adding the bias on the way. */
    const float *b = layer->param[1]->data;
    for (size_t i = 0; i < n; i++)
        for (size_t oc = 0; oc < c->out_ch; oc++) {
            float *dst = out + (i * c->out_ch + oc) * positions;
            const float *src = c->tmp + i * positions * c->out_ch + oc;
            for (size_t p = 0; p < positions; p++)
                dst[p] = src[p * c->out_ch] + b[oc];
        }
}

static void conv2d_forward(tnn_layer *layer, const float *in, float *out,
                           size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    struct conv2d *c = layer->impl;
#ifdef TNN_HAVE_DNNL
    if (c->dnnl && tnn__dnnl_conv_forward(c->dnnl, in, layer->param[0]->data,
                                          layer->param[1]->data, out, n)) {
        c->col_is_batch = false;
        return;
    }
#endif
    for (size_t i = 0; i < n; i += c->col_images) {
        size_t images = n - i < c->col_images ? n - i : c->col_images;
        forward_images(layer, in + i * layer->in_features,
                       out + i * layer->out_features, images);
    }
    c->col_is_batch = n <= c->col_images;
}

bool tnn__conv2d_forward_blocked(tnn_layer *layer, const float *in, size_t n,
                                 struct tnn__blocked *out)
{
#ifdef TNN_HAVE_DNNL
    struct conv2d *c = layer->impl;
    bool blocked = c->dnnl && tnn__dnnl_conv_forward_blocked(
                                  c->dnnl, in, layer->param[0]->data,
                                  layer->param[1]->data, n, out);
    if (blocked)
        c->col_is_batch = false;
    return blocked;
#else
    (void)layer;
    (void)in;
    (void)n;
    (void)out;
    return false;
#endif
}

/* The products' gradients for n <= col_images images. */
static void backward_images(tnn_layer *layer, const float *in,
                            const float *dout, float *din, size_t n,
                            bool accumulate)
{
    const struct conv2d *c = layer->impl;
    struct geometry g;
    geometry_of(layer, &g);
    const size_t positions = g.oh * g.ow, rows = n * positions;
    if (!c->col_is_batch)
        im2row(c, &g, in, n, c->col);
    float *db = layer->grad[1]->data;
    if (!accumulate)
        memset(db, 0, c->out_ch * sizeof *db);
    /* dout to channels-last, summing the bias gradient meanwhile. */
    for (size_t i = 0; i < n; i++)
        for (size_t oc = 0; oc < c->out_ch; oc++) {
            const float *src = dout + (i * c->out_ch + oc) * positions;
            float *dst = c->tmp + i * positions * c->out_ch + oc;
            double sum = 0.0;
            for (size_t p = 0; p < positions; p++) {
                dst[p * c->out_ch] = src[p];
                sum += src[p];
            }
            db[oc] += (float)sum;
        }
    /* dW = dY^T patches; then the patches' gradient dY W overwrites the
     * patches, which are no longer needed. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c->out_ch,
                (int)g.k, (int)rows, 1.0f, c->tmp, (int)c->out_ch, c->col,
                (int)g.k, accumulate ? 1.0f : 0.0f, layer->grad[0]->data,
                (int)g.k);
    if (!din)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)g.k,
                (int)c->out_ch, 1.0f, c->tmp, (int)c->out_ch,
                layer->param[0]->data, (int)g.k, 0.0f, c->col, (int)g.k);
    row2im(c, &g, c->col, n, din);
}

static void conv2d_backward(tnn_layer *layer, const float *in,
                            const float *out, const float *dout, float *din,
                            size_t n, bool accumulate)
{
    (void)out;
    struct conv2d *c = layer->impl;
#ifdef TNN_HAVE_DNNL
    if (c->dnnl &&
        tnn__dnnl_conv_backward(c->dnnl, in, layer->param[0]->data, dout,
                                layer->grad[0]->data, layer->grad[1]->data,
                                din, n, accumulate))
        return;
#endif
    for (size_t i = 0; i < n; i += c->col_images) {
        size_t images = n - i < c->col_images ? n - i : c->col_images;
        backward_images(layer, in + i * layer->in_features,
                        dout + i * layer->out_features,
                        din ? din + i * layer->in_features : NULL, images,
                        accumulate || i > 0);
    }
    /* The input gradient went through col: another backward of the same
     * batch makes the patches again. */
    if (din)
        c->col_is_batch = false;
}

void tnn__conv2d_backward_blocked(tnn_layer *layer, const float *in,
                                  const struct tnn__blocked *out, float *dout,
                                  float *din, size_t n, bool accumulate)
{
#ifdef TNN_HAVE_DNNL
    struct conv2d *c = layer->impl;
    if (tnn__dnnl_conv_backward_blocked(
            c->dnnl, in, layer->param[0]->data, layer->grad[0]->data,
            layer->grad[1]->data, din, n, accumulate))
        return;
    tnn__dnnl_conv_unblock_grad(c->dnnl, n, out, dout);
    conv2d_backward(layer, in, NULL, dout, din, n, accumulate);
#else
    (void)layer;
    (void)in;
    (void)out;
    (void)dout;
    (void)din;
    (void)n;
    (void)accumulate;
#endif
}

static void conv2d_init(tnn_layer *layer, tnn_rng *rng)
{
    const struct conv2d *c = layer->impl;
    double area = (double)(c->kh * c->kw);
    tnn__init_weights(layer, c->init, c->init_value, (double)c->in_ch * area,
                      (double)c->out_ch * area, rng);
}

static void conv2d_destroy(tnn_layer *layer)
{
    struct conv2d *c = layer->impl;
    tnn__free(c->col);
    tnn__free(c->tmp);
#ifdef TNN_HAVE_DNNL
    tnn__dnnl_conv_free(c->dnnl);
#endif
}

/* The patches and oneDNN's primitives are those of the image size the
 * layer was bound to; bound to another, it makes them anew. */
static void conv2d_unbind(tnn_layer *layer)
{
    struct conv2d *c = layer->impl;
    tnn__free(c->col);
    tnn__free(c->tmp);
    c->col = c->tmp = NULL;
    c->col_images = 0;
    c->col_is_batch = false;
    c->rows_cap = 0;
#ifdef TNN_HAVE_DNNL
    tnn__dnnl_conv_free(c->dnnl);
    c->dnnl = NULL;
#endif
}

/* The patch rows and the channels-last product of one image. */
static size_t conv2d_scratch(const tnn_layer *layer)
{
    const struct conv2d *c = layer->impl;
    struct geometry g;
    geometry_of(layer, &g);
    size_t per_position = g.k + c->out_ch, values;
    return tnn__mul_size(g.oh * g.ow, per_position, &values) ? values
                                                             : SIZE_MAX;
}

/* ---- model files: channels, kernel, stride, padding, init ------------ */

static void conv2d_save_config(const tnn_layer *layer, uint32_t version,
                               uint32_t *words)
{
    (void)version;
    const struct conv2d *c = layer->impl;
    const size_t sizes[5] = {c->in_ch, c->out_ch, c->kh, c->kw, c->stride};
    for (int k = 0; k < 5; k++)
        words[k] = (uint32_t)sizes[k];
    words[5] = (uint32_t)c->padding;
    words[6] = (uint32_t)c->init;
    words[7] = tnn__float_word(c->init_value);
}

static tnn_layer *conv2d_load_config(const struct tnn__layer_record *record,
                                     uint32_t version)
{
    (void)version;
    const uint32_t *c = record->config;
    tnn_layer *layer = tnn_conv2d_new(c[0], c[1], c[2], c[3], c[4], (int)c[5]);
    if (layer && tnn_conv2d_set_init(layer, (int)c[6],
                                     tnn__word_float(c[7])) != TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}

static uint64_t conv2d_record_values(const struct tnn__layer_record *record,
                                     uint32_t version)
{
    (void)version;
    const uint32_t *c = record->config;
    uint64_t weights =
        tnn__mul_sat(tnn__mul_sat(c[0], c[1]), tnn__mul_sat(c[2], c[3]));
    return tnn__add_sat(weights, c[1]);
}

/* ---- ONNX: Conv over (out, in, kh, kw) weights ----------------------- */

/* "Same" padding as auto_pad SAME_UPPER, which puts the odd pixel at the
 * end as the layer does; explicit pads of it would be read back as a
 * separate padding layer. */
static struct tnn__onnx_attr conv2d_onnx_padding(int padding)
{
    if (padding == TNN_PADDING_SAME)
        return (struct tnn__onnx_attr){.name = "auto_pad",
                                       .type = TNN__ONNX_ATTR_IS_STRING,
                                       .s = "SAME_UPPER"};
    int64_t p = padding == TNN_PADDING_VALID ? 0 : padding;
    return (struct tnn__onnx_attr){.name = "pads",
                                   .type = TNN__ONNX_ATTR_IS_INTS,
                                   .nints = 4,
                                   .ints = {p, p, p, p}};
}

static void conv2d_onnx_node(const tnn_layer *layer,
                             struct tnn__onnx_node *node)
{
    const struct conv2d *c = layer->impl;
    const int64_t in = (int64_t)c->in_ch, out = (int64_t)c->out_ch;
    const int64_t kh = (int64_t)c->kh, kw = (int64_t)c->kw;
    const int64_t s = (int64_t)c->stride;
    *node = (struct tnn__onnx_node){
        .op = "Conv",
        .nattrs = 3,
        .attrs = {{.name = "kernel_shape",
                   .type = TNN__ONNX_ATTR_IS_INTS,
                   .nints = 2,
                   .ints = {kh, kw}},
                  {.name = "strides",
                   .type = TNN__ONNX_ATTR_IS_INTS,
                   .nints = 2,
                   .ints = {s, s}},
                  conv2d_onnx_padding(c->padding)},
        .ninputs = 2,
        .inputs = {{.suffix = "weight",
                    .tensor = layer->param[0],
                    .ndims = 4,
                    .dims = {out, in, kh, kw}},
                   {.suffix = "bias",
                    .tensor = layer->param[1],
                    .ndims = 1,
                    .dims = {out}}},
    };
}

const struct tnn__layer_ops tnn__conv2d_ops = {
    .kind = TNN_LAYER_CONV2D,
    .name = "conv2d",
    .bind = conv2d_bind,
    .reserve = conv2d_reserve,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .init = conv2d_init,
    .destroy = conv2d_destroy,
    .unbind = conv2d_unbind,
    .sample_scratch = conv2d_scratch,
    .since_format = 2,
    .config_words = 8,
    .save_config = conv2d_save_config,
    .load_config = conv2d_load_config,
    .record_values = conv2d_record_values,
    .onnx_node = conv2d_onnx_node,
};

tnn_layer *tnn_conv2d_new(size_t in_channels, size_t out_channels,
                          size_t kernel_h, size_t kernel_w, size_t stride,
                          int padding)
{
    size_t k = 0, weights = 0;
    bool ok = in_channels && out_channels && kernel_h && kernel_w &&
              tnn__mul_size(in_channels, kernel_h, &k) &&
              tnn__mul_size(k, kernel_w, &k) && k <= TNN_MAX_BLAS_DIM &&
              out_channels <= TNN_MAX_BLAS_DIM &&
              tnn__mul_size(k, out_channels, &weights) &&
              weights <= TNN_MAX_BLAS_DIM;
    if (!ok) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "in_channels %zu, out_channels %zu, kernel %zux%zu: each "
                  "must be >= 1 and the weights at most %zu",
                  in_channels, out_channels, kernel_h, kernel_w,
                  TNN_MAX_BLAS_DIM);
        return NULL;
    }
    if (stride < 1 || stride > 4096) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "stride is %zu; it must be in [1, 4096]", stride);
        return NULL;
    }
    if (padding < TNN_PADDING_SAME || padding > 4096) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "padding is %d; it must be TNN_PADDING_VALID, "
                  "TNN_PADDING_SAME or in [0, 4096]",
                  padding);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__conv2d_ops, 0, 0,
                                        sizeof(struct conv2d));
    if (!layer)
        return NULL;
    struct conv2d *c = layer->impl;
    *c = (struct conv2d){.in_ch = in_channels,
                         .out_ch = out_channels,
                         .kh = kernel_h,
                         .kw = kernel_w,
                         .stride = stride,
                         .padding = padding,
                         .init = TNN_INIT_GLOROT_UNIFORM,
                         .want_dnnl = tnn__want_dnnl()};
    size_t wdims[4] = {out_channels, in_channels, kernel_h, kernel_w};
    if (tnn__layer_add_param(layer, __func__, 4, wdims, true) != TNN_OK ||
        tnn__layer_add_param(layer, __func__, 1, &out_channels, false) !=
            TNN_OK) {
        tnn_layer_free(layer);
        return NULL;
    }
    return layer;
}

int tnn_conv2d_set_init(tnn_layer *conv, int init, float value)
{
    int rc = tnn__check_init(__func__, conv, &tnn__conv2d_ops, init, value);
    if (rc != TNN_OK)
        return rc;
    struct conv2d *c = conv->impl;
    c->init = init;
    c->init_value = value;
    return TNN_OK;
}
