/*
 * Zero padding of images: rows and columns of zeros around every plane,
 * as Keras' ZeroPadding2D and ONNX's constant Pad over the two spatial
 * axes. It exists so that a padded average pooling written by PyTorch as
 * Pad + AveragePool can be imported as the two layers it is, and so that
 * models can pad before a valid convolution or pooling.
 */
#include <string.h>

#include "internal.h"

/* The largest padding on one side, as for the convolution's. */
#define PAD_MAX 4096

/* Below this many output values per thread, waking another costs more than
 * it saves (as for ReLU, activation.c). */
#define PAD_MIN_VALUES_PER_THREAD ((size_t)1 << 18)

struct zeropad2d {
    size_t top, bottom, left, right;
};

static int pad_bind(const tnn_layer *layer, const char *func,
                    const struct tnn__shape *in, struct tnn__shape *out)
{
    const struct zeropad2d *p = layer->impl;
    char got[64];
    if (in->ndim != 3)
        return tnn__fail(TNN_E_SHAPE, func,
                         "zero padding needs (channels, height, width) "
                         "images; previous layer gives %s",
                         tnn__shape_text(in, got, sizeof got));
    size_t height = in->dims[1] + p->top + p->bottom;
    size_t width = in->dims[2] + p->left + p->right;
    size_t plane;
    if (height < in->dims[1] || width < in->dims[2] ||
        !tnn__mul_size(height, width, &plane) || plane > UINT32_MAX)
        return tnn__fail(TNN_E_SHAPE, func,
                         "padded images of %s are too large",
                         tnn__shape_text(in, got, sizeof got));
    *out = (struct tnn__shape){3, {in->dims[0], height, width}, 0};
    return TNN_OK;
}

/* One pass over a batch; threads take ranges of planes (one channel of one
 * image), which share nothing. */
struct pad_pass {
    const struct zeropad2d *pads;
    size_t height, width, out_width; /* of one plane */
    size_t in_plane, out_plane;      /* values in one */
    const float *src;
    float *dst;
};

static struct pad_pass make_pass(const tnn_layer *layer, const float *src,
                                 float *dst)
{
    const struct tnn__shape *in = &layer->in_shape, *out = &layer->out_shape;
    return (struct pad_pass){layer->impl,
                             in->dims[1],
                             in->dims[2],
                             out->dims[2],
                             in->dims[1] * in->dims[2],
                             out->dims[1] * out->dims[2],
                             src,
                             dst};
}

static void pad_forward_range(void *arg, size_t begin, size_t end)
{
    const struct pad_pass *pass = arg;
    const struct zeropad2d *p = pass->pads;
    size_t w = pass->width, ow = pass->out_width;
    for (size_t plane = begin; plane < end; plane++) {
        const float *src = pass->src + plane * pass->in_plane;
        float *dst = pass->dst + plane * pass->out_plane;
        memset(dst, 0, p->top * ow * sizeof *dst);
        dst += p->top * ow;
        for (size_t y = 0; y < pass->height; y++, dst += ow, src += w) {
            memset(dst, 0, p->left * sizeof *dst);
            memcpy(dst + p->left, src, w * sizeof *dst);
            memset(dst + p->left + w, 0, p->right * sizeof *dst);
        }
        memset(dst, 0, p->bottom * ow * sizeof *dst);
    }
}

/* The input gradient is the interior of the output gradient: the zeros
 * depend on nothing. */
static void pad_backward_range(void *arg, size_t begin, size_t end)
{
    const struct pad_pass *pass = arg;
    const struct zeropad2d *p = pass->pads;
    size_t w = pass->width, ow = pass->out_width;
    for (size_t plane = begin; plane < end; plane++) {
        const float *src =
            pass->src + plane * pass->out_plane + p->top * ow + p->left;
        float *dst = pass->dst + plane * pass->in_plane;
        for (size_t y = 0; y < pass->height; y++, dst += w, src += ow)
            memcpy(dst, src, w * sizeof *dst);
    }
}

static size_t planes_per_part(const tnn_layer *layer)
{
    size_t plane = layer->out_shape.dims[1] * layer->out_shape.dims[2];
    return PAD_MIN_VALUES_PER_THREAD / plane + 1;
}

static void pad_forward(tnn_layer *layer, const float *in, float *out,
                        size_t n, bool training, tnn_rng *rng)
{
    (void)training;
    (void)rng;
    struct pad_pass pass = make_pass(layer, in, out);
    tnn__parallel_for(n * layer->in_shape.dims[0], planes_per_part(layer),
                      pad_forward_range, &pass);
}

static void pad_backward(tnn_layer *layer, const float *in, const float *out,
                         const float *dout, float *din, size_t n,
                         bool accumulate)
{
    (void)in;
    (void)out;
    (void)accumulate;
    if (!din)
        return;
    struct pad_pass pass = make_pass(layer, dout, din);
    tnn__parallel_for(n * layer->in_shape.dims[0], planes_per_part(layer),
                      pad_backward_range, &pass);
}

/* ---- model files: the four paddings ------------------------------------ */

static void pad_save_config(const tnn_layer *layer, uint32_t version,
                            uint32_t *words)
{
    (void)version;
    const struct zeropad2d *p = layer->impl;
    words[0] = (uint32_t)p->top;
    words[1] = (uint32_t)p->bottom;
    words[2] = (uint32_t)p->left;
    words[3] = (uint32_t)p->right;
}

static tnn_layer *pad_load_config(const struct tnn__layer_record *record,
                                  uint32_t version)
{
    (void)version;
    const uint32_t *w = record->config;
    return tnn_zeropad2d_new(w[0], w[1], w[2], w[3]);
}

/* ---- ONNX: constant Pad, the pads an input (since operator set 11) --- */

static void pad_onnx_node(const tnn_layer *layer, struct tnn__onnx_node *node)
{
    const struct zeropad2d *p = layer->impl;
    const int64_t top = (int64_t)p->top, bottom = (int64_t)p->bottom;
    const int64_t left = (int64_t)p->left, right = (int64_t)p->right;
    *node = (struct tnn__onnx_node){
        .op = "Pad",
        .nattrs = 1,
        .attrs = {{.name = "mode",
                   .type = TNN__ONNX_ATTR_IS_STRING,
                   .s = "constant"}},
        .ninputs = 1,
        /* ONNX's begins then ends over all four NCHW axes */
        .inputs = {{.suffix = "pads",
                    .nints = 8,
                    .ints = {0, 0, top, left, 0, 0, bottom, right}}},
    };
}

const struct tnn__layer_ops tnn__zeropad2d_ops = {
    .kind = TNN_LAYER_ZEROPAD2D,
    .name = "zeropad2d",
    .bind = pad_bind,
    .forward = pad_forward,
    .backward = pad_backward,
    .since_format = 6,
    .config_words = 4,
    .save_config = pad_save_config,
    .load_config = pad_load_config,
    .onnx_node = pad_onnx_node,
};

tnn_layer *tnn_zeropad2d_new(size_t top, size_t bottom, size_t left,
                             size_t right)
{
    if (top > PAD_MAX || bottom > PAD_MAX || left > PAD_MAX ||
        right > PAD_MAX) {
        tnn__fail(TNN_E_INVALID, __func__,
                  "padding (top %zu, bottom %zu, left %zu, right %zu) must "
                  "be at most %d on every side",
                  top, bottom, left, right, PAD_MAX);
        return NULL;
    }
    tnn_layer *layer = tnn__layer_alloc(__func__, &tnn__zeropad2d_ops, 0, 0,
                                        sizeof(struct zeropad2d));
    if (layer)
        *(struct zeropad2d *)layer->impl =
            (struct zeropad2d){top, bottom, left, right};
    return layer;
}
