r"""SparseAdam: Adam restricted to the entries a sparse gradient touches (torch's form).

For the set :math:`S` of coordinates present in the (coalesced) sparse gradient,
and nothing else:

.. math::

    m_S &\leftarrow m_S + (1-\beta_1)(g_S - m_S), \qquad
    v_S \leftarrow v_S + (1-\beta_2)(g_S^2 - v_S) \\
    \theta_S &\leftarrow \theta_S - \eta\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,
        \frac{m_S}{\sqrt{v_S} + \epsilon}

Untouched coordinates keep stale moments (they are *not* decayed), which is what
makes it cheap for large embedding tables and also why it is not Adam. Note the
step size folds :math:`\sqrt{1-\beta_2^t}` into :math:`\eta` (the
:math:`\hat\epsilon` form of Kingma & Ba), unlike ``torch.optim.Adam``; the step
counter :math:`t` is a Python ``int`` counted per parameter.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from lrbook.optim._adapter import RuleOptimizer, check_betas, zero_buffers

__all__ = ["SparseAdam", "sparse_adam_update"]


def sparse_adam_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float | Tensor = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> None:
    r"""One SparseAdam step in place for a sparse ``grad``; ``state`` holds ``step``
    (int), ``exp_avg`` (m) and ``exp_avg_sq`` (v), both dense."""
    state["step"] += 1
    t = state["step"]
    grad = grad.coalesce()  # the update is non-linear, so indices must be unique
    indices, values = grad._indices(), grad._values()
    if values.numel() == 0:
        return
    m, v = state["exp_avg"], state["exp_avg_sq"]

    def sparse(vals: Tensor) -> Tensor:
        if indices.dim() == 0 or vals.dim() == 0:
            return grad.new().resize_as_(grad)
        return grad.new(indices, vals, grad.size())

    m_old = m.sparse_mask(grad)._values()
    m_change = values.sub(m_old).mul_(1 - beta1)  # (1-β1)(g - m) on S
    m.add_(sparse(m_change))
    v_old = v.sparse_mask(grad)._values()
    v_change = values.pow(2).sub_(v_old).mul_(1 - beta2)  # (1-β2)(g² - v) on S
    v.add_(sparse(v_change))
    numer = m_change.add_(m_old)  # new m_S
    denom = v_change.add_(v_old).sqrt_().add_(eps)  # √(new v_S) + ε
    step_size = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    param.add_(sparse(-step_size * numer.div_(denom)))


class SparseAdam(RuleOptimizer):
    r"""Drop-in ``torch.optim.SparseAdam`` driven by :func:`sparse_adam_update`.

    Defaults ``lr=1e-3, betas=(0.9, 0.999), eps=1e-8``; ``lr`` and ``eps`` must be
    *strictly* positive. Dense parameters only; dense gradients raise
    ``RuntimeError`` in ``step()``.
    """

    rule = staticmethod(sparse_adam_update)
    complex_as_real = False
    _scalar_state_keys = ()  # torch's SparseAdam keeps an int step (no upgrade on load)

    def __init__(self, params, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse_params, complex_params = [], []
        for i, group in enumerate(self.param_groups):
            for j, p in enumerate(group["params"]):
                if p.is_sparse:
                    sparse_params.append([i, j])
                if p.is_complex():
                    complex_params.append([i, j])
        if sparse_params:
            raise ValueError(
                f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter tensors"
            )
        if complex_params:
            raise ValueError(
                f"Complex params at indices {complex_params}: SparseAdam does not support complex parameters"
            )

    def check_grads(self, params: list[Tensor]) -> None:
        for p in params:
            if not p.grad.is_sparse:
                raise RuntimeError(
                    "SparseAdam does not support dense gradients, please consider Adam instead"
                )

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, **zero_buffers(param, "exp_avg", "exp_avg_sq")}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"])
