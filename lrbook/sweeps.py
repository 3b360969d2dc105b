r"""Learning-rate sweeps of one update rule on small problems, all runs at once.

The chapters on Adagrad, RMSprop and Adadelta compare an adaptive method with
gradient descent over a grid of learning rates and several seeds. Every run is
tiny (a 2-D quadratic, a linear model with a hundred weights), so they are run
**side by side**: each (learning rate, seed) pair gets its own weight row, each
learning rate is one parameter group, and one backward pass of the summed
losses gives every row exactly the gradient of its own loss. The optimizers
used here are element-wise (SGD, Adagrad, RMSprop, Adadelta, the Adam family):
their update of one coordinate never reads another, so the rows never interact
and the result equals running the members one by one (checked in
``tests/test_sweeps.py``).

Functions
---------
- :func:`steps_to_tolerance`   first step at which ``f < tol`` on a test function, per learning rate
- :func:`sparse_regression`    linear data with dense Gaussian and rare binary features
- :func:`train_linear`         minibatch least squares, one weight row per (learning rate, seed)
- :func:`squared_loss`         ``½ mean (x·w − y)²`` of such a population on a data split
- :func:`shifting_stream`      a stream of minibatches whose scale and true weights change halfway
- :func:`online_least_squares` one pass over such streams, loss at every step per (learning rate, seed)

A diverged run (overflow, NaN) is scored ``inf`` and never stops the others.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lrbook.problems import Problem

__all__ = [
    "LinearData",
    "online_least_squares",
    "shifting_stream",
    "sparse_regression",
    "squared_loss",
    "steps_to_tolerance",
    "train_linear",
]

F64 = torch.float64
#: ``make_optimizer(groups) -> torch.optim.Optimizer`` with ``groups`` a list of
#: parameter-group dicts ``{"params": [w], "lr": lr}``, one per learning rate.
GroupOptimizerFactory = Callable[[list[dict]], torch.optim.Optimizer]


def _check_lrs(lrs: Sequence[float]) -> list[float]:
    lrs = [float(lr) for lr in lrs]
    if not lrs or not all(lr > 0 and np.isfinite(lr) for lr in lrs):
        raise ValueError(f"lrs must be a non-empty sequence of positive learning rates, got {lrs}")
    return lrs


def _check_positive_int(value: int, name: str) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def steps_to_tolerance(
    problem: Problem,
    make_optimizer: GroupOptimizerFactory,
    lrs: Sequence[float],
    max_steps: int,
    tol: float = 1e-6,
) -> np.ndarray:
    """For each learning rate, the first step at which ``problem.f < tol``.

    All learning rates start from ``problem.start`` and run together (one
    parameter group per rate). Returns a float array of shape ``(len(lrs),)``:
    the step count, or ``inf`` when the run did not reach ``tol`` within
    ``max_steps`` steps or diverged. The loop stops early once every run has
    either converged or diverged. Raises ``ValueError`` for an empty or
    non-positive ``lrs``, ``max_steps < 1`` or ``tol <= 0``.
    """
    lrs = _check_lrs(lrs)
    max_steps = _check_positive_int(max_steps, "max_steps")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    rows = [problem.start.detach().clone().to(F64).reshape(1, -1).requires_grad_(True) for _ in lrs]
    opt = make_optimizer([{"params": [r], "lr": lr} for r, lr in zip(rows, lrs, strict=True)])
    first_hit = np.full(len(lrs), np.inf)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for step in range(1, max_steps + 1):
            opt.zero_grad()
            problem.f(torch.cat(rows)).sum().backward()
            opt.step()
            with torch.no_grad():
                values = problem.f(torch.cat(rows)).numpy()
            first_hit[np.isinf(first_hit) & (values < tol)] = step
            if not np.any(np.isinf(first_hit) & np.isfinite(values)):
                break  # every run has either converged or diverged
    return first_hit


@dataclass(frozen=True)
class LinearData:
    """One data set per seed, stacked: ``X_*`` has shape ``(seeds, n, d)``, ``y_*`` ``(seeds, n)``.

    ``w`` (``(seeds, d)``) holds the true weights; the first ``n_dense``
    features are dense, the others rare.
    """

    X_train: Tensor
    y_train: Tensor
    X_val: Tensor
    y_val: Tensor
    X_test: Tensor
    y_test: Tensor
    w: Tensor
    n_dense: int


def sparse_regression(
    seeds: Sequence[int],
    n_train: int = 2000,
    n_val: int = 1000,
    n_test: int = 2000,
    n_dense: int = 10,
    n_rare: int = 100,
    p_rare: float = 0.005,
    noise: float = 0.1,
) -> LinearData:
    r"""Linear data :math:`y = x^\top w + \text{noise}` with dense and rare features, one set per seed.

    Each seed draws (with ``numpy.random.default_rng(seed)``) ``n_dense``
    standard-normal features, ``n_rare`` binary features that are 1 with
    probability ``p_rare``, true weights :math:`w \sim N(0, I)` and Gaussian
    label noise of standard deviation ``noise``, then splits the examples into
    train, validation and test. Raises ``ValueError`` for an empty ``seeds``,
    a non-positive size or ``p_rare`` outside ``(0, 1]``.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    for value, name in ((n_train, "n_train"), (n_val, "n_val"), (n_test, "n_test"), (n_dense, "n_dense"),
                        (n_rare, "n_rare")):
        _check_positive_int(value, name)
    if not 0 < p_rare <= 1:
        raise ValueError(f"p_rare must lie in (0, 1], got {p_rare!r}")
    parts = []
    n = n_train + n_val + n_test
    for s in seeds:
        rng = np.random.default_rng(s)
        X = np.hstack([rng.normal(size=(n, n_dense)), (rng.random((n, n_rare)) < p_rare).astype(float)])
        w = rng.normal(size=n_dense + n_rare)
        y = X @ w + noise * rng.normal(size=n)
        parts.append((X, y, w))
    X = torch.tensor(np.stack([p[0] for p in parts]), dtype=F64)
    y = torch.tensor(np.stack([p[1] for p in parts]), dtype=F64)
    w = torch.tensor(np.stack([p[2] for p in parts]), dtype=F64)
    a, b = n_train, n_train + n_val
    return LinearData(X[:, :a], y[:, :a], X[:, a:b], y[:, a:b], X[:, b:], y[:, b:], w, n_dense)


def squared_loss(W: Tensor, X: Tensor, y: Tensor) -> np.ndarray:
    r"""``½ mean (x·w − y)²`` for every member: ``W`` ``(lrs, seeds, d)``, ``X`` ``(seeds, n, d)``.

    Returns an array ``(lrs, seeds)``; a non-finite loss (a diverged member) is ``inf``.
    """
    with torch.no_grad():
        loss = 0.5 * ((torch.einsum("snd,lsd->lsn", X, W) - y) ** 2).mean(-1)
    loss = loss.cpu().numpy()
    return np.where(np.isfinite(loss), loss, np.inf)


def train_linear(
    make_optimizer: GroupOptimizerFactory,
    lrs: Sequence[float],
    X: Tensor,
    y: Tensor,
    seeds: Sequence[int],
    num_epochs: int,
    batch_size: int = 16,
) -> tuple[Tensor, torch.optim.Optimizer, list[Tensor]]:
    r"""Minibatch least squares :math:`\tfrac12 (x^\top w - y)^2` from :math:`w = 0`, one row per (lr, seed).

    ``X`` ``(seeds, n, d)`` and ``y`` ``(seeds, n)`` hold one training set
    per seed; seed ``seeds[j]`` also shuffles its examples every epoch (a
    ``torch.Generator`` seeded with it). Each learning rate is one parameter
    group whose single weight tensor has shape ``(seeds, d)``. Returns the
    final weights stacked to ``(lrs, seeds, d)``, the optimizer (its state,
    e.g. Adagrad's :math:`G_t`, is keyed by the weight tensors) and the list
    of those weight tensors. Raises ``ValueError`` for bad sizes or shapes.
    """
    lrs = _check_lrs(lrs)
    num_epochs = _check_positive_int(num_epochs, "num_epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    seeds = [int(s) for s in seeds]
    if X.ndim != 3 or y.shape != X.shape[:2] or X.shape[0] != len(seeds):
        raise ValueError(f"need X (seeds, n, d) and y (seeds, n) with seeds={len(seeds)}, "
                         f"got {tuple(X.shape)} and {tuple(y.shape)}")
    n = X.shape[1]
    weights = [torch.zeros(len(seeds), X.shape[2], dtype=X.dtype, requires_grad=True) for _ in lrs]
    opt = make_optimizer([{"params": [w], "lr": lr} for w, lr in zip(weights, lrs, strict=True)])
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # diverging rows overflow; they are scored as inf
        for _ in range(num_epochs):
            order = torch.stack([torch.randperm(n, generator=g) for g in gens])
            for start in range(0, n, batch_size):
                idx = order[:, start:start + batch_size]
                xb = torch.gather(X, 1, idx[..., None].expand(-1, -1, X.shape[2]))
                yb = torch.gather(y, 1, idx)
                opt.zero_grad()
                W = torch.stack(weights)  # (lrs, seeds, d)
                loss = 0.5 * ((torch.einsum("sbd,lsd->lsb", xb, W) - yb) ** 2).mean(-1).sum()
                loss.backward()
                opt.step()
    return torch.stack(weights).detach(), opt, weights


def shifting_stream(
    seeds: Sequence[int],
    num_steps: int,
    dim: int = 20,
    batch: int = 8,
    shrink: float = 0.1,
    noise: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    r"""Minibatches of a linear model whose inputs shrink and whose true weights change halfway.

    For each seed (``numpy.random.default_rng(seed)``): inputs
    :math:`x \sim N(0, I_{\mathrm{dim}})`, multiplied by ``shrink`` from step
    ``num_steps // 2`` on; true weights :math:`3\,N(0, I)`, redrawn at the same
    step; labels :math:`x^\top w` plus Gaussian noise of standard deviation
    ``noise``. Returns ``X`` of shape ``(steps, seeds, batch, dim)`` and ``y``
    of shape ``(steps, seeds, batch)``. Raises ``ValueError`` for an empty
    ``seeds``, ``num_steps < 2`` or a non-positive size or ``shrink``.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if int(num_steps) != num_steps or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2, got {num_steps!r}")
    _check_positive_int(dim, "dim")
    _check_positive_int(batch, "batch")
    if not shrink > 0:
        raise ValueError(f"shrink must be > 0, got {shrink!r}")
    Xs, ys = [], []
    for s in seeds:
        rng = np.random.default_rng(s)
        X = rng.normal(size=(num_steps, batch, dim))
        X[num_steps // 2:] *= shrink
        w_first, w_second = 3 * rng.normal(size=dim), 3 * rng.normal(size=dim)
        w = np.where(np.arange(num_steps)[:, None] < num_steps // 2, w_first, w_second)
        Xs.append(X)
        ys.append(np.einsum("tbd,td->tb", X, w) + noise * rng.normal(size=(num_steps, batch)))
    return torch.tensor(np.stack(Xs, 1), dtype=F64), torch.tensor(np.stack(ys, 1), dtype=F64)


def online_least_squares(
    make_optimizer: GroupOptimizerFactory, lrs: Sequence[float], X: Tensor, y: Tensor
) -> np.ndarray:
    r"""One optimizer step per minibatch of a stream, from :math:`w = 0`; one row per (lr, seed).

    ``X`` ``(steps, seeds, batch, dim)`` and ``y`` ``(steps, seeds, batch)`` as
    returned by :func:`shifting_stream`. The loss of step ``t`` is
    :math:`\tfrac12\,\mathrm{mean}_b (x_b^\top w - y_b)^2` on minibatch ``t``,
    measured *before* the update (online learning: each minibatch is new data).
    Returns an array ``(lrs, seeds, steps)``; non-finite losses are ``inf``.
    """
    lrs = _check_lrs(lrs)
    if X.ndim != 4 or y.shape != X.shape[:3]:
        raise ValueError(f"need X (steps, seeds, batch, dim) and y (steps, seeds, batch), "
                         f"got {tuple(X.shape)} and {tuple(y.shape)}")
    num_steps, num_seeds = X.shape[0], X.shape[1]
    weights = [torch.zeros(num_seeds, X.shape[-1], dtype=X.dtype, requires_grad=True) for _ in lrs]
    opt = make_optimizer([{"params": [w], "lr": lr} for w, lr in zip(weights, lrs, strict=True)])
    losses = np.empty((len(lrs), num_seeds, num_steps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(num_steps):
            opt.zero_grad()
            W = torch.stack(weights)  # (lrs, seeds, dim)
            per_member = 0.5 * ((torch.einsum("sbd,lsd->lsb", X[t], W) - y[t]) ** 2).mean(-1)
            per_member.sum().backward()
            opt.step()
            losses[:, :, t] = per_member.detach().numpy()
    return np.where(np.isfinite(losses), losses, np.inf)
