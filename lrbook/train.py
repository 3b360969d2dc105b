"""A small, explicit training loop with schedules, early stopping and exact resume.

:func:`fit` is the loop every chapter shares. One epoch is::

    for x, y in train_data:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)            # non-finite -> TrainingDiverged
        loss.backward()
        clip gradients (optional)
        optimizer.step()
        scheduler.step()                       # if scheduler_interval == "step"
    evaluate on val_data
    scheduler.step()                           # if scheduler_interval == "epoch"
    plateau_scheduler.step(val_loss)           # ReduceLROnPlateau-like
    early_stopping.step(monitored metric, model)
    checkpoint (optional)

The optimizer steps before the scheduler, as torch requires since 1.1. Every
piece of state that influences the run -- model, optimizer, schedulers, early
stopper, history, the data order and the torch/NumPy/Python random generators
-- goes into the checkpoint, so an interrupted run resumed with
``resume=True`` ends with bit-for-bit the same parameters as an uninterrupted
one. Checkpoints hold only tensors and primitive values and are read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["History", "TrainingDiverged", "accuracy", "evaluate", "fit"]

Batch = tuple[Any, Any]
MetricFn = Callable[[torch.Tensor, torch.Tensor], "float | torch.Tensor"]


class TrainingDiverged(RuntimeError):
    """Raised by :func:`fit` when a training loss is NaN or infinite.

    Attributes:
        step: global step (0-based) at which the loss was non-finite.
        epoch: epoch (0-based) of that step.
        lr: learning rate of the first param group at that step.
        loss: the offending loss value.
        history: the :class:`History` recorded up to that point.
    """

    def __init__(self, step: int, epoch: int, lr: float, loss: float, history: History) -> None:
        self.step, self.epoch, self.lr, self.loss, self.history = step, epoch, lr, loss, history
        super().__init__(
            f"training diverged: loss is {loss} at step {step} (epoch {epoch}) "
            f"with learning rate {lr:g}; try a smaller learning rate, warm-up or gradient clipping"
        )


# --------------------------------------------------------------------------
# history
# --------------------------------------------------------------------------


class History:
    """What happened during training, per epoch and per optimizer step.

    Attributes:
        epochs: one dict per epoch with ``epoch``, ``lr`` (first group's lr at
            the start of the epoch), ``train_loss`` (mean over the epoch's
            batches, weighted by batch size, measured while training),
            ``train_<metric>``, ``val_loss``, ``val_<metric>`` and ``time``
            (seconds).
        steps: per-step lists ``step``, ``epoch``, ``lr`` (the lr used by that
            step) and ``loss``; ``grad_norm`` (before clipping) when
            gradients are clipped.
        stopped_epoch: epoch at which early stopping fired, else ``None``.
    """

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []
        self.steps: dict[str, list[float]] = {"step": [], "epoch": [], "lr": [], "loss": []}
        self.stopped_epoch: int | None = None

    def __len__(self) -> int:
        return len(self.epochs)

    def __getitem__(self, key: str) -> np.ndarray:
        """Per-epoch values of ``key`` (``nan`` where an epoch lacks it)."""
        if not any(key in record for record in self.epochs):
            raise KeyError(f"{key!r} was not recorded; available: {self.keys()}")
        return np.array([record.get(key, math.nan) for record in self.epochs], dtype=float)

    def keys(self) -> list[str]:
        """Names of the per-epoch quantities, in first-seen order."""
        names: dict[str, None] = {}
        for record in self.epochs:
            names.update(dict.fromkeys(record))
        return list(names)

    @property
    def num_steps(self) -> int:
        return len(self.steps["step"])

    def best(self, key: str = "val_loss", mode: str = "min") -> tuple[int, float]:
        """``(epoch, value)`` of the best recorded value of ``key``."""
        values = self[key]
        index = int(np.nanargmin(values) if mode == "min" else np.nanargmax(values))
        return int(self.epochs[index]["epoch"]), float(values[index])

    def as_dataframe(self, level: str = "epoch"):
        """A pandas DataFrame of the per-``"epoch"`` or per-``"step"`` records."""
        import pandas as pd

        if level == "epoch":
            return pd.DataFrame(self.epochs, columns=self.keys() or None)
        if level == "step":
            return pd.DataFrame(self.steps)
        raise ValueError(f"level must be 'epoch' or 'step', got {level!r}")

    def plot(
        self, keys: Iterable[str] | None = None, ax=None, logy: bool = False, xlabel: str = "epoch"
    ):
        """Plot per-epoch curves (default: the losses); returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        if keys is None:
            keys = [k for k in ("train_loss", "val_loss") if k in self.keys()]
        epochs = [record["epoch"] for record in self.epochs]
        for key in keys:
            ax.plot(epochs, self[key], marker="o", markersize=3, label=key.replace("_", " "))
        if self.stopped_epoch is not None:
            ax.axvline(self.stopped_epoch, color="0.6", linestyle=":", label="early stop")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss" if all("loss" in k for k in keys) else "value")
        ax.legend()
        return ax

    def state_dict(self) -> dict[str, Any]:
        return {
            "epochs": [dict(record) for record in self.epochs],
            "steps": {k: list(v) for k, v in self.steps.items()},
            "stopped_epoch": self.stopped_epoch,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.epochs = [dict(record) for record in state["epochs"]]
        self.steps = {k: list(v) for k, v in state["steps"].items()}
        self.stopped_epoch = state["stopped_epoch"]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epochs)}, steps={self.num_steps}, keys={self.keys()})"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def accuracy(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max output equals the integer label."""
    return (outputs.argmax(dim=-1) == y).float().mean()


def _as_batches(data: Any) -> Iterable[Batch]:
    """``(X, y)`` tensors mean one full batch; anything else is an iterable of batches."""
    if (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and isinstance(data[0], torch.Tensor)
        and isinstance(data[1], torch.Tensor)
    ):
        return [tuple(data)]
    return data


def _to(value: Any, device: torch.device) -> Any:
    return value.to(device) if isinstance(value, torch.Tensor) else value


def _batch_size(x: Any, y: Any) -> int:
    for item in (y, x):
        if isinstance(item, torch.Tensor) and item.dim() > 0:
            return int(item.shape[0])
    return 1


def _current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _model_device(model: torch.nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    data: Any,
    metrics: Mapping[str, MetricFn] | None = None,
    device: torch.device | str | None = None,
    prefix: str = "",
) -> dict[str, float]:
    """Mean loss and metrics over ``data`` in ``eval()`` mode, without gradients.

    Batch means are weighted by batch size, so for a mean-reduced ``loss_fn``
    the result is the exact mean over all examples. Keys are
    ``f"{prefix}loss"`` and ``f"{prefix}{name}"``. The model's train/eval mode
    is restored.
    """
    device = _model_device(model) if device is None else torch.device(device)
    metrics = dict(metrics or {})
    was_training = model.training
    model.eval()
    totals = {"loss": 0.0, **{name: 0.0 for name in metrics}}
    count = 0
    try:
        for x, y in _as_batches(data):
            x, y = _to(x, device), _to(y, device)
            outputs = model(x)
            n = _batch_size(x, y)
            totals["loss"] += float(loss_fn(outputs, y)) * n
            for name, fn in metrics.items():
                totals[name] += float(fn(outputs, y)) * n
            count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluation data yielded no batches")
    return {f"{prefix}{name}": total / count for name, total in totals.items()}


# --------------------------------------------------------------------------
# random states and checkpoints (tensors and primitives only)
# --------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": version,
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (
            n["name"],
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["internal"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _state_of(obj: Any) -> Any:
    if obj is None or not hasattr(obj, "state_dict"):
        return None
    return obj.state_dict()


def _load_into(obj: Any, state: Any, what: str) -> None:
    if obj is None and state is None:
        return
    if obj is None:
        raise ValueError(f"the checkpoint has {what} state but no {what} was passed to fit")
    if state is None:
        if hasattr(obj, "state_dict"):
            raise ValueError(f"a {what} was passed to fit but the checkpoint has no {what} state")
        return
    obj.load_state_dict(state)


_FORMAT = "lrbook.train/1"


def _save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _is_plateau(scheduler: Any) -> bool:
    return isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) or (
        type(scheduler).__name__ == "ReduceLROnPlateau"
    )


# --------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------


def _optimizer_mode(optimizer, train: bool) -> None:
    """Call ``optimizer.train()`` / ``optimizer.eval()`` where the optimizer has them.

    Schedule-Free optimizers (:class:`lrbook.optim.SGDScheduleFree`,
    :class:`lrbook.optim.AdamWScheduleFree`) take gradients at one point and
    return another (the average) for evaluation; ``eval()`` swaps the model's
    parameters to the average, ``train()`` swaps them back. Other optimizers
    have no such methods and are left alone.
    """
    method = getattr(optimizer, "train" if train else "eval", None)
    if callable(method):
        method()


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    train_data: Any,
    val_data: Any = None,
    num_epochs: int = 10,
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    plateau_scheduler: Any = None,
    early_stopping: Any = None,
    metrics: Mapping[str, MetricFn] | None = None,
    clip_grad_norm: float | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    progress: bool = True,
    device: torch.device | str | None = None,
    history: History | None = None,
) -> History:
    """Train ``model`` for ``num_epochs`` epochs and return its :class:`History`.

    Args:
        model: the network; moved to ``device`` if one is given.
        optimizer: a ``torch.optim``-compatible optimizer (``lrbook.optim`` or
            ``torch.optim``). If it has ``train()``/``eval()`` methods
            (Schedule-Free), ``fit`` calls ``train()`` before each epoch's steps and
            ``eval()`` before evaluating, early stopping and saving, and returns
            with the optimizer in eval mode.
        loss_fn: ``loss_fn(model(x), y)`` -> scalar tensor (mean over the batch).
        train_data: a re-iterable of ``(x, y)`` batches (one pass per epoch),
            e.g. :func:`lrbook.data.batches` or a ``DataLoader``; a pair of
            tensors ``(X, y)`` means full-batch training.
        val_data: evaluation data in the same forms, or ``None``.
        num_epochs: epochs to run in this call (with ``resume``, the total
            for the interrupted call being continued).
        scheduler: any object with ``step()`` (and ``state_dict()`` to be
            checkpointed), e.g. a ``torch.optim.lr_scheduler`` or
            ``lrbook.schedules`` scheduler; stepped after ``optimizer.step()``.
        scheduler_interval: ``"epoch"`` (once per epoch) or ``"step"`` (once
            per batch, e.g. for ``OneCycleLR``).
        plateau_scheduler: a ``ReduceLROnPlateau``-like object, stepped once
            per epoch with ``val_loss`` (``train_loss`` without validation data).
        early_stopping: an :class:`lrbook.early_stopping.EarlyStopping` (or
            anything with ``monitor``, ``step(value, model)`` and
            ``restore(model)``); its ``monitor`` names the epoch quantity
            (``"val_loss"``, ``"train_loss"``, ``"val_accuracy"``...). Like
            Keras' ``on_train_begin`` it is ``reset()`` at the start of every
            call that does not resume, and its best weights are restored at
            the end of training whether or not it stopped (if
            ``restore_best_weights``).
        metrics: name -> ``fn(outputs, y)`` (a batch mean); reported as
            ``train_<name>`` (during training) and ``val_<name>``.
        clip_grad_norm: clip the global gradient norm to this value
            (``torch.nn.utils.clip_grad_norm_``); the pre-clip norm is recorded.
        checkpoint_path: file to save the full training state to.
        checkpoint_every: save every this many epochs (and always after the
            last or stopping epoch).
        resume: continue from ``checkpoint_path`` if it exists (the model,
            optimizer, schedulers, stopper and data must be constructed the
            same way as in the interrupted run); if the file does not exist,
            start from scratch.
        progress: show a tqdm progress bar (use ``False`` in tests and books).
        device: where to train; default: where the model's parameters are.
        history: a :class:`History` to append to (epochs continue its
            numbering), e.g. for a second phase with another optimizer.

    Returns:
        The :class:`History`.

    Raises:
        TrainingDiverged: a training loss was NaN or infinite (the message
            names the step, epoch and learning rate).
    """
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
        )
    if scheduler is not None and _is_plateau(scheduler):
        raise ValueError(
            "ReduceLROnPlateau needs a metric: pass it as plateau_scheduler=, not scheduler="
        )
    if int(num_epochs) != num_epochs or num_epochs < 0:
        raise ValueError(f"num_epochs must be a non-negative integer, got {num_epochs!r}")
    if int(checkpoint_every) != checkpoint_every or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    if resume and checkpoint_path is None:
        raise ValueError("resume=True needs a checkpoint_path")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be positive, got {clip_grad_norm!r}")
    num_epochs = int(num_epochs)
    metrics = dict(metrics or {})

    if device is not None:
        device = torch.device(device)
        model.to(device)
    else:
        device = _model_device(model)
    history = History() if history is None else history
    train_batches = _as_batches(train_data)
    epochs_done = 0
    finished = False

    resuming = resume and os.path.exists(checkpoint_path)
    if not resuming and early_stopping is not None and hasattr(early_stopping, "reset"):
        early_stopping.reset()
    if resuming:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        if checkpoint.get("format") != _FORMAT:
            raise ValueError(f"{checkpoint_path} is not an lrbook.train checkpoint")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        _load_into(scheduler, checkpoint["scheduler"], "scheduler")
        _load_into(plateau_scheduler, checkpoint["plateau_scheduler"], "plateau_scheduler")
        _load_into(early_stopping, checkpoint["early_stopping"], "early_stopping")
        if checkpoint["train_data"] is not None:
            train_batches.load_state_dict(checkpoint["train_data"])
        history.load_state_dict(checkpoint["history"])
        _set_rng_state(checkpoint["rng"])
        epochs_done = int(checkpoint["epochs_done"])
        finished = bool(checkpoint["finished"])

    def save(epoch_done: int, is_finished: bool) -> None:
        _save_checkpoint(
            checkpoint_path,
            {
                "format": _FORMAT,
                "epochs_done": epoch_done,
                "finished": is_finished,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": _state_of(scheduler),
                "plateau_scheduler": _state_of(plateau_scheduler),
                "early_stopping": _state_of(early_stopping),
                "train_data": _state_of(train_batches)
                if hasattr(train_batches, "load_state_dict")
                else None,
                "history": history.state_dict(),
                "rng": _rng_state(),
            },
        )

    bar = None
    if progress and not finished and epochs_done < num_epochs:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_epochs, initial=epochs_done, unit="epoch")

    try:
        while not finished and epochs_done < num_epochs:
            epoch = int(history.epochs[-1]["epoch"]) + 1 if history.epochs else 0
            started = time.perf_counter()
            record: dict[str, float] = {"epoch": epoch, "lr": _current_lr(optimizer)}
            totals = {"loss": 0.0, **{name: 0.0 for name in metrics}}
            count = 0
            model.train()
            _optimizer_mode(optimizer, train=True)
            for x, y in train_batches:
                x, y = _to(x, device), _to(y, device)
                step = history.num_steps
                lr = _current_lr(optimizer)
                optimizer.zero_grad()
                outputs = model(x)
                loss = loss_fn(outputs, y)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainingDiverged(step, epoch, lr, value, history)
                loss.backward()
                if clip_grad_norm is not None:
                    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                    history.steps.setdefault("grad_norm", []).append(float(norm))
                optimizer.step()
                if scheduler is not None and scheduler_interval == "step":
                    scheduler.step()
                n = _batch_size(x, y)
                count += n
                totals["loss"] += value * n
                if metrics:
                    with torch.no_grad():
                        detached = outputs.detach()
                        for name, fn in metrics.items():
                            totals[name] += float(fn(detached, y)) * n
                for key, item in (("step", step), ("epoch", epoch), ("lr", lr), ("loss", value)):
                    history.steps[key].append(item)
            if count == 0:
                raise ValueError("train_data yielded no batches")
            record.update({f"train_{name}": total / count for name, total in totals.items()})
            # Schedule-Free optimizers evaluate, stop early and save at their average point
            _optimizer_mode(optimizer, train=False)
            if val_data is not None:
                record.update(evaluate(model, loss_fn, val_data, metrics, device, prefix="val_"))
            if scheduler is not None and scheduler_interval == "epoch":
                scheduler.step()
            if plateau_scheduler is not None:
                plateau_scheduler.step(
                    record["val_loss"] if "val_loss" in record else record["train_loss"]
                )
            record["time"] = time.perf_counter() - started
            history.epochs.append(record)
            if early_stopping is not None:
                if early_stopping.step(record.get(early_stopping.monitor), model):
                    history.stopped_epoch = epoch
                    finished = True
            epochs_done += 1
            if bar is not None:
                bar.update(1)
                shown = {k: f"{record[k]:.4g}" for k in ("train_loss", "val_loss") if k in record}
                bar.set_postfix(shown)
            if checkpoint_path is not None and (
                finished or epochs_done == num_epochs or epochs_done % checkpoint_every == 0
            ):
                save(epochs_done, finished)
    finally:
        if bar is not None:
            bar.close()

    if early_stopping is not None and hasattr(early_stopping, "restore"):
        early_stopping.restore(model)
    return history
