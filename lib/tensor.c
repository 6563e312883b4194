/*
 * Tensors: a shape and one float32 buffer, row-major.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"

/* Validate a shape and compute its element count; failures are recorded
 * under func's name. */
static int shape_size(const char *func, int ndim, const size_t *dims,
                      size_t *size)
{
    if (ndim < 1 || ndim > TNN_MAX_DIMS)
        return tnn__fail(TNN_E_INVALID, func,
                         "ndim is %d; it must be between 1 and %d", ndim,
                         TNN_MAX_DIMS);
    if (!dims)
        return tnn__fail(TNN_E_INVALID, func, "dims is NULL");
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] == 0)
            return tnn__fail(TNN_E_INVALID, func,
                             "dims[%d] is 0; every dimension must be at "
                             "least 1",
                             i);
        if (!tnn__mul_size(count, dims[i], &count))
            return tnn__fail(TNN_E_SHAPE, func,
                             "element count overflows at dims[%d] = %zu", i,
                             dims[i]);
    }
    size_t bytes;
    if (!tnn__mul_size(count, sizeof(float), &bytes))
        return tnn__fail(TNN_E_SHAPE, func,
                         "%zu elements do not fit in memory", count);
    *size = count;
    return TNN_OK;
}

int tnn__check_tensor(const char *func, const char *name, const tnn_tensor *t)
{
    if (!t)
        return tnn__fail(TNN_E_INVALID, func, "%s is NULL", name);
    return TNN_OK;
}

/* Every constructor reports under its own name. */
static tnn_tensor *create(const char *func, int ndim, const size_t *dims)
{
    size_t size = 0;
    if (shape_size(func, ndim, dims, &size) != TNN_OK)
        return NULL;
    tnn_tensor *t = tnn__malloc(sizeof *t);
    float *data = tnn__calloc(size, sizeof(float));
    if (!t || !data) {
        tnn__free(t);
        tnn__free(data);
        tnn__fail(TNN_E_NOMEM, func,
                  "cannot allocate a tensor of %zu elements", size);
        return NULL;
    }
    t->ndim = ndim;
    memset(t->dims, 0, sizeof t->dims);
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->size = size;
    t->data = data;
    return t;
}

tnn_tensor *tnn_tensor_new(int ndim, const size_t *dims)
{
    return create(__func__, ndim, dims);
}

tnn_tensor *tnn_tensor_new_2d(size_t rows, size_t cols)
{
    size_t dims[2] = {rows, cols};
    return create(__func__, 2, dims);
}

void tnn_tensor_free(tnn_tensor *t)
{
    if (!t)
        return;
    tnn__free(t->data);
    tnn__free(t);
}

int tnn_tensor_ndim(const tnn_tensor *t)
{
    return t ? t->ndim : 0;
}

size_t tnn_tensor_dim(const tnn_tensor *t, int i)
{
    if (!t || i < 0 || i >= t->ndim)
        return 0;
    return t->dims[i];
}

size_t tnn_tensor_size(const tnn_tensor *t)
{
    return t ? t->size : 0;
}

float *tnn_tensor_data(tnn_tensor *t)
{
    return t ? t->data : NULL;
}

const float *tnn_tensor_cdata(const tnn_tensor *t)
{
    return t ? t->data : NULL;
}

int tnn_tensor_copy_from(tnn_tensor *t, const float *src, size_t count)
{
    int rc = tnn__check_tensor(__func__, "t", t);
    if (rc != TNN_OK)
        return rc;
    if (!src)
        return tnn__fail(TNN_E_INVALID, __func__, "src is NULL");
    if (count != t->size)
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "count is %zu; the tensor holds %zu elements", count,
                         t->size);
    /* src may point into t itself. */
    memmove(t->data, src, count * sizeof(float));
    return TNN_OK;
}

int tnn_tensor_copy_to(const tnn_tensor *t, float *dst, size_t capacity)
{
    int rc = tnn__check_tensor(__func__, "t", t);
    if (rc != TNN_OK)
        return rc;
    if (!dst)
        return tnn__fail(TNN_E_INVALID, __func__, "dst is NULL");
    if (capacity < t->size)
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "capacity is %zu; the tensor holds %zu elements",
                         capacity, t->size);
    memcpy(dst, t->data, t->size * sizeof(float));
    return TNN_OK;
}

int tnn_tensor_fill(tnn_tensor *t, float value)
{
    int rc = tnn__check_tensor(__func__, "t", t);
    if (rc != TNN_OK)
        return rc;
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = value;
    return TNN_OK;
}

tnn_tensor *tnn_tensor_clone(const tnn_tensor *t)
{
    if (tnn__check_tensor(__func__, "t", t) != TNN_OK)
        return NULL;
    tnn_tensor *copy = create(__func__, t->ndim, t->dims);
    if (!copy)
        return NULL;
    memcpy(copy->data, t->data, t->size * sizeof(float));
    return copy;
}

int tnn_tensor_reshape(tnn_tensor *t, int ndim, const size_t *dims)
{
    int rc = tnn__check_tensor(__func__, "t", t);
    if (rc != TNN_OK)
        return rc;
    size_t size;
    rc = shape_size(__func__, ndim, dims, &size);
    if (rc != TNN_OK)
        return rc;
    if (size != t->size)
        return tnn__fail(TNN_E_SHAPE, __func__,
                         "new shape has %zu elements; the tensor holds %zu",
                         size, t->size);
    t->ndim = ndim;
    memset(t->dims, 0, sizeof t->dims);
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    return TNN_OK;
}

int tnn_tensor_rand_uniform(tnn_tensor *t, tnn_rng *rng, float lo, float hi)
{
    int rc = tnn__check_tensor(__func__, "t", t);
    if (rc != TNN_OK)
        return rc;
    if (!rng)
        return tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "range [%g, %g) is empty or not finite", (double)lo,
                         (double)hi);
    /* In double, so that a range wider than FLT_MAX (-FLT_MAX to FLT_MAX)
     * works: every value lo + width * u, u < 1, lies in [lo, hi]. */
    double width = (double)hi - (double)lo;
    for (size_t i = 0; i < t->size; i++) {
        float v = (float)((double)lo + width * tnn_rng_uniform(rng));
        /* Rounding to float may land on hi; keep the interval half-open. */
        t->data[i] = v < hi ? v : lo;
    }
    return TNN_OK;
}

/* Standard deviations from the mean within which every draw lies. The
 * generator's draws stay within sqrt(-2 ln 2^-53) ~ 8.57 (see
 * tnn_rng_normal()); 40 bounds any Box-Muller draw from a double uniform,
 * even one as small as 2^-1074 (38.6), so the limit need not change with
 * the generator. Beyond it a sample could round to infinity. */
#define NORMAL_REACH 40.0

int tnn_tensor_rand_normal(tnn_tensor *t, tnn_rng *rng, float mean,
                           float stddev)
{
    int rc = tnn__check_tensor(__func__, "t", t);
    if (rc != TNN_OK)
        return rc;
    if (!rng)
        return tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
    if (!isfinite(mean) || !isfinite(stddev) || stddev < 0.0f)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "mean %g and stddev %g must be finite, stddev >= 0",
                         (double)mean, (double)stddev);
    if (fabs((double)mean) + NORMAL_REACH * (double)stddev > FLT_MAX)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "mean %g and stddev %g: mean +- %g stddev exceeds "
                         "the float range (%g)",
                         (double)mean, (double)stddev, NORMAL_REACH,
                         (double)FLT_MAX);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] =
            (float)((double)mean + (double)stddev * tnn_rng_normal(rng));
    return TNN_OK;
}
