"""Tests for the pure schedule functions in ``lrbook.schedules.functions``.

Checked against closed forms written out independently here, against Keras
(live when ``keras`` is importable, and always against a table of values that
Keras produced), against the optax example in SEMANTICS.md §B.9 and against
the Keras warm-up + cosine values in ERRATA.md Appendix B.
"""

from __future__ import annotations

import inspect
import math
import os
import pickle

import numpy as np
import pytest

import lrbook.schedules as S
from lrbook.schedules import functions as F

RTOL = 1e-12


def close(a, b, rtol=RTOL, atol=0.0):
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


# --------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------


@pytest.mark.parametrize("t", [0, 1, 2, 29, 30, 31, 59, 60, 61, 1000])
def test_step_and_multistep_decay(t):
    assert S.step_decay(t, 0.1, 30, 0.1) == pytest.approx(0.1 * 0.1 ** (t // 30), rel=RTOL)
    expected = 0.1 * 0.5 ** sum(m <= t for m in (30, 60, 60))
    assert S.multistep_decay(t, 0.1, [60, 30, 60], 0.5) == pytest.approx(expected, rel=RTOL)


def test_exponential_and_inverse_time_examples_from_semantics():
    # SEMANTICS.md §B.8 examples (Keras)
    exp = [S.exponential_decay(t, 0.1, 3, 0.5, staircase=True) for t in range(7)]
    assert exp == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rel=RTOL)
    inv = [S.inverse_time_decay(t, 0.1, 2, 0.5, staircase=True) for t in range(7)]
    assert inv == pytest.approx([0.1, 0.1, 0.1 / 1.5, 0.1 / 1.5, 0.05, 0.05, 0.04], rel=RTOL)


def test_exponential_decays_faster_than_inverse_time():
    # ERRATA S2-07: exponential decay is the faster one (for matched first steps)
    for t in (200, 1000, 10000):
        assert S.exponential_decay(t, 0.1, 100, 0.5) < S.inverse_time_decay(t, 0.1, 100, 1.0)


@pytest.mark.parametrize("t", [0, 1, 25, 50, 99, 100, 150, 200, 250])
def test_cosine_decay_clamped_and_periodic(t):
    periodic = 0.01 + 0.5 * (0.1 - 0.01) * (1 + math.cos(math.pi * t / 100))
    clamped = 0.01 + 0.5 * (0.1 - 0.01) * (1 + math.cos(math.pi * min(t, 100) / 100))
    assert close(S.cosine_decay(t, 0.1, 100, 0.01, periodic=True), periodic)
    assert close(S.cosine_decay(t, 0.1, 100, 0.01), clamped)
    if t >= 100:
        assert S.cosine_decay(t, 0.1, 100, 0.01) == 0.01


def test_cosine_periodic_rises_back():
    assert S.cosine_decay(200, 0.1, 100, periodic=True) == pytest.approx(0.1, rel=RTOL)
    assert S.cosine_decay(200, 0.1, 100) == 0.0


@pytest.mark.parametrize("t", [0, 1, 7, 50, 99, 100, 101, 400])
def test_linear_equals_polynomial_power_one(t):
    assert close(S.linear_decay(t, 0.1, 100, 0.001), S.polynomial_decay(t, 0.1, 100, 0.001, 1.0))
    expected = (0.1 - 0.001) * (1 - min(t, 100) / 100) ** 2 + 0.001
    assert close(S.polynomial_decay(t, 0.1, 100, 0.001, 2.0), expected)


def test_polynomial_cycle_restarts_with_longer_period():
    # cycle=True: the period becomes the first multiple of decay_steps >= t
    assert S.polynomial_decay(150, 1.0, 100, 0.0, 1.0, cycle=True) == pytest.approx(1 - 150 / 200)
    assert S.polynomial_decay(0, 1.0, 100, 0.0, 1.0, cycle=True) == 1.0


def test_linear_decay_can_ramp_up():
    ramp = [S.linear_decay(t, 0.0, 4, 1.0) for t in range(6)]
    assert ramp == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])


def test_sgdr_restarts_and_periods():
    # T_0 = 10, T_mult = 2: restarts at 10, 30, 70, 150
    for restart in (0, 10, 30, 70, 150):
        assert S.cosine_with_warm_restarts(restart, 0.1, 10, 2, 0.001) == pytest.approx(0.1, rel=RTOL)
    # half-way through the third period (length 40, starts at 30)
    assert S.cosine_with_warm_restarts(50, 0.1, 10, 2, 0.0) == pytest.approx(0.05, rel=RTOL)
    # fractional steps (per-batch updates, Loshchilov & Hutter)
    assert S.cosine_with_warm_restarts(2.5, 1.0, 10) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    # T_mult = 1 is periodic
    assert S.cosine_with_warm_restarts(37, 1.0, 10) == pytest.approx(S.cosine_with_warm_restarts(7, 1.0, 10))


def test_sgdr_exact_at_the_float_log_boundary():
    # torch's log-based formula misses this restart (SEMANTICS §B.3); ours hits it
    assert S.cosine_with_warm_restarts(121, 1.0, 1, 3) == 1.0


def test_cyclical_triangular_closed_form():
    # ERRATA Appendix A.7: cycle = floor(1 + t/(2s)), x = |t/s - 2 cycle + 1|, lr = base + (max-base) max(0, 1-x)
    s, base, peak = 5, 0.1, 1.0
    for t in range(40):
        cycle = math.floor(1 + t / (2 * s))
        x = abs(t / s - 2 * cycle + 1)
        assert close(S.cyclical(t, base, peak, s), base + (peak - base) * max(0.0, 1 - x), atol=1e-15)


def test_cyclical_modes():
    # triangular2 halves the peak every cycle; exp_range scales by gamma**t
    peaks2 = [S.cyclical(5 + 10 * c, 0.0, 1.0, 5, mode="triangular2") for c in range(4)]
    assert peaks2 == pytest.approx([1.0, 0.5, 0.25, 0.125])
    assert S.cyclical(15, 0.0, 1.0, 5, mode="exp_range", gamma=0.99) == pytest.approx(0.99**15)
    # asymmetric cycle: up 2, down 6
    assert [S.cyclical(t, 0.0, 1.0, 2, 6) for t in range(9)] == pytest.approx(
        [0, 0.5, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0])
    # a custom scale function overrides the mode
    assert S.cyclical(5, 0.0, 1.0, 5, mode="triangular", scale_fn=lambda c: 0.3) == pytest.approx(0.3)
    # momentum moves opposite to the rate
    assert S.cyclical_momentum(0, 0.8, 0.9, 5) == pytest.approx(0.9)
    assert S.cyclical_momentum(5, 0.8, 0.9, 5) == pytest.approx(0.8)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_landmarks(three_phase, strategy):
    n, peak = 100, 1.0
    f = lambda t: S.one_cycle(t, peak, n, 0.3, strategy, 25.0, 1e4, three_phase)  # noqa: E731
    assert f(0) == pytest.approx(peak / 25)
    assert f(29) == pytest.approx(peak)                     # end of warm-up: pct*N - 1
    assert f(99) == pytest.approx(peak / 25 / 1e4)          # last step: min_lr
    if three_phase:
        assert f(58) == pytest.approx(peak / 25)            # back to initial at 2*pct*N - 2
        m = [S.one_cycle_momentum(t, n, 0.3, strategy, three_phase=True) for t in range(59, 100)]
        assert m == pytest.approx([0.95] * len(m))          # constant in phase 3
    assert S.one_cycle_momentum(29, n, 0.3, strategy, three_phase=three_phase) == pytest.approx(0.85)
    assert math.isfinite(f(100))  # one extrapolated step is allowed (torch allows N steps)
    with pytest.raises(ValueError, match="total_steps"):
        f(101)


def test_one_cycle_rejects_degenerate_phases():
    with pytest.raises(ValueError, match="pct_start"):
        S.one_cycle(0, 1.0, 10, pct_start=0.1)   # 0.1 * 10 = 1: an empty warm-up phase


# --------------------------------------------------------------------------
# composition
# --------------------------------------------------------------------------


def test_linear_warmup_matches_keras_cosine_decay_with_warmup():
    # ERRATA Appendix B.3: Keras CosineDecay(0.0, decay_steps=900, warmup_target=0.1,
    # warmup_steps=100) gives 0.0/0.05/0.1/0.05/0.0 at steps 0/50/100/550/1000
    cosine = S.make_schedule(S.cosine_decay, initial_learning_rate=0.1, decay_steps=900)
    sched = S.linear_warmup(cosine, warmup_steps=100, start=0.0)
    values = [sched(t) for t in (0, 50, 100, 550, 1000)]
    assert values == pytest.approx([0.0, 0.05, 0.1, 0.05, 0.0], abs=1e-15)


def test_linear_warmup_unshifted_keeps_the_global_clock():
    main = S.make_schedule(S.step_decay, initial_learning_rate=1.0, step_size=10, gamma=0.5)
    sched = S.linear_warmup(main, 4, start=0.0, shift=False)
    assert sched(2) == pytest.approx(0.5)        # half-way to main(4) = 1.0
    assert sched(10) == pytest.approx(0.5)       # decay at the absolute step 10
    assert S.linear_warmup(main, 0)(10) == main(10)


def test_join_schedules_reproduces_optax_warmup_cosine():
    # SEMANTICS §B.9 (optax 0.2.8): peak 1, init 0, W 3, D 10, end 0.1
    warm = S.make_schedule(S.linear_decay, initial_learning_rate=0.0, total_steps=3, end_learning_rate=1.0)
    cos = S.make_schedule(S.cosine_decay, initial_learning_rate=1.0, decay_steps=7, min_learning_rate=0.1)
    sched = S.join_schedules([warm, cos], [3])
    optax = [0, 0.3333, 0.6667, 1, 0.9554, 0.8306, 0.6501, 0.4499, 0.2694, 0.1446, 0.1, 0.1]
    assert sched.values(12) == pytest.approx(optax, abs=5e-5)


def test_join_schedules_each_on_its_own_clock():
    a = S.make_schedule(S.constant, learning_rate=1.0)
    b = S.make_schedule(S.exponential_decay, initial_learning_rate=0.5, decay_steps=1, decay_rate=0.5)
    joined = S.join_schedules([a, b, a], [3, 6])
    assert joined.values(8).tolist() == [1.0, 1.0, 1.0, 0.5, 0.25, 0.125, 1.0, 1.0]


def test_make_schedule_object():
    sched = S.make_schedule(S.exponential_decay, initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)
    assert sched(20) == S.exponential_decay(20, 0.1, 10, 0.5)
    assert np.array_equal(sched.values([0, 10, 20]), [0.1, 0.05, 0.025])
    assert sched.values(5).shape == (5,)
    assert "exponential_decay(" in repr(sched) and "decay_rate=0.5" in repr(sched)
    assert pickle.loads(pickle.dumps(sched)) == sched
    with pytest.raises(ValueError, match="decay_steps"):       # checked at construction
        S.make_schedule(S.exponential_decay, initial_learning_rate=0.1, decay_steps=0, decay_rate=0.5)


# --------------------------------------------------------------------------
# random_lr
# --------------------------------------------------------------------------


def test_random_lr_is_seeded_per_step_and_in_range():
    a = [S.random_lr(t, 0.01, 0.1, seed=3) for t in range(200)]
    b = [S.random_lr(t, 0.01, 0.1, seed=3) for t in reversed(range(200))][::-1]
    assert a == b                                   # depends only on (seed, step)
    assert all(0.01 <= v < 0.1 for v in a)
    assert len(set(a)) == 200                       # a new value at every step
    assert a != [S.random_lr(t, 0.01, 0.1, seed=4) for t in range(200)]
    assert abs(np.mean(a) - 0.055) < 0.01           # uniform: mean near the middle


def test_random_lr_docstring_is_honest():
    doc = inspect.getdoc(S.random_lr).lower()
    assert "noise" in doc and "robbins" in doc and "no published evidence" in doc


# --------------------------------------------------------------------------
# argument errors name the argument and the allowed range
# --------------------------------------------------------------------------

BAD_CALLS = [
    (lambda: S.constant(-1, 0.1), "step"),
    (lambda: S.constant(0, -0.1), "learning_rate"),
    (lambda: S.step_decay(0, 0.1, 0), "step_size"),
    (lambda: S.step_decay(0, 0.1, 10, gamma=0), "gamma"),
    (lambda: S.multistep_decay(0, 0.1, [-3]), "milestones"),
    (lambda: S.exponential_decay(0, 0.1, 0, 0.5), "decay_steps"),
    (lambda: S.exponential_decay(0, 0.1, 10, -0.5), "decay_rate"),
    (lambda: S.exponential_decay(float("nan"), 0.1, 10, 0.5), "step"),
    (lambda: S.inverse_time_decay(0, -1.0, 10, 0.5), "initial_learning_rate"),
    (lambda: S.inverse_time_decay(0, 1.0, 10, -0.5), "decay_rate"),
    (lambda: S.polynomial_decay(0, 1.0, 10, power=-1), "power"),
    (lambda: S.polynomial_decay(0, 1.0, 10, end_learning_rate=-1), "end_learning_rate"),
    (lambda: S.linear_decay(0, 1.0, 0), "total_steps"),
    (lambda: S.cosine_decay(0, 1.0, -5), "decay_steps"),
    (lambda: S.cosine_decay(0, 1.0, 5, min_learning_rate=-1), "min_learning_rate"),
    (lambda: S.cosine_with_warm_restarts(0, 1.0, 0), "T_0"),
    (lambda: S.cosine_with_warm_restarts(0, 1.0, 10, T_mult=0.5), "T_mult"),
    (lambda: S.cyclical(0, 0.1, 1.0, 0), "step_size_up"),
    (lambda: S.cyclical(0, 0.1, 1.0, 5, mode="sawtooth"), "mode"),
    (lambda: S.cyclical(0, 0.1, 1.0, 5, step_size_down=-1), "step_size_down"),
    (lambda: S.one_cycle(0, 1.0, 0), "total_steps"),
    (lambda: S.one_cycle(0, 1.0, 100, pct_start=1.5), "pct_start"),
    (lambda: S.one_cycle(0, 1.0, 100, anneal_strategy="cosine"), "anneal_strategy"),
    (lambda: S.random_lr(-1, 0.0, 1.0), "step"),
    (lambda: S.random_lr(1.5, 0.0, 1.0), "step"),
    (lambda: S.random_lr(0, 0.5, 0.1), "high"),
    (lambda: S.random_lr(0, 0.0, 1.0, seed=-2), "seed"),
    (lambda: S.linear_warmup(S.make_schedule(S.constant, learning_rate=1.0), -1), "warmup_steps"),
    (lambda: S.join_schedules([], []), "schedules"),
    (lambda: S.join_schedules([abs, abs], [3, 4]), "boundaries"),
    (lambda: S.join_schedules([abs, abs, abs], [4, 3]), "increasing"),
]


@pytest.mark.parametrize("call, name", BAD_CALLS, ids=[f"{i}-{n}" for i, (_, n) in enumerate(BAD_CALLS)])
def test_bad_arguments_raise_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_non_numbers_raise_type_error():
    with pytest.raises(TypeError, match="step"):
        S.constant("3", 0.1)
    with pytest.raises(TypeError, match="schedule"):
        S.linear_warmup(0.1, 10)


def test_every_public_function_documents_its_equation():
    for name in F.__all__:
        obj = getattr(F, name)
        if inspect.isfunction(obj):
            assert obj.__doc__ and len(obj.__doc__) > 80, name
            assert inspect.signature(obj).return_annotation not in (inspect.Signature.empty,), name


# --------------------------------------------------------------------------
# Keras
# --------------------------------------------------------------------------

# Produced on 2025 with keras 3.15.1 (KERAS_BACKEND=torch, torch 2.13.0 CPU) by
#   s = keras.optimizers.schedules.ExponentialDecay(torch.tensor(lr0, dtype=torch.float64), ...)
#   [float(s(t)) for t in KERAS_STEPS]
# (InverseTimeDecay likewise): a float64 initial rate makes Keras compute in float64.
# Keys: (kind, initial_learning_rate, decay_steps, decay_rate, staircase).
KERAS_STEPS = [0, 1, 2, 3, 5, 7, 10, 50, 99, 100, 101, 550, 1000, 12345]
KERAS_TABLE = {
    ('exponential', 0.1, 3, 0.5, False): [0.1, 0.07937005259840998, 0.06299605249474366, 0.05, 0.03149802624737183, 0.019842513149602493, 0.009921256574801246, 9.612434767874695e-07, 1.1641532182693482e-11, 9.239890216664626e-12, 7.333705725002074e-12, 6.473921985570989e-57, 4.535948468269738e-102, 0.0],  # noqa: E501
    ('exponential', 0.1, 3, 0.5, True): [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125, 1.52587890625e-06, 1.1641532182693482e-11, 1.1641532182693482e-11, 1.1641532182693482e-11, 8.156630584998156e-57, 5.714936956411375e-102, 0.0],  # noqa: E501
    ('exponential', 0.01, 100, 0.96, False): [0.01, 0.009995918633652226, 0.009991838933059579, 0.0099877608975422, 0.009979609819015224, 0.009971465392637996, 0.009959261213978507, 0.009797958971132711, 0.009603919711471712, 0.0096, 0.009596081888306136, 0.0079889882372666, 0.006648326359915008, 6.477146480668527e-05],  # noqa: E501
    ('exponential', 1.0, 7, 0.3, True): [1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.3, 0.00021869999999999995, 4.782968999999997e-08, 4.782968999999997e-08, 4.782968999999997e-08, 1.642320326826061e-41, 5.639208733960143e-75, 0.0],  # noqa: E501
    ('inverse_time', 0.1, 2, 0.5, True): [0.1, 0.1, 0.06666666666666667, 0.06666666666666667, 0.05, 0.04, 0.028571428571428574, 0.007407407407407408, 0.00392156862745098, 0.0038461538461538464, 0.0038461538461538464, 0.0007220216606498196, 0.00039840637450199205, 3.239390994493035e-05],  # noqa: E501
    ('inverse_time', 0.1, 2, 0.5, False): [0.1, 0.08, 0.06666666666666667, 0.05714285714285715, 0.044444444444444446, 0.03636363636363637, 0.028571428571428574, 0.007407407407407408, 0.0038834951456310682, 0.0038461538461538464, 0.0038095238095238095, 0.0007220216606498196, 0.00039840637450199205, 3.2391286743865904e-05],  # noqa: E501
    ('inverse_time', 0.05, 10, 1.0, False): [0.05, 0.045454545454545456, 0.04166666666666667, 0.038461538461538464, 0.03333333333333333, 0.029411764705882356, 0.025, 0.008333333333333333, 0.0045871559633027525, 0.004545454545454546, 0.0045045045045045045, 0.0008928571428571429, 0.0004950495049504951, 4.046944556859571e-05],  # noqa: E501
    ('inverse_time', 1.0, 1, 0.1, True): [1.0, 0.9090909090909091, 0.8333333333333334, 0.7692307692307692, 0.6666666666666666, 0.588235294117647, 0.5, 0.16666666666666666, 0.09174311926605504, 0.09090909090909091, 0.09009009009009007, 0.017857142857142856, 0.009900990099009901, 0.0008093889113719142],  # noqa: E501
}
OUR_FUNCTION = {"exponential": S.exponential_decay, "inverse_time": S.inverse_time_decay}


@pytest.mark.parametrize("key", list(KERAS_TABLE), ids=[str(k) for k in KERAS_TABLE])
def test_against_values_computed_with_keras(key):
    kind, lr0, steps, rate, staircase = key
    ours = [OUR_FUNCTION[kind](t, lr0, steps, rate, staircase) for t in KERAS_STEPS]
    np.testing.assert_allclose(ours, KERAS_TABLE[key], rtol=RTOL, atol=0)


@pytest.fixture(scope="module")
def keras_schedules():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras  # noqa: F401
        import torch
        from keras.optimizers import schedules
    except Exception as exc:  # not installed, or no usable backend
        pytest.skip(f"keras is not importable ({type(exc).__name__}: {exc}); "
                    "the hard-coded KERAS_TABLE test still checks the Keras formulas")
    return schedules, (lambda x: torch.tensor(x, dtype=torch.float64))


LIVE_STEPS = list(range(0, 50)) + [99, 100, 101, 299, 300, 301, 999, 1000, 1001, 5000]


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("lr0, decay_steps, rate", [(0.1, 3, 0.5), (0.01, 100, 0.96), (2.0, 17, 0.1)])
def test_live_keras_exponential_and_inverse_time(keras_schedules, lr0, decay_steps, rate, staircase):
    ks, f64 = keras_schedules
    kexp = ks.ExponentialDecay(f64(lr0), decay_steps, rate, staircase=staircase)
    kinv = ks.InverseTimeDecay(f64(lr0), decay_steps, rate, staircase=staircase)
    for t in LIVE_STEPS:
        assert close(S.exponential_decay(t, lr0, decay_steps, rate, staircase), float(kexp(t)), atol=1e-300)
        assert close(S.inverse_time_decay(t, lr0, decay_steps, rate, staircase), float(kinv(t)))


def test_live_keras_default_float32_agrees_to_float32_precision(keras_schedules):
    ks, _ = keras_schedules
    k = ks.ExponentialDecay(0.1, 3, 0.5)          # plain float: Keras computes in float32
    for t in range(30):
        assert S.exponential_decay(t, 0.1, 3, 0.5) == pytest.approx(float(k(t)), rel=1e-6)


def test_live_keras_cosine_polynomial_restarts_and_warmup(keras_schedules):
    ks, f64 = keras_schedules
    cos = ks.CosineDecay(f64(0.1), 100, alpha=0.1)
    poly = ks.PolynomialDecay(f64(0.1), 100, end_learning_rate=0.001, power=2.0, cycle=True)
    warm = ks.CosineDecay(f64(0.0), decay_steps=900, warmup_target=0.1, warmup_steps=100)
    ours_warm = S.linear_warmup(S.make_schedule(S.cosine_decay, initial_learning_rate=0.1, decay_steps=900), 100)
    for t in range(0, 1200, 7):
        assert close(S.cosine_decay(t, 0.1, 100, 0.01), float(cos(t)), atol=1e-16)
        assert close(S.polynomial_decay(t, 0.1, 100, 0.001, 2.0, cycle=True), float(poly(t)))
        assert close(ours_warm(t), float(warm(t)), atol=1e-16)
    for t_mul in (1.0, 2.0, 3.0):
        sgdr = ks.CosineDecayRestarts(f64(0.1), 10, t_mul=t_mul, m_mul=1.0, alpha=0.0)
        for t in range(0, 700, 3):
            assert close(S.cosine_with_warm_restarts(t, 0.1, 10, t_mul), float(sgdr(t)), atol=1e-16)
