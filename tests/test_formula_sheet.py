"""The forms printed on book/formula_sheet.md, written out in NumPy, against torch.

Each optimizer rule below is the "torch's exact form" of the formula sheet,
transcribed line by line; it must reproduce ``torch.optim`` in float64 over 40
noisy steps with L2-style extra gradient. The schedule rules are the sheet's
closed forms and per-step (recursive) forms, against ``torch.optim.lr_scheduler``.
The remaining tests check the sheet's other stated facts (Adafactor's factored form,
RAdam's threshold at the default beta2, RMSprop's first step, CyclicLR's formula and
momentum, OneCycleLR's end points, ReduceLROnPlateau's patience, LinearLR and SequentialLR).
If a formula on the page changes, change it here too.
"""

import math

import numpy as np
import pytest
import torch

import lrbook.optim.keras

pytestmark = pytest.mark.usefixtures("float64_default")

N, T = 7, 40
_rng = np.random.default_rng(0)
TH0 = _rng.normal(size=N)
GRADS = _rng.normal(size=(T, N)) * _rng.uniform(0.1, 3, size=N)
B1, B2, EPS, ETA, LAM = 0.9, 0.99, 1e-3, 0.02, 0.1


def _grad(t, theta):
    return GRADS[t] + 0.3 * theta


def run_torch(make):
    p = torch.tensor(TH0.copy(), requires_grad=True)
    opt = make([p])
    out = []
    for t in range(T):
        p.grad = torch.tensor(_grad(t, p.detach().numpy()))
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def run_sheet(step):
    theta, state, out = TH0.copy(), {}, []
    for t in range(1, T + 1):
        theta = step(theta, _grad(t - 1, theta), t, state)
        out.append(theta.copy())
    return np.array(out)


def rel_diff(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def sgd_form(eta, mu, tau, lam, nesterov):
    def step(th, g, t, s):
        g = g + lam * th
        s["b"] = g.copy() if t == 1 else mu * s["b"] + (1 - tau) * g
        return th - eta * (g + mu * s["b"] if nesterov else s["b"])
    return step


def adagrad_form(eta, delta, G0, eps, lam):
    def step(th, g, t, s):
        g = g + lam * th
        s["G"] = s.get("G", G0) + g * g
        return th - eta / (1 + (t - 1) * delta) * g / (np.sqrt(s["G"]) + eps)
    return step


def rmsprop_form(eta, alpha, eps, mu, centered):
    def step(th, g, t, s):
        s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
        if centered:
            s["gbar"] = alpha * s.get("gbar", 0) + (1 - alpha) * g
            D = np.sqrt(s["v"] - s["gbar"] ** 2) + eps
        else:
            D = np.sqrt(s["v"]) + eps
        if mu > 0:
            s["b"] = mu * s.get("b", 0) + g / D
            return th - eta * s["b"]
        return th - eta * g / D
    return step


def adadelta_form(eta, rho, eps):
    def step(th, g, t, s):
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
        delta = -np.sqrt(s.get("s", 0) + eps) / np.sqrt(s["v"] + eps) * g
        s["s"] = rho * s.get("s", 0) + (1 - rho) * delta * delta
        return th + eta * delta
    return step


def adam_form(decoupled, amsgrad):
    def step(th, g, t, s):
        if decoupled:
            th = th * (1 - ETA * LAM)
        else:
            g = g + LAM * th
        s["m"] = B1 * s.get("m", 0) + (1 - B1) * g
        s["v"] = B2 * s.get("v", 0) + (1 - B2) * g * g
        v = s["v"]
        if amsgrad:
            s["vbar"] = np.maximum(s.get("vbar", 0), s["v"])  # raw v
            v = s["vbar"]
        m_hat, v_hat = s["m"] / (1 - B1**t), v / (1 - B2**t)
        return th - ETA * m_hat / (np.sqrt(v_hat) + EPS)
    return step


def adamax_form(th, g, t, s):
    s["m"] = B1 * s.get("m", 0) + (1 - B1) * g
    s["u"] = np.maximum(B2 * s.get("u", 0), np.abs(g) + EPS)  # eps inside the max
    return th - ETA / (1 - B1**t) * s["m"] / s["u"]


def nadam_form(th, g, t, s, psi=4e-3):
    mu_t, mu_next = B1 * (1 - 0.5 * 0.96 ** (t * psi)), B1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
    s["Pi"] = s.get("Pi", 1.0) * mu_t
    s["m"] = B1 * s.get("m", 0) + (1 - B1) * g
    s["v"] = B2 * s.get("v", 0) + (1 - B2) * g * g
    D = np.sqrt(s["v"] / (1 - B2**t)) + EPS
    return (th - ETA * (1 - mu_t) / (1 - s["Pi"]) * g / D
            - ETA * mu_next / (1 - s["Pi"] * mu_next) * s["m"] / D)


def radam_form(th, g, t, s):
    s["m"] = B1 * s.get("m", 0) + (1 - B1) * g
    s["v"] = B2 * s.get("v", 0) + (1 - B2) * g * g
    m_hat = s["m"] / (1 - B1**t)
    l_inf = 2 / (1 - B2) - 1
    l_t = l_inf - 2 * t * B2**t / (1 - B2**t)
    if l_t > 5:
        r = math.sqrt((l_t - 4) * (l_t - 2) * l_inf / ((l_inf - 4) * (l_inf - 2) * l_t))
        return th - ETA * r * m_hat * math.sqrt(1 - B2**t) / (np.sqrt(s["v"]) + EPS)  # raw sqrt(v)
    return th - ETA * m_hat


def efficient_adam_form(eta, eps_hat):
    """Kingma & Ba's "efficient" form: bias corrections in the rate, eps on raw sqrt(v) (Keras, SparseAdam)."""
    def step(th, g, t, s):
        s["m"] = B1 * s.get("m", 0) + (1 - B1) * g
        s["v"] = B2 * s.get("v", 0) + (1 - B2) * g * g
        return th - eta * math.sqrt(1 - B2**t) / (1 - B1**t) * s["m"] / (np.sqrt(s["v"]) + eps_hat)
    return step


CASES = {
    "SGD dampening": (sgd_form(0.05, 0.9, 0.3, 0.01, False),
                      lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    "SGD nesterov": (sgd_form(0.05, 0.9, 0.0, 0.01, True),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True)),
    "Adagrad": (adagrad_form(0.3, 0.05, 0.2, 1e-3, 0.01),
                lambda p: torch.optim.Adagrad(p, lr=0.3, lr_decay=0.05, initial_accumulator_value=0.2,
                                              eps=1e-3, weight_decay=0.01)),
    "RMSprop": (rmsprop_form(0.01, 0.9, 1e-4, 0.0, False),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-4)),
    "RMSprop centered momentum": (rmsprop_form(0.01, 0.9, 1e-4, 0.5, True),
                                  lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-4, momentum=0.5,
                                                                centered=True)),
    "Adadelta": (adadelta_form(0.7, 0.9, 1e-6), lambda p: torch.optim.Adadelta(p, lr=0.7, rho=0.9, eps=1e-6)),
    "Adam L2": (adam_form(False, False),
                lambda p: torch.optim.Adam(p, lr=ETA, betas=(B1, B2), eps=EPS, weight_decay=LAM)),
    "AdamW": (adam_form(True, False),
              lambda p: torch.optim.AdamW(p, lr=ETA, betas=(B1, B2), eps=EPS, weight_decay=LAM)),
    "AMSGrad": (adam_form(False, True),
                lambda p: torch.optim.Adam(p, lr=ETA, betas=(B1, B2), eps=EPS, weight_decay=LAM, amsgrad=True)),
    "Adamax": (adamax_form, lambda p: torch.optim.Adamax(p, lr=ETA, betas=(B1, B2), eps=EPS)),
    "NAdam": (nadam_form, lambda p: torch.optim.NAdam(p, lr=ETA, betas=(B1, B2), eps=EPS)),
    "RAdam": (radam_form, lambda p: torch.optim.RAdam(p, lr=ETA, betas=(B1, B2), eps=EPS)),
    "Keras Adam": (efficient_adam_form(ETA, EPS),
                   lambda p: lrbook.optim.keras.Adam(p, learning_rate=ETA, beta_1=B1, beta_2=B2, epsilon=EPS)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_optimizer_form_matches_torch(name):
    form, make = CASES[name]
    assert rel_diff(run_sheet(form), run_torch(make)) < 1e-12


def test_sparse_adam_form_matches_torch():
    p = torch.tensor(TH0.copy(), requires_grad=True)
    opt = torch.optim.SparseAdam([p], lr=ETA, betas=(B1, B2), eps=EPS)
    out = []
    for t in range(T):
        p.grad = torch.tensor(GRADS[t]).to_sparse()
        opt.step()
        out.append(p.detach().numpy().copy())
    theta, state, sheet = TH0.copy(), {}, []
    for t in range(1, T + 1):
        theta = efficient_adam_form(ETA, EPS)(theta, GRADS[t - 1], t, state)
        sheet.append(theta.copy())
    assert rel_diff(np.array(sheet), np.array(out)) < 1e-12


def test_adam_and_keras_forms_differ_with_the_same_eps():
    """The sheet's point: same eps, different placement, different updates."""
    assert rel_diff(run_sheet(efficient_adam_form(ETA, EPS)), run_sheet(adam_form(False, False))) > 1e-6


def _torch_lrs(make_scheduler, steps=25):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sched = make_scheduler(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return np.array(lrs)


def _recursive(first, rule, steps=25):
    """Apply the sheet's per-step rule eta <- rule(eta, t) for t = 1, 2, ..."""
    lrs = [first]
    for t in range(1, steps + 1):
        lrs.append(rule(lrs[-1], t))
    return np.array(lrs)


S, E, TT, P, GAMMA = 0.25, 1.0, 10, 2.0, 0.8
SCHEDULES = {
    "StepLR": (lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=GAMMA),
               lambda t: 0.5 * GAMMA ** (t // 4),
               (0.5, lambda lr, t: lr * GAMMA if t % 4 == 0 else lr)),
    "ExponentialLR": (lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=GAMMA),
                      lambda t: 0.5 * GAMMA**t, (0.5, lambda lr, t: lr * GAMMA)),
    "PolynomialLR": (lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=TT, power=P),
                     lambda t: 0.5 * (1 - min(t, TT) / TT) ** P,
                     (0.5, lambda lr, t: lr * ((1 - t / TT) / (1 - (t - 1) / TT)) ** P if t <= TT else lr)),
    "LinearLR": (lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=S, end_factor=E, total_iters=TT),
                 lambda t: 0.5 * (S + (E - S) * min(t, TT) / TT),
                 (0.5 * S, lambda lr, t: lr * (1 + (E - S) / (TT * S + (t - 1) * (E - S))) if t <= TT else lr)),
    "ConstantLR": (lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=S, total_iters=TT),
                   lambda t: 0.5 * S if t < TT else 0.5, (0.5 * S, lambda lr, t: lr / S if t == TT else lr)),
    "CosineAnnealingLR": (lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=TT, eta_min=0.05),
                          lambda t: 0.05 + (0.5 - 0.05) * (1 + math.cos(math.pi * t / TT)) / 2,  # periodic: no min(t, T)
                          None),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_forms_match_torch(name):
    make, closed, recursive = SCHEDULES[name]
    reference = _torch_lrs(make)
    assert np.allclose([closed(t) for t in range(len(reference))], reference, rtol=1e-12, atol=0)
    if recursive is not None:
        assert np.allclose(_recursive(*recursive), reference, rtol=1e-12, atol=0)


def test_cosine_annealing_is_periodic_in_torch():
    lrs = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=TT), steps=2 * TT)
    assert lrs[TT] < 1e-12 and abs(lrs[2 * TT] - 0.5) < 1e-12


def adafactor_form(eta, lam, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0):
    """The sheet's torch Adafactor form for one matrix (no first moment)."""
    eps1 = np.finfo(np.float64).eps if eps1 is None else eps1

    def step(th, g, t, s):
        beta_hat = 1 - t**beta2_decay
        eta_rel = min(eta, 1 / math.sqrt(t))
        eta_abs = max(eps2, math.sqrt(np.mean(th**2))) * eta_rel  # RMS(θ_{t-1}), before the decay
        th = (1 - eta * lam) * th  # decoupled decay
        R = beta_hat * s.get("R", 0) + (1 - beta_hat) * np.mean(g * g, axis=1, keepdims=True)
        C = beta_hat * s.get("C", 0) + (1 - beta_hat) * np.mean(g * g, axis=0, keepdims=True)
        s["R"], s["C"] = R, C
        V = R @ C / max(np.mean(R), eps1)
        U = g / np.sqrt(np.maximum(V, eps1**2))
        return th - eta_abs * U / max(1.0, math.sqrt(np.mean(U**2)) / d)
    return step


def test_adafactor_form_matches_torch():
    shape, eta, lam = (3, 4), 0.05, 0.1
    rng = np.random.default_rng(1)
    th0, grads = rng.normal(size=shape), rng.normal(size=(T, *shape)) * rng.uniform(0.1, 3, size=shape)
    p = torch.tensor(th0.copy(), requires_grad=True)
    opt = torch.optim.Adafactor([p], lr=eta, weight_decay=lam)
    form, theta, state, sheet, out = adafactor_form(eta, lam), th0.copy(), {}, [], []
    for t in range(1, T + 1):
        p.grad = torch.tensor(grads[t - 1] + 0.3 * p.detach().numpy())
        opt.step()
        out.append(p.detach().numpy().copy())
        theta = form(theta, grads[t - 1] + 0.3 * theta, t, state)
        sheet.append(theta.copy())
    assert rel_diff(np.array(sheet), np.array(out)) < 1e-12


def test_radam_first_five_steps_are_not_adapted_at_default_beta2():
    b2 = 0.999
    l_inf = 2 / (1 - b2) - 1
    ell = [l_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, 8)]
    assert [t for t, l_t in enumerate(ell, 1) if l_t > 5][0] == 6  # torch's threshold
    assert [t for t, l_t in enumerate(ell, 1) if l_t >= 5][0] == 6  # the authors' code: same steps
    assert [t for t, l_t in enumerate(ell, 1) if l_t > 4][0] == 5  # the paper's threshold: one step earlier


def test_rmsprop_first_step_is_ten_times_the_rate():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=1e-3, alpha=0.99, eps=0.0)
    p.grad = torch.tensor([0.3])
    opt.step()
    assert abs(-p.item() / 1e-3 - 1 / math.sqrt(1 - 0.99)) < 1e-9


def test_multistep_counts_repeated_milestones():
    lrs = _torch_lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7, 7], gamma=GAMMA), steps=10)
    closed = [0.5 * GAMMA ** sum(m <= t for m in (3, 7, 7)) for t in range(11)]
    assert np.allclose(lrs, closed, rtol=1e-12, atol=0)


def test_cyclic_triangular_formula_and_momentum_switched_on():
    lo, hi, T_up = 0.1, 0.5, 4
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)  # momentum=0
    sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=lo, max_lr=hi, step_size_up=T_up)
    assert opt.param_groups[0]["momentum"] == 0.9  # switched on by cycle_momentum=True
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(20):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    n = [math.floor(1 + t / (2 * T_up)) for t in range(21)]
    sheet = [lo + (hi - lo) * max(0.0, 1 - abs(t / T_up - 2 * n[t] + 1)) for t in range(21)]
    assert np.allclose(lrs, sheet, rtol=1e-12, atol=1e-15)


def test_one_cycle_end_points():
    total, eta_max = 20, 0.5
    lrs = _torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=eta_max, total_steps=total),
                     steps=total - 1)
    assert abs(lrs[0] - eta_max / 25) < 1e-15
    assert abs(lrs[int(0.3 * total) - 1] - eta_max) < 1e-15 and lrs.max() == lrs[int(0.3 * total) - 1]
    assert abs(lrs[total - 1] - eta_max / (25 * 1e4)) < 1e-15


def test_plateau_cuts_on_patience_plus_one_bad_epoch():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0]:
        sched.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5]  # bad epochs 1, 2 kept; the 3rd (patience + 1) cuts


def test_linear_warmup_cannot_start_at_zero():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError):
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.0, total_iters=5)


def test_nesterov_requires_momentum_and_zero_dampening():
    params = [torch.zeros(1, requires_grad=True)]
    for kwargs in (dict(momentum=0.0), dict(momentum=0.9, dampening=0.1)):
        with pytest.raises(ValueError):
            torch.optim.SGD(params, lr=0.1, nesterov=True, **kwargs)


def test_sequential_lr_restarts_the_next_scheduler_at_its_step_0():
    warm, total = 3, 10
    lrs = _torch_lrs(lambda o: torch.optim.lr_scheduler.SequentialLR(
        o, [torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=warm),
            torch.optim.lr_scheduler.ExponentialLR(o, gamma=GAMMA)], milestones=[warm]), steps=total)
    assert np.allclose(lrs[warm:], [0.5 * GAMMA ** (t - warm) for t in range(warm, total + 1)], rtol=1e-12)
