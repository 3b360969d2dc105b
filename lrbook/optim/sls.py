r"""SLS: SGD with a stochastic Armijo line search (Vaswani et al., 2019).

Vaswani, Mishkin, Laradji, Schmidt, Gidel and Lacoste-Julien (2019), *Painless
Stochastic Gradient: Interpolation, Line-Search, and Convergence Rates*
(NeurIPS), Algorithms 1 and 2; reference implementation ``IssamLaradji/sls``
(``Sls(..., line_search_fn="armijo")``). At every step, on the minibatch
:math:`B_t` only (:math:`c_a` the Armijo constant, argument ``c``; :math:`c_b`
the backtracking factor, ``beta_b``; :math:`c_r` the reset factor, ``gamma``;
:math:`n_b` the number of minibatches per epoch, ``n_batches_per_epoch``):

.. math::

    g_t &\leftarrow \nabla f_{B_t}(\theta_{t-1}) \\
    \eta &\leftarrow \eta_{t-1}\,c_r^{1/n_b}
        \qquad\text{(reset: start a little above the last accepted step)} \\
    &\text{while } f_{B_t}(\theta_{t-1} - \eta g_t) >
        f_{B_t}(\theta_{t-1}) - c_a\,\eta\,\lVert g_t\rVert^2:
        \quad \eta \leftarrow c_b\,\eta
        \qquad\text{(Armijo backtracking)} \\
    \eta_t &\leftarrow \eta, \qquad \theta_t \leftarrow \theta_{t-1} - \eta_t g_t

with :math:`\eta_0` = ``init_step_size``. The reset options of the reference
code: ``reset_option=0`` keeps :math:`\eta_{t-1}`, ``1`` multiplies it by
:math:`c_r^{1/n_b}` (the default: over one epoch the trial step may grow by
:math:`c_r`), ``2`` restarts from :math:`\eta_0` at every step. As in the
reference, the search stops after 100 trials and then takes the tiny step
:math:`10^{-6}`, and when :math:`\lVert g_t\rVert < 10^{-8}` nothing moves.
Each trial costs one extra forward pass on the same minibatch.
``state["n_forwards"]`` counts every forward pass: the one that goes with the
step's backward pass plus every trial (so ``n_forwards / n_backwards`` is the
total per step, at least 1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["SLS", "armijo_holds", "reset_step_size"]


def armijo_holds(loss: float, loss_next: float, step_size: float, grad_sq_norm: float, c: float) -> bool:
    r"""The Armijo condition :math:`f(\theta - \eta g) \le f(\theta) - c_a\,\eta\,\lVert g\rVert^2`."""
    return loss_next <= loss - c * step_size * grad_sq_norm


def reset_step_size(step_size: float, reset_option: int, gamma: float, n_batches_per_epoch: int,
                    init_step_size: float) -> float:
    r"""The first trial step of a line search (the reference code's ``reset_step``)."""
    if reset_option == 0:
        return step_size
    if reset_option == 1:
        return step_size * gamma ** (1.0 / n_batches_per_epoch)  # η_{t-1} c_r^{1/n_b}
    return init_step_size


class SLS(torch.optim.Optimizer):
    r"""SGD with a stochastic Armijo line search and step-size reset (Vaswani et al., 2019).

    Arguments (the reference implementation's names and defaults):
    ``n_batches_per_epoch`` (:math:`n_b \ge 1`), ``init_step_size``
    (:math:`\eta_0 > 0`), ``c`` (:math:`0 < c_a < 1`), ``beta_b``
    (:math:`0 < c_b < 1`), ``gamma`` (:math:`c_r \ge 1`), ``reset_option``
    (0, 1 or 2). Invalid values raise ``ValueError``.

    ``step(closure)``: the closure must **return the minibatch loss** without
    calling ``backward`` and must be deterministic (the same minibatch, no
    dropout): it is called once with gradients and once per trial step without.
    A missing closure raises ``ValueError``. The optimizer's state (a
    ``state_dict`` resumes it exactly) holds ``step_size`` (the last accepted
    :math:`\eta_t`), ``step``, ``n_forwards`` and ``n_backwards``;
    :attr:`history` has, for every step, ``(loss, loss_next, step_size,
    grad_sq_norm)`` of the accepted step.
    """

    requires_loss_closure = True  # step(closure): the closure returns the minibatch loss

    def __init__(self, params, n_batches_per_epoch: int = 500, init_step_size: float = 1.0,
                 c: float = 0.1, beta_b: float = 0.9, gamma: float = 2.0, reset_option: int = 1) -> None:
        if not (isinstance(n_batches_per_epoch, int) and n_batches_per_epoch >= 1):
            raise ValueError(f"Invalid n_batches_per_epoch: {n_batches_per_epoch!r} (need an integer >= 1)")
        if not init_step_size > 0:
            raise ValueError(f"Invalid init_step_size: {init_step_size!r} (need > 0)")
        if not 0 < c < 1:
            raise ValueError(f"Invalid c: {c!r} (need 0 < c < 1)")
        if not 0 < beta_b < 1:
            raise ValueError(f"Invalid beta_b: {beta_b!r} (need 0 < beta_b < 1)")
        if not gamma >= 1:
            raise ValueError(f"Invalid gamma: {gamma!r} (need gamma >= 1)")
        if reset_option not in (0, 1, 2):
            raise ValueError(f"Invalid reset_option: {reset_option!r} (need 0, 1 or 2)")
        defaults = dict(n_batches_per_epoch=n_batches_per_epoch, init_step_size=float(init_step_size),
                        c=float(c), beta_b=float(beta_b), gamma=float(gamma), reset_option=reset_option)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("SLS takes one parameter group (one line search over all parameters)")
        self.state.update(step_size=float(init_step_size), step=0, n_forwards=0, n_backwards=0)
        self.param_groups[0]["lr"] = float(init_step_size)  # the last accepted η_t, for loggers
        self.history: list[tuple[float, float, float, float]] = []

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> float:
        """One line-search step; returns the minibatch loss before the step."""
        if closure is None:
            raise ValueError("SLS.step needs a closure that returns the minibatch loss: "
                             "optimizer.step(lambda: loss_fn(model(x), y))")
        group = self.param_groups[0]
        params = list(group["params"])
        for p in params:
            p.grad = None
        with torch.enable_grad():
            loss_t = closure()
            loss_t.backward()
        loss = float(loss_t)
        self.state["n_forwards"] += 1
        self.state["n_backwards"] += 1
        params = [p for p in params if p.grad is not None]
        start = [p.detach().clone() for p in params]  # θ_{t-1}
        grads = [p.grad.detach().clone() for p in params]  # g_t
        grad_sq_norm = float(sum(float(g.pow(2).sum()) for g in grads))
        eta = reset_step_size(self.state["step_size"], group["reset_option"], group["gamma"],
                              group["n_batches_per_epoch"], group["init_step_size"])
        loss_next = loss
        if grad_sq_norm ** 0.5 >= 1e-8:
            for _ in range(100):
                for p, p0, g in zip(params, start, grads, strict=True):
                    torch.add(p0, g, alpha=-eta, out=p)  # trial point θ_{t-1} - η g_t
                loss_next = float(closure())
                self.state["n_forwards"] += 1
                if armijo_holds(loss, loss_next, eta, grad_sq_norm, group["c"]):
                    break
                eta *= group["beta_b"]  # backtrack: η = c_b η
            else:  # no trial accepted: the reference code's tiny step
                for p, p0, g in zip(params, start, grads, strict=True):
                    torch.add(p0, g, alpha=-1e-6, out=p)
                loss_next = float("nan")
        self.state["step_size"] = group["lr"] = eta
        self.state["step"] += 1
        self.history.append((loss, loss_next, eta, grad_sq_norm))
        return loss
