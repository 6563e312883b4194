/*
 * mnist_cnn - the classic small convolutional network for MNIST:
 *
 *   1x28x28 -> Conv 32 3x3 ReLU -> MaxPool 2 -> Conv 64 3x3 ReLU
 *   -> MaxPool 2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax,
 *   Adam (1e-3, 0.9, 0.999, 1e-7), categorical cross-entropy,
 *   12 epochs of shuffled batches of 128,
 *
 * with the same output as mnist_mlp (support/mnist_run.c): progress, test
 * accuracy, per-class accuracy, confusion matrix and pictures.
 */
#include <stdio.h>

#include <tinynn.h>

#include "support/mnist_run.h"

static tnn_model *build_model(unsigned long long seed, long total_steps)
{
    (void)total_steps; /* constant learning rate, as the reference */
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
    tnn_optim *adam = tnn_adam_new(1e-3f);
    return mnist_model("mnist_cnn", tnn_model_new_image(1, 28, 28), seed,
                       layers, sizeof layers / sizeof *layers, adam);
}

int main(int argc, char **argv)
{
    static const struct mnist_experiment cnn = {.name = "mnist_cnn",
                                                .default_out = "out/mnist_cnn",
                                                .default_epochs = 12,
                                                .default_batch = 128,
                                                .max_shift = 0,
                                                .build = build_model};
    return mnist_main(&cnn, argc, argv);
}
