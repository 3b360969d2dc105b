"""Parity of ``lrbook.schedules`` scheduler classes with ``torch.optim.lr_scheduler`` (torch 2.13).

Every configuration is run side by side with torch for up to 1000 steps on
float64 parameters, comparing ``get_last_lr()`` and every param group's
``lr``, ``momentum`` and ``betas`` after each step (rtol 1e-10). Also:
state_dict round trips, closed forms against the pure functions, misuse errors
and warnings.
"""

from __future__ import annotations

import copy
import inspect
import io
import math
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as TS

import lrbook.schedules as S
from lrbook.schedules import functions as F

RTOL = 1e-10
GROUP_KEYS = ("lr", "momentum", "betas", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")


def make_optimizer(kind: str = "sgd", package=torch.optim, n_groups: int = 2):
    """An optimizer with ``n_groups`` param groups with different learning rates."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))], "lr": 0.1 * (i + 1)}
              for i in range(n_groups)]
    if kind == "sgd":
        return package.SGD(groups, lr=0.1, momentum=0.9)
    if kind == "sgd0":
        return package.SGD(groups, lr=0.1)           # momentum=0: CyclicLR will still set it
    if kind == "adam":
        return package.Adam(groups, lr=1e-3)
    if kind == "rmsprop":
        return package.RMSprop(groups, lr=1e-3, momentum=0.5)
    if kind == "adagrad":
        return package.Adagrad(groups, lr=1e-2)
    raise ValueError(kind)


def snapshot(sched, opt):
    """Everything a scheduler controls, flattened: last lrs, then every group's tracked keys."""
    values = [float(v) for v in sched.get_last_lr()]
    keys = []
    for group in opt.param_groups:
        for key in GROUP_KEYS:
            if key in group:
                keys.append(key)
                value = group[key]
                values.extend(float(v) for v in (value if isinstance(value, tuple) else (value,)))
    return values, keys, getattr(sched, "last_epoch", None)


def assert_same(ts, ls, topt, lopt, where=""):
    (tv, tk, te), (lv, lk, le) = snapshot(ts, topt), snapshot(ls, lopt)
    assert lk == tk, f"param group keys differ {where}"
    assert le == te, f"last_epoch differs {where}"
    np.testing.assert_allclose(lv, tv, rtol=RTOL, atol=0, err_msg=where)


def run_side_by_side(build, kind, num_steps, edit=None):
    topt, lopt = make_optimizer(kind), make_optimizer(kind)
    ts, ls = build(TS, topt), build(S, lopt)
    assert_same(ts, ls, topt, lopt, "after construction")
    theirs, ours = [], []
    for step in range(1, num_steps + 1):
        topt.step()
        lopt.step()
        if edit is not None:
            edit(step, topt)
            edit(step, lopt)
        ts.step()
        ls.step()
        (tv, tk, te), (lv, lk, le) = snapshot(ts, topt), snapshot(ls, lopt)
        assert (lk, le) == (tk, te), f"keys or last_epoch differ after step {step}"
        theirs.append(tv)
        ours.append(lv)
    if num_steps:
        np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=RTOL, atol=0)
    return ts, ls, topt, lopt


class Halve:
    """A callable object (its state is saved by state_dict, unlike a lambda)."""

    def __init__(self, every):
        self.every = every

    def __call__(self, x):
        return 0.5 ** (x // self.every)


# (id, builder(module, optimizer), optimizer kind, number of steps)
CONFIGS = [
    ("lambda", lambda m, o: m.LambdaLR(o, lambda e: 0.95**e), "sgd", 1000),
    ("lambda-per-group", lambda m, o: m.LambdaLR(o, [lambda e: 1 / (1 + e), Halve(7)]), "adam", 300),
    ("multiplicative", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.99), "sgd", 1000),
    ("multiplicative-groups", lambda m, o: m.MultiplicativeLR(o, [lambda e: 0.99, lambda e: 1 - 1 / (e + 100)]), "sgd", 500),
    ("step", lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), "sgd", 1000),
    ("step-default-gamma", lambda m, o: m.StepLR(o, 30), "adam", 1000),
    ("step-1", lambda m, o: m.StepLR(o, step_size=1, gamma=0.99), "sgd", 1000),
    ("multistep", lambda m, o: m.MultiStepLR(o, [30, 10, 30, 5], gamma=0.3), "sgd", 200),
    ("multistep-default", lambda m, o: m.MultiStepLR(o, milestones=[100, 500]), "adam", 1000),
    ("constant", lambda m, o: m.ConstantLR(o), "sgd", 100),
    ("constant-half", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=20), "sgd", 100),
    ("constant-zero-iters", lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=0), "sgd", 50),
    ("linear", lambda m, o: m.LinearLR(o), "sgd", 100),
    ("linear-warmup", lambda m, o: m.LinearLR(o, start_factor=0.01, total_iters=100), "adam", 1000),
    ("linear-to-zero", lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=50), "sgd", 200),
    ("linear-down", lambda m, o: m.LinearLR(o, 0.5, 0.25, 10), "sgd", 50),
    ("exponential", lambda m, o: m.ExponentialLR(o, 0.99), "sgd", 1000),
    ("exponential-half", lambda m, o: m.ExponentialLR(o, gamma=0.5), "sgd", 1000),
    ("exponential-growth", lambda m, o: m.ExponentialLR(o, 1.01), "adam", 1000),
    ("polynomial", lambda m, o: m.PolynomialLR(o), "sgd", 50),
    ("polynomial-2", lambda m, o: m.PolynomialLR(o, total_iters=300, power=2.0), "sgd", 1000),
    ("polynomial-sqrt", lambda m, o: m.PolynomialLR(o, 100, 0.5), "adam", 200),
    ("cosine", lambda m, o: m.CosineAnnealingLR(o, T_max=100), "sgd", 1000),
    ("cosine-eta-min", lambda m, o: m.CosineAnnealingLR(o, T_max=37, eta_min=0.001), "sgd", 1000),
    ("cosine-T1", lambda m, o: m.CosineAnnealingLR(o, 1), "sgd", 50),
    ("cosine-float-T", lambda m, o: m.CosineAnnealingLR(o, 2.5, 0.01), "sgd", 100),
    ("sgdr", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10), "sgd", 1000),
    ("sgdr-mult", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=0.01), "sgd", 1000),
    ("sgdr-mult3", lambda m, o: m.CosineAnnealingWarmRestarts(o, 1, 3), "adam", 1000),
    ("cyclic", lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=20), "sgd", 1000),
    ("cyclic-momentum0", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=20), "sgd0", 200),
    ("cyclic-tri2", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 20, 35, mode="triangular2"), "sgd", 1000),
    ("cyclic-exp", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 25, mode="exp_range", gamma=0.995), "sgd", 1000),
    ("cyclic-adam", lambda m, o: m.CyclicLR(o, 1e-4, 1e-2, 30, mode="triangular2", base_momentum=0.85, max_momentum=0.95), "adam", 1000),
    ("cyclic-rmsprop", lambda m, o: m.CyclicLR(o, 1e-4, 1e-2, 30, 10), "rmsprop", 300),
    ("cyclic-scale-cycle", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 10, scale_fn=lambda x: 0.5 * (1 + math.sin(x * math.pi / 2))), "sgd", 500),
    ("cyclic-scale-iter", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 10, scale_fn=lambda x: 1 / (1 + x / 100), scale_mode="iterations"), "adam", 500),
    ("cyclic-lists", lambda m, o: m.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], 15, base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95]), "sgd", 300),
    ("cyclic-no-momentum", lambda m, o: m.CyclicLR(o, 0.001, 0.01, 10, cycle_momentum=False), "adagrad", 300),
    ("onecycle", lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=1000), "sgd", 1000),
    ("onecycle-3phase", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=1000, three_phase=True), "sgd", 1000),
    ("onecycle-linear", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=500, anneal_strategy="linear"), "adam", 500),
    ("onecycle-linear-3phase", lambda m, o: m.OneCycleLR(o, 0.1, 400, anneal_strategy="linear", three_phase=True, pct_start=0.25), "sgd", 400),
    ("onecycle-epochs", lambda m, o: m.OneCycleLR(o, [0.1, 0.2], epochs=10, steps_per_epoch=37, div_factor=10.0, final_div_factor=100.0), "adam", 370),
    ("onecycle-no-momentum", lambda m, o: m.OneCycleLR(o, 0.05, 200, cycle_momentum=False), "adagrad", 200),
    ("onecycle-momentum-lists", lambda m, o: m.OneCycleLR(o, 0.05, 300, base_momentum=[0.8, 0.85], max_momentum=[0.9, 0.99]), "rmsprop", 300),
    ("sequential", lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.1, total_iters=3), m.ExponentialLR(o, 0.5)], milestones=[3]), "sgd", 200),
    ("sequential-3", lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.1, 5), m.CosineAnnealingLR(o, T_max=50), m.StepLR(o, 10)], [5, 55]), "adam", 300),
    ("sequential-warmup-cosine", lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.01, 1.0, 100), m.CosineAnnealingLR(o, 900, 1e-4)], [100]), "sgd", 1000),
    ("chained", lambda m, o: m.ChainedScheduler([m.ConstantLR(o, 0.1, 2), m.ExponentialLR(o, 0.9)]), "sgd", 100),
    ("chained-warmup-cosine", lambda m, o: m.ChainedScheduler([m.LinearLR(o, 0.1, 1.0, 20), m.CosineAnnealingLR(o, 100, 0.001)]), "sgd", 1000),
    ("chained-3", lambda m, o: m.ChainedScheduler([m.StepLR(o, 10, 0.5), m.ExponentialLR(o, 0.99), m.MultiStepLR(o, [50])], optimizer=o), "adam", 300),
]


@pytest.mark.parametrize("build, kind, num_steps", [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_parity_with_torch(build, kind, num_steps):
    run_side_by_side(build, kind, num_steps)


def test_semantics_examples():
    # SEMANTICS §B.6: LinearLR(0.1, 3) then ExponentialLR(0.5) at milestone 3
    opt = make_optimizer("sgd", n_groups=1)
    opt.param_groups[0]["lr"] = 1.0
    sched = S.SequentialLR(opt, [S.LinearLR(opt, 0.1, total_iters=3), S.ExponentialLR(opt, 0.5)], [3])
    seen = [sched.get_last_lr()[0]]
    for _ in range(5):
        opt.step()
        sched.step()
        seen.append(sched.get_last_lr()[0])
    assert seen == pytest.approx([0.1, 0.4, 0.7, 1.0, 0.5, 0.25])
    # ChainedScheduler composes multiplicatively: 0.1, 0.09, 0.81, 0.729
    opt = make_optimizer("sgd", n_groups=1)
    opt.param_groups[0]["lr"] = 1.0
    sched = S.ChainedScheduler([S.ConstantLR(opt, 0.1, 2), S.ExponentialLR(opt, 0.9)])
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(3):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    assert seen == pytest.approx([0.1, 0.09, 0.81, 0.729])


def test_cosine_external_edit_persists_like_torch():
    def halve_once(step, opt):
        if step == 1:
            for g in opt.param_groups:
                g["lr"] *= 0.5

    run_side_by_side(lambda m, o: m.CosineAnnealingLR(o, 50), "sgd", 200, edit=halve_once)
    # up to the minimum every later value is half the closed form
    _, _, _, lopt = run_side_by_side(lambda m, o: m.CosineAnnealingLR(o, 50), "sgd", 40, edit=halve_once)
    assert lopt.param_groups[0]["lr"] == pytest.approx(0.5 * F.cosine_decay(40, 0.1, 50), rel=1e-12)


def test_cosine_rises_again_after_T_max():
    _, ls, _, _ = run_side_by_side(lambda m, o: m.CosineAnnealingLR(o, 10), "sgd", 20)
    assert ls.get_last_lr()[0] == pytest.approx(0.1)


@pytest.mark.parametrize("T_0, T_mult", [(10, 1), (5, 2), (3, 3)])
def test_sgdr_fractional_epochs_match_torch(T_0, T_mult):
    topt, lopt = make_optimizer(), make_optimizer()
    ts = TS.CosineAnnealingWarmRestarts(topt, T_0, T_mult, eta_min=0.001)
    ls = S.CosineAnnealingWarmRestarts(lopt, T_0, T_mult, eta_min=0.001)
    iters = 7
    for epoch in range(40):
        for i in range(iters):
            topt.step()
            lopt.step()
            ts.step(epoch + i / iters)
            ls.step(epoch + i / iters)
            assert_same(ts, ls, topt, lopt, f"epoch {epoch + i / iters}")


def test_sgdr_float_log_boundary_is_fixed():
    # torch 2.13 computes T_cur = T_i (lr = eta_min) at epoch 121 for T_0=1, T_mult=3;
    # the restart value (the base lr) is correct: 121 = 1 + 3 + 9 + 27 + 81
    topt, lopt = make_optimizer(n_groups=1), make_optimizer(n_groups=1)
    ts = TS.CosineAnnealingWarmRestarts(topt, 1, 3)
    ls = S.CosineAnnealingWarmRestarts(lopt, 1, 3)
    ts.step(121)
    ls.step(121)
    assert ls.get_last_lr()[0] == pytest.approx(0.1)
    assert ls.get_last_lr()[0] == pytest.approx(S.cosine_with_warm_restarts(121, 0.1, 1, 3))
    assert ts.get_last_lr()[0] == pytest.approx(0.0, abs=1e-12)   # documents torch's rounding bug


# --------------------------------------------------------------------------
# ReduceLROnPlateau
# --------------------------------------------------------------------------


def plateau_metrics(kind: str, n: int = 300, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    if kind == "loss":           # falls, then flat with noise
        values = 1.0 / (1 + t / 20) + 0.01 * rng.standard_normal(n)
    elif kind == "acc":          # rises to a plateau
        values = 0.9 - 0.5 * np.exp(-t / 30) + 0.005 * rng.standard_normal(n)
    elif kind == "negative":     # a log-likelihood-like negative metric drifting up
        values = -1.0 + 0.00005 * t      # worse each epoch, but by less than |best| * threshold
    elif kind == "steps":        # exactly flat stretches (ties are not improvements)
        values = np.repeat([5.0, 4.0, 4.0, 3.0, 3.0, 3.0], n // 6)
    else:
        raise ValueError(kind)
    return values.tolist()


PLATEAU_CONFIGS = [
    ("defaults", {}, "loss"),
    ("patience2", dict(patience=2, factor=0.5), "loss"),
    ("patience0", dict(patience=0, factor=0.5), "steps"),
    ("max-rel", dict(mode="max", patience=3, factor=0.5), "acc"),
    ("max-abs", dict(mode="max", threshold_mode="abs", threshold=1e-3, patience=3), "acc"),
    ("min-abs", dict(threshold_mode="abs", threshold=0.01, patience=4, factor=0.3), "loss"),
    ("threshold", dict(threshold=0.05, patience=2, factor=0.7), "loss"),
    ("cooldown", dict(patience=1, cooldown=5, factor=0.5), "loss"),
    ("min-lr-scalar", dict(patience=1, factor=0.5, min_lr=0.01), "steps"),
    ("min-lr-list", dict(patience=1, factor=0.5, min_lr=[0.02, 0.001]), "steps"),
    ("eps", dict(patience=0, factor=0.5, eps=0.01), "steps"),
    ("negative-rel", dict(patience=2), "negative"),
    ("negative-abs", dict(patience=2, threshold_mode="abs"), "negative"),
]


@pytest.mark.parametrize("kwargs, metric_kind", [c[1:] for c in PLATEAU_CONFIGS], ids=[c[0] for c in PLATEAU_CONFIGS])
def test_reduce_on_plateau_parity(kwargs, metric_kind):
    topt, lopt = make_optimizer(), make_optimizer()
    ts, ls = TS.ReduceLROnPlateau(topt, **kwargs), S.ReduceLROnPlateau(lopt, **kwargs)
    for i, value in enumerate(plateau_metrics(metric_kind)):
        topt.step()
        lopt.step()
        metric = torch.tensor(value) if i % 2 else value        # 0-d tensors are accepted too
        ts.step(metric)
        ls.step(metric)
        assert_same(ts, ls, topt, lopt, f"epoch {i}")
        assert (ls.best, ls.num_bad_epochs, ls.cooldown_counter) == (ts.best, ts.num_bad_epochs, ts.cooldown_counter)


def test_reduce_on_plateau_cuts_on_patience_plus_one_bad_epoch():
    opt = make_optimizer(n_groups=1)
    sched = S.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    lrs = []
    for value in [1.0, 1.0, 1.0, 1.0, 1.0]:
        sched.step(value)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05])   # 3rd flat value after the best


def test_reduce_on_plateau_negative_metric_rel_pitfall():
    # rel mode with a slowly worsening negative metric never cuts; abs mode does
    rel = S.ReduceLROnPlateau(make_optimizer(n_groups=1), patience=2)
    absolute = S.ReduceLROnPlateau(make_optimizer(n_groups=1), patience=2, threshold_mode="abs")
    for value in plateau_metrics("negative", 100):
        rel.step(value)
        absolute.step(value)
    assert rel.get_last_lr()[0] == 0.1
    assert absolute.get_last_lr()[0] < 0.1


def test_reduce_on_plateau_nan_is_a_bad_epoch():
    sched = S.ReduceLROnPlateau(make_optimizer(n_groups=1), patience=1)
    for value in [1.0, float("nan"), float("nan")]:
        sched.step(value)
    assert sched.get_last_lr()[0] == pytest.approx(0.01)


def test_reduce_on_plateau_needs_a_metric():
    sched = S.ReduceLROnPlateau(make_optimizer())
    with pytest.raises(TypeError, match=r"metrics.*step\(val_loss\)"):
        sched.step()


def test_reduce_on_plateau_state_round_trip():
    metrics = plateau_metrics("loss", 200, seed=3)
    opt = make_optimizer()
    ref = S.ReduceLROnPlateau(opt, patience=2, cooldown=3, factor=0.5)
    for m in metrics[:100]:
        ref.step(m)
    saved_opt, saved = copy.deepcopy(opt.state_dict()), torch_roundtrip(ref.state_dict())
    opt2 = make_optimizer()
    resumed = S.ReduceLROnPlateau(opt2, patience=2, cooldown=3, factor=0.5)
    opt2.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    for m in metrics[100:]:
        ref.step(m)
        resumed.step(m)
        assert resumed.get_last_lr() == ref.get_last_lr()
        assert resumed.num_bad_epochs == ref.num_bad_epochs


# --------------------------------------------------------------------------
# state_dict round trips
# --------------------------------------------------------------------------


def torch_roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


@pytest.mark.parametrize("build, kind, num_steps", [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_state_dict_round_trip_continues_identically(build, kind, num_steps):
    num_steps = min(num_steps, 300)
    half = num_steps // 2
    opt = make_optimizer(kind)
    ref = build(S, opt)
    for _ in range(half):
        opt.step()
        ref.step()
    saved_opt = copy.deepcopy(opt.state_dict())
    saved = torch_roundtrip(ref.state_dict())
    # resume in the safe order: build optimizer -> build scheduler -> load optimizer -> load scheduler
    opt2 = make_optimizer(kind)
    resumed = build(S, opt2)
    opt2.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    assert resumed.get_last_lr() == ref.get_last_lr()
    for step in range(half, num_steps):
        for o, s in ((opt, ref), (opt2, resumed)):
            o.step()
            s.step()
        assert resumed.get_last_lr() == ref.get_last_lr(), f"step {step}"
        for g1, g2 in zip(opt.param_groups, opt2.param_groups, strict=True):
            assert (g1["lr"], g1.get("momentum"), g1.get("betas")) == (g2["lr"], g2.get("momentum"), g2.get("betas"))


def test_load_state_dict_does_not_modify_its_argument():
    opt = make_optimizer()
    sched = S.CyclicLR(opt, 0.01, 0.1, 10)
    state = sched.state_dict()
    before = copy.deepcopy(state)
    sched.load_state_dict(state)
    sched.load_state_dict(state)          # torch's CyclicLR raises KeyError here
    assert state.keys() == before.keys()


def test_callable_object_lambda_state_is_saved():
    opt = make_optimizer(n_groups=1)
    fn = Halve(3)
    sched = S.LambdaLR(opt, fn)
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"every": 3}]
    assert S.LambdaLR(make_optimizer(n_groups=1), lambda e: 1.0).state_dict()["lr_lambdas"] == [None]
    fn2 = Halve(100)
    sched2 = S.LambdaLR(make_optimizer(n_groups=1), fn2)
    sched2.load_state_dict(state)
    assert fn2.every == 3


# --------------------------------------------------------------------------
# the classes use the pure functions' mathematics
# --------------------------------------------------------------------------

CLOSED_FORMS = [
    ("step", lambda o: S.StepLR(o, 7, 0.5), lambda e, b: F.step_decay(e, b, 7, 0.5)),
    ("multistep", lambda o: S.MultiStepLR(o, [5, 20, 20], 0.3), lambda e, b: F.multistep_decay(e, b, [5, 20, 20], 0.3)),
    ("constant", lambda o: S.ConstantLR(o, 0.5, 10), lambda e, b: b * (0.5 if e < 10 else 1.0)),
    ("linear", lambda o: S.LinearLR(o, 0.1, 0.9, 40), lambda e, b: F.linear_decay(e, 0.1 * b, 40, 0.9 * b)),
    ("exponential", lambda o: S.ExponentialLR(o, 0.97), lambda e, b: F.exponential_decay(e, b, 1, 0.97)),
    ("polynomial", lambda o: S.PolynomialLR(o, 60, 1.5), lambda e, b: F.polynomial_decay(e, b, 60, 0.0, 1.5)),
    ("cosine", lambda o: S.CosineAnnealingLR(o, 40, 0.002), lambda e, b: F.cosine_decay(e, b, 40, 0.002, periodic=True)),
    ("sgdr", lambda o: S.CosineAnnealingWarmRestarts(o, 5, 2, 0.001), lambda e, b: F.cosine_with_warm_restarts(e, b, 5, 2, 0.001)),
    ("lambda", lambda o: S.LambdaLR(o, lambda e: 1 / math.sqrt(1 + e)), lambda e, b: b / math.sqrt(1 + e)),
    ("schedule", lambda o: S.ScheduleLR(o, S.make_schedule(S.inverse_time_decay, initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
     lambda e, b: F.inverse_time_decay(e, 0.1, 10, 0.5)),
    ("sequential", lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.01, 1.0, 10), S.CosineAnnealingLR(o, 90)], [10]),
     lambda e, b: S.join_schedules([S.make_schedule(S.linear_decay, initial_learning_rate=0.01 * b, total_steps=10, end_learning_rate=b),
                                    S.make_schedule(S.cosine_decay, initial_learning_rate=b, decay_steps=90, periodic=True)], [10])(e)),
]


@pytest.mark.parametrize("build, formula", [c[1:] for c in CLOSED_FORMS], ids=[c[0] for c in CLOSED_FORMS])
def test_classes_follow_the_pure_functions(build, formula):
    opt = make_optimizer()
    sched = build(opt)
    bases = [g["initial_lr"] for g in opt.param_groups]
    for e in range(200):
        expected = [formula(e, b) for b in bases]
        np.testing.assert_allclose(sched.get_last_lr(), expected, rtol=RTOL, atol=1e-17, err_msg=f"epoch {e}")
        opt.step()
        sched.step()


def test_cyclic_and_one_cycle_follow_the_pure_functions():
    opt = make_optimizer("sgd", n_groups=1)
    cyc = S.CyclicLR(opt, 0.01, 0.1, 13, 29, mode="triangular2")
    for e in range(300):
        assert cyc.get_last_lr()[0] == pytest.approx(S.cyclical(e, 0.01, 0.1, 13, 29, "triangular2"), rel=RTOL)
        assert opt.param_groups[0]["momentum"] == pytest.approx(S.cyclical_momentum(e, 0.8, 0.9, 13, 29, "triangular2"), rel=RTOL)
        opt.step()
        cyc.step()
    opt = make_optimizer("adam", n_groups=1)
    one = S.OneCycleLR(opt, 0.3, 250, three_phase=True, anneal_strategy="linear")
    for e in range(251):
        assert one.get_last_lr()[0] == pytest.approx(S.one_cycle(e, 0.3, 250, 0.3, "linear", three_phase=True), rel=RTOL)
        assert opt.param_groups[0]["betas"][0] == pytest.approx(S.one_cycle_momentum(e, 250, 0.3, "linear", three_phase=True), rel=RTOL)
        opt.step()
        if e < 250:
            one.step()


@pytest.mark.parametrize("build, formula", [c[1:] for c in CLOSED_FORMS[:7]], ids=[c[0] for c in CLOSED_FORMS[:7]])
def test_step_with_epoch_uses_closed_form_and_warns(build, formula):
    opt = make_optimizer()
    sched = build(opt)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(33)
    bases = [g["initial_lr"] for g in opt.param_groups]
    np.testing.assert_allclose(sched.get_last_lr(), [formula(33, b) for b in bases], rtol=RTOL)


# --------------------------------------------------------------------------
# misuse: errors and warnings
# --------------------------------------------------------------------------

# the same bad arguments must be rejected by torch and by lrbook with the same exception type
BOTH_REJECT = [
    ("constant-factor", lambda m, o: m.ConstantLR(o, factor=2.0), ValueError),
    ("linear-start", lambda m, o: m.LinearLR(o, start_factor=0.0), ValueError),
    ("linear-end", lambda m, o: m.LinearLR(o, end_factor=1.5), ValueError),
    ("lambda-length", lambda m, o: m.LambdaLR(o, [lambda e: 1.0]), ValueError),
    ("multiplicative-not-callable", lambda m, o: m.MultiplicativeLR(o, 0.9), TypeError),
    ("cyclic-mode", lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), ValueError),
    ("cyclic-max-lr-length", lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2, 0.3]), ValueError),
    ("cyclic-no-momentum", lambda m, o: m.CyclicLR(m_adagrad(o), 0.01, 0.1), ValueError),
    ("onecycle-no-total", lambda m, o: m.OneCycleLR(o, 0.1), ValueError),
    ("onecycle-total", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=0), ValueError),
    ("onecycle-total-float", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10.0), ValueError),
    ("onecycle-epochs", lambda m, o: m.OneCycleLR(o, 0.1, epochs=-1, steps_per_epoch=10), ValueError),
    ("onecycle-pct-int", lambda m, o: m.OneCycleLR(o, 0.1, 100, pct_start=1), ValueError),
    ("onecycle-pct-range", lambda m, o: m.OneCycleLR(o, 0.1, 100, pct_start=1.5), ValueError),
    ("onecycle-anneal", lambda m, o: m.OneCycleLR(o, 0.1, 100, anneal_strategy="cosine"), ValueError),
    ("onecycle-no-momentum", lambda m, o: m.OneCycleLR(m_adagrad(o), 0.1, 100), ValueError),
    ("sgdr-T0-float", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.0), ValueError),
    ("sgdr-T0-zero", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
    ("sgdr-Tmult", lambda m, o: m.CosineAnnealingWarmRestarts(o, 10, T_mult=0), ValueError),
    ("plateau-factor", lambda m, o: m.ReduceLROnPlateau(o, factor=1.0), ValueError),
    ("plateau-mode", lambda m, o: m.ReduceLROnPlateau(o, mode="minimum"), ValueError),
    ("plateau-threshold-mode", lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="relative"), ValueError),
    ("plateau-min-lr-length", lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1, 0.2, 0.3]), ValueError),
    ("chained-empty", lambda m, o: m.ChainedScheduler([]), ValueError),
    ("sequential-milestones", lambda m, o: m.SequentialLR(o, [m.StepLR(o, 3), m.StepLR(o, 5)], [2, 4]), ValueError),
    ("sequential-plateau", lambda m, o: m.SequentialLR(o, [m.StepLR(o, 3), m.ReduceLROnPlateau(o)], [2]), ValueError),
    ("chained-plateau", lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)]), ValueError),
    ("not-an-optimizer", lambda m, o: m.StepLR("sgd", 3), TypeError),
    ("resume-without-initial-lr", lambda m, o: m.StepLR(o, 3, last_epoch=5), KeyError),
]


def m_adagrad(opt):
    return type(opt) is torch.optim.SGD and torch.optim.Adagrad(opt.param_groups[0]["params"]) or opt


@pytest.mark.parametrize("build, error", [c[1:] for c in BOTH_REJECT], ids=[c[0] for c in BOTH_REJECT])
def test_same_errors_as_torch(build, error):
    with pytest.raises(error):
        build(TS, make_optimizer())
    with pytest.raises(error):
        build(S, make_optimizer())


STRICTER = [  # torch accepts these and fails later (ZeroDivisionError) or silently misbehaves
    ("step_size", lambda o: S.StepLR(o, step_size=0)),
    ("T_max", lambda o: S.CosineAnnealingLR(o, T_max=0)),
    ("factor", lambda o: S.ConstantLR(o, factor=0.0)),
    ("total_iters", lambda o: S.PolynomialLR(o, total_iters=0)),
    ("total_iters", lambda o: S.LinearLR(o, total_iters=0)),
    ("gamma", lambda o: S.ExponentialLR(o, gamma=-0.5)),
    ("pct_start", lambda o: S.OneCycleLR(o, 0.1, total_steps=10, pct_start=0.1)),
    ("step_size_up", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=0)),
    ("patience", lambda o: S.ReduceLROnPlateau(o, patience=-1)),
    ("factor", lambda o: S.ReduceLROnPlateau(o, factor=-0.5)),
]


@pytest.mark.parametrize("name, build", STRICTER, ids=[f"{i}-{c[0]}" for i, c in enumerate(STRICTER)])
def test_invalid_arguments_name_the_argument(name, build):
    with pytest.raises(ValueError, match=name):
        build(make_optimizer())


def test_one_cycle_stepped_too_often():
    opt = make_optimizer()
    sched = S.OneCycleLR(opt, 0.1, total_steps=20)
    for _ in range(20):        # exactly total_steps calls are accepted
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 21 times. The specified number of total steps is 20"):
        sched.step()


def test_warning_when_scheduler_steps_before_optimizer():
    opt = make_optimizer()
    sched = S.StepLR(opt, 3)
    with pytest.warns(UserWarning, match=r"^Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    opt2 = make_optimizer()
    sched2 = S.StepLR(opt2, 3)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()
        sched2.get_last_lr()


def test_get_lr_warns_and_looks_ahead_like_torch():
    for module in (TS, S):
        opt = make_optimizer(n_groups=1)
        sched = module.StepLR(opt, step_size=2, gamma=0.1)
        for _ in range(2):
            opt.step()
            sched.step()
        with pytest.warns(UserWarning, match="get_last_lr"):
            ahead = sched.get_lr()
        assert sched.get_last_lr()[0] == pytest.approx(0.01)
        assert ahead[0] == pytest.approx(0.001)     # the decay applied once more (pitfall D.2)


def test_signatures_match_torch():
    names = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
             "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
             "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"]
    for name in names:
        ours = inspect.signature(getattr(S, name).__init__).parameters
        theirs = inspect.signature(getattr(TS, name).__init__).parameters
        assert list(ours) == list(theirs), name
        for p in theirs:
            assert ours[p].default == theirs[p].default, (name, p)


# --------------------------------------------------------------------------
# any torch.optim.Optimizer, including lrbook.optim's
# --------------------------------------------------------------------------


def _lrbook_optim():
    try:
        import lrbook.optim as lo
        lo.SGD, lo.Adam  # noqa: B018
    except Exception as exc:  # the optimizer package is developed in parallel
        pytest.skip(f"lrbook.optim not usable yet: {exc}")
    return lo


@pytest.mark.parametrize("kind, build", [
    ("sgd", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 10, mode="triangular2")),
    ("adam", lambda m, o: m.OneCycleLR(o, 0.01, 100, three_phase=True)),
    ("sgd", lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.1, 1.0, 10), m.CosineAnnealingLR(o, 50)], [10])),
])
def test_with_lrbook_optimizers(kind, build):
    lo = _lrbook_optim()
    topt, lopt = make_optimizer(kind, torch.optim), make_optimizer(kind, lo)
    ts, ls = build(TS, topt), build(S, lopt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # lrbook optimizers fire the step hook: no order warning
        for step in range(100):
            for o in (topt, lopt):
                for g in o.param_groups:
                    for p in g["params"]:
                        p.grad = torch.ones_like(p)
                o.step()
            ts.step()
            ls.step()
            assert_same(ts, ls, topt, lopt, f"step {step}")
    for tg, lg in zip(topt.param_groups, lopt.param_groups, strict=True):
        torch.testing.assert_close(lg["params"][0], tg["params"][0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["CosineAnnealingLR", "ExponentialLR", "StepLR"])
def test_tensor_learning_rates_are_filled_in_place_like_torch(name):
    args = {"CosineAnnealingLR": (10,), "ExponentialLR": (0.9,), "StepLR": (2,)}[name]
    results = []
    for module in (TS, S):
        lr = torch.tensor(0.1, dtype=torch.float64)
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], lr=lr, momentum=0.9)
        sched = getattr(module, name)(opt, *args)
        for _ in range(5):
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] is lr                 # same tensor object, updated in place
        assert sched.get_last_lr()[0] is not lr                # get_last_lr returns copies
        results.append(float(lr))
    assert results[0] == results[1]
