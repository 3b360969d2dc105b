"""The book's one plotting style: contours with trajectories, loss curves,
seed bands, animations that play in static HTML, and source listings.

Every helper takes what it draws as arguments and returns the matplotlib
object it made, so it works the same in Jupyter, in the built book and in a
plain script (no notebook-only display machinery, no hidden state).
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Mapping, Sequence
from html import escape

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes

from lrbook.problems import DTYPE, Problem

#: Colours cycled by every plot in the book (colour-blind safe, Okabe–Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
#: Line styles cycled together with :data:`PALETTE`, so curves that the text
#: compares differ by more than colour (readable in grey and for every colour-vision deficiency).
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (8, 2)), (0, (1, 1)), (0, (3, 1, 1, 1, 1, 1))]


def use_book_style() -> None:
    """Set the matplotlib defaults every chapter uses (call once per notebook)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.0, 4.0),
            "figure.dpi": 100,
            "savefig.bbox": "tight",
            # opaque figures stay readable on the theme's dark background
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "savefig.transparent": False,
            "axes.prop_cycle": mpl.cycler(color=PALETTE) + mpl.cycler(linestyle=LINESTYLES),
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
    for (label, path), colour in zip(trajectories.items(), itertools.cycle(PALETTE)):
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
    frame_format: str = "png",
    alt: str | None = None,
):
    """Animate the paths step by step; returns an ``IPython.display.HTML`` player.

    ``alt`` is the text alternative of the player's frame image (screen
    readers announce it); by default it names the paths and the problem.

    The player is made with ``FuncAnimation.to_jshtml()``: plain JavaScript
    and embedded frames, so it plays in the static HTML book with no kernel.
    At most ``max_frames`` frames are drawn (paths are subsampled) to keep
    pages small; ``frame_format="jpeg"`` makes the embedded frames about
    2.5 times smaller than PNG, at a small cost in sharpness.
    """
    from IPython.display import HTML

    paths = {k: np.asarray(v) for k, v in trajectories.items()}
    length = max(len(p) for p in paths.values())
    frames = np.unique(np.linspace(0, length - 1, min(max_frames, length)).round().astype(int))
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    contour(problem, ax=ax)
    lines = {}
    for label, colour in zip(paths, itertools.cycle(PALETTE)):
        (lines[label],) = ax.plot([], [], color=colour, marker="o", markersize=3, lw=1.6, label=label)
    ax.legend(loc="upper right", fontsize=8)

    def draw(frame: int):
        for label, path in paths.items():
            upto = path[: frame + 1]
            lines[label].set_data(upto[:, 0], upto[:, 1])
        return list(lines.values())

    fig.tight_layout()
    anim = FuncAnimation(fig, draw, frames=frames, interval=interval, blit=True)
    with mpl.rc_context({"animation.frame_format": frame_format}):
        html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    if alt is None:
        alt = f"Animation of the paths of {', '.join(paths)} on the contours of {problem.name}, step by step."
    html = re.sub(r'<img id="(_anim_img\w+)"', lambda m: f'<img id="{m.group(1)}" alt="{escape(alt)}"', html)
    return HTML(html)


def show_source(obj) -> object:
    """Display the syntax-highlighted source of a package object in a notebook.

    Chapters show the rule they teach with this, so the text is always the
    code that runs: ``show_source(lrbook.optim.sgd.sgd_update)``.
    """
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


#: Default (width, height) of flowchart nodes, in data units, by shape.
_NODE_SIZE = {"box": (4.2, 0.6), "terminal": (3.0, 0.62), "optional": (4.2, 0.6), "decision": (1.6, 1.0)}
_NODE_COLOURS = {
    "box": ("#EAF2FA", PALETTE[0], "-"),
    "terminal": ("#E8F5EE", PALETTE[2], "-"),
    "optional": ("white", PALETTE[0], "--"),
    "decision": ("#FCEFE6", PALETTE[1], "-"),
}


def _node_exit(centre: np.ndarray, half: np.ndarray, shape: str, towards: np.ndarray) -> np.ndarray:
    """The point where the ray from ``centre`` towards ``towards`` leaves the node's outline."""
    d = np.asarray(towards, float) - centre
    if not np.any(d):
        return centre
    a = np.abs(d) / half
    t = 1.0 / a.sum() if shape == "decision" else 1.0 / a.max()
    return centre + t * d


def flowchart(
    nodes: Mapping[str, tuple],
    edges: Sequence[tuple],
    ax: Axes | None = None,
    figsize: tuple[float, float] = (8.0, 6.0),
    fontsize: float = 9.0,
) -> Axes:
    """Draw a flowchart with matplotlib alone (no Mermaid, no JavaScript: it works offline).

    Args:
        nodes: ``name -> (x, y, text[, shape[, (width, height)]])`` in data
            units. ``shape`` is ``"box"`` (default), ``"decision"`` (a diamond),
            ``"terminal"`` (start/end) or ``"optional"`` (dashed outline); the
            size defaults to ``_NODE_SIZE[shape]``.
        edges: ``(source, target[, label[, via[, label_xy]]])``. The arrow runs
            from ``source`` through the points ``via`` (a list of ``(x, y)``;
            use it for right-angled routes and loops) to ``target``, clipped to
            the node outlines. ``label`` (e.g. ``"yes"``) is written at
            ``label_xy``, by default halfway along the first segment.
        ax: axes to draw on (a new figure of ``figsize`` otherwise).
        fontsize: size of the node text (labels are one point smaller).

    Returns the axes, with the axis lines switched off.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    geometry = {}
    for name, spec in nodes.items():
        x, y, text = spec[:3]
        shape = spec[3] if len(spec) > 3 else "box"
        if shape not in _NODE_SIZE:
            raise ValueError(f"unknown shape {shape!r} for node {name!r}; choose from {sorted(_NODE_SIZE)}")
        width, height = spec[4] if len(spec) > 4 else _NODE_SIZE[shape]
        face, edge, linestyle = _NODE_COLOURS[shape]
        if shape == "decision":
            outline = mpl.patches.Polygon(
                [(x - width / 2, y), (x, y + height / 2), (x + width / 2, y), (x, y - height / 2)], closed=True)
        else:
            pad = 0.12 * min(width, height)
            outline = mpl.patches.FancyBboxPatch(
                (x - width / 2 + pad, y - height / 2 + pad), width - 2 * pad, height - 2 * pad,
                boxstyle=f"round,pad={pad:g},rounding_size={pad * (2.5 if shape == 'terminal' else 1):g}")
        outline.set(facecolor=face, edgecolor=edge, linestyle=linestyle, linewidth=1.4, zorder=2)
        ax.add_patch(outline)
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3)
        geometry[name] = (np.array([x, y], float), np.array([width, height], float) / 2, shape)
    for edge in edges:
        source, target = edge[0], edge[1]
        label = edge[2] if len(edge) > 2 else ""
        via = [np.asarray(p, float) for p in (edge[3] if len(edge) > 3 and edge[3] else [])]
        for end in (source, target):
            if end not in geometry:
                raise KeyError(f"edge {edge!r} refers to an unknown node {end!r}")
        (c0, h0, s0), (c1, h1, s1) = geometry[source], geometry[target]
        inner = via or [c1]
        start = _node_exit(c0, h0, s0, inner[0])
        stop = _node_exit(c1, h1, s1, (via or [c0])[-1])
        points = [start, *via, stop]
        if len(points) > 2:
            line = np.array(points[:-1])
            ax.plot(line[:, 0], line[:, 1], color="#444444", lw=1.3, zorder=1, solid_capstyle="butt")
        ax.annotate("", xy=tuple(points[-1]), xytext=tuple(points[-2]), zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color="#444444", lw=1.3, shrinkA=0, shrinkB=0,
                                    mutation_scale=14))
        if label:
            lx, ly = edge[4] if len(edge) > 4 else (points[0] + points[1]) / 2
            ax.text(lx, ly, label, ha="center", va="center", fontsize=fontsize - 1, color="#333333",
                    style="italic", zorder=4,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))
    corners = [g[0] + s * g[1] for g in geometry.values() for s in (-1, 1)]
    corners += [np.asarray(p, float) for e in edges if len(e) > 3 and e[3] for p in e[3]]
    corners = np.array(corners)
    ax.set_xlim(corners[:, 0].min() - 0.15, corners[:, 0].max() + 0.15)
    ax.set_ylim(corners[:, 1].min() - 0.15, corners[:, 1].max() + 0.15)
    ax.set_axis_off()
    return ax


def training_loop_flowchart(ax: Axes | None = None, figsize: tuple[float, float] = (8.8, 6.0)) -> Axes:
    """The generic mini-batch training loop, drawn with :func:`flowchart`.

    The forward pass (loss) comes before the backward pass (gradients), and the
    gradients of the previous step are zeroed before the backward pass (torch
    *adds* new gradients to ``.grad``, so without ``zero_grad()`` they pile up); the
    optimizer steps once per mini-batch, a step-based schedule right after it;
    once per epoch come validation, epoch-based schedules and plateau rules,
    and the stopping decision, which leads to the next epoch's first mini-batch
    or to the end (with the best weights restored).
    """
    nodes = {
        "init": (0.0, 7.0, "initialise parameters\nand optimizer state", "terminal"),
        "batch": (0.0, 6.0, "take the next mini-batch"),
        "forward": (0.0, 5.0, "forward pass: compute the loss"),
        "backward": (0.0, 4.0, "zero the gradients;\nbackward pass: compute the gradients", "box", (4.4, 0.75)),
        "step": (0.0, 3.0, "optimizer step: update the parameters", "box", (4.4, 0.6)),
        "sched": (0.0, 2.0, "step-based scheduler:\nset the next learning rate", "optional", (3.5, 0.75)),
        "epoch": (0.0, 0.7, "end of\nepoch?", "decision"),
        "val": (5.3, 0.7, "evaluate on the validation set;\n"
                "epoch-based scheduler,\nreduce-on-plateau", "box", (3.8, 1.0)),
        "stop": (5.3, 2.9, "stop?\n(early stopping\nor max epochs)", "decision", (2.5, 1.5)),
        "end": (5.3, 4.9, "restore the best\nweights; finish", "terminal", (2.8, 0.75)),
    }
    edges = [
        ("init", "batch"),
        ("batch", "forward"),
        ("forward", "backward"),
        ("backward", "step"),
        ("step", "sched"),
        ("sched", "epoch"),
        ("epoch", "batch", "no", [(-2.7, 0.7), (-2.7, 6.0)], (-1.6, 0.7)),
        ("epoch", "val", "yes"),
        ("val", "stop"),
        ("stop", "batch", "no: next epoch", [(7.5, 2.9), (7.5, 6.0)], (5.3, 6.0)),
        ("stop", "end", "yes"),
    ]
    return flowchart(nodes, edges, ax=ax, figsize=figsize)


def curve_trajectories(
    problem: Problem,
    trajectories: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    num: int = 400,
) -> Axes:
    """Draw a 1-D problem's graph and each named path ``(steps + 1, 1)`` as points on it.

    Consecutive iterates are joined by straight lines, so an oscillating run
    shows as a zig-zag across the valley and a diverging run climbs the walls.
    """
    if problem.dim != 1:
        raise ValueError(f"curve_trajectories needs a 1-D problem, {problem.name!r} has dimension {problem.dim}")
    ax = _new_axes(ax)
    xs = torch.linspace(*problem.xlim, num, dtype=DTYPE)
    with torch.no_grad():
        ys = problem.f(xs.unsqueeze(-1)).numpy()
    ax.plot(xs.numpy(), ys, color="#888888", lw=1.5, zorder=1)
    for (label, path), colour in zip(trajectories.items(), itertools.cycle(PALETTE)):
        path = np.asarray(path, dtype=float).reshape(len(path), -1)[:, 0]
        path = path[np.isfinite(path)]
        with torch.no_grad():
            fx = problem.f(torch.as_tensor(path, dtype=DTYPE).unsqueeze(-1)).numpy()
        ax.plot(path, fx, color=colour, marker="o", markersize=3.5, lw=1.0, label=label, zorder=2)
    ax.set_xlim(*problem.xlim)
    lo, hi = float(ys.min()), float(ys.max())
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    ax.set_xlabel("$x$")
    ax.set_ylabel("$f(x)$")
    ax.legend(loc="best", fontsize=9)
    return ax
