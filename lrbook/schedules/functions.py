"""Learning-rate schedules as pure functions of the step.

Every function here has the form ``f(step, <hyper-parameters>) -> float``: it
reads no global state, keeps no state between calls and returns the learning
rate to use for the update taken *at* ``step`` (``step = 0`` is the first
update). That makes a schedule easy to plot (evaluate it on ``range(n)``), to
test (compare it with a closed form) and to compose
(:func:`linear_warmup`, :func:`join_schedules`).

The torch-compatible scheduler classes in :mod:`lrbook.schedules.schedulers`
use these functions for their closed forms, so the formula in a docstring
below is the formula the classes follow.

To fix the hyper-parameters once and get a one-argument callable, use
:func:`make_schedule`::

    cosine = make_schedule(cosine_decay, initial_learning_rate=0.1, decay_steps=100)
    cosine(0), cosine(50)            # 0.1, 0.05
    cosine.values(101)               # numpy array of lr(0), ..., lr(100)
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "Schedule",
    "constant",
    "cosine_decay",
    "cosine_with_warm_restarts",
    "cyclical",
    "cyclical_momentum",
    "exponential_decay",
    "inverse_time_decay",
    "join_schedules",
    "linear_decay",
    "linear_warmup",
    "make_schedule",
    "multistep_decay",
    "one_cycle",
    "one_cycle_momentum",
    "polynomial_decay",
    "random_lr",
    "step_decay",
    "warmup_stable_decay",
]

Number = int | float


# --------------------------------------------------------------------------
# argument checks (every message names the argument and the allowed range)
# --------------------------------------------------------------------------


def _real(name: str, value: Any) -> Number:
    """Return ``value`` as a Python int or float, or raise a TypeError."""
    if isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    if not isinstance(value, numbers.Real):
        # accept 0-d tensors / arrays through float()
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
            ) from None
        return as_float
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def _check_step(step: Any) -> Number:
    value = _real("step", step)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"step must be a finite number >= 0, got {step!r}")
    return value


def _check_positive(name: str, value: Any) -> Number:
    number = _real(name, value)
    if not number > 0 or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _check_non_negative(name: str, value: Any) -> Number:
    number = _real(name, value)
    if not number >= 0 or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


# --------------------------------------------------------------------------
# fixed and step-wise schedules
# --------------------------------------------------------------------------


def constant(step: Number, learning_rate: float) -> float:
    r"""The constant schedule :math:`\eta_t = \eta`.

    Args:
        step: update index ``t >= 0`` (checked, otherwise unused).
        learning_rate: the learning rate :math:`\eta \ge 0`.
    """
    _check_step(step)
    return float(_check_non_negative("learning_rate", learning_rate))


def step_decay(
    step: Number, initial_learning_rate: float, step_size: Number, gamma: float = 0.1
) -> float:
    r"""Step decay: multiply by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / T \rfloor}

    The closed form of ``torch.optim.lr_scheduler.StepLR`` (:math:`T` = ``step_size``).

    Args:
        step: update index ``t >= 0``.
        initial_learning_rate: :math:`\eta_0 \ge 0`.
        step_size: :math:`T > 0`, steps between two decays.
        gamma: :math:`\gamma > 0`, the factor applied at each decay.
    """
    t = _check_step(step)
    eta0 = _check_non_negative("initial_learning_rate", initial_learning_rate)
    s = _check_positive("step_size", step_size)
    g = _check_positive("gamma", gamma)
    return eta0 * g ** (t // s)


def multistep_decay(
    step: Number,
    initial_learning_rate: float,
    milestones: Iterable[Number],
    gamma: float = 0.1,
) -> float:
    r"""Multiply by ``gamma`` at each milestone.

    .. math:: \eta_t = \eta_0 \, \gamma^{\#\{m \in M : m \le t\}}

    The closed form of ``torch.optim.lr_scheduler.MultiStepLR``. Milestones
    need not be sorted; a milestone listed twice counts twice.

    Args:
        step: update index ``t >= 0``.
        initial_learning_rate: :math:`\eta_0 \ge 0`.
        milestones: steps :math:`m \ge 0` at which the rate is multiplied by gamma.
        gamma: :math:`\gamma > 0`.
    """
    t = _check_step(step)
    eta0 = _check_non_negative("initial_learning_rate", initial_learning_rate)
    g = _check_positive("gamma", gamma)
    points = sorted(_check_non_negative("milestones", m) for m in milestones)
    return eta0 * g ** bisect_right(points, t)


# --------------------------------------------------------------------------
# smooth decays (Keras names and arguments)
# --------------------------------------------------------------------------


def exponential_decay(
    step: Number,
    initial_learning_rate: float,
    decay_steps: Number,
    decay_rate: float,
    staircase: bool = False,
) -> float:
    r"""Exponential decay, as ``keras.optimizers.schedules.ExponentialDecay``.

    .. math:: \eta_t = \eta_0 \, \gamma^{\,t / T}
              \qquad (\text{staircase: } \gamma^{\lfloor t / T \rfloor})

    with decay factor :math:`\gamma` (Keras' ``decay_rate``) and ``decay_steps``
    :math:`T`: the rate is multiplied by :math:`\gamma` every :math:`T` steps.
    ``torch``'s ``ExponentialLR(gamma)`` is the case :math:`T = 1`.

    Args:
        step: update index ``t >= 0`` (Keras: ``optimizer.iterations``).
        initial_learning_rate: :math:`\eta_0 \ge 0`.
        decay_steps: :math:`T > 0`.
        decay_rate: :math:`\gamma \ge 0` (:math:`\gamma < 1` decays; 0 gives 0 for t > 0, or after the first period with staircase).
        staircase: floor the exponent, giving a step schedule.
    """
    t = _check_step(step)
    eta0 = _check_non_negative("initial_learning_rate", initial_learning_rate)
    T = _check_positive("decay_steps", decay_steps)
    r = _check_non_negative("decay_rate", decay_rate)
    p = t / T
    if staircase:
        p = math.floor(p)
    return eta0 * r**p


def inverse_time_decay(
    step: Number,
    initial_learning_rate: float,
    decay_steps: Number,
    decay_rate: float,
    staircase: bool = False,
) -> float:
    r"""Inverse-time decay, as ``keras.optimizers.schedules.InverseTimeDecay``.

    .. math:: \eta_t = \frac{\eta_0}{1 + \delta\, t / T}
              \qquad (\text{staircase: } \lfloor t / T \rfloor)

    The rate falls like :math:`1/t`, the classic stochastic-approximation
    schedule that satisfies :math:`\sum_t \eta_t = \infty`,
    :math:`\sum_t \eta_t^2 < \infty` (Robbins and Monro, 1951). It decays
    *more slowly* than any exponential decay.

    Args:
        step: update index ``t >= 0``.
        initial_learning_rate: :math:`\eta_0 \ge 0`.
        decay_steps: :math:`T > 0`.
        decay_rate: :math:`\delta \ge 0` (not a multiplicative factor).
        staircase: floor ``t / T``.
    """
    t = _check_step(step)
    eta0 = _check_non_negative("initial_learning_rate", initial_learning_rate)
    T = _check_positive("decay_steps", decay_steps)
    k = _check_non_negative("decay_rate", decay_rate)
    p = t / T
    if staircase:
        p = math.floor(p)
    return eta0 / (1 + k * p)


def polynomial_decay(
    step: Number,
    initial_learning_rate: float,
    decay_steps: Number,
    end_learning_rate: float = 0.0,
    power: float = 1.0,
    cycle: bool = False,
) -> float:
    r"""Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    .. math:: \eta_t = (\eta_0 - \eta_{\text{end}})
              \left(1 - \frac{\min(t, T)}{T}\right)^{p} + \eta_{\text{end}}

    The formula of ``keras.optimizers.schedules.PolynomialDecay`` (whose
    default ``end_learning_rate`` is ``1e-4``; here it is 0, which makes the
    function the closed form of ``torch``'s ``PolynomialLR(total_iters=T, power=p)``).
    With ``cycle=True``, :math:`T` is replaced by the first multiple of
    :math:`T` that is :math:`\ge t` (Keras' restart behaviour).

    Args:
        step: update index ``t >= 0``.
        initial_learning_rate: :math:`\eta_0 \ge 0`.
        decay_steps: :math:`T > 0`, steps to reach ``end_learning_rate``.
        end_learning_rate: :math:`\eta_{\text{end}} \ge 0`, held after :math:`T`.
        power: :math:`p \ge 0` (1 is linear decay, 0 a constant rate).
        cycle: restart the decay every :math:`T` steps (stretched periods).
    """
    t = _check_step(step)
    eta0 = _check_non_negative("initial_learning_rate", initial_learning_rate)
    T = _check_positive("decay_steps", decay_steps)
    eta_end = _check_non_negative("end_learning_rate", end_learning_rate)
    p = _check_non_negative("power", power)
    if cycle:
        T = T * (1 if t == 0 else math.ceil(t / T))
    else:
        t = min(t, T)
    return (eta0 - eta_end) * (1 - t / T) ** p + eta_end


def linear_decay(
    step: Number,
    initial_learning_rate: float,
    total_steps: Number,
    end_learning_rate: float = 0.0,
) -> float:
    r"""Straight line from ``initial_learning_rate`` to ``end_learning_rate``.

    .. math:: \eta_t = \eta_0 + (\eta_{\text{end}} - \eta_0)\,\frac{\min(t, T)}{T}

    The rate is ``end_learning_rate`` from step :math:`T` on. An end value
    larger than the start gives a linear ramp (the shape of a warm-up). This is
    ``torch``'s ``LinearLR(start_factor, end_factor, total_iters=T)`` with
    :math:`\eta_0 = b \cdot` ``start_factor`` and :math:`\eta_{\text{end}} = b \cdot` ``end_factor``
    for base rate :math:`b`, and ``polynomial_decay(..., power=1)``.

    Args:
        step: update index ``t >= 0``.
        initial_learning_rate: :math:`\eta_0 \ge 0`.
        total_steps: :math:`T > 0`.
        end_learning_rate: :math:`\eta_{\text{end}} \ge 0`.
    """
    t = _check_step(step)
    eta0 = _check_non_negative("initial_learning_rate", initial_learning_rate)
    T = _check_positive("total_steps", total_steps)
    eta_end = _check_non_negative("end_learning_rate", end_learning_rate)
    return eta0 + (eta_end - eta0) * min(t, T) / T


def cosine_decay(
    step: Number,
    initial_learning_rate: float,
    decay_steps: Number,
    min_learning_rate: float = 0.0,
    periodic: bool = False,
) -> float:
    r"""Cosine annealing from ``initial_learning_rate`` down to ``min_learning_rate``.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
              \left(1 + \cos\frac{\pi \min(t, T)}{T}\right)

    (Loshchilov and Hutter, 2017, one period without restarts.) After
    :math:`T` steps the rate stays at :math:`\eta_{\min}`, as in
    ``keras.optimizers.schedules.CosineDecay`` (whose ``alpha`` is
    :math:`\eta_{\min}/\eta_0`) and optax's ``cosine_decay_schedule``.

    ``periodic=True`` drops the :math:`\min(t, T)`: the cosine then rises back
    to :math:`\eta_0` at :math:`2T` and repeats with period :math:`2T`. That is
    the closed form of ``torch``'s ``CosineAnnealingLR(T_max=T, eta_min)``,
    which does *not* stop at ``T_max``.

    Args:
        step: update index ``t >= 0``.
        initial_learning_rate: :math:`\eta_0 \ge 0`.
        decay_steps: :math:`T > 0` (torch: ``T_max``).
        min_learning_rate: :math:`\eta_{\min} \ge 0` (torch: ``eta_min``).
        periodic: continue the cosine past :math:`T` (torch) instead of holding.
    """
    t = _check_step(step)
    eta0 = _check_non_negative("initial_learning_rate", initial_learning_rate)
    T = _check_positive("decay_steps", decay_steps)
    eta_min = _check_non_negative("min_learning_rate", min_learning_rate)
    if not periodic:
        t = min(t, T)
    # same operations in the same order as torch's closed form (bitwise equal)
    return eta_min + (eta0 - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


_WSD_COOLDOWNS = ("1-sqrt", "linear", "cosine", "1-square")


def warmup_stable_decay(
    step: Number,
    learning_rate: float,
    warmup_steps: Number,
    stable_steps: Number,
    decay_steps: Number,
    min_learning_rate: float = 0.0,
    cooldown: Literal["1-sqrt", "linear", "cosine", "1-square"] = "1-sqrt",
) -> float:
    r"""Warmup-stable-decay (WSD): a linear warm-up, a long constant phase, a short cool-down.

    Hu et al. (2024), *MiniCPM* (the schedule that lets one long constant-rate
    run be branched into cool-downs at any point; MiniCPM's own cool-down was
    exponential, none of the shapes below). With
    :math:`T_w` = ``warmup_steps``, :math:`T_s` = ``stable_steps``,
    :math:`T_d` = ``decay_steps`` and the cool-down progress
    :math:`p = (t - T_w - T_s)/T_d`:

    .. math:: \eta_t = \begin{cases}
              \eta_{\max}\, t / T_w & t < T_w \\
              \eta_{\max} & T_w \le t < T_w + T_s \\
              \eta_{\min} + (\eta_{\max} - \eta_{\min})\, s(p) & T_w + T_s \le t < T_w + T_s + T_d \\
              \eta_{\min} & \text{afterwards}
              \end{cases}

    with the cool-down shape :math:`s(p) = 1 - \sqrt p` (``"1-sqrt"``, the
    default of ``pytorch_optimizer.get_wsd_schedule``), :math:`1 - p`
    (``"linear"``), :math:`\tfrac12(1 + \cos \pi p)` (``"cosine"``) or
    :math:`1 - p^2` (``"1-square"``). The warm-up starts at 0 at step 0.

    Equal to ``pytorch_optimizer.get_wsd_schedule(optimizer, T_w, T_s, T_d,
    min_lr_ratio=η_min/η_max, cooldown_type=...)`` (a ``LambdaLR``) for every
    cosine cool-down and for every shape with :math:`\eta_{\min} = 0`. With
    :math:`\eta_{\min} > 0` and a non-cosine shape, ``pytorch_optimizer``
    ignores the floor during the cool-down (it decays towards 0, then jumps up
    to :math:`\eta_{\min}`); here every shape ends at the floor continuously.

    Args:
        step: update index ``t >= 0``.
        learning_rate: :math:`\eta_{\max} \ge 0`, the stable rate.
        warmup_steps, stable_steps: :math:`T_w, T_s \ge 0`.
        decay_steps: :math:`T_d > 0`.
        min_learning_rate: :math:`0 \le \eta_{\min} \le \eta_{\max}`.
        cooldown: ``"1-sqrt"``, ``"linear"``, ``"cosine"`` or ``"1-square"``.
    """
    t = _check_step(step)
    eta_max = _check_non_negative("learning_rate", learning_rate)
    T_w = _check_non_negative("warmup_steps", warmup_steps)
    T_s = _check_non_negative("stable_steps", stable_steps)
    T_d = _check_positive("decay_steps", decay_steps)
    eta_min = _check_non_negative("min_learning_rate", min_learning_rate)
    if eta_min > eta_max:
        raise ValueError(f"min_learning_rate must be <= learning_rate = {eta_max!r}, got {min_learning_rate!r}")
    _check_choice("cooldown", cooldown, _WSD_COOLDOWNS)
    if t < T_w:
        return eta_max * t / T_w  # warm-up from 0
    if t < T_w + T_s:
        return eta_max  # stable
    if t >= T_w + T_s + T_d:
        return eta_min  # after the cool-down
    p = (t - T_w - T_s) / T_d
    shape = {"1-sqrt": lambda: 1 - math.sqrt(p), "linear": lambda: 1 - p,
             "cosine": lambda: 0.5 * (1 + math.cos(math.pi * p)), "1-square": lambda: 1 - p * p}[cooldown]()
    return eta_min + (eta_max - eta_min) * shape


def _sgdr_position(t: Number, T_0: Number, T_mult: Number) -> tuple[Number, Number]:
    """Return ``(T_cur, T_i)``: steps since the last restart and the current period.

    Walks the periods T_0, T_0*T_mult, ... one by one, so exact restart steps
    land exactly on ``T_cur = 0`` (no floating-point logarithm involved).
    """
    if T_mult == 1:
        return t % T_0, T_0
    T_i, T_cur = T_0, t
    while T_cur >= T_i:
        T_cur -= T_i
        T_i *= T_mult
    return T_cur, T_i


def cosine_with_warm_restarts(
    step: Number,
    initial_learning_rate: float,
    T_0: Number,
    T_mult: Number = 1,
    min_learning_rate: float = 0.0,
) -> float:
    r"""SGDR: cosine annealing with warm restarts (Loshchilov and Hutter, 2017).

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
              \left(1 + \cos\frac{\pi\, T_{\text{cur}}}{T_i}\right)

    :math:`T_{\text{cur}}` counts the steps since the last restart and
    :math:`T_i` is the current period: the first period is :math:`T_0`, each
    restart multiplies it by ``T_mult``. At a restart the rate jumps back to
    :math:`\eta_0`. ``step`` may be fractional (the paper counts epochs and
    updates :math:`T_{\text{cur}}` after every batch). Same values as ``torch``'s
    ``CosineAnnealingWarmRestarts`` (which computes the period of a fractional
    epoch with a floating-point logarithm and can miss a restart by one
    rounding error, e.g. ``T_0=1, T_mult=3`` at epoch 121; this function
    walks the periods instead).

    Args:
        step: update (or fractional epoch) index ``t >= 0``.
        initial_learning_rate: :math:`\eta_0 \ge 0` (torch: the base lr).
        T_0: :math:`T_0 > 0`, length of the first period.
        T_mult: period growth factor, ``>= 1``.
        min_learning_rate: :math:`\eta_{\min} \ge 0` (torch: ``eta_min``).
    """
    t = _check_step(step)
    T_0 = _check_positive("T_0", T_0)
    T_mult = _real("T_mult", T_mult)
    if not (T_mult >= 1 and math.isfinite(T_mult)):
        raise ValueError(f"T_mult must be a finite number >= 1, got {T_mult!r}")
    T_cur, T_i = _sgdr_position(t, T_0, T_mult)
    return cosine_decay(T_cur, initial_learning_rate, T_i, min_learning_rate, periodic=True)


# --------------------------------------------------------------------------
# cyclical and one-cycle (Smith 2017; Smith and Topin 2019)
# --------------------------------------------------------------------------

CyclicMode = Literal["triangular", "triangular2", "exp_range"]


def _cyclical_factors(
    step: Number,
    step_size_up: Number,
    step_size_down: Number | None,
    mode: str,
    gamma: float,
    scale_fn: Callable[[float], float] | None,
    scale_mode: str,
) -> tuple[float, float]:
    """Return ``(triangle, amplitude)`` of a cyclical schedule at ``step``.

    ``triangle`` rises linearly from 0 to 1 over ``step_size_up`` steps and
    falls back to 0 over ``step_size_down``; ``amplitude`` is the policy's
    scale (1, 1/2^(cycle-1), gamma^step or a custom ``scale_fn``).
    """
    t = _check_step(step)
    up = float(_check_positive("step_size_up", step_size_up))
    down = up if step_size_down is None else float(_check_non_negative("step_size_down", step_size_down))
    if scale_fn is None:
        _check_choice("mode", mode, ("triangular", "triangular2", "exp_range"))
        _check_choice("scale_mode", scale_mode, ("cycle", "iterations"))
    else:
        if not callable(scale_fn):
            raise TypeError(f"scale_fn must be callable, got {type(scale_fn).__name__}")
        _check_choice("scale_mode", scale_mode, ("cycle", "iterations"))
    cycle_length = up + down
    rise_fraction = up / cycle_length
    cycle = math.floor(1 + t / cycle_length)          # 1, 2, 3, ...
    x = 1.0 + t / cycle_length - cycle                # position in the cycle, [0, 1)
    if x <= rise_fraction:
        triangle = x / rise_fraction
    else:
        triangle = (x - 1) / (rise_fraction - 1)
    if scale_fn is not None:
        amplitude = scale_fn(cycle if scale_mode == "cycle" else t)
    elif mode == "triangular":
        amplitude = 1.0
    elif mode == "triangular2":
        amplitude = 1 / (2.0 ** (cycle - 1))
    else:  # exp_range: gamma to the power of the *iteration*, not the cycle
        amplitude = gamma**t
    return triangle, amplitude


def cyclical(
    step: Number,
    base_lr: float,
    max_lr: float,
    step_size_up: Number = 2000,
    step_size_down: Number | None = None,
    mode: CyclicMode = "triangular",
    gamma: float = 1.0,
    scale_fn: Callable[[float], float] | None = None,
    scale_mode: Literal["cycle", "iterations"] = "cycle",
) -> float:
    r"""Cyclical learning rate (Smith, 2017), as ``torch``'s ``CyclicLR``.

    The rate moves linearly from ``base_lr`` up to ``max_lr`` in
    ``step_size_up`` steps and back down in ``step_size_down`` steps (default:
    the same), over and over. With cycle length :math:`T_c`, rise fraction
    :math:`q = ` ``step_size_up`` :math:`/T_c`,

    .. math:: n = \lfloor 1 + t/T_c \rfloor,\quad x = 1 + t/T_c - n,\quad
              w = \begin{cases} x/q & x \le q\\ (x-1)/(q-1) & x > q\end{cases}

    .. math:: \eta_t = \eta_{\min} + (\eta_{\max} - \eta_{\min})\, w\, a

    where the amplitude :math:`a` is 1 (``"triangular"``), :math:`1/2^{n-1}`
    (``"triangular2"``: the peak halves every cycle) or :math:`\gamma^{t}`
    (``"exp_range"``: note the exponent is the step, not the cycle). A custom
    ``scale_fn`` overrides ``mode`` and is called with :math:`n`
    (``scale_mode="cycle"``) or :math:`t` (``"iterations"``).

    Args:
        step: update index ``t >= 0`` (counts batches, not epochs).
        base_lr: lower bound :math:`\eta_{\min}`.
        max_lr: upper bound :math:`\eta_{\max}` (reached only if :math:`a = 1`).
        step_size_up: steps in the rising half, ``> 0``.
        step_size_down: steps in the falling half, ``>= 0`` (default: ``step_size_up``).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: base of ``exp_range``'s amplitude :math:`\gamma^t`.
        scale_fn: custom amplitude function (overrides ``mode``).
        scale_mode: argument passed to ``scale_fn``: ``"cycle"`` or ``"iterations"``.
    """
    triangle, amplitude = _cyclical_factors(
        step, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode
    )
    base_height = (max_lr - base_lr) * triangle
    return base_lr + base_height * amplitude


def cyclical_momentum(
    step: Number,
    base_momentum: float = 0.8,
    max_momentum: float = 0.9,
    step_size_up: Number = 2000,
    step_size_down: Number | None = None,
    mode: CyclicMode = "triangular",
    gamma: float = 1.0,
    scale_fn: Callable[[float], float] | None = None,
    scale_mode: Literal["cycle", "iterations"] = "cycle",
) -> float:
    r"""The momentum that ``CyclicLR(cycle_momentum=True)`` pairs with :func:`cyclical`.

    Momentum moves *against* the rate: it is ``max_momentum`` when the rate is
    at ``base_lr`` and falls towards ``base_momentum`` as the rate rises,

    .. math:: \mu_t = \mu_{\max} - (\mu_{\max} - \mu_{\text{base}})\, w\, a,

    with the same :math:`w` and :math:`a` as :func:`cyclical`. ``torch`` writes
    it into the optimizer's ``momentum`` (SGD, RMSprop) or ``betas[0]`` (Adam family).
    """
    triangle, amplitude = _cyclical_factors(
        step, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode
    )
    base_height = (max_momentum - base_momentum) * triangle
    return max_momentum - base_height * amplitude


def _one_cycle_phases(total_steps: Number, pct_start: float, three_phase: bool) -> list[tuple]:
    """Phases of the one-cycle policy as ``(last_step, lr_from, lr_to, mom_from, mom_to)``.

    Rates are named ``"initial"``, ``"max"`` and ``"min"``; momenta ``"max"``
    and ``"base"``. Each phase ends at ``last_step`` (the same float
    arithmetic as torch's ``OneCycleLR``).
    """
    warm_end = float(pct_start * total_steps) - 1
    if three_phase:
        return [
            (warm_end, "initial", "max", "max", "base"),
            (float(2 * pct_start * total_steps) - 2, "max", "initial", "base", "max"),
            (total_steps - 1, "initial", "min", "max", "max"),
        ]
    return [
        (warm_end, "initial", "max", "max", "base"),
        (total_steps - 1, "max", "min", "base", "max"),
    ]


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    """Interpolate from ``start`` (pct 0) to ``end`` (pct 1): half cosine or straight line."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle_locate(step: Number, phases: list[tuple]) -> tuple[tuple, float]:
    """Return the phase containing ``step`` and the fraction of it completed."""
    phase_start = 0.0
    for i, phase in enumerate(phases):
        phase_end = phase[0]
        if step <= phase_end or i == len(phases) - 1:
            return phase, (step - phase_start) / (phase_end - phase_start)
        phase_start = phase_end
    raise AssertionError("unreachable")  # pragma: no cover


def _check_one_cycle(step, total_steps, pct_start, anneal_strategy) -> tuple[Number, int]:
    t = _check_step(step)
    if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) or total_steps <= 0:
        raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
    pct = _real("pct_start", pct_start)
    if not 0 <= pct <= 1:
        raise ValueError(f"pct_start must be between 0 and 1, got {pct_start!r}")
    if not pct * total_steps > 1 or not (1 - pct) * total_steps > 0:
        raise ValueError(
            "pct_start * total_steps must be > 1 and pct_start < 1 so that every phase "
            f"of the cycle has at least one step, got pct_start={pct_start!r}, "
            f"total_steps={total_steps!r}"
        )
    _check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    if t > total_steps:
        raise ValueError(
            f"step must be <= total_steps={total_steps} (the schedule has "
            f"{total_steps} steps), got {step!r}"
        )
    return t, int(total_steps)


def one_cycle(
    step: Number,
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> float:
    r"""The one-cycle policy (Smith and Topin, 2019), as ``torch``'s ``OneCycleLR``.

    Start at :math:`\eta_{\text{init}} = \eta_{\max}/` ``div_factor``, rise to
    :math:`\eta_{\max}` during the first ``pct_start`` of the run, then anneal
    to :math:`\eta_{\min} = \eta_{\text{init}}/` ``final_div_factor``, far below
    the start. Each phase interpolates with a half cosine (``"cos"``) or a
    straight line (``"linear"``) over its fraction :math:`p \in [0, 1]`:

    .. math:: \text{cos: } v = v_{\text{end}} + \tfrac12 (v_{\text{start}} - v_{\text{end}})(1 + \cos \pi p),
              \qquad \text{linear: } v = v_{\text{start}} + (v_{\text{end}} - v_{\text{start}})\, p.

    With ``three_phase=True`` the rate comes back down to
    :math:`\eta_{\text{init}}` symmetrically before the final annealing (the
    version in fastai and the original paper's figures).

    The first phase ends at step ``pct_start * total_steps - 1`` and the last
    at ``total_steps - 1`` (where the rate is :math:`\eta_{\min}`);
    ``step = total_steps`` is accepted (torch allows one extra scheduler step)
    and extrapolates the last phase.

    Args:
        step: update index, ``0 <= t <= total_steps``.
        max_lr: peak rate :math:`\eta_{\max}`.
        total_steps: number of updates in the cycle (positive int).
        pct_start: fraction of the steps spent rising, in ``[0, 1]`` with
            ``pct_start * total_steps > 1``.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: :math:`\eta_{\text{init}} = \eta_{\max}/` ``div_factor``.
        final_div_factor: :math:`\eta_{\min} = \eta_{\text{init}}/` ``final_div_factor``.
        three_phase: use the symmetric three-phase version.
    """
    t, n = _check_one_cycle(step, total_steps, pct_start, anneal_strategy)
    initial = _check_non_negative("max_lr", max_lr) / _check_positive("div_factor", div_factor)
    rates = {"initial": initial, "max": max_lr,
             "min": initial / _check_positive("final_div_factor", final_div_factor)}
    phase, pct = _one_cycle_locate(t, _one_cycle_phases(n, pct_start, three_phase))
    return _anneal(anneal_strategy, rates[phase[1]], rates[phase[2]], pct)


def one_cycle_momentum(
    step: Number,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    three_phase: bool = False,
) -> float:
    r"""The momentum that ``OneCycleLR(cycle_momentum=True)`` pairs with :func:`one_cycle`.

    It mirrors the rate: ``max_momentum`` → ``base_momentum`` while the rate
    rises, back to ``max_momentum`` while it falls (and constant at
    ``max_momentum`` in the third phase of the three-phase version).
    """
    t, n = _check_one_cycle(step, total_steps, pct_start, anneal_strategy)
    momenta = {"base": base_momentum, "max": max_momentum}
    phase, pct = _one_cycle_locate(t, _one_cycle_phases(n, pct_start, three_phase))
    return _anneal(anneal_strategy, momenta[phase[3]], momenta[phase[4]], pct)


# --------------------------------------------------------------------------
# the "random learning rate" of the source documents
# --------------------------------------------------------------------------


def random_lr(step: int, low: float, high: float, seed: int = 0) -> float:
    r"""A learning rate drawn uniformly from ``[low, high)`` at every step.

    .. math:: \eta_t \sim \mathcal U[\eta_{\text{low}}, \eta_{\text{high}}),
              \text{ independently for each } t

    Deterministic: the same ``(seed, step)`` always gives the same value, so
    a run can be repeated and the curve can be plotted.

    What it is, honestly: noise added to the step size. Some popular texts
    present a "random learning rate" as a method that "mines non-linear
    structure in the data"; there is no published evidence for that. A step
    size whose mean does not decay violates the Robbins–Monro conditions
    (:math:`\sum \eta_t^2 < \infty`), so SGD with it keeps bouncing around the
    minimum at the level set by the *mean* rate. The legitimate ideas nearby
    are random *search* over a fixed learning rate (Bergstra and Bengio,
    2012) and deterministic cyclical schedules (Smith, 2017). The book uses
    this function only to show that.

    Args:
        step: update index, an integer ``>= 0``.
        low: smallest value, ``>= 0``.
        high: upper bound, ``> low``.
        seed: non-negative integer seed.
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"step must be an integer >= 0, got {step!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    lo = _check_non_negative("low", low)
    hi = _real("high", high)
    if not (hi > lo and math.isfinite(hi)):
        raise ValueError(f"high must be a finite number > low={low!r}, got {high!r}")
    generator = np.random.default_rng([int(seed), int(step)])
    return float(lo + (hi - lo) * generator.random())


# --------------------------------------------------------------------------
# schedule objects and composition
# --------------------------------------------------------------------------


class Schedule:
    """A schedule with its hyper-parameters fixed: a callable ``step -> float``.

    Made by :func:`make_schedule`, :func:`linear_warmup` and
    :func:`join_schedules`. Calling it evaluates ``fn(step, **kwargs)``;
    :meth:`values` evaluates it on many steps at once (for plots), and the
    ``repr`` shows the hyper-parameters (handy as a plot legend).
    """

    __slots__ = ("fn", "kwargs", "name")

    def __init__(self, fn: Callable[..., float], kwargs: Mapping[str, Any] | None = None,
                 name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.kwargs = dict(kwargs or {})
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, step: Number) -> float:
        return self.fn(step, **self.kwargs)

    def values(self, steps: int | Iterable[Number]) -> np.ndarray:
        """Evaluate at ``range(steps)`` (an int) or at the given steps."""
        points = range(steps) if isinstance(steps, numbers.Integral) else steps
        return np.array([self(s) for s in points], dtype=float)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return (self.fn, self.kwargs, self.name) == (other.fn, other.kwargs, other.name)

    __hash__ = None  # type: ignore[assignment]  # mutable kwargs


def make_schedule(fn: Callable[..., float], **hyperparameters: Any) -> Schedule:
    """Fix the hyper-parameters of a schedule function: ``make_schedule(f, **kw)(t) == f(t, **kw)``.

    The arguments are checked at once (by evaluating step 0), so a bad value
    raises here and not in the middle of training::

        schedules = {
            "step": make_schedule(step_decay, initial_learning_rate=0.1, step_size=30),
            "cosine": make_schedule(cosine_decay, initial_learning_rate=0.1, decay_steps=90),
        }
        curves = {name: s.values(100) for name, s in schedules.items()}
    """
    schedule = Schedule(fn, hyperparameters)
    schedule(0)
    return schedule


def _warmup_then(step: Number, schedule: Callable[[Number], float], warmup_steps: Number,
                 start: float, shift: bool) -> float:
    t = _check_step(step)
    if t >= warmup_steps:
        return schedule(t - warmup_steps if shift else t)
    target = schedule(0 if shift else warmup_steps)
    return start + (target - start) * t / warmup_steps


def linear_warmup(
    schedule: Callable[[Number], float],
    warmup_steps: Number,
    start: float = 0.0,
    shift: bool = True,
) -> Schedule:
    r"""Put a linear warm-up of ``warmup_steps`` steps in front of any schedule.

    .. math:: \eta_t = \begin{cases}
              \eta_{\text{start}} + (\eta^\ast - \eta_{\text{start}})\, t / T_w & t < T_w \\
              f(t - T_w) & t \ge T_w \end{cases}

    where :math:`\eta^\ast = f(0)`, so the ramp ends exactly where the main
    schedule :math:`f` begins (Goyal et al., 2017 warm up linearly from the
    small-batch rate; :math:`\eta_{\text{start}} = 0` is common for Adam).
    This is how Keras' ``CosineDecay(warmup_target=..., warmup_steps=T_w)`` and
    optax's ``join_schedules`` count: the main schedule starts its own clock
    at :math:`T_w`. With ``shift=False`` it keeps the global clock instead:
    :math:`f(t)` for :math:`t \ge T_w` and :math:`\eta^\ast = f(T_w)` (the main
    schedule's milestones stay at the same absolute steps).

    Note that with ``start=0`` the first update (step 0) uses rate 0.

    Args:
        schedule: any callable ``step -> lr`` (e.g. a :class:`Schedule`).
        warmup_steps: :math:`T_w \ge 0` (0 returns the schedule unchanged).
        start: :math:`\eta_{\text{start}} \ge 0`, the rate at step 0.
        shift: start the main schedule's clock at :math:`T_w` (default) or at 0.
    """
    if not callable(schedule):
        raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
    W = _check_non_negative("warmup_steps", warmup_steps)
    s = _check_non_negative("start", start)
    return Schedule(_warmup_then, {"schedule": schedule, "warmup_steps": W, "start": s,
                                   "shift": bool(shift)}, name="linear_warmup")


def _joined(step: Number, schedules: Sequence[Callable[[Number], float]],
            boundaries: Sequence[Number]) -> float:
    t = _check_step(step)
    index = bisect_right(boundaries, t)
    offset = boundaries[index - 1] if index > 0 else 0
    return schedules[index](t - offset)


def join_schedules(
    schedules: Sequence[Callable[[Number], float]], boundaries: Sequence[Number]
) -> Schedule:
    r"""Run schedules one after another, each on its own clock (like optax's ``join_schedules``).

    With boundaries :math:`b_1 < b_2 < \dots`, schedule :math:`i` is used for
    :math:`b_i \le t < b_{i+1}` and evaluated at :math:`t - b_i` (so it starts
    from its own step 0, as ``torch``'s ``SequentialLR`` restarts each
    scheduler at its epoch 0).

    Args:
        schedules: ``n >= 1`` callables ``step -> lr``.
        boundaries: ``n - 1`` strictly increasing steps ``> 0``.
    """
    schedules = list(schedules)
    bounds = [_check_positive("boundaries", b) for b in boundaries]
    if not schedules:
        raise ValueError("schedules must contain at least one schedule, got none")
    for i, s in enumerate(schedules):
        if not callable(s):
            raise TypeError(f"schedules[{i}] must be callable, got {type(s).__name__}")
    if len(bounds) != len(schedules) - 1:
        raise ValueError(
            f"boundaries must have len(schedules) - 1 = {len(schedules) - 1} entries, "
            f"got {len(bounds)}"
        )
    if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:], strict=False)):
        raise ValueError(f"boundaries must be strictly increasing, got {list(boundaries)!r}")
    return Schedule(_joined, {"schedules": schedules, "boundaries": bounds}, name="join_schedules")
