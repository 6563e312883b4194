/*
 * bench_mpi: seconds per epoch of the MNIST MLP and convnet trained by the
 * ranks of mpirun as one model (libtinynn-mpi), each rank on THREADS
 * threads, and the values all-reduced a step. make bench-mpi runs it on 1
 * rank with 2 threads and on 2 ranks with 1 thread each.
 *
 *   mpirun -np P bench_mpi [DATA_DIR [EPOCHS [THREADS]]]
 */
#include <stdio.h>
#include <stdlib.h>

#include <tinynn_mpi.h>

#include "common.h"

static void fail(const char *what)
{
    fprintf(stderr, "bench_mpi: %s: %s\n", what, tnn_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static tnn_model *cnn(void)
{
    tnn_model *m = bench_cnn_model("bench_mpi");
    if (tnn_model_set_optim(m, tnn_adam_new(1e-3f)) != TNN_OK)
        fail("the convnet's optimizer");
    return m;
}

/* Trains epochs epochs on the ranks; prints, on rank 0, the median
 * seconds an epoch, the test accuracy and the values a step sums. */
static void run(const char *name, tnn_model *m, const tnn_tensor *x,
                const tnn_tensor *y, const tnn_tensor *xt,
                const tnn_tensor *yt, int epochs, size_t batch)
{
    tnn_mpi *r;
    if (tnn_mpi_attach(m, MPI_COMM_WORLD, 0, &r) != TNN_OK)
        fail("attach");
    struct epoch_times t = {.count = 0};
    if (tnn_mpi_fit(r, x, y, NULL, NULL, epochs, batch, 1, record_epoch, &t) !=
        TNN_OK)
        fail("fit");
    double loss, accuracy;
    if (tnn_model_evaluate(m, xt, yt, &loss, &accuracy) != TNN_OK)
        fail("evaluate");
    if (tnn_mpi_rank(r) == 0)
        printf("%-7s batch %4zu  %.3f s/epoch  test accuracy %.2f %%  "
               "%zu values (%.2f MB) all-reduced a step\n",
               name, batch, median(t.seconds, t.count), 100.0 * accuracy,
               tnn_model_num_params(m) + 3,
               (double)(tnn_model_num_params(m) + 3) * 4.0 / 1e6);
    tnn_mpi_detach(r);
    tnn_model_free(m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 2;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (epochs < 1 || epochs > MAX_EPOCHS || threads < 1) {
        fprintf(stderr, "usage: bench_mpi [DATA_DIR [EPOCHS [THREADS]]]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    tnn_set_num_threads(threads);
    tnn_tensor *x, *y, *xt, *yt;
    load_mnist(dir, &x, &y, &xt, &yt);
    if (rank == 0)
        printf("%d rank(s) x %d thread(s), CPU %s, %d epochs\n", size, threads,
               cpu_name(), epochs);
    run("MLP", bench_mlp_model("bench_mpi"), x, y, xt, yt, epochs, 64);
    size_t images = tnn_tensor_size(x) / 784;
    size_t dims[4] = {images, 1, 28, 28};
    size_t test_dims[4] = {tnn_tensor_size(xt) / 784, 1, 28, 28};
    if (tnn_tensor_reshape(x, 4, dims) != TNN_OK ||
        tnn_tensor_reshape(xt, 4, test_dims) != TNN_OK)
        fail("reshape");
    run("convnet", cnn(), x, y, xt, yt, epochs, 128);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    tnn_tensor_free(xt);
    tnn_tensor_free(yt);
    MPI_Finalize();
    return 0;
}
