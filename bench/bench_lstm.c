/*
 * bench_lstm - speed of examples/mnist_lstm.c's model against PyTorch's
 * (bench/pytorch_mnist.py lstm, run by bench/compare.sh).
 *
 * MNIST read row by row (28 steps of 28 pixels), LSTM 128 (last step),
 * dense 10, softmax; Adam 2e-3 decaying to 0 on a cosine over the run;
 * batch 64. Prints the BLAS and thread count, seconds per epoch (median of
 * the epochs run), inference time for the test set and test accuracy, in
 * the lines compare.sh reads.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include <tinynn.h>

#include "common.h"

#define BATCH 64
#define PASSES 3

static void check(int rc, const char *what)
{
    if (rc != TNN_OK) {
        fprintf(stderr, "bench_lstm: %s: %s\n", what, tnn_last_error());
        exit(1);
    }
}

static tnn_model *lstm_model(size_t rows, int epochs)
{
    tnn_model *m = tnn_model_new_sequence(28, 28);
    if (!m)
        check(tnn_last_error_code(), "tnn_model_new_sequence");
    check(tnn_model_set_seed(m, 42), "tnn_model_set_seed");
    check(tnn_model_add(m, tnn_lstm_new(28, 128, 0)), "lstm");
    check(tnn_model_add(m, tnn_dense_new(128, 10)), "dense");
    check(tnn_model_add(m, tnn_softmax_new()), "softmax");
    check(tnn_model_set_loss(m, TNN_LOSS_CROSS_ENTROPY), "loss");
    tnn_optim *adam = tnn_adam_new(2e-3f);
    long steps = (long)epochs * (long)((rows + BATCH - 1) / BATCH);
    check(adam ? tnn_optim_set_cosine_schedule(adam, steps, 0.0f)
               : TNN_E_NOMEM,
          "schedule");
    check(tnn_model_set_optim(m, adam), "optimizer");
    return m;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 2;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    if (epochs < 1 || epochs > MAX_EPOCHS || threads < 1) {
        fprintf(stderr, "usage: bench_lstm [DATA_DIR [EPOCHS [THREADS]]]\n");
        return 2;
    }
    tnn_set_num_threads(threads);
    tnn_tensor *x, *y, *xt, *yt;
    load_mnist(dir, &x, &y, &xt, &yt);
    tnn_model *m = lstm_model(tnn_tensor_dim(x, 0), epochs);

    printf("libtinynn %s, %s, %d thread(s)\n", tnn_version_string(),
           blas_name(), tnn_get_num_threads());
    printf("CPU: %s\n", cpu_name());
    printf("MNIST by rows: LSTM 128, dense 10, Adam, batch %d, %d epochs\n",
           BATCH, epochs);
    fflush(stdout);
    struct epoch_times times = {{0}, 0};
    check(tnn_model_fit(m, x, y, NULL, NULL, epochs, BATCH, 1, record_epoch,
                        &times),
          "tnn_model_fit");
    double accuracy;
    check(tnn_model_evaluate(m, xt, yt, NULL, &accuracy), "evaluate");
    tnn_tensor *out = tnn_tensor_new_2d(tnn_tensor_dim(xt, 0), 10);
    double infer = time_predict(m, xt, out, PASSES);
    printf("epoch time (median of %d)    %8.3f s\n", times.count,
           median(times.seconds, times.count));
    printf("inference, %zu images       %8.1f ms\n", tnn_tensor_dim(xt, 0),
           1e3 * infer);
    printf("test accuracy                 %8.2f %%\n", 100.0 * accuracy);
    tnn_tensor_free(out);
    tnn_model_free(m);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(xt);
    tnn_tensor_free(yt);
    return 0;
}
