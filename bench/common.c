/*
 * What the benchmarks share: a clock, medians, MNIST loading, the BLAS's
 * name and a fit callback that records epoch times.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#include <time.h>

#include <cblas.h>

#include "common.h"

const char *cpu_name(void)
{
    static char name[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(name, sizeof name, "%s", colon + 2);
            name[strcspn(name, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
    return name;
}

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int record_epoch(const tnn_progress *p, void *user)
{
    struct epoch_times *t = user;
    if (tnn_progress_event(p) == TNN_EVENT_EPOCH_END && t->count < MAX_EPOCHS)
        t->seconds[t->count++] = tnn_progress_seconds(p);
    return 0;
}

tnn_tensor *load(const char *dir, const char *name, int flags)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tnn_tensor *t = NULL;
    if (tnn_idx_load(path, flags, &t) != TNN_OK) {
        fprintf(stderr, "bench: %s (run scripts/fetch-mnist.sh)\n",
                tnn_last_error());
        exit(1);
    }
    return t;
}

const char *blas_name(void)
{
#ifdef TNN_HAVE_OPENBLAS
    static char name[320];
    int parallel = openblas_get_parallel();
    snprintf(name, sizeof name, "OpenBLAS (%s; core %s; %s threads)",
             openblas_get_config(), openblas_get_corename(),
             parallel == 0   ? "no"
             : parallel == 1 ? "pthreads"
             : parallel == 2 ? "OpenMP"
                             : "unknown");
    return name;
#else
    return "reference BLAS (netlib)";
#endif
}

/* Adam with Keras's constants at step 10 (bias corrections folded into
 * the rate), as lib/optim.c computes it, vectorised as the library's loop
 * is (for AVX-512 and AVX2 too; the Makefile drops errno from sqrtf). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void
adam_loop(float *restrict w, float *restrict g, float *restrict m,
          float *restrict v, size_t begin, size_t end)
{
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f, rate = 1e-3f;
    for (size_t i = begin; i < end; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= rate * m[i] / (sqrtf(v[i]) + eps);
        g[i] = 0.0f;
    }
}

/* With subnormals flushed, as the library's update runs: otherwise the
 * squares of small gradients make the floor slower than the step. */
static void adam_range(float *w, float *g, float *m, float *v, size_t begin,
                       size_t end)
{
#if defined(__SSE__)
    unsigned caller = _mm_getcsr();
    _mm_setcsr(caller | 0x8040); /* flush-to-zero, denormals-are-zero */
    adam_loop(w, g, m, v, begin, end);
    _mm_setcsr(caller);
#else
    adam_loop(w, g, m, v, begin, end);
#endif
}

int update_parts(size_t params, size_t rows, int threads)
{
    if (params < ((size_t)1 << 18))
        return 1;
    if (rows > 0 && (double)rows * (double)params < (double)(1 << 23))
        return 1;
    return threads;
}

void adam_pass(float *w, float *g, float *m, float *v, size_t n, int parts)
{
    if (parts <= 1) {
        /* No parallel region, as the library's update on one thread. */
        adam_range(w, g, m, v, 0, n);
        return;
    }
#ifdef _OPENMP
    /* A contiguous share a thread, cut at multiples of 16 floats, as the
     * library's runs of slices cut each buffer. */
#pragma omp parallel for num_threads(parts)
    for (int part = 0; part < parts; part++)
        adam_range(
            w, g, m, v, (n * (size_t)part / (size_t)parts) & ~(size_t)15,
            part + 1 == parts
                ? n
                : (n * (size_t)(part + 1) / (size_t)parts) & ~(size_t)15);
#else
    (void)parts;
    adam_range(w, g, m, v, 0, n);
#endif
}

/* n floats on a cache line's boundary, zeroed; exits when out of memory. */
float *floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

double update_floor(size_t n, size_t rows, int threads, int reps)
{
    /* Four buffers, each on a cache line's boundary: one buffer cut in
     * four would put three of them across lines (n is rarely a multiple
     * of 16), which costs about three times as much. */
    float *w = floats(n), *g = floats(n), *m = floats(n), *v = floats(n);
    for (size_t i = 0; i < n; i++)
        w[i] = 0.01f * (float)(i % 7);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double start = now();
        adam_pass(w, g, m, v, n, update_parts(n, rows, threads));
        double t = now() - start;
        best = t < best ? t : best;
    }
    free(w);
    free(g);
    free(m);
    free(v);
    return best;
}

double time_predict(tnn_model *m, const tnn_tensor *x, tnn_tensor *out,
                    int passes)
{
    double seconds[16];
    passes = passes < 1 ? 1 : passes > 16 ? 16 : passes;
    for (int i = 0; i < passes; i++) {
        double start = now();
        tnn_model_predict(m, x, out);
        seconds[i] = now() - start;
    }
    return median(seconds, passes);
}

static void check_built(const char *prog, tnn_model *m, size_t layers)
{
    if (tnn_model_num_layers(m) != layers) {
        fprintf(stderr, "%s: %s\n", prog, tnn_last_error());
        exit(1);
    }
}

tnn_model *bench_mlp_model(const char *prog)
{
    tnn_model *m = tnn_model_new(784);
    tnn_model_set_seed(m, 42);
    tnn_model_add(m, tnn_dense_new(784, 512));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_dropout_new(0.2f));
    tnn_model_add(m, tnn_dense_new(512, 10));
    tnn_model_add(m, tnn_softmax_new());
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    tnn_model_set_optim(m, tnn_adam_new(1e-3f));
    check_built(prog, m, tnn_model_optim(m) ? 5 : 0);
    return m;
}

tnn_model *bench_cnn_model(const char *prog)
{
    tnn_model *m = tnn_model_new_image(1, 28, 28);
    tnn_model_set_seed(m, 42);
    tnn_model_add(m, tnn_conv2d_new(1, 32, 3, 3, 1, TNN_PADDING_VALID));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_maxpool2d_new(2, 2));
    tnn_model_add(m, tnn_conv2d_new(32, 64, 3, 3, 1, TNN_PADDING_VALID));
    tnn_model_add(m, tnn_relu_new());
    tnn_model_add(m, tnn_maxpool2d_new(2, 2));
    tnn_model_add(m, tnn_flatten_new());
    tnn_model_add(m, tnn_dropout_new(0.5f));
    tnn_model_add(m, tnn_dense_new(1600, 10));
    tnn_model_add(m, tnn_softmax_new());
    tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY);
    check_built(prog, m, 10);
    return m;
}

void load_mnist(const char *dir, tnn_tensor **x, tnn_tensor **y,
                tnn_tensor **x_test, tnn_tensor **y_test)
{
    int flags = TNN_IDX_SCALE | TNN_IDX_FLATTEN;
    *x = load(dir, "train-images-idx3-ubyte", flags);
    *y = load(dir, "train-labels-idx1-ubyte", 0);
    *x_test = load(dir, "t10k-images-idx3-ubyte", flags);
    *y_test = load(dir, "t10k-labels-idx1-ubyte", 0);
}
