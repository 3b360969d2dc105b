"""lrbook.sweeps: batched runs equal one-by-one runs, and bad input is rejected."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lrbook.optim
from lrbook.problems import quadratic, trajectory
from lrbook.sweeps import (
    online_least_squares,
    shifting_stream,
    sparse_regression,
    squared_loss,
    steps_to_tolerance,
    train_linear,
)

F64 = torch.float64


def test_steps_to_tolerance_matches_single_runs():
    problem = quadratic(kappa=10.0, angle=math.pi / 6)
    lrs = [0.01, 0.1, 0.19, 0.5]  # the last diverges (lr > 2/L)
    hits = steps_to_tolerance(problem, lambda g: lrbook.optim.GradientDescent(g, lr=0.1), lrs, 400)
    for lr, hit in zip(lrs, hits, strict=True):
        path = trajectory(problem, lambda p, lr=lr: lrbook.optim.GradientDescent(p, lr=lr), 400)
        with np.errstate(all="ignore"):
            values = np.array([problem.f(torch.tensor(x)).item() for x in path[1:]])
        below = np.nonzero(values < 1e-6)[0]
        expected = below[0] + 1 if below.size else np.inf
        assert hit == expected, (lr, hit, expected)
    assert np.isinf(hits[-1]) and np.isfinite(hits[1])


def test_steps_to_tolerance_rejects_bad_input():
    problem = quadratic()
    make = lambda g: lrbook.optim.GradientDescent(g, lr=0.1)  # noqa: E731
    with pytest.raises(ValueError, match="lrs"):
        steps_to_tolerance(problem, make, [], 10)
    with pytest.raises(ValueError, match="lrs"):
        steps_to_tolerance(problem, make, [0.1, -1.0], 10)
    with pytest.raises(ValueError, match="max_steps"):
        steps_to_tolerance(problem, make, [0.1], 0)
    with pytest.raises(ValueError, match="tol"):
        steps_to_tolerance(problem, make, [0.1], 10, tol=0.0)


def test_sparse_regression_shapes_and_seeds():
    data = sparse_regression([3, 4], n_train=50, n_val=20, n_test=30, n_dense=2, n_rare=5, p_rare=0.5)
    assert data.X_train.shape == (2, 50, 7) and data.y_val.shape == (2, 20) and data.X_test.shape == (2, 30, 7)
    assert data.w.shape == (2, 7) and data.n_dense == 2
    assert set(torch.unique(data.X_train[..., 2:]).tolist()) <= {0.0, 1.0}
    again = sparse_regression([4], n_train=50, n_val=20, n_test=30, n_dense=2, n_rare=5, p_rare=0.5)
    assert torch.equal(again.X_train[0], data.X_train[1])  # a seed always draws the same data
    with pytest.raises(ValueError, match="p_rare"):
        sparse_regression([0], p_rare=0.0)
    with pytest.raises(ValueError, match="n_val"):
        sparse_regression([0], n_val=0)
    with pytest.raises(ValueError, match="seeds"):
        sparse_regression([])


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop"])
def test_train_linear_matches_single_runs(name):
    data = sparse_regression([0, 1], n_train=64, n_val=8, n_test=8, n_dense=3, n_rare=4, p_rare=0.2)
    cls = getattr(lrbook.optim, name)
    lrs = [0.01, 0.1]
    W, opt, weights = train_linear(lambda g: cls(g), lrs, data.X_train, data.y_train, [0, 1], 2, batch_size=16)
    assert W.shape == (2, 2, 7) and len(weights) == 2
    assert name == "SGD" or weights[0] in opt.state  # SGD without momentum keeps no state
    for i, lr in enumerate(lrs):
        for j, s in enumerate([0, 1]):
            X, y = data.X_train[j:j + 1], data.y_train[j:j + 1]
            w_one, _, _ = train_linear(lambda g: cls(g), [lr], X, y, [s], 2, batch_size=16)
            torch.testing.assert_close(W[i, j], w_one[0, 0], rtol=1e-12, atol=1e-14)
    loss = squared_loss(W, data.X_test, data.y_test)
    assert loss.shape == (2, 2)
    expected = 0.5 * ((data.X_test[1] @ W[1, 1] - data.y_test[1]) ** 2).mean().item()
    assert loss[1, 1] == pytest.approx(expected, rel=1e-12)


def test_train_linear_scores_divergence_as_inf_and_rejects_bad_input():
    data = sparse_regression([0], n_train=32, n_val=8, n_test=8, n_dense=3, n_rare=2, p_rare=0.5)
    W, _, _ = train_linear(lambda g: lrbook.optim.SGD(g), [1e3], data.X_train, data.y_train, [0], 100)
    assert np.isinf(squared_loss(W, data.X_test, data.y_test)).all()
    with pytest.raises(ValueError, match="num_epochs"):
        train_linear(lambda g: lrbook.optim.SGD(g), [0.1], data.X_train, data.y_train, [0], 0)
    with pytest.raises(ValueError, match="need X"):
        train_linear(lambda g: lrbook.optim.SGD(g), [0.1], data.X_train, data.y_train, [0, 1], 1)


def test_shifting_stream_changes_scale_halfway():
    X, y = shifting_stream([0, 1], 40, dim=3, batch=4, shrink=0.1, noise=0.0)
    assert X.shape == (40, 2, 4, 3) and y.shape == (40, 2, 4)
    first, second = X[:20].abs().mean(), X[20:].abs().mean()
    assert 5 < first / second < 20
    with pytest.raises(ValueError, match="num_steps"):
        shifting_stream([0], 1)
    with pytest.raises(ValueError, match="shrink"):
        shifting_stream([0], 10, shrink=0.0)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adadelta"])
def test_online_least_squares_matches_single_runs(name):
    X, y = shifting_stream([5, 6], 30, dim=4, batch=3)
    cls = getattr(lrbook.optim, name)
    lrs = [0.003, 0.03]
    losses = online_least_squares(lambda g: cls(g), lrs, X, y)
    assert losses.shape == (2, 2, 30)
    for i, lr in enumerate(lrs):
        for j in range(2):
            w = torch.zeros(4, dtype=F64, requires_grad=True)
            opt = cls([w], lr=lr)
            for t in range(30):
                opt.zero_grad()
                loss = 0.5 * ((X[t, j] @ w - y[t, j]) ** 2).mean()
                assert losses[i, j, t] == pytest.approx(loss.item(), rel=1e-10)
                loss.backward()
                opt.step()
    with pytest.raises(ValueError, match="need X"):
        online_least_squares(lambda g: cls(g), lrs, X[0], y[0])
