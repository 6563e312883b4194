/*
 * mnist_mlp - the classic MNIST multilayer perceptron with libtinynn:
 *
 *   784 -> Dense 512 ReLU -> Dropout 0.2 -> Dense 10 softmax,
 *   Adam (1e-3, 0.9, 0.999, 1e-7), categorical cross-entropy,
 *   5 epochs of shuffled batches of 64,
 *
 * then test accuracy, per-class accuracy and the confusion matrix, printed
 * and drawn (confusion.svg, training.svg). The driver is in
 * support/mnist_run.c; this file is the model.
 */
#include <stdio.h>

#include <tinynn.h>

#include "support/mnist_run.h"

/* Keras' Adam defaults, which the reference experiment uses, at a
 * constant learning rate. */
static tnn_optim *optimizer(long total_steps)
{
    (void)total_steps;
    tnn_optim *adam = tnn_adam_new(1e-3f);
    if (adam && (tnn_adam_set_betas(adam, 0.9f, 0.999f) != TNN_OK ||
                 tnn_adam_set_eps(adam, 1e-7f) != TNN_OK)) {
        tnn_optim_free(adam);
        return NULL;
    }
    return adam;
}

static tnn_model *build_model(unsigned long long seed, long total_steps)
{
    tnn_layer *layers[] = {tnn_dense_new(784, 512), tnn_relu_new(),
                           tnn_dropout_new(0.2f), tnn_dense_new(512, 10),
                           tnn_softmax_new()};
    return mnist_model("mnist_mlp", tnn_model_new(784), seed, layers,
                       sizeof layers / sizeof *layers, optimizer(total_steps));
}

int main(int argc, char **argv)
{
    static const struct mnist_experiment mlp = {.name = "mnist_mlp",
                                                .default_out = "out/mnist",
                                                .default_epochs = 5,
                                                .default_batch = 64,
                                                .max_shift = 0,
                                                .build = build_model,
                                                .optimizer = optimizer};
    return mnist_main(&mlp, argc, argv);
}
