r"""NAdam: Adam with Nesterov momentum (Dozat, 2016), torch's form.

With the momentum schedule
:math:`\mu_t = \beta_1\bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr)` (:math:`\psi` is
``momentum_decay``) and its running product :math:`\Pi_t = \prod_{i \le t}\mu_i`:

.. math::

    g_t &\leftarrow g_t + \lambda\theta_{t-1}
    \quad\text{or decoupled:}\quad \theta_{t-1} \leftarrow \theta_{t-1}(1-\eta\lambda) \\
    m_t &\leftarrow m_{t-1} + (1-\beta_1)(g_t - m_{t-1}) \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    d_t &\leftarrow \sqrt{v_t / (1-\beta_2^t)} + \epsilon \\
    \theta_t &\leftarrow \theta_{t-1}
        - \eta\,\frac{1-\mu_t}{1-\Pi_t}\,\frac{g_t}{d_t}
        - \eta\,\frac{\mu_{t+1}}{1-\Pi_t\,\mu_{t+1}}\,\frac{m_t}{d_t}

The two terms are the bias-corrected current gradient and the bias-corrected
*next* momentum: the Nesterov look-ahead, written without a second gradient
evaluation. Note :math:`\epsilon` is added to :math:`\sqrt{v/(1-\beta_2^t)}` (the
root of the corrected :math:`v`, unlike Adam's :math:`\sqrt v/\sqrt{1-\beta_2^t}`).

Where frameworks differ: Keras 3 ``Nadam`` uses :math:`0.96^{t}` (no
:math:`\psi`), so its :math:`\mu_t` reaches :math:`\beta_1` within a few dozen
steps, with ``learning_rate=0.001, epsilon=1e-7`` (torch 2e-3, 1e-8); legacy
Keras 2 used :math:`0.96^{0.004 t}` like torch. optax's ``nadam`` has no
:math:`\mu` schedule at all.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lrbook.optim._adam_family import apply_weight_decay, check_adam_like
from lrbook.optim._adapter import (
    RuleOptimizer,
    check_non_negative,
    new_step_counter,
    reject_unsupported_flags,
    zero_buffers,
)

__all__ = ["NAdam", "nadam_update"]


def nadam_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
) -> None:
    r"""One NAdam step in place; ``state`` holds ``step``, ``mu_product``
    (:math:`\Pi`, a 0-d tensor starting at 1), ``exp_avg`` (m), ``exp_avg_sq`` (v)."""
    state["step"] += 1
    t = state["step"].item()
    bias_correction2 = 1 - beta2**t
    grad = apply_weight_decay(param, grad, lr=lr, weight_decay=weight_decay,
                              decoupled=decoupled_weight_decay)  # g + λθ, or θ(1 - ηλ)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * momentum_decay)))  # μ_t
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * momentum_decay)))  # μ_{t+1}
    state["mu_product"] *= mu  # Π_t = Π_{t-1} μ_t
    mu_product = state["mu_product"].item()
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)  # m = m + (1-β1)(g - m)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = β2 v + (1-β2) g²
    denom = v.div(bias_correction2).sqrt_().add_(eps)  # √(v/(1-β2^t)) + ε
    param.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
    param.addcdiv_(m, denom, value=(-lr * mu_next) / (1.0 - mu_product * mu_next))


class NAdam(RuleOptimizer):
    r"""Drop-in ``torch.optim.NAdam`` driven by :func:`nadam_update`.

    Defaults ``lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    momentum_decay=4e-3, decoupled_weight_decay=False``. Like torch, the
    ``mu_product`` state is kept in the *default* dtype (float32 unless the
    default dtype is float64).
    """

    rule = staticmethod(nadam_update)
    sparse_error = "NAdam does not support sparse gradients"

    def __init__(
        self,
        params,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_like(lr, betas, eps, weight_decay)
        check_non_negative(momentum_decay, "momentum_decay value")
        reject_unsupported_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        mu_product = new_step_counter()
        mu_product.fill_(1.0)
        return {"step": new_step_counter(), "mu_product": mu_product,
                **zero_buffers(param, "exp_avg", "exp_avg_sq")}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"], momentum_decay=group["momentum_decay"],
                    decoupled_weight_decay=group["decoupled_weight_decay"])
