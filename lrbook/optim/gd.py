r"""Plain (full-batch) gradient descent.

.. math::

    \theta_t = \theta_{t-1} - \eta \, g_t, \qquad g_t = \nabla f(\theta_{t-1})

The oldest rule in the book (Cauchy, 1847). It is :class:`lrbook.optim.SGD`
with every option switched off; it exists as its own class so the first chapter
can show the rule with nothing else in it. Whether the gradient is exact
("gradient descent") or estimated on a mini-batch ("stochastic gradient
descent") is decided by the caller, not by the rule.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lrbook.optim._adapter import RuleOptimizer, check_lr

__all__ = ["GradientDescent", "gd_update"]


def gd_update(param: Tensor, grad: Tensor, state: dict, *, lr: float | Tensor) -> None:
    r"""One gradient-descent step, in place: :math:`\theta \leftarrow \theta - \eta g`.

    ``state`` is unused (gradient descent has no memory); it is part of the
    signature so every rule in :mod:`lrbook.optim` has the same shape.
    """
    param.add_(grad, alpha=-lr)


class GradientDescent(RuleOptimizer):
    r"""Gradient descent :math:`\theta \leftarrow \theta - \eta g` as a torch optimizer.

    Args:
        params: iterable of tensors or param-group dicts.
        lr: learning rate :math:`\eta` (default ``1e-3``, like ``torch.optim.SGD``).
        maximize: ascend instead of descend (the rule receives :math:`-g`).

    Identical (bitwise) to ``torch.optim.SGD(params, lr)`` with its defaults.
    """

    rule = staticmethod(gd_update)

    def __init__(self, params, lr: float | Tensor = 1e-3, *, maximize: bool = False) -> None:
        check_lr(lr)
        super().__init__(params, {"lr": lr, "maximize": maximize})

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return {"lr": group["lr"]}
