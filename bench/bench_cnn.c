/*
 * bench_cnn - speed of the MNIST convnet (mnist_cnn's model) against the
 * GEMM floor of its lowered products: the cblas_sgemm calls one epoch
 * makes (convolutions as patch-matrix products, the dense layer), timed
 * alone in this process on buffers of the same shapes.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cblas.h>
#include <tinynn.h>

#include "common.h"

#define BATCH 128

/* A product C (m x n) = op(A) op(B) with inner size k, as the library
 * issues it (RowMajor; ta/tb transpose flags). */
struct product {
    CBLAS_TRANSPOSE ta, tb;
    size_t m_per_image, m_fixed; /* m = m_per_image * images + m_fixed */
    size_t n_per_image, n_fixed;
    size_t k_per_image, k_fixed;
};

/* One training step of the convnet: conv1 forward and weight gradient (the
 * first layer needs no input gradient), conv2 forward, weight and patch
 * gradients, dense forward, weight and input gradients. */
static const struct product step_products[] = {
    {CblasNoTrans, CblasTrans, 26 * 26, 0, 0, 32, 0, 9},
    {CblasTrans, CblasNoTrans, 0, 32, 0, 9, 26 * 26, 0},
    {CblasNoTrans, CblasTrans, 11 * 11, 0, 0, 64, 0, 288},
    {CblasTrans, CblasNoTrans, 0, 64, 0, 288, 11 * 11, 0},
    {CblasNoTrans, CblasNoTrans, 11 * 11, 0, 0, 288, 0, 64},
    {CblasNoTrans, CblasNoTrans, 1, 0, 0, 10, 0, 1600},
    {CblasTrans, CblasNoTrans, 0, 1600, 0, 10, 1, 0},
    {CblasNoTrans, CblasTrans, 1, 0, 0, 1600, 0, 10},
};
#define PRODUCTS (sizeof step_products / sizeof *step_products)

static double gemm_floor_epoch(size_t images)
{
    size_t biggest = (size_t)BATCH * 26 * 26 * 32 + (size_t)BATCH * 121 * 288;
    float *a = calloc(biggest, sizeof(float)), *b = calloc(biggest, 4);
    float *c = calloc(biggest, sizeof(float));
    for (size_t i = 0; i < biggest; i++)
        a[i] = b[i] = 0.001f * (float)(i % 97);
    double best = 1e30;
    for (int rep = 0; rep < 2; rep++) {
        double start = now();
        for (size_t done = 0; done < images; done += BATCH) {
            size_t n = images - done < BATCH ? images - done : BATCH;
            for (size_t p = 0; p < PRODUCTS; p++) {
                const struct product *q = &step_products[p];
                int m = (int)(q->m_per_image * n + q->m_fixed);
                int nn = (int)(q->n_per_image * n + q->n_fixed);
                int k = (int)(q->k_per_image * n + q->k_fixed);
                int lda = q->ta == CblasNoTrans ? k : m;
                int ldb = q->tb == CblasNoTrans ? nn : k;
                cblas_sgemm(CblasRowMajor, q->ta, q->tb, m, nn, k, 1.0f, a,
                            lda, b, ldb, 0.0f, c, nn);
            }
        }
        double t = now() - start;
        best = t < best ? t : best;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static tnn_model *build(void)
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
    if (tnn_model_set_optim(m, tnn_adam_new(1e-3f)) != TNN_OK ||
        tnn_model_num_layers(m) != 10) {
        fprintf(stderr, "bench_cnn: %s\n", tnn_last_error());
        exit(1);
    }
    return m;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 2;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    if (epochs < 1 || epochs > MAX_EPOCHS || threads < 1) {
        fprintf(stderr, "usage: bench_cnn [DATA_DIR [EPOCHS [THREADS]]]\n");
        return 2;
    }
    tnn_set_num_threads(threads);
    int flags = TNN_IDX_SCALE | TNN_IDX_FLATTEN;
    tnn_tensor *x = load(dir, "train-images-idx3-ubyte", flags);
    tnn_tensor *y = load(dir, "train-labels-idx1-ubyte", 0);
    tnn_model *m = build();
    printf("\nlibtinynn %s, %s, %d thread(s)\n", tnn_version_string(),
           blas_name(), tnn_get_num_threads());
    printf("CPU: %s\n", cpu_name());
    printf("MNIST convnet (conv 32, conv 64, dense 10), Adam, batch %d, "
           "%d epochs\n",
           BATCH, epochs);
    fflush(stdout);
    double floor = gemm_floor_epoch(tnn_tensor_dim(x, 0));
    struct epoch_times times = {{0}, 0};
    if (tnn_model_fit(m, x, y, NULL, NULL, epochs, BATCH, 1, record_epoch,
                      &times) != TNN_OK) {
        fprintf(stderr, "bench_cnn: %s\n", tnn_last_error());
        return 1;
    }
    double after = gemm_floor_epoch(tnn_tensor_dim(x, 0));
    floor = after < floor ? after : floor;
    double epoch = median(times.seconds, times.count);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("epoch time (median of %d)    %8.3f s\n", times.count, epoch);
    printf("GEMM floor (same sgemm calls) %8.3f s\n", floor);
    printf("ratio epoch / floor           %8.2f\n", epoch / floor);
    printf("peak RSS                      %8.1f MiB\n",
           (double)usage.ru_maxrss / 1024.0);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    return 0;
}
