"""Construction checks shared by the Adam family (Adamax, NAdam, RAdam)."""

from __future__ import annotations

from typing import Any

from lrbook.optim._adapter import check_betas, check_lr, check_non_negative


def check_adam_like(lr: Any, betas: tuple[Any, Any], eps: Any, weight_decay: Any) -> None:
    """torch's checks, in torch's order: lr, eps, betas, weight_decay."""
    check_lr(lr)
    check_non_negative(eps, "epsilon value")
    check_betas(betas)
    check_non_negative(weight_decay, "weight_decay value")
