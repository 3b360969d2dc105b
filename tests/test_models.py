"""Models of the case studies and the vectorised population trainer."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

from lrbook.models import (
    CNN1D,
    GRU1D,
    MLP,
    LogisticRegression,
    MnistCNN,
    count_params,
    steps_to_target,
    train_steps,
    train_vmapped,
)


@pytest.mark.parametrize(
    "make, shape, params",
    [
        (LogisticRegression, (3, 40), 40 * 10 + 10),
        (MLP, (3, 40), (40 * 100 + 100) + (100 * 100 + 100) + (100 * 10 + 10)),
        # reference ConvBase: 25 channels, 125 features into the read-out
        (CNN1D, (3, 40), (1 * 5 * 25 + 25) + 2 * (25 * 3 * 25 + 25) + (125 * 10 + 10)),
        # bidirectional GRU, 6 units: 2 directions x 3 gates x (1 + 6 + 2) x 6, read-out 480 -> 10
        (GRU1D, (3, 40), 2 * 3 * 6 * (1 + 6 + 2) + 480 * 10 + 10),
        (MnistCNN, (3, 1, 28, 28), (9 * 8 + 8) + (8 * 9 * 16 + 16) + (16 * 49 * 10 + 10)),
        (functools.partial(MnistCNN, downsample="stride"), (3, 1, 28, 28),
         (25 * 8 + 8) + (8 * 25 * 16 + 16) + (16 * 49 * 10 + 10)),
    ],
)
def test_shapes_and_parameter_counts(make, shape, params):
    model = make()
    out = model(torch.randn(*shape))
    assert out.shape == (3, 10)
    assert count_params(model) == params


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="hidden"):
        MLP(hidden=0)
    with pytest.raises(ValueError, match="channels"):
        CNN1D(channels=0)
    with pytest.raises(ValueError, match="hidden"):
        GRU1D(hidden=0)
    with pytest.raises(ValueError, match="c1 and c2"):
        MnistCNN(c1=0)
    with pytest.raises(ValueError, match="downsample"):
        MnistCNN(downsample="avg")


def test_steps_to_target():
    assert steps_to_target([0, 10, 20, 30], [0.1, 0.5, 0.9, 0.95], 0.9) == 20
    assert steps_to_target([0, 10], [0.1, 0.5], 0.9) == math.inf
    with pytest.raises(ValueError, match="differ"):
        steps_to_target([0, 1], [0.1], 0.5)


def _toy(n=96, d=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = (X[:, :10].argmax(1)).long()
    return X, y


def _factor(t: int) -> float:
    return 0.5 if t >= 6 else 1.0


@pytest.mark.parametrize("make", [CNN1D, MLP])
def test_population_members_equal_single_runs(make):
    """Every member of a vmapped population is the run train_steps makes alone (float64)."""
    X, y = _toy()
    evals = {"val": (X[:32], y[:32])}
    opts = {
        "sgdm": lambda p, lr: torch.optim.SGD(p, lr, momentum=0.9),
        "adam": lambda p, lr: torch.optim.Adam(p, lr),
    }
    lrs, seeds = [1e-3, 1e-2], [3, 4]
    pop = train_vmapped(make, opts, lrs, seeds, X, y, evals, num_steps=10, batch_size=20,
                        factors={"sgdm": _factor}, eval_every=5)
    assert len(pop.results) == 8 and not pop.results.diverged.any()
    assert sorted(pop.history.step.unique()) == [0, 5, 10]
    for _, row in pop.results.iterrows():
        single = train_steps(make, opts[row.optimizer], row.lr, int(row.seed), X, y, evals,
                             num_steps=10, batch_size=20,
                             factor=_factor if row.optimizer == "sgdm" else None, eval_every=5)
        last = single.history.iloc[-1]
        assert last.step == 10
        np.testing.assert_allclose(row.val_loss, last.val_loss, rtol=1e-10)
        assert row.val_acc == last.val_acc
    # the schedule was applied: the last learning rate of SGD is half its base rate
    single = train_steps(make, opts["sgdm"], 1e-2, 3, X, y, evals, 10, 20, factor=_factor)
    assert single.history.lr.iloc[-1] == pytest.approx(0.5e-2)


@pytest.mark.parametrize("downsample", ["pool", "stride"])
def test_population_with_augmentation_matches_single_run(downsample):
    X = torch.rand(40, 1, 28, 28, dtype=torch.float64)
    make = functools.partial(MnistCNN, downsample=downsample)
    y = torch.arange(40) % 10

    def aug(x, g):
        return x + 0.1 * torch.rand(x.shape, generator=g, dtype=x.dtype)

    opts = {"adam": lambda p, lr: torch.optim.Adam(p, lr)}
    pop = train_vmapped(make, opts, [1e-3], [0, 1], X, y, {"val": (X, y)}, 4, 10,
                        eval_every=4, augment=aug)
    single = train_steps(make, opts["adam"], 1e-3, 1, X, y, {"val": (X, y)}, 4, 10,
                         eval_every=4, augment=aug)
    np.testing.assert_allclose(pop.results.val_loss.iloc[1], single.history.val_loss.iloc[-1],
                               rtol=1e-10)


def test_population_marks_diverged_members():
    X, y = _toy()
    X = X.float()
    opts = {"sgd": lambda p, lr: torch.optim.SGD(p, lr)}
    pop = train_vmapped(MLP, opts, [1e-3, 1e8], [0], X, y, {"val": (X, y)}, 10, 32,
                        eval_every=5)
    res = pop.results.set_index("lr")
    assert not res.loc[1e-3, "diverged"] and res.loc[1e8, "diverged"]
    assert res.loc[1e8, "val_loss"] == math.inf and np.isnan(res.loc[1e8, "val_acc"])
    assert np.isfinite(res.loc[1e-3, "val_loss"])


def test_training_learns_a_separable_problem():
    X, y = _toy(n=200)
    X = X.float()
    run = train_steps(LogisticRegression, lambda p, lr: torch.optim.Adam(p, lr), 1e-2, 0, X, y,
                      {"train": (X, y)}, num_steps=200, batch_size=50, eval_every=100)
    assert run.history.train_acc.iloc[-1] > 0.9 > run.history.train_acc.iloc[0]
    assert run.seconds > 0 and (run.history.seconds.diff().dropna() >= 0).all()


def test_bad_arguments_raise():
    X, y = _toy()
    opt = {"sgd": lambda p, lr: torch.optim.SGD(p, lr)}
    with pytest.raises(ValueError, match="num_steps"):
        train_vmapped(MLP, opt, [0.1], [0], X, y, {}, 0, 10)
    with pytest.raises(ValueError, match="at least one"):
        train_vmapped(MLP, {}, [0.1], [0], X, y, {}, 1, 10)
    with pytest.raises(ValueError, match="positive"):
        train_vmapped(MLP, opt, [-0.1], [0], X, y, {}, 1, 10)
    with pytest.raises(ValueError, match="unknown"):
        train_vmapped(MLP, opt, [0.1], [0], X, y, {}, 1, 10, factors={"adam": _factor})
    with pytest.raises(ValueError, match="lr"):
        train_steps(MLP, opt["sgd"], 0.0, 0, X, y, {}, 1, 10)
    with pytest.raises(ValueError, match="batch_size"):
        train_steps(MLP, opt["sgd"], 0.1, 0, X, y, {}, 1, 0)
