/*
 * What the ONNX reader (onnx_read.c) and writer (onnx_write.c) share: the
 * field numbers of onnx.proto's messages that they use, its data types and
 * the versions the library reads. The numbers are the schema's, which ONNX
 * never renumbers.
 */
#ifndef TINYNN_ONNX_H
#define TINYNN_ONNX_H

#include "protobuf.h"

/* ModelProto */
enum {
    TNN__ONNX_MODEL_IR_VERSION = 1,
    TNN__ONNX_MODEL_PRODUCER_NAME = 2,
    TNN__ONNX_MODEL_PRODUCER_VERSION = 3,
    TNN__ONNX_MODEL_GRAPH = 7,
    TNN__ONNX_MODEL_OPSET_IMPORT = 8
};

/* OperatorSetIdProto */
enum { TNN__ONNX_OPSET_DOMAIN = 1, TNN__ONNX_OPSET_VERSION = 2 };

/* GraphProto */
enum {
    TNN__ONNX_GRAPH_NODE = 1,
    TNN__ONNX_GRAPH_NAME = 2,
    TNN__ONNX_GRAPH_INITIALIZER = 5,
    TNN__ONNX_GRAPH_INPUT = 11,
    TNN__ONNX_GRAPH_OUTPUT = 12,
    TNN__ONNX_GRAPH_SPARSE_INITIALIZER = 15
};

/* NodeProto */
enum {
    TNN__ONNX_NODE_INPUT = 1,
    TNN__ONNX_NODE_OUTPUT = 2,
    TNN__ONNX_NODE_NAME = 3,
    TNN__ONNX_NODE_OP_TYPE = 4,
    TNN__ONNX_NODE_ATTRIBUTE = 5,
    TNN__ONNX_NODE_DOMAIN = 7
};

/* AttributeProto */
enum {
    TNN__ONNX_ATTR_NAME = 1,
    TNN__ONNX_ATTR_F = 2,
    TNN__ONNX_ATTR_I = 3,
    TNN__ONNX_ATTR_S = 4,
    TNN__ONNX_ATTR_T = 5,
    TNN__ONNX_ATTR_FLOATS = 7,
    TNN__ONNX_ATTR_INTS = 8,
    TNN__ONNX_ATTR_STRINGS = 9,
    TNN__ONNX_ATTR_TYPE = 20
};

/* AttributeProto.AttributeType */
enum {
    TNN__ONNX_ATTR_FLOAT = 1,
    TNN__ONNX_ATTR_INT = 2,
    TNN__ONNX_ATTR_STRING = 3,
    TNN__ONNX_ATTR_TENSOR = 4,
    TNN__ONNX_ATTR_FLOAT_LIST = 6,
    TNN__ONNX_ATTR_INT_LIST = 7
};

/* TensorProto */
enum {
    TNN__ONNX_TENSOR_DIMS = 1,
    TNN__ONNX_TENSOR_DATA_TYPE = 2,
    TNN__ONNX_TENSOR_SEGMENT = 3,
    TNN__ONNX_TENSOR_FLOAT_DATA = 4,
    TNN__ONNX_TENSOR_INT32_DATA = 5,
    TNN__ONNX_TENSOR_INT64_DATA = 7,
    TNN__ONNX_TENSOR_NAME = 8,
    TNN__ONNX_TENSOR_RAW_DATA = 9,
    TNN__ONNX_TENSOR_EXTERNAL_DATA = 13,
    TNN__ONNX_TENSOR_DATA_LOCATION = 14
};

/* TensorProto.DataType, the ones the library reads */
enum { TNN__ONNX_FLOAT = 1, TNN__ONNX_INT32 = 6, TNN__ONNX_INT64 = 7 };

/* ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto and its
 * Dimension */
enum {
    TNN__ONNX_VALUE_NAME = 1,
    TNN__ONNX_VALUE_TYPE = 2,
    TNN__ONNX_TYPE_TENSOR = 1,
    TNN__ONNX_TENSOR_TYPE_ELEM = 1,
    TNN__ONNX_TENSOR_TYPE_SHAPE = 2,
    TNN__ONNX_SHAPE_DIM = 1,
    TNN__ONNX_DIM_VALUE = 1,
    TNN__ONNX_DIM_PARAM = 2
};

/* The default operator set's versions the reader knows, and what the
 * writer declares. */
#define TNN__ONNX_OPSET_MIN 9
#define TNN__ONNX_OPSET_MAX 18
#define TNN__ONNX_OPSET_WRITTEN 13
/* IR versions read; the writer's is 7, that of opset 13's release, or 8,
 * that of opset 17's (ONNX 1.12), when a node needs opset 17. */
#define TNN__ONNX_IR_MIN 3
#define TNN__ONNX_IR_MAX 10
#define TNN__ONNX_IR_WRITTEN 7
#define TNN__ONNX_IR_WRITTEN_17 8

#endif /* TINYNN_ONNX_H */
