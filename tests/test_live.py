"""lrbook.live: the live figures' specs, reference numbers and notebook output.

The JavaScript side is tested by ``node --test tests/js`` against tests/js/live_fixtures.json;
here: that file is what lrbook computes now (not stale), the reference numbers are lrbook's
own trajectories and schedules, and bad input is refused.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from lrbook import linear_dynamics, live, optim, problems
from lrbook import schedules as S

ROOT = Path(__file__).resolve().parents[1]


def _writer():
    spec = importlib.util.spec_from_file_location("write_live_fixtures", ROOT / "scripts" / "write_live_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_file_is_up_to_date():
    writer = _writer()
    assert writer.PATH.read_text() == writer.render(), (
        "tests/js/live_fixtures.json is stale: run .venv/bin/python scripts/write_live_fixtures.py")


def test_at_least_six_figures_and_every_schedule_function():
    assert len(live.FIGURES) >= 6
    explorer = next(c for c in live.FIGURES["schedules"]["controls"] if c["name"] == "schedule")
    functions = {name for name in S.functions.__all__ if name not in ("Schedule", "make_schedule")}
    assert functions == set(explorer["options"])


def test_paths_are_lrbooks_trajectories():
    # the figure's path equals lrbook.problems.trajectory (autograd gradients) up to rounding
    spec = live.FIGURES["momentum"]
    state = live.default_state(spec)
    got = live.compute(spec, state)["Nesterov"]
    problem = problems.quadratic(kappa=25.0, angle=0.3)
    lr = state["etaL"] / 25.0
    ref = problems.trajectory(problem, lambda p: optim.SGD(p, lr=lr, momentum=state["mu"], nesterov=True), 60)
    np.testing.assert_allclose(np.array(got), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_diverged_path_ends_in_none():
    path = live.run_path({"name": "quadratic", "kappa": 10.0, "h_min": 1.0, "angle": 0.0}, {"name": "gd", "lr": 0.25}, 200)
    assert path[-1] is None and path[1] is not None
    first_none = path.index(None)
    assert all(p is None for p in path[first_none:])
    assert np.abs(path[first_none - 1]).max() <= live.BLOWUP


def test_schedule_values_are_lrbooks():
    spec = live.FIGURES["warmup-cosine"]
    state = live.default_state(spec)
    values = live.compute(spec, state)["warm-up + cosine"]
    eta_max, T, T_w = 10.0 ** state["eta_max"], state["T"], state["T_w"]
    ref = S.linear_warmup(S.make_schedule(S.cosine_decay, initial_learning_rate=eta_max, decay_steps=T - T_w,
                                          min_learning_rate=state["eta_min"]), T_w)
    assert values == [ref(t) for t in range(len(values))]
    assert math.isclose(max(values), eta_max)


def test_every_moved_state_changes_the_numbers():
    for fid, spec in live.FIGURES.items():
        cases = live.state_cases(spec)
        moved = {case["moved"] for case in cases}
        assert {c["name"] for c in spec["controls"] if c.get("move_to") is not None} <= moved, fid
        for case in cases[1:]:
            if "from" in case:
                assert live.compute(spec, case["state"]) != live.compute(spec, case["from"]), (fid, case["moved"])


def test_move_targets_are_on_the_slider_grid():
    for spec in live.FIGURES.values():
        for c in spec["controls"]:
            if c["type"] == "range":
                for v in (c["value"], c["move_to"]):
                    k = (v - c["min"]) / c["step"]
                    assert c["min"] <= v <= c["max"] and abs(k - round(k)) < 1e-9, (spec["id"], c["name"], v)


def test_bad_input_is_refused():
    spec = live.FIGURES["gd-2d"]
    with pytest.raises(ValueError, match="log10_lr must be in"):
        live.compute(spec, {**live.default_state(spec), "log10_lr": 3.0})
    with pytest.raises(ValueError, match="landscape must be one of"):
        live.compute(live.FIGURES["adaptive"], {**live.default_state(live.FIGURES["adaptive"]), "landscape": "moon"})
    with pytest.raises(ValueError, match="figure_id must be one of"):
        live.figure("nope")


def test_figure_output_has_live_html_static_png_and_alt_text():
    bundle = live.figure("gd-1d")._repr_mimebundle_()
    assert set(bundle) >= {"text/html", "image/png"}
    html = bundle["text/html"]
    assert 'class="lrbook-live"' in html and "data:image/png;base64," in html and 'alt="' in html
    spec = json.loads(__import__("html").unescape(html.split('data-lrbook-live="')[1].split('"')[0]))
    assert spec["id"] == "gd-1d"


def test_nesterov_stability_limit_of_the_momentum_figure():
    # the dashed curve of the (η·L, μ) plane: Nesterov (torch's nesterov=True) converges on the figure's
    # quadratic for η·L < 2(1 + μ)/(1 + 2μ) and diverges above it; checked by running lrbook's SGD
    spec = live.FIGURES["momentum"]
    kw = {k: v for k, v in spec["phase"]["problem"].items() if k != "name"}
    problem = problems.quadratic(**kw)
    L = float(problem.eigenvalues.max())
    for mu in (0.3, 0.5, 0.9, 0.99):  # (torch refuses nesterov=True without momentum)
        limit = 2 * (1 + mu) / (1 + 2 * mu)
        assert math.isclose(float(linear_dynamics.stability_limit(mu, nesterov=True)), limit)
        for factor, converges in ((0.97, True), (1.03, False)):
            path = live.run_path(spec["phase"]["problem"], {"name": "sgd", "lr": factor * limit / L, "momentum": mu,
                                                             "nesterov": True}, 3000)
            end = path[-1]
            assert (end is not None and np.abs(end).max() < 1e-3 * np.abs(path[0]).max()) == converges, (mu, factor)
            r = linear_dynamics.momentum_contraction_factor(factor * limit, mu, nesterov=True)
            assert (r < 1) == converges
    # at η·L = 2, μ = 0.9 (inside heavy ball's region) Nesterov diverges: the case the dashed curve is for
    assert linear_dynamics.momentum_contraction_factor(2.0, 0.9) < 1
    assert linear_dynamics.momentum_contraction_factor(2.0, 0.9, nesterov=True) > 1


def test_schedule_explorer_floor_is_below_the_peak():
    # the floor is a fraction (at most 1/2) of η₀, so no schedule of the explorer rises above η₀,
    # and the decaying ones never rise, for every η₀ on its slider and the extreme floors
    spec = live.FIGURES["schedules"]
    eta0 = next(c for c in spec["controls"] if c["name"] == "eta0")
    floor = next(c for c in spec["controls"] if c["name"] == "floor")
    assert floor["max"] <= 0.5
    base = live.default_state(spec)
    uses_floor = floor["when"]["schedule"]
    n_eta0 = round((eta0["max"] - eta0["min"]) / eta0["step"])
    for k in range(0, n_eta0 + 1, 5):
        log_eta0 = round(eta0["min"] + k * eta0["step"], 10)
        for fraction in (floor["min"], floor["max"]):
            for name in uses_floor:
                state = {**base, "schedule": name, "eta0": log_eta0, "floor": fraction}
                values = np.array(live.compute(spec, state)[name])
                peak = 10.0**log_eta0
                assert values.max() <= peak * (1 + 1e-12), (name, log_eta0, fraction)
                assert values.min() >= -1e-15, (name, log_eta0, fraction)
                if name in ("cosine_decay", "linear_decay", "polynomial_decay"):
                    assert np.all(np.diff(values) <= 1e-15 * peak), (name, log_eta0, fraction)
                    assert math.isclose(values[-1], fraction * peak, rel_tol=1e-9, abs_tol=1e-15), name


def test_static_note_is_true_wherever_it_shows():
    # the note is seen in Jupyter, and in the HTML book only when JavaScript is off (live.js rewrites it
    # when the live version fails to start): it must not claim that this page runs the figure
    html = live.figure("momentum")._repr_mimebundle_()["text/html"]
    note = html.split('class="lrbook-live-note">')[1].split("</p>")[0]
    assert "picture of the default setting" in note and "with JavaScript on" in note
    live_js = (ROOT / "book" / "_static" / "lrbook-live" / "live.js").read_text()
    assert "could not start" in live_js and "import(" not in live_js  # no ES module: file:// works
