r"""Prodigy: Adam whose step size estimates the distance to the solution (Mishchenko & Defazio, 2024).

"Prodigy: An Expeditiously Adaptive Parameter-Free Learner" (ICML 2024), its
Adam version in the form of ``prodigyopt==1.1.2``. The
learning rate :math:`\eta` is a *multiplier* (default 1): the step size is
:math:`d_t\eta`, where :math:`d_t` estimates, from below, the distance
:math:`\lVert\theta_0 - \theta^*\rVert_\infty` from the start to a solution; it
grows from :math:`d_0` (``d0=1e-6``). With :math:`\beta_3` (``beta3``, default
:math:`\sqrt{\beta_2}`), :math:`\lambda` weight decay, :math:`\epsilon` eps and
:math:`g_t` the gradient (plus :math:`\lambda\theta` for the coupled decay), one
step is, summing over all parameters of all groups:

.. math::

    \eta'_t &= d_t\,\eta\ [\times \sqrt{1-\beta_2^t}/(1-\beta_1^t)
        \text{ with } \texttt{use\_bias\_correction}] \\
    A_t &= \beta_3 A_{t-1} + \tfrac{d_t}{d_0}\,\eta'_t\,
        \langle g_t,\ \theta_0 - \theta_{t-1}\rangle \\
    m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, d_t\, g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, d_t^2\, g_t^2 \\
    S_t &= \beta_3 S_{t-1} + \tfrac{d_t}{d_0}\,\eta'_t\, g_t
        \qquad(d_t \text{ instead of } \eta'_t \text{ with } \texttt{safeguard\_warmup}) \\
    \hat d_{t+1} &= \texttt{d\_coef}\cdot A_t / \lVert S_t\rVert_1 \\
    d_{t+1} &= \min\bigl(\max(d_0, \hat d_1, \dots, \hat d_{t+1}),\
        \texttt{growth\_rate}\cdot d_t\bigr)
        \quad(\text{while } d_t = d_0 \text{, first } d_t \leftarrow \max(d_0, \hat d_{t+1})) \\
    \theta_t &= \theta_{t-1}\,(1 - \lambda\eta'_t)
        \ \text{(decoupled decay, the default)} \\
    \theta_t &= \theta_t - \eta'_t\, m_t / (\sqrt{v_t} + d_{t+1}\epsilon)

:math:`A_t` (group key ``d_numerator``) is a weighted sum of the progress
:math:`\langle g, \theta_0-\theta\rangle`; :math:`S_t` (state ``s``) the same
weighted sum of gradients (the same weights, without ``safeguard_warmup``).
For a convex :math:`f` and exact gradients,
:math:`\langle g, \theta - \theta^*\rangle \ge 0` gives
:math:`A_t \le \langle S_t, \theta_0-\theta^*\rangle \le \lVert S_t\rVert_1
\lVert\theta_0-\theta^*\rVert_\infty`: :math:`\hat d` (with ``d_coef=1``) never
overestimates the distance, and :math:`d` only grows. :math:`m` and :math:`v`
carry :math:`d` and :math:`d^2`, so :math:`m/\sqrt v` is about :math:`d`-free and
the step length is set by :math:`\eta'_t`. With :math:`\beta_1 = 0` there is no
:math:`m` and the step is :math:`\eta'_t d_t g_t/(\sqrt{v_t} + d_{t+1}\epsilon)`.
``slice_p`` > 1 computes :math:`A` and :math:`S` on every ``slice_p``-th entry of
each tensor only (an approximation that saves memory).

Checked against ``prodigyopt==1.1.2`` (MIT licence): ``Prodigy`` and
``ProdigyReference`` are matched in float64 to ``rtol=1e-10`` over hundreds of
steps (``tests/test_optim_self_tuning_parity.py``), with the package's
arguments, defaults, state keys (``step``, ``s``, ``p0``, ``exp_avg``,
``exp_avg_sq``) and group keys (``d``, ``d0``, ``d_max``, ``d_numerator``,
``d_denom``, ``d_hat``, ``k``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Prodigy"]


def _check_positive(value, what: str, name: str) -> None:
    if not 0.0 < value:
        raise ValueError(f"Invalid {what}: {value} ({name} must be > 0)")


def _global_lr(param_groups: list[dict[str, Any]]) -> float:
    """The one learning rate of D-Adaptation/Prodigy: every group has it or 0 (frozen)."""
    lr = max(group["lr"] for group in param_groups)
    for group in param_groups:
        if group["lr"] not in (lr, 0.0):
            raise RuntimeError("Setting different lr values in different parameter groups is only "
                               "supported for values of 0")
    return lr


class Prodigy(torch.optim.Optimizer):
    r"""Prodigy (``prodigyopt.Prodigy`` 1.1.2); the algorithm is in the module docstring.

    Arguments (the package's names and defaults): ``lr=1.0`` (multiplier of
    :math:`d`, > 0; leave at 1), ``betas=(0.9, 0.999)`` (each in [0, 1)),
    ``beta3=None`` (:math:`\sqrt{\beta_2}`; else in [0, 1]), ``eps=1e-8`` (> 0),
    ``weight_decay=0`` (>= 0), ``decouple=True`` (AdamW-style decay
    :math:`\theta(1-\lambda\eta')`; ``False``: :math:`g + \lambda\theta`),
    ``use_bias_correction=False``, ``safeguard_warmup=False``, ``d0=1e-6`` (> 0),
    ``d_coef=1.0`` (> 0), ``growth_rate=inf`` (>= 1), ``fsdp_in_use=False``
    (``True`` raises ``NotImplementedError``: no distributed reduction here),
    ``slice_p=1`` (whole number >= 1).

    :math:`d` and the other global quantities are kept in every param group (as
    in the package) and read from the first; all groups must share ``lr`` or
    have ``lr=0`` (``RuntimeError`` otherwise, as in the package). A group with
    ``lr=0`` is frozen: it contributes nothing to :math:`d`, its moments are not
    updated and its parameters do not move. If no gradient carries any signal (:math:`\lVert S\rVert_1 = 0`)
    the step returns without moving (the moments have decayed). ``p.grad`` is
    not modified.

    Deliberate differences from prodigyopt 1.1.2. A frozen group (``lr=0``) does not
    move; the package still applies the decoupled weight decay to it at the global
    rate and, with ``betas[0]=0``, steps it by :math:`\eta' g/\epsilon` (its
    :math:`v` is never updated), which diverges. The package accepts these values:
    ``beta3`` outside [0, 1], ``weight_decay`` < 0, ``d_coef`` <= 0,
    ``growth_rate`` < 1 (it would shrink :math:`d` every step) and ``slice_p``
    not a whole number >= 1 raise ``ValueError`` naming the argument.
    """

    def __init__(self, params, lr: float = 1.0, betas: tuple[float, float] = (0.9, 0.999),
                 beta3: float | None = None, eps: float = 1e-8, weight_decay: float = 0,
                 decouple: bool = True, use_bias_correction: bool = False,
                 safeguard_warmup: bool = False, d0: float = 1e-6, d_coef: float = 1.0,
                 growth_rate: float = float("inf"), fsdp_in_use: bool = False,
                 slice_p: int = 1) -> None:
        _check_positive(d0, "d0 value", "d0")
        _check_positive(lr, "learning rate", "lr")
        _check_positive(eps, "epsilon value", "eps")
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]} "
                                 f"(betas[{i}] must satisfy 0 <= betas[{i}] < 1)")
        if beta3 is not None and not 0.0 <= beta3 <= 1.0:
            raise ValueError(f"Invalid beta3 value: {beta3} (beta3 must be None or in [0, 1])")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay} (weight_decay must be >= 0)")
        _check_positive(d_coef, "d_coef value", "d_coef")
        if not growth_rate >= 1.0:
            raise ValueError(f"Invalid growth_rate value: {growth_rate} (growth_rate must be >= 1)")
        if isinstance(slice_p, bool) or not isinstance(slice_p, int) or slice_p < 1:
            raise ValueError(f"Invalid slice_p value: {slice_p} (slice_p must be an integer >= 1)")
        if fsdp_in_use:
            raise NotImplementedError("lrbook's Prodigy runs on one process: fsdp_in_use=True is "
                                      "not supported")
        defaults = dict(lr=lr, betas=betas, beta3=beta3, eps=eps, weight_decay=weight_decay,
                        d=d0, d0=d0, d_max=d0, d_numerator=0.0, d_coef=d_coef, k=0,
                        growth_rate=growth_rate, use_bias_correction=use_bias_correction,
                        decouple=decouple, safeguard_warmup=safeguard_warmup,
                        fsdp_in_use=fsdp_in_use, slice_p=slice_p)
        self.d0 = d0
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        first = self.param_groups[0]
        beta1, beta2 = first["betas"]
        beta3 = math.sqrt(beta2) if first["beta3"] is None else first["beta3"]
        k, d, d_max, d0 = first["k"], first["d"], first["d_max"], first["d0"]
        lr = _global_lr(self.param_groups)
        bias_correction = ((1 - beta2 ** (k + 1)) ** 0.5 / (1 - beta1 ** (k + 1))
                           if first["use_bias_correction"] else 1)
        dlr = d * lr * bias_correction  # η'_t = d_t η (bias-corrected)

        # Pass 1: the moments, S, and the sums for the new estimate of d.
        progress = 0.0  # Σ (d/d0) η' <g, θ0 - θ>, this step's part of A_t
        s_l1 = 0.0  # ‖S_t‖₁
        grads = {}
        for group in self.param_groups:
            decay, n = group["weight_decay"], group["slice_p"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("Prodigy does not support sparse gradients")
                grad = p.grad
                if decay != 0 and not group["decouple"]:
                    grad = grad.add(p, alpha=decay)  # coupled: g + λθ
                grads[p] = grad
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["s"] = torch.zeros_like(p.flatten()[::n])
                    state["p0"] = p.flatten()[::n].clone()  # θ0
                    if beta1 > 0:
                        state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                if group["lr"] == 0.0:
                    continue  # a frozen group: no statistics
                g_sliced = grad.flatten()[::n]
                progress += (d / group["d0"]) * dlr * torch.dot(
                    g_sliced, state["p0"] - p.flatten()[::n]).item()
                if beta1 > 0:
                    state["exp_avg"].mul_(beta1).add_(grad, alpha=d * (1 - beta1))  # m
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=d * d * (1 - beta2))  # v
                s_weight = d if group["safeguard_warmup"] else dlr
                state["s"].mul_(beta3).add_(g_sliced, alpha=(d / group["d0"]) * s_weight)  # S
                s_l1 += state["s"].abs().sum().item()

        if s_l1 == 0:  # no gradient signal yet: nothing to estimate, no step
            return loss

        # The new estimate of d.
        numerator = first["d_numerator"] * beta3 + progress  # A_t
        d_hat = first["d_coef"] * numerator / s_l1
        if d == d0:
            d = max(d, d_hat)
        d_max = max(d_max, d_hat)
        d = min(d_max, d * first["growth_rate"])

        # Pass 2: the Adam step with the old d in η' and the new d in ε.
        for group in self.param_groups:
            group.update(d_numerator=numerator, d_denom=s_l1, d=d, d_max=d_max, d_hat=d_hat)
            decay, eps = group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                if group["lr"] == 0.0:
                    continue  # a frozen group does not move (deliberate, see the class docstring)
                denom = state["exp_avg_sq"].sqrt().add_(d * eps)  # √v + d ε
                if decay != 0 and group["decouple"]:
                    p.add_(p, alpha=-decay * dlr)  # θ(1 - λη')
                if beta1 > 0:
                    p.addcdiv_(state["exp_avg"], denom, value=-dlr)  # θ - η' m/(√v + dε)
                else:
                    p.addcdiv_(grads[p], denom, value=-dlr * d)
            group["k"] = group["k"] + 1
        return loss
