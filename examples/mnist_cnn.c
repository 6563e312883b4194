/*
 * mnist_cnn - the classic small convolutional network for MNIST:
 *
 *   1x28x28 -> Conv 32 3x3 ReLU -> MaxPool 2 -> Conv 64 3x3 ReLU
 *   -> MaxPool 2 -> Flatten -> Dropout 0.5 -> Dense 10 softmax,
 *   Adam (0.9, 0.999, 1e-7), categorical cross-entropy,
 *   12 epochs of shuffled batches of 128,
 *
 * with the same output as mnist_mlp (support/mnist_run.c): progress, test
 * accuracy, per-class accuracy, confusion matrix and pictures.
 *
 * Two choices beyond the classic recipe (constant learning rate 1e-3,
 * images as they are), both made on a validation split of the training set
 * (--validation 10000), never on the test set: Adam starts at 3e-3 and
 * decays to 0 on a cosine over the run, and each epoch sees every training
 * image moved by a random pixel or none along each axis (--shift). The
 * network is small and still learning at epoch 12, so it gains from a
 * faster start and a calm finish, and the shifts teach it what a
 * translation is without costing capacity.
 */
#include <stdio.h>

#include <tinynn.h>

#include "support/mnist_run.h"

static tnn_optim *optimizer(long total_steps)
{
    tnn_optim *adam = tnn_adam_new(3e-3f);
    if (adam && tnn_optim_set_cosine_schedule(adam, total_steps, 0.0f)) {
        tnn_optim_free(adam);
        return NULL;
    }
    return adam;
}

static tnn_model *build_model(unsigned long long seed, long total_steps)
{
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
    return mnist_model("mnist_cnn", tnn_model_new_image(1, 28, 28), seed,
                       layers, sizeof layers / sizeof *layers,
                       optimizer(total_steps));
}

int main(int argc, char **argv)
{
    static const struct mnist_experiment cnn = {.name = "mnist_cnn",
                                                .default_out = "out/mnist_cnn",
                                                .default_epochs = 12,
                                                .default_batch = 128,
                                                .max_shift = 1,
                                                .build = build_model,
                                                .optimizer = optimizer};
    return mnist_main(&cnn, argc, argv);
}
