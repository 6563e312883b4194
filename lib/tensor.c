/*
 * Tensors: a shape and one float32 buffer, row-major.
 */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
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
    float *data = tnn__calloc_lines(size, sizeof(float));
    if (!t || !data) {
        tnn__free(t);
        tnn__free_lines(data);
        tnn__fail(TNN_E_NOMEM, func,
                  "cannot allocate a tensor of %zu elements", size);
        return NULL;
    }
    t->ndim = ndim;
    memset(t->dims, 0, sizeof t->dims);
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->size = size;
    t->data = data;
    t->storage = NULL;
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

/* Drop one reference to shared storage; the last one frees it (and its
 * buffer, unless the caller owns that). */
static void storage_release(struct tnn__storage *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (s->owned)
        tnn__free_lines(s->base);
    tnn__free(s);
}

void tnn_tensor_free(tnn_tensor *t)
{
    if (!t)
        return;
    if (t->storage)
        storage_release(t->storage);
    else
        tnn__free_lines(t->data);
    tnn__free(t);
}

tnn_tensor *tnn_tensor_wrap(float *data, int ndim, const size_t *dims)
{
    size_t size = 0;
    if (!data) {
        tnn__fail(TNN_E_INVALID, __func__, "data is NULL");
        return NULL;
    }
    if (shape_size(__func__, ndim, dims, &size) != TNN_OK)
        return NULL;
    tnn_tensor *t = tnn__malloc(sizeof *t);
    struct tnn__storage *s = tnn__malloc(sizeof *s);
    if (!t || !s) {
        tnn__free(t);
        tnn__free(s);
        tnn__fail(TNN_E_NOMEM, __func__, "cannot allocate a tensor handle");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->base = data;
    s->owned = false;
    t->ndim = ndim;
    memset(t->dims, 0, sizeof t->dims);
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->size = size;
    t->data = data;
    t->storage = s;
    return t;
}

tnn_tensor *tnn_tensor_view_rows(tnn_tensor *t, size_t first, size_t count)
{
    if (tnn__check_tensor(__func__, "t", t) != TNN_OK)
        return NULL;
    const size_t rows = t->dims[0], row = t->size / rows;
    if (count == 0 || first > rows || count > rows - first) {
        tnn__fail(TNN_E_SHAPE, __func__,
                  "rows [%zu, %zu + %zu) are not within the %zu rows of t "
                  "(count must be at least 1)",
                  first, first, count, rows);
        return NULL;
    }
    tnn_tensor *v = tnn__malloc(sizeof *v);
    /* A tensor alone with its buffer gets shared storage on its first
     * view, so that the two can be freed in either order. */
    struct tnn__storage *s = t->storage ? NULL : tnn__malloc(sizeof *s);
    if (!v || (!t->storage && !s)) {
        tnn__free(v);
        tnn__free(s);
        tnn__fail(TNN_E_NOMEM, __func__, "cannot allocate a view");
        return NULL;
    }
    if (s) {
        atomic_init(&s->refs, 1);
        s->base = t->data;
        s->owned = true;
        t->storage = s;
    }
    atomic_fetch_add_explicit(&t->storage->refs, 1, memory_order_relaxed);
    *v = *t;
    v->dims[0] = count;
    v->size = count * row;
    v->data = t->data + first * row;
    return v;
}

int tnn_tensor_is_shared(const tnn_tensor *t)
{
    if (!t || !t->storage)
        return 0;
    return !t->storage->owned ||
           atomic_load_explicit(&t->storage->refs, memory_order_acquire) > 1;
}

/* Exchange rows i and j of t, value by value (no buffer to allocate). */
static void swap_rows(tnn_tensor *t, size_t i, size_t j)
{
    const size_t row = t->size / t->dims[0];
    float *a = t->data + i * row, *b = t->data + j * row;
    for (size_t k = 0; k < row; k++) {
        float v = a[k];
        a[k] = b[k];
        b[k] = v;
    }
}

/* Whether two tensors' values lie in one range of memory, as views of the
 * same rows do. */
static bool overlap(const tnn_tensor *a, const tnn_tensor *b)
{
    uintptr_t a0 = (uintptr_t)a->data, b0 = (uintptr_t)b->data;
    return a0 < b0 + b->size * sizeof(float) &&
           b0 < a0 + a->size * sizeof(float);
}

int tnn_tensor_shuffle_rows(tnn_tensor *x, tnn_tensor *y, tnn_rng *rng)
{
    int rc = tnn__check_tensor(__func__, "x", x);
    if (rc != TNN_OK)
        return rc;
    if (!rng)
        return tnn__fail(TNN_E_INVALID, __func__, "rng is NULL");
    if (y && y->dims[0] != x->dims[0])
        return tnn__fail(TNN_E_SHAPE, __func__, "y has %zu rows; x has %zu",
                         y->dims[0], x->dims[0]);
    if (y && overlap(x, y))
        return tnn__fail(TNN_E_INVALID, __func__,
                         "x and y share values (views of the same rows); "
                         "they would be shuffled twice");
    /* The same draws as tnn_model_fit()'s shuffling. */
    for (size_t i = x->dims[0]; i > 1; i--) {
        size_t j = (size_t)(tnn_rng_uniform(rng) * (double)i);
        if (j == i - 1)
            continue;
        swap_rows(x, i - 1, j);
        if (y)
            swap_rows(y, i - 1, j);
    }
    return TNN_OK;
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
