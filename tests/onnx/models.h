/*
 * Models of every layer kind the ONNX writer knows, with batch-norm
 * statistics and scales that are not the identity's: what the ONNX tests
 * (tests/test_onnx.c) round-trip and tests/onnx/export_cases.c exports
 * for the independent reader. NULL when a layer is refused.
 */
#ifndef TINYNN_TESTS_ONNX_MODELS_H
#define TINYNN_TESTS_ONNX_MODELS_H

#include <tinynn.h>

/* Values in [offset - 1, offset + 1] from a fixed linear congruence. */
static inline void onnx_fill(tnn_tensor *t, unsigned seed, float offset)
{
    float *d = tnn_tensor_data(t);
    for (size_t i = 0; i < tnn_tensor_size(t); i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = offset + (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
    }
}

/* Batch-norm statistics that are not the identity's; layer-norm scales
 * and shifts too. */
static inline void onnx_vary_batchnorm(tnn_model *m)
{
    for (size_t i = 0; i < tnn_model_num_layers(m); i++) {
        tnn_layer *l = tnn_model_layer(m, i);
        if (tnn_layer_kind(l) == TNN_LAYER_LAYERNORM) {
            onnx_fill(tnn_layer_param(l, 0), 17u + (unsigned)i, 1.0f);
            onnx_fill(tnn_layer_param(l, 1), 19u + (unsigned)i, 0.0f);
        }
        if (tnn_layer_kind(l) != TNN_LAYER_BATCHNORM)
            continue;
        onnx_fill(tnn_batchnorm_running_mean(l), 7u + (unsigned)i, 0.0f);
        onnx_fill(tnn_batchnorm_running_var(l), 9u + (unsigned)i, 1.5f);
        onnx_fill(tnn_layer_param(l, 0), 11u + (unsigned)i, 1.0f);
        onnx_fill(tnn_layer_param(l, 1), 13u + (unsigned)i, 0.0f);
    }
}

static inline int onnx_add_all(tnn_model *m, tnn_layer **layers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tnn_model_add(m, layers[i]) != TNN_OK)
            return -1;
    onnx_vary_batchnorm(m);
    return 0;
}

static inline tnn_model *onnx_every_kind_model(void)
{
    tnn_model *m = tnn_model_new_image(2, 9, 9);
    tnn_layer *layers[] = {
        tnn_zeropad2d_new(1, 0, 2, 1),
        tnn_conv2d_new(2, 4, 3, 3, 1, TNN_PADDING_SAME),
        tnn_batchnorm_new(4),
        tnn_leaky_relu_new(0.2f),
        tnn_maxpool2d_new(2, 2),
        tnn_conv2d_new(4, 3, 2, 2, 1, 1),
        tnn_relu_new(),
        tnn_avgpool2d_new(2, 1),
        tnn_flatten_new(),
        tnn_dropout_new(0.3f),
        tnn_dense_new(90, 6),
        tnn_tanh_new(),
        tnn_dense_new(6, 4),
        tnn_softmax_new(),
    };
    return onnx_add_all(m, layers, sizeof layers / sizeof layers[0]) ? NULL
                                                                     : m;
}

/* Strided "same" padding (the odd row and column after), the identity. */
static inline tnn_model *onnx_conv_same_model(void)
{
    tnn_model *m = tnn_model_new_image(1, 7, 8);
    tnn_layer *layers[] = {
        tnn_conv2d_new(1, 3, 3, 2, 2, TNN_PADDING_SAME),
        tnn_sigmoid_new(),
        tnn_flatten_new(),
        tnn_dense_new(3 * 4 * 4, 5),
        tnn_identity_new(),
    };
    return onnx_add_all(m, layers, sizeof layers / sizeof layers[0]) ? NULL
                                                                     : m;
}

static inline tnn_model *onnx_rows_model(void)
{
    tnn_model *m = tnn_model_new(7);
    tnn_layer *layers[] = {
        tnn_dense_new(7, 6),   tnn_batchnorm_new(6), tnn_relu_new(),
        tnn_dropout_new(0.5f), tnn_dense_new(6, 2),  tnn_sigmoid_new(),
    };
    return onnx_add_all(m, layers, sizeof layers / sizeof layers[0]) ? NULL
                                                                     : m;
}

/* Layer normalisation (since 1.9; operator set 17) over rows and over
 * the rows of images, with eps other than the default. */
static inline tnn_model *onnx_layernorm_model(void)
{
    tnn_model *m = tnn_model_new(7);
    tnn_layer *ln = tnn_layernorm_new(8);
    if (ln && tnn_layernorm_set_eps(ln, 1e-3f) != TNN_OK)
        return NULL;
    tnn_layer *layers[] = {
        tnn_dense_new(7, 8),  ln, tnn_tanh_new(), tnn_dense_new(8, 4),
        tnn_layernorm_new(4),
    };
    return onnx_add_all(m, layers, sizeof layers / sizeof layers[0]) ? NULL
                                                                     : m;
}

static inline tnn_model *onnx_layernorm_image_model(void)
{
    tnn_model *m = tnn_model_new_image(2, 5, 6);
    tnn_layer *layers[] = {
        tnn_layernorm_new(6), tnn_conv2d_new(2, 3, 3, 3, 1, TNN_PADDING_VALID),
        tnn_relu_new(),       tnn_layernorm_new(4),
        tnn_flatten_new(),    tnn_dense_new(3 * 3 * 4, 5),
        tnn_softmax_new(),
    };
    return onnx_add_all(m, layers, sizeof layers / sizeof layers[0]) ? NULL
                                                                     : m;
}

/* Token ids in [0, vocabulary) from a fixed linear congruence. */
static inline void onnx_fill_ids(tnn_tensor *t, unsigned seed,
                                 size_t vocabulary)
{
    float *d = tnn_tensor_data(t);
    for (size_t i = 0; i < tnn_tensor_size(t); i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (float)((seed >> 8) % vocabulary);
    }
}

/* Sequences: ids of a vocabulary of 11 over 5 steps, through
 * an embedding of 13 rows (more than the model's vocabulary) of width 4,
 * flattened into a dense layer. */
#define ONNX_TOKENS_TIME 5
#define ONNX_TOKENS_VOCABULARY 11

static inline tnn_model *onnx_embedding_model(void)
{
    tnn_model *m =
        tnn_model_new_tokens(ONNX_TOKENS_TIME, ONNX_TOKENS_VOCABULARY);
    tnn_layer *layers[] = {
        tnn_embedding_new(13, 4),
        tnn_flatten_new(),
        tnn_dense_new(ONNX_TOKENS_TIME * 4, 3),
    };
    return onnx_add_all(m, layers, sizeof layers / sizeof layers[0]) ? NULL
                                                                     : m;
}

/* An LSTM (gru 0) or a GRU (gru 1) over (6, 3) sequences with 5 hidden
 * units and a dense layer after it: on the last step's states when
 * return_sequences is 0, on every step's flattened when it is 1. */
#define ONNX_SEQ_TIME 6
#define ONNX_SEQ_FEATURES 3

static inline tnn_model *onnx_recurrent_model(int gru, int return_sequences)
{
    tnn_model *m = tnn_model_new_sequence(ONNX_SEQ_TIME, ONNX_SEQ_FEATURES);
    tnn_layer *rnn =
        gru ? tnn_gru_new(ONNX_SEQ_FEATURES, 5, return_sequences)
            : tnn_lstm_new(ONNX_SEQ_FEATURES, 5, return_sequences);
    tnn_layer *layers[3] = {rnn};
    size_t n = 1;
    if (return_sequences)
        layers[n++] = tnn_flatten_new();
    layers[n++] = tnn_dense_new(return_sequences ? ONNX_SEQ_TIME * 5 : 5, 2);
    return onnx_add_all(m, layers, n) ? NULL : m;
}

/* Ids through an embedding, a GRU of every step's states, an LSTM of the
 * last step's, a dense layer and a softmax. */
static inline tnn_model *onnx_text_model(void)
{
    tnn_model *m =
        tnn_model_new_tokens(ONNX_TOKENS_TIME, ONNX_TOKENS_VOCABULARY);
    tnn_layer *layers[] = {
        tnn_embedding_new(ONNX_TOKENS_VOCABULARY, 4),
        tnn_gru_new(4, 6, 1),
        tnn_lstm_new(6, 3, 0),
        tnn_dense_new(3, 4),
        tnn_softmax_new(),
    };
    return onnx_add_all(m, layers, sizeof layers / sizeof layers[0]) ? NULL
                                                                     : m;
}

#endif
