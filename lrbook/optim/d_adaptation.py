r"""D-Adaptation for SGD and Adam (Defazio & Mishchenko, 2023).

"Learning-Rate-Free Learning by D-Adaptation" (ICML 2023), in the form of
``dadaptation==3.2``. The learning rate :math:`\eta` is a *multiplier* (default
1) of an estimate :math:`d_t` of the distance :math:`\lVert\theta_0-\theta^*\rVert`
from the start to a solution. :math:`d_t` starts at :math:`d_0` (``d0=1e-6``)
and only grows: :math:`d_{t+1} = \max(d_t, \min(\hat d_{t+1},
\texttt{growth\_rate}\cdot d_t))`, where :math:`\hat d` is computed from the
weighted gradient sum :math:`S_t` (state ``s``) and accumulated inner products
:math:`A_t` (group key ``numerator_weighted``). Why it cannot run away, for
DAdaptSGD with :math:`\mu = 0`: then :math:`\theta_{t-1} = \theta_0 - S_{t-1}`,
so :math:`A_t = \sum_i \eta'_i\langle g_i, \theta_0 - \theta_{i-1}\rangle`, and for a
convex :math:`f` with exact gradients (:math:`\langle g_i, \theta_{i-1}-\theta^*\rangle
\ge 0`) :math:`A_t \le \langle S_t, \theta_0 - \theta^*\rangle \le \lVert S_t\rVert
\lVert\theta_0-\theta^*\rVert`, hence :math:`\hat d \le 2\lVert\theta_0-\theta^*\rVert`.
DAdaptAdam uses the analogue with the :math:`\ell_1` norm of :math:`S` and
Adam-normalised inner products.
Sums run over all parameters of all groups; :math:`\lambda` is the weight decay.

**DAdaptSGD** (dual averaging with the paper's step; :math:`\mu` momentum,
:math:`g_t` includes :math:`\lambda\theta`, :math:`g_1^{\text{raw}}` is the first gradient
without it):

.. math::

    \eta'_t &= d_t\,\eta / \lVert g_1^{\text{raw}}\rVert \\
    A_t &= A_{t-1} + \eta'_t\,\langle g_t, S_{t-1}\rangle, \qquad
    S_t = S_{t-1} + \eta'_t\, g_t \\
    \hat d_{t+1} &= 2A_t/\lVert S_t\rVert_2 \\
    \theta_t &= \mu\,\theta_{t-1} + (1-\mu)\,(\theta_0 - S_t)

(:math:`\theta_0 - S_t` is the dual-averaging point, state ``z``; with
:math:`\mu = 0` it is the iterate, and :math:`\mu > 0` averages towards it.)

**DAdaptAdam** (:math:`\beta_1, \beta_2` Adam's rates, :math:`\epsilon` eps, per-group
``layer_scale`` :math:`\ell`, default 1; coupled decay :math:`g_t + \lambda\theta` unless
``decouple=True``):

.. math::

    \eta'_t &= d_t\,\eta\ [\times\sqrt{1-\beta_2^t}/(1-\beta_1^t)
        \text{ with } \texttt{use\_bias\_correction}] \\
    A_t &= \sqrt{\beta_2}\,A_{t-1} + (1-\sqrt{\beta_2})\,\textstyle\sum
        \ell\,\eta'_t\,\langle g_t,\ S_{t-1}/(\sqrt{v_{t-1}}+\epsilon)\rangle \\
    m_t &= \beta_1 m_{t-1} + (1-\beta_1)\,\ell\,\eta'_t\, g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    S_t &= \sqrt{\beta_2}\, S_{t-1} + (1-\sqrt{\beta_2})\,\eta'_t\, g_t \\
    \hat d_{t+1} &= A_t / \bigl((1-\sqrt{\beta_2})\textstyle\sum \ell\,\lVert S_t\rVert_1\bigr) \\
    \theta_t &= \theta_{t-1}(1-\lambda\eta'_t)\ \text{(decoupled)}, \qquad
    \theta_t = \theta_t - m_t/(\sqrt{v_t}+\epsilon)

(:math:`m` already carries the step size :math:`\eta'`.)

Checked against ``dadaptation==3.2`` (Meta, MIT licence): matched in float64 to
``rtol=1e-10`` over hundreds of steps (``tests/test_optim_self_tuning_parity.py``),
with the package's arguments, defaults, state keys and group keys, so
checkpoints load into either.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable
from typing import Any

import torch

from lrbook.optim.prodigy import _check_positive, _global_lr

__all__ = ["DAdaptAdam", "DAdaptSGD"]

log = logging.getLogger(__name__)


def _check_common(lr, d0, weight_decay, growth_rate, log_every, fsdp_in_use) -> None:
    _check_positive(d0, "d0 value", "d0")
    _check_positive(lr, "learning rate", "lr")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay} (weight_decay must be >= 0)")
    if not growth_rate >= 1.0:
        raise ValueError(f"Invalid growth_rate value: {growth_rate} (growth_rate must be >= 1)")
    if (isinstance(log_every, bool) or not isinstance(log_every, numbers.Real)
            or not 0 <= log_every < math.inf or log_every != int(log_every)):
        raise ValueError(f"Invalid log_every value: {log_every} (log_every must be a whole number >= 0)")
    if fsdp_in_use:
        raise NotImplementedError("lrbook's D-Adaptation runs on one process: fsdp_in_use=True is "
                                  "not supported")


def _grads_with_grad(group: dict[str, Any]) -> list[torch.Tensor]:
    params = [p for p in group["params"] if p.grad is not None]
    if any(p.grad.is_sparse for p in params):
        raise RuntimeError("D-Adaptation does not support sparse gradients")
    return params


class DAdaptSGD(torch.optim.Optimizer):
    r"""D-Adapted SGD (``dadaptation.DAdaptSGD`` 3.2); the algorithm is in the module docstring.

    Arguments (the package's names and defaults): ``lr=1.0`` (multiplier of
    :math:`d`, > 0; leave at 1), ``momentum=0.0`` (:math:`\mu` in [0, 1)),
    ``weight_decay=0`` (:math:`\lambda \ge 0`, L2), ``log_every=0`` (log
    :math:`d` with ``logging.info`` every so many steps; 0 never), ``d0=1e-6``
    (> 0), ``growth_rate=inf`` (>= 1), ``fsdp_in_use=False`` (``True`` raises
    ``NotImplementedError``).

    ``momentum`` and ``weight_decay`` are global, as in the package (which reads
    them from the first group): a group with different values raises
    ``ValueError`` at ``step()`` instead of being silently ignored. All groups
    must share ``lr`` or have ``lr=0`` (``RuntimeError``, as in the package). The
    scale :math:`\lVert g_1^{\text{raw}}\rVert` is that of the first gradient
    *without* weight decay, as in the package; a zero first gradient raises
    ``RuntimeError`` (the package: ``ZeroDivisionError``). ``p.grad`` is not modified.

    Deliberate differences from dadaptation 3.2. A group with ``lr=0`` is frozen: no
    statistics and no movement (the package keeps averaging its parameters towards
    :math:`\theta_0 - S`, which moves them when ``lr`` is set to 0 during training). The package accepts these values:
    ``momentum`` outside [0, 1), ``weight_decay`` < 0, ``growth_rate`` < 1 and
    ``log_every`` not a whole number >= 0 raise ``ValueError`` naming the argument.
    """

    def __init__(self, params, lr: float = 1.0, momentum: float = 0.0, weight_decay: float = 0,
                 log_every: int = 0, d0: float = 1e-6, growth_rate: float = float("inf"),
                 fsdp_in_use: bool = False) -> None:
        _check_common(lr, d0, weight_decay, growth_rate, log_every, fsdp_in_use)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum value: {momentum} (momentum must satisfy "
                             "0 <= momentum < 1)")
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, k=0,
                        log_every=log_every, numerator_weighted=0.0, d=d0,
                        growth_rate=growth_rate, fsdp_in_use=fsdp_in_use)
        self.loggables = {}
        self.rank = 0
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        first = self.param_groups[0]
        for name in ("momentum", "weight_decay"):
            if any(group[name] != first[name] for group in self.param_groups):
                raise ValueError(f"DAdaptSGD: {name} must be the same in every param group "
                                 f"(it is global); got {[g[name] for g in self.param_groups]}")
        lr = _global_lr(self.param_groups)
        decay, k, d = first["weight_decay"], first["k"], first["d"]
        ck = 1 - first["momentum"]  # weight of the dual-averaging point

        if k == 0:  # the scale: the norm of the first raw gradient
            g_sq = sum((p.grad * p.grad).sum().item() for group in self.param_groups
                       if group["lr"] > 0.0 for p in _grads_with_grad(group))
            if g_sq == 0:
                raise RuntimeError("DAdaptSGD: the first gradient is zero, so its norm cannot set "
                                   "the scale of the steps")
            for group in self.param_groups:
                group["g0_norm"] = math.sqrt(g_sq)
        g0_norm = first["g0_norm"]
        dlr = d * lr / g0_norm  # η'_t = d_t η / ‖g_1‖

        # Pass 1: S and A (numerator).
        numerator = first["numerator_weighted"]  # A_{t-1}
        s_sq = 0.0  # ‖S_t‖²
        for group in self.param_groups:
            for p in _grads_with_grad(group):
                state = self.state[p]
                if "z" not in state:
                    state["z"] = p.clone()
                    state["s"] = torch.zeros_like(p)
                    state["x0"] = p.clone()  # θ0
                if group["lr"] > 0.0:
                    grad = p.grad.add(p, alpha=decay) if decay != 0 else p.grad  # g + λθ
                    numerator += dlr * torch.dot(grad.flatten(), state["s"].flatten()).item()
                    state["s"].add_(grad, alpha=dlr)  # S_t = S_{t-1} + η' g
                    s_sq += (state["s"] * state["s"]).sum().item()

        if s_sq == 0:  # no gradient signal (all groups frozen): no step
            return loss
        d_hat = 2 * numerator / math.sqrt(s_sq)
        d = max(d, min(d_hat, d * first["growth_rate"]))
        if first["log_every"] > 0 and k % first["log_every"] == 0:
            log.info("(k=%d) dlr: %s d_hat: %s, d: %s. sk_norm=%s numerator_weighted=%s g0_norm=%s",
                     k, dlr, d_hat, d, math.sqrt(s_sq), numerator, g0_norm)

        # Pass 2: θ moves towards the dual-averaging point θ0 - S_t.
        for group in self.param_groups:
            group.update(numerator_weighted=numerator, d=d, g0_norm=g0_norm)
            for p in _grads_with_grad(group):
                if group["lr"] == 0.0:
                    continue  # a frozen group does not move (deliberate, see the class docstring)
                state = self.state[p]
                state["z"].copy_(state["x0"] - state["s"])  # z = θ0 - S_t
                p.mul_(1 - ck).add_(state["z"], alpha=ck)  # θ = μθ + (1-μ) z, ck = 1-μ
            group["k"] = group["k"] + 1
        return loss


class DAdaptAdam(torch.optim.Optimizer):
    r"""D-Adapted Adam (``dadaptation.DAdaptAdam`` 3.2); the algorithm is in the module docstring.

    Arguments (the package's names and defaults): ``lr=1.0`` (multiplier of
    :math:`d`, > 0; leave at 1), ``betas=(0.9, 0.999)`` (each in [0, 1)),
    ``eps=1e-8`` (> 0), ``weight_decay=0`` (>= 0), ``log_every=0``,
    ``decouple=False`` (``True``: AdamW-style :math:`\theta(1-\lambda\eta')`),
    ``use_bias_correction=False``, ``d0=1e-6`` (> 0), ``growth_rate=inf`` (>= 1),
    ``fsdp_in_use=False`` (``True`` raises ``NotImplementedError``). A param
    group may set ``layer_scale`` (default 1.0) to scale its steps.

    ``betas``, ``decouple``, ``use_bias_correction`` and ``growth_rate`` are read
    from the first group (as in the package); ``weight_decay``, ``eps`` and
    ``layer_scale`` are per group. All groups must share ``lr`` or have ``lr=0``
    (``RuntimeError``, as in the package). ``p.grad`` is not modified.

    Deliberate differences from dadaptation 3.2. A group with ``lr=0`` is frozen: no
    statistics and no movement (the package still applies the decoupled weight decay
    to it at the global rate). The package accepts these values: ``weight_decay`` < 0, ``growth_rate`` < 1 and ``log_every`` not a whole number
    >= 0 raise ``ValueError`` naming the argument.
    """

    def __init__(self, params, lr: float = 1.0, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, log_every: int = 0,
                 decouple: bool = False, use_bias_correction: bool = False, d0: float = 1e-6,
                 growth_rate: float = float("inf"), fsdp_in_use: bool = False) -> None:
        _check_common(lr, d0, weight_decay, growth_rate, log_every, fsdp_in_use)
        _check_positive(eps, "epsilon value", "eps")
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]} "
                                 f"(betas[{i}] must satisfy 0 <= betas[{i}] < 1)")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, d=d0, k=0,
                        layer_scale=1.0, numerator_weighted=0.0, log_every=log_every,
                        growth_rate=growth_rate, use_bias_correction=use_bias_correction,
                        decouple=decouple, fsdp_in_use=fsdp_in_use)
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
        k, d, decouple = first["k"], first["d"], first["decouple"]
        lr = _global_lr(self.param_groups)
        bias_correction = ((1 - beta2 ** (k + 1)) ** 0.5 / (1 - beta1 ** (k + 1))
                           if first["use_bias_correction"] else 1)
        dlr = d * lr * bias_correction  # η'_t
        sqrt_beta2 = beta2 ** 0.5

        # Pass 1: the moments, S, and this step's inner products.
        progress = 0.0  # Σ ℓ η' <g, S_{t-1}/(√v_{t-1} + ε)>
        s_l1 = 0.0  # Σ ℓ ‖S_t‖₁
        for group in self.param_groups:
            decay, eps, scale = group["weight_decay"], group["eps"], group["layer_scale"]
            for p in _grads_with_grad(group):
                grad = p.grad.add(p, alpha=decay) if decay != 0 and not decouple else p.grad
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["s"] = torch.zeros_like(p)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                if group["lr"] == 0.0:
                    continue  # a frozen group: no statistics
                m, v, s = state["exp_avg"], state["exp_avg_sq"], state["s"]
                denom = v.sqrt().add_(eps)  # √v_{t-1} + ε
                progress += scale * dlr * torch.dot(grad.flatten(), s.div(denom).flatten()).item()
                m.mul_(beta1).add_(grad, alpha=scale * dlr * (1 - beta1))  # m (carries η')
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v
                s.mul_(sqrt_beta2).add_(grad, alpha=dlr * (1 - sqrt_beta2))  # S
                s_l1 += scale * s.abs().sum().item()

        numerator = sqrt_beta2 * first["numerator_weighted"] + (1 - sqrt_beta2) * progress  # A_t
        if s_l1 == 0:  # no gradient signal yet: no step
            return loss
        d_hat = numerator / ((1 - sqrt_beta2) * s_l1)
        d = max(d, min(d_hat, d * first["growth_rate"]))
        if first["log_every"] > 0 and k % first["log_every"] == 0:
            log.info("lr: %s dlr: %s d_hat: %s, d: %s. sk_l1=%.1e numerator_weighted=%.1e",
                     lr, dlr, d_hat, d, s_l1, numerator)

        # Pass 2: the Adam step (m already holds η').
        for group in self.param_groups:
            group.update(numerator_weighted=numerator, d=d)
            decay, eps = group["weight_decay"], group["eps"]
            for p in _grads_with_grad(group):
                state = self.state[p]
                state["step"] += 1
                if group["lr"] == 0.0:
                    continue  # a frozen group does not move (deliberate, see the class docstring)
                denom = state["exp_avg_sq"].sqrt().add_(eps)  # √v_t + ε
                if decay != 0 and decouple:
                    p.add_(p, alpha=-decay * dlr)  # θ(1 - λη')
                p.addcdiv_(state["exp_avg"], denom, value=-1)  # θ - m/(√v + ε)
            group["k"] = group["k"] + 1
        return loss
