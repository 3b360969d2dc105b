r"""Hypergradient descent: the learning rate learns itself by gradient descent.

Baydin, Cornish, Martínez Rubio, Schmidt and Wood (2018), *Online Learning Rate
Adaptation with Hypergradient Descent* (ICLR); reference implementation
``gbaydin/hypergradient-descent`` (``SGDHD``, ``AdamHD``). If the last update
was :math:`\theta_{t-1} = \theta_{t-2} + \eta_{t-1} \Delta_{t-1}` (:math:`\Delta_t` is
the update direction per unit learning rate), then
:math:`\partial f(\theta_{t-1}) / \partial\eta_{t-1} = g_t \cdot \Delta_{t-1}`
(the *hypergradient*), so one gradient step on :math:`\eta` with its own
learning rate :math:`\eta^{\mathrm{hg}}` (the paper's :math:`\beta`; argument
``hypergrad_lr``) is

.. math::

    \eta_t \leftarrow \eta_{t-1} - \eta^{\mathrm{hg}}\, g_t \cdot \Delta_{t-1}

(the dot product runs over all parameters of the param group; no change at the
first step, which has no previous update). Then the base method steps with
:math:`\eta_t`:

- SGD-HD (:class:`HypergradientSGD`): :math:`\Delta_{t-1} = -g_{t-1}`, so
  :math:`\eta_t = \eta_{t-1} + \eta^{\mathrm{hg}}\, g_t \cdot g_{t-1}` (the rate grows while
  successive gradients agree, shrinks when they point against each other), and
  :math:`\theta_t = \theta_{t-1} - \eta_t g_t`;
- Adam-HD (:class:`HypergradientAdam`): :math:`\Delta_{t-1} = -\hat m_{t-1} /
  (\sqrt{\hat v_{t-1}} + \epsilon)`, Adam's previous direction, and Adam's
  update (torch's form, L2 ``weight_decay`` :math:`\lambda`) with :math:`\eta_t`.

:math:`g_t` includes the weight-decay term, as in the reference code. The
current :math:`\eta_t` lives in ``group["lr"]``, so it is in ``state_dict`` and
in every logger that reads the param groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from lrbook.optim._adapter import check_betas, check_lr, check_non_negative

__all__ = ["HypergradientAdam", "HypergradientSGD", "hypergradient_lr"]


def hypergradient_lr(lr: float, hypergrad_lr: float, grads: list[Tensor], prev_updates: list[Tensor]) -> float:
    r""":math:`\eta_t = \eta_{t-1} - \eta^{\mathrm{hg}}\, g_t\cdot \Delta_{t-1}` (the dot product over all tensors)."""
    h = sum(float(torch.sum(g * delta)) for g, delta in zip(grads, prev_updates, strict=True))  # g_t · Δ_{t-1}
    return lr - hypergrad_lr * h


class _Hypergradient(torch.optim.Optimizer):
    """Shared step: gradients of a group, the η update, then the base method's update."""

    def _direction(self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad.add(p, alpha=group["weight_decay"]) for p in params]  # g + λθ
            states = [self.state[p] for p in params]
            if all("prev_update" in s for s in states):
                group["lr"] = hypergradient_lr(group["lr"], group["hypergrad_lr"], grads,
                                               [s["prev_update"] for s in states])
            for p, g, s in zip(params, grads, states, strict=True):
                delta = self._direction(p, g, s, group)  # Δ_t, the update direction per unit learning rate
                p.add_(delta, alpha=group["lr"])  # θ_t = θ_{t-1} + η_t Δ_t
                s["prev_update"] = delta
        return loss


class HypergradientSGD(_Hypergradient):
    r"""SGD-HD (Baydin et al., 2018): SGD whose learning rate follows its hypergradient.

    Arguments: ``lr`` (:math:`\eta_0 \ge 0`, the initial rate), ``hypergrad_lr``
    (:math:`\eta^{\mathrm{hg}} \ge 0`, the paper's :math:`\beta`; the reference default
    ``1e-6``), ``weight_decay`` (:math:`\lambda \ge 0`, L2). Invalid values raise
    ``ValueError``. State per parameter: ``prev_update`` (:math:`\Delta_{t-1} = -g_{t-1}`).
    """

    def __init__(self, params, lr: float = 1e-3, hypergrad_lr: float = 1e-6, weight_decay: float = 0.0) -> None:
        check_lr(lr)
        check_non_negative(hypergrad_lr, "hypergrad_lr value")
        check_non_negative(weight_decay, "weight_decay value")
        super().__init__(params, dict(lr=lr, hypergrad_lr=hypergrad_lr, weight_decay=weight_decay))

    def _direction(self, p, grad, state, group):
        return -grad  # Δ_t = -g_t


class HypergradientAdam(_Hypergradient):
    r"""Adam-HD (Baydin et al., 2018): Adam whose learning rate follows its hypergradient.

    Arguments: ``lr`` (:math:`\eta_0 \ge 0`), ``betas`` (:math:`0 \le \beta_1,
    \beta_2 < 1`), ``eps`` (:math:`\epsilon \ge 0`), ``weight_decay``
    (:math:`\lambda \ge 0`, L2 as in torch's Adam), ``hypergrad_lr``
    (:math:`\eta^{\mathrm{hg}} \ge 0`; the reference default ``1e-8``). Invalid values raise
    ``ValueError``. State per parameter: ``step``, ``exp_avg`` (:math:`m_t`),
    ``exp_avg_sq`` (:math:`v_t`), ``prev_update`` (:math:`\Delta_{t-1}`).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, hypergrad_lr: float = 1e-8) -> None:
        check_lr(lr)
        check_betas(betas)
        check_non_negative(eps, "epsilon value")
        check_non_negative(weight_decay, "weight_decay value")
        check_non_negative(hypergrad_lr, "hypergrad_lr value")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      hypergrad_lr=hypergrad_lr))

    def _direction(self, p, grad, state, group):
        beta1, beta2 = group["betas"]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)  # m_t
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v_t
        m_hat = state["exp_avg"] / (1 - beta1**t)
        v_hat = state["exp_avg_sq"] / (1 - beta2**t)
        return -m_hat / (v_hat.sqrt() + group["eps"])  # Δ_t = -m̂_t / (√v̂_t + ε)
