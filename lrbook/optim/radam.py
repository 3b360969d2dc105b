r"""RAdam: Adam with a rectified adaptive learning rate (Liu et al., 2020), torch's form.

With :math:`\ell_\infty = 2/(1-\beta_2) - 1` and
:math:`\ell_t = \ell_\infty - 2t\beta_2^t/(1-\beta_2^t)` (the length of the
approximated simple moving average):

.. math::

    m_t &\leftarrow m_{t-1} + (1-\beta_1)(g_t - m_{t-1}), \qquad
    v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    \hat m_t &\leftarrow m_t / (1-\beta_1^t) \\
    \text{if } \ell_t > 5:\quad
    r_t &= \sqrt{\frac{(\ell_t-4)(\ell_t-2)\ell_\infty}{(\ell_\infty-4)(\ell_\infty-2)\ell_t}},
    \quad a_t = \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon},
    \quad \theta_t \leftarrow \theta_{t-1} - \eta\, \hat m_t\, a_t\, r_t \\
    \text{else:}\quad \theta_t &\leftarrow \theta_{t-1} - \eta\, \hat m_t

(weight decay as in NAdam: L2, or decoupled). With :math:`\beta_2 = 0.999` the
first five steps are plain momentum steps (:math:`\ell_5 \approx 4.996`).

Where frameworks differ: the paper states the threshold as :math:`\ell_t > 4`,
the authors' code uses :math:`\ge 5`, torch :math:`> 5` (optax exposes
``threshold=5.0``). :math:`\epsilon` is added to the raw :math:`\sqrt{v_t}`,
unlike torch's Adam.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lrbook.optim._adam_family import apply_weight_decay, check_adam_like
from lrbook.optim._adapter import (
    RuleOptimizer,
    new_step_counter,
    reject_unsupported_flags,
    zero_buffers,
)

__all__ = ["RAdam", "radam_update"]


def radam_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
) -> None:
    r"""One RAdam step in place; ``state`` holds ``step``, ``exp_avg`` (m) and
    ``exp_avg_sq`` (v)."""
    state["step"] += 1
    t = state["step"].item()
    grad = apply_weight_decay(param, grad, lr=lr, weight_decay=weight_decay,
                              decoupled=decoupled_weight_decay)  # g + λθ, or θ(1 - ηλ)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)  # m = m + (1-β1)(g - m)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = β2 v + (1-β2) g²
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    m_hat = m / bias_correction1
    rho_inf = 2 / (1 - beta2) - 1  # ℓ_∞ (torch's and the paper's ρ_∞)
    rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2  # ℓ_t
    if rho_t > 5.0:  # variance is tractable: rectified adaptive step
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive_lr = (bias_correction2**0.5) / v.sqrt().add_(eps)  # a_t
        param.add_(m_hat * lr * adaptive_lr * rect, alpha=-1.0)
    else:  # warm-up: un-adapted momentum step
        param.add_(m_hat * lr, alpha=-1.0)


class RAdam(RuleOptimizer):
    r"""Drop-in ``torch.optim.RAdam`` driven by :func:`radam_update`.

    Defaults ``lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False``.
    """

    rule = staticmethod(radam_update)
    sparse_error = "RAdam does not support sparse gradients"

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_like(lr, betas, eps, weight_decay)
        reject_unsupported_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": new_step_counter(), **zero_buffers(param, "exp_avg", "exp_avg_sq")}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    decoupled_weight_decay=group["decoupled_weight_decay"])
