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

from lrbook import live, optim, problems
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
