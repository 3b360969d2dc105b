r"""LARS: layer-wise adaptive rate scaling (You, Gitman & Ginsburg, 2017).

Algorithm 1 of the paper, per parameter tensor ("layer") :math:`\theta`
(:math:`\eta_t` learning rate, :math:`\mu` momentum, :math:`\lambda` weight decay,
:math:`c_{\mathrm{tr}}` the trust coefficient, the paper's :math:`\eta`; :math:`b_t` the
velocity, which in the paper *includes* the learning rate):

.. math::

    q_t &\leftarrow c_{\mathrm{tr}}\,\frac{\lVert\theta_{t-1}\rVert}
        {\lVert g_t\rVert + \lambda\lVert\theta_{t-1}\rVert}
        \qquad\text{(trust ratio; } q_t = 1 \text{ if a norm or the denominator is } 0) \\
    b_t &\leftarrow \mu\, b_{t-1} + \eta_t\, q_t\,(g_t + \lambda\theta_{t-1}) \\
    \theta_t &\leftarrow \theta_{t-1} - b_t

A param group with ``adapt=False`` (biases and normalisation gains, in common
practice) skips the trust ratio (:math:`q_t = 1`): plain momentum SGD in the
same velocity form.

Where implementations differ:

- the paper's velocity holds :math:`\eta_t`; torch-style momentum
  (``pytorch_optimizer.LARS``, torch's ``SGD``) keeps :math:`b` without
  :math:`\eta` and steps :math:`\theta \leftarrow \theta - \eta_t b_t`. The two
  agree for a constant learning rate and differ as soon as a schedule changes
  :math:`\eta_t` (the tests assert both facts);
- ``pytorch_optimizer.LARS`` never adapts (nor decays) tensors with
  ``ndim <= 1``; here that is a param-group choice (``adapt=False``,
  ``weight_decay=0``);
- the zero-norm fallback :math:`q_t = 1` is the common choice (the paper does
  not say).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lrbook.optim._adapter import RuleOptimizer, check_lr, check_non_negative

__all__ = ["LARS", "lars_update", "trust_ratio"]


def trust_ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    r"""``numerator / denominator``, or 1 where either is zero (0-d tensors)."""
    ok = (numerator > 0) & (denominator > 0)
    return torch.where(ok, numerator / torch.where(ok, denominator, 1.0), 1.0)


def lars_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    trust_coefficient: float = 1e-3,
    adapt: bool = True,
) -> None:
    r"""One LARS step in place; ``state["momentum_buffer"]`` is :math:`b` (starts at 0)."""
    update = grad.add(param, alpha=weight_decay)  # g + λθ
    if adapt:
        w_norm, g_norm = param.norm(), grad.norm()
        q = trust_ratio(trust_coefficient * w_norm, g_norm + weight_decay * w_norm)  # q = c_tr‖θ‖ / (‖g‖ + λ‖θ‖)
        update.mul_(q)  # q (g + λθ)
    buf = state.get("momentum_buffer")
    if buf is None:
        buf = state["momentum_buffer"] = torch.zeros_like(param)
    buf.mul_(momentum).add_(update, alpha=lr)  # b = μb + η q (g + λθ)
    param.sub_(buf)  # θ = θ - b


class LARS(RuleOptimizer):
    r"""LARS (You, Gitman & Ginsburg, 2017, Algorithm 1) driven by :func:`lars_update`.

    Arguments: ``lr`` (:math:`\eta \ge 0`), ``momentum`` (:math:`0 \le \mu < 1`),
    ``weight_decay`` (:math:`\lambda \ge 0`), ``trust_coefficient`` (:math:`c_{\mathrm{tr}} > 0`,
    the paper's :math:`\eta = 0.001`), ``adapt`` (per group; ``False`` skips the
    trust ratio). Invalid values raise ``ValueError`` naming the argument and
    its range. Sparse and complex gradients are refused (the norms are of a
    whole real tensor).
    """

    rule = staticmethod(lars_update)
    sparse_error = "LARS does not support sparse gradients"
    complex_error = "LARS does not support complex parameters"

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.9,
                 weight_decay: float = 0.0, trust_coefficient: float = 1e-3,
                 adapt: bool = True) -> None:
        check_lr(lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum value: {momentum} (need 0 <= momentum < 1)")
        check_non_negative(weight_decay, "weight_decay value")
        if not trust_coefficient > 0.0:
            raise ValueError(f"Invalid trust_coefficient value: {trust_coefficient} (need > 0)")
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        trust_coefficient=trust_coefficient, adapt=adapt)
        super().__init__(params, defaults)

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], momentum=group["momentum"], weight_decay=group["weight_decay"],
                    trust_coefficient=group["trust_coefficient"], adapt=group["adapt"])
