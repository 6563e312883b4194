/*
 * bench_cnn - speed of the MNIST convnet (mnist_cnn's model) against two
 * floors of one epoch, each timed alone in this process:
 *   - the GEMM floor: the products the im2row path makes (convolutions as
 *     patch-matrix products, the dense layer) on the engine the library's
 *     dense layers use (products.c), on buffers of the same shapes;
 *   - the layer floor: the model's convolution and dense layers run alone
 *     through tnn_layer_forward() / tnn_layer_backward() on batches of the
 *     same shapes, whatever computes them (forward and backward of conv 1
 *     without its input gradient, conv 2 and dense).
 * Then inference of the test set against the same two floors of its
 * forward passes, test accuracy and peak RSS.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <tinynn.h>

#include "common.h"
#include "products.h"

#define BATCH 128
/* Rows tnn_model_predict() runs at once (lib/model.c). */
#define PREDICT_ROWS 256
/* Inference is timed as the median of this many passes over the test set. */
#define PASSES 3

/* A product C (m x n) = op(A) op(B) with inner size k, as the library
 * issues it (RowMajor; ta/tb transpose flags). */
struct product {
    bool ta, tb;                 /* operands transposed */
    size_t m_per_image, m_fixed; /* m = m_per_image * images + m_fixed */
    size_t n_per_image, n_fixed;
    size_t k_per_image, k_fixed;
    int forward; /* 1 for the products inference makes */
};

/* One training step of the convnet: conv1 forward and weight gradient (the
 * first layer needs no input gradient), conv2 forward, weight and patch
 * gradients, dense forward, weight and input gradients. */
static const struct product step_products[] = {
    {false, true, 26 * 26, 0, 0, 32, 0, 9, 1},
    {true, false, 0, 32, 0, 9, 26 * 26, 0, 0},
    {false, true, 11 * 11, 0, 0, 64, 0, 288, 1},
    {true, false, 0, 64, 0, 288, 11 * 11, 0, 0},
    {false, false, 11 * 11, 0, 0, 288, 0, 64, 0},
    {false, false, 1, 0, 0, 10, 0, 1600, 1},
    {true, false, 0, 1600, 0, 10, 1, 0, 0},
    {false, true, 1, 0, 0, 1600, 0, 10, 0},
};
#define PRODUCTS (sizeof step_products / sizeof *step_products)

/* The products of one pass over images in batches of batch (the forward
 * ones only for inference), the fastest of reps passes. */
static double gemm_floor(size_t images, size_t batch, int inference, int reps)
{
    size_t biggest = (size_t)BATCH * 26 * 26 * 32 + (size_t)BATCH * 121 * 288;
    float *a = calloc(biggest, sizeof(float)), *b = calloc(biggest, 4);
    float *c = calloc(biggest, sizeof(float));
    for (size_t i = 0; i < biggest; i++)
        a[i] = b[i] = 0.001f * (float)(i % 97);
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        double start = now();
        for (size_t done = 0; done < images; done += batch) {
            size_t n = images - done < batch ? images - done : batch;
            for (size_t p = 0; p < PRODUCTS; p++) {
                const struct product *q = &step_products[p];
                if (inference && !q->forward)
                    continue;
                int m = (int)(q->m_per_image * n + q->m_fixed);
                int nn = (int)(q->n_per_image * n + q->n_fixed);
                int k = (int)(q->k_per_image * n + q->k_fixed);
                int lda = !q->ta ? k : m;
                int ldb = !q->tb ? nn : k;
                product(q->ta, q->tb, m, nn, k, a, lda, b, ldb, 0.0f, c, nn);
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

/* One of the model's convolution and dense layers, run alone. */
struct stage {
    int ndim;           /* of its input: 4 (NCHW images) or 2 (rows) */
    size_t in_dims[3];  /* of one input sample */
    size_t out_values;  /* per sample */
    int input_gradient; /* whether the model needs its input gradient */
};

static const struct stage stages[] = {
    {4, {1, 28, 28}, 32 * 26 * 26, 0},
    {4, {32, 13, 13}, 64 * 11 * 11, 1},
    {2, {1600}, 10, 1},
};
#define STAGES (sizeof stages / sizeof *stages)

/* The tensors one pass of the stages needs for batches of n images. */
struct stage_tensors {
    tnn_tensor *in[STAGES], *out[STAGES], *dout[STAGES], *din[STAGES];
};

static void make_tensors(struct stage_tensors *t, size_t n, tnn_rng *rng)
{
    for (size_t i = 0; i < STAGES; i++) {
        const struct stage *s = &stages[i];
        size_t dims[4] = {n, s->in_dims[0], s->in_dims[1], s->in_dims[2]};
        t->in[i] = tnn_tensor_new(s->ndim, dims);
        t->out[i] = tnn_tensor_new_2d(n, s->out_values);
        t->dout[i] = tnn_tensor_new_2d(n, s->out_values);
        t->din[i] = s->input_gradient ? tnn_tensor_new(s->ndim, dims) : NULL;
        if (!t->in[i] || !t->out[i] || !t->dout[i] ||
            (s->input_gradient && !t->din[i])) {
            fprintf(stderr, "bench_cnn: %s\n", tnn_last_error());
            exit(1);
        }
        tnn_tensor_rand_uniform(t->in[i], rng, 0.0f, 1.0f);
        tnn_tensor_rand_normal(t->dout[i], rng, 0.0f, 0.01f);
    }
}

static void free_tensors(struct stage_tensors *t)
{
    for (size_t i = 0; i < STAGES; i++) {
        tnn_tensor_free(t->in[i]);
        tnn_tensor_free(t->out[i]);
        tnn_tensor_free(t->dout[i]);
        tnn_tensor_free(t->din[i]);
    }
}

/* One batch through the layers: forward, and in training backward. */
static void run_batch(tnn_layer **layers, struct stage_tensors *t,
                      int inference)
{
    int mode = inference ? TNN_MODE_EVAL : TNN_MODE_TRAIN;
    int rc = TNN_OK;
    for (size_t i = 0; i < STAGES && rc == TNN_OK; i++)
        rc = tnn_layer_forward(layers[i], t->in[i], t->out[i], mode, NULL);
    for (size_t i = STAGES; !inference && i-- > 0 && rc == TNN_OK;)
        rc = tnn_layer_backward(layers[i], t->in[i], t->out[i], t->dout[i],
                                t->din[i]);
    if (rc != TNN_OK) {
        fprintf(stderr, "bench_cnn: %s\n", tnn_last_error());
        exit(1);
    }
}

/* The layer floor: the model's convolution and dense layers, built alone
 * with the same shapes, over one pass of images in batches of batch:
 * forward and backward in training, forward alone in inference. The
 * fastest of reps passes, after one untimed batch of each size (the
 * layers' buffers grow at their first call, as in the model's first
 * step). */
static double layer_floor(size_t images, size_t batch, int inference, int reps)
{
    tnn_rng *rng = tnn_rng_new(7);
    tnn_layer *layers[STAGES] = {
        tnn_conv2d_new(1, 32, 3, 3, 1, TNN_PADDING_VALID),
        tnn_conv2d_new(32, 64, 3, 3, 1, TNN_PADDING_VALID),
        tnn_dense_new(1600, 10)};
    for (size_t i = 0; i < STAGES; i++)
        if (!layers[i] || tnn_layer_init(layers[i], rng) != TNN_OK) {
            fprintf(stderr, "bench_cnn: %s\n", tnn_last_error());
            exit(1);
        }
    /* Full batches, and the last one if it is smaller. */
    struct stage_tensors full, rest = {0};
    make_tensors(&full, batch, rng);
    run_batch(layers, &full, inference);
    if (images % batch) {
        make_tensors(&rest, images % batch, rng);
        run_batch(layers, &rest, inference);
    }
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        double start = now();
        for (size_t done = 0; done < images; done += batch)
            run_batch(layers, images - done < batch ? &rest : &full,
                      inference);
        double t = now() - start;
        best = t < best ? t : best;
    }
    free_tensors(&full);
    free_tensors(&rest);
    for (size_t i = 0; i < STAGES; i++)
        tnn_layer_free(layers[i]);
    tnn_rng_free(rng);
    return best;
}

/* mnist_cnn's model and optimizer: Adam (0.9, 0.999, 1e-7) from 3e-3,
 * decaying to 0 on a cosine over the run's steps. (mnist_cnn also moves
 * each training image by up to a pixel, outside the library: not here.) */
static tnn_model *build(long total_steps)
{
    tnn_model *m = bench_cnn_model("bench_cnn");
    tnn_optim *adam = tnn_adam_new(3e-3f);
    if (!adam || tnn_optim_set_cosine_schedule(adam, total_steps, 0.0f) ||
        tnn_model_set_optim(m, adam) != TNN_OK) {
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
    tnn_tensor *x, *y, *xt, *yt;
    load_mnist(dir, &x, &y, &xt, &yt);
    size_t images = tnn_tensor_dim(x, 0), tests = tnn_tensor_dim(xt, 0);
    tnn_model *m = build(epochs * (long)((images + BATCH - 1) / BATCH));
    printf("\nlibtinynn %s, %s, %d thread(s)\n", tnn_version_string(),
           blas_name(), tnn_get_num_threads());
    printf("CPU: %s\n", cpu_name());
    printf("MNIST convnet (conv 32, conv 64, dense 10), Adam, batch %d, "
           "%d epochs\n",
           BATCH, epochs);
    fflush(stdout);
    /* This machine's speed drifts; the floors are measured before and
     * after training and the faster kept, so the ratios err against us. */
    double floor = gemm_floor(images, BATCH, 0, 2);
    double floor_layers = layer_floor(images, BATCH, 0, 1);
    struct epoch_times times = {{0}, 0};
    if (tnn_model_fit(m, x, y, NULL, NULL, epochs, BATCH, 1, record_epoch,
                      &times) != TNN_OK) {
        fprintf(stderr, "bench_cnn: %s\n", tnn_last_error());
        return 1;
    }
    double accuracy;
    tnn_model_evaluate(m, xt, yt, NULL, &accuracy);
    /* The whole test set in one call, as a user would predict it. */
    tnn_tensor *out = tnn_tensor_new_2d(tests, 10);
    double infer = time_predict(m, xt, out, PASSES);
    double infer_floor = gemm_floor(tests, PREDICT_ROWS, 1, 3);
    double infer_floor_layers = layer_floor(tests, PREDICT_ROWS, 1, 3);

    double after = gemm_floor(images, BATCH, 0, 2);
    floor = after < floor ? after : floor;
    after = layer_floor(images, BATCH, 0, 1);
    floor_layers = after < floor_layers ? after : floor_layers;
    double epoch = median(times.seconds, times.count);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("epoch time (median of %d)    %8.3f s\n", times.count, epoch);
    printf("GEMM floor (same products)    %8.3f s\n", floor);
    printf("ratio epoch / floor           %8.2f\n", epoch / floor);
    printf("layer floor (conv, dense)     %8.3f s\n", floor_layers);
    printf("ratio epoch / layer floor     %8.2f\n", epoch / floor_layers);
    printf("inference, %zu images       %8.1f ms\n", tests, 1e3 * infer);
    printf("inference GEMM floor          %8.1f ms\n", 1e3 * infer_floor);
    printf("ratio inference / floor       %8.2f\n", infer / infer_floor);
    printf("inference layer floor         %8.1f ms\n",
           1e3 * infer_floor_layers);
    printf("ratio inference / layer floor %8.2f\n",
           infer / infer_floor_layers);
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
