"""lrbook.linear_dynamics against simulations with lrbook.optim.SGD and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lrbook.optim
from lrbook import linear_dynamics as ld


def _simulate(z, mu, nesterov=False, num_steps=400):
    """lrbook.optim.SGD on f(x) = x^2 / 2 (h = 1, so eta = z), from x = 1."""
    x = torch.ones(1, dtype=torch.float64, requires_grad=True)
    opt = lrbook.optim.SGD([x], lr=z, momentum=mu, nesterov=nesterov) if mu > 0 else \
        lrbook.optim.SGD([x], lr=z)
    xs = [1.0]
    for _ in range(num_steps):
        opt.zero_grad()
        (0.5 * x**2).sum().backward()
        opt.step()
        xs.append(x.item())
    return np.array(xs)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("z, mu", [(0.05, 0.5), (0.3, 0.9), (1.5, 0.2), (0.01, 0.81), (2.5, 0.6)])
def test_contraction_factor_matches_simulation(z, mu, nesterov):
    r = ld.momentum_contraction_factor(z, mu, nesterov=nesterov)
    xs = _simulate(z, mu, nesterov)
    if r >= 1:
        assert abs(xs[-1]) > abs(xs[0])
        return
    # the envelope of |x_t| decays like r^t (up to a polynomial factor): compare max over windows
    env = [np.abs(xs[i:i + 40]).max() for i in (200, 340)]
    measured = (env[1] / env[0]) ** (1 / 140)
    assert measured == pytest.approx(float(r), abs=5e-3)


@pytest.mark.parametrize("nesterov", [False, True])
def test_iteration_matrix_reproduces_torch_iterates(nesterov):
    z, mu = 0.4, 0.7
    xs = _simulate(z, mu, nesterov, num_steps=30)
    M = ld.iteration_matrix(z, mu, nesterov=nesterov)
    state = np.array([xs[2], xs[1]])
    for t in range(3, 31):
        state = M @ state
        assert state[0] == pytest.approx(xs[t], rel=1e-10, abs=1e-14)
    assert np.abs(np.linalg.eigvals(M)).max() == pytest.approx(
        float(ld.momentum_contraction_factor(z, mu, nesterov)), rel=1e-12)


def test_mu_zero_is_gradient_descent():
    z = np.linspace(0.01, 2.5, 50)
    np.testing.assert_allclose(ld.momentum_contraction_factor(z, 0.0), np.abs(1 - z), atol=1e-12)
    np.testing.assert_allclose(ld.gd_contraction_factor(z, [1.0]), np.abs(1 - z), atol=1e-15)
    np.testing.assert_allclose(ld.gd_contraction_factor(0.1, [1.0, 10.0]), 0.9)


def test_complex_roots_contract_at_sqrt_mu_and_broadcast():
    z = np.array([[0.2], [0.5]])
    mu = np.array([0.9, 0.95])
    r = ld.momentum_contraction_factor(z, mu)
    assert r.shape == (2, 2)
    np.testing.assert_allclose(r, np.sqrt(mu) * np.ones((2, 1)), rtol=1e-12)
    assert np.all(ld.momentum_regime(z, mu) == 1)


@pytest.mark.parametrize("nesterov", [False, True])
def test_stability_limit_is_the_boundary(nesterov):
    for mu in (0.0, 0.3, 0.9):
        lim = float(ld.stability_limit(mu, nesterov))
        assert ld.momentum_contraction_factor(0.999 * lim, mu, nesterov) < 1
        assert ld.momentum_contraction_factor(1.001 * lim, mu, nesterov) > 1


def test_regimes_agree_with_sign_changes_of_the_simulation():
    samples = {(0.1, 0.1): 0, (0.1, 0.9): 1, (1.9, 0.0): 2, (3.0, 0.3): 3, (3.0, 0.6): 1}
    for (z, mu), expected in samples.items():
        assert ld.momentum_regime(z, mu) == expected, (z, mu)
        xs = _simulate(z, mu, num_steps=200)[50:]
        flips = np.count_nonzero(np.diff(np.sign(xs[xs != 0])))
        if expected == 3:
            assert abs(xs[-1]) > 1e3
        else:
            assert (flips == 0) == (expected == 0)
    assert ld.REGIMES[2] == "flipping"


def test_critical_momentum_is_the_fastest():
    mus = np.linspace(0, 0.999, 20001)
    for z in (0.01, 0.04, 0.25, 1.0):
        r = ld.momentum_contraction_factor(z, mus)
        assert mus[np.argmin(r)] == pytest.approx(float(ld.critical_momentum(z)), abs=1e-3)
        assert r.min() == pytest.approx(1 - math.sqrt(z), abs=1e-3)


def test_polyak_parameters_put_both_ends_on_critical_damping():
    eta, mu, r = ld.polyak_parameters(1.0, 100.0)
    assert r == pytest.approx(9 / 11, rel=1e-14)
    assert mu == pytest.approx(r * r, rel=1e-14)
    assert mu == pytest.approx(float(ld.critical_momentum(eta * 1.0)), rel=1e-12)
    assert math.sqrt(mu) == pytest.approx(math.sqrt(eta * 100.0) - 1, rel=1e-12)
    for h in np.linspace(1.0, 100.0, 23):
        assert ld.momentum_contraction_factor(eta * h, mu) == pytest.approx(r, abs=1e-6)


@pytest.mark.parametrize("call", [
    lambda: ld.momentum_contraction_factor(0.1, 1.0),
    lambda: ld.momentum_contraction_factor(0.1, -0.1),
    lambda: ld.momentum_contraction_factor(float("nan"), 0.5),
    lambda: ld.iteration_matrix(np.array([0.1, 0.2]), 0.5),
    lambda: ld.gd_contraction_factor(0.1, [1.0, 0.0]),
    lambda: ld.critical_momentum(1.5),
    lambda: ld.polyak_parameters(2.0, 1.0),
    lambda: ld.stability_limit(1.2),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
