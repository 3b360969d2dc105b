"""Keras-3 semantics in lrbook.optim.keras: against the formulas (NumPy, written
independently from Keras' update_step), and against Keras itself when it is
installed (KERAS_BACKEND=torch)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lrbook.optim as lo

LR = 2.0**-7  # exactly representable in float32 (Keras' learning-rate variable)
STEPS = 50


def _grads():
    rng = np.random.default_rng(0)
    x0 = np.linspace(-1.0, 1.0, 6)
    return x0, [3 * x0 * np.cos(i) + rng.normal(size=6) for i in range(STEPS)]


def np_adam(x, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    m = np.zeros_like(x); v = np.zeros_like(x); vhat = np.zeros_like(x)  # noqa: E702
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        vhat = np.maximum(vhat, v)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        x = x - m * alpha / (np.sqrt(vhat if amsgrad else v) + eps)
    return x


def np_rmsprop(x, grads, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    v = np.zeros_like(x); gbar = np.zeros_like(x); b = np.zeros_like(x)  # noqa: E702
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        gbar = rho * gbar + (1 - rho) * g
        inc = lr * g / np.sqrt((v - gbar**2 if centered else v) + eps)
        b = momentum * b + inc
        x = x - (b if momentum > 0 else inc)
    return x


def np_adagrad(x, grads, lr, s0=0.1, eps=1e-7):
    s = np.full_like(x, s0)
    for g in grads:
        s = s + g * g
        x = x - lr * g / np.sqrt(s + eps)
    return x


def np_adadelta(x, grads, lr, rho=0.95, eps=1e-7):
    v = np.zeros_like(x); u = np.zeros_like(x)  # noqa: E702
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        delta = -np.sqrt(u + eps) * g / np.sqrt(v + eps)
        u = rho * u + (1 - rho) * delta**2
        x = x + lr * delta
    return x


def np_nadam(x, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    m = np.zeros_like(x); v = np.zeros_like(x); prod = 1.0  # noqa: E702
    for t, g in enumerate(grads, start=1):
        u_t = b1 * (1 - 0.5 * 0.96**t)
        u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        prod = prod * u_t
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_next * m / (1 - prod * u_next) + (1 - u_t) * g / (1 - prod)
        x = x - m_hat * lr / (np.sqrt(v / (1 - b2**t)) + eps)
    return x


CASES = [
    ("Adam", np_adam, {}, {}),
    ("Adam", np_adam, dict(amsgrad=True, beta_2=0.5), dict(amsgrad=True, b2=0.5)),
    ("RMSprop", np_rmsprop, {}, {}),
    ("RMSprop", np_rmsprop, dict(momentum=0.9, centered=True), dict(momentum=0.9, centered=True)),
    ("Adagrad", np_adagrad, {}, {}),
    ("Adagrad", np_adagrad, dict(initial_accumulator_value=0.0, epsilon=1e-3), dict(s0=0.0, eps=1e-3)),
    ("Adadelta", np_adadelta, {}, {}),
    ("Nadam", np_nadam, {}, {}),
]


def _ours(name, kw, x0, grads):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        p = torch.tensor(x0, requires_grad=True)
        opt = getattr(lo.keras, name)([p], learning_rate=LR, **kw)
        for g in grads:
            p.grad = torch.tensor(g)
            opt.step()
        return p.detach().numpy()
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("name,formula,kw,fkw", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_keras_variants_match_formulas(name, formula, kw, fkw):
    x0, grads = _grads()
    ours = _ours(name, kw, x0, grads)
    ref = formula(x0.copy(), grads, LR, **fkw)
    assert np.abs(ours - ref).max() <= 1e-12 * np.abs(ref).max()
    assert np.abs(ref - x0).max() > 1e-4


def test_defaults_are_keras_defaults():
    p = [torch.zeros(1, requires_grad=True)]
    assert lo.keras.Adam(p).defaults == dict(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)
    assert lo.keras.RMSprop(p).defaults == dict(lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)
    assert lo.keras.Adagrad(p).defaults == dict(lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7)
    assert lo.keras.Adadelta(p).defaults == dict(lr=0.001, rho=0.95, epsilon=1e-7)
    assert lo.keras.Nadam(p).defaults == dict(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)


def test_epsilon_placement_differs_from_torch():
    """Same eps, different first step: torch adds eps to sqrt(v_hat), Keras to sqrt(v)."""
    steps = []
    for make in (lambda p: lo.Adam(p, lr=0.1, eps=1e-3), lambda p: lo.keras.Adam(p, learning_rate=0.1, epsilon=1e-3)):
        x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
        x.grad = torch.tensor([1.0], dtype=torch.float64)
        make([x]).step()
        steps.append(x.item())
    assert steps[0] == pytest.approx(1 - 0.1 / (1 + 1e-3), rel=1e-12)  # 0.90010
    assert steps[1] == pytest.approx(1 - 0.1 / (1 + 1e-3 / 0.001**0.5), rel=1e-12)  # 0.90307
    # equal when eps_hat = eps * sqrt(1 - beta2^t): no single eps reproduces the other
    assert abs(steps[0] - steps[1]) > 1e-3


def test_against_keras_itself():
    """Keras 3 (torch backend) and lrbook.optim.keras agree to 1e-12 in float64."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras was imported with another backend")
    x0, grads = _grads()
    for name, _, kw, _ in CASES:
        v = keras.Variable(x0.copy(), dtype="float64")
        opt = getattr(keras.optimizers, name)(learning_rate=LR, **kw)
        for g in grads:
            opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), v)])
        theirs = np.asarray(keras.ops.convert_to_numpy(v))
        ours = _ours(name, kw, x0, grads)
        assert np.abs(ours - theirs).max() <= 1e-12 * np.abs(theirs).max(), (name, kw)
