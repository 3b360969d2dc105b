r"""The fair protocol as small functions: grids, interior optima, means with standard errors.

Every comparison in the book follows one protocol (the Tuning Playbook's, and
the one :func:`lrbook.compare.compare` implements for populations):

1. each method's learning rate is tuned on the **same** log-spaced grid with at
   least two points per decade near the optimum (:func:`log_grid`);
2. the chosen value is the best **validation** score averaged over *tuning*
   seeds, and it must lie strictly inside the grid: a best value at the edge
   means the grid was too narrow and the method is untuned
   (:func:`best_interior` raises :class:`GridEdgeError`);
3. the chosen setting is re-run on separate *reporting* seeds and reported on
   the **test** split as mean ± standard error of the mean (:func:`mean_se`);
4. two methods are compared by the difference of their means and the standard
   error of that difference (:func:`diff_se`), paired over seeds when both saw
   the same seeds.

One definition of spread is used book-wide: the sample standard deviation
with ``ddof=1``, and the standard error ``sd / sqrt(n)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GridEdgeError",
    "MeanSE",
    "best_interior",
    "diff_se",
    "log_grid",
    "mean_se",
]


class GridEdgeError(ValueError):
    """The best value of a tuning grid lies on its edge: widen the grid."""


@dataclass(frozen=True)
class MeanSE:
    """A mean with its standard error over ``n`` independent runs.

    ``sd`` is the sample standard deviation (``ddof=1``) and ``se = sd / sqrt(n)``.
    ``str()`` gives ``"mean ± se"``; :meth:`fmt` takes a format spec.
    """

    mean: float
    se: float
    sd: float
    n: int

    def fmt(self, spec: str = ".3f") -> str:
        return f"{self.mean:{spec}} ± {self.se:{spec}}"

    def __str__(self) -> str:
        return self.fmt()


def mean_se(values: Sequence[float] | np.ndarray) -> MeanSE:
    """Mean and standard error of the mean of ``values`` (1-D, one value per seed).

    Raises ``ValueError`` when fewer than two values are given (no spread can be
    estimated) or when a value is not finite (a diverged run must be handled
    before averaging, not averaged in as ``inf`` or ``nan``).
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2:
        raise ValueError(f"values must hold at least 2 runs to estimate a spread, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"values must be finite, got {x.tolist()}")
    sd = float(np.std(x, ddof=1))
    return MeanSE(float(np.mean(x)), sd / math.sqrt(x.size), sd, int(x.size))


def diff_se(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, paired: bool
) -> MeanSE:
    r"""Difference of means ``mean(a) - mean(b)`` with its standard error.

    ``paired=True``: ``a[i]`` and ``b[i]`` come from the same seed (same
    initial weights and minibatch order), and the standard error is that of
    the per-seed differences, which removes the seed-to-seed variation both
    share. ``paired=False``: independent runs,
    :math:`\mathrm{se} = \sqrt{s_a^2/n_a + s_b^2/n_b}` (Welch).

    The difference is resolved by the data when ``|mean| > 2 se``. Raises
    ``ValueError`` for paired inputs of different lengths.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired runs need equal lengths, got {a.size} and {b.size}")
        return mean_se(a - b)
    ma, mb = mean_se(a), mean_se(b)
    se = math.sqrt(ma.se**2 + mb.se**2)
    return MeanSE(ma.mean - mb.mean, se, float("nan"), min(ma.n, mb.n))


def log_grid(low: float, high: float, per_decade: int = 3) -> np.ndarray:
    """A log-spaced grid from ``low`` to ``high`` (both included), ``per_decade`` points a decade.

    ``log_grid(1e-3, 1, 3)`` is 1e-3, 2.15e-3, 4.64e-3, 1e-2, ..., 1. The
    number of points is rounded so that the spacing is as close as possible to
    ``per_decade`` per factor of ten. Raises ``ValueError`` unless
    ``0 < low < high`` and ``per_decade >= 2`` (one point a decade is too
    coarse to place an optimum).
    """
    if not (low > 0 and high > low):
        raise ValueError(f"need 0 < low < high, got low={low!r}, high={high!r}")
    if int(per_decade) != per_decade or per_decade < 2:
        raise ValueError(f"per_decade must be an integer >= 2, got {per_decade!r}")
    decades = math.log10(high / low)
    num = max(2, round(decades * per_decade) + 1)
    return np.logspace(math.log10(low), math.log10(high), num)


def best_interior(
    grid: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    minimize: bool = True,
    what: str = "learning rate",
) -> float:
    """The grid value with the best score, checked to lie strictly inside the grid.

    ``scores[i]`` is the (validation, seed-averaged) score of ``grid[i]``; NaN
    counts as the worst score (a diverged run). Raises :class:`GridEdgeError`
    (a ``ValueError``) naming the grid and the edge when the best value is the
    smallest or largest grid value: the optimum may lie outside the grid, so
    the method counts as untuned until the grid is widened.
    """
    grid = np.asarray(grid, dtype=float).ravel()
    scores = np.asarray(scores, dtype=float).ravel()
    if grid.shape != scores.shape:
        raise ValueError(f"grid and scores differ in length: {grid.size} vs {scores.size}")
    if grid.size < 3:
        raise ValueError(f"grid must hold at least 3 values to have an interior, got {grid.size}")
    order = np.argsort(grid)
    grid, scores = grid[order], scores[order]
    worst = np.inf if minimize else -np.inf
    scores = np.where(np.isnan(scores), worst, scores)
    i = int(np.argmin(scores) if minimize else np.argmax(scores))
    if i in (0, grid.size - 1):
        edge = "smallest" if i == 0 else "largest"
        raise GridEdgeError(
            f"the best {what} {grid[i]:.4g} is the {edge} value of the grid "
            f"[{grid[0]:.4g}, ..., {grid[-1]:.4g}]: widen the grid beyond it"
        )
    return float(grid[i])
