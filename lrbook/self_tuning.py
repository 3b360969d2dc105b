r"""Helpers of the chapter *Learning rates that tune themselves*.

- :func:`train_any` trains one model with **any** optimizer of the chapter:
  those that need the minibatch loss in ``step(closure)`` (:class:`lrbook.optim.SPS`,
  :class:`lrbook.optim.SLS`: the closure returns the loss, the optimizer
  back-propagates), those with ``train()``/``eval()`` modes (Schedule-Free:
  ``eval()`` before every evaluation, ``train()`` after) and plain
  ``torch.optim`` optimizers with an optional ``LambdaLR`` factor. For a plain
  optimizer it is the run :func:`lrbook.models.train_steps` makes (same initial
  weights, minibatches, schedule and evaluations; checked in the tests), plus
  the cost in forward and backward passes and in CPU seconds.
- :func:`unrolled_val_loss` and :func:`meta_learn_lr`: the validation loss after
  ``U`` steps of SGD as a differentiable function of :math:`\log\eta`
  (back-propagation through the whole unrolled run, Maclaurin et al. 2015), and
  gradient descent on :math:`\log\eta` with it.
- :func:`summarise_runs`: one row of the chapter's comparison tables (test
  accuracy, and the cost of reaching a target validation accuracy counted from
  the start of all work, tuning included).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

import lrbook.stats
from lrbook.models import _endless, _eval_model, steps_to_target

__all__ = ["AnyRun", "meta_learn_lr", "summarise_runs", "train_any", "unrolled_val_loss"]


@dataclass
class AnyRun:
    """Result of :func:`train_any`: the evaluation ``history``, the trained ``model``,
    its ``optimizer`` (left in ``eval()`` mode if it has modes) and the CPU ``seconds``."""

    history: pd.DataFrame
    model: nn.Module
    optimizer: torch.optim.Optimizer
    seconds: float


def _effective_lr(group: Mapping) -> float:
    """The step size a group applies: ``lr``, times ``d`` for D-Adaptation and Prodigy."""
    return float(group["lr"]) * float(group.get("d", 1.0))


def train_any(
    make_model: Callable[[], nn.Module],
    make_optimizer: Callable[[object], torch.optim.Optimizer],
    seed: int,
    X_train: Tensor,
    y_train: Tensor,
    evals: Mapping[str, tuple[Tensor, Tensor]],
    num_steps: int,
    batch_size: int,
    eval_every: int = 100,
    factor: Callable[[int], float] | None = None,
) -> AnyRun:
    r"""Train one model for ``num_steps`` minibatch steps (cross-entropy) with any optimizer.

    ``torch.manual_seed(seed)`` draws the initial weights and the minibatches
    come from a generator seeded with ``seed``, as in
    :func:`lrbook.models.train_steps`. ``make_optimizer(params)`` builds the
    optimizer; if its class has ``requires_loss_closure = True`` (SPS, SLS) each
    step is ``optimizer.step(closure)`` with a closure that returns the
    minibatch loss, otherwise the usual ``zero_grad``/``backward``/``step``. An
    optimizer with ``train``/``eval`` methods (Schedule-Free) is switched to
    ``eval()`` for every evaluation and back to ``train()`` afterwards.
    ``factor(t)`` multiplies the base rate through ``LambdaLR``.

    ``history`` has one row per evaluation: ``step``, ``seconds`` (CPU time of
    training so far, ``time.process_time``, evaluation excluded), ``lr`` (the
    step size applied: ``lr``, times ``d`` for D-Adaptation and Prodigy),
    ``forwards`` and ``backwards`` (passes over a minibatch so far, line-search
    trials included) and ``{split}_loss``, ``{split}_acc``.

    Raises ``ValueError`` for a non-positive budget.
    """
    for name, v in (("num_steps", num_steps), ("eval_every", eval_every), ("batch_size", batch_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    torch.manual_seed(seed)
    # integer inputs (token ids) keep the model's own floating dtype
    dtype = X_train.dtype if X_train.is_floating_point() else None
    model = make_model().to(device=X_train.device, dtype=dtype)
    optimizer = make_optimizer(model.parameters())
    needs_closure = getattr(type(optimizer), "requires_loss_closure", False)
    has_modes = callable(getattr(optimizer, "eval", None)) and callable(getattr(optimizer, "train", None))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor) if factor is not None else None
    data = _endless(X_train, y_train, batch_size, seed)
    rows, seconds, forwards, backwards = [], 0.0, 0, 0

    def record(step: int) -> None:
        if has_modes:
            optimizer.eval()  # Schedule-Free: evaluate the averaged weights x_t, not y_t
        row = {"step": step, "seconds": seconds, "lr": _effective_lr(optimizer.param_groups[0]),
               "forwards": forwards, "backwards": backwards}
        for split, (X, y) in evals.items():
            row[f"{split}_loss"], row[f"{split}_acc"] = _eval_model(model, X, y)
        rows.append(row)
        if has_modes:
            optimizer.train()

    if has_modes:
        optimizer.train()
    record(0)
    for step in range(1, num_steps + 1):
        t0 = time.process_time()
        xb, yb = next(data)
        if needs_closure:
            optimizer.step(lambda xb=xb, yb=yb: nn.functional.cross_entropy(model(xb), yb))
            forwards = int(optimizer.state.get("n_forwards", forwards + 1))
        else:
            loss = nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            forwards += 1
        backwards += 1
        if scheduler is not None:
            scheduler.step()
        seconds += time.process_time() - t0
        if step % eval_every == 0 or step == num_steps:
            record(step)
    if has_modes:
        optimizer.eval()  # leave the model holding the weights one would save
    return AnyRun(pd.DataFrame(rows), model, optimizer, seconds)


def unrolled_val_loss(
    log_lr: Tensor,
    params: Sequence[Tensor],
    forward: Callable[[Sequence[Tensor], Tensor], Tensor],
    batches: Sequence[tuple[Tensor, Tensor]],
    X_val: Tensor,
    y_val: Tensor,
) -> Tensor:
    r"""Validation loss after ``U = len(batches)`` SGD steps, differentiable in :math:`\log\eta`.

    .. math:: \theta_k = \theta_{k-1} - e^{\log\eta}\,\nabla f_{B_k}(\theta_{k-1}),
              \qquad F(\log\eta) = f_{\mathrm{val}}(\theta_U)

    ``forward(params, x)`` maps the parameter list and inputs to logits;
    ``params`` are the initial weights :math:`\theta_0` (not modified). Every
    inner gradient is taken with ``create_graph=True``, so
    ``torch.autograd.grad(F, log_lr)`` back-propagates through the whole run
    (memory grows with :math:`U`).
    """
    eta = log_lr.exp()
    theta = [p.detach().requires_grad_(True) for p in params]
    for xb, yb in batches:
        loss = nn.functional.cross_entropy(forward(theta, xb), yb)
        grads = torch.autograd.grad(loss, theta, create_graph=True)
        theta = [p - eta * g for p, g in zip(theta, grads, strict=True)]  # θ_k = θ_{k-1} - η g
    return nn.functional.cross_entropy(forward(theta, X_val), y_val)


def meta_learn_lr(
    log_lr0: float,
    params: Sequence[Tensor],
    forward: Callable[[Sequence[Tensor], Tensor], Tensor],
    batches: Sequence[tuple[Tensor, Tensor]],
    X_val: Tensor,
    y_val: Tensor,
    meta_steps: int = 30,
    meta_lr: float = 0.1,
) -> pd.DataFrame:
    r"""Adam on :math:`\log\eta` with the gradient of :func:`unrolled_val_loss`.

    Every meta-step runs the same unrolled training (same initial weights and
    minibatches) and takes one Adam step (learning rate ``meta_lr``) on
    :math:`\log\eta`. Returns one row per meta-step: ``meta_step``, ``lr``
    (:math:`\eta` before the step), ``val_loss`` (:math:`F`) and ``meta_grad``
    (:math:`\partial F/\partial\log\eta`).

    Raises ``ValueError`` for a non-finite ``log_lr0`` or a non-positive
    ``meta_steps``/``meta_lr``.
    """
    if not math.isfinite(log_lr0):
        raise ValueError(f"log_lr0 must be finite, got {log_lr0!r}")
    if int(meta_steps) != meta_steps or meta_steps < 1:
        raise ValueError(f"meta_steps must be a positive integer, got {meta_steps!r}")
    if not meta_lr > 0:
        raise ValueError(f"meta_lr must be > 0, got {meta_lr!r}")
    log_lr = torch.tensor(float(log_lr0), dtype=X_val.dtype, requires_grad=True)
    meta = torch.optim.Adam([log_lr], lr=meta_lr)
    rows = []
    for k in range(meta_steps):
        F = unrolled_val_loss(log_lr, params, forward, batches, X_val, y_val)
        (grad,) = torch.autograd.grad(F, log_lr)
        rows.append({"meta_step": k, "lr": math.exp(float(log_lr.detach())), "val_loss": float(F.detach()),
                     "meta_grad": float(grad)})
        log_lr.grad = grad
        meta.step()
    return pd.DataFrame(rows)


def summarise_runs(
    name: str,
    histories: Sequence[pd.DataFrame],
    num_steps: int,
    target: float,
    cpu_per_run: float,
    tuning_steps: int = 0,
    tuning_seconds: float = 0.0,
) -> dict:
    r"""One row of a comparison table from the histories of one method's report runs.

    ``histories``: one per report seed, each with the columns ``step``,
    ``val_acc``, ``test_acc`` and ``forwards`` of :func:`train_any` (for a run
    without line search, ``forwards`` equals ``step``), all runs of length
    ``num_steps``. The time to target of one run is the first evaluated step
    with ``val_acc >= target`` (:func:`lrbook.models.steps_to_target`); its CPU
    seconds are ``cpu_per_run`` (one full run) times that fraction of
    ``num_steps``. A method that was tuned first pays ``tuning_steps``
    backward passes (and as many forward passes) and ``tuning_seconds``
    before its report run.

    Returns a dict with ``method``; ``runs`` (full-length runs paid for,
    ``1 + tuning_steps // num_steps``); ``test acc`` (a
    :class:`lrbook.stats.MeanSE` of the final test accuracies); ``reached``
    (``"k/n"`` seeds that reached the target); ``backward passes to
    target``, ``forward passes to target`` and ``CPU s to target`` (tuning cost
    plus the mean over the seeds; ``inf`` unless every seed reached the
    target); ``accs`` (the final test accuracies, an array, for paired
    differences).

    Raises ``ValueError`` for no histories, fewer than two (no standard error)
    or a history that does not end at ``num_steps``.
    """
    if len(histories) < 2:
        raise ValueError(f"histories must hold at least 2 runs (one per report seed), got {len(histories)}")
    if any(int(h.step.iloc[-1]) != num_steps for h in histories):
        raise ValueError(f"every history must end at num_steps={num_steps}")
    acc = np.array([float(h.test_acc.iloc[-1]) for h in histories])
    steps = np.array([steps_to_target(h.step, h.val_acc, target) for h in histories])
    reached = bool(np.isfinite(steps).all())
    fwd = np.array([np.interp(s, h.step, h.forwards) if np.isfinite(s) else np.inf
                    for s, h in zip(steps, histories, strict=True)])
    return {"method": name, "runs": 1 + tuning_steps // num_steps, "test acc": lrbook.stats.mean_se(acc),
            "reached": f"{int(np.isfinite(steps).sum())}/{len(steps)}",
            "backward passes to target": tuning_steps + steps.mean() if reached else math.inf,
            "forward passes to target": tuning_steps + fwd.mean() if reached else math.inf,
            "CPU s to target": tuning_seconds + cpu_per_run * steps.mean() / num_steps if reached else math.inf,
            "accs": acc}
