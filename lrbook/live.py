"""Live figures of the HTML book: their specifications, lrbook's reference numbers, and the cell output.

The HTML book runs small optimizers and schedules in the reader's browser
(``book/_static/lrbook-live/core.js``, drawn by ``live.js``). Each live figure is a
*spec* in the dictionary ``FIGURES`` (figure id → spec): its controls (sliders and menus) and its *series*
(a problem + optimizer + number of steps, or a schedule + number of steps) in which
strings such as ``"$lr"`` stand for the value of a control. The same spec drives
both sides:

- :func:`compute` evaluates a spec at a state (control values) with lrbook's own
  optimizers (:mod:`lrbook.optim`, float64, gradients from the problem's analytic
  ``grad``) and schedules (:mod:`lrbook.schedules`);
- :func:`fixtures` collects, for every figure, the default state and one state per
  control moved away from its default (what the browser check sets), plus unit cases for
  every optimizer, problem and schedule; ``scripts/write_live_fixtures.py`` writes them to
  ``tests/js/live_fixtures.json``, which ``node --test tests/js`` compares with the
  JavaScript to 1e-10 relative and ``tests/test_live.py`` keeps up to date;
- :func:`figure` is what a notebook cell displays: in the HTML book the live figure, in
  Jupyter and in print a static PNG of the default state.

A control's ``label`` may write a subscript as ``_{...}`` (``"T_{w}"``); the page draws it as one.
The (η·L, μ) plane of the momentum figure is shaded by heavy ball's contraction factor and
carries Nesterov's stability limit, both from :mod:`lrbook.linear_dynamics` (``momentum_cases``
of the fixtures check the JavaScript's copies).
"""

from __future__ import annotations

import base64
import copy
import html
import io
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lrbook import linear_dynamics, optim, problems
from lrbook import schedules as S

# FIGURES (the specs) is public but not in __all__: its value is too long for the API page
__all__ = ["LiveFigure", "compute", "default_state", "figure", "fixtures", "parameter_values", "run_path",
           "schedule_values", "state_cases"]

F64 = torch.float64
BLOWUP = 1e6

# ------------------------------------------------------------------------------ specs


def _slider(name, label, lo, hi, step, value, *, transform=None, factor=None, integer=False,
            when=None, marks=None, unit=""):
    control = {"name": name, "type": "range", "label": label, "min": lo, "max": hi, "step": step,
               "value": value, "move_to": None}
    if transform:
        control["transform"] = transform
    if factor is not None:
        control["factor"] = factor
    if integer:
        control["integer"] = True
    if when:
        control["when"] = when
    if marks:
        control["marks"] = marks
    if unit:
        control["unit"] = unit
    return control


def _select(name, label, options, value, *, choices=None, when=None):
    control = {"name": name, "type": "select", "label": label, "options": list(options), "value": value}
    if choices is not None:
        control["choices"] = choices
    if when:
        control["when"] = when
    return control


def _move(control, to):
    control["move_to"] = to
    return control


def _path(key, problem, optimizer, steps):
    return {"key": key, "problem": problem, "optimizer": optimizer, "steps": steps}


def _sched(key, schedule, steps, when=None, label=None):
    series = {"key": key, "schedule": schedule, "steps": steps}
    if when:
        series["when"] = when
    if label:
        series["label"] = label
    return series


_QUAD_2D = {"name": "quadratic", "kappa": "$kappa", "h_min": 1.0, "angle": "$angle"}

_GD_2D = {
    "id": "gd-2d",
    "kind": "trajectory",
    "title": "Gradient descent on a 2-D quadratic",
    "aria": "Contour plot of a quadratic valley with the path of gradient descent; "
    "sliders set the learning rate, the number of steps, the condition number and the rotation.",
    "controls": [
        _move(_slider("log10_lr", "log₁₀ η", -2.5, -0.4, 0.02, -1.0, transform="pow10",
                      marks=[{"stability": "one_step", "label": "1/L"}, {"stability": "gd", "label": "2/L"}]), -0.68),
        _move(_slider("steps", "steps", 1, 100, 1, 30, integer=True), 60),
        _move(_slider("kappa", "κ", 1, 50, 1, 10), 25),
        _move(_slider("angle", "rotation (°)", 0, 90, 15, 0, transform="times",
                      factor=math.pi / 180), 45),
    ],
    "series": [_path("gradient descent", _QUAD_2D, {"name": "gd", "lr": "$log10_lr"}, "$steps")],
}

_GD_1D = {
    "id": "gd-1d",
    "kind": "trajectory",
    "title": "Gradient descent on the parabola f(x) = x²",
    "aria": "The parabola f(x) = x squared with the iterates of gradient descent; a slider sets the "
    "learning rate, with the stability limit 2/L marked.",
    "controls": [
        _move(_slider("lr", "η", 0.02, 1.1, 0.01, 0.3, marks=[{"stability": "gd", "label": "2/L"},
                                                         {"stability": "one_step", "label": "1/L"}]), 0.9),
        _move(_slider("steps", "steps", 1, 30, 1, 10, integer=True), 20),
    ],
    "series": [_path("gradient descent", {"name": "quadratic_1d", "curvature": 2.0},
                     {"name": "gd", "lr": "$lr"}, "$steps")],
}

_NARROW = {"name": "quadratic", "kappa": 25.0, "h_min": 1.0, "angle": 0.3}
_MOMENTUM = {
    "id": "momentum",
    "kind": "trajectory",
    "title": "Momentum: η and μ, with the (η, μ) plane",
    "aria": "Left: the plane of learning rate times L against momentum, shaded by heavy ball's contraction "
    "factor r per step (darker is smaller r, grey diverges), with Nesterov's stability limit as a dashed "
    "curve; a draggable point sets both. Right: gradient descent, heavy ball and Nesterov paths on an "
    "ill-conditioned quadratic.",
    # the checks drag the point of the (η·L, μ) plane to drag_to
    "phase": {"problem": _NARROW, "x": "etaL", "y": "mu", "drag_to": {"etaL": 1.0, "mu": 0.7}},
    "controls": [
        _move(_slider("etaL", "η·L", 0.05, 4.0, 0.05, 0.6, transform="times", factor=1 / 25.0), 1.5),
        _move(_slider("mu", "μ", 0.0, 0.99, 0.01, 0.9), 0.5),
    ],
    "series": [
        _path("gradient descent", _NARROW, {"name": "gd", "lr": "$etaL"}, 60),
        _path("heavy ball", _NARROW, {"name": "sgd", "lr": "$etaL", "momentum": "$mu"}, 60),
        _path("Nesterov", _NARROW, {"name": "sgd", "lr": "$etaL", "momentum": "$mu", "nesterov": True}, 60),
    ],
}

_LANDSCAPES = {
    "rotated valley (κ = 20, 45°)": {"name": "quadratic", "kappa": 20.0, "h_min": 1.0, "angle": math.pi / 4},
    "Rosenbrock": {"name": "rosenbrock"},
    "Beale": {"name": "beale"},
    "saddle": {"name": "saddle"},
}
_ADAPTIVE = {
    "id": "adaptive",
    "kind": "trajectory",
    "title": "Adagrad, RMSprop, Adam and AdamW on the same landscape",
    "aria": "Contour plot of the chosen landscape with the paths of Adagrad, RMSprop, Adam and AdamW; "
    "sliders set the shared learning rate, RMSprop's alpha, Adam's beta1 and beta2, AdamW's weight "
    "decay and the number of steps.",
    "controls": [
        _move(_select("landscape", "landscape", list(_LANDSCAPES), "rotated valley (κ = 20, 45°)",
                      choices=_LANDSCAPES), "saddle"),
        _move(_slider("log10_lr", "log₁₀ η", -3.0, 0.0, 0.1, -1.0, transform="pow10"), -1.5),
        _move(_slider("alpha", "α (RMSprop)", 0.5, 0.999, 0.001, 0.99), 0.9),  # torch's default α = 0.99
        _move(_slider("beta1", "β1 (Adam, AdamW)", 0.0, 0.99, 0.01, 0.9), 0.5),
        _move(_slider("log10_one_minus_beta2", "log₁₀(1 − β2)", -4.0, -0.5, 0.5, -3.0,
                      transform="one_minus_pow10"), -1.0),
        _move(_slider("log10_wd", "log₁₀ λ (AdamW)", -3.0, 0.5, 0.1, -1.0, transform="pow10"), 0.0),
        _move(_slider("steps", "steps", 10, 400, 10, 150, integer=True), 300),
    ],
    "series": [
        _path("Adagrad", "$landscape", {"name": "adagrad", "lr": "$log10_lr"}, "$steps"),
        _path("RMSprop", "$landscape", {"name": "rmsprop", "lr": "$log10_lr", "alpha": "$alpha"}, "$steps"),
        _path("Adam", "$landscape", {"name": "adam", "lr": "$log10_lr",
                                     "betas": ["$beta1", "$log10_one_minus_beta2"]}, "$steps"),
        _path("AdamW", "$landscape", {"name": "adamw", "lr": "$log10_lr",
                                      "betas": ["$beta1", "$log10_one_minus_beta2"],
                                      "weight_decay": "$log10_wd"}, "$steps"),
    ],
}

# every schedule function of lrbook.schedules, with its parameters as controls
_SCHEDULE_NAMES = [
    "constant", "step_decay", "multistep_decay", "exponential_decay", "inverse_time_decay",
    "polynomial_decay", "linear_decay", "cosine_decay", "cosine_with_warm_restarts", "cyclical",
    "cyclical_momentum", "one_cycle", "one_cycle_momentum", "random_lr", "linear_warmup",
    "join_schedules", "warmup_stable_decay",
]
_USES_ETA0 = [n for n in _SCHEDULE_NAMES if n not in ("cyclical_momentum", "one_cycle_momentum")]
_USES_DECAY_STEPS = ["exponential_decay", "inverse_time_decay", "polynomial_decay", "linear_decay",
                     "cosine_decay", "linear_warmup", "join_schedules", "warmup_stable_decay"]
_USES_ETA_MIN = ["polynomial_decay", "linear_decay", "cosine_decay", "cosine_with_warm_restarts",
                 "cyclical", "random_lr", "linear_warmup", "warmup_stable_decay"]
_USES_GAMMA = ["step_decay", "multistep_decay", "exponential_decay"]
_USES_CYCLE = ["cyclical", "cyclical_momentum"]
_USES_ONE_CYCLE = ["one_cycle", "one_cycle_momentum"]
_USES_MOMENTA = ["cyclical_momentum", "one_cycle_momentum"]

_COSINE = {"fn": "cosine_decay", "kwargs": {"initial_learning_rate": "$eta0", "decay_steps": "$decay_steps",
                                            "min_learning_rate": "$eta_min"}}
_EXPLORER_SCHEDULES = {
    "constant": {"fn": "constant", "kwargs": {"learning_rate": "$eta0"}},
    "step_decay": {"fn": "step_decay", "kwargs": {"initial_learning_rate": "$eta0", "step_size": "$step_size",
                                                  "gamma": "$gamma"}},
    "multistep_decay": {"fn": "multistep_decay", "kwargs": {"initial_learning_rate": "$eta0",
                                                            "milestones": ["$m1", "$m2"], "gamma": "$gamma"}},
    "exponential_decay": {"fn": "exponential_decay", "kwargs": {
        "initial_learning_rate": "$eta0", "decay_steps": "$decay_steps", "decay_rate": "$gamma",
        "staircase": "$staircase"}},
    "inverse_time_decay": {"fn": "inverse_time_decay", "kwargs": {
        "initial_learning_rate": "$eta0", "decay_steps": "$decay_steps", "decay_rate": "$delta"}},
    "polynomial_decay": {"fn": "polynomial_decay", "kwargs": {
        "initial_learning_rate": "$eta0", "decay_steps": "$decay_steps", "end_learning_rate": "$eta_min",
        "power": "$power", "cycle": "$cycle"}},
    "linear_decay": {"fn": "linear_decay", "kwargs": {"initial_learning_rate": "$eta0",
                                                      "total_steps": "$decay_steps", "end_learning_rate": "$eta_min"}},
    "cosine_decay": _COSINE,
    "cosine_with_warm_restarts": {"fn": "cosine_with_warm_restarts", "kwargs": {
        "initial_learning_rate": "$eta0", "T_0": "$T_0", "T_mult": "$T_mult", "min_learning_rate": "$eta_min"}},
    "cyclical": {"fn": "cyclical", "kwargs": {"base_lr": "$eta_min", "max_lr": "$eta0",
                                              "step_size_up": "$step_size_up", "mode": "$mode", "gamma": "$cyc_gamma"}},
    "cyclical_momentum": {"fn": "cyclical_momentum", "kwargs": {
        "base_momentum": "$base_momentum", "max_momentum": "$max_momentum", "step_size_up": "$step_size_up",
        "mode": "$mode", "gamma": "$cyc_gamma"}},
    "one_cycle": {"fn": "one_cycle", "kwargs": {"max_lr": "$eta0", "total_steps": "$T", "pct_start": "$pct_start",
                                                "anneal_strategy": "$anneal", "div_factor": "$div_factor",
                                                "three_phase": "$three_phase"}},
    "one_cycle_momentum": {"fn": "one_cycle_momentum", "kwargs": {
        "total_steps": "$T", "pct_start": "$pct_start", "anneal_strategy": "$anneal",
        "base_momentum": "$base_momentum", "max_momentum": "$max_momentum", "three_phase": "$three_phase"}},
    "random_lr": {"fn": "random_lr", "kwargs": {"low": "$eta_min", "high": "$eta0", "seed": "$seed"}},
    "linear_warmup": {"fn": "linear_warmup", "kwargs": {"schedule": _COSINE, "warmup_steps": "$warmup"}},
    "join_schedules": {"fn": "join_schedules", "kwargs": {
        "schedules": [{"fn": "constant", "kwargs": {"learning_rate": "$eta0"}},
                      {"fn": "exponential_decay", "kwargs": {"initial_learning_rate": "$eta0",
                                                             "decay_steps": "$decay_steps", "decay_rate": 0.1}}],
        "boundaries": ["$boundary"]}},
    "warmup_stable_decay": {"fn": "warmup_stable_decay", "kwargs": {
        "learning_rate": "$eta0", "warmup_steps": "$warmup", "stable_steps": "$stable_steps",
        "decay_steps": "$decay_steps", "min_learning_rate": "$eta_min", "cooldown": "$cooldown"}},
}
_YESNO = {"no": False, "yes": True}

_EXPLORER = {
    "id": "schedules",
    "kind": "schedule",
    "title": "Every schedule of lrbook.schedules",
    "derived": {"eta_min": ["mul", "$floor", "$eta0"]},
    "aria": "Line plot of the learning rate (or momentum) against the step for the chosen schedule; "
    "a menu picks the schedule and sliders set its parameters.",
    "controls": [
        _select("schedule", "schedule", _SCHEDULE_NAMES, "cosine_decay"),
        _move(_slider("T", "steps shown", 20, 400, 10, 200, integer=True), 300),
        _move(_slider("eta0", "log₁₀ η₀ (peak)", -3.0, 0.0, 0.1, -1.0, transform="pow10", when={"schedule": _USES_ETA0}), -0.5),
        # the floor as a fraction of η₀, so that no decaying schedule can rise (η_min <= η₀ / 2)
        _move(_slider("floor", "η_{min} / η₀ (floor)", 0.0, 0.5, 0.01, 0.1, when={"schedule": _USES_ETA_MIN}), 0.3),
        _move(_slider("decay_steps", "T (decay steps)", 1, 400, 1, 150, integer=True,
                      when={"schedule": _USES_DECAY_STEPS}), 60),
        _move(_slider("step_size", "step_size", 1, 200, 1, 50, integer=True, when={"schedule": ["step_decay"]}), 30),
        _move(_slider("m1", "first milestone", 0, 200, 1, 80, integer=True, when={"schedule": ["multistep_decay"]}), 40),
        _move(_slider("m2", "second milestone", 0, 400, 1, 150, integer=True, when={"schedule": ["multistep_decay"]}), 120),
        _move(_slider("gamma", "γ (decay factor)", 0.05, 0.95, 0.05, 0.5, when={"schedule": _USES_GAMMA}), 0.2),
        _move(_select("staircase", "staircase", list(_YESNO), "no", choices=_YESNO,
                      when={"schedule": ["exponential_decay"]}), "yes"),
        _move(_slider("delta", "decay_rate δ", 0.0, 20.0, 0.5, 2.0, when={"schedule": ["inverse_time_decay"]}), 8.0),
        _move(_slider("power", "power p", 0.0, 4.0, 0.25, 2.0, when={"schedule": ["polynomial_decay"]}), 0.5),
        _move(_select("cycle", "cycle", list(_YESNO), "no", choices=_YESNO,
                      when={"schedule": ["polynomial_decay"]}), "yes"),
        _move(_slider("T_0", "T_{0} (first period)", 1, 200, 1, 30, integer=True,
                      when={"schedule": ["cosine_with_warm_restarts"]}), 50),
        _move(_select("T_mult", "T_mult", ["1", "2", "3"], "2", choices={"1": 1, "2": 2, "3": 3},
                      when={"schedule": ["cosine_with_warm_restarts"]}), "1"),
        _move(_slider("step_size_up", "step_size_up", 1, 200, 1, 25, integer=True, when={"schedule": _USES_CYCLE}), 40),
        _move(_select("mode", "mode", ["triangular", "triangular2", "exp_range"], "triangular",
                      when={"schedule": _USES_CYCLE}), "triangular2"),
        _move(_slider("cyc_gamma", "γ (exp_range)", 0.98, 1.0, 0.001, 0.995, when={"schedule": _USES_CYCLE,
                                                                                  "mode": ["exp_range"]}), 0.99),
        _move(_slider("base_momentum", "base momentum", 0.5, 0.95, 0.01, 0.85, when={"schedule": _USES_MOMENTA}), 0.7),
        _move(_slider("max_momentum", "max momentum", 0.8, 0.99, 0.01, 0.95, when={"schedule": _USES_MOMENTA}), 0.9),
        _move(_slider("pct_start", "pct_start", 0.05, 0.95, 0.05, 0.3, when={"schedule": _USES_ONE_CYCLE}), 0.5),
        _move(_select("anneal", "anneal_strategy", ["cos", "linear"], "cos", when={"schedule": _USES_ONE_CYCLE}),
              "linear"),
        _move(_slider("div_factor", "div_factor", 1.0, 100.0, 1.0, 25.0, when={"schedule": ["one_cycle"]}), 5.0),
        _move(_select("three_phase", "three_phase", list(_YESNO), "no", choices=_YESNO,
                      when={"schedule": _USES_ONE_CYCLE}), "yes"),
        _move(_slider("seed", "seed", 0, 20, 1, 0, integer=True, when={"schedule": ["random_lr"]}), 7),
        _move(_slider("warmup", "T_{w} (warm-up steps)", 0, 100, 1, 20, integer=True,
                      when={"schedule": ["linear_warmup", "warmup_stable_decay"]}), 50),
        _move(_slider("stable_steps", "T_{s} (stable steps)", 0, 300, 1, 80, integer=True,
                      when={"schedule": ["warmup_stable_decay"]}), 30),
        _move(_select("cooldown", "cool-down shape", ["1-sqrt", "linear", "cosine", "1-square"], "1-sqrt",
                      when={"schedule": ["warmup_stable_decay"]}), "1-square"),
        _move(_slider("boundary", "boundary", 1, 300, 1, 50, integer=True, when={"schedule": ["join_schedules"]}), 100),
    ],
    "series": [_sched(name, spec, "$T", when={"schedule": [name]}, label=name)
               for name, spec in _EXPLORER_SCHEDULES.items()],
}

_WARMUP_COSINE = {
    "id": "warmup-cosine",
    "kind": "schedule",
    "title": "Linear warm-up then cosine decay, counted in steps",
    "aria": "Line plot of the learning rate against the step for a linear warm-up followed by "
    "cosine decay; sliders set the peak rate, the total steps, the warm-up steps, the floor and "
    "the step whose rate is read out.",
    "derived": {"T_decay": ["sub", "$T", "$T_w"], "n": ["max", "$T", ["add", "$t", 1]]},
    "marker": "$t",
    "controls": [
        _move(_slider("eta_max", "log₁₀ η_{max}", -4.0, 0.0, 0.1, -3.0, transform="pow10"), -2.0),
        _move(_slider("T", "T (total steps)", 200, 5000, 100, 2000, integer=True), 1000),
        _move(_slider("T_w", "T_{w} (warm-up steps)", 0, 190, 10, 100, integer=True), 30),
        _move(_slider("eta_min", "η_{min} (floor)", 0.0, 1e-4, 1e-5, 0.0), 5e-5),
        _move(_slider("t", "step t", 0, 5000, 10, 50, integer=True), 1500),
    ],
    "series": [_sched("warm-up + cosine", {"fn": "linear_warmup", "kwargs": {
        "schedule": {"fn": "cosine_decay", "kwargs": {"initial_learning_rate": "$eta_max",
                                                      "decay_steps": "$T_decay", "min_learning_rate": "$eta_min"}},
        "warmup_steps": "$T_w"}}, "$n")],
}

FIGURES: dict[str, dict] = {spec["id"]: spec for spec in (_GD_1D, _GD_2D, _MOMENTUM, _ADAPTIVE, _EXPLORER,
                                                          _WARMUP_COSINE)}

# ------------------------------------------------------------------------------ evaluation


def _control_value(control: Mapping, raw: Any) -> Any:
    """What a control's raw value stands for (the same rules as controlValue in core.js)."""
    if control["type"] == "select":
        if raw not in control["options"]:
            raise ValueError(f"{control['name']} must be one of {control['options']!r}, got {raw!r}")
        return control["choices"][raw] if "choices" in control else raw
    v = raw
    if not (control["min"] <= v <= control["max"]):
        raise ValueError(f"{control['name']} must be in [{control['min']}, {control['max']}], got {raw!r}")
    if control.get("integer"):
        v = int(v)
    transform = control.get("transform")
    if transform == "pow10":
        return 10.0**v
    if transform == "one_minus_pow10":
        return 1 - 10.0**v
    if transform == "times":
        return v * control["factor"]
    return v


def _resolve(obj: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(obj, str) and obj.startswith("$"):
        if obj[1:] not in values:
            raise ValueError(f"unknown parameter {obj!r}")
        return values[obj[1:]]
    if isinstance(obj, list):
        return [_resolve(o, values) for o in obj]
    if isinstance(obj, dict):
        return {k: _resolve(v, values) for k, v in obj.items()}
    return obj


_OPS = {"sub": lambda a, b: a - b, "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "max": max}


def _expr(expr: Any, values: Mapping[str, Any]) -> Any:
    """A derived parameter: ``"$name"``, a number, or ``[op, a, b]`` with op in sub, add, mul, max."""
    if isinstance(expr, list):
        return _OPS[expr[0]](_expr(expr[1], values), _expr(expr[2], values))
    return _resolve(expr, values)


def _active(item: Mapping, state: Mapping) -> bool:
    return all(state[k] in (v if isinstance(v, list) else [v]) for k, v in item.get("when", {}).items())


def default_state(spec: Mapping) -> dict[str, Any]:
    """The state of a figure when the page loads: every control at its ``value``."""
    return {c["name"]: c["value"] for c in spec["controls"]}


def parameter_values(spec: Mapping, state: Mapping[str, Any]) -> dict[str, Any]:
    """The value of every parameter of ``spec`` at ``state`` (controls after their transform, then derived ones)."""
    values = {c["name"]: _control_value(c, state[c["name"]]) for c in spec["controls"]}
    for name, expr in spec.get("derived", {}).items():
        values[name] = _expr(expr, values)
    return values


_PROBLEMS = {"quadratic": problems.quadratic, "quadratic_1d": problems.quadratic_1d,
             "rosenbrock": problems.rosenbrock, "beale": problems.beale, "saddle": problems.saddle}


def _optimizer(spec: Mapping, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    kw = {k: v for k, v in spec.items() if k != "name"}
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    make = {"gd": optim.GradientDescent, "sgd": optim.SGD, "adagrad": optim.Adagrad,
            "rmsprop": optim.RMSprop, "adam": optim.Adam, "adamw": optim.AdamW}[spec["name"]]
    return make(params, **kw)


def run_path(problem_spec: Mapping, optimizer_spec: Mapping, num_steps: int) -> list[list[float] | None]:
    """The path ``x_0 .. x_n`` of an lrbook optimizer on a problem, with its analytic gradient.

    As :func:`lrbook.problems.trajectory`, a run that leaves ``|x| < 1e6`` or stops being
    finite is stopped; the points after that are ``None``.
    """
    kwargs = {k: v for k, v in problem_spec.items() if k != "name"}
    problem = _PROBLEMS[problem_spec["name"]](**kwargs)
    x = problem.start.clone().to(F64)
    opt = _optimizer(optimizer_spec, [x])
    path: list[list[float] | None] = [x.tolist()]
    alive = True
    for _ in range(num_steps):
        if alive:
            x.grad = problem.grad(x.detach())
            opt.step()
            point = x.detach().numpy()
            alive = bool(np.all(np.isfinite(point)) and np.abs(point).max() <= BLOWUP)
        path.append(x.tolist() if alive else None)
    return path


def _schedule(spec: Mapping):
    fn, kw = spec["fn"], dict(spec.get("kwargs", {}))
    if fn == "linear_warmup":
        return S.linear_warmup(_schedule(kw.pop("schedule")), **kw)
    if fn == "join_schedules":
        return S.join_schedules([_schedule(s) for s in kw["schedules"]], kw["boundaries"])
    return S.make_schedule(getattr(S, fn), **kw)


def schedule_values(spec: Mapping, n: int) -> list[float]:
    """``η_0 .. η_{n-1}`` of a schedule spec, computed by :mod:`lrbook.schedules`."""
    schedule = _schedule(spec)
    return [float(schedule(t)) for t in range(n)]


def compute(spec: Mapping, state: Mapping[str, Any]) -> dict[str, list]:
    """What figure ``spec`` shows at ``state``: one path (or schedule) per active series.

    Raises ValueError for a control value outside its range or an unknown option.
    """
    values = parameter_values(spec, state)
    out = {}
    for series in spec["series"]:
        if not _active(series, state):
            continue
        s = _resolve(series, values)
        if spec["kind"] == "trajectory":
            out[s["key"]] = run_path(s["problem"], s["optimizer"], int(s["steps"]))
        else:
            out[s["key"]] = schedule_values(s["schedule"], int(s["steps"]))
    if "marker" in spec:  # the value read out at step t (first series)
        t = _resolve(spec["marker"], values)
        out["marker"] = [t, next(iter(out.values()))[t]]
    return out


def state_cases(spec: Mapping) -> list[dict]:
    """The states the checks visit: the default, then each control moved to its ``move_to``.

    A control shown only for some values of a menu (``when``) is moved with that menu set to
    each of those values; every option of a menu without ``move_to`` is visited too.
    """
    base = default_state(spec)
    cases = [{"moved": None, "state": dict(base)}]
    menus = [c for c in spec["controls"] if c["type"] == "select" and c.get("move_to") is None
             and any(c["name"] in d.get("when", {}) for d in spec["controls"])]
    contexts = [dict(base)]
    for menu in menus:
        contexts = [{**ctx, menu["name"]: option} for ctx in contexts for option in menu["options"]]
    seen = set()
    for ctx in contexts:
        for menu in menus:
            key = json.dumps(ctx, sort_keys=True)
            if ctx[menu["name"]] != base[menu["name"]] and key not in seen:
                seen.add(key)
                cases.append({"moved": menu["name"], "state": dict(ctx)})
        menu_names = [m["name"] for m in menus]
        for control in spec["controls"]:
            when = control.get("when", {})
            if control.get("move_to") is None or not all(ctx[k] in v for k, v in when.items() if k in menu_names):
                continue
            # a control shown only for some values of another control (not a menu): set that one
            extra = {k: v[0] for k, v in when.items() if k not in menu_names and ctx[k] not in v}
            state = {**ctx, **extra, control["name"]: control["move_to"]}
            key = json.dumps(state, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            cases.append({"moved": control["name"], "state": state, "from": {**ctx, **extra}})
    if "drag_to" in spec.get("phase", {}):  # the point of the phase plane dragged
        cases.append({"moved": "drag", "state": {**base, **spec["phase"]["drag_to"]}, "from": dict(base),
                      "drag": spec["phase"]["drag_to"]})
    return cases


# unit cases: every optimizer on every problem, every schedule with non-default arguments
_UNIT_PATHS = [
    ({"name": "quadratic", "kappa": 10.0, "h_min": 1.0, "angle": 0.0}, {"name": "gd", "lr": 0.15}, 40),
    ({"name": "quadratic", "kappa": 20.0, "h_min": 0.5, "angle": 0.7}, {"name": "sgd", "lr": 0.05, "momentum": 0.9}, 60),
    ({"name": "quadratic", "kappa": 20.0, "h_min": 0.5, "angle": 0.7},
     {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}, 60),
    ({"name": "quadratic", "kappa": 5.0, "h_min": 1.0, "angle": 0.0},
     {"name": "sgd", "lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1}, 40),
    ({"name": "quadratic_1d", "curvature": 2.0}, {"name": "gd", "lr": 1.2}, 80),
    ({"name": "rosenbrock"}, {"name": "sgd", "lr": 1e-3, "momentum": 0.9}, 200),
    ({"name": "rosenbrock"}, {"name": "adagrad", "lr": 0.5}, 200),
    ({"name": "rosenbrock"}, {"name": "adagrad", "lr": 0.5, "lr_decay": 0.01, "weight_decay": 0.01,
                              "initial_accumulator_value": 0.1, "eps": 1e-6}, 100),
    ({"name": "beale"}, {"name": "rmsprop", "lr": 0.01}, 200),
    ({"name": "beale"}, {"name": "rmsprop", "lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5,
                         "weight_decay": 0.01}, 100),
    ({"name": "saddle"}, {"name": "adam", "lr": 0.05}, 200),
    ({"name": "saddle"}, {"name": "adam", "lr": 0.05, "betas": [0.5, 0.9], "eps": 1e-3, "weight_decay": 0.1}, 100),
    ({"name": "quadratic", "kappa": 20.0, "h_min": 1.0, "angle": math.pi / 4},
     {"name": "adamw", "lr": 0.1, "weight_decay": 0.5}, 150),
    ({"name": "quadratic", "kappa": 10.0, "h_min": 1.0, "angle": 0.0}, {"name": "gd", "lr": 0.25}, 50),  # diverges
]
_UNIT_SCHEDULES = [
    ({"fn": "constant", "kwargs": {"learning_rate": 0.3}}, 5),
    ({"fn": "step_decay", "kwargs": {"initial_learning_rate": 0.1, "step_size": 7, "gamma": 0.3}}, 40),
    ({"fn": "multistep_decay", "kwargs": {"initial_learning_rate": 0.1, "milestones": [30, 10, 10], "gamma": 0.5}}, 40),
    ({"fn": "exponential_decay", "kwargs": {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.9}}, 40),
    ({"fn": "exponential_decay", "kwargs": {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.9,
                                            "staircase": True}}, 40),
    ({"fn": "inverse_time_decay", "kwargs": {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5,
                                             "staircase": True}}, 40),
    ({"fn": "polynomial_decay", "kwargs": {"initial_learning_rate": 0.1, "decay_steps": 12, "end_learning_rate": 0.01,
                                           "power": 2.5, "cycle": True}}, 40),
    ({"fn": "linear_decay", "kwargs": {"initial_learning_rate": 0.01, "total_steps": 25, "end_learning_rate": 0.1}}, 40),
    ({"fn": "cosine_decay", "kwargs": {"initial_learning_rate": 0.1, "decay_steps": 15, "min_learning_rate": 0.001,
                                       "periodic": True}}, 40),
    ({"fn": "cosine_with_warm_restarts", "kwargs": {"initial_learning_rate": 0.1, "T_0": 3, "T_mult": 2}}, 60),
    ({"fn": "cyclical", "kwargs": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "step_size_down": 6,
                                   "mode": "exp_range", "gamma": 0.97}}, 60),
    ({"fn": "cyclical", "kwargs": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "mode": "triangular2"}}, 60),
    ({"fn": "cyclical_momentum", "kwargs": {"step_size_up": 5, "mode": "triangular"}}, 30),
    ({"fn": "one_cycle", "kwargs": {"max_lr": 0.1, "total_steps": 50, "pct_start": 0.25, "anneal_strategy": "linear",
                                    "three_phase": True}}, 51),
    ({"fn": "one_cycle_momentum", "kwargs": {"total_steps": 50}}, 51),
    ({"fn": "random_lr", "kwargs": {"low": 0.01, "high": 0.1, "seed": 3}}, 30),
    ({"fn": "random_lr", "kwargs": {"low": 0.0, "high": 1.0, "seed": 2**40 + 5}}, 5),
    ({"fn": "warmup_stable_decay", "kwargs": {"learning_rate": 0.1, "warmup_steps": 5, "stable_steps": 10,
                                              "decay_steps": 20, "min_learning_rate": 0.01, "cooldown": "cosine"}}, 40),
    ({"fn": "warmup_stable_decay", "kwargs": {"learning_rate": 0.1, "warmup_steps": 0, "stable_steps": 3,
                                              "decay_steps": 7}}, 14),
    ({"fn": "linear_warmup", "kwargs": {"schedule": {"fn": "cosine_decay", "kwargs": {
        "initial_learning_rate": 0.1, "decay_steps": 30}}, "warmup_steps": 10, "start": 0.01, "shift": False}}, 45),
    ({"fn": "join_schedules", "kwargs": {"schedules": [
        {"fn": "constant", "kwargs": {"learning_rate": 0.1}},
        {"fn": "step_decay", "kwargs": {"initial_learning_rate": 0.05, "step_size": 5}},
        {"fn": "linear_decay", "kwargs": {"initial_learning_rate": 0.05, "total_steps": 10}}],
        "boundaries": [10, 25]}}, 45),
]


def _strip(spec: Mapping) -> dict:
    """The spec as the page gets it (JSON-safe: infinite/NaN values are not allowed)."""
    return json.loads(json.dumps(spec, allow_nan=False))


def fixtures() -> dict:
    """Reference numbers for the JavaScript, computed by lrbook (float64).

    ``figures[id]``: the spec and, for each of :func:`state_cases`, the state and the
    numbers :func:`compute` gives. ``paths`` and ``schedules``: unit cases for every
    optimizer, problem and schedule. JSON-safe (a diverged point is ``None``).
    """
    figures = {}
    for fid, spec in FIGURES.items():
        cases = [{**case, "expected": compute(spec, case["state"])} for case in state_cases(spec)]
        figures[fid] = {"spec": _strip(spec), "cases": cases}
    paths = [{"problem": p, "optimizer": o, "steps": n, "expected": run_path(p, o, n)} for p, o, n in _UNIT_PATHS]
    scheds = [{"schedule": s, "steps": n, "expected": schedule_values(s, n)} for s, n in _UNIT_SCHEDULES]
    return {"tolerance": 1e-10, "figures": figures, "paths": paths, "schedules": scheds,
            "momentum": _momentum_cases()}


def _momentum_cases() -> list[dict]:
    """Contraction factors and stability limits of heavy ball and Nesterov (lrbook.linear_dynamics)."""
    cases = []
    for nesterov in (False, True):
        for mu in (0.0, 0.3, 0.7, 0.9, 0.99):
            limit = float(linear_dynamics.stability_limit(mu, nesterov=nesterov))
            zs = [0.01, 0.3, 1.0, 1.2, 0.5 * limit, 0.99 * limit, 1.01 * limit, 3.9]
            rates = [float(linear_dynamics.momentum_contraction_factor(z, mu, nesterov=nesterov)) for z in zs]
            cases.append({"mu": mu, "nesterov": nesterov, "limit": limit, "z": zs, "r": rates})
    return cases


# ------------------------------------------------------------------------------ notebook output


def _static_png(spec: Mapping, state: Mapping, dpi: int = 110) -> bytes:
    """A PNG of the figure at ``state`` (drawn by matplotlib from lrbook's numbers)."""
    import matplotlib.pyplot as plt

    from lrbook import plotting

    data = compute(spec, state)
    if spec["kind"] == "trajectory":
        values = parameter_values(spec, state)
        first = _resolve(spec["series"][0], values)["problem"]
        problem = _PROBLEMS[first["name"]](**{k: v for k, v in first.items() if k != "name"})
        paths = {k: np.array([p if p is not None else [np.nan] * problem.dim for p in v]) for k, v in data.items()}
        if problem.dim == 1:
            fig, ax = plt.subplots(figsize=(6.4, 3.4))
            plotting.curve_trajectories(problem, paths, ax=ax)
            ax.set_xlabel(r"$\theta$")
            ax.set_ylabel(r"$f(\theta)$")
        else:
            if "phase" in spec:
                fig, (phase_ax, ax) = plt.subplots(1, 2, figsize=(10.5, 4.0), gridspec_kw={"width_ratios": [1, 1.3]})
                _draw_phase(spec, state, phase_ax)
            else:
                fig, ax = plt.subplots(figsize=(6.4, 3.8))
            plotting.contour_trajectories(problem, paths, ax=ax)
            ax.set_xlabel(r"$\theta_1$")
            ax.set_ylabel(r"$\theta_2$")
            ax.set_aspect("equal")
    else:
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        for key, vals in data.items():
            ax.plot(np.arange(len(vals)), vals, label=key)
        ax.set_xlabel("step $t$")
        momentum = any("momentum" in key for key in data)
        ax.set_ylabel(r"momentum $\mu_t$" if momentum else r"learning rate $\eta_t$")
        ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


def _draw_phase(spec: Mapping, state: Mapping, ax) -> None:
    """The (η·L, μ) plane: heavy ball's contraction factor r, Nesterov's stability limit dashed."""
    from matplotlib.colors import LinearSegmentedColormap

    phase = spec["phase"]
    cx = next(c for c in spec["controls"] if c["name"] == phase["x"])
    cy = next(c for c in spec["controls"] if c["name"] == phase["y"])
    kwargs = {k: v for k, v in phase["problem"].items() if k != "name"}
    curvatures = np.array([kwargs["h_min"] / (kwargs["kappa"] * kwargs["h_min"]), 1.0])  # h / L
    eta_l = np.linspace(cx["min"], cx["max"], 240)
    mu = np.linspace(cy["min"], cy["max"], 200)
    grid_e, grid_mu = np.meshgrid(eta_l, mu)
    r = np.max([linear_dynamics.momentum_contraction_factor(grid_e * h, grid_mu) for h in curvatures], axis=0)
    # the page's colours: hsl(210, 70 %, 35 + 60 r %), grey where r >= 1
    blues = LinearSegmentedColormap.from_list("r", ["#1b5e9e", "#dde9f6"]).with_extremes(over="#e8e8e8")
    mesh = ax.pcolormesh(grid_e, grid_mu, r, cmap=blues, vmin=0.0, vmax=1.0 - 1e-12, shading="auto", rasterized=True)
    ax.plot(linear_dynamics.stability_limit(mu, nesterov=True), mu, "k--", lw=1.8, label="Nesterov's stability limit")
    ax.plot(state[phase["x"]], state[phase["y"]], "o", color="#d62728", markeredgecolor="white", markersize=10)
    ax.set_xlim(cx["min"], cx["max"])
    ax.set_ylim(cy["min"], cy["max"])
    ax.set_xlabel(r"$\eta L$")
    ax.set_ylabel(r"$\mu$")
    ax.grid(False)
    ax.legend(loc="lower left", fontsize=9, frameon=True)
    bar = ax.figure.colorbar(mesh, ax=ax, extend="max", fraction=0.06, pad=0.03)
    bar.set_label("heavy ball's $r$ (grey: $r \\geq 1$)")


class LiveFigure:
    """A live figure as a notebook output: HTML (the live figure) and PNG (the static fallback)."""

    def __init__(self, spec: Mapping, alt: str) -> None:
        self.spec = copy.deepcopy(dict(spec))
        self.alt = alt
        self.png = _static_png(self.spec, default_state(self.spec))

    def _repr_mimebundle_(self, include=None, exclude=None):
        b64 = base64.b64encode(self.png).decode()
        spec_json = html.escape(json.dumps(_strip(self.spec)), quote=True)
        alt = html.escape(self.alt, quote=True)
        markup = (
            f'<div class="lrbook-live" data-lrbook-live="{spec_json}">'
            f'<img class="lrbook-live-static" src="data:image/png;base64,{b64}" alt="{alt}">'
            '<p class="lrbook-live-note">A picture of the default setting. In the HTML book, with JavaScript '
            "on, this figure is live: its sliders recompute it in your browser.</p></div>"
        )
        return {"text/html": markup, "image/png": b64, "text/plain": f"<live figure {self.spec['id']}>"}


def figure(figure_id: str, alt: str | None = None) -> LiveFigure:
    """The live figure ``figure_id`` (a key of ``FIGURES``) for a notebook cell.

    ``alt``: the text alternative of the static image (default: the figure's description).
    """
    if figure_id not in FIGURES:
        raise ValueError(f"figure_id must be one of {sorted(FIGURES)}, got {figure_id!r}")
    spec = FIGURES[figure_id]
    return LiveFigure(spec, alt or spec["aria"])
