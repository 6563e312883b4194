#!/usr/bin/env python3
"""PyTorch's MultiheadAttention on fixed small inputs and weights, the
reference for tests/test_attention.c (attention_matches_pytorch).

Writes tests/data/attention-pytorch.txt: one line per case,

    name width heads time rows causal  inputs...
    in_proj_weight...  in_proj_bias...  out_proj.weight...
    out_proj.bias...  dout...
    output...  input-gradient...  in_proj_weight-gradient...
    in_proj_bias-gradient...  out_proj.weight-gradient...
    out_proj.bias-gradient...

for MultiheadAttention(width, heads, dropout=0, batch_first=True) with
query, key and value all the input, and when causal an additive mask of
-inf above the diagonal. The inputs, weights and dout (the gradient the
output receives) are float32 values, row-major in PyTorch's layouts, and
the output and gradients are what PyTorch computes from them in float64.
Every number is a hexadecimal float. No randomness: the values are fixed
expressions. Needs python3-torch (Debian); not needed by make check.

    python3 tests/reference/attention.py > tests/data/attention-pytorch.txt

With --check FILE it compares FILE with what PyTorch gives now, numbers
within 1e-12 relative (make references).
"""

import torch

from fixed import emit, hexes, values






def case(name, width, heads, time, rows, causal):
    x = values(rows * time * width, 1.5, 0.77, 0.3)
    x = x.reshape(rows, time, width).requires_grad_(True)
    mha = torch.nn.MultiheadAttention(width, heads, dropout=0.0,
                                      batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(values(3 * width * width, 0.7, 1.31, 0.1)
                                 .reshape(3 * width, width))
        mha.in_proj_bias.copy_(values(3 * width, 0.3, 2.11, 0.5))
        mha.out_proj.weight.copy_(values(width * width, 0.5, 0.93, 1.7)
                                  .reshape(width, width))
        mha.out_proj.bias.copy_(values(width, 0.2, 1.57, 2.2))
    mask = None
    if causal:
        mask = torch.triu(torch.full((time, time), float("-inf"),
                                     dtype=torch.float64), diagonal=1)
    y, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    dout = values(y.numel(), 1.0, 0.61, 0.9).reshape(y.shape)
    y.backward(dout)
    head = "%s %d %d %d %d %d" % (name, width, heads, time, rows, causal)
    blocks = [x, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight,
              mha.out_proj.bias, dout, y, x.grad, mha.in_proj_weight.grad,
              mha.in_proj_bias.grad, mha.out_proj.weight.grad,
              mha.out_proj.bias.grad]
    return head + " " + " ".join(hexes(b) for b in blocks)




def main():
    torch.set_num_threads(1)
    emit("attention.py", (
        case("one_head", 4, 1, 3, 2, 0),
        case("two_heads_causal", 8, 2, 5, 3, 1),
        case("one_step", 6, 3, 1, 2, 1),
        case("four_heads_causal", 8, 4, 7, 2, 1),
        case("two_heads_full", 6, 2, 4, 2, 0)))


main()
