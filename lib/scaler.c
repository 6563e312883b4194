/*
 * The standardiser: per-feature means and scales learned from one tensor
 * and applied to others, and its file (docs/format.md).
 */
#include <math.h>
#include <string.h>

#include "internal.h"

struct tnn_scaler {
    size_t features;
    float *mean;  /* features values, then the scales: one block */
    float *scale; /* mean + features */
};

/* The file: magic, version, flags, feature count, CRC of those 24 bytes,
 * the means, the scales, CRC of everything before it. */
static const uint8_t scaler_magic[8] = {0x89, 'T', 'N', 'N',
                                        'S',  'C', 'L', '\n'};
#define SCALER_VERSION 1u
#define SCALER_HEAD 24
#define SCALER_FIXED (SCALER_HEAD + 4 + 4) /* bytes besides the values */

static tnn_scaler *scaler_new(const char *func, size_t features)
{
    tnn_scaler *s = tnn__malloc(sizeof *s);
    float *values = s ? tnn__calloc(features, 2 * sizeof(float)) : NULL;
    if (!values) {
        tnn__free(s);
        tnn__fail(TNN_E_NOMEM, func,
                  "cannot allocate a scaler of %zu features", features);
        return NULL;
    }
    s->features = features;
    s->mean = values;
    s->scale = values + features;
    return s;
}

void tnn_scaler_free(tnn_scaler *scaler)
{
    if (!scaler)
        return;
    tnn__free(scaler->mean);
    tnn__free(scaler);
}

size_t tnn_scaler_features(const tnn_scaler *scaler)
{
    return scaler ? scaler->features : 0;
}

const float *tnn_scaler_mean(const tnn_scaler *scaler)
{
    return scaler ? scaler->mean : NULL;
}

const float *tnn_scaler_scale(const tnn_scaler *scaler)
{
    return scaler ? scaler->scale : NULL;
}

tnn_scaler *tnn_scaler_fit(const tnn_tensor *x)
{
    if (tnn__check_tensor(__func__, "x", x) != TNN_OK)
        return NULL;
    const size_t rows = x->dims[0], n = x->size / rows;
    const float *v = x->data;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            if (!isfinite(v[r * n + j])) {
                tnn__fail(TNN_E_INVALID, __func__,
                          "x[%zu][%zu] is %g; every value must be finite", r,
                          j, (double)v[r * n + j]);
                return NULL;
            }
    double *sum = tnn__calloc(n, 3 * sizeof(double));
    tnn_scaler *s = sum ? scaler_new(__func__, n) : NULL;
    if (!s) {
        if (!sum)
            tnn__fail(TNN_E_NOMEM, __func__,
                      "cannot allocate the sums of %zu features", n);
        tnn__free(sum);
        return NULL;
    }
    /* Two passes: the means, then the squared deviations from them, with
     * the sum of the deviations themselves as a correction for the
     * rounding of the means (zero in exact arithmetic). */
    double *squares = sum + n, *drift = sum + 2 * n;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            sum[j] += v[r * n + j];
    for (size_t j = 0; j < n; j++)
        sum[j] /= (double)rows;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++) {
            double d = v[r * n + j] - sum[j];
            squares[j] += d * d;
            drift[j] += d;
        }
    for (size_t j = 0; j < n; j++) {
        double var =
            (squares[j] - drift[j] * drift[j] / (double)rows) / (double)rows;
        double sd = var > 0 ? sqrt(var) : 0;
        s->mean[j] = (float)sum[j];
        /* A constant feature, or one whose deviation is too small for a
         * float, is left unscaled. */
        s->scale[j] = (float)sd > 0 ? (float)sd : 1.0f;
    }
    tnn__free(sum);
    return s;
}

static int check_apply(const char *func, const tnn_scaler *scaler,
                       const tnn_tensor *x)
{
    if (!scaler)
        return tnn__fail(TNN_E_INVALID, func, "scaler is NULL");
    int rc = tnn__check_tensor(func, "x", x);
    if (rc != TNN_OK)
        return rc;
    size_t n = x->size / x->dims[0];
    if (n != scaler->features)
        return tnn__fail(TNN_E_SHAPE, func,
                         "x has %zu features per row; the scaler has %zu", n,
                         scaler->features);
    return TNN_OK;
}

/* x = (x - mean) / scale, or its inverse, row by row in double. */
static void apply(const tnn_scaler *scaler, tnn_tensor *x, bool inverse)
{
    const size_t n = scaler->features, rows = x->dims[0];
    for (size_t r = 0; r < rows; r++) {
        float *row = x->data + r * n;
        for (size_t j = 0; j < n; j++) {
            double v = row[j], mean = scaler->mean[j],
                   scale = scaler->scale[j];
            row[j] = (float)(inverse ? v * scale + mean : (v - mean) / scale);
        }
    }
}

int tnn_scaler_transform(const tnn_scaler *scaler, tnn_tensor *x)
{
    int rc = check_apply(__func__, scaler, x);
    if (rc == TNN_OK)
        apply(scaler, x, false);
    return rc;
}

int tnn_scaler_inverse(const tnn_scaler *scaler, tnn_tensor *x)
{
    int rc = check_apply(__func__, scaler, x);
    if (rc == TNN_OK)
        apply(scaler, x, true);
    return rc;
}

int tnn_scaler_save(const tnn_scaler *scaler, const char *path)
{
    if (!scaler)
        return tnn__fail(TNN_E_INVALID, __func__, "scaler is NULL");
    if (!path)
        return tnn__fail(TNN_E_INVALID, __func__, "path is NULL");
    struct tnn__writer w = {0};
    tnn__put_bytes(&w, scaler_magic, sizeof scaler_magic);
    tnn__put_u32(&w, SCALER_VERSION);
    tnn__put_u32(&w, 0);
    tnn__put_u64(&w, scaler->features);
    tnn__put_u32(&w, w.failed ? 0 : tnn__crc32(w.data, SCALER_HEAD));
    for (size_t j = 0; j < scaler->features; j++)
        tnn__put_f32(&w, scaler->mean[j]);
    for (size_t j = 0; j < scaler->features; j++)
        tnn__put_f32(&w, scaler->scale[j]);
    tnn__put_u32(&w, w.failed ? 0 : tnn__crc32(w.data, w.len));
    if (w.failed) {
        tnn__free(w.data);
        return tnn__fail(TNN_E_NOMEM, __func__,
                         "cannot allocate the file image");
    }
    int rc = tnn__write_file_atomic(__func__, path, w.data, w.len);
    tnn__free(w.data);
    return rc;
}

/* The scaler in the size bytes at data, read from path, into out (a
 * tnn_scaler **): a tnn__parse_fn. */
static int parse(const char *func, const char *path, const void *data,
                 size_t size, void *out)
{
    const uint8_t *p = data;
    if (size < sizeof scaler_magic || memcmp(p, scaler_magic, 8) != 0) {
        if (size < sizeof scaler_magic && memcmp(p, scaler_magic, size) == 0)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "truncated: %zu bytes, a scaler file has at "
                             "least %d in %s",
                             size, SCALER_FIXED + 8, path);
        return tnn__fail(TNN_E_FORMAT, func,
                         "not a scaler file (no \\x89TNNSCL\\n magic) in %s",
                         path);
    }
    if (size < SCALER_HEAD + 4)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "truncated header: %zu bytes, the header needs %d "
                         "in %s",
                         size, SCALER_HEAD + 4, path);
    struct tnn__reader r = {p, size, sizeof scaler_magic, false};
    uint32_t version = tnn__get_u32(&r);
    uint32_t flags = tnn__get_u32(&r);
    uint64_t features = tnn__get_u64(&r);
    uint32_t head_crc = tnn__get_u32(&r);
    if (head_crc != tnn__crc32(p, SCALER_HEAD))
        return tnn__fail(TNN_E_CORRUPT, func, "header CRC mismatch in %s",
                         path);
    if (version > SCALER_VERSION)
        return tnn__fail(TNN_E_VERSION, func,
                         "format version %u is newer than this library's "
                         "(%u) in %s",
                         version, SCALER_VERSION, path);
    if (version == 0 || flags != 0 || features == 0)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "header has version %u, flags 0x%x, %llu features; "
                         "expected version 1 to %u, flags 0, features at "
                         "least 1 in %s",
                         version, flags, (unsigned long long)features,
                         SCALER_VERSION, path);
    /* The size the header announces, checked before any allocation. */
    uint64_t want = tnn__add_sat(tnn__mul_sat(features, 8), SCALER_FIXED);
    if (want != size)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "%s: %zu bytes, %llu features need %llu in %s",
                         want > size ? "truncated" : "trailing bytes", size,
                         (unsigned long long)features,
                         (unsigned long long)want, path);
    if (tnn__load_le32(p + size - 4) != tnn__crc32(p, size - 4))
        return tnn__fail(TNN_E_CORRUPT, func, "CRC mismatch in %s", path);
    const size_t n = (size_t)features;
    tnn_scaler *s = scaler_new(func, n);
    if (!s)
        return TNN_E_NOMEM;
    for (size_t j = 0; j < n; j++)
        s->mean[j] = tnn__get_f32(&r);
    for (size_t j = 0; j < n; j++)
        s->scale[j] = tnn__get_f32(&r);
    for (size_t j = 0; j < n; j++) {
        if (isfinite(s->mean[j]) && isfinite(s->scale[j]) && s->scale[j] > 0)
            continue;
        int bad_mean = !isfinite(s->mean[j]);
        double value = bad_mean ? s->mean[j] : s->scale[j];
        tnn_scaler_free(s);
        return tnn__fail(TNN_E_CORRUPT, func, "%s[%zu] is %g; %s in %s",
                         bad_mean ? "mean" : "scale", j, value,
                         bad_mean ? "a mean must be finite"
                                  : "a scale must be finite and positive",
                         path);
    }
    *(tnn_scaler **)out = s;
    return TNN_OK;
}

int tnn_scaler_load(const char *path, tnn_scaler **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    return tnn__load_file(__func__, path, parse, out);
}
