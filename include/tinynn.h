/*
 * libtinynn - small neural networks on the CPU.
 *
 * Copyright (c) 2026 the libtinynn authors. MIT licence, see LICENSE.
 *
 * This is the only public header. It is C99 and C++ clean, defines no
 * structures, and every type behind it is an opaque handle, so that programs
 * built against one 1.x release keep working with every later 1.x release
 * without being recompiled (see docs/abi.md).
 *
 * Conventions that hold for every function below:
 *
 *  - Fallible functions return int: TNN_OK (0) or a negative TNN_E_* code.
 *    Constructors return an owned handle, or NULL on failure. In both cases
 *    tnn_last_error() then holds a message naming the function and the
 *    offending value. The library never prints, asserts on input, aborts or
 *    exits.
 *  - tnn_X_new() returns a handle the caller owns and releases with
 *    tnn_X_free(); tnn_X_free(NULL) does nothing. Pointers returned by
 *    getters are borrowed: valid until their owner is freed or resized.
 *  - A const handle parameter means nothing observable changes.
 *  - Threads: different handles may be used from different threads at the
 *    same time; one handle must not be used from two threads at once.
 *    See docs/threading.md.
 */
#ifndef TINYNN_H
#define TINYNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Export and versions                                                      */
/* ------------------------------------------------------------------------ */

#ifndef TNN_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define TNN_API __attribute__((visibility("default")))
#else
#define TNN_API
#endif
#endif

#define TNN_VERSION_MAJOR 1
#define TNN_VERSION_MINOR 0
#define TNN_VERSION_PATCH 0
#define TNN_VERSION_NUMBER \
    (TNN_VERSION_MAJOR * 10000 + TNN_VERSION_MINOR * 100 + TNN_VERSION_PATCH)

#define TNN_STRINGIFY_(x) #x
#define TNN_STRINGIFY(x) TNN_STRINGIFY_(x)
#define TNN_VERSION_STRING                  \
    TNN_STRINGIFY(TNN_VERSION_MAJOR)        \
    "." TNN_STRINGIFY(TNN_VERSION_MINOR) "." \
    TNN_STRINGIFY(TNN_VERSION_PATCH)

/* Version of the library actually loaded, as TNN_VERSION_NUMBER would give
 * it. Compare with TNN_VERSION_NUMBER to detect a header/library mismatch. */
TNN_API int tnn_version_number(void);

/* Version of the library actually loaded, e.g. "1.0.0". Static storage. */
TNN_API const char *tnn_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* Status codes. Values are fixed forever; new codes are only appended. */
enum tnn_status {
    TNN_OK = 0,
    TNN_E_INVALID = -1, /* an argument is NULL, out of range or malformed */
    TNN_E_SHAPE = -2,   /* tensor shapes or lengths do not fit together */
    TNN_E_NOMEM = -3,   /* the allocator returned NULL */
    TNN_E_IO = -4,      /* a file could not be opened, read or written */
    TNN_E_FORMAT = -5,  /* a file is not of the expected format */
    TNN_E_CORRUPT = -6, /* a file has the right format but damaged content */
    TNN_E_VERSION = -7, /* a file or feature version is not supported */
    TNN_E_NUMERIC = -8, /* a NaN or infinity appeared in a computation */
    TNN_E_STATE = -9    /* call made in the wrong order or state */
};

/* Short static name of a status code, e.g. "shape mismatch" for
 * TNN_E_SHAPE; "unknown error" for a value that is no status code. */
TNN_API const char *tnn_strerror(int code);

/* Message describing the last failure on the calling thread, naming the
 * function and the offending value, e.g.
 * "tnn_tensor_new: dims[1] is 0; every dimension must be at least 1".
 * Empty string if nothing failed yet. The pointer is owned by the library
 * and valid until the next libtinynn call on the same thread. A successful
 * call does not clear it. */
TNN_API const char *tnn_last_error(void);

/* Status code of the last failure on the calling thread (TNN_OK if none). */
TNN_API int tnn_last_error_code(void);

/* Forget the last failure of the calling thread. */
TNN_API void tnn_clear_error(void);

/* ------------------------------------------------------------------------ */
/* Memory and threads                                                       */
/* ------------------------------------------------------------------------ */

typedef void *(*tnn_malloc_fn)(size_t size, void *ctx);
typedef void *(*tnn_realloc_fn)(void *ptr, size_t size, void *ctx);
typedef void (*tnn_free_fn)(void *ptr, void *ctx);

/* Route every allocation of the library through the given functions; ctx is
 * passed through untouched. All three NULL restores the C library's
 * malloc/realloc/free. Call it before any other libtinynn call, or at least
 * when no libtinynn object is alive: an object must be freed by the
 * allocator that made it. Not thread-safe: the allocator is process-wide.
 * Returns TNN_E_INVALID if only some of the functions are NULL. */
TNN_API int tnn_set_allocator(tnn_malloc_fn malloc_fn,
                              tnn_realloc_fn realloc_fn, tnn_free_fn free_fn,
                              void *ctx);

/* Number of threads the BLAS may use for the library's matrix products. The
 * library starts no threads of its own. With OpenBLAS this calls
 * openblas_set_num_threads(); with a BLAS without thread control (the
 * reference BLAS) it only records the number. n must be >= 1. Process-wide,
 * like the BLAS's own setting: call it before starting work, not while
 * another thread is computing. */
TNN_API int tnn_set_num_threads(int n);

/* The value last set by tnn_set_num_threads(), or the BLAS's own default
 * (1 if it has none) before any call. */
TNN_API int tnn_get_num_threads(void);

/* ------------------------------------------------------------------------ */
/* Random numbers                                                           */
/* ------------------------------------------------------------------------ */

/* A seeded pseudo-random generator (xoshiro256** seeded through
 * splitmix64). Everything random in the library draws from one of these, so
 * the same seed gives the same numbers on every platform. */
typedef struct tnn_rng tnn_rng;

/* New generator seeded with seed (any value, 0 included). Owned by the
 * caller; NULL with TNN_E_NOMEM if allocation fails. */
TNN_API tnn_rng *tnn_rng_new(uint64_t seed);

/* Release a generator. NULL is allowed and does nothing. */
TNN_API void tnn_rng_free(tnn_rng *rng);

/* Restart the sequence as tnn_rng_new(seed) would. TNN_E_INVALID if rng is
 * NULL. */
TNN_API int tnn_rng_seed(tnn_rng *rng, uint64_t seed);

/* Next 64 raw random bits; 0 if rng is NULL. */
TNN_API uint64_t tnn_rng_next_u64(tnn_rng *rng);

/* Uniform double in [0, 1) with 53 random bits; 0 if rng is NULL. */
TNN_API double tnn_rng_uniform(tnn_rng *rng);

/* Standard normal double N(0, 1) by the Box-Muller transform (one of the
 * pair is kept for the next call); 0 if rng is NULL. */
TNN_API double tnn_rng_normal(tnn_rng *rng);

/* ------------------------------------------------------------------------ */
/* Tensors                                                                  */
/* ------------------------------------------------------------------------ */

/* A dense float32 array of 1 to TNN_MAX_DIMS dimensions, row-major (the last
 * dimension varies fastest). For a batch of vectors the shape is
 * (batch, features); for images (batch, channels, height, width). */
typedef struct tnn_tensor tnn_tensor;

#define TNN_MAX_DIMS 4

/* New zero-filled tensor of ndim (1..TNN_MAX_DIMS) dimensions dims[0..ndim).
 * Every dimension must be >= 1 and the element count and byte size must fit
 * in size_t. Owned by the caller; NULL on failure (TNN_E_INVALID for a bad
 * ndim, NULL dims or a zero dimension, TNN_E_SHAPE if the size overflows,
 * TNN_E_NOMEM). */
TNN_API tnn_tensor *tnn_tensor_new(int ndim, const size_t *dims);

/* Shorthand for a two-dimensional (rows, cols) tensor. */
TNN_API tnn_tensor *tnn_tensor_new_2d(size_t rows, size_t cols);

/* Release a tensor and its storage. NULL is allowed and does nothing. */
TNN_API void tnn_tensor_free(tnn_tensor *t);

/* Number of dimensions, or 0 if t is NULL. */
TNN_API int tnn_tensor_ndim(const tnn_tensor *t);

/* Extent of dimension i (0 <= i < ndim), or 0 if t is NULL or i is out of
 * range. */
TNN_API size_t tnn_tensor_dim(const tnn_tensor *t, int i);

/* Number of elements (product of the dimensions), or 0 if t is NULL. */
TNN_API size_t tnn_tensor_size(const tnn_tensor *t);

/* Borrowed pointer to the tnn_tensor_size(t) elements, row-major; valid
 * until t is freed. Reshaping keeps it valid. NULL if t is NULL. */
TNN_API float *tnn_tensor_data(tnn_tensor *t);

/* Read-only variant of tnn_tensor_data() for const handles. */
TNN_API const float *tnn_tensor_cdata(const tnn_tensor *t);

/* Copy count floats from src into t. count must equal tnn_tensor_size(t)
 * (TNN_E_SHAPE otherwise). */
TNN_API int tnn_tensor_copy_from(tnn_tensor *t, const float *src,
                                 size_t count);

/* Copy the elements of t into dst, which holds capacity floats; capacity
 * must be at least tnn_tensor_size(t) (TNN_E_SHAPE otherwise). */
TNN_API int tnn_tensor_copy_to(const tnn_tensor *t, float *dst,
                               size_t capacity);

/* Set every element to value. */
TNN_API int tnn_tensor_fill(tnn_tensor *t, float value);

/* New tensor with the shape and contents of t, owned by the caller. NULL on
 * failure. */
TNN_API tnn_tensor *tnn_tensor_clone(const tnn_tensor *t);

/* Give t a new shape with the same element count (TNN_E_SHAPE otherwise);
 * the data is not moved. */
TNN_API int tnn_tensor_reshape(tnn_tensor *t, int ndim, const size_t *dims);

/* Fill t with independent draws uniform in [lo, hi) from rng. Requires
 * lo < hi, both finite. */
TNN_API int tnn_tensor_rand_uniform(tnn_tensor *t, tnn_rng *rng, float lo,
                                    float hi);

/* Fill t with independent draws from N(mean, stddev^2) from rng. Requires
 * stddev >= 0, both finite. */
TNN_API int tnn_tensor_rand_normal(tnn_tensor *t, tnn_rng *rng, float mean,
                                   float stddev);

#ifdef __cplusplus
}
#endif

#endif /* TINYNN_H */
