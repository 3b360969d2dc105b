"""``ReduceLROnPlateau``: cut the learning rate when a monitored metric stops improving.

Unlike every other scheduler this one is driven by *feedback* (a validation
metric) rather than by the step count, so ``step`` needs the metric:
``scheduler.step(val_loss)``. Same arguments, defaults, state and decisions
as ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (torch 2.13).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal, SupportsFloat

from torch.optim import Optimizer

from lrbook.schedules.schedulers import (
    _EPOCH_WARNING,
    LRScheduler,
    _check_optimizer,
    _count,
    _group_values,
    _write,
)

__all__ = ["ReduceLROnPlateau"]

_MISSING = object()


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the rate by ``factor`` when the metric has not improved for more than ``patience`` epochs.

    After each epoch call ``scheduler.step(metric)``. A value counts as an
    improvement on the best so far when (all comparisons strict)

    ============  =========================================  ==========================
    mode          ``threshold_mode="rel"``                   ``threshold_mode="abs"``
    ============  =========================================  ==========================
    ``"min"``     ``metric < best * (1 - threshold)``        ``metric < best - threshold``
    ``"max"``     ``metric > best * (1 + threshold)``        ``metric > best + threshold``
    ============  =========================================  ==========================

    Each non-improving epoch increments ``num_bad_epochs``; on the
    **(patience + 1)-th** consecutive one every group's rate becomes
    ``max(lr * factor, min_lr)`` (only if that lowers it by more than
    ``eps``), then ``cooldown`` epochs follow during which bad epochs are not
    counted. NaN metrics are never an improvement.

    Pitfall (same as torch): with ``threshold_mode="rel"`` and a *negative*
    metric (e.g. a log-likelihood in ``"min"`` mode), ``best * (1 - threshold)``
    lies above ``best``, so slightly worse values count as improvements and
    the rate is never cut while the metric drifts slowly upwards. Use
    ``threshold_mode="abs"`` for metrics that can be negative.

    Keras' ``ReduceLROnPlateau`` cuts one epoch earlier (on the
    ``patience``-th bad epoch) and uses an absolute ``min_delta``.

    ``patience`` and ``cooldown`` may be whole floats (``2.0``, as YAML or
    argparse deliver them) or ``inf``, as in torch.

    Deliberate differences from torch 2.13 (each a ``ValueError`` naming the
    argument; torch accepts these values, which are meaningless): ``factor``
    must lie in ``[0, 1)`` (a negative factor makes the rate negative, then
    ``min_lr``); ``patience`` and ``cooldown`` must be whole numbers ``>= 0``
    (torch compares counts of epochs with them, so ``0.5`` acts as ``0`` or
    ``1``); ``threshold`` and ``eps`` must be ``>= 0`` (negative values count
    worse metrics as improvements, or "cut" the rate upwards).

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        mode: ``"min"`` (loss) or ``"max"`` (accuracy).
        factor: multiplier applied to the rate, in ``[0, 1)``.
        patience: bad epochs tolerated before a cut, a whole number ``>= 0``.
        threshold: minimum change that counts as an improvement, ``>= 0``.
        threshold_mode: ``"rel"`` or ``"abs"`` (see the table).
        cooldown: epochs to wait after a cut before counting again, ``>= 0``.
        min_lr: lower bound on the rate, a number or one per param group.
        eps: cuts smaller than this are skipped.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, got factor={factor!r}")
        if factor < 0:
            raise ValueError(f"factor must be in [0, 1), got {factor!r}")
        _count("patience", patience, 0)
        _count("cooldown", cooldown, 0)
        if not threshold >= 0:
            raise ValueError(f"threshold must be >= 0, got {threshold!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        self.factor = factor
        self.optimizer = _check_optimizer(optimizer)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._set_mode(mode, threshold, threshold_mode)
        self._reset()

    def _set_mode(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown! Use 'min' or 'max'.")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown! Use 'rel' or 'abs'.")
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric value ``a`` improves on ``best`` (see the class table)."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: SupportsFloat = _MISSING, epoch: int | None = None) -> None:  # type: ignore[override, assignment]
        """Record this epoch's ``metrics`` (e.g. the validation loss) and cut the rate if it plateaued."""
        if metrics is _MISSING:
            raise TypeError(
                "ReduceLROnPlateau.step() missing 1 required positional argument: 'metrics'. "
                "This scheduler reacts to a monitored value: call scheduler.step(val_loss) once "
                "per epoch. It cannot be stepped by a loop that calls scheduler.step() with no "
                "argument, nor be placed inside SequentialLR/ChainedScheduler."
            )
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch

        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown are not counted
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    "The number of param groups in the `optimizer` "
                    f"({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized "
                    f"({len(self.min_lrs)}), usually due to a new "
                    "param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length "
                    "of the `optimizer` param groups."
                    " (lrbook: set scheduler.min_lrs to one value per group.)"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, floor)
            if old_lr - new_lr > self.eps:
                _write(group, "lr", new_lr)

    def _compute_lr(self) -> list:
        return _group_values(self.optimizer, "lr")

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a saved state (and re-validate mode/threshold settings)."""
        self.__dict__.update(state_dict)
        self._set_mode(self.mode, self.threshold, self.threshold_mode)
