/*
 * augment.h - random translations of training images, so that a network
 * learns that a digit moved by a pixel or two is the same digit.
 */
#ifndef TINYNN_EXAMPLES_AUGMENT_H
#define TINYNN_EXAMPLES_AUGMENT_H

#include <tinynn.h>

/* dst = the side x side image src moved down by dy and right by dx pixels
 * (negative: up, left), with zeros where nothing comes in. */
void augment_shift_image(const float *src, float *dst, int side, int dy,
                         int dx);

/* Each row of `from` (side * side values) moved by its own offsets drawn
 * uniformly from [-max_shift, max_shift] along each axis, into the same row
 * of `to` (same shape). */
void augment_shift_images(const tnn_tensor *from, tnn_tensor *to, int side,
                          int max_shift, tnn_rng *rng);

#endif
