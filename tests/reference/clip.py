#!/usr/bin/env python3
"""PyTorch's gradient clipping on fixed gradients, the reference for
tests/test_optim.c (gradient_clipping_matches_pytorch).

Writes tests/data/clip-pytorch.txt: one line per case, the case name then
the clipped gradients of a (3, 2) weight and a (2) bias, as hexadecimal
floats. Run by .ci/run, which checks that the committed file is what this
script prints; needs python3-torch (Debian), not needed by make check.

    python3 tests/reference/clip.py > tests/data/clip-pytorch.txt
"""
import math

import torch

WEIGHT = [[1.0, -2.0], [3.0, 4.0], [0.5, -0.25]]
BIAS = [10.0, -0.1]

# name, clip value (0: none), max norm (0: none), an infinite entry
CASES = [
    ("value", 1.5, 0.0, False),
    ("norm", 0.0, 2.0, False),
    ("value_then_norm", 1.5, 2.0, False),
    ("norm_not_reached", 0.0, 100.0, False),
    ("norm_of_infinity", 0.0, 2.0, True),
]


def clipped(value, norm, infinite):
    w = torch.tensor(WEIGHT, dtype=torch.float32)
    b = torch.tensor(BIAS, dtype=torch.float32)
    if infinite:
        w[1][0] = math.inf
    params = [torch.zeros_like(w, requires_grad=True),
              torch.zeros_like(b, requires_grad=True)]
    params[0].grad = w
    params[1].grad = b
    if value > 0:
        torch.nn.utils.clip_grad_value_(params, value)
    if norm > 0:
        torch.nn.utils.clip_grad_norm_(params, norm)
    return [float(x) for p in params for x in p.grad.flatten().tolist()]


for name, value, norm, infinite in CASES:
    print(name, " ".join(float(x).hex() for x in clipped(value, norm, infinite)))
