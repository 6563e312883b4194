/*
 * Writing model files (docs/format.md): the model is written to memory
 * and then to disk atomically. Each layer kind writes its own
 * configuration words, the optimizer and the generator their own fields.
 */
#include <stdio.h>
#include <string.h>

#include "model_io.h"

const uint8_t tnn__file_magic[8] = {0x89, 'T', 'N', 'N', 'M', 'O', 'D', '\n'};
const uint8_t tnn__trailer_tag[4] = {'T', 'E', 'N', 'D'};

/* A section's tag, CRC and length are filled in when it ends. */
static size_t begin_section(struct tnn__writer *w, uint32_t tag)
{
    size_t start = w->len;
    tnn__put_u32(w, tag);
    tnn__put_u32(w, 0);
    tnn__put_u64(w, 0);
    return start;
}

static void end_section(struct tnn__writer *w, size_t start)
{
    if (w->failed)
        return;
    size_t len = w->len - start - TNN__SECTION_HEAD;
    uint8_t *head = w->data + start;
    tnn__store_le32(head + 4, tnn__crc32(head + TNN__SECTION_HEAD, len));
    tnn__store_le32(head + 8, (uint32_t)len);
    tnn__store_le32(head + 12, (uint32_t)((uint64_t)len >> 32));
}

/* One named tensor of the file: parameters, state such as batch-norm's
 * statistics, and the optimizer's state. */
struct entry {
    char name[TNN__MAX_NAME];
    int ndim;
    size_t dims[TNN_MAX_DIMS];
    const float *data;
    size_t count;
};

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

/* The layers in file order: each residual block followed by its layers,
 * depth first. The records and tensors follow this order; a block's
 * parameters are its layers', stored with them. */
struct flat {
    tnn_layer **layers;
    size_t count;
};

/* Layers from layer down into *at (when given); how many there are. */
static size_t flatten(tnn_layer *layer, tnn_layer **at)
{
    size_t n = 1;
    if (at)
        at[0] = layer;
    size_t inner = tnn_residual_num_layers(layer);
    for (size_t i = 0; i < inner; i++)
        n += flatten(tnn_residual_layer(layer, i), at ? at + n : NULL);
    return n;
}

static int flat_layers(const char *func, const tnn_model *m, struct flat *f)
{
    size_t n = 0;
    for (size_t i = 0; i < m->num_layers; i++)
        n += flatten(m->layers[i], NULL);
    f->layers = tnn__calloc(n ? n : 1, sizeof *f->layers);
    if (!f->layers)
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate %zu layers", n);
    f->count = 0;
    for (size_t i = 0; i < m->num_layers; i++)
        f->count += flatten(m->layers[i], f->layers + f->count);
    return TNN_OK;
}

static size_t count_entries(const tnn_model *m, const struct flat *f,
                            bool optim)
{
    size_t n = optim ? tnn__optim_slots(m->optim) : 0;
    for (size_t i = 0; i < f->count; i++)
        if (!f->layers[i]->ops->lends_params)
            n += (size_t)(f->layers[i]->num_params +
                          f->layers[i]->ops->num_state);
    return n;
}

static size_t collect_entries(const tnn_model *m, const struct flat *f,
                              bool optim, struct entry *e)
{
    size_t n = 0;
    char name[TNN__MAX_NAME];
    for (size_t i = 0; i < f->count; i++) {
        tnn_layer *layer = f->layers[i];
        if (layer->ops->lends_params)
            continue;
        for (int p = 0; p < layer->num_params; p++) {
            snprintf(name, sizeof name, "layer.%zu.%s", i,
                     tnn__layer_param_name(layer, p));
            add_entry(e, &n, name, layer->param[p]);
        }
        for (int k = 0; k < layer->ops->num_state; k++) {
            snprintf(name, sizeof name, "layer.%zu.%s", i,
                     layer->ops->state_names[k]);
            add_entry(e, &n, name, layer->ops->state(layer, k));
        }
    }
    for (size_t s = 0; optim && s < tnn__optim_slots(m->optim); s++) {
        struct entry *x = &e[n++];
        snprintf(x->name, sizeof x->name, "optim.slot.%zu", s);
        x->ndim = 1;
        memset(x->dims, 0, sizeof x->dims);
        x->data = tnn__optim_slot(m->optim, s, &x->count);
        x->dims[0] = x->count;
    }
    return n;
}

/* The oldest format that describes every layer, and the optimizer when
 * it is saved; format 2 added image input shapes, format 5 the losses of
 * 1.7 and the Huber delta (a model of MSE or cross-entropy with the
 * default delta keeps the older format, byte for byte), format 8 sequence
 * input shapes, format 9 token input. */
static uint32_t format_version(const tnn_model *m, const struct flat *f,
                               bool optim)
{
    uint32_t version = m->in_shape.vocabulary  ? 9
                       : m->in_shape.ndim == 2 ? 8
                       : m->in_shape.ndim != 1 ? 2
                                               : 1;
    if ((m->loss > TNN__LAST_LOSS_BEFORE_5 || m->huber_delta != 1.0f) &&
        version < 5)
        version = 5;
    if (optim && tnn__optim_format_needed(m->optim) > version)
        version = tnn__optim_format_needed(m->optim);
    for (size_t i = 0; i < f->count; i++) {
        const tnn_layer *layer = f->layers[i];
        uint32_t needed = layer->ops->format_needed
                              ? layer->ops->format_needed(layer)
                              : layer->ops->since_format;
        if (needed > version)
            version = needed;
    }
    return version;
}

static void write_model_section(struct tnn__writer *w, const tnn_model *m,
                                const struct flat *f, uint32_t version)
{
    size_t start = begin_section(w, TNN__TAG_MODEL);
    tnn__put_u64(w, m->in_features);
    tnn__put_u32(w, (uint32_t)m->loss);
    tnn__put_u32(w, (uint32_t)m->mode);
    tnn__put_u32(w, m->check_finite);
    /* Records: the blocks' layers count. */
    tnn__put_u32(w, (uint32_t)f->count);
    tnn__rng_write(w, m->rng);
    if (version >= 2) {
        tnn__put_u32(w, (uint32_t)m->in_shape.ndim);
        /* Token input is (time) with the vocabulary in the second dim. */
        for (int i = 0; i < TNN_MAX_SAMPLE_DIMS; i++)
            tnn__put_u64(w, i < m->in_shape.ndim ? m->in_shape.dims[i]
                            : i == 1             ? m->in_shape.vocabulary
                                                 : 0);
    }
    if (version >= 5)
        tnn__put_f32(w, m->huber_delta);
    end_section(w, start);
}

static void write_layers_section(struct tnn__writer *w, const struct flat *f,
                                 uint32_t version)
{
    size_t start = begin_section(w, TNN__TAG_LAYERS);
    for (size_t i = 0; i < f->count; i++) {
        const tnn_layer *layer = f->layers[i];
        const struct tnn__layer_ops *ops = layer->ops;
        uint32_t words[TNN__MAX_CONFIG] = {0};
        uint32_t count = tnn__layer_config_words(ops, version);
        if (ops->save_config)
            ops->save_config(layer, version, words);
        tnn__put_u32(w, (uint32_t)ops->kind);
        tnn__put_u32(w, layer->trainable);
        tnn__put_u64(w, layer->in_features);
        tnn__put_u64(w, layer->out_features);
        tnn__put_u32(w, count);
        for (uint32_t k = 0; k < count; k++)
            tnn__put_u32(w, words[k]);
    }
    end_section(w, start);
}

static void write_tensor_sections(struct tnn__writer *w, const struct entry *e,
                                  size_t n)
{
    size_t start = begin_section(w, TNN__TAG_TENSORS);
    tnn__put_u32(w, (uint32_t)n);
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        size_t name_len = strlen(e[i].name);
        tnn__put_u32(w, (uint32_t)name_len);
        tnn__put_bytes(w, e[i].name, name_len);
        tnn__put_u32(w, TNN__DTYPE_F32);
        tnn__put_u32(w, (uint32_t)e[i].ndim);
        for (int d = 0; d < e[i].ndim; d++)
            tnn__put_u64(w, e[i].dims[d]);
        tnn__put_u64(w, offset);
        tnn__put_u64(w, 4 * (uint64_t)e[i].count);
        offset += 4 * (uint64_t)e[i].count;
    }
    end_section(w, start);
    start = begin_section(w, TNN__TAG_DATA);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < e[i].count; k++)
            tnn__put_f32(w, e[i].data[k]);
    end_section(w, start);
}

static void write_file(struct tnn__writer *w, const tnn_model *m,
                       const struct flat *f, bool optim,
                       const struct entry *entries, size_t n)
{
    uint32_t version = format_version(m, f, optim);
    tnn__put_bytes(w, tnn__file_magic, sizeof tnn__file_magic);
    tnn__put_u32(w, version);
    tnn__put_u32(w, optim ? TNN__FLAG_OPTIMIZER : 0);
    tnn__put_u32(w, optim ? 5 : 4);
    tnn__put_u32(w, w->failed ? 0 : tnn__crc32(w->data, 20));
    write_model_section(w, m, f, version);
    write_layers_section(w, f, version);
    if (optim) {
        size_t start = begin_section(w, TNN__TAG_OPTIM);
        tnn__optim_write(w, m->optim, version);
        end_section(w, start);
    }
    write_tensor_sections(w, entries, n);
    tnn__put_u64(w, (uint64_t)w->len + TNN__TRAILER_SIZE);
    tnn__put_u32(w, w->failed ? 0 : tnn__crc32(w->data, w->len));
    tnn__put_bytes(w, tnn__trailer_tag, sizeof tnn__trailer_tag);
}

int tnn__model_serialize(const char *func, const tnn_model *m, int flags,
                         struct tnn__writer *w)
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
    struct flat f = {0};
    int rc = flat_layers(func, m, &f);
    if (rc != TNN_OK)
        return rc;
    size_t max_entries = count_entries(m, &f, optim);
    struct entry *entries = tnn__calloc(max_entries + 1, sizeof *entries);
    if (!entries) {
        tnn__free(f.layers);
        return tnn__fail(TNN_E_NOMEM, func, "cannot allocate %zu entries",
                         max_entries);
    }
    size_t n = collect_entries(m, &f, optim, entries);
    write_file(w, m, &f, optim, entries, n);
    tnn__free(entries);
    tnn__free(f.layers);
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
    struct tnn__writer w = {0};
    int rc = tnn__model_serialize(__func__, model, flags, &w);
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
    struct tnn__writer w = {0};
    int rc = tnn__model_serialize(__func__, model, flags, &w);
    return rc == TNN_OK ? tnn__writer_copy_out(__func__, &w, buf, size, needed)
                        : rc;
}

/* A copy through the file image: whatever a file keeps, the copy has. */
tnn_model *tnn_model_clone(const tnn_model *model)
{
    struct tnn__writer w = {0};
    tnn_model *copy = NULL;
    int flags = model && model->optim ? TNN_SAVE_OPTIMIZER : 0;
    if (tnn__model_serialize(__func__, model, flags, &w) == TNN_OK &&
        tnn__model_deserialize(__func__, w.data, w.len, &copy) == TNN_OK)
        copy->max_sample_values = model->max_sample_values;
    tnn__free(w.data);
    return copy;
}
