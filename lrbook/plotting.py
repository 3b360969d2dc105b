"""The book's one plotting style: contours with trajectories, loss curves,
seed bands, animations that play in static HTML, and source listings.

Every helper takes what it draws as arguments and returns the matplotlib
object it made, so it works the same in Jupyter, in the built book and in a
plain script (no notebook-only display machinery, no hidden state).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes

from lrbook.problems import DTYPE, Problem

#: Colours cycled by every plot in the book (colour-blind safe, Okabe–Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


def use_book_style() -> None:
    """Set the matplotlib defaults every chapter uses (call once per notebook)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.0, 4.0),
            "figure.dpi": 100,
            "savefig.bbox": "tight",
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "lines.linewidth": 2.0,
            "font.size": 11,
            "legend.frameon": False,
            "animation.embed_limit": 8.0,  # MB; the book's animations are far smaller
        }
    )


def _new_axes(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def _grid_values(problem: Problem, num: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = torch.linspace(*problem.xlim, num, dtype=DTYPE)
    ys = torch.linspace(*problem.ylim, num, dtype=DTYPE)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    with torch.no_grad():
        z = problem.f(torch.stack([gx, gy], dim=-1)) - problem.min_value
    return gx.numpy(), gy.numpy(), z.numpy()


def contour(problem: Problem, ax: Axes | None = None, levels: int = 25) -> Axes:
    """Filled-line contours of ``f − f*`` on log-spaced levels, with the minimizer starred."""
    if problem.dim != 2:
        raise ValueError(f"contour needs a 2-D problem, {problem.name!r} has dimension {problem.dim}")
    ax = _new_axes(ax)
    gx, gy, z = _grid_values(problem)
    positive = z[z > 0]
    low = max(float(positive.min()), 1e-4 * float(positive.max())) if positive.size else 1e-3
    lv = np.geomspace(low, float(z.max()), levels)
    ax.contour(gx, gy, np.maximum(z, low), levels=lv, cmap="Greys", linewidths=0.8, alpha=0.7)
    star = problem.minimizer.numpy()
    ax.plot(star[0], star[1], marker="*", color="black", markersize=12, linestyle="none", label="minimum")
    ax.set_xlim(*problem.xlim)
    ax.set_ylim(*problem.ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    return ax


def contour_trajectories(
    problem: Problem,
    trajectories: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    markers: bool = True,
    legend: bool = True,
) -> Axes:
    """Draw ``problem``'s contours and each named path of shape ``(steps + 1, 2)`` over them."""
    ax = contour(problem, ax=ax)
    for (label, path), colour in zip(trajectories.items(), PALETTE):
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], color=colour, lw=1.6, label=label,
                marker="o" if markers else None, markersize=3)
    if legend:
        ax.legend(loc="best", fontsize=9)
    return ax


def loss_curves(
    curves: Mapping[str, Sequence[float] | np.ndarray | tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
    logy: bool = True,
    xlabel: str = "step",
    ylabel: str = "loss",
) -> Axes:
    """Plot named curves; a value may be ``y`` (plotted against its index) or a pair ``(x, y)``."""
    ax = _new_axes(ax)
    for label, curve in curves.items():
        if isinstance(curve, tuple) and len(curve) == 2:
            x, y = np.asarray(curve[0]), np.asarray(curve[1])
        else:
            y = np.asarray(curve)
            x = np.arange(len(y))
        ax.plot(x, y, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize=9)
    return ax


def seed_band(
    ax: Axes, x: Sequence[float] | np.ndarray, runs: np.ndarray, label: str, color: str | None = None
) -> Axes:
    """Plot the mean over seeds (rows of ``runs``) with a ±1 standard-deviation band."""
    runs = np.asarray(runs, dtype=float)
    mean, std = runs.mean(axis=0), runs.std(axis=0)
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
    return ax


def animate_trajectories(
    problem: Problem,
    trajectories: Mapping[str, np.ndarray],
    interval: int = 60,
    max_frames: int = 40,
    figsize: tuple[float, float] = (5.0, 3.6),
    dpi: int = 72,
):
    """Animate the paths step by step; returns an ``IPython.display.HTML`` player.

    The player is made with ``FuncAnimation.to_jshtml()``: plain JavaScript
    and embedded frames, so it plays in the static HTML book with no kernel.
    At most ``max_frames`` frames are drawn (paths are subsampled) to keep
    pages small.
    """
    from IPython.display import HTML

    paths = {k: np.asarray(v) for k, v in trajectories.items()}
    length = max(len(p) for p in paths.values())
    frames = np.unique(np.linspace(0, length - 1, min(max_frames, length)).round().astype(int))
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    contour(problem, ax=ax)
    lines = {}
    for (label, path), colour in zip(paths.items(), PALETTE):
        (lines[label],) = ax.plot([], [], color=colour, marker="o", markersize=3, lw=1.6, label=label)
    ax.legend(loc="upper right", fontsize=8)

    def draw(frame: int):
        for label, path in paths.items():
            upto = path[: frame + 1]
            lines[label].set_data(upto[:, 0], upto[:, 1])
        return list(lines.values())

    anim = FuncAnimation(fig, draw, frames=frames, interval=interval, blit=True)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return HTML(html)


def show_source(obj) -> object:
    """Display the syntax-highlighted source of a package object in a notebook.

    Chapters show the rule they teach with this, so the text is always the
    code that runs: ``show_source(lrbook.optim.sgd.sgd_update)``.
    """
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")
