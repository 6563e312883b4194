/*
 * The MNIST examples on the ranks of mpirun (replicas.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "replicas.h"

#ifdef TNN_EXAMPLES_MPI
#include <tinynn_mpi.h>

static tnn_mpi *attached;
static bool started;
static int rank;

int replicas_begin(const char *prog, bool on, int *argc, char ***argv)
{
    (void)prog;
    if (!on)
        return 0;
    MPI_Init(argc, argv);
    started = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0 && !freopen("/dev/null", "w", stdout))
        return -1;
    return 0;
}

int replicas_attach(const char *prog, tnn_model *m)
{
    if (!started)
        return 0;
    if (tnn_mpi_attach(m, MPI_COMM_WORLD, 0, &attached) != TNN_OK) {
        fprintf(stderr, "%s: %s\n", prog, tnn_last_error());
        return -1;
    }
    return 0;
}

bool replicas_root(void)
{
    return rank == 0;
}

int replicas_fit(tnn_model *m, const tnn_tensor *x, const tnn_tensor *y,
                 const tnn_tensor *x_val, const tnn_tensor *y_val, int epochs,
                 size_t batch, int shuffle, tnn_fit_callback callback,
                 void *user)
{
    if (attached)
        return tnn_mpi_fit(attached, x, y, x_val, y_val, epochs, batch,
                           shuffle, callback, user);
    return tnn_model_fit(m, x, y, x_val, y_val, epochs, batch, shuffle,
                         callback, user);
}

void replicas_end(void)
{
    tnn_mpi_detach(attached);
    attached = NULL;
    if (started)
        MPI_Finalize();
    started = false;
}

#else

int replicas_begin(const char *prog, bool on, int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (on)
        fprintf(stderr,
                "%s: --mpi needs the examples built with Open MPI "
                "(Debian libopenmpi-dev and openmpi-bin, then make)\n",
                prog);
    return on ? -1 : 0;
}

int replicas_attach(const char *prog, tnn_model *m)
{
    (void)prog;
    (void)m;
    return 0;
}

bool replicas_root(void)
{
    return true;
}

int replicas_fit(tnn_model *m, const tnn_tensor *x, const tnn_tensor *y,
                 const tnn_tensor *x_val, const tnn_tensor *y_val, int epochs,
                 size_t batch, int shuffle, tnn_fit_callback callback,
                 void *user)
{
    return tnn_model_fit(m, x, y, x_val, y_val, epochs, batch, shuffle,
                         callback, user);
}

void replicas_end(void) {}

#endif
