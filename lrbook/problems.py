"""Small test problems with analytic gradients and known minima.

Every problem is a :class:`Problem`: a differentiable torch function ``f`` that
accepts points of shape ``(d,)`` or a batch ``(..., d)`` (so a whole contour
grid is evaluated in one call), its analytic gradient ``grad``, the minimizer and
the minimum value, and the plotting window the book uses for it.

:func:`trajectory` runs any ``torch.optim``-style optimizer on a problem and
returns the path it takes; the chapters draw these paths over contour plots.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

DTYPE = torch.float64


@dataclass(frozen=True)
class Problem:
    """A function to minimise, with what the book needs to draw and check it.

    Attributes:
        name: short label for legends.
        f: ``f(x) -> Tensor``; ``x`` has shape ``(..., d)``, the result ``(...)``.
        grad: analytic gradient, same shapes as ``x``.
        minimizer: a global minimizer ``x*`` (shape ``(d,)``).
        min_value: ``f(x*)``.
        start: the default starting point used by the chapters.
        xlim: plotting window along the first coordinate.
        ylim: plotting window along the second (ignored for 1-D problems).
        hessian: the constant Hessian for quadratics, else ``None``.
    """

    name: str
    f: Callable[[Tensor], Tensor]
    grad: Callable[[Tensor], Tensor]
    minimizer: Tensor
    min_value: float
    start: Tensor
    xlim: tuple[float, float]
    ylim: tuple[float, float] = (0.0, 0.0)
    hessian: Tensor | None = None

    @property
    def dim(self) -> int:
        return int(self.minimizer.numel())

    @property
    def eigenvalues(self) -> Tensor:
        """Eigenvalues of the Hessian (ascending); quadratics only."""
        if self.hessian is None:
            raise ValueError(f"problem {self.name!r} has no constant Hessian")
        return torch.linalg.eigvalsh(self.hessian)

    def __call__(self, x: Tensor) -> Tensor:
        return self.f(x)


def _t(values: Iterable[float]) -> Tensor:
    return torch.tensor(list(values), dtype=DTYPE)


def quadratic(kappa: float = 10.0, h_min: float = 1.0, angle: float = 0.0) -> Problem:
    r"""The quadratic :math:`f(x) = \tfrac12 x^\top H x` with condition number ``kappa``.

    :math:`H = R\,\mathrm{diag}(h_{\min}, \kappa h_{\min})\,R^\top`, where
    :math:`R` rotates by ``angle`` radians, so the axes of the ellipses are not
    aligned with the coordinates when ``angle != 0`` (that matters for
    per-coordinate methods such as Adagrad). The minimizer is the origin, and
    :math:`L = h_{\max} = \kappa h_{\min}` is the smoothness constant.
    """
    if not kappa >= 1.0:
        raise ValueError(f"kappa must be >= 1 (it is h_max / h_min), got {kappa}")
    if not h_min > 0.0:
        raise ValueError(f"h_min must be > 0, got {h_min}")
    c, s = math.cos(angle), math.sin(angle)
    rotation = torch.tensor([[c, -s], [s, c]], dtype=DTYPE)
    hessian = rotation @ torch.diag(_t([h_min, kappa * h_min])) @ rotation.T

    def f(x: Tensor) -> Tensor:
        return 0.5 * torch.einsum("...i,ij,...j->...", x, hessian.to(x), x)

    def grad(x: Tensor) -> Tensor:
        return x @ hessian.to(x).T

    return Problem(
        name=f"quadratic (κ={kappa:g})",
        f=f,
        grad=grad,
        minimizer=torch.zeros(2, dtype=DTYPE),
        min_value=0.0,
        start=_t([-4.0, 3.0 / math.sqrt(kappa) + 1.0]),
        xlim=(-5.0, 5.0),
        ylim=(-3.0, 3.0),
        hessian=hessian,
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    r"""Rosenbrock's banana :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`, minimum 0 at :math:`(a, a^2)`."""

    def f(x: Tensor) -> Tensor:
        u, v = x[..., 0], x[..., 1]
        return (a - u) ** 2 + b * (v - u**2) ** 2

    def grad(x: Tensor) -> Tensor:
        u, v = x[..., 0], x[..., 1]
        du = -2.0 * (a - u) - 4.0 * b * u * (v - u**2)
        dv = 2.0 * b * (v - u**2)
        return torch.stack([du, dv], dim=-1)

    return Problem(
        name="Rosenbrock",
        f=f,
        grad=grad,
        minimizer=_t([a, a * a]),
        min_value=0.0,
        start=_t([-1.5, 2.0]),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
    )


def beale() -> Problem:
    r"""Beale's function :math:`\sum_{i=1}^{3} (c_i - x + x y^i)^2`, :math:`c = (1.5, 2.25, 2.625)`.

    Minimum 0 at :math:`(3, 0.5)`; flat plateaus and steep walls make it a hard
    test for a fixed learning rate.
    """
    c = (1.5, 2.25, 2.625)

    def f(x: Tensor) -> Tensor:
        u, v = x[..., 0], x[..., 1]
        return sum((ci - u + u * v ** (i + 1)) ** 2 for i, ci in enumerate(c))

    def grad(x: Tensor) -> Tensor:
        u, v = x[..., 0], x[..., 1]
        du = torch.zeros_like(u)
        dv = torch.zeros_like(v)
        for i, ci in enumerate(c):
            k = i + 1
            r = ci - u + u * v**k
            du = du + 2.0 * r * (v**k - 1.0)
            dv = dv + 2.0 * r * (k * u * v ** (k - 1))
        return torch.stack([du, dv], dim=-1)

    return Problem(
        name="Beale",
        f=f,
        grad=grad,
        minimizer=_t([3.0, 0.5]),
        min_value=0.0,
        start=_t([1.0, 1.5]),
        xlim=(-1.0, 4.5),
        ylim=(-1.5, 2.5),
    )


def saddle() -> Problem:
    r"""A saddle at the origin: :math:`f(x, y) = x^2 - y^2 + \tfrac14 y^4`.

    The origin is a stationary point that is a minimum along :math:`x` and a
    maximum along :math:`y`; the minima are :math:`(0, \pm\sqrt2)` with value
    :math:`-1`. Starting almost on the :math:`x`-axis, gradient descent slows
    down near the saddle before it escapes.
    """

    def f(x: Tensor) -> Tensor:
        u, v = x[..., 0], x[..., 1]
        return u**2 - v**2 + 0.25 * v**4

    def grad(x: Tensor) -> Tensor:
        u, v = x[..., 0], x[..., 1]
        return torch.stack([2.0 * u, -2.0 * v + v**3], dim=-1)

    return Problem(
        name="saddle",
        f=f,
        grad=grad,
        minimizer=_t([0.0, math.sqrt(2.0)]),
        min_value=-1.0,
        start=_t([2.0, 1e-3]),
        xlim=(-2.5, 2.5),
        ylim=(-2.2, 2.2),
    )


def nonconvex_1d() -> Problem:
    r"""A 1-D function with two local minima: :math:`f(x) = x^4 - 3x^2 + x`.

    :math:`f'(x) = 4x^3 - 6x + 1` has three real roots; the global minimizer is
    the leftmost one (about :math:`-1.30`), a worse local minimum sits near
    :math:`1.13`, and a local maximum near :math:`0.17` separates them.
    """

    def f(x: Tensor) -> Tensor:
        u = x[..., 0]
        return u**4 - 3.0 * u**2 + u

    def grad(x: Tensor) -> Tensor:
        u = x[..., 0]
        return (4.0 * u**3 - 6.0 * u + 1.0).unsqueeze(-1)

    roots = np.roots([4.0, 0.0, -6.0, 1.0]).real
    values = roots**4 - 3.0 * roots**2 + roots
    x_star = float(roots[np.argmin(values)])
    return Problem(
        name="x⁴ − 3x² + x",
        f=f,
        grad=grad,
        minimizer=_t([x_star]),
        min_value=float(values.min()),
        start=_t([2.0]),
        xlim=(-2.2, 2.2),
    )


def trajectory(
    problem: Problem,
    make_optimizer: Callable[[list[Tensor]], torch.optim.Optimizer],
    num_steps: int,
    start: Tensor | Iterable[float] | None = None,
    blowup: float = 1e6,
) -> np.ndarray:
    """Run an optimizer on ``problem`` and return its path, shape ``(num_steps + 1, d)``.

    ``make_optimizer`` receives the list ``[x]`` of the one parameter, e.g.
    ``lambda p: lrbook.optim.SGD(p, lr=0.1)``. Gradients come from autograd on
    ``problem.f``. When the iterate leaves ``|x| < blowup`` or stops being
    finite, the run is stopped with a warning that says so, and the remaining
    rows are NaN (plots then simply end the line there).
    """
    if num_steps < 0:
        raise ValueError(f"num_steps must be >= 0, got {num_steps}")
    x0 = problem.start if start is None else torch.as_tensor(start, dtype=DTYPE)
    x = x0.detach().clone().to(DTYPE).requires_grad_(True)
    optimizer = make_optimizer([x])
    path = np.full((num_steps + 1, problem.dim), np.nan)
    path[0] = x.detach().numpy()
    for step in range(1, num_steps + 1):
        optimizer.zero_grad()
        problem.f(x).backward()
        optimizer.step()
        point = x.detach().numpy()
        if not np.all(np.isfinite(point)) or np.abs(point).max() > blowup:
            warnings.warn(
                f"{problem.name}: the iterate diverged at step {step} (|x| > {blowup:g}); "
                "the rest of the path is NaN",
                RuntimeWarning,
                stacklevel=2,
            )
            break
        path[step] = point
    return path


def quadratic_1d(curvature: float = 2.0) -> Problem:
    r"""The 1-D parabola :math:`f(x) = \tfrac12 c\,x^2` (the default ``c = 2`` gives :math:`x^2`).

    The second derivative is the constant ``curvature`` :math:`c`, so gradient
    descent multiplies the iterate by :math:`1 - \eta c` at every step: it
    converges for :math:`0 < \eta < 2/c`, in a single step at :math:`\eta = 1/c`,
    oscillates in sign for :math:`1/c < \eta < 2/c` and diverges beyond.
    """
    if not curvature > 0.0:
        raise ValueError(f"curvature must be > 0, got {curvature}")

    def f(x: Tensor) -> Tensor:
        return 0.5 * curvature * x[..., 0] ** 2

    def grad(x: Tensor) -> Tensor:
        return curvature * x

    return Problem(
        name=f"{curvature:g}x²/2" if curvature != 2.0 else "x²",
        f=f,
        grad=grad,
        minimizer=_t([0.0]),
        min_value=0.0,
        start=_t([1.5]),
        xlim=(-2.0, 2.0),
        hessian=torch.tensor([[curvature]], dtype=DTYPE),
    )
