/*
 * What the benchmarks share (common.c).
 */
#ifndef TINYNN_BENCH_COMMON_H
#define TINYNN_BENCH_COMMON_H

#include <tinynn.h>

#define MAX_EPOCHS 100

struct epoch_times {
    double seconds[MAX_EPOCHS];
    int count;
};

/* Monotonic seconds. */
double now(void);

/* Median of n values (sorts them). */
double median(double *v, int n);

/* Median seconds of `passes` (at most 16) tnn_model_predict calls of x
 * into out. */
double time_predict(tnn_model *m, const tnn_tensor *x, tnn_tensor *out,
                    int passes);

/* tnn_model_fit callback: appends each epoch's seconds to a struct
 * epoch_times. */
int record_epoch(const tnn_progress *p, void *user);

/* The four MNIST files: images as rows of 784 values in [0, 1], labels
 * as class indices; exits as load() does. */
void load_mnist(const char *dir, tnn_tensor **x, tnn_tensor **y,
                tnn_tensor **x_test, tnn_tensor **y_test);

/* One MNIST file, or exit with a message naming fetch-mnist.sh. */
tnn_tensor *load(const char *dir, const char *name, int flags);

/* The BLAS in use and its threading, e.g. "OpenBLAS (...; core Haswell;
 * pthreads threads)". */
const char *blas_name(void);

/* The threads the library's update runs on for a model of params
 * trainable parameters after a batch of rows (0: not known): threads
 * from 2^18 parameters and 2^23 rows times parameters, else 1. */
int update_parts(size_t params, size_t rows, int threads);

/* One Adam pass over n parameters as the library makes it (weights,
 * gradients and both moments read, all four written, the gradients
 * zeroed), split over parts threads when the benchmark is built with
 * OpenMP. */
void adam_pass(float *w, float *g, float *m, float *v, size_t n, int parts);

/* n zeroed floats on a 64-byte boundary (free()); exits when out of
 * memory. */
float *floats(size_t n);

/* The update floor: the seconds of one adam_pass() over n parameters
 * after a batch of rows (split as update_parts() says) in four buffers
 * of their own, each on a cache line's boundary, the
 * fastest of reps passes, one after the other (so from the caches when
 * they fit). What a training step costs beyond its products at the
 * least, before the products have passed their own operands through the
 * caches. */
double update_floor(size_t n, size_t rows, int threads, int reps);

/* The benchmarks' models, seeded 42, with cross-entropy: the seed MLP
 * (784 -> 512 ReLU, dropout 0.2 -> 10 softmax) with Adam 1e-3, and
 * mnist_cnn's convnet (conv 32, pool, conv 64, pool, dropout 0.5, dense
 * 10) without an optimizer. On failure they exit, naming prog. */
tnn_model *bench_mlp_model(const char *prog);
tnn_model *bench_cnn_model(const char *prog);

/* The processor's model name, as /proc/cpuinfo gives it. */
const char *cpu_name(void);

#endif
