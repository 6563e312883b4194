#!/usr/bin/python3
"""bench_mlp's and bench_cnn's models in PyTorch, for bench/compare.sh.

    bench/pytorch_mnist.py mlp|cnn DATA_DIR EPOCHS THREADS

The same model, initialisation (Glorot-uniform weights, zero biases),
optimizer, batch size and thread count as the C benchmark; cross-entropy on
the logits (libtinynn fuses the final softmax into the loss in the same
way). Prints the lines compare.sh reads, in the C benchmarks' format:
seconds per epoch (median of all epochs, the first included), inference time
of the test set (median of three passes after a first one that gives the
accuracy) and test accuracy.
"""
import math
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

# Rows per inference call: tnn_model_predict() runs the test set in chunks
# of 256 rows, so PyTorch gets the same.
PREDICT_ROWS = 256


def load_idx(path):
    """An IDX file (MNIST's format) as a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def glorot(model):
    """libtinynn's initialisation: Glorot-uniform weights (fans as Keras,
    which PyTorch's xavier_uniform_ shares for conv kernels), zero biases."""
    for layer in model:
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def mlp(steps):
    """bench_mlp: 784 -> 512 ReLU -> Dropout 0.2 -> 10, Adam 1e-3, batch 64."""
    model = glorot(nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999),
                           eps=1e-7)
    return model, opt, None


def cnn(steps):
    """bench_cnn (examples/mnist_cnn.c without its random shifts): conv
    1->32 3x3, ReLU, maxpool 2, conv 32->64 3x3, ReLU, maxpool 2, flatten,
    dropout 0.5, dense 1600->10; Adam 3e-3 decaying to 0 on a cosine over
    the run's steps; batch 128. Both libraries flatten NCHW images in
    (channel, row, column) order, so the dense layer sees the same
    features."""
    model = glorot(nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10)))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.999),
                           eps=1e-7)
    # libtinynn's schedule: lr_t = lr * (1 + cos(pi * t / steps)) / 2 after
    # t steps.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, steps) / steps)))
    return model, opt, schedule


class LastStep(nn.Module):
    """An LSTM's hidden state at the last step."""

    def __init__(self, lstm):
        super().__init__()
        self.lstm = lstm

    def forward(self, x):
        return self.lstm(x)[0][:, -1, :]


def lstm(steps):
    """bench_lstm (examples/mnist_lstm.c's model): 28 rows of 28 pixels,
    LSTM 128 (PyTorch's initialisation, which the library copies), the
    last step's hidden state, dense 128->10; Adam 2e-3 decaying to 0 on a
    cosine over the run's steps; batch 64."""
    model = glorot(nn.Sequential(
        LastStep(nn.LSTM(28, 128, batch_first=True)), nn.Linear(128, 10)))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.9, 0.999),
                           eps=1e-7)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, steps) / steps)))
    return model, opt, schedule


# Each model's builder and batch size.
MODELS = {"mlp": (mlp, 64), "cnn": (cnn, 128), "lstm": (lstm, 64)}


def blas_library():
    """The BLAS shared object this process loaded (PyTorch's Linear layers
    call it; its convolutions go through oneDNN)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path.rsplit("/", 1)[-1]:
                return path
    return "unknown"


def conv_kernels(model, x):
    """The operators PyTorch's convolutions ran in one forward pass (oneDNN's
    is aten::mkldnn_convolution)."""
    with torch.autograd.profiler.profile() as prof:
        model(x)
    generic = {"aten::conv2d", "aten::convolution", "aten::_convolution"}
    return sorted({e.name for e in prof.function_events
                   if "conv" in e.name and e.name not in generic})


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in MODELS:
        sys.exit("usage: pytorch_mnist.py mlp|cnn|lstm DATA_DIR EPOCHS "
                 "THREADS")
    name, data_dir = sys.argv[1], sys.argv[2]
    epochs, threads = int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(42)

    shape = {"mlp": (-1, 784), "cnn": (-1, 1, 28, 28),
             "lstm": (-1, 28, 28)}[name]
    def images(file):
        x = load_idx(f"{data_dir}/{file}").reshape(shape)
        return torch.from_numpy(x.astype(np.float32) / 255.0)

    def labels(file):
        return torch.from_numpy(load_idx(f"{data_dir}/{file}").astype(np.int64))

    x, y = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
    xt, yt = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")
    build, batch = MODELS[name]
    model, opt, schedule = build(epochs * math.ceil(x.shape[0] / batch))
    loss_fn = nn.CrossEntropyLoss()

    print(f"PyTorch {torch.__version__}, BLAS {blas_library()}, "
          f"{torch.get_num_threads()} thread(s)")
    info = torch.__config__.parallel_info().splitlines()
    for line in info[:5] + info[-1:]:
        print("  " + line.replace("\t", "  "))
    if name == "cnn":
        print("  convolutions: " + ", ".join(conv_kernels(model, x[:2])))
    sys.stdout.flush()

    # Training: a fresh shuffle each epoch, as tnn_model_fit() does.
    seconds = []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], batch):
            rows = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[rows]), y[rows]).backward()
            opt.step()
            if schedule:
                schedule.step()
        seconds.append(time.perf_counter() - start)

    # Inference: probabilities, as tnn_model_predict() returns them.
    model.eval()

    def predict():
        with torch.no_grad():
            return torch.cat([torch.softmax(model(xt[i:i + PREDICT_ROWS]), 1)
                              for i in range(0, xt.shape[0], PREDICT_ROWS)])

    accuracy = (predict().argmax(1) == yt).float().mean().item()
    passes = []
    for _ in range(3):
        start = time.perf_counter()
        predict()
        passes.append(time.perf_counter() - start)

    print("epoch times                   "
          + " ".join(f"{s:.3f}" for s in seconds) + " s")
    print(f"epoch time (median of {epochs})    "
          f"{statistics.median(seconds):8.3f} s")
    print(f"inference, {xt.shape[0]} images       "
          f"{1e3 * statistics.median(passes):8.1f} ms")
    print(f"test accuracy                 {100 * accuracy:8.2f} %")


if __name__ == "__main__":
    main()
