#!/usr/bin/env python3
"""Small ONNX models exported by PyTorch, the fixtures for libtinynn's ONNX
importer (and, through check_export.py, a cross-check of its exporter).

    /usr/bin/python3 tests/onnx/gen_models.py [OUTDIR]   (tests/data/onnx)

Each good model is a sequential chain of layers libtinynn has, exported
with torch.onnx.export in eval mode at opsets 11, 13 and 17 with a dynamic
batch (NAME-opsetK.onnx) and, for a few, a fixed batch of 2
(NAME-opsetK-fixed.onnx); the LayerNorm models (ln_*) at opset 17 only,
the first to write it as LayerNormalization; two more are edited with the onnx API
(dropout_identity-opset13: Dropout and Identity nodes inserted;
mlp-opset13-typed and cnn-opset13-typed: every tensor, initializers and
Constant nodes' int64 shapes alike, in float_data/int64_data, not
raw_data). The lstm_*, gru_* and emb_* models are nn.LSTM and nn.GRU
(batch_first, one layer) in the forms PyTorch writes around them, and
nn.Embedding, whose input is int64 token ids (written as integers in the
case files). Next to each, NAME.txt holds an input and PyTorch's eval-mode
output on it (batch 3 for a dynamic batch, 2 for a fixed one; the exports
trace batch 2, so batch 3 proves the batch really is dynamic):

    # comment
    transform none            ('exp' after LogSoftmax: libtinynn imports it
    input NDIM D0 D1 ...       as softmax, so it predicts exp of these)
    one value per line, %.9g
    output NDIM D0 D1 ...
    one value per line, %.9g

The bad_NAME.onnx models are what the importer must refuse (some exported
so, some good exports edited with the onnx API: EDITED_BAD); bad_NAME.txt
says with which error it is refused ("error"), what its message names
("names": the node's op type in parentheses, or the refused data type)
and, for some, the reason it must give ("says", the rest of the line).
MANIFEST lists every case. Needs Debian's python3-torch (1.13) and python3-onnx; the
output is deterministic, and CI regenerates and compares it byte for byte.
"""
import os
import sys
import warnings
import zlib

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

OPSETS = (11, 13, 17)
# What the C importer accepts (the Shape...Concat nodes only as the chain
# computing a Reshape's shape); the first other node of a bad model is
# the one its error names.
SUPPORTED = {"Gemm", "MatMul", "Add", "Relu", "Sigmoid", "Tanh", "LeakyRelu",
             "Softmax", "LogSoftmax", "Dropout", "Identity", "Flatten",
             "BatchNormalization", "Conv", "MaxPool", "AveragePool", "Pad",
             "Reshape", "Shape", "Gather", "Unsqueeze", "Concat", "Constant",
             "GlobalMaxPool", "GlobalAveragePool", "LayerNormalization",
             "Transpose", "Squeeze", "LSTM", "GRU", "ConstantOfShape",
             "Expand", "Slice"}


def seed_for(name):
    """A seed of the model's own, so adding a model changes no other."""
    torch.manual_seed(zlib.crc32(name.encode()))


def randomize_bn(bn, eps):
    """Statistics and affine terms far from the identity they start at."""
    c = bn.num_features
    bn.eps = eps
    with torch.no_grad():
        bn.running_mean.copy_(0.5 * torch.randn(c))
        bn.running_var.copy_(0.5 + torch.rand(c))
        bn.weight.copy_(1 + 0.3 * torch.randn(c))
        bn.bias.copy_(0.2 * torch.randn(c))


class MatMulAdd(nn.Module):
    """relu(x @ W1 + b1) @ W2 with bare parameters: MatMul + Add, MatMul."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(0.4 * torch.randn(6, 8))
        self.b1 = nn.Parameter(0.1 * torch.randn(8))
        self.w2 = nn.Parameter(0.4 * torch.randn(8, 4))

    def forward(self, x):
        return torch.relu(x @ self.w1 + self.b1) @ self.w2


class ViewFlatten(nn.Module):
    """x.view(x.size(0), -1): the Shape/Gather/.../Reshape chain."""

    def forward(self, x):
        return x.view(x.size(0), -1)


class Residual(nn.Module):
    """y = x + relu(linear(x)): a branch libtinynn cannot represent."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return x + torch.relu(self.fc(x))


def mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 5),
                         nn.Softmax(dim=1)), (6,)


def mlp_act():
    return nn.Sequential(nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 8),
                         nn.Tanh(), nn.Linear(8, 7), nn.LeakyReLU(0.1),
                         nn.Linear(7, 3), nn.LogSoftmax(dim=1)), (6,)


def matmul_add():
    return MatMulAdd(), (6,)


def bn_mlp():
    m = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(),
                      nn.Dropout(0.3), nn.Linear(8, 4), nn.Softmax(dim=1))
    randomize_bn(m[1], 1e-5)
    return m, (6,)


def randomize_ln(ln):
    """Scale and shift far from the identity they start at."""
    n = ln.normalized_shape[0]
    with torch.no_grad():
        ln.weight.copy_(torch.rand(n) + 0.5)
        ln.bias.copy_(torch.randn(n) * 0.5)


def ln_mlp():
    m = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.ReLU(),
                      nn.Linear(8, 4), nn.LayerNorm(4, eps=1e-3),
                      nn.Softmax(dim=1))
    randomize_ln(m[1])
    randomize_ln(m[4])
    return m, (6,)


def ln_cnn():
    # 7x8 -> conv 3@5x6 -> LayerNorm over the image rows (6) -> flatten
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.LayerNorm(6), nn.ReLU(),
                      nn.Flatten(), nn.Linear(3 * 5 * 6, 4))
    randomize_ln(m[1])
    return m, (2, 7, 8)


def bad_ln():
    # before operator set 17 LayerNorm is written as its arithmetic
    return nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8)), (6,)


def cnn():
    # 14x14 -> conv 14x14x4 -> pool 7x7 -> conv/2 3x3x6 -> pool 1x1x6
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2),
                      nn.BatchNorm2d(6), nn.ReLU(), nn.AvgPool2d(2),
                      ViewFlatten(), nn.Linear(6, 5), nn.Softmax(dim=1))
    randomize_bn(m[4], 1e-5)
    return m, (1, 14, 14)


def cnn_bn():
    # 8x8x2 -> conv 8x8x4 -> pool 4x4x4. padding=1 is 'same' for k=3;
    # PyTorch 1.13 cannot export padding="same" (aten::_convolution_mode).
    m = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
                      nn.BatchNorm2d(4), nn.MaxPool2d(2, 2), nn.Flatten(),
                      nn.Linear(64, 3))
    randomize_bn(m[2], 1e-3)
    return m, (2, 8, 8)


def cnn_avgpad():
    # 9x9 -> conv 7x7x3 -> pool (7 + 2 - 2) / 2 + 1 = 4x4x3
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(),
                         nn.AvgPool2d(2, stride=2, padding=1), nn.Flatten(),
                         nn.Linear(48, 4), nn.Sigmoid()), (1, 9, 9)


def cnn_global():
    # 6x6x2 -> conv 6x6x4 (bias=False) -> global max 1x1x4, and the same
    # channels through a global average: AdaptiveMax/AvgPool2d(1) write
    # GlobalMaxPool and GlobalAveragePool
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False),
                         nn.ReLU(), nn.Conv2d(4, 4, 1), nn.AdaptiveMaxPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3, bias=False)), (2, 6, 6)


def cnn_gap():
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(3, 2), nn.Softmax(dim=1)), (1, 7, 7)


class Recurrent(nn.Module):
    """nn.LSTM or nn.GRU (batch_first, one layer) of 4 steps of 3 features
    and 5 hidden units, then a Linear: on y flattened ('seq'), y[:, -1]
    ('last'), h_n.squeeze(0) ('squeeze') or h_n[-1] ('index'): the forms
    PyTorch writes around the LSTM and GRU nodes."""

    def __init__(self, kind, take, embed=False, **kw):
        super().__init__()
        self.embed = nn.Embedding(10, 3) if embed else None
        self.rnn = getattr(nn, kind)(3, 5, batch_first=True, **kw)
        self.take = take
        width = 5 * (2 if kw.get("bidirectional") else 1)
        self.fc = nn.Linear(4 * width if take == "seq" else width, 2)

    def forward(self, x):
        if self.embed is not None:
            x = self.embed(x)
        y, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        if self.take == "seq":
            z = y.flatten(1)
        elif self.take == "last":
            z = y[:, -1]
        elif self.take == "squeeze":
            z = h.squeeze(0)
        else:
            z = h[-1]
        return self.fc(z)


def lstm_seq():
    return Recurrent("LSTM", "seq"), (4, 3)


def lstm_last():
    return Recurrent("LSTM", "last"), (4, 3)


def lstm_hn():
    return Recurrent("LSTM", "squeeze"), (4, 3)


def gru_seq():
    return Recurrent("GRU", "seq"), (4, 3)


def gru_last():
    return Recurrent("GRU", "last"), (4, 3)


def gru_hn():
    return Recurrent("GRU", "index"), (4, 3)


def emb_mlp():
    # token ids (batch, 3) of a vocabulary of 10
    return nn.Sequential(nn.Embedding(10, 4), nn.Flatten(),
                         nn.Linear(12, 3)), "ids"


def emb_gru():
    m = Recurrent("GRU", "last", embed=True)
    return nn.Sequential(m, nn.LogSoftmax(dim=1)), "ids"


def bad_bilstm():
    return Recurrent("LSTM", "last", bidirectional=True), (4, 3)


def bad_lstm_layers():
    return Recurrent("LSTM", "last", num_layers=2), (4, 3)


def bad_branch():
    return Residual(), (6,)


def bad_op():
    return nn.Sequential(nn.Linear(6, 5), nn.GELU()), (6,)


def bad_groups():
    return nn.Sequential(nn.Conv2d(2, 4, 3, groups=2)), (2, 6, 6)


def bad_dilation():
    return nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2)), (1, 7, 7)


def bad_double():
    seed_for("mlp")
    m, shape = mlp()
    return m.double(), shape


# name, builder, also with a fixed batch
GOOD = [("mlp", mlp, True), ("mlp_act", mlp_act, False),
        ("matmul_add", matmul_add, False), ("bn_mlp", bn_mlp, True),
        ("cnn", cnn, True), ("cnn_bn", cnn_bn, False),
        ("cnn_avgpad", cnn_avgpad, True), ("cnn_global", cnn_global, False),
        ("cnn_gap", cnn_gap, True), ("ln_mlp", ln_mlp, True),
        ("ln_cnn", ln_cnn, False), ("lstm_seq", lstm_seq, False),
        ("lstm_last", lstm_last, True), ("lstm_hn", lstm_hn, False),
        ("gru_seq", gru_seq, True), ("gru_last", gru_last, False),
        ("gru_hn", gru_hn, True), ("emb_mlp", emb_mlp, True),
        ("emb_gru", emb_gru, False)]
# Models exported only at some opsets: LayerNorm is one LayerNormalization
# node from opset 17 on (before, its arithmetic: bad_ln).
OPSETS_OF = {"ln_mlp": (17,), "ln_cnn": (17,)}
# name, builder, the op type the importer's error must name (None: the
# first op it does not support); for bad_double, the type it refuses
BAD = [("bad_branch", bad_branch, "Add"), ("bad_op", bad_op, None),
       ("bad_groups", bad_groups, "Conv"),
       ("bad_dilation", bad_dilation, "Conv"),
       ("bad_double", bad_double, "DOUBLE"), ("bad_ln", bad_ln, None),
       ("bad_bilstm", bad_bilstm, "LSTM"),
       ("bad_lstm_layers", bad_lstm_layers, "LSTM")]
# What the BAD models' messages say besides the node's op type.
SAYS = {"bad_bilstm": "direction bidirectional is not supported",
        "bad_lstm_layers": "num_layers > 1"}


def node_of(model, op):
    return [n for n in model.graph.node if n.op_type == op][0]


def with_attr(op, name, value):
    """An edit: attribute name of the first op node set to value (None:
    removed)."""
    def edit(m):
        n = node_of(m, op)
        kept = [a for a in n.attribute if a.name != name]
        del n.attribute[:]
        n.attribute.extend(kept)
        if value is not None:
            n.attribute.append(helper.make_attribute(name, value))
    return edit


def with_input(op, index, array):
    """An edit: input index of the first op node a new initializer."""
    def edit(m):
        n = node_of(m, op)
        while len(n.input) <= index:
            n.input.append("")
        n.input[index] = "edited_%s_%d" % (op, index)
        m.graph.initializer.append(numpy_helper.from_array(
            array, n.input[index]))
    return edit


def reading_cell_state(m):
    """The Squeeze after the LSTM reads its Y_c instead of its Y."""
    lstm = node_of(m, "LSTM")
    node_of(m, "Squeeze").input[0] = lstm.output[2]


def first_step(m):
    """y[:, 0] instead of y[:, -1]: the Gather's index constant is 0."""
    gather = [n for n in m.graph.node if n.op_type == "Gather" and
              [a.i for a in n.attribute if a.name == "axis"] == [1]][0]
    const = [n for n in m.graph.node if n.output[0] == gather.input[1]][0]
    const.attribute[0].t.CopyFrom(numpy_helper.from_array(
        np.array(0, np.int64)))


def float_ids(m):
    """The token ids declared FLOAT: Gather's indices are float data."""
    m.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.FLOAT


def at_opset(version, edit):
    def both(m):
        m.opset_import[0].version = version
        edit(m)
    return both


# Edits of the good exports above that the importer must refuse: name,
# the export edited, the edit, the op type the message names, what else
# it says.
EDITED_BAD = [
    ("bad_lstm_clip", "lstm_last-opset13-fixed", with_attr("LSTM", "clip",
                                                           3.0),
     "LSTM", "clip is not supported"),
    ("bad_lstm_forget", "lstm_last-opset13-fixed",
     with_attr("LSTM", "input_forget", 1), "LSTM", "input_forget 1"),
    ("bad_lstm_act", "lstm_last-opset13-fixed",
     with_attr("LSTM", "activations", ["Sigmoid", "Relu", "Tanh"]), "LSTM",
     "activations other than the defaults"),
    ("bad_lstm_seqlens", "lstm_last-opset13-fixed",
     with_input("LSTM", 4, np.array([4, 4], np.int32)), "LSTM",
     "sequence_lens is not supported"),
    ("bad_lstm_peephole", "lstm_last-opset13-fixed",
     with_input("LSTM", 7, np.full((1, 15), 0.5, np.float32)), "LSTM",
     "peepholes"),
    ("bad_lstm_layout", "lstm_last-opset13-fixed",
     at_opset(14, with_attr("LSTM", "layout", 1)), "LSTM", "layout 1"),
    ("bad_lstm_cell", "lstm_last-opset13-fixed", reading_cell_state,
     "Squeeze", "Y_c is not supported"),
    ("bad_gru_h0", "gru_hn-opset13-fixed",
     with_input("GRU", 5, np.full((1, 2, 5), 0.5, np.float32)), "GRU",
     "initial states other than zeros"),
    ("bad_gru_reset", "gru_hn-opset13-fixed",
     with_attr("GRU", "linear_before_reset", None), "GRU",
     "linear_before_reset 0"),
    ("bad_first_step", "lstm_last-opset13-fixed", first_step, "Gather",
     "only as a recurrent layer's last states"),
    ("bad_gather_axis", "emb_mlp-opset13", with_attr("Gather", "axis", 1),
     "Gather", "axis 1 is not supported"),
    ("bad_float_ids", "emb_mlp-opset13", float_ids, "Gather",
     "float data cannot be indices"),
]


def example_input(shape, batch):
    """Token ids of a vocabulary of 10 over 3 steps, or normal values."""
    if shape == "ids":
        return torch.randint(0, 10, (batch, 3))
    return torch.randn(batch, *shape)


def export(model, example, path, opset, dynamic):
    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic else None
    torch.onnx.export(model, example, path, opset_version=opset,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes=axes)
    return onnx.load(path)


def op_types(model):
    return [n.op_type for n in model.graph.node]


def assert_ops(name, model):
    """What the fixtures are for: these nodes must be in the export."""
    ops = op_types(model)
    if name == "matmul_add":
        assert ops.count("MatMul") == 2 and "Add" in ops and "Gemm" not in ops
        assert ops[-1] == "MatMul", ops
    if name == "cnn_bn":
        assert "BatchNormalization" in ops, ops
    if name == "cnn_avgpad":
        assert "AveragePool" in ops and "Pad" in ops, ops
    if name.startswith("ln_"):
        assert "LayerNormalization" in ops, ops
    if name.startswith("lstm_") or name.startswith("gru_"):
        assert name.split("_")[0].upper() in ops, ops
    if name.startswith("emb_"):
        assert "Gather" in ops, ops


def write_case(path, comment, transform, x, y):
    lines = ["# " + comment, "transform " + transform]
    for tag, t in (("input", x), ("output", y)):
        a = t.detach().numpy()
        lines.append("%s %d %s" % (tag, a.ndim, " ".join(map(str, a.shape))))
        lines += ["%.9g" % v for v in a.ravel().tolist()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def typed(model):
    """The model with every tensor (initializers and Constant nodes) in
    float_data / int64_data instead of raw_data."""
    def retype(t):
        a = numpy_helper.to_array(t)
        t.ClearField("raw_data")
        if a.dtype == np.float32:
            t.float_data.extend(a.ravel().tolist())
        elif a.dtype == np.int64:
            t.int64_data.extend(a.ravel().tolist())
        else:
            raise ValueError("unexpected type %s" % a.dtype)
        assert np.array_equal(numpy_helper.to_array(t), a)

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in m.graph.initializer:
        retype(t)
    for n in m.graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                retype(a.t)
    return m


def with_dropout_identity(model):
    """Gemm -> Dropout(ratio 0.25) -> Relu -> Identity -> Gemm: renames the
    Gemm's output and the Relu's output so the chain stays connected."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    nodes = list(m.graph.node)
    relu = [i for i, n in enumerate(nodes) if n.op_type == "Relu"][0]
    gemm_out = nodes[relu - 1].output[0]
    relu_out = nodes[relu].output[0]
    nodes[relu - 1].output[0] = gemm_out + "_pre_dropout"
    nodes[relu].output[0] = relu_out + "_pre_identity"
    ratio = numpy_helper.from_array(np.array(0.25, np.float32),
                                    "dropout_ratio")
    m.graph.initializer.append(ratio)
    dropout = helper.make_node("Dropout", [gemm_out + "_pre_dropout",
                                           "dropout_ratio"], [gemm_out],
                               name="/inserted/Dropout")
    ident = helper.make_node("Identity", [relu_out + "_pre_identity"],
                             [relu_out], name="/inserted/Identity")
    nodes = nodes[:relu] + [dropout, nodes[relu], ident] + nodes[relu + 1:]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), os.pardir, "data", "onnx")
    outdir = os.path.normpath(outdir)
    os.makedirs(outdir, exist_ok=True)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    manifest = []
    exported = {}

    def out(stem):
        return os.path.join(outdir, stem)

    for name, build, fixed in GOOD:
        seed_for(name)
        model, shape = build()
        model.eval()
        example = example_input(shape, 2)
        cases = {True: example_input(shape, 3), False: example}
        last = list(model.modules())[-1]
        transform = "exp" if isinstance(last, nn.LogSoftmax) else "none"
        with torch.no_grad():
            results = {k: model(x) for k, x in cases.items()}
        for opset in OPSETS_OF.get(name, OPSETS):
            for dynamic in (True, False) if fixed else (True,):
                stem = "%s-opset%d%s" % (name, opset, "" if dynamic else
                                         "-fixed")
                m = export(model, example, out(stem + ".onnx"), opset,
                           dynamic)
                exported[stem] = m
                onnx.checker.check_model(m, full_check=True)
                assert_ops(name, m)
                kind = "dynamic batch, batch 3" if dynamic else \
                    "fixed batch 2"
                write_case(out(stem + ".txt"), "%s, opset %d, %s" % (
                    name, opset, kind), transform, cases[dynamic],
                    results[dynamic])
                manifest.append("good " + stem)
                if opset != 13 or not dynamic:
                    continue
                extra = []
                if name == "mlp":
                    extra.append(("dropout_identity-opset13",
                                  with_dropout_identity(m)))
                if name in ("mlp", "cnn"):
                    extra.append((stem + "-typed", typed(m)))
                for estem, em in extra:
                    onnx.checker.check_model(em, full_check=True)
                    onnx.save(em, out(estem + ".onnx"))
                    write_case(out(estem + ".txt"), "%s, edited from %s, "
                               "opset 13, dynamic batch, batch 3" % (
                                   estem, stem), transform, cases[True],
                               results[True])
                    manifest.append("good " + estem)

    for name, build, refused in BAD:
        seed_for(name)
        model, shape = build()
        model.eval()
        example = torch.randn(2, *shape, dtype=next(model.parameters()).dtype)
        m = export(model, example, out(name + ".onnx"), 13, True)
        ops = op_types(m)
        if name == "bad_double":  # the graph's input is what is refused
            assert m.graph.input[0].type.tensor_type.elem_type == \
                onnx.TensorProto.DOUBLE
            names = refused
        else:
            refused = refused or [op for op in ops if op not in SUPPORTED][0]
            assert refused in ops, (name, ops)
            names = "(%s)" % refused
        with open(out(name + ".txt"), "w") as f:
            f.write("error FORMAT\nnames %s\n" % names)
            if name in SAYS:
                f.write("says %s\n" % SAYS[name])
        manifest.append("bad " + name)

    for name, source, edit, op, says in EDITED_BAD:
        m = onnx.ModelProto()
        m.CopyFrom(exported[source])
        edit(m)
        onnx.save(m, out(name + ".onnx"))
        with open(out(name + ".txt"), "w") as f:
            f.write("error FORMAT\nnames (%s)\nsays %s\n" % (op, says))
        manifest.append("bad " + name)

    manifest.sort()
    with open(out("MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print("gen_models: %d good and %d bad models in %s" % (
        sum(1 for m in manifest if m.startswith("good")),
        len(BAD) + len(EDITED_BAD), outdir))


if __name__ == "__main__":
    main()
