/*
 * Model files (docs/format.md): the model is written to memory and then to
 * disk atomically; a file is read whole, and every field is checked, every
 * size compared with the bytes really present, before anything is built
 * from it, so that no file can make the loader crash or allocate more than
 * the file itself justifies.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The newest format this library reads; it writes the oldest one that
 * can describe the model, so that older readers load what they could. */
#define FORMAT_VERSION 2
#define HEADER_SIZE 24
#define SECTION_HEAD 16
#define TRAILER_SIZE 16

static const uint8_t file_magic[8] = {0x89, 'T', 'N', 'N',
                                      'M',  'O', 'D', '\n'};
static const uint8_t trailer_tag[4] = {'T', 'E', 'N', 'D'};

#define TAG(a, b, c, d)                                                       \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 |               \
     (uint32_t)(d) << 24)
#define TAG_MODEL TAG('M', 'O', 'D', 'L')
#define TAG_LAYERS TAG('L', 'A', 'Y', 'R')
#define TAG_OPTIM TAG('O', 'P', 'T', 'M')
#define TAG_TENSORS TAG('T', 'D', 'I', 'R')
#define TAG_DATA TAG('D', 'A', 'T', 'A')

enum { FLAG_OPTIMIZER = 1 };
enum { DTYPE_F32 = 1 };

/* Bounds that keep hostile files cheap to reject. */
#define MAX_LAYERS 4096
#define MAX_CONFIG 8
#define MAX_NAME 64

/* ---- writing ---------------------------------------------------------- */

struct writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;
};

static void put_bytes(struct writer *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        uint8_t *grown = cap - w->len >= n ? tnn__realloc(w->data, cap) : NULL;
        if (!grown) {
            w->failed = true;
            return;
        }
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

static void store_u32(uint8_t *at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        at[i] = (uint8_t)(v >> (8 * i));
}

static void put_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4];
    store_u32(b, v);
    put_bytes(w, b, 4);
}

static void put_u64(struct writer *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_f32(struct writer *w, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(w, v);
}

static void put_f64(struct writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(w, v);
}

/* A section's tag, CRC and length are filled in when it ends. */
static size_t begin_section(struct writer *w, uint32_t tag)
{
    size_t start = w->len;
    put_u32(w, tag);
    put_u32(w, 0);
    put_u64(w, 0);
    return start;
}

static void end_section(struct writer *w, size_t start)
{
    if (w->failed)
        return;
    size_t len = w->len - start - SECTION_HEAD;
    uint8_t *head = w->data + start;
    store_u32(head + 4, tnn__crc32(head + SECTION_HEAD, len));
    store_u32(head + 8, (uint32_t)len);
    store_u32(head + 12, (uint32_t)((uint64_t)len >> 32));
}

/* One named tensor of the file: parameters, batch-norm statistics and
 * optimizer state. */
struct entry {
    char name[MAX_NAME];
    int ndim;
    size_t dims[TNN_MAX_DIMS];
    const float *data;
    size_t count;
};

static const char *param_name(const tnn_layer *layer, int p)
{
    static const char *const weights[] = {"weight", "bias"};
    static const char *const batchnorm[] = {"gamma", "beta"};
    return layer->ops->kind == TNN_LAYER_BATCHNORM ? batchnorm[p] : weights[p];
}

static void add_entry(struct entry *e, size_t *n, const char *name,
                      const tnn_tensor *t)
{
    struct entry *x = &e[(*n)++];
    snprintf(x->name, sizeof x->name, "%s", name);
    x->ndim = t->ndim;
    memcpy(x->dims, t->dims, sizeof x->dims);
    x->data = t->data;
    x->count = t->size;
}

static size_t collect_entries(const tnn_model *m, bool optim, struct entry *e)
{
    size_t n = 0;
    char name[MAX_NAME];
    for (size_t i = 0; i < m->num_layers; i++) {
        tnn_layer *layer = m->layers[i];
        for (int p = 0; p < layer->num_params; p++) {
            snprintf(name, sizeof name, "layer.%zu.%s", i,
                     param_name(layer, p));
            add_entry(e, &n, name, layer->param[p]);
        }
        if (layer->ops->kind == TNN_LAYER_BATCHNORM) {
            snprintf(name, sizeof name, "layer.%zu.running_mean", i);
            add_entry(e, &n, name, tnn_batchnorm_running_mean(layer));
            snprintf(name, sizeof name, "layer.%zu.running_var", i);
            add_entry(e, &n, name, tnn_batchnorm_running_var(layer));
        }
    }
    for (size_t s = 0; optim && s < m->optim->num_slots; s++) {
        struct entry *x = &e[n++];
        snprintf(x->name, sizeof x->name, "optim.slot.%zu", s);
        x->ndim = 1;
        memset(x->dims, 0, sizeof x->dims);
        x->dims[0] = m->optim->state_size[s];
        x->data = m->optim->state[s];
        x->count = m->optim->state_size[s];
    }
    return n;
}

/* Format 2 added image input shapes, the image layer kinds and the
 * batch-norm feature count (format 1 takes the layer's width). */
static uint32_t format_version(const tnn_model *m)
{
    if (m->in_shape.ndim != 1)
        return 2;
    for (size_t i = 0; i < m->num_layers; i++) {
        const tnn_layer *layer = m->layers[i];
        if (layer->ops->kind > TNN_LAYER_BATCHNORM)
            return 2;
        if (layer->ops->kind == TNN_LAYER_BATCHNORM &&
            layer->param[0]->size != layer->in_features)
            return 2;
    }
    return 1;
}

static void write_model_section(struct writer *w, const tnn_model *m,
                                uint32_t version)
{
    size_t start = begin_section(w, TAG_MODEL);
    put_u64(w, m->in_features);
    put_u32(w, (uint32_t)m->loss);
    put_u32(w, (uint32_t)m->mode);
    put_u32(w, m->check_finite);
    put_u32(w, (uint32_t)m->num_layers);
    for (int i = 0; i < 4; i++)
        put_u64(w, m->rng->s[i]);
    put_f64(w, m->rng->spare_normal);
    put_u32(w, m->rng->has_spare);
    if (version >= 2) {
        put_u32(w, (uint32_t)m->in_shape.ndim);
        for (int i = 0; i < TNN_MAX_SAMPLE_DIMS; i++)
            put_u64(w, i < m->in_shape.ndim ? m->in_shape.dims[i] : 0);
    }
    end_section(w, start);
}

static void write_layers_section(struct writer *w, const tnn_model *m,
                                 uint32_t version)
{
    size_t start = begin_section(w, TAG_LAYERS);
    for (size_t i = 0; i < m->num_layers; i++) {
        const tnn_layer *layer = m->layers[i];
        put_u32(w, (uint32_t)layer->ops->kind);
        put_u32(w, layer->trainable);
        put_u64(w, layer->in_features);
        put_u64(w, layer->out_features);
        switch (layer->ops->kind) {
        case TNN_LAYER_DENSE: {
            int init;
            float value;
            tnn__dense_get_init(layer, &init, &value);
            put_u32(w, 2);
            put_u32(w, (uint32_t)init);
            put_f32(w, value);
            break;
        }
        case TNN_LAYER_DROPOUT:
            put_u32(w, 1);
            put_f32(w, tnn__dropout_rate(layer));
            break;
        case TNN_LAYER_BATCHNORM:
            put_u32(w, version >= 2 ? 3 : 2);
            put_f32(w, tnn_batchnorm_momentum(layer));
            put_f32(w, tnn_batchnorm_eps(layer));
            if (version >= 2)
                put_u32(w, (uint32_t)layer->param[0]->size);
            break;
        case TNN_LAYER_CONV2D: {
            size_t config[5];
            int padding, init;
            float value;
            tnn__conv2d_get_config(layer, config, &padding, &init, &value);
            put_u32(w, 8);
            for (int k = 0; k < 5; k++)
                put_u32(w, (uint32_t)config[k]);
            put_u32(w, (uint32_t)padding);
            put_u32(w, (uint32_t)init);
            put_f32(w, value);
            break;
        }
        case TNN_LAYER_MAXPOOL2D:
        case TNN_LAYER_AVGPOOL2D: {
            size_t k, stride;
            tnn__pool2d_get_config(layer, &k, &stride);
            put_u32(w, 2);
            put_u32(w, (uint32_t)k);
            put_u32(w, (uint32_t)stride);
            break;
        }
        default: put_u32(w, 0); break;
        }
    }
    end_section(w, start);
}

static void write_optim_section(struct writer *w, const tnn_optim *o)
{
    size_t start = begin_section(w, TAG_OPTIM);
    put_u32(w, (uint32_t)o->kind);
    put_f32(w, o->lr);
    put_f32(w, o->momentum);
    put_u32(w, o->nesterov);
    put_f32(w, o->beta1);
    put_f32(w, o->beta2);
    put_f32(w, o->eps);
    put_u32(w, o->decoupled);
    put_f32(w, o->weight_decay);
    put_u32(w, o->decay_all);
    put_u32(w, (uint32_t)o->schedule);
    put_u64(w, (uint64_t)o->schedule_steps);
    put_f32(w, o->schedule_value);
    put_u64(w, (uint64_t)o->steps);
    put_u64(w, (uint64_t)o->state_steps);
    put_u32(w, (uint32_t)o->num_slots);
    end_section(w, start);
}

static void write_tensor_sections(struct writer *w, const struct entry *e,
                                  size_t n)
{
    size_t start = begin_section(w, TAG_TENSORS);
    put_u32(w, (uint32_t)n);
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        size_t name_len = strlen(e[i].name);
        put_u32(w, (uint32_t)name_len);
        put_bytes(w, e[i].name, name_len);
        put_u32(w, DTYPE_F32);
        put_u32(w, (uint32_t)e[i].ndim);
        for (int d = 0; d < e[i].ndim; d++)
            put_u64(w, e[i].dims[d]);
        put_u64(w, offset);
        put_u64(w, 4 * (uint64_t)e[i].count);
        offset += 4 * (uint64_t)e[i].count;
    }
    end_section(w, start);
    start = begin_section(w, TAG_DATA);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < e[i].count; k++)
            put_f32(w, e[i].data[k]);
    end_section(w, start);
}

/* The whole file in w->data, from tnn__malloc. */
static int serialize(const char *func, const tnn_model *m, int flags,
                     struct writer *w)
{
    if (!m)
        return tnn__fail(TNN_E_INVALID, func, "model is NULL");
    if (flags & ~TNN_SAVE_OPTIMIZER)
        return tnn__fail(TNN_E_INVALID, func, "unknown flags 0x%x", flags);
    bool optim = flags & TNN_SAVE_OPTIMIZER;
    if (optim && !m->optim)
        return tnn__fail(TNN_E_STATE, func,
                         "TNN_SAVE_OPTIMIZER given but the model has no "
                         "optimizer");
    size_t max_entries = 4 * m->num_layers + (optim ? m->optim->num_slots : 0);
    struct entry *entries = tnn__calloc(max_entries + 1, sizeof *entries);
    if (!entries)
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate %zu entries",
                         max_entries);
    size_t n = collect_entries(m, optim, entries);

    uint32_t sections = optim ? 5 : 4;
    uint32_t version = format_version(m);
    put_bytes(w, file_magic, sizeof file_magic);
    put_u32(w, version);
    put_u32(w, optim ? FLAG_OPTIMIZER : 0);
    put_u32(w, sections);
    put_u32(w, w->failed ? 0 : tnn__crc32(w->data, 20));
    write_model_section(w, m, version);
    write_layers_section(w, m, version);
    if (optim)
        write_optim_section(w, m->optim);
    write_tensor_sections(w, entries, n);
    put_u64(w, (uint64_t)w->len + TRAILER_SIZE);
    put_u32(w, w->failed ? 0 : tnn__crc32(w->data, w->len));
    put_bytes(w, trailer_tag, sizeof trailer_tag);
    tnn__free(entries);
    if (w->failed) {
        tnn__free(w->data);
        w->data = NULL;
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate the file image");
    }
    return TNN_OK;
}

int tnn_model_save(const tnn_model *model, const char *path, int flags)
{
    if (!path)
        return tnn__fail(TNN_E_INVALID, __func__, "path is NULL");
    struct writer w = {0};
    int rc = serialize(__func__, model, flags, &w);
    if (rc != TNN_OK)
        return rc;
    rc = tnn__write_file_atomic(__func__, path, w.data, w.len);
    tnn__free(w.data);
    return rc;
}

int tnn_model_save_buffer(const tnn_model *model, int flags, void *buf,
                          size_t size, size_t *needed)
{
    if (!buf && size > 0)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "buf is NULL but size is %zu", size);
    struct writer w = {0};
    int rc = serialize(__func__, model, flags, &w);
    if (rc != TNN_OK)
        return rc;
    if (needed)
        *needed = w.len;
    if (buf && size < w.len)
        rc = tnn__fail(TNN_E_SHAPE, __func__,
                       "size is %zu; the model needs %zu bytes", size, w.len);
    else if (buf)
        memcpy(buf, w.data, w.len);
    tnn__free(w.data);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

struct reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool short_read;
};

static const uint8_t *get_bytes(struct reader *r, size_t n)
{
    if (r->short_read || n > r->len - r->pos) {
        r->short_read = true;
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

static uint32_t load_u32(const uint8_t *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 |
           (uint32_t)at[3] << 24;
}

static uint32_t get_u32(struct reader *r)
{
    const uint8_t *at = get_bytes(r, 4);
    return at ? load_u32(at) : 0;
}

static uint64_t get_u64(struct reader *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static float get_f32(struct reader *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static double get_f64(struct reader *r)
{
    uint64_t v = get_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

struct layer_desc {
    uint32_t kind;
    uint32_t trainable;
    uint64_t in;
    uint64_t out;
    uint32_t nconfig;
    uint32_t config[MAX_CONFIG];
};

struct tensor_desc {
    char name[MAX_NAME + 1];
    uint32_t ndim;
    uint64_t dims[TNN_MAX_DIMS];
    uint64_t offset;
    uint64_t nbytes;
    bool used;
};

struct optim_desc {
    uint32_t kind;
    float lr, momentum;
    uint32_t nesterov;
    float beta1, beta2, eps;
    uint32_t decoupled;
    float weight_decay;
    uint32_t decay_all;
    uint32_t schedule;
    uint64_t schedule_steps;
    float schedule_value;
    uint64_t steps;
    uint64_t state_steps;
    uint32_t num_slots;
};

/* Everything a file says, checked for size and range but not yet for
 * consistency between sections. */
struct file_desc {
    uint32_t version;
    uint64_t in_features;
    uint32_t loss, mode, check_finite, num_layers;
    uint64_t rng_state[4];
    double spare_normal;
    uint32_t has_spare;
    struct tnn__shape in_shape;
    struct layer_desc *layers;
    bool has_optim;
    struct optim_desc optim;
    uint32_t num_tensors;
    struct tensor_desc *tensors;
    const uint8_t *data;
    uint64_t data_len;
};

static int corrupt(const char *func, const char *what)
{
    return tnn__fail(TNN_E_CORRUPT, func, "%s", what);
}

/* CRCs are what make corruption detectable, and what a fuzzer cannot
 * guess: fuzzing builds check everything else. */
static bool crc_matches(uint32_t stored, const void *data, size_t len)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)stored;
    (void)data;
    (void)len;
    return true;
#else
    return stored == tnn__crc32(data, len);
#endif
}

static uint64_t load_u64(const uint8_t *at)
{
    return load_u32(at) | (uint64_t)load_u32(at + 4) << 32;
}

static bool trailer_in_place(const uint8_t *data, size_t size)
{
    if (size < HEADER_SIZE + TRAILER_SIZE)
        return false;
    const uint8_t *trailer = data + size - TRAILER_SIZE;
    return load_u64(trailer) == size &&
           memcmp(trailer + 12, trailer_tag, 4) == 0;
}

/* The trailer is not at the end. The section heads tell where the file
 * should end, so that the message can say whether it was cut short (an
 * interrupted copy or download) or has bytes after its end; the numbers
 * come from the heads, not from the bytes found where the trailer should
 * be. */
static int misplaced_trailer(const char *func, const uint8_t *data,
                             size_t size, uint32_t sections)
{
    uint64_t end = HEADER_SIZE;
    uint32_t k = 0;
    for (; k < sections && end + SECTION_HEAD <= size; k++) {
        uint64_t len = load_u64(data + end + 8);
        if (len > size - end - SECTION_HEAD) {
            /* Cut inside section k: its end is known, not the rest. */
            if (len > UINT64_MAX / 2)
                return corrupt(func, "truncated, or a section length is "
                                     "damaged");
            end += SECTION_HEAD + len;
            k++;
            break;
        }
        end += SECTION_HEAD + len;
    }
    bool exact = k == sections;
    end += (uint64_t)(sections - k) * SECTION_HEAD + TRAILER_SIZE;
    if (end > size)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "truncated: the file has %zu bytes of %s%llu", size,
                         exact ? "" : "at least ", (unsigned long long)end);
    if (end < size && trailer_in_place(data, (size_t)end))
        return tnn__fail(TNN_E_CORRUPT, func,
                         "%zu bytes follow the end of the model at byte %llu",
                         size - (size_t)end, (unsigned long long)end);
    return corrupt(func, "trailer is missing or damaged");
}

static int parse_header(const char *func, const uint8_t *data, size_t size,
                        struct file_desc *f, uint32_t *sections)
{
    /* An empty file is no model file; a cut-off magic is a truncated
     * one. */
    if (size == 0 || memcmp(data, file_magic, size < 8 ? size : 8) != 0)
        return tnn__fail(TNN_E_FORMAT, func, "not a libtinynn model file (%s)",
                         size ? "wrong magic" : "empty");
    if (size < HEADER_SIZE)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "truncated: the file has %zu bytes, less than its "
                         "%d-byte header",
                         size, HEADER_SIZE);
    f->version = load_u32(data + 8);
    if (f->version > FORMAT_VERSION)
        return tnn__fail(TNN_E_VERSION, func,
                         "file format version %u is newer than this "
                         "library's %u; use libtinynn %s or later",
                         f->version, FORMAT_VERSION, "with that format");
    if (f->version == 0)
        return tnn__fail(TNN_E_FORMAT, func, "file format version 0");
    if (!crc_matches(load_u32(data + 20), data, 20))
        return corrupt(func, "header checksum mismatch");
    uint32_t flags = load_u32(data + 12);
    if (flags & ~(uint32_t)FLAG_OPTIMIZER)
        return tnn__fail(TNN_E_CORRUPT, func, "unknown header flags 0x%x",
                         flags);
    f->has_optim = flags & FLAG_OPTIMIZER;
    *sections = load_u32(data + 16);
    if (!trailer_in_place(data, size))
        return misplaced_trailer(func, data, size, f->has_optim ? 5 : 4);
    const uint8_t *trailer = data + size - TRAILER_SIZE;
    if (!crc_matches(load_u32(trailer + 8), data, size - TRAILER_SIZE + 8))
        return corrupt(func, "file checksum mismatch");
    return TNN_OK;
}

static int parse_model(const char *func, struct reader *r, struct file_desc *f)
{
    f->in_features = get_u64(r);
    f->loss = get_u32(r);
    f->mode = get_u32(r);
    f->check_finite = get_u32(r);
    f->num_layers = get_u32(r);
    for (int i = 0; i < 4; i++)
        f->rng_state[i] = get_u64(r);
    f->spare_normal = get_f64(r);
    f->has_spare = get_u32(r);
    if (f->version >= 2) {
        f->in_shape.ndim = (int)get_u32(r);
        for (int i = 0; i < TNN_MAX_SAMPLE_DIMS; i++)
            f->in_shape.dims[i] = (size_t)get_u64(r);
    } else {
        f->in_shape = (struct tnn__shape){1, {(size_t)f->in_features}};
    }
    if (r->short_read || r->pos != r->len)
        return corrupt(func, "model section has the wrong length");
    if (f->num_layers > MAX_LAYERS)
        return tnn__fail(TNN_E_CORRUPT, func, "%u layers (at most %d)",
                         f->num_layers, MAX_LAYERS);
    return TNN_OK;
}

static int parse_layers(const char *func, struct reader *r,
                        struct file_desc *f)
{
    /* Each record takes at least 28 bytes: no more records than bytes. */
    if ((uint64_t)f->num_layers * 28 > r->len)
        return corrupt(func, "layer section too short for its layers");
    f->layers =
        tnn__calloc(f->num_layers ? f->num_layers : 1, sizeof *f->layers);
    if (!f->layers)
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate %u layers",
                         f->num_layers);
    for (uint32_t i = 0; i < f->num_layers; i++) {
        struct layer_desc *l = &f->layers[i];
        l->kind = get_u32(r);
        l->trainable = get_u32(r);
        l->in = get_u64(r);
        l->out = get_u64(r);
        l->nconfig = get_u32(r);
        if (l->nconfig > MAX_CONFIG)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "layer %u has %u configuration words", i,
                             l->nconfig);
        for (uint32_t k = 0; k < l->nconfig; k++)
            l->config[k] = get_u32(r);
    }
    if (r->short_read || r->pos != r->len)
        return corrupt(func, "layer section has the wrong length");
    return TNN_OK;
}

static int parse_optim(const char *func, struct reader *r,
                       struct optim_desc *o)
{
    o->kind = get_u32(r);
    o->lr = get_f32(r);
    o->momentum = get_f32(r);
    o->nesterov = get_u32(r);
    o->beta1 = get_f32(r);
    o->beta2 = get_f32(r);
    o->eps = get_f32(r);
    o->decoupled = get_u32(r);
    o->weight_decay = get_f32(r);
    o->decay_all = get_u32(r);
    o->schedule = get_u32(r);
    o->schedule_steps = get_u64(r);
    o->schedule_value = get_f32(r);
    o->steps = get_u64(r);
    o->state_steps = get_u64(r);
    o->num_slots = get_u32(r);
    if (r->short_read || r->pos != r->len)
        return corrupt(func, "optimizer section has the wrong length");
    return TNN_OK;
}

static int parse_tensors(const char *func, struct reader *r,
                         struct file_desc *f)
{
    f->num_tensors = get_u32(r);
    /* Each entry takes at least 33 bytes. */
    if (r->short_read || (uint64_t)f->num_tensors * 33 > r->len)
        return corrupt(func, "tensor directory too short for its entries");
    f->tensors =
        tnn__calloc(f->num_tensors ? f->num_tensors : 1, sizeof *f->tensors);
    if (!f->tensors)
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate %u entries",
                         f->num_tensors);
    for (uint32_t i = 0; i < f->num_tensors; i++) {
        struct tensor_desc *t = &f->tensors[i];
        uint32_t name_len = get_u32(r);
        if (name_len == 0 || name_len > MAX_NAME)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "tensor %u has a name of %u bytes", i, name_len);
        const uint8_t *name = get_bytes(r, name_len);
        if (name)
            memcpy(t->name, name, name_len);
        /* Names are printable ASCII: a NUL would make two different
         * names compare equal. */
        for (uint32_t k = 0; name && k < name_len; k++)
            if (name[k] < 0x21 || name[k] > 0x7e)
                return tnn__fail(TNN_E_CORRUPT, func,
                                 "tensor %u has byte 0x%02x in its name", i,
                                 name[k]);
        uint32_t dtype = get_u32(r);
        t->ndim = get_u32(r);
        if (!r->short_read && dtype != DTYPE_F32)
            return tnn__fail(TNN_E_CORRUPT, func, "tensor %u has data type %u",
                             i, dtype);
        if (!r->short_read && (t->ndim < 1 || t->ndim > TNN_MAX_DIMS))
            return tnn__fail(TNN_E_CORRUPT, func, "tensor %u has %u dims", i,
                             t->ndim);
        for (uint32_t d = 0; d < t->ndim && !r->short_read; d++)
            t->dims[d] = get_u64(r);
        t->offset = get_u64(r);
        t->nbytes = get_u64(r);
        if (r->short_read)
            break;
    }
    if (r->short_read || r->pos != r->len)
        return corrupt(func, "tensor directory has the wrong length");
    return TNN_OK;
}

static int parse_sections(const char *func, const uint8_t *data, size_t size,
                          uint32_t sections, struct file_desc *f)
{
    static const uint32_t order[] = {TAG_MODEL, TAG_LAYERS, TAG_OPTIM,
                                     TAG_TENSORS, TAG_DATA};
    uint32_t expected = f->has_optim ? 5 : 4;
    if (sections != expected)
        return tnn__fail(TNN_E_CORRUPT, func, "%u sections; expected %u",
                         sections, expected);
    struct reader file = {data, size - TRAILER_SIZE, HEADER_SIZE, false};
    for (size_t k = 0; k < 5; k++) {
        uint32_t want = order[k];
        if (want == TAG_OPTIM && !f->has_optim)
            continue;
        uint32_t tag = get_u32(&file), crc = get_u32(&file);
        uint64_t len = get_u64(&file);
        if (file.short_read || len > file.len - file.pos)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "section %zu runs past the end of the file", k);
        if (tag != want)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "section %zu has tag 0x%08x; expected 0x%08x", k,
                             tag, want);
        struct reader r = {data + file.pos, (size_t)len, 0, false};
        file.pos += (size_t)len;
        if (!crc_matches(crc, r.p, r.len))
            return tnn__fail(TNN_E_CORRUPT, func,
                             "section %zu checksum mismatch", k);
        int rc = TNN_OK;
        if (tag == TAG_MODEL)
            rc = parse_model(func, &r, f);
        else if (tag == TAG_LAYERS)
            rc = parse_layers(func, &r, f);
        else if (tag == TAG_OPTIM)
            rc = parse_optim(func, &r, &f->optim);
        else if (tag == TAG_TENSORS)
            rc = parse_tensors(func, &r, f);
        else {
            f->data = r.p;
            f->data_len = r.len;
        }
        if (rc != TNN_OK)
            return rc;
    }
    if (file.pos != file.len)
        return corrupt(func, "bytes between the last section and the "
                             "trailer");
    return TNN_OK;
}

/* ---- building ------------------------------------------------------------
 */

/* Find the tensor called name with exactly the given shape and data inside
 * the data section. */
static int find_tensor(const char *func, struct file_desc *f, const char *name,
                       int ndim, const size_t *dims,
                       const struct tensor_desc **out)
{
    for (uint32_t i = 0; i < f->num_tensors; i++) {
        struct tensor_desc *t = &f->tensors[i];
        if (strcmp(t->name, name) != 0)
            continue;
        if (t->used)
            return tnn__fail(TNN_E_CORRUPT, func, "tensor %s appears twice",
                             name);
        bool same = t->ndim == (uint32_t)ndim;
        uint64_t count = 1;
        for (int d = 0; same && d < ndim; d++) {
            same = t->dims[d] == dims[d];
            count *= dims[d];
        }
        if (!same || t->nbytes != 4 * count)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "tensor %s has the wrong shape", name);
        if (t->offset > f->data_len || t->nbytes > f->data_len - t->offset)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "tensor %s lies outside the data section", name);
        t->used = true;
        *out = t;
        return TNN_OK;
    }
    return tnn__fail(TNN_E_CORRUPT, func, "tensor %s is missing", name);
}

static void read_floats(const struct file_desc *f, const struct tensor_desc *t,
                        float *dst)
{
    const uint8_t *src = f->data + t->offset;
    for (uint64_t k = 0; k < t->nbytes / 4; k++) {
        uint32_t v = load_u32(src + 4 * k);
        memcpy(&dst[k], &v, 4);
    }
}

static int fill_tensor(const char *func, struct file_desc *f, const char *name,
                       tnn_tensor *t)
{
    const struct tensor_desc *desc;
    int rc = find_tensor(func, f, name, t->ndim, t->dims, &desc);
    if (rc == TNN_OK)
        read_floats(f, desc, t->data);
    return rc;
}

/* A constructor or setter refused a value from the file: the file is
 * corrupt, and the message says which value. */
static int refused(const char *func, uint32_t layer)
{
    char why[256];
    snprintf(why, sizeof why, "%s", tnn_last_error());
    if (tnn_last_error_code() == TNN_E_NOMEM)
        return tnn__fail(TNN_E_NOMEM, func, "layer %u: %s", layer, why);
    return tnn__fail(TNN_E_CORRUPT, func, "layer %u: %s", layer, why);
}

static float config_f32(const struct layer_desc *l, uint32_t k)
{
    float v;
    memcpy(&v, &l->config[k], 4);
    return v;
}

/* Configuration words of each kind, by format version. */
static uint32_t config_words(uint32_t version, uint32_t kind)
{
    static const uint32_t v1[] = {0, 2, 0, 0, 0, 0, 0, 1, 2};
    static const uint32_t v2[] = {0, 2, 0, 0, 0, 0, 0, 1, 3, 8, 2, 2, 0};
    uint32_t kinds = version >= 2 ? 12 : 8;
    if (kind < 1 || kind > kinds)
        return UINT32_MAX;
    return version >= 2 ? v2[kind] : v1[kind];
}

/* Batch-norm features (channels): stored since format 2, the width before.
 */
static size_t batchnorm_features(uint32_t version, const struct layer_desc *l)
{
    return version >= 2 ? (size_t)l->config[2] : (size_t)l->in;
}

/* Check one layer record against the width before it; make the layer. */
static int make_layer(const char *func, uint32_t version,
                      const struct layer_desc *l, uint32_t index,
                      uint64_t width, tnn_layer **out)
{
    *out = NULL;
    uint32_t words = config_words(version, l->kind);
    if (words == UINT32_MAX)
        return tnn__fail(TNN_E_CORRUPT, func, "layer %u has unknown kind %u",
                         index, l->kind);
    bool reshapes =
        l->kind == TNN_LAYER_DENSE || l->kind == TNN_LAYER_CONV2D ||
        l->kind == TNN_LAYER_MAXPOOL2D || l->kind == TNN_LAYER_AVGPOOL2D;
    if (l->nconfig != words || l->trainable > 1 || l->in != width ||
        (!reshapes && l->out != l->in) || l->out == 0 ||
        l->out > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "layer %u (kind %u) record is inconsistent", index,
                         l->kind);
    const uint32_t *c = l->config;
    tnn_layer *layer = NULL;
    switch (l->kind) {
    case TNN_LAYER_DENSE:
        layer = tnn_dense_new((size_t)l->in, (size_t)l->out);
        if (layer &&
            tnn_dense_set_init(layer, (int)c[0], config_f32(l, 1)) != TNN_OK) {
            tnn_layer_free(layer);
            layer = NULL;
        }
        break;
    case TNN_LAYER_RELU: layer = tnn_relu_new(); break;
    case TNN_LAYER_SIGMOID: layer = tnn_sigmoid_new(); break;
    case TNN_LAYER_TANH: layer = tnn_tanh_new(); break;
    case TNN_LAYER_SOFTMAX: layer = tnn_softmax_new(); break;
    case TNN_LAYER_IDENTITY: layer = tnn_identity_new(); break;
    case TNN_LAYER_DROPOUT: layer = tnn_dropout_new(config_f32(l, 0)); break;
    case TNN_LAYER_BATCHNORM:
        layer = tnn_batchnorm_new(batchnorm_features(version, l));
        if (layer &&
            (tnn_batchnorm_set_momentum(layer, config_f32(l, 0)) != TNN_OK ||
             tnn_batchnorm_set_eps(layer, config_f32(l, 1)) != TNN_OK)) {
            tnn_layer_free(layer);
            layer = NULL;
        }
        break;
    case TNN_LAYER_CONV2D:
        layer = tnn_conv2d_new(c[0], c[1], c[2], c[3], c[4], (int)c[5]);
        if (layer && tnn_conv2d_set_init(layer, (int)c[6], config_f32(l, 7)) !=
                         TNN_OK) {
            tnn_layer_free(layer);
            layer = NULL;
        }
        break;
    case TNN_LAYER_MAXPOOL2D: layer = tnn_maxpool2d_new(c[0], c[1]); break;
    case TNN_LAYER_AVGPOOL2D: layer = tnn_avgpool2d_new(c[0], c[1]); break;
    default: layer = tnn_flatten_new(); break;
    }
    if (!layer)
        return refused(func, index);
    *out = layer;
    return TNN_OK;
}

/* Before anything large is allocated: every dense and batch-norm layer's
 * tensors must be in the directory with the right shapes and inside the
 * data, which bounds what the layers will allocate by the file size. */
static int check_tensors_present(const char *func, struct file_desc *f)
{
    uint64_t width = f->in_features;
    char name[MAX_NAME];
    for (uint32_t i = 0; i < f->num_layers; i++) {
        const struct layer_desc *l = &f->layers[i];
        if (l->in != width || l->out == 0 || l->out > TNN_MAX_BLAS_DIM)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "layer %u expects %llu inputs, previous layer "
                             "gives %llu",
                             i, (unsigned long long)l->in,
                             (unsigned long long)width);
        if (l->nconfig != config_words(f->version, l->kind))
            return tnn__fail(TNN_E_CORRUPT, func,
                             "layer %u (kind %u) has %u configuration words",
                             i, l->kind, l->nconfig);
        size_t in = (size_t)l->in, out = (size_t)l->out;
        const struct tensor_desc *t;
        int rc = TNN_OK;
        if (l->kind == TNN_LAYER_CONV2D) {
            const uint32_t *c = l->config;
            size_t wdims[4] = {c[1], c[0], c[2], c[3]}, oc = c[1];
            snprintf(name, sizeof name, "layer.%u.weight", i);
            rc = find_tensor(func, f, name, 4, wdims, &t);
            snprintf(name, sizeof name, "layer.%u.bias", i);
            if (rc == TNN_OK)
                rc = find_tensor(func, f, name, 1, &oc, &t);
        } else if (l->kind == TNN_LAYER_DENSE) {
            size_t wdims[2] = {in, out};
            snprintf(name, sizeof name, "layer.%u.weight", i);
            rc = find_tensor(func, f, name, 2, wdims, &t);
            snprintf(name, sizeof name, "layer.%u.bias", i);
            if (rc == TNN_OK)
                rc = find_tensor(func, f, name, 1, &out, &t);
        } else if (l->kind == TNN_LAYER_BATCHNORM) {
            static const char *const names[] = {"gamma", "beta",
                                                "running_mean", "running_var"};
            size_t features = batchnorm_features(f->version, l);
            for (int k = 0; k < 4 && rc == TNN_OK; k++) {
                snprintf(name, sizeof name, "layer.%u.%s", i, names[k]);
                rc = find_tensor(func, f, name, 1, &features, &t);
            }
        }
        if (rc != TNN_OK)
            return rc;
        width = l->out;
    }
    /* The build below looks the tensors up again. */
    for (uint32_t i = 0; i < f->num_tensors; i++)
        f->tensors[i].used = false;
    return TNN_OK;
}

static int build_layers(const char *func, struct file_desc *f, tnn_model *m)
{
    char name[MAX_NAME];
    for (uint32_t i = 0; i < f->num_layers; i++) {
        tnn_layer *layer;
        int rc = make_layer(func, f->version, &f->layers[i], i,
                            tnn_model_out_features(m), &layer);
        if (rc == TNN_OK && (rc = tnn_model_add(m, layer)) != TNN_OK)
            rc = refused(func, i);
        /* Image layers work out their output; it must be the recorded. */
        if (rc == TNN_OK && layer->out_features != f->layers[i].out)
            rc = tnn__fail(TNN_E_CORRUPT, func,
                           "layer %u gives %zu outputs; the file says %llu", i,
                           layer->out_features,
                           (unsigned long long)f->layers[i].out);
        for (int p = 0; rc == TNN_OK && p < layer->num_params; p++) {
            snprintf(name, sizeof name, "layer.%u.%s", i,
                     param_name(layer, p));
            rc = fill_tensor(func, f, name, layer->param[p]);
        }
        if (rc == TNN_OK && layer->ops->kind == TNN_LAYER_BATCHNORM) {
            snprintf(name, sizeof name, "layer.%u.running_mean", i);
            rc = fill_tensor(func, f, name, tnn_batchnorm_running_mean(layer));
            snprintf(name, sizeof name, "layer.%u.running_var", i);
            if (rc == TNN_OK)
                rc = fill_tensor(func, f, name,
                                 tnn_batchnorm_running_var(layer));
        }
        if (rc != TNN_OK)
            return rc;
        layer->trainable = f->layers[i].trainable == 1;
    }
    return TNN_OK;
}

static int optim_refused(const char *func)
{
    char why[256];
    snprintf(why, sizeof why, "%s", tnn_last_error());
    int code =
        tnn_last_error_code() == TNN_E_NOMEM ? TNN_E_NOMEM : TNN_E_CORRUPT;
    return tnn__fail(code, func, "optimizer: %s", why);
}

static int build_optim(const char *func, struct file_desc *f, tnn_model *m)
{
    const struct optim_desc *d = &f->optim;
    if ((d->kind != OPTIM_SGD && d->kind != OPTIM_ADAM) || d->nesterov > 1 ||
        d->decoupled > 1 || d->decay_all > 1 ||
        d->schedule > SCHEDULE_COSINE || d->steps > (uint64_t)LONG_MAX ||
        d->state_steps > d->steps || d->schedule_steps > (uint64_t)LONG_MAX ||
        (d->num_slots == 0 && d->state_steps != 0))
        return corrupt(func, "optimizer record is inconsistent");
    bool adam = d->kind == OPTIM_ADAM;
    tnn_optim *o = adam ? tnn_adam_new(d->lr) : tnn_sgd_new(d->lr);
    int rc = o ? TNN_OK : TNN_E_INVALID;
    if (rc == TNN_OK && adam)
        rc = tnn_adam_set_betas(o, d->beta1, d->beta2);
    if (rc == TNN_OK && adam)
        rc = tnn_adam_set_eps(o, d->eps);
    if (rc == TNN_OK && adam)
        rc = tnn_adam_set_decoupled(o, (int)d->decoupled);
    if (rc == TNN_OK && !adam)
        rc = tnn_sgd_set_momentum(o, d->momentum);
    if (rc == TNN_OK && !adam)
        rc = tnn_sgd_set_nesterov(o, (int)d->nesterov);
    if (rc == TNN_OK)
        rc = tnn_optim_set_weight_decay(o, d->weight_decay);
    if (rc == TNN_OK)
        rc = tnn_optim_set_decay_all(o, (int)d->decay_all);
    if (rc == TNN_OK && d->schedule == SCHEDULE_STEP)
        rc = tnn_optim_set_step_schedule(o, (long)d->schedule_steps,
                                         d->schedule_value);
    if (rc == TNN_OK && d->schedule == SCHEDULE_COSINE)
        rc = tnn_optim_set_cosine_schedule(o, (long)d->schedule_steps,
                                           d->schedule_value);
    if (rc != TNN_OK) {
        rc = optim_refused(func);
        tnn_optim_free(o);
        return rc;
    }
    o->steps = (long)d->steps;
    tnn_model_set_optim(m, o);
    if (d->num_slots == 0)
        return TNN_OK;
    rc = tnn__optim_prepare(o, func, m->layers, m->num_layers);
    if (rc != TNN_OK)
        return optim_refused(func);
    o->state_steps = (long)d->state_steps;
    if (o->num_slots != d->num_slots)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "optimizer state has %u slots; the model has %zu "
                         "parameters",
                         d->num_slots, o->num_slots);
    char name[MAX_NAME];
    for (size_t s = 0; s < o->num_slots; s++) {
        const struct tensor_desc *t;
        snprintf(name, sizeof name, "optim.slot.%zu", s);
        rc = find_tensor(func, f, name, 1, &o->state_size[s], &t);
        if (rc != TNN_OK)
            return rc;
        read_floats(f, t, o->state[s]);
    }
    return TNN_OK;
}

static int build_model(const char *func, struct file_desc *f, tnn_model **out)
{
    if (f->in_features == 0 || f->in_features > TNN_MAX_BLAS_DIM ||
        f->check_finite > 1 || f->has_spare > 1 ||
        (f->has_spare && !(fabs(f->spare_normal) <= TNN_RNG_NORMAL_MAX)) ||
        !(f->rng_state[0] | f->rng_state[1] | f->rng_state[2] |
          f->rng_state[3]))
        return corrupt(func, "model record is inconsistent");
    int rc = check_tensors_present(func, f);
    if (rc != TNN_OK)
        return rc;
    const struct tnn__shape *in = &f->in_shape;
    if ((in->ndim != 1 && in->ndim != 3) ||
        tnn__shape_size(in) != f->in_features ||
        (in->ndim == 1 && (in->dims[1] | in->dims[2])))
        return corrupt(func, "model input shape is inconsistent");
    tnn_model *m =
        in->ndim == 3
            ? tnn_model_new_image(in->dims[0], in->dims[1], in->dims[2])
            : tnn_model_new((size_t)f->in_features);
    if (!m)
        return tnn_last_error_code() == TNN_E_NOMEM
                   ? tnn__fail(TNN_E_NOMEM, func, "cannot allocate a model")
                   : corrupt(func, "model input shape is out of range");
    rc = build_layers(func, f, m);
    if (rc == TNN_OK && (tnn_model_set_loss(m, (int)f->loss) != TNN_OK ||
                         tnn_model_set_mode(m, (int)f->mode) != TNN_OK))
        rc = corrupt(func, "model has an unknown loss or mode");
    if (rc == TNN_OK && f->has_optim)
        rc = build_optim(func, f, m);
    for (uint32_t i = 0; rc == TNN_OK && i < f->num_tensors; i++)
        if (!f->tensors[i].used)
            rc = tnn__fail(TNN_E_CORRUPT, func, "tensor %.64s is not used",
                           f->tensors[i].name);
    if (rc != TNN_OK) {
        tnn_model_free(m);
        return rc;
    }
    m->check_finite = f->check_finite == 1;
    memcpy(m->rng->s, f->rng_state, sizeof m->rng->s);
    m->rng->spare_normal = f->spare_normal;
    m->rng->has_spare = f->has_spare == 1;
    *out = m;
    return TNN_OK;
}

static int load_buffer(const char *func, const void *data, size_t size,
                       tnn_model **out)
{
    struct file_desc f = {0};
    uint32_t sections = 0;
    int rc = parse_header(func, data, size, &f, &sections);
    if (rc == TNN_OK)
        rc = parse_sections(func, data, size, sections, &f);
    if (rc == TNN_OK)
        rc = build_model(func, &f, out);
    tnn__free(f.layers);
    tnn__free(f.tensors);
    return rc;
}

int tnn_model_load_buffer(const void *data, size_t size, tnn_model **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    if (!data)
        return tnn__fail(TNN_E_INVALID, __func__, "data is NULL");
    return load_buffer(__func__, data, size, out);
}

/* The message of a failed load from path ends with the path: last, so
 * that a long path cannot push the reason out of the fixed-size message. */
static int name_path(int rc, const char *func, const char *path)
{
    const char *why = tnn_last_error();
    size_t len = strlen(func);
    if (strncmp(why, func, len) == 0 && strncmp(why + len, ": ", 2) == 0)
        why += len + 2;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", why);
    return tnn__fail(rc, func, "%s in %s", copy, path);
}

int tnn_model_load(const char *path, tnn_model **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    if (!path)
        return tnn__fail(TNN_E_INVALID, __func__, "path is NULL");
    uint8_t *data;
    size_t size;
    int rc = tnn__read_file(__func__, path, &data, &size);
    if (rc != TNN_OK)
        return rc;
    rc = load_buffer(__func__, data, size, out);
    tnn__free(data);
    return rc == TNN_OK ? rc : name_path(rc, __func__, path);
}

tnn_model *tnn_model_clone(const tnn_model *model)
{
    struct writer w = {0};
    tnn_model *copy = NULL;
    int flags = model && model->optim ? TNN_SAVE_OPTIMIZER : 0;
    if (serialize(__func__, model, flags, &w) == TNN_OK &&
        load_buffer(__func__, w.data, w.len, &copy) == TNN_OK)
        copy->max_sample_values = model->max_sample_values;
    tnn__free(w.data);
    return copy;
}
