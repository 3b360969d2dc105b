r"""Early stopping: Keras 3's rule, epoch by epoch, and Prechelt's (1998) criteria.

:class:`EarlyStopping` reproduces ``keras.callbacks.EarlyStopping`` (Keras 3.15)
decision for decision, as a plain object you call once per epoch::

    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    for epoch in range(num_epochs):
        ...train one epoch, compute val_loss...
        if stopper.step(val_loss, model):
            break
    stopper.restore(model)          # best weights, whether or not it stopped

:class:`GL`, :class:`PQ` and :class:`UP` are the three stopping criteria of
Prechelt, "Early Stopping -- But When?" (1998), with their definitions in the
docstrings.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

__all__ = [
    "GL",
    "PQ",
    "UP",
    "EarlyStopping",
    "LightningEarlyStopping",
    "PrecheltCriterion",
    "replay",
    "replay_prechelt",
]

# Metric names whose direction 'auto' mode can infer (after removing "val_").
_MINIMISED = {
    "loss",
    "error",
    "err",
    "mse",
    "mae",
    "rmse",
    "mean_squared_error",
    "mean_absolute_error",
    "root_mean_squared_error",
    "crossentropy",
    "cross_entropy",
    "nll",
    "perplexity",
}
_MAXIMISED = {
    "accuracy",
    "acc",
    "auc",
    "precision",
    "recall",
    "f1",
    "f1_score",
    "top_k_accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
    "r2",
    "r2_score",
}


def _clone_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping:
    r"""Stop training when a monitored metric stops improving (Keras 3 semantics).

    Call :meth:`step` once per epoch (epochs are counted from 0 in the order of
    the calls) with the monitored value; it returns ``True`` when training
    should stop. With :math:`\delta = |\text{min\_delta}|`, a value :math:`a`
    *improves* on a reference :math:`r` when

    .. math::
        \text{min mode: } a + \delta < r, \qquad \text{max mode: } a - \delta > r,

    (strict: ties and changes of exactly :math:`\delta` are not improvements;
    the first monitored value always improves). Per epoch :math:`e`:

    1. epochs :math:`e <` ``start_from_epoch`` are ignored entirely;
    2. with ``restore_best_weights``, the first monitored epoch's weights are
       snapshotted;
    3. ``wait += 1`` (before the comparison);
    4. on an improvement: ``best = a``, ``best_epoch = e`` (snapshot weights);
       ``wait = 0`` only if there is no ``baseline`` or :math:`a` also improves
       on the baseline; never stop on an improving epoch;
    5. otherwise stop when ``wait >= patience`` and :math:`e > 0`
       (``stopped_epoch = e``).

    So ``patience=p`` stops at the p-th consecutive non-improving epoch
    (``patience=0``: at the first one). A NaN first value makes ``best`` NaN and
    nothing improves afterwards; a NaN later is never an improvement. Call
    :meth:`restore` when training ends: like Keras 3 (and unlike Keras 2.2 /
    early tf.keras) the best weights are restored whether or not stopping
    fired.

    Differences from Keras, on purpose: comparisons are in float64 (Keras
    converts to float32, so values that differ only below float32 precision
    can compare differently); an unknown ``mode`` raises ``ValueError``
    (Keras warns and falls back to ``'auto'``); ``'auto'`` infers the
    direction from the metric's name (``loss``, ``error``, ``mse``... are
    minimised; ``accuracy``, ``auc``, ``f1``... maximised) because there is no
    compiled model to ask.

    Args:
        monitor: name of the monitored quantity (used by ``'auto'`` mode and by
            :func:`lrbook.train.fit` to pick it from the epoch's metrics).
        min_delta: minimum change that counts as an improvement (its sign is
            ignored).
        patience: number of non-improving epochs after which to stop.
        mode: ``'min'``, ``'max'`` or ``'auto'``.
        baseline: a value the metric must beat for the patience counter to
            reset.
        restore_best_weights: keep a copy of the best epoch's weights for
            :meth:`restore`.
        start_from_epoch: number of initial epochs to ignore (warm-up).

    Attributes:
        best: best monitored value so far (``None`` before the first).
        best_epoch: epoch of ``best`` (0 before the first).
        stopped_epoch: epoch at which stopping fired, 0 when it never did.
        wait: the patience counter.
        epoch: index of the next epoch :meth:`step` will see.
        best_weights: snapshot of the model's ``state_dict`` (or ``None``).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        if not isinstance(start_from_epoch, int) or start_from_epoch < 0:
            raise ValueError(
                f"start_from_epoch must be a non-negative integer, got {start_from_epoch!r}"
            )
        if not math.isfinite(float(min_delta)):
            raise ValueError(f"min_delta must be finite, got {min_delta!r}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.mode = mode
        self.direction = self._resolve_direction(monitor, mode)
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = start_from_epoch
        self.reset()

    @staticmethod
    def _resolve_direction(monitor: str, mode: str) -> str:
        if mode != "auto":
            return mode
        name = monitor.removeprefix("val_").removeprefix("train_")
        if name in _MINIMISED or name.endswith("_loss") or name.endswith("_error"):
            return "min"
        if name in _MAXIMISED or name.endswith("accuracy"):
            return "max"
        raise ValueError(
            f"EarlyStopping cannot tell whether monitor={monitor!r} should be minimised or "
            "maximised; pass mode='min' or mode='max'."
        )

    def reset(self) -> None:
        """Forget everything seen so far (Keras' ``on_train_begin``)."""
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.epoch = 0

    def is_improvement(self, value: float, reference: float | None) -> bool:
        """Whether ``value`` beats ``reference`` by more than ``min_delta`` (strict)."""
        if reference is None:
            return True
        if self.direction == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def step(
        self, metric: float | torch.Tensor | None, model: torch.nn.Module | None = None
    ) -> bool:
        """Record one epoch's monitored value; return ``True`` to stop training.

        ``metric`` may be a float or a one-element tensor; ``None`` (metric not
        available) warns and counts the epoch without any decision, as Keras
        does. ``model`` is required when ``restore_best_weights=True``.
        """
        epoch = self.epoch
        self.epoch += 1
        if metric is None:
            warnings.warn(
                f"Early stopping conditioned on metric {self.monitor!r}, which is not available.",
                stacklevel=2,
            )
            return False
        current = float(metric)
        if epoch < self.start_from_epoch:
            return False
        if self.restore_best_weights and model is None:
            raise ValueError("restore_best_weights=True needs the model: call step(metric, model)")
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _clone_state(model)
            self.best_epoch = epoch
        self.wait += 1
        if self.is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _clone_state(model)
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
            return False
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            return True
        return False

    @property
    def stopped(self) -> bool:
        """Whether stopping has fired (``stopped_epoch > 0``)."""
        return self.stopped_epoch > 0

    def restore(self, model: torch.nn.Module) -> bool:
        """Load the best weights into ``model`` (Keras' ``on_train_end``).

        Does something only with ``restore_best_weights=True`` and after at
        least one monitored epoch; returns whether weights were restored.
        """
        if self.restore_best_weights and self.best_weights is not None:
            model.load_state_dict(self.best_weights)
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        """Counters, best value and best weights (tensors and primitives only)."""
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "epoch": self.epoch,
            "best_weights": None if self.best_weights is None else dict(self.best_weights),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict`."""
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.epoch = int(state["epoch"])
        bw = state["best_weights"]
        self.best_weights = None if bw is None else {k: v.detach().clone() for k, v in bw.items()}

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, min_delta={self.min_delta}, patience={self.patience}, "
            f"mode={self.mode!r}, baseline={self.baseline}, restore_best_weights={self.restore_best_weights}, "
            f"start_from_epoch={self.start_from_epoch})"
        )


# --------------------------------------------------------------------------
# Prechelt (1998)
# --------------------------------------------------------------------------


class PrecheltCriterion:
    r"""Common bookkeeping for Prechelt's criteria.

    Epochs are numbered :math:`t = 1, 2, \dots` in the order of the
    :meth:`step` calls. With :math:`E_{va}(t)` the validation error and
    :math:`E_{tr}(t)` the training error of epoch :math:`t`, the *optimal
    validation error so far* is :math:`E_{opt}(t) = \min_{t' \le t} E_{va}(t')`
    and the *generalisation loss* (in percent) is

    .. math:: GL(t) = 100 \left( \frac{E_{va}(t)}{E_{opt}(t)} - 1 \right) \ge 0 .

    After stopping, Prechelt reports the network of epoch ``best_epoch``
    (the one with :math:`E_{opt}`), not the last one.

    Attributes:
        epoch: the number of epochs seen (the current :math:`t`).
        best: :math:`E_{opt}(t)`; ``best_epoch`` its epoch.
        val_errors: the recorded validation errors.
        train_errors: the recorded training errors.
        stopped_epoch: the epoch after which the criterion fired (0: never).
    """

    def __init__(self) -> None:
        self.epoch = 0
        self.best = math.inf
        self.best_epoch = 0
        self.val_errors: list[float] = []
        self.train_errors: list[float | None] = []
        self.stopped_epoch = 0

    def _record(self, val_error: float, train_error: float | None) -> None:
        val_error = float(val_error)
        if not val_error >= 0:
            raise ValueError(f"validation error must be a non-negative number, got {val_error!r}")
        self.epoch += 1
        self.val_errors.append(val_error)
        self.train_errors.append(None if train_error is None else float(train_error))
        if val_error < self.best:
            self.best = val_error
            self.best_epoch = self.epoch

    def generalization_loss(self) -> float:
        r""":math:`GL(t) = 100\,(E_{va}(t)/E_{opt}(t) - 1)` for the current epoch."""
        current = self.val_errors[-1]
        if self.best == 0.0:
            return 0.0 if current == 0.0 else math.inf
        return 100.0 * (current / self.best - 1.0)

    def _fire(self, stop: bool) -> bool:
        if stop and self.stopped_epoch == 0:
            self.stopped_epoch = self.epoch
        return stop

    def step(self, val_error: float, train_error: float | None = None) -> bool:  # pragma: no cover
        raise NotImplementedError


class GL(PrecheltCriterion):
    r"""Prechelt's :math:`GL_a`: stop after the first epoch with :math:`GL(t) > a`.

    .. math:: GL(t) = 100 \left( \frac{E_{va}(t)}{\min_{t' \le t} E_{va}(t')} - 1 \right)

    is the relative increase (in percent) of the validation error over the
    best one seen so far. Only validation errors are needed.

    Args:
        alpha: threshold :math:`a` in percent (Prechelt's :math:`\alpha`; he studies 1 to 5).
    """

    def __init__(self, alpha: float) -> None:
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha!r}")
        super().__init__()
        self.alpha = float(alpha)

    def step(self, val_error: float, train_error: float | None = None) -> bool:
        """Record epoch ``t``; ``True`` when :math:`GL(t) > a`."""
        self._record(val_error, train_error)
        return self._fire(self.generalization_loss() > self.alpha)


def _check_strip(strip: int) -> int:
    if not isinstance(strip, int) or strip < 1:
        raise ValueError(f"strip must be a positive integer, got {strip!r}")
    return strip


class PQ(PrecheltCriterion):
    r"""Prechelt's :math:`PQ_a`: generalisation loss relative to training progress.

    A *training strip* of length :math:`K` is a run of epochs
    :math:`n+1, \dots, n+K` with :math:`n` divisible by :math:`K` (strips are
    aligned: 1–5, 6–10, ... for :math:`K = 5`). At the end of a strip, the
    *training progress* (per mille) measures how much the strip's mean training
    error exceeds its minimum:

    .. math::
        P_K(t) = 1000 \left( \frac{\sum_{t'=t-K+1}^{t} E_{tr}(t')}
                 {K \cdot \min_{t'=t-K+1}^{t} E_{tr}(t')} - 1 \right).

    It is large while training still changes quickly and goes to 0 as training
    converges. :math:`PQ_a` stops after the first end-of-strip epoch
    :math:`t` (a multiple of :math:`K`) with

    .. math:: \frac{GL(t)}{P_K(t)} > a .

    ``train_error`` is required at every epoch. When :math:`P_K(t) = 0` (a
    perfectly flat strip) the quotient is :math:`+\infty` if :math:`GL(t) > 0`
    (stop) and undefined if :math:`GL(t) = 0` (no stop).

    Args:
        alpha: threshold :math:`a` (Prechelt's :math:`\alpha`; he studies 0.5 to 3 and more).
        strip: strip length :math:`K` (Prechelt's :math:`k`; he uses 5).
    """

    def __init__(self, alpha: float, strip: int = 5) -> None:
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha!r}")
        super().__init__()
        self.alpha = float(alpha)
        self.strip = _check_strip(strip)

    def training_progress(self) -> float:
        r""":math:`P_K(t)` over the last :math:`K` training errors."""
        errors = self.train_errors[-self.strip :]
        if len(errors) < self.strip:
            raise ValueError(
                f"training progress needs {self.strip} training errors, have {len(errors)}"
            )
        lowest = min(errors)
        if lowest <= 0:
            raise ValueError("training progress needs positive training errors")
        return 1000.0 * (sum(errors) / (self.strip * lowest) - 1.0)

    def quotient(self) -> float:
        r""":math:`GL(t)/P_K(t)` for the current epoch (``nan`` when both are 0)."""
        gl, progress = self.generalization_loss(), self.training_progress()
        if progress == 0.0:
            return math.inf if gl > 0 else math.nan
        return gl / progress

    def step(self, val_error: float, train_error: float | None = None) -> bool:
        """Record epoch ``t``; at strip ends, ``True`` when :math:`GL/P_K > a`."""
        if train_error is None:
            raise ValueError(
                "PQ needs the training error of every epoch: step(val_error, train_error)"
            )
        self._record(val_error, train_error)
        if self.epoch % self.strip != 0:
            return False
        return self._fire(self.quotient() > self.alpha)


class UP(PrecheltCriterion):
    r"""Prechelt's :math:`UP_j`: the validation error rose in :math:`j` successive strips.

    Only end-of-strip epochs :math:`t` (multiples of the strip length
    :math:`K`) are looked at. :math:`UP_1` stops after the first end-of-strip
    epoch with :math:`E_{va}(t) > E_{va}(t-K)`; :math:`UP_j` stops after epoch
    :math:`t` iff :math:`UP_{j-1}` stops after :math:`t-K` and
    :math:`E_{va}(t) > E_{va}(t-K)`. The comparison is with the previous strip
    end, not with the best value; the first strip end has nothing to compare
    with and never counts as a rise.

    Args:
        s: number :math:`j` of successive rises (Prechelt's :math:`s`).
        strip: strip length :math:`K` (Prechelt's :math:`k`; he uses 5).

    Attributes:
        rises: current number of successive end-of-strip rises.
    """

    def __init__(self, s: int, strip: int = 5) -> None:
        if not isinstance(s, int) or s < 1:
            raise ValueError(f"s must be a positive integer, got {s!r}")
        super().__init__()
        self.s = s
        self.strip = _check_strip(strip)
        self.rises = 0

    def step(self, val_error: float, train_error: float | None = None) -> bool:
        """Record epoch ``t``; at strip ends, ``True`` after ``s`` successive rises."""
        self._record(val_error, train_error)
        t, k = self.epoch, self.strip
        if t % k != 0:
            return False
        if t > k and self.val_errors[t - 1] > self.val_errors[t - 1 - k]:
            self.rises += 1
        else:
            self.rises = 0
        return self._fire(self.rises >= self.s)


# --------------------------------------------------------------------------
# PyTorch Lightning's rule, for comparison on the same metric sequence
# --------------------------------------------------------------------------


class LightningEarlyStopping:
    r"""The decision rule of PyTorch Lightning's ``EarlyStopping`` (2.6), replayed on numbers.

    Lightning is not a dependency of lrbook; this class reproduces the
    callback's ``_evaluate_stopping_criteria`` so that a metric sequence can be
    fed to both Keras' rule (:class:`EarlyStopping`) and Lightning's. Per
    validation check (Lightning counts *checks*, one per epoch by default),
    in this order:

    1. ``check_finite`` and the value is NaN or infinite: stop
       (``stopping_reason = "non-finite"``);
    2. ``stopping_threshold`` reached (min: value :math:`<` threshold,
       max: :math:`>`): stop (``"threshold"``);
    3. ``divergence_threshold`` passed (min: value :math:`>` threshold,
       max: :math:`<`): stop (``"divergence"``);
    4. an improvement, :math:`a + \delta < \text{best}` in min mode with the
       *signed* ``min_delta`` :math:`\delta` (max: :math:`a - \delta > \text{best}`):
       ``best = a``, ``wait = 0``;
    5. otherwise ``wait += 1`` and stop when ``wait >= patience``
       (``"patience"``).

    ``best`` starts at :math:`+\infty` (min) or :math:`-\infty` (max). Unlike
    Keras, ``min_delta`` keeps its sign (a negative value makes *worse* values
    count as improvements), the default patience is 3, there is no
    ``baseline``, no ``start_from_epoch`` and no restoring of weights
    (Lightning leaves that to ``ModelCheckpoint``). Threshold stops do not
    update ``best``.

    Args:
        min_delta: signed minimum change (Lightning's default 0).
        patience: number of non-improving checks (default 3).
        mode: ``'min'`` or ``'max'`` (no ``'auto'``).
        check_finite: stop at the first non-finite value.
        stopping_threshold, divergence_threshold: see the steps above.

    Attributes:
        best: the best value so far.
        wait: the patience counter (step 5).
        checks: number of values seen.
        stopped_check: index of the check at which it fired, ``None`` if never.
        stopping_reason: ``"non-finite"``, ``"threshold"``, ``"divergence"``,
            ``"patience"`` or ``None`` (not fired).
    """

    def __init__(
        self,
        min_delta: float = 0.0,
        patience: int = 3,
        mode: str = "min",
        check_finite: bool = True,
        stopping_threshold: float | None = None,
        divergence_threshold: float | None = None,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        if not math.isfinite(float(min_delta)):
            raise ValueError(f"min_delta must be finite, got {min_delta!r}")
        self.min_delta = float(min_delta)
        self.patience = patience
        self.mode = mode
        self.check_finite = bool(check_finite)
        self.stopping_threshold = stopping_threshold
        self.divergence_threshold = divergence_threshold
        self.best = math.inf if mode == "min" else -math.inf
        self.wait = 0
        self.checks = 0
        self.stopped_check: int | None = None
        self.stopping_reason: str | None = None

    def _beyond(self, value: float, threshold: float) -> bool:
        return value < threshold if self.mode == "min" else value > threshold

    def step(self, value: float) -> bool:
        """Record one validation check's value; return ``True`` to stop."""
        current = float(value)
        check = self.checks
        self.checks += 1
        reason = None
        if self.check_finite and not math.isfinite(current):
            reason = "non-finite"
        elif self.stopping_threshold is not None and self._beyond(current, self.stopping_threshold):
            reason = "threshold"
        elif self.divergence_threshold is not None and self._beyond(
            self.divergence_threshold, current
        ):
            reason = "divergence"
        elif self._beyond(current + (self.min_delta if self.mode == "min" else -self.min_delta),
                          self.best):
            self.best, self.wait = current, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                reason = "patience"
        if reason is not None and self.stopped_check is None:
            self.stopped_check, self.stopping_reason = check, reason
        return reason is not None


def replay(stopper: Any, values: Any) -> int | None:
    """Feed a recorded metric sequence to a stopping rule; the index where it fires, or ``None``.

    ``stopper`` is a fresh :class:`EarlyStopping` or
    :class:`LightningEarlyStopping` (anything with ``step(value) -> bool``);
    ``values[i]`` is the monitored value of epoch (or check) ``i``. Replaying
    is exact because both rules look only at the sequence of values (weights
    are not restored here: ``restore_best_weights`` must be off).
    """
    if getattr(stopper, "restore_best_weights", False):
        raise ValueError("replay cannot restore weights: use restore_best_weights=False")
    for i, value in enumerate(values):
        if stopper.step(float(value)):
            return i
    return None


def replay_prechelt(
    criterion: PrecheltCriterion, val_errors: Any, train_errors: Any = None
) -> tuple[int, int]:
    """Apply a fresh Prechelt criterion to recorded curves.

    Returns ``(epochs_trained, best_epoch)``, both counted from 1 like
    Prechelt: the number of epochs the criterion let run (all of them when it
    never fired) and the epoch of the lowest validation error seen by then,
    the network that is kept. ``train_errors`` is needed by :class:`PQ`.
    Raises ``ValueError`` when the curves differ in length.
    """
    val_errors = [float(v) for v in val_errors]
    if train_errors is None:
        train_errors = [None] * len(val_errors)
    train_errors = list(train_errors)
    if len(train_errors) != len(val_errors):
        raise ValueError(
            f"val_errors and train_errors differ in length: {len(val_errors)} vs {len(train_errors)}"
        )
    for val_error, train_error in zip(val_errors, train_errors, strict=True):
        if criterion.step(val_error, None if train_error is None else float(train_error)):
            break
    return criterion.epoch, criterion.best_epoch
