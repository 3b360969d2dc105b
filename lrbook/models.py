r"""Models of the case studies and a vectorised trainer for many of them at once.

Models
------
The four MNIST-1D baselines follow the reference implementation of
Greydanus (2020), *Scaling Down Deep Learning* (arXiv:2011.14439; repository
``greydanus/mnist1d``, ``notebooks/models.py``). Inputs are signals of shape
``(B, 40)``; outputs are logits of shape ``(B, 10)``.

- :class:`LogisticRegression` -- one linear layer 40 -> 10.
- :class:`MLP` -- 40 -> h -> h -> 10 with ReLU and a residual second layer,
  ``h = relu(W1 x); h = h + relu(W2 h); W3 h`` (reference: ``MLPBase``).
- :class:`CNN1D` -- three 1-D convolutions (25 channels, kernels 5, 3, 3,
  stride 2, padding 1, ReLU) giving 25 x 5 features, then a linear layer
  125 -> 10 (reference: ``ConvBase``).
- :class:`GRU1D` -- a bidirectional GRU with 6 hidden units per direction
  reading the signal one value per time step; all 40 x 12 outputs are
  flattened into a linear layer 480 -> 10 (reference: ``GRUBase``).

For real 28 x 28 digits, :class:`MnistCNN` is a small LeNet-like network:
two 3 x 3 convolutions with ReLU and 2 x 2 max-pooling (``c1`` and ``c2``
channels), then a linear layer to 10 classes; input ``(B, 1, 28, 28)``. With
``downsample="stride"`` the two convolutions are 5 x 5 with stride 2 and no
pooling (the all-convolutional design of Springenberg et al. 2015, *Striving
for Simplicity: The All Convolutional Net*, arXiv:1412.6806): the same 7 x 7
maps reach the linear layer, but no 28 x 28 feature map is ever computed.

Training
--------
:func:`train_vmapped` trains every (optimizer, learning rate, seed) member of
a population side by side for any ``nn.Module`` without batch statistics
(convolutions included): the weights of each (optimizer, lr) pair are leaf
tensors with a leading seed dimension, and all members are evaluated with
one ``torch.func.vmap`` over ``torch.func.functional_call``. Each member's loss
depends only on its own weights, so it receives exactly its own gradient, as
in a separate run (checked against :func:`train_steps` in the tests). The
optimizers must be element-wise (SGD, Adagrad, the Adam family), like in
:func:`lrbook.compare.train_population`. A learning-rate schedule is given as
a multiplier ``factor(step)`` of each member's base rate ``\eta_0``
(``\eta_t = \eta_0 \cdot factor(t)``, as ``torch.optim.lr_scheduler.LambdaLR``).

:func:`train_steps` trains one model for a number of steps with the same
minibatches, schedule and evaluation, and records the wall-clock time at every
evaluation (for time-to-target measurements).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

import lrbook.data

__all__ = [
    "CNN1D",
    "GRU1D",
    "MLP",
    "LogisticRegression",
    "MnistCNN",
    "PopulationRun",
    "SingleRun",
    "count_params",
    "steps_to_target",
    "train_steps",
    "train_vmapped",
]

OptimizerFactory = Callable[[Any, float], torch.optim.Optimizer]


def count_params(model: nn.Module) -> int:
    """Number of trainable scalars of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class LogisticRegression(nn.Module):
    """Multinomial logistic regression: logits ``W x + b``; ``(B, d) -> (B, k)``."""

    def __init__(self, num_in: int = 40, num_out: int = 10) -> None:
        super().__init__()
        self.linear = nn.Linear(num_in, num_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x)


class MLP(nn.Module):
    """Greydanus's MNIST-1D MLP: ``h = relu(W1 x); h = h + relu(W2 h); logits = W3 h``.

    ``(B, num_in) -> (B, num_out)``; ``hidden`` units (reference default 100).
    """

    def __init__(self, num_in: int = 40, num_out: int = 10, hidden: int = 100) -> None:
        super().__init__()
        if hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got {hidden}")
        self.linear1 = nn.Linear(num_in, hidden)
        self.linear2 = nn.Linear(hidden, hidden)
        self.linear3 = nn.Linear(hidden, num_out)

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


class CNN1D(nn.Module):
    """Greydanus's MNIST-1D CNN: three strided 1-D convolutions and a linear read-out.

    Input ``(B, length)`` (a channel dimension is added), output ``(B, num_out)``.
    Lengths go 40 -> 19 -> 10 -> 5 for the default ``length=40``, so the read-out
    sees ``channels * 5 = 125`` features, as in the reference.
    """

    def __init__(self, num_out: int = 10, channels: int = 25, length: int = 40) -> None:
        super().__init__()
        if channels < 1 or length < 8:
            raise ValueError(f"need channels >= 1 and length >= 8, got {channels}, {length}")
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        n = length
        for k in (5, 3, 3):
            n = (n + 2 - k) // 2 + 1
        self.linear = nn.Linear(channels * n, num_out)

    def forward(self, x: Tensor) -> Tensor:
        h = x.reshape(-1, 1, x.shape[-1])
        h = self.conv1(h).relu()
        h = self.conv2(h).relu()
        h = self.conv3(h).relu()
        return self.linear(h.flatten(1))


class GRU1D(nn.Module):
    """Greydanus's MNIST-1D GRU: bidirectional, ``hidden`` units per direction.

    Input ``(B, length)`` read as ``length`` time steps of one value; the
    outputs at every step of both directions, ``(B, length * 2 * hidden)``,
    feed a linear layer to ``num_out`` logits. Initial state zero.
    """

    def __init__(self, num_out: int = 10, hidden: int = 6, length: int = 40) -> None:
        super().__init__()
        if hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got {hidden}")
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden * length, num_out)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.gru(x.unsqueeze(-1))
        return self.linear(out.flatten(1))


class MnistCNN(nn.Module):
    """A small CNN for 28 x 28 digits: two convolutions with ReLU, then a linear layer.

    ``downsample="pool"`` (default): (conv 3x3, padding 1 -> ReLU -> maxpool 2) x 2,
    feature maps 28 -> 14 -> 7. ``downsample="stride"``: (conv 5x5, stride 2,
    padding 2 -> ReLU) x 2, feature maps 14 -> 7 (no pooling). Either way the
    linear layer reads ``c2 x 7 x 7`` features.

    Input ``(B, 1, 28, 28)`` (or ``(B, 784)``, reshaped), output ``(B, 10)``;
    ``c1`` and ``c2`` channels (default 8 and 16: 80 + 1,168 + 7,850 = 9,098
    weights with pooling; 208 + 3,216 + 7,850 = 11,274 with strides).

    Raises ``ValueError`` for non-positive ``c1`` / ``c2`` or an unknown ``downsample``.
    """

    def __init__(self, c1: int = 8, c2: int = 16, num_out: int = 10, downsample: str = "pool") -> None:
        super().__init__()
        if c1 < 1 or c2 < 1:
            raise ValueError(f"c1 and c2 must be positive integers, got {c1}, {c2}")
        if downsample not in ("pool", "stride"):
            raise ValueError(f"downsample must be 'pool' or 'stride', got {downsample!r}")
        self.pool = downsample == "pool"
        k, stride = (3, 1) if self.pool else (5, 2)
        self.conv1 = nn.Conv2d(1, c1, k, stride=stride, padding=k // 2)
        self.conv2 = nn.Conv2d(c1, c2, k, stride=stride, padding=k // 2)
        self.linear = nn.Linear(c2 * 7 * 7, num_out)

    def forward(self, x: Tensor) -> Tensor:
        h = x.reshape(-1, 1, 28, 28)
        for conv in (self.conv1, self.conv2):
            h = conv(h).relu()
            if self.pool:
                h = nn.functional.max_pool2d(h, 2)
        return self.linear(h.flatten(1))


# --------------------------------------------------------------------------
# minibatches and evaluation
# --------------------------------------------------------------------------


def _endless(X: Tensor, y: Tensor, batch_size: int, seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Seeded minibatches, epoch after epoch (a new permutation each epoch)."""
    data = lrbook.data.batches(X, y, batch_size, generator=torch.Generator().manual_seed(seed))
    while True:
        yield from data


def _check_budget(num_steps: int, eval_every: int, batch_size: int) -> None:
    for name, v in (("num_steps", num_steps), ("eval_every", eval_every),
                    ("batch_size", batch_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def steps_to_target(steps: Sequence[int], acc: Sequence[float], target: float) -> float:
    """The first evaluated step at which ``acc >= target``; ``inf`` if never reached.

    ``steps[i]`` and ``acc[i]`` come from the same evaluation (as in AlgoPerf's
    time-to-result, measured at evaluation points only).
    """
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    if steps.shape != acc.shape:
        raise ValueError(f"steps and acc differ in length: {steps.size} vs {acc.size}")
    hit = np.nonzero(acc >= target)[0]
    return float(steps[hit[0]]) if hit.size else math.inf


# --------------------------------------------------------------------------
# one model
# --------------------------------------------------------------------------


@dataclass
class SingleRun:
    """Result of :func:`train_steps`.

    ``history`` has one row per evaluation: ``step``, ``seconds`` (training
    wall-clock so far, evaluation excluded), ``lr`` and ``{split}_loss``,
    ``{split}_acc`` for every evaluation split. ``model`` is the trained model.
    """

    history: pd.DataFrame
    model: nn.Module
    seconds: float


@torch.no_grad()
def _eval_model(model: nn.Module, X: Tensor, y: Tensor, chunk: int = 2000) -> tuple[float, float]:
    model.eval()
    loss, correct = 0.0, 0
    for a in range(0, len(X), chunk):
        out = model(X[a:a + chunk])
        loss += float(nn.functional.cross_entropy(out, y[a:a + chunk], reduction="sum"))
        correct += int((out.argmax(-1) == y[a:a + chunk]).sum())
    model.train()
    return loss / len(X), correct / len(X)


def train_steps(
    make_model: Callable[[], nn.Module],
    make_optimizer: OptimizerFactory,
    lr: float,
    seed: int,
    X_train: Tensor,
    y_train: Tensor,
    evals: Mapping[str, tuple[Tensor, Tensor]],
    num_steps: int,
    batch_size: int,
    factor: Callable[[int], float] | None = None,
    eval_every: int = 100,
    augment: Callable[[Tensor, torch.Generator], Tensor] | None = None,
) -> SingleRun:
    r"""Train one model for ``num_steps`` minibatch steps with the cross-entropy loss.

    ``torch.manual_seed(seed)`` draws the initial weights; the minibatches come
    from a generator seeded with ``seed`` (a fresh permutation every epoch).
    ``factor(t)`` scales the base rate (``\eta_t = lr \cdot factor(t)`` for the
    update of step ``t``, ``t = 0, 1, ...``); ``augment(x, generator)``
    transforms each training batch (its generator is seeded with ``seed + 1``).
    Every ``eval_every`` steps (and after the last) the model is evaluated on
    every split of ``evals``; the clock stops during evaluation.

    Raises ``ValueError`` for non-positive ``num_steps``, ``eval_every``,
    ``batch_size`` or ``lr``.
    """
    _check_budget(num_steps, eval_every, batch_size)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    torch.manual_seed(seed)
    model = make_model().to(device=X_train.device, dtype=X_train.dtype)
    optimizer = make_optimizer(model.parameters(), lr)
    scheduler = (torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
                 if factor is not None else None)
    aug_gen = torch.Generator().manual_seed(seed + 1)
    data = _endless(X_train, y_train, batch_size, seed)
    rows, seconds = [], 0.0

    def record(step: int) -> None:
        row = {"step": step, "seconds": seconds, "lr": optimizer.param_groups[0]["lr"]}
        for split, (X, y) in evals.items():
            row[f"{split}_loss"], row[f"{split}_acc"] = _eval_model(model, X, y)
        rows.append(row)

    record(0)
    for step in range(1, num_steps + 1):
        t0 = time.perf_counter()
        xb, yb = next(data)
        if augment is not None:
            xb = augment(xb, aug_gen)
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        seconds += time.perf_counter() - t0
        if step % eval_every == 0 or step == num_steps:
            record(step)
    return SingleRun(pd.DataFrame(rows), model, seconds)


# --------------------------------------------------------------------------
# many models at once
# --------------------------------------------------------------------------


@dataclass
class PopulationRun:
    """Result of :func:`train_vmapped`.

    ``results``: one row per member (``optimizer``, ``lr``, ``seed``,
    ``diverged``, ``steps``, then ``{split}_loss`` / ``{split}_acc`` after
    training; a diverged member has loss ``inf`` and accuracy NaN).
    ``history``: one row per member and evaluation (``optimizer``, ``lr``,
    ``seed``, ``step``, ``{split}_loss``, ``{split}_acc``). ``seconds``: the
    wall-clock of the whole population's training (evaluations excluded).
    """

    results: pd.DataFrame
    history: pd.DataFrame
    seconds: float


def train_vmapped(
    make_model: Callable[[], nn.Module],
    optimizers: Mapping[str, OptimizerFactory],
    lrs: Sequence[float],
    seeds: Sequence[int],
    X_train: Tensor,
    y_train: Tensor,
    evals: Mapping[str, tuple[Tensor, Tensor]],
    num_steps: int,
    batch_size: int,
    factors: Mapping[str, Callable[[int], float]] | None = None,
    eval_every: int = 100,
    augment: Callable[[Tensor, torch.Generator], Tensor] | None = None,
    eval_chunk: int = 1000,
) -> PopulationRun:
    r"""Train every optimizer x learning rate x seed side by side (see the module docstring).

    Each member is the run :func:`train_steps` would make with the same
    arguments: seed ``s`` draws the initial weights with
    ``torch.manual_seed(s)`` and its minibatches (and augmentations) from
    generators seeded with ``s`` (and ``s + 1``), so members with the same seed
    start alike and see the same data; ``factors[name]`` is the schedule
    multiplier of optimizer ``name`` (constant 1 when absent).
    ``optimizers[name](groups, lrs[0])`` receives one parameter group per
    learning rate, ``{"params": [...], "lr": lr}``, whose tensors carry a
    leading seed dimension. A member whose training or evaluation loss is not
    finite is marked as diverged and left out of the summed loss.

    Raises ``ValueError`` for an empty population, non-positive budgets or a
    non-positive learning rate.
    """
    from torch.func import functional_call, vmap

    lrs = [float(lr) for lr in lrs]
    seeds = [int(s) for s in seeds]
    if not lrs or not seeds or not optimizers:
        raise ValueError("need at least one optimizer, one learning rate and one seed")
    if min(lrs) <= 0:
        raise ValueError(f"learning rates must be positive, got {lrs}")
    _check_budget(num_steps, eval_every, batch_size)
    factors = dict(factors or {})
    unknown = set(factors) - set(optimizers)
    if unknown:
        raise ValueError(f"factors for unknown optimizers {sorted(unknown)}")

    inits: list[dict[str, Tensor]] = []
    for s in seeds:
        torch.manual_seed(s)
        base = make_model().to(device=X_train.device, dtype=X_train.dtype)
        inits.append({n: p.detach().clone() for n, p in base.named_parameters()})
    base = base.to("meta")
    names = list(inits[0])
    init = {n: torch.stack([d[n] for d in inits]) for n in names}  # (S, ...)
    names_opt = list(optimizers)
    pairs = [(o, lr) for o in names_opt for lr in lrs]
    K, S = len(pairs), len(seeds)
    leaves = [{n: init[n].clone().requires_grad_(True) for n in names} for _ in pairs]
    opts, scheds = {}, {}
    for i, o in enumerate(names_opt):
        block = leaves[i * len(lrs):(i + 1) * len(lrs)]
        groups = [{"params": list(p.values()), "lr": lr} for p, lr in zip(block, lrs, strict=True)]
        opts[o] = optimizers[o](groups, lrs[0])
        if o in factors:
            scheds[o] = torch.optim.lr_scheduler.LambdaLR(opts[o], factors[o])

    def one(params: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(base, params, (x,))

    batched = vmap(one)

    def forward(x: Tensor) -> Tensor:
        """x of shape (S, B, ...) (per-seed batches) -> logits (K, S, B, C)."""
        params = {n: torch.cat([leaf[n] for leaf in leaves]) for n in names}  # (K*S, ...)
        xs = x.unsqueeze(0).expand(K, *x.shape).reshape(K * S, *x.shape[1:])
        return batched(params, xs).reshape(K, S, x.shape[1], -1)

    def member_losses(out: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy of each member (K, S); y of shape (S, B)."""
        C = out.shape[-1]
        target = y.unsqueeze(0).expand(K, *y.shape).reshape(-1)
        loss = nn.functional.cross_entropy(out.reshape(-1, C), target, reduction="none")
        return loss.view(K, S, -1).mean(-1)

    @torch.no_grad()
    def evaluate(X: Tensor, y: Tensor) -> tuple[np.ndarray, np.ndarray]:
        loss = torch.zeros(K, S, dtype=torch.float64)
        correct = torch.zeros(K, S, dtype=torch.float64)
        for a in range(0, len(X), eval_chunk):
            xb, yb = X[a:a + eval_chunk], y[a:a + eval_chunk]
            out = forward(xb.unsqueeze(0).expand(S, *xb.shape))
            C = out.shape[-1]
            per = nn.functional.cross_entropy(out.reshape(-1, C), yb.repeat(K * S),
                                              reduction="none").view(K, S, -1)
            loss += per.sum(-1).double().cpu()
            correct += (out.argmax(-1) == yb).sum(-1).double().cpu()
        return (loss / len(X)).numpy(), (correct / len(X)).numpy()

    active = np.ones((K, S), dtype=bool)
    hist_rows: list[dict[str, Any]] = []

    def record(step: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        scores = {split: evaluate(X, y) for split, (X, y) in evals.items()}
        for loss, _ in scores.values():
            active[:] &= np.isfinite(loss)
        for (k, j) in np.ndindex(K, S):
            row = {"optimizer": pairs[k][0], "lr": pairs[k][1], "seed": seeds[j], "step": step}
            for split, (loss, acc) in scores.items():
                row[f"{split}_loss"] = float(loss[k, j]) if active[k, j] else math.inf
                row[f"{split}_acc"] = float(acc[k, j]) if active[k, j] else math.nan
            hist_rows.append(row)
        return scores

    record(0)
    streams = [_endless(X_train, y_train, batch_size, s) for s in seeds]
    aug_gens = [torch.Generator().manual_seed(s + 1) for s in seeds]
    seconds = 0.0
    for step in range(1, num_steps + 1):
        t0 = time.perf_counter()
        batch = [next(st) for st in streams]
        xs = [xb for xb, _ in batch]
        if augment is not None:
            xs = [augment(xb, g) for xb, g in zip(xs, aug_gens, strict=True)]
        x, y = torch.stack(xs), torch.stack([yb for _, yb in batch])
        losses = member_losses(forward(x), y)
        active &= torch.isfinite(losses).detach().cpu().numpy()
        for opt in opts.values():
            opt.zero_grad(set_to_none=True)
        losses[torch.as_tensor(active, device=losses.device)].sum().backward()
        for o, opt in opts.items():
            opt.step()
            if o in scheds:
                scheds[o].step()
        seconds += time.perf_counter() - t0
        if step % eval_every == 0 or step == num_steps:
            final = record(step)
    rows = []
    for (k, j) in np.ndindex(K, S):
        row = {"optimizer": pairs[k][0], "lr": pairs[k][1], "seed": seeds[j],
               "diverged": not active[k, j], "steps": num_steps}
        for split, (loss, acc) in final.items():
            row[f"{split}_loss"] = float(loss[k, j]) if active[k, j] else math.inf
            row[f"{split}_acc"] = float(acc[k, j]) if active[k, j] else math.nan
        rows.append(row)
    return PopulationRun(pd.DataFrame(rows), pd.DataFrame(hist_rows), seconds)
