r"""Stochastic gradient descent with (heavy-ball or Nesterov) momentum, torch's form.

Algorithm (torch 2.13 ``torch.optim.SGD``; :math:`\mu` momentum, :math:`\tau`
dampening, :math:`\lambda` weight decay, :math:`\eta` learning rate; torch's docs call it :math:`\gamma`):

.. math::

    g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \\
    b_t &\leftarrow \begin{cases} g_t & t = 1 \text{ (no buffer yet)}\\
                                 \mu\, b_{t-1} + (1-\tau)\, g_t & t > 1 \end{cases} \\
    d_t &\leftarrow \begin{cases} g_t + \mu\, b_t & \text{nesterov}\\ b_t & \text{otherwise}\end{cases} \\
    \theta_t &\leftarrow \theta_{t-1} - \eta\, d_t

References: Polyak (1964) for the heavy ball; Sutskever, Martens, Dahl and Hinton
(2013) for the Nesterov form :math:`g + \mu b` used here.

Where frameworks differ:

- the **first buffer is a copy of the gradient**, not :math:`(1-\tau) g`: dampening
  is not applied at step 1 (Keras and optax start from a zero buffer, which agrees
  only when :math:`\tau = 0`);
- the buffer **excludes the learning rate** (:math:`\theta \leftarrow \theta -
  \eta b`). Keras uses the velocity form :math:`\Delta \leftarrow \mu \Delta - \eta g;\
  \theta \leftarrow \theta + \Delta`. Both agree for a constant learning rate and
  differ as soon as a schedule changes :math:`\eta`;
- Keras' default learning rate is 0.01, torch's 1e-3.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lrbook.optim._adapter import (
    RuleOptimizer,
    check_lr,
    check_non_negative,
    reject_unsupported_flags,
)

__all__ = ["SGD", "sgd_update"]


def sgd_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> None:
    r"""One SGD step in place (torch's operation order; see the module docstring).

    ``state["momentum_buffer"]`` (:math:`b`) is created at the first step as a copy
    of the (weight-decayed) gradient. Sparse gradients work unchanged.
    """
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # g + λθ
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = grad.detach().clone()  # b_1 = g_1
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - dampening)  # b = μb + (1-τ)g
        grad = grad.add(buf, alpha=momentum) if nesterov else buf
    param.add_(grad, alpha=-lr)  # θ = θ - η d


class SGD(RuleOptimizer):
    r"""Drop-in ``torch.optim.SGD`` driven by :func:`sgd_update`.

    Same arguments, defaults (``lr=1e-3``) and ``ValueError`` messages as torch:
    ``lr``, ``momentum`` and ``weight_decay`` must be ``>= 0``; ``nesterov``
    requires ``momentum > 0`` and ``dampening == 0``. Momentum above 1 and any
    dampening are accepted, as in torch. ``foreach`` is accepted and ignored;
    ``fused=True`` / ``differentiable=True`` raise ``NotImplementedError``.
    """

    rule = staticmethod(sgd_update)
    sparse_error = None  # SGD handles sparse gradients (with or without momentum)
    complex_as_real = False  # torch's SGD works on complex numbers directly
    _upgrade_defaults = {"fused": False}  # what torch's SGD.__setstate__ fills in

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float | Tensor = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_lr(lr)
        check_non_negative(momentum, "momentum value")
        check_non_negative(weight_decay, "weight_decay value")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        reject_unsupported_flags(differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], momentum=group["momentum"], dampening=group["dampening"],
                    weight_decay=group["weight_decay"], nesterov=group["nesterov"])
