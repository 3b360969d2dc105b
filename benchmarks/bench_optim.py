"""Per-step time of lrbook.optim vs torch.optim (CPU), printed as a markdown table.

Model: 25 dense 200x200 layers with biases = 50 tensors, 1,005,000 float32
parameters, with fixed random gradients. For every optimizer the three
implementations (lrbook, torch default, torch ``foreach=False``) are timed in
the same run, interleaved round by round, and the median time per ``step()``
is reported with ratios to torch's ``foreach=False`` path (the single-tensor
loop lrbook mirrors). On CPU torch's default is also the single-tensor path,
so the two torch columns should agree.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_optim.py [--repeats 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import lrbook.optim as lo

OPTIMIZERS = [
    # (label, lrbook factory, torch factory, kwargs); foreach is added for torch
    ("SGD", lo.SGD, torch.optim.SGD, dict(lr=1e-3)),
    ("SGD momentum+nesterov", lo.SGD, torch.optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True)),
    ("Adagrad", lo.Adagrad, torch.optim.Adagrad, dict(lr=1e-2)),
    ("RMSprop", lo.RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
    ("RMSprop centered+momentum", lo.RMSprop, torch.optim.RMSprop, dict(lr=1e-3, centered=True, momentum=0.9)),
    ("Adadelta", lo.Adadelta, torch.optim.Adadelta, dict()),
    ("Adam", lo.Adam, torch.optim.Adam, dict(lr=1e-3)),
    ("Adam amsgrad", lo.Adam, torch.optim.Adam, dict(lr=1e-3, amsgrad=True)),
    ("AdamW", lo.AdamW, torch.optim.AdamW, dict(lr=1e-3)),
    ("Adamax", lo.Adamax, torch.optim.Adamax, dict(lr=1e-3)),
    ("NAdam", lo.NAdam, torch.optim.NAdam, dict(lr=1e-3)),
    ("RAdam", lo.RAdam, torch.optim.RAdam, dict(lr=1e-3)),
    ("Adafactor", lo.Adafactor, torch.optim.Adafactor, dict(lr=1e-2)),
]


def make_params(num_layers: int = 25, width: int = 200, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    params = []
    for _ in range(num_layers):
        for shape in ((width, width), (width,)):
            p = (0.05 * torch.randn(shape, generator=g)).requires_grad_(True)
            p.grad = torch.randn(shape, generator=g)
            params.append(p)
    return params


def time_steps(opt: torch.optim.Optimizer, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        opt.step()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="rounds (each times every implementation)")
    parser.add_argument("--steps-per-round", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    n_params = sum(p.numel() for p in make_params())
    print(f"torch {torch.__version__}, {args.threads} thread(s), model: 50 tensors, {n_params:,} parameters, "
          f"median of {args.repeats * args.steps_per_round} steps\n")
    print("| optimizer | lrbook (ms) | torch default (ms) | torch foreach=False (ms) "
          "| lrbook / foreach=False | lrbook / default |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, ours, theirs, kw in OPTIMIZERS:
        impls = {
            "lrbook": ours(make_params(), **kw),
            "default": theirs(make_params(), **kw),
            "single": theirs(make_params(), foreach=False, **kw),
        }
        for opt in impls.values():  # warm-up (lazy state creation)
            time_steps(opt, 2)
        times: dict[str, list[float]] = {k: [] for k in impls}
        for _ in range(args.repeats):
            for key, opt in impls.items():
                times[key] += time_steps(opt, args.steps_per_round)
        med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
        print(f"| {label} | {med['lrbook']:.2f} | {med['default']:.2f} | {med['single']:.2f} "
              f"| {med['lrbook'] / med['single']:.2f} | {med['lrbook'] / med['default']:.2f} |")


if __name__ == "__main__":
    main()
