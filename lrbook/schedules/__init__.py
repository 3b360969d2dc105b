"""Learning-rate schedules: pure functions of the step and torch-compatible schedulers.

- :mod:`lrbook.schedules.functions`: every schedule as ``f(step, ...) -> float``
  (plot them, test them, compose them with :func:`linear_warmup` and
  :func:`join_schedules`; fix hyper-parameters with :func:`make_schedule`).
- :mod:`lrbook.schedules.schedulers`: drop-in replacements for
  ``torch.optim.lr_scheduler`` classes (same names, arguments, defaults and
  values), built on one small base class and on the functions above; plus
  ``ScheduleLR(optimizer, schedule)`` to drive any optimizer with any pure
  schedule (absolute rates, Keras-style: the first update uses ``schedule(0)``).
- :mod:`lrbook.schedules.plateau`: ``ReduceLROnPlateau``, the one schedule
  driven by a validation metric instead of the step count.
"""

from lrbook.schedules.functions import (
    Schedule,
    constant,
    cosine_decay,
    cosine_with_warm_restarts,
    cyclical,
    cyclical_momentum,
    exponential_decay,
    inverse_time_decay,
    join_schedules,
    linear_decay,
    linear_warmup,
    make_schedule,
    multistep_decay,
    one_cycle,
    one_cycle_momentum,
    polynomial_decay,
    random_lr,
    step_decay,
    warmup_stable_decay,
)
from lrbook.schedules.plateau import ReduceLROnPlateau
from lrbook.schedules.schedulers import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ScheduleLR,
    SequentialLR,
    StepLR,
)

__all__ = [
    # torch-compatible scheduler classes
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "ScheduleLR",
    "SequentialLR",
    "StepLR",
    # pure functions of the step
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
