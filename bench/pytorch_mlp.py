#!/usr/bin/python3
"""The MNIST experiment of bench_mlp in PyTorch, for comparison.

Same model (784 -> 512 ReLU -> Dropout 0.2 -> 10), Adam (1e-3, 0.9, 0.999,
eps 1e-7), cross-entropy on logits, shuffled batches of 64, same thread
count. Prints the median seconds per epoch and the test accuracy in the
format bench/compare.sh reads.
"""
import statistics
import sys
import time

import numpy as np
import torch


def load_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "data/mnist"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(42)

    def images(name):
        x = load_idx(f"{data_dir}/{name}").reshape(-1, 784)
        return torch.from_numpy(x.astype(np.float32) / 255.0)

    def labels(name):
        return torch.from_numpy(load_idx(f"{data_dir}/{name}").astype(np.int64))

    x, y = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
    xt, yt = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")

    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(512, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999),
                           eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds = []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], 64):
            idx = perm[i:i + 64]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        accuracy = (model(xt).argmax(1) == yt).float().mean().item()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"epoch time (median of {epochs})    {statistics.median(seconds):8.3f} s")
    print(f"test accuracy                 {100 * accuracy:8.2f} %")


if __name__ == "__main__":
    main()
