/*
 * ONNX import (docs/onnx.md): a graph that is a chain of the library's
 * layers becomes a model. The file is untrusted: the wire is walked in
 * place (protobuf.c), every count is checked against the bytes that hold
 * it before anything is allocated for it, and everything the reader does
 * not understand is refused with the node, its operator and the reason.
 *
 * The walk follows the graph's nodes in their order, which ONNX requires
 * to be topological. One tensor at a time is "the data": at first the
 * graph's input, then the output of each node that reads it. A node that
 * reads an earlier data tensor makes a branch, which a sequential model
 * cannot express. Beside the chain, small integer tensors are computed as
 * far as shape arithmetic needs (Shape, Gather, Unsqueeze, Concat ...),
 * with the batch size kept symbolic, so that the Reshape PyTorch writes
 * for x.view(x.size(0), -1) is recognised as a flatten.
 *
 * The data is batch-first, as the library's, except around a recurrent
 * node: ONNX's LSTM and GRU read (time, batch, features) and give their
 * states with a direction axis, so the reader follows the data's form
 * through the Transpose before the node and the Squeeze and Transpose
 * after it, and makes the layer once it knows which states go on (every
 * step's, or the last: Y_h, or y[:, -1] of every step's). The initial
 * states PyTorch computes (ConstantOfShape or Expand of zeros) are known
 * zeros, which the layer starts from. A model of token ids starts with
 * int64 ids, which only a Gather over a constant table (an embedding)
 * reads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"

/* Bounds of what one node may carry; the library's operators need far
 * less, so anything larger is refused before it costs memory. */
#define MAX_INPUTS 8
#define MAX_OUTPUTS 4
#define MAX_ATTRS 16
#define MAX_INTS 8
#define MAX_STRINGS 4
#define MAX_TENSOR_DIMS 8
/* The symbolic batch size in computed shapes. */
#define BATCH INT64_MIN

/* A byte string of the file (names, op types, sub-messages). */
struct text {
    const uint8_t *p;
    size_t n;
};

static bool text_is(struct text t, const char *s)
{
    size_t n = strlen(s);
    return t.n == n && memcmp(t.p, s, n) == 0;
}

static bool text_eq(struct text a, struct text b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* A name from the file, fit to print: at most 48 bytes, anything but
 * printable ASCII as '?'. */
static const char *printable(struct text t, char *buf, size_t size)
{
    size_t n = t.n < size - 4 ? t.n : size - 4;
    for (size_t i = 0; i < n; i++)
        buf[i] = t.p[i] >= 0x20 && t.p[i] < 0x7f ? (char)t.p[i] : '?';
    if (n < t.n)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
    return buf;
}

struct attr {
    struct text name;
    int64_t type;
    bool has_f, has_i;
    float f;
    int64_t i;
    struct text s;
    struct text t; /* a TensorProto */
    int nints;
    int64_t ints[MAX_INTS];
    bool too_many_ints;
    int nstrings;
    struct text strings[MAX_STRINGS];
    bool too_many_strings;
};

struct node {
    size_t index;
    struct text name, op, domain;
    int nin, nout, nattr;
    struct text in[MAX_INPUTS];
    struct text out[MAX_OUTPUTS];
    struct attr attr[MAX_ATTRS];
};

/* A TensorProto's header; its values are read when needed. */
struct tensor {
    struct text name;
    int64_t type;
    int ndim;
    int64_t dims[MAX_TENSOR_DIMS];
    uint64_t count;
    struct text msg;
    bool has_raw;
    struct text raw;
    uint64_t typed; /* values in the typed fields */
};

/* A named value that nodes made: a data tensor of the chain (kept so that
 * a second reader of it is recognised as a branch, and for Shape), a small
 * integer tensor of shape arithmetic, a Constant's tensor, float zeros of
 * any shape (a recurrent node's initial state), or an output of a
 * recurrent node that the chain does not go on with. */
enum value_kind {
    VALUE_DATA,
    VALUE_INTS,
    VALUE_TENSOR,
    VALUE_ZEROS,
    VALUE_DROPPED
};

struct value {
    struct text name;
    enum value_kind kind;
    int rank; /* VALUE_INTS: 0 (scalar) or 1 */
    int n;
    union {
        int64_t v[MAX_INTS]; /* VALUE_INTS */
        struct text tensor;  /* VALUE_TENSOR: the TensorProto */
    };
};

struct init {
    struct text name;
    struct text msg;
};

/* What the data is, beyond its per-sample shape: batch-first rows of
 * samples (the library's), the graph's int64 token ids (batch, time)
 * before the embedding, (time, batch, features) around a recurrent node,
 * a recurrent node's Y (time, 1, batch, hidden) or Y_h (1, batch,
 * hidden). shape holds (time, features), (time, hidden) and (hidden) for
 * the last three. */
enum form { FORM_ROWS, FORM_IDS, FORM_TIME_MAJOR, FORM_Y, FORM_Y_H };

struct reader {
    const char *func;
    int64_t opset;
    struct init *inits;
    size_t ninits;
    /* values, found through an open-addressing table of indices + 1 */
    struct value *values;
    size_t nvalues, values_cap;
    uint32_t *slots;
    size_t nslots;
    tnn_model *model;
    struct text current;     /* the data tensor */
    struct tnn__shape shape; /* its per-sample shape */
    bool fixed_batch;
    int64_t batch;
    tnn_layer *bare_matmul; /* a MatMul's dense, waiting for its Add */
    bool ended;             /* after LogSoftmax nothing may follow */
    const struct node *node;
    enum form form;
    /* A recurrent node's Y_h while its Y is the data: the next node that
     * reads one of them chooses. */
    struct text alt;
    /* Set by a node whose data goes on as another output than its
     * first. */
    struct text moved_to;
    /* A recurrent layer read from a node, with its every step's states
     * (return_sequences 1), not in the model yet: it is added once the
     * nodes after it show whether every step's states go on or the last
     * step's (last). */
    tnn_layer *recurrent;
    bool last;
};

/* ---- errors ------------------------------------------------------------- */

static int fail_node(struct reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_node(struct reader *r, int code, const char *fmt, ...)
{
    char what[256], name[64], op[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const struct node *n = r->node;
    if (!n)
        return tnn__fail(code, r->func, "%s", what);
    if (n->name.n)
        return tnn__fail(code, r->func, "node %zu '%s' (%s): %s", n->index,
                         printable(n->name, name, sizeof name),
                         printable(n->op, op, sizeof op), what);
    return tnn__fail(code, r->func, "node %zu (%s): %s", n->index,
                     printable(n->op, op, sizeof op), what);
}

static int malformed(struct reader *r, const char *what)
{
    return fail_node(r, TNN_E_FORMAT, "malformed %s", what);
}

/* A constructor or setter refused a value the file gave: the file is what
 * is wrong (TNN_E_NOMEM stays itself). */
static int refused(struct reader *r)
{
    int code =
        tnn_last_error_code() == TNN_E_NOMEM ? TNN_E_NOMEM : TNN_E_FORMAT;
    char why[256];
    snprintf(why, sizeof why, "%s", tnn_last_error());
    return fail_node(r, code, "%s", why);
}

/* ---- the named values --------------------------------------------------- */

static uint64_t hash_text(struct text t)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < t.n; i++)
        h = (h ^ t.p[i]) * 0x100000001b3u;
    return h;
}

static struct value *find_value(const struct reader *r, struct text name)
{
    if (!r->nslots)
        return NULL;
    for (size_t i = hash_text(name) & (r->nslots - 1);;
         i = (i + 1) & (r->nslots - 1)) {
        uint32_t slot = r->slots[i];
        if (!slot)
            return NULL;
        if (text_eq(r->values[slot - 1].name, name))
            return &r->values[slot - 1];
    }
}

static void place_slot(uint32_t *slots, size_t nslots, struct text name,
                       uint32_t slot)
{
    size_t i = hash_text(name) & (nslots - 1);
    while (slots[i])
        i = (i + 1) & (nslots - 1);
    slots[i] = slot;
}

/* Room for one more value, the table kept at most half full. */
static int reserve_value(struct reader *r)
{
    if (r->nvalues == r->values_cap) {
        size_t cap = r->values_cap ? 2 * r->values_cap : 16;
        struct value *grown = tnn__realloc(r->values, cap * sizeof *grown);
        if (!grown)
            return fail_node(r, TNN_E_NOMEM, "cannot allocate %zu values",
                             cap);
        r->values = grown;
        r->values_cap = cap;
    }
    if (2 * (r->nvalues + 1) > r->nslots) {
        size_t nslots = r->nslots ? 2 * r->nslots : 32;
        uint32_t *slots = tnn__calloc(nslots, sizeof *slots);
        if (!slots)
            return fail_node(r, TNN_E_NOMEM, "cannot allocate %zu slots",
                             nslots);
        for (size_t i = 0; i < r->nvalues; i++)
            place_slot(slots, nslots, r->values[i].name, (uint32_t)i + 1);
        tnn__free(r->slots);
        r->slots = slots;
        r->nslots = nslots;
    }
    return TNN_OK;
}

static const struct init *find_init(const struct reader *r, struct text name);

/* A new value named by a node's output; names are assigned once. */
static int add_value(struct reader *r, const struct value *v)
{
    char name[64];
    if (!v->name.n)
        return malformed(r, "node: an output without a name");
    if (find_value(r, v->name) || find_init(r, v->name) ||
        text_eq(v->name, r->current) || (r->alt.n && text_eq(v->name, r->alt)))
        return fail_node(r, TNN_E_FORMAT, "'%s' is assigned twice",
                         printable(v->name, name, sizeof name));
    int rc = reserve_value(r);
    if (rc != TNN_OK)
        return rc;
    r->values[r->nvalues] = *v;
    place_slot(r->slots, r->nslots, v->name, (uint32_t)++r->nvalues);
    return TNN_OK;
}

/* ---- initializers: an index sorted by name ------------------------------ */

static int compare_text(struct text a, struct text b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

static int compare_init(const void *a, const void *b)
{
    return compare_text(((const struct init *)a)->name,
                        ((const struct init *)b)->name);
}

static const struct init *find_init(const struct reader *r, struct text name)
{
    size_t lo = 0, hi = r->ninits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_text(r->inits[mid].name, name);
        if (c == 0)
            return &r->inits[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- tensors ------------------------------------------------------------ */

struct count_arg {
    uint64_t n;
};

static bool count_element(void *arg, uint64_t value)
{
    (void)value;
    ((struct count_arg *)arg)->n++;
    return true;
}

struct dims_arg {
    struct tensor *t;
    bool bad;
};

static bool take_dim(void *arg, uint64_t value)
{
    struct dims_arg *d = arg;
    if (d->t->ndim == MAX_TENSOR_DIMS || (int64_t)value < 0) {
        d->bad = true;
        return false;
    }
    d->t->dims[d->t->ndim++] = (int64_t)value;
    return true;
}

static size_t type_size(int64_t type)
{
    return type == TNN__ONNX_FLOAT || type == TNN__ONNX_INT32 ? 4
           : type == TNN__ONNX_INT64                          ? 8
                                                              : 0;
}

static const char *type_name(int64_t type)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
        "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
        "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    return type >= 0 && type < (int64_t)(sizeof names / sizeof names[0])
               ? names[type]
               : "unknown";
}

/* Read a TensorProto's header and check that its values are all there,
 * in raw_data or in the typed field of its type, and nowhere else. */
static int parse_tensor(struct reader *r, struct text msg, struct tensor *t)
{
    memset(t, 0, sizeof *t);
    t->msg = msg;
    struct tnn__pb pb = tnn__pb_open(msg.p, msg.n);
    struct tnn__pb_field f;
    struct dims_arg dims = {t, false};
    struct count_arg typed = {0};
    bool external = false;
    while (tnn__pb_next(&pb, &f)) {
        switch (f.number) {
        case TNN__ONNX_TENSOR_DIMS:
            if (!tnn__pb_elements(&f, TNN__PB_VARINT, take_dim, &dims))
                return malformed(r, dims.bad ? "tensor: too many or negative "
                                               "dimensions"
                                             : "tensor dimensions");
            break;
        case TNN__ONNX_TENSOR_DATA_TYPE: t->type = (int64_t)f.value; break;
        case TNN__ONNX_TENSOR_NAME:
            t->name = (struct text){f.data, f.len};
            break;
        case TNN__ONNX_TENSOR_RAW_DATA:
            t->has_raw = true;
            t->raw = (struct text){f.data, f.len};
            break;
        case TNN__ONNX_TENSOR_FLOAT_DATA:
            if (!tnn__pb_elements(&f, TNN__PB_FIXED32, count_element, &typed))
                return malformed(r, "tensor float_data");
            break;
        case TNN__ONNX_TENSOR_INT32_DATA:
        case TNN__ONNX_TENSOR_INT64_DATA:
            if (!tnn__pb_elements(&f, TNN__PB_VARINT, count_element, &typed))
                return malformed(r, "tensor integer data");
            break;
        case TNN__ONNX_TENSOR_SEGMENT:
            return fail_node(r, TNN_E_FORMAT,
                             "segmented tensors are not supported");
        case TNN__ONNX_TENSOR_EXTERNAL_DATA: external = true; break;
        case TNN__ONNX_TENSOR_DATA_LOCATION:
            external = external || f.value != 0;
            break;
        default: /* doc_string, the other types' fields: checked below */
            break;
        }
    }
    if (pb.bad)
        return malformed(r, "tensor");
    char name[64];
    if (external)
        return fail_node(r, TNN_E_FORMAT,
                         "tensor '%s' keeps its data in an external file, "
                         "which is not supported",
                         printable(t->name, name, sizeof name));
    size_t size = type_size(t->type);
    if (!size)
        return fail_node(r, TNN_E_FORMAT,
                         "tensor '%s' has data type %s, which is not "
                         "supported (FLOAT for values, INT64 or INT32 for "
                         "shapes)",
                         printable(t->name, name, sizeof name),
                         type_name(t->type));
    t->count = 1;
    for (int d = 0; d < t->ndim; d++)
        t->count = tnn__mul_sat(t->count, (uint64_t)t->dims[d]);
    t->typed = typed.n;
    bool raw_fits =
        t->has_raw && t->raw.n / size == t->count && t->raw.n % size == 0;
    bool typed_fits = !t->has_raw && typed.n == t->count;
    /* INT32 data in int32_data of an INT64 tensor is a mismatch too, but
     * harmless: both are varints, read the same way. */
    if (!raw_fits && !typed_fits)
        return fail_node(
            r, TNN_E_FORMAT,
            "tensor '%s' should hold %llu values but holds %llu",
            printable(t->name, name, sizeof name),
            (unsigned long long)t->count,
            (unsigned long long)(t->has_raw ? t->raw.n / size : typed.n));
    return TNN_OK;
}

struct floats_arg {
    float *out;
    size_t n;
};

static bool take_float(void *arg, uint64_t value)
{
    struct floats_arg *a = arg;
    a->out[a->n++] = tnn__pb_float(value);
    return true;
}

/* The tensor's count values as floats (it is FLOAT). Little-endian in
 * raw_data on every host, as ONNX specifies. */
static void tensor_floats(const struct tensor *t, float *out)
{
    if (t->has_raw) {
        for (uint64_t i = 0; i < t->count; i++)
            out[i] = tnn__word_float(tnn__load_le32(t->raw.p + 4 * i));
        return;
    }
    struct floats_arg a = {out, 0};
    struct tnn__pb pb = tnn__pb_open(t->msg.p, t->msg.n);
    struct tnn__pb_field f;
    while (tnn__pb_next(&pb, &f))
        if (f.number == TNN__ONNX_TENSOR_FLOAT_DATA)
            tnn__pb_elements(&f, TNN__PB_FIXED32, take_float, &a);
}

struct ints_arg {
    int64_t *out;
    size_t n;
    bool is32;
};

static bool take_int(void *arg, uint64_t value)
{
    struct ints_arg *a = arg;
    a->out[a->n++] = a->is32 ? (int64_t)(int32_t)value : (int64_t)value;
    return true;
}

/* The values of a small integer tensor (count <= MAX_INTS). */
static void tensor_ints(const struct tensor *t, int64_t *out)
{
    if (t->has_raw) {
        for (uint64_t i = 0; i < t->count; i++)
            out[i] = t->type == TNN__ONNX_INT64
                         ? (int64_t)tnn__load_le64(t->raw.p + 8 * i)
                         : (int64_t)(int32_t)tnn__load_le32(t->raw.p + 4 * i);
        return;
    }
    struct ints_arg a = {out, 0, t->type == TNN__ONNX_INT32};
    struct tnn__pb pb = tnn__pb_open(t->msg.p, t->msg.n);
    struct tnn__pb_field f;
    while (tnn__pb_next(&pb, &f))
        if (f.number == TNN__ONNX_TENSOR_INT32_DATA ||
            f.number == TNN__ONNX_TENSOR_INT64_DATA)
            tnn__pb_elements(&f, TNN__PB_VARINT, take_int, &a);
}

static bool take_zero(void *arg, uint64_t value)
{
    if ((value & 0x7fffffffu) == 0)
        return true;
    *(bool *)arg = false;
    return false;
}

/* Whether a FLOAT tensor's values are all zeros (of either sign). */
static bool tensor_all_zero(const struct tensor *t)
{
    if (t->type != TNN__ONNX_FLOAT)
        return false;
    if (t->has_raw) {
        for (uint64_t i = 0; i < t->count; i++)
            if (tnn__load_le32(t->raw.p + 4 * i) & 0x7fffffffu)
                return false;
        return true;
    }
    bool zero = true;
    struct tnn__pb pb = tnn__pb_open(t->msg.p, t->msg.n);
    struct tnn__pb_field f;
    while (zero && tnn__pb_next(&pb, &f))
        if (f.number == TNN__ONNX_TENSOR_FLOAT_DATA)
            tnn__pb_elements(&f, TNN__PB_FIXED32, take_zero, &zero);
    return zero;
}

/* ---- nodes and their attributes ----------------------------------------- */

static bool take_attr_int(void *arg, uint64_t value)
{
    struct attr *a = arg;
    if (a->nints == MAX_INTS) {
        a->too_many_ints = true;
        return false;
    }
    a->ints[a->nints++] = (int64_t)value;
    return true;
}

static int parse_attr(struct reader *r, struct text msg, struct attr *a)
{
    memset(a, 0, sizeof *a);
    struct tnn__pb pb = tnn__pb_open(msg.p, msg.n);
    struct tnn__pb_field f;
    while (tnn__pb_next(&pb, &f)) {
        switch (f.number) {
        case TNN__ONNX_ATTR_NAME:
            a->name = (struct text){f.data, f.len};
            break;
        case TNN__ONNX_ATTR_TYPE: a->type = (int64_t)f.value; break;
        case TNN__ONNX_ATTR_F:
            a->has_f = f.wire == TNN__PB_FIXED32;
            a->f = tnn__pb_float(f.value);
            break;
        case TNN__ONNX_ATTR_I:
            a->has_i = f.wire == TNN__PB_VARINT;
            a->i = (int64_t)f.value;
            break;
        case TNN__ONNX_ATTR_S: a->s = (struct text){f.data, f.len}; break;
        case TNN__ONNX_ATTR_T: a->t = (struct text){f.data, f.len}; break;
        case TNN__ONNX_ATTR_INTS:
            if (!tnn__pb_elements(&f, TNN__PB_VARINT, take_attr_int, a) &&
                !a->too_many_ints)
                return malformed(r, "attribute ints");
            break;
        case TNN__ONNX_ATTR_STRINGS:
            if (f.wire != TNN__PB_BYTES)
                return malformed(r, "attribute strings");
            if (a->nstrings == MAX_STRINGS)
                a->too_many_strings = true;
            else
                a->strings[a->nstrings++] = (struct text){f.data, f.len};
            break;
        default: /* floats, graphs: no supported op uses them */ break;
        }
    }
    if (pb.bad)
        return malformed(r, "attribute");
    return TNN_OK;
}

static int parse_node(struct reader *r, struct text msg, struct node *n)
{
    struct tnn__pb pb = tnn__pb_open(msg.p, msg.n);
    struct tnn__pb_field f;
    /* The op type first, so that every later message can name it. */
    while (tnn__pb_next(&pb, &f)) {
        if (f.number == TNN__ONNX_NODE_OP_TYPE)
            n->op = (struct text){f.data, f.len};
        else if (f.number == TNN__ONNX_NODE_NAME)
            n->name = (struct text){f.data, f.len};
    }
    if (pb.bad)
        return malformed(r, "node");
    pb = tnn__pb_open(msg.p, msg.n);
    while (tnn__pb_next(&pb, &f)) {
        struct text t = {f.data, f.len};
        switch (f.number) {
        case TNN__ONNX_NODE_INPUT:
            if (n->nin == MAX_INPUTS)
                return fail_node(r, TNN_E_FORMAT,
                                 "more than %d inputs are not supported",
                                 MAX_INPUTS);
            n->in[n->nin++] = t;
            break;
        case TNN__ONNX_NODE_OUTPUT:
            if (n->nout == MAX_OUTPUTS)
                return fail_node(r, TNN_E_FORMAT,
                                 "more than %d outputs are not supported",
                                 MAX_OUTPUTS);
            n->out[n->nout++] = t;
            break;
        case TNN__ONNX_NODE_DOMAIN: n->domain = t; break;
        case TNN__ONNX_NODE_ATTRIBUTE: {
            if (n->nattr == MAX_ATTRS)
                return fail_node(r, TNN_E_FORMAT,
                                 "more than %d attributes are not supported",
                                 MAX_ATTRS);
            int rc = parse_attr(r, t, &n->attr[n->nattr++]);
            if (rc != TNN_OK)
                return rc;
            break;
        }
        default: break;
        }
    }
    if (!n->op.n)
        return malformed(r, "node: no op_type");
    /* A recurrent node may leave out Y when Y_h is what goes on. */
    bool recurrent = text_is(n->op, "LSTM") || text_is(n->op, "GRU");
    if (!n->nout || (!n->out[0].n && !(recurrent && n->nout > 1)))
        return malformed(r, "node: no output");
    return TNN_OK;
}

static const struct attr *find_attr(const struct node *n, const char *name)
{
    for (int i = 0; i < n->nattr; i++)
        if (text_is(n->attr[i].name, name))
            return &n->attr[i];
    return NULL;
}

/* Refuse attributes the op's import does not know: ignoring one could
 * silently change what the model computes. allowed ends with NULL. */
static int check_attrs(struct reader *r, const char *const *allowed)
{
    const struct node *n = r->node;
    for (int i = 0; i < n->nattr; i++) {
        const char *const *a = allowed;
        while (*a && !text_is(n->attr[i].name, *a))
            a++;
        if (!*a) {
            char name[64];
            return fail_node(r, TNN_E_FORMAT,
                             "attribute '%s' is not supported",
                             printable(n->attr[i].name, name, sizeof name));
        }
    }
    return TNN_OK;
}

static int attr_int(struct reader *r, const char *name, int64_t fallback,
                    int64_t *out)
{
    const struct attr *a = find_attr(r->node, name);
    *out = fallback;
    if (!a)
        return TNN_OK;
    if (!a->has_i)
        return fail_node(r, TNN_E_FORMAT, "attribute '%s' is not an integer",
                         name);
    *out = a->i;
    return TNN_OK;
}

static int attr_float(struct reader *r, const char *name, float fallback,
                      float *out)
{
    const struct attr *a = find_attr(r->node, name);
    *out = fallback;
    if (!a)
        return TNN_OK;
    if (!a->has_f)
        return fail_node(r, TNN_E_FORMAT, "attribute '%s' is not a float",
                         name);
    *out = a->f;
    return TNN_OK;
}

/* An integer list attribute of exactly count values (or absent: then
 * fallback fills it). */
static int attr_ints(struct reader *r, const char *name, int count,
                     int64_t fallback, int64_t *out)
{
    const struct attr *a = find_attr(r->node, name);
    for (int i = 0; i < count; i++)
        out[i] = fallback;
    if (!a)
        return TNN_OK;
    if (a->too_many_ints || a->nints != count)
        return fail_node(r, TNN_E_FORMAT,
                         "attribute '%s' must have %d values for 2-D images",
                         name, count);
    memcpy(out, a->ints, (size_t)count * sizeof *out);
    return TNN_OK;
}

/* ---- constants the nodes read ---------------------------------------- */

/* The float tensor a node's input names: an initializer or a Constant's.
 * want_dims < 0 accepts any rank. */
static int const_tensor(struct reader *r, int input, struct tensor *t)
{
    char name[64];
    const struct node *n = r->node;
    struct text nm = input < n->nin ? n->in[input] : (struct text){0};
    const struct init *init = nm.n ? find_init(r, nm) : NULL;
    const struct value *v = init || !nm.n ? NULL : find_value(r, nm);
    if (init)
        return parse_tensor(r, init->msg, t);
    if (v && v->kind == VALUE_TENSOR)
        return parse_tensor(r, v->tensor, t);
    return fail_node(r, TNN_E_FORMAT,
                     "input %d ('%s') must be a constant (an initializer)",
                     input, printable(nm, name, sizeof name));
}

static int const_floats(struct reader *r, int input, struct tensor *t,
                        float **values)
{
    *values = NULL;
    int rc = const_tensor(r, input, t);
    if (rc != TNN_OK)
        return rc;
    char name[64];
    if (t->type != TNN__ONNX_FLOAT)
        return fail_node(
            r, TNN_E_FORMAT, "tensor '%s' has data type %s; FLOAT is needed",
            printable(t->name, name, sizeof name), type_name(t->type));
    /* count <= the file's bytes / 4: parse_tensor() found them there. */
    *values = tnn__malloc((size_t)(t->count ? t->count : 1) * sizeof(float));
    if (!*values)
        return fail_node(r, TNN_E_NOMEM, "cannot allocate %llu values",
                         (unsigned long long)t->count);
    tensor_floats(t, *values);
    return TNN_OK;
}

/* A small integer tensor: computed, an initializer or a Constant's. */
static int const_ints(struct reader *r, int input, struct value *out)
{
    const struct node *n = r->node;
    char name[64];
    struct text nm = input < n->nin ? n->in[input] : (struct text){0};
    const struct value *v = nm.n ? find_value(r, nm) : NULL;
    if (v && v->kind == VALUE_INTS) {
        *out = *v;
        return TNN_OK;
    }
    if (v && v->kind == VALUE_DATA)
        return fail_node(r, TNN_E_FORMAT,
                         "input %d ('%s') is computed from the model's data; "
                         "only constant shapes are supported",
                         input, printable(nm, name, sizeof name));
    struct tensor t;
    int rc = const_tensor(r, input, &t);
    if (rc != TNN_OK)
        return rc;
    if ((t.type != TNN__ONNX_INT64 && t.type != TNN__ONNX_INT32) ||
        t.ndim > 1 || t.count > MAX_INTS)
        return fail_node(r, TNN_E_FORMAT,
                         "tensor '%s' must be at most %d integers",
                         printable(t.name, name, sizeof name), MAX_INTS);
    memset(out, 0, sizeof *out);
    out->kind = VALUE_INTS;
    out->rank = t.ndim;
    out->n = (int)t.count;
    tensor_ints(&t, out->v);
    return TNN_OK;
}

/* Whether input i is absent, or known to hold float zeros only: computed
 * zeros (ConstantOfShape, Expand), or a constant tensor of them. */
static int known_zero(struct reader *r, int input, bool *zero)
{
    const struct node *n = r->node;
    *zero = true;
    if (input >= n->nin || !n->in[input].n)
        return TNN_OK;
    const struct value *v = find_value(r, n->in[input]);
    if (v && v->kind == VALUE_ZEROS)
        return TNN_OK;
    *zero = false;
    if (v && v->kind != VALUE_TENSOR)
        return TNN_OK;
    struct tensor t;
    int rc = const_tensor(r, input, &t);
    if (rc == TNN_OK)
        *zero = tensor_all_zero(&t);
    return rc;
}

/* ---- the chain ------------------------------------------------------- */

/* Append a layer to the model and follow the data's shape. */
static int add_layer(struct reader *r, tnn_layer *layer)
{
    if (!layer)
        return refused(r);
    if (tnn_model_add(r->model, layer) != TNN_OK)
        return refused(r);
    r->shape = layer->out_shape;
    r->bare_matmul = NULL;
    return TNN_OK;
}

static int need_rows(struct reader *r)
{
    char got[64];
    if (r->shape.ndim != 1)
        return fail_node(r, TNN_E_FORMAT,
                         "needs (batch, features) data; here the samples "
                         "are %s",
                         tnn__shape_text(&r->shape, got, sizeof got));
    return TNN_OK;
}

static int need_images(struct reader *r)
{
    char got[64];
    if (r->shape.ndim != 3)
        return fail_node(r, TNN_E_FORMAT,
                         "needs (batch, channels, height, width) data; here "
                         "it is %s",
                         tnn__shape_text(&r->shape, got, sizeof got));
    return TNN_OK;
}

/* Gemm's alpha or beta times v; a factor of 1 (what exporters write)
 * copies v bit for bit, so that a NaN's payload survives a round trip as
 * the layer's own files keep it. */
static float scaled(float factor, float v)
{
    return factor == 1.0f ? v : factor * v;
}

/* A dense layer of in x out from weights w laid out (in, out) when
 * !transposed, (out, in) when transposed, scaled by alpha; bias (out
 * values, or 1 broadcast, or none) scaled by beta. */
static int add_dense(struct reader *r, const struct tensor *wt, const float *w,
                     bool transposed, float alpha, const struct tensor *bt,
                     const float *b, float beta)
{
    char got[64];
    if (wt->ndim != 2)
        return fail_node(r, TNN_E_FORMAT, "the weights must be a matrix");
    size_t in = (size_t)wt->dims[transposed ? 1 : 0];
    size_t out = (size_t)wt->dims[transposed ? 0 : 1];
    if (in != tnn__shape_size(&r->shape))
        return fail_node(r, TNN_E_FORMAT,
                         "weights of %zu inputs, but the data has %s", in,
                         tnn__shape_text(&r->shape, got, sizeof got));
    if (b && bt->count != out && bt->count != 1)
        return fail_node(r, TNN_E_FORMAT,
                         "bias of %llu values for %zu outputs",
                         (unsigned long long)bt->count, out);
    tnn_layer *dense = tnn_dense_new(in, out);
    int rc = add_layer(r, dense);
    if (rc != TNN_OK)
        return rc;
    float *dw = tnn_tensor_data(tnn_layer_param(dense, 0));
    float *db = tnn_tensor_data(tnn_layer_param(dense, 1));
    for (size_t i = 0; i < in; i++)
        for (size_t o = 0; o < out; o++)
            dw[i * out + o] =
                scaled(alpha, w[transposed ? o * in + i : i * out + o]);
    for (size_t o = 0; o < out; o++)
        db[o] = b ? scaled(beta, b[bt->count == 1 ? 0 : o]) : 0.0f;
    return TNN_OK;
}

static int import_gemm(struct reader *r)
{
    static const char *const allowed[] = {"alpha", "beta", "transA", "transB",
                                          NULL};
    int64_t trans_a, trans_b;
    float alpha, beta;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "transA", 0, &trans_a);
    if (rc == TNN_OK)
        rc = attr_int(r, "transB", 0, &trans_b);
    if (rc == TNN_OK)
        rc = attr_float(r, "alpha", 1.0f, &alpha);
    if (rc == TNN_OK)
        rc = attr_float(r, "beta", 1.0f, &beta);
    if (rc == TNN_OK)
        rc = need_rows(r);
    if (rc != TNN_OK)
        return rc;
    if (trans_a)
        return fail_node(r, TNN_E_FORMAT, "transA 1 is not supported");
    if (!text_eq(r->node->in[0], r->current))
        return fail_node(r, TNN_E_FORMAT,
                         "the data must be input A; B and C constants");
    struct tensor wt, bt;
    float *w = NULL, *b = NULL;
    rc = const_floats(r, 1, &wt, &w);
    if (rc == TNN_OK && r->node->nin > 2 && r->node->in[2].n)
        rc = const_floats(r, 2, &bt, &b);
    if (rc == TNN_OK)
        rc = add_dense(r, &wt, w, trans_b != 0, alpha, &bt, b, beta);
    tnn__free(w);
    tnn__free(b);
    return rc;
}

static int import_matmul(struct reader *r)
{
    static const char *const allowed[] = {NULL};
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = need_rows(r);
    if (rc != TNN_OK)
        return rc;
    if (r->node->nin != 2 || !text_eq(r->node->in[0], r->current))
        return fail_node(r, TNN_E_FORMAT,
                         "the data must be input A and B a constant");
    struct tensor wt;
    float *w = NULL;
    rc = const_floats(r, 1, &wt, &w);
    if (rc == TNN_OK)
        rc = add_dense(r, &wt, w, false, 1.0f, NULL, NULL, 1.0f);
    tnn__free(w);
    if (rc == TNN_OK)
        r->bare_matmul =
            tnn_model_layer(r->model, tnn_model_num_layers(r->model) - 1);
    return rc;
}

/* Add is the bias of the MatMul just before it, and nothing else. */
static int import_add(struct reader *r)
{
    static const char *const allowed[] = {NULL};
    int rc = check_attrs(r, allowed);
    if (rc != TNN_OK)
        return rc;
    const struct node *n = r->node;
    if (!r->bare_matmul || n->nin != 2)
        return fail_node(r, TNN_E_FORMAT,
                         "Add is supported only as the bias after a MatMul");
    int bias_input = text_eq(n->in[0], r->current) ? 1 : 0;
    struct tensor bt;
    float *b = NULL;
    rc = const_floats(r, bias_input, &bt, &b);
    if (rc != TNN_OK)
        return rc;
    size_t out = r->bare_matmul->out_features;
    if (bt.count != out || bt.ndim < 1 || (size_t)bt.dims[bt.ndim - 1] != out)
        rc = fail_node(r, TNN_E_FORMAT, "bias of %llu values for %zu outputs",
                       (unsigned long long)bt.count, out);
    else
        tnn_tensor_copy_from(tnn_layer_param(r->bare_matmul, 1), b, out);
    tnn__free(b);
    r->bare_matmul = NULL;
    return rc;
}

/* Pads (top, left, bottom, right) as the layers express them: zero
 * padding before the layer when they differ. */
static int add_padding(struct reader *r, const int64_t *pads)
{
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0)
            return fail_node(r, TNN_E_FORMAT,
                             "negative pads are not supported");
    if (!(pads[0] | pads[1] | pads[2] | pads[3]))
        return TNN_OK;
    return add_layer(r, tnn_zeropad2d_new((size_t)pads[0], (size_t)pads[2],
                                          (size_t)pads[1], (size_t)pads[3]));
}

static int check_auto_pad(struct reader *r, bool same_allowed, bool *same)
{
    const struct attr *a = find_attr(r->node, "auto_pad");
    *same = false;
    if (!a || text_is(a->s, "NOTSET") || text_is(a->s, "VALID"))
        return TNN_OK;
    if (same_allowed && text_is(a->s, "SAME_UPPER")) {
        *same = true;
        return TNN_OK;
    }
    char v[64];
    return fail_node(r, TNN_E_FORMAT, "auto_pad %s is not supported",
                     printable(a->s, v, sizeof v));
}

static int check_ones(struct reader *r, const char *name)
{
    int64_t v[2];
    int rc = attr_ints(r, name, 2, 1, v);
    if (rc == TNN_OK && (v[0] != 1 || v[1] != 1))
        return fail_node(r, TNN_E_FORMAT,
                         "%s (%lld, %lld) is not supported; only (1, 1)", name,
                         (long long)v[0], (long long)v[1]);
    return rc;
}

static int square_strides(struct reader *r, int64_t *stride)
{
    int64_t s[2];
    *stride = 1;
    int rc = attr_ints(r, "strides", 2, 1, s);
    if (rc == TNN_OK && s[0] != s[1])
        return fail_node(r, TNN_E_FORMAT,
                         "strides (%lld, %lld) differ; the library's layers "
                         "move by one stride both ways",
                         (long long)s[0], (long long)s[1]);
    if (rc == TNN_OK && s[0] < 1)
        return fail_node(r, TNN_E_FORMAT, "stride %lld", (long long)s[0]);
    *stride = s[0];
    return rc;
}

static int import_conv(struct reader *r)
{
    static const char *const allowed[] = {
        "auto_pad", "dilations", "group", "kernel_shape",
        "pads",     "strides",   NULL};
    int64_t group, stride, pads[4], kernel[2];
    bool same;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "group", 1, &group);
    if (rc == TNN_OK && group != 1)
        rc = fail_node(r, TNN_E_FORMAT, "group %lld is not supported; only 1",
                       (long long)group);
    if (rc == TNN_OK)
        rc = check_ones(r, "dilations");
    if (rc == TNN_OK)
        rc = square_strides(r, &stride);
    if (rc == TNN_OK)
        rc = attr_ints(r, "pads", 4, 0, pads);
    if (rc == TNN_OK)
        rc = check_auto_pad(r, true, &same);
    if (rc == TNN_OK)
        rc = attr_ints(r, "kernel_shape", 2, 0, kernel);
    if (rc == TNN_OK)
        rc = need_images(r);
    if (rc != TNN_OK)
        return rc;
    if (!text_eq(r->node->in[0], r->current))
        return fail_node(r, TNN_E_FORMAT,
                         "the data must be input X; W and B constants");
    struct tensor wt, bt;
    float *w = NULL, *b = NULL;
    rc = const_floats(r, 1, &wt, &w);
    if (rc == TNN_OK && r->node->nin > 2 && r->node->in[2].n)
        rc = const_floats(r, 2, &bt, &b);
    if (rc != TNN_OK)
        goto done;
    char got[64];
    if (wt.ndim != 4 || (size_t)wt.dims[1] != r->shape.dims[0] ||
        (kernel[0] && (kernel[0] != wt.dims[2] || kernel[1] != wt.dims[3]))) {
        rc = fail_node(r, TNN_E_FORMAT,
                       "weights do not fit images %s (2-D convolutions only)",
                       tnn__shape_text(&r->shape, got, sizeof got));
        goto done;
    }
    size_t out_ch = (size_t)wt.dims[0];
    if (b && bt.count != out_ch) {
        rc = fail_node(r, TNN_E_FORMAT, "bias of %llu values for %zu kernels",
                       (unsigned long long)bt.count, out_ch);
        goto done;
    }
    int padding = TNN_PADDING_SAME;
    if (!same) {
        bool even = pads[0] == pads[1] && pads[1] == pads[2] &&
                    pads[2] == pads[3] && pads[0] >= 0 && pads[0] <= 4096;
        padding = even ? (int)pads[0] : TNN_PADDING_VALID;
        if (!even && (rc = add_padding(r, pads)) != TNN_OK)
            goto done;
    }
    tnn_layer *conv =
        tnn_conv2d_new(r->shape.dims[0], out_ch, (size_t)wt.dims[2],
                       (size_t)wt.dims[3], (size_t)stride, padding);
    rc = add_layer(r, conv);
    if (rc != TNN_OK)
        goto done;
    tnn_tensor_copy_from(tnn_layer_param(conv, 0), w, (size_t)wt.count);
    float *db = tnn_tensor_data(tnn_layer_param(conv, 1));
    for (size_t c = 0; c < out_ch; c++)
        db[c] = b ? b[c] : 0.0f;
done:
    tnn__free(w);
    tnn__free(b);
    return rc;
}

static int import_pool(struct reader *r, bool max)
{
    static const char *const max_allowed[] = {
        "auto_pad", "ceil_mode", "dilations",     "kernel_shape",
        "pads",     "strides",   "storage_order", NULL};
    static const char *const avg_allowed[] = {
        "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads",
        "strides",  NULL};
    int64_t kernel[2], stride, pads[4], ceil_mode, include_pad, order;
    bool same;
    int rc = check_attrs(r, max ? max_allowed : avg_allowed);
    if (rc == TNN_OK)
        rc = attr_ints(r, "kernel_shape", 2, 0, kernel);
    if (rc == TNN_OK)
        rc = square_strides(r, &stride);
    if (rc == TNN_OK)
        rc = attr_ints(r, "pads", 4, 0, pads);
    if (rc == TNN_OK)
        rc = attr_int(r, "ceil_mode", 0, &ceil_mode);
    if (rc == TNN_OK)
        rc = attr_int(r, "count_include_pad", 0, &include_pad);
    if (rc == TNN_OK)
        rc = attr_int(r, "storage_order", 0, &order);
    if (rc == TNN_OK && max)
        rc = check_ones(r, "dilations");
    if (rc == TNN_OK)
        rc = check_auto_pad(r, false, &same);
    if (rc == TNN_OK)
        rc = need_images(r);
    if (rc != TNN_OK)
        return rc;
    if (kernel[0] != kernel[1] || kernel[0] < 1)
        return fail_node(r, TNN_E_FORMAT,
                         "kernel_shape (%lld, %lld) is not supported; the "
                         "library's windows are square",
                         (long long)kernel[0], (long long)kernel[1]);
    if (order)
        return fail_node(r, TNN_E_FORMAT, "storage_order 1 is not supported");
    if (r->node->nout > 1 && r->node->out[1].n)
        return fail_node(r, TNN_E_FORMAT,
                         "the Indices output is not supported");
    bool padded = pads[0] | pads[1] | pads[2] | pads[3];
    if (padded && (max || !include_pad))
        return fail_node(r, TNN_E_FORMAT,
                         "padding is supported only for average pooling "
                         "that counts the pads (count_include_pad 1)");
    if (padded && (rc = add_padding(r, pads)) != TNN_OK)
        return rc;
    /* ceil_mode changes nothing when every window fits. */
    if (ceil_mode && r->shape.dims[1] >= (size_t)kernel[0] &&
        r->shape.dims[2] >= (size_t)kernel[0] &&
        (((r->shape.dims[1] - (size_t)kernel[0]) % (size_t)stride) ||
         ((r->shape.dims[2] - (size_t)kernel[0]) % (size_t)stride)))
        return fail_node(r, TNN_E_FORMAT,
                         "ceil_mode 1 adds partial windows here, which is "
                         "not supported");
    return add_layer(
        r, max ? tnn_maxpool2d_new((size_t)kernel[0], (size_t)stride)
               : tnn_avgpool2d_new((size_t)kernel[0], (size_t)stride));
}

/* GlobalMaxPool and GlobalAveragePool (what PyTorch writes for
 * AdaptiveAvgPool2d(1)): one window over the whole of square images. */
static int import_global_pool(struct reader *r, bool max)
{
    static const char *const allowed[] = {NULL};
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = need_images(r);
    if (rc != TNN_OK)
        return rc;
    size_t side = r->shape.dims[1];
    if (r->shape.dims[2] != side)
        return fail_node(r, TNN_E_FORMAT,
                         "images of %zux%zu: global pooling is supported "
                         "over square images only",
                         side, r->shape.dims[2]);
    return add_layer(r, max ? tnn_maxpool2d_new(side, side)
                            : tnn_avgpool2d_new(side, side));
}

/* Pad (constant zeros over height and width only) becomes zero padding. */
static int import_pad(struct reader *r)
{
    static const char *const allowed[] = {"mode", "pads", "value", NULL};
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = need_images(r);
    if (rc != TNN_OK)
        return rc;
    const struct attr *mode = find_attr(r->node, "mode");
    if (mode && !text_is(mode->s, "constant"))
        return fail_node(r, TNN_E_FORMAT, "only mode constant is supported");
    int64_t p[8];
    const struct node *n = r->node;
    if (r->opset < 11) {
        float value;
        rc = attr_ints(r, "pads", 8, 0, p);
        if (rc == TNN_OK)
            rc = attr_float(r, "value", 0.0f, &value);
        if (rc == TNN_OK && value != 0.0f)
            rc = fail_node(r, TNN_E_FORMAT, "only zero padding is supported");
    } else {
        struct value pads;
        rc = const_ints(r, 1, &pads);
        if (rc == TNN_OK && pads.n != 8)
            rc = fail_node(r, TNN_E_FORMAT,
                           "pads must have 8 values for 4-D data");
        if (rc == TNN_OK)
            memcpy(p, pads.v, sizeof p);
        if (rc == TNN_OK && n->nin > 3 && n->in[3].n)
            rc = fail_node(r, TNN_E_FORMAT,
                           "the axes input is not "
                           "supported");
        if (rc == TNN_OK && n->nin > 2 && n->in[2].n) {
            struct tensor vt;
            float *v = NULL;
            rc = const_floats(r, 2, &vt, &v);
            if (rc == TNN_OK && (vt.count != 1 || v[0] != 0.0f))
                rc = fail_node(r, TNN_E_FORMAT,
                               "only zero padding is supported");
            tnn__free(v);
        }
    }
    if (rc != TNN_OK)
        return rc;
    if (p[0] || p[1] || p[4] || p[5])
        return fail_node(r, TNN_E_FORMAT,
                         "padding the batch or channel axis is not "
                         "supported");
    int64_t pads4[4] = {p[2], p[3], p[6], p[7]};
    return add_padding(r, pads4);
}

static int import_batchnorm(struct reader *r)
{
    static const char *const allowed[] = {"epsilon", "momentum",
                                          "training_mode", NULL};
    float eps, momentum;
    int64_t training;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_float(r, "epsilon", 1e-5f, &eps);
    if (rc == TNN_OK)
        rc = attr_float(r, "momentum", 0.9f, &momentum);
    if (rc == TNN_OK)
        rc = attr_int(r, "training_mode", 0, &training);
    if (rc != TNN_OK)
        return rc;
    if (training)
        return fail_node(r, TNN_E_FORMAT,
                         "training_mode 1 is not supported; export the "
                         "model in evaluation mode");
    const struct node *n = r->node;
    if (n->nin != 5 || !text_eq(n->in[0], r->current))
        return fail_node(r, TNN_E_FORMAT, "needs the data and four constants");
    for (int i = 1; i < n->nout; i++)
        if (n->out[i].n)
            return fail_node(r, TNN_E_FORMAT,
                             "the training outputs are not supported");
    size_t channels =
        r->shape.ndim == 3 ? r->shape.dims[0] : tnn__shape_size(&r->shape);
    struct tensor t[4];
    float *v[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4 && rc == TNN_OK; i++) {
        rc = const_floats(r, i + 1, &t[i], &v[i]);
        if (rc == TNN_OK && t[i].count != channels)
            rc = fail_node(r, TNN_E_FORMAT,
                           "input %d has %llu values for %zu channels", i + 1,
                           (unsigned long long)t[i].count, channels);
    }
    tnn_layer *bn = NULL;
    if (rc == TNN_OK) {
        bn = tnn_batchnorm_new(channels);
        if (!bn || tnn_batchnorm_set_eps(bn, eps) != TNN_OK ||
            tnn_batchnorm_set_momentum(bn, momentum) != TNN_OK) {
            rc = refused(r);
            tnn_layer_free(bn);
            bn = NULL;
        }
    }
    if (bn && (rc = add_layer(r, bn)) == TNN_OK) {
        tnn_tensor_copy_from(tnn_layer_param(bn, 0), v[0], channels);
        tnn_tensor_copy_from(tnn_layer_param(bn, 1), v[1], channels);
        tnn_tensor_copy_from(tnn_batchnorm_running_mean(bn), v[2], channels);
        tnn_tensor_copy_from(tnn_batchnorm_running_var(bn), v[3], channels);
    }
    for (int i = 0; i < 4; i++)
        tnn__free(v[i]);
    return rc;
}

/* LayerNormalization (operator set 17) over the last axis, with a scale
 * and a bias as long as that axis, and neither statistic as an output. */
static int import_layernorm(struct reader *r)
{
    static const char *const allowed[] = {"axis", "epsilon", "stash_type",
                                          NULL};
    float eps;
    int64_t axis, stash;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "axis", -1, &axis);
    if (rc == TNN_OK)
        rc = attr_float(r, "epsilon", 1e-5f, &eps);
    if (rc == TNN_OK)
        rc = attr_int(r, "stash_type", 1, &stash);
    if (rc != TNN_OK)
        return rc;
    if (r->opset < 17)
        return fail_node(r, TNN_E_FORMAT,
                         "LayerNormalization needs operator set 17; the "
                         "file declares %lld",
                         (long long)r->opset);
    const int rank = r->shape.ndim + 1; /* with the batch */
    if (axis != -1 && axis != rank - 1)
        return fail_node(r, TNN_E_FORMAT,
                         "axis %lld is not supported; only the last axis "
                         "(-1 or %d)",
                         (long long)axis, rank - 1);
    if (stash != 1)
        return fail_node(r, TNN_E_FORMAT,
                         "stash_type %lld is not supported; only 1 (float)",
                         (long long)stash);
    const struct node *n = r->node;
    if (n->nin != 3 || !text_eq(n->in[0], r->current) || !n->in[2].n)
        return fail_node(r, TNN_E_FORMAT,
                         "needs the data, a scale and a bias");
    for (int i = 1; i < n->nout; i++)
        if (n->out[i].n)
            return fail_node(r, TNN_E_FORMAT,
                             "the mean and inverse deviation outputs are "
                             "not supported");
    size_t features = r->shape.dims[r->shape.ndim - 1];
    struct tensor t[2];
    float *v[2] = {NULL, NULL};
    for (int i = 0; i < 2 && rc == TNN_OK; i++) {
        rc = const_floats(r, i + 1, &t[i], &v[i]);
        if (rc == TNN_OK && t[i].count != features)
            rc = fail_node(r, TNN_E_FORMAT,
                           "input %d has %llu values for an axis of %zu",
                           i + 1, (unsigned long long)t[i].count, features);
    }
    tnn_layer *ln = NULL;
    if (rc == TNN_OK) {
        ln = tnn_layernorm_new(features);
        if (!ln || tnn_layernorm_set_eps(ln, eps) != TNN_OK) {
            rc = refused(r);
            tnn_layer_free(ln);
            ln = NULL;
        }
    }
    if (ln && (rc = add_layer(r, ln)) == TNN_OK) {
        tnn_tensor_copy_from(tnn_layer_param(ln, 0), v[0], features);
        tnn_tensor_copy_from(tnn_layer_param(ln, 1), v[1], features);
    }
    for (int i = 0; i < 2; i++)
        tnn__free(v[i]);
    return rc;
}

static int import_dropout(struct reader *r)
{
    static const char *const allowed[] = {"ratio", "seed", "is_test", NULL};
    float ratio;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_float(r, "ratio", 0.5f, &ratio);
    if (rc != TNN_OK)
        return rc;
    const struct node *n = r->node;
    if (n->nin > 1 && n->in[1].n) {
        struct tensor t;
        float *v = NULL;
        rc = const_floats(r, 1, &t, &v);
        if (rc == TNN_OK && t.count != 1)
            rc = fail_node(r, TNN_E_FORMAT, "ratio must be one value");
        if (rc == TNN_OK)
            ratio = v[0];
        tnn__free(v);
        if (rc != TNN_OK)
            return rc;
    }
    return add_layer(r, tnn_dropout_new(ratio));
}

/* Softmax and LogSoftmax over the features of rows. */
static int import_softmax(struct reader *r, bool log)
{
    static const char *const allowed[] = {"axis", NULL};
    int64_t axis;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "axis", r->opset < 13 ? 1 : -1, &axis);
    if (rc != TNN_OK)
        return rc;
    /* Over a sequence's last axis the layer normalises each step: axis 2
     * or -1 of (batch, time, features), which the coercion to 2-D of
     * operator sets before 13 computes alike. */
    if (r->shape.ndim == 2) {
        if (axis != 2 && axis != -1)
            return fail_node(r, TNN_E_FORMAT,
                             "axis %lld is not supported on (batch, time, "
                             "features) data; only the features (2 or -1)",
                             (long long)axis);
    } else if ((rc = need_rows(r)) != TNN_OK) {
        return rc;
    } else if (axis != 1 && axis != -1) {
        return fail_node(r, TNN_E_FORMAT,
                         "axis %lld is not supported; only the features "
                         "(1 or -1)",
                         (long long)axis);
    }
    rc = add_layer(r, tnn_softmax_new());
    r->ended = log;
    return rc;
}

static int import_activation(struct reader *r, tnn_layer *(*make)(void))
{
    static const char *const allowed[] = {NULL};
    int rc = check_attrs(r, allowed);
    return rc == TNN_OK ? add_layer(r, make()) : rc;
}

static int import_leaky_relu(struct reader *r)
{
    static const char *const allowed[] = {"alpha", NULL};
    float alpha;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_float(r, "alpha", 0.01f, &alpha);
    return rc == TNN_OK ? add_layer(r, tnn_leaky_relu_new(alpha)) : rc;
}

/* Images to rows; rows stay as they are. */
static int add_flatten(struct reader *r)
{
    return r->shape.ndim == 1 ? TNN_OK : add_layer(r, tnn_flatten_new());
}

static int import_flatten(struct reader *r)
{
    static const char *const allowed[] = {"axis", NULL};
    int64_t axis;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "axis", 1, &axis);
    if (rc != TNN_OK)
        return rc;
    if (axis != 1 && axis != -r->shape.ndim)
        return fail_node(r, TNN_E_FORMAT,
                         "axis %lld is not supported; only 1 (keep the "
                         "batch)",
                         (long long)axis);
    return add_flatten(r);
}

/* Reshape to (batch, features): the flatten of x.view(x.size(0), -1). */
static int import_reshape(struct reader *r)
{
    static const char *const allowed[] = {"allowzero", NULL};
    int64_t allow_zero;
    struct value shape;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "allowzero", 0, &allow_zero);
    if (rc == TNN_OK)
        rc = const_ints(r, 1, &shape);
    if (rc != TNN_OK)
        return rc;
    int64_t f = (int64_t)tnn__shape_size(&r->shape);
    bool batch_first =
        shape.n == 2 &&
        (shape.v[0] == BATCH || (shape.v[0] == 0 && !allow_zero) ||
         (shape.v[0] == -1 && shape.v[1] == f) ||
         (r->fixed_batch && shape.v[0] == r->batch));
    bool rows = batch_first && (shape.v[1] == f || shape.v[1] == -1);
    if (!rows)
        return fail_node(r, TNN_E_FORMAT,
                         "only a reshape to (batch, %lld) is supported",
                         (long long)f);
    return add_flatten(r);
}

/* The data's dims as ONNX sees them, with the batch symbolic, into all
 * (at most 4); returns how many. */
static int data_dims(const struct reader *r, int64_t *all)
{
    const int64_t d0 = (int64_t)r->shape.dims[0];
    const int64_t d1 = (int64_t)r->shape.dims[1];
    switch (r->form) {
    case FORM_TIME_MAJOR: all[0] = d0, all[1] = BATCH, all[2] = d1; return 3;
    case FORM_Y:
        all[0] = d0, all[1] = 1, all[2] = BATCH, all[3] = d1;
        return 4;
    case FORM_Y_H: all[0] = 1, all[1] = BATCH, all[2] = d0; return 3;
    case FORM_ROWS:
    case FORM_IDS: break;
    }
    all[0] = BATCH;
    for (int d = 0; d < r->shape.ndim; d++)
        all[d + 1] = (int64_t)r->shape.dims[d];
    return 1 + r->shape.ndim;
}

/* What the data is, for messages. */
static const char *data_text(const struct reader *r, char *buf, size_t size)
{
    char shape[64];
    switch (r->form) {
    case FORM_IDS: return "the graph's int64 token ids (batch, time)";
    case FORM_TIME_MAJOR: return "(time, batch, features)";
    case FORM_Y: return "a recurrent node's Y (time, 1, batch, hidden)";
    case FORM_Y_H: return "a recurrent node's Y_h (1, batch, hidden)";
    case FORM_ROWS: break;
    }
    snprintf(buf, size, "samples %s",
             tnn__shape_text(&r->shape, shape, sizeof shape));
    return buf;
}

/* ---- embeddings and recurrent layers ---------------------------------- */

/* Gather (axis 0) of a constant (vocabulary, width) table's rows by the
 * graph's int64 token ids: an embedding, first layer of a model of
 * tokens of the table's vocabulary (at most the 2^24 ids a model of
 * tokens takes, the layer keeping every row). */
static int import_embedding(struct reader *r)
{
    static const char *const allowed[] = {"axis", NULL};
    int64_t axis;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "axis", 0, &axis);
    if (rc != TNN_OK)
        return rc;
    const struct node *n = r->node;
    if (n->nin != 2 || !text_eq(n->in[1], r->current))
        return fail_node(r, TNN_E_FORMAT,
                         "the token ids must be the indices (input 1), and "
                         "the data a constant (vocabulary, width) table");
    if (axis != 0)
        return fail_node(r, TNN_E_FORMAT,
                         "axis %lld is not supported; an embedding gathers "
                         "rows of its table (axis 0)",
                         (long long)axis);
    struct tensor t;
    float *table = NULL;
    rc = const_floats(r, 0, &t, &table);
    if (rc == TNN_OK && (t.ndim != 2 || t.dims[0] < 1 || t.dims[1] < 1))
        rc = fail_node(r, TNN_E_FORMAT,
                       "the table must be a (vocabulary, width) matrix");
    if (rc != TNN_OK) {
        tnn__free(table);
        return rc;
    }
    const size_t rows = (size_t)t.dims[0], width = (size_t)t.dims[1];
    const size_t max_ids = (size_t)1 << 24;
    r->model = tnn_model_new_tokens(r->shape.dims[0],
                                    rows < max_ids ? rows : max_ids);
    rc = r->model ? TNN_OK : refused(r);
    tnn_layer *embedding = NULL;
    if (rc == TNN_OK) {
        r->form = FORM_ROWS;
        embedding = tnn_embedding_new(rows, width);
        rc = add_layer(r, embedding);
    }
    if (rc == TNN_OK)
        tnn_tensor_copy_from(tnn_layer_param(embedding, 0), table,
                             (size_t)t.count);
    tnn__free(table);
    return rc;
}

/* The library's gate blocks k from ONNX's: LSTM i, f, g, o from ONNX's i,
 * o, f, c; GRU r, z, n from z, r, h. */
static const int lstm_gates[4] = {0, 2, 3, 1};
static const int gru_gates[3] = {1, 0, 2};

static bool is_gru(const tnn_layer *layer)
{
    return tnn_layer_kind(layer) == TNN_LAYER_GRU;
}

/* The layer a recurrent node read, now that the nodes after it show
 * which states go on: every step's, or the last step's. */
static int add_recurrent(struct reader *r)
{
    tnn_layer *held = r->recurrent;
    if (!held)
        return TNN_OK;
    r->recurrent = NULL;
    const tnn_tensor *w_ih = tnn_layer_param(held, 0);
    const tnn_tensor *w_hh = tnn_layer_param(held, 1);
    size_t hidden = tnn_tensor_dim(w_hh, 1);
    size_t features = tnn_tensor_dim(w_ih, 1);
    int sequences = r->last ? 0 : 1;
    tnn_layer *layer = is_gru(held)
                           ? tnn_gru_new(features, hidden, sequences)
                           : tnn_lstm_new(features, hidden, sequences);
    r->last = false;
    int rc = add_layer(r, layer);
    for (int p = 0; p < 4 && rc == TNN_OK; p++)
        tnn_tensor_copy_from(tnn_layer_param(layer, p),
                             tnn_tensor_cdata(tnn_layer_param(held, p)),
                             tnn_tensor_size(tnn_layer_param(held, p)));
    tnn_layer_free(held);
    return rc;
}

/* activations as the defaults: Sigmoid, then Tanh for the others. */
static bool default_activations(const struct attr *a, int count)
{
    if (a->too_many_strings || a->nstrings != count)
        return false;
    for (int i = 0; i < count; i++)
        if (!text_is(a->strings[i], i == 0 ? "Sigmoid" : "Tanh"))
            return false;
    return true;
}

/* The attributes that would make a recurrent node compute other than
 * PyTorch's (and the library's) layer. */
static int check_recurrent_attrs(struct reader *r, bool gru)
{
    static const char *const lstm_allowed[] = {"activation_alpha",
                                               "activation_beta",
                                               "activations",
                                               "clip",
                                               "direction",
                                               "hidden_size",
                                               "input_forget",
                                               "layout",
                                               NULL};
    static const char *const gru_allowed[] = {"activation_alpha",
                                              "activation_beta",
                                              "activations",
                                              "clip",
                                              "direction",
                                              "hidden_size",
                                              "layout",
                                              "linear_before_reset",
                                              NULL};
    int64_t layout, input_forget, before_reset;
    int rc = check_attrs(r, gru ? gru_allowed : lstm_allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "layout", 0, &layout);
    if (rc == TNN_OK)
        rc = attr_int(r, "input_forget", 0, &input_forget);
    if (rc == TNN_OK)
        rc = attr_int(r, "linear_before_reset", 0, &before_reset);
    if (rc != TNN_OK)
        return rc;
    const struct node *n = r->node;
    const struct attr *direction = find_attr(n, "direction");
    const struct attr *activations = find_attr(n, "activations");
    char v[64];
    if (direction && !text_is(direction->s, "forward"))
        return fail_node(r, TNN_E_FORMAT,
                         "direction %s is not supported; only forward (one "
                         "direction)",
                         printable(direction->s, v, sizeof v));
    if (layout != 0)
        return fail_node(r, TNN_E_FORMAT,
                         "layout %lld is not supported; only 0, (time, "
                         "batch, features) between Transpose nodes, as "
                         "PyTorch writes it",
                         (long long)layout);
    if (activations && !default_activations(activations, gru ? 2 : 3))
        return fail_node(r, TNN_E_FORMAT,
                         "activations other than the defaults (Sigmoid, "
                         "Tanh%s) are not supported",
                         gru ? "" : ", Tanh");
    if (find_attr(n, "activation_alpha") || find_attr(n, "activation_beta"))
        return fail_node(r, TNN_E_FORMAT,
                         "activation_alpha and activation_beta are not "
                         "supported (the default activations take none)");
    if (find_attr(n, "clip"))
        return fail_node(r, TNN_E_FORMAT,
                         "clip is not supported: the library's cells do not "
                         "clip");
    if (input_forget != 0)
        return fail_node(r, TNN_E_FORMAT,
                         "input_forget %lld is not supported; only 0",
                         (long long)input_forget);
    if (gru && before_reset != 1)
        return fail_node(r, TNN_E_FORMAT,
                         "linear_before_reset %lld is not supported; the "
                         "library's GRU, as PyTorch's, is "
                         "linear_before_reset 1 (the reset gate scales the "
                         "recurrent part, its bias included)",
                         (long long)before_reset);
    return TNN_OK;
}

/* The inputs after X, R and B that must be absent or zeros: sequence_lens,
 * initial_h, initial_c and (LSTM) the peepholes P. */
static int check_recurrent_inputs(struct reader *r, bool gru)
{
    const struct node *n = r->node;
    if (n->nin > 4 && n->in[4].n)
        return fail_node(r, TNN_E_FORMAT,
                         "sequence_lens is not supported: every sequence "
                         "has all its steps");
    static const char *const what[] = {"initial_h", "initial_c", "P"};
    for (int i = 5; i < (gru ? 6 : 8); i++) {
        bool zero;
        int rc = known_zero(r, i, &zero);
        if (rc != TNN_OK)
            return rc;
        if (zero)
            continue;
        if (i == 7)
            return fail_node(r, TNN_E_FORMAT,
                             "peepholes (input P) are not supported");
        return fail_node(r, TNN_E_FORMAT,
                         "initial states other than zeros are not "
                         "supported (%s)",
                         what[i - 5]);
    }
    if (n->nin > (gru ? 6 : 8))
        return fail_node(r, TNN_E_FORMAT, "too many inputs");
    return TNN_OK;
}

/* Block k of the library's gates from block order[k] of ONNX's, in each
 * of w's rows * gates blocks of size values. */
static void take_gates(float *to, const float *from, size_t gates,
                       const int *order, size_t size)
{
    for (size_t k = 0; k < gates; k++)
        memcpy(to + k * size, from + (size_t)order[k] * size,
               size * sizeof *to);
}

/* The weights of a recurrent node (one direction) into a new layer,
 * held until the nodes after it show which states go on. */
static int read_recurrent_weights(struct reader *r, bool gru)
{
    const size_t gates = gru ? 3 : 4;
    const size_t features = r->shape.dims[1];
    const struct node *n = r->node;
    struct tensor wt, rt, bt;
    float *w = NULL, *rw = NULL, *b = NULL;
    int64_t hidden = 0;
    int rc = const_floats(r, 1, &wt, &w);
    if (rc == TNN_OK)
        rc = const_floats(r, 2, &rt, &rw);
    if (rc == TNN_OK && n->nin > 3 && n->in[3].n)
        rc = const_floats(r, 3, &bt, &b);
    if (rc == TNN_OK)
        rc =
            attr_int(r, "hidden_size", rt.ndim == 3 ? rt.dims[2] : 0, &hidden);
    if (rc != TNN_OK)
        goto done;
    /* hidden from the attribute may be anything: checked before use */
    const int64_t rows =
        hidden >= 1 && hidden <= UINT32_MAX ? (int64_t)gates * hidden : 0;
    if (wt.ndim != 3 || rt.ndim != 3 || (b && bt.ndim != 2) ||
        wt.dims[0] != 1 || rt.dims[0] != 1 || (b && bt.dims[0] != 1)) {
        rc = fail_node(r, TNN_E_FORMAT,
                       "W, R and B must have one direction: (1, gates * "
                       "hidden, input), (1, gates * hidden, hidden), (1, 2 "
                       "* gates * hidden)");
        goto done;
    }
    if (rows == 0 || wt.dims[1] != rows || rt.dims[1] != rows ||
        rt.dims[2] != hidden || wt.dims[2] != (int64_t)features ||
        (b && bt.dims[1] != 2 * rows)) {
        rc = fail_node(r, TNN_E_FORMAT,
                       "W, R and B do not fit %zu input features and %lld "
                       "hidden units",
                       features, (long long)hidden);
        goto done;
    }
    const size_t h = (size_t)hidden;
    tnn_layer *layer =
        gru ? tnn_gru_new(features, h, 1) : tnn_lstm_new(features, h, 1);
    if (!layer) {
        rc = refused(r);
        goto done;
    }
    const int *order = gru ? gru_gates : lstm_gates;
    take_gates(tnn_tensor_data(tnn_layer_param(layer, 0)), w, gates, order,
               h * features);
    take_gates(tnn_tensor_data(tnn_layer_param(layer, 1)), rw, gates, order,
               h * h);
    if (b) {
        take_gates(tnn_tensor_data(tnn_layer_param(layer, 2)), b, gates, order,
                   h);
        take_gates(tnn_tensor_data(tnn_layer_param(layer, 3)), b + gates * h,
                   gates, order, h);
    }
    r->recurrent = layer;
    r->shape = (struct tnn__shape){2, {r->shape.dims[0], h}, 0};
done:
    tnn__free(w);
    tnn__free(rw);
    tnn__free(b);
    return rc;
}

/* A recurrent node reading the time-major states of the one before. */
static int stacked(struct reader *r)
{
    return fail_node(r, TNN_E_FORMAT,
                     "reads the states of the recurrent node before it: "
                     "stacked recurrent nodes (PyTorch's num_layers > 1, "
                     "or recurrent modules one after the other, whose "
                     "Transpose nodes between them PyTorch leaves out) are "
                     "not supported");
}

/* LSTM and GRU: one forward direction over (time, batch, features), the
 * default activations, from zero states, without clip, peepholes or
 * sequence lengths. The data goes on as Y (every step's states) or Y_h
 * (the last step's): whichever the next node reads. */
static int import_recurrent(struct reader *r, bool gru)
{
    char got[64];
    int rc = check_recurrent_attrs(r, gru);
    if (rc == TNN_OK)
        rc = check_recurrent_inputs(r, gru);
    if (rc != TNN_OK)
        return rc;
    const struct node *n = r->node;
    if (r->form == FORM_TIME_MAJOR && r->recurrent)
        return stacked(r);
    if (r->form != FORM_TIME_MAJOR)
        return fail_node(r, TNN_E_FORMAT,
                         "needs (time, batch, features) data: a Transpose "
                         "(perm 1, 0, 2) of (batch, time, features) before "
                         "it; here the data is %s",
                         data_text(r, got, sizeof got));
    if (!text_eq(n->in[0], r->current))
        return fail_node(r, TNN_E_FORMAT,
                         "the data must be input X; W, R and B constants");
    struct text y = n->out[0],
                y_h = n->nout > 1 ? n->out[1] : (struct text){0};
    if (!y.n && !y_h.n)
        return fail_node(r, TNN_E_FORMAT,
                         "neither Y nor Y_h is an output: the cell state "
                         "Y_c alone is not supported");
    rc = read_recurrent_weights(r, gru);
    /* Y_c, the LSTM's last cell state, goes nowhere. */
    if (rc == TNN_OK && n->nout > 2 && n->out[2].n) {
        struct value v = {.name = n->out[2], .kind = VALUE_DROPPED};
        rc = add_value(r, &v);
    }
    if (rc != TNN_OK)
        return rc;
    if (y.n) {
        r->form = FORM_Y;
        r->moved_to = y;
        r->alt = y_h;
    } else {
        r->form = FORM_Y_H;
        r->moved_to = y_h;
        r->shape = (struct tnn__shape){1, {r->shape.dims[1]}, 0};
    }
    return TNN_OK;
}

/* Transpose (perm 1, 0, 2) between (batch, time, features) and the (time,
 * batch, features) of a recurrent node, either way. */
static int import_transpose(struct reader *r)
{
    static const char *const allowed[] = {"perm", NULL};
    char got[64];
    int rc = check_attrs(r, allowed);
    if (rc != TNN_OK)
        return rc;
    const struct attr *perm = find_attr(r->node, "perm");
    if (!perm || perm->too_many_ints || perm->nints != 3 ||
        perm->ints[0] != 1 || perm->ints[1] != 0 || perm->ints[2] != 2)
        return fail_node(r, TNN_E_FORMAT,
                         "only perm (1, 0, 2) is supported, between (batch, "
                         "time, features) and the (time, batch, features) "
                         "of a recurrent node");
    if (r->form == FORM_TIME_MAJOR) {
        r->form = FORM_ROWS;
        return TNN_OK;
    }
    if (r->form == FORM_ROWS && r->shape.ndim == 2) {
        rc = add_recurrent(r);
        r->form = FORM_TIME_MAJOR;
        return rc;
    }
    return fail_node(r, TNN_E_FORMAT,
                     "needs (batch, time, features) data or a recurrent "
                     "node's (time, batch, hidden) states; here the data is "
                     "%s",
                     data_text(r, got, sizeof got));
}

/* Squeeze of a recurrent node's direction axis: axis 1 of Y gives (time,
 * batch, hidden), axis 0 of Y_h (batch, hidden), the last states. */
static int import_squeeze(struct reader *r)
{
    static const char *const allowed[] = {"axes", NULL};
    char got[64];
    int rc = check_attrs(r, allowed);
    if (rc != TNN_OK)
        return rc;
    struct value axes = {.n = 0};
    const struct attr *a = find_attr(r->node, "axes");
    if (a) {
        axes.n = a->too_many_ints ? MAX_INTS + 1 : a->nints;
        axes.v[0] = a->nints ? a->ints[0] : 0;
    } else if (r->node->nin > 1 && r->node->in[1].n) {
        rc = const_ints(r, 1, &axes);
        if (rc != TNN_OK)
            return rc;
    }
    int64_t all[4];
    int64_t rank = data_dims(r, all);
    int64_t axis = axes.n == 1 && axes.v[0] < 0 ? axes.v[0] + rank : axes.v[0];
    if (axes.n == 1 && r->form == FORM_Y && axis == 1) {
        r->form = FORM_TIME_MAJOR;
        return TNN_OK;
    }
    if (axes.n == 1 && r->form == FORM_Y_H && axis == 0) {
        r->form = FORM_ROWS;
        r->last = true;
        return add_recurrent(r);
    }
    return fail_node(r, TNN_E_FORMAT,
                     "only one axis, the direction axis of a recurrent "
                     "node's states (axis 1 of Y, 0 of Y_h), is supported; "
                     "here the data is %s",
                     data_text(r, got, sizeof got));
}

/* Gather of the data: an embedding (the token ids are the indices), or a
 * recurrent layer's last states: the last step of every step's (axis 1,
 * index -1, as y[:, -1] writes it) or the one direction of Y_h (axis 0,
 * as h_n[-1]). */
static int import_gather(struct reader *r)
{
    if (r->form == FORM_IDS)
        return import_embedding(r);
    static const char *const allowed[] = {"axis", NULL};
    const struct node *n = r->node;
    char got[64];
    int64_t axis;
    struct value idx;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "axis", 0, &axis);
    if (rc != TNN_OK)
        return rc;
    if (n->nin != 2 || !text_eq(n->in[0], r->current))
        return fail_node(r, TNN_E_FORMAT,
                         "float data cannot be indices: an embedding "
                         "gathers from a constant table by the graph's "
                         "int64 token ids");
    rc = const_ints(r, 1, &idx);
    if (rc != TNN_OK)
        return rc;
    const bool scalar = idx.rank == 0 && idx.n == 1;
    const int64_t k = idx.v[0];
    if (scalar && r->form == FORM_Y_H && (axis == 0 || axis == -3) &&
        (k == 0 || k == -1)) {
        r->form = FORM_ROWS;
        r->last = true;
        return add_recurrent(r);
    }
    if (scalar && r->form == FORM_ROWS && r->recurrent && !r->last &&
        (axis == 1 || axis == -2) &&
        (k == -1 || k == (int64_t)r->shape.dims[0] - 1)) {
        r->last = true;
        r->shape = (struct tnn__shape){1, {r->shape.dims[1]}, 0};
        return add_recurrent(r);
    }
    return fail_node(r, TNN_E_FORMAT,
                     "a Gather of float data is supported only as a "
                     "recurrent layer's last states (index -1 of axis 1 of "
                     "(batch, time, hidden), or of axis 0 of Y_h); here "
                     "the data is %s",
                     data_text(r, got, sizeof got));
}

/* ---- shape arithmetic ------------------------------------------------ */

static int ints_result(struct reader *r, const struct value *v)
{
    struct value out = *v;
    out.name = r->node->out[0];
    out.kind = VALUE_INTS;
    return add_value(r, &out);
}

/* Shape of the data: (batch, the sample's dims), or as data_dims(). */
static int eval_shape(struct reader *r)
{
    static const char *const allowed[] = {"start", "end", NULL};
    int64_t start, end;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "start", 0, &start);
    if (rc == TNN_OK)
        rc = attr_int(r, "end", INT64_MAX, &end);
    if (rc != TNN_OK)
        return rc;
    int64_t all[4];
    int64_t rank = data_dims(r, all);
    start = start < 0 ? start + rank : start;
    end = end < 0 ? end + rank : end;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < start ? start : end > rank ? rank : end;
    struct value v = {.rank = 1, .n = (int)(end - start)};
    memcpy(v.v, all + start, (size_t)v.n * sizeof *v.v);
    return ints_result(r, &v);
}

static int eval_gather(struct reader *r)
{
    static const char *const allowed[] = {"axis", NULL};
    int64_t axis;
    struct value data, idx;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "axis", 0, &axis);
    if (rc == TNN_OK)
        rc = const_ints(r, 0, &data);
    if (rc == TNN_OK)
        rc = const_ints(r, 1, &idx);
    if (rc != TNN_OK)
        return rc;
    if (axis != 0 || data.rank != 1)
        return fail_node(r, TNN_E_FORMAT,
                         "only gathers from a list of sizes are supported");
    struct value v = {.rank = idx.rank, .n = idx.n};
    for (int i = 0; i < idx.n; i++) {
        int64_t k = idx.v[i] < 0 ? idx.v[i] + data.n : idx.v[i];
        if (k < 0 || k >= data.n)
            return fail_node(r, TNN_E_FORMAT, "index %lld out of range",
                             (long long)idx.v[i]);
        v.v[i] = data.v[k];
    }
    return ints_result(r, &v);
}

/* Unsqueeze and Squeeze between a size and a list of one size. */
static int eval_squeeze(struct reader *r, bool unsqueeze)
{
    static const char *const allowed[] = {"axes", NULL};
    struct value data;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = const_ints(r, 0, &data);
    if (rc != TNN_OK)
        return rc;
    struct value axes = {.n = 0};
    const struct attr *a = find_attr(r->node, "axes");
    if (a) {
        axes.n = a->nints;
        memcpy(axes.v, a->ints, (size_t)a->nints * sizeof *axes.v);
    } else if (r->node->nin > 1 && r->node->in[1].n) {
        rc = const_ints(r, 1, &axes);
        if (rc != TNN_OK)
            return rc;
    }
    bool ok = unsqueeze
                  ? data.rank == 0 && axes.n == 1 &&
                        (axes.v[0] == 0 || axes.v[0] == -1)
                  : data.rank == 1 && data.n == 1 &&
                        (axes.n == 0 ||
                         (axes.n == 1 && (axes.v[0] == 0 || axes.v[0] == -1)));
    if (!ok)
        return fail_node(r, TNN_E_FORMAT,
                         "only between one size and a list of it");
    data.rank = unsqueeze ? 1 : 0;
    return ints_result(r, &data);
}

static int eval_concat(struct reader *r)
{
    static const char *const allowed[] = {"axis", NULL};
    int64_t axis;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "axis", 0, &axis);
    if (rc != TNN_OK)
        return rc;
    if (axis != 0 && axis != -1)
        return fail_node(r, TNN_E_FORMAT, "only lists of sizes are supported");
    struct value v = {.rank = 1, .n = 0};
    for (int i = 0; i < r->node->nin; i++) {
        struct value part;
        rc = const_ints(r, i, &part);
        if (rc != TNN_OK)
            return rc;
        if (part.rank != 1 || v.n + part.n > MAX_INTS)
            return fail_node(r, TNN_E_FORMAT,
                             "only short lists of sizes are supported");
        memcpy(v.v + v.n, part.v, (size_t)part.n * sizeof *v.v);
        v.n += part.n;
    }
    return ints_result(r, &v);
}

static int eval_cast(struct reader *r)
{
    static const char *const allowed[] = {"to", "saturate", NULL};
    int64_t to;
    struct value data;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = attr_int(r, "to", 0, &to);
    if (rc == TNN_OK && to != TNN__ONNX_INT64 && to != TNN__ONNX_INT32)
        rc = fail_node(r, TNN_E_FORMAT, "only casts of sizes to integers");
    if (rc == TNN_OK)
        rc = const_ints(r, 0, &data);
    return rc == TNN_OK ? ints_result(r, &data) : rc;
}

static int zeros_result(struct reader *r)
{
    struct value v = {.name = r->node->out[0], .kind = VALUE_ZEROS};
    return add_value(r, &v);
}

/* ConstantOfShape of a float zero (the default value): the zeros PyTorch
 * starts a recurrent node's states from, of a shape computed from the
 * batch. */
static int eval_constant_of_shape(struct reader *r)
{
    static const char *const allowed[] = {"value", NULL};
    struct value shape;
    int rc = check_attrs(r, allowed);
    if (rc == TNN_OK)
        rc = const_ints(r, 0, &shape);
    if (rc != TNN_OK)
        return rc;
    const struct attr *a = find_attr(r->node, "value");
    if (a) {
        struct tensor t;
        if (!a->t.n)
            return malformed(r, "attribute value: no tensor");
        rc = parse_tensor(r, a->t, &t);
        if (rc != TNN_OK)
            return rc;
        if (t.count != 1 || !tensor_all_zero(&t))
            return fail_node(r, TNN_E_FORMAT,
                             "only float zeros are supported (a recurrent "
                             "node's initial states)");
    }
    return zeros_result(r);
}

/* Expand and Slice of zeros are zeros (PyTorch's initial states of a
 * fixed batch, and of a layer of several). */
static int eval_of_zeros(struct reader *r, bool slice)
{
    static const char *const expand_allowed[] = {NULL};
    static const char *const slice_allowed[] = {"axes", "ends", "starts",
                                                NULL};
    bool zero;
    int rc = check_attrs(r, slice ? slice_allowed : expand_allowed);
    if (rc == TNN_OK && (r->node->nin < 1 || !r->node->in[0].n))
        rc = malformed(r, "node: no input");
    if (rc == TNN_OK)
        rc = known_zero(r, 0, &zero);
    if (rc != TNN_OK)
        return rc;
    if (!zero)
        return fail_node(r, TNN_E_FORMAT,
                         "only %s of float zeros is supported (a recurrent "
                         "node's initial states)",
                         slice ? "a slice" : "an expansion");
    return zeros_result(r);
}

/* Constant: a tensor other nodes read (weights, pads, shapes). */
static int eval_constant(struct reader *r)
{
    const struct node *n = r->node;
    const struct attr *a = n->nattr == 1 ? &n->attr[0] : NULL;
    struct value v = {.name = n->out[0]};
    if (a && text_is(a->name, "value") && a->t.n) {
        struct tensor t;
        int rc = parse_tensor(r, a->t, &t);
        if (rc != TNN_OK)
            return rc;
        v.kind = VALUE_TENSOR;
        v.tensor = a->t;
        if (t.type != TNN__ONNX_FLOAT && t.ndim <= 1 && t.count <= MAX_INTS) {
            v.kind = VALUE_INTS;
            v.rank = t.ndim;
            v.n = (int)t.count;
            tensor_ints(&t, v.v);
        }
        return add_value(r, &v);
    }
    if (a && text_is(a->name, "value_int") && a->has_i) {
        v.kind = VALUE_INTS;
        v.n = 1;
        v.v[0] = a->i;
        return add_value(r, &v);
    }
    if (a && text_is(a->name, "value_ints") && !a->too_many_ints) {
        v.kind = VALUE_INTS;
        v.rank = 1;
        v.n = a->nints;
        memcpy(v.v, a->ints, (size_t)a->nints * sizeof *v.v);
        return add_value(r, &v);
    }
    return fail_node(r, TNN_E_FORMAT,
                     "only a tensor, int or ints value is supported");
}

/* ---- one node -------------------------------------------------------- */

/* Ops that compute on the chain's data, one layer (or none) each. */
static int import_chain_op(struct reader *r)
{
    struct text op = r->node->op;
    char got[64];
    if (r->form == FORM_IDS && !text_is(op, "Gather"))
        return fail_node(r, TNN_E_FORMAT,
                         "reads the graph's int64 token ids, which only a "
                         "Gather of a constant (vocabulary, width) table "
                         "(an embedding) reads");
    if (text_is(op, "Gather"))
        return import_gather(r);
    if (text_is(op, "Transpose"))
        return import_transpose(r);
    if (text_is(op, "Squeeze"))
        return import_squeeze(r);
    if (text_is(op, "LSTM") || text_is(op, "GRU"))
        return import_recurrent(r, text_is(op, "GRU"));
    if (r->form != FORM_ROWS)
        return fail_node(r, TNN_E_FORMAT,
                         "needs batch-first data; here the data is %s",
                         data_text(r, got, sizeof got));
    /* Every step's states go on. */
    int rc = add_recurrent(r);
    if (rc != TNN_OK)
        return rc;
    if (text_is(op, "Gemm"))
        return import_gemm(r);
    if (text_is(op, "MatMul"))
        return import_matmul(r);
    if (text_is(op, "Add"))
        return import_add(r);
    if (text_is(op, "Conv"))
        return import_conv(r);
    if (text_is(op, "MaxPool"))
        return import_pool(r, true);
    if (text_is(op, "AveragePool"))
        return import_pool(r, false);
    if (text_is(op, "GlobalMaxPool"))
        return import_global_pool(r, true);
    if (text_is(op, "GlobalAveragePool"))
        return import_global_pool(r, false);
    if (text_is(op, "Pad"))
        return import_pad(r);
    if (text_is(op, "BatchNormalization"))
        return import_batchnorm(r);
    if (text_is(op, "LayerNormalization"))
        return import_layernorm(r);
    if (text_is(op, "Dropout"))
        return import_dropout(r);
    if (text_is(op, "Relu"))
        return import_activation(r, tnn_relu_new);
    if (text_is(op, "Sigmoid"))
        return import_activation(r, tnn_sigmoid_new);
    if (text_is(op, "Tanh"))
        return import_activation(r, tnn_tanh_new);
    if (text_is(op, "LeakyRelu"))
        return import_leaky_relu(r);
    if (text_is(op, "Softmax"))
        return import_softmax(r, false);
    if (text_is(op, "LogSoftmax"))
        return import_softmax(r, true);
    if (text_is(op, "Flatten"))
        return import_flatten(r);
    if (text_is(op, "Reshape"))
        return import_reshape(r);
    if (text_is(op, "Identity"))
        return import_activation(r, tnn_identity_new);
    char name[64];
    return fail_node(r, TNN_E_FORMAT,
                     "operator %s is not supported (docs/onnx.md lists "
                     "those that are)",
                     printable(op, name, sizeof name));
}

static int eval_ints_op(struct reader *r)
{
    struct text op = r->node->op;
    if (text_is(op, "Gather"))
        return eval_gather(r);
    if (text_is(op, "Unsqueeze"))
        return eval_squeeze(r, true);
    if (text_is(op, "Squeeze"))
        return eval_squeeze(r, false);
    if (text_is(op, "Concat"))
        return eval_concat(r);
    if (text_is(op, "Cast"))
        return eval_cast(r);
    if (text_is(op, "ConstantOfShape"))
        return eval_constant_of_shape(r);
    if (text_is(op, "Expand"))
        return eval_of_zeros(r, false);
    if (text_is(op, "Slice"))
        return eval_of_zeros(r, true);
    if (text_is(op, "Identity")) {
        static const char *const allowed[] = {NULL};
        struct value data;
        int rc = check_attrs(r, allowed);
        if (rc == TNN_OK)
            rc = const_ints(r, 0, &data);
        return rc == TNN_OK ? ints_result(r, &data) : rc;
    }
    char name[64];
    return fail_node(r, TNN_E_FORMAT,
                     "operator %s is not supported (docs/onnx.md lists "
                     "those that are)",
                     printable(op, name, sizeof name));
}

/* A node reads a recurrent node's Y or (alt) its Y_h: that one is the
 * data from now on, and the other goes nowhere. */
static int choose_output(struct reader *r, bool alt)
{
    if (!r->alt.n)
        return TNN_OK;
    struct value dropped = {.name = alt ? r->current : r->alt,
                            .kind = VALUE_DROPPED};
    if (alt) {
        r->current = r->alt;
        r->form = FORM_Y_H;
        r->shape = (struct tnn__shape){1, {r->shape.dims[1]}, 0};
    }
    r->alt = (struct text){0};
    return add_value(r, &dropped);
}

/* Where a node's inputs come from decides what it is: a step of the chain
 * (it reads the data), shape arithmetic, or a branch. */
static int import_node(struct reader *r, const struct node *n)
{
    r->node = n;
    char name[64];
    if (n->domain.n && !text_is(n->domain, "ai.onnx"))
        return fail_node(r, TNN_E_FORMAT,
                         "operator domain '%s' is not supported",
                         printable(n->domain, name, sizeof name));
    if (text_is(n->op, "Constant"))
        return eval_constant(r);
    int reads_current = 0, reads_alt = 0;
    for (int i = 0; i < n->nin; i++) {
        if (!n->in[i].n)
            continue;
        if (text_eq(n->in[i], r->current)) {
            reads_current++;
            continue;
        }
        if (r->alt.n && text_eq(n->in[i], r->alt)) {
            reads_alt++;
            continue;
        }
        const struct value *v = find_value(r, n->in[i]);
        bool recurrent = text_is(n->op, "LSTM") || text_is(n->op, "GRU");
        if (v && v->kind == VALUE_DATA && recurrent && r->recurrent)
            return stacked(r);
        if (v && v->kind == VALUE_DATA)
            return fail_node(r, TNN_E_FORMAT,
                             "reads '%s', which another node read before: "
                             "the graph branches, and only chains of "
                             "layers are supported",
                             printable(n->in[i], name, sizeof name));
        if (v && v->kind == VALUE_DROPPED)
            return fail_node(r, TNN_E_FORMAT,
                             "reads '%s', an output of a recurrent node "
                             "that the chain does not go on with: only one "
                             "of Y and Y_h may be read, and Y_c is not "
                             "supported",
                             printable(n->in[i], name, sizeof name));
        if (!v && !find_init(r, n->in[i]))
            return fail_node(r, TNN_E_FORMAT,
                             "reads '%s', which no supported node makes",
                             printable(n->in[i], name, sizeof name));
    }
    if (reads_alt && reads_current)
        return fail_node(r, TNN_E_FORMAT,
                         "reads both Y and Y_h of a recurrent node, which "
                         "is not supported");
    int rc =
        reads_current || reads_alt ? choose_output(r, reads_alt > 0) : TNN_OK;
    if (rc != TNN_OK)
        return rc;
    reads_current += reads_alt;
    if (text_is(n->op, "Shape")) {
        if (reads_current != 1)
            return fail_node(r, TNN_E_FORMAT,
                             "only the shape of the model's data is "
                             "supported");
        return eval_shape(r);
    }
    if (!reads_current)
        return eval_ints_op(r);
    if (reads_current > 1)
        return fail_node(r, TNN_E_FORMAT,
                         "reads the data twice, which is not supported");
    if (r->ended)
        return fail_node(r, TNN_E_FORMAT,
                         "follows a LogSoftmax, which is supported only as "
                         "the last node");
    struct text was = r->current;
    rc = import_chain_op(r);
    if (rc != TNN_OK)
        return rc;
    /* The data moves on; the old tensor stays known, so that a second
     * reader of it is seen as a branch. */
    r->current = r->moved_to.n ? r->moved_to : n->out[0];
    r->moved_to = (struct text){0};
    struct value old = {.name = was, .kind = VALUE_DATA};
    return add_value(r, &old);
}

/* ---- the graph ------------------------------------------------------- */

struct graph {
    struct text msg;
    struct text input, output; /* ValueInfoProto */
    size_t ninputs, noutputs;
};

/* The data's shape from the graph input's type: (batch, features),
 * (batch, time, features) or (batch, channels, height, width) of FLOAT,
 * or (batch, time) of INT64 token ids, whose model the embedding that
 * reads them makes (import_embedding()). */
static int read_input(struct reader *r, struct text info)
{
    struct tnn__pb pb = tnn__pb_open(info.p, info.n);
    struct tnn__pb_field f;
    struct text type = {0}, tensor = {0}, shape = {0};
    int64_t elem = 0;
    while (tnn__pb_next(&pb, &f)) {
        if (f.number == TNN__ONNX_VALUE_NAME)
            r->current = (struct text){f.data, f.len};
        else if (f.number == TNN__ONNX_VALUE_TYPE)
            type = (struct text){f.data, f.len};
    }
    pb = tnn__pb_open(type.p, type.n);
    while (tnn__pb_next(&pb, &f))
        if (f.number == TNN__ONNX_TYPE_TENSOR)
            tensor = (struct text){f.data, f.len};
    pb = tnn__pb_open(tensor.p, tensor.n);
    while (tnn__pb_next(&pb, &f)) {
        if (f.number == TNN__ONNX_TENSOR_TYPE_ELEM)
            elem = (int64_t)f.value;
        else if (f.number == TNN__ONNX_TENSOR_TYPE_SHAPE)
            shape = (struct text){f.data, f.len};
    }
    char name[64];
    printable(r->current, name, sizeof name);
    const bool ids = elem == TNN__ONNX_INT64;
    if (elem != TNN__ONNX_FLOAT && !ids)
        return fail_node(r, TNN_E_FORMAT,
                         "graph input '%s' has data type %s; only FLOAT is "
                         "supported, or INT64 token ids for an embedding",
                         name, type_name(elem));
    int64_t dims[5];
    int ndim = 0;
    bool symbolic_batch = false;
    pb = tnn__pb_open(shape.p, shape.n);
    while (tnn__pb_next(&pb, &f)) {
        if (f.number != TNN__ONNX_SHAPE_DIM)
            continue;
        if (ndim == 5)
            break;
        struct tnn__pb dim = tnn__pb_open(f.data, f.len);
        struct tnn__pb_field d;
        int64_t value = -1;
        while (tnn__pb_next(&dim, &d))
            if (d.number == TNN__ONNX_DIM_VALUE && d.wire == TNN__PB_VARINT)
                value = (int64_t)d.value;
        if (ndim == 0 && value < 0)
            symbolic_batch = true;
        dims[ndim++] = value;
    }
    if (ids && ndim != 2)
        return fail_node(r, TNN_E_FORMAT,
                         "graph input '%s' of INT64 token ids must be "
                         "(batch, time)",
                         name);
    if (ndim < 2 || ndim > 4)
        return fail_node(r, TNN_E_FORMAT,
                         "graph input '%s' must be (batch, features), "
                         "(batch, time, features) or (batch, channels, "
                         "height, width)",
                         name);
    for (int d = 1; d < ndim; d++)
        if (dims[d] < 1 || dims[d] > UINT32_MAX)
            return fail_node(r, TNN_E_FORMAT,
                             "graph input '%s' needs fixed sizes after the "
                             "batch",
                             name);
    r->fixed_batch = !symbolic_batch;
    r->batch = dims[0];
    r->shape.ndim = ndim - 1;
    for (int d = 1; d < ndim; d++)
        r->shape.dims[d - 1] = (size_t)dims[d];
    if (ids) {
        r->form = FORM_IDS;
        return TNN_OK;
    }
    r->model = ndim == 2 ? tnn_model_new((size_t)dims[1])
               : ndim == 3
                   ? tnn_model_new_sequence((size_t)dims[1], (size_t)dims[2])
                   : tnn_model_new_image((size_t)dims[1], (size_t)dims[2],
                                         (size_t)dims[3]);
    if (!r->model)
        return refused(r);
    return TNN_OK;
}

static struct text value_name(struct text info)
{
    struct tnn__pb pb = tnn__pb_open(info.p, info.n);
    struct tnn__pb_field f;
    while (tnn__pb_next(&pb, &f))
        if (f.number == TNN__ONNX_VALUE_NAME)
            return (struct text){f.data, f.len};
    return (struct text){0};
}

static struct text tensor_name(struct text msg)
{
    struct tnn__pb pb = tnn__pb_open(msg.p, msg.n);
    struct tnn__pb_field f;
    while (tnn__pb_next(&pb, &f))
        if (f.number == TNN__ONNX_TENSOR_NAME)
            return (struct text){f.data, f.len};
    return (struct text){0};
}

/* Index the initializers (sorted by name for lookups); find the graph's
 * one data input (older exporters list initializers as inputs too) and its
 * output. */
static int index_graph(struct reader *r, struct graph *g)
{
    struct tnn__pb pb = tnn__pb_open(g->msg.p, g->msg.n);
    struct tnn__pb_field f;
    size_t count = 0;
    while (tnn__pb_next(&pb, &f))
        count += f.number == TNN__ONNX_GRAPH_INITIALIZER;
    if (pb.bad)
        return malformed(r, "graph");
    /* Each entry stands for at least two bytes of the file. */
    r->inits = tnn__malloc((count ? count : 1) * sizeof *r->inits);
    if (!r->inits)
        return fail_node(r, TNN_E_NOMEM, "cannot index %zu initializers",
                         count);
    pb = tnn__pb_open(g->msg.p, g->msg.n);
    while (tnn__pb_next(&pb, &f)) {
        struct text t = {f.data, f.len};
        if (f.number == TNN__ONNX_GRAPH_INITIALIZER) {
            /* Only the name now: the node that reads a tensor checks it,
             * so that its message names the node. */
            struct text name = tensor_name(t);
            if (!name.n)
                return malformed(r, "initializer: no name");
            r->inits[r->ninits++] = (struct init){name, t};
        } else if (f.number == TNN__ONNX_GRAPH_SPARSE_INITIALIZER) {
            return fail_node(r, TNN_E_FORMAT,
                             "sparse initializers are not supported");
        } else if (f.number == TNN__ONNX_GRAPH_OUTPUT) {
            g->output = t;
            g->noutputs++;
        }
    }
    qsort(r->inits, r->ninits, sizeof *r->inits, compare_init);
    char name[64];
    for (size_t i = 1; i < r->ninits; i++)
        if (text_eq(r->inits[i].name, r->inits[i - 1].name))
            return fail_node(r, TNN_E_FORMAT,
                             "initializer '%s' is given twice",
                             printable(r->inits[i].name, name, sizeof name));
    pb = tnn__pb_open(g->msg.p, g->msg.n);
    while (tnn__pb_next(&pb, &f)) {
        struct text t = {f.data, f.len};
        if (f.number == TNN__ONNX_GRAPH_INPUT &&
            !find_init(r, value_name(t))) {
            g->input = t;
            g->ninputs++;
        }
    }
    if (g->ninputs != 1 || g->noutputs != 1)
        return fail_node(r, TNN_E_FORMAT,
                         "the graph has %zu inputs and %zu outputs; only one "
                         "of each is supported",
                         g->ninputs, g->noutputs);
    return TNN_OK;
}

static int import_nodes(struct reader *r, const struct graph *g)
{
    struct tnn__pb pb = tnn__pb_open(g->msg.p, g->msg.n);
    struct tnn__pb_field f;
    size_t index = 0;
    while (tnn__pb_next(&pb, &f)) {
        if (f.number != TNN__ONNX_GRAPH_NODE)
            continue;
        struct node n;
        memset(&n, 0, sizeof n);
        n.index = index++;
        r->node = &n;
        int rc = parse_node(r, (struct text){f.data, f.len}, &n);
        if (rc == TNN_OK)
            rc = import_node(r, &n);
        if (rc != TNN_OK)
            return rc;
    }
    r->node = NULL;
    char name[64], got[64];
    struct text out = value_name(g->output);
    bool alt = r->alt.n && text_eq(out, r->alt);
    int rc = alt || text_eq(out, r->current) ? choose_output(r, alt) : TNN_OK;
    if (rc != TNN_OK)
        return rc;
    if (!text_eq(out, r->current))
        return fail_node(r, TNN_E_FORMAT,
                         "the graph's output '%s' is not the end of its "
                         "chain of layers",
                         printable(out, name, sizeof name));
    if (r->form != FORM_ROWS)
        return fail_node(r, TNN_E_FORMAT,
                         "the graph's output is %s; only batch-first data "
                         "is supported",
                         data_text(r, got, sizeof got));
    rc = add_recurrent(r);
    if (rc != TNN_OK)
        return rc;
    if (!r->model || tnn_model_num_layers(r->model) == 0)
        return fail_node(r, TNN_E_FORMAT, "the graph has no layers");
    return TNN_OK;
}

/* The loss that fits the last layer: cross-entropy after a softmax,
 * binary cross-entropy after a sigmoid, MSE otherwise. */
static void choose_loss(tnn_model *model)
{
    tnn_layer *last = tnn_model_layer(model, tnn_model_num_layers(model) - 1);
    int kind = tnn_layer_kind(last);
    if (kind == TNN_LAYER_SOFTMAX)
        tnn_model_set_loss(model, TNN_LOSS_CROSS_ENTROPY);
    else if (kind == TNN_LAYER_SIGMOID)
        tnn_model_set_loss(model, TNN_LOSS_BINARY_CROSS_ENTROPY);
}

/* The ModelProto's versions and its graph. */
static int read_model(struct reader *r, const uint8_t *data, size_t size,
                      struct graph *g)
{
    struct tnn__pb pb = tnn__pb_open(data, size);
    struct tnn__pb_field f;
    int64_t ir = -1;
    size_t ngraphs = 0;
    while (tnn__pb_next(&pb, &f)) {
        if (f.number == TNN__ONNX_MODEL_IR_VERSION &&
            f.wire == TNN__PB_VARINT) {
            ir = (int64_t)f.value;
        } else if (f.number == TNN__ONNX_MODEL_GRAPH &&
                   f.wire == TNN__PB_BYTES) {
            g->msg = (struct text){f.data, f.len};
            ngraphs++;
        } else if (f.number == TNN__ONNX_MODEL_OPSET_IMPORT &&
                   f.wire == TNN__PB_BYTES) {
            struct tnn__pb set = tnn__pb_open(f.data, f.len);
            struct tnn__pb_field s;
            struct text domain = {0};
            int64_t version = 0;
            while (tnn__pb_next(&set, &s)) {
                if (s.number == TNN__ONNX_OPSET_DOMAIN)
                    domain = (struct text){s.data, s.len};
                else if (s.number == TNN__ONNX_OPSET_VERSION)
                    version = (int64_t)s.value;
            }
            if (!domain.n || text_is(domain, "ai.onnx"))
                r->opset = version;
        }
    }
    if (pb.bad || ir < 0 || ngraphs != 1)
        return tnn__fail(TNN_E_FORMAT, r->func,
                         "not an ONNX model (no ModelProto with an IR "
                         "version and one graph)");
    if (ir < TNN__ONNX_IR_MIN || ir > TNN__ONNX_IR_MAX)
        return tnn__fail(TNN_E_VERSION, r->func,
                         "IR version %lld; this library reads %d to %d",
                         (long long)ir, TNN__ONNX_IR_MIN, TNN__ONNX_IR_MAX);
    if (r->opset < TNN__ONNX_OPSET_MIN || r->opset > TNN__ONNX_OPSET_MAX)
        return tnn__fail(TNN_E_VERSION, r->func,
                         "operator set %lld; this library reads %d to %d",
                         (long long)r->opset, TNN__ONNX_OPSET_MIN,
                         TNN__ONNX_OPSET_MAX);
    return TNN_OK;
}

static int load_onnx(const char *func, const uint8_t *data, size_t size,
                     tnn_model **out)
{
    struct reader r = {.func = func};
    struct graph g = {0};
    int rc = read_model(&r, data, size, &g);
    if (rc == TNN_OK)
        rc = index_graph(&r, &g);
    if (rc == TNN_OK)
        rc = read_input(&r, g.input);
    if (rc == TNN_OK)
        rc = import_nodes(&r, &g);
    if (rc == TNN_OK) {
        choose_loss(r.model);
        *out = r.model;
        r.model = NULL;
    }
    tnn_model_free(r.model);
    tnn_layer_free(r.recurrent);
    tnn__free(r.inits);
    tnn__free(r.values);
    tnn__free(r.slots);
    return rc;
}

int tnn_model_load_onnx_buffer(const void *data, size_t size, tnn_model **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    if (!data)
        return tnn__fail(TNN_E_INVALID, __func__, "data is NULL");
    return load_onnx(__func__, data, size, out);
}

/* The path ends the message, as for the library's own model files. */
static int parse_file(const char *func, const char *path, const void *data,
                      size_t size, void *out)
{
    int rc = load_onnx(func, data, size, out);
    return rc == TNN_OK ? rc : tnn__name_path(rc, func, path);
}

int tnn_model_load_onnx(const char *path, tnn_model **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    return tnn__load_file(__func__, path, parse_file, out);
}
