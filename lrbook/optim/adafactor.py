r"""Adafactor (Shazeer & Stern, 2018), as in torch 2.13's ``torch.optim.Adafactor``.

For a matrix parameter (``dim > 1``) the second moment is *factored*: only a row
vector :math:`R` and a column vector :math:`C` are stored (memory
:math:`O(n+m)` instead of :math:`O(nm)`). With
:math:`\hat\beta_{2,t} = 1 - t^{\texttt{beta2\_decay}}` (default ``beta2_decay = -0.8``),
relative step :math:`\eta^{\mathrm{rel}}_t = \min(\eta, 1/\sqrt t)` (:math:`\eta` = ``lr``; the
paper's :math:`\rho_t = \min(10^{-2}, 1/\sqrt t)` is the default ``lr = 1e-2``) and absolute step
:math:`\eta^{\mathrm{abs}}_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,\eta^{\mathrm{rel}}_t`:

.. math::

    \theta_{t-1} &\leftarrow \theta_{t-1}(1 - \eta\lambda)  \quad\text{(decoupled)} \\
    R_t &\leftarrow R_{t-1} + (1-\hat\beta_{2,t})\bigl(\mathrm{mean}_{\text{cols}}(g_t^2) - R_{t-1}\bigr) \\
    C_t &\leftarrow C_{t-1} + (1-\hat\beta_{2,t})\bigl(\mathrm{mean}_{\text{rows}}(g_t^2) - C_{t-1}\bigr) \\
    \hat V_t &= R_t C_t / \max(\mathrm{mean}(R_t), \epsilon_1)
        \quad\text{(vectors: } V_t \leftarrow V_{t-1} + (1-\hat\beta_{2,t})(g_t^2 - V_{t-1})\text{)} \\
    U_t &= g_t / \sqrt{\max(\hat V_t, \epsilon_1^2)} \\
    \theta_t &\leftarrow \theta_{t-1} - \frac{\eta^{\mathrm{abs}}_t}{\max(1, \mathrm{RMS}(U_t)/c_{\mathrm{u}})}\, U_t

:math:`\epsilon_1` defaults to the machine epsilon of the parameter's dtype.
torch's version has no first moment (the paper's optional :math:`\beta_1`), and
its ``lr`` caps the relative step :math:`\eta^{\mathrm{rel}}_t` rather than multiplying the
update; ``weight_decay`` is decoupled.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lrbook.optim._adapter import RuleOptimizer, new_step_counter

__all__ = ["Adafactor", "adafactor_update"]


def adafactor_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor = 1e-2,
    beta2_decay: float = -0.8,
    eps1: float | None = None,
    eps2: float = 1e-3,
    d: float = 1.0,
    weight_decay: float = 0.0,
) -> None:
    r"""One Adafactor step in place; ``state`` holds ``step`` and either
    ``row_var``/``col_var`` (matrices) or ``variance`` (vectors)."""
    if eps1 is None:
        eps1 = torch.finfo(param.dtype).eps
    state["step"] += 1
    t = state["step"].item()
    one_minus_beta2_t = t**beta2_decay  # 1 - β̂2_t
    rho_t = min(lr, 1 / (t**0.5))  # relative step size
    alpha = max(eps2, param.norm(2).item() / (param.numel() ** 0.5)) * rho_t  # scaled by RMS(θ)
    if weight_decay != 0:
        param.mul_(1 - lr * weight_decay)  # θ = θ(1 - ηλ)
    if grad.dim() > 1:  # factored second moment
        row_var, col_var = state["row_var"], state["col_var"]
        row_mean = torch.norm(grad, dim=-1, keepdim=True).square_().div_(grad.size(-1))
        row_var.lerp_(row_mean, one_minus_beta2_t)
        col_mean = torch.norm(grad, dim=-2, keepdim=True).square_().div_(grad.size(-2))
        col_var.lerp_(col_mean, one_minus_beta2_t)
        var_estimate = row_var @ col_var
        var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
    else:
        variance = state["variance"]
        variance.lerp_(grad * grad, one_minus_beta2_t)
        var_estimate = variance.clone()
    update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)  # U = g / √V̂
    denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))  # update clipping
    param.add_(update, alpha=-alpha / denom)


class Adafactor(RuleOptimizer):
    r"""Drop-in ``torch.optim.Adafactor`` (torch 2.13) driven by :func:`adafactor_update`.

    Defaults ``lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
    weight_decay=0.0``; torch's validation messages ("... should be >= 0 but
    is: ..."). Complex parameters and sparse gradients raise ``RuntimeError``.
    """

    rule = staticmethod(adafactor_update)
    sparse_error = "Adafactor does not support sparse gradients"
    complex_error = "Adafactor does not support complex parameters"
    complex_as_real = False

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        grad = param.grad
        state: dict[str, Any] = {"step": new_step_counter()}
        if grad.dim() > 1:
            row_shape, col_shape = list(grad.shape), list(grad.shape)
            row_shape[-1] = 1
            col_shape[-2] = 1
            state["row_var"] = grad.new_zeros(row_shape)
            state["col_var"] = grad.new_zeros(col_shape)
        else:
            state["variance"] = torch.zeros_like(grad, memory_format=torch.preserve_format)
        return state

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        eps1, eps2 = group["eps"]
        return dict(lr=group["lr"], beta2_decay=group["beta2_decay"], eps1=eps1, eps2=eps2,
                    d=group["d"], weight_decay=group["weight_decay"])
