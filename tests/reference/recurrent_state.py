#!/usr/bin/env python3
"""PyTorch's LSTM and GRU started from a given state (h0, c0), the
reference for tests/test_seq.c (recurrent_state_matches_pytorch).

Writes tests/data/recurrent-state-pytorch.txt: one line per case, its
name starting with the kind (lstm or gru),

    name features hidden time rows return_sequences shared  inputs...
    weight_ih...  weight_hh...  bias_ih...  bias_hh...  h0...  [c0...]
    dout...  output...  h_n...  [c_n...]  input-gradient...
    weight_ih-gradient...  weight_hh-gradient...  bias_ih-gradient...
    bias_hh-gradient...  h0-gradient...  [c0-gradient...]

with the c blocks for the LSTM only. shared 1: h0 and c0 are (hidden),
every row's start (their gradients the sums over the rows); shared 0:
(rows, hidden). h_n and c_n are each row's last states, (rows, hidden).
Values as recurrent.py writes them (float32 inputs, float64 results, in
hexadecimal). Needs python3-torch (Debian); not needed by make check.

    python3 tests/reference/recurrent_state.py \\
        > tests/data/recurrent-state-pytorch.txt

With --check FILE it compares FILE with what PyTorch gives now (make
references).
"""

import torch

from fixed import emit, hexes, recurrent_case, values


def case(name, features, hidden, time, rows, return_sequences, shared):
    gru, x, rnn = recurrent_case(name, features, hidden, time, rows)
    state_rows = 1 if shared else rows
    h0 = values(state_rows * hidden, 0.8, 1.13, 0.7)
    c0 = values(state_rows * hidden, 1.2, 0.71, 2.9)
    h0 = h0.reshape(state_rows, hidden).requires_grad_(True)
    c0 = c0.reshape(state_rows, hidden).requires_grad_(True)
    h_start = h0.expand(rows, hidden).unsqueeze(0)
    c_start = c0.expand(rows, hidden).unsqueeze(0)
    if gru:
        y, h_n = rnn(x, h_start)
        finals = [h_n[0]]
    else:
        y, (h_n, c_n) = rnn(x, (h_start, c_start))
        finals = [h_n[0], c_n[0]]
    if not return_sequences:
        y = y[:, -1, :]
    dout = values(y.numel(), 1.0, 0.61, 0.9).reshape(y.shape)
    y.backward(dout)
    head = "%s %d %d %d %d %d %d" % (name, features, hidden, time, rows,
                                     return_sequences, shared)
    starts = [h0] if gru else [h0, c0]
    start_grads = [h0.grad] if gru else [h0.grad, c0.grad]
    blocks = ([x, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
               rnn.bias_hh_l0] + starts + [dout, y] + finals +
              [x.grad, rnn.weight_ih_l0.grad, rnn.weight_hh_l0.grad,
               rnn.bias_ih_l0.grad, rnn.bias_hh_l0.grad] + start_grads)
    return head + " " + " ".join(hexes(b) for b in blocks)


def main():
    torch.set_num_threads(1)
    emit("recurrent_state.py", (
        case("lstm_rows", 3, 4, 5, 2, 1, 0),
        case("lstm_shared_last", 3, 4, 5, 3, 0, 1),
        case("lstm_one_step", 2, 3, 1, 3, 1, 0),
        case("gru_rows", 3, 4, 5, 2, 1, 0),
        case("gru_shared_last", 3, 4, 5, 3, 0, 1),
        case("gru_wide", 7, 16, 6, 3, 0, 0)))


main()
