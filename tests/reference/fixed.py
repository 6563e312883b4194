"""What the PyTorch reference scripts of fixed small cases share
(recurrent.py, attention.py, tokens.py): the fixed values they feed,
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
