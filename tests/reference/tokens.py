#!/usr/bin/env python3
"""PyTorch's numbers for a small token model, the reference for
tests/test_tokens.c (token_model_matches_pytorch): ids of a vocabulary
through an embedding, learned positions, a pre-norm residual block
(layer norm, linear, GELU, linear, added to its input), a linear layer
on every step and cross-entropy with a class per step, averaged over
every step of every row.

Writes tests/data/tokens-pytorch.txt, one line per case:

    name vocabulary time width hidden rows  ids...  targets...
    embedding...  positions...  gamma...  beta...  w1...  b1...  w2...
    b2...  w3...  b3...  loss  logits...  and the gradient of the loss
    with respect to each parameter, in the order above

Weights are float32 values of fixed expressions, stored row-major in the
library's layouts (dense weights (in, out), the transpose of PyTorch's
Linear); the loss, logits and gradients are what PyTorch computes from
them in float64. Every number is a hexadecimal float. Needs python3-torch
(Debian); not needed by make check.

    python3 tests/reference/tokens.py > tests/data/tokens-pytorch.txt

With --check FILE it compares FILE with what PyTorch gives now, numbers
within 1e-12 relative (make references).
"""

import torch

from fixed import emit, hexes, values






def param(count, shape, scale, freq, phase):
    return values(count, scale, freq, phase).reshape(shape).requires_grad_(True)


def case(name, vocab, time, width, hidden, rows):
    ids = torch.tensor([(7 * k + 3) % vocab for k in range(rows * time)])
    targets = torch.tensor([(5 * k + 1) % vocab for k in range(rows * time)])
    emb = param(vocab * width, (vocab, width), 1.0, 0.71, 0.2)
    pos = param(time * width, (time, width), 0.5, 1.13, 0.4)
    gamma = param(width, (width,), 0.3, 0.9, 1.0)
    gamma.data += 1.0
    beta = param(width, (width,), 0.2, 1.7, 0.3)
    w1 = param(width * hidden, (width, hidden), 0.6, 0.83, 0.5)
    b1 = param(hidden, (hidden,), 0.1, 1.9, 0.7)
    w2 = param(hidden * width, (hidden, width), 0.5, 0.67, 1.1)
    b2 = param(width, (width,), 0.1, 2.3, 0.9)
    w3 = param(width * vocab, (width, vocab), 0.7, 0.59, 1.3)
    b3 = param(vocab, (vocab,), 0.2, 1.3, 0.1)
    params = [emb, pos, gamma, beta, w1, b1, w2, b2, w3, b3]

    x = emb[ids.reshape(rows, time)] + pos
    h = torch.nn.functional.layer_norm(x, (width,), gamma, beta, 1e-5)
    h = torch.nn.functional.gelu(h @ w1 + b1) @ w2 + b2
    x = x + h
    logits = x @ w3 + b3
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab),
                                             targets)
    loss.backward()
    head = "%s %d %d %d %d %d" % (name, vocab, time, width, hidden, rows)
    blocks = [ids.double(), targets.double()] + params + [loss, logits]
    blocks += [p.grad for p in params]
    return head + " " + " ".join(hexes(b) for b in blocks)




def main():
    torch.set_num_threads(1)
    emit("tokens.py", (
        case("small", 7, 5, 4, 6, 3),
        case("one_step", 5, 1, 3, 2, 2),
        case("wide", 11, 8, 16, 24, 4)))


main()
