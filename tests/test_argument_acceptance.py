"""Every constructor of lrbook.optim and lrbook.schedules against torch's acceptance.

For each numeric argument, a sweep of values (negative, zero, fractional, whole
numbers given as floats, large, infinite) is passed to torch's class and to
lrbook's. Where both accept a value, a short run must give torch's results.
Where torch accepts a value that lrbook refuses, the pair is recorded: the
record must equal :data:`DELIBERATE` (each entry a value that is meaningless or
makes torch crash later), lrbook's error must be a ``ValueError`` naming the
argument, and the class docstring must list the argument among its deliberate
differences from torch.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as TS

import lrbook.optim as lo
import lrbook.schedules as S

VALUES = [-1, 0, 0.5, 1, 2.0, 3, 1e9, math.inf]
LR_STEPS = 12


def _params():
    return [torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))]


def _run_optimizer(module, name, kwargs):
    params = _params()
    opt = getattr(module, name)(params, **kwargs)
    for _ in range(3):
        opt.zero_grad()
        (params[0] ** 2).sum().backward()
        opt.step()
    return [params[0].detach().numpy().copy()]


def _sgd():
    groups = [{"params": _params(), "lr": 0.1}, {"params": _params(), "lr": 0.2}]
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def _run_scheduler(module, name, kwargs):
    opt = _sgd()
    sched = getattr(module, name)(opt, **kwargs)
    values = [[float(v) for v in sched.get_last_lr()] + [float(g["momentum"]) for g in opt.param_groups]]
    metrics = [1.0, 0.9, 0.9, 0.95, 0.95, 0.97, 0.99, 0.8, 0.85, 0.9, 0.9, 0.9]
    for k in range(LR_STEPS):
        opt.step()
        if name == "ReduceLROnPlateau":
            sched.step(metrics[k])
        else:
            sched.step()
        values.append([float(v) for v in sched.get_last_lr()]
                      + [float(g["momentum"]) for g in opt.param_groups])
    return values


# (kind, class name, valid base arguments, arguments to sweep)
CONSTRUCTORS = [
    ("optim", "SGD", dict(lr=0.1, momentum=0.5), ["lr", "momentum", "dampening", "weight_decay"]),
    ("optim", "Adagrad", dict(lr=0.1), ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"]),
    ("optim", "RMSprop", dict(lr=0.01), ["lr", "alpha", "eps", "weight_decay", "momentum"]),
    ("optim", "Adadelta", dict(), ["lr", "rho", "eps", "weight_decay"]),
    ("optim", "Adam", dict(lr=0.01), ["lr", "betas[0]", "betas[1]", "eps", "weight_decay"]),
    ("optim", "AdamW", dict(lr=0.01), ["lr", "betas[0]", "betas[1]", "eps", "weight_decay"]),
    ("optim", "Adamax", dict(lr=0.01), ["lr", "betas[0]", "betas[1]", "eps", "weight_decay"]),
    ("optim", "NAdam", dict(lr=0.01), ["lr", "betas[0]", "betas[1]", "eps", "weight_decay", "momentum_decay"]),
    ("optim", "RAdam", dict(lr=0.01), ["lr", "betas[0]", "betas[1]", "eps", "weight_decay"]),
    ("optim", "Adafactor", dict(lr=0.01), ["lr", "beta2_decay", "d", "weight_decay"]),
    ("optim", "SparseAdam", dict(lr=0.01), ["lr", "eps"]),  # dense grads: construction only
    ("sched", "StepLR", dict(step_size=3, gamma=0.5), ["step_size", "gamma"]),
    ("sched", "MultiStepLR", dict(milestones=[2, 5], gamma=0.5), ["gamma"]),
    ("sched", "ConstantLR", dict(factor=0.5, total_iters=4), ["factor", "total_iters"]),
    ("sched", "LinearLR", dict(start_factor=0.5, end_factor=1.0, total_iters=4),
     ["start_factor", "end_factor", "total_iters"]),
    ("sched", "ExponentialLR", dict(gamma=0.9), ["gamma"]),
    ("sched", "PolynomialLR", dict(total_iters=6, power=2.0), ["total_iters", "power"]),
    ("sched", "CosineAnnealingLR", dict(T_max=5, eta_min=0.01), ["T_max", "eta_min"]),
    ("sched", "CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2), ["T_0", "T_mult", "eta_min"]),
    ("sched", "CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3),
     ["base_lr", "max_lr", "step_size_up", "step_size_down", "gamma", "base_momentum", "max_momentum"]),
    ("sched", "OneCycleLR", dict(max_lr=0.1, total_steps=LR_STEPS),
     ["max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor", "base_momentum",
      "max_momentum"]),
    ("sched", "ReduceLROnPlateau", dict(patience=1), ["factor", "patience", "threshold", "cooldown",
                                                      "min_lr", "eps"]),
]

# What torch accepts and lrbook refuses on purpose: (class, argument) -> values.
# Each is documented in the class docstring with its reason.
DELIBERATE = {
    ("StepLR", "step_size"): [-1, 0],
    ("ConstantLR", "factor"): [0],
    ("ConstantLR", "total_iters"): [-1, 0.5],
    ("LinearLR", "total_iters"): [-1, 0, 0.5, math.inf],
    ("PolynomialLR", "total_iters"): [-1, 0, 0.5, math.inf],
    ("PolynomialLR", "power"): [-1],
    ("ExponentialLR", "gamma"): [-1],
    ("CosineAnnealingLR", "T_max"): [-1, 0],
    ("CyclicLR", "step_size_up"): [-1, math.inf],
    ("CyclicLR", "step_size_down"): [-1],
    ("OneCycleLR", "total_steps"): [1, 3],
    ("ReduceLROnPlateau", "factor"): [-1],
    ("ReduceLROnPlateau", "patience"): [-1, 0.5],
    ("ReduceLROnPlateau", "cooldown"): [-1, 0.5],
    ("ReduceLROnPlateau", "threshold"): [-1],
    ("ReduceLROnPlateau", "eps"): [-1],
}


def _attempt(run, module, name, kwargs):
    """``("ok", results)``, ``("refused", error)`` at construction, or ``("crashed", error)`` later."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            getattr(module, name)(_params() if run is _run_optimizer else _sgd(), **kwargs)
        except Exception as error:  # noqa: BLE001 - any refusal counts
            return "refused", error
        try:
            return "ok", run(module, name, kwargs)
        except Exception as error:  # noqa: BLE001 - torch crashing later
            return "crashed", error


def _sweep(kind, name, base, swept):
    run = _run_optimizer if kind == "optim" else _run_scheduler
    theirs, ours = (torch.optim, lo) if kind == "optim" else (TS, S)
    refused = {}
    for arg in swept:
        for value in VALUES:
            if arg.startswith("betas["):       # one component of the betas tuple
                betas = [0.9, 0.999]
                betas[int(arg[6])] = float(value)
                kwargs = {**base, "betas": tuple(betas)}
            else:
                kwargs = {**base, arg: value}
            t_status, t_result = _attempt(run, theirs, name, kwargs)
            l_status, l_result = _attempt(run, ours, name, kwargs)
            if t_status != "refused" and l_status == "refused":
                assert isinstance(l_result, ValueError), (name, arg, value, l_result)
                assert arg in str(l_result), f"{name}({arg}={value!r}): {l_result} does not name {arg}"
                refused.setdefault((name, arg), []).append(value)
            elif t_status == "ok":
                assert l_status == "ok", (name, arg, value, l_result)
                np.testing.assert_allclose(np.array(l_result, dtype=float), np.array(t_result, dtype=float),
                                           rtol=1e-10, atol=0, equal_nan=True,
                                           err_msg=f"{name}({arg}={value!r})")
            elif t_status == "refused":
                assert l_status == "refused", f"{name}({arg}={value!r}): torch refuses, lrbook accepts"
    return refused


@pytest.mark.parametrize("kind, name, base, swept", CONSTRUCTORS, ids=[c[1] for c in CONSTRUCTORS])
def test_accepts_what_torch_accepts(kind, name, base, swept):
    refused = _sweep(kind, name, base, swept)
    expected = {key: values for key, values in DELIBERATE.items() if key[0] == name}
    assert refused == expected
    doc = getattr(lo if kind == "optim" else S, name).__doc__
    for _, arg in expected:
        section = re.search(r"deliberate difference.*", doc, flags=re.IGNORECASE | re.DOTALL)
        assert section and f"``{arg}``" in section.group(0), f"{name} does not document its check of {arg}"


def test_whole_floats_from_configs_give_torchs_results():
    """The cases of the bug report: values as they arrive from YAML/argparse."""
    cases = [
        ("ReduceLROnPlateau", dict(patience=2.0, cooldown=1.0)),
        ("LinearLR", dict(total_iters=4.0)),
        ("PolynomialLR", dict(total_iters=4.0)),
        ("ConstantLR", dict(total_iters=4.0)),
        ("PolynomialLR", dict(power=0)),
        ("ExponentialLR", dict(gamma=0)),
    ]
    for name, kwargs in cases:
        theirs = _run_scheduler(TS, name, kwargs)
        ours = _run_scheduler(S, name, kwargs)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0, err_msg=name)


@pytest.mark.parametrize("name, kwargs, epoch", [
    ("PolynomialLR", dict(total_iters=4.0, power=0), 3),
    ("ExponentialLR", dict(gamma=0), 2),
    ("ConstantLR", dict(total_iters=math.inf), 7),
    ("LinearLR", dict(total_iters=4.0), 2),
])
def test_newly_accepted_values_in_the_closed_form_path(name, kwargs, epoch):
    """``step(epoch)`` uses the pure functions, which accept the same values."""
    results = []
    for module in (TS, S):
        opt = _sgd()
        sched = getattr(module, name)(opt, **kwargs)
        with pytest.warns(UserWarning):
            sched.step(epoch)
        results.append(sched.get_last_lr())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=0)
