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

static tnn_model *build_model(unsigned long long seed, long total_steps)
{
    (void)total_steps; /* constant learning rate, as the reference */
    tnn_model *m = tnn_model_new(784);
    if (!m)
        return NULL;
    int rc = tnn_model_set_seed(m, seed);
    tnn_layer *layers[] = {tnn_dense_new(784, 512), tnn_relu_new(),
                           tnn_dropout_new(0.2f), tnn_dense_new(512, 10),
                           tnn_softmax_new()};
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        if (rc == TNN_OK)
            rc = layers[i] ? tnn_model_add(m, layers[i]) : TNN_E_NOMEM;
        else
            tnn_layer_free(layers[i]);
    if (rc == TNN_OK)
        rc = tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    /* Keras' Adam defaults, which the reference experiment uses. */
    tnn_optim *adam = tnn_adam_new(1e-3f);
    if (rc == TNN_OK && !adam)
        rc = TNN_E_NOMEM;
    if (rc == TNN_OK)
        rc = tnn_adam_set_betas(adam, 0.9f, 0.999f);
    if (rc == TNN_OK)
        rc = tnn_adam_set_eps(adam, 1e-7f);
    if (rc == TNN_OK)
        rc = tnn_model_set_optim(m, adam);
    else
        tnn_optim_free(adam);
    if (rc != TNN_OK) {
        fprintf(stderr, "mnist_mlp: %s\n", tnn_last_error());
        tnn_model_free(m);
        return NULL;
    }
    return m;
}

int main(int argc, char **argv)
{
    static const struct mnist_experiment mlp = {"mnist_mlp", "out/mnist", 5,
                                                64, build_model};
    return mnist_main(&mlp, argc, argv);
}
