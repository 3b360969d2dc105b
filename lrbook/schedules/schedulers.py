"""Drop-in replacements for ``torch.optim.lr_scheduler`` (torch 2.13 semantics).

Same class names, arguments, defaults, state and values as torch, so a reader
can swap ``torch.optim.lr_scheduler.X`` for ``lrbook.schedules.X`` and get the
same numbers. Everything rests on one small base class, :class:`LRScheduler`:

* at construction it records ``initial_lr`` in every param group (keeping an
  existing one), sets ``base_lrs`` and performs one *initial step*, so the
  optimizer already holds the rate for step 0;
* ``step()`` advances ``last_epoch`` by one, asks the subclass for the new
  rates (``LRScheduler._compute_lr``) and writes them into the groups;
* ``get_last_lr()`` returns what the last step wrote.

The canonical loop is ``optimizer.step(); scheduler.step()``: the k-th
``scheduler.step()`` sets the rate used by update k + 1.

Two kinds of subclasses, as in torch:

* **closed-form** schedulers (:class:`LambdaLR`, :class:`CyclicLR`,
  :class:`OneCycleLR`, :class:`CosineAnnealingWarmRestarts`) compute the rate
  from the base rate and the step, with the pure functions of
  :mod:`lrbook.schedules.functions`, and overwrite the group's rate;
* **chainable** schedulers (:class:`StepLR`, :class:`MultiStepLR`,
  :class:`ConstantLR`, :class:`LinearLR`, :class:`ExponentialLR`,
  :class:`PolynomialLR`, :class:`MultiplicativeLR`, :class:`CosineAnnealingLR`)
  *multiply the current rate* by the ratio of two consecutive schedule
  values. In isolation the result equals the closed form up to rounding
  (~1e-16 per step); the difference matters when something else changes the
  rate as well (another scheduler in a :class:`ChainedScheduler`, a manual
  edit, a warm-up): torch keeps such changes, and so do these classes. The
  closed forms are still used for the deprecated ``step(epoch)`` and when
  :class:`SequentialLR` restarts a scheduler.
"""

from __future__ import annotations

import functools
import math
import numbers
import types
import warnings
import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import torch
from torch.optim import Optimizer

from lrbook.schedules import functions as F

__all__ = [
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
    "ScheduleLR",
    "SequentialLR",
    "StepLR",
]

# Warnings and errors start with torch 2.13's exact text (code filters on it:
# ``warnings.filterwarnings(message=...)``, ``pytest.raises(match=...)``);
# lrbook's explanation follows.
_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. "
    "See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)
_OVERRIDDEN_STEP_WARNING = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
    "initialization. Please, make sure to call `optimizer.step()` before "
    "`lr_scheduler.step()`. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)
_EPOCH_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being "
    "deprecated where possible. Please use `scheduler.step()` to step the "
    "scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. "
    "Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)  # exactly torch's: torch's own tests compare it with ==
_GET_LR_WARNING = (
    "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
    " (lrbook: get_lr() computes the *next* learning rate; for chainable schedulers "
    "it applies the decay once more.)"
)


def _missing_initial_lr(i: int) -> str:
    return (
        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler "
        "with last_epoch >= 0.\n"
        "This typically happens when:\n"
        "1. You're trying to resume training from a checkpoint but haven't properly loaded "
        "the optimizer state\n"
        "2. You're using last_epoch >= 0 for a fresh training run (not recommended)"
        "\n(lrbook: build the scheduler with last_epoch=-1 and call "
        "scheduler.load_state_dict() to resume instead.)"
    )


# --------------------------------------------------------------------------
# helpers shared by all schedulers
# --------------------------------------------------------------------------


def _read(group: dict, key: str) -> Any:
    """``group[key]``, copied if it is a tensor (so callers never alias it)."""
    value = group[key]
    return value.clone() if isinstance(value, torch.Tensor) else value


def _write(group: dict, key: str, value: Any) -> None:
    """Set ``group[key]``; a tensor-valued entry is filled in place, as torch does."""
    if isinstance(group[key], torch.Tensor):
        group[key].fill_(float(value))
    else:
        group[key] = value


def _group_values(optimizer: Optimizer, key: str) -> list:
    return [_read(group, key) for group in optimizer.param_groups]


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list:
    """Broadcast a scalar to one value per param group, or check a list's length."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has "
                f"{len(optimizer.param_groups)}."
            )
        values = list(value)
    else:
        values = [value] * len(optimizer.param_groups)
    return [v.clone() if isinstance(v, torch.Tensor) else v for v in values]


def _watch_optimizer(optimizer: Optimizer) -> None:
    """Wrap ``optimizer.step`` (once) so that calling it sets ``optimizer._opt_called``.

    torch's own mechanism, with the same attribute names, so torch's and
    lrbook's schedulers share it: the call-order warning fires when
    ``scheduler.step()`` runs before any ``optimizer.step()``, and a different
    warning when ``optimizer.step`` was replaced after the scheduler was built.
    """
    if hasattr(optimizer.step, "_wrapped_by_lr_sched"):
        return
    opt_ref = weakref.ref(optimizer)
    func = optimizer.step.__func__  # type: ignore[attr-defined]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opt = opt_ref()
        opt._opt_called = True  # type: ignore[union-attr]
        return func.__get__(opt, opt.__class__)(*args, **kwargs)

    wrapper._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    optimizer.step = wrapper  # type: ignore[method-assign]


def _check_optimizer(optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
    return optimizer


def _one_per_group(optimizer: Optimizer, functions: Any, name: str) -> list[Callable]:
    """One function per param group: ``functions`` itself for every group, or a
    list of exactly one per group. Raises torch's ``ValueError`` for a wrong
    count and ``TypeError`` for something that is not callable."""
    if isinstance(functions, (list, tuple)):
        if len(functions) != len(optimizer.param_groups):
            raise ValueError(
                f"Expected {len(optimizer.param_groups)} {name}s, but got {len(functions)}"
            )
        per_group = list(functions)
    else:
        per_group = [functions] * len(optimizer.param_groups)
    for fn in per_group:
        if not callable(fn):
            raise TypeError(f"{name} should be a function, but got {type(fn).__name__}")
    return per_group


def _count(name: str, value: Any, minimum: int, allow_inf: bool = True) -> Any:
    """A number of steps: a whole number ``>= minimum`` (``4`` or ``4.0``, as
    configs deliver it), or ``inf`` if allowed. Returned unchanged, as torch stores it."""
    whole = isinstance(value, numbers.Real) and (
        float(value).is_integer() or (allow_inf and value == math.inf))
    if isinstance(value, bool) or not whole or not value >= minimum:
        allowed = f"a whole number >= {minimum}" + (" (or inf)" if allow_inf else "")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def _positive_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return value


def _non_negative_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return value


def _lambdas_state(fns: list) -> list:
    """torch's convention: plain functions/lambdas are not saved (None);
    callable objects are saved as a copy of their ``__dict__``."""
    return [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy() for fn in fns]


# --------------------------------------------------------------------------
# the one base class
# --------------------------------------------------------------------------


class LRScheduler:
    """Base class: holds the optimizer, ``base_lrs`` and ``last_epoch``; steps.

    Two ways to write a subclass:

    * **the torch way** (for your own schedulers, exactly as with
      ``torch.optim.lr_scheduler.LRScheduler``): override ``get_lr(self)``,
      returning the rates for the new ``self.last_epoch`` from
      ``self.base_lrs``, ``self.optimizer.param_groups``... and optionally
      ``_get_closed_form_lr(self)`` for ``step(epoch)``. A ``get_lr`` that
      takes an epoch argument fails with torch's ``TypeError``;
    * the book's schedulers implement the internal hook ``_compute_lr``
      (and ``_closed_form_lr``) instead, so that ``get_lr()`` called from
      user code can warn.

    Args:
        optimizer: any ``torch.optim.Optimizer`` (including ``lrbook.optim``'s).
        last_epoch: index of the last step taken; ``-1`` (default) starts a
            fresh schedule. A value ``N - 1 >= 0`` resumes: it needs
            ``initial_lr`` in every param group (load the optimizer's state
            first: its ``lr`` is then the rate for step ``N``), and the
            scheduler continues exactly as the uninterrupted run from step
            ``N`` (``get_last_lr()`` right after construction is the rate for
            step ``N``). :class:`SequentialLR` cannot be resumed this way and
            raises ``ValueError``; ``load_state_dict`` works for every scheduler
            and is the recommended way.

    Deliberate differences from torch 2.13 when resuming with ``last_epoch``
    (torch gives a different schedule; here the run continues exactly):
    :class:`StepLR` and :class:`MultiStepLR` resumed at a decay step, and
    :class:`ConstantLR` resumed at ``total_iters``, apply that step's change
    a second time in torch (the loaded rate already includes it);
    :class:`CosineAnnealingWarmRestarts` with ``T_mult > 1`` resumed after the
    first restart continues in the wrong period in torch; :class:`SequentialLR`
    restarts its first scheduler in torch and raises ``ValueError`` here.
    """

    _is_initial: bool = False
    _get_lr_called_within_step: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self.optimizer = _check_optimizer(optimizer)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _read(group, "lr"))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(_missing_initial_lr(i))
        self.base_lrs: list = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _watch_optimizer(optimizer)
        self._initial_step()

    # ---- stepping ------------------------------------------------------
    def _initial_step(self) -> None:
        """The step made by the constructor: writes the rate for step 0."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def _warn_step_order(self) -> None:
        """torch's two warnings on the first ``step()`` after construction."""
        if self._step_count == 1:
            if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
                warnings.warn(_OVERRIDDEN_STEP_WARNING, UserWarning, stacklevel=3)
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(_ORDER_WARNING, UserWarning, stacklevel=3)

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one step (call it after ``optimizer.step()``)."""
        self._warn_step_order()
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _uses_torch_hook(self) -> bool:
        """Whether a subclass overrides ``get_lr`` (a scheduler written the torch way)."""
        return type(self).get_lr is not LRScheduler.get_lr

    def _next_lrs(self) -> list:
        return self.get_lr() if self._uses_torch_hook() else self._compute_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self._next_lrs()
            else:
                self.last_epoch = epoch
                if hasattr(self, "_get_closed_form_lr"):
                    values = self._get_closed_form_lr()
                elif self._uses_torch_hook() and (
                        type(self)._closed_form_lr is LRScheduler._closed_form_lr):
                    values = self.get_lr()
                else:
                    values = self._closed_form_lr()
        finally:
            self._get_lr_called_within_step = False
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise RuntimeError(f"{type(self).__name__} computed {len(values)} rates for {len(groups)} param groups")
        for group, value in zip(groups, values, strict=True):
            _write(group, "lr", value)
        self._last_lr: list = _group_values(self.optimizer, "lr")

    # ---- what subclasses provide -----------------------------------------
    def _compute_lr(self) -> list:
        """Rates for the new ``self.last_epoch`` (torch calls this hook ``get_lr``)."""
        raise NotImplementedError

    def _closed_form_lr(self) -> list:
        """Rates at ``self.last_epoch`` from the base rates (used by ``step(epoch)``)."""
        return self._compute_lr()

    # ---- accessors -----------------------------------------------------
    def get_last_lr(self) -> list:
        """The rates written by the last step, one per param group (use this to read the lr)."""
        return self._last_lr

    def get_lr(self) -> list:
        """torch's "next rate" hook: override it to write a scheduler the torch way.

        Called from user code it warns (as torch does) and returns what the
        *next* step would compute; read the current rate with :meth:`get_last_lr`.
        """
        if not self._get_lr_called_within_step:
            warnings.warn(_GET_LR_WARNING, UserWarning, stacklevel=2)
        return self._compute_lr()

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (save it next to ``optimizer.state_dict()``)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (the dict passed in is not modified)."""
        self.__dict__.update(state_dict)

    def _current_lrs(self) -> list:
        return _group_values(self.optimizer, "lr")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={getattr(self, '_last_lr', None)})"


# --------------------------------------------------------------------------
# closed-form schedulers
# --------------------------------------------------------------------------


class _WithLambdas(LRScheduler):
    """State handling shared by the two schedulers that take user functions."""

    lr_lambdas: list

    def _set_lambdas(self, optimizer: Optimizer, lr_lambda: Any) -> None:
        self.lr_lambdas = _one_per_group(optimizer, lr_lambda, "lr_lambda")

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = _lambdas_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, fn_state in zip(self.lr_lambdas, saved, strict=True):
            if fn_state is not None:
                fn.__dict__.update(fn_state)


class LambdaLR(_WithLambdas):
    r"""``lr = base_lr * lr_lambda(epoch)``: any multiplier you can write as a function.

    ``lr_lambda`` is one function or a list with one per param group.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self._set_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class ScheduleLR(LRScheduler):
    r"""Drive an optimizer with any lrbook schedule: ``lr = schedule(epoch)``.

    Not in torch. The schedule gives *absolute* rates (e.g.
    ``make_schedule(exponential_decay, initial_learning_rate=0.1, ...)``), so
    it is Keras' convention of passing a ``LearningRateSchedule`` as the
    learning rate; like Keras, the first update uses ``schedule(0)``.
    ``schedule`` is one callable or a list with one per param group.
    """

    def __init__(self, optimizer: Optimizer, schedule: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.schedules = _one_per_group(optimizer, schedule, "schedule")
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        return [float(s(self.last_epoch)) for s in self.schedules]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""SGDR (Loshchilov and Hutter, 2017): cosine from the base lr to ``eta_min``, then restart.

    .. math:: \eta = \eta_{\min} + \tfrac12(b - \eta_{\min})(1 + \cos(\pi T_{\text{cur}}/T_i))

    The first period has ``T_0`` steps and each restart multiplies it by
    ``T_mult``. ``step()`` advances by one; ``step(epoch)`` accepts a
    fractional epoch (e.g. ``epoch + i / iters_per_epoch``, as in the paper).
    Values follow :func:`lrbook.schedules.cosine_with_warm_restarts`.

    One deliberate difference from torch 2.13: for a fractional/explicit
    epoch torch finds the period with ``math.log(x, T_mult)``, which can round
    down exactly at a restart (``T_0=1, T_mult=3, epoch=121`` gives
    ``T_cur = T_i`` and ``eta_min`` instead of the restart value). Here the
    period count is corrected with exact integer arithmetic.

    A second one: resuming with ``last_epoch = N - 1`` continues exactly as
    the uninterrupted run from step ``N``. torch 2.13 rebuilds the position
    only for ``T_mult = 1``; with ``T_mult > 1`` and ``N > T_0`` it continues
    in the wrong period (``T_0=10, T_mult=2, last_epoch=24``: torch's next
    restart comes at step 40 instead of 30).
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        if last_epoch >= T_0:  # resuming: rebuild the position in the right period
            self.T_cur, self.T_i = self._position(last_epoch)
        super().__init__(optimizer, last_epoch)

    def _position(self, epoch: float) -> tuple[float, int]:
        """``(T_cur, T_i)`` at ``epoch >= T_0``, exactly (integers stay integers)."""
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        n = self._restarts_before(epoch)
        start = self.T_0 * (self.T_mult**n - 1) // (self.T_mult - 1)  # an exact integer
        return epoch - start, self.T_0 * self.T_mult**n

    def _compute_lr(self) -> list:
        # :func:`lrbook.schedules.cosine_decay` at T_cur of the current period T_i
        eta_min = self.eta_min
        return [eta_min + (base - eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def _restarts_before(self, epoch: float) -> int:
        """Number of completed periods at ``epoch`` (T_mult > 1), exactly."""
        T_0, m = self.T_0, self.T_mult
        n = int(math.log(epoch / T_0 * (m - 1) + 1, m))       # fast estimate (torch's formula)
        while T_0 * (m ** (n + 1) - 1) // (m - 1) <= epoch:   # the log rounded down too far
            n += 1
        while n > 0 and T_0 * (m**n - 1) // (m - 1) > epoch:  # ... or up too far
            n -= 1
        return n

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or jump to a (possibly fractional) ``epoch >= 0``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = self._restarts_before(epoch)
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self._next_lrs()
        finally:
            self._get_lr_called_within_step = False
        for group, value in zip(self.optimizer.param_groups, values, strict=True):
            _write(group, "lr", value)
        self._last_lr = _group_values(self.optimizer, "lr")


class _MomentumCycling:
    """Writes a momentum value into ``momentum`` (SGD, RMSprop) or ``betas[0]`` (Adam family)."""

    optimizer: Optimizer
    use_beta1: bool

    def _setup_momentum(self, base_momentum: Any, max_momentum: Any, fresh: bool) -> tuple[list, list]:
        defaults = self.optimizer.defaults
        if "momentum" not in defaults and "betas" not in defaults:
            raise ValueError(
                "optimizer must support momentum or beta1 with `cycle_momentum` option enabled "
                f"({type(self.optimizer).__name__} has neither 'momentum' nor 'betas'; "
                "pass cycle_momentum=False)"
            )
        self.use_beta1 = "betas" in defaults
        base = _per_group("base_momentum", self.optimizer, base_momentum)
        peak = _per_group("max_momentum", self.optimizer, max_momentum)
        if fresh:
            for m_max, m_base, group in zip(peak, base, self.optimizer.param_groups, strict=True):
                self._set_momentum(group, m_max)
                group["max_momentum"] = m_max
                group["base_momentum"] = m_base
        return base, peak

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value


class CyclicLR(_MomentumCycling, LRScheduler):
    r"""Cyclical learning rate (Smith, 2017): triangle waves between ``base_lr`` and ``max_lr``.

    Values follow :func:`lrbook.schedules.cyclical` (and, with
    ``cycle_momentum=True``, :func:`lrbook.schedules.cyclical_momentum`).
    ``last_epoch`` counts *batches*: step it after every batch.

    The state (``total_size``, ``step_ratio``, ``base_lrs``, ``max_lrs``, ...)
    is stored as torch stores it, so a ``state_dict`` saved by torch's
    ``CyclicLR`` loads here and continues as torch would, and the reverse.

    Deliberate differences from torch 2.13 (``ValueError`` here):
    ``step_size_up`` must be finite and ``> 0`` and ``step_size_down`` finite
    and ``>= 0``. torch accepts negative sizes (a meaningless cycle) and
    ``step_size_up=inf`` (rates become NaN).

    As in torch, construction **overwrites** each group's ``lr`` with
    ``base_lr``, and ``cycle_momentum=True`` (the default) **overwrites**
    ``momentum`` (or Adam's ``beta1``) with ``max_momentum`` and cycles it,
    even if the optimizer was built with ``momentum=0``. Pass
    ``cycle_momentum=False`` for optimizers without momentum (Adagrad...).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: Literal["cycle", "iterations"] = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
        last_epoch: int = -1,
    ) -> None:
        self.optimizer = _check_optimizer(optimizer)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for value, group in zip(base_lrs, optimizer.param_groups, strict=True):
                _write(group, "lr", value)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(
                f"mode is invalid and scale_fn is None: mode must be 'triangular', "
                f"'triangular2' or 'exp_range', got {mode!r}"
            )
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"scale_fn must be callable, got {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        up = float(F._check_positive("step_size_up", step_size_up))
        down = up if step_size_down is None else float(F._check_non_negative("step_size_down", step_size_down))
        # stored as torch stores them, so state_dicts are interchangeable
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # the built-in policies fix their own scale_mode (as in torch)
        builtin_mode = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}
        self.scale_mode = scale_mode if scale_fn is not None else builtin_mode[mode]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.base_momentums, self.max_momentums = self._setup_momentum(
                base_momentum, max_momentum, fresh=last_epoch == -1)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    @property
    def step_size_up(self) -> float:
        """Steps in the rising half, stored as torch does (``total_size * step_ratio``)."""
        return self.total_size * self.step_ratio

    @property
    def step_size_down(self) -> float:
        return self.total_size - self.step_size_up

    def scale_fn(self, x: float) -> float:
        """The amplitude policy at ``x`` (the cycle or the iteration, see ``scale_mode``)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x  # exp_range

    def _compute_lr(self) -> list:
        # :func:`lrbook.schedules.cyclical` written with torch's stored
        # ``total_size`` and ``step_ratio`` (the same operations, bit for bit)
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        triangle = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        amplitude = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base + (peak - base) * triangle * amplitude
               for base, peak in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(self.optimizer.param_groups, self.base_momentums,
                                            self.max_momentums, strict=True):
                self._set_momentum(group, m_max - (m_max - m_base) * triangle * amplitude)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """torch's keys and values: a state saved here loads into torch's CyclicLR and back."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None if fn is None else _lambdas_state([fn])[0]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # unlike torch 2.13, the dict passed in is left unchanged (loadable twice)
        state = dict(state_dict)
        fn_state = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)


class OneCycleLR(_MomentumCycling, LRScheduler):
    r"""The one-cycle policy (Smith and Topin, 2019): warm up to ``max_lr``, anneal far below.

    Values follow :func:`lrbook.schedules.one_cycle` (and
    :func:`lrbook.schedules.one_cycle_momentum`). Step it after every batch:
    it accepts exactly ``total_steps`` calls to ``step()`` (the last one
    extrapolates) and raises ``ValueError`` on the next, as torch does.
    Construction sets each group's ``initial_lr = max_lr / div_factor``,
    ``max_lr`` and ``min_lr = initial_lr / final_div_factor`` (overwriting
    any ``initial_lr`` already there).

    One deliberate difference from torch 2.13: ``pct_start * total_steps <= 1``
    (a warm-up phase without steps, e.g. ``total_steps`` of 1 to 3 with the
    default ``pct_start=0.3``) raises a ``ValueError`` naming ``total_steps``
    and ``pct_start`` here; torch raises ``ZeroDivisionError`` or silently
    produces a meaningless schedule.

    The state (``total_steps``, ``_schedule_phases``, ``_anneal_func_type``
    and the base class's keys) is stored as torch stores it, so a
    ``state_dict`` saved by torch's ``OneCycleLR`` loads here and continues as
    torch would, and the reverse.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        self.optimizer = _check_optimizer(optimizer)
        if total_steps is not None:
            if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if (isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int)
                    or steps_per_epoch <= 0):
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        # checks the phases are not degenerate (pct_start * total_steps > 1)
        F._check_one_cycle(0, self.total_steps, pct_start, anneal_strategy)
        # stored as torch stores them, so state_dicts are interchangeable
        self._schedule_phases = [
            {"end_step": end, "start_lr": f"{lr_from}_lr", "end_lr": f"{lr_to}_lr",
             "start_momentum": f"{mom_from}_momentum", "end_momentum": f"{mom_to}_momentum"}
            for end, lr_from, lr_to, mom_from, mom_to
            in F._one_cycle_phases(self.total_steps, pct_start, three_phase)
        ]
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for peak, group in zip(max_lrs, optimizer.param_groups, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._setup_momentum(base_momentum, max_momentum, fresh=last_epoch == -1)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step} times. The specified number of total steps is "
                f"{self.total_steps} (OneCycleLR accepts exactly total_steps calls to step(); "
                "check epochs * steps_per_epoch against the number of batches actually run)"
            )
        phases = [(p["end_step"], p["start_lr"], p["end_lr"], p["start_momentum"], p["end_momentum"])
                  for p in self._schedule_phases]
        phase, pct = F._one_cycle_locate(step, phases)
        _, lr_from, lr_to, mom_from, mom_to = phase
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(F._anneal(self.anneal_strategy, group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                momentum = F._anneal(self.anneal_strategy, group[mom_from], group[mom_to], pct)
                self._set_momentum(group, momentum)
        return lrs

    @property
    def anneal_strategy(self) -> str:
        """``"cos"`` or ``"linear"`` (stored as torch's ``_anneal_func_type``)."""
        return self._anneal_func_type


# --------------------------------------------------------------------------
# chainable schedulers (multiply the current lr; mirror torch's recursions)
# --------------------------------------------------------------------------


class MultiplicativeLR(_WithLambdas):
    r"""``lr ← lr · lr_lambda(epoch)`` at every step (from step 1 on).

    So the rate after e steps is :math:`b \prod_{k=1}^{e} f(k)`; ``f(0)`` is
    never applied.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self._set_lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)]


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps: :math:`b\,\gamma^{\lfloor e/s \rfloor}`.

    Closed form: :func:`lrbook.schedules.step_decay`. Chainable: at a decay
    step the *current* rate is multiplied by ``gamma``.

    Deliberate difference from torch 2.13: ``step_size`` must be ``> 0``
    (``ValueError``); torch accepts 0 and fails with ``ZeroDivisionError`` at
    the first step, and a negative ``step_size`` (meaningless) decays at every step.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = _positive_number("step_size", step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0 or self._is_initial:
            # (the initial step of a resumed run: the loaded rate already holds this step's decay)
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list:
        return [F.step_decay(self.last_epoch, base, self.step_size, self.gamma) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` at each milestone: :math:`b\,\gamma^{\#\{m \le e\}}`.

    Closed form: :func:`lrbook.schedules.multistep_decay`. A milestone listed
    twice multiplies by ``gamma**2`` (torch stores milestones in a ``Counter``).
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        if self.last_epoch not in self.milestones or (self._is_initial and self.last_epoch > 0):
            # (the initial step of a resumed run: the loaded rate already holds this step's decay)
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list:
        points = list(self.milestones.elements())
        return [F.multistep_decay(self.last_epoch, base, points, self.gamma) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Use ``factor · lr`` for the first ``total_iters`` steps, then the full rate.

    A "constant warm-up" (Goyal et al., 2017 found a gradual warm-up better).
    ``total_iters`` may be a whole float (``4.0``) or ``inf`` (never restore),
    as in torch.

    Deliberate differences from torch 2.13 (``ValueError`` here): ``factor``
    must lie in ``(0, 1]`` (torch also accepts ``factor=0`` and then fails
    with ``ZeroDivisionError`` at step ``total_iters``); ``total_iters`` must
    be a whole number ``>= 0`` (a negative or fractional one is never reached,
    so torch silently never restores the rate).
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        if factor == 0:
            raise ValueError(
                "Constant multiplicative factor must be > 0: the rate is restored by "
                "dividing by the factor at step total_iters"
            )
        self.factor = factor
        self.total_iters = _count("total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters or self._is_initial:
            # (the initial step of a resumed run: the loaded rate is already restored)
            return self._current_lrs()
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list:
        scale = self.factor if self.last_epoch < self.total_iters else 1.0
        return [base * scale for base in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Change the rate linearly from ``start_factor · b`` to ``end_factor · b`` over ``total_iters`` steps.

    Closed form: :func:`lrbook.schedules.linear_decay` with
    ``initial_learning_rate = start_factor·b`` and ``end_learning_rate =
    end_factor·b``. The usual per-iteration linear warm-up of Goyal et al.
    (2017) is ``LinearLR(start_factor=1/k, total_iters=warmup_iters)``.

    Deliberate difference from torch 2.13: ``total_iters`` must be a finite
    whole number ``>= 1`` (``4.0`` is accepted, as in torch); torch accepts 0,
    negative, fractional or infinite values and then never reaches
    ``end_factor`` (and ``step(epoch)`` divides by zero for 0).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = _count("total_iters", total_iters, 1, allow_inf=False)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        e, T, s, E = self.last_epoch, self.total_iters, self.start_factor, self.end_factor
        if e == 0:
            return [group["lr"] * s for group in self.optimizer.param_groups]
        if self._is_initial or e > T:
            return self._current_lrs()
        # ratio of consecutive factors: (s + (E-s) e/T) / (s + (E-s)(e-1)/T), torch's form
        ratio = 1.0 + (E - s) / (T * s + (e - 1) * (E - s))
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list:
        return [F.linear_decay(self.last_epoch, base * self.start_factor, self.total_iters,
                               base * self.end_factor) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every step: :math:`b\,\gamma^{e}`.

    Closed form: :func:`lrbook.schedules.exponential_decay` with
    ``decay_steps=1``. The repeated product drifts from ``b * gamma**e`` by
    about one rounding error per step (1e-13 relative after 1000 steps),
    exactly as torch's does. ``gamma=0`` (rate 0 after the first step) is
    accepted, as in torch.

    Deliberate difference from torch 2.13: ``gamma`` must be ``>= 0``
    (``ValueError``); a negative ``gamma`` flips the sign of the rate at every
    step (meaningless), which torch accepts.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _non_negative_number("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list:
        return [F.exponential_decay(self.last_epoch, base, 1, self.gamma) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay to zero as :math:`b\,(1 - \min(e, T)/T)^{p}` over ``total_iters`` = T steps.

    Closed form: :func:`lrbook.schedules.polynomial_decay` with
    ``end_learning_rate=0``. ``power=0`` (a constant rate) and whole floats
    for ``total_iters`` are accepted, as in torch.

    Deliberate differences from torch 2.13 (``ValueError`` here):
    ``total_iters`` must be a finite whole number ``>= 1`` (torch accepts 0,
    negative, fractional or infinite values, which never reach the end of the
    decay); ``power``
    must be ``>= 0`` (torch accepts a negative power and fails with
    ``ZeroDivisionError`` at step ``total_iters``).
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = _count("total_iters", total_iters, 1, allow_inf=False)
        self.power = _non_negative_number("power", power)
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        e, T = self.last_epoch, self.total_iters
        if self._is_initial or e > T:
            return self._current_lrs()
        ratio = ((1.0 - e / T) / (1.0 - (e - 1) / T)) ** self.power
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list:
        return [F.polynomial_decay(self.last_epoch, base, self.total_iters, 0.0, self.power)
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the base rate to ``eta_min`` over ``T_max`` steps.

    Closed form: :func:`lrbook.schedules.cosine_decay` with ``periodic=True``:

    .. math:: \eta_e = \eta_{\min} + \tfrac12 (b - \eta_{\min})(1 + \cos(\pi e / T_{\max})).

    Two facts that surprise people, both as in torch: the curve does **not**
    stop at ``T_max`` (it climbs back to ``b`` at ``2 T_max``; stop stepping
    or use :class:`SequentialLR` to hold it), and each step *multiplies the
    current rate* by a ratio of cosines, so a change made by something else
    (a manual edit, another scheduler) carries on to every later step.

    Deliberate difference from torch 2.13: ``T_max`` must be ``> 0``
    (``ValueError``); torch accepts 0 and fails with ``ZeroDivisionError``,
    and a negative ``T_max`` is meaningless.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = _positive_number("T_max", T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list:
        # torch's recursive form, mirrored operation for operation so the values
        # agree bit for bit (and external changes to the lr persist the same way).
        # (torch 2.13 has one more branch, for _step_count == 1 and last_epoch > 0;
        # the initial-mode check before it makes it unreachable, so it is omitted.)
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (e - 1 - T) % (2 * T) == 0:
            # the step just after a minimum: the ratio below would divide by
            # 1 + cos(pi) = 0, so add the closed-form increment instead
            return [group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, self.optimizer.param_groups, strict=True)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in self.optimizer.param_groups]

    def _closed_form_lr(self) -> list:
        return [F.cosine_decay(self.last_epoch, base, self.T_max, self.eta_min, periodic=True)
                for base in self.base_lrs]


# --------------------------------------------------------------------------
# composition
# --------------------------------------------------------------------------


def _check_members(owner: str, schedulers: Sequence[Any], optimizer: Optimizer) -> None:
    from lrbook.schedules.plateau import ReduceLROnPlateau

    plateau_types: tuple[type, ...] = (ReduceLROnPlateau, torch.optim.lr_scheduler.ReduceLROnPlateau)
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{owner} at index {i} should have `optimizer` as its attribute.")
        if isinstance(scheduler, plateau_types):
            raise ValueError(
                f"{owner} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at "
                f"index {i} in the given schedulers sequence."
            )
        if scheduler.optimizer is not optimizer:
            raise ValueError(
                f"{owner} expects all schedulers to belong to the same optimizer, but got "
                f"scheduler {type(scheduler).__name__} at index {i} with a different optimizer."
            )


class _Composite(LRScheduler):
    """State handling shared by SequentialLR and ChainedScheduler."""

    _schedulers: list

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, scheduler_state in zip(self._schedulers, saved, strict=True):
            scheduler.load_state_dict(scheduler_state)


class SequentialLR(_Composite):
    r"""Run schedulers one after the other, switching at ``milestones``.

    Scheduler ``i`` runs for ``milestones[i-1] <= epoch < milestones[i]``; at
    its milestone it is **restarted at its own epoch 0** (its closed form), so
    e.g. a cosine after a warm-up starts from its base rate. Build the
    schedulers first (their constructors' steps are undone here). The pure
    function equivalent is :func:`lrbook.schedules.join_schedules`.

    One deliberate difference from torch 2.13: ``last_epoch`` other than
    ``-1`` raises ``ValueError`` (torch accepts it and restarts the first
    scheduler, so a resumed run silently repeats the warm-up). Resume with
    ``load_state_dict``.
    """

    def __init__(self, optimizer: Optimizer, schedulers: list, milestones: list[int],
                 last_epoch: int = -1) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        _check_members("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}"
            )
        if last_epoch != -1:
            raise ValueError(
                f"SequentialLR cannot resume exactly from last_epoch={last_epoch} (torch would "
                "restart its first scheduler): build it with last_epoch=-1 and restore the saved "
                "state with scheduler.load_state_dict(state), which resumes every member exactly"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            _write(group, "lr", group["initial_lr"])
        self._undo_constructor_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_constructor_steps(self, scheduler: Any) -> None:
        """Take back the initial step of every (nested) member scheduler."""
        if hasattr(scheduler, "_schedulers"):
            for member in scheduler._schedulers:
                self._undo_constructor_steps(member)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Advance by one step, switching (and restarting) at a milestone."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    r"""Step several schedulers together, every step, in the given order.

    Chainable schedulers multiply the rate in turn, so their effects compose
    (``ConstantLR(0.1, 2)`` + ``ExponentialLR(0.9)``: 0.1, 0.09, 0.81, ...);
    a closed-form scheduler overwrites whatever came before it in the list.
    """

    def __init__(self, schedulers: Sequence[Any], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_members("ChainedScheduler", schedulers, optimizer)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def step(self) -> None:  # type: ignore[override]
        """Step every member scheduler once."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")
