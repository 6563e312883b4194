/*
 * The examples' image translations (examples/support/augment.c): every
 * pixel lands where the offset says, and what comes in is zero.
 */
#include <stdint.h>

#include "augment.h"
#include "testutil.h"

enum { SIDE = 5 };

/* Pixel (y, x) of the test image: distinct and nonzero everywhere. */
static float pixel(int y, int x)
{
    return (float)(1 + y * SIDE + x);
}

static void fill(float *img)
{
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            img[y * SIDE + x] = pixel(y, x);
}

/* out must be img moved by (dy, dx): checked pixel by pixel. */
static void assert_moved(const float *out, int dy, int dx)
{
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            int sy = y - dy, sx = x - dx;
            int inside = sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE;
            ck_assert_float_eq(out[y * SIDE + x],
                               inside ? pixel(sy, sx) : 0.0f);
        }
}

START_TEST(shift_moves_every_pixel)
{
    float img[SIDE * SIDE], out[SIDE * SIDE];
    fill(img);
    for (int dy = -SIDE; dy <= SIDE; dy++)
        for (int dx = -SIDE; dx <= SIDE; dx++) {
            for (int i = 0; i < SIDE * SIDE; i++)
                out[i] = -1.0f; /* every pixel must be written */
            augment_shift_image(img, out, SIDE, dy, dx);
            assert_moved(out, dy, dx);
        }
    /* By hand: one down and two left, corners. */
    augment_shift_image(img, out, SIDE, 1, -2);
    ck_assert_float_eq(out[0], 0.0f);
    ck_assert_float_eq(out[1 * SIDE + 0], pixel(0, 2));
    ck_assert_float_eq(out[4 * SIDE + 2], pixel(3, 4));
    ck_assert_float_eq(out[4 * SIDE + 3], 0.0f);
}
END_TEST

/* Which offset moved a row: the one whose translation it equals. */
static int offset_of(const float *img, const float *out, int max_shift,
                     int *dy, int *dx)
{
    float moved[SIDE * SIDE];
    int found = 0;
    for (int y = -max_shift; y <= max_shift; y++)
        for (int x = -max_shift; x <= max_shift; x++) {
            augment_shift_image(img, moved, SIDE, y, x);
            if (memcmp(moved, out, sizeof moved) == 0) {
                *dy = y;
                *dx = x;
                found++;
            }
        }
    return found;
}

START_TEST(shift_images_draws_each_offset)
{
    enum { ROWS = 2000, MAX = 2, CHOICES = 2 * MAX + 1 };
    tnn_tensor *in = tnn_tensor_new_2d(ROWS, SIDE * SIDE);
    tnn_tensor *out = tnn_tensor_new_2d(ROWS, SIDE * SIDE);
    tnn_rng *rng = tnn_rng_new(3);
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    for (size_t r = 0; r < ROWS; r++)
        fill(tnn_tensor_data(in) + r * SIDE * SIDE);
    augment_shift_images(in, out, SIDE, MAX, rng);
    int seen[CHOICES][CHOICES] = {{0}};
    for (size_t r = 0; r < ROWS; r++) {
        int dy = 0, dx = 0;
        ck_assert_int_eq(offset_of(tnn_tensor_cdata(in),
                                   tnn_tensor_cdata(out) + r * SIDE * SIDE,
                                   MAX, &dy, &dx),
                         1);
        seen[dy + MAX][dx + MAX]++;
    }
    /* 25 offsets, 80 expected each: all drawn, none far off uniform. */
    for (int i = 0; i < CHOICES; i++)
        for (int j = 0; j < CHOICES; j++) {
            ck_assert_int_ge(seen[i][j], 40);
            ck_assert_int_le(seen[i][j], 130);
        }
    /* Zero: a copy. */
    augment_shift_images(in, out, SIDE, 0, rng);
    ck_assert_mem_eq(tnn_tensor_cdata(in), tnn_tensor_cdata(out),
                     tnn_tensor_size(in) * sizeof(float));
    tnn_rng_free(rng);
    tnn_tensor_free(in);
    tnn_tensor_free(out);
}
END_TEST

Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("shift");
    tcase_add_test(tc, shift_moves_every_pixel);
    tcase_add_test(tc, shift_images_draws_each_offset);
    suite_add_tcase(s, tc);
    return s;
}
