"""lrbook.optim rejects every invalid argument torch rejects, the same way.

The expected exception type and message are taken from torch itself at test
time, so the test follows torch exactly; cases torch accepts must be accepted.
"""

from __future__ import annotations

import re

import pytest
import torch

import lrbook.optim as lo

T = torch.optim


def _p():
    return [torch.zeros(3, requires_grad=True)]


# (name, kwargs) — name is the class name in both lrbook.optim and torch.optim
REJECTED = [
    ("SGD", dict(lr=-1.0)),
    ("SGD", dict(momentum=-0.1)),
    ("SGD", dict(weight_decay=-1.0)),
    ("SGD", dict(nesterov=True)),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("SGD", dict(lr=torch.tensor([0.1, 0.2]))),
    ("Adam", dict(lr=-1.0)),
    ("Adam", dict(eps=-1.0)),
    ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, 1.0))),
    ("Adam", dict(betas=(-0.1, 0.999))),
    ("Adam", dict(betas=(0, 0.999))),
    ("Adam", dict(weight_decay=-1.0)),
    ("Adam", dict(lr=torch.tensor(0.1), foreach=True)),
    ("AdamW", dict(betas=(0.9, 1.5))),
    ("AdamW", dict(weight_decay=-0.1)),
    ("Adagrad", dict(lr=-1.0)),
    ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(weight_decay=-1.0)),
    ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)),
    ("RMSprop", dict(lr=-1.0)),
    ("RMSprop", dict(alpha=-1.0)),
    ("RMSprop", dict(eps=-1.0)),
    ("RMSprop", dict(momentum=-1.0)),
    ("RMSprop", dict(weight_decay=-1.0)),
    ("Adadelta", dict(lr=-1.0)),
    ("Adadelta", dict(rho=1.5)),
    ("Adadelta", dict(rho=-0.1)),
    ("Adadelta", dict(eps=-1.0)),
    ("Adadelta", dict(weight_decay=-1.0)),
    ("Adamax", dict(lr=-1.0)),
    ("Adamax", dict(eps=-1.0)),
    ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, 1.0))),
    ("Adamax", dict(weight_decay=-1.0)),
    ("NAdam", dict(lr=-1.0)),
    ("NAdam", dict(betas=(0.9, 1.0))),
    ("NAdam", dict(momentum_decay=-1.0)),
    ("NAdam", dict(eps=-1.0)),
    ("RAdam", dict(lr=-1.0)),
    ("RAdam", dict(betas=(1.0, 0.9))),
    ("RAdam", dict(weight_decay=-1.0)),
    ("Adafactor", dict(lr=-1.0)),
    ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1.0, 1e-3))),
    ("Adafactor", dict(eps=(None, -1.0))),
    ("Adafactor", dict(d=0.5)),
    ("Adafactor", dict(weight_decay=-1.0)),
    ("SparseAdam", dict(lr=0.0)),
    ("SparseAdam", dict(eps=0.0)),
    ("SparseAdam", dict(betas=(1.0, 0.9))),
]

ACCEPTED = [
    ("SGD", dict(dampening=5.0)),
    ("SGD", dict(momentum=1.5)),
    ("SGD", dict(dampening=-1.0)),
    ("Adam", dict(eps=0.0)),
    ("Adam", dict(lr=0.0)),
    ("Adam", dict(lr=torch.tensor(0.1))),
    ("RMSprop", dict(alpha=1.5)),
    ("Adadelta", dict(rho=1.0)),
    ("NAdam", dict(betas=(0, 0.999))),
    ("RAdam", dict(betas=(0, 0.999))),
    ("Adamax", dict(betas=(0, 0.999))),
    ("Adafactor", dict(eps=(0.0, 0.0))),
]


def _torch_error(name, kw):
    try:
        getattr(T, name)(_p(), **kw)
    except Exception as exc:  # noqa: BLE001 - we want whatever torch raises
        return exc
    raise AssertionError(f"torch accepted {name}({kw})")


@pytest.mark.parametrize("name,kw", REJECTED, ids=[f"{n}-{k}" for n, k in REJECTED])
def test_rejected_like_torch(name, kw):
    expected = _torch_error(name, kw)
    with pytest.raises(type(expected), match=re.escape(str(expected))):
        getattr(lo, name)(_p(), **kw)


@pytest.mark.parametrize("name,kw", ACCEPTED, ids=[f"{n}-{k}" for n, k in ACCEPTED])
def test_accepted_like_torch(name, kw):
    getattr(T, name)(_p(), **kw)
    opt = getattr(lo, name)(_p(), **kw)
    assert len(opt.param_groups) == 1


CONTAINERS = [
    ("empty", lambda: []),
    ("bare tensor", lambda: torch.zeros(3, requires_grad=True)),
    ("set in group", lambda: [{"params": {torch.zeros(3, requires_grad=True)}}]),
    ("non-leaf", lambda: [torch.zeros(3, requires_grad=True) * 2]),
]


@pytest.mark.parametrize("what,make", CONTAINERS, ids=[c[0] for c in CONTAINERS])
@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "RMSprop"])
def test_param_container_errors(name, what, make):
    try:
        getattr(T, name)(make(), lr=0.1)
    except Exception as exc:  # noqa: BLE001
        expected = exc
    with pytest.raises(type(expected), match=re.escape(str(expected)[:40])):
        getattr(lo, name)(make(), lr=0.1)


def test_param_in_two_groups():
    x = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        lo.Adam([{"params": [x]}, {"params": [x]}])


SPARSE_ERRORS = ["Adam", "AdamW", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "Adafactor"]


def _sparse_grad_param():
    x = torch.zeros(4, 2, requires_grad=True)
    x.grad = torch.sparse_coo_tensor([[0, 2]], torch.ones(2, 2), (4, 2))
    return x


@pytest.mark.parametrize("name", SPARSE_ERRORS)
def test_sparse_gradient_errors_in_step(name):
    xt, xo = _sparse_grad_param(), _sparse_grad_param()
    opt_t, opt_o = getattr(T, name)([xt]), getattr(lo, name)([xo])  # construction is fine
    with pytest.raises(RuntimeError) as info:
        opt_t.step()
    with pytest.raises(RuntimeError, match=re.escape(str(info.value))):
        opt_o.step()
    assert torch.equal(xo.detach(), torch.zeros(4, 2))


def test_adagrad_sparse_with_weight_decay():
    x = _sparse_grad_param()
    with pytest.raises(RuntimeError, match="weight_decay option is not compatible with sparse gradients"):
        lo.Adagrad([x], weight_decay=0.1).step()


def test_sparse_adam_errors():
    x = torch.zeros(3, requires_grad=True)
    x.grad = torch.ones(3)
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
        lo.SparseAdam([x]).step()
    with pytest.raises(ValueError, match="SparseAdam does not support complex parameters"):
        lo.SparseAdam([torch.zeros(2, dtype=torch.complex64, requires_grad=True)])


def test_adafactor_complex_error():
    z = torch.zeros(2, dtype=torch.complex64, requires_grad=True)
    z.grad = torch.ones(2, dtype=torch.complex64)
    with pytest.raises(RuntimeError, match="Adafactor does not support complex parameters"):
        lo.Adafactor([z]).step()


@pytest.mark.parametrize("flag", ["fused", "differentiable"])
def test_unsupported_kernels_are_refused(flag):
    with pytest.raises(NotImplementedError, match=flag):
        lo.Adam(_p(), **{flag: True})


@pytest.mark.parametrize(
    "cls,kw",
    [
        (lo.Lookahead, dict(k=0)),
        (lo.Lookahead, dict(k=2.5)),
        (lo.Lookahead, dict(alpha=-0.1)),
        (lo.Lookahead, dict(alpha=1.5)),
    ],
)
def test_lookahead_validation(cls, kw):
    with pytest.raises(ValueError, match="k|alpha"):
        cls(lo.SGD(_p(), lr=0.1), **kw)


@pytest.mark.parametrize(
    "cls,kw,word",
    [
        (lo.keras.Adam, dict(learning_rate=-1.0), "learning rate"),
        (lo.keras.Adam, dict(beta_1=1.0), "beta_1"),
        (lo.keras.Adam, dict(epsilon=-1.0), "epsilon"),
        (lo.keras.RMSprop, dict(rho=1.5), "rho"),
        (lo.keras.RMSprop, dict(momentum=-0.5), "momentum"),
        (lo.keras.Adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (lo.keras.Adadelta, dict(rho=-0.1), "rho"),
        (lo.keras.Nadam, dict(beta_2=1.0), "beta_2"),
    ],
)
def test_keras_validation(cls, kw, word):
    with pytest.raises(ValueError, match=word):
        cls(_p(), **kw)
