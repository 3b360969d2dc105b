r"""Adadelta (Zeiler, 2012), torch's form.

.. math::

    g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
    v_t &\leftarrow \rho v_{t-1} + (1-\rho)\, g_t^2 \\
    \Delta\theta_t &\leftarrow -\frac{\sqrt{s_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
    s_t &\leftarrow \rho s_{t-1} + (1-\rho)\, \Delta\theta_t^2 \\
    \theta_t &\leftarrow \theta_{t-1} + \eta\, \Delta\theta_t

:math:`v_t` is the state ``square_avg``, :math:`s_t` the state ``acc_delta``,
:math:`\rho` is ``rho``, :math:`\eta` is ``lr`` and :math:`\lambda` is
``weight_decay`` (Zeiler writes :math:`E[g^2]_t` and :math:`E[\Delta x^2]_t`).
:math:`\epsilon` sits inside both roots, and :math:`s_t` accumulates the update
*before* it is multiplied by :math:`\eta`. Zeiler's algorithm has no learning
rate: it is :math:`\eta = 1` (torch's default); his experiments use
:math:`\rho = 0.95`, :math:`\epsilon = 10^{-6}`.

Where frameworks differ: torch defaults ``rho=0.9, eps=1e-6, lr=1.0``; Keras 3
defaults ``rho=0.95, epsilon=1e-7`` and ``learning_rate=0.001`` (so Keras' default
Adadelta moves 1000 times slower than the paper's). See
:class:`lrbook.optim.keras.Adadelta`.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lrbook.optim._adapter import (
    RuleOptimizer,
    check_lr,
    check_non_negative,
    new_step_counter,
    reject_unsupported_flags,
    zero_buffers,
)

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
) -> None:
    r"""One Adadelta step in place; ``state`` holds ``step``, ``square_avg`` (:math:`v_t`)
    and ``acc_delta`` (:math:`s_t`)."""
    state["step"] += 1
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # g = g + λθ
    v, s = state["square_avg"], state["acc_delta"]
    v.mul_(rho).addcmul_(grad, grad, value=1 - rho)  # v_t = ρv + (1-ρ)g²
    std = v.add(eps).sqrt_()  # √(v_t + ε)
    delta = s.add(eps).sqrt_().div_(std).mul_(grad)  # -Δθ_t = √(s_{t-1} + ε)/√(v_t + ε) · g
    s.mul_(rho).addcmul_(delta, delta, value=1 - rho)  # s_t = ρs + (1-ρ)Δθ_t²
    param.add_(delta, alpha=-lr)  # θ = θ + ηΔθ_t


class Adadelta(RuleOptimizer):
    r"""Drop-in ``torch.optim.Adadelta`` driven by :func:`adadelta_update`.

    Defaults ``lr=1.0, rho=0.9, eps=1e-6, weight_decay=0``; ``rho`` must lie in
    :math:`[0, 1]` (1 accepted).
    """

    rule = staticmethod(adadelta_update)
    sparse_error = "Adadelta does not support sparse gradients"

    def __init__(
        self,
        params,
        lr: float | Tensor = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative(eps, "epsilon value")
        check_non_negative(weight_decay, "weight_decay value")
        reject_unsupported_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": new_step_counter(), **zero_buffers(param, "square_avg", "acc_delta")}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], rho=group["rho"], eps=group["eps"],
                    weight_decay=group["weight_decay"])
