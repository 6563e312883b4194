/*
 * libtinynn-mpi: a libtinynn model as one replica among the ranks of an
 * MPI communicator. Only libtinynn's public API is used: the core's hook
 * (tnn_model_set_allreduce) gets a sum over the ranks, its shard setting
 * (tnn_model_set_shard) the rank's slice of every batch.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tinynn_mpi.h"

struct tnn_mpi {
    tnn_model *model;
    MPI_Comm comm;
    int rank;
    int size;
};

static int mpi_failed(const char *func, const char *call, int err)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(err, text, &len);
    char message[512];
    snprintf(message, sizeof message, "%s failed: %s", call, text);
    return tnn_set_error(TNN_E_IO, func, message);
}

/* ---- the sum over the ranks ------------------------------------------- */

/* MPI counts are int: a buffer is sent in pieces of at most INT_MAX. Each
 * piece is summed on rank 0 and sent back from there, so that every rank
 * gets the same bits (MPI_Allreduce does not promise that). */
static int sum_over_ranks(float *buf, size_t count, void *ctx)
{
    const struct tnn_mpi *r = ctx;
    for (size_t done = 0; done < count;) {
        int piece = count - done > INT_MAX ? INT_MAX : (int)(count - done);
        void *send = r->rank == 0 ? MPI_IN_PLACE : buf + done;
        int err = MPI_Reduce(send, r->rank == 0 ? buf + done : NULL, piece,
                             MPI_FLOAT, MPI_SUM, 0, r->comm);
        if (err == MPI_SUCCESS)
            err = MPI_Bcast(buf + done, piece, MPI_FLOAT, 0, r->comm);
        if (err != MPI_SUCCESS)
            return err;
        done += (size_t)piece;
    }
    return 0;
}

/* ---- what the ranks must share --------------------------------------- */

/* Every tensor a replica must have equal: parameters, then batch-norm's
 * running statistics. visit returns TNN_OK or stops the walk. */
static int each_tensor(tnn_model *m, int (*visit)(tnn_tensor *t, void *arg),
                       void *arg)
{
    for (size_t i = 0; i < tnn_model_num_layers(m); i++) {
        tnn_layer *layer = tnn_model_layer(m, i);
        int rc = TNN_OK;
        for (int p = 0; rc == TNN_OK && p < tnn_layer_num_params(layer); p++)
            rc = visit(tnn_layer_param(layer, p), arg);
        if (rc == TNN_OK && tnn_layer_kind(layer) == TNN_LAYER_BATCHNORM) {
            rc = visit(tnn_batchnorm_running_mean(layer), arg);
            if (rc == TNN_OK)
                rc = visit(tnn_batchnorm_running_var(layer), arg);
        }
        if (rc != TNN_OK)
            return rc;
    }
    return TNN_OK;
}

static int count_values(tnn_tensor *t, void *arg)
{
    *(uint64_t *)arg += tnn_tensor_size(t);
    return TNN_OK;
}

struct bcast {
    const struct tnn_mpi *r;
    const char *func;
};

static int bcast_tensor(tnn_tensor *t, void *arg)
{
    const struct bcast *b = arg;
    float *data = tnn_tensor_data(t);
    for (size_t done = 0, n = tnn_tensor_size(t); done < n;) {
        int piece = n - done > INT_MAX ? INT_MAX : (int)(n - done);
        int err = MPI_Bcast(data + done, piece, MPI_FLOAT, 0, b->r->comm);
        if (err != MPI_SUCCESS)
            return mpi_failed(b->func, "MPI_Bcast", err);
        done += (size_t)piece;
    }
    return TNN_OK;
}

/* FNV-1a over the tensors' bytes. */
static int hash_tensor(tnn_tensor *t, void *arg)
{
    uint64_t *h = arg;
    const unsigned char *b = (const void *)tnn_tensor_cdata(t);
    for (size_t k = 0, n = tnn_tensor_size(t) * sizeof(float); k < n; k++)
        *h = (*h ^ b[k]) * 0x100000001b3u;
    return TNN_OK;
}

/* Whether every rank has the same value v: its minimum and maximum over
 * the ranks agree. */
static int same_everywhere(const struct tnn_mpi *r, const char *func,
                           uint64_t v, uint64_t *lo, uint64_t *hi)
{
    int err = MPI_Allreduce(&v, lo, 1, MPI_UINT64_T, MPI_MIN, r->comm);
    if (err == MPI_SUCCESS)
        err = MPI_Allreduce(&v, hi, 1, MPI_UINT64_T, MPI_MAX, r->comm);
    return err == MPI_SUCCESS ? TNN_OK
                              : mpi_failed(func, "MPI_Allreduce", err);
}

/* Rank 0's tensors and generator on every rank. */
static int copy_rank0(struct tnn_mpi *r, const char *func)
{
    uint64_t values = 0, lo, hi;
    each_tensor(r->model, count_values, &values);
    int rc = same_everywhere(r, func, values, &lo, &hi);
    if (rc != TNN_OK)
        return rc;
    if (lo != hi) {
        char message[160];
        snprintf(message, sizeof message,
                 "the ranks' models differ: from %llu to %llu parameter and "
                 "statistics values",
                 (unsigned long long)lo, (unsigned long long)hi);
        return tnn_set_error(TNN_E_SHAPE, func, message);
    }
    struct bcast b = {r, func};
    rc = each_tensor(r->model, bcast_tensor, &b);
    unsigned char state[TNN_RNG_STATE_BYTES];
    tnn_rng *rng = tnn_model_rng(r->model);
    if (rc == TNN_OK)
        rc = tnn_rng_get_state(rng, state);
    if (rc == TNN_OK) {
        int err = MPI_Bcast(state, TNN_RNG_STATE_BYTES, MPI_UNSIGNED_CHAR, 0,
                            r->comm);
        rc = err == MPI_SUCCESS ? tnn_rng_set_state(rng, state)
                                : mpi_failed(func, "MPI_Bcast", err);
    }
    return rc;
}

/* ---- attaching --------------------------------------------------------- */

int tnn_mpi_attach(tnn_model *model, MPI_Comm comm, int flags, tnn_mpi **out)
{
    if (!out)
        return tnn_set_error(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    if (!model)
        return tnn_set_error(TNN_E_INVALID, __func__, "model is NULL");
    if (flags & ~TNN_MPI_SYNC_BATCHNORM)
        return tnn_set_error(TNN_E_INVALID, __func__,
                             "unknown flags (0 or TNN_MPI_SYNC_BATCHNORM)");
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized)
        return tnn_set_error(TNN_E_STATE, __func__,
                             "MPI is not initialised (call MPI_Init first)");
    struct tnn_mpi *r = calloc(1, sizeof *r);
    if (!r)
        return tnn_set_error(TNN_E_NOMEM, __func__,
                             "cannot allocate the attachment");
    r->model = model;
    int err = MPI_Comm_dup(comm, &r->comm);
    if (err != MPI_SUCCESS) {
        free(r);
        return mpi_failed(__func__, "MPI_Comm_dup", err);
    }
    MPI_Comm_rank(r->comm, &r->rank);
    MPI_Comm_size(r->comm, &r->size);
    int rc = copy_rank0(r, __func__);
    if (rc == TNN_OK)
        rc = tnn_model_set_shard(model, (size_t)r->rank, (size_t)r->size);
    if (rc == TNN_OK)
        rc = tnn_model_set_allreduce(model, sum_over_ranks, r);
    if (rc == TNN_OK)
        rc = tnn_model_set_sync_batchnorm(
            model, (flags & TNN_MPI_SYNC_BATCHNORM) != 0);
    if (rc != TNN_OK) {
        tnn_model_set_allreduce(model, NULL, NULL);
        tnn_model_set_shard(model, 0, 0);
        MPI_Comm_free(&r->comm);
        free(r);
        return rc;
    }
    *out = r;
    return TNN_OK;
}

void tnn_mpi_detach(tnn_mpi *r)
{
    if (!r)
        return;
    tnn_model_set_allreduce(r->model, NULL, NULL);
    tnn_model_set_shard(r->model, 0, 0);
    tnn_model_set_sync_batchnorm(r->model, 0);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Comm_free(&r->comm);
    free(r);
}

int tnn_mpi_rank(const tnn_mpi *r)
{
    return r ? r->rank : -1;
}

int tnn_mpi_size(const tnn_mpi *r)
{
    return r ? r->size : -1;
}

/* ---- checks and fit ------------------------------------------------------
 */

int tnn_mpi_check(tnn_mpi *r)
{
    if (!r)
        return tnn_set_error(TNN_E_INVALID, __func__, "replica is NULL");
    uint64_t h = 0xcbf29ce484222325u, lo, hi;
    each_tensor(r->model, hash_tensor, &h);
    int rc = same_everywhere(r, __func__, h, &lo, &hi);
    if (rc != TNN_OK || lo == hi)
        return rc;
    uint64_t first = h;
    int err = MPI_Bcast(&first, 1, MPI_UINT64_T, 0, r->comm);
    if (err != MPI_SUCCESS)
        return mpi_failed(__func__, "MPI_Bcast", err);
    char message[200];
    snprintf(message, sizeof message,
             "the replicas diverged: rank %d's parameters %s rank 0's (of %d "
             "ranks)",
             r->rank, h == first ? "equal" : "differ from", r->size);
    return tnn_set_error(TNN_E_STATE, __func__, message);
}

struct fit_watch {
    tnn_mpi *r;
    tnn_fit_callback callback;
    void *user;
    int diverged;
};

static int watch_epochs(const tnn_progress *p, void *arg)
{
    struct fit_watch *w = arg;
    if (tnn_progress_event(p) == TNN_EVENT_EPOCH_END &&
        tnn_mpi_check(w->r) != TNN_OK) {
        w->diverged = tnn_last_error_code();
        return 1;
    }
    return w->callback ? w->callback(p, w->user) : 0;
}

int tnn_mpi_fit(tnn_mpi *r, const tnn_tensor *x, const tnn_tensor *y,
                const tnn_tensor *x_val, const tnn_tensor *y_val, int epochs,
                size_t batch_size, int shuffle, tnn_fit_callback callback,
                void *user)
{
    if (!r)
        return tnn_set_error(TNN_E_INVALID, __func__, "replica is NULL");
    struct fit_watch w = {r, callback, user, 0};
    char why[512];
    int rc = tnn_model_fit(r->model, x, y, x_val, y_val, epochs, batch_size,
                           shuffle, watch_epochs, &w);
    if (rc == TNN_OK && w.diverged) {
        snprintf(why, sizeof why, "%s", tnn_last_error());
        return tnn_set_error(w.diverged, __func__, why);
    }
    return rc;
}
