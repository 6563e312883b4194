#!/usr/bin/env python3
"""scikit-learn's metrics on fixed small inputs, the reference for
tests/test_metrics.c (metrics_match_sklearn).

Writes tests/data/metrics-sklearn.txt: one line per item, a name then its
values, integers in decimal and floats as hexadecimal floats. The inputs
come first (the C test reads them from the file too), then what
scikit-learn computes from them:

  multiclass  20 rows of 4 classes given as scores (class 2 is never the
              largest, so never predicted; class 3 is never true), no
              equal scores in a row (top-k accuracy is then unambiguous)
  binary      12 rows of 2 classes given as indices
  regression  10 rows of 2 outputs
  constant    6 rows of 3 outputs: output 0 a constant target predicted
              exactly (R^2 1), output 1 a constant target predicted
              otherwise (R^2 0), output 2 an ordinary one

Every input is a float32 value (multiples of 1/32), so that the C test's
float tensors hold exactly what scikit-learn scored in float64. Needs
python3-sklearn (Debian), not needed by make check:

    python3 tests/reference/metrics.py > tests/data/metrics-sklearn.txt
"""
import numpy as np
from sklearn import metrics

# (true class, scores * 32) per row
MULTICLASS = [
    (0, [20, 5, 4, 3]),
    (0, [10, 12, 6, 4]),
    (0, [3, 4, 9, 16]),
    (0, [17, 8, 6, 1]),
    (0, [8, 6, 7, 11]),
    (1, [2, 25, 3, 1]),
    (1, [14, 9, 5, 4]),
    (1, [6, 7, 5, 12]),
    (1, [9, 2, 4, 13]),
    (1, [5, 18, 10, 2]),
    (1, [7, 15, 1, 6]),
    (2, [12, 3, 8, 2]),
    (2, [4, 13, 11, 9]),
    (2, [10, 11, 6, 7]),
    (2, [9, 3, 5, 14]),
    (2, [15, 12, 13, 2]),
    (0, [11, 3, 2, 10]),
    (1, [1, 8, 3, 9]),
    (2, [16, 11, 10, 5]),
    (0, [6, 5, 4, 13]),
]
MULTICLASS_CLASSES = 4

BINARY_TRUE = [0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0]
BINARY_PRED = [0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0]

# (target, prediction) rows, * 32
REGRESSION = [
    ([32, -64], [40, -60]),
    ([48, 16], [44, 20]),
    ([-8, 100], [0, 96]),
    ([72, 33], [60, 40]),
    ([5, -17], [9, -25]),
    ([96, 0], [88, 3]),
    ([-40, 64], [-31, 70]),
    ([12, 12], [16, 6]),
    ([60, -90], [64, -80]),
    ([20, 50], [14, 52]),
]
CONSTANT = [
    ([48, 80, 10], [48, 81, 12]),
    ([48, 80, -20], [48, 80, -16]),
    ([48, 80, 36], [48, 79, 30]),
    ([48, 80, 4], [48, 80, 7]),
    ([48, 80, 64], [48, 83, 60]),
    ([48, 80, -2], [48, 80, 1]),
]


def hexes(values):
    return " ".join(float(v).hex() for v in values)


def ints(values):
    return " ".join(str(int(v)) for v in values)


def classification(name, y_true, y_pred, classes):
    labels = list(range(classes))
    cm = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    print(f"{name}.confusion", ints(cm.flatten()))
    print(f"{name}.accuracy", hexes([metrics.accuracy_score(y_true, y_pred)]))
    p, r, f, s = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0)
    print(f"{name}.precision", hexes(p))
    print(f"{name}.recall", hexes(r))
    print(f"{name}.f1", hexes(f))
    print(f"{name}.support", ints(s))
    scorers = [("precision", metrics.precision_score),
               ("recall", metrics.recall_score), ("f1", metrics.f1_score)]
    for score, fn in scorers:
        for average in ("macro", "weighted", "micro"):
            value = fn(y_true, y_pred, labels=labels, average=average,
                       zero_division=0)
            print(f"{name}.{score}_{average}", hexes([value]))


def rmse(y_true, y_pred):
    # mean_squared_error(squared=False) became root_mean_squared_error.
    if hasattr(metrics, "root_mean_squared_error"):
        return metrics.root_mean_squared_error(y_true, y_pred)
    return metrics.mean_squared_error(y_true, y_pred, squared=False)


def regression(name, rows):
    target = np.array([t for t, _ in rows], dtype=np.float64) / 32
    pred = np.array([p for _, p in rows], dtype=np.float64) / 32
    assert (target.astype(np.float32) == target).all()
    assert (pred.astype(np.float32) == pred).all()
    print(f"{name}.shape", ints(target.shape))
    print(f"{name}.target", hexes(target.flatten()))
    print(f"{name}.pred", hexes(pred.flatten()))
    print(f"{name}.mae", hexes([metrics.mean_absolute_error(target, pred)]))
    print(f"{name}.rmse", hexes([rmse(target, pred)]))
    print(f"{name}.r2",
          hexes([metrics.r2_score(target, pred, force_finite=True)]))


def main():
    y_true = np.array([t for t, _ in MULTICLASS])
    scores = np.array([s for _, s in MULTICLASS], dtype=np.float64) / 32
    y_pred = scores.argmax(axis=1)
    for row in scores:
        assert len(set(row)) == len(row), "equal scores in a row"
    assert 2 not in y_pred and 3 not in y_true
    print("multiclass.shape", ints(scores.shape))
    print("multiclass.labels", ints(y_true))
    print("multiclass.scores", hexes(scores.flatten()))
    print("multiclass.predicted", ints(y_pred))
    classification("multiclass", y_true, y_pred, MULTICLASS_CLASSES)
    top_k = [metrics.top_k_accuracy_score(
        y_true, scores, k=k, labels=list(range(MULTICLASS_CLASSES)))
        for k in (1, 2, 3)]
    print("multiclass.top_k_accuracy", hexes(top_k))

    print("binary.labels", ints(BINARY_TRUE))
    print("binary.predicted", ints(BINARY_PRED))
    classification("binary", BINARY_TRUE, BINARY_PRED, 2)

    regression("regression", REGRESSION)
    regression("constant", CONSTANT)


main()
