/*
 * mnist_inputs.h - checks and plumbing around what the MNIST examples
 * read, kept out of the examples so that their files show the library's
 * calls: that an image file and a label file fit together, the hold-out of
 * a validation set, and a saved model to start from.  Every function
 * prints why it failed on stderr, after the program's name prog.
 */
#ifndef TINYNN_EXAMPLES_MNIST_INPUTS_H
#define TINYNN_EXAMPLES_MNIST_INPUTS_H

#include <stddef.h>

#include <tinynn.h>

#define MNIST_SIDE 28 /* images are MNIST_SIDE x MNIST_SIDE pixels */
#define MNIST_PIXELS (MNIST_SIDE * MNIST_SIDE)
#define MNIST_CLASSES 10

/* After tnn_idx_load() of images_path into *x and labels_path into *y in
 * dir (a NULL tensor for a file that failed, whose message the caller has
 * printed): 0 if both were read and fit together, MNIST_PIXELS values per
 * image and one label for each, which everything that indexes both by row
 * relies on; otherwise -1 after saying what does not fit and how to get
 * the files. */
int mnist_check_set(const char *prog, const char *dir, const char *images_path,
                    const char *labels_path, const tnn_tensor *x,
                    const tnn_tensor *y);

/* Moves the last n rows of *x_train and *y_train into new tensors that
 * replace *x_eval and *y_eval (which are freed), so that the model is
 * evaluated on images it does not train on, and never on the test set.
 * n must be below the number of training rows. 0, or -1 after saying why
 * with the tensors unchanged. */
int mnist_hold_out(const char *prog, tnn_tensor **x_train,
                   tnn_tensor **y_train, tnn_tensor **x_eval,
                   tnn_tensor **y_eval, size_t n);

/* The model saved at path, checked to map MNIST_PIXELS inputs to
 * MNIST_CLASSES outputs. To be trained on (total_steps > 0 optimizer steps)
 * it keeps its saved optimizer, whose state continues the run where it
 * stopped, unless it has none or its learning rate has decayed to 0 (a
 * finished schedule would train nothing): then it gets
 * new_optimizer(total_steps), which is said on stdout. NULL after saying
 * why. */
tnn_model *mnist_load_model(const char *prog, const char *path,
                            long total_steps,
                            tnn_optim *(*new_optimizer)(long total_steps));

#endif
