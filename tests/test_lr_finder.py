"""The learning-rate range test: state restoration, sweep, smoothing and suggestions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lrbook.data import batches
from lrbook.lr_finder import LRFinderResult, lr_find


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(256, 5, generator=g, dtype=torch.float64)
    w = torch.randn(5, 1, generator=g, dtype=torch.float64)
    y = X @ w + 0.1 * torch.randn(256, 1, generator=g, dtype=torch.float64)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.BatchNorm1d(16), torch.nn.Linear(16, 1)
    ).double()
    return model, X, y


def _snapshot(model, optimizer):
    params = {k: v.clone() for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    state = {
        i: {k: (v.clone() if torch.is_tensor(v) else v) for k, v in s.items()}
        for i, s in opt["state"].items()
    }
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt["param_groups"]]
    return params, state, groups


def _assert_same(a, b):
    (pa, sa, ga), (pb, sb, gb) = a, b
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k
    assert sa.keys() == sb.keys()
    for i in sa:
        for k in sa[i]:
            x, y = sa[i][k], sb[i][k]
            assert torch.equal(x, y) if torch.is_tensor(x) else x == y
    assert ga == gb


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: torch.optim.Adam(p, lr=3e-3),
        lambda p: torch.optim.SGD(
            [{"params": p[:2], "lr": 0.05}, {"params": p[2:], "lr": 0.01}], momentum=0.9
        ),
    ],
    ids=["adam", "sgd-two-groups"],
)
def test_restores_model_optimizer_and_lrs(make_opt):
    model, X, y = _problem()
    optimizer = make_opt(list(model.parameters()))
    loss_fn = torch.nn.functional.mse_loss
    # give the optimizer real state and the model a running BatchNorm buffer first
    for _ in range(3):
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        optimizer.step()
    model.eval()
    before = _snapshot(model, optimizer)
    grads = [p.grad.clone() for p in model.parameters()]
    rng = torch.get_rng_state()
    data = batches(X, y, 32, generator=torch.Generator().manual_seed(1))
    data_state = data.state_dict()

    result = lr_find(model, optimizer, loss_fn, data, num_iter=50, end_lr=100.0)

    assert result.num_iter >= 10
    _assert_same(before, _snapshot(model, optimizer))
    assert not model.training
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.equal(data.state_dict()["generator"], data_state["generator"])


def test_restores_even_when_the_loss_raises():
    model, X, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = _snapshot(model, optimizer)
    calls = {"n": 0}

    def bad_loss(out, target):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("boom")
        return torch.nn.functional.mse_loss(out, target)

    with pytest.raises(RuntimeError, match="boom"):
        lr_find(model, optimizer, bad_loss, [(X, y)], num_iter=20)
    _assert_same(before, _snapshot(model, optimizer))


def test_sweep_is_exponential_and_smoothing_is_bias_corrected():
    model, X, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = lr_find(
        model,
        optimizer,
        torch.nn.functional.mse_loss,
        [(X, y)],
        start_lr=1e-6,
        end_lr=1e-3,
        num_iter=31,
        beta=0.9,
        diverge_threshold=None,
    )
    assert result.stop_reason == "completed" and result.num_iter == 31
    assert np.allclose(result.lrs, np.logspace(-6, -3, 31), rtol=1e-12)
    avg, expected = 0.0, []
    for i, loss in enumerate(result.losses):
        avg = 0.9 * avg + 0.1 * loss
        expected.append(avg / (1 - 0.9 ** (i + 1)))
    assert np.allclose(result.smoothed_losses, expected, rtol=1e-12)
    assert result.smoothed_losses[0] == pytest.approx(result.losses[0])  # bias correction


def test_suggestions_on_a_toy_regression():
    model, X, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = batches(X, y, 32, generator=torch.Generator().manual_seed(0))
    result = lr_find(model, optimizer, torch.nn.functional.mse_loss, data, num_iter=100)
    assert isinstance(result, LRFinderResult)
    assert result.stop_reason == "diverged"  # SGD on this net blows up well before lr = 10
    lrs = result.lrs
    for lr in (result.suggestion_steepest, result.suggestion_min_div10):
        assert math.isfinite(lr) and lrs[0] / 10 <= lr <= lrs[-1]
    assert result.smoothed_losses[-1] > 4.0 * result.smoothed_losses.min()
    # the steepest point is where the smoothed loss falls fastest against log lr
    lo, hi = result.skip_start, len(lrs) - result.skip_end
    slopes = np.diff(result.smoothed_losses[lo:hi]) / np.diff(np.log(lrs[lo:hi]))
    assert result.suggestion_steepest == lrs[lo + int(np.argmin(slopes))]
    assert slopes.min() < 0
    best = lo + int(np.argmin(result.smoothed_losses[lo:hi]))
    assert result.suggestion_min_div10 == pytest.approx(lrs[best] / 10)


def test_non_finite_loss_stops_the_sweep():
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = {"n": 0}

    def loss_fn(out, target):
        calls["n"] += 1
        loss = torch.nn.functional.mse_loss(out, target)
        return loss * float("nan") if calls["n"] > 12 else loss

    result = lr_find(
        model, optimizer, loss_fn, [(torch.ones(4, 1), torch.zeros(4, 1))], num_iter=50
    )
    assert result.stop_reason == "non-finite loss" and result.num_iter == 12
    assert np.isfinite(result.smoothed_losses).all()


def test_plot_and_validation():
    import matplotlib

    matplotlib.use("Agg")
    model, X, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = lr_find(model, optimizer, torch.nn.functional.mse_loss, [(X, y)], num_iter=40)
    ax = result.plot()
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate"
    with pytest.raises(ValueError):
        lr_find(model, optimizer, torch.nn.functional.mse_loss, [(X, y)], start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError):
        lr_find(model, optimizer, torch.nn.functional.mse_loss, [(X, y)], beta=1.0)
    with pytest.raises(ValueError):
        lr_find(model, optimizer, torch.nn.functional.mse_loss, [], num_iter=5)


def _classification(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(512, 10, generator=g)
    y = (X[:, :3].sum(dim=1) > 0).long() + (X[:, 3] > 1).long()
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    return model, X[:384], y[:384], X[384:], y[384:]


def test_smith_range_test_linear_ramp_bounds_and_restores():
    from lrbook.lr_finder import smith_range_test

    model, X, y, Xv, yv = _classification()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = batches(X, y, 32, generator=torch.Generator().manual_seed(0))
    res = smith_range_test(model, opt, torch.nn.functional.cross_entropy, data, (Xv, yv),
                           min_lr=0.0, max_lr=3.0, num_epochs=3, evals_per_epoch=4)
    # 12 batches per epoch, an evaluation every 3 batches: 12 points, the ramp is linear
    assert len(res.lrs) == 12
    steps = np.arange(1, 37)[2::3] - 1
    np.testing.assert_allclose(res.lrs, 3.0 * steps / 35, rtol=1e-12)
    assert 0.0 <= res.accuracies.min() and res.accuracies.max() <= 1.0
    assert res.max_lr == res.lrs[int(np.argmax(res.accuracies))]
    assert res.base_lr <= res.max_lr and res.accuracies.max() > res.accuracies[0]
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert opt.param_groups[0]["lr"] == 0.01 and not opt.state


@pytest.mark.parametrize(
    "kwargs, match",
    [({"min_lr": 1.0, "max_lr": 0.5}, "min_lr"), ({"num_epochs": 0}, "num_epochs"),
     ({"evals_per_epoch": 0}, "evals_per_epoch"), ({"rise": 1.0}, "rise")],
)
def test_smith_range_test_errors(kwargs, match):
    from lrbook.lr_finder import smith_range_test

    model, X, y, Xv, yv = _classification()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    args = {"min_lr": 0.0, "max_lr": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        smith_range_test(model, opt, torch.nn.functional.cross_entropy, [(X, y)], (Xv, yv), **args)
