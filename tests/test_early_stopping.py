"""EarlyStopping against Keras 3, and Prechelt's criteria on a worked example.

The Keras comparison runs in two ways:

- ``KERAS_TABLE`` below holds outcomes computed with ``keras.callbacks.EarlyStopping``
  (Keras 3.15.1, ``KERAS_BACKEND=torch``) by driving the callback by hand, exactly as
  :func:`run_keras` does. Regenerate it with::

      KERAS_BACKEND=torch .venv/bin/python tests/test_early_stopping.py

  so these checks run in CI even where Keras is not installed.
- When Keras is importable, the same cases and a few hundred random sequences are
  also compared live.

Metric values are dyadic fractions (multiples of 1/64) so that Keras' float32
comparisons and lrbook's float64 comparisons are exact and must agree.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from lrbook.early_stopping import (
    GL,
    PQ,
    UP,
    EarlyStopping,
    LightningEarlyStopping,
    replay,
    replay_prechelt,
)

NAN = float("nan")

# Keras 3.15 on numpy 2 emits DeprecationWarnings about __array__(copy=...) inside get/set_weights.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

# (name, keyword arguments, monitored values per epoch)
CASES: list[tuple[str, dict, list[float]]] = [
    ("patience0", dict(patience=0), [1.0, 0.75, 0.875, 0.5]),
    ("patience0_first_flat", dict(patience=0), [1.0, 1.0, 0.5]),
    ("patience2", dict(patience=2), [1.0, 0.75, 0.875, 0.9375, 0.96875, 0.5]),
    ("patience2_reset", dict(patience=2), [1.0, 0.75, 0.875, 0.625, 0.75, 0.75, 0.75, 0.5]),
    ("ties_are_not_improvements", dict(patience=1), [1.0, 1.0, 1.0, 0.5]),
    ("min_delta", dict(patience=2, min_delta=0.125), [1.0, 0.9375, 0.75, 0.6875, 0.625, 0.5]),
    ("min_delta_exact_change", dict(patience=0, min_delta=0.25), [1.0, 0.75, 0.5]),
    (
        "min_delta_negative",
        dict(patience=2, min_delta=-0.125),
        [1.0, 0.9375, 0.75, 0.6875, 0.625, 0.5],
    ),
    (
        "baseline_never_reached",
        dict(patience=2, baseline=0.25),
        [1.0, 0.875, 0.75, 0.625, 0.6875, 0.5],
    ),
    ("baseline_never_reached_flat", dict(patience=3, baseline=0.25), [1.0, 1.0, 0.875, 0.75]),
    ("baseline_reached", dict(patience=1, baseline=0.8125), [1.0, 0.875, 0.75, 0.8125, 0.875, 0.5]),
    (
        "start_from_epoch",
        dict(patience=0, start_from_epoch=2),
        [0.125, 0.0625, 1.0, 0.875, 0.9375, 0.5],
    ),
    (
        "start_from_epoch_patience",
        dict(patience=1, start_from_epoch=3),
        [1.0, 2.0, 3.0, 0.5, 0.5, 0.5, 0.25],
    ),
    ("nan_first", dict(patience=1), [NAN, 1.0, 0.5, 0.25]),
    ("nan_later", dict(patience=1), [1.0, NAN, 0.5, NAN, NAN, 0.25]),
    (
        "max_mode",
        dict(patience=1, mode="max", monitor="val_accuracy"),
        [0.5, 0.625, 0.625, 0.5625, 0.75],
    ),
    (
        "max_mode_min_delta",
        dict(patience=2, mode="max", monitor="val_accuracy", min_delta=0.0625),
        [0.5, 0.5625, 0.625, 0.75, 0.75],
    ),
    ("auto_loss", dict(patience=1, monitor="loss"), [1.0, 0.5, 0.75, 0.875]),
    (
        "restore_without_stopping",
        dict(patience=10, restore_best_weights=True),
        [1.0, 0.5, 0.75, 0.875],
    ),
    (
        "restore_with_stopping",
        dict(patience=1, restore_best_weights=True),
        [1.0, 0.5, 0.75, 0.875, 0.25],
    ),
    (
        "restore_baseline",
        dict(patience=2, baseline=0.25, restore_best_weights=True),
        [1.0, 0.875, 0.75, 0.8125, 0.9375, 0.5],
    ),
    (
        "restore_start_from_epoch",
        dict(patience=1, start_from_epoch=2, restore_best_weights=True),
        [0.125, 0.25, 0.875, 0.75, 0.8125, 0.875, 0.0625],
    ),
    ("restore_nan_first", dict(patience=2, restore_best_weights=True), [NAN, 1.0, 0.5, 0.25]),
    (
        "restore_max",
        dict(patience=2, mode="max", monitor="val_accuracy", restore_best_weights=True),
        [0.5, 0.75, 0.625, 0.6875, 0.875],
    ),
]

# Outcomes computed with Keras 3.15.1 (KERAS_BACKEND=torch) by run_keras(); see the module
# docstring. stop: the epoch at which model.stop_training was set (None: ran out of epochs);
# restored: the epoch whose weights the model holds after on_train_end.
KERAS_TABLE: dict[str, dict] = {
    # keras 3.15.1, backend torch
    "patience0": dict(stop=2, stopped_epoch=2, best=0.75, best_epoch=1, wait=1, restored=2),
    "patience0_first_flat": dict(
        stop=1, stopped_epoch=1, best=1.0, best_epoch=0, wait=1, restored=1
    ),
    "patience2": dict(stop=3, stopped_epoch=3, best=0.75, best_epoch=1, wait=2, restored=3),
    "patience2_reset": dict(stop=5, stopped_epoch=5, best=0.625, best_epoch=3, wait=2, restored=5),
    "ties_are_not_improvements": dict(
        stop=1, stopped_epoch=1, best=1.0, best_epoch=0, wait=1, restored=1
    ),
    "min_delta": dict(stop=4, stopped_epoch=4, best=0.75, best_epoch=2, wait=2, restored=4),
    "min_delta_exact_change": dict(
        stop=1, stopped_epoch=1, best=1.0, best_epoch=0, wait=1, restored=1
    ),
    "min_delta_negative": dict(
        stop=4, stopped_epoch=4, best=0.75, best_epoch=2, wait=2, restored=4
    ),
    "baseline_never_reached": dict(
        stop=4, stopped_epoch=4, best=0.625, best_epoch=3, wait=5, restored=4
    ),
    "baseline_never_reached_flat": dict(
        stop=None, stopped_epoch=0, best=0.75, best_epoch=3, wait=4, restored=3
    ),
    "baseline_reached": dict(stop=3, stopped_epoch=3, best=0.75, best_epoch=2, wait=1, restored=3),
    "start_from_epoch": dict(stop=4, stopped_epoch=4, best=0.875, best_epoch=3, wait=1, restored=4),
    "start_from_epoch_patience": dict(
        stop=4, stopped_epoch=4, best=0.5, best_epoch=3, wait=1, restored=4
    ),
    "nan_first": dict(stop=1, stopped_epoch=1, best=NAN, best_epoch=0, wait=1, restored=1),
    "nan_later": dict(stop=1, stopped_epoch=1, best=1.0, best_epoch=0, wait=1, restored=1),
    "max_mode": dict(stop=2, stopped_epoch=2, best=0.625, best_epoch=1, wait=1, restored=2),
    "max_mode_min_delta": dict(
        stop=None, stopped_epoch=0, best=0.75, best_epoch=3, wait=1, restored=4
    ),
    "auto_loss": dict(stop=2, stopped_epoch=2, best=0.5, best_epoch=1, wait=1, restored=2),
    "restore_without_stopping": dict(
        stop=None, stopped_epoch=0, best=0.5, best_epoch=1, wait=2, restored=1
    ),
    "restore_with_stopping": dict(
        stop=2, stopped_epoch=2, best=0.5, best_epoch=1, wait=1, restored=1
    ),
    "restore_baseline": dict(stop=3, stopped_epoch=3, best=0.75, best_epoch=2, wait=4, restored=2),
    "restore_start_from_epoch": dict(
        stop=4, stopped_epoch=4, best=0.75, best_epoch=3, wait=1, restored=3
    ),
    "restore_nan_first": dict(stop=2, stopped_epoch=2, best=NAN, best_epoch=0, wait=2, restored=0),
    "restore_max": dict(stop=3, stopped_epoch=3, best=0.75, best_epoch=1, wait=2, restored=1),
}


def _weights_for(epoch: int) -> float:
    return float(epoch + 1)


def run_keras(kwargs: dict, values: list[float]) -> dict:
    """Drive keras.callbacks.EarlyStopping by hand on a tiny model."""
    import keras

    kwargs = dict(kwargs)
    monitor = kwargs.setdefault("monitor", "val_loss")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False
    callback = keras.callbacks.EarlyStopping(**kwargs)
    callback.set_model(model)
    callback.on_train_begin()
    stop = None
    for epoch, value in enumerate(values):
        model.set_weights(
            [np.full((1, 1), _weights_for(epoch), dtype="float32"), np.zeros(1, dtype="float32")]
        )
        callback.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            stop = epoch
            break
    callback.on_train_end()
    restored = int(round(float(model.get_weights()[0][0, 0]))) - 1
    best = None if callback.best is None else float(callback.best)
    return dict(
        stop=stop,
        stopped_epoch=int(callback.stopped_epoch),
        best=best,
        best_epoch=int(callback.best_epoch),
        wait=int(callback.wait),
        restored=restored,
    )


def run_lrbook(kwargs: dict, values: list[float]) -> dict:
    """The same protocol with lrbook's EarlyStopping and a torch model."""
    model = torch.nn.Linear(1, 1)
    stopper = EarlyStopping(**kwargs)
    stop = None
    for epoch, value in enumerate(values):
        with torch.no_grad():
            model.weight.fill_(_weights_for(epoch))
            model.bias.zero_()
        if stopper.step(value, model):
            stop = epoch
            break
    stopper.restore(model)
    restored = int(round(model.weight.item())) - 1
    return dict(
        stop=stop,
        stopped_epoch=stopper.stopped_epoch,
        best=stopper.best,
        best_epoch=stopper.best_epoch,
        wait=stopper.wait,
        restored=restored,
    )


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


def _keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras  # noqa: F401
    except Exception as exc:  # keras missing, or a backend that cannot load here
        pytest.skip(f"keras not usable: {exc!r}")
    if keras.backend.backend() != "torch":
        pytest.skip("keras is loaded with a non-torch backend")
    return keras


# ------------------------------------------------------------------ recorded table


def test_table_covers_every_case():
    assert set(KERAS_TABLE) == {name for name, _, _ in CASES}


@pytest.mark.parametrize("name,kwargs,values", CASES, ids=[c[0] for c in CASES])
def test_matches_recorded_keras(name, kwargs, values):
    got = run_lrbook(kwargs, values)
    assert _same(got, KERAS_TABLE[name]), (got, KERAS_TABLE[name])


def test_documented_consequences():
    # patience=p stops at the p-th consecutive non-improving epoch
    assert KERAS_TABLE["patience2"]["stop"] == 3
    # an improving metric that never beats the baseline is not stopped while improving
    assert KERAS_TABLE["baseline_never_reached"]["stop"] == 4
    # Keras 3 restores the best weights even when early stopping never fired
    assert KERAS_TABLE["restore_without_stopping"]["stop"] is None
    assert KERAS_TABLE["restore_without_stopping"]["restored"] == 1
    # a NaN first value poisons best: nothing improves afterwards
    assert math.isnan(KERAS_TABLE["nan_first"]["best"])


# ------------------------------------------------------------------ live Keras


@pytest.mark.parametrize("name,kwargs,values", CASES, ids=[c[0] for c in CASES])
def test_matches_live_keras(name, kwargs, values):
    _keras_or_skip()
    expected = run_keras(kwargs, values)
    assert _same(run_lrbook(kwargs, values), expected), expected
    assert _same(expected, KERAS_TABLE[name]), "recorded table is stale"


def _random_sequences(num: int, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(num):
        length = int(rng.integers(2, 16))
        steps = rng.integers(-6, 4, size=length)  # mostly decreasing, with ties and rises
        values = (64 + np.cumsum(steps)) / 64.0
        sequences.append([float(v) for v in values])
    return sequences


RANDOM_CONFIGS = [
    dict(patience=0),
    dict(patience=2),
    dict(patience=3, min_delta=1 / 32),
    dict(patience=1, baseline=0.875, restore_best_weights=True),
    dict(patience=2, start_from_epoch=3, restore_best_weights=True),
    dict(
        patience=1, mode="max", monitor="val_accuracy", min_delta=-1 / 64, restore_best_weights=True
    ),
]


@pytest.mark.parametrize("config", RANDOM_CONFIGS, ids=[str(c) for c in RANDOM_CONFIGS])
def test_random_sequences_match_live_keras(config):
    _keras_or_skip()
    for values in _random_sequences(40, seed=len(str(config))):
        expected = run_keras(config, values)
        got = run_lrbook(config, values)
        assert _same(got, expected), (config, values, got, expected)


# ------------------------------------------------------------------ behaviour


def test_validation_errors():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="minimum")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="start_from_epoch"):
        EarlyStopping(start_from_epoch=-2)
    with pytest.raises(ValueError, match="maximised"):
        EarlyStopping(monitor="val_widget_score")
    with pytest.raises(ValueError, match="model"):
        EarlyStopping(restore_best_weights=True).step(1.0)


def test_auto_mode_directions():
    assert EarlyStopping(monitor="val_loss").direction == "min"
    assert EarlyStopping(monitor="train_loss").direction == "min"
    assert EarlyStopping(monitor="val_accuracy").direction == "max"
    assert EarlyStopping(monitor="val_widget_score", mode="max").direction == "max"
    assert EarlyStopping(min_delta=-0.5).min_delta == 0.5


def test_missing_metric_warns_and_counts_epoch():
    stopper = EarlyStopping(patience=0)
    with pytest.warns(UserWarning, match="not available"):
        assert stopper.step(None) is False
    assert stopper.epoch == 1 and stopper.best is None


def test_tensor_metric_and_reset():
    stopper = EarlyStopping(patience=0)
    assert not stopper.step(torch.tensor(1.0))
    assert stopper.step(torch.tensor(2.0))
    assert stopper.stopped and stopper.stopped_epoch == 1
    stopper.reset()
    assert stopper.best is None and stopper.stopped_epoch == 0 and stopper.epoch == 0


def test_state_dict_round_trip_continues_identically():
    values = [1.0, 0.5, 0.75, 0.625, 0.875, 0.9, 0.4, 0.6, 0.7]
    model = torch.nn.Linear(2, 1)
    full = EarlyStopping(patience=2, restore_best_weights=True)
    decisions = [full.step(v, model) for v in values]

    first = EarlyStopping(patience=2, restore_best_weights=True)
    part = [first.step(v, model) for v in values[:4]]
    state = first.state_dict()
    path_state = {k: v for k, v in state.items()}
    second = EarlyStopping(patience=2, restore_best_weights=True)
    second.load_state_dict(path_state)
    part += [second.step(v, model) for v in values[4:]]
    assert part == decisions
    assert second.state_dict()["best"] == full.best and second.best_epoch == full.best_epoch


# ------------------------------------------------------------------ Prechelt


# A worked example computed by hand from Prechelt's definitions (strip length k = 5).
# epoch t:     1     2     3     4     5     6     7     8     9     10    11    12    13    14    15
VAL = [1.00, 0.80, 0.70, 0.65, 0.62, 0.60, 0.61, 0.60, 0.62, 0.63, 0.64, 0.66, 0.65, 0.67, 0.69]
TRAIN = [
    1.00,
    0.75,
    0.60,
    0.52,
    0.48,
    0.45,
    0.43,
    0.42,
    0.41,
    0.40,
    0.395,
    0.39,
    0.385,
    0.38,
    0.375,
]
# E_opt: 1.00 .80 .70 .65 .62 .60 .60 .60 .60 .60 .60 .60 .60 .60 .60 (best epoch 6)
# GL(t) = 100 (E_va/E_opt - 1):
#   t=7: 1.667, t=9: 3.333, t=10: 5.0, t=11: 6.667, t=12: 10.0, t=13: 8.333, t=15: 15.0
# P_5 at strip ends:
#   t=5:  sum = 3.35,  min 0.48  -> 1000 (3.35/(5*0.48) - 1)  = 395.833...
#   t=10: sum = 2.11,  min 0.40  -> 1000 (2.11/2.00 - 1)      = 55.0
#   t=15: sum = 1.925, min 0.375 -> 1000 (1.925/1.875 - 1)    = 26.666...
# PQ = GL/P_5: t=5: 0; t=10: 5/55 = 0.0909; t=15: 15/26.667 = 0.5625
# UP: strip-end errors 0.62 (t=5), 0.63 (t=10), 0.69 (t=15): rises at t=10 and t=15.


def _first_stop(criterion, val, train) -> int | None:
    for t, (v, tr) in enumerate(zip(val, train, strict=True), start=1):
        if criterion.step(v, tr):
            return t
    return None


def test_prechelt_gl_worked_example():
    gl = GL(alpha=2.0)
    assert _first_stop(gl, VAL, TRAIN) == 9
    assert gl.generalization_loss() == pytest.approx(100 * (0.62 / 0.60 - 1))
    assert gl.best == 0.60 and gl.best_epoch == 6 and gl.stopped_epoch == 9
    assert _first_stop(GL(alpha=1.0), VAL, TRAIN) == 7
    assert _first_stop(GL(alpha=5.5), VAL, TRAIN) == 11  # GL(10) = 5.0, GL(11) = 6.67
    assert _first_stop(GL(alpha=20.0), VAL, TRAIN) is None


def test_prechelt_pq_worked_example():
    pq = PQ(alpha=0.5, strip=5)
    values = []
    for t, (v, tr) in enumerate(zip(VAL, TRAIN, strict=True), start=1):
        stop = pq.step(v, tr)
        if t % 5 == 0:
            values.append((pq.training_progress(), pq.quotient()))
        if stop:
            break
    assert pq.stopped_epoch == 15
    (p5, q5), (p10, q10), (p15, q15) = values
    assert p5 == pytest.approx(1000 * (3.35 / 2.4 - 1)) and q5 == 0.0
    assert p10 == pytest.approx(55.0) and q10 == pytest.approx(5.0 / 55.0)
    assert p15 == pytest.approx(1000 * (1.925 / 1.875 - 1)) and q15 == pytest.approx(0.5625)
    assert _first_stop(PQ(alpha=0.05), VAL, TRAIN) == 10
    assert _first_stop(PQ(alpha=0.6), VAL, TRAIN) is None
    with pytest.raises(ValueError, match="training error"):
        PQ(alpha=1.0).step(0.5)


def test_prechelt_pq_flat_strip():
    pq = PQ(alpha=100.0, strip=2)
    assert not pq.step(1.0, 0.5) and not pq.step(1.0, 0.5)  # GL = 0, P = 0: undefined, no stop
    assert math.isnan(pq.quotient())
    assert not pq.step(1.0, 0.5) and pq.step(1.5, 0.5)  # GL > 0, P = 0: infinite quotient


def test_prechelt_up_worked_example():
    assert _first_stop(UP(s=1), VAL, TRAIN) == 10
    up2 = UP(s=2)
    assert _first_stop(up2, VAL, TRAIN) == 15 and up2.rises == 2
    assert _first_stop(UP(s=3), VAL, TRAIN) is None
    # rises are counted between strip ends, not against the best value
    up = UP(s=1, strip=2)
    assert not up.step(1.0) and not up.step(0.5)  # t=2: first strip end
    assert not up.step(9.0) and not up.step(0.5)  # t=4: 0.5 is not > 0.5
    assert not up.step(0.1) and up.step(0.6)  # t=6: 0.6 > 0.5


def test_prechelt_validation():
    with pytest.raises(ValueError):
        GL(alpha=-1)
    with pytest.raises(ValueError):
        UP(s=0)
    with pytest.raises(ValueError):
        PQ(alpha=1.0, strip=0)
    with pytest.raises(ValueError):
        GL(alpha=1.0).step(float("nan"))



# ---------------------------------------------------------------- Lightning's rule and replays
# Expected decisions follow Lightning 2.6.6's EarlyStopping._evaluate_stopping_criteria
# (see the class docstring); Lightning itself is not a dependency.


def test_lightning_matches_keras_on_plain_sequences():
    rng = np.random.default_rng(0)
    for _ in range(200):
        values = list(rng.integers(0, 8, size=12) / 8)
        patience = int(rng.integers(1, 4))
        delta = float(rng.choice([0.0, 0.125]))
        keras_stop = replay(EarlyStopping(patience=patience, min_delta=delta), values)
        pl_stop = replay(LightningEarlyStopping(patience=patience, min_delta=delta), values)
        assert keras_stop == pl_stop, (values, patience, delta)


def test_lightning_differs_where_documented():
    # a NaN: Lightning stops at once (check_finite), Keras waits `patience` checks
    values = [1.0, 0.9, NAN, 0.8, 0.7, 0.6]
    assert replay(LightningEarlyStopping(patience=3), values) == 2
    assert replay(EarlyStopping(patience=3), values) is None  # 0.8 < 0.9 improves again
    pl = LightningEarlyStopping(patience=3)
    replay(pl, values)
    assert pl.stopping_reason == "non-finite"
    assert replay(LightningEarlyStopping(patience=3, check_finite=False), values) is None
    # negative min_delta: Keras takes |min_delta|, Lightning keeps the sign
    rising = [1.0, 1.01, 1.02, 1.03, 1.04]
    assert replay(LightningEarlyStopping(patience=2, min_delta=-0.05), rising) is None
    assert replay(EarlyStopping(patience=2, min_delta=-0.05), rising) == 2
    # stopping_threshold stops when a goal is reached; Keras' baseline is a bar to beat
    falling = [1.0, 0.8, 0.6, 0.4, 0.3]
    assert replay(LightningEarlyStopping(stopping_threshold=0.5), falling) == 3
    assert replay(EarlyStopping(patience=1, baseline=0.5), falling) is None
    # divergence threshold, max mode
    pl = LightningEarlyStopping(mode="max", divergence_threshold=0.2)
    assert replay(pl, [0.5, 0.6, 0.1]) == 2 and pl.stopping_reason == "divergence"
    assert pl.best == 0.6


def test_lightning_validation():
    with pytest.raises(ValueError, match="mode"):
        LightningEarlyStopping(mode="auto")
    with pytest.raises(ValueError, match="patience"):
        LightningEarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="min_delta"):
        LightningEarlyStopping(min_delta=float("inf"))
    with pytest.raises(ValueError, match="restore"):
        replay(EarlyStopping(restore_best_weights=True), [1.0])


def test_replay_prechelt():
    epochs, best = replay_prechelt(GL(alpha=2.0), VAL, TRAIN)
    assert (epochs, best) == (9, 6)
    epochs, best = replay_prechelt(GL(alpha=20.0), VAL, TRAIN)
    assert epochs == len(VAL) and best == int(np.argmin(VAL)) + 1
    assert replay_prechelt(PQ(alpha=0.5), VAL, TRAIN)[0] == 15
    with pytest.raises(ValueError, match="length"):
        replay_prechelt(GL(1.0), VAL, TRAIN[:-1])


if __name__ == "__main__":  # regenerate KERAS_TABLE
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    print(f"    # keras {keras.__version__}, backend {keras.backend.backend()}")
    for name, kwargs, values in CASES:
        out = run_keras(kwargs, values)
        text = ", ".join(
            f"{k}={'NAN' if isinstance(v, float) and math.isnan(v) else repr(v)}"
            for k, v in out.items()
        )
        print(f"    {name!r}: dict({text}),")
