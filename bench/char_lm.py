#!/usr/bin/python3
"""examples/char_lm.c's character-level language model in PyTorch: the
same words, windows, model, initialisation, optimizer, schedule, batch
size and epochs, so that `char_lm --reference FILE` can compare the
library's final validation loss with PyTorch's without PyTorch.

    OMP_WAIT_POLICY=passive /usr/bin/python3 bench/char_lm.py \\
        [--dict PATH] [--epochs N] [--seed N] [--batch N] [--max-words N] \\
        [--threads N] [--out FILE]

With the defaults (4 epochs, seed 1, batch 64, all words: char_lm's) it
prints each epoch's figures, then the median seconds of an epoch's
training and the final validation loss as char_lm and the benchmarks
print them (bench/compare_seq.sh reads those lines). With --out it also
writes FILE; bench/char_lm-pytorch.txt, which make demo-seq compares
with, is made by `bench/char_lm.py --out bench/char_lm-pytorch.txt`. The
file holds a comment naming torch's version and the CPU; a settings
line, which char_lm checks against its own run (epochs, batch, seed,
max_words, the window counts and data_fnv1a, the FNV-1a hash of both
streams' ids: the same data); then one line per epoch with the training
loss, the validation loss in nats (what char_lm compares), bits per
character, the validation accuracy and the seconds of the epoch's
training (its evaluation left out, as char_lm reports it).

Two threads by default (torch.set_num_threads), as the C run on two
cores. OMP_WAIT_POLICY passive (set here before torch loads, unless the
environment says otherwise) keeps the OpenMP threads from spinning
between the small products, which on two cores costs the other thread
its core.

The data (as char_lm.c reads it):
  - the words of the file, one a line, made only of the letters a-z
    (capitals, apostrophes and any other byte drop the word), in file
    order; --max-words N keeps the first N of them;
  - ids: 0 is the end of a word ('\\n'), 1..26 are 'a'..'z';
  - a word goes to validation when (FNV-1a 32-bit hash of its bytes xor
    the seed) % 10 == 0, else to training;
  - each split's stream is its words, each followed by '\\n', in the
    order of the FNV-1a hash of the seed (4 bytes, little-endian) and the
    word (ties by the word), cut into non-overlapping windows of 33
    characters starting at
    multiples of 32: the input is the window's first 32 ids, the target
    at each step the next character's id.

The model: embedding(27, 64) + learned positions (32, 64); 2 pre-norm
blocks, x + attention(layernorm(x)) (4 heads, causal, no dropout) then x +
dense(GELU(dense(layernorm(x)))) (64 -> 256 -> 64); a final layernorm and
dense(64, 27) on every step; cross-entropy over every step of every
window. Initialised as libtinynn does: dense (nn.Linear) weights
Glorot-uniform (xavier_uniform_), biases zero; both embeddings N(0, 1)
(nn.Embedding's default); MultiheadAttention as PyTorch makes it, which
the library copies. Adam (betas 0.9, 0.999, eps 1e-7: the library's
defaults) at 3e-3, decaying to 0 on the library's cosine over the run's
steps, batch 64, windows shuffled each epoch.
"""
import argparse
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402  (after OMP_WAIT_POLICY)
from torch import nn  # noqa: E402

TIME = 32          # steps a window predicts
VOCAB = 27         # '\n' and a-z
WIDTH = 64
HEADS = 4
HIDDEN = 256
BLOCKS = 2
LR = 3e-3
EPS = 1e-7
EVAL_ROWS = 256    # windows per evaluation batch


def fnv1a32(data):
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def read_words(path, max_words):
    try:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
    except OSError as e:
        sys.exit("char_lm.py: cannot read %s: %s (Debian's word list: "
                 "apt-get install wamerican)" % (path, e.strerror))
    words = [w for w in lines if re.fullmatch(rb"[a-z]+", w)]
    return words[:max_words] if max_words > 0 else words


def stream_of(words):
    """The ids of a split: its words, each followed by 0 ('\\n')."""
    stream = []
    for w in words:
        stream.extend(c - ord("a") + 1 for c in w)
        stream.append(0)
    return stream


def windows(stream):
    """(inputs, targets), each (windows, TIME) int64, of one split's
    stream."""
    count = (len(stream) - 1) // TIME if len(stream) > TIME else 0
    data = torch.tensor(stream[:count * TIME + 1], dtype=torch.int64)
    x = torch.stack([data[i * TIME:i * TIME + TIME] for i in range(count)]) \
        if count else torch.zeros(0, TIME, dtype=torch.int64)
    y = torch.stack([data[i * TIME + 1:i * TIME + TIME + 1]
                     for i in range(count)]) \
        if count else torch.zeros(0, TIME, dtype=torch.int64)
    return x, y


def split(words, seed):
    """Training and validation words, each in the order of the FNV-1a
    hash of the seed (4 bytes, little-endian) and the word, ties by the
    word, as char_lm does: neighbours in a stream are not alphabetical
    neighbours."""
    seed_bytes = seed.to_bytes(4, "little")
    words = sorted(words, key=lambda w: (fnv1a32(seed_bytes + w), w))
    train = [w for w in words if (fnv1a32(w) ^ seed) % 10 != 0]
    val = [w for w in words if (fnv1a32(w) ^ seed) % 10 == 0]
    return train, val


def linear(n_in, n_out):
    """libtinynn's dense layer: Glorot-uniform weights, zero bias."""
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class Block(nn.Module):
    """x + attention(layernorm(x)), then x + dense(GELU(dense(layernorm
    (x))))."""

    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(WIDTH)
        # PyTorch's own initialisation, which tnn_attention_new() copies.
        self.attention = nn.MultiheadAttention(WIDTH, HEADS, dropout=0.0,
                                               batch_first=True)
        self.norm2 = nn.LayerNorm(WIDTH)
        self.up = linear(WIDTH, HIDDEN)
        self.down = linear(HIDDEN, WIDTH)
        self.register_buffer(
            "mask", torch.triu(torch.ones(TIME, TIME, dtype=torch.bool), 1))

    def forward(self, x):
        h = self.norm1(x)
        a, _ = self.attention(h, h, h, attn_mask=self.mask,
                              need_weights=False)
        x = x + a
        return x + self.down(nn.functional.gelu(self.up(self.norm2(x))))


class CharLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, WIDTH)     # N(0, 1)
        self.positions = nn.Embedding(TIME, WIDTH)      # N(0, 1)
        self.blocks = nn.Sequential(*[Block() for _ in range(BLOCKS)])
        self.norm = nn.LayerNorm(WIDTH)
        self.head = linear(WIDTH, VOCAB)

    def forward(self, ids):
        x = self.embedding(ids) + self.positions.weight
        return self.head(self.norm(self.blocks(x)))     # logits


def evaluate(model, x, y):
    """Mean cross-entropy (nats) over every step, and accuracy."""
    model.eval()
    loss_sum, hits = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), EVAL_ROWS):
            logits = model(x[i:i + EVAL_ROWS])
            target = y[i:i + EVAL_ROWS]
            loss_sum += nn.functional.cross_entropy(
                logits.reshape(-1, VOCAB), target.reshape(-1),
                reduction="sum").item()
            hits += (logits.argmax(-1) == target).sum().item()
    model.train()
    steps = y.numel()
    return loss_sum / steps, hits / steps


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dict", default="/usr/share/dict/american-english")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--max-words", type=int, default=0,
                   help="use only the first N words kept (0: all)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="write the numbers file char_lm "
                   "--reference reads (bench/char_lm-pytorch.txt)")
    a = p.parse_args()
    if not (1 <= a.epochs <= 1000 and a.batch >= 1 and a.max_words >= 0
            and 0 <= a.seed <= 0x7FFFFFFF and a.threads >= 1):
        sys.exit("char_lm.py: --epochs must be in [1, 1000], --batch and "
                 "--threads >= 1, --max-words >= 0, --seed in [0, 2^31 - 1]")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    words = read_words(a.dict, a.max_words)
    train_words, val_words = split(words, a.seed)
    train_stream, val_stream = stream_of(train_words), stream_of(val_words)
    x_train, y_train = windows(train_stream)
    x_val, y_val = windows(val_stream)
    # What char_lm checks it has too: both streams' ids, as bytes.
    data_hash = fnv1a32(bytes(train_stream) + bytes(val_stream))
    if len(x_train) == 0 or len(x_val) == 0:
        sys.exit("char_lm.py: too few words for a window in each split")
    rows = len(x_train)
    per_epoch = (rows + a.batch - 1) // a.batch
    total = per_epoch * a.epochs

    model = CharLM()
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999),
                           eps=EPS)
    # tnn_optim_set_cosine_schedule(opt, total, 0): after t steps the
    # rate is LR * (1 + cos(pi * min(t, total) / total)) / 2.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total) / total)))

    settings = ("settings epochs %d batch %d seed %d max_words %d "
                "train_windows %d val_windows %d data_fnv1a %d time %d "
                "width %d heads %d blocks %d hidden %d lr %g schedule cosine"
                % (a.epochs, a.batch, a.seed, a.max_words, rows, len(x_val),
                   data_hash, TIME, WIDTH, HEADS, BLOCKS, HIDDEN, LR))
    loss0, acc0 = evaluate(model, x_val, y_val)
    print("torch %s, %d threads, %s\n%d words: %d training windows, %d "
          "validation windows\n%s\ninitial validation loss %.4f (ln 27 = "
          "%.4f)" % (torch.__version__, torch.get_num_threads(), cpu_model(),
                     len(words), rows, len(x_val), settings, loss0,
                     math.log(VOCAB)), flush=True)
    lines, times = [], []
    for epoch in range(1, a.epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(rows)
        loss_sum = 0.0
        for i in range(0, rows, a.batch):
            idx = order[i:i + a.batch]
            logits = model(x_train[idx])
            loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB),
                                               y_train[idx].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            loss_sum += loss.item() * len(idx)
        seconds = time.perf_counter() - started
        times.append(seconds)
        val_loss, val_acc = evaluate(model, x_val, y_val)
        line = ("epoch %d train_loss %.6f val_loss %.6f val_bpc %.6f "
                "val_accuracy %.6f seconds %.2f"
                % (epoch, loss_sum / rows, val_loss, val_loss / math.log(2),
                   val_acc, seconds))
        print(line, flush=True)
        lines.append(line)
    print("epoch time (median of %d)    %.3f s" % (len(times),
                                                 statistics.median(times)))
    print("final validation loss         %.4f nats" % val_loss)
    print("final validation bits/char    %.4f bits" % (val_loss / math.log(2)))
    print("final validation accuracy     %.2f %%" % (100 * val_acc))
    if a.out:
        with open(a.out, "w") as f:
            f.write("# char_lm reference: torch %s, %d threads, %s "
                    "(bench/char_lm.py)\n" % (torch.__version__,
                                              torch.get_num_threads(),
                                              cpu_model()))
            f.write(settings + "\n")
            for line in lines:
                f.write(line + "\n")
        print("wrote %s" % a.out)


main()
