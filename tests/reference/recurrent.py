#!/usr/bin/env python3
"""PyTorch's LSTM and GRU on fixed small inputs and weights, the
reference for tests/test_seq.c (recurrent_layers_match_pytorch).

Writes tests/data/recurrent-pytorch.txt: one line per case, its name
starting with the kind (lstm or gru),

    name features hidden time rows return_sequences  inputs...
    weight_ih...  weight_hh...  bias_ih...  bias_hh...  dout...
    output...  input-gradient...  weight_ih-gradient...
    weight_hh-gradient...  bias_ih-gradient...  bias_hh-gradient...

The inputs, weights and dout (the gradient the output receives: every
step's hidden state, or the last step's) are float32 values, row-major in
PyTorch's layouts (batch_first), and the output and gradients are what
PyTorch computes from them in float64. Every number is a hexadecimal
float. No randomness: the values are fixed expressions. Needs
python3-torch (Debian); not needed by make check.

    python3 tests/reference/recurrent.py > tests/data/recurrent-pytorch.txt

With --check FILE it compares FILE with what PyTorch gives now, numbers
within 1e-12 relative (make references).
"""

import torch

from fixed import emit, hexes, recurrent_case, values


def case(name, features, hidden, time, rows, return_sequences):
    gru, x, rnn = recurrent_case(name, features, hidden, time, rows)
    y, _ = rnn(x)
    if not return_sequences:
        y = y[:, -1, :]
    dout = values(y.numel(), 1.0, 0.61, 0.9).reshape(y.shape)
    y.backward(dout)
    head = "%s %d %d %d %d %d" % (name, features, hidden, time, rows,
                                  return_sequences)
    blocks = [x, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
              rnn.bias_hh_l0, dout, y, x.grad, rnn.weight_ih_l0.grad,
              rnn.weight_hh_l0.grad, rnn.bias_ih_l0.grad,
              rnn.bias_hh_l0.grad]
    return head + " " + " ".join(hexes(b) for b in blocks)


def main():
    torch.set_num_threads(1)
    emit("recurrent.py", (
        case("lstm_sequences", 3, 4, 5, 2, 1),
        case("lstm_last", 3, 4, 5, 2, 0),
        case("lstm_one_step", 2, 3, 1, 3, 1),
        case("lstm_wide", 7, 16, 6, 3, 0),
        case("gru_sequences", 3, 4, 5, 2, 1),
        case("gru_last", 3, 4, 5, 2, 0),
        case("gru_one_step", 2, 3, 1, 3, 1),
        case("gru_wide", 7, 16, 6, 3, 0)))


main()
