#!/usr/bin/env python3
"""Checks an ONNX file that libtinynn exported against PyTorch itself:
check_export.py's checks and evaluator, with the nodes of the sequence
layers computed by PyTorch's own modules instead of the evaluator's numpy:

  - Gather of a float table by integer ids (an embedding):
    torch.nn.functional.embedding;
  - LSTM and GRU: torch.nn.LSTM and torch.nn.GRU (one layer, one
    direction, time first as ONNX's layout 0), their weights taken from the
    node's W, R and B, whose gate blocks ONNX orders i, o, f, c (LSTM) and
    z, r, h (GRU), and put in PyTorch's order, i, f, g, o and r, z, n. A GRU
    must have linear_before_reset 1, which is what PyTorch computes.

    /usr/bin/python3 tests/onnx/check_torch.py MODEL.onnx CASE.txt

The evaluator's own LSTM and GRU follow the ONNX specification and are
checked against PyTorch's exports (check_export.py --fixture); this script
checks that what the library writes is PyTorch's layer, read the way
ONNX's operator documentation lays out its inputs. Exit status 0 and
'check_torch: MODEL ok (max diff X)', else the reason and 1.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_export  # noqa: E402
from check_export import CheckError  # noqa: E402

# PyTorch's gate blocks from ONNX's: block k of PyTorch's is block
# ORDER[k] of ONNX's.
ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2)}


def reorder(w, op, hidden):
    """Rows of w (gates * hidden, ...) from ONNX's gate order to PyTorch's."""
    blocks = [w[k * hidden:(k + 1) * hidden] for k in ORDER[op]]
    return np.concatenate(blocks)


def torch_recurrent(op):
    numpy_op = check_export.OPS[op]

    def run(ins, a, opset):
        # the evaluator's checks of what the node may be
        numpy_op(ins, a, opset)
        if op == "GRU" and a.get("linear_before_reset", 0) != 1:
            raise CheckError("GRU linear_before_reset 0 is not PyTorch's")
        x, w, r = ins[0], ins[1][0], ins[2][0]
        hidden = r.shape[-1]
        gates = len(ORDER[op])
        b = ins[3][0] if len(ins) > 3 and ins[3] is not None else \
            np.zeros(2 * gates * hidden)
        module = getattr(torch.nn, op)(x.shape[2], hidden).double()
        params = {"weight_ih_l0": reorder(w, op, hidden),
                  "weight_hh_l0": reorder(r, op, hidden),
                  "bias_ih_l0": reorder(b[:gates * hidden], op, hidden),
                  "bias_hh_l0": reorder(b[gates * hidden:], op, hidden)}
        with torch.no_grad():
            for name, value in params.items():
                getattr(module, name).copy_(torch.from_numpy(value))
            states = [torch.from_numpy(ins[i]) if len(ins) > i and
                      ins[i] is not None else
                      torch.zeros(1, x.shape[1], hidden,
                                  dtype=torch.float64)
                      for i in ((5, 6) if op == "LSTM" else (5,))]
            y, h = module(torch.from_numpy(x),
                          tuple(states) if op == "LSTM" else states[0])
        y = y.numpy()[:, None]
        if op == "LSTM":
            return y, h[0].numpy(), h[1].numpy()
        return y, h.numpy()
    return run


def torch_gather(ins, a, opset):
    data, idx = ins[0], ins[1]
    if data.dtype.kind != "f" or data.ndim != 2 or a.get("axis", 0) != 0:
        return np.take(data, idx, axis=a.get("axis", 0))
    return torch.nn.functional.embedding(
        torch.from_numpy(np.asarray(idx, np.int64)),
        torch.from_numpy(data)).numpy()


def main():
    args = sys.argv[1:]
    if len(args) != 2:
        sys.exit("usage: " + __doc__.split("\n\n")[1].strip())
    torch.set_num_threads(1)
    for op in ORDER:
        check_export.OPS[op] = torch_recurrent(op)
    check_export.OPS["Gather"] = torch_gather
    try:
        worst = check_export.check(args[0], args[1], False)
    except (CheckError, OSError, ValueError) as e:
        print("check_torch: %s: %s" % (args[0], e))
        sys.exit(1)
    print("check_torch: %s ok (max diff %.3g)" % (args[0], worst))


if __name__ == "__main__":
    main()
