/*
 * The table of layer kinds: the one place that maps the numbers of enum
 * tnn_layer_kind, which model files store, to the kinds' operations. A new
 * kind is its own file, its constructor in tinynn.h and one line here.
 */
#include "internal.h"

/* Kind number (enum tnn_layer_kind) and the name of its operation table,
 * tnn__<name>_ops, defined in the kind's own file. */
#define LAYER_KINDS(X)                                                        \
    X(TNN_LAYER_DENSE, dense)                                                 \
    X(TNN_LAYER_RELU, relu)                                                   \
    X(TNN_LAYER_SIGMOID, sigmoid)                                             \
    X(TNN_LAYER_TANH, tanh)                                                   \
    X(TNN_LAYER_SOFTMAX, softmax)                                             \
    X(TNN_LAYER_IDENTITY, identity)                                           \
    X(TNN_LAYER_DROPOUT, dropout)                                             \
    X(TNN_LAYER_BATCHNORM, batchnorm)                                         \
    X(TNN_LAYER_CONV2D, conv2d)                                               \
    X(TNN_LAYER_MAXPOOL2D, maxpool2d)                                         \
    X(TNN_LAYER_AVGPOOL2D, avgpool2d)                                         \
    X(TNN_LAYER_FLATTEN, flatten)                                             \
    X(TNN_LAYER_LEAKY_RELU, leaky_relu)                                       \
    X(TNN_LAYER_ZEROPAD2D, zeropad2d)                                         \
    X(TNN_LAYER_LAYERNORM, layernorm)                                         \
    X(TNN_LAYER_GELU, gelu)                                                   \
    X(TNN_LAYER_LSTM, lstm)                                                   \
    X(TNN_LAYER_GRU, gru)                                                     \
    X(TNN_LAYER_EMBEDDING, embedding)                                         \
    X(TNN_LAYER_POSITION_EMBEDDING, position_embedding)                       \
    X(TNN_LAYER_ATTENTION, attention)                                         \
    X(TNN_LAYER_RESIDUAL, residual)

#define DECLARE_OPS(number, name)                                             \
    extern const struct tnn__layer_ops tnn__##name##_ops;
LAYER_KINDS(DECLARE_OPS)

#define TABLE_ENTRY(number, name) [number] = &tnn__##name##_ops,
static const struct tnn__layer_ops *const kinds[] = {LAYER_KINDS(TABLE_ENTRY)};

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
