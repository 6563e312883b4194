/*
 * Run by tests/mpi.sh under mpirun -np 2 and -np 3: the ranks train one
 * model as one process does (SGD and dropout, an uneven last
 * batch that leaves some ranks empty), agree bit for bit, resume from a
 * file rank 0 saved, and report replicas made to diverge.
 *
 *   replicas SCRATCH_FILE
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinynn_mpi.h>

#include "../replica_fixture.h"

static int rank;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "rank %d: %s:%d: ", rank, __FILE__, __LINE__);    \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, " (%s)\n", tnn_last_error());                     \
            MPI_Abort(MPI_COMM_WORLD, 1);                                     \
        }                                                                     \
    } while (0)

static tnn_model *new_model(unsigned long long seed)
{
    tnn_model *m = replica_model(false, false, seed);
    CHECK(m != NULL, "building the model");
    return m;
}

/* Whether every rank has the same double, bit for bit. */
static int same_on_all_ranks(double v)
{
    double lo, hi;
    MPI_Allreduce(&v, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&v, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return memcmp(&lo, &hi, sizeof lo) == 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK(argc == 2, "usage: replicas SCRATCH_FILE");
    tnn_set_num_threads(1);
    tnn_tensor *x, *y;
    replica_data(&x, &y);

    /* Each rank seeds differently: attach gives them rank 0's weights and
     * generator. */
    tnn_model *m = new_model(11 + (unsigned long long)rank);
    tnn_mpi *r;
    CHECK(tnn_mpi_attach(m, MPI_COMM_WORLD, 0, &r) == TNN_OK, "attach");
    CHECK(tnn_mpi_rank(r) == rank && tnn_mpi_size(r) == size, "rank, size");
    CHECK(tnn_mpi_fit(r, x, y, NULL, NULL, 2, 4, 1, NULL, NULL) == TNN_OK,
          "fit");
    CHECK(tnn_mpi_check(r) == TNN_OK, "replicas after fit");

    /* One process alone with the same global batches. */
    tnn_model *alone = new_model(11);
    CHECK(tnn_model_set_shard(alone, 0, 1) == TNN_OK, "shard 0 of 1");
    CHECK(tnn_model_fit(alone, x, y, NULL, NULL, 2, 4, 1, NULL, NULL) ==
              TNN_OK,
          "fit alone");
    double diff = replica_difference(m, alone);
    CHECK(diff <= 1e-5, "10 steps on %d ranks differ from one by %g", size,
          diff);
    double loss, accuracy, loss1, accuracy1;
    CHECK(tnn_model_evaluate(m, x, y, &loss, &accuracy) == TNN_OK, "evaluate");
    CHECK(tnn_model_evaluate(alone, x, y, &loss1, &accuracy1) == TNN_OK,
          "evaluate alone");
    CHECK(same_on_all_ranks(loss) && same_on_all_ranks(accuracy),
          "evaluate differs between ranks");
    CHECK(fabs(loss - loss1) <= 1e-5 * fabs(loss1) && accuracy == accuracy1,
          "evaluate %g %g, alone %g %g", loss, accuracy, loss1, accuracy1);

    /* Rank 0 saves; every rank loads and goes on as the running model. */
    if (rank == 0)
        CHECK(tnn_model_save(m, argv[1], TNN_SAVE_OPTIMIZER) == TNN_OK,
              "save");
    MPI_Barrier(MPI_COMM_WORLD);
    tnn_model *resumed = NULL;
    CHECK(tnn_model_load(argv[1], &resumed) == TNN_OK, "load");
    tnn_mpi *r2;
    CHECK(tnn_mpi_attach(resumed, MPI_COMM_WORLD, 0, &r2) == TNN_OK, "attach");
    CHECK(tnn_mpi_fit(r, x, y, NULL, NULL, 1, 4, 1, NULL, NULL) == TNN_OK,
          "fit on");
    CHECK(tnn_mpi_fit(r2, x, y, NULL, NULL, 1, 4, 1, NULL, NULL) == TNN_OK,
          "fit resumed");
    CHECK(replica_difference(m, resumed) == 0.0, "the resumed model differs");

    /* Batch-norm over every rank's rows: the ranks' running statistics
     * stay equal, and the model is one process's within the rounding of
     * sums carried in single precision. */
    tnn_model *bn = replica_model(false, true, 5 + (unsigned long long)rank);
    tnn_model *bn_alone = replica_model(false, true, 5);
    CHECK(bn && bn_alone, "building the batch-norm models");
    tnn_mpi *r3;
    CHECK(tnn_mpi_attach(bn, MPI_COMM_WORLD, TNN_MPI_SYNC_BATCHNORM, &r3) ==
              TNN_OK,
          "attach with synchronised batch-norm");
    CHECK(tnn_mpi_fit(r3, x, y, NULL, NULL, 2, 4, 1, NULL, NULL) == TNN_OK,
          "fit with synchronised batch-norm");
    CHECK(tnn_mpi_check(r3) == TNN_OK, "batch-norm replicas diverged");
    CHECK(tnn_model_set_shard(bn_alone, 0, 1) == TNN_OK, "shard 0 of 1");
    CHECK(tnn_model_fit(bn_alone, x, y, NULL, NULL, 2, 4, 1, NULL, NULL) ==
              TNN_OK,
          "fit alone");
    double bn_diff = replica_difference(bn, bn_alone);
    CHECK(bn_diff <= 1e-3, "synchronised batch-norm differs by %g", bn_diff);
    tnn_mpi_detach(r3);
    tnn_model_free(bn);
    tnn_model_free(bn_alone);

    /* A replica made to diverge is reported on every rank. */
    if (size > 1) {
        if (rank == size - 1)
            tnn_tensor_data(tnn_layer_param(tnn_model_layer(m, 0), 0))[0] +=
                1.0f;
        CHECK(tnn_mpi_check(r) == TNN_E_STATE, "divergence not seen");
        CHECK(strstr(tnn_last_error(), "diverged") != NULL, "message");
        CHECK(tnn_mpi_fit(r, x, y, NULL, NULL, 1, 4, 1, NULL, NULL) ==
                  TNN_E_STATE,
              "fit went on with diverged replicas");
    }
    tnn_mpi_detach(r);
    tnn_mpi_detach(r2);
    tnn_model_free(m);
    tnn_model_free(resumed);
    tnn_model_free(alone);
    tnn_tensor_free(x);
    tnn_tensor_free(y);
    if (rank == 0)
        printf("mpi: %d ranks train as one process (parameters within %.1e; "
               "with synchronised batch-norm %.1e), resume from rank 0's "
               "file, report divergence\n",
               size, diff, bn_diff);
    MPI_Finalize();
    return 0;
}
