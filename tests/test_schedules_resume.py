"""Resuming schedulers, and the places where users plug their own code into them.

* resuming through the constructor's ``last_epoch`` (the property: built with
  ``last_epoch = N - 1`` after the optimizer's state is loaded, a scheduler
  continues exactly as the uninterrupted run from step ``N``), with the
  schedulers for which torch 2.13 does not, listed as documented differences;
* custom schedulers written the torch way (override ``get_lr``);
* ``CyclicLR`` and ``OneCycleLR`` checkpoints in both directions;
* warning and error texts that start with torch's.
"""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest
import torch
from test_schedules_torch import make_optimizer, snapshot
from torch.optim import lr_scheduler as TS

import lrbook.schedules as S

RTOL = 1e-10
EXTRA_STEPS = 6

# (id, builder(module, optimizer, last_epoch), optimizer kind, largest N tested)
RESUMABLE = [
    ("lambda", lambda m, o, e: m.LambdaLR(o, lambda k: 0.9**k, last_epoch=e), "sgd", 15),
    ("multiplicative", lambda m, o, e: m.MultiplicativeLR(o, lambda k: 1 - 1 / (k + 5), last_epoch=e), "sgd", 15),
    ("step", lambda m, o, e: m.StepLR(o, step_size=3, gamma=0.5, last_epoch=e), "sgd", 15),
    ("multistep", lambda m, o, e: m.MultiStepLR(o, [2, 5, 5, 9], gamma=0.3, last_epoch=e), "adam", 15),
    ("constant", lambda m, o, e: m.ConstantLR(o, factor=0.5, total_iters=4, last_epoch=e), "sgd", 15),
    ("linear", lambda m, o, e: m.LinearLR(o, 0.2, 0.9, total_iters=6, last_epoch=e), "sgd", 15),
    ("exponential", lambda m, o, e: m.ExponentialLR(o, 0.9, last_epoch=e), "sgd", 15),
    ("polynomial", lambda m, o, e: m.PolynomialLR(o, total_iters=8, power=2.0, last_epoch=e), "sgd", 15),
    ("cosine", lambda m, o, e: m.CosineAnnealingLR(o, T_max=5, eta_min=0.01, last_epoch=e), "sgd", 15),
    ("sgdr-mult1", lambda m, o, e: m.CosineAnnealingWarmRestarts(o, 4, 1, 0.01, last_epoch=e), "sgd", 15),
    ("sgdr-mult2", lambda m, o, e: m.CosineAnnealingWarmRestarts(o, 3, 2, last_epoch=e), "sgd", 30),
    ("sgdr-mult3", lambda m, o, e: m.CosineAnnealingWarmRestarts(o, 2, 3, 0.001, last_epoch=e), "sgd", 30),
    ("cyclic", lambda m, o, e: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=2,
                                          mode="triangular2", last_epoch=e), "sgd", 15),
    ("cyclic-adam", lambda m, o, e: m.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=2, mode="exp_range",
                                               gamma=0.9, last_epoch=e), "adam", 15),
    ("one-cycle", lambda m, o, e: m.OneCycleLR(o, 0.5, total_steps=25, last_epoch=e), "sgd", 15),
    ("one-cycle-3", lambda m, o, e: m.OneCycleLR(o, [0.5, 0.2], total_steps=25, three_phase=True,
                                                 anneal_strategy="linear", last_epoch=e), "adam", 15),
    ("chained", lambda m, o, e: m.ChainedScheduler([m.ConstantLR(o, 0.5, 3, last_epoch=e),
                                                    m.ExponentialLR(o, 0.9, last_epoch=e)]), "sgd", 15),
]

# Where torch 2.13 does not continue exactly (the deliberate differences
# documented in lrbook.schedules.LRScheduler and the classes' docstrings):
# StepLR / MultiStepLR / ConstantLR re-apply the change of the resumed step,
# CosineAnnealingWarmRestarts rebuilds the period for T_mult = 1 only, and the
# chain contains a ConstantLR. SequentialLR is tested separately.
TORCH_DOES_NOT_RESUME = {"step", "multistep", "constant", "sgdr-mult2", "sgdr-mult3", "chained"}


def _uninterrupted(module, build, kind, N):
    """Optimizer state after N steps, then the snapshots of steps N, N+1, ..."""
    opt = make_optimizer(kind)
    sched = build(module, opt, -1)
    for _ in range(N):
        opt.step()
        sched.step()
    saved = copy.deepcopy(opt.state_dict())
    values = [snapshot(sched, opt)]
    for _ in range(EXTRA_STEPS):
        opt.step()
        sched.step()
        values.append(snapshot(sched, opt))
    return saved, values


def _resumed(module, build, kind, N, saved):
    opt = make_optimizer(kind)
    opt.load_state_dict(saved)         # restores lr (the rate for step N) and initial_lr
    sched = build(module, opt, N - 1)
    values = [snapshot(sched, opt)]
    for _ in range(EXTRA_STEPS):
        opt.step()
        sched.step()
        values.append(snapshot(sched, opt))
    return values


def _same(a, b) -> bool:
    return all(ka == kb and ea == eb and np.allclose(va, vb, rtol=RTOL, atol=0)
               for (va, ka, ea), (vb, kb, eb) in zip(a, b, strict=True))


def _resumes_exactly(module, build, kind, largest):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for N in range(1, largest + 1):
            saved, expected = _uninterrupted(module, build, kind, N)
            if not _same(_resumed(module, build, kind, N, saved), expected):
                return False
    return True


@pytest.mark.parametrize("build, kind, largest", [c[1:] for c in RESUMABLE], ids=[c[0] for c in RESUMABLE])
def test_last_epoch_resumes_exactly(build, kind, largest):
    for N in range(1, largest + 1):
        saved, expected = _uninterrupted(S, build, kind, N)
        got = _resumed(S, build, kind, N, saved)
        for i, ((va, ka, ea), (vb, kb, eb)) in enumerate(zip(got, expected, strict=True)):
            assert (ka, ea) == (kb, eb), f"N={N}, step {N + i}"
            np.testing.assert_allclose(va, vb, rtol=RTOL, atol=0, err_msg=f"N={N}, step {N + i}")


def test_schedule_lr_resumes_exactly():
    """lrbook's ScheduleLR (not in torch) passes the same property."""
    def build(m, o, e):
        return S.ScheduleLR(o, S.make_schedule(S.cosine_with_warm_restarts, initial_learning_rate=0.1,
                                               T_0=3, T_mult=2), last_epoch=e)

    test_last_epoch_resumes_exactly(build, "sgd", 15)


def test_torch_differences_on_resume_are_the_documented_ones():
    failing = {name for name, build, kind, largest in RESUMABLE
               if not _resumes_exactly(TS, build, kind, largest)}
    assert failing == TORCH_DOES_NOT_RESUME
    doc = S.LRScheduler.__doc__
    for cls in ("StepLR", "MultiStepLR", "ConstantLR", "CosineAnnealingWarmRestarts", "SequentialLR"):
        assert f":class:`{cls}`" in doc
    assert "torch 2.13 rebuilds the position" in S.CosineAnnealingWarmRestarts.__doc__


def test_sgdr_resume_example_from_the_bug_report():
    opt = make_optimizer(n_groups=1)
    opt.param_groups[0].update(lr=1.0, initial_lr=1.0)
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2, last_epoch=24)
    assert (sched.T_cur, sched.T_i) == (15, 20)
    assert sched.get_last_lr()[0] == pytest.approx(S.cosine_with_warm_restarts(25, 1.0, 10, 2), rel=1e-12)
    for _ in range(5):
        opt.step()
        sched.step()
    assert (sched.T_cur, sched.T_i) == (0, 40)      # the restart comes at step 30


def test_sequential_lr_cannot_resume_from_last_epoch_but_from_its_state():
    opt = make_optimizer()
    warm = S.LinearLR(opt, 0.1, total_iters=3)
    decay = S.ExponentialLR(opt, 0.9)
    with pytest.raises(ValueError, match=r"last_epoch=4.*load_state_dict"):
        S.SequentialLR(opt, [warm, decay], milestones=[3], last_epoch=4)
    # the recommended way resumes exactly
    sched = S.SequentialLR(opt, [warm, decay], milestones=[3])
    for _ in range(5):
        opt.step()
        sched.step()
    state, opt_state = copy.deepcopy(sched.state_dict()), copy.deepcopy(opt.state_dict())
    expected = []
    for _ in range(4):
        opt.step()
        sched.step()
        expected.append(sched.get_last_lr())
    opt2 = make_optimizer()
    s2 = S.SequentialLR(opt2, [S.LinearLR(opt2, 0.1, total_iters=3), S.ExponentialLR(opt2, 0.9)], [3])
    opt2.load_state_dict(opt_state)
    s2.load_state_dict(state)
    got = []
    for _ in range(4):
        opt2.step()
        s2.step()
        got.append(s2.get_last_lr())
    np.testing.assert_allclose(got, expected, rtol=RTOL)


# --------------------------------------------------------------------------
# custom schedulers written the torch way
# --------------------------------------------------------------------------


def _custom_classes(module):
    class HalfEvery2(module.LRScheduler):      # closed form from base_lrs
        def get_lr(self):
            return [base * 0.5 ** (self.last_epoch // 2) for base in self.base_lrs]

    class Chainable(module.LRScheduler):       # multiplies the current rate
        def __init__(self, optimizer, factor, last_epoch=-1):
            self.factor = factor
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            if self.last_epoch == 0:
                return [group["lr"] for group in self.optimizer.param_groups]
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]

        def _get_closed_form_lr(self):
            return [base * self.factor**self.last_epoch for base in self.base_lrs]

    class TweakedStep(module.StepLR):          # overrides a built-in's get_lr
        def get_lr(self):
            return [lr + 0.001 for lr in super().get_lr()]

    return HalfEvery2, Chainable, TweakedStep


@pytest.mark.parametrize("which", [0, 1, 2])
def test_custom_get_lr_scheduler_works_as_in_torch(which):
    theirs, ours = _custom_classes(TS)[which], _custom_classes(S)[which]
    args = {0: (), 1: (0.8,), 2: (2,)}[which]
    topt, lopt = make_optimizer(), make_optimizer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # neither warns inside step()
        ts, ls = theirs(topt, *args), ours(lopt, *args)
        tv, lv = [ts.get_last_lr()], [ls.get_last_lr()]
        for _ in range(8):
            topt.step()
            lopt.step()
            ts.step()
            ls.step()
            tv.append(ts.get_last_lr())
            lv.append(ls.get_last_lr())
    np.testing.assert_allclose(lv, tv, rtol=RTOL)
    assert ls.state_dict().keys() == ts.state_dict().keys()
    with pytest.warns(UserWarning):           # the deprecated step(epoch): closed form if defined
        ts.step(5)
    with pytest.warns(UserWarning):
        ls.step(5)
    np.testing.assert_allclose(ls.get_last_lr(), ts.get_last_lr(), rtol=RTOL)


def test_get_lr_with_an_epoch_argument_raises_torchs_type_error():
    def build(module):
        class OldStyle(module.LRScheduler):
            def get_lr(self, epoch):
                return self.base_lrs
        return OldStyle(make_optimizer())

    with pytest.raises(TypeError) as theirs:
        build(TS)
    with pytest.raises(TypeError) as ours:
        build(S)
    assert str(ours.value) == str(theirs.value)
    assert "missing 1 required positional argument: 'epoch'" in str(ours.value)


# --------------------------------------------------------------------------
# CyclicLR and OneCycleLR checkpoints, both directions
# --------------------------------------------------------------------------

INTERCHANGE = [
    # (id, builder of the saved run, builder of the scheduler the state is loaded into, kind, steps)
    ("cyclic", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3),
     lambda m, o: m.CyclicLR(o, 0.01, 0.1), "sgd", 4),
    ("cyclic-modes", lambda m, o: m.CyclicLR(o, 0.01, 0.1, 2, 5, mode="exp_range", gamma=0.95),
     lambda m, o: m.CyclicLR(o, 0.02, 0.2, 7, mode="triangular2"), "adam", 6),
    ("one-cycle", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10),
     lambda m, o: m.OneCycleLR(o, 0.1, total_steps=100), "sgd", 3),
    ("one-cycle-3", lambda m, o: m.OneCycleLR(o, 0.3, total_steps=30, three_phase=True, anneal_strategy="linear"),
     lambda m, o: m.OneCycleLR(o, 0.1, total_steps=100), "adam", 12),
]


@pytest.mark.parametrize("source, target", [(TS, S), (S, TS)], ids=["torch-to-lrbook", "lrbook-to-torch"])
@pytest.mark.parametrize("saved_build, other_build, kind, k", [c[1:] for c in INTERCHANGE],
                         ids=[c[0] for c in INTERCHANGE])
def test_cyclic_and_one_cycle_states_are_interchangeable(source, target, saved_build, other_build, kind, k):
    opt = make_optimizer(kind)
    sched = saved_build(source, opt)
    for _ in range(k):
        opt.step()
        sched.step()
    state, opt_state = copy.deepcopy(sched.state_dict()), copy.deepcopy(opt.state_dict())
    expected = []
    for _ in range(6):                       # how the saved run continues (in its own library)
        opt.step()
        sched.step()
        expected.append(snapshot(sched, opt)[0])
    opt2 = make_optimizer(kind)
    other = other_build(target, opt2)        # built with other arguments
    opt2.load_state_dict(opt_state)
    other.load_state_dict(state)
    got = []
    for _ in range(6):
        opt2.step()
        other.step()
        got.append(snapshot(other, opt2)[0])
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


def test_cyclic_example_from_the_bug_report():
    opt = make_optimizer(n_groups=1)
    sched = TS.CyclicLR(opt, 0.01, 0.1, step_size_up=3)
    opt.step()
    sched.step()
    opt2 = make_optimizer(n_groups=1)
    ours = S.CyclicLR(opt2, 0.01, 0.1)
    ours.load_state_dict(copy.deepcopy(sched.state_dict()))
    got = []
    for _ in range(3):
        opt2.step()
        ours.step()
        got.append(ours.get_last_lr()[0])
    np.testing.assert_allclose(got, [0.07, 0.1, 0.07], rtol=1e-12)


# --------------------------------------------------------------------------
# warnings and errors start with torch's exact text
# --------------------------------------------------------------------------


def _message(action, kind=Warning):
    """The text of the first warning (or the error) that ``action()`` raises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            action()
        except Exception as error:  # noqa: BLE001 - the error's text is what is compared
            assert isinstance(error, kind), error
            return str(error.args[0])
    assert caught, "no warning"
    return str(caught[0].message)


def _step_before_optimizer(m):
    sched = m.StepLR(make_optimizer(), 3)
    sched.step()


def _step_with_epoch(m):
    opt = make_optimizer()
    sched = m.StepLR(opt, 3)
    opt.step()
    sched.step(2)


def _overridden_optimizer_step(m):
    opt = make_optimizer()
    sched = m.StepLR(opt, 3)
    opt.step = lambda closure=None: None
    sched.step()


def _missing_initial_lr(m):
    m.StepLR(make_optimizer(), 3, last_epoch=3)


def _plateau_new_group(m):
    opt = make_optimizer()
    sched = m.ReduceLROnPlateau(opt, min_lr=[0.0, 0.0], patience=0)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.5})
    sched.step(1.0)
    sched.step(2.0)


def _get_lr_outside_step(m):
    m.StepLR(make_optimizer(), 3).get_lr()


def _plateau_step_with_epoch(m):
    m.ReduceLROnPlateau(make_optimizer()).step(1.0, epoch=3)


@pytest.mark.parametrize("action, kind", [
    (_step_before_optimizer, Warning),
    (_step_with_epoch, Warning),
    (_overridden_optimizer_step, Warning),
    (_get_lr_outside_step, Warning),
    (_plateau_step_with_epoch, Warning),
    (_missing_initial_lr, KeyError),
    (_plateau_new_group, RuntimeError),
], ids=lambda a: getattr(a, "__name__", ""))
def test_messages_start_with_torchs_text(action, kind):
    theirs = _message(lambda: action(TS), kind)
    ours = _message(lambda: action(S), kind)
    assert ours.startswith(theirs), f"torch: {theirs!r}\nlrbook: {ours!r}"
    # so a filter written for torch also matches lrbook's
    assert re.match(re.escape(theirs[:60]), ours)


def test_torch_and_lrbook_schedulers_share_the_step_tracking():
    opt = make_optimizer()
    ours = S.StepLR(opt, 3)
    theirs = TS.ExponentialLR(opt, 0.9)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.step()
        theirs.step()


def test_epoch_warning_is_exactly_torchs():
    """torch's own test suite compares this warning's text with ``==``."""
    for action in (_step_with_epoch, _plateau_step_with_epoch):
        assert _message(lambda a=action: a(S)) == TS.EPOCH_DEPRECATION_WARNING


def test_no_reference_cycle_between_scheduler_and_optimizer():
    import gc

    param = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([param], lr=0.5)
    sched = S.LambdaLR(opt, lambda e: 1.0)
    del sched
    assert len(gc.get_referrers(opt)) == 0
