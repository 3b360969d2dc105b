r"""RMSprop (Tieleman and Hinton, 2012, Coursera lecture 6e), torch's form.

The lecture keeps the mean square with :math:`\alpha = 0.9` and gives no
learning rate and no :math:`\epsilon`.

.. math::

    g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
    v_t &\leftarrow \alpha v_{t-1} + (1-\alpha)\, g_t^2 \\
    \bar g_t &\leftarrow \bar g_{t-1} + (1-\alpha)(g_t - \bar g_{t-1})
        \quad\text{(centered only)} \\
    d_t &\leftarrow \sqrt{v_t} + \epsilon
        \quad\text{or, centered,}\quad \sqrt{v_t - \bar g_t^2} + \epsilon \\
    b_t &\leftarrow \mu b_{t-1} + g_t / d_t, \quad \theta_t \leftarrow \theta_{t-1} - \eta b_t
        \quad\text{(momentum } \mu > 0\text{, } b_0 = 0\text{)} \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, g_t / d_t \quad\text{(no momentum)}

:math:`\eta` is ``lr``, :math:`\alpha` is ``alpha`` (the decay rate of
:math:`v_t`, the state ``square_avg``), :math:`\mu` is ``momentum``,
:math:`\lambda` is ``weight_decay``; :math:`d_t` is the denominator.
Centered RMSprop follows Graves (2013). There is no bias correction, so the first
steps are large (:math:`v_1 = (1-\alpha) g_1^2`).

Where frameworks differ: torch calls the decay ``alpha`` (default 0.99, lr 1e-2,
:math:`\epsilon = 10^{-8}` **outside** the root); Keras 3 calls it ``rho``
(default 0.9, lr 1e-3, :math:`\epsilon = 10^{-7}` **inside** the root,
:math:`\sqrt{v + \epsilon}`), and its momentum buffer includes the learning rate.
See :class:`lrbook.optim.keras.RMSprop`.
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

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> None:
    r"""One RMSprop step in place; ``state`` holds ``step``, ``square_avg`` (v) and,
    when used, ``grad_avg`` (:math:`\bar g`) and ``momentum_buffer`` (b)."""
    state["step"] += 1
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # g = g + λθ
    v = state["square_avg"]
    v.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)  # v = αv + (1-α)g²
    if centered:
        g_avg = state["grad_avg"]
        g_avg.lerp_(grad, 1 - alpha)  # ḡ = ḡ + (1-α)(g - ḡ)
        denom = v.addcmul(g_avg, g_avg, value=-1).sqrt_()  # √(v - ḡ²)
    else:
        denom = v.sqrt()
    denom = denom.add_(eps)  # ε outside the root
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.mul_(momentum).addcdiv_(grad, denom)  # b = μb + g/d
        param.add_(buf, alpha=-lr)  # θ = θ - ηb
    else:
        param.addcdiv_(grad, denom, value=-lr)  # θ = θ - η g/d


class RMSprop(RuleOptimizer):
    r"""Drop-in ``torch.optim.RMSprop`` driven by :func:`rmsprop_update`.

    Defaults ``lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False``. ``alpha > 1`` is accepted, as in torch.
    """

    rule = staticmethod(rmsprop_update)
    sparse_error = "RMSprop does not support sparse gradients"

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_lr(lr)
        check_non_negative(eps, "epsilon value")
        check_non_negative(momentum, "momentum value")
        check_non_negative(weight_decay, "weight_decay value")
        check_non_negative(alpha, "alpha value")
        reject_unsupported_flags(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        names = ["square_avg"]
        if group["momentum"] > 0:
            names.append("momentum_buffer")
        if group["centered"]:
            names.append("grad_avg")
        return {"step": new_step_counter(), **zero_buffers(param, *names)}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                    weight_decay=group["weight_decay"], momentum=group["momentum"],
                    centered=group["centered"])
