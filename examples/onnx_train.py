#!/usr/bin/env python3
"""Trains libtinynn's two MNIST example models in PyTorch and exports them
to ONNX, so that libtinynn can import models trained elsewhere and be
checked against what PyTorch predicts with them.

    /usr/bin/python3 examples/onnx_train.py DATADIR OUTDIR

DATADIR holds the four raw MNIST IDX files (e.g. data/mnist, from
scripts/fetch-mnist.sh); pixels are scaled to [0, 1], nothing else. One
epoch each, seed 0, 2 threads:

  mlp  784 -> Linear 512 -> ReLU -> Dropout 0.2 -> Linear 10 -> softmax,
       Adam lr 1e-3, batch 64
  cnn  Conv2d(1,32,3) ReLU MaxPool 2 Conv2d(32,64,3) ReLU MaxPool 2 Flatten
       Dropout 0.5 Linear(1600,10) -> softmax, Adam lr 3e-3, batch 128

Both train with cross-entropy on the logits; the exported model ends in
Softmax, so its output is probabilities. Writes OUTDIR/mlp.onnx and
OUTDIR/cnn.onnx (opset 13, dynamic batch, input (N, 784) and
(N, 1, 28, 28), named input/output) and OUTDIR/mlp-probs.f32 and
OUTDIR/cnn-probs.f32: PyTorch's eval-mode probabilities on the 10,000 test
images, little-endian float32, row-major 10000 x 10. Prints each model's
test accuracy. Needs Debian's python3-torch and python3-onnx.
"""
import os
import sys
import time
import warnings

import numpy as np
import onnx
import torch
from torch import nn


def read_idx(path):
    """An IDX file as a numpy array: magic 0 0 type ndim, big-endian
    uint32 dimensions, then the data (unsigned bytes for MNIST)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError("%s: not an IDX file of unsigned bytes" % path)
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", ndim, 4).astype(int)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(datadir, prefix):
    x = read_idx(os.path.join(datadir, prefix + "-images-idx3-ubyte"))
    y = read_idx(os.path.join(datadir, prefix + "-labels-idx1-ubyte"))
    return (torch.from_numpy(x.astype(np.float32) / 255),
            torch.from_numpy(y.astype(np.int64)))


def mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))


def train_epoch(model, x, y, lr, batch):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for idx in torch.randperm(len(x)).split(batch):
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: onnx_train.py DATADIR OUTDIR")
    datadir, outdir = sys.argv[1:]
    os.makedirs(outdir, exist_ok=True)
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    torch.manual_seed(0)
    train_x, train_y = load(datadir, "train")
    test_x, test_y = load(datadir, "t10k")

    # name, model, input shape after the batch, learning rate, batch
    for name, build, shape, lr, batch in (("mlp", mlp, (784,), 1e-3, 64),
                                          ("cnn", cnn, (1, 28, 28), 3e-3,
                                           128)):
        start = time.time()
        net = build()
        train_epoch(net, train_x.reshape(-1, *shape), train_y, lr, batch)
        model = nn.Sequential(net, nn.Softmax(dim=1)).eval()
        with torch.no_grad():
            probs = model(test_x.reshape(-1, *shape))
        accuracy = (probs.argmax(1) == test_y).float().mean().item()
        path = os.path.join(outdir, name + ".onnx")
        torch.onnx.export(model, torch.zeros(1, *shape), path,
                          opset_version=13, input_names=["input"],
                          output_names=["output"],
                          dynamic_axes={"input": {0: "batch"},
                                        "output": {0: "batch"}})
        onnx.checker.check_model(onnx.load(path), full_check=True)
        probs.numpy().astype("<f4").tofile(
            os.path.join(outdir, name + "-probs.f32"))
        print("%s: test accuracy %.4f (%.1f s)" % (name, accuracy,
                                                   time.time() - start))


if __name__ == "__main__":
    main()
