r"""A tuned, multi-seed benchmark of optimizers on small real tasks.

The chapter *Choosing an optimizer* compares a dozen optimizers, each with its
learning rate tuned on the same grid, on several tasks and seeds: hundreds of
training runs. To make that affordable on a 2-core CPU, :func:`train_population`
trains every (optimizer, learning rate) pair of one seed **side by side**:

* every member starts from the same initial weights (drawn with ``seed``) and
  sees the same minibatches in the same order (a generator seeded with
  ``seed``), so members differ only in their optimizer and learning rate;
* each member's weights are one flat leaf tensor, all members are evaluated
  with a single vectorised call (``torch.func.vmap`` over
  ``torch.func.functional_call``), and the loss that is back-propagated is the
  sum of the members' own mean losses. A member's loss depends only on its own
  weights, so the gradient it receives is exactly the gradient of its own loss:
  the result is the same as training the members one by one with
  :func:`lrbook.train.fit` (checked by :func:`train_single` in the tests and in
  the chapter), up to floating-point rounding;
* a member whose loss becomes NaN or infinite is marked as diverged and frozen
  (its final losses are reported as ``inf``).

Flat parameters do not change any element-wise optimizer (SGD, Adagrad,
RMSprop, Adadelta, the Adam family): their update of one coordinate never looks
at another. They *would* change Adafactor, whose second-moment estimate is
factored over the rows and columns of each matrix, so Adafactor is left out of
population comparisons.

:func:`compare` then chooses each optimizer's learning rate on the validation
split with the *tuning* seeds and reports the chosen setting on separate
*reporting* seeds, so the reported numbers are not the maximum over the runs that
selected them. :meth:`Comparison.at_edge` flags a chosen learning rate on the
edge of the grid (the grid must be widened), and :meth:`Comparison.difference`
compares two tuned optimizers by their difference paired over the reporting
seeds, with its standard error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

import lrbook.data
import lrbook.train
from lrbook.stats import MeanSE, diff_se

__all__ = [
    "Comparison",
    "Population",
    "Task",
    "breast_cancer_task",
    "compare",
    "digits_task",
    "mnist1d_task",
    "train_population",
    "train_single",
]

#: ``make_optimizer(params, lr) -> torch.optim.Optimizer``; ``params`` may be a
#: list of parameter-group dicts, each with its own ``"lr"``.
OptimizerFactory = Callable[[Any, float], torch.optim.Optimizer]


@dataclass
class Task:
    """A supervised task: data splits, a model constructor and a training budget.

    ``(X_val, y_val)`` chooses the learning rate; ``(X_test, y_test)`` is only
    reported. ``loss_fn(outputs, y)`` must be mean-reduced; when ``classes`` is
    true, accuracy (arg-max of the outputs) is reported too.
    """

    name: str
    X_train: Tensor
    y_train: Tensor
    X_val: Tensor
    y_val: Tensor
    X_test: Tensor
    y_test: Tensor
    make_model: Callable[[], nn.Module]
    loss_fn: Callable[[Tensor, Tensor], Tensor] = nn.functional.cross_entropy
    batch_size: int = 128
    num_epochs: int = 10
    classes: bool = True

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.X_train) // self.batch_size)

    @property
    def num_steps(self) -> int:
        """Optimizer steps in one training run."""
        return self.steps_per_epoch * self.num_epochs


# --------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------


def _carve_validation(X: Tensor, y: Tensor, val_fraction: float, seed: int):
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed)).to(X.device)
    num_val = int(round(val_fraction * len(X)))
    val, train = order[:num_val], order[num_val:]
    return X[train], y[train], X[val], y[val]


def _mlp(num_in: int, num_hidden: int, num_out: int) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        return nn.Sequential(nn.Linear(num_in, num_hidden), nn.ReLU(), nn.Linear(num_hidden, num_out))

    return make


def digits_task(
    num_hidden: int = 64, batch_size: int = 128, num_epochs: int = 10, dtype=torch.float32,
    device=None,
) -> Task:
    """scikit-learn's 8x8 digits, a one-hidden-layer ReLU network.

    :func:`lrbook.data.digits` (seed 0) gives 80 % / 20 %; the 20 % is the test
    set and a quarter of the 80 % becomes the validation set.
    """
    X_rest, y_rest, X_test, y_test = lrbook.data.digits(seed=0, dtype=dtype, device=device)
    X_train, y_train, X_val, y_val = _carve_validation(X_rest, y_rest, 0.25, seed=0)
    return Task("digits (MLP)", X_train, y_train, X_val, y_val, X_test, y_test,
                _mlp(64, num_hidden, 10), batch_size=batch_size, num_epochs=num_epochs)


def mnist1d_task(
    num_samples: int = 1500, num_hidden: int = 64, batch_size: int = 128, num_epochs: int = 10,
    dtype=torch.float32, device=None,
) -> Task:
    """MNIST-1D (Greydanus 2020), generated offline; a one-hidden-layer ReLU network.

    The generator's own 80 % / 20 % split gives the training and test sets; a
    quarter of the training part becomes the validation set.
    """
    X_rest, y_rest, X_test, y_test = lrbook.data.mnist1d(num_samples=num_samples, dtype=dtype,
                                                         device=device)
    X_train, y_train, X_val, y_val = _carve_validation(X_rest, y_rest, 0.25, seed=0)
    return Task("MNIST-1D (MLP)", X_train, y_train, X_val, y_val, X_test, y_test,
                _mlp(40, num_hidden, 10), batch_size=batch_size, num_epochs=num_epochs)


def breast_cancer_task(
    batch_size: int = 64, num_epochs: int = 10, dtype=torch.float32, device=None
) -> Task:
    """scikit-learn's breast-cancer data (569 tumours, 30 features), logistic regression.

    A single linear layer with two outputs and the cross-entropy loss: softmax
    logistic regression, a *convex* problem. Split 60 / 20 / 20 % at random
    (seed 0) into training, validation and test sets; features are standardised
    with the training statistics.
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X, y = data.data.astype(np.float64), data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    num_hold = int(round(0.2 * len(y)))
    test, val, train = order[:num_hold], order[num_hold:2 * num_hold], order[2 * num_hold:]
    X_train, X_val = lrbook.data.standardize(X[train], X[val])
    _, X_test = lrbook.data.standardize(X[train], X[test])

    def t(a, dt=dtype):
        return torch.tensor(np.ascontiguousarray(a), dtype=dt, device=device)

    return Task("breast cancer (logistic)", t(X_train), t(y[train], torch.int64), t(X_val),
                t(y[val], torch.int64), t(X_test), t(y[test], torch.int64),
                lambda: nn.Linear(30, 2), batch_size=batch_size, num_epochs=num_epochs)


# --------------------------------------------------------------------------
# one run, the plain way
# --------------------------------------------------------------------------


def _batches(task: Task, seed: int) -> lrbook.data.Batches:
    return lrbook.data.batches(task.X_train, task.y_train, task.batch_size,
                               generator=torch.Generator().manual_seed(seed))


def train_single(task: Task, make_optimizer: OptimizerFactory, lr: float, seed: int) -> dict:
    """Train one model with :func:`lrbook.train.fit`; the reference for a population member.

    Returns the final ``val_loss``, ``test_loss``, ``train_loss`` (on the whole
    training set, after training), the accuracies for classification tasks,
    ``steps``, ``seconds`` (wall-clock of ``fit``), the per-epoch validation
    losses ``curve`` and the trained ``model``.
    """
    torch.manual_seed(seed)
    model = task.make_model().to(device=task.X_train.device, dtype=task.X_train.dtype)
    optimizer = make_optimizer(model.parameters(), lr)
    metrics = {"acc": lrbook.train.accuracy} if task.classes else None
    started = time.perf_counter()
    history = lrbook.train.fit(model, optimizer, task.loss_fn, _batches(task, seed),
                               (task.X_val, task.y_val), num_epochs=task.num_epochs,
                               metrics=metrics, progress=False)
    seconds = time.perf_counter() - started
    result = {"steps": history.num_steps, "seconds": seconds, "curve": history["val_loss"],
              "model": model}
    for split, X, y in (("train", task.X_train, task.y_train), ("val", task.X_val, task.y_val),
                        ("test", task.X_test, task.y_test)):
        result.update(lrbook.train.evaluate(model, task.loss_fn, (X, y), metrics, prefix=f"{split}_"))
    return result


# --------------------------------------------------------------------------
# many runs at once
# --------------------------------------------------------------------------


@dataclass
class Population:
    """Result of :func:`train_population`.

    ``results`` has one row per member: ``optimizer``, ``lr``, ``seed``,
    ``diverged``, ``steps``, ``train_loss``, ``val_loss``, ``test_loss`` (and
    ``*_acc``), all measured after training. ``curves[(optimizer, lr)]`` is an
    array (seeds x (epochs + 1)) of validation losses before training and after
    every epoch. ``step_seconds[optimizer]`` is the time spent in that
    optimizer's ``step()`` calls (all its members together) and ``seconds``
    the wall-clock of the whole population's training.
    """

    results: pd.DataFrame
    curves: dict[tuple[str, float], np.ndarray]
    step_seconds: dict[str, float]
    seconds: float


def _flat_params(module: nn.Module) -> tuple[Tensor, list[tuple[str, torch.Size, int, int]]]:
    layout, start, pieces = [], 0, []
    for name, p in module.named_parameters():
        layout.append((name, p.shape, start, start + p.numel()))
        start += p.numel()
        pieces.append(p.detach().reshape(-1))
    return torch.cat(pieces), layout


_ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Identity)


def _layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(parameter-name prefix, layer)`` for a ``Sequential`` of Linear/activations or a Linear."""
    if isinstance(model, nn.Sequential):
        layers = [(f"{i}.", m) for i, m in enumerate(model)]
    else:
        layers = [("", model)]
    for _, layer in layers:
        if isinstance(layer, nn.Linear) and layer.bias is not None:
            continue
        if not isinstance(layer, _ELEMENTWISE):
            raise TypeError(
                "train_population supports nn.Linear layers with bias and element-wise "
                f"activations {[c.__name__ for c in _ELEMENTWISE]}, got {layer!r}"
            )
    return layers


def train_population(
    task: Task,
    optimizers: Mapping[str, OptimizerFactory],
    lrs: Sequence[float],
    seeds: Sequence[int],
) -> Population:
    """Train every optimizer x learning rate x seed of the arguments side by side.

    Equivalent to calling :func:`train_single` for every triple (see the module
    docstring). The weights of one (optimizer, lr) pair for all seeds are one
    leaf tensor of shape ``(num_seeds, num_weights)``, so ``make_optimizer``
    receives one parameter group per learning rate,
    ``[{"params": [w], "lr": lr}, ...]``; because the optimizers are
    element-wise, the rows (seeds) never interact. Seed ``s`` draws the initial
    weights with ``torch.manual_seed(s)`` and shuffles the data with
    ``torch.Generator().manual_seed(s)``, exactly as :func:`train_single`.
    The model must be ``nn.Linear`` layers and element-wise activations and
    ``task.loss_fn`` must accept ``reduction="none"``.
    """
    lrs = [float(lr) for lr in lrs]
    seeds = [int(s) for s in seeds]
    if not lrs or not seeds or not optimizers:
        raise ValueError("need at least one optimizer, one learning rate and one seed")
    inits = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = task.make_model().to(device=task.X_train.device, dtype=task.X_train.dtype)
        flat, layout = _flat_params(model)
        inits.append(flat)
    init = torch.stack(inits)  # (S, P)
    layers = _layers(model)
    names = list(optimizers)
    pairs = [(name, lr) for name in names for lr in lrs]
    weights = [init.clone().requires_grad_(True) for _ in pairs]
    opts = {}
    for i, name in enumerate(names):
        block = weights[i * len(lrs):(i + 1) * len(lrs)]
        groups = [{"params": [w], "lr": lr} for w, lr in zip(block, lrs, strict=True)]
        opts[name] = optimizers[name](groups, lrs[0])
    K, S = len(pairs), len(seeds)

    def forward(x: Tensor) -> Tensor:
        """Outputs (K, S, B, C) for inputs x of shape (B, d) or (S, B, d)."""
        stacked = torch.stack(weights)  # (K, S, P)
        params = {n: stacked[..., a:b].reshape(K, S, *shape) for n, shape, a, b in layout}
        h = x
        for prefix, layer in layers:
            if isinstance(layer, nn.Linear):
                weight, bias = params[f"{prefix}weight"], params[f"{prefix}bias"]
                h = torch.matmul(h, weight.transpose(-1, -2)) + bias.unsqueeze(-2)
            else:
                h = layer(h)
        return h

    def member_losses(outputs: Tensor, y: Tensor) -> Tensor:
        """Mean loss of each member, shape (K, S); y of shape (B,) or (S, B)."""
        targets = y.expand(K, S, outputs.shape[2]).reshape(-1)
        per_example = task.loss_fn(outputs.reshape(targets.shape[0], -1), targets,
                                   reduction="none")
        return per_example.view(K, S, -1).mean(-1)

    @torch.no_grad()
    def evaluate(X: Tensor, y: Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        outputs = forward(X)
        loss = member_losses(outputs, y).double().cpu().numpy()
        acc = (outputs.argmax(-1) == y).double().mean(-1).cpu().numpy() if task.classes else None
        return loss, acc

    active = np.ones((K, S), dtype=bool)
    curve = [evaluate(task.X_val, task.y_val)[0]]
    step_seconds = dict.fromkeys(names, 0.0)
    steps = 0
    # one generator per seed, made once: a new permutation every epoch, as in fit
    train_data = [_batches(task, seed) for seed in seeds]
    started = time.perf_counter()
    for _ in range(task.num_epochs):
        for batch in zip(*train_data, strict=True):
            x = torch.stack([xb for xb, _ in batch])  # (S, B, d)
            y = torch.stack([yb for _, yb in batch])  # (S, B)
            losses = member_losses(forward(x), y)
            active &= torch.isfinite(losses).cpu().numpy()
            for w in weights:
                w.grad = None
            # a diverged member is left out of the sum; its NaNs stay in its own row
            losses[torch.as_tensor(active, device=losses.device)].sum().backward()
            for name, opt in opts.items():
                t0 = time.perf_counter()
                opt.step()
                step_seconds[name] += time.perf_counter() - t0
            steps += 1
        val_loss = evaluate(task.X_val, task.y_val)[0]
        active &= np.isfinite(val_loss)
        curve.append(np.where(active, val_loss, np.inf))
    seconds = time.perf_counter() - started

    rows = [{"optimizer": n, "lr": lr, "seed": seed, "diverged": not active[k, j], "steps": steps}
            for k, (n, lr) in enumerate(pairs) for j, seed in enumerate(seeds)]
    for split, X, y in (("train", task.X_train, task.y_train), ("val", task.X_val, task.y_val),
                        ("test", task.X_test, task.y_test)):
        loss, acc = evaluate(X, y)
        for (k, j), row in zip(np.ndindex(K, S), rows, strict=True):
            row[f"{split}_loss"] = float(loss[k, j]) if active[k, j] else math.inf
            if acc is not None:
                row[f"{split}_acc"] = float(acc[k, j]) if active[k, j] else math.nan
    curves_array = np.stack(curve, axis=-1)  # (K, S, epochs + 1)
    curves = {pair: curves_array[k] for k, pair in enumerate(pairs)}
    return Population(pd.DataFrame(rows), curves, step_seconds, seconds)


# --------------------------------------------------------------------------
# tune on some seeds, report on others
# --------------------------------------------------------------------------


@dataclass
class Comparison:
    """Output of :func:`compare` for one task.

    ``tuning`` and ``report`` are the population results (one row per
    optimizer x lr x seed) on the tuning and reporting seeds; ``best_lr``
    maps each optimizer to the learning rate with the lowest mean validation
    loss over the tuning seeds (a diverged run counts as ``inf``);
    ``report_curves[(optimizer, lr)]`` is an array (seeds x epochs + 1) of
    validation losses on the reporting seeds.
    """

    task: Task
    lrs: list[float]
    tuning: pd.DataFrame
    report: pd.DataFrame
    best_lr: dict[str, float]
    report_curves: dict[tuple[str, float], np.ndarray]
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def at_edge(self, name: str) -> bool:
        """Whether ``name``'s chosen learning rate is the smallest or largest of the grid."""
        return self.best_lr[name] in (min(self.lrs), max(self.lrs))

    def difference(self, a: str, b: str, column: str = "test_loss") -> MeanSE:
        """``mean(a) - mean(b)`` of ``column`` at the chosen learning rates, paired over seeds.

        Every optimizer is trained on the same reporting seeds (same initial
        weights and minibatches for a seed), so the standard error is that of
        the per-seed differences (:func:`lrbook.stats.diff_se` with
        ``paired=True``). The difference is resolved when ``|mean| > 2 se``.
        Raises ``KeyError`` for an unknown optimizer and ``ValueError`` for a
        column that is not a loss or accuracy, or when a run diverged.
        """
        if not column.endswith(("_loss", "_acc")):
            raise ValueError(f"column must be a *_loss or *_acc column, got {column!r}")
        for name in (a, b):
            if name not in self.best_lr:
                raise KeyError(f"unknown optimizer {name!r}; known: {list(self.best_lr)}")
        tuned = self.tuned().sort_values("seed")
        values = [tuned[tuned.optimizer == name][column].to_numpy() for name in (a, b)]
        return diff_se(values[0], values[1], paired=True)

    def tuned(self) -> pd.DataFrame:
        """The reporting-seed rows of every optimizer at its chosen learning rate."""
        chosen = [self.report[(self.report.optimizer == n) & (self.report.lr == lr)]
                  for n, lr in self.best_lr.items()]
        return pd.concat(chosen, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per optimizer: chosen lr, mean, standard deviation and standard error over reporting seeds.

        Columns ``<value>_mean``, ``<value>_std`` (``ddof=1``) and ``<value>_se``
        (``std / sqrt(n)``, the book-wide definition of :mod:`lrbook.stats`) for
        every loss and accuracy column.
        """
        tuned = self.tuned()
        value_columns = [c for c in tuned.columns if c.endswith(("_loss", "_acc"))]
        grouped = tuned.groupby("optimizer", sort=False)
        table = grouped[value_columns].agg(["mean", "std"])
        table.columns = [f"{a}_{b}" for a, b in table.columns]
        sizes = grouped.size()
        for c in value_columns:
            table[f"{c}_se"] = table[f"{c}_std"] / np.sqrt(sizes)
        table.insert(0, "lr", [self.best_lr[n] for n in table.index])
        table.insert(1, "lr_at_edge", [self.at_edge(n) for n in table.index])
        table["num_seeds"] = grouped.size()
        table["steps"] = grouped["steps"].first()
        table["diverged_runs"] = grouped["diverged"].sum()
        return table


def compare(
    task: Task,
    optimizers: Mapping[str, OptimizerFactory],
    lrs: Sequence[float],
    tuning_seeds: Sequence[int],
    report_seeds: Sequence[int],
) -> Comparison:
    """Tune every optimizer's learning rate on ``lrs``, then report it on fresh seeds.

    The learning rate of each optimizer is the grid value with the lowest mean
    final validation loss over ``tuning_seeds``; the whole grid is also trained
    on ``report_seeds`` (which must not overlap the tuning seeds), so the
    sensitivity of every optimizer to its learning rate can be plotted with
    error bars, and the chosen setting is read off those independent runs.
    All runs are trained together by :func:`train_population`.
    """
    lrs = sorted(float(lr) for lr in lrs)
    tuning_seeds, report_seeds = [int(s) for s in tuning_seeds], [int(s) for s in report_seeds]
    if not tuning_seeds or not report_seeds:
        raise ValueError("need at least one tuning seed and one reporting seed")
    if set(tuning_seeds) & set(report_seeds):
        raise ValueError(
            f"tuning seeds {tuning_seeds} and reporting seeds {report_seeds} overlap: "
            "reporting the runs that chose the learning rate overstates the result"
        )
    pop = train_population(task, optimizers, lrs, tuning_seeds + report_seeds)
    is_tuning = pop.results.seed.isin(tuning_seeds)
    tuning = pop.results[is_tuning].reset_index(drop=True)
    report = pop.results[~is_tuning].reset_index(drop=True)
    curves = {key: c[len(tuning_seeds):] for key, c in pop.curves.items()}
    mean_val = tuning.groupby(["optimizer", "lr"], sort=False)["val_loss"].mean()
    best_lr = {}
    for name in optimizers:
        scores = mean_val.loc[name].replace(np.nan, np.inf)
        best_lr[name] = float(scores.idxmin())
    return Comparison(task, lrs, tuning, report, best_lr, curves, pop.step_seconds, pop.seconds)
