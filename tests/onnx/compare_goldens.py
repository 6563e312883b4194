#!/usr/bin/env python3
"""Compare the golden ONNX cases gen_models.py writes with the committed ones.

    compare_goldens.py COMMITTED_DIR REGENERATED_DIR

The models (.onnx), the MANIFEST and every non-numeric line of the .txt
cases must be the same bytes: the weights come from seeded initialisers and
the exporter is deterministic. PyTorch's outputs, the numeric lines, may
differ in the last digits from one CPU to another (its kernels for AVX2 and
AVX-512 round differently), so they must agree within 1e-6 + 1e-6 * |x|,
far below the 1e-5 + 1e-4 * |x| at which make check compares the library's
predictions with them, and far above float32 rounding of values near 1.
"""
import math
import os
import sys

ABS_TOL = 1e-6
REL_TOL = 1e-6


def as_float(line):
    try:
        return float(line)
    except ValueError:
        return None


def compare_text(name, old, new):
    """Return (problems, largest numeric difference) for one .txt case."""
    old_lines = old.decode().splitlines()
    new_lines = new.decode().splitlines()
    if len(old_lines) != len(new_lines):
        return [f"{name}: {len(old_lines)} lines, regenerated {len(new_lines)}"], 0.0
    problems, largest = [], 0.0
    for number, (a, b) in enumerate(zip(old_lines, new_lines), 1):
        x, y = as_float(a), as_float(b)
        if x is None or y is None:
            if a != b:
                problems.append(f"{name}:{number}: '{a}' became '{b}'")
            continue
        if not (math.isfinite(x) and math.isfinite(y)):
            if a != b:
                problems.append(f"{name}:{number}: {a} became {b}")
            continue
        diff = abs(x - y)
        largest = max(largest, diff)
        if diff > ABS_TOL + REL_TOL * abs(x):
            problems.append(f"{name}:{number}: {a} became {b} (difference {diff:.3g})")
    return problems, largest


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_goldens.py COMMITTED_DIR REGENERATED_DIR")
    old_dir, new_dir = sys.argv[1], sys.argv[2]
    old_names, new_names = sorted(os.listdir(old_dir)), sorted(os.listdir(new_dir))
    problems = []
    if old_names != new_names:
        gone = sorted(set(old_names) - set(new_names))
        added = sorted(set(new_names) - set(old_names))
        problems.append(f"files no longer written: {gone}; new files: {added}")
    largest = 0.0
    for name in sorted(set(old_names) & set(new_names)):
        with open(os.path.join(old_dir, name), "rb") as f:
            old = f.read()
        with open(os.path.join(new_dir, name), "rb") as f:
            new = f.read()
        if name.endswith(".txt"):
            found, diff = compare_text(name, old, new)
            problems += found
            largest = max(largest, diff)
        elif old != new:
            problems.append(f"{name}: the bytes differ")
    if problems:
        for line in problems[:20]:
            print(line, file=sys.stderr)
        sys.exit(f"compare_goldens: {len(problems)} differences")
    print(f"compare_goldens: {len(old_names)} files; models and text the same, "
          f"PyTorch's outputs within {largest:.2g}")


if __name__ == "__main__":
    main()
