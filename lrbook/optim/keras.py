r"""Keras-3 semantics, as torch optimizers: same rules, Keras' choices.

Porting hyperparameters between Keras and torch silently changes the algorithm:
the same names hide different :math:`\epsilon` placements, defaults and buffers.
These classes reproduce Keras 3 (3.15) ``keras.optimizers.*`` update steps with
Keras' argument names and defaults, on the same adapter as the torch-compatible
classes, so a chapter can run both side by side. Rules are reused where the
mathematics is the same.

- ``Adam``: :math:`\theta \mathrel{-}= \eta\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,m/(\sqrt{v}+\hat\epsilon)`: :math:`\hat\epsilon`
  is added to the *uncorrected* :math:`\sqrt v` (Kingma & Ba's "efficient" form),
  :math:`\hat\epsilon = 10^{-7}`; torch adds :math:`\epsilon = 10^{-8}` to
  :math:`\sqrt{\hat v}`.
- ``RMSprop``: :math:`v = \alpha v + (1-\alpha) g^2` (Keras calls the decay rate
  :math:`\alpha` ``rho``), :math:`\Delta = \eta g/\sqrt{v + \epsilon}` (:math:`\epsilon`
  inside the root), momentum buffer :math:`b = \mu b + \Delta` includes the
  learning rate; ``rho=0.9``, ``learning_rate=1e-3`` (torch ``alpha=0.99``,
  ``lr=1e-2``, :math:`\sqrt v + \epsilon`).
- ``Adagrad``: :math:`\theta \mathrel{-}= \eta g/\sqrt{G+\epsilon}`
  (:math:`\epsilon` inside), :math:`G_0 = 0.1`, ``learning_rate=1e-3``, no
  ``lr_decay`` (torch: :math:`\sqrt G + 10^{-10}`, :math:`G_0 = 0`, lr 1e-2).
- ``Adadelta``: torch's rule; defaults ``learning_rate=1e-3, rho=0.95,
  epsilon=1e-7`` (torch ``lr=1.0, rho=0.9, eps=1e-6``).
- ``Nadam``: :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t})`, no
  ``momentum_decay`` factor (torch :math:`0.96^{0.004t}`); ``learning_rate=1e-3``,
  ``epsilon=1e-7`` (torch 2e-3, 1e-8).

Other details:

- the learning rate is stored as ``group["lr"]`` (not ``learning_rate``), so the
  ``torch.optim.lr_scheduler`` classes and :mod:`lrbook.schedules` drive these
  optimizers too;
- Keras counts steps per optimizer (``iterations``) and Nadam keeps one global
  :math:`\Pi_t`; here counters are per parameter, which is the same whenever
  every parameter receives a gradient at every step;
- Keras keeps its learning rate in a float32 variable, so Keras itself differs
  from these float64 formulas by about 1e-8 relative unless the learning rate is
  exactly representable in float32;
- Keras' ``weight_decay``, gradient clipping and EMA options are not reproduced;
- Keras does not validate these arguments; lrbook raises ``ValueError`` for
  negative learning rates and epsilons and for decay rates outside their range.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lrbook.optim._adapter import RuleOptimizer, check_lr, check_non_negative, new_step_counter
from lrbook.optim.adadelta import adadelta_update
from lrbook.optim.nadam import nadam_update

__all__ = [
    "Adadelta",
    "Adagrad",
    "Adam",
    "Nadam",
    "RMSprop",
    "keras_adagrad_update",
    "keras_adam_update",
    "keras_rmsprop_update",
]


def _check_rate(value: float, name: str, *, closed: bool = False) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"Invalid {name} value (must be in {interval}): {value}")


def keras_adam_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    amsgrad: bool = False,
) -> None:
    r"""Keras 3 Adam step in place (:math:`\hat\epsilon` form).

    .. math::

        m \mathrel{+}= (g - m)(1-\beta_1), \quad v \mathrel{+}= (g^2 - v)(1-\beta_2), \quad
        \theta \mathrel{-}= \frac{\eta\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,\frac{m}{\sqrt{v} + \hat\epsilon}

    Equal to torch's Adam only if :math:`\hat\epsilon = \epsilon\sqrt{1-\beta_2^t}`,
    i.e. a different effective :math:`\epsilon` at every step. With amsgrad the
    maximum is taken over the raw :math:`v` (as torch).
    """
    state["step"] += 1
    t = state["step"].item()
    m, v = state["momentum"], state["velocity"]
    alpha = lr * (1 - beta_2**t) ** 0.5 / (1 - beta_1**t)
    m.add_((grad - m).mul_(1 - beta_1))  # m += (g - m)(1-β1)
    v.add_((grad * grad - v).mul_(1 - beta_2))  # v += (g² - v)(1-β2)
    if amsgrad:
        v = torch.maximum(state["velocity_hat"], v, out=state["velocity_hat"])
    param.sub_(m * alpha / (v.sqrt() + epsilon))  # θ -= η√(1-β2^t)/(1-β1^t) · m / (√v + ε̂)


def keras_rmsprop_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float,
    rho: float = 0.9,
    momentum: float = 0.0,
    epsilon: float = 1e-7,
    centered: bool = False,
) -> None:
    r"""Keras 3 RMSprop step in place: :math:`\epsilon` inside the root, lr inside the buffer.

    .. math::

        v = \alpha v + (1-\alpha) g^2, \quad
        \Delta = \frac{\eta g}{\sqrt{v - \bar g^2 + \epsilon}} \ (\bar g = \alpha\bar g + (1-\alpha)g
        \text{ if centered, else } 0), \quad
        b = \mu b + \Delta,\ \theta \mathrel{-}= b \ (\text{or } \theta \mathrel{-}= \Delta)

    with :math:`\alpha` = ``rho`` (the book's symbol for RMSprop's decay rate).
    """
    state["step"] += 1
    v = state["velocity"]
    v.mul_(rho).add_(grad * grad * (1 - rho))  # v = αv + (1-α)g²  (α = rho)
    if centered:
        g_avg = state["average_gradient"]
        g_avg.mul_(rho).add_(grad * (1 - rho))  # ḡ = αḡ + (1-α)g
        denominator = v - g_avg * g_avg + epsilon
    else:
        denominator = v + epsilon
    increment = lr * grad / denominator.sqrt()  # η g / √(v + ε)
    if momentum > 0:
        buf = state["momentum"]
        buf.mul_(momentum).add_(increment)  # b = μb + Δ
        param.sub_(buf)
    else:
        param.sub_(increment)


def keras_adagrad_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float,
    epsilon: float = 1e-7,
) -> None:
    r"""Keras 3 Adagrad step in place: :math:`G \mathrel{+}= g^2`,
    :math:`\theta \mathrel{-}= \eta g / \sqrt{G + \epsilon}` (:math:`\epsilon` inside)."""
    state["step"] += 1
    s = state["accumulator"]
    s.add_(grad * grad)  # G += g²
    param.sub_(lr * grad / (s + epsilon).sqrt())  # θ -= η g / √(G + ε)


class Adam(RuleOptimizer):
    r"""Keras 3 ``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False)`` as a torch optimizer (rule :func:`keras_adam_update`).

    Differs from ``torch.optim.Adam`` in :math:`\epsilon`'s placement (added to the
    uncorrected :math:`\sqrt v`, the step size carries
    :math:`\sqrt{1-\beta_2^t}`) and its default (1e-7 vs 1e-8). The two agree
    closely once :math:`\sqrt{v} \gg \epsilon`, and differ most in the first steps
    and when :math:`v` is tiny.
    """

    rule = staticmethod(keras_adam_update)
    sparse_error = "keras.Adam does not support sparse gradients"

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False) -> None:
        check_lr(learning_rate)
        check_non_negative(epsilon, "epsilon value")
        _check_rate(beta_1, "beta_1")
        _check_rate(beta_2, "beta_2")
        super().__init__(params, dict(lr=learning_rate, beta_1=beta_1, beta_2=beta_2,
                                      epsilon=epsilon, amsgrad=amsgrad))

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": new_step_counter(), "momentum": torch.zeros_like(param),
                 "velocity": torch.zeros_like(param)}
        if group["amsgrad"]:
            state["velocity_hat"] = torch.zeros_like(param)
        return state

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], beta_1=group["beta_1"], beta_2=group["beta_2"],
                    epsilon=group["epsilon"], amsgrad=group["amsgrad"])


class RMSprop(RuleOptimizer):
    r"""Keras 3 ``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
    centered=False)`` as a torch optimizer (rule :func:`keras_rmsprop_update`).

    Differs from ``torch.optim.RMSprop``: decay named ``rho`` with default 0.9
    (torch ``alpha=0.99``); :math:`\epsilon` **inside** the square root
    (:math:`\sqrt{v+\epsilon}`, torch :math:`\sqrt v + \epsilon`); the momentum
    buffer accumulates :math:`\eta g/\sqrt{\cdot}` (learning rate included), so
    a learning-rate schedule acts differently with momentum.
    """

    rule = staticmethod(keras_rmsprop_update)
    sparse_error = "keras.RMSprop does not support sparse gradients"

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False) -> None:
        check_lr(learning_rate)
        _check_rate(rho, "rho", closed=True)
        check_non_negative(momentum, "momentum value")
        check_non_negative(epsilon, "epsilon value")
        super().__init__(params, dict(lr=learning_rate, rho=rho, momentum=momentum,
                                      epsilon=epsilon, centered=centered))

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": new_step_counter(), "velocity": torch.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum"] = torch.zeros_like(param)
        if group["centered"]:
            state["average_gradient"] = torch.zeros_like(param)
        return state

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], rho=group["rho"], momentum=group["momentum"],
                    epsilon=group["epsilon"], centered=group["centered"])


class Adagrad(RuleOptimizer):
    r"""Keras 3 ``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1,
    epsilon=1e-7)`` as a torch optimizer (rule :func:`keras_adagrad_update`).

    Differs from ``torch.optim.Adagrad``: accumulator starts at 0.1 (torch 0),
    :math:`\epsilon = 10^{-7}` **inside** the root (torch :math:`10^{-10}` outside),
    learning rate 1e-3 (torch 1e-2), no ``lr_decay``/``weight_decay``. The
    accumulator is created lazily here (Keras builds it with the model).
    """

    rule = staticmethod(keras_adagrad_update)
    sparse_error = "keras.Adagrad does not support sparse gradients"

    def __init__(self, params, learning_rate: float = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7) -> None:
        check_lr(learning_rate)
        check_non_negative(initial_accumulator_value, "initial_accumulator_value value")
        check_non_negative(epsilon, "epsilon value")
        super().__init__(params, dict(lr=learning_rate,
                                      initial_accumulator_value=initial_accumulator_value,
                                      epsilon=epsilon))

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": new_step_counter(),
                "accumulator": torch.full_like(param, group["initial_accumulator_value"])}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], epsilon=group["epsilon"])


class Adadelta(RuleOptimizer):
    r"""Keras 3 ``Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7)`` as a torch
    optimizer, on torch's rule :func:`lrbook.optim.adadelta.adadelta_update`.

    The update is the same algorithm as ``torch.optim.Adadelta``; only the
    defaults differ (torch ``lr=1.0, rho=0.9, eps=1e-6``). Keras' default learning
    rate of 0.001 makes every step 1000 times smaller than Zeiler's Adadelta
    (which corresponds to ``learning_rate=1.0``).
    """

    rule = staticmethod(adadelta_update)
    sparse_error = "keras.Adadelta does not support sparse gradients"

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.95,
                 epsilon: float = 1e-7) -> None:
        check_lr(learning_rate)
        _check_rate(rho, "rho", closed=True)
        check_non_negative(epsilon, "epsilon value")
        super().__init__(params, dict(lr=learning_rate, rho=rho, epsilon=epsilon))

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": new_step_counter(), "square_avg": torch.zeros_like(param),
                "acc_delta": torch.zeros_like(param)}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], rho=group["rho"], eps=group["epsilon"])


class Nadam(RuleOptimizer):
    r"""Keras 3 ``Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``
    as a torch optimizer, on torch's rule :func:`lrbook.optim.nadam.nadam_update`.

    Keras' momentum schedule is :math:`\mu_t = \beta_1(1 - \frac12 0.96^{t})`,
    which is torch's with ``momentum_decay=1`` (torch's default 0.004 makes
    :math:`\mu_t` approach :math:`\beta_1` over thousands of steps; Keras' within
    a few dozen). Otherwise the same update (:math:`\epsilon` added to
    :math:`\sqrt{\hat v}`).
    """

    rule = staticmethod(nadam_update)
    sparse_error = "keras.Nadam does not support sparse gradients"

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7) -> None:
        check_lr(learning_rate)
        _check_rate(beta_1, "beta_1")
        _check_rate(beta_2, "beta_2")
        check_non_negative(epsilon, "epsilon value")
        super().__init__(params, dict(lr=learning_rate, beta_1=beta_1, beta_2=beta_2,
                                      epsilon=epsilon))

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        mu_product = new_step_counter()
        mu_product.fill_(1.0)
        return {"step": new_step_counter(), "mu_product": mu_product,
                "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return dict(lr=group["lr"], beta1=group["beta_1"], beta2=group["beta_2"],
                    eps=group["epsilon"], momentum_decay=1.0)
