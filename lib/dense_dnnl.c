/*
 * dense's products through oneDNN (built with TNN_HAVE_DNNL).
 *
 * Each of the three products is a matmul primitive over the library's own
 * row-major buffers: the transposes of x and w are strides in a memory
 * descriptor, never copies, and the forward adds the bias itself. The
 * primitives for a batch size are made once and kept in a slot, with the
 * scratchpad from the library's allocator (user-managed), so that steps
 * after the first of each size allocate nothing through it. A few batch
 * sizes stay ready at once, as for the convolutions (conv2d_dnnl.c): the
 * training batch, the last partial batch, a prediction chunk.
 *
 * Why oneDNN and not the BLAS: its AVX-512 kernels run the MNIST MLP's
 * products in half the time OpenBLAS 0.3.21 takes on this class of
 * machine, and on the OpenMP threads that the convolutions and the
 * library's own passes use, so that no second set of threads spins
 * beside them (docs/performance.md).
 */
#include "dense_dnnl.h"
#include "dnnl_base.h"
#include "internal.h"

#ifdef TNN_HAVE_DNNL

#include <stdint.h>

/* Batch sizes kept ready at once. */
#define SLOTS 3

enum product { FORWARD, WEIGHTS, WEIGHTS_ADD, INPUTS, PRODUCTS };

/* Products of fewer multiply-adds than this run on the calling thread
 * alone: below it, splitting costs more than it saves inside a training
 * step, where the other threads wait through the passes between products
 * (bench_sweep, 2 threads: width 256 at batch 1 took 270 us a step against
 * 86 us on one thread with every product split; at batch 64, 4.2e6
 * multiply-adds a product, 400 us against 280 us). */
#define PARALLEL_MACS ((double)TNN_PARALLEL_MIN_MACS)

/* A product and its operands, whose buffers are set at each call; a
 * serial one is made and run on the calling thread alone. */
struct step {
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, bias, dst, scratch;
    bool serial;
};

struct slot {
    size_t n; /* rows; 0 for an empty slot */
    int threads;
    unsigned long used;
    struct step step[PRODUCTS];
};

struct tnn__dnnl_dense {
    size_t in, out;
    bool out_in; /* weights stored (out, in) rather than (in, out) */
    struct tnn__dnnl_base base;
    struct tnn__dnnl_buffer scratch;
    size_t scratch_need;
    struct slot slot[SLOTS];
    unsigned long clock;
    int threads; /* of the call under way */
};

/* ---- the thread count ----------------------------------------------- */

static struct tnn__dnnl_caller enter(struct tnn__dnnl_dense *d, int threads)
{
    d->threads = threads;
    return tnn__dnnl_enter(threads);
}

/* ---- making a slot ------------------------------------------------------ */

/* A rows x cols matrix stored row-major, or its transpose when transposed
 * (then stored cols x rows). */
static dnnl_status_t matrix_md(dnnl_memory_desc_t *md, size_t rows,
                               size_t cols, bool transposed)
{
    dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)cols};
    dnnl_dims_t strides = {transposed ? 1 : (dnnl_dim_t)cols,
                           transposed ? (dnnl_dim_t)rows : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

static dnnl_status_t memory(struct tnn__dnnl_dense *d, dnnl_memory_t *mem,
                            const dnnl_memory_desc_t *md)
{
    return dnnl_memory_create(mem, md, d->base.engine, DNNL_MEMORY_NONE);
}

/* dst (m x n) = src (m x k) wei (k x n) [+ bias], with src and wei
 * transposed in memory as asked. */
static dnnl_status_t step_init(struct tnn__dnnl_dense *d, struct step *s,
                               size_t m, size_t n, size_t k, bool src_t,
                               bool wei_t, bool bias, bool add)
{
    s->serial = (double)m * (double)n * (double)k < PARALLEL_MACS;
    dnnl_memory_desc_t src, wei, dst, b;
    TNN__DNNL_TRY(matrix_md(&src, m, k, src_t));
    TNN__DNNL_TRY(matrix_md(&wei, k, n, wei_t));
    TNN__DNNL_TRY(matrix_md(&dst, m, n, false));
    TNN__DNNL_TRY(matrix_md(&b, 1, n, false));
    dnnl_matmul_desc_t desc;
    TNN__DNNL_TRY(
        dnnl_matmul_desc_init(&desc, &src, &wei, bias ? &b : NULL, &dst));
    /* oneDNN reads the thread count when it makes the primitive too. */
    dnnl_primitive_desc_t pd;
    if (s->serial)
        omp_set_num_threads(1);
    dnnl_status_t made = dnnl_primitive_desc_create(
        &pd, &desc, add ? d->base.attr_add : d->base.attr, d->base.engine,
        NULL);
    if (s->serial)
        omp_set_num_threads(d->threads);
    TNN__DNNL_TRY(made);
    const dnnl_memory_desc_t *scratch =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t size = scratch ? dnnl_memory_desc_get_size(scratch) : 0;
    if (s->serial)
        omp_set_num_threads(1);
    dnnl_status_t status = dnnl_primitive_create(&s->prim, pd);
    if (s->serial)
        omp_set_num_threads(d->threads);
    if (status == dnnl_success && size > 0) {
        status = memory(d, &s->scratch, scratch);
        if (size > d->scratch_need)
            d->scratch_need = size;
    }
    dnnl_primitive_desc_destroy(pd);
    TNN__DNNL_TRY(status);
    TNN__DNNL_TRY(memory(d, &s->src, &src));
    TNN__DNNL_TRY(memory(d, &s->wei, &wei));
    TNN__DNNL_TRY(memory(d, &s->dst, &dst));
    if (bias)
        TNN__DNNL_TRY(memory(d, &s->bias, &b));
    return dnnl_success;
}

static dnnl_status_t slot_init(struct tnn__dnnl_dense *d, struct slot *s,
                               size_t n)
{
    const size_t in = d->in, out = d->out;
    const bool t = d->out_in;
    TNN__DNNL_TRY(
        step_init(d, &s->step[FORWARD], n, out, in, false, t, true, false));
    /* dw = x^T dy (in x out), or for (out, in) weights dy^T x. */
    const size_t dw_rows = t ? out : in, dw_cols = t ? in : out;
    TNN__DNNL_TRY(step_init(d, &s->step[WEIGHTS], dw_rows, dw_cols, n, true,
                            false, false, false));
    TNN__DNNL_TRY(step_init(d, &s->step[WEIGHTS_ADD], dw_rows, dw_cols, n,
                            true, false, false, true));
    return step_init(d, &s->step[INPUTS], n, in, out, false, !t, false, false);
}

static void destroy_memory(dnnl_memory_t mem)
{
    if (mem)
        dnnl_memory_destroy(mem);
}

static void slot_clear(struct slot *s)
{
    for (int p = 0; p < PRODUCTS; p++) {
        struct step *st = &s->step[p];
        if (st->prim)
            dnnl_primitive_destroy(st->prim);
        destroy_memory(st->src);
        destroy_memory(st->wei);
        destroy_memory(st->bias);
        destroy_memory(st->dst);
        destroy_memory(st->scratch);
    }
    *s = (struct slot){0};
}

/* Make the scratchpad as large as every slot needs and point the slots'
 * scratchpad memories at it. False if the allocation failed. */
static bool grow_scratch(struct tnn__dnnl_dense *d)
{
    if (!tnn__dnnl_buffer_grow(&d->scratch, d->scratch_need))
        return false;
    for (int i = 0; i < SLOTS; i++)
        for (int p = 0; p < PRODUCTS; p++)
            if (d->slot[i].step[p].scratch)
                dnnl_memory_set_data_handle(d->slot[i].step[p].scratch,
                                            d->scratch.data);
    return true;
}

/* The slot for n rows at this thread count, made in place of the least
 * recently used one if there is none. NULL on failure, with *rc
 * TNN_E_NOMEM or TNN__DNNL_DENSE_UNSUPPORTED. Runs with the thread count
 * set: oneDNN sizes some scratchpads by it. */
static struct slot *slot_for(struct tnn__dnnl_dense *d, size_t n, int threads,
                             int *rc)
{
    struct slot *s = &d->slot[0];
    *rc = TNN_OK;
    for (int i = 0; i < SLOTS; i++) {
        struct slot *t = &d->slot[i];
        if (t->n == n && t->threads == threads) {
            t->used = ++d->clock;
            return t;
        }
        if (t->used < s->used)
            s = t;
    }
    slot_clear(s);
    *rc = slot_init(d, s, n) == dnnl_success ? TNN_OK
                                             : TNN__DNNL_DENSE_UNSUPPORTED;
    if (*rc == TNN_OK && !grow_scratch(d))
        *rc = TNN_E_NOMEM;
    if (*rc != TNN_OK) {
        slot_clear(s);
        return NULL;
    }
    s->n = n;
    s->threads = threads;
    s->used = ++d->clock;
    return s;
}

/* ---- running ------------------------------------------------------------ */

/* Point m at data. oneDNN only reads the inputs, though its interface
 * takes every handle as writable. */
static void use(dnnl_memory_t m, const float *data)
{
    dnnl_memory_set_data_handle(m, (void *)(uintptr_t)data);
}

static bool run(struct tnn__dnnl_dense *d, const struct step *s,
                const float *src, const float *wei, const float *bias,
                float *dst)
{
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, s->src},
                               {DNNL_ARG_WEIGHTS, s->wei},
                               {DNNL_ARG_DST, s->dst}};
    int nargs = 3;
    use(s->src, src);
    use(s->wei, wei);
    use(s->dst, dst);
    if (bias) {
        use(s->bias, bias);
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, s->bias};
    }
    if (s->scratch)
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    if (s->serial)
        omp_set_num_threads(1);
    dnnl_status_t status =
        dnnl_primitive_execute(s->prim, d->base.stream, nargs, args);
    if (s->serial)
        omp_set_num_threads(d->threads);
    return status == dnnl_success;
}

bool tnn__dnnl_dense_forward(struct tnn__dnnl_dense *d, const float *x,
                             const float *w, const float *b, float *y,
                             size_t n)
{
    int threads = tnn_get_num_threads(), rc;
    struct tnn__dnnl_caller caller = enter(d, threads);
    struct slot *s = slot_for(d, n, threads, &rc);
    bool ok = s && run(d, &s->step[FORWARD], x, w, b, y) &&
              dnnl_stream_wait(d->base.stream) == dnnl_success;
    tnn__dnnl_leave(caller);
    return ok;
}

bool tnn__dnnl_dense_backward(struct tnn__dnnl_dense *d, const float *x,
                              const float *w, const float *dy, float *dw,
                              float *dx, size_t n, bool accumulate)
{
    int threads = tnn_get_num_threads(), rc;
    struct tnn__dnnl_caller caller = enter(d, threads);
    struct slot *s = slot_for(d, n, threads, &rc);
    /* The input gradient first: if it cannot run, dw is still untouched. */
    bool ok = s && (!dx || run(d, &s->step[INPUTS], dy, w, NULL, dx));
    if (ok) {
        const struct step *weights =
            &s->step[accumulate ? WEIGHTS_ADD : WEIGHTS];
        ok = (d->out_in ? run(d, weights, dy, x, NULL, dw)
                        : run(d, weights, x, dy, NULL, dw)) &&
             dnnl_stream_wait(d->base.stream) == dnnl_success;
    }
    tnn__dnnl_leave(caller);
    return ok;
}

/* ---- life cycle --------------------------------------------------------- */

void tnn__dnnl_dense_free(struct tnn__dnnl_dense *d)
{
    if (!d)
        return;
    for (int i = 0; i < SLOTS; i++)
        slot_clear(&d->slot[i]);
    tnn__dnnl_buffer_free(&d->scratch);
    tnn__dnnl_base_clear(&d->base);
    tnn__free(d);
}

int tnn__dnnl_dense_reserve(struct tnn__dnnl_dense **dense, const char *func,
                            size_t in, size_t out, bool out_in, size_t n)
{
    struct tnn__dnnl_dense *d = *dense;
    if (!d) {
        d = tnn__calloc(1, sizeof *d);
        if (!d)
            return tnn__fail(TNN_E_NOMEM, func,
                             "cannot allocate oneDNN products");
        d->in = in;
        d->out = out;
        d->out_in = out_in;
        if (tnn__dnnl_base_init(&d->base) != dnnl_success) {
            tnn__dnnl_dense_free(d);
            return TNN__DNNL_DENSE_UNSUPPORTED;
        }
    }
    int threads = tnn_get_num_threads(), rc = TNN_OK;
    struct tnn__dnnl_caller caller = enter(d, threads);
    slot_for(d, n, threads, &rc);
    tnn__dnnl_leave(caller);
    if (rc != TNN_OK && d != *dense)
        tnn__dnnl_dense_free(d);
    else
        *dense = d;
    if (rc == TNN_E_NOMEM)
        return tnn__fail(TNN_E_NOMEM, func,
                         "cannot allocate oneDNN scratchpad for %zu rows", n);
    return rc;
}

#else
int tnn__dnnl_dense_reserve(struct tnn__dnnl_dense **dense, const char *func,
                            size_t in, size_t out, bool out_in, size_t n)
{
    (void)func;
    (void)in;
    (void)out;
    (void)out_in;
    (void)n;
    *dense = NULL;
    return TNN__DNNL_DENSE_UNSUPPORTED;
}

void tnn__dnnl_dense_free(struct tnn__dnnl_dense *dense)
{
    (void)dense;
}
#endif /* TNN_HAVE_DNNL */
