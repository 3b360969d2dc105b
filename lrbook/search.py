r"""Hyper-parameter search with tidy results: grid, random, quasi-random, TPE, pruned searches.

:func:`optuna_search` runs any Optuna sampler (random, quasi-random Sobol,
TPE, a grid given as enqueued configurations) and pruner (successive halving,
Hyperband) with the cost counted in training epochs, so that searches can be
compared at equal budgets; :func:`best_trial` selects on validation.
The older helpers below evaluate a fixed objective per configuration:

Every search calls an objective ``objective(config: dict, seed: int) -> float``
(lower is better; it must be deterministic given ``seed``) once per
configuration and seed, and returns a :class:`pandas.DataFrame` with one row per
(configuration, seed): the parameter columns, ``seed``, ``objective`` and, for
the sampled searches, ``trial``. :func:`aggregate` turns that into
mean ± standard deviation per configuration, and :func:`plot_search` draws it.

Learning rates live on a log scale, so random search should sample them
log-uniformly: :class:`LogUniform` draws :math:`\log \eta` uniformly, giving every
decade the same share of trials (Bergstra & Bengio 2012 for random search).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Choice",
    "LogUniform",
    "Uniform",
    "aggregate",
    "bayes_search",
    "best_trial",
    "grid_search",
    "optuna_search",
    "plot_search",
    "random_search",
]

Objective = Callable[[dict[str, Any], int], float]


# --------------------------------------------------------------------------
# search spaces
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LogUniform:
    r"""A value whose logarithm is uniform on :math:`[\log a, \log b]` (``0 < low < high``).

    Density :math:`p(x) = 1 / (x \ln(b/a))`: each decade gets the same
    probability, the right prior for learning rates and weight decays.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (0 < self.low < self.high):
            raise ValueError(
                f"LogUniform needs 0 < low < high, got low={self.low}, high={self.high}"
            )

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def suggest(self, trial: Any, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=True)


@dataclass(frozen=True)
class Uniform:
    """A value uniform on ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"Uniform needs low < high, got low={self.low}, high={self.high}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def suggest(self, trial: Any, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high)


@dataclass(frozen=True)
class Choice:
    """One of a finite list of options, each equally likely."""

    options: tuple

    def __init__(self, options: Iterable[Any]) -> None:
        options = tuple(options)
        if not options:
            raise ValueError("Choice needs at least one option")
        object.__setattr__(self, "options", options)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.options))


Space = Mapping[str, "LogUniform | Uniform | Choice"]


def _check_space(space: Space) -> None:
    if not space:
        raise ValueError("the search space is empty")
    for name, dist in space.items():
        if not isinstance(dist, (LogUniform, Uniform, Choice)):
            raise TypeError(f"space[{name!r}] must be LogUniform, Uniform or Choice, got {dist!r}")
        if name in ("seed", "objective", "trial"):
            raise ValueError(f"{name!r} is reserved for a result column")


def _evaluate(objective: Objective, config: dict[str, Any], seeds: Sequence[int]) -> list[float]:
    return [float(objective(dict(config), int(seed))) for seed in seeds]


def _seeds(seeds: Iterable[int]) -> list[int]:
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    return seeds


# --------------------------------------------------------------------------
# searches
# --------------------------------------------------------------------------


def grid_search(
    objective: Objective,
    grid: Mapping[str, Sequence[Any]],
    seeds: Iterable[int] = (0, 1, 2),
) -> pd.DataFrame:
    """Evaluate every combination of ``grid`` values at every seed.

    Args:
        objective: ``objective(config, seed) -> float`` (lower is better).
        grid: parameter name -> list of values; combinations are taken in
            ``itertools.product`` order (the last parameter varies fastest).
        seeds: seeds passed to the objective for every configuration.

    Returns:
        One row per configuration x seed: the parameters, ``seed``, ``objective``.
    """
    if not grid:
        raise ValueError("the grid is empty")
    for name, values in grid.items():
        if name in ("seed", "objective", "trial"):
            raise ValueError(f"{name!r} is reserved for a result column")
        if len(values) == 0:
            raise ValueError(f"grid[{name!r}] has no values")
    seeds = _seeds(seeds)
    names = list(grid)
    rows = []
    for values in itertools.product(*(grid[n] for n in names)):
        config = dict(zip(names, values, strict=True))
        for seed, value in zip(seeds, _evaluate(objective, config, seeds), strict=True):
            rows.append({**config, "seed": seed, "objective": value})
    return pd.DataFrame(rows, columns=[*names, "seed", "objective"])


def random_search(
    objective: Objective,
    space: Space,
    num_trials: int,
    seed: int = 0,
    seeds: Iterable[int] = (0,),
) -> pd.DataFrame:
    """Sample ``num_trials`` configurations from ``space`` independently.

    Configurations are drawn with ``numpy.random.default_rng(seed)`` (so the
    search is reproducible) and each is evaluated at every seed in ``seeds``.

    Returns:
        One row per trial x seed: ``trial``, the parameters, ``seed``, ``objective``.
    """
    _check_space(space)
    if num_trials < 1:
        raise ValueError(f"num_trials must be >= 1, got {num_trials}")
    seeds = _seeds(seeds)
    rng = np.random.default_rng(seed)
    rows = []
    for trial in range(num_trials):
        config = {name: dist.sample(rng) for name, dist in space.items()}
        for s, value in zip(seeds, _evaluate(objective, config, seeds), strict=True):
            rows.append({"trial": trial, **config, "seed": s, "objective": value})
    return pd.DataFrame(rows, columns=["trial", *space, "seed", "objective"])


def bayes_search(
    objective: Objective,
    space: Space,
    num_trials: int,
    seed: int = 0,
    seeds: Iterable[int] = (0,),
    n_startup_trials: int = 10,
) -> pd.DataFrame:
    """Sequential model-based search with Optuna's TPE sampler (Bergstra et al. 2011).

    The first ``n_startup_trials`` configurations are random; later ones are
    proposed where a tree-structured Parzen estimator expects low objective
    values. Each configuration is scored by its mean over ``seeds``
    (non-finite means are reported to Optuna as failed trials). The sampler
    is seeded with ``seed``, so the search is reproducible.

    Returns:
        One row per trial x seed, like :func:`random_search`.
    """
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - optuna is a declared extra
        raise ImportError(
            "bayes_search needs optuna: pip install optuna (or lrbook[search])"
        ) from exc
    _check_space(space)
    if num_trials < 1:
        raise ValueError(f"num_trials must be >= 1, got {num_trials}")
    seeds = _seeds(seeds)
    previous_verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
        study = optuna.create_study(direction="minimize", sampler=sampler)
        rows = []
        for trial_index in range(num_trials):
            trial = study.ask()
            config = {name: dist.suggest(trial, name) for name, dist in space.items()}
            values = _evaluate(objective, config, seeds)
            mean = float(np.mean(values))
            if math.isfinite(mean):
                study.tell(trial, mean)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            for s, value in zip(seeds, values, strict=True):
                rows.append({"trial": trial_index, **config, "seed": s, "objective": value})
    finally:
        optuna.logging.set_verbosity(previous_verbosity)
    return pd.DataFrame(rows, columns=["trial", *space, "seed", "objective"])


def optuna_search(
    train: Callable[[dict[str, Any], int], Iterable[Mapping[str, float]]],
    space: Space,
    sampler: Any,
    max_epochs: int,
    *,
    num_trials: int | None = None,
    budget_epochs: int | None = None,
    pruner: Any = None,
    seed: int = 0,
    score: str = "val",
    enqueue: Sequence[Mapping[str, Any]] = (),
) -> pd.DataFrame:
    """Any Optuna sampler and pruner, with the cost counted in training epochs.

    ``train(config, seed)`` is a generator that trains one configuration and
    yields one record per epoch (a mapping such as ``{"val": ..., "test": ...}``);
    the search reports ``record[score]`` (lower is better) to Optuna after every
    epoch and stops the trial when the ``pruner`` says so (successive halving,
    Hyperband) or after ``max_epochs``. Every epoch any trial trains is counted.

    The search ends after ``num_trials`` trials or, with ``budget_epochs``,
    when that many epochs have been spent; a trial still running when the
    budget runs out is cut there (state ``"cut"``) and cannot be selected.
    A non-finite score ends the trial as ``"fail"``.

    Args:
        sampler: an ``optuna.samplers`` instance, seeded by the caller
            (``RandomSampler(seed=...)``, ``QMCSampler(...)``, ``TPESampler(...)``).
        max_epochs: epochs of a trial that is never pruned (``>= 1``).
        num_trials, budget_epochs: exactly one of them, a positive integer.
        pruner: an ``optuna.pruners`` instance or ``None`` (never prune).
        seed: passed to ``train`` for every trial (same data order and
            initialisation for every configuration).
        enqueue: configurations to try first, in order
            (``study.enqueue_trial``); a grid search is a list of all grid
            points with any sampler (Optuna's ``GridSampler`` stops the study
            itself, which the ask-and-tell loop here does not allow).

    Returns:
        One row per trial: ``trial``, the parameters, ``epochs`` (trained),
        ``state`` (``"complete"``, ``"pruned"``, ``"cut"``, ``"fail"``), and
        the last record's values.
    """
    import optuna

    _check_space(space)
    if int(max_epochs) != max_epochs or max_epochs < 1:
        raise ValueError(f"max_epochs must be a positive integer, got {max_epochs!r}")
    if (num_trials is None) == (budget_epochs is None):
        raise ValueError("give exactly one of num_trials and budget_epochs")
    limit = num_trials if num_trials is not None else budget_epochs
    if int(limit) != limit or limit < 1:
        raise ValueError(f"num_trials / budget_epochs must be a positive integer, got {limit!r}")
    previous_verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows: list[dict[str, Any]] = []
    spent = 0
    try:
        if pruner is None:  # Optuna's own default would be a MedianPruner
            pruner = optuna.pruners.NopPruner()
        study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
        for config in enqueue:
            study.enqueue_trial(dict(config))
        while (num_trials is None or len(rows) < num_trials) and (
            budget_epochs is None or spent < budget_epochs
        ):
            trial = study.ask()
            config = {name: dist.suggest(trial, name) for name, dist in space.items()}
            state, epochs, record = "complete", 0, {}
            for record in train(dict(config), int(seed)):
                epochs += 1
                spent += 1
                value = float(record[score])
                if not math.isfinite(value):
                    state = "fail"
                    break
                trial.report(value, epochs)
                if budget_epochs is not None and spent >= budget_epochs and epochs < max_epochs:
                    state = "cut"
                    break
                if epochs >= max_epochs:
                    break
                if trial.should_prune():
                    state = "pruned"
                    break
            if state == "complete":
                study.tell(trial, float(record[score]))
            elif state == "pruned":
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            rows.append({"trial": trial.number, **config, "epochs": epochs, "state": state,
                         **{k: float(v) for k, v in record.items()}})
    finally:
        optuna.logging.set_verbosity(previous_verbosity)
    return pd.DataFrame(rows)


def best_trial(results: pd.DataFrame, select: str = "val") -> pd.Series:
    """The completed trial with the lowest ``select`` value (select on validation).

    Pruned, cut and failed trials of :func:`optuna_search` are never chosen.
    Raises ``ValueError`` when no trial completed.
    """
    done = results if "state" not in results.columns else results[results["state"] == "complete"]
    if done.empty:
        raise ValueError("no completed trial to select")
    return done.loc[done[select].idxmin()]


# --------------------------------------------------------------------------
# summaries and plots
# --------------------------------------------------------------------------


def _param_columns(results: pd.DataFrame, value: str) -> list[str]:
    return [c for c in results.columns if c not in ("seed", value)]


def aggregate(results: pd.DataFrame, value: str = "objective") -> pd.DataFrame:
    """Mean ± spread over seeds for every configuration, best (lowest mean) first.

    Groups by every column except ``seed`` and ``value`` (so by ``trial`` too
    for sampled searches) and returns ``mean``, ``std`` (sample standard
    deviation, ``NaN`` for one seed), ``min``, ``max`` and ``count`` (number of
    seeds).
    Non-finite values propagate into the mean, so a configuration that
    diverged for one seed is not hidden.
    """
    keys = _param_columns(results, value)
    if not keys:
        raise ValueError("results have no parameter columns")
    grouped = results.groupby(keys, sort=False, dropna=False)[value]
    table = grouped.agg(
        mean=lambda s: s.mean(skipna=False),
        std=lambda s: s.std(skipna=False),
        min=lambda s: s.min(skipna=False),
        max=lambda s: s.max(skipna=False),
        count="size",
    ).reset_index()
    return table.sort_values("mean", na_position="last", kind="stable").reset_index(drop=True)


def plot_search(
    results: pd.DataFrame,
    param: str = "lr",
    value: str = "objective",
    hue: str | None = None,
    ax=None,
    logx: bool = True,
    logy: bool = False,
    show_seeds: bool = True,
    label: str | None = None,
):
    """Objective against one parameter (log x-axis by default); returns the axes.

    Each configuration's mean over seeds is drawn with an error bar (one
    standard deviation) and, with ``show_seeds``, the individual seeds as faint
    dots. With ``hue`` one line is drawn per value of that column (e.g. per
    optimizer); otherwise configurations are joined by a line when they form a
    1-D grid and left as points when sampled.
    """
    import matplotlib.pyplot as plt

    if param not in results.columns:
        raise ValueError(f"no column {param!r} in results: {list(results.columns)}")
    if ax is None:
        _, ax = plt.subplots()
    groups = [(label, results)] if hue is None else list(results.groupby(hue, sort=False))
    for i, (name, frame) in enumerate(groups):
        color = f"C{i}"
        table = aggregate(frame, value).sort_values(param)
        sampled = "trial" in frame.columns
        if show_seeds:
            ax.scatter(frame[param], frame[value], s=10, color=color, alpha=0.3, linewidths=0)
        ax.errorbar(
            table[param],
            table["mean"],
            yerr=table["std"].fillna(0.0),
            color=color,
            marker="o",
            markersize=4,
            capsize=2,
            linestyle="none" if sampled else "-",
            label=None if name is None else str(name),
        )
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(param.replace("_", " ").lower())
    ax.set_ylabel(value.replace("_", " ").lower())
    if hue is not None or label is not None:
        ax.legend()
    return ax
