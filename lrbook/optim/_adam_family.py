"""What the Adam family shares: construction checks and weight decay (L2 or decoupled)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lrbook.optim._adapter import check_betas, check_lr, check_non_negative


def check_adam_like(lr: Any, betas: tuple[Any, Any], eps: Any, weight_decay: Any) -> None:
    """torch's checks, in torch's order: lr, eps, betas, weight_decay."""
    check_lr(lr)
    check_non_negative(eps, "epsilon value")
    check_betas(betas)
    check_non_negative(weight_decay, "weight_decay value")


def apply_weight_decay(
    param: Tensor, grad: Tensor, *, lr: Any, weight_decay: float, decoupled: bool
) -> Tensor:
    r"""Weight decay as the Adam family does it; returns the gradient to use.

    - L2 (``decoupled=False``): :math:`g \leftarrow g + \lambda\theta`, so the decay
      then passes through the moment estimates and is rescaled by them;
    - decoupled (AdamW, Loshchilov & Hutter 2019): :math:`\theta \leftarrow
      \theta(1 - \eta\lambda)` in place, before the moments are updated, with
      the *current* learning rate :math:`\eta` (so a schedule scales it too).
    """
    if weight_decay == 0:
        return grad
    if decoupled:
        param.mul_(1 - lr * weight_decay)  # θ = θ(1 - ηλ)
        return grad
    return grad.add(param, alpha=weight_decay)  # g = g + λθ
