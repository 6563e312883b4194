/*
 * replicas.h - the MNIST examples on the ranks of mpirun (--mpi), through
 * libtinynn-mpi when the examples are built with Open MPI; without it,
 * --mpi is refused. Without --mpi every call is a plain one.
 */
#ifndef TINYNN_EXAMPLES_REPLICAS_H
#define TINYNN_EXAMPLES_REPLICAS_H

#include <stdbool.h>

#include <tinynn.h>

/* Start MPI when on (after saying why on stderr, -1 if the examples were
 * built without it). Other ranks than 0 print nothing: their stdout goes
 * to /dev/null. */
int replicas_begin(const char *prog, bool on, int *argc, char ***argv);

/* Make m this rank's replica (rank 0's weights everywhere); 0 or -1 after
 * saying why. Nothing without --mpi. */
int replicas_attach(const char *prog, tnn_model *m);

/* Whether this process reports and writes files: rank 0, or the only
 * process. */
bool replicas_root(void);

/* tnn_model_fit(), with the replicas' check every epoch under --mpi. */
int replicas_fit(tnn_model *m, const tnn_tensor *x, const tnn_tensor *y,
                 const tnn_tensor *x_val, const tnn_tensor *y_val, int epochs,
                 size_t batch, int shuffle, tnn_fit_callback callback,
                 void *user);

/* Detach and end MPI; before the model is freed. */
void replicas_end(void);

#endif
