r"""The learning-rate range test in its two forms: Smith's (2017) and fastai's.

**Smith's test** (:func:`smith_range_test`), from "Cyclical Learning Rates for
Training Neural Networks" (Smith 2017, section 3.3): train for a few epochs
while the learning rate rises *linearly* from a low to a high value, evaluate
the *accuracy* along the way, and read two bounds for a cyclical schedule from
the curve: where the accuracy starts to rise (``base_lr``) and where it stops
rising, turns ragged or falls (``max_lr``).

**fastai's test** (:func:`lr_find`, Howard & Gugger 2020; ``Learner.lr_find``)
trains for about 100 iterations while raising the learning rate
*exponentially* from ``start_lr`` to ``end_lr``,

.. math:: \eta_i = \eta_{\text{start}} \left(\frac{\eta_{\text{end}}}{\eta_{\text{start}}}\right)^{i/(N-1)},
          \qquad i = 0, \dots, N-1,

records the *training loss* of every minibatch and smooths it with a
bias-corrected exponential moving average with smoothing factor
:math:`\omega` (argument ``beta``, fastai's ``beta=0.98``),

.. math:: a_i = \omega a_{i-1} + (1-\omega)\,\ell_i, \quad a_{-1} = 0, \qquad
          \bar\ell_i = \frac{a_i}{1-\omega^{i+1}} ,

and stops early once :math:`\bar\ell_i > c \cdot \min_{j \le i} \bar\ell_j`
(``diverge_threshold`` :math:`c`, 4 by default) or a loss is not finite.
Afterwards the model and the optimizer are put back exactly as they were
(parameters, buffers, gradients, optimizer state and learning rates): the sweep is a
measurement, not training.

Two of fastai's readings of the curve are returned: the learning rate where
the smoothed loss falls fastest (steepest negative slope against
:math:`\log \eta`, fastai's ``steep``), and one tenth of the learning rate with
the lowest smoothed loss (fastai's ``minimum``). Both are heuristics; the plot
is the real output.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["LRFinderResult", "RangeTestResult", "lr_find", "smith_range_test"]


@dataclass
class LRFinderResult:
    """Outcome of :func:`lr_find`.

    Attributes:
        lrs: learning rate of every iteration run.
        losses: raw minibatch loss of every iteration.
        smoothed_losses: bias-corrected exponentially smoothed losses.
        suggestion_steepest: lr at the steepest descent of the smoothed loss
            (``nan`` if too few points).
        suggestion_min_div10: lr with the lowest smoothed loss, divided by 10.
        stop_reason: ``"completed"``, ``"diverged"`` or ``"non-finite loss"``.
        skip_start: points ignored at the start when suggesting.
        skip_end: points ignored at the end when suggesting.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestion_steepest: float
    suggestion_min_div10: float
    stop_reason: str
    skip_start: int = 0
    skip_end: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_iter(self) -> int:
        """Number of iterations that were run."""
        return len(self.lrs)

    def plot(self, ax=None, smoothed: bool = True, raw: bool = True, suggestions: bool = True):
        """Loss against learning rate (log x-axis), suggestions marked; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        if raw:
            ax.plot(self.lrs, self.losses, color="0.75", linewidth=1, label="loss")
        if smoothed:
            ax.plot(self.lrs, self.smoothed_losses, linewidth=2, label="smoothed loss")
        if suggestions:
            marks = [
                (self.suggestion_steepest, "steepest descent", "C1", "o"),
                (self.suggestion_min_div10, "minimum / 10", "C2", "s"),
            ]
            for lr, label, color, marker in marks:
                if math.isfinite(lr):
                    y = float(np.interp(math.log(lr), np.log(self.lrs), self.smoothed_losses))
                    ax.plot(
                        [lr],
                        [y],
                        marker=marker,
                        color=color,
                        linestyle="none",
                        markersize=8,
                        label=f"{label}: {lr:.2g}",
                    )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


def _cycle(data: Iterable) -> Iterable:
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise ValueError("data yielded no batches")


def _suggestions(
    lrs: np.ndarray, smoothed: np.ndarray, skip_start: int, skip_end: int
) -> tuple[float, float]:
    n = len(lrs)
    lo, hi = skip_start, n - skip_end
    if hi - lo < 2:  # too few points once trimmed: use everything
        lo, hi = 0, n
    x, y = np.log(lrs[lo:hi]), smoothed[lo:hi]
    min_div10 = float(lrs[lo:hi][int(np.argmin(y))] / 10.0) if len(y) else math.nan
    if len(y) < 2:
        return math.nan, min_div10
    slopes = np.diff(y) / np.diff(x)
    steepest = float(lrs[lo:hi][int(np.argmin(slopes))])
    return steepest, min_div10


def _move(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    return batch


def lr_find(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    data: Iterable,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_iter: int = 100,
    beta: float = 0.98,
    diverge_threshold: float = 4.0,
    skip_start: int | None = None,
    skip_end: int = 5,
    device: torch.device | str | None = None,
    restore_rng: bool = True,
) -> LRFinderResult:
    r"""Run the learning-rate range test and restore everything afterwards.

    Args:
        model: the network (switched to ``train()`` for the sweep; its mode is
            restored).
        optimizer: any ``torch.optim``-style optimizer over the model's
            parameters; every param group's ``lr`` follows the sweep.
        loss_fn: ``loss_fn(model(x), y)`` returning a scalar tensor.
        data: an iterable of ``(x, y)`` batches; it is re-iterated (cycled) if
            it runs out before ``num_iter`` iterations.
        start_lr, end_lr: the sweep's first and last learning rate
            (``0 < start_lr < end_lr``).
        num_iter: number of iterations (:math:`N \ge 2`).
        beta: smoothing factor :math:`\omega \in [0, 1)` (0: no smoothing).
        diverge_threshold: stop when the smoothed loss exceeds this multiple
            of the best smoothed loss (``None`` or ``inf``: never).
        skip_start, skip_end: points left out at the start (default
            ``num_iter // 10``) and end when computing the suggestions, where
            the curve is noisiest.
        device: where to put each batch; default: the model's first
            parameter's device.
        restore_rng: also restore torch's global random state (and the data's
            ``state_dict()``, if it has one) so that running the finder does not
            change what happens afterwards.

    Returns:
        An :class:`LRFinderResult`.
    """
    if not (start_lr > 0 and end_lr > start_lr):
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if int(num_iter) != num_iter or num_iter < 2:
        raise ValueError(f"num_iter must be an integer >= 2, got {num_iter!r}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    if diverge_threshold is not None and not diverge_threshold > 1.0:
        raise ValueError(f"diverge_threshold must be > 1 (or None), got {diverge_threshold!r}")
    if skip_start is None:
        skip_start = num_iter // 10
    if skip_start < 0 or skip_end < 0:
        raise ValueError("skip_start and skip_end must be >= 0")
    num_iter = int(num_iter)
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)

    # -- snapshot everything the sweep changes
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    grads = [(p, None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()]
    rng_state = torch.get_rng_state() if restore_rng else None
    cuda_rng = torch.cuda.get_rng_state_all() if restore_rng and torch.cuda.is_available() else None
    data_state = None
    if restore_rng and hasattr(data, "state_dict") and hasattr(data, "load_state_dict"):
        data_state = copy.deepcopy(data.state_dict())

    ratio = end_lr / start_lr
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    stop_reason = "completed"
    average, best = 0.0, math.inf
    try:
        model.train()
        batches = iter(_cycle(data))
        for i in range(num_iter):
            lr = start_lr * ratio ** (i / (num_iter - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(batches)
            x, y = _move(x, device), _move(y, device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            value = float(loss.detach())
            if not math.isfinite(value):
                stop_reason = "non-finite loss"
                break
            loss.backward()
            optimizer.step()
            average = beta * average + (1.0 - beta) * value
            smooth = average / (1.0 - beta ** (i + 1))
            lrs.append(lr)
            losses.append(value)
            smoothed.append(smooth)
            best = min(best, smooth)
            if diverge_threshold is not None and smooth > diverge_threshold * best:
                stop_reason = "diverged"
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        for p, g in grads:
            p.grad = g
        model.train(was_training)
        if rng_state is not None:
            torch.set_rng_state(rng_state)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        if data_state is not None:
            data.load_state_dict(data_state)

    lrs_a, losses_a, smoothed_a = np.array(lrs), np.array(losses), np.array(smoothed)
    if len(lrs_a):
        steepest, min_div10 = _suggestions(lrs_a, smoothed_a, skip_start, skip_end)
    else:
        steepest = min_div10 = math.nan
    return LRFinderResult(
        lrs=lrs_a,
        losses=losses_a,
        smoothed_losses=smoothed_a,
        suggestion_steepest=steepest,
        suggestion_min_div10=min_div10,
        stop_reason=stop_reason,
        skip_start=skip_start,
        skip_end=skip_end,
    )


# --------------------------------------------------------------------------
# Smith's (2017) range test: linear ramp over epochs, accuracy, cyclical bounds
# --------------------------------------------------------------------------


@dataclass
class RangeTestResult:
    """Outcome of :func:`smith_range_test`.

    Attributes:
        lrs: learning rate at each evaluation (the rate of the step just taken).
        accuracies: validation accuracy at each evaluation, in ``[0, 1]``.
        base_lr: first rate whose accuracy has risen by ``rise`` of the way
            from the first to the best accuracy (Smith: "when the accuracy
            starts to increase").
        max_lr: rate of the best accuracy (Smith: "when the accuracy slows,
            becomes ragged, or starts to fall").
    """

    lrs: np.ndarray
    accuracies: np.ndarray
    base_lr: float
    max_lr: float


def smith_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    data: Iterable,
    val_data: tuple[torch.Tensor, torch.Tensor],
    min_lr: float,
    max_lr: float,
    num_epochs: int = 4,
    evals_per_epoch: int = 4,
    rise: float = 0.1,
) -> RangeTestResult:
    r"""Smith's (2017) range test: a linear learning-rate ramp watched through validation accuracy.

    The rate of step :math:`i` of :math:`N` (``num_epochs`` passes over
    ``data``) is :math:`\eta_i = \eta_{lo} + (\eta_{hi} - \eta_{lo})\, i/(N-1)`.
    The validation accuracy is measured ``evals_per_epoch`` times per epoch.
    The two bounds are read off by a fixed rule (Smith reads them by eye):
    ``base_lr`` is the first rate whose accuracy exceeds
    :math:`a_0 + \text{rise}\,(a_{\max} - a_0)`, ``max_lr`` the rate of the
    best accuracy. The model and the optimizer are restored afterwards, as by
    :func:`lr_find`.

    Args:
        val_data: ``(X_val, y_val)`` with integer class labels.
        min_lr, max_lr: ends of the ramp (``0 <= min_lr < max_lr``).
        num_epochs: passes over ``data`` (Smith: "a few epochs").
        evals_per_epoch: evaluations per epoch (``>= 1``).
        rise: fraction in ``(0, 1)`` that defines ``base_lr``.

    Returns:
        A :class:`RangeTestResult`.
    """
    if not (min_lr >= 0 and max_lr > min_lr):
        raise ValueError(f"need 0 <= min_lr < max_lr, got min_lr={min_lr}, max_lr={max_lr}")
    if int(num_epochs) != num_epochs or num_epochs < 1:
        raise ValueError(f"num_epochs must be a positive integer, got {num_epochs!r}")
    if int(evals_per_epoch) != evals_per_epoch or evals_per_epoch < 1:
        raise ValueError(f"evals_per_epoch must be a positive integer, got {evals_per_epoch!r}")
    if not 0 < rise < 1:
        raise ValueError(f"rise must be in (0, 1), got {rise!r}")
    batches = list(data)
    if not batches:
        raise ValueError("data yielded no batches")
    total = len(batches) * int(num_epochs)
    every = max(1, len(batches) // int(evals_per_epoch))
    X_val, y_val = val_data
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    lrs, accs = [], []
    try:
        for i in range(total):
            lr = min_lr + (max_lr - min_lr) * i / max(total - 1, 1)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = batches[i % len(batches)]
            model.train()
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            if (i + 1) % every == 0 or i == total - 1:
                model.eval()
                with torch.no_grad():
                    out = model(X_val)
                acc = float((out.argmax(dim=-1) == y_val).double().mean()) if torch.isfinite(
                    out).all() else 0.0
                lrs.append(lr)
                accs.append(acc)
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        model.train(was_training)
    lrs_a, accs_a = np.array(lrs), np.array(accs)
    best = int(np.argmax(accs_a))
    bar = accs_a[0] + rise * (accs_a[best] - accs_a[0])
    first = int(np.argmax(accs_a > bar)) if accs_a[best] > accs_a[0] else 0
    return RangeTestResult(lrs_a, accs_a, float(lrs_a[first]), float(lrs_a[best]))
