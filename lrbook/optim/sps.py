r"""SPS: the stochastic Polyak step size, capped (SPS_max of Loizou et al., 2021).

Polyak's step for gradient descent sets the learning rate from how far the loss
is above its minimum, :math:`\eta = (f(\theta) - f^*) / \lVert\nabla f(\theta)\rVert^2`.
Loizou, Vaswani, Laradji and Lacoste-Julien (2021), *Stochastic Polyak Step-size
for SGD: An Adaptive Learning Rate for Fast Convergence* (AISTATS), use the same
ratio on each minibatch :math:`B_t` and cap it (their SPS_max, Eq. 5; the paper
writes the cap as :math:`\gamma_b`, here :math:`\eta_{\max}`, the ``gamma_max``
argument; :math:`c_p` is the paper's constant :math:`c`, the ``c`` argument):

.. math::

    g_t &\leftarrow \nabla f_{B_t}(\theta_{t-1})
        \qquad\text{(over all parameters of all groups)} \\
    \eta_t &\leftarrow \min\left(\frac{f_{B_t}(\theta_{t-1}) - f^*_{B_t}}
        {c_p\,\lVert g_t\rVert^2},\ \eta_{\max}\right) \\
    \theta_t &\leftarrow \theta_{t-1} - \eta_t\, g_t

:math:`f^*_{B_t}` is the minimum of the *minibatch* loss (``f_star``, 0 for a
model that can fit its training data: interpolation, where the paper's theory
applies). Two guards the formula needs in code: :math:`\eta_t = 0` when
:math:`\lVert g_t\rVert = 0` (a stationary point: nothing to do), and
:math:`\eta_t \ge 0` (a loss below the given ``f_star`` would otherwise give a
step *up* the gradient). The step needs the minibatch loss, so ``step`` needs a
``closure`` that returns it; the optimizer computes the gradient itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["SPS", "sps_step_size"]


def sps_step_size(loss: float, f_star: float, grad_sq_norm: float, c: float, gamma_max: float) -> float:
    r"""The SPS_max learning rate :math:`\min((f - f^*)/(c_p\lVert g\rVert^2), \eta_{\max})`.

    Returns 0 when ``grad_sq_norm == 0`` and never a negative value (see the
    module docstring). All arguments are Python floats.
    """
    if grad_sq_norm == 0.0:
        return 0.0
    return max(0.0, min((loss - f_star) / (c * grad_sq_norm), gamma_max))


def _global_sq_norm(params: list[Tensor]) -> float:
    """:math:`\\lVert g\\rVert^2` summed over every parameter that has a gradient."""
    return float(sum(float(p.grad.detach().pow(2).sum()) for p in params))


def _loss_and_grads(closure: Callable[[], Tensor], params: list[Tensor]) -> float:
    """Evaluate the minibatch loss with fresh gradients (``.grad`` zeroed first)."""
    for p in params:
        p.grad = None
    with torch.enable_grad():
        loss = closure()
        loss.backward()
    return float(loss.detach())


class SPS(torch.optim.Optimizer):
    r"""SPS_max (Loizou et al., 2021): SGD whose step size is the capped Polyak step.

    Arguments: ``c`` (:math:`c_p > 0`, the paper's :math:`c`; 0.5 is its
    recommended value), ``gamma_max`` (:math:`\eta_{\max} > 0`, the cap, the
    paper's :math:`\gamma_b`; the default 1.0 is lrbook's choice, not a
    published default, and the authors' code uses other defaults), ``f_star``
    (:math:`f^*`, a lower bound on every minibatch loss; finite). Invalid values raise ``ValueError``.

    ``step(closure)``: the closure must **return the minibatch loss** (a scalar
    tensor) without calling ``backward``; the optimizer zeroes the gradients,
    back-propagates and updates. Without a closure ``step`` raises
    ``ValueError``. The learning rate used at the last step is kept in each
    param group as ``group["lr"]`` (so loggers and ``state_dict`` see it) and
    :attr:`step_sizes` lists every step's :math:`\eta_t`.
    """

    requires_loss_closure = True  # step(closure): the closure returns the minibatch loss

    def __init__(self, params, c: float = 0.5, gamma_max: float = 1.0, f_star: float = 0.0) -> None:
        if not (isinstance(c, (int, float)) and c > 0):
            raise ValueError(f"Invalid c: {c!r} (need c > 0)")
        if not (isinstance(gamma_max, (int, float)) and gamma_max > 0):
            raise ValueError(f"Invalid gamma_max: {gamma_max!r} (need gamma_max > 0)")
        if not (isinstance(f_star, (int, float)) and abs(f_star) < float("inf")):
            raise ValueError(f"Invalid f_star: {f_star!r} (need a finite number)")
        super().__init__(params, dict(c=float(c), gamma_max=float(gamma_max), f_star=float(f_star), lr=0.0))
        self.step_sizes: list[float] = []

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> float:
        """One SPS_max step; returns the minibatch loss before the step."""
        if closure is None:
            raise ValueError("SPS.step needs a closure that returns the minibatch loss: "
                             "optimizer.step(lambda: loss_fn(model(x), y))")
        params = [p for g in self.param_groups for p in g["params"]]
        loss = _loss_and_grads(closure, params)
        grad_sq_norm = _global_sq_norm([p for p in params if p.grad is not None])
        for group in self.param_groups:
            eta = sps_step_size(loss, group["f_star"], grad_sq_norm, group["c"], group["gamma_max"])
            group["lr"] = eta
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-eta)  # θ = θ - η_t g_t
        self.step_sizes.append(self.param_groups[0]["lr"])
        return loss
