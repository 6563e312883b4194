/*
 * libtinynn-mpi: data-parallel training of libtinynn models over MPI.
 *
 * Every process (rank) of an MPI communicator holds a replica of the same
 * model and the same data; each trains on its slice of every global batch,
 * and the replicas' gradients are summed after each backward pass, so that
 * the ranks train one model as one process would on the same global batch
 * (docs/distributed.md says how closely). Built on libtinynn's public API
 * alone (tnn_model_set_allreduce(), tnn_model_set_shard()); the core
 * library never links MPI.
 *
 *   #include <tinynn_mpi.h>     pkg-config --cflags --libs tinynn-mpi
 *
 *   MPI_Init(&argc, &argv);
 *   tnn_model *m = ...;                      same model on every rank
 *   tnn_mpi *r;
 *   tnn_mpi_attach(m, MPI_COMM_WORLD, 0, &r); rank 0's weights everywhere
 *   tnn_mpi_fit(r, x, y, ...);               x, y: the whole data set
 *   if (tnn_mpi_rank(r) == 0) tnn_model_save(m, path, ...);
 *   tnn_mpi_detach(r);
 *   tnn_model_free(m);
 *   MPI_Finalize();
 *
 * Conventions are libtinynn's: TNN_OK or a negative TNN_E_* code, the
 * reason in tnn_last_error(). Every function that communicates is
 * collective: all ranks of the communicator call it, in the same order.
 */
#ifndef TINYNN_MPI_H
#define TINYNN_MPI_H

#include <mpi.h>

#include <tinynn.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TNN_MPI_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define TNN_MPI_API __attribute__((visibility("default")))
#else
#define TNN_MPI_API
#endif
#endif

#define TNN_MPI_VERSION_MAJOR 1
#define TNN_MPI_VERSION_MINOR 0
#define TNN_MPI_VERSION_PATCH 0

/* A model attached to a communicator. */
typedef struct tnn_mpi tnn_mpi;

/* tnn_mpi_attach() flags: batch-norm statistics over every rank's rows
 * (tnn_model_set_sync_batchnorm()); without it each rank normalises by
 * its own slice, and its running statistics are its own. */
#define TNN_MPI_SYNC_BATCHNORM 1

/* Make model a replica over comm (collective). MPI must be initialised.
 * Every rank must have built the same model (layers, shapes, loss and
 * optimizer; TNN_E_SHAPE, on every rank, when the parameter counts
 * differ). Rank 0's parameters, batch-norm statistics and generator are
 * copied to the others. Then tnn_model_fit() and tnn_model_evaluate()
 * (and tnn_mpi_fit()) on every rank, given the same data on every rank,
 * train and evaluate one model: each rank takes its slice of every batch
 * and the gradients and figures are summed (MPI_Reduce then MPI_Bcast, so
 * that every rank gets the same bits). tnn_model_train_batch() and
 * tnn_model_compute_gradients() sum too, over the rows each rank gives.
 * comm is duplicated: the library's messages never mix with the
 * program's. *out gets the attachment, which the caller owns and frees
 * with tnn_mpi_detach() before freeing the model and before
 * MPI_Finalize(). flags: 0 or TNN_MPI_SYNC_BATCHNORM. TNN_E_STATE if MPI
 * is not initialised; TNN_E_IO if an MPI call fails. */
TNN_MPI_API int tnn_mpi_attach(tnn_model *model, MPI_Comm comm, int flags,
                               tnn_mpi **out);

/* End the attachment (collective): the model trains alone again. NULL
 * does nothing. */
TNN_MPI_API void tnn_mpi_detach(tnn_mpi *replica);

/* This process's rank and the number of ranks; -1 for NULL. */
TNN_MPI_API int tnn_mpi_rank(const tnn_mpi *replica);
TNN_MPI_API int tnn_mpi_size(const tnn_mpi *replica);

/* Whether every rank holds the same parameters and batch-norm statistics
 * (collective): a 64-bit checksum of them compared across the ranks.
 * TNN_E_STATE, naming the ranks that differ from rank 0, when they do
 * (replicas that diverged: a rank that trained differently, or data that
 * differ between ranks). */
TNN_MPI_API int tnn_mpi_check(tnn_mpi *replica);

/* tnn_model_fit() on the attached model (collective; same arguments on
 * every rank), with tnn_mpi_check() at the end of every epoch: diverged
 * replicas stop the run with TNN_E_STATE. The callback runs on every
 * rank with the same figures (print on rank 0 only). */
TNN_MPI_API int tnn_mpi_fit(tnn_mpi *replica, const tnn_tensor *x,
                            const tnn_tensor *y, const tnn_tensor *x_val,
                            const tnn_tensor *y_val, int epochs,
                            size_t batch_size, int shuffle,
                            tnn_fit_callback callback, void *user);

#ifdef __cplusplus
}
#endif

#endif /* TINYNN_MPI_H */
