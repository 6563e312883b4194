/*
 * Reading model files (docs/format.md): a file is read whole, and every
 * field is checked, every size compared with the bytes really present,
 * before anything is built from it, so that no file can make the loader
 * crash or allocate more than the file itself justifies. Each layer kind
 * reads its own configuration words, the optimizer and the generator
 * their own fields.
 */
#include <stdio.h>
#include <string.h>

#include "model_io.h"

struct tensor_desc {
    char name[TNN__MAX_NAME + 1];
    uint32_t ndim;
    uint64_t dims[TNN_MAX_DIMS];
    uint64_t offset;
    uint64_t nbytes;
    bool used;
};

/* Everything a file says, checked for size and range but not yet for
 * consistency between sections. The optimizer, made from its section,
 * is owned here until the model takes it. */
struct file_desc {
    uint32_t version;
    uint64_t in_features;
    uint32_t loss, mode, check_finite, num_layers;
    float huber_delta;
    tnn_rng rng;
    bool rng_valid;
    struct tnn__shape in_shape;
    struct tnn__layer_record *layers;
    bool has_optim;
    tnn_optim *optim;
    struct tnn__optim_saved optim_saved;
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

static bool trailer_in_place(const uint8_t *data, size_t size)
{
    if (size < TNN__HEADER_SIZE + TNN__TRAILER_SIZE)
        return false;
    const uint8_t *trailer = data + size - TNN__TRAILER_SIZE;
    return tnn__load_le64(trailer) == size &&
           memcmp(trailer + 12, tnn__trailer_tag, 4) == 0;
}

/* The trailer is not at the end. The section heads tell where the file
 * should end, so that the message can say whether it was cut short (an
 * interrupted copy or download) or has bytes after its end; the numbers
 * come from the heads, not from the bytes found where the trailer should
 * be. */
static int misplaced_trailer(const char *func, const uint8_t *data,
                             size_t size, uint32_t sections)
{
    uint64_t end = TNN__HEADER_SIZE;
    uint32_t k = 0;
    for (; k < sections && end + TNN__SECTION_HEAD <= size; k++) {
        uint64_t len = tnn__load_le64(data + end + 8);
        if (len > size - end - TNN__SECTION_HEAD) {
            /* Cut inside section k: its end is known, not the rest. */
            if (len > UINT64_MAX / 2)
                return corrupt(func, "truncated, or a section length is "
                                     "damaged");
            end += TNN__SECTION_HEAD + len;
            k++;
            break;
        }
        end += TNN__SECTION_HEAD + len;
    }
    bool exact = k == sections;
    end += (uint64_t)(sections - k) * TNN__SECTION_HEAD + TNN__TRAILER_SIZE;
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
    if (size == 0 || memcmp(data, tnn__file_magic, size < 8 ? size : 8) != 0)
        return tnn__fail(TNN_E_FORMAT, func, "not a libtinynn model file (%s)",
                         size ? "wrong magic" : "empty");
    if (size < TNN__HEADER_SIZE)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "truncated: the file has %zu bytes, less than its "
                         "%d-byte header",
                         size, TNN__HEADER_SIZE);
    f->version = tnn__load_le32(data + 8);
    if (f->version > TNN__FORMAT_VERSION)
        return tnn__fail(TNN_E_VERSION, func,
                         "file format version %u is newer than this "
                         "library's %u; use libtinynn %s or later",
                         f->version, TNN__FORMAT_VERSION, "with that format");
    if (f->version == 0)
        return tnn__fail(TNN_E_FORMAT, func, "file format version 0");
    if (!crc_matches(tnn__load_le32(data + 20), data, 20))
        return corrupt(func, "header checksum mismatch");
    uint32_t flags = tnn__load_le32(data + 12);
    if (flags & ~(uint32_t)TNN__FLAG_OPTIMIZER)
        return tnn__fail(TNN_E_CORRUPT, func, "unknown header flags 0x%x",
                         flags);
    f->has_optim = flags & TNN__FLAG_OPTIMIZER;
    *sections = tnn__load_le32(data + 16);
    if (!trailer_in_place(data, size))
        return misplaced_trailer(func, data, size, f->has_optim ? 5 : 4);
    const uint8_t *trailer = data + size - TNN__TRAILER_SIZE;
    if (!crc_matches(tnn__load_le32(trailer + 8), data,
                     size - TNN__TRAILER_SIZE + 8))
        return corrupt(func, "file checksum mismatch");
    return TNN_OK;
}

static int parse_model(const char *func, struct tnn__reader *r,
                       struct file_desc *f)
{
    f->in_features = tnn__get_u64(r);
    f->loss = tnn__get_u32(r);
    f->mode = tnn__get_u32(r);
    f->check_finite = tnn__get_u32(r);
    f->num_layers = tnn__get_u32(r);
    f->rng_valid = tnn__rng_read(r, &f->rng);
    if (f->version >= 2) {
        f->in_shape.ndim = (int)tnn__get_u32(r);
        for (int i = 0; i < TNN_MAX_SAMPLE_DIMS; i++)
            f->in_shape.dims[i] = (size_t)tnn__get_u64(r);
    } else {
        f->in_shape = (struct tnn__shape){1, {(size_t)f->in_features}, 0};
    }
    f->huber_delta = f->version >= 5 ? tnn__get_f32(r) : 1.0f;
    if (!tnn__reader_done(r))
        return corrupt(func, "model section has the wrong length");
    if (f->num_layers > TNN__MAX_LAYERS)
        return tnn__fail(TNN_E_CORRUPT, func, "%u layers (at most %d)",
                         f->num_layers, TNN__MAX_LAYERS);
    return TNN_OK;
}

static int parse_layers(const char *func, struct tnn__reader *r,
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
        struct tnn__layer_record *l = &f->layers[i];
        l->kind = tnn__get_u32(r);
        l->trainable = tnn__get_u32(r);
        l->in = tnn__get_u64(r);
        l->out = tnn__get_u64(r);
        l->nconfig = tnn__get_u32(r);
        if (l->nconfig > TNN__MAX_CONFIG)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "layer %u has %u configuration words", i,
                             l->nconfig);
        for (uint32_t k = 0; k < l->nconfig; k++)
            l->config[k] = tnn__get_u32(r);
    }
    if (r->short_read || r->pos != r->len)
        return corrupt(func, "layer section has the wrong length");
    return TNN_OK;
}

static int parse_tensors(const char *func, struct tnn__reader *r,
                         struct file_desc *f)
{
    f->num_tensors = tnn__get_u32(r);
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
        uint32_t name_len = tnn__get_u32(r);
        if (name_len == 0 || name_len > TNN__MAX_NAME)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "tensor %u has a name of %u bytes", i, name_len);
        const uint8_t *name = tnn__get_bytes(r, name_len);
        if (name)
            memcpy(t->name, name, name_len);
        /* Names are printable ASCII: a NUL would make two different
         * names compare equal. */
        for (uint32_t k = 0; name && k < name_len; k++)
            if (name[k] < 0x21 || name[k] > 0x7e)
                return tnn__fail(TNN_E_CORRUPT, func,
                                 "tensor %u has byte 0x%02x in its name", i,
                                 name[k]);
        uint32_t dtype = tnn__get_u32(r);
        t->ndim = tnn__get_u32(r);
        if (!r->short_read && dtype != TNN__DTYPE_F32)
            return tnn__fail(TNN_E_CORRUPT, func, "tensor %u has data type %u",
                             i, dtype);
        if (!r->short_read && (t->ndim < 1 || t->ndim > TNN_MAX_DIMS))
            return tnn__fail(TNN_E_CORRUPT, func, "tensor %u has %u dims", i,
                             t->ndim);
        for (uint32_t d = 0; d < t->ndim && !r->short_read; d++)
            t->dims[d] = tnn__get_u64(r);
        t->offset = tnn__get_u64(r);
        t->nbytes = tnn__get_u64(r);
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
    static const uint32_t order[] = {TNN__TAG_MODEL, TNN__TAG_LAYERS,
                                     TNN__TAG_OPTIM, TNN__TAG_TENSORS,
                                     TNN__TAG_DATA};
    uint32_t expected = f->has_optim ? 5 : 4;
    if (sections != expected)
        return tnn__fail(TNN_E_CORRUPT, func, "%u sections; expected %u",
                         sections, expected);
    struct tnn__reader file = {data, size - TNN__TRAILER_SIZE,
                               TNN__HEADER_SIZE, false};
    for (size_t k = 0; k < 5; k++) {
        uint32_t want = order[k];
        if (want == TNN__TAG_OPTIM && !f->has_optim)
            continue;
        uint32_t tag = tnn__get_u32(&file), crc = tnn__get_u32(&file);
        uint64_t len = tnn__get_u64(&file);
        if (file.short_read || len > file.len - file.pos)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "section %zu runs past the end of the file", k);
        if (tag != want)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "section %zu has tag 0x%08x; expected 0x%08x", k,
                             tag, want);
        struct tnn__reader r = {data + file.pos, (size_t)len, 0, false};
        file.pos += (size_t)len;
        if (!crc_matches(crc, r.p, r.len))
            return tnn__fail(TNN_E_CORRUPT, func,
                             "section %zu checksum mismatch", k);
        int rc = TNN_OK;
        if (tag == TNN__TAG_MODEL)
            rc = parse_model(func, &r, f);
        else if (tag == TNN__TAG_LAYERS)
            rc = parse_layers(func, &r, f);
        else if (tag == TNN__TAG_OPTIM)
            rc = tnn__optim_read(func, &r, f->version, &f->optim,
                                 &f->optim_saved);
        else if (tag == TNN__TAG_TENSORS)
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
        uint32_t v = tnn__load_le32(src + 4 * k);
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
    char what[32];
    snprintf(what, sizeof what, "layer %u", layer);
    return tnn__refused_in_file(func, what);
}

/* A record's kind, widths and word count, against the width before it. */
static int check_record(const char *func, const struct file_desc *f,
                        uint32_t i, uint64_t width)
{
    const struct tnn__layer_record *l = &f->layers[i];
    const struct tnn__layer_ops *ops = tnn__layer_kind_ops(l->kind);
    if (!ops || ops->since_format > f->version)
        return tnn__fail(TNN_E_CORRUPT, func, "layer %u has unknown kind %u",
                         i, l->kind);
    if (l->in != width || l->out == 0 || l->out > TNN_MAX_BLAS_DIM)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "layer %u expects %llu inputs, previous layer "
                         "gives %llu",
                         i, (unsigned long long)l->in,
                         (unsigned long long)width);
    if (l->nconfig != tnn__layer_config_words(ops, f->version))
        return tnn__fail(TNN_E_CORRUPT, func,
                         "layer %u (kind %u) has %u configuration words", i,
                         l->kind, l->nconfig);
    if (l->trainable > 1)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "layer %u (kind %u) record is inconsistent", i,
                         l->kind);
    return TNN_OK;
}

/* Residual blocks within blocks: a bound on the recursion below. */
#define MAX_BLOCK_DEPTH 16

/* Record *next and, for a residual block, the records of its layers
 * after it, from the width before them; *width becomes the width after,
 * *values gains what their tensors need. */
static int check_one(const char *func, const struct file_desc *f,
                     uint32_t *next, int depth, uint64_t *width,
                     uint64_t *values)
{
    /* An inner block may use up the records its block counted on. */
    if (*next >= f->num_layers)
        return corrupt(func, "a residual block holds more records than the "
                             "file has");
    uint32_t i = (*next)++;
    int rc = check_record(func, f, i, *width);
    if (rc != TNN_OK)
        return rc;
    const struct tnn__layer_record *l = &f->layers[i];
    const struct tnn__layer_ops *ops = tnn__layer_kind_ops(l->kind);
    if (ops->record_values)
        *values = tnn__add_sat(*values, ops->record_values(l, f->version));
    if (l->kind == TNN_LAYER_RESIDUAL) {
        uint32_t inner = l->config[0];
        if (depth >= MAX_BLOCK_DEPTH || inner > f->num_layers - *next ||
            l->out != *width)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "layer %u (residual block of %u layers) is "
                             "inconsistent",
                             i, inner);
        uint64_t run = *width;
        for (uint32_t k = 0; k < inner; k++) {
            rc = check_one(func, f, next, depth + 1, &run, values);
            if (rc != TNN_OK)
                return rc;
        }
        if (run != *width)
            return tnn__fail(TNN_E_CORRUPT, func,
                             "layer %u (residual block): its layers give "
                             "%llu values, not %llu",
                             i, (unsigned long long)run,
                             (unsigned long long)*width);
    }
    *width = l->out;
    return TNN_OK;
}

/* Before anything large is allocated: every record must be well formed,
 * and the tensors its layer would allocate must fit in the data section,
 * which bounds what the build allocates by the size of the file. */
static int check_records(const char *func, struct file_desc *f)
{
    uint64_t width = f->in_features, values = 0;
    uint32_t next = 0;
    while (next < f->num_layers) {
        int rc = check_one(func, f, &next, 0, &width, &values);
        if (rc != TNN_OK)
            return rc;
    }
    if (values > f->data_len / 4)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "the layers need %llu values; the data section "
                         "holds %llu",
                         (unsigned long long)values,
                         (unsigned long long)(f->data_len / 4));
    return TNN_OK;
}

/* The layer of record i, from its kind. */
static int make_layer(const char *func, const struct file_desc *f, uint32_t i,
                      tnn_layer **out)
{
    const struct tnn__layer_record *l = &f->layers[i];
    const struct tnn__layer_ops *ops = tnn__layer_kind_ops(l->kind);
    *out = ops->load_config ? ops->load_config(l, f->version)
                            : tnn__layer_alloc(func, ops, 0, 0, 0);
    return *out ? TNN_OK : refused(func, i);
}

/* The parameters and saved state of layer i from the file's tensors. */
static int fill_layer(const char *func, struct file_desc *f, uint32_t i,
                      tnn_layer *layer)
{
    char name[TNN__MAX_NAME];
    int rc = TNN_OK;
    for (int p = 0; rc == TNN_OK && p < layer->num_params; p++) {
        snprintf(name, sizeof name, "layer.%u.%s", i,
                 tnn__layer_param_name(layer, p));
        rc = fill_tensor(func, f, name, layer->param[p]);
    }
    for (int k = 0; rc == TNN_OK && k < layer->ops->num_state; k++) {
        snprintf(name, sizeof name, "layer.%u.%s", i,
                 layer->ops->state_names[k]);
        rc = fill_tensor(func, f, name, layer->ops->state(layer, k));
    }
    return rc;
}

/* The layer of record *next, and for a residual block the layers of the
 * records after it (checked by check_records()); their parameters come
 * once the model has them (fill_tree()). The caller owns *out. */
static int build_one(const char *func, struct file_desc *f, uint32_t *next,
                     tnn_layer **out)
{
    uint32_t i = (*next)++;
    tnn_layer *layer;
    int rc = make_layer(func, f, i, &layer);
    if (rc != TNN_OK)
        return rc;
    uint32_t inner =
        layer->ops->kind == TNN_LAYER_RESIDUAL ? f->layers[i].config[0] : 0;
    for (uint32_t k = 0; rc == TNN_OK && k < inner; k++) {
        uint32_t at = *next;
        tnn_layer *part = NULL;
        /* A block's layers train or freeze with it. */
        if (f->layers[at].trainable != 1)
            rc = tnn__fail(TNN_E_CORRUPT, func,
                           "layer %u, in a residual block, is frozen", at);
        if (rc == TNN_OK)
            rc = build_one(func, f, next, &part);
        if (rc == TNN_OK && tnn_residual_add(layer, part) != TNN_OK) {
            tnn_layer_free(part);
            rc = refused(func, at);
        }
    }
    if (rc != TNN_OK) {
        tnn_layer_free(layer);
        return rc;
    }
    layer->trainable = f->layers[i].trainable == 1;
    *out = layer;
    return TNN_OK;
}

/* The parameters of layer, record *next, and of its layers after it. */
static int fill_tree(const char *func, struct file_desc *f, uint32_t *next,
                     tnn_layer *layer)
{
    uint32_t i = (*next)++;
    /* Shapes work out every width; they must be the recorded ones. */
    if (layer->in_features != f->layers[i].in ||
        layer->out_features != f->layers[i].out)
        return tnn__fail(TNN_E_CORRUPT, func,
                         "layer %u takes %zu values and gives %zu; the file "
                         "says %llu and %llu",
                         i, layer->in_features, layer->out_features,
                         (unsigned long long)f->layers[i].in,
                         (unsigned long long)f->layers[i].out);
    int rc = layer->ops->lends_params ? TNN_OK : fill_layer(func, f, i, layer);
    size_t inner = tnn_residual_num_layers(layer);
    for (size_t k = 0; rc == TNN_OK && k < inner; k++)
        rc = fill_tree(func, f, next, tnn_residual_layer(layer, k));
    return rc;
}

static int build_layers(const char *func, struct file_desc *f, tnn_model *m)
{
    uint32_t next = 0;
    while (next < f->num_layers) {
        uint32_t i = next;
        tnn_layer *layer = NULL;
        int rc = build_one(func, f, &next, &layer);
        /* Its parameters are the file's, not the generator's. */
        if (rc == TNN_OK)
            layer->keep_params = true;
        if (rc == TNN_OK && (rc = tnn_model_add(m, layer)) != TNN_OK)
            rc = refused(func, i);
        /* Shapes work out the output; it must be the recorded one. */
        if (rc == TNN_OK && layer->out_features != f->layers[i].out)
            rc = tnn__fail(TNN_E_CORRUPT, func,
                           "layer %u gives %zu outputs; the file says %llu", i,
                           layer->out_features,
                           (unsigned long long)f->layers[i].out);
        if (rc == TNN_OK)
            rc = fill_tree(func, f, &i, layer);
        if (rc != TNN_OK)
            return rc;
    }
    return TNN_OK;
}

/* The optimizer, which the model now owns, and its saved state. */
static int build_optim(const char *func, struct file_desc *f, tnn_model *m)
{
    tnn_optim *o = f->optim;
    f->optim = NULL;
    tnn_model_set_optim(m, o);
    int rc =
        tnn__optim_restore(func, o, m->layers, m->num_layers, &f->optim_saved);
    char name[TNN__MAX_NAME];
    for (size_t s = 0; rc == TNN_OK && s < tnn__optim_slots(o); s++) {
        const struct tensor_desc *t;
        size_t count;
        float *slot = tnn__optim_slot(o, s, &count);
        snprintf(name, sizeof name, "optim.slot.%zu", s);
        rc = find_tensor(func, f, name, 1, &count, &t);
        if (rc == TNN_OK)
            read_floats(f, t, slot);
    }
    return rc;
}

static int build_model(const char *func, struct file_desc *f, tnn_model **out)
{
    if (f->in_features == 0 || f->in_features > TNN_MAX_BLAS_DIM ||
        f->check_finite > 1 || !f->rng_valid)
        return corrupt(func, "model record is inconsistent");
    int rc = check_records(func, f);
    if (rc != TNN_OK)
        return rc;
    const struct tnn__shape *in = &f->in_shape;
    /* Format 9's token input: (time) with the vocabulary in dims[1]. */
    const bool tokens = in->ndim == 1 && in->dims[1] && f->version >= 9;
    if (in->ndim < 1 || in->ndim > 3 || (in->ndim == 2 && f->version < 8) ||
        tnn__shape_size(in) != f->in_features ||
        (in->ndim == 1 && ((in->dims[1] && !tokens) || in->dims[2])) ||
        (in->ndim == 2 && in->dims[2]))
        return corrupt(func, "model input shape is inconsistent");
    tnn_model *m =
        in->ndim == 3
            ? tnn_model_new_image(in->dims[0], in->dims[1], in->dims[2])
        : in->ndim == 2 ? tnn_model_new_sequence(in->dims[0], in->dims[1])
        : tokens        ? tnn_model_new_tokens(in->dims[0], in->dims[1])
                        : tnn_model_new((size_t)f->in_features);
    if (!m)
        return tnn_last_error_code() == TNN_E_NOMEM
                   ? tnn__fail(TNN_E_NOMEM, func, "cannot allocate a model")
                   : corrupt(func, "model input shape is out of range");
    rc = build_layers(func, f, m);
    if (rc == TNN_OK && (tnn_model_set_loss(m, (int)f->loss) != TNN_OK ||
                         tnn_model_set_mode(m, (int)f->mode) != TNN_OK))
        rc = corrupt(func, "model has an unknown loss or mode");
    if (rc == TNN_OK && f->version < 5 && f->loss > TNN__LAST_LOSS_BEFORE_5)
        rc = tnn__fail(TNN_E_CORRUPT, func,
                       "model has loss %u, which format version %u does not "
                       "have",
                       f->loss, f->version);
    if (rc == TNN_OK && tnn_model_set_huber_delta(m, f->huber_delta) != TNN_OK)
        rc = tnn__refused_in_file(func, "the model's Huber delta");
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
    *m->rng = f->rng;
    *out = m;
    return TNN_OK;
}

int tnn__model_deserialize(const char *func, const void *data, size_t size,
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
    tnn__optim_destroy(f.optim);
    return rc;
}

int tnn__refused_in_file(const char *func, const char *what)
{
    char why[256];
    snprintf(why, sizeof why, "%s", tnn_last_error());
    int code =
        tnn_last_error_code() == TNN_E_NOMEM ? TNN_E_NOMEM : TNN_E_CORRUPT;
    return tnn__fail(code, func, "%s: %s", what, why);
}

int tnn_model_load_buffer(const void *data, size_t size, tnn_model **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    if (!data)
        return tnn__fail(TNN_E_INVALID, __func__, "data is NULL");
    return tnn__model_deserialize(__func__, data, size, out);
}

/* The message of a failed load from path ends with the path: last, so
 * that a long path cannot push the reason out of the fixed-size message. */
/* The model in a file's bytes, into out (a tnn_model **): a
 * tnn__parse_fn. */
static int parse_file(const char *func, const char *path, const void *data,
                      size_t size, void *out)
{
    int rc = tnn__model_deserialize(func, data, size, out);
    return rc == TNN_OK ? rc : tnn__name_path(rc, func, path);
}

int tnn_model_load(const char *path, tnn_model **out)
{
    if (!out)
        return tnn__fail(TNN_E_INVALID, __func__, "out is NULL");
    *out = NULL;
    return tnn__load_file(__func__, path, parse_file, out);
}
