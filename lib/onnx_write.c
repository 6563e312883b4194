/*
 * ONNX export (docs/onnx.md): one node per layer, in operator set 13 (17
 * when a layer's node needs it: layer normalisation), so that other
 * runtimes and viewers read what the library trained. Each kind describes
 * its own node (struct tnn__onnx_node, through its operations), the way
 * the reader (onnx_read.c) maps it back exactly, so that a round trip
 * predicts bit-identically; this file turns the descriptions into bytes
 * and knows no kind, as the model file code knows none, so that a new kind
 * is exported by its own file alone.
 */
#include <stdio.h>
#include <string.h>

#include "onnx.h"

struct exporter {
    const char *func;
    struct tnn__writer graph;
    int rc;
    size_t nodes;    /* written so far: names number the nodes, so that
                      * a layer without one (dropout) leaves no gap */
    bool last;       /* the layer written is the last one */
    int64_t opset;   /* the operator set the nodes need */
    char input[32];  /* the data's name before it */
    char output[32]; /* and after */
};

static void note_nomem(struct exporter *e, const struct tnn__writer *w)
{
    if (w->failed && e->rc == TNN_OK)
        e->rc = tnn__fail(TNN_E_NOMEM, e->func, "cannot allocate the file");
}

/* ---- attributes and initializers ------------------------------------ */

/* An attribute as the node description gives it. */
static void put_attr(struct tnn__writer *node, const struct tnn__onnx_attr *at)
{
    struct tnn__writer a = {0};
    uint64_t type = 0;
    tnn__pb_put_string(&a, TNN__ONNX_ATTR_NAME, at->name);
    switch (at->type) {
    case TNN__ONNX_ATTR_IS_INT:
        tnn__pb_put_varint(&a, TNN__ONNX_ATTR_I, (uint64_t)at->i);
        type = TNN__ONNX_ATTR_INT;
        break;
    case TNN__ONNX_ATTR_IS_FLOAT:
        tnn__pb_put_float(&a, TNN__ONNX_ATTR_F, at->f);
        type = TNN__ONNX_ATTR_FLOAT;
        break;
    case TNN__ONNX_ATTR_IS_STRING:
        tnn__pb_put_string(&a, TNN__ONNX_ATTR_S, at->s);
        type = TNN__ONNX_ATTR_STRING;
        break;
    case TNN__ONNX_ATTR_IS_INTS:
        tnn__pb_put_packed(&a, TNN__ONNX_ATTR_INTS, at->ints,
                           (size_t)at->nints);
        type = TNN__ONNX_ATTR_INT_LIST;
        break;
    }
    tnn__pb_put_varint(&a, TNN__ONNX_ATTR_TYPE, type);
    tnn__pb_put_message(node, TNN__ONNX_NODE_ATTRIBUTE, &a);
    tnn__free(a.data);
}

/* An initializer of the values in raw (raw_data, little-endian whatever
 * the host). */
static void put_initializer(struct exporter *e, const char *name, int type,
                            const int64_t *dims, size_t ndim,
                            const struct tnn__writer *raw)
{
    struct tnn__writer t = {0};
    tnn__pb_put_packed(&t, TNN__ONNX_TENSOR_DIMS, dims, ndim);
    tnn__pb_put_varint(&t, TNN__ONNX_TENSOR_DATA_TYPE, (uint64_t)type);
    tnn__pb_put_string(&t, TNN__ONNX_TENSOR_NAME, name);
    tnn__pb_put_message(&t, TNN__ONNX_TENSOR_RAW_DATA, raw);
    tnn__pb_put_message(&e->graph, TNN__ONNX_GRAPH_INITIALIZER, &t);
    note_nomem(e, raw);
    note_nomem(e, &t);
    tnn__free(t.data);
}

static void put_floats(struct tnn__writer *raw, const float *values,
                       size_t count)
{
    for (size_t i = 0; i < count; i++)
        tnn__put_f32(raw, values[i]);
}

/* A constant input of the node as an initializer named
 * "node<index>.<suffix>" into name: a tensor of the layer, slices of its
 * tensors one after the other, or an int64 list. */
static void put_input(struct exporter *e, char *name, size_t size,
                      const struct tnn__onnx_input *in)
{
    struct tnn__writer raw = {0};
    snprintf(name, size, "node%zu.%s", e->nodes, in->suffix);
    if (in->npieces > 0 || in->tensor) {
        for (int p = 0; p < in->npieces; p++) {
            const struct tnn__onnx_piece *piece = &in->pieces[p];
            put_floats(&raw, tnn_tensor_cdata(piece->tensor) + piece->offset,
                       piece->count);
        }
        if (!in->npieces)
            put_floats(&raw, tnn_tensor_cdata(in->tensor),
                       tnn_tensor_size(in->tensor));
        put_initializer(e, name, TNN__ONNX_FLOAT, in->dims, (size_t)in->ndims,
                        &raw);
    } else {
        int64_t dims[1] = {in->nints};
        for (int i = 0; i < in->nints; i++)
            tnn__put_u64(&raw, (uint64_t)in->ints[i]);
        put_initializer(e, name, TNN__ONNX_INT64, dims, 1, &raw);
    }
    tnn__free(raw.data);
}

/* ---- nodes ---------------------------------------------------------- */

/* A node reading the data (at its place among the named constants) and
 * writing the next data tensor: "output" for the last node of the graph,
 * so that the graph's output has a fixed name. Outputs before the data's
 * are left out. */
static void put_node(struct exporter *e, const struct tnn__onnx_op *desc,
                     const char *const *constants, bool last)
{
    struct tnn__writer node = {0};
    char name[48];
    if (last)
        snprintf(e->output, sizeof e->output, "output");
    else
        snprintf(e->output, sizeof e->output, "x%zu", e->nodes + 1);
    for (int i = 0; i <= desc->ninputs; i++) {
        const char *in = i == desc->data_input  ? e->input
                         : i < desc->data_input ? constants[i]
                                                : constants[i - 1];
        tnn__pb_put_string(&node, TNN__ONNX_NODE_INPUT, in);
    }
    for (int i = 0; i < desc->data_output; i++)
        tnn__pb_put_string(&node, TNN__ONNX_NODE_OUTPUT, "");
    tnn__pb_put_string(&node, TNN__ONNX_NODE_OUTPUT, e->output);
    snprintf(name, sizeof name, "%s_%zu", desc->op, e->nodes);
    tnn__pb_put_string(&node, TNN__ONNX_NODE_NAME, name);
    tnn__pb_put_string(&node, TNN__ONNX_NODE_OP_TYPE, desc->op);
    for (int i = 0; i < desc->nattrs; i++)
        put_attr(&node, &desc->attrs[i]);
    tnn__pb_put_message(&e->graph, TNN__ONNX_GRAPH_NODE, &node);
    note_nomem(e, &node);
    tnn__free(node.data);
    memcpy(e->input, e->output, sizeof e->input);
    e->nodes++;
}

/* A node as described: its initializers first, then the node that reads
 * them; last when it ends the graph. */
static void write_op(struct exporter *e, const struct tnn__onnx_op *desc,
                     bool last)
{
    char names[TNN__ONNX_MAX_INPUTS][48];
    const char *constants[TNN__ONNX_MAX_INPUTS];
    for (int i = 0; i < desc->ninputs; i++) {
        put_input(e, names[i], sizeof names[i], &desc->inputs[i]);
        constants[i] = names[i];
    }
    put_node(e, desc, constants, last);
}

/* A layer's nodes: the first as the description's own fields give it,
 * then those it lists after it. */
static void write_node(struct exporter *e, const struct tnn__onnx_node *desc)
{
    struct tnn__onnx_op first = {
        .op = desc->op,
        .nattrs = desc->nattrs,
        .ninputs = desc->ninputs,
        .data_input = desc->data_input,
        .data_output = desc->data_output,
    };
    memcpy(first.attrs, desc->attrs, sizeof first.attrs);
    memcpy(first.inputs, desc->inputs, sizeof first.inputs);
    write_op(e, &first, e->last && desc->nthen == 0);
    for (int k = 0; k < desc->nthen; k++)
        write_op(e, &desc->then[k], e->last && k + 1 == desc->nthen);
}

/* One layer, as its kind describes it (no node for kinds without one). */
static void write_layer(struct exporter *e, const tnn_layer *layer)
{
    if (!layer->ops->onnx_node)
        return;
    struct tnn__onnx_node desc = {0};
    layer->ops->onnx_node(layer, &desc);
    write_node(e, &desc);
}

/* ---- the model ------------------------------------------------------ */

/* A tensor's ValueInfoProto: (N, dims...) with the batch dynamic, of
 * FLOAT values, or of INT64 token ids for a model of tokens (their
 * vocabulary set), which feeds them to a Gather. */
static void put_value_info(struct exporter *e, uint32_t field,
                           const char *name, const struct tnn__shape *s)
{
    const uint64_t elem = s->vocabulary ? TNN__ONNX_INT64 : TNN__ONNX_FLOAT;
    struct tnn__writer shape = {0}, tensor = {0}, type = {0}, info = {0};
    struct tnn__writer dim = {0};
    tnn__pb_put_string(&dim, TNN__ONNX_DIM_PARAM, "N");
    tnn__pb_put_message(&shape, TNN__ONNX_SHAPE_DIM, &dim);
    for (int d = 0; d < s->ndim; d++) {
        dim.len = 0;
        tnn__pb_put_varint(&dim, TNN__ONNX_DIM_VALUE, s->dims[d]);
        tnn__pb_put_message(&shape, TNN__ONNX_SHAPE_DIM, &dim);
    }
    tnn__pb_put_varint(&tensor, TNN__ONNX_TENSOR_TYPE_ELEM, elem);
    tnn__pb_put_message(&tensor, TNN__ONNX_TENSOR_TYPE_SHAPE, &shape);
    tnn__pb_put_message(&type, TNN__ONNX_TYPE_TENSOR, &tensor);
    tnn__pb_put_string(&info, TNN__ONNX_VALUE_NAME, name);
    tnn__pb_put_message(&info, TNN__ONNX_VALUE_TYPE, &type);
    tnn__pb_put_message(&e->graph, field, &info);
    note_nomem(e, &dim);
    note_nomem(e, &info);
    tnn__free(dim.data);
    tnn__free(shape.data);
    tnn__free(tensor.data);
    tnn__free(type.data);
    tnn__free(info.data);
}

/* Before anything is written: the operator set the layers' nodes need,
 * or the first layer ONNX cannot describe, named with its index and kind
 * and why. */
static int plan(struct exporter *e, const tnn_model *model)
{
    e->opset = TNN__ONNX_OPSET_WRITTEN;
    for (size_t i = 0; i < model->num_layers; i++) {
        const tnn_layer *layer = model->layers[i];
        if (!layer->ops->onnx_node)
            continue;
        struct tnn__onnx_node desc = {0};
        layer->ops->onnx_node(layer, &desc);
        if (desc.refusal)
            return tnn__fail(TNN_E_FORMAT, e->func,
                             "layer %zu (%s) cannot be written as ONNX: %s", i,
                             layer->ops->name, desc.refusal);
        if (desc.opset > e->opset)
            e->opset = desc.opset;
    }
    return TNN_OK;
}

/* The nodes of every layer that writes one; the last one's output is
 * named "output". */
static void write_graph(struct exporter *e, const tnn_model *model)
{
    size_t last = 0;
    for (size_t i = 0; i < model->num_layers; i++)
        if (model->layers[i]->ops->onnx_node)
            last = i + 1;
    snprintf(e->input, sizeof e->input, "input");
    tnn__pb_put_string(&e->graph, TNN__ONNX_GRAPH_NAME, "libtinynn");
    for (size_t i = 0; i < model->num_layers; i++) {
        e->last = i + 1 == last;
        write_layer(e, model->layers[i]);
    }
    /* A model of dropouts alone computes the identity. */
    if (!last) {
        e->last = true;
        write_node(e, &(struct tnn__onnx_node){.op = "Identity"});
    }
    put_value_info(e, TNN__ONNX_GRAPH_INPUT, "input", &model->in_shape);
    put_value_info(e, TNN__ONNX_GRAPH_OUTPUT, "output",
                   &model->layers[model->num_layers - 1]->out_shape);
    note_nomem(e, &e->graph);
}

static int serialize(const char *func, const tnn_model *model,
                     struct tnn__writer *out)
{
    if (!model)
        return tnn__fail(TNN_E_INVALID, func, "model is NULL");
    if (!model->num_layers)
        return tnn__fail(TNN_E_STATE, func, "the model has no layers");
    struct exporter e = {.func = func, .rc = TNN_OK};
    int rc = plan(&e, model);
    if (rc != TNN_OK)
        return rc;
    write_graph(&e, model);
    struct tnn__writer opset = {0};
    tnn__pb_put_string(&opset, TNN__ONNX_OPSET_DOMAIN, "");
    tnn__pb_put_varint(&opset, TNN__ONNX_OPSET_VERSION, (uint64_t)e.opset);
    tnn__pb_put_varint(out, TNN__ONNX_MODEL_IR_VERSION,
                       e.opset >= 17 ? TNN__ONNX_IR_WRITTEN_17
                                     : TNN__ONNX_IR_WRITTEN);
    tnn__pb_put_string(out, TNN__ONNX_MODEL_PRODUCER_NAME, "libtinynn");
    tnn__pb_put_string(out, TNN__ONNX_MODEL_PRODUCER_VERSION,
                       tnn_version_string());
    tnn__pb_put_message(out, TNN__ONNX_MODEL_GRAPH, &e.graph);
    tnn__pb_put_message(out, TNN__ONNX_MODEL_OPSET_IMPORT, &opset);
    note_nomem(&e, &opset);
    note_nomem(&e, out);
    tnn__free(opset.data);
    tnn__free(e.graph.data);
    if (e.rc != TNN_OK) {
        tnn__free(out->data);
        *out = (struct tnn__writer){0};
    }
    return e.rc;
}

int tnn_model_save_onnx(const tnn_model *model, const char *path)
{
    if (!path)
        return tnn__fail(TNN_E_INVALID, __func__, "path is NULL");
    struct tnn__writer w = {0};
    int rc = serialize(__func__, model, &w);
    if (rc == TNN_OK)
        rc = tnn__write_file_atomic(__func__, path, w.data, w.len);
    tnn__free(w.data);
    return rc;
}

int tnn_model_save_onnx_buffer(const tnn_model *model, void *buf, size_t size,
                               size_t *needed)
{
    if (!buf && size > 0)
        return tnn__fail(TNN_E_INVALID, __func__,
                         "buf is NULL but size is %zu", size);
    struct tnn__writer w = {0};
    int rc = serialize(__func__, model, &w);
    return rc == TNN_OK ? tnn__writer_copy_out(__func__, &w, buf, size, needed)
                        : rc;
}
