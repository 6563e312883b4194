/*
 * The table of layer kinds: the one place that maps the numbers of enum
 * tnn_layer_kind, which model files store, to the kinds' operations. A new
 * kind is its own file, its constructor in tinynn.h and one line here.
 */
#include "internal.h"

static const struct tnn__layer_ops *const kinds[] = {
    [TNN_LAYER_DENSE] = &tnn__dense_ops,
    [TNN_LAYER_RELU] = &tnn__relu_ops,
    [TNN_LAYER_SIGMOID] = &tnn__sigmoid_ops,
    [TNN_LAYER_TANH] = &tnn__tanh_ops,
    [TNN_LAYER_SOFTMAX] = &tnn__softmax_ops,
    [TNN_LAYER_IDENTITY] = &tnn__identity_ops,
    [TNN_LAYER_DROPOUT] = &tnn__dropout_ops,
    [TNN_LAYER_BATCHNORM] = &tnn__batchnorm_ops,
    [TNN_LAYER_CONV2D] = &tnn__conv2d_ops,
    [TNN_LAYER_MAXPOOL2D] = &tnn__maxpool2d_ops,
    [TNN_LAYER_AVGPOOL2D] = &tnn__avgpool2d_ops,
    [TNN_LAYER_FLATTEN] = &tnn__flatten_ops,
    [TNN_LAYER_LEAKY_RELU] = &tnn__leaky_relu_ops,
};

const struct tnn__layer_ops *tnn__layer_kind_ops(uint32_t kind)
{
    return kind < sizeof kinds / sizeof kinds[0] ? kinds[kind] : NULL;
}

uint32_t tnn__layer_config_words(const struct tnn__layer_ops *ops,
                                 uint32_t version)
{
    return ops->config_words_in ? ops->config_words_in(version)
                                : ops->config_words;
}

const char *tnn__layer_param_name(const tnn_layer *layer, int p)
{
    static const char *const weights[] = {"weight", "bias"};
    const char *const *names =
        layer->ops->param_names ? layer->ops->param_names : weights;
    return names[p];
}
