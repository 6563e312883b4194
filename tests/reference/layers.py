#!/usr/bin/env python3
"""PyTorch's LayerNorm and GELU (exact erf form) on fixed small inputs, the
reference for tests/test_layers.c (layers_match_pytorch).

Writes tests/data/layers-pytorch.txt: one line per case,

    name features rows cols eps  inputs...  gamma...  beta...  dout...
    output...  input-gradient...  gamma-gradient...  beta-gradient...

features is the LayerNorm's normalised size (0 for GELU, which has no
gamma, beta or their gradients, and eps 0); the inputs, gamma, beta and
dout (the gradient the output receives) are float32 values, row-major,
and the output and gradients are what PyTorch computes from them in
float64. Every number is a hexadecimal float. No randomness: the values
are fixed expressions. Needs python3-torch (Debian); not needed by make
check.

    python3 tests/reference/layers.py > tests/data/layers-pytorch.txt
"""
import torch

ROWS, COLS = 3, 8

# Rows of different scales and offsets: one around 0, one of large values
# around 100 (where a one-pass variance would lose digits in float), one
# with a repeated value and both signs.
INPUT = [[0.5, -1.25, 3.0, 0.1, 2.0, -0.75, 0.0, 1.5],
         [100.25, 99.5, 101.0, 100.0, 98.75, 100.5, 99.0, 102.0],
         [-3.0, 0.3, 0.3, 0.3, -2.5, 4.0, -0.125, 7.5]]
DOUT = [[0.25, -1.0, 0.5, 2.0, -0.3, 0.7, 1.1, -0.6],
        [1.0, 0.0, -2.0, 0.5, 0.25, -0.75, 3.0, 0.1],
        [-0.5, 0.9, 0.0, -1.5, 2.5, 0.2, -0.4, 1.25]]


def gamma_beta(features):
    gamma = [1.0 + 0.25 * j - 0.1 * (j % 3) for j in range(features)]
    beta = [0.5 - 0.2 * j for j in range(features)]
    return gamma, beta


def f32(rows):
    """The float32 values the C test stores, widened to float64."""
    return torch.tensor(rows, dtype=torch.float32).to(torch.float64)


def hexes(values):
    return " ".join(float(v).hex() for v in values)


def flat(t):
    return t.detach().flatten().tolist()


def layernorm_case(features):
    gamma, beta = gamma_beta(features)
    x = f32(INPUT).reshape(ROWS, COLS // features, features)
    x.requires_grad_(True)
    ln = torch.nn.LayerNorm(features, eps=1e-5).to(torch.float64)
    with torch.no_grad():
        ln.weight.copy_(f32(gamma))
        ln.bias.copy_(f32(beta))
    y = ln(x)
    y.backward(f32(DOUT).reshape(y.shape))
    return ("layernorm_%d %d %d %d %s" % (features, features, ROWS, COLS,
                                          (1e-5).hex()),
            [flat(x), flat(ln.weight), flat(ln.bias), flat(f32(DOUT)),
             flat(y), flat(x.grad), flat(ln.weight.grad),
             flat(ln.bias.grad)])


def gelu_case():
    x = f32(INPUT).requires_grad_(True)
    y = torch.nn.GELU()(x)
    y.backward(f32(DOUT))
    return ("gelu 0 %d %d %s" % (ROWS, COLS, (0.0).hex()),
            [flat(x), [], [], flat(f32(DOUT)), flat(y), flat(x.grad), [], []])


torch.set_num_threads(1)
for head, blocks in (layernorm_case(4), layernorm_case(8), gelu_case()):
    print(head + " " + " ".join(hexes(b) for b in blocks if b))
