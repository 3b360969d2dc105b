"""SPS, SLS and hypergradient descent: their defining properties, resume and errors.

None of the three has a reference package on PyPI, so each test checks the
property that defines the method, recomputed here independently of the
optimizer's own bookkeeping (float64):

- SPS_max: the step taken is exactly ``min((f - f*) / (c ||g||^2), gamma_max)``
  times the gradient, at every step, and both branches of the minimum occur;
- SLS: every accepted step satisfies the Armijo condition on its minibatch, and
  when the search backtracked the previous (larger) trial violated it;
- hypergradient descent: the change of the learning rate equals
  ``-hypergrad_lr * g_t . u_{t-1}`` with ``u_{t-1}`` measured from the parameter
  trajectory (for SGD: ``+hypergrad_lr * g_t . g_{t-1}``); with
  ``hypergrad_lr=0`` the methods are torch's SGD and Adam.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from lrbook.optim import SLS, SPS, HypergradientAdam, HypergradientSGD

pytestmark = pytest.mark.usefixtures("float64_default")

RTOL = 1e-12


def _problem(seed=0, n=64, d=5, k=3):
    """A small softmax regression with a hidden layer (non-convex) and its data."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=g)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, k)).double()
    return model, X, y


def _batches(X, y, num, batch=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    for _ in range(num):
        idx = torch.randint(0, len(X), (batch,), generator=g)
        yield X[idx], y[idx]


def _loss_grad(model, xb, yb):
    """Minibatch loss and flat gradient, computed on a copy (the model is untouched)."""
    twin = copy.deepcopy(model)
    loss = nn.functional.cross_entropy(twin(xb), yb)
    grads = torch.autograd.grad(loss, list(twin.parameters()))
    return float(loss.detach()), torch.cat([g.reshape(-1) for g in grads])


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


# --------------------------------------------------------------------------------- SPS


@pytest.mark.parametrize("f_star", [0.0, 0.05])
def test_sps_step_is_the_capped_polyak_step(f_star):
    model, X, y = _problem()
    c, gamma_max = 0.5, 2.0
    opt = SPS(model.parameters(), c=c, gamma_max=gamma_max, f_star=f_star)
    capped = polyak = 0
    for xb, yb in _batches(X, y, 300):
        loss, g = _loss_grad(model, xb, yb)
        before = _flat(model)
        polyak_step = (loss - f_star) / (c * float(g @ g))
        expected = min(polyak_step, gamma_max)
        returned = opt.step(lambda xb=xb, yb=yb: nn.functional.cross_entropy(model(xb), yb))
        assert returned == pytest.approx(loss, rel=RTOL)
        assert opt.param_groups[0]["lr"] == pytest.approx(expected, rel=RTOL)
        torch.testing.assert_close(_flat(model), before - expected * g, rtol=RTOL, atol=1e-14)
        capped += polyak_step > gamma_max
        polyak += polyak_step < gamma_max
    assert capped > 0 and polyak > 0  # both branches of the minimum were exercised
    assert opt.step_sizes == pytest.approx([min(s, gamma_max) for s in opt.step_sizes], rel=0)


def test_sps_zero_gradient_and_loss_below_f_star_do_not_move():
    w = nn.Parameter(torch.zeros(3))
    opt = SPS([w], f_star=0.0)
    opt.step(lambda: (w * 0).sum() + 1.0)  # loss 1, gradient 0
    assert opt.param_groups[0]["lr"] == 0.0 and torch.equal(w.detach(), torch.zeros(3))
    opt = SPS([w], f_star=5.0)
    opt.step(lambda: (w - 1).pow(2).sum())  # loss 3 < f* = 5: no step up the gradient
    assert opt.param_groups[0]["lr"] == 0.0 and torch.equal(w.detach(), torch.zeros(3))


def test_sps_needs_a_closure_and_valid_arguments():
    w = nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="closure"):
        SPS([w]).step()
    for kwargs, name in [({"c": 0.0}, "c"), ({"c": -1}, "c"), ({"gamma_max": 0.0}, "gamma_max"),
                         ({"gamma_max": -2.0}, "gamma_max"), ({"f_star": math.inf}, "f_star"),
                         ({"f_star": math.nan}, "f_star")]:
        with pytest.raises(ValueError, match=name):
            SPS([w], **kwargs)


def test_sps_resumes_exactly():
    def run(split):
        model, X, y = _problem(seed=3)
        opt = SPS(model.parameters(), c=0.2, gamma_max=1.0)
        for i, (xb, yb) in enumerate(_batches(X, y, 60)):
            if i == split:
                state, weights = opt.state_dict(), copy.deepcopy(model.state_dict())
                model, _, _ = _problem(seed=99)
                model.load_state_dict(weights)
                opt = SPS(model.parameters(), c=0.9, gamma_max=7.0)
                opt.load_state_dict(state)
            opt.step(lambda xb=xb, yb=yb, m=model: nn.functional.cross_entropy(m(xb), yb))
        return _flat(model)

    torch.testing.assert_close(run(split=30), run(split=-1), rtol=0, atol=0)


# --------------------------------------------------------------------------------- SLS


@pytest.mark.parametrize("reset_option", [0, 1, 2])
def test_sls_every_accepted_step_satisfies_armijo(reset_option):
    model, X, y = _problem(seed=1)
    c, beta_b, gamma, n_b = 0.1, 0.7, 2.0, 4
    opt = SLS(model.parameters(), n_batches_per_epoch=n_b, init_step_size=5.0, c=c, beta_b=beta_b,
              gamma=gamma, reset_option=reset_option)
    backtracked = 0
    for xb, yb in _batches(X, y, 150):
        loss, g = _loss_grad(model, xb, yb)
        before = _flat(model)
        previous = opt.state["step_size"]
        first_trial = {0: previous, 1: previous * gamma ** (1 / n_b), 2: 5.0}[reset_option]
        opt.step(lambda xb=xb, yb=yb: nn.functional.cross_entropy(model(xb), yb))
        eta = opt.state["step_size"]
        torch.testing.assert_close(_flat(model), before - eta * g, rtol=RTOL, atol=1e-14)
        loss_next, _ = _loss_grad(model, xb, yb)
        assert loss_next <= loss - c * eta * float(g @ g) + 1e-12  # Armijo on its own minibatch
        # the search accepts the first (largest) trial that satisfies Armijo
        k = round(math.log(eta / first_trial) / math.log(beta_b))
        assert eta == pytest.approx(first_trial * beta_b**k, rel=1e-9) and k >= 0
        if k > 0:
            backtracked += 1
            larger = eta / beta_b
            twin = copy.deepcopy(model)
            with torch.no_grad():
                torch.nn.utils.vector_to_parameters(before - larger * g, twin.parameters())
            rejected, _ = _loss_grad(twin, xb, yb)
            assert rejected > loss - c * larger * float(g @ g)
    assert backtracked > 0
    assert opt.state["step"] == 150 and opt.state["n_backwards"] == 150
    # one forward with gradients and one per trial: 1 + (k + 1) per step
    assert opt.state["n_forwards"] == 150 + 150 + _trials(opt, beta_b, gamma, n_b, reset_option)


def _trials(opt, beta_b, gamma, n_b, reset_option):
    """Backtracking trials beyond the first, recomputed from the accepted step sizes."""
    total, previous = 0, 5.0
    for _, _, eta, _ in opt.history:
        first = {0: previous, 1: previous * gamma ** (1 / n_b), 2: 5.0}[reset_option]
        total += round(math.log(eta / first) / math.log(beta_b))
        previous = eta
    return total


def test_sls_needs_a_closure_one_group_and_valid_arguments():
    w = nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="closure"):
        SLS([w]).step()
    with pytest.raises(ValueError, match="one parameter group"):
        SLS([{"params": [w]}, {"params": [nn.Parameter(torch.ones(1))]}])
    for kwargs, name in [({"n_batches_per_epoch": 0}, "n_batches_per_epoch"),
                         ({"n_batches_per_epoch": 2.5}, "n_batches_per_epoch"),
                         ({"init_step_size": 0.0}, "init_step_size"), ({"c": 0.0}, "c"), ({"c": 1.0}, "c"),
                         ({"beta_b": 1.0}, "beta_b"), ({"beta_b": 0.0}, "beta_b"), ({"gamma": 0.5}, "gamma"),
                         ({"reset_option": 3}, "reset_option")]:
        with pytest.raises(ValueError, match=name):
            SLS([w], **kwargs)


def test_sls_resumes_exactly():
    def run(split):
        model, X, y = _problem(seed=4)
        opt = SLS(model.parameters(), n_batches_per_epoch=4, init_step_size=3.0)
        for i, (xb, yb) in enumerate(_batches(X, y, 40)):
            if i == split:
                state, weights = opt.state_dict(), copy.deepcopy(model.state_dict())
                model, _, _ = _problem(seed=99)
                model.load_state_dict(weights)
                opt = SLS(model.parameters(), n_batches_per_epoch=9, init_step_size=0.1)
                opt.load_state_dict(state)
            opt.step(lambda xb=xb, yb=yb, m=model: nn.functional.cross_entropy(m(xb), yb))
        return _flat(model), opt.state["step_size"], opt.state["n_forwards"]

    resumed, straight = run(split=20), run(split=-1)
    torch.testing.assert_close(resumed[0], straight[0], rtol=0, atol=0)
    assert resumed[1:] == straight[1:]


# ------------------------------------------------------------------- hypergradient descent


@pytest.mark.parametrize("cls, kwargs", [(HypergradientSGD, {"lr": 0.05, "hypergrad_lr": 1e-2}),
                                         (HypergradientAdam, {"lr": 0.01, "hypergrad_lr": 1e-4,
                                                              "weight_decay": 1e-3})])
def test_hypergradient_lr_follows_the_hypergradient(cls, kwargs):
    model, X, y = _problem(seed=2)
    opt = cls(model.parameters(), **kwargs)
    zeta, lam = kwargs["hypergrad_lr"], kwargs.get("weight_decay", 0.0)
    trajectory, lrs, grads = [_flat(model)], [kwargs["lr"]], []
    changed = 0
    for xb, yb in _batches(X, y, 200):
        _, g = _loss_grad(model, xb, yb)
        g = g + lam * _flat(model)  # g_t includes the L2 term
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
        trajectory.append(_flat(model))
        lrs.append(opt.param_groups[0]["lr"])
        if len(grads) >= 1:  # η_t = η_{t-1} - ζ g_t · u_{t-1}, u_{t-1} = (θ_{t-1} - θ_{t-2}) / η_{t-1}
            u_prev = (trajectory[-2] - trajectory[-3]) / lrs[-2]
            expected = lrs[-2] - zeta * float(g @ u_prev)
            assert lrs[-1] == pytest.approx(expected, rel=1e-10)
            if cls is HypergradientSGD:  # the closed form: + ζ g_t · g_{t-1}
                assert lrs[-1] == pytest.approx(lrs[-2] + zeta * float(g @ grads[-1]), rel=1e-10)
            changed += lrs[-1] != lrs[-2]
        else:
            assert lrs[-1] == lrs[-2]  # no previous update at the first step
        # the step itself is the base method's, with the new η_t
        if cls is HypergradientSGD:
            torch.testing.assert_close(trajectory[-1], trajectory[-2] - lrs[-1] * g, rtol=RTOL, atol=1e-14)
        grads.append(g)
    assert changed == 199 and max(lrs) > min(lrs) * 1.01  # the rate really moved


@pytest.mark.parametrize("cls, ref, kwargs", [
    (HypergradientSGD, torch.optim.SGD, {"lr": 0.1, "weight_decay": 1e-2}),
    (HypergradientAdam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 1e-2}),
])
def test_hypergradient_with_zero_hypergrad_lr_is_the_base_method(cls, ref, kwargs):
    finals = []
    for make in (lambda p: cls(p, hypergrad_lr=0.0, **kwargs), lambda p: ref(p, **kwargs)):
        model, X, y = _problem(seed=5)
        opt = make(model.parameters())
        for xb, yb in _batches(X, y, 200):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        finals.append(_flat(model))
    torch.testing.assert_close(finals[0], finals[1], rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("cls", [HypergradientSGD, HypergradientAdam])
def test_hypergradient_resumes_exactly(cls):
    def run(split):
        model, X, y = _problem(seed=6)
        opt = cls(model.parameters(), lr=0.01, hypergrad_lr=1e-3)
        for i, (xb, yb) in enumerate(_batches(X, y, 60)):
            if i == split:
                state, weights = opt.state_dict(), copy.deepcopy(model.state_dict())
                model, _, _ = _problem(seed=99)
                model.load_state_dict(weights)
                opt = cls(model.parameters(), lr=0.5, hypergrad_lr=0.0)
                opt.load_state_dict(state)
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        return _flat(model), opt.param_groups[0]["lr"]

    resumed, straight = run(split=30), run(split=-1)
    torch.testing.assert_close(resumed[0], straight[0], rtol=0, atol=0)
    assert resumed[1] == straight[1]


def test_hypergradient_invalid_arguments():
    w = [nn.Parameter(torch.ones(2))]
    for cls in (HypergradientSGD, HypergradientAdam):
        for kwargs, name in [({"lr": -1.0}, "learning rate"), ({"hypergrad_lr": -1e-3}, "hypergrad_lr"),
                             ({"weight_decay": -1.0}, "weight_decay")]:
            with pytest.raises(ValueError, match=name):
                cls(w, **kwargs)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        HypergradientAdam(w, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="epsilon"):
        HypergradientAdam(w, eps=-1.0)
