r"""Adagrad (Duchi, Hazan and Singer, 2011), torch's form.

.. math::

    g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
    \eta_t &\leftarrow \frac{\eta}{1 + (t-1)\,d} \\
    G_t &\leftarrow G_{t-1} + g_t^2 \\
    \theta_t &\leftarrow \theta_{t-1} - \eta_t\, \frac{g_t}{\sqrt{G_t} + \epsilon}

:math:`\eta` is ``lr``, :math:`d` is ``lr_decay``, :math:`\lambda` is
``weight_decay`` and :math:`G_t` is the state ``sum``; :math:`G_0` is
``initial_accumulator_value`` (torch 0, Keras and optax 0.1).

Where frameworks differ:

- torch adds :math:`\epsilon = 10^{-10}` **outside** the root; Keras 3 computes
  :math:`g/\sqrt{G_t + \epsilon}` with :math:`\epsilon = 10^{-7}` (inside), starts
  from :math:`G_0 = 0.1`, uses ``learning_rate=0.001`` and has no ``lr_decay``
  (see :class:`lrbook.optim.keras.Adagrad`).
- torch creates the state **eagerly** at construction, with the constructor's
  ``initial_accumulator_value`` for every group (a per-group value is ignored).
- Sparse gradients update only the touched rows (no weight decay allowed).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lrbook.optim._adapter import (
    RuleOptimizer,
    check_lr,
    check_non_negative,
    new_step_counter,
    reject_unsupported_flags,
)

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    eps: float = 1e-10,
) -> None:
    r"""One Adagrad step in place; ``state`` holds ``step`` and ``sum`` (:math:`G_t`)."""
    state["step"] += 1
    t = state["step"].item()
    if weight_decay != 0:
        if grad.is_sparse:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        grad = grad.add(param, alpha=weight_decay)  # g = g + λθ
    clr = lr / (1 + (t - 1) * lr_decay)  # η_t = η / (1 + (t-1) d)
    if grad.is_sparse:
        _sparse_adagrad_update(param, grad, state["sum"], clr=clr, eps=eps)
        return
    G = state["sum"]
    G.addcmul_(grad, grad, value=1)  # G_t = G_{t-1} + g²
    std = G.sqrt().add_(eps)  # √G_t + ε
    param.addcdiv_(grad, std, value=-clr)  # θ = θ - η_t g / (√G_t + ε)


def _sparse_adagrad_update(param: Tensor, grad: Tensor, s: Tensor, *, clr, eps: float) -> None:
    """The same update restricted to the rows a sparse gradient touches."""
    grad = grad.coalesce()  # the update is non-linear, so indices must be unique
    indices, values = grad._indices(), grad._values()
    s.add_(torch.sparse_coo_tensor(indices, values.pow(2), grad.size()))
    std_values = s.sparse_mask(grad)._values().sqrt_().add_(eps)
    param.add_(torch.sparse_coo_tensor(indices, values / std_values, grad.size()), alpha=-clr)


class Adagrad(RuleOptimizer):
    r"""Drop-in ``torch.optim.Adagrad`` driven by :func:`adagrad_update`.

    Defaults ``lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10``; every argument must be ``>= 0``. State is created eagerly, with
    the constructor's ``initial_accumulator_value``.
    """

    rule = staticmethod(adagrad_update)
    sparse_error = None  # handled by the rule (weight decay + sparse raises there, like torch)

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_lr(lr)
        check_non_negative(lr_decay, "lr_decay value")
        check_non_negative(weight_decay, "weight_decay value")
        check_non_negative(initial_accumulator_value, "initial_accumulator_value value")
        check_non_negative(eps, "epsilon value")
        reject_unsupported_flags(differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:  # eager state, as torch
            for p in group["params"]:
                self.state[p] = self.init_state(p, group)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        s0 = self.defaults["initial_accumulator_value"]  # not the group's value (torch quirk)
        if torch.is_complex(param):
            s0 = complex(s0, s0)
        return {"step": new_step_counter(),
                "sum": torch.full_like(param, s0, memory_format=torch.preserve_format)}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], lr_decay=group["lr_decay"],
                    weight_decay=group["weight_decay"], eps=group["eps"])
