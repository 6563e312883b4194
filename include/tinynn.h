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
 *    same time; one handle must not be used from two threads at once,
 *    except by calls that take it as const (they only read it: cloning,
 *    saving or summarising one model, reading one input tensor), which may
 *    run together as long as no thread changes it. See docs/threading.md.
 */
#ifndef TINYNN_H
#define TINYNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
#define TNN_VERSION_MINOR 12
#define TNN_VERSION_PATCH 5
#define TNN_VERSION_NUMBER                                                    \
    (TNN_VERSION_MAJOR * 10000 + TNN_VERSION_MINOR * 100 + TNN_VERSION_PATCH)

#define TNN_STRINGIFY_(x) #x
#define TNN_STRINGIFY(x) TNN_STRINGIFY_(x)
#define TNN_VERSION_STRING                                                    \
    TNN_STRINGIFY(TNN_VERSION_MAJOR)                                          \
    "." TNN_STRINGIFY(TNN_VERSION_MINOR) "." TNN_STRINGIFY(TNN_VERSION_PATCH)

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

/* (since 1.6) Record a failure as the library's own functions do, for
 * libraries built on this one (libtinynn-mpi) so that their callers read
 * every failure through tnn_last_error(): code (a TNN_E_* code) and
 * "func: message", both truncated to 511 bytes in all. Returns code.
 * TNN_E_INVALID, recorded as such, for code >= 0 or a NULL func or
 * message. */
TNN_API int tnn_set_error(int code, const char *func, const char *message);

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
 * Returns TNN_E_INVALID if only some of the functions are NULL. One
 * exception: a build with oneDNN lets oneDNN allocate its own objects
 * (engines, primitives, their descriptors and generated code, and the
 * small records it makes each time it runs a primitive) with its own
 * allocator; the data buffers and scratchpads of the library's dense
 * products and convolutions come from these functions. */
TNN_API int tnn_set_allocator(tnn_malloc_fn malloc_fn,
                              tnn_realloc_fn realloc_fn, tnn_free_fn free_fn,
                              void *ctx);

/* Number of threads the library's computations use: the matrix products
 * of dense layers and convolutions (on oneDNN's OpenMP threads in a build
 * with oneDNN, whose thread count the library sets to n around each call
 * and gives back after; otherwise on the BLAS, which takes n through
 * openblas_set_num_threads() if it is OpenBLAS, while a BLAS without
 * thread control, like the reference BLAS, is left alone), and a model's
 * optimizer update and its ReLU and pooling passes, split over n threads
 * (OpenMP's in a THREADS=openmp build, the default with oneDNN, unless
 * the products run on a BLAS with threads of its own; otherwise n - 1
 * worker threads of the model's own, started at its first training step
 * or prediction and stopped by tnn_model_free(); docs/threading.md). Results
 * do not depend on n beyond what the BLAS and oneDNN do. n must be >= 1.
 * Process-wide, like the BLAS's own setting: call it before starting work, not
 * while another thread is computing. */
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

/* Standard normal double N(0, 1) by the Box-Muller transform from two
 * 53-bit uniforms (one of the pair is kept for the next call); its
 * magnitude is at most sqrt(-2 ln 2^-53) ~ 8.57. 0 if rng is NULL. */
TNN_API double tnn_rng_normal(tnn_rng *rng);

/* (since 1.6) The generator's whole state (its four words and the normal
 * draw it keeps) as TNN_RNG_STATE_BYTES bytes, the same on every host
 * (little-endian), and back: to give other processes the same generator
 * (libtinynn-mpi does) or to restart a sequence. tnn_rng_set_state()
 * refuses bytes that are no state the generator can be in (all four words
 * zero, a kept normal out of range) with TNN_E_INVALID, rng unchanged. A
 * model's generator: tnn_model_rng(). */
#define TNN_RNG_STATE_BYTES 48
TNN_API int tnn_rng_get_state(const tnn_rng *rng, unsigned char *state);
TNN_API int tnn_rng_set_state(tnn_rng *rng, const unsigned char *state);

/* ------------------------------------------------------------------------ */
/* Tensors                                                                  */
/* ------------------------------------------------------------------------ */

/* A dense float32 array of 1 to TNN_MAX_DIMS dimensions, row-major (the last
 * dimension varies fastest). For a batch of vectors the shape is
 * (batch, features); for sequences (batch, time, features); for images
 * (batch, channels, height, width). */
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

/* Fill t with independent draws uniform in [lo, hi) from rng, computed in
 * double so that any finite range works, [-FLT_MAX, FLT_MAX) included.
 * Requires lo < hi, both finite. */
TNN_API int tnn_tensor_rand_uniform(tnn_tensor *t, tnn_rng *rng, float lo,
                                    float hi);

/* Fill t with independent draws from N(mean, stddev^2) from rng, each
 * mean + stddev * tnn_rng_normal() in double, rounded to float. Requires
 * mean and stddev finite, stddev >= 0 and |mean| + 40 * stddev <= FLT_MAX
 * (draws lie within 40 stddev of the mean, so none rounds to infinity);
 * otherwise TNN_E_INVALID (since 1.4 for the last condition), with t and
 * rng unchanged. */
TNN_API int tnn_tensor_rand_normal(tnn_tensor *t, tnn_rng *rng, float mean,
                                   float stddev);

/* (since 1.7) A tensor over storage the caller owns: the product of dims
 * floats at data, used in place (nothing is copied) and never freed by
 * the library; tnn_tensor_free() releases only the handle. The caller
 * keeps data valid while the tensor or any view of it exists. Functions
 * that take a const tensor only read it, so data the caller may not
 * write can be wrapped (cast away its const) to predict from or to train
 * on. ndim and dims as for tnn_tensor_new(); NULL data is TNN_E_INVALID.
 * Owned by the caller; NULL on failure. */
TNN_API tnn_tensor *tnn_tensor_wrap(float *data, int ndim, const size_t *dims);

/* (since 1.7) A view of rows [first, first + count) of t (its first
 * dimension), with t's other dimensions: a tensor sharing t's storage, so
 * that writes through either show in both and nothing is copied. The
 * storage lives until the last tensor over it is freed: t and its views
 * may be freed in any order (storage from tnn_tensor_wrap() stays the
 * caller's, who keeps it valid while any of them exists). A view of a view
 * is a view of the same storage. Reshaping changes only the handle
 * reshaped. Requires count >= 1 and first + count <= rows (TNN_E_SHAPE
 * otherwise). Owned by the caller; NULL on failure. Views of one storage
 * may be used from different threads as different handles are, provided
 * no thread writes values another reads. */
TNN_API tnn_tensor *tnn_tensor_view_rows(tnn_tensor *t, size_t first,
                                         size_t count);

/* (since 1.7) Whether t shares its storage with other tensors (views) or
 * wraps the caller's storage: 1 or 0; 0 for NULL. */
TNN_API int tnn_tensor_is_shared(const tnn_tensor *t);

/* (since 1.7) Shuffle the rows of x in place with draws from rng, and the
 * rows of y (may be NULL) by the same permutation, so that pairs stay
 * together: a Fisher-Yates shuffle, the same permutation for the same
 * generator state. y must have as many rows as x (TNN_E_SHAPE). */
TNN_API int tnn_tensor_shuffle_rows(tnn_tensor *x, tnn_tensor *y,
                                    tnn_rng *rng);

/* ------------------------------------------------------------------------ */
/* Layers                                                   (since 1.1)     */
/* ------------------------------------------------------------------------ */

/* A layer maps a batch of rows (batch, in_features) to (batch,
 * out_features). Layers are created alone, then handed to a model with
 * tnn_model_add(), which takes ownership. A layer can also be run alone
 * through tnn_layer_forward() / tnn_layer_backward(). */
typedef struct tnn_layer tnn_layer;

/* Layer kinds, as reported by tnn_layer_kind(). Values never change. */
enum tnn_layer_kind {
    TNN_LAYER_DENSE = 1,
    TNN_LAYER_RELU = 2,
    TNN_LAYER_SIGMOID = 3,
    TNN_LAYER_TANH = 4,
    TNN_LAYER_SOFTMAX = 5,
    TNN_LAYER_IDENTITY = 6,
    TNN_LAYER_DROPOUT = 7,
    TNN_LAYER_BATCHNORM = 8,
    TNN_LAYER_CONV2D = 9,              /* since 1.3 */
    TNN_LAYER_MAXPOOL2D = 10,          /* since 1.3 */
    TNN_LAYER_AVGPOOL2D = 11,          /* since 1.3 */
    TNN_LAYER_FLATTEN = 12,            /* since 1.3 */
    TNN_LAYER_LEAKY_RELU = 13,         /* since 1.5 */
    TNN_LAYER_ZEROPAD2D = 14,          /* since 1.8 */
    TNN_LAYER_LAYERNORM = 15,          /* since 1.9 */
    TNN_LAYER_GELU = 16,               /* since 1.9 */
    TNN_LAYER_LSTM = 17,               /* since 1.10 */
    TNN_LAYER_GRU = 18,                /* since 1.10 */
    TNN_LAYER_EMBEDDING = 19,          /* since 1.11 */
    TNN_LAYER_POSITION_EMBEDDING = 20, /* since 1.11 */
    TNN_LAYER_ATTENTION = 21,          /* since 1.11 */
    TNN_LAYER_RESIDUAL = 22            /* since 1.11 */
};

/* Whether a layer computes for training or for evaluation. */
enum tnn_mode { TNN_MODE_EVAL = 0, TNN_MODE_TRAIN = 1 };

/* Weight initialisers of the dense layer; biases always start at 0. */
enum tnn_init {
    /* U(-l, l) with l = sqrt(6 / (in + out)) (Keras' default). */
    TNN_INIT_GLOROT_UNIFORM = 0,
    /* N(0, 2 / in) truncated at two standard deviations, rescaled so the
     * variance stays 2 / in (Keras' he_normal). */
    TNN_INIT_HE_NORMAL = 1,
    /* All weights 0. */
    TNN_INIT_ZEROS = 2,
    /* All weights equal to the value given to tnn_dense_set_init(). */
    TNN_INIT_CONSTANT = 3
};

/* Fully connected layer y = x W + b, W of shape (in, out) stored row-major
 * (W[i * out + j] links input i to output j), b of shape (out). Parameters
 * are initialised when the layer is added to a model (or when the model is
 * re-seeded), from the model's generator, with Glorot uniform weights
 * unless tnn_dense_set_init() says otherwise. in, out >= 1. Owned by the
 * caller until added to a model. Its products run on oneDNN in a build
 * with it (make DNNL=1), on the BLAS otherwise; the two agree within
 * float rounding (docs/performance.md). (since 1.11) Added after (time,
 * in) samples, the layer runs on every step alike and gives (time, out)
 * (PyTorch's Linear on (batch, time, in)); such a model is saved in
 * format version 9 and not exported to ONNX yet; taken out of the model,
 * the layer is (in) to (out) again. */
TNN_API tnn_layer *tnn_dense_new(size_t in, size_t out);

/* Choose the weight initialiser (enum tnn_init); value is used by
 * TNN_INIT_CONSTANT only. Takes effect at the next initialisation (adding
 * to a model, tnn_model_set_seed(), tnn_layer_init()). */
TNN_API int tnn_dense_set_init(tnn_layer *dense, int init, float value);

/* Elementwise activations; they take the width of the previous layer.
 * relu: x where x > 0 or x is NaN, else +0 (relu(NaN) = NaN since 1.4,
 * relu(-0) = +0, relu(+inf) = +inf, relu(-inf) = 0); its input gradient
 * is dout where the output is > 0, NaN where the output is NaN, and 0
 * elsewhere (even for a NaN or infinite dout). sigmoid: 1 / (1 +
 * exp(-x)). tanh: tanh(x). identity: x. softmax: row-wise exp(x_i - max)
 * / sum_j exp(x_j - max), and (since 1.10) on (time, features) samples
 * over each step's features, as PyTorch's softmax(dim=-1). A NaN input
 * gives NaN at its own position, and for softmax in its whole row (or
 * step). A softmax that ends a model trained with TNN_LOSS_CROSS_ENTROPY
 * is fused with the loss (see tnn_model_set_loss()), also over (time,
 * classes) outputs (since 1.11), one distribution per step. */
TNN_API tnn_layer *tnn_relu_new(void);
TNN_API tnn_layer *tnn_sigmoid_new(void);
TNN_API tnn_layer *tnn_tanh_new(void);
TNN_API tnn_layer *tnn_softmax_new(void);
TNN_API tnn_layer *tnn_identity_new(void);

/* Leaky ReLU (since 1.5): x where x > 0, slope * x elsewhere (PyTorch's
 * LeakyReLU(negative_slope), Keras' LeakyReLU(alpha); 0.01 is PyTorch's
 * default). Its input gradient is dout where x > 0 and slope * dout
 * elsewhere, 0 included; a NaN input gives NaN forward and back. slope
 * must be finite (0 gives ReLU's values, with -0 kept for negative
 * inputs); NULL and TNN_E_INVALID otherwise. Saved in model files of
 * format version 3. */
TNN_API tnn_layer *tnn_leaky_relu_new(float slope);

/* (since 1.9) New GELU activation layer, in its exact erf form: x * Phi(x)
 * = 0.5 * x * (1 + erf(x / sqrt(2))), PyTorch's GELU() with its default
 * approximate='none' (not the tanh approximation). It takes the width of
 * the previous layer. Its input gradient is dout * (Phi(x) + x * phi(x)),
 * the exact derivative, with phi the standard normal density. Values and
 * slopes are computed in double and rounded once to float, by the
 * library's own vectorised erfc and exp (within 2e-12 of libm's: the same
 * floats but for a rare difference in the last place); a training
 * forward keeps the slopes, which the backward multiplies by dout in
 * float (since 1.12.1). A NaN input gives NaN forward and
 * back; the infinities give their limits (gelu(-inf) = -0 with gradient
 * 0, gelu(+inf) = +inf with gradient dout), where PyTorch gives NaN for
 * -inf. NULL and TNN_E_NOMEM if it cannot be allocated. Saved in model
 * files of format version 7; ONNX export refuses it (TNN_E_FORMAT), as
 * ONNX has no Gelu before operator set 20. */
TNN_API tnn_layer *tnn_gelu_new(void);

/* Inverted dropout: in training each element is multiplied by a mask
 * value, 1 / (1 - rate) with probability 1 - rate, else 0, the mask drawn
 * from the generator given to the forward pass (the model's); in
 * evaluation the identity. Because the mask multiplies, a dropped NaN or
 * infinity gives NaN, not 0. The input gradient is dout times the same
 * mask. 0 <= rate < 1. */
TNN_API tnn_layer *tnn_dropout_new(float rate);

/* Batch normalisation over the features of (batch, features) rows, or
 * (since 1.3) over the channels of (batch, channels, height, width) images,
 * then with statistics per channel over the batch and every position:
 * y = gamma * (x - mean) / sqrt(var + eps) + beta.
 * Training uses the batch mean and biased batch variance and then updates
 * running_mean = momentum * running_mean + (1 - momentum) * batch_mean,
 * and running_var likewise with the biased batch variance (the Keras
 * convention; momentum 0.99 by default). Evaluation uses the running
 * statistics (initially mean 0, variance 1). gamma starts at 1, beta at 0,
 * eps is 1e-3 by default. A training batch of one row gives y = beta and
 * zero input gradient. In a model, the running statistics move only when
 * the training step succeeds (since 1.4); a layer run alone moves them at
 * each training forward. A NaN input in training makes its feature's
 * (channel's) batch statistics NaN, and so that feature's output in every
 * row and its gradients; in evaluation it gives NaN at its own position
 * only. */
TNN_API tnn_layer *tnn_batchnorm_new(size_t features);

/* Set and read the momentum of a batch-norm layer's running statistics
 * (0.99 by default, Keras' convention: running = momentum * running + (1 -
 * momentum) * batch). TNN_E_INVALID if bn is no batch-norm layer or
 * momentum is outside [0, 1); TNN_E_STATE while its model trains. The
 * getter gives 0 for anything but a batch-norm layer. */
TNN_API int tnn_batchnorm_set_momentum(tnn_layer *bn, float momentum);
TNN_API float tnn_batchnorm_momentum(const tnn_layer *bn);

/* Set and read the eps a batch-norm layer adds to the variance before the
 * square root (1e-3 by default). TNN_E_INVALID if bn is no batch-norm
 * layer or eps is not finite and > 0; TNN_E_STATE while its model trains.
 * The getter gives 0 for anything but a batch-norm layer. */
TNN_API int tnn_batchnorm_set_eps(tnn_layer *bn, float eps);
TNN_API float tnn_batchnorm_eps(const tnn_layer *bn);

/* Borrowed running mean and variance tensors of shape (features). */
TNN_API tnn_tensor *tnn_batchnorm_running_mean(tnn_layer *bn);
TNN_API tnn_tensor *tnn_batchnorm_running_var(tnn_layer *bn);

/* (since 1.9) New layer normalisation layer over groups of features
 * values: each consecutive group of features values of a row (the last
 * dimension) is normalised by its own mean and biased variance,
 * y = gamma * (x - mean) / sqrt(var + eps) + beta, as PyTorch's
 * LayerNorm(features) computes it; gamma (starting at 1) and beta (at 0)
 * are features long and trainable, and weight decay leaves them alone
 * unless tnn_optim_set_decay_all() says otherwise. Training and
 * evaluation compute the same; nothing is kept between batches. The input
 * width (features, or channels * height * width) must be a positive
 * multiple of features: TNN_E_SHAPE when the layer is added to a model or
 * run on one that is not. Sums are in double, the variance in two passes.
 * A NaN input gives NaN in its own group only, forward and back. features
 * in [1, 2^31 - 1]: NULL and TNN_E_INVALID otherwise. Saved in model files
 * of format version 7; written to ONNX as LayerNormalization (operator set
 * 17) when the groups are the input's last axis. */
TNN_API tnn_layer *tnn_layernorm_new(size_t features);

/* (since 1.9) Set the epsilon of a layer-norm layer: what it adds to the
 * variance before the square root (1e-5 by default, PyTorch's).
 * TNN_E_INVALID if ln is no layer-norm layer or eps is not finite and >
 * 0; TNN_E_STATE while its model trains (a fit callback may not change
 * it). */
TNN_API int tnn_layernorm_set_eps(tnn_layer *ln, float eps);

/* (since 1.9) Epsilon of a layer-norm layer, or 0 for anything but a
 * layer-norm layer (NULL included). */
TNN_API float tnn_layernorm_eps(const tnn_layer *ln);

/* ---- Sequences (since 1.10) ----
 * Sequence batches are (batch, time, features) tensors, stored as rows of
 * time * features values with the time steps one after the other; a model
 * for sequences starts with tnn_model_new_sequence(). */

/* (since 1.10) New LSTM layer over sequences of input_features values per
 * time step, with hidden units, as PyTorch's LSTM(input_features, hidden,
 * batch_first=True) computes it: for each step t, from the input x_t and
 * the previous hidden and cell states (zero before the first step),
 *   i = sigmoid(W_ii x_t + b_ii + W_hi h + b_hi)   (input gate)
 *   f = sigmoid(W_if x_t + b_if + W_hf h + b_hf)   (forget gate)
 *   g = tanh(W_ig x_t + b_ig + W_hg h + b_hg)      (cell candidate)
 *   o = sigmoid(W_io x_t + b_io + W_ho h + b_ho)   (output gate)
 *   c = f * c + i * g,  h = o * tanh(c).
 * Its four parameters are PyTorch's, in PyTorch's order and layout, so
 * that weights map one to one: tnn_layer_param() 0 is weight_ih (4 hidden,
 * input_features), 1 weight_hh (4 hidden, hidden), 2 bias_ih and 3
 * bias_hh (4 hidden), the gates' rows in the order i, f, g, o. They are
 * initialised when the layer is added to a model (or the model is
 * re-seeded, or tnn_layer_init() is called), uniform in [-1/sqrt(hidden),
 * 1/sqrt(hidden)] from the model's generator, as PyTorch does; zero
 * before. Weight decay applies to the two weights. The input samples
 * must be (time, input_features) for any time >= 1: TNN_E_SHAPE otherwise
 * when the layer is added to a model or run. The output is the hidden
 * state of every step, (time, hidden), when return_sequences is 1, or of
 * the last step only, (hidden), when it is 0. The products run over the
 * whole batch: the input's for all steps in one, the recurrent one once
 * per step.
 * input_features and hidden >= 1 with 4 * hidden * (input_features +
 * hidden) weights at most 2^31 - 1, return_sequences 0 or 1: NULL and
 * TNN_E_INVALID otherwise. A batch whose rows times steps, or whose
 * steps times 4 * hidden, exceed 2^31 - 1 is refused with TNN_E_SHAPE.
 * Saved in model files of format version 8; (since 1.11) written to ONNX
 * as an LSTM node between Transpose nodes, as PyTorch writes it
 * (docs/onnx.md). */
TNN_API tnn_layer *tnn_lstm_new(size_t input_features, size_t hidden,
                                int return_sequences);

/* (since 1.10) New GRU layer over sequences of input_features values per
 * time step, with hidden units, as PyTorch's GRU(input_features, hidden,
 * batch_first=True) computes it: for each step t, from x_t and the
 * previous hidden state h (zero before the first step),
 *   r = sigmoid(W_ir x_t + b_ir + W_hr h + b_hr)   (reset gate)
 *   z = sigmoid(W_iz x_t + b_iz + W_hz h + b_hz)   (update gate)
 *   n = tanh(W_in x_t + b_in + r * (W_hn h + b_hn)) (candidate)
 *   h = (1 - z) * n + z * h.
 * Its parameters are PyTorch's, as tnn_lstm_new() describes for the LSTM,
 * with 3 hidden rows in the gate order r, z, n: weight_ih (3 hidden,
 * input_features), weight_hh (3 hidden, hidden), bias_ih and bias_hh (3
 * hidden). Initialisation, shapes, return_sequences, the products, the
 * errors and the files are as for tnn_lstm_new(), with 3 * hidden in
 * place of 4 * hidden in the bounds; ONNX's node is a GRU with
 * linear_before_reset 1 (since 1.11). */
TNN_API tnn_layer *tnn_gru_new(size_t input_features, size_t hidden,
                               int return_sequences);

/* (since 1.12) Set the state an LSTM or GRU layer starts each sequence
 * from, in place of zeros, as PyTorch's optional (h0, c0): h0 the hidden
 * state, c0 the LSTM's cell state (NULL: zero cells; a GRU has none).
 * Each is either (hidden), the state every row starts from, or (rows,
 * hidden), row r's state for row r of a pass of exactly rows rows (a
 * stateful run: the final state of one window, tnn_recurrent_state(), as
 * the start of the next). When both are given their shapes must agree;
 * h0 NULL with a c0 means zero hidden states. Both NULL: zeros again. The
 * values are copied. A call with another number of rows is refused with
 * TNN_E_SHAPE before anything is computed (tnn_layer_forward() and the
 * model's calls), as is a tnn_model_predict() or tnn_model_evaluate()
 * that would run in chunks (more than 256 rows, or than the largest batch
 * since the model's buffers were made); tnn_model_fit() (its batches move
 * rows) and replicas sharing a batch (tnn_model_set_shard()) refuse a
 * per-row state with TNN_E_STATE; tnn_model_train_batch() takes it. A
 * state of (hidden) suits every pass. The state is no parameter:
 * optimizers leave it alone, model files and ONNX do not hold it
 * (tnn_model_save_onnx() refuses a layer with one, TNN_E_FORMAT), and
 * clones and loaded models start from zeros. A tnn_layer_backward()
 * pending from an earlier forward, of the layer or of a residual block
 * around it, is dropped. TNN_E_INVALID if layer is NULL or no LSTM or GRU,
 * or c0 is given for a GRU; TNN_E_SHAPE for other shapes; TNN_E_NOMEM
 * (the layer unchanged); TNN_E_STATE while its model is training (from a
 * tnn_model_fit() callback). */
TNN_API int tnn_recurrent_set_state(tnn_layer *layer, const tnn_tensor *h0,
                                    const tnn_tensor *c0);

/* (since 1.12) Copy the final states of the layer's last forward pass,
 * each row's last step, into h (rows, hidden) and, for an LSTM, c (rows,
 * hidden), where rows are that pass's (the last chunk of a model's
 * prediction). Either may be NULL, not both; c must be NULL for a GRU.
 * TNN_E_INVALID if layer is NULL or no LSTM or GRU; TNN_E_STATE before
 * any forward pass (or after the layer's buffers grew for a larger one
 * that did not run); TNN_E_SHAPE if a tensor is not (rows, hidden). */
TNN_API int tnn_recurrent_state(const tnn_layer *layer, tnn_tensor *h,
                                tnn_tensor *c);

/* (since 1.12) Copy the gradients of the loss with respect to the initial
 * state from the layer's last backward pass into dh0 and, for an LSTM,
 * dc0, in the shape the state was set with: (rows, hidden), or (hidden)
 * for a state every row starts from, whose gradient is the sum over the
 * rows. Either may be NULL, not both; dc0 must be NULL for a GRU.
 * TNN_E_INVALID if layer is NULL or no LSTM or GRU; TNN_E_STATE if the
 * layer has no initial state, or no backward pass ran since it was set
 * or since the layer's last forward pass (a model runs none for the
 * frozen layers before its first trainable one); TNN_E_SHAPE if a tensor
 * has another shape. */
TNN_API int tnn_recurrent_state_grad(const tnn_layer *layer, tnn_tensor *dh0,
                                     tnn_tensor *dc0);

/* ---- Tokens and transformers (since 1.11) ----
 * Token batches are (batch, time) tensors of integer-valued ids in [0,
 * vocabulary); a model for them starts with tnn_model_new_tokens() and an
 * embedding layer, which turns them into (batch, time, width) sequences. */

/* (since 1.11) New embedding layer: each token id in [0, vocabulary)
 * becomes its row of a (vocabulary, width) table, as PyTorch's
 * Embedding(vocabulary, width), so that samples of time ids become
 * (time, width) sequences. tnn_layer_param() 0 is the table, initialised
 * from the standard normal distribution (PyTorch's default) when the
 * layer is added to a model; weight decay applies to it. The layer must
 * be the first of a model (TNN_E_SHAPE elsewhere, and for a layer put
 * before it), of a model made by tnn_model_new_tokens() whose vocabulary
 * is at most the layer's, or be run alone on ids: every id is checked
 * before anything is computed, and an id that is no integer in [0,
 * vocabulary) is refused with TNN_E_INVALID naming it. Its input gradient
 * is zero (ids have none). vocabulary and width in [1, 2^31 - 1] with at
 * most 2^31 - 1 values in the table: NULL and TNN_E_INVALID otherwise.
 * Saved in model files of format version 9; written to ONNX as a Gather
 * of its table by the model's int64 token ids, and so only as the first
 * layer of a model made by tnn_model_new_tokens() (TNN_E_FORMAT
 * otherwise). */
TNN_API tnn_layer *tnn_embedding_new(size_t vocabulary, size_t width);

/* (since 1.11) New learned position embedding: adds row t of a (time,
 * width) table to step t of every (time, width) sample, as a transformer
 * adds PyTorch's Embedding(time, width) of the positions 0 .. time - 1.
 * tnn_layer_param() 0 is the table, initialised from the standard normal
 * distribution; weight decay applies to it. The input samples must be
 * exactly (time, width): TNN_E_SHAPE otherwise. time and width in [1,
 * 2^31 - 1] with at most 2^31 - 1 values in the table: NULL and
 * TNN_E_INVALID otherwise. Saved in model files of format version 9;
 * ONNX export refuses it (TNN_E_FORMAT). */
TNN_API tnn_layer *tnn_position_embedding_new(size_t time, size_t width);

/* (since 1.11) New multi-head self-attention layer over (time, width)
 * samples, as PyTorch's MultiheadAttention(width, heads, dropout,
 * batch_first=True) computes it with query, key and value all the input:
 * [Q K V] = x W_in^T + b_in, then for each of the heads, with d = width /
 * heads and Q_h, K_h, V_h that head's d columns,
 *   A_h = softmax(Q_h K_h^T / sqrt(d) + M),  O_h = dropout(A_h) V_h,
 * and y = [O_1 ... O_heads] W_out^T + b_out. M is -infinity above the
 * diagonal (step t attends to steps <= t) when causal is 1, zero when it
 * is 0. Parameters, in PyTorch's layout: tnn_layer_param() 0 in_proj_weight
 * (3 width, width), the rows of Q, K and V one after the other, 1
 * in_proj_bias (3 width), 2 out_proj weight (width, width), 3 out_proj
 * bias (width); in_proj_weight initialised Glorot-uniform over its (3
 * width, width) shape, the out_proj weight uniform in +-1/sqrt(width)
 * (nn.Linear's default), the biases zero, as PyTorch 1.13 does; weight
 * decay applies to the two weights. dropout
 * (a rate in [0, 1)) drops attention weights in training only, scaling
 * the others by 1 / (1 - dropout); evaluation uses them all. The input
 * samples must be (time, width) for any time >= 1: TNN_E_SHAPE otherwise.
 * width >= 1, heads >= 1 dividing width, 4 * width * width at most
 * 2^31 - 1, causal 0 or 1: NULL and TNN_E_INVALID otherwise. Saved in
 * model files of format version 9; ONNX export refuses it
 * (TNN_E_FORMAT). */
TNN_API tnn_layer *tnn_attention_new(size_t width, size_t heads, int causal,
                                     float dropout);

/* (since 1.11) New, empty residual block: a layer that runs the layers
 * added to it with tnn_residual_add(), in order, as f, and gives x +
 * f(x), the skip connection of a residual network or a transformer block
 * (a pre-norm block is layer norm, attention; or layer norm, dense, GELU,
 * dense). The block owns its layers. Its parameters are theirs, in order
 * (tnn_layer_param() of the block returns them as borrowed tensors, at
 * most 16 in all), so that optimizers, files and replicas handle a block
 * as any layer. The output of the inner run must have the shape of the
 * block's input: TNN_E_SHAPE otherwise when the block is added to a model
 * or run. An empty block doubles its input. Blocks may hold blocks.
 * Saved in model files of format version 9 (the block's record followed
 * by those of its layers); ONNX export refuses it (TNN_E_FORMAT). NULL
 * and TNN_E_NOMEM if memory runs out. */
TNN_API tnn_layer *tnn_residual_new(void);

/* (since 1.11) Append layer to block, which takes ownership of it on
 * success (the caller's pointer stays valid as a borrowed one while the
 * block lives). TNN_E_INVALID if block is no residual block, layer is
 * NULL, block itself, or owned already (by a model or a block);
 * TNN_E_STATE once the block is in a model or has run (its shapes are
 * fixed then); TNN_E_SHAPE if the layer does not take the output shape
 * of the layers before it, when that is known; TNN_E_INVALID if the
 * block would hold more than 16 parameter tensors or blocks would nest
 * more than 16 deep, or the layer is an embedding (which reads a model's
 * ids); TNN_E_STATE if the layer is frozen (a block's layers train or
 * freeze together: tnn_layer_set_trainable() on the block);
 * TNN_E_NOMEM. On failure the caller keeps the layer, unlike
 * tnn_model_add(): check each call rather than chaining a constructor
 * into it. */
TNN_API int tnn_residual_add(tnn_layer *block, tnn_layer *layer);

/* (since 1.11) Number of layers in a residual block; 0 for anything else
 * (NULL included). */
TNN_API size_t tnn_residual_num_layers(const tnn_layer *block);

/* (since 1.11) Borrowed layer i of a residual block, NULL if block is no
 * residual block or i is out of range. */
TNN_API tnn_layer *tnn_residual_layer(tnn_layer *block, size_t i);

/* ---- Images (since 1.3) ----
 * Image batches are NCHW tensors (batch, channels, height, width), stored
 * as rows of channels * height * width values; a model for images starts
 * with tnn_model_new_image(). */

/* Padding of tnn_conv2d_new(): none ("valid"), or enough zeros that the
 * output has ceil(side / stride) rows and columns ("same"; the odd one goes
 * after, as in Keras). A value >= 0 pads that many zeros on every side. */
enum tnn_padding { TNN_PADDING_VALID = -1, TNN_PADDING_SAME = -2 };

/* 2-D convolution (cross-correlation, as in every framework) of
 * in_channels images with out_channels kernels of kernel_h x kernel_w,
 * moved by stride in both directions, with padding (enum tnn_padding or a
 * count >= 0): out[c, y, x] = b[c] + sum_{i, u, v} W[c, i, u, v] *
 * in[i, y * stride + u - pad_top, x * stride + v - pad_left], zero outside
 * the image. W is (out_channels, in_channels, kernel_h, kernel_w)
 * row-major, b is (out_channels). Glorot-uniform initialisation by default
 * (fans in_channels * kh * kw and out_channels * kh * kw, as Keras). All
 * sizes >= 1; stride <= 4096 and an explicit padding <= 4096. Computed as
 * one BLAS product per batch over a patch matrix of (out_h * out_w) x
 * (in_channels * kernel_h * kernel_w) values per image, which counts
 * against the model's per-sample bound (tnn_model_set_max_sample_values),
 * or, in a build with oneDNN (make DNNL=1), by oneDNN's convolutions, which
 * agree with the products within float rounding (docs/performance.md). */
TNN_API tnn_layer *tnn_conv2d_new(size_t in_channels, size_t out_channels,
                                  size_t kernel_h, size_t kernel_w,
                                  size_t stride, int padding);

/* The weight initialiser of a conv2d layer, as tnn_dense_set_init(). */
TNN_API int tnn_conv2d_set_init(tnn_layer *conv, int init, float value);

/* Pooling over k x k windows moved by stride, without padding: output
 * sides floor((side - k) / stride) + 1. Max keeps each window's largest
 * value and its gradient goes to that position; a window holding a NaN
 * gives NaN (since 1.4), its gradient going to the NaN (the last one if
 * several). Average keeps the window's mean (NaN if it holds a NaN). k
 * and stride in [1, 4096]. */
TNN_API tnn_layer *tnn_maxpool2d_new(size_t k, size_t stride);
TNN_API tnn_layer *tnn_avgpool2d_new(size_t k, size_t stride);

/* (since 1.8) Zero padding of images: top and bottom rows and left and
 * right columns of zeros around every channel, giving (channels,
 * top + height + bottom, left + width + right); the input gradient is the
 * interior of the output gradient. Each padding in [0, 4096]. What ONNX's
 * constant Pad over the spatial axes computes, and what PyTorch writes
 * before an average pooling with padding (docs/onnx.md); model files
 * holding it are format 6. */
TNN_API tnn_layer *tnn_zeropad2d_new(size_t top, size_t bottom, size_t left,
                                     size_t right);

/* Images (channels, height, width), or (since 1.10) sequences (time,
 * features), to rows of all their values, for a dense layer; in a model
 * it moves no data. */
TNN_API tnn_layer *tnn_flatten_new(void);

/* Release a layer that no model owns. NULL does nothing. A layer owned by
 * a model is left alone (its model frees it): the call then only records
 * TNN_E_STATE in tnn_last_error(). */
TNN_API void tnn_layer_free(tnn_layer *layer);

/* The layer's enum tnn_layer_kind, or 0 for NULL. */
TNN_API int tnn_layer_kind(const tnn_layer *layer);

/* Lower-case static name of the kind ("dense", "relu", ...), "" for NULL. */
TNN_API const char *tnn_layer_name(const tnn_layer *layer);

/* Input and output width: values per sample (channels * height * width
 * for images, time * features for sequences). Layers that take their
 * shape from what precedes them (activations, dropout, flatten, conv2d,
 * pooling, zero padding, layer normalisation, the LSTM and the GRU, the
 * embedding, attention and residual blocks) report 0 until added to a
 * model or run; batch-norm reports its feature count until then, and a
 * dense layer its own widths, which on (time, in) samples become time
 * times them (since 1.11). */
TNN_API size_t tnn_layer_in_features(const tnn_layer *layer);
TNN_API size_t tnn_layer_out_features(const tnn_layer *layer);

/* Number of parameter tensors: dense and conv2d 2 (W, b), batchnorm and
 * layernorm 2 (gamma, beta), lstm and gru 4 (see tnn_lstm_new()),
 * embedding and position embedding 1 (the table), attention 4 (see
 * tnn_attention_new()), a residual block those of its layers, others
 * 0. */
TNN_API int tnn_layer_num_params(const tnn_layer *layer);

/* Borrowed parameter tensor i and its gradient (same shape); NULL if i is
 * out of range. Values may be read and written between training steps.
 * What the gradient holds around each step: see
 * tnn_model_compute_gradients(). */
TNN_API tnn_tensor *tnn_layer_param(tnn_layer *layer, int i);
TNN_API tnn_tensor *tnn_layer_grad(tnn_layer *layer, int i);

/* A frozen layer (trainable 0) keeps its parameters through training;
 * batch-norm still updates its running statistics in training mode.
 * Layers are trainable by default. A layer inside a residual block is
 * trainable when its block is (and every block around that): the block's
 * layers train or freeze together. */
TNN_API int tnn_layer_set_trainable(tnn_layer *layer, int trainable);
TNN_API int tnn_layer_trainable(const tnn_layer *layer);

/* (Re)initialise the parameters from rng as the model would. */
TNN_API int tnn_layer_init(tnn_layer *layer, tnn_rng *rng);

/* Run the layer alone on in, (batch, features), (since 1.10) (batch,
 * time, features) or (batch, channels, height, width), into out, batch
 * rows of tnn_layer_out_features() values in any layout. mode is enum
 * tnn_mode; rng is needed in training by dropout layers, attention layers
 * with a dropout rate and residual blocks, and may be NULL otherwise. A
 * layer that takes its shape from its input takes in's on the first
 * successful call. */
TNN_API int tnn_layer_forward(tnn_layer *layer, const tnn_tensor *in,
                              tnn_tensor *out, int mode, tnn_rng *rng);

/* Backward pass of the last tnn_layer_forward() call, which must have had
 * the same in and out: from dout (the loss gradient with respect to out)
 * it ADDS the parameter gradients into tnn_layer_grad() and writes the
 * input gradient into din (same shape as in), unless din is NULL. din
 * must not share memory with in, out or dout: a layer may read them
 * after it has written din (the results are unspecified otherwise).
 * TNN_E_STATE if the last forward was not in TNN_MODE_TRAIN (an eval-mode
 * forward keeps nothing for a backward pass, so gradients through a frozen
 * layer need a training-mode forward: for dropout and batch-norm that is
 * the training behaviour) or had another batch size. */
TNN_API int tnn_layer_backward(tnn_layer *layer, const tnn_tensor *in,
                               const tnn_tensor *out, const tnn_tensor *dout,
                               tnn_tensor *din);

/* Set every parameter gradient of the layer to 0. */
TNN_API int tnn_layer_zero_grad(tnn_layer *layer);

/* (since 1.7) A new layer of the same kind and configuration as layer,
 * with copies of its parameters, batch-norm statistics and trainable
 * flag, owned by the caller and in no model. Added to a model it keeps
 * those parameters (see tnn_model_add()): this is how a layer is copied
 * from one model into another. A layer that is bound to an input shape (in
 * a model, or run) is copied unbound when its kind takes its width from
 * its input. NULL on failure (TNN_E_INVALID for NULL, TNN_E_NOMEM). */
TNN_API tnn_layer *tnn_layer_clone(const tnn_layer *layer);

/* ------------------------------------------------------------------------ */
/* Losses                                                   (since 1.1)     */
/* ------------------------------------------------------------------------ */

enum tnn_loss_kind {
    /* J = 1/(2m) * sum over the m rows and all outputs of (p - t)^2, the
     * cost of the textbook linear regression; dJ/dp = (p - t) / m. It is
     * half the sum-of-squares per row, so it equals
     * outputs / 2 * mean-of-squares (Keras' and PyTorch's "mse"). */
    TNN_LOSS_MSE = 0,
    /* Softmax cross-entropy on logits z, with t a probability row (entries
     * finite and >= 0, e.g. one-hot) or a class index:
     * J = 1/m * sum_rows sum_c t_c * (logsumexp(z) - z_c),
     * dJ/dz = (softmax(z) * sum_c t_c - t) / m, i.e. (softmax(z) - t) / m
     * for rows that sum to 1. (since 1.11) On (time, classes) outputs
     * each step is a row: m counts the steps of all samples (PyTorch's
     * mean over every position), the labels are a class per step, (rows,
     * time), or a distribution per step, and accuracy counts steps. */
    TNN_LOSS_CROSS_ENTROPY = 1,
    /* 2 is no loss: releases before 1.7 refused it, as they still do. */
    /* (since 1.7) Mean absolute error over all m * k values (PyTorch's
     * L1Loss, Keras' "mae"): J = 1/(m k) * sum |p - t|; dJ/dp = sign(p - t)
     * / (m k), 0 where p = t. */
    TNN_LOSS_MAE = 3,
    /* (since 1.7) Huber loss with threshold delta (default 1; see
     * tnn_model_set_huber_delta()), mean over all m * k values (PyTorch's
     * HuberLoss): 0.5 d^2 where |d| <= delta, else delta (|d| - delta / 2),
     * d = p - t. */
    TNN_LOSS_HUBER = 4,
    /* (since 1.7) Binary cross-entropy on logits z with targets t in
     * [0, 1], mean over all m * k values (PyTorch's BCEWithLogitsLoss):
     * max(z, 0) - z t + log(1 + exp(-|z|)); dJ/dz = (sigmoid(z) - t) /
     * (m k). With a sigmoid last layer, training takes its input as the
     * logits (as cross-entropy does with softmax). */
    TNN_LOSS_BINARY_CROSS_ENTROPY = 5
};

/* MSE of pred against target (same shape, 2-D (m, k)). Writes J into
 * *loss (may be NULL) and dJ/dpred into grad (same shape; may be NULL).
 * Sums run in double. */
TNN_API int tnn_loss_mse(const tnn_tensor *pred, const tnn_tensor *target,
                         double *loss, tnn_tensor *grad);

/* Softmax cross-entropy of logits (m, classes). labels is either 1-D (m)
 * of class indices stored as floats (integers in [0, classes)), or 2-D
 * (m, classes) of probability rows whose entries are finite and >= 0 (rows
 * need not sum to 1; see TNN_LOSS_CROSS_ENTROPY); any other label is
 * TNN_E_INVALID naming its row (and column), and nothing is written.
 * Models check labels the same way before any work. Computed with
 * log-sum-exp, so finite for any finite logits; a row with a NaN logit
 * gives a NaN loss and gradient. Writes J into *loss, dJ/dlogits into
 * grad, and the fraction of rows whose largest logit is the label (for
 * probability rows: the label row's largest entry; a row with a NaN logit
 * never counts) into *accuracy; each may be NULL. */
TNN_API int tnn_loss_cross_entropy(const tnn_tensor *logits,
                                   const tnn_tensor *labels, double *loss,
                                   tnn_tensor *grad, double *accuracy);

/* (since 1.7) Mean absolute error of pred against target (same shape, 2-D
 * (m, k)), as TNN_LOSS_MAE; loss and grad as for tnn_loss_mse(). */
TNN_API int tnn_loss_mae(const tnn_tensor *pred, const tnn_tensor *target,
                         double *loss, tnn_tensor *grad);

/* (since 1.7) Huber loss of pred against target (same shape, 2-D) with
 * threshold delta (finite, > 0), as TNN_LOSS_HUBER. */
TNN_API int tnn_loss_huber(const tnn_tensor *pred, const tnn_tensor *target,
                           float delta, double *loss, tnn_tensor *grad);

/* (since 1.7) Binary cross-entropy of logits (m, k) against targets of the
 * same shape, each finite and in [0, 1] (TNN_E_INVALID naming the row and
 * column otherwise, nothing written), as TNN_LOSS_BINARY_CROSS_ENTROPY;
 * finite for any finite logits. *accuracy (may be NULL): the fraction of
 * values where (logit > 0) equals (target > 0.5), Keras' binary accuracy;
 * a NaN logit never counts. */
TNN_API int tnn_loss_binary_cross_entropy(const tnn_tensor *logits,
                                          const tnn_tensor *targets,
                                          double *loss, tnn_tensor *grad,
                                          double *accuracy);

/* ------------------------------------------------------------------------ */
/* Optimizers                                               (since 1.1)     */
/* ------------------------------------------------------------------------ */

/* An optimizer updates the parameters of the model that owns it from their
 * gradients, once per training step. On x86 the update runs with
 * flush-to-zero and denormals-are-zero (since 1.4): a value of its
 * arithmetic that would be subnormal (below FLT_MIN in magnitude) is 0,
 * so that state decaying towards zero (moments, velocities of parameters
 * whose gradient stays 0) reaches 0 instead of slowing every update. The
 * update otherwise runs in the caller's mode (rounding direction) on
 * every thread that shares it, and the caller's mode is as it was when the
 * call returns. */
typedef struct tnn_optim tnn_optim;

/* SGD with learning rate lr > 0. With momentum mu (default 0) it keeps a
 * velocity v = mu * v + g and steps w -= lr * v; Nesterov steps
 * w -= lr * (g + mu * v) (the PyTorch formulation). */
TNN_API tnn_optim *tnn_sgd_new(float lr);

/* Set the momentum mu of an SGD optimizer (0 by default, plain gradient
 * descent; the update is given at tnn_sgd_new()). TNN_E_INVALID if sgd
 * is NULL or an Adam optimizer, or momentum is outside [0, 1);
 * TNN_E_STATE while its model trains. */
TNN_API int tnn_sgd_set_momentum(tnn_optim *sgd, float momentum);

/* Nesterov momentum on (1) or off (0, default); needs momentum > 0 to
 * make a difference. */
TNN_API int tnn_sgd_set_nesterov(tnn_optim *sgd, int nesterov);

/* Adam with learning rate lr > 0, beta1 0.9, beta2 0.999, eps 1e-7. At step
 * t = 1, 2, ...: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). */
TNN_API tnn_optim *tnn_adam_new(float lr);

/* Set Adam's moment decays beta1 and beta2 (0.9 and 0.999 by default),
 * each in [0, 1), and its eps (1e-7 by default), finite and > 0; the
 * update is given at tnn_adam_new(). TNN_E_INVALID if adam is NULL or an
 * SGD optimizer, or for a value out of range; TNN_E_STATE while its model
 * trains. */
TNN_API int tnn_adam_set_betas(tnn_optim *adam, float beta1, float beta2);
TNN_API int tnn_adam_set_eps(tnn_optim *adam, float eps);

/* Weight decay lambda >= 0 (default 0), applied to the parameters chosen
 * by tnn_optim_set_decay_all().
 * Coupled (the default, "L2"): g += lambda * w before the update, which is
 * gradient descent on loss + lambda/2 * sum w^2.
 * Decoupled (Adam only, "AdamW"): w -= lr * lambda * w beside the Adam
 * step, g untouched. */
TNN_API int tnn_optim_set_weight_decay(tnn_optim *opt, float lambda);
TNN_API float tnn_optim_weight_decay(const tnn_optim *opt);

/* Weight decay of an Adam optimizer decoupled (1, "AdamW") or coupled
 * (0, the default), as tnn_optim_set_weight_decay() describes.
 * TNN_E_INVALID for NULL, an SGD optimizer, or a value other than 0 and 1;
 * TNN_E_STATE while its model trains. */
TNN_API int tnn_adam_set_decoupled(tnn_optim *adam, int decoupled);

/* By default (0) weight decay touches the weights of dense and conv2d
 * layers (their kernels) only, not biases or batch-norm parameters; 1
 * applies it to every parameter. */
TNN_API int tnn_optim_set_decay_all(tnn_optim *opt, int all);

/* Set and read an optimizer's base learning rate, finite and > 0; a
 * schedule (tnn_optim_set_step_schedule(),
 * tnn_optim_set_cosine_schedule()) scales it at each step, and
 * tnn_optim_current_lr() gives the rate the next step uses. It may be changed
 * during tnn_model_fit(), from a callback. TNN_E_INVALID for a NULL optimizer,
 * a rate out of range, or one below a cosine schedule's min_lr. The getter
 * gives 0 for NULL. */
TNN_API int tnn_optim_set_lr(tnn_optim *opt, float lr);
TNN_API float tnn_optim_lr(const tnn_optim *opt);

/* Learning rate the next step will use, after the schedule. */
TNN_API float tnn_optim_current_lr(const tnn_optim *opt);

/* Number of update steps taken so far. */
TNN_API long tnn_optim_steps(const tnn_optim *opt);

/* Step schedule: lr_t = lr * gamma^floor(t / step_size), t the number of
 * steps taken, step_size >= 1, 0 < gamma <= 1. */
TNN_API int tnn_optim_set_step_schedule(tnn_optim *opt, long step_size,
                                        float gamma);

/* Cosine schedule: lr_t = min_lr + (lr - min_lr) * (1 + cos(pi * s)) / 2,
 * s = min(t, total_steps) / total_steps; total_steps >= 1,
 * 0 <= min_lr <= lr. */
TNN_API int tnn_optim_set_cosine_schedule(tnn_optim *opt, long total_steps,
                                          float min_lr);

/* Back to a constant learning rate. */
TNN_API int tnn_optim_clear_schedule(tnn_optim *opt);

/* (since 1.6) Gradient clipping, applied to the gradients of every
 * trainable parameter just before each update (tnn_model_apply_gradients(),
 * and so tnn_model_train_batch() and tnn_model_fit()), before weight
 * decay: first each value is clamped into [-clip, clip] (PyTorch's
 * clip_grad_value_; a NaN stays NaN), then, with n the L2 norm of all
 * those gradients together, each is multiplied by min(1, max_norm / (n +
 * 1e-6)) (PyTorch's clip_grad_norm_: a NaN or infinite norm makes the
 * gradients NaN or 0, which the finiteness check reports). 0 turns a
 * clipping off (the default); otherwise finite and > 0. Saved in model
 * files with the optimizer (format version 4). */
TNN_API int tnn_optim_set_clip_value(tnn_optim *opt, float clip);
TNN_API float tnn_optim_clip_value(const tnn_optim *opt);
TNN_API int tnn_optim_set_clip_norm(tnn_optim *opt, float max_norm);
TNN_API float tnn_optim_clip_norm(const tnn_optim *opt);

/* Release an optimizer no model owns. NULL does nothing. An optimizer
 * owned by a model is left alone (its model frees it): the call then only
 * records TNN_E_STATE in tnn_last_error(). */
TNN_API void tnn_optim_free(tnn_optim *opt);

/* ------------------------------------------------------------------------ */
/* Models                                                   (since 1.1)     */
/* ------------------------------------------------------------------------ */

/* A sequential model: layers applied in order to rows of input_features
 * values. It owns its layers, its optimizer and a seeded generator from
 * which every random choice (initialisation, dropout, shuffling) comes. */
typedef struct tnn_model tnn_model;

/* Progress of tnn_model_fit(), read through the tnn_progress_*() getters;
 * valid only during the callback. */
typedef struct tnn_progress tnn_progress;

/* Called by tnn_model_fit() after each batch and each epoch; return 0 to
 * go on, anything else to stop training (fit then returns TNN_OK). */
typedef int (*tnn_fit_callback)(const tnn_progress *progress, void *user);

enum tnn_event { TNN_EVENT_BATCH_END = 1, TNN_EVENT_EPOCH_END = 2 };

/* New empty model for rows of input_features (>= 1) values, generator
 * seeded with 0, loss TNN_LOSS_MSE, no optimizer. Owned by the caller. */
TNN_API tnn_model *tnn_model_new(size_t input_features);

/* (since 1.3) New empty model for images of channels x height x width
 * (each >= 1), as tnn_model_new() otherwise. Its input tensors are
 * (batch, channels, height, width) or (batch, channels * height * width). */
TNN_API tnn_model *tnn_model_new_image(size_t channels, size_t height,
                                       size_t width);

/* (since 1.10) New empty model for sequences of time steps of features
 * values each (both >= 1), as tnn_model_new() otherwise. Its input
 * tensors are (batch, time, features) or (batch, time * features); the
 * summary shows its shapes as (time, features). */
TNN_API tnn_model *tnn_model_new_sequence(size_t time, size_t features);

/* (since 1.11) New empty model for sequences of time token ids, each an
 * integer in [0, vocabulary) (both >= 1; vocabulary at most 2^24, the
 * integers a float holds exactly), as tnn_model_new() otherwise. Its
 * input tensors are (batch, time) and its first layer must be an
 * embedding (tnn_embedding_new()) of at least vocabulary ids: other
 * layers are refused with TNN_E_SHAPE. Every id of every input is checked
 * before any computation; one that is no such integer is refused with
 * TNN_E_INVALID naming its row and step. */
TNN_API tnn_model *tnn_model_new_tokens(size_t time, size_t vocabulary);

/* Release a model with its layers and optimizer. NULL does nothing. */
TNN_API void tnn_model_free(tnn_model *model);

/* Append layer, taking ownership: on failure the layer is freed, except
 * when it already belongs to a model (this one or another), which is
 * TNN_E_STATE and changes nothing: a layer has one owner. Its parameters
 * are initialised from the model's generator, except (since 1.7) for a
 * layer from tnn_layer_clone(), tnn_model_pop() or tnn_model_replace(),
 * which keeps its own. TNN_E_SHAPE if its input width differs from the
 * current output width. */
TNN_API int tnn_model_add(tnn_model *model, tnn_layer *layer);

/* (since 1.7) Remove the last layer and hand it to the caller, who owns
 * it (free it, or add it to a model, where it keeps its parameters); a
 * kind that takes its shape from its input (activations, dropout,
 * batch-norm, conv2d, pooling, flatten) forgets the shape this model gave
 * it, a dense layer keeps its widths. NULL if the model has none
 * (TNN_E_STATE). The optimizer's state is reset, as tnn_model_add()
 * does: its per-parameter values (Adam's moments, momentum), not its step
 * count, learning rate or schedule. */
TNN_API tnn_layer *tnn_model_pop(tnn_model *model);

/* (since 1.7) Insert layer before layer index (0 <= index <= layers, else
 * TNN_E_INVALID; index = layers appends), taking ownership as
 * tnn_model_add() does. The layer must accept the shape before it and give
 * the shape the next layer takes (TNN_E_SHAPE otherwise, and nothing
 * changes). The optimizer's per-parameter state is reset. */
TNN_API int tnn_model_insert(tnn_model *model, size_t index, tnn_layer *layer);

/* (since 1.7) Replace layer index (< layers, else TNN_E_INVALID) by
 * layer, taking ownership of it as tnn_model_add() does; the layer
 * replaced goes to *old, owned by the caller (with its parameters, as from
 * tnn_model_pop()), or is freed when old is NULL. The same shape rule as
 * tnn_model_insert(), except that a new last layer may give any shape (a
 * new head). *old is NULL on failure. */
TNN_API int tnn_model_replace(tnn_model *model, size_t index, tnn_layer *layer,
                              tnn_layer **old);

/* Number of layers, and borrowed layer i (NULL if out of range). */
TNN_API size_t tnn_model_num_layers(const tnn_model *model);
TNN_API tnn_layer *tnn_model_layer(tnn_model *model, size_t i);

/* Input width and current output width. */
TNN_API size_t tnn_model_in_features(const tnn_model *model);
TNN_API size_t tnn_model_out_features(const tnn_model *model);

/* Total number of scalar parameters (trainable and frozen). */
TNN_API size_t tnn_model_num_params(const tnn_model *model);

/* Write a table of the layers, output shapes and parameter counts into
 * buf (size bytes, always NUL-terminated when size > 0). *needed (may be
 * NULL) receives the length of the whole text without the NUL; the text
 * is complete if *needed < size. buf NULL with size 0 only measures.
 * Since 1.7 batch-norm's running statistics count as non-trainable
 * parameters, as Keras counts them (tnn_model_num_params() counts the
 * parameters alone). */
TNN_API int tnn_model_summary(const tnn_model *model, char *buf, size_t size,
                              size_t *needed);

/* Reseed the generator and re-initialise every layer (parameters,
 * batch-norm statistics) as if the layers had been added after seeding:
 * same seed, same thread count, same build give bit-identical training. */
TNN_API int tnn_model_set_seed(tnn_model *model, uint64_t seed);

/* The model's generator (borrowed), e.g. for a layer run alone. */
TNN_API tnn_rng *tnn_model_rng(tnn_model *model);

/* Loss used by training and evaluation (enum tnn_loss_kind). With
 * TNN_LOSS_CROSS_ENTROPY and a softmax last layer, or (since 1.7)
 * TNN_LOSS_BINARY_CROSS_ENTROPY and a sigmoid last layer, training
 * computes the loss from that layer's input (the logits) and skips it,
 * while prediction returns probabilities; without it the model's outputs
 * are the logits. TNN_E_INVALID for a value that is no enum tnn_loss_kind
 * (2 included). */
TNN_API int tnn_model_set_loss(tnn_model *model, int loss);

/* (since 1.7) Threshold delta (finite, > 0; default 1) of TNN_LOSS_HUBER,
 * saved with the model: TNN_E_INVALID otherwise (a NULL model too),
 * TNN_E_STATE from a fit callback. A delta other than 1 makes the model's
 * files format 5 (docs/format.md). tnn_model_huber_delta(NULL) gives 0. */
TNN_API int tnn_model_set_huber_delta(tnn_model *model, float delta);
TNN_API float tnn_model_huber_delta(const tnn_model *model);

/* Give the model its optimizer, taking ownership (a previous one is
 * freed); on failure opt is freed, except when it already belongs to
 * another model, which is TNN_E_STATE and changes nothing. Giving the
 * model the optimizer it has is no change. NULL removes the optimizer. */
TNN_API int tnn_model_set_optim(tnn_model *model, tnn_optim *opt);

/* Borrowed optimizer, NULL if none. */
TNN_API tnn_optim *tnn_model_optim(tnn_model *model);

/* Mode read by every layer in tnn_model_forward() (enum tnn_mode;
 * TNN_MODE_EVAL initially). Training calls use training mode and
 * evaluation calls eval mode whatever this says. */
TNN_API int tnn_model_set_mode(tnn_model *model, int mode);
TNN_API int tnn_model_mode(const tnn_model *model);

/* Training always stops with TNN_E_NUMERIC, naming the epoch and step,
 * when a batch's loss is NaN or infinite (since 1.4; that check costs
 * nothing). With on = 1 (off by default) every step also checks, before
 * it writes anything, that its update leaves every trainable parameter
 * and the optimizer's state finite. Either failure leaves the model as it
 * was before that step: parameters, optimizer state and step count,
 * batch-norm statistics and generator; the gradients are discarded. In
 * tnn_model_fit() the steps before the failing one stand, and so does
 * the shuffle of its epoch, drawn from the generator before it. */
TNN_API int tnn_model_set_check_finite(tnn_model *model, int on);

/* (since 1.4) The bound on the values (floats) one sample occupies in the
 * model's buffers: the input row, every layer's output and its gradient,
 * and the layers' own per-sample state (conv2d's patch matrix and
 * channels-last product, the max-pooling positions, the dropout mask,
 * batch-norm's normalised inputs). Training, evaluation and prediction
 * refuse a model above it with TNN_E_INVALID naming the layer and the
 * size, before they allocate: a batch then takes at most about 4 bytes
 * times the bound times its rows. A layer run alone through
 * tnn_layer_forward() is held to its model's bound, or to the default
 * when no model owns it. Not saved in model files; a loaded model starts
 * at the default. values >= the model's input size. */
#define TNN_DEFAULT_MAX_SAMPLE_VALUES ((size_t)1 << 24)
TNN_API int tnn_model_set_max_sample_values(tnn_model *model, size_t values);

/* (since 1.4) The per-sample bound of tnn_model_set_max_sample_values();
 * 0 for NULL. */
TNN_API size_t tnn_model_max_sample_values(const tnn_model *model);

/* One training step on the batch x (m, in_features), y (labels as the
 * loss expects): forward, loss, backward, optimizer update. *loss (may be
 * NULL) receives the batch loss before the update: the loss function's
 * value alone, without the weight-decay (L2) penalty, as in the loss that
 * tnn_model_fit() and tnn_model_evaluate() report. Needs an optimizer.
 * The same as tnn_model_compute_gradients() then
 * tnn_model_apply_gradients(), in one call: whatever the gradient tensors
 * held before is added to, and they are zero afterwards. */
TNN_API int tnn_model_train_batch(tnn_model *model, const tnn_tensor *x,
                                  const tnn_tensor *y, double *loss);

/* (since 1.6) The first half of a training step: forward in training
 * mode, loss, backward. *loss (may be NULL) receives the batch loss. The
 * gradient of the batch's mean loss is ADDED into the gradient tensor of
 * every trainable parameter (tnn_layer_grad()); frozen layers' gradient
 * tensors are overwritten with theirs. Batch-norm's running statistics
 * and the generator (dropout) advance as in a step. Needs no optimizer.
 * A failure (a refused label, a non-finite loss) changes nothing.
 *
 * What tnn_layer_grad() holds: zero after tnn_model_apply_gradients(),
 * tnn_model_train_batch() and inside tnn_model_fit() (and so in its
 * callbacks: each step consumes its gradients); after this call, what it
 * held plus this batch's gradient, so that several calls add up (gradient
 * accumulation: for the mean over k equal batches, scale by 1/k). Values
 * written into it between this call and the next apply are what the
 * optimizer uses (custom clipping, scaling, inspection);
 * tnn_layer_zero_grad() starts again from zero. */
TNN_API int tnn_model_compute_gradients(tnn_model *model, const tnn_tensor *x,
                                        const tnn_tensor *y, double *loss);

/* (since 1.6) The second half of a training step: the optimizer's update
 * of every trainable parameter from its gradient tensor as it stands
 * (after the optimizer's clipping), one step counted; the gradients are
 * zero afterwards. Needs an optimizer. With tnn_model_set_check_finite()
 * on, an update that would write a non-finite value is refused with
 * TNN_E_NUMERIC: parameters and optimizer state stay, the gradients are
 * zeroed. TNN_E_NOMEM (the optimizer's state) changes nothing. */
TNN_API int tnn_model_apply_gradients(tnn_model *model);

/* (since 1.6) Replicas: copies of one model, in several processes (or
 * threads, or machines), that train as one on a global batch split among
 * them (data parallelism). The library calls fn(buf, count, ctx), which
 * must replace the count floats at buf by their sum over all replicas
 * (every replica calls it with the same count, in the same order) and
 * return 0, or non-zero on failure. MPI programs use libtinynn-mpi's
 * tnn_mpi_attach(), which installs MPI_Allreduce; threads can sum in
 * shared memory.
 *
 * With a hook, each step (tnn_model_compute_gradients(), and so
 * tnn_model_train_batch() and tnn_model_fit()) calls it once, after the
 * backward, on one buffer: every trainable gradient times this replica's
 * rows, then the rows, the loss sum and the correct answers. Afterwards
 * every replica holds the gradient of the mean loss over all replicas'
 * rows (a replica with 0 rows takes part and adds nothing), and reports
 * the global loss; the updates that follow are identical. evaluate (and
 * fit's validation) calls it once on the three figures. A hook that fails
 * fails the step with TNN_E_IO: parameters, optimizer state, batch-norm
 * statistics and the generator stay as before, the gradients are zeroed.
 * A non-finite loss on any replica fails the step on every replica.
 * Argument errors are found before the hook, on the replica that made
 * them only: the others then wait in the hook (MPI: until the job ends).
 * fn NULL removes the hook. Not saved in model files. */
typedef int (*tnn_allreduce_fn)(float *buf, size_t count, void *ctx);
TNN_API int tnn_model_set_allreduce(tnn_model *model, tnn_allreduce_fn fn,
                                    void *ctx);

/* (since 1.6) Make the model replica index of count (index < count): fit
 * then trains each global batch of batch_size rows on its contiguous
 * slice only (rows [b * index / count, b * (index + 1) / count) of a batch
 * of b rows, the shuffle being the same on every replica, which share the
 * seed), and evaluate (and fit's validation) evaluates its slice of the
 * data; the figures and gradients are summed by the hook, which count > 1
 * needs (TNN_E_STATE at fit and evaluate otherwise). Dropout then draws
 * each row's mask from a stream keyed by the generator (one draw a step)
 * and the row's index in the global batch, so that masks do not depend
 * on count: a sharded run on any count of replicas (1 included) trains
 * the model a run on one replica does, within reduction rounding
 * (docs/distributed.md). tnn_model_train_batch() and
 * tnn_model_compute_gradients() take the rows given, numbered from 0 on
 * each replica. count 0 ends the sharding (index must be 0). */
TNN_API int tnn_model_set_shard(tnn_model *model, size_t index, size_t count);

/* (since 1.6) With on (1) and a hook, batch-norm layers compute their
 * training statistics over every replica's rows: their forward sums the
 * per-channel sums and then the centred squares over the replicas, their
 * backward the two sums of the input gradient (two hook calls and one
 * more per batch-norm layer a step, on 2 channels + 1 floats at most; a
 * replica with no rows takes part with zeros). The replicas then train
 * the model one process trains on the global batch, running statistics
 * included, which otherwise are each replica's own. Off (0) by default;
 * not saved in model files. */
TNN_API int tnn_model_set_sync_batchnorm(tnn_model *model, int on);

/* Train for epochs passes over (x, y) in batches of batch_size rows (the
 * last one may be smaller), the rows shuffled by the model's generator
 * before each epoch when shuffle is 1. After each epoch, if x_val and
 * y_val are given (both or neither), they are evaluated. callback (may be
 * NULL) sees every batch and epoch. */
TNN_API int tnn_model_fit(tnn_model *model, const tnn_tensor *x,
                          const tnn_tensor *y, const tnn_tensor *x_val,
                          const tnn_tensor *y_val, int epochs,
                          size_t batch_size, int shuffle,
                          tnn_fit_callback callback, void *user);

/* Loss and accuracy of the model on (x, y) in eval mode: the loss
 * function's value without the weight-decay penalty; the accuracy for
 * cross-entropy (the predicted class is the label's) and binary
 * cross-entropy (Keras' binary accuracy, see tnn_loss_binary_cross_entropy),
 * NaN for the regression losses. Either output may be NULL. */
TNN_API int tnn_model_evaluate(tnn_model *model, const tnn_tensor *x,
                               const tnn_tensor *y, double *loss,
                               double *accuracy);

/* Outputs for x (m, in_features) into out (m, out_features) in eval mode;
 * any m. */
TNN_API int tnn_model_predict(tnn_model *model, const tnn_tensor *x,
                              tnn_tensor *out);

/* Outputs for x into out in the model's current mode (tnn_model_mode()). */
TNN_API int tnn_model_forward(tnn_model *model, const tnn_tensor *x,
                              tnn_tensor *out);

/* Getters of tnn_progress. epoch and batch count from 0; loss and accuracy
 * are running means over the epoch so far (accuracy as
 * tnn_model_evaluate() gives it: NaN for MSE, MAE and Huber);
 * val_loss and val_accuracy are NaN unless the event is
 * TNN_EVENT_EPOCH_END with validation data; seconds is the time since the
 * epoch started. On NULL the integer getters give 0, the others NaN. */
TNN_API int tnn_progress_event(const tnn_progress *p);
TNN_API int tnn_progress_epoch(const tnn_progress *p);
TNN_API int tnn_progress_epochs(const tnn_progress *p);
TNN_API size_t tnn_progress_batch(const tnn_progress *p);
TNN_API size_t tnn_progress_batches(const tnn_progress *p);
TNN_API double tnn_progress_loss(const tnn_progress *p);
TNN_API double tnn_progress_accuracy(const tnn_progress *p);
TNN_API double tnn_progress_val_loss(const tnn_progress *p);
TNN_API double tnn_progress_val_accuracy(const tnn_progress *p);
TNN_API double tnn_progress_seconds(const tnn_progress *p);

/* (since 1.7) The model being trained (borrowed), or NULL for NULL. While
 * its fit runs, a callback may read it (getters, tnn_model_evaluate() and
 * tnn_model_predict() are refused: they would reuse its buffers) and may
 * change the learning rate of its optimizer (tnn_optim_set_lr(), and the
 * schedules); every call that changes layers, parameters, loss or
 * optimizer settings is refused with TNN_E_STATE. */
TNN_API tnn_model *tnn_progress_model(const tnn_progress *p);

/* ------------------------------------------------------------------------ */
/* Callbacks                                                (since 1.7)     */
/* ------------------------------------------------------------------------ */

/* A list of callbacks run in the order added, itself a tnn_fit_callback:
 * pass tnn_callbacks_run and the list to tnn_model_fit(). Training stops
 * when any of them asks; the others still see that event. A list may serve
 * several fits one after the other (each callback starts afresh when a new
 * fit begins) but not two at once. Owned by the caller; it must outlive
 * the fits that use it. */
typedef struct tnn_callbacks tnn_callbacks;

/* What a ready-made callback watches, at the end of each epoch. The
 * validation values need validation data in the fit, the accuracies a
 * loss that gives one: a monitored value that is NaN at the fit's first
 * epoch end makes the callback record TNN_E_STATE in tnn_last_error() and
 * stop training (tnn_model_fit() then returns TNN_OK, as for any stop
 * asked by a callback: clear the error before the fit to tell). A value
 * that becomes NaN later counts as no improvement. */
enum tnn_monitor {
    TNN_MONITOR_LOSS = 1,
    TNN_MONITOR_ACCURACY = 2,
    TNN_MONITOR_VAL_LOSS = 3,
    TNN_MONITOR_VAL_ACCURACY = 4
};

/* New empty list; NULL on failure. */
TNN_API tnn_callbacks *tnn_callbacks_new(void);

/* Release a list and the callbacks it made. NULL does nothing. */
TNN_API void tnn_callbacks_free(tnn_callbacks *list);

/* Append the caller's callback fn with its user pointer. */
TNN_API int tnn_callbacks_add(tnn_callbacks *list, tnn_fit_callback fn,
                              void *user);

/* Append a progress printer: at each epoch's end one line to stream (not
 * closed by the library), as Keras prints it:
 * "Epoch 2/5 - 938/938 - 3.1s - loss: 0.0712 - accuracy: 0.9781" then
 * " - val_loss: ... - val_accuracy: ..." with validation data; the
 * accuracies only for classification losses. Nothing else is printed.
 * Numbers always use '.', whatever the locale. A failed write records
 * TNN_E_IO once per fit; training goes on. */
TNN_API int tnn_callbacks_add_progress(tnn_callbacks *list, FILE *stream);

/* Append early stopping: stop when the monitored value has not improved
 * by more than min_delta (>= 0; a loss must fall, an accuracy rise) for
 * patience (>= 0) epochs in a row; patience 0 and 1 both stop at the first
 * epoch without improvement. With restore_best 1, the parameters (and
 * batch-norm statistics) of the best epoch are put back when training
 * ends, stopped early, at its last epoch or by another callback of the
 * list; 0 keeps the last. The optimizer's state is not put back. The copy
 * of the best epoch is allocated when the fit begins; if that fails,
 * TNN_E_NOMEM is recorded, as any callback's failure is, and training
 * stops. A fit that fails
 * (say with TNN_E_NUMERIC) does not tell the list, which restores
 * nothing then. */
TNN_API int tnn_callbacks_add_early_stopping(tnn_callbacks *list, int monitor,
                                             int patience, double min_delta,
                                             int restore_best);

/* Append reduce-learning-rate-on-plateau: when the monitored value has not
 * improved by more than min_delta (>= 0) for patience (>= 0) epochs in a
 * row, multiply the optimizer's learning rate by factor (in (0, 1)), not
 * going below min_lr (>= 0), then wait patience epochs again. */
TNN_API int tnn_callbacks_add_reduce_lr(tnn_callbacks *list, int monitor,
                                        double factor, int patience,
                                        double min_delta, double min_lr);

/* Run the list's callbacks on progress: a tnn_fit_callback, with the list
 * as its user pointer. A callback added while a fit runs the list sees the
 * events from then on. Returns 1 to stop training, else 0; 1 with
 * TNN_E_INVALID recorded for a NULL progress or list. */
TNN_API int tnn_callbacks_run(const tnn_progress *progress, void *list);

/* The epoch (from 0) after which early stopping stopped the last fit, or
 * -1 if it did not (or stopped for an error), if the list has none, or
 * for NULL. */
TNN_API int tnn_callbacks_stopped_epoch(const tnn_callbacks *list);

/* ------------------------------------------------------------------------ */
/* Data files                                               (since 1.1)     */
/* ------------------------------------------------------------------------ */

/* Flags of tnn_idx_load(). */
enum tnn_idx_flags {
    /* Divide the unsigned bytes by 255, giving values in [0, 1]. */
    TNN_IDX_SCALE = 1,
    /* Return (n, product of the other dims) instead of the file's shape. */
    TNN_IDX_FLATTEN = 2
};

/* Read an IDX file of unsigned bytes (the MNIST format: big-endian magic
 * 0x00000801 for 1-D labels ... 0x00000804 for 4-D, then the dims as
 * big-endian uint32, then the data) into a new float tensor *out, owned by
 * the caller. Without TNN_IDX_SCALE the bytes come out as their values, so
 * labels are class indices (0.0f, 1.0f, ...). TNN_IDX_FLATTEN leaves a 1-D
 * file 1-D. Only regular files are read (a FIFO or device is refused at
 * once, without waiting for a writer); the size is checked against the
 * header before anything is allocated.
 * Errors (*out is then NULL): TNN_E_INVALID for NULL path or out, or
 * unknown flag bits; TNN_E_IO if the file cannot be opened or read, or is
 * not a regular file; TNN_E_FORMAT for a wrong magic, an element type other
 * than unsigned byte, 0 or more than 4 dims, a zero dimension, or dims
 * whose product overflows size_t; TNN_E_CORRUPT for a truncated header or
 * data shorter or longer than the header says; TNN_E_NOMEM. */
TNN_API int tnn_idx_load(const char *path, int flags, tnn_tensor **out);

/* As tnn_idx_load(), from the file image of size bytes at data (NULL data
 * is TNN_E_INVALID); data is not kept after the call. */
TNN_API int tnn_idx_load_buffer(const void *data, size_t size, int flags,
                                tnn_tensor **out);

/* Flags of tnn_csv_load(). Without either, the first line is a header if
 * any of its fields is not a number. */
enum tnn_csv_flags {
    /* The first line names the columns. */
    TNN_CSV_HEADER = 1,
    /* The first line is data. */
    TNN_CSV_NO_HEADER = 2
};

/* (since 1.7) Read a numeric table from a text file into new tensors: *x
 * (rows, columns not chosen as targets) and *y (rows, the target columns in
 * the order given), both owned by the caller.
 * - Fields are separated by delimiter: ',', ';', '\t', or ' ' for runs of
 *   spaces and tabs; 0 detects it from the first data line: whichever of
 *   ',', ';', '\t' comes first on it outside double quotes, else runs of
 *   blanks.
 * - Fields are decimal numbers in the C locale's syntax whatever the
 *   program's locale (sign, digits, fraction, exponent), or nan, inf or
 *   infinity in any case with an optional sign, optionally in double
 *   quotes and surrounded by blanks, correctly rounded to float; values
 *   below the float range round to 0 or a subnormal. For header detection
 *   "not a number" means not in this syntax. Lines end in "\n" or "\r\n";
 *   lines that are empty or hold only blanks, and lines whose first
 *   character is '#', are skipped; a UTF-8 byte order mark is ignored. In
 *   a line a quoting error is reported first, then a wrong field count,
 *   then the first bad value.
 * - targets: NULL or "" for none (then *y is NULL, and y may be NULL),
 *   else a comma-separated list of columns, each a 0-based index ([+-]
 *   digits is always an index), a negative index from the end (-1: the
 *   last), or a header name, matched exactly (a name two columns share is
 *   refused). Targets need y.
 * - A file starting with the gzip magic is decompressed when the library
 *   was built with zlib (tnn_csv_load() only; TNN_E_FORMAT otherwise);
 *   concatenated members are read; a corrupt, truncated or trailing-junk
 *   stream is TNN_E_CORRUPT, and more than 1 GiB inflated TNN_E_FORMAT.
 * Errors (*x and *y are then NULL): TNN_E_INVALID for NULL path or x, an
 * unknown flag or both, a delimiter other than those, a bad or repeated
 * target, a name without a header, or every column a target; TNN_E_IO if
 * the file cannot be read; TNN_E_FORMAT naming the line and column of
 * every field that is not a number or does not fit in a float, of a line
 * with another field count than the first, and for a file without data
 * lines; TNN_E_NOMEM. */
TNN_API int tnn_csv_load(const char *path, int flags, char delimiter,
                         const char *targets, tnn_tensor **x, tnn_tensor **y);

/* (since 1.7) tnn_csv_load() from size bytes at data (no gzip: data
 * starting with the gzip magic is TNN_E_FORMAT). */
TNN_API int tnn_csv_load_buffer(const void *data, size_t size, int flags,
                                char delimiter, const char *targets,
                                tnn_tensor **x, tnn_tensor **y);

/* (since 1.7) Split rows into training and test views
 * (tnn_tensor_view_rows()): with rng (may be NULL) the rows of x and y are
 * first shuffled together in place (tnn_tensor_shuffle_rows()); then the last
 * ceil(test_fraction * rows) rows are the test set and the others the training
 * set, as scikit-learn's train_test_split. test_fraction in (0, 1) and both
 * sets non-empty (TNN_E_INVALID). y may be NULL, and then y_train and y_test
 * are not written (and may be NULL). TNN_E_INVALID for NULL x, x_train or
 * x_test, for NULL y_train or y_test when y is given, and for x and y
 * sharing storage when rng is given; TNN_E_SHAPE when y has another row
 * count. The four views are owned by the caller; on failure none is made
 * and nothing is shuffled. */
TNN_API int tnn_split_rows(tnn_tensor *x, tnn_tensor *y, double test_fraction,
                           tnn_rng *rng, tnn_tensor **x_train,
                           tnn_tensor **y_train, tnn_tensor **x_test,
                           tnn_tensor **y_test);

/* A standardiser: per-feature mean and scale learned from one tensor and
 * applied to others, as scikit-learn's StandardScaler. */
typedef struct tnn_scaler tnn_scaler;

/* (since 1.7) Learn the mean and the population standard deviation (ddof
 * 0) of each feature (column of the rows: tnn_tensor_size / rows of them)
 * of x, in double; a feature whose deviation is 0, or rounds to 0 in
 * float, gets scale 1. NULL on
 * failure (TNN_E_INVALID for NULL x or a non-finite value, naming it;
 * TNN_E_NOMEM). Owned by the caller. */
TNN_API tnn_scaler *tnn_scaler_fit(const tnn_tensor *x);

/* (since 1.7) Release a scaler; NULL does nothing. */
TNN_API void tnn_scaler_free(tnn_scaler *scaler);

/* (since 1.7) Number of features, and borrowed arrays of that many means
 * and scales (valid until the scaler is freed); 0 / NULL for NULL. */
TNN_API size_t tnn_scaler_features(const tnn_scaler *scaler);
TNN_API const float *tnn_scaler_mean(const tnn_scaler *scaler);
TNN_API const float *tnn_scaler_scale(const tnn_scaler *scaler);

/* (since 1.7) In place: x = (x - mean) / scale feature by feature, and the
 * inverse x = x * scale + mean, each computed in double. x must have the
 * scaler's feature count per row (TNN_E_SHAPE); NULL arguments are
 * TNN_E_INVALID. */
TNN_API int tnn_scaler_transform(const tnn_scaler *scaler, tnn_tensor *x);
TNN_API int tnn_scaler_inverse(const tnn_scaler *scaler, tnn_tensor *x);

/* (since 1.7) Save a scaler to path (written whole or not at all, as
 * model files are; see docs/format.md), and read one back into a new
 * *out owned by the caller. Errors as for tnn_model_save() and
 * tnn_model_load(): TNN_E_INVALID for NULL arguments, TNN_E_IO,
 * TNN_E_FORMAT, TNN_E_CORRUPT, TNN_E_VERSION for a newer format version,
 * TNN_E_NOMEM. */
TNN_API int tnn_scaler_save(const tnn_scaler *scaler, const char *path);
TNN_API int tnn_scaler_load(const char *path, tnn_scaler **out);

/* ------------------------------------------------------------------------ */
/* Metrics                                                  (since 1.7)     */
/* ------------------------------------------------------------------------ */

/* Classes as the metrics take them: a 1-D (m) or (m, 1) tensor of class
 * indices stored as floats (integers in [0, classes)), or a 2-D (m, c)
 * tensor of scores, probabilities or one-hot rows with c >= 2, whose
 * class is the index of the row's largest value (the first of equal
 * ones). A value that is no class (a NaN score, an index that is negative,
 * not an integer or too large) is TNN_E_INVALID naming its row; a tensor
 * of another shape, row counts that differ, or scores whose c is not the
 * call's class count is TNN_E_SHAPE; NULL arguments are TNN_E_INVALID.
 * Nothing is written on failure. The metrics never allocate. */

/* How per-class precision, recall and F1 combine into one figure. */
enum tnn_average {
    /* Unweighted mean over the classes. */
    TNN_AVERAGE_MACRO = 1,
    /* Mean weighted by each class's true count (support). */
    TNN_AVERAGE_WEIGHTED = 2,
    /* From the summed counts: the accuracy, for one label a row. */
    TNN_AVERAGE_MICRO = 3
};

/* Class of each row of scores (m, c), c >= 2, into classes (any tensor of
 * m elements), as floats. Scores of one column (m, 1) are the
 * probabilities of a sigmoid output (binary cross-entropy): the class is 1
 * where the probability exceeds 0.5, else 0 (for a model without the
 * sigmoid, whose outputs are logits, compare with 0 yourself). The
 * classes then go to tnn_confusion_matrix() and tnn_accuracy() with 2
 * classes. */
TNN_API int tnn_predicted_classes(const tnn_tensor *scores,
                                  tnn_tensor *classes);

/* Confusion matrix of predicted against true labels (each m class
 * indices, or scores from which tnn_predicted_classes() takes them): counts[t
 * * classes + p] is the number of rows of true class t predicted as p (rows:
 * truth, columns: prediction, as scikit-learn's), classes * classes entries.
 */
TNN_API int tnn_confusion_matrix(const tnn_tensor *predicted,
                                 const tnn_tensor *labels, size_t classes,
                                 size_t *counts);

/* Fraction of rows whose predicted class is the label's. When one of the
 * two holds scores (m, c), the other's indices must be below c; when both
 * hold indices, any integer >= 0 is a class. */
TNN_API int tnn_accuracy(const tnn_tensor *predicted, const tnn_tensor *labels,
                         double *accuracy);

/* Fraction of rows whose label is among the k (1 <= k <= c) classes with
 * the largest scores (m, c), c >= 2: a row counts when fewer than k
 * scores are larger than the label's, so that at ties the label counts
 * (top-1 can exceed tnn_accuracy(), which takes the first largest). k
 * outside [1, c] is TNN_E_INVALID. */
TNN_API int tnn_top_k_accuracy(const tnn_tensor *scores,
                               const tnn_tensor *labels, size_t k,
                               double *accuracy);

/* Per-class precision, recall, F1 and support (true count) from a
 * confusion matrix of classes * classes counts, into arrays of classes
 * entries (each may be NULL). A ratio whose denominator is 0 is 0, as
 * scikit-learn's zero_division default gives. For this function and
 * tnn_precision(), tnn_recall() and tnn_f1_score(): TNN_E_INVALID for NULL
 * counts or out, classes 0, a matrix too large for memory, counts summing past
 * SIZE_MAX, or an unknown average. */
TNN_API int tnn_class_scores(const size_t *counts, size_t classes,
                             double *precision, double *recall, double *f1,
                             size_t *support);

/* Precision, recall and F1 of a confusion matrix, averaged (enum
 * tnn_average) over all classes (scikit-learn's, with labels 0 to
 * classes - 1). */
TNN_API int tnn_precision(const size_t *counts, size_t classes, int average,
                          double *out);
TNN_API int tnn_recall(const size_t *counts, size_t classes, int average,
                       double *out);
TNN_API int tnn_f1_score(const size_t *counts, size_t classes, int average,
                         double *out);

/* Print a confusion matrix as a table to stream: a corner "true\pred",
 * then the predicted classes; one row per true class; columns
 * right-aligned, as wide as the widest count or class number, two spaces
 * apart. The stream is flushed; TNN_E_IO if writing or flushing fails. */
TNN_API int tnn_confusion_matrix_print(FILE *stream, const size_t *counts,
                                       size_t classes);

/* Regression metrics of pred against target (exactly the same shape, (m)
 * or (m, k); TNN_E_SHAPE otherwise), in double, each output scored alone
 * and the k scores averaged (scikit-learn's uniform average): mean
 * absolute error, root mean squared error, and R^2 = 1 - SS_res / SS_tot
 * (an output whose target is constant, as any single row is, scores 1 if
 * predicted exactly, else 0). A NaN or infinite value is TNN_E_INVALID
 * naming the tensor, row and output. */
TNN_API int tnn_mean_absolute_error(const tnn_tensor *pred,
                                    const tnn_tensor *target, double *out);
TNN_API int tnn_root_mean_squared_error(const tnn_tensor *pred,
                                        const tnn_tensor *target, double *out);
TNN_API int tnn_r2_score(const tnn_tensor *pred, const tnn_tensor *target,
                         double *out);

/* ------------------------------------------------------------------------ */
/* Model files                                              (since 1.2)     */
/* ------------------------------------------------------------------------ */

/* Flags of tnn_model_save() and tnn_model_save_buffer(). */
enum tnn_save_flags {
    /* Also store the optimizer with its state (Adam's moments, momentum
     * velocities, step count, schedule), so that training resumed from the
     * file continues exactly as if it had not stopped. */
    TNN_SAVE_OPTIMIZER = 1
};

/* Write the model to path: its layers with their configuration,
 * parameters, batch-norm running statistics and trainable flags, the loss,
 * the mode and the state of its generator; with TNN_SAVE_OPTIMIZER also the
 * optimizer. The format (docs/format.md) is little-endian with a CRC-32 per
 * section and over the whole file, in the oldest format version that
 * describes the model (since 1.4: 1, which libtinynn 1.2 reads, for flat
 * input and the layer kinds of 1.2; 2 otherwise; later versions for what
 * their releases added, since 1.7 5 for the losses of 1.7 or a Huber
 * delta other than 1, which libtinynn 1.6 refuses with TNN_E_VERSION;
 * docs/format.md lists them). The file is written
 * under a temporary name (".tnn-save-" and 16 hex digits) in the same
 * directory, flushed to disk and renamed over path: on any failure path
 * keeps its previous content and no temporary file remains (a process
 * killed while saving can leave one; docs/format.md says how to remove
 * them). A symbolic link at path is followed and stays a link (a dangling
 * one gets its target created), except a link in a sticky world-writable
 * directory (as /tmp) that neither the caller nor the directory's owner
 * owns, which is TNN_E_IO as the kernel's protected_symlinks rule has
 * it; only a regular file is replaced. A new
 * file gets mode 0666 less the umask; a replaced file keeps its
 * permissions, and its owner and group where the process may set them.
 * The umask is never changed. TNN_E_INVALID for NULL arguments or unknown
 * flags, TNN_E_STATE for TNN_SAVE_OPTIMIZER without an optimizer,
 * TNN_E_IO (also when path is a directory, FIFO or device), TNN_E_NOMEM.
 * Messages give the reason before the path. */
TNN_API int tnn_model_save(const tnn_model *model, const char *path,
                           int flags);

/* As tnn_model_save(), the file image into buf (size bytes). *needed (may be
 * NULL) gets the image's size; buf NULL with size 0 only asks for it.
 * TNN_E_SHAPE if size is too small (buf is then left untouched). */
TNN_API int tnn_model_save_buffer(const tnn_model *model, int flags, void *buf,
                                  size_t size, size_t *needed);

/* Read a model file into a new model *out, owned by the caller, that
 * predicts bit-identically to the saved one (and trains on identically if
 * the optimizer was saved). Files of every format version up to this
 * library's are read. Only regular files are read: a FIFO, directory or
 * device is refused at once, without waiting for a writer. The loaded
 * model has the default per-sample bound (tnn_model_set_max_sample_values).
 * Errors (*out is then NULL): TNN_E_INVALID for NULL arguments, TNN_E_IO
 * if the file cannot be read or is not a regular file, TNN_E_FORMAT if it
 * is no model file, TNN_E_VERSION if its format is newer than this
 * library knows, TNN_E_CORRUPT for a checksum mismatch, a truncated file
 * (the message gives its size and the size it should have) or
 * inconsistent content, TNN_E_NOMEM. Messages end with the path. */
TNN_API int tnn_model_load(const char *path, tnn_model **out);

/* As tnn_model_load(), from the file image of size bytes at data, which
 * is not kept. */
TNN_API int tnn_model_load_buffer(const void *data, size_t size,
                                  tnn_model **out);

/* ---- ONNX (since 1.8; docs/onnx.md) ----
 * Models to and from the ONNX format, as PyTorch's torch.onnx.export
 * writes it and other runtimes read it. */

/* (since 1.8) Read an ONNX model into a new model *out, owned by the
 * caller, ready to predict and to train on. The graph must be a chain of
 * what the library's layers compute (docs/onnx.md lists the operators and
 * patterns: Gemm, MatMul + Add, Conv, Relu, Sigmoid, Tanh, LeakyRelu,
 * Softmax, LogSoftmax last, MaxPool, AveragePool, their global forms,
 * Pad, Flatten, the reshape of x.view(x.size(0), -1),
 * BatchNormalization, LayerNormalization over the last axis (since 1.9,
 * operator set 17 and later), Dropout and Identity; since 1.11 LSTM and
 * GRU of one forward direction from zero states, with the Transpose,
 * Squeeze and last-step Gather around them that PyTorch writes, and the
 * Gather of a constant table by int64 token ids, an embedding), for rows
 * (batch, features), (since 1.10) sequences (batch, time, features) or
 * images (batch, channels, height, width) of FLOAT, or (since 1.11) int64
 * token ids (batch, time), which make a model of tokens of the table's
 * rows (tnn_model_new_tokens(), at most 2^24 ids), at
 * operator sets 9 to 18. The batch dimension may be fixed or dynamic; the
 * model takes any batch. A final LogSoftmax becomes the library's softmax:
 * predictions are probabilities, the exp of the graph's outputs. The loss is
 * cross-entropy after a softmax, binary cross-entropy after a sigmoid, MSE
 * otherwise; no optimizer is set. Batch-norm keeps the file's epsilon and
 * momentum (ONNX's momentum is the library's). Loading a file of n bytes
 * allocates at most 32 * n bytes and 64 KiB, the model included
 * (docs/onnx.md). Errors (*out is then NULL): TNN_E_INVALID for NULL
 * arguments, TNN_E_IO as tnn_model_load(), TNN_E_FORMAT for a file that is no
 * ONNX model, a branching graph, an unsupported operator, attribute, data type
 * or external data (the message names the node, its operator and what is
 * unsupported), TNN_E_VERSION for an IR version or operator set outside
 * those read, TNN_E_NOMEM. Messages end with the path. */
TNN_API int tnn_model_load_onnx(const char *path, tnn_model **out);

/* (since 1.8) As tnn_model_load_onnx(), from the file image of size
 * bytes at data, which is not kept. */
TNN_API int tnn_model_load_onnx_buffer(const void *data, size_t size,
                                       tnn_model **out);

/* (since 1.8) Write model as an ONNX model (IR version 7, operator set
 * 13; since 1.9 IR version 8, operator set 17 for a model with layer
 * normalisation): one graph input "input" of shape (N, features), (N,
 * time, features) or (N, channels, height, width) with a dynamic batch N
 * (since 1.11, of INT64 token ids (N, time) for a model of tokens), one
 * output "output", one node per layer (dropout omitted, flatten as
 * Flatten, zero padding as Pad, the softmax as Softmax, batch-norm as
 * BatchNormalization with its running statistics, layer-norm as
 * LayerNormalization over the last axis; since 1.11 the embedding as
 * Gather, the LSTM and GRU as their nodes between Transpose nodes and a
 * Squeeze), weights little-endian in raw_data. Reading the file back with
 * tnn_model_load_onnx() gives a model that predicts bit-identically. The
 * file is replaced atomically, as by tnn_model_save(). TNN_E_INVALID for
 * NULL arguments, TNN_E_STATE for a model without layers, TNN_E_FORMAT
 * for a layer ONNX cannot describe (GELU, which needs operator set 20; a
 * layer-norm whose groups are not the last axis; since 1.10 a softmax
 * after image layers, which normalises whole images; since 1.11 an
 * embedding of a model not of tokens, a position embedding, attention, a
 * residual block, a dense layer on time steps), the message naming the
 * layer's index and kind, TNN_E_IO, TNN_E_NOMEM. */
TNN_API int tnn_model_save_onnx(const tnn_model *model, const char *path);

/* (since 1.8) As tnn_model_save_onnx(), the file image into buf (size
 * bytes), as tnn_model_save_buffer() does: *needed (may be NULL) gets its
 * size, buf NULL with size 0 only asks for it, TNN_E_SHAPE if size is too
 * small. */
TNN_API int tnn_model_save_onnx_buffer(const tnn_model *model, void *buf,
                                       size_t size, size_t *needed);

/* A deep copy of model (layers, parameters, optimizer and its state,
 * generator, per-sample bound), owned by the caller; NULL on failure. A model
 * must not be used from two threads at once: give each thread its own clone,
 * e.g. to serve predictions in parallel. */
TNN_API tnn_model *tnn_model_clone(const tnn_model *model);

#ifdef __cplusplus
}
#endif

#endif /* TINYNN_H */
