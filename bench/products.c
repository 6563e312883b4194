/*
 * The floors' products on the engine the library's dense layers use, so
 * that a ratio to a floor measures the library and not a choice of
 * engine. With oneDNN, one matmul primitive per shape, made at its first
 * use (outside the timings, which warm up first) and kept, with its
 * scratchpad, as the library keeps them; with the BLAS, cblas_sgemm.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>

#include "products.h"

#ifdef TNN_HAVE_DNNL
#include <dnnl.h>

int omp_get_max_threads(void);
void omp_set_num_threads(int n);

#include <tinynn.h>

#define SHAPES 64
/* As lib/dense_dnnl.c: smaller products run on the calling thread. */
#define PARALLEL_MACS 8388608.0

struct shape {
    bool ta, tb, add;
    int m, n, k, lda, ldb, ldc, threads;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c, scratch;
};

static struct shape shapes[SHAPES];
static int count;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static char impl[128] = "oneDNN matmul";

static void check(dnnl_status_t status, const char *what)
{
    if (status != dnnl_success) {
        fprintf(stderr, "bench: oneDNN %s failed (%d)\n", what, (int)status);
        exit(1);
    }
}

/* rows x cols of leading dimension ld, or its transpose. */
static void matrix(dnnl_memory_desc_t *md, int rows, int cols, int ld,
                   bool transposed)
{
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {transposed ? 1 : ld, transposed ? ld : 1};
    check(dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides),
          "memory descriptor");
}

static void make(struct shape *s)
{
    if (!engine) {
        check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine");
        check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags),
              "stream");
    }
    dnnl_memory_desc_t a, b, c;
    matrix(&a, s->m, s->k, s->lda, s->ta);
    matrix(&b, s->k, s->n, s->ldb, s->tb);
    matrix(&c, s->m, s->n, s->ldc, false);
    dnnl_matmul_desc_t desc;
    check(dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c), "matmul");
    dnnl_primitive_attr_t attr;
    check(dnnl_primitive_attr_create(&attr), "attributes");
    check(dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                  dnnl_scratchpad_mode_user),
          "scratchpad mode");
    if (s->add) {
        dnnl_post_ops_t ops;
        check(dnnl_post_ops_create(&ops), "post-ops");
        check(dnnl_post_ops_append_sum(ops, 1.0f), "sum");
        check(dnnl_primitive_attr_set_post_ops(attr, ops), "post-ops");
        dnnl_post_ops_destroy(ops);
    }
    dnnl_primitive_desc_t pd;
    check(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL),
          "primitive descriptor");
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) ==
            dnnl_success &&
        name)
        snprintf(impl, sizeof impl, "oneDNN matmul (%s)", name);
    check(dnnl_primitive_create(&s->prim, pd), "primitive");
    const dnnl_memory_desc_t *scratch =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (scratch && dnnl_memory_desc_get_size(scratch) > 0)
        check(dnnl_memory_create(&s->scratch, scratch, engine,
                                 DNNL_MEMORY_ALLOCATE),
              "scratchpad");
    check(dnnl_memory_create(&s->a, &a, engine, DNNL_MEMORY_NONE), "memory");
    check(dnnl_memory_create(&s->b, &b, engine, DNNL_MEMORY_NONE), "memory");
    check(dnnl_memory_create(&s->c, &c, engine, DNNL_MEMORY_NONE), "memory");
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
}

static struct shape *find(const struct shape *want)
{
    for (int i = 0; i < count; i++) {
        struct shape *s = &shapes[i];
        if (s->ta == want->ta && s->tb == want->tb && s->add == want->add &&
            s->m == want->m && s->n == want->n && s->k == want->k &&
            s->lda == want->lda && s->ldb == want->ldb &&
            s->ldc == want->ldc && s->threads == want->threads)
            return s;
    }
    if (count == SHAPES) {
        fprintf(stderr, "bench: more than %d product shapes\n", SHAPES);
        exit(1);
    }
    shapes[count] = *want;
    make(&shapes[count]);
    return &shapes[count++];
}

void product(bool ta, bool tb, int m, int n, int k, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc)
{
    int caller = omp_get_max_threads();
    struct shape want = {ta,   tb,   beta != 0.0f, m,    n,
                         k,    lda,  ldb,          ldc,  tnn_get_num_threads(),
                         NULL, NULL, NULL,         NULL, NULL};
    if ((double)m * (double)n * (double)k < PARALLEL_MACS)
        want.threads = 1;
    omp_set_num_threads(want.threads);
    struct shape *s = find(&want);
    dnnl_memory_set_data_handle(s->a, (void *)(uintptr_t)a);
    dnnl_memory_set_data_handle(s->b, (void *)(uintptr_t)b);
    dnnl_memory_set_data_handle(s->c, c);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, s->a},
                               {DNNL_ARG_WEIGHTS, s->b},
                               {DNNL_ARG_DST, s->c},
                               {DNNL_ARG_SCRATCHPAD, s->scratch}};
    check(dnnl_primitive_execute(s->prim, stream, s->scratch ? 4 : 3, args),
          "matmul");
    check(dnnl_stream_wait(stream), "stream");
    omp_set_num_threads(caller);
}

const char *product_engine(void)
{
    return impl;
}

void product_reset(void)
{
    for (int i = 0; i < count; i++) {
        struct shape *s = &shapes[i];
        dnnl_primitive_destroy(s->prim);
        dnnl_memory_destroy(s->a);
        dnnl_memory_destroy(s->b);
        dnnl_memory_destroy(s->c);
        if (s->scratch)
            dnnl_memory_destroy(s->scratch);
    }
    count = 0;
}

#else

void product(bool ta, bool tb, int m, int n, int k, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                beta, c, ldc);
}

const char *product_engine(void)
{
    return "cblas_sgemm";
}

void product_reset(void) {}

#endif
