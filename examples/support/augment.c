/*
 * Random translations of training images (see augment.h).
 */
#include <string.h>

#include "augment.h"

void augment_shift_image(const float *src, float *dst, int side, int dy,
                         int dx)
{
    memset(dst, 0, (size_t)side * (size_t)side * sizeof *dst);
    /* The columns that stay inside, the same for every row. */
    int first = dx > 0 ? dx : 0, end = dx < 0 ? side + dx : side;
    if (first >= end)
        return;
    for (int y = 0; y < side; y++) {
        int from_y = y - dy;
        if (from_y < 0 || from_y >= side)
            continue;
        memcpy(dst + y * side + first, src + from_y * side + first - dx,
               (size_t)(end - first) * sizeof *dst);
    }
}

void augment_shift_images(const tnn_tensor *from, tnn_tensor *to, int side,
                          int max_shift, tnn_rng *rng)
{
    const float *src = tnn_tensor_cdata(from);
    float *dst = tnn_tensor_data(to);
    uint64_t choices = (uint64_t)(2 * max_shift + 1);
    size_t pixels = (size_t)side * (size_t)side;
    for (size_t n = tnn_tensor_dim(from, 0); n > 0; n--) {
        int dy = (int)(tnn_rng_next_u64(rng) % choices) - max_shift;
        int dx = (int)(tnn_rng_next_u64(rng) % choices) - max_shift;
        augment_shift_image(src, dst, side, dy, dx);
        src += pixels;
        dst += pixels;
    }
}
