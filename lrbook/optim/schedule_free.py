r"""Schedule-Free SGD and AdamW (Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, 2024).

"The Road Less Scheduled" (NeurIPS 2024) replaces the learning-rate schedule by
an average of iterates. Three sequences share one gradient per step:
:math:`\zeta_t` (a plain SGD or Adam-normalised step, the package's state
``z``), :math:`x_t` (a weighted average of the :math:`\zeta`'s, the point to
*evaluate*) and :math:`y_t` (an interpolation of the two, the point where the
gradient :math:`g_t = \nabla f(y_t)` is *computed*). With :math:`\beta` the
interpolation weight (``momentum`` :math:`\mu` for SGD, :math:`\beta_1` for
AdamW), :math:`\eta` the learning rate, :math:`T_w` the warmup length
(``warmup_steps``), :math:`\lambda` the weight decay:

.. math::

    \eta_t &= \eta\,\min(1,\ t/T_w) \qquad
        \eta^{\max}_t = \max_{i\le t}\eta_i \\
    w_t &= t^{\,\xi}\,(\eta^{\max}_t)^{\chi}, \qquad W_t = W_{t-1} + w_t
        \qquad(\xi = \texttt{r} = 0,\ \chi = \texttt{weight\_lr\_power} = 2) \\
    \Delta_t &= \begin{cases} -(g_t + \lambda y_t) & \text{SGD}\\
        -\bigl(g_t / (\sqrt{v_t/(1-\beta_2^t)} + \epsilon) + \lambda y_t\bigr),\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 & \text{AdamW} \end{cases} \\
    \zeta_t &= \zeta_{t-1} + \eta_t\, \Delta_t \\
    x_t &= (1 - \bar w_t)\, x_{t-1} + \bar w_t\, \zeta_t, \qquad \bar w_t = w_t/W_t \\
    y_{t+1} &= (1-\beta)\,\zeta_t + \beta\, x_t

with :math:`\zeta_0 = x_0 = y_1 = \theta_0` (:math:`\Delta_t` is the update direction
per unit learning rate). The weights :math:`w_t` give the
warmup steps less weight in the average (:math:`w_t \propto \eta_t^2` while
:math:`\eta_t` rises) and, with :math:`\xi = 0`, equal weights afterwards:
:math:`x_t` is then an average of all the :math:`\zeta`'s in which the warmup
ones count less. The paper's point
is that this average does the work of a decaying schedule without knowing the
length of training in advance.

**The parameters hold** :math:`y` **in train mode and** :math:`x` **in eval mode.**
Only :math:`\zeta` (and AdamW's :math:`v`) is stored; :math:`x` is recovered from
:math:`y = (1-\beta)\zeta + \beta x`. So:

- call ``optimizer.train()`` before training steps (``step()`` refuses to run in
  eval mode; a new optimizer starts in eval mode) and ``optimizer.eval()``
  before evaluating, and before saving a checkpoint (the checkpoint then holds
  :math:`x`, the good weights);
- BatchNorm running statistics were collected at the :math:`y`'s; after
  ``optimizer.eval()`` they do not belong to :math:`x`. Recompute them at
  :math:`x` (a few training batches through ``model.train()`` under
  ``torch.no_grad()``) before evaluating a BatchNorm model.

In terms of :math:`y` alone, what the code does, one step is

.. math::

    y \leftarrow (1 - \bar w_t)\,y + \bar w_t\,\zeta + \eta_t\,(1 - \beta(1-\bar w_t))\,\Delta_t,
    \qquad \zeta \leftarrow \zeta + \eta_t \Delta_t

(substitute :math:`\beta x = y - (1-\beta)\zeta` in the box), and ``eval()``
sets :math:`x = y + (1 - 1/\beta)(\zeta - y)`, ``train()`` sets
:math:`y = x + (1-\beta)(\zeta - x)`.

Checked against ``schedulefree==1.4.1`` (Meta, Apache-2.0 licence): lrbook's
:class:`SGDScheduleFree` and :class:`AdamWScheduleFree` match its classes of
the same names and its ``*Reference`` classes (which store :math:`x`, :math:`y`
and :math:`\zeta` explicitly) in float64 to ``rtol=1e-10`` over hundreds of
steps, with the same arguments, defaults, state keys (``z``, ``exp_avg_sq``)
and param-group keys (``k``, ``train_mode``, ``weight_sum``, ``lr_max``,
``scheduled_lr``), so checkpoints load into either (tests in
``tests/test_optim_self_tuning_parity.py``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

__all__ = ["AdamWScheduleFree", "SGDScheduleFree", "sgd_schedulefree_update",
           "adamw_schedulefree_update", "warmup_and_weight"]


def warmup_and_weight(group: dict[str, Any]) -> tuple[float, float]:
    r"""Advance one group's schedule bookkeeping; return :math:`(\eta_t,\ \bar w_t = w_t/W_t)`.

    Reads ``lr``, ``k`` (steps taken), ``warmup_steps``, ``r``,
    ``weight_lr_power``; updates ``scheduled_lr``, ``lr_max`` and ``weight_sum``
    in the group. :math:`w_t/W_t` is 0 while all weights are 0 (``lr=0``).
    """
    k, warmup = group["k"], group["warmup_steps"]
    lr = group["lr"] * ((k + 1) / warmup if k < warmup else 1.0)  # η_t = η min(1, t/T_w)
    group["scheduled_lr"] = lr
    group["lr_max"] = max(lr, group["lr_max"])  # η^max_t
    weight = (k + 1) ** group["r"] * group["lr_max"] ** group["weight_lr_power"]  # w_t
    group["weight_sum"] = group["weight_sum"] + weight  # W_t
    w_bar = weight / group["weight_sum"] if group["weight_sum"] != 0 else 0.0  # w_t / W_t
    return lr, w_bar


def _interpolate_step(y: Tensor, z: Tensor, u: Tensor, *, lr: float, beta: float,
                      w_bar: float) -> None:
    """y ← (1-w̄) y + w̄ ζ + η(β(1-w̄) - 1) u;  ζ ← ζ - η u  (u = -Δ_t; in place)."""
    y.lerp_(z, w_bar)
    y.add_(u, alpha=lr * (beta * (1 - w_bar) - 1))
    z.sub_(u, alpha=lr)


def sgd_schedulefree_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, momentum: float,
                            weight_decay: float, w_bar: float) -> None:
    r"""One Schedule-Free SGD step in place: ``param`` is :math:`y`, ``state["z"]`` is :math:`\zeta`.

    ``lr`` is the warmed-up :math:`\eta_t`, ``w_bar`` the averaging weight :math:`w_t/W_t`.
    """
    u = grad.add(param, alpha=weight_decay) if weight_decay != 0 else grad  # u = g + λy = -Δ_t
    _interpolate_step(param, state["z"], u, lr=lr, beta=momentum, w_bar=w_bar)


def adamw_schedulefree_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, beta1: float,
                              beta2: float, eps: float, weight_decay: float, w_bar: float,
                              bias_correction2: float) -> None:
    r"""One Schedule-Free AdamW step in place: ``param`` is :math:`y`, ``state`` holds
    ``z`` (:math:`\zeta`) and ``exp_avg_sq`` (:math:`v`)."""
    v = state["exp_avg_sq"]
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = β2 v + (1-β2) g²
    denom = v.div(bias_correction2).sqrt_().add_(eps)  # √(v/(1-β2^t)) + ε
    u = grad.div(denom)  # Adam-normalised gradient; u = -Δ_t after the decay term
    if weight_decay != 0:
        u.add_(param, alpha=weight_decay)  # u + λy
    _interpolate_step(param, state["z"], u, lr=lr, beta=beta1, w_bar=w_bar)


def _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr} (lr must be >= 0)")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay} (weight_decay must be >= 0)")
    if (isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Real)
            or not 0 <= warmup_steps < float("inf") or warmup_steps != int(warmup_steps)):
        raise ValueError(f"Invalid warmup_steps value: {warmup_steps} (warmup_steps must be a whole "
                         "number >= 0)")
    if not 0.0 <= r < float("inf"):
        raise ValueError(f"Invalid r value: {r} (r, the power of the step weights, must be >= 0 "
                         "and finite)")
    if not 0.0 <= weight_lr_power < float("inf"):
        raise ValueError(f"Invalid weight_lr_power value: {weight_lr_power} (weight_lr_power must "
                         "be >= 0 and finite)")


class _ScheduleFree(torch.optim.Optimizer):
    """What both Schedule-Free optimizers share: modes, bookkeeping and the step loop."""

    def _beta(self, group: dict[str, Any]) -> float:
        raise NotImplementedError

    def _init_state(self, param: Tensor) -> dict[str, Tensor]:
        return {"z": torch.clone(param, memory_format=torch.preserve_format)}

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict, lr: float,
                w_bar: float) -> None:
        raise NotImplementedError

    def _set_mode(self, train: bool) -> None:
        for group in self.param_groups:
            if group["train_mode"] == train:
                continue
            beta = self._beta(group)
            weight = 1 - beta if train else 1 - 1 / beta  # x → y, or y → x
            for p in group["params"]:
                state = self.state.get(p)
                if state and "z" in state:
                    p.lerp_(state["z"].to(p.device), weight)
            group["train_mode"] = train

    @torch.no_grad()
    def train(self) -> None:
        r"""Put the parameters at :math:`y` (where gradients are taken); call before training."""
        self._set_mode(True)

    @torch.no_grad()
    def eval(self) -> None:
        r"""Put the parameters at the average :math:`x`; call before evaluating or saving."""
        self._set_mode(False)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss if given.

        Raises ``RuntimeError`` when the optimizer is in eval mode (call ``train()``).
        """
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError("Optimizer was not in train mode when step is called. Call "
                               "optimizer.train() before training and optimizer.eval() before "
                               "evaluating or saving.")
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, w_bar = warmup_and_weight(group)
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                if "z" not in self.state[p]:
                    self.state[p].update(self._init_state(p))
            for p in params:
                self._update(p, p.grad, self.state[p], group, lr, w_bar)
            group["k"] = group["k"] + 1
        return loss


class SGDScheduleFree(_ScheduleFree):
    r"""Schedule-Free SGD, ``schedulefree.SGDScheduleFree`` (1.4.1) driven by
    :func:`sgd_schedulefree_update`; see the module docstring for the algorithm.

    Arguments (the package's names and defaults): ``lr=1.0`` (:math:`\eta \ge 0`),
    ``momentum=0.9`` (the interpolation :math:`\mu`, ``0 < momentum < 1``),
    ``weight_decay=0`` (:math:`\lambda \ge 0`, an L2 term taken at :math:`y`),
    ``warmup_steps=0`` (:math:`T_w`, linear warmup), ``r=0.0`` (:math:`\xi \ge 0`),
    ``weight_lr_power=2`` (:math:`\chi \ge 0`), ``foreach`` (accepted, ignored).

    Call ``train()`` before training and ``eval()`` before evaluating or saving.
    ``p.grad`` is not modified (the package adds the weight decay to it in place).

    Deliberate differences from schedulefree 1.4.1, which accepts these values:
    ``warmup_steps`` must be a whole number ``>= 0`` (a fraction scales the first
    steps' learning rate above ``lr``); ``r`` and ``weight_lr_power`` must be
    ``>= 0`` and finite. Each raises ``ValueError`` naming the argument.
    ``step()`` in eval mode raises ``RuntimeError`` (the package: a bare ``Exception``).
    """

    def __init__(self, params, lr: float = 1.0, momentum: float = 0.9, weight_decay: float = 0,
                 warmup_steps: int = 0, r: float = 0.0, weight_lr_power: float = 2,
                 foreach: bool | None = hasattr(torch, "_foreach_mul_")) -> None:
        _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power)
        if not 0.0 < momentum < 1.0:
            raise ValueError(f"Momentum must be between 0 and 1 exclusive: {momentum} "
                             "(momentum must satisfy 0 < momentum < 1)")
        defaults = dict(lr=lr, momentum=momentum, r=r, k=0, warmup_steps=warmup_steps,
                        train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay, foreach=foreach)
        super().__init__(params, defaults)

    def _beta(self, group: dict[str, Any]) -> float:
        return group["momentum"]

    def _update(self, param, grad, state, group, lr, w_bar) -> None:
        sgd_schedulefree_update(param, grad, state, lr=lr, momentum=group["momentum"],
                                weight_decay=group["weight_decay"], w_bar=w_bar)


class AdamWScheduleFree(_ScheduleFree):
    r"""Schedule-Free AdamW, ``schedulefree.AdamWScheduleFree`` (1.4.1) driven by
    :func:`adamw_schedulefree_update`; see the module docstring for the algorithm.

    Arguments (the package's names and defaults): ``lr=0.0025`` (:math:`\eta \ge 0`),
    ``betas=(0.9, 0.999)`` (:math:`\beta_1` the interpolation, ``0 < beta1 <= 1``, 1 takes
    the gradients at the average :math:`x`;
    :math:`\beta_2` the second-moment decay, ``0 <= beta2 < 1``), ``eps=1e-8``
    (:math:`\epsilon \ge 0`), ``weight_decay=0`` (:math:`\lambda \ge 0`, added to the
    normalised gradient at :math:`y`, i.e. decoupled from the :math:`v` scaling),
    ``warmup_steps=0``, ``r=0.0``, ``weight_lr_power=2.0``, ``foreach`` (ignored).
    There is no first moment: the interpolation with the average is the momentum.
    The bias correction of :math:`v` uses the group's step count ``k``.

    Call ``train()`` before training and ``eval()`` before evaluating or saving.
    ``p.grad`` is not modified (the package overwrites it with the normalised step).

    Deliberate differences from schedulefree 1.4.1, which validates nothing here:
    ``lr``, ``eps`` and ``weight_decay`` must be ``>= 0``; ``betas[0]`` must be in
    (0, 1] (``eval()`` divides by it) and ``betas[1]`` in [0, 1) (1 divides 0 by 0);
    ``warmup_steps`` must be a whole number ``>= 0``; ``r`` and ``weight_lr_power``
    must be ``>= 0`` and finite. Each raises ``ValueError`` naming the argument.
    """

    def __init__(self, params, lr: float = 0.0025, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0,
                 foreach: bool | None = hasattr(torch, "_foreach_mul_")) -> None:
        _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power)
        if not 0.0 < betas[0] <= 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]} (betas[0] must satisfy "
                             "0 < betas[0] <= 1)")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]} (betas[1] must satisfy "
                             "0 <= betas[1] < 1)")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps} (eps must be >= 0)")
        defaults = dict(lr=lr, betas=betas, eps=eps, r=r, k=0, warmup_steps=warmup_steps,
                        train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay, foreach=foreach)
        super().__init__(params, defaults)

    def _beta(self, group: dict[str, Any]) -> float:
        return group["betas"][0]

    def _init_state(self, param: Tensor) -> dict[str, Tensor]:
        return {"z": torch.clone(param, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format)}

    def _update(self, param, grad, state, group, lr, w_bar) -> None:
        beta1, beta2 = group["betas"]
        adamw_schedulefree_update(param, grad, state, lr=lr, beta1=beta1, beta2=beta2,
                                  eps=group["eps"], weight_decay=group["weight_decay"], w_bar=w_bar,
                                  bias_correction2=1 - beta2 ** (group["k"] + 1))
