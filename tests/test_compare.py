"""Tests for lrbook.compare: side-by-side training equals one-by-one training,
and the tuning protocol chooses and reports what it says it does."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import lrbook.optim
from lrbook import compare

OPTIMIZERS = {
    "SGD + Nesterov": lambda p, lr: lrbook.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "RMSprop": lambda p, lr: lrbook.optim.RMSprop(p, lr=lr),
    "Adadelta": lambda p, lr: lrbook.optim.Adadelta(p, lr=lr),
    "AdamW": lambda p, lr: lrbook.optim.AdamW(p, lr=lr),
}


def _toy_task(num_epochs: int = 3, dtype=torch.float64, make_model=None) -> compare.Task:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(90, 5, generator=gen, dtype=dtype)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    make_model = make_model or (lambda: nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)))
    return compare.Task("toy", X[:50], y[:50], X[50:70], y[50:70], X[70:], y[70:],
                        make_model, batch_size=16, num_epochs=num_epochs)


def test_population_equals_single_runs_in_float64() -> None:
    task = _toy_task()
    lrs, seeds = [0.003, 0.1], [1, 2]
    pop = compare.train_population(task, OPTIMIZERS, lrs, seeds)
    assert len(pop.results) == len(OPTIMIZERS) * len(lrs) * len(seeds)
    for name in OPTIMIZERS:
        for lr in lrs:
            for j, seed in enumerate(seeds):
                alone = compare.train_single(task, OPTIMIZERS[name], lr, seed)
                row = pop.results[(pop.results.optimizer == name) & (pop.results.lr == lr)
                                  & (pop.results.seed == seed)].iloc[0]
                for key in ("train_loss", "val_loss", "test_loss"):
                    assert row[key] == pytest.approx(alone[key], rel=1e-10), (name, lr, key)
                for key in ("val_acc", "test_acc"):  # lrbook.train.accuracy is float32
                    assert row[key] == pytest.approx(alone[key], abs=1e-6), (name, lr, key)
                np.testing.assert_allclose(pop.curves[(name, lr)][j, 1:], alone["curve"], rtol=1e-10)
                assert row.steps == alone["steps"] == task.num_steps


def test_seeds_change_init_and_order_but_are_reproducible() -> None:
    task = _toy_task(num_epochs=1)
    opts = {"AdamW": OPTIMIZERS["AdamW"]}
    a = compare.train_population(task, opts, [0.01], [1, 2]).results
    b = compare.train_population(task, opts, [0.01], [1, 2]).results
    assert a.val_loss.tolist() == b.val_loss.tolist()
    assert a.val_loss.iloc[0] != a.val_loss.iloc[1]


def test_diverged_members_are_frozen_and_do_not_disturb_the_others() -> None:
    task = _toy_task()
    opts = {"SGD + Nesterov": OPTIMIZERS["SGD + Nesterov"]}
    pop = compare.train_population(task, opts, [0.05, 1e308], [1])
    big = pop.results[pop.results.lr == 1e308].iloc[0]
    small = pop.results[pop.results.lr == 0.05].iloc[0]
    assert big.diverged and math.isinf(big.val_loss)
    assert not small.diverged
    alone = compare.train_single(task, opts["SGD + Nesterov"], 0.05, 1)
    assert small.val_loss == pytest.approx(alone["val_loss"], rel=1e-10)


def test_compare_picks_lowest_mean_tuning_loss_and_reports_other_seeds() -> None:
    task = _toy_task()
    lrs = [1e-4, 1e-2, 1.0, 1e6]
    result = compare.compare(task, OPTIMIZERS, lrs, tuning_seeds=[7], report_seeds=[1, 2])
    assert set(result.tuning.seed) == {7} and set(result.report.seed) == {1, 2}
    for name in OPTIMIZERS:
        rows = result.tuning[result.tuning.optimizer == name]
        expected = rows.loc[rows.val_loss.idxmin(), "lr"]
        assert result.best_lr[name] == expected
        assert result.best_lr[name] != 1e6  # diverged runs are never chosen
    summary = result.summary()
    assert list(summary.index) == list(OPTIMIZERS)
    assert (summary.num_seeds == 2).all()
    for name, s in summary.iterrows():
        chosen = result.report[(result.report.optimizer == name) & (result.report.lr == s.lr)]
        assert s.val_loss_mean == pytest.approx(chosen.val_loss.mean())
        assert s.lr_at_edge == (s.lr in (min(lrs), max(lrs)))
    assert result.report_curves[("AdamW", 1e-2)].shape == (2, task.num_epochs + 1)


def test_compare_rejects_overlapping_seeds() -> None:
    with pytest.raises(ValueError, match="overlap"):
        compare.compare(_toy_task(), OPTIMIZERS, [0.1], tuning_seeds=[0, 1], report_seeds=[1, 2])


def test_unsupported_model_is_rejected() -> None:
    task = _toy_task(make_model=lambda: nn.Sequential(nn.Linear(5, 3), nn.Dropout(0.1)))
    with pytest.raises(TypeError, match="supports nn.Linear"):
        compare.train_population(task, OPTIMIZERS, [0.1], [0])


def test_task_loaders_have_disjoint_splits_of_the_right_shape() -> None:
    task = compare.breast_cancer_task(num_epochs=1)
    assert len(task.X_train) + len(task.X_val) + len(task.X_test) == 569
    assert task.X_train.shape[1] == 30
    torch.testing.assert_close(task.X_train.mean(0), torch.zeros(30), atol=1e-5, rtol=0)
    digits = compare.digits_task(num_epochs=1)
    assert len(digits.X_train) + len(digits.X_val) + len(digits.X_test) == 1797
    rows = {tuple(r) for r in digits.X_train.tolist()}
    assert not rows & {tuple(r) for r in digits.X_val.tolist()}


def test_summary_standard_errors_and_paired_difference() -> None:
    task = _toy_task()
    result = compare.compare(task, OPTIMIZERS, [1e-3, 1e-2, 0.1], tuning_seeds=[7, 8],
                             report_seeds=[1, 2, 3])
    summary = result.summary()
    tuned = result.tuned()
    for name, s in summary.iterrows():
        values = tuned[tuned.optimizer == name].test_loss
        assert s.test_loss_std == pytest.approx(values.std(ddof=1))
        assert s.test_loss_se == pytest.approx(values.std(ddof=1) / math.sqrt(3))
    d = result.difference("AdamW", "RMSprop", "test_loss")
    a = tuned[tuned.optimizer == "AdamW"].sort_values("seed").test_loss.to_numpy()
    b = tuned[tuned.optimizer == "RMSprop"].sort_values("seed").test_loss.to_numpy()
    assert d.mean == pytest.approx(np.mean(a - b))
    assert d.se == pytest.approx(np.std(a - b, ddof=1) / math.sqrt(3))
    assert result.difference("AdamW", "AdamW").mean == 0.0
    with pytest.raises(KeyError, match="unknown optimizer"):
        result.difference("AdamW", "Lion")
    with pytest.raises(ValueError, match="column"):
        result.difference("AdamW", "RMSprop", "seed")
