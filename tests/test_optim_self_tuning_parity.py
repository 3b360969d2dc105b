"""Schedule-Free, Prodigy and D-Adaptation against their reference packages.

lrbook's :class:`~lrbook.optim.SGDScheduleFree`, :class:`~lrbook.optim.AdamWScheduleFree`
(``schedulefree==1.4.1``, both its classes of the same names and its readable
``*Reference`` classes), :class:`~lrbook.optim.Prodigy` (``prodigyopt==1.1.2``,
``Prodigy`` and ``ProdigyReference``), :class:`~lrbook.optim.DAdaptSGD` and
:class:`~lrbook.optim.DAdaptAdam` (``dadaptation==3.2``) are run side by side with
the package on the same problems in float64 for 300 steps: a quadratic and a
small MLP with two parameter groups (weight decay on in one, off in the other),
with warmup, with ``train()``/``eval()`` switches in the middle of the run for
Schedule-Free. Checked: parameters (and the evaluation point ``x``) to
``rtol=1e-10``, the estimate ``d``, exact resume from ``state_dict()``,
checkpoints that load into the package, and the constructor's acceptance of
every numeric argument against the package's.

Each test skips (``pytest.importorskip``) only if its reference package is missing.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import math
import re

import numpy as np
import pytest
import torch

import lrbook.optim as lo

pytestmark = pytest.mark.usefixtures("float64_default")

STEPS = 300
RTOL = 1e-10


def _ref(package: str, name: str):
    """The class ``name`` of ``package`` ("module.Class" for a class in a submodule)."""
    module = pytest.importorskip(package)
    if "." in name:
        submodule, name = name.split(".")
        module = importlib.import_module(f"{package}.{submodule}")
    return getattr(module, name)


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with stdout swallowed (the packages print "Switching to train mode" etc.)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


# --- the problems -------------------------------------------------------------------------

class Quadratic(torch.nn.Module):
    """f(θ) = ½ Σ_i h_i (θ_i - θ*_i)², θ in two tensors (a 3×4 matrix and a 5-vector), h in [0.1, 10]."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.a = torch.nn.Parameter(torch.randn(3, 4, generator=g))
        self.b = torch.nn.Parameter(torch.randn(5, generator=g))
        self.register_buffer("h", torch.logspace(-1, 1, 17))
        self.register_buffer("target", torch.randn(17, generator=g))

    def loss(self, batch: int) -> torch.Tensor:
        theta = torch.cat([self.a.flatten(), self.b])
        return 0.5 * (self.h * (theta - self.target) ** 2).sum()


class MLP(torch.nn.Module):
    """5 → 8 → 3 tanh network on a fixed regression set; a new minibatch of 16 of 64 each step."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
        with torch.no_grad():
            for p in self.net.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
        self.register_buffer("x", torch.randn(64, 5, generator=g))
        self.register_buffer("y", torch.randn(64, 3, generator=g))

    def loss(self, batch: int) -> torch.Tensor:
        idx = torch.arange(16) + 16 * (batch % 4)
        return ((self.net(self.x[idx]) - self.y[idx]) ** 2).mean()


PROBLEMS = {"quadratic": Quadratic, "mlp": MLP}


def _groups(model: torch.nn.Module, weight_decay: float, name: str = "") -> list[dict]:
    """Two groups: the matrices (with weight decay) and the vectors (without).

    DAdaptSGD's weight decay is global (the package reads the first group's): both groups get it.
    """
    matrices = [p for p in model.parameters() if p.dim() > 1]
    vectors = [p for p in model.parameters() if p.dim() <= 1]
    return [{"params": matrices, "weight_decay": weight_decay},
            {"params": vectors, "weight_decay": weight_decay if name == "DAdaptSGD" else 0.0}]


def _flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _run(cls, kwargs, problem, *, weight_decay=0.0, steps=STEPS, schedule_free=False,
         switch_every=0, start=None):
    """Train ``steps`` steps; return (final params, params seen at each eval, the optimizer).

    For Schedule-Free, ``train()`` is called first and, every ``switch_every``
    steps, ``eval()`` (the parameters are recorded: the average x) then ``train()``;
    at the end ``eval()``. ``start`` = (model, optimizer) continues a run.
    """
    if start is None:
        model = PROBLEMS[problem]()
        opt = _quiet(cls, _groups(model, weight_decay, cls.__name__), **kwargs)
        first = 0
    else:
        model, opt, first = start
    if schedule_free:
        _quiet(opt.train)
    seen = []
    for t in range(first, first + steps):
        opt.zero_grad()
        model.loss(t).backward()
        opt.step()
        if schedule_free and switch_every and (t + 1) % switch_every == 0:
            _quiet(opt.eval)
            seen.append(_flat(model))
            _quiet(opt.train)
    if schedule_free:
        _quiet(opt.eval)
    return _flat(model), seen, opt


# (lrbook class, package, reference classes ("module.Class" in a submodule), kwargs, schedule-free?)
CASES = [
    ("SGDScheduleFree", "schedulefree", ["SGDScheduleFree", "SGDScheduleFreeReference"],
     dict(lr=0.1, warmup_steps=20), True),
    ("SGDScheduleFree", "schedulefree", ["SGDScheduleFree", "SGDScheduleFreeReference"],
     dict(lr=0.05, momentum=0.8, warmup_steps=0, r=1.0, weight_lr_power=1.0), True),
    ("AdamWScheduleFree", "schedulefree", ["AdamWScheduleFree", "AdamWScheduleFreeReference"],
     dict(lr=0.01, warmup_steps=20), True),
    ("AdamWScheduleFree", "schedulefree", ["AdamWScheduleFree", "AdamWScheduleFreeReference"],
     dict(lr=0.02, betas=(0.95, 0.99), eps=1e-6, warmup_steps=50, r=0.5), True),
    ("Prodigy", "prodigyopt", ["Prodigy", "prodigy_reference.ProdigyReference"], dict(), False),
    ("Prodigy", "prodigyopt", ["Prodigy", "prodigy_reference.ProdigyReference"],
     dict(decouple=False, use_bias_correction=True, safeguard_warmup=True, d_coef=0.5,
          growth_rate=1.05, beta3=0.9), False),
    ("Prodigy", "prodigyopt", ["Prodigy"], dict(betas=(0.0, 0.99), slice_p=3, lr=0.5), False),
    ("DAdaptSGD", "dadaptation", ["DAdaptSGD"], dict(), False),
    ("DAdaptSGD", "dadaptation", ["DAdaptSGD"], dict(momentum=0.9, growth_rate=1.1), False),
    ("DAdaptAdam", "dadaptation", ["DAdaptAdam"], dict(), False),
    ("DAdaptAdam", "dadaptation", ["DAdaptAdam"],
     dict(decouple=True, use_bias_correction=True, growth_rate=1.02, betas=(0.8, 0.99)), False),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _relative(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return ((ours - theirs).abs().max() / theirs.abs().max()).item()


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name, package, refs, kwargs, schedule_free", CASES, ids=IDS)
def test_matches_reference_package(name, package, refs, kwargs, schedule_free, problem, weight_decay):
    switch = 25 if schedule_free else 0
    ours, ours_seen, opt = _run(getattr(lo, name), kwargs, problem, weight_decay=weight_decay,
                                schedule_free=schedule_free, switch_every=switch)
    start = _flat(PROBLEMS[problem]())
    assert _relative(ours, start) > 1e-3  # the run went somewhere
    for ref_name in refs:
        theirs, theirs_seen, ref_opt = _run(_ref(package, ref_name), kwargs, problem,
                                            weight_decay=weight_decay,
                                            schedule_free=schedule_free, switch_every=switch)
        torch.testing.assert_close(ours, theirs, rtol=RTOL, atol=0)
        assert len(ours_seen) == len(theirs_seen) == (STEPS // switch if switch else 0)
        for a, b in zip(ours_seen, theirs_seen, strict=True):
            torch.testing.assert_close(a, b, rtol=RTOL, atol=0)
        for key in ("d", "d_max", "d_hat", "d_numerator", "numerator_weighted", "k", "weight_sum",
                    "lr_max", "scheduled_lr"):
            if key in ref_opt.param_groups[0]:
                for g_ours, g_ref in zip(opt.param_groups, ref_opt.param_groups, strict=True):
                    assert g_ours[key] == pytest.approx(g_ref[key], rel=RTOL, abs=0), key


@pytest.mark.parametrize("name, package, kwargs", [
    ("Prodigy", "prodigyopt", dict(weight_decay=1e-2)),
    ("Prodigy", "prodigyopt", dict(betas=(0.0, 0.999), weight_decay=1e-2, decouple=False)),
    ("DAdaptSGD", "dadaptation", dict(momentum=0.9, weight_decay=1e-2)),
    ("DAdaptAdam", "dadaptation", dict(weight_decay=1e-2, decouple=True)),
])
def test_a_group_with_lr_zero_is_frozen(name, package, kwargs):
    """lr=0 freezes a group: its parameters do not move (a deliberate difference: the package
    may move them), and the rest follows the package run that leaves the group out entirely."""
    runs = []
    for cls, freeze in ((getattr(lo, name), True), (_ref(package, name), False)):
        model = MLP()
        matrices = [p for p in model.parameters() if p.dim() > 1]
        vectors = [p for p in model.parameters() if p.dim() <= 1]
        before = _flat(model)
        groups = [{"params": matrices}] + ([{"params": vectors, "lr": 0.0}] if freeze else [])
        opt = _quiet(cls, groups, **kwargs)
        _run(None, kwargs, "mlp", steps=100, start=(model, opt, 0))
        assert torch.equal(torch.cat([p.detach().flatten() for p in vectors]),
                           torch.cat([p.detach().flatten() for p in MLP().parameters() if p.dim() <= 1]))
        runs.append(_flat(model))
        assert not torch.equal(runs[-1], before)
    torch.testing.assert_close(runs[0], runs[1], rtol=RTOL, atol=0)


def test_the_estimate_never_exceeds_the_distance_on_a_convex_problem():
    """The docstrings' bounds, step by step, on the quadratic (convex, exact gradients):
    Prodigy's d_hat <= ||θ0 - θ*||_inf; DAdaptSGD (μ = 0) 2A/||S|| <= 2 ||θ0 - θ*||."""
    for name, norm, factor in [("Prodigy", math.inf, 1.0), ("DAdaptSGD", 2, 2.0)]:
        model = Quadratic()
        distance = torch.linalg.vector_norm(_flat(model) - model.target, ord=norm).item()
        opt = getattr(lo, name)(model.parameters())
        estimates = []
        for t in range(STEPS):
            opt.zero_grad()
            model.loss(t).backward()
            opt.step()
            if name == "Prodigy":
                estimates.append(opt.param_groups[0]["d_hat"])
            else:
                s_norm = torch.cat([opt.state[p]["s"].flatten() for p in model.parameters()]).norm()
                estimates.append(2 * opt.param_groups[0]["numerator_weighted"] / s_norm.item())
        assert max(estimates) <= factor * distance, name
        assert max(estimates) > 0.1 * distance, name  # and it gets there (not a trivial bound)


def test_the_estimate_d_grows_from_d0():
    """Prodigy's and D-Adaptation's d leave d0 = 1e-6 by orders of magnitude on the quadratic."""
    for name in ("Prodigy", "DAdaptSGD", "DAdaptAdam"):
        _, _, opt = _run(getattr(lo, name), {}, "quadratic", steps=100)
        assert opt.param_groups[0]["d"] > 1e3 * 1e-6, name


# --- resume ---------------------------------------------------------------------------------

RESUME = [(c[0], c[3], c[4]) for c in CASES]


@pytest.mark.parametrize("name, kwargs, schedule_free", RESUME, ids=IDS)
def test_resume_from_state_dict_is_exact(name, kwargs, schedule_free):
    """Save model + optimizer at step k=120 (in eval mode for Schedule-Free, as its docs say),
    load into fresh objects, continue: the same trajectory, bit for bit."""
    cls = getattr(lo, name)
    k, rest = 120, 80
    full, _, _ = _run(cls, kwargs, "mlp", weight_decay=1e-2, steps=k, schedule_free=schedule_free)
    # the uninterrupted run continues from the same objects (eval() was called at step k)
    model = MLP()
    opt = cls(_groups(model, 1e-2, name), **kwargs)
    _run(cls, kwargs, "mlp", steps=k, schedule_free=schedule_free, start=(model, opt, 0))
    checkpoint = copy.deepcopy({"model": model.state_dict(), "opt": opt.state_dict()})
    uninterrupted, _, _ = _run(cls, kwargs, "mlp", steps=rest, schedule_free=schedule_free,
                               start=(model, opt, k))

    model2 = MLP(seed=1)  # different weights: all must come from the checkpoint
    opt2 = cls(_groups(model2, 0.5, name), **kwargs)
    model2.load_state_dict(checkpoint["model"])
    opt2.load_state_dict(checkpoint["opt"])
    resumed, _, opt2 = _run(cls, kwargs, "mlp", steps=rest, schedule_free=schedule_free,
                            start=(model2, opt2, k))
    assert torch.equal(resumed, uninterrupted)
    assert not torch.equal(resumed, full)  # it moved on after step k
    assert opt2.param_groups[0]["weight_decay"] == 1e-2  # the group settings came from the checkpoint


@pytest.mark.parametrize("name, package, refs, kwargs, schedule_free", CASES, ids=IDS)
def test_checkpoints_load_into_the_package(name, package, refs, kwargs, schedule_free):
    """lrbook's state_dict has the package's keys: the package continues an lrbook run."""
    ref_cls = _ref(package, refs[0])
    k, rest = 100, 100
    model = MLP()
    opt = getattr(lo, name)(_groups(model, 1e-2, name), **kwargs)
    _run(None, kwargs, "mlp", steps=k, schedule_free=schedule_free, start=(model, opt, 0))
    checkpoint = copy.deepcopy({"model": model.state_dict(), "opt": opt.state_dict()})
    ours, _, _ = _run(None, kwargs, "mlp", steps=rest, schedule_free=schedule_free,
                      start=(model, opt, k))

    model2 = MLP()
    opt2 = _quiet(ref_cls, _groups(model2, 0.0, name), **kwargs)
    model2.load_state_dict(checkpoint["model"])
    opt2.load_state_dict(checkpoint["opt"])
    theirs, _, _ = _run(None, kwargs, "mlp", steps=rest, schedule_free=schedule_free,
                        start=(model2, opt2, k))
    torch.testing.assert_close(ours, theirs, rtol=RTOL, atol=0)


# --- Schedule-Free's modes ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["SGDScheduleFree", "AdamWScheduleFree"])
def test_schedule_free_modes(name):
    cls = getattr(lo, name)
    model = MLP()
    opt = cls(model.parameters(), lr=0.01)
    assert opt.param_groups[0]["train_mode"] is False  # a new optimizer starts in eval mode
    model.loss(0).backward()
    with pytest.raises(RuntimeError, match=r"train\(\)"):
        opt.step()
    opt.train()
    for t in range(30):
        opt.zero_grad()
        model.loss(t).backward()
        opt.step()
    y = _flat(model)
    opt.eval()
    x = _flat(model)
    opt.eval()  # idempotent
    assert torch.equal(_flat(model), x)
    beta = opt.param_groups[0]["momentum" if name == "SGDScheduleFree" else "betas"]
    beta = beta if name == "SGDScheduleFree" else beta[0]
    z = torch.cat([opt.state[p]["z"].flatten() for p in model.parameters()])
    torch.testing.assert_close(y, (1 - beta) * z + beta * x, rtol=1e-12, atol=1e-14)  # y = (1-β)z + βx
    assert not torch.allclose(x, y)
    opt.train()
    torch.testing.assert_close(_flat(model), y, rtol=1e-12, atol=1e-14)


def test_schedule_free_warmup_sets_the_scheduled_lr():
    model = Quadratic()
    opt = lo.AdamWScheduleFree(model.parameters(), lr=0.01, warmup_steps=10)
    opt.train()
    seen = []
    for t in range(15):
        opt.zero_grad()
        model.loss(t).backward()
        opt.step()
        seen.append(opt.param_groups[0]["scheduled_lr"])
    np.testing.assert_allclose(seen, [0.01 * min(1, (t + 1) / 10) for t in range(15)], rtol=1e-15)


# --- arguments ------------------------------------------------------------------------------

def _p():
    return [torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))]


INVALID = [
    ("SGDScheduleFree", dict(lr=-1.0), "lr"),
    ("SGDScheduleFree", dict(momentum=0.0), "momentum"),
    ("SGDScheduleFree", dict(momentum=1.0), "momentum"),
    ("SGDScheduleFree", dict(weight_decay=-0.1), "weight_decay"),
    ("SGDScheduleFree", dict(warmup_steps=2.5), "warmup_steps"),
    ("SGDScheduleFree", dict(warmup_steps=-1), "warmup_steps"),
    ("SGDScheduleFree", dict(r=-1.0), "r"),
    ("SGDScheduleFree", dict(weight_lr_power=math.inf), "weight_lr_power"),
    ("AdamWScheduleFree", dict(lr=-1.0), "lr"),
    ("AdamWScheduleFree", dict(betas=(0.0, 0.999)), "betas[0]"),
    ("AdamWScheduleFree", dict(betas=(0.9, 1.0)), "betas[1]"),
    ("AdamWScheduleFree", dict(eps=-1.0), "eps"),
    ("AdamWScheduleFree", dict(weight_decay=-1.0), "weight_decay"),
    ("Prodigy", dict(lr=0.0), "lr"),
    ("Prodigy", dict(d0=0.0), "d0"),
    ("Prodigy", dict(eps=0.0), "eps"),
    ("Prodigy", dict(betas=(1.0, 0.999)), "betas[0]"),
    ("Prodigy", dict(betas=(0.9, -0.1)), "betas[1]"),
    ("Prodigy", dict(beta3=1.5), "beta3"),
    ("Prodigy", dict(weight_decay=-1.0), "weight_decay"),
    ("Prodigy", dict(d_coef=0.0), "d_coef"),
    ("Prodigy", dict(growth_rate=0.5), "growth_rate"),
    ("Prodigy", dict(slice_p=0), "slice_p"),
    ("DAdaptSGD", dict(lr=-1.0), "lr"),
    ("DAdaptSGD", dict(d0=-1.0), "d0"),
    ("DAdaptSGD", dict(momentum=1.0), "momentum"),
    ("DAdaptSGD", dict(weight_decay=-1.0), "weight_decay"),
    ("DAdaptSGD", dict(growth_rate=0.9), "growth_rate"),
    ("DAdaptSGD", dict(log_every=-1), "log_every"),
    ("DAdaptAdam", dict(lr=0.0), "lr"),
    ("DAdaptAdam", dict(eps=0.0), "eps"),
    ("DAdaptAdam", dict(betas=(0.9, 1.0)), "betas[1]"),
    ("DAdaptAdam", dict(growth_rate=0.0), "growth_rate"),
]


@pytest.mark.parametrize("name, kwargs, arg", INVALID, ids=[f"{n}-{k}" for n, k, _ in INVALID])
def test_invalid_arguments_raise_a_value_error_naming_them(name, kwargs, arg):
    with pytest.raises(ValueError, match=re.escape(arg)):
        getattr(lo, name)(_p(), **kwargs)


@pytest.mark.parametrize("name", ["Prodigy", "DAdaptSGD", "DAdaptAdam"])
def test_distributed_flag_is_refused(name):
    with pytest.raises(NotImplementedError, match="fsdp_in_use"):
        getattr(lo, name)(_p(), fsdp_in_use=True)


@pytest.mark.parametrize("name", ["Prodigy", "DAdaptSGD", "DAdaptAdam"])
def test_groups_must_share_the_learning_rate(name):
    a, b = _p(), _p()
    opt = getattr(lo, name)([{"params": a}, {"params": b, "lr": 0.5}])
    for p in a + b:
        p.grad = torch.ones_like(p)
    with pytest.raises(RuntimeError, match="different lr values"):
        opt.step()


def test_dadapt_sgd_global_settings_must_agree():
    opt = lo.DAdaptSGD([{"params": _p()}, {"params": _p(), "momentum": 0.5}])
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = torch.ones_like(p)
    with pytest.raises(ValueError, match="momentum must be the same in every param group"):
        opt.step()


def test_dadapt_sgd_zero_first_gradient_is_a_clear_error():
    opt = lo.DAdaptSGD(_p())
    opt.param_groups[0]["params"][0].grad = torch.zeros(3)
    with pytest.raises(RuntimeError, match="first gradient is zero"):
        opt.step()


def test_grad_is_not_modified():
    """The packages overwrite p.grad (weight decay, normalisation); lrbook leaves it alone."""
    for name, kwargs in [("SGDScheduleFree", dict(weight_decay=0.1)),
                         ("AdamWScheduleFree", dict(weight_decay=0.1)),
                         ("Prodigy", dict(weight_decay=0.1, decouple=False)),
                         ("DAdaptSGD", dict(weight_decay=0.1)),
                         ("DAdaptAdam", dict(weight_decay=0.1))]:
        params = _p()
        opt = getattr(lo, name)(params, **kwargs)
        if hasattr(opt, "train"):
            opt.train()
        for _ in range(3):
            params[0].grad = torch.tensor([0.5, -1.0, 2.0])
            opt.step()
            assert torch.equal(params[0].grad, torch.tensor([0.5, -1.0, 2.0])), name


# Acceptance of each numeric argument against the package (as tests/test_argument_acceptance.py
# does against torch): where both accept a value, a short run gives the package's numbers; where
# the package accepts a value lrbook refuses, the pair is listed here and in the class docstring.
VALUES = [-1, 0, 0.5, 1, 2.0, 3, 1e9, math.inf]
SWEEPS = [
    ("SGDScheduleFree", "schedulefree", dict(lr=0.1),
     ["lr", "momentum", "weight_decay", "warmup_steps", "r", "weight_lr_power"]),
    ("AdamWScheduleFree", "schedulefree", dict(lr=0.1),
     ["lr", "betas[0]", "betas[1]", "eps", "weight_decay", "warmup_steps", "r", "weight_lr_power"]),
    ("Prodigy", "prodigyopt", dict(),
     ["lr", "betas[0]", "betas[1]", "beta3", "eps", "weight_decay", "d0", "d_coef", "growth_rate",
      "slice_p"]),
    ("DAdaptSGD", "dadaptation", dict(), ["lr", "momentum", "weight_decay", "log_every", "d0",
                                          "growth_rate"]),
    ("DAdaptAdam", "dadaptation", dict(), ["lr", "betas[0]", "betas[1]", "eps", "weight_decay",
                                           "log_every", "d0", "growth_rate"]),
]
INF = math.inf
DELIBERATE = {
    ("SGDScheduleFree", "warmup_steps"): [-1, 0.5, INF],
    ("SGDScheduleFree", "r"): [-1, INF],
    ("SGDScheduleFree", "weight_lr_power"): [-1, INF],
    ("AdamWScheduleFree", "lr"): [-1],
    ("AdamWScheduleFree", "betas[0]"): [-1, 0, 2.0, 3, 1e9, INF],
    ("AdamWScheduleFree", "betas[1]"): [-1, 1, 2.0, 3, 1e9, INF],
    ("AdamWScheduleFree", "eps"): [-1],
    ("AdamWScheduleFree", "weight_decay"): [-1],
    ("AdamWScheduleFree", "warmup_steps"): [-1, 0.5, INF],
    ("AdamWScheduleFree", "r"): [-1, INF],
    ("AdamWScheduleFree", "weight_lr_power"): [-1, INF],
    ("Prodigy", "beta3"): [-1, 2.0, 3, 1e9, INF],
    ("Prodigy", "weight_decay"): [-1],
    ("Prodigy", "d_coef"): [-1, 0],
    ("Prodigy", "growth_rate"): [-1, 0, 0.5],
    ("Prodigy", "slice_p"): [-1, 0, 0.5, 2.0, 1e9, INF],  # the package crashes on each in step()
    ("DAdaptSGD", "momentum"): [-1, 1, 2.0, 3, 1e9, INF],
    ("DAdaptSGD", "weight_decay"): [-1],
    ("DAdaptSGD", "log_every"): [-1, 0.5, INF],
    ("DAdaptSGD", "growth_rate"): [-1, 0, 0.5],
    ("DAdaptAdam", "weight_decay"): [-1],
    ("DAdaptAdam", "log_every"): [-1, 0.5, INF],
    ("DAdaptAdam", "growth_rate"): [-1, 0, 0.5],
}


def _run_short(cls, kwargs):
    params = _p()
    opt = _quiet(cls, params, **kwargs)
    if hasattr(opt, "train"):
        _quiet(opt.train)
    for _ in range(4):
        opt.zero_grad()
        (params[0] ** 2).sum().backward()
        opt.step()
    if hasattr(opt, "eval"):
        _quiet(opt.eval)
    return params[0].detach().numpy().copy()


def _attempt(cls, kwargs):
    try:
        _quiet(cls, _p(), **kwargs)
    except Exception as error:  # noqa: BLE001 - any refusal counts
        return "refused", error
    try:
        with np.errstate(all="ignore"):
            return "ok", _run_short(cls, kwargs)
    except Exception as error:  # noqa: BLE001 - the package crashing later
        return "crashed", error


@pytest.mark.parametrize("name, package, base, swept", SWEEPS, ids=[s[0] for s in SWEEPS])
def test_accepts_what_the_package_accepts(name, package, base, swept):
    theirs, ours = _ref(package, name), getattr(lo, name)
    refused = {}
    for arg in swept:
        for value in VALUES:
            if arg.startswith("betas"):
                betas = [0.9, 0.999]
                betas[int(arg[6])] = float(value)
                kwargs = {**base, "betas": tuple(betas)}
            else:
                kwargs = {**base, arg: value}
            t_status, t_result = _attempt(theirs, kwargs)
            l_status, l_result = _attempt(ours, kwargs)
            if t_status != "refused" and l_status == "refused":
                assert isinstance(l_result, ValueError), (name, arg, value, l_result)
                assert arg in str(l_result), f"{name}({arg}={value!r}): {l_result} does not name {arg}"
                refused.setdefault((name, arg), []).append(value)
            elif t_status == "ok":
                assert l_status == "ok", (name, arg, value, l_result)
                np.testing.assert_allclose(l_result, t_result, rtol=RTOL, atol=0, equal_nan=True,
                                           err_msg=f"{name}({arg}={value!r})")
            elif t_status == "refused":
                assert l_status == "refused", f"{name}({arg}={value!r}): the package refuses, lrbook accepts"
    expected = {key: values for key, values in DELIBERATE.items() if key[0] == name}
    assert refused == expected
    doc = ours.__doc__
    section = re.search(r"deliberate difference.*", doc, flags=re.IGNORECASE | re.DOTALL)
    for _, arg in expected:
        assert section and f"``{arg}``" in section.group(0), f"{name} does not document {arg}"
