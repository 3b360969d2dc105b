"""Tests for lrbook.problems: gradients, minimizers, Hessians and trajectory()."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import lrbook.optim
from lrbook import problems
from lrbook.problems import DTYPE

ALL_PROBLEMS = {
    "quadratic": problems.quadratic(),
    "quadratic_k100_rotated": problems.quadratic(kappa=100.0, h_min=0.5, angle=0.7),
    "rosenbrock": problems.rosenbrock(),
    "rosenbrock_a2": problems.rosenbrock(a=2.0, b=10.0),
    "beale": problems.beale(),
    "saddle": problems.saddle(),
    "nonconvex_1d": problems.nonconvex_1d(),
    "quadratic_1d": problems.quadratic_1d(),
    "quadratic_1d_c5": problems.quadratic_1d(curvature=5.0),
}


def _random_points(problem, shape, seed=0):
    """Uniform points in the problem's plotting window, shape ``shape + (d,)``."""
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(*shape, problem.dim, generator=generator, dtype=DTYPE)
    lows = [problem.xlim[0], problem.ylim[0]][: problem.dim]
    highs = [problem.xlim[1], problem.ylim[1]][: problem.dim]
    low, high = torch.tensor(lows, dtype=DTYPE), torch.tensor(highs, dtype=DTYPE)
    return low + u * (high - low)


def _autograd_grad(problem, x):
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(problem.f(x).sum(), x)
    return g


@pytest.mark.parametrize("name", sorted(ALL_PROBLEMS))
def test_analytic_gradient_matches_autograd_pointwise(name):
    problem = ALL_PROBLEMS[name]
    for x in _random_points(problem, (20,)):
        np.testing.assert_allclose(problem.grad(x).numpy(), _autograd_grad(problem, x).numpy(),
                                   rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(ALL_PROBLEMS))
def test_batched_evaluation_matches_pointwise(name):
    problem = ALL_PROBLEMS[name]
    xs = _random_points(problem, (3, 4), seed=1)
    values = problem.f(xs)
    grads = problem.grad(xs)
    assert values.shape == (3, 4)
    assert grads.shape == (3, 4, problem.dim)
    for i in range(3):
        for j in range(4):
            assert values[i, j].item() == pytest.approx(problem.f(xs[i, j]).item(), rel=1e-12, abs=1e-12)
            np.testing.assert_allclose(grads[i, j].numpy(), problem.grad(xs[i, j]).numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads.numpy(), _autograd_grad(problem, xs).numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(ALL_PROBLEMS))
def test_minimizer_is_stationary_and_has_min_value(name):
    problem = ALL_PROBLEMS[name]
    x_star = problem.minimizer
    assert x_star.shape == (problem.dim,)
    assert problem.f(x_star).item() == pytest.approx(problem.min_value, abs=1e-10)
    np.testing.assert_allclose(problem.grad(x_star).numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(_autograd_grad(problem, x_star).numpy(), 0.0, atol=1e-9)


@pytest.mark.parametrize("name", sorted(ALL_PROBLEMS))
def test_min_value_is_the_minimum_over_the_window(name):
    problem = ALL_PROBLEMS[name]
    values = problem.f(_random_points(problem, (5000,), seed=2))
    assert values.min().item() >= problem.min_value - 1e-12


@pytest.mark.parametrize("name", sorted(ALL_PROBLEMS))
def test_start_is_a_tensor_of_the_right_shape_and_not_the_minimizer(name):
    problem = ALL_PROBLEMS[name]
    assert problem.start.shape == (problem.dim,)
    assert problem.start.dtype == DTYPE
    assert not torch.allclose(problem.start, problem.minimizer)
    assert problem.xlim[0] < problem.start[0].item() < problem.xlim[1]
    if problem.dim == 2:
        assert problem.ylim[0] < problem.start[1].item() < problem.ylim[1]


@pytest.mark.parametrize("kappa, h_min, angle", [(10.0, 1.0, 0.0), (100.0, 0.5, 0.7), (1.0, 2.0, 1.0)])
def test_quadratic_hessian_and_eigenvalues(kappa, h_min, angle):
    problem = problems.quadratic(kappa=kappa, h_min=h_min, angle=angle)
    np.testing.assert_allclose(problem.eigenvalues.numpy(), [h_min, kappa * h_min], rtol=1e-12)
    hessian = torch.func.hessian(problem.f)(problem.start)
    np.testing.assert_allclose(hessian.numpy(), problem.hessian.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(problem.hessian.numpy(), problem.hessian.numpy().T)


def test_quadratic_rotation_changes_the_axes():
    aligned = problems.quadratic(kappa=10.0)
    rotated = problems.quadratic(kappa=10.0, angle=math.pi / 4)
    assert aligned.hessian[0, 1].item() == 0.0
    assert abs(rotated.hessian[0, 1].item()) > 1.0


@pytest.mark.parametrize("kwargs", [{"kappa": 0.5}, {"kappa": float("nan")}, {"h_min": 0.0},
                                    {"h_min": -1.0}])
def test_quadratic_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        problems.quadratic(**kwargs)


@pytest.mark.parametrize("curvature", [0.0, -2.0])
def test_quadratic_1d_rejects_non_positive_curvature(curvature):
    with pytest.raises(ValueError):
        problems.quadratic_1d(curvature=curvature)


def test_quadratic_1d_is_x_squared_by_default():
    problem = problems.quadratic_1d()
    x = torch.tensor([[-1.5], [0.0], [3.0]], dtype=DTYPE)
    np.testing.assert_allclose(problem.f(x).numpy(), [2.25, 0.0, 9.0])
    assert problem.eigenvalues.tolist() == [2.0]


def test_eigenvalues_of_a_non_quadratic_raise():
    with pytest.raises(ValueError):
        _ = problems.rosenbrock().eigenvalues


def test_nonconvex_1d_has_a_worse_local_minimum():
    problem = problems.nonconvex_1d()
    roots = np.sort(np.roots([4.0, 0.0, -6.0, 1.0]).real)
    second = 12 * roots**2 - 6
    assert second[0] > 0 and second[1] < 0 and second[2] > 0          # min, max, min
    assert problem.minimizer.item() == pytest.approx(roots[0])
    local_value = problem.f(torch.tensor([roots[2]], dtype=DTYPE)).item()
    assert local_value > problem.min_value + 1.0


def test_saddle_origin_is_a_saddle():
    problem = problems.saddle()
    origin = torch.zeros(2, dtype=DTYPE)
    np.testing.assert_allclose(problem.grad(origin).numpy(), 0.0)
    eig = torch.linalg.eigvalsh(torch.func.hessian(problem.f)(origin))
    assert eig[0].item() < 0 < eig[1].item()


# ---------------------------------------------------------------------------
# trajectory()


def test_trajectory_shape_and_first_row():
    problem = problems.quadratic()
    path = problems.trajectory(problem, lambda p: lrbook.optim.GradientDescent(p, lr=0.05), 17)
    assert isinstance(path, np.ndarray)
    assert path.shape == (18, 2)
    np.testing.assert_array_equal(path[0], problem.start.numpy())
    assert np.all(np.isfinite(path))


def test_trajectory_zero_steps_and_custom_start():
    problem = problems.nonconvex_1d()
    path = problems.trajectory(problem, lambda p: torch.optim.SGD(p, lr=0.01), 0, start=[0.5])
    assert path.shape == (1, 1)
    assert path[0, 0] == 0.5


def test_trajectory_rejects_negative_steps():
    with pytest.raises(ValueError):
        problems.trajectory(problems.quadratic(), lambda p: torch.optim.SGD(p, lr=0.1), -1)


def test_trajectory_does_not_modify_the_problem_start():
    problem = problems.quadratic()
    before = problem.start.clone()
    problems.trajectory(problem, lambda p: torch.optim.SGD(p, lr=0.1), 5)
    assert torch.equal(problem.start, before)


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.18, 0.199])
def test_trajectory_gradient_descent_matches_the_closed_form(lr):
    """On a quadratic, x_t = (I - lr H)^t x_0 exactly."""
    problem = problems.quadratic(kappa=10.0, angle=0.3)
    num_steps = 40
    path = problems.trajectory(problem, lambda p: lrbook.optim.GradientDescent(p, lr=lr), num_steps)
    step_matrix = np.eye(2) - lr * problem.hessian.numpy()
    x = problem.start.numpy().copy()
    for t in range(num_steps + 1):
        np.testing.assert_allclose(path[t], x, rtol=1e-10, atol=1e-13)
        x = step_matrix @ x


def test_trajectory_matches_torch_sgd_bitwise():
    problem = problems.rosenbrock()
    ours = problems.trajectory(problem, lambda p: lrbook.optim.GradientDescent(p, lr=5e-4), 100)
    theirs = problems.trajectory(problem, lambda p: torch.optim.SGD(p, lr=5e-4), 100)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_trajectory_divergence_warns_and_pads_with_nan():
    problem = problems.quadratic_1d()
    with pytest.warns(RuntimeWarning, match="diverged"):
        path = problems.trajectory(problem, lambda p: torch.optim.SGD(p, lr=3.0), 50, blowup=1e3)
    finite = np.isfinite(path[:, 0])
    assert finite[0] and not finite[-1]
    first_nan = int(np.argmin(finite))
    assert np.all(finite[:first_nan]) and not np.any(finite[first_nan:])
    assert np.all(np.abs(path[:first_nan, 0]) <= 1e3)


def test_trajectory_stable_run_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problems.trajectory(problems.quadratic_1d(), lambda p: torch.optim.SGD(p, lr=0.9), 50)
