/*
 * Thread count: handed to the BLAS when it can take it (OpenBLAS), and
 * read by each model when it sizes its pool for the optimizer update.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef TNN_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef TNN_POOL_OPENMP
#include <omp.h>
#endif

/* 0 means "not set": report the BLAS's own default. */
static int num_threads;

/* The ThreadSanitizer build (TNN_NO_BLAS_THREADS) keeps OpenBLAS on the
 * calling thread, whose worker threads TSan cannot follow. */
static void blas_apply_threads(int n)
{
#if defined(TNN_HAVE_OPENBLAS) && !defined(TNN_NO_BLAS_THREADS)
#ifdef TNN_POOL_OPENMP
    /* OpenBLAS's OpenMP build also sets the calling thread's OpenMP thread
     * count, which belongs to the caller: give it back. */
    int caller = omp_get_max_threads();
    openblas_set_num_threads(n);
    omp_set_num_threads(caller);
#else
    openblas_set_num_threads(n);
#endif
#else
    (void)n;
#endif
}

int tnn_set_num_threads(int n)
{
    if (n < 1)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "n is %d; it must be at least 1", n);
    num_threads = n;
    blas_apply_threads(n);
    return TNN_OK;
}

bool tnn__want_dnnl(void)
{
#ifdef TNN_HAVE_DNNL
    const char *backend = getenv("TNN_BACKEND");
    return !backend || strcmp(backend, "blas") != 0;
#else
    return false;
#endif
}

int tnn_get_num_threads(void)
{
    if (num_threads > 0)
        return num_threads;
#ifdef TNN_HAVE_OPENBLAS
    int blas_default = openblas_get_num_threads();
    return blas_default > 0 ? blas_default : 1;
#else
    return 1;
#endif
}
