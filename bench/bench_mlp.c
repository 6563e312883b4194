/*
 * bench_mlp - speed of the MNIST experiment against its GEMM floor.
 *
 * Prints the BLAS and thread count, seconds per epoch (median of the
 * epochs run), the GEMM floor (the matrix products one epoch makes, on the
 * engine the library's dense layers use: products.c; timed alone in this
 * process on buffers of the same shapes), their ratio, the update floor
 * (one Adam pass a step, alone) and the floor of the products with an
 * Adam pass after each step's, with the ratios to them; the
 * inference time for the test set against the floor of its forward
 * products, test accuracy and peak RSS.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <tinynn.h>

#include "common.h"
#include "products.h"

#define BATCH 64
#define HIDDEN 512
#define CLASSES 10
/* Rows tnn_model_predict() runs at once (lib/model.c). */
#define PREDICT_ROWS 256
/* Inference is timed as the median of this many passes over the test set. */
#define PASSES 3

/* Inputs (rows of them at x, none when x is NULL) and weights of a
 * plausible scale for the floors' products. */
static void fill_operands(float *x, size_t rows, float *w1, float *w2)
{
    for (size_t i = 0; x && i < rows * 784; i++)
        x[i] = (float)(i % 255) / 255.0f;
    for (size_t i = 0; i < 784 * HIDDEN; i++)
        w1[i] = 0.01f * (float)((int)(i % 7) - 3);
    for (size_t i = 0; i < HIDDEN * CLASSES; i++)
        w2[i] = 0.01f * (float)((int)(i % 5) - 2);
}

/* One step's products as the library issues them: dense 1 forward, dense
 * 2 forward, dense 2 weight and input gradients, dense 1 weight gradient
 * (the first layer computes no input gradient). */
static void gemm_step(int n, const float *x, const float *w1, float *h,
                      const float *w2, float *o, float *dw1, float *dw2,
                      float *dh)
{
    product(false, false, n, HIDDEN, 784, x, 784, w1, HIDDEN, 1.0f, h, HIDDEN);
    product(false, false, n, CLASSES, HIDDEN, h, HIDDEN, w2, CLASSES, 1.0f, o,
            CLASSES);
    product(true, false, HIDDEN, CLASSES, n, h, HIDDEN, o, CLASSES, 0.0f, dw2,
            CLASSES);
    product(false, true, n, HIDDEN, CLASSES, o, CLASSES, w2, CLASSES, 0.0f, dh,
            HIDDEN);
    product(true, false, 784, HIDDEN, n, x, 784, dh, HIDDEN, 0.0f, dw1,
            HIDDEN);
}

/* One epoch's products, and with_update an Adam pass over both weight
 * matrices after each step's products, on the gradients those products
 * wrote (the biases' 522 values left out): the least a step takes
 * without fusing the update into the products, the caches as the
 * products leave them. The fastest of three epochs. */
static double gemm_floor_epoch(size_t rows, bool with_update)
{
    float *x = floats((size_t)BATCH * 784);
    float *w1 = floats(784 * HIDDEN), *dw1 = floats(784 * HIDDEN);
    float *m1 = floats(784 * HIDDEN), *v1 = floats(784 * HIDDEN);
    float *h = floats(BATCH * HIDDEN), *dh = floats(BATCH * HIDDEN);
    float *w2 = floats(HIDDEN * CLASSES), *dw2 = floats(HIDDEN * CLASSES);
    float *m2 = floats(HIDDEN * CLASSES), *v2 = floats(HIDDEN * CLASSES);
    float *o = floats(BATCH * CLASSES);
    fill_operands(x, BATCH, w1, w2);
    /* Split as the library splits the whole model's update. */
    const int parts = update_parts((784 + 1) * HIDDEN + (HIDDEN + 1) * CLASSES,
                                   BATCH, tnn_get_num_threads());
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double start = now();
        for (size_t done = 0; done < rows; done += BATCH) {
            int n = (int)(rows - done < BATCH ? rows - done : BATCH);
            gemm_step(n, x, w1, h, w2, o, dw1, dw2, dh);
            if (with_update) {
                adam_pass(w1, dw1, m1, v1, 784 * HIDDEN, parts);
                adam_pass(w2, dw2, m2, v2, HIDDEN * CLASSES, parts);
            }
        }
        double t = now() - start;
        best = t < best ? t : best;
    }
    float *all[] = {x, w1, dw1, m1, v1, h, dh, w2, dw2, m2, v2, o};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
    return best;
}

/* The forward products of predicting the rows images at x in chunks as
 * the library does (dense 1, dense 2), reading them as predict reads them:
 * the whole test set once, from memory, not one chunk again and again from
 * the caches. The fastest of three passes. */
static double gemm_floor_predict(const float *x, size_t rows)
{
    float *w1 = calloc(784 * HIDDEN, sizeof(float));
    float *h = calloc(PREDICT_ROWS * HIDDEN, sizeof(float));
    float *w2 = calloc(HIDDEN * CLASSES, sizeof(float));
    float *o = calloc(PREDICT_ROWS * CLASSES, sizeof(float));
    fill_operands(NULL, 0, w1, w2);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double start = now();
        for (size_t done = 0; done < rows; done += PREDICT_ROWS) {
            int n =
                (int)(rows - done < PREDICT_ROWS ? rows - done : PREDICT_ROWS);
            product(false, false, n, HIDDEN, 784, x + done * 784, 784, w1,
                    HIDDEN, 0.0f, h, HIDDEN);
            product(false, false, n, CLASSES, HIDDEN, h, HIDDEN, w2, CLASSES,
                    0.0f, o, CLASSES);
        }
        double t = now() - start;
        best = t < best ? t : best;
    }
    free(w1);
    free(h);
    free(w2);
    free(o);
    return best;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 5;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    if (epochs < 1 || epochs > MAX_EPOCHS || threads < 1) {
        fprintf(stderr, "usage: bench_mlp [DATA_DIR [EPOCHS [THREADS]]]\n");
        return 2;
    }
    tnn_set_num_threads(threads);
    tnn_tensor *x, *y, *xt, *yt;
    load_mnist(dir, &x, &y, &xt, &yt);
    tnn_model *m = bench_mlp_model("bench_mlp");

    printf("libtinynn %s, %s, %d thread(s)\n", tnn_version_string(),
           blas_name(), tnn_get_num_threads());
    printf("CPU: %s\n", cpu_name());
    /* This machine's speed drifts; the floor is measured before and after
     * training and the faster kept, so the ratio errs against us. */
    double floor = gemm_floor_epoch(tnn_tensor_dim(x, 0), false);
    double step_floor = gemm_floor_epoch(tnn_tensor_dim(x, 0), true);
    printf("MNIST MLP 784-512-10, Adam, batch %d, %d epochs\n", BATCH, epochs);
    fflush(stdout);
    struct epoch_times times = {{0}, 0};
    if (tnn_model_fit(m, x, y, NULL, NULL, epochs, BATCH, 1, record_epoch,
                      &times) != TNN_OK) {
        fprintf(stderr, "bench_mlp: %s\n", tnn_last_error());
        return 1;
    }
    double accuracy;
    tnn_model_evaluate(m, xt, yt, NULL, &accuracy);
    /* The whole test set in one call, as a user would predict it. */
    tnn_tensor *out = tnn_tensor_new_2d(tnn_tensor_dim(xt, 0), CLASSES);
    double infer = time_predict(m, xt, out, PASSES);
    double infer_floor =
        gemm_floor_predict(tnn_tensor_data(xt), tnn_tensor_dim(xt, 0));

    double epoch = median(times.seconds, times.count);
    /* One Adam pass per step over the model's 407,050 parameters. */
    size_t steps = (tnn_tensor_dim(x, 0) + BATCH - 1) / BATCH;
    double update = (double)steps *
                    update_floor((784 + 1) * HIDDEN + (HIDDEN + 1) * CLASSES,
                                 BATCH, tnn_get_num_threads(), 20);
    double floor_after = gemm_floor_epoch(tnn_tensor_dim(x, 0), false);
    floor = floor_after < floor ? floor_after : floor;
    double step_after = gemm_floor_epoch(tnn_tensor_dim(x, 0), true);
    step_floor = step_after < step_floor ? step_after : step_floor;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("epoch time (median of %d)    %8.3f s\n", times.count, epoch);
    printf("GEMM floor (same products)    %8.3f s\n", floor);
    printf("ratio epoch / floor           %8.2f\n", epoch / floor);
    printf("update floor (Adam passes)    %8.3f s\n", update);
    printf("ratio epoch / (GEMM + update) %8.2f\n", epoch / (floor + update));
    printf("GEMM then update, each step   %8.3f s\n", step_floor);
    printf("ratio epoch / that            %8.2f\n", epoch / step_floor);
    printf("inference, %zu images       %8.1f ms\n", tnn_tensor_dim(xt, 0),
           1e3 * infer);
    printf("inference GEMM floor          %8.1f ms\n", 1e3 * infer_floor);
    printf("ratio inference / floor       %8.2f\n", infer / infer_floor);
    printf("test accuracy                 %8.2f %%\n", 100.0 * accuracy);
    printf("peak RSS                      %8.1f MiB\n",
           (double)usage.ru_maxrss / 1024.0);
    printf("floor products on           %s\n", product_engine());
    tnn_tensor_free(out);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(xt);
    tnn_tensor_free(yt);
    return 0;
}
