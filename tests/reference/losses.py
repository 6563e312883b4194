#!/usr/bin/env python3
"""PyTorch's L1Loss, HuberLoss and BCEWithLogitsLoss (mean reduction) on
fixed small inputs, the reference for tests/test_loss.c
(losses_match_pytorch).

Writes tests/data/losses-pytorch.txt: one line per case,

    name kind rows cols delta  inputs...  targets...  loss  gradient...

kind is the enum tnn_loss_kind number (3 MAE, 4 Huber, 5 binary
cross-entropy) and delta the Huber threshold (1 for the others); the
inputs (predictions or logits) and targets are float32 values, row-major,
and the loss and its gradient with respect to the inputs are what PyTorch
computes from them in float64. Every number is a hexadecimal float.
Needs python3-torch (Debian); not needed by make check.

    python3 tests/reference/losses.py > tests/data/losses-pytorch.txt
"""
import torch

MAE, HUBER, BCE = 3, 4, 5

# Regression pairs: some differences exactly 0 (MAE's gradient is 0
# there), some exactly +-1 and +-0.25 (on the Huber thresholds below),
# small and large ones of both signs.
PRED = [[0.5, -1.25, 3.0, 0.1],
        [2.0, 2.0, -0.75, 7.5],
        [-3.0, 0.3, 1.0e-3, -12.0]]
TARGET = [[0.25, -1.25, 1.0, 0.6],
          [3.0, 1.75, -0.75, -2.5],
          [-2.0, 0.55, 0.0, 4.0]]

# Logits from 0 to far past where exp() of them overflows in float32
# (88.7), and targets at 0, 1 and between.
LOGITS = [[0.0, 0.5, -0.5, 3.0],
          [-3.0, 20.0, -20.0, 100.0],
          [-100.0, 500.0, -1000.0, 1.0e-4]]
TARGETS = [[1.0, 0.0, 0.25, 1.0],
           [0.7, 1.0, 0.0, 0.0],
           [0.5, 1.0, 0.1, 0.0]]

COLUMN_LOGITS = [[2.5], [-0.75], [0.0], [40.0], [-6.0]]
COLUMN_TARGETS = [[1.0], [0.0], [1.0], [0.0], [0.35]]

# name, kind, delta, inputs, targets
CASES = [
    ("mae", MAE, 1.0, PRED, TARGET),
    ("huber_delta_1", HUBER, 1.0, PRED, TARGET),
    ("huber_delta_0.25", HUBER, 0.25, PRED, TARGET),
    ("huber_delta_3.5", HUBER, 3.5, PRED, TARGET),
    ("bce", BCE, 1.0, LOGITS, TARGETS),
    ("bce_one_column", BCE, 1.0, COLUMN_LOGITS, COLUMN_TARGETS),
]


def as_float32(rows):
    """The float32 values the C test stores, widened to float64."""
    return torch.tensor(rows, dtype=torch.float32).to(torch.float64)


def loss_and_gradient(kind, delta, inputs, targets):
    x = as_float32(inputs).requires_grad_(True)
    t = as_float32(targets)
    if kind == MAE:
        fn = torch.nn.L1Loss()
    elif kind == HUBER:
        fn = torch.nn.HuberLoss(delta=delta)
    else:
        fn = torch.nn.BCEWithLogitsLoss()
    loss = fn(x, t)
    loss.backward()
    return float(loss), x.grad.flatten().tolist()


def hexes(values):
    return " ".join(float(v).hex() for v in values)


for name, kind, delta, inputs, targets in CASES:
    loss, grad = loss_and_gradient(kind, delta, inputs, targets)
    rows, cols = len(inputs), len(inputs[0])
    print(name, kind, rows, cols, float(delta).hex(),
          hexes(as_float32(inputs).flatten().tolist()),
          hexes(as_float32(targets).flatten().tolist()),
          float(loss).hex(), hexes(grad))
