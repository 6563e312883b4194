/*
 * shifted_fit.h - training on images moved by a random pixel or two, anew
 * every epoch (the --shift option of the MNIST examples; mnist_cnn.c
 * writes the same loop out, as its recipe uses it by default).
 */
#ifndef TINYNN_EXAMPLES_SHIFTED_FIT_H
#define TINYNN_EXAMPLES_SHIFTED_FIT_H

#include <stddef.h>
#include <stdint.h>

#include <tinynn.h>

/* tnn_model_fit() for `epochs` epochs, each on a new copy of x whose
 * side x side images are moved by up to max_shift pixels along each axis
 * (augment_shift_images). The moves come from a generator of their own,
 * seeded from seed as mnist_cnn.c's are, so that the model's draws
 * (shuffling, dropout) are those of a run without shifts. One fit call per
 * epoch, with shuffling: the model keeps its optimizer state and generator
 * from call to call, so this is still one run, but the callback sees every
 * epoch as epoch 0 of 1. Returns as tnn_model_fit() (TNN_E_NOMEM if the
 * copy cannot be made). */
int fit_shifted(tnn_model *model, const tnn_tensor *x, const tnn_tensor *y,
                const tnn_tensor *x_val, const tnn_tensor *y_val, int epochs,
                size_t batch_size, int side, int max_shift, uint64_t seed,
                tnn_fit_callback callback, void *user);

#endif
