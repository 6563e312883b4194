/*
 * Declarations shared between the library's modules. Nothing here is part
 * of the public API or ABI.
 */
#ifndef TINYNN_INTERNAL_H
#define TINYNN_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinynn.h"

#if defined(__GNUC__)
#define TNN_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TNN_PRINTF_LIKE(fmt, args)
#endif

/* Compile a hot loop for AVX-512 and AVX2 as well as the baseline, the
 * variant chosen once by the dynamic loader (GNU ifunc). The results do
 * not depend on the variant: the loops are elementwise, or sum in lanes
 * whose order is fixed (TNN_SUM_LANES), and the library is built with
 * -ffp-contract=off, so that no variant fuses a multiply and an add. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) &&         \
    !defined(TNN_NO_CLONES)
#define TNN_VECTOR_CLONES                                                     \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TNN_VECTOR_CLONES
#endif

/* A helper of such a function built inside each variant: without
 * always_inline, GCC builds one copy for the default target and every
 * variant calls that one. */
#if defined(__GNUC__)
#define TNN_INLINE static inline __attribute__((always_inline))
#else
#define TNN_INLINE static inline
#endif

/* error.c: record code and a formatted message for tnn_last_error(); return
 * code so that callers can write `return tnn__fail(...)`. */
int tnn__fail(int code, const char *func, const char *fmt, ...)
    TNN_PRINTF_LIKE(3, 4);

/* alloc.c: the hookable allocator. Every allocation goes through these. */
void *tnn__malloc(size_t size);
void *tnn__realloc(void *ptr, size_t size);
void tnn__free(void *ptr);
/* count * size bytes, zeroed; NULL on overflow or failure. */
void *tnn__calloc(size_t count, size_t size);
/* The same, starting on a cache line (64 bytes), for the float buffers
 * that the vector loops stream through: tensors' data (parameters and
 * their gradients) and the optimizer's state (whose second half, Adam's
 * second moment, starts on a line only when the parameter count is a
 * multiple of 16: the model files store the two halves as one array).
 * Free it with tnn__free_lines() only. */
void *tnn__calloc_lines(size_t count, size_t size);
void tnn__free_lines(void *ptr);

/* Overflow-checked a * b; false if it does not fit in size_t. */
static inline bool tnn__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* tensor.c: the layout every module relies on. */
/* Storage that several tensors share (views) or that the caller owns
 * (wrapped); a tensor alone with its own buffer has none. */
struct tnn__storage {
    _Atomic size_t refs;
    float *base;
    bool owned; /* freed with the last reference */
};

struct tnn_tensor {
    int ndim;
    size_t dims[TNN_MAX_DIMS];
    size_t size;
    float *data;
    struct tnn__storage *storage;
};

/* Check a tensor argument and its shape in one place, so messages agree.
 * Returns TNN_OK or the failure recorded with func's name. */
int tnn__check_tensor(const char *func, const char *name, const tnn_tensor *t);

/* Largest batch or width handed to the BLAS, whose sizes are int. */
#define TNN_MAX_BLAS_DIM ((size_t)0x7fffffff)

/* ---- shapes (layer.c) ----------------------------------------------------
 * The shape of one sample: (features), (time, features) or (channels,
 * height, width). Batches
 * are rows of the product of the dims, so that every layer works on flat
 * rows and only the kinds that care look at the dims. */
#define TNN_MAX_SAMPLE_DIMS 3

struct tnn__shape {
    int ndim; /* 0: not known yet */
    size_t dims[TNN_MAX_SAMPLE_DIMS];
    /* Token input (tnn_model_new_tokens()): the values are ids in [0,
     * vocabulary), which only an embedding takes; 0 for values. Shapes
     * compare equal whatever it holds: binding checks it
     * (tnn__layer_bind()). */
    size_t vocabulary;
};

/* Values in one sample; SIZE_MAX if that overflows. */
size_t tnn__shape_size(const struct tnn__shape *s);
bool tnn__shape_equal(const struct tnn__shape *a, const struct tnn__shape *b);

/* "(512)", "(28, 128)" or "(32, 26, 26)" into buf. */
const char *tnn__shape_text(const struct tnn__shape *s, char *buf,
                            size_t size);

/* ---- layers (layer.c and one file per kind) ------------------------------
 * Every kind implements these operations on raw row-major buffers of n
 * rows; the model owns the buffers and walks the layers, layers never call
 * each other. */
/* One layer's record in a model file (docs/format.md), as read: its kind,
 * widths and configuration words, which only the kind interprets. */
#define TNN__MAX_CONFIG 8

struct tnn__layer_record {
    uint32_t kind;
    uint32_t trainable;
    uint64_t in;
    uint64_t out;
    uint32_t nconfig;
    uint32_t config[TNN__MAX_CONFIG];
};

/* One layer's node in an ONNX graph (docs/onnx.md), as its kind describes
 * it: the writer (onnx_write.c) turns it into bytes and knows no kind, so
 * that a new kind is exported by its own file alone. The bounds are those
 * of the kinds there are; plain arrays keep the description free of
 * allocation, and so of failures. */
#define TNN__ONNX_MAX_ATTRS 4
#define TNN__ONNX_MAX_INTS 8
#define TNN__ONNX_MAX_INPUTS 4

enum tnn__onnx_attr_type {
    TNN__ONNX_ATTR_IS_INT,
    TNN__ONNX_ATTR_IS_FLOAT,
    TNN__ONNX_ATTR_IS_STRING,
    TNN__ONNX_ATTR_IS_INTS
};

/* An attribute, written in the order the node lists them. */
struct tnn__onnx_attr {
    const char *name;
    enum tnn__onnx_attr_type type;
    int64_t i;
    float f;
    const char *s; /* static storage: the node is written after the call */
    int nints;
    int64_t ints[TNN__ONNX_MAX_INTS];
};

/* A slice of a tensor's values: count values from offset. */
struct tnn__onnx_piece {
    const tnn_tensor *tensor;
    size_t offset;
    size_t count;
};

/* A constant input besides the data, written as an initializer named
 * "node<index>.<suffix>": the float values of one of the layer's tensors
 * (a parameter, or a statistic the layer keeps) in the ONNX shape dims,
 * which the kind states because the operator's layout may differ from
 * the library's; or, when npieces > 0, the float values of the pieces one
 * after the other (the gate blocks of a recurrent layer's weights in
 * ONNX's gate order), copied while the file is written; or, when tensor
 * is NULL and there are no pieces, the int64 list ints (Pad's pads,
 * Squeeze's axes, which ONNX takes as inputs, not attributes). */
#define TNN__ONNX_MAX_PIECES 8

struct tnn__onnx_input {
    const char *suffix;
    const tnn_tensor *tensor;
    int ndims;
    int64_t dims[4];
    int nints;
    int64_t ints[TNN__ONNX_MAX_INTS];
    int npieces;
    struct tnn__onnx_piece pieces[TNN__ONNX_MAX_PIECES];
};

/* A node after a layer's first: its operator, attributes and constant
 * inputs, as the first's below. */
struct tnn__onnx_op {
    const char *op;
    int nattrs;
    struct tnn__onnx_attr attrs[TNN__ONNX_MAX_ATTRS];
    int ninputs;
    struct tnn__onnx_input inputs[TNN__ONNX_MAX_INPUTS];
    int data_input;
    int data_output;
};

/* The node: the operator of the default domain, its attributes, and the
 * constant inputs in the operator's order; the operator set it needs (0:
 * the writer's oldest, 13), the file declaring the newest any node needs.
 * The data goes in as input data_input (0, the first, unless an operator
 * takes it later: Gather's indices are its second) and goes on as output
 * data_output (0 unless a later output is the one that matters: a
 * recurrent node's last state; those before it are left out). A layer
 * of several nodes (LSTM and GRU with the Transpose and Squeeze nodes
 * around them) lists the others in then, each reading the data the one
 * before gives. A layer ONNX cannot describe sets refusal instead, why it
 * cannot (static text), and the export fails naming the layer. */
#define TNN__ONNX_MAX_THEN 3

struct tnn__onnx_node {
    const char *op;
    int opset;
    const char *refusal;
    int nattrs;
    struct tnn__onnx_attr attrs[TNN__ONNX_MAX_ATTRS];
    int ninputs;
    struct tnn__onnx_input inputs[TNN__ONNX_MAX_INPUTS];
    int data_input;
    int data_output;
    int nthen;
    struct tnn__onnx_op then[TNN__ONNX_MAX_THEN];
};

struct tnn__layer_ops {
    enum tnn_layer_kind kind;
    const char *name;
    /* Draws random numbers in training (the forward needs an rng). */
    bool needs_rng;
    /* Check the input shape of one sample and give the output shape; NULL
     * for kinds whose output has the shape of their input. Changes
     * nothing. */
    int (*bind)(const tnn_layer *layer, const char *func,
                const struct tnn__shape *in, struct tnn__shape *out);
    /* Make room for per-batch state of up to n rows; may allocate. NULL if
     * the kind keeps none. */
    int (*reserve)(tnn_layer *layer, const char *func, size_t n);
    void (*forward)(tnn_layer *layer, const float *in, float *out, size_t n,
                    bool training, tnn_rng *rng);
    /* From dout, parameter gradients (overwritten when accumulate is
     * false, added to otherwise) and, unless din is NULL, the input
     * gradient. Follows a training forward of the same n rows. */
    void (*backward)(tnn_layer *layer, const float *in, const float *out,
                     const float *dout, float *din, size_t n, bool accumulate);
    /* Initialise parameters and state; NULL if there are none. */
    void (*init)(tnn_layer *layer, tnn_rng *rng);
    /* Free the kind's private state; NULL if there is none. */
    void (*destroy)(tnn_layer *layer);
    /* Forget per-batch state made for the input shape the layer loses
     * (tnn__layer_unbind()), which tnn__grow_rows() does not cover; NULL
     * if there is none. */
    void (*unbind)(tnn_layer *layer);
    /* The sums over the replicas that a synchronised forward (forward
     * true) or backward of this layer makes, each with nothing to add:
     * for a replica with no rows, which must still take part. NULL for
     * kinds that make none. */
    void (*sync_idle)(tnn_layer *layer, bool forward);
    /* Values (floats or indices) of per-batch private state that one
     * sample needs, counted against the per-sample bound; NULL if none. */
    size_t (*sample_scratch)(const tnn_layer *layer);
    /* Make lasting the state changes a training forward only prepared
     * (batch-norm's running statistics), once the step that ran it has
     * succeeded, so that a failed step changes nothing; NULL if none. */
    void (*commit)(tnn_layer *layer);

    /* Check the input values of n rows before anything is computed
     * (embedding: every id in range), for kinds whose input is not any
     * float; NULL for the others. */
    int (*check_input)(const tnn_layer *layer, const char *func,
                       const float *in, size_t n);
    /* The parameters are borrowed from layers the layer owns (a residual
     * block's): files store them with those layers, not with it, and it
     * does not free them. */
    bool lends_params;
    /* A copy with the same configuration and values, for kinds that
     * tnn_layer_clone() cannot make from their record (NULL for others). */
    tnn_layer *(*clone)(const tnn_layer *layer);
    /* Born with a (features) input, the layer also takes (time, features)
     * samples, which it treats as time rows of features (dense): binding
     * to them gives (time, out), and unbinding its born shapes back. */
    bool steps_over_time;

    /* ---- what the model treats specially (model.c) ----
     * The output is the input, unchanged (flatten): the model gives the
     * layer its input's buffers and counts no values for it. */
    bool aliases_input;
    /* As the last layer under cross-entropy, the loss computes it together
     * with its gradient (softmax): the model stops before it in training. */
    bool fuses_with_cross_entropy;
    /* The same for binary cross-entropy (sigmoid). */
    bool fuses_with_binary_cross_entropy;
    /* Whether the layer runs the layer before it (prev) and itself as one
     * pass each way, when nothing else reads prev's output (inside a
     * model); NULL for kinds that never do. The passes give the values
     * and gradients of the two layers run one after the other. */
    bool (*absorbs)(const tnn_layer *layer, const tnn_layer *prev);
    /* out from prev's input in, as prev then the layer would (rng: the
     * model's generator, for a layer that draws, as dropout does). */
    void (*forward_absorbing)(tnn_layer *layer, const float *in, float *out,
                              size_t n, bool training, tnn_rng *rng);
    /* din, prev's input gradient, from dout after a training
     * forward_absorbing of the same rows from in to out. */
    void (*backward_absorbing)(tnn_layer *layer, const float *in,
                               const float *out, const float *dout, float *din,
                               size_t n);

    /* ---- model files (model_io_read.c, model_io_write.c) ----
     * The format version that introduced the kind. */
    uint32_t since_format;
    /* Configuration words of the kind's record in the current format. */
    uint32_t config_words;
    /* Those of an older format version, when they differ; NULL if they
     * never did. */
    uint32_t (*config_words_in)(uint32_t version);
    /* The oldest format that describes this layer, when its configuration
     * needs a newer one than since_format (NULL: since_format). */
    uint32_t (*format_needed)(const tnn_layer *layer);
    /* The configuration words of format version into words; NULL when the
     * kind has none. */
    void (*save_config)(const tnn_layer *layer, uint32_t version,
                        uint32_t *words);
    /* A new layer from a record whose word count is right for version;
     * NULL, with the constructor's or setter's error recorded, when the
     * record's values are refused. NULL for kinds with neither
     * configuration nor private state (impl), whose layers the loader and
     * tnn_layer_clone() make by tnn__layer_alloc() with no impl. */
    tnn_layer *(*load_config)(const struct tnn__layer_record *record,
                              uint32_t version);
    /* At least the values of all tensors a layer made from the record
     * would allocate, computed before it is made: the loader refuses
     * records that claim more than the file's data holds. NULL if none.
     * Saturates instead of overflowing. */
    uint64_t (*record_values)(const struct tnn__layer_record *record,
                              uint32_t version);
    /* File names of the parameters in order; NULL for "weight", "bias". */
    const char *const *param_names;
    /* State tensors saved with the parameters (batch-norm's running
     * statistics): how many, their names and the tensors themselves. */
    int num_state;
    const char *const *state_names;
    tnn_tensor *(*state)(tnn_layer *layer, int k);

    /* ---- ONNX (onnx_write.c) ----
     * Describe the layer's node into *node, zeroed by the caller; NULL for
     * kinds that write none (dropout, the identity when predicting). The
     * description must be one the reader (onnx_read.c) maps back to the
     * same layer, so that a round trip predicts the same. */
    void (*onnx_node)(const tnn_layer *layer, struct tnn__onnx_node *node);
};

/* Parameter tensors a layer makes itself (a residual block lends more:
 * see struct tnn_layer's param). */
#define TNN_LAYER_MAX_PARAMS 4

struct tnn_layer {
    const struct tnn__layer_ops *ops;
    /* Sample shapes; in_shape.ndim is 0 until the layer is bound to an
     * input (added to a model or run). The feature counts are their sizes
     * (0 for unbound kinds that take their width from their input). */
    struct tnn__shape in_shape;
    struct tnn__shape out_shape;
    size_t in_features;
    size_t out_features;
    int num_params;
    /* The parameter tensors and their gradients, and whether weight decay
     * applies to each by default (weights, not biases or batch-norm
     * scales): the layer's own arrays below, or, for a residual block,
     * longer ones in its private state that lend its layers'. */
    tnn_tensor **param;
    tnn_tensor **grad;
    bool *is_weight;
    tnn_tensor *own_param[TNN_LAYER_MAX_PARAMS];
    tnn_tensor *own_grad[TNN_LAYER_MAX_PARAMS];
    bool own_is_weight[TNN_LAYER_MAX_PARAMS];
    bool trainable;
    /* Rows of the last training forward, which backward must match; 0 if
     * there was none. */
    size_t forward_rows;
    /* The model that owns the layer, NULL while the caller does: a layer
     * has one owner, and is freed by it alone. */
    const struct tnn_model *owner;
    /* The residual block that owns the layer (and frees it), if any: its
     * owner is the block's. */
    const tnn_layer *parent;
    /* Made by tnn_layer_clone() or taken out of a model: the model it
     * joins keeps its parameters instead of initialising them (cleared
     * once it has joined). */
    bool keep_params;
    /* The widths before the layer was first bound to an input, for kinds
     * that take their shape from it, so that a layer taken out of a model
     * can go where other shapes flow (tnn__layer_unbind()). */
    bool bound_by_input;
    size_t unbound_in, unbound_out;
    /* Set by a sharded model around a training forward: kinds that draw
     * random numbers draw each row's from a stream keyed by key and the
     * row's index in the global batch (first_row + its row here), so that
     * the draws do not depend on how the batch is split (replica.c). */
    struct {
        bool on;
        uint64_t key;
        uint64_t first_row;
    } row_key;
    /* Set by a model that synchronises batch statistics across replicas
     * (tnn_model_set_sync_batchnorm) around a training step: the hook that
     * sums over them, and where a failure of it is noted. */
    struct {
        tnn_allreduce_fn fn;
        void *ctx;
        bool *failed;
    } sync;
    /* The kind's private state. */
    void *impl;
};

/* A layer with zeroed private state of impl_size bytes. */
tnn_layer *tnn__layer_alloc(const char *func, const struct tnn__layer_ops *ops,
                            size_t in, size_t out, size_t impl_size);

/* Append a parameter tensor (and its gradient) of the given shape. */
int tnn__layer_add_param(tnn_layer *layer, const char *func, int ndim,
                         const size_t *dims, bool is_weight);

/* Bind the layer to samples of shape in: an unbound layer takes it (the
 * kind's bind checks it and sets the output shape); a bound one must have
 * exactly that input shape, else TNN_E_SHAPE naming both. On failure the
 * layer is unchanged. */
int tnn__layer_bind(tnn_layer *layer, const char *func,
                    const struct tnn__shape *in);

/* Weights param[0] from the initialiser (enum tnn_init) with the given
 * fans, biases param[1] at zero. */
void tnn__init_weights(tnn_layer *layer, int init, float value, double fan_in,
                       double fan_out, tnn_rng *rng);

/* Undo the binding that tnn__layer_bind() gave a layer born without a
 * shape; layers born with one (dense) keep it. */
void tnn__layer_unbind(tnn_layer *layer);

/* TNN_E_STATE while the model that owns layer trains (a fit callback may
 * read a model's layers, not change them); TNN_OK for NULL. */
int tnn__layer_check_idle(const char *func, const tnn_layer *layer);

/* Zero the gradients, for the library's own use (no checks). */
void tnn__layer_zero_grad(tnn_layer *layer);

/* The private part of a layer of the given kind, for that kind's public
 * setters and getters; NULL, with TNN_E_INVALID recorded, for NULL or a
 * layer of another kind. */
void *tnn__layer_impl_of(const char *func, const tnn_layer *layer,
                         const struct tnn__layer_ops *ops);

/* A normalising kind's eps setter: TNN_E_STATE while layer's model trains,
 * TNN_E_INVALID unless eps is positive and finite; TNN_OK otherwise. */
int tnn__check_eps(const char *func, const tnn_layer *layer, float eps);

/* Arguments of a kind's set_init: layer of that kind, an enum tnn_init,
 * a finite constant. */
int tnn__check_init(const char *func, const tnn_layer *layer,
                    const struct tnn__layer_ops *ops, int init, float value);

/* A buffer of n rows of per_row elements of size bytes: buffer itself
 * when its *cap elements are enough, else a zeroed new one (buffer is then
 * freed, *cap updated). The capacity counts elements, not rows, so that a
 * layer bound again to wider rows (taken out of a model and added to
 * another) gets a buffer for them. NULL on failure, buffer kept; what
 * names it in messages. */
void *tnn__grow_rows(const char *func, const char *what, void *buffer,
                     size_t *cap, size_t n, size_t per_row, size_t size);

/* Set a layer's shapes at construction (dense: fixed widths). */
void tnn__layer_set_shapes(tnn_layer *layer, const struct tnn__shape *in,
                           const struct tnn__shape *out);

/* Reserve per-batch state for n rows (TNN_OK when the kind keeps none). */
int tnn__layer_reserve(tnn_layer *layer, const char *func, size_t n);

/* Whether the layer has parameters that training changes. */
bool tnn__layer_learns(const tnn_layer *layer);

/* Values one sample occupies in the layer's output and private per-batch
 * state (SIZE_MAX if that overflows). */
size_t tnn__layer_sample_values(const tnn_layer *layer);

/* Apply what the last training forward prepared (see ops->commit). */
void tnn__layer_commit(tnn_layer *layer);

/* Saved state tensors of a layer (batch-norm's statistics), its inner
 * layers' for a residual block, and tensor k of them. */
int tnn__layer_state_count(const tnn_layer *layer);
tnn_tensor *tnn__layer_state(tnn_layer *layer, int k);

/* residual.c: visit(l, ctx) for the layer itself or, for a residual
 * block, for every layer inside it (through nested blocks, in order),
 * up to the first nonzero return, which it returns; 0 otherwise. For
 * walks that need only the layers that compute (not the blocks' own
 * flags, as model.c's initialisation does). */
int tnn__layer_each(const tnn_layer *layer,
                    int (*visit)(const tnn_layer *l, void *ctx), void *ctx);

/* The model a layer belongs to, through the blocks that hold it; NULL
 * while the caller owns it. */
const struct tnn_model *tnn__layer_model(const tnn_layer *layer);

/* Free a layer whatever its owner: for the owner itself. */
void tnn__layer_destroy(tnn_layer *layer);

/* The operations of layer kind `kind` (enum tnn_layer_kind, the number in
 * model files); NULL for a number that names no kind. */
const struct tnn__layer_ops *tnn__layer_kind_ops(uint32_t kind);

/* Configuration words of a record of ops' kind in format version. */
uint32_t tnn__layer_config_words(const struct tnn__layer_ops *ops,
                                 uint32_t version);

/* A parameter's name in model files ("weight", "bias", "gamma", ...). */
const char *tnn__layer_param_name(const tnn_layer *layer, int p);

/* A float configuration value as a record word, and back (bit copies). */
static inline uint32_t tnn__float_word(float f)
{
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    return v.u;
}

static inline float tnn__word_float(uint32_t u)
{
    union {
        uint32_t u;
        float f;
    } v = {.u = u};
    return v.f;
}

/* a + b, or UINT64_MAX when that overflows: for size bounds. */
static inline uint64_t tnn__add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* a * b, or UINT64_MAX when that overflows. */
static inline uint64_t tnn__mul_sat(uint64_t a, uint64_t b)
{
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* recurrent.c: TNN_E_SHAPE unless a pass of n rows suits the per-row
 * initial states (tnn_recurrent_set_state) of layer and the layers of its
 * blocks; whether any of them has one. */
int tnn__layer_check_state_rows(const tnn_layer *layer, const char *func,
                                size_t n);
bool tnn__layer_has_row_state(const tnn_layer *layer);

/* embedding.c: every one of count values an integer in [0, limit), as
 * token ids and class labels per step are; TNN_E_INVALID naming the
 * first other one by what it is, its row and step (steps values a
 * row). */
int tnn__check_indices(const char *func, const char *what, const float *values,
                       size_t count, size_t steps, size_t limit);

/* The vocabulary of an embedding layer, 0 for other kinds. */
size_t tnn__embedding_vocabulary(const tnn_layer *layer);

/* ---- losses (loss.c) ----------------------------------------------------
 * On n rows of k values. grad (n x k) may be NULL. Sums in double. */
double tnn__mse(const float *pred, const float *target, size_t n, size_t k,
                float *grad);

/* Every label an integer class index in [0, k). */
int tnn__check_class_labels(const char *func, const float *labels, size_t n,
                            size_t k);

/* Every entry of n probability rows of k finite and >= 0. */
int tnn__check_probability_labels(const char *func, const float *labels,
                                  size_t n, size_t k);

/* labels: n class indices when index_labels, else n x k probability rows.
 * *correct counts rows whose arg-max matches. TNN_E_INVALID for a label
 * that is no class index. */
int tnn__cross_entropy(const char *func, const float *logits,
                       const float *labels, bool index_labels, size_t n,
                       size_t k, float *grad, double *loss, size_t *correct);

double tnn__mae(const float *pred, const float *target, size_t n, size_t k,
                float *grad);
double tnn__huber(const float *pred, const float *target, size_t n, size_t k,
                  float delta, float *grad);

/* Every target finite and in [0, 1]: TNN_E_INVALID naming the first other
 * one (row, column, value). */
int tnn__check_binary_targets(const char *func, const float *targets, size_t n,
                              size_t k);

/* Targets already checked. *correct counts the values where the logit is
 * no NaN and (logit > 0) equals (target > 0.5). */
double tnn__binary_cross_entropy(const float *logits, const float *targets,
                                 size_t n, size_t k, float *grad,
                                 size_t *correct);

/* ---- random numbers (rng.c) --------------------------------------------- */

/* No draw of tnn_rng_normal() is larger in magnitude: Box-Muller's radius
 * sqrt(-2 ln(1 - u)) with 1 - u >= 2^-53 is at most 8.5716. */
#define TNN_RNG_NORMAL_MAX 8.58

struct tnn_rng {
    uint64_t s[4];
    /* Box-Muller yields two normals; the second waits here. */
    double spare_normal;
    bool has_spare;
};

/* The next 64 bits of xoshiro256**, for rng != NULL. Inline so that loops
 * drawing per element (dropout) keep the state in registers rather than
 * calling the exported, interposable tnn_rng_next_u64(). */
static inline uint64_t tnn__rng_next(tnn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* ---- ReLU's rule ------------------------------------------------------ */

/* ReLU of x, written as "not <= 0" so that a NaN passes: a NaN row must
 * not become a row of zeros and so a confident prediction. -0 gives +0.
 * Every ReLU pass uses it (activation.c, and fused with pooling or
 * dropout in pool2d.c and dropout.c). */
static inline float tnn__relu(float x)
{
    return !(x <= 0.0f) ? x : 0.0f;
}

/* The gradient through a ReLU whose output or input is y, from the
 * gradient g after it: g where y > 0, 0 at or below 0 (even for a NaN g),
 * and y itself where y is NaN (the derivative is undefined there). A
 * select, not a branch, so that the loops vectorise. */
static inline float tnn__relu_gradient(float y, float g)
{
    float pass_on = y > 0.0f ? g : 0.0f;
    return isnan(y) ? y : pass_on;
}

/* ---- convolution, ReLU and 2 x 2 max pooling in a model ---------------
 * On oneDNN a convolution computes its output with the channels in
 * blocks (16 of a pixel side by side on AVX-512) and reorders it to NCHW,
 * and its output gradient back, 0.35 ms each for the MNIST convnet's
 * first convolution at batch 128. When a ReLU and a 2 x 2 max pooling
 * follow it, the model lets the pooling read and write that layout
 * instead (model.c); the values are those of the NCHW passes, bit for
 * bit. */

/* A convolution's output left in that blocked layout: its values (n x
 * out_ch / block x oh x ow x block), the buffer that takes its gradient
 * in the same layout, and the channels per block. Both buffers are the
 * convolution's, and its next forward replaces what they hold; the
 * pooling keeps this record from its forward to its backward, so that
 * the backward follows the route the forward took. */
struct tnn__blocked {
    const float *values;
    float *grad;
    size_t block;
};

/* The convolution's output for n images left in its blocked layout, *out
 * set; false, having written nothing, when its products do not run in
 * such a layout (the BLAS, or channels not whole blocks): the caller runs
 * the layer's forward instead (conv2d.c). */
bool tnn__conv2d_forward_blocked(tnn_layer *conv, const float *in, size_t n,
                                 struct tnn__blocked *out);

/* The layer's backward after that forward, from the gradient written
 * into out->grad; dout is an NCHW buffer of its output's size, used only
 * should oneDNN fail and the BLAS take over. */
void tnn__conv2d_backward_blocked(tnn_layer *conv, const float *in,
                                  const struct tnn__blocked *out, float *dout,
                                  float *din, size_t n, bool accumulate);

/* ReLU then a 2 x 2 max pooling at stride 2 that absorbs it (pool2d.c),
 * as forward_absorbing, from the convolution's blocked output in; out in
 * NCHW. In training the pooling keeps *in for its backward, and its
 * maxima's positions in the blocked order, which only that backward
 * reads: the model runs no other backward of the layer after it, and
 * leaves the layer's forward_rows at 0 so that tnn_layer_backward() does
 * not either. */
void tnn__relu_maxpool_forward_blocked(tnn_layer *pool,
                                       const struct tnn__blocked *in,
                                       float *out, size_t n, bool training);

/* Whether the pooling's last forward was that one, in training, of n
 * rows. */
bool tnn__maxpool_went_blocked(const tnn_layer *pool, size_t n);

/* Its backward, as backward_absorbing: the convolution's output
 * gradient into the grad buffer of the record the forward was given,
 * which it returns. */
const struct tnn__blocked *
tnn__relu_maxpool_backward_blocked(tnn_layer *pool, const float *out,
                                   const float *dout, size_t n);

/* ---- sums in lanes --------------------------------------------------- */

/* Sums that decide results (a layer norm's moments, the MSE, MAE and
 * Huber losses) run in TNN_SUM_LANES partial sums in double, value j
 * into lane j % TNN_SUM_LANES, folded in lane order at the end: a fixed
 * order whatever the thread count or vector width, and independent
 * chains that stay in a vector register, where one running sum is a
 * chain of dependent additions, 3-4 cycles each, that took most of the
 * pass's time. */
#define TNN_SUM_LANES 8

static inline double tnn__fold_lanes(const double *lane)
{
    double sum = 0.0;
    for (size_t k = 0; k < TNN_SUM_LANES; k++)
        sum += lane[k];
    return sum;
}

/* ---- the floating-point environment ----------------------------------------
 * State that decays towards zero (Adam's moments and SGD's velocities where
 * a gradient stays 0, such as border pixels) passes through the subnormal
 * range, where x86 cores take a microcode assist on every vector that holds
 * a subnormal: updates several times slower late in training (3.5 times
 * in a microbenchmark of the Adam loop with a third of its state
 * subnormal). The library's own loops that carry such state run in the
 * calling thread's mode (rounding direction, exception masks) with
 * flush-to-zero and
 * denormals-are-zero added; worker threads take that same mode for their
 * share, so that which thread computes a value never changes its bits.
 * Each thread gets its own control bits back afterwards (exception flags
 * raised meanwhile stay raised): the caller's floating-point environment
 * never changes. Elsewhere than x86 the mode is left alone and subnormals
 * are kept. */
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#define TNN_MXCSR_FTZ_DAZ 0x8040u
#define TNN_MXCSR_FLAGS 0x003fu
/* The mode for the library's loops, read on the calling thread. */
static inline unsigned tnn__fp_mode(void)
{
    return (_mm_getcsr() | TNN_MXCSR_FTZ_DAZ) & ~TNN_MXCSR_FLAGS;
}
/* The calling thread's own mode, for loops that keep it on other threads. */
static inline unsigned tnn__fp_caller(void)
{
    return _mm_getcsr() & ~TNN_MXCSR_FLAGS;
}
/* This thread's mode as it is, for tnn__fp_leave() after code that may
 * change it (oneDNN's kernels). */
static inline unsigned tnn__fp_save(void)
{
    return _mm_getcsr();
}
/* Run this thread in mode; returns what tnn__fp_leave() restores. */
static inline unsigned tnn__fp_enter(unsigned mode)
{
    unsigned own = _mm_getcsr();
    if ((own & ~TNN_MXCSR_FLAGS) != mode)
        _mm_setcsr(mode | (own & TNN_MXCSR_FLAGS));
    return own;
}
static inline void tnn__fp_leave(unsigned own)
{
    unsigned now = _mm_getcsr();
    if ((now & ~TNN_MXCSR_FLAGS) != (own & ~TNN_MXCSR_FLAGS))
        _mm_setcsr((own & ~TNN_MXCSR_FLAGS) | (now & TNN_MXCSR_FLAGS));
}
#else
static inline unsigned tnn__fp_mode(void)
{
    return 0;
}
static inline unsigned tnn__fp_caller(void)
{
    return 0;
}
static inline unsigned tnn__fp_enter(unsigned mode)
{
    return mode;
}
static inline unsigned tnn__fp_save(void)
{
    return 0;
}
static inline void tnn__fp_leave(unsigned own)
{
    (void)own;
}
#endif

/* ---- worker threads (threadpool.c)
 * -------------------------------------------- */

/* Whether layers made now should run on oneDNN: built with it and
 * TNN_BACKEND=blas not in the environment (threads.c). */
bool tnn__want_dnnl(void);

struct tnn__pool;

/* A task runs as part `part` of `parts` (0 is the calling thread). */
typedef void (*tnn__task)(void *arg, int part, int parts);

/* A pool of parts - 1 worker threads, parts >= 2. */
int tnn__pool_new(const char *func, int parts, struct tnn__pool **out);
void tnn__pool_free(struct tnn__pool *pool);

/* Number of parts tasks are split into (1 without a pool). */
int tnn__pool_parts(const struct tnn__pool *pool);

/* Whether the pool's tasks run on OpenMP's threads, which spin between
 * tasks and start together, rather than on sleeping workers of its own. */
bool tnn__pool_spins(const struct tnn__pool *pool);

/* Run task on every part at once and wait for all; serial when pool is
 * NULL. */
void tnn__pool_run(struct tnn__pool *pool, tnn__task task, void *arg);

/* A loop body over items [begin, end). */
typedef void (*tnn__range_fn)(void *arg, size_t begin, size_t end);

/* Make pool the one this thread's range loops use (a model sets its own
 * around its passes); returns the one before, for tnn__pool_leave(). */
struct tnn__pool *tnn__pool_enter(struct tnn__pool *pool);
void tnn__pool_leave(struct tnn__pool *before);

/* Multiply-adds from which a dense layer's oneDNN product runs on the
 * threads (dense_dnnl.c); the update's thread rules and the spread steps
 * follow it (optim.c). */
#define TNN_PARALLEL_MIN_MACS ((size_t)1 << 23)

/* Mark the pool's steps (or predictions) as spread: their largest
 * products ran on the threads (tnn__products_spread()), so that each
 * thread holds part of every output in its caches and is still awake
 * when the passes between the products start. A model sets it at each
 * forward; NULL is ignored. */
void tnn__pool_set_spread(struct tnn__pool *pool, bool spread);

/* The least items a thread of a pass takes: min_items, or half of it
 * inside a spread step on OpenMP's threads (tnn__pool_set_spread()), where
 * splitting costs no waking and saves fetching half the input from the
 * other threads' caches. For the passes measured so (ReLU, alone or with
 * the dropout after it, and the regression losses). */
size_t tnn__spread_min(size_t min_items);

/* Run body over [0, count) split into contiguous ranges, one per thread
 * (tnn_get_num_threads()), when there are at least 2 * min_items items
 * and threads to run them: OpenMP's, or the pool entered on this thread.
 * Serially otherwise. Bodies must give the same result however the range
 * is split, and run in the caller's floating-point mode. */
void tnn__parallel_for(size_t count, size_t min_items, tnn__range_fn body,
                       void *arg);

/* ---- optimizers (optim.c) ---------------------------------------------- */

/* Values stored in model files: never renumber. */
enum tnn__optim_kind { TNN__OPTIM_SGD = 1, TNN__OPTIM_ADAM = 2 };
enum tnn__schedule {
    TNN__SCHEDULE_NONE = 0,
    TNN__SCHEDULE_STEP = 1,
    TNN__SCHEDULE_COSINE = 2
};

struct tnn_optim {
    enum tnn__optim_kind kind;
    float lr;
    float momentum;
    bool nesterov;
    float beta1, beta2, eps;
    bool decoupled;
    float weight_decay;
    bool decay_all;
    enum tnn__schedule schedule;
    long schedule_steps;
    float schedule_value; /* gamma (step) or min_lr (cosine) */
    /* Gradient clipping before each update: 0 is off. */
    float clip_value;
    float clip_norm;
    long steps;
    /* Updates since the state below was made: Adam's bias correction
     * counts from it, the schedules from steps. */
    long state_steps;
    /* One state buffer per parameter slot (velocity for SGD, m and v side
     * by side for Adam), in the order the model lists its parameters. */
    size_t num_slots;
    float **state;
    size_t *state_size;
    /* The model that owns the optimizer, NULL while the caller does. */
    const struct tnn_model *owner;
};

/* Make the per-parameter state for the layers' parameters (kept if it
 * already fits them, zeroed otherwise). */
int tnn__optim_prepare(tnn_optim *opt, const char *func,
                       tnn_layer *const *layers, size_t count);

/* Forget the state and the step count, as a new optimizer. */
void tnn__optim_reset(tnn_optim *opt);

/* Forget the per-parameter state (Adam's bias correction restarts with
 * it) but keep the step count that schedules follow: for a model whose
 * parameter list changed, or a first step that failed after the state
 * was made for it. */
void tnn__optim_forget_state(tnn_optim *opt);

/* One update of every trainable parameter of the layers from its
 * gradient, which it then sets to zero; split over the pool's threads
 * (pool may be NULL) when the parameters are many enough and so are the
 * rows of the batch the gradients came from (0 when not known).
 * tnn__optim_prepare() must have succeeded for the same layers. */
void tnn__optim_step(tnn_optim *opt, tnn_layer *const *layers, size_t count,
                     size_t rows, struct tnn__pool *pool);

/* Whether the update tnn__optim_step() would make writes only finite
 * values into the parameters and the optimizer's state; writes nothing.
 * On false, names the first offending parameter slot in *slot. */
bool tnn__optim_step_finite(const tnn_optim *opt, tnn_layer *const *layers,
                            size_t count, size_t *slot);

/* Free an optimizer whatever its owner: for the owner itself. */
void tnn__optim_destroy(tnn_optim *opt);

/* Values of the trainable parameters of the layers (what the optimizer
 * updates, and what replicas sum the gradients of). */
size_t tnn__trainable_values(tnn_layer *const *layers, size_t count);

/* Whether a batch of `rows` rows times the largest parameter tensor of
 * the layers reaches the multiply-adds from which a dense
 * layer's product runs on the threads (dense_dnnl.c): that layer's
 * products, forward and backward, were then split. */
bool tnn__products_spread(size_t rows, tnn_layer *const *layers, size_t count);

/* Whether the update of the layers' trainable parameters after a batch of
 * `rows` rows (0: not known) is split over the threads of pool. The
 * threads then run at every step anyway, so that other passes of the step
 * may be split too without waking threads that would otherwise sleep. */
bool tnn__update_splits(size_t rows, tnn_layer *const *layers, size_t count,
                        const struct tnn__pool *pool);

/* Clip the trainable gradients of the layers as the optimizer's settings
 * say: each value into [-clip_value, clip_value], then all of them
 * scaled so that their global L2 norm is at most clip_norm. */
void tnn__optim_clip(const tnn_optim *opt, tnn_layer *const *layers,
                     size_t count);

/* ---- bytes in files (bytes.c) --------------------------------------------
 * Fixed-width fields in a stated byte order. Model files are little-endian,
 * IDX files big-endian, whatever the host. */
uint32_t tnn__load_le32(const uint8_t *at);
uint64_t tnn__load_le64(const uint8_t *at);
uint32_t tnn__load_be32(const uint8_t *at);
void tnn__store_le32(uint8_t *at, uint32_t v);

/* Output that grows in a buffer from tnn__realloc. A failed allocation
 * sets failed and makes every later put a no-op: check it once, at the
 * end. Zero-initialise before use; free data when done. */
struct tnn__writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;
};

void tnn__put_bytes(struct tnn__writer *w, const void *p, size_t n);
void tnn__put_u32(struct tnn__writer *w, uint32_t v);
void tnn__put_u64(struct tnn__writer *w, uint64_t v);
void tnn__put_f32(struct tnn__writer *w, float f);
void tnn__put_f64(struct tnn__writer *w, double d);

/* What the *_save_buffer() functions share: *needed (may be NULL) gets
 * w's length, and buf (size bytes, or NULL with size 0 to ask only) its
 * bytes; TNN_E_SHAPE naming func when size is too small, buf untouched
 * then. Frees w's data. */
int tnn__writer_copy_out(const char *func, struct tnn__writer *w, void *buf,
                         size_t size, size_t *needed);

/* Input from len bytes at p. Reading past the end sets short_read and
 * gives zeros from then on: check it once, after the fields. */
struct tnn__reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool short_read;
};

/* The next n bytes, or NULL (and short_read) when fewer remain. */
const uint8_t *tnn__get_bytes(struct tnn__reader *r, size_t n);
uint32_t tnn__get_u32(struct tnn__reader *r);
uint64_t tnn__get_u64(struct tnn__reader *r);
float tnn__get_f32(struct tnn__reader *r);
double tnn__get_f64(struct tnn__reader *r);

/* Whether every byte was read and none was missing. */
bool tnn__reader_done(const struct tnn__reader *r);

/* ---- records of model files kept by their modules ------------------------
 * The optimizer and the generator write and read their own fields; the
 * model file code only places them (docs/format.md). */

/* The optimizer's section in format version: its settings and step
 * counts. */
void tnn__optim_write(struct tnn__writer *w, const tnn_optim *opt,
                      uint32_t version);

/* The oldest format that holds the optimizer's settings (4 with
 * clipping, since libtinynn 1.6). */
uint32_t tnn__optim_format_needed(const tnn_optim *opt);

/* What a file holds of an optimizer's per-parameter state. */
struct tnn__optim_saved {
    uint32_t num_slots;
    uint64_t state_steps;
};

/* A constructor or setter refused a value read from a model file: the
 * file is corrupt (TNN_E_NOMEM stays itself), and the message names what
 * (e.g. "layer 3") and the reason the refusal gave. */
int tnn__refused_in_file(const char *func, const char *what);

/* The optimizer an optimizer section describes, in *out, without its
 * per-parameter state, which *saved describes. TNN_E_CORRUPT when the
 * section is not one (or TNN_E_NOMEM); nothing is made then. */
int tnn__optim_read(const char *func, struct tnn__reader *r, uint32_t version,
                    tnn_optim **out, struct tnn__optim_saved *saved);

/* Make the state *saved describes for the layers' parameters, zeroed, to
 * be filled through tnn__optim_slot(): TNN_E_CORRUPT when it cannot be
 * theirs. */
int tnn__optim_restore(const char *func, tnn_optim *opt,
                       tnn_layer *const *layers, size_t count,
                       const struct tnn__optim_saved *saved);

/* Per-parameter state buffers: how many, and slot s with its *count
 * values. */
size_t tnn__optim_slots(const tnn_optim *opt);
float *tnn__optim_slot(const tnn_optim *opt, size_t s, size_t *count);

/* The generator's state, as the model section holds it. */
void tnn__rng_write(struct tnn__writer *w, const tnn_rng *rng);

/* The generator's state from r into *rng; false when the values are no
 * state the generator can be in (all zero, a spare normal out of range). */
bool tnn__rng_read(struct tnn__reader *r, tnn_rng *rng);

/* ---- files (crc32.c, fileio.c) --------------------------------------------
 */

uint32_t tnn__crc32(const void *data, size_t size);

/* Open path for blocking reads if it is a regular file: anything else is
 * refused with TNN_E_IO before it is opened, and the open never waits (a
 * FIFO put in its place meanwhile is refused too). *size gets its size. */
int tnn__open_regular(const char *func, const char *path, int *fd,
                      size_t *size);

/* The whole regular file at path, in a buffer from tnn__malloc. */
int tnn__read_file(const char *func, const char *path, uint8_t **data,
                   size_t *size);

/* A loader's parse of the size bytes at data, read from path, into out;
 * its messages name func and end with path. */
typedef int tnn__parse_fn(const char *func, const char *path, const void *data,
                          size_t size, void *out);

/* The last error of func again, with " in path" appended: what the file
 * loaders' messages end with. Returns rc. */
int tnn__name_path(int rc, const char *func, const char *path);

/* Read the whole regular file at path (NULL is TNN_E_INVALID) and parse
 * it: what the loaders of files share. */
int tnn__load_file(const char *func, const char *path, tnn__parse_fn *parse,
                   void *out);

/* Replace path by data: temporary file in the same directory, fsync,
 * rename. On failure path is untouched and no temporary file is left. */
int tnn__write_file_atomic(const char *func, const char *path,
                           const void *data, size_t size);

/* ---- models (model.c) ----------------------------------------------------
 */

/* What tnn_model_fit() shows its callback (progress.c's getters). */
struct tnn_progress {
    tnn_model *model;
    /* Counts the model's fit calls, so that a callback kept across calls
     * sees a new one begin. */
    unsigned long fit;
    int event;
    int epoch;
    int epochs;
    size_t batch;
    size_t batches;
    double loss;
    double accuracy;
    double val_loss;
    double val_accuracy;
    double seconds;
};

struct tnn_model {
    struct tnn__shape in_shape;
    size_t in_features;
    tnn_layer **layers;
    size_t num_layers;
    size_t layers_cap;
    tnn_optim *optim;
    int loss;
    int mode;
    bool check_finite;
    /* The bound on values per sample in the model's buffers. */
    size_t max_sample_values;
    tnn_rng *rng;
    /* Worker threads for the optimizer update, made on the first training
     * step when more than one thread is asked for. */
    struct tnn__pool *pool;
    /* Set while tnn_model_fit() runs, so that its callback cannot change
     * the model under it. */
    bool busy;
    /* tnn_model_fit() calls so far (struct tnn_progress). */
    unsigned long fits;
    /* Threshold of TNN_LOSS_HUBER. */
    float huber_delta;
    /* Buffers for up to rows_cap rows, made on first use and kept: act[0]
     * gathers shuffled input rows, act[i + 1] is layer i's output and
     * dact[i + 1] the loss gradient with respect to it. */
    size_t rows_cap;
    float **act;
    float **dact;
    float *labels;
    /* Replicas (replica.c): the collective that sums across them, this
     * model's slice of every batch (shard_count 0: not sharded), and the
     * flat buffer handed to the collective. */
    tnn_allreduce_fn allreduce;
    void *allreduce_ctx;
    size_t shard_index;
    size_t shard_count;
    float *reduce_buf;
    size_t reduce_cap;
    /* Batch statistics summed over the replicas, and whether a sum made
     * during the current step failed. */
    bool sync_batchnorm;
    bool sync_failed;
};

/* TNN_E_STATE while owner trains, so that a tnn_model_fit() callback
 * cannot change the model under it; TNN_OK for NULL (nothing owns what
 * the caller would change). layer_kind names the layer kind when what
 * would change is one of owner's layers, NULL when it is the model or
 * its optimizer. */
int tnn__check_not_training(const char *func, const tnn_model *owner,
                            const char *layer_kind);

/* ---- replicas (replica.c) ------------------------------------------------
 */

/* What replicas sum besides the gradients, at the end of the buffer. */
#define TNN__REDUCE_FIGURES 3
struct tnn__figures {
    double rows;
    double loss_sum;
    double correct;
    /* The mean loss: loss_sum / rows, or as the loss gave it for one
     * replica's rows alone (the same bits as before replicas existed). */
    double loss;
};

/* Make the buffer for one step's collective (when a hook is set). */
int tnn__replica_reserve(tnn_model *m, const char *func);

/* Sum, through the hook, the figures and (when gradients) every trainable
 * gradient across the replicas: afterwards the gradients are the global
 * batch's mean-loss gradients and *f the global figures. TNN_E_IO when the
 * hook fails, the gradients then partly packed: the caller discards them. */
int tnn__replica_reduce(tnn_model *m, const char *func, bool gradients,
                        struct tnn__figures *f);

/* This replica's rows [*first, *first + *count) of a batch of n. */
void tnn__replica_slice(const tnn_model *m, size_t n, size_t *first,
                        size_t *count);

/* Row streams: the first value of row's stream under key, and draw k of a
 * stream, counter-based (any row, any draw, in any order). */
uint64_t tnn__row_stream(uint64_t key, uint64_t row);
uint64_t tnn__row_draw(uint64_t stream, uint64_t k);

/* Key every layer's random draws for one step (from step_key and the
 * layer's position), the batch's rows here starting at first_row; and
 * back to the generator. */
void tnn__replica_key_layers(tnn_model *m, uint64_t step_key,
                             size_t first_row);
void tnn__replica_unkey_layers(tnn_model *m);

/* Give the layers the hook for their own sums over the replicas during a
 * training step (when the model synchronises batch statistics and has a
 * hook), or take it back (on false). */
void tnn__replica_sync_layers(tnn_model *m, bool on);

/* The sums over the replicas that layers [0, head) would make in a
 * forward (forward true) or layers [first, head) in a backward, with
 * nothing to add: for a replica whose step runs no pass. */
void tnn__replica_idle(tnn_model *m, size_t head, size_t first, bool forward);

#endif /* TINYNN_INTERNAL_H */
