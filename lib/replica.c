/*
 * Replicas: copies of one model on several processes (or threads), each
 * training on its slice of every batch, whose gradients and figures are
 * summed by a collective the caller installs (tnn_model_set_allreduce(),
 * the MPI companion's MPI_Allreduce). Everything here is the core's side:
 * the flat buffer handed to the hook, the slices, the per-row keys of the
 * random streams. No replica ever waits for another except in the hook.
 */
#include <math.h>

#include "internal.h"

int tnn__replica_reserve(tnn_model *m, const char *func)
{
    if (!m->allreduce)
        return TNN_OK;
    size_t need =
        tnn__trainable_values(m->layers, m->num_layers) + TNN__REDUCE_FIGURES;
    if (need <= m->reduce_cap)
        return TNN_OK;
    float *grown = tnn__realloc(m->reduce_buf, need * sizeof *grown);
    if (!grown)
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot allocate the %zu values all-reduced a step",
                         need);
    m->reduce_buf = grown;
    m->reduce_cap = need;
    return TNN_OK;
}

/* Each gradient times the local rows: the replicas' sum, divided by the
 * rows of all of them, is the gradient of the mean loss over the global
 * batch; what a gradient held before the step (equal on every replica)
 * comes back unchanged, since the local rows add up to the global. */
static float *pack(const tnn_model *m, float *at, float rows)
{
    for (size_t i = 0; i < m->num_layers; i++)
        for (int p = 0;
             m->layers[i]->trainable && p < m->layers[i]->num_params; p++) {
            const tnn_tensor *g = m->layers[i]->grad[p];
            for (size_t k = 0; k < g->size; k++)
                *at++ = g->data[k] * rows;
        }
    return at;
}

static void unpack(tnn_model *m, const float *at, float rows)
{
    for (size_t i = 0; i < m->num_layers; i++)
        for (int p = 0;
             m->layers[i]->trainable && p < m->layers[i]->num_params; p++) {
            tnn_tensor *g = m->layers[i]->grad[p];
            for (size_t k = 0; k < g->size; k++)
                g->data[k] = *at++ / rows;
        }
}

int tnn__replica_reduce(tnn_model *m, const char *func, bool gradients,
                        struct tnn__figures *f)
{
    size_t values =
        gradients ? tnn__trainable_values(m->layers, m->num_layers) : 0;
    float *buf = m->reduce_buf;
    float *figures = gradients ? pack(m, buf, (float)f->rows) : buf;
    figures[0] = (float)f->rows;
    figures[1] = (float)f->loss_sum;
    figures[2] = (float)f->correct;
    int rc = m->allreduce(buf, values + TNN__REDUCE_FIGURES, m->allreduce_ctx);
    if (rc != 0)
        return tnn__fail(TNN_E_IO, func,
                         "the allreduce hook returned %d; nothing was "
                         "changed",
                         rc);
    f->rows = (double)figures[0];
    f->loss_sum = (double)figures[1];
    f->correct = (double)figures[2];
    if (gradients && f->rows > 0.0)
        unpack(m, buf, figures[0]);
    return TNN_OK;
}

void tnn__replica_slice(const tnn_model *m, size_t n, size_t *first,
                        size_t *count)
{
    if (m->shard_count <= 1) {
        *first = 0;
        *count = n;
        return;
    }
    /* Contiguous slices whose sizes differ by one at most; products in
     * size_t cannot overflow: n and the count are far below 2^32. */
    size_t lo = n * m->shard_index / m->shard_count;
    size_t hi = n * (m->shard_index + 1) / m->shard_count;
    *first = lo;
    *count = hi - lo;
}

/* splitmix64's finaliser: a bijection that scatters nearby counters. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t tnn__row_stream(uint64_t key, uint64_t row)
{
    return mix64(key + 0x9e3779b97f4a7c15u * (row + 1));
}

uint64_t tnn__row_draw(uint64_t stream, uint64_t k)
{
    return mix64(stream + 0x9e3779b97f4a7c15u * (k + 1));
}

void tnn__replica_key_layers(tnn_model *m, uint64_t step_key, size_t first_row)
{
    for (size_t i = 0; i < m->num_layers; i++) {
        tnn_layer *layer = m->layers[i];
        layer->row_key.on = true;
        layer->row_key.key = mix64(step_key ^ (0x632be59bd9b4e019u * (i + 1)));
        layer->row_key.first_row = first_row;
    }
}

void tnn__replica_unkey_layers(tnn_model *m)
{
    for (size_t i = 0; i < m->num_layers; i++)
        m->layers[i]->row_key.on = false;
}

void tnn__replica_sync_layers(tnn_model *m, bool on)
{
    bool sync = on && m->sync_batchnorm && m->allreduce;
    m->sync_failed = false;
    for (size_t i = 0; i < m->num_layers; i++) {
        tnn_layer *layer = m->layers[i];
        layer->sync.fn = sync ? m->allreduce : NULL;
        layer->sync.ctx = sync ? m->allreduce_ctx : NULL;
        layer->sync.failed = sync ? &m->sync_failed : NULL;
    }
}

void tnn__replica_idle(tnn_model *m, size_t head, size_t first, bool forward)
{
    if (forward) {
        for (size_t i = 0; i < head; i++)
            if (m->layers[i]->sync.fn && m->layers[i]->ops->sync_idle)
                m->layers[i]->ops->sync_idle(m->layers[i], true);
        return;
    }
    for (size_t i = head; i-- > first;)
        if (m->layers[i]->sync.fn && m->layers[i]->ops->sync_idle)
            m->layers[i]->ops->sync_idle(m->layers[i], false);
}
