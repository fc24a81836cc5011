#!/usr/bin/env python3
"""Reference peer: the graphtrain MNIST models in PyTorch, for side-by-side figures.

Same models, same batch size, same optimizer as graphtrain's defaults (Adam, lr 1e-3, batch
128); the data set is put on the device once, as graphtrain does. Every epoch is a full pass
over the 60000 training images, timed from the first step to the last (the test accuracy after
it is not timed); samples_per_second is that of the fastest epoch.

On a GPU (cuda/scripts/gpu-run.sh runs it so; see docs/GPU.md):
  python3 torch_mnist.py --data-dir DIR --model mlp --epochs 3 --device cuda --json
On the CPU, with the threads pinned as graphtrain's GOMAXPROCS is (make bench-peers runs it so):
  python3 torch_mnist.py --data-dir DIR --model cnn --device cpu --threads 2 --json

DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
t10k-labels-idx1-ubyte.gz (graphtrain data fetch puts them in its cache). Prints one line per
epoch and, with --json, one JSON object last.

Where OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE are set for an older OpenBLAS, unset them for this
command alone (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 ...): with them a current
OpenBLAS runs the MLP's products about 3x slower (docs/DESIGN.md, "CPU peers").
"""
import argparse, gzip, json, math, os, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    # A writable copy: torch.tensor warns about read-only buffers.
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def load(data_dir, split, device):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.tensor(x, dtype=torch.float32, device=device).div_(255.0).unsqueeze(1)
    y = torch.tensor(y, dtype=torch.int64, device=device)
    return x, y


class MLP(nn.Module):
    def __init__(self, hidden=256):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class LeNet(nn.Module):
    """conv 6@5x5 pad 2, relu, maxpool 2, conv 16@5x5, relu, maxpool 2, fc 120, fc 84, fc 10."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.f1 = nn.Linear(16 * 5 * 5, 120)
        self.f2 = nn.Linear(120, 84)
        self.f3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.relu(self.f1(x.flatten(1)))
        x = F.relu(self.f2(x))
        return self.f3(x)


def from_description(text, channels=1, side=28):
    """The nn.Sequential of a graphtrain model description (README, "Your own network"):
    dense(N), conv(F,K) with stride= and pad= (a number or same), maxpool(K) and avgpool(K)
    with stride=, relu, leakyrelu(A), sigmoid, tanh, dropout(P), batchnorm (a dense or conv
    before it has no bias, as in graphtrain), flatten (implied before the first dense after a
    conv); '#' starts a comment. Layers are made in graphtrain's order, each PyTorch's default
    initialisation, as graphtrain draws its own: uniform in +-1/sqrt(fan_in)."""
    import re
    text = "\n".join(line.split("#")[0] for line in text.splitlines())
    tokens = re.findall(r"([a-z]+)(?:\(([^)]*)\))?", text)
    layers, shape = [], (channels, side, side)  # (C, H, W), or (N,) after a flatten
    for i, (name, args) in enumerate(tokens):
        pos, keys = [], {}
        for a in filter(None, (x.strip() for x in (args or "").split(","))):
            k, eq, v = a.partition("=")
            (keys.__setitem__(k, v) if eq else pos.append(float(a)))
        bias = not (i + 1 < len(tokens) and tokens[i + 1][0] == "batchnorm")
        if name == "dense" and len(shape) == 3:
            layers.append(nn.Flatten())
            shape = (shape[0] * shape[1] * shape[2],)
        if name == "dense":
            layers.append(nn.Linear(shape[0], int(pos[0]), bias=bias))
            shape = (int(pos[0]),)
        elif name == "conv":
            f, k = int(pos[0]), int(pos[1])
            stride = int(keys.get("stride", 1))
            pad = (k - 1) // 2 if keys.get("pad") == "same" else int(keys.get("pad", 0))
            layers.append(nn.Conv2d(shape[0], f, k, stride=stride, padding=pad, bias=bias))
            h, w = (shape[1] + 2 * pad - k) // stride + 1, (shape[2] + 2 * pad - k) // stride + 1
            shape = (f, h, w)
        elif name in ("maxpool", "avgpool"):
            k = int(pos[0])
            stride = int(keys.get("stride", k))
            layers.append((nn.MaxPool2d if name == "maxpool" else nn.AvgPool2d)(k, stride))
            shape = (shape[0], (shape[1] - k) // stride + 1, (shape[2] - k) // stride + 1)
        elif name == "flatten":
            layers.append(nn.Flatten())
            shape = (shape[0] * shape[1] * shape[2],)
        elif name in ("relu", "sigmoid", "tanh"):
            layers.append({"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[name]())
        elif name == "leakyrelu":
            layers.append(nn.LeakyReLU(pos[0] if pos else 0.01))
        elif name == "dropout":
            layers.append(nn.Dropout(pos[0]))
        elif name == "batchnorm":
            layers.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
        else:
            raise SystemExit(f"torch_mnist.py: layer {name!r}: not in this peer's descriptions")
    return nn.Sequential(*layers)


def make_optimizer(model, a):
    """The solver graphtrain's --solver names, with its defaults: momentum 0.9, Adam's betas
    (0.9, 0.999) and eps 1e-8; adamw decays only weights with two or more dimensions longer
    than 1 (graphtrain's rule: no biases, no batch-norm scales)."""
    params = list(model.parameters())
    if a.solver == "sgd":
        return torch.optim.SGD(params, lr=a.lr)
    if a.solver == "momentum":
        return torch.optim.SGD(params, lr=a.lr, momentum=0.9)
    if a.solver == "adam":
        return torch.optim.Adam(params, lr=a.lr)
    decay = [p for p in params if sum(d > 1 for d in p.shape) >= 2]
    rest = [p for p in params if sum(d > 1 for d in p.shape) < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=a.lr)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--arch", default=None, help="a graphtrain model description, instead of --model")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--solver", choices=["adam", "adamw", "sgd", "momentum"], default="adam")
    p.add_argument("--weight-decay", type=float, default=0.01, help="adamw's decoupled weight decay")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--lr-schedule", choices=["constant", "cosine", "onecycle"], default="constant",
                   help="as graphtrain's: cosine per epoch, onecycle OneCycleLR step by step")
    p.add_argument("--target-accuracy", type=float, default=0.0,
                   help="stop after the first epoch whose test accuracy reaches it")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    p.add_argument("--compile", nargs="?", const="default", default=None,
                   help="use torch.compile, optionally naming its mode (reduce-overhead: CUDA graphs)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    xtr, ytr = load(a.data_dir, "train", device)
    xte, yte = load(a.data_dir, "test", device)
    if a.arch:
        model, a.model = from_description(a.arch).to(device), "arch"
    else:
        model = (MLP(a.hidden) if a.model == "mlp" else LeNet()).to(device)
    step_model = torch.compile(model, mode=a.compile) if a.compile else model
    opt = make_optimizer(model, a)
    n = xtr.shape[0]
    steps = (n + a.batch - 1) // a.batch
    sched = None
    if a.lr_schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.epochs * steps)
    epoch_times = []
    for epoch in range(1, a.epochs + 1):
        if a.lr_schedule == "cosine":  # graphtrain's: lr/2·(1 + cos(π·(epoch−1)/epochs)) for the epoch
            for g in opt.param_groups:
                g["lr"] = a.lr / 2 * (1 + math.cos(math.pi * (epoch - 1) / a.epochs))
        sync(device)
        t0 = time.perf_counter()
        perm = torch.randperm(n, device=device)
        model.train()
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            loss = F.cross_entropy(step_model(xtr[idx]), ytr[idx], label_smoothing=a.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched:
                sched.step()
        sync(device)
        dt = time.perf_counter() - t0
        epoch_times.append(dt)
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xte[i:i + 10000]).argmax(1) == yte[i:i + 10000]).sum())
                          for i in range(0, xte.shape[0], 10000))
        acc = correct / xte.shape[0]
        print(f"epoch {epoch}: {dt:.3f} s, {n / dt:.0f} samples/s, loss {loss.item():.4f}, test accuracy {acc:.4f}", flush=True)
        if a.target_accuracy and acc >= a.target_accuracy:
            break

    if a.json:
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        print(json.dumps({
            "peer": "pytorch", "torch": torch.__version__, "device": name, "model": a.model,
            "batch": a.batch, "epochs": a.epochs, "threads": torch.get_num_threads(), "compile": a.compile,
            "epoch_seconds": epoch_times, "best_epoch_seconds": min(epoch_times),
            "samples_per_second": n / min(epoch_times), "test_accuracy": acc,
            "training_seconds": sum(epoch_times), "epochs_run": len(epoch_times),
        }))


if __name__ == "__main__":
    main()
