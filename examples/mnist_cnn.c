/*
 * mnist_cnn - the classic small convolutional network for MNIST:
 *
 *   1x28x28 -> Conv 32 3x3 ReLU -> MaxPool 2 -> Conv 64 3x3 ReLU
 *   -> MaxPool 2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax,
 *   Adam (1e-3, 0.9, 0.999, 1e-7) with a cosine decay of the learning
 *   rate to 1e-5, categorical cross-entropy, 12 epochs of shuffled
 *   batches of 128,
 *
 * with the same output as mnist_mlp (support/mnist_run.c): progress, test
 * accuracy, per-class accuracy, confusion matrix and pictures.
 */
#include <stdio.h>

#include <tinynn.h>

#include "support/mnist_run.h"

static tnn_model *build_model(unsigned long long seed, long total_steps)
{
    tnn_model *m = tnn_model_new_image(1, 28, 28);
    if (!m) {
        fprintf(stderr, "mnist_cnn: %s\n", tnn_last_error());
        return NULL;
    }
    int rc = tnn_model_set_seed(m, seed);
    tnn_layer *layers[] = {tnn_conv2d_new(1, 32, 3, 3, 1, TNN_PADDING_VALID),
                           tnn_relu_new(),
                           tnn_maxpool2d_new(2, 2),
                           tnn_conv2d_new(32, 64, 3, 3, 1, TNN_PADDING_VALID),
                           tnn_relu_new(),
                           tnn_maxpool2d_new(2, 2),
                           tnn_flatten_new(),
                           tnn_dropout_new(0.5f),
                           tnn_dense_new(64 * 5 * 5, 10),
                           tnn_softmax_new()};
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        if (rc == TNN_OK)
            rc = layers[i] ? tnn_model_add(m, layers[i]) : TNN_E_NOMEM;
        else
            tnn_layer_free(layers[i]);
    if (rc == TNN_OK)
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    /* Adam's learning rate follows a cosine from 1e-3 down to 1e-5 over
     * the whole training: the last epochs settle instead of jittering. */
    tnn_optim *adam = rc == TNN_OK ? tnn_adam_new(1e-3f) : NULL;
    if (rc == TNN_OK && !adam)
        rc = TNN_E_NOMEM;
    if (rc == TNN_OK)
        rc = tnn_optim_set_cosine_schedule(adam, total_steps, 1e-5f);
    if (rc == TNN_OK)
        rc = tnn_model_set_optim(m, adam);
    else
        tnn_optim_free(adam);
    if (rc != TNN_OK) {
        fprintf(stderr, "mnist_cnn: %s\n", tnn_last_error());
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

int main(int argc, char **argv)
{
    static const struct mnist_experiment cnn = {"mnist_cnn", "out/mnist_cnn",
                                                12, 128, build_model};
    return mnist_main(&cnn, argc, argv);
}
