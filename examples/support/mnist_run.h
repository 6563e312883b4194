/*
 * mnist_run.h - what the MNIST examples share: command line, data, training
 * with a Keras-like progress line, test accuracy, per-class accuracy, the
 * confusion matrix (printed and drawn), training curves, save and load.
 */
#ifndef TINYNN_EXAMPLES_MNIST_RUN_H
#define TINYNN_EXAMPLES_MNIST_RUN_H

#include <tinynn.h>

#define CLASSES 10
#define IMAGE_SIDE 28 /* MNIST images are IMAGE_SIDE x IMAGE_SIDE */

/* What one example is: its name and defaults, and its model. */
struct mnist_experiment {
    const char *name;        /* program name, for usage and messages */
    const char *default_out; /* where the pictures go */
    int default_epochs;
    long default_batch;
    /* Training images are moved by up to this many pixels along each axis,
     * anew every epoch (0: used as they are). */
    int max_shift;
    /* The model for 28x28 images (784 values per row) with its loss and
     * optimizer set, its randomness from seed, for training of total_steps
     * optimizer steps (for schedules); NULL after saying why. */
    tnn_model *(*build)(unsigned long long seed, long total_steps);
    /* The optimizer build() sets, for a run of total_steps >= 1 steps; also
     * given to a loaded model that has none, or whose learning rate has
     * decayed to 0, before it trains on. NULL after saying why. */
    tnn_optim *(*optimizer)(long total_steps);
};

/* Finish a classifier: seed m, add the layers in order, cross-entropy,
 * the optimizer. Takes ownership of everything given (NULL entries, from
 * failed constructors, make it fail); on failure prints why, frees it all
 * and returns NULL. */
tnn_model *mnist_model(const char *name, tnn_model *m, unsigned long long seed,
                       tnn_layer *const *layers, size_t count, tnn_optim *opt);

/* The whole program: parse argv, train or load, evaluate, draw. Returns
 * the exit status: 0, 1 on failure or accuracy below --min-accuracy, 2 on
 * bad options. */
int mnist_main(const struct mnist_experiment *experiment, int argc,
               char **argv);

#endif
