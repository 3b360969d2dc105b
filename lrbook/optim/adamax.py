r"""Adamax (Kingma & Ba, 2015, section 7.1), torch's form.

.. math::

    g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
    m_t &\leftarrow m_{t-1} + (1-\beta_1)(g_t - m_{t-1}) \\
    u_t &\leftarrow \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
    \theta_t &\leftarrow \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u_t}

Adam with the :math:`L^2` norm of past gradients replaced by the
:math:`L^\infty` norm; :math:`u` needs no bias correction.

Where frameworks differ: the paper has :math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)`
without :math:`\epsilon`. torch and optax put :math:`\epsilon` **inside the max**;
Keras uses :math:`\max(\beta_2 u, |g|)` and divides by :math:`u_t + \epsilon`, with
``learning_rate=0.001, epsilon=1e-7`` (torch: 2e-3, 1e-8).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lrbook.optim._adam_family import check_adam_like
from lrbook.optim._adapter import (
    RuleOptimizer,
    new_step_counter,
    reject_unsupported_flags,
    zero_buffers,
)

__all__ = ["Adamax", "adamax_update"]


def adamax_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None:
    r"""One Adamax step in place; ``state`` holds ``step``, ``exp_avg`` (m) and
    ``exp_inf`` (u)."""
    state["step"] += 1
    t = state["step"].item()
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # g = g + λθ
    m, u = state["exp_avg"], state["exp_inf"]
    m.lerp_(grad, 1 - beta1)  # m = m + (1-β1)(g - m)
    torch.maximum(u.mul_(beta2), grad.abs().add_(eps), out=u)  # u = max(β2 u, |g| + ε)
    param.addcdiv_(m, u, value=-(lr / (1 - beta1**t)))  # θ = θ - η/(1-β1^t) · m/u


class Adamax(RuleOptimizer):
    r"""Drop-in ``torch.optim.Adamax`` driven by :func:`adamax_update`.

    Defaults ``lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0``.
    """

    rule = staticmethod(adamax_update)
    sparse_error = "Adamax does not support sparse gradients"

    def __init__(
        self,
        params,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_adam_like(lr, betas, eps, weight_decay)
        reject_unsupported_flags(differentiable=differentiable, capturable=capturable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": new_step_counter(), **zero_buffers(param, "exp_avg", "exp_inf")}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"])
