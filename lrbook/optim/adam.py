r"""Adam (Kingma & Ba, 2015), with AMSGrad and decoupled weight decay (AdamW).

Algorithm (torch 2.13 ``torch.optim.Adam``; :math:`t` is the step *after*
incrementing, :math:`\lambda` weight decay):

.. math::

    \text{L2:}\quad g_t &\leftarrow g_t + \lambda\theta_{t-1}
    \qquad\text{or decoupled:}\quad \theta_{t-1} \leftarrow \theta_{t-1}(1-\eta\lambda) \\
    m_t &\leftarrow m_{t-1} + (1-\beta_1)(g_t - m_{t-1}) \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    \hat v_t &\leftarrow \max(\hat v_{t-1}, v_t) \ \text{(amsgrad, raw } v\text{)}
        \quad\text{else}\quad \hat v_t \leftarrow v_t \\
    \theta_t &\leftarrow \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
        \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

This is Kingma & Ba's Algorithm 1, :math:`\hat m_t / (\sqrt{\hat v_t} + \epsilon)`,
with :math:`\epsilon` added **after** the bias correction of :math:`v`.
AMSGrad: Reddi, Kale and Kumar (2018). Decoupled weight decay (AdamW):
Loshchilov and Hutter (2019); torch multiplies it by the *current* learning rate.

Where frameworks differ:

- **Keras/TensorFlow** use the paper's "efficient" variant: step size
  :math:`\eta\sqrt{1-\beta_2^t}/(1-\beta_1^t)` and :math:`\hat\epsilon` added to
  the *uncorrected* :math:`\sqrt{v_t}`, default :math:`\epsilon = 10^{-7}` (torch
  1e-8). Same :math:`\epsilon`, different updates; see :class:`lrbook.optim.keras.Adam`.
- torch's ``Adam(weight_decay=...)`` is **L2** (the decay passes through
  :math:`m` and :math:`v`); Keras' ``weight_decay`` is decoupled. ``AdamW`` in torch
  defaults to ``weight_decay=1e-2``, Keras 0.004, optax 1e-4.
- optax's ``amsgrad`` takes the maximum of the bias-corrected :math:`\hat v`,
  torch (and this rule) of the raw :math:`v`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lrbook.optim._adam_family import apply_weight_decay
from lrbook.optim._adapter import (
    RuleOptimizer,
    check_betas,
    check_lr,
    check_non_negative,
    new_step_counter,
    reject_unsupported_flags,
    zero_buffers,
)

__all__ = ["Adam", "AdamW", "adam_update"]


def adam_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    decoupled_weight_decay: bool = False,
) -> None:
    r"""One Adam step in place; ``state`` holds ``step``, ``exp_avg`` (m),
    ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``."""
    state["step"] += 1
    t = state["step"].item()
    grad = apply_weight_decay(param, grad, lr=lr, weight_decay=weight_decay,
                              decoupled=decoupled_weight_decay)  # g + λθ, or θ(1 - ηλ)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)  # m = m + (1-β1)(g - m)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = β2 v + (1-β2) g²
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    if amsgrad:
        v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
    denom = (v.sqrt() / bias_correction2**0.5).add_(eps)  # √v / √(1-β2^t) + ε
    param.addcdiv_(m, denom, value=-(lr / bias_correction1))  # θ = θ - η/(1-β1^t) · m/denom


class Adam(RuleOptimizer):
    r"""Drop-in ``torch.optim.Adam`` driven by :func:`adam_update`.

    Same arguments, defaults and ``ValueError`` messages as torch 2.13 (including
    "betas must be either both floats or both Tensors", so ``betas=(0, 0.999)``
    with an int 0 is rejected, as in torch). ``foreach`` is accepted and
    ignored; ``fused``/``capturable``/``differentiable`` raise
    ``NotImplementedError``.
    """

    rule = staticmethod(adam_update)
    sparse_error = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-3,
        betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        check_lr(lr)
        check_non_negative(eps, "epsilon value")
        check_betas(betas)
        check_non_negative(weight_decay, "weight_decay value")
        if not (
            (isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))
        ):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, beta in enumerate(betas):
            if isinstance(beta, Tensor) and foreach and not capturable:
                raise ValueError(
                    f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True"
                )
            if isinstance(beta, Tensor) and beta.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        reject_unsupported_flags(capturable=capturable, differentiable=differentiable, fused=fused)
        betas = tuple(b.squeeze() if isinstance(b, Tensor) else b for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
        return {"step": new_step_counter(), **zero_buffers(param, *names)}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
                    decoupled_weight_decay=group["decoupled_weight_decay"])


class AdamW(Adam):
    r"""Drop-in ``torch.optim.AdamW``: :class:`Adam` with decoupled weight decay.

    :math:`\theta \leftarrow \theta(1-\eta\lambda)` before the moment updates,
    with the *current* learning rate :math:`\eta`; default ``weight_decay=1e-2``
    (Adam's is 0).
    """

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-3,
        betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def _forced_group_values(self) -> dict[str, Any]:
        return {"decoupled_weight_decay": True}
