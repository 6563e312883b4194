#!/usr/bin/env python3
"""Checks an ONNX file that libtinynn exported against what libtinynn
predicted with the model, independently of the C code.

    /usr/bin/python3 tests/onnx/check_export.py [--fixture] MODEL.onnx CASE.txt

CASE.txt holds an input and the expected output in gen_models.py's text
format. The model must pass onnx.checker.check_model(full_check=True),
import opset 13 (opset 17, with IR version 8, when it holds a
LayerNormalization, and only then), and have one graph input, FLOAT or
(for a model of tokens) INT64 ids, whose batch dimension is
dynamic (a dim_param). It is then evaluated by the small numpy interpreter
below (float64; no onnxruntime, no onnx reference evaluator, so the check
does not lean on another implementation of what it checks), and every
output value must be within 1e-5 + 1e-4 * |expected| of the file's.
The file's transform line is not applied: the model's raw output is
compared.

--fixture checks one of gen_models.py's PyTorch exports instead: any
opset, a fixed batch allowed. That is how the interpreter itself is tested
(its ops cover what PyTorch 1.13 writes for those models).

Exit status 0 and 'check_export: MODEL ok (max diff X)', else the reason
and 1.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

ATOL, RTOL = 1e-5, 1e-4


class CheckError(Exception):
    pass


def explicit_pads(attrs, spatial, kernel, strides, dilations):
    """[begin..., end...] pads from 'pads' or 'auto_pad'."""
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    n = len(spatial)
    if auto in ("NOTSET", ""):
        return list(attrs.get("pads", [0] * (2 * n)))
    if auto == "VALID":
        return [0] * (2 * n)
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise CheckError("auto_pad %s unknown" % auto)
    begin, end = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, big = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else big)
        end.append(big if auto == "SAME_UPPER" else small)
    return begin + end


def windows(x, attrs, kernel, pad_value, dilations=None):
    """Pads x (N, C, H, W) and yields, per kernel offset (i, j), the (N, C,
    OH, OW) slice of the padded input that the offset sees."""
    if attrs.get("ceil_mode", 0):
        raise CheckError("ceil_mode 1 not supported")
    strides = list(attrs.get("strides", [1, 1]))
    dilations = dilations or [1, 1]
    pads = explicit_pads(attrs, x.shape[2:], kernel, strides, dilations)
    xp = np.pad(x, [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])],
                constant_values=pad_value)
    out = [(xp.shape[2 + a] - (kernel[a] - 1) * dilations[a] - 1)
           // strides[a] + 1 for a in (0, 1)]

    def gen():
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                r, c = i * dilations[0], j * dilations[1]
                yield i, j, xp[:, :, r:r + strides[0] * (out[0] - 1) + 1:
                               strides[0], c:c + strides[1] * (out[1] - 1)
                               + 1:strides[1]]
    return gen(), pads


def need_2d(op, x):
    if x.ndim != 4:
        raise CheckError("%s on a %d-D tensor (only 2-D images)" % (
            op, x.ndim))


def op_conv(ins, a, _):
    x, w = ins[0], ins[1]
    need_2d("Conv", x)
    if a.get("group", 1) != 1:
        raise CheckError("Conv group %d not supported" % a["group"])
    it, _ = windows(x, a, w.shape[2:], 0.0, list(a.get("dilations", [1, 1])))
    y = sum(np.einsum("nchw,mc->nmhw", s, w[:, :, i, j]) for i, j, s in it)
    if len(ins) > 2 and ins[2] is not None:
        y = y + ins[2].reshape(1, -1, 1, 1)
    return y


def op_maxpool(ins, a, _):
    need_2d("MaxPool", ins[0])
    if list(a.get("dilations", [1, 1])) != [1, 1] or a.get("storage_order", 0):
        raise CheckError("MaxPool dilations/storage_order not supported")
    it, _ = windows(ins[0], a, a["kernel_shape"], -np.inf)
    y = None
    for _, _, s in it:
        y = s.copy() if y is None else np.maximum(y, s)
    return y


def op_avgpool(ins, a, _):
    x = ins[0]
    need_2d("AveragePool", x)
    k = a["kernel_shape"]
    it, _ = windows(x, a, k, 0.0)
    total = sum(s for _, _, s in it)
    if a.get("count_include_pad", 0):
        return total / (k[0] * k[1])
    ones = np.ones((1, 1) + x.shape[2:])
    it, _ = windows(ones, a, k, 0.0)
    return total / sum(s for _, _, s in it)


def op_gemm(ins, a, _):
    A = ins[0].T if a.get("transA", 0) else ins[0]
    B = ins[1].T if a.get("transB", 0) else ins[1]
    y = a.get("alpha", 1.0) * (A @ B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + a.get("beta", 1.0) * ins[2]
    return y


def softmax_axis(x, a, opset):
    """Opsets before 13 coerce to 2-D at the axis (default 1); later ones
    normalise along the axis (default -1). Returns (view, restore)."""
    axis = a.get("axis", 1 if opset < 13 else -1)
    axis = axis % x.ndim
    if opset < 13:
        v = x.reshape(int(np.prod(x.shape[:axis])), -1)
        return v, -1, lambda y: y.reshape(x.shape)
    return x, axis, lambda y: y


def op_softmax(ins, a, opset):
    v, axis, back = softmax_axis(ins[0], a, opset)
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return back(e / e.sum(axis=axis, keepdims=True))


def op_logsoftmax(ins, a, opset):
    v, axis, back = softmax_axis(ins[0], a, opset)
    z = v - v.max(axis=axis, keepdims=True)
    return back(z - np.log(np.exp(z).sum(axis=axis, keepdims=True)))


def op_batchnorm(ins, a, _):
    if a.get("training_mode", 0):
        raise CheckError("BatchNormalization training_mode 1")
    x, scale, bias, mean, var = ins[:5]
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = scale / np.sqrt(var + a.get("epsilon", 1e-5))
    return (x - mean.reshape(shape)) * inv.reshape(shape) + \
        bias.reshape(shape)


def op_layernorm(ins, a, opset):
    if opset < 17:
        raise CheckError("LayerNormalization in opset %d" % opset)
    x, scale = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 and ins[2] is not None else 0.0
    axis = a.get("axis", -1) % x.ndim
    axes = tuple(range(axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * scale + bias
    return y


def op_pad(ins, a, opset):
    if opset < 11:
        pads, value = a["pads"], a.get("value", 0.0)
    else:
        pads = ins[1].astype(np.int64).tolist()
        value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
    mode = a.get("mode", b"constant")
    if mode not in (b"constant", "constant"):
        raise CheckError("Pad mode %s not supported" % mode)
    n = ins[0].ndim
    if min(pads) < 0:
        raise CheckError("negative Pad not supported")
    return np.pad(ins[0], list(zip(pads[:n], pads[n:])),
                  constant_values=value)


def op_flatten(ins, a, _):
    x = ins[0]
    axis = a.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def op_reshape(ins, a, _):
    shape = ins[1].astype(np.int64).tolist()
    if not a.get("allowzero", 0):
        shape = [ins[0].shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return ins[0].reshape(shape)


def op_unsqueeze(ins, a, opset):
    axes = a["axes"] if opset < 13 else ins[1].tolist()
    rank = ins[0].ndim + len(axes)
    y = ins[0]
    for ax in sorted(d % rank for d in axes):
        y = np.expand_dims(y, ax)
    return y


def op_shape(ins, a, _):
    dims = ins[0].shape[a.get("start", 0):a.get("end", None)]
    return np.array(dims, dtype=np.int64)


def op_constant(ins, a, _):
    if "value" in a:
        return numpy_helper.to_array(a["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats",
                       np.float32), ("value_int", np.int64),
                       ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype=dtype)
    raise CheckError("Constant without a supported value attribute")


def op_transpose(ins, a, _):
    perm = a.get("perm")
    return np.transpose(ins[0], perm if perm is None else list(perm))


def op_squeeze(ins, a, opset):
    axes = a.get("axes") if opset < 13 else (
        ins[1].tolist() if len(ins) > 1 and ins[1] is not None else None)
    if axes is None:
        return np.squeeze(ins[0])
    return np.squeeze(ins[0], axis=tuple(d % ins[0].ndim for d in axes))


def op_constant_of_shape(ins, a, _):
    value = numpy_helper.to_array(a["value"]) if "value" in a else \
        np.zeros(1, np.float32)
    v = value.astype(np.float64) if value.dtype.kind == "f" else value
    return np.full(ins[0].astype(np.int64).tolist(), v.ravel()[0],
                   dtype=v.dtype)


def op_expand(ins, a, _):
    return ins[0] * np.ones(ins[1].astype(np.int64).tolist(), ins[0].dtype)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def recurrent_setup(op, ins, a, gates):
    """The checks and inputs ONNX's LSTM and GRU share: one forward
    direction, layout 0, the default activations, no clip, no sequence
    lengths. Returns X, W, R, Wb, Rb and the initial state."""
    if a.get("direction", b"forward") not in (b"forward", "forward"):
        raise CheckError("%s direction %s not supported" % (
            op, a["direction"]))
    if a.get("layout", 0) or "clip" in a or a.get("input_forget", 0):
        raise CheckError("%s layout/clip/input_forget not supported" % op)
    defaults = [b"Sigmoid"] + [b"Tanh"] * (gates - 2 if op == "GRU" else 2)
    if list(a.get("activations", defaults)) != defaults:
        raise CheckError("%s activations %s not supported" % (
            op, a["activations"]))
    x, w, r = ins[0], ins[1], ins[2]
    hidden = a.get("hidden_size", r.shape[-1])
    if w.shape[0] != 1 or w.shape[1] != gates * hidden:
        raise CheckError("%s W of shape %s" % (op, w.shape))
    b = ins[3] if len(ins) > 3 and ins[3] is not None else \
        np.zeros((1, 2 * gates * hidden))
    if len(ins) > 4 and ins[4] is not None:
        raise CheckError("%s sequence_lens not supported" % op)
    h = ins[5][0] if len(ins) > 5 and ins[5] is not None else \
        np.zeros((x.shape[1], hidden))
    return x, w[0], r[0], b[0, :gates * hidden], b[0, gates * hidden:], h


def op_lstm(ins, a, _):
    """ONNX's LSTM, gates i, o, f, c; outputs Y (seq, 1, batch, hidden),
    Y_h and Y_c (1, batch, hidden)."""
    x, w, r, wb, rb, h = recurrent_setup("LSTM", ins, a, 4)
    if len(ins) > 7 and ins[7] is not None:
        raise CheckError("LSTM peepholes not supported")
    n = h.shape[1]
    c = ins[6][0] if len(ins) > 6 and ins[6] is not None else np.zeros(
        h.shape)
    ys = []
    for t in range(x.shape[0]):
        g = x[t] @ w.T + h @ r.T + wb + rb
        i, o, f = sigmoid(g[:, :n]), sigmoid(g[:, n:2 * n]), \
            sigmoid(g[:, 2 * n:3 * n])
        c = f * c + i * np.tanh(g[:, 3 * n:])
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None], h[None], c[None]


def op_gru(ins, a, _):
    """ONNX's GRU, gates z, r, h; outputs Y (seq, 1, batch, hidden) and
    Y_h (1, batch, hidden)."""
    x, w, r, wb, rb, h = recurrent_setup("GRU", ins, a, 3)
    n = h.shape[1]
    before = a.get("linear_before_reset", 0)
    ys = []
    for t in range(x.shape[0]):
        gx = x[t] @ w.T + wb
        z = sigmoid(gx[:, :n] + h @ r[:n].T + rb[:n])
        rr = sigmoid(gx[:, n:2 * n] + h @ r[n:2 * n].T + rb[n:2 * n])
        if before:
            hh = np.tanh(gx[:, 2 * n:] + rr * (h @ r[2 * n:].T +
                                                rb[2 * n:]))
        else:
            hh = np.tanh(gx[:, 2 * n:] + (rr * h) @ r[2 * n:].T +
                         rb[2 * n:])
        h = (1 - z) * hh + z * h
        ys.append(h)
    return np.stack(ys)[:, None], h[None]


def op_dropout(ins, a, _):
    # inference: identity whatever the ratio; a mask output is all true
    return ins[0], np.ones(ins[0].shape, dtype=bool)


OPS = {
    "Gemm": op_gemm,
    "MatMul": lambda ins, a, o: ins[0] @ ins[1],
    "Add": lambda ins, a, o: ins[0] + ins[1],
    "Conv": op_conv,
    "Relu": lambda ins, a, o: np.maximum(ins[0], 0),
    "Sigmoid": lambda ins, a, o: 1 / (1 + np.exp(-ins[0])),
    "Tanh": lambda ins, a, o: np.tanh(ins[0]),
    "LeakyRelu": lambda ins, a, o: np.where(ins[0] >= 0, ins[0],
                                            a.get("alpha", 0.01) * ins[0]),
    "Softmax": op_softmax,
    "LogSoftmax": op_logsoftmax,
    "MaxPool": op_maxpool,
    "AveragePool": op_avgpool,
    "Pad": op_pad,
    "Flatten": op_flatten,
    "Reshape": op_reshape,
    "BatchNormalization": op_batchnorm,
    "LayerNormalization": op_layernorm,
    "Dropout": op_dropout,
    "Identity": lambda ins, a, o: ins[0],
    # the chain PyTorch writes for x.view(x.size(0), -1); embeddings
    "Shape": op_shape,
    "Gather": lambda ins, a, o: np.take(ins[0], ins[1], axis=a.get("axis", 0)),
    "Unsqueeze": op_unsqueeze,
    "Concat": lambda ins, a, o: np.concatenate(ins, axis=a["axis"]),
    "Constant": op_constant,
    # embeddings, and what LSTM and GRU nodes need around them
    "Transpose": op_transpose,
    "Squeeze": op_squeeze,
    "ConstantOfShape": op_constant_of_shape,
    "Expand": op_expand,
    "LSTM": op_lstm,
    "GRU": op_gru,
}


def evaluate(model, x):
    """Runs the graph on x; returns its (first) output."""
    opset = [o.version for o in model.opset_import
             if o.domain in ("", "ai.onnx")][0]
    env = {}
    for t in model.graph.initializer:
        v = numpy_helper.to_array(t)
        env[t.name] = v.astype(np.float64) if v.dtype.kind == "f" else v
    env[graph_inputs(model)[0].name] = x
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
            raise CheckError("node %s: op %s not supported" % (
                node.name, node.op_type))
        try:
            ins = [env[n] if n else None for n in node.input]
        except KeyError as e:
            raise CheckError("node %s reads %s, which nothing wrote" % (
                node.name, e))
        attrs = {a.name: helper.get_attribute_value(a)
                 for a in node.attribute}
        outs = OPS[node.op_type](ins, attrs, opset)
        if not isinstance(outs, tuple):
            outs = (outs,)
        for name, value in zip(node.output, outs):
            if name:
                env[name] = value
    return env[model.graph.output[0].name]


def graph_inputs(model):
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def read_case(path):
    """(transform, input, expected output) from a case file."""
    lines = [ln.strip() for ln in open(path) if ln.strip()
             and not ln.startswith("#")]
    transform = None
    tensors = {}
    i = 0
    while i < len(lines):
        words = lines[i].split()
        if words[0] == "transform":
            transform = words[1]
            i += 1
        elif words[0] in ("input", "output"):
            ndim = int(words[1])
            shape = [int(d) for d in words[2:2 + ndim]]
            n = int(np.prod(shape))
            values = np.array([float(v) for v in lines[i + 1:i + 1 + n]],
                              dtype=np.float32)
            if len(values) != n:
                raise CheckError("%s: %s needs %d values" % (
                    path, words[0], n))
            tensors[words[0]] = values.reshape(shape)
            i += 1 + n
        else:
            raise CheckError("%s: unexpected line %r" % (path, lines[i]))
    if transform not in ("none", "exp") or len(tensors) != 2:
        raise CheckError("%s: needs a transform (none/exp), an input and "
                         "an output" % path)
    return transform, tensors["input"], tensors["output"]


def check(model_path, case_path, fixture):
    model = onnx.load(model_path)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # checker and shape-inference errors alike
        raise CheckError("onnx.checker: %s" % str(e).strip().splitlines()[0])
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    normalises = any(n.op_type == "LayerNormalization"
                     for n in model.graph.node)
    want = (17, 8) if normalises else (13, 7)
    if not fixture and (opsets.get("ai.onnx"), model.ir_version) != want:
        raise CheckError("opset_import %s and IR version %d, not opset %d "
                         "and IR version %d" % (opsets, model.ir_version,
                                                want[0], want[1]))
    inputs = graph_inputs(model)
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise CheckError("%d graph inputs and %d outputs, not 1 and 1" % (
            len(inputs), len(model.graph.output)))
    ttype = inputs[0].type.tensor_type
    ids = ttype.elem_type == onnx.TensorProto.INT64
    if ttype.elem_type != onnx.TensorProto.FLOAT and not ids:
        raise CheckError("input %s is neither float nor int64 token ids" %
                         inputs[0].name)
    dims = ttype.shape.dim
    if not fixture and (not dims or not dims[0].dim_param):
        raise CheckError("input %s has no dynamic (dim_param) batch "
                         "dimension" % inputs[0].name)
    _, x, expected = read_case(case_path)
    declared = [d.dim_value if d.HasField("dim_value") else None
                for d in dims]
    if len(declared) != x.ndim or any(
            d is not None and d != n for d, n in zip(declared, x.shape)):
        raise CheckError("case input shape %s does not fit input %s %s" % (
            list(x.shape), inputs[0].name, declared))
    if ids and not np.array_equal(x, np.round(x)):
        raise CheckError("case input of %s holds values that are no ids" %
                         inputs[0].name)
    y = evaluate(model, x.astype(np.int64 if ids else np.float64))
    if y.shape != expected.shape:
        raise CheckError("output shape %s, expected %s" % (
            list(y.shape), list(expected.shape)))
    diff = np.abs(y - expected)
    bad = diff > ATOL + RTOL * np.abs(expected)
    if bad.any() or not np.isfinite(y).all():
        k = int(np.argmax(bad | ~np.isfinite(y)))
        raise CheckError("output %d is %.9g, expected %.9g (max diff %.3g)"
                         % (k, y.ravel()[k], expected.ravel()[k], diff.max()))
    return float(diff.max())


def main():
    args = sys.argv[1:]
    fixture = "--fixture" in args
    args = [a for a in args if a != "--fixture"]
    if len(args) != 2:
        sys.exit("usage: " + __doc__.split("\n\n")[1].strip())
    try:
        worst = check(args[0], args[1], fixture)
    except (CheckError, OSError, ValueError) as e:
        print("check_export: %s: %s" % (args[0], e))
        sys.exit(1)
    print("check_export: %s ok (max diff %.3g)" % (args[0], worst))


if __name__ == "__main__":
    main()
