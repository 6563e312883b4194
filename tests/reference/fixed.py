"""What the PyTorch reference scripts of fixed small cases share
(recurrent.py, recurrent_state.py, attention.py, tokens.py): the fixed values they feed,
hexadecimal output, and the --check comparison that make references
runs."""
import math
import sys

import torch


def values(count, scale, freq, phase):
    """count float32 values of a fixed smooth expression, as float64."""
    v = [scale * math.sin(freq * k + phase) for k in range(count)]
    return torch.tensor(v, dtype=torch.float32).to(torch.float64)


def hexes(t):
    return " ".join(float(v).hex() for v in t.detach().flatten().tolist())


def same_numbers(ours, theirs):
    """Whether two files of these lines agree: the same words, numbers
    within 1e-12 relative (double products may sum in another order on
    another CPU)."""
    a, b = ours.split(), theirs.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            u, v = float.fromhex(x), float.fromhex(y)
        except ValueError:
            return False
        if abs(u - v) > 1e-12 * max(1.0, abs(u), abs(v)):
            return False
    return True


def emit(script, lines):
    """Write the cases, or with --check FILE exit non-zero unless FILE
    holds the same numbers."""
    text = "".join(line + "\n" for line in lines)
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        with open(sys.argv[2]) as f:
            if not same_numbers(text, f.read()):
                sys.exit("%s: %s differs from PyTorch's numbers"
                         % (script, sys.argv[2]))
        return
    sys.stdout.write(text)


def recurrent_case(name, features, hidden, time, rows):
    """The fixed input (rows, time, features) and a float64 LSTM or GRU
    (the name's start says which) with fixed weights, batch-first:
    recurrent.py's and recurrent_state.py's cases."""
    gru = name.startswith("gru")
    g = (3 if gru else 4) * hidden
    x = values(rows * time * features, 1.5, 0.77, 0.3)
    x = x.reshape(rows, time, features).requires_grad_(True)
    layer = torch.nn.GRU if gru else torch.nn.LSTM
    rnn = layer(features, hidden, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(values(g * features, 0.6, 1.31, 0.1)
                                .reshape(g, features))
        rnn.weight_hh_l0.copy_(values(g * hidden, 0.5, 0.93, 1.7)
                                .reshape(g, hidden))
        rnn.bias_ih_l0.copy_(values(g, 0.3, 2.11, 0.5))
        rnn.bias_hh_l0.copy_(values(g, 0.2, 1.57, 2.2))
    return gru, x, rnn
