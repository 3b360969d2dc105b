r"""LAMB: layer-wise adaptive moments for batch training (You et al., 2020).

Algorithm 2 of "Large Batch Optimization for Deep Learning: Training BERT in
76 minutes" (ICLR 2020), per parameter tensor ("layer") :math:`\theta`
(:math:`\eta_t` learning rate, :math:`\beta_1, \beta_2` moment decay rates,
:math:`\lambda` weight decay, :math:`\epsilon` eps, :math:`\chi` a scaling
function of the weight norm, the paper's :math:`\phi` (renamed: :math:`\phi` is
Lookahead's step in this book): the identity, or :math:`\min(\cdot, c_\chi)` with
``clamp_value``; :math:`w_t` the update before the trust ratio, the paper's
:math:`r_t + \lambda x_t`; :math:`n_t` the Adam-normalised step, the paper's :math:`r_t`, renamed because
:math:`r` is a contraction factor in this book):

.. math::

    m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
    \hat m_t &\leftarrow m_t/(1-\beta_1^t), \qquad \hat v_t \leftarrow v_t/(1-\beta_2^t)
        \qquad\text{(omitted when } \texttt{bias\_correction=False}) \\
    n_t &\leftarrow \hat m_t / (\sqrt{\hat v_t} + \epsilon) \\
    w_t &\leftarrow n_t + \lambda\,\theta_{t-1} \\
    q_t &\leftarrow \chi(\lVert\theta_{t-1}\rVert) / \lVert w_t\rVert
        \qquad\text{(trust ratio; } q_t = 1 \text{ if either norm is } 0) \\
    \theta_t &\leftarrow \theta_{t-1} - \eta_t\, q_t\, w_t

The weight decay is inside the trust ratio, as in the paper. ``adapt=False``
(per group) sets :math:`q_t = 1`: AdamW with the decay multiplied by
:math:`\eta_t` (not by :math:`\eta_t` applied to the decayed weights).

Where ``pytorch_optimizer.Lamb`` (4.1.0) differs (the tests assert each):

- its default never corrects :math:`v` and divides the *step* by
  :math:`1-\beta_1^t` after the trust ratio, so the first step of each layer
  has length :math:`\eta\lVert\theta\rVert/(1-\beta_1)` (ten times the
  paper's :math:`\eta\lVert\theta\rVert` for :math:`\beta_1 = 0.9`);
  ``adam_debias=True`` removes that factor;
- weight decay decoupled *before* the update, outside the trust ratio
  (:math:`\theta \leftarrow \theta(1-\eta\lambda)`, then the trust ratio of the
  decayed weights and of :math:`n_t` alone);
- the trust ratio is :math:`\min(\lVert\theta\rVert, 10) / (\lVert n_t\rVert + \epsilon)`.

With ``bias_correction=False``, ``clamp_value=10``, ``weight_decay=0`` and
``eps=0`` here, and ``adam_debias=True`` there, the two are the same algorithm.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lrbook.optim._adapter import (
    RuleOptimizer,
    check_betas,
    check_lr,
    check_non_negative,
    new_step_counter,
    zero_buffers,
)
from lrbook.optim.lars import trust_ratio

__all__ = ["LAMB", "lamb_update"]


def lamb_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    bias_correction: bool = True,
    clamp_value: float | None = None,
    adapt: bool = True,
) -> None:
    r"""One LAMB step in place; ``state`` holds ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v)."""
    state["step"] += 1
    t = state["step"].item()
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.mul_(beta1).add_(grad, alpha=1 - beta1)  # m = β1 m + (1-β1) g
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = β2 v + (1-β2) g²
    c1, c2 = (1 - beta1**t, 1 - beta2**t) if bias_correction else (1.0, 1.0)
    y = (m / c1) / ((v / c2).sqrt() + eps)  # y = m̂ / (√v̂ + ε)
    w = y.add_(param, alpha=weight_decay)  # w = y + λθ
    q = 1.0
    if adapt:
        theta_norm = param.norm()
        if clamp_value is not None:
            theta_norm = theta_norm.clamp(max=clamp_value)  # χ(‖θ‖)
        q = trust_ratio(theta_norm, w.norm())  # q = χ(‖θ‖) / ‖w‖
    param.sub_(lr * q * w)  # θ = θ - η q w


class LAMB(RuleOptimizer):
    r"""LAMB (You et al., 2020, Algorithm 2) driven by :func:`lamb_update`.

    Arguments: ``lr`` (:math:`\eta \ge 0`), ``betas`` (:math:`0 \le \beta_i < 1`),
    ``eps`` (:math:`\epsilon \ge 0`, default 1e-6 as in the paper's code),
    ``weight_decay`` (:math:`\lambda \ge 0`), ``bias_correction``,
    ``clamp_value`` (``None`` for :math:`\chi` = identity, else :math:`> 0`),
    ``adapt`` (per group; ``False`` skips the trust ratio). Invalid values
    raise ``ValueError`` naming the argument and its range.
    """

    rule = staticmethod(lamb_update)
    sparse_error = "LAMB does not support sparse gradients"
    complex_error = "LAMB does not support complex parameters"

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0, bias_correction: bool = True,
                 clamp_value: float | None = None, adapt: bool = True) -> None:
        check_lr(lr)
        check_betas(betas)
        check_non_negative(eps, "epsilon value")
        check_non_negative(weight_decay, "weight_decay value")
        if clamp_value is not None and not clamp_value > 0:
            raise ValueError(f"Invalid clamp_value: {clamp_value} (need None or > 0)")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        bias_correction=bias_correction, clamp_value=clamp_value, adapt=adapt)
        super().__init__(params, defaults)

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": new_step_counter(), **zero_buffers(param, "exp_avg", "exp_avg_sq")}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"], bias_correction=group["bias_correction"],
                    clamp_value=group["clamp_value"], adapt=group["adapt"])
