"""float64 parity of lrbook.optim with torch.optim (rtol 1e-12 after 200 noisy steps).

Both run the same problem with the same seeded gradient noise; each parameter
tensor is compared relative to its largest magnitude (SEMANTICS §0.2). The
default dtype is float64 during these tests, so step counters and NAdam's
``mu_product`` are float64 in both implementations.
"""

from __future__ import annotations

import pytest
import torch
from test_optim_helpers import grouped, make_params, max_rel_diff, run

import lrbook.optim as lo

RTOL = 1e-12


pytestmark = pytest.mark.usefixtures("float64_default")


T = torch.optim
CASES = [
    # (lrbook class, torch class, kwargs)
    (lo.GradientDescent, T.SGD, dict(lr=0.01)),
    (lo.GradientDescent, T.SGD, dict(lr=0.01, maximize=True)),
    (lo.SGD, T.SGD, dict(lr=0.01)),
    (lo.SGD, T.SGD, dict(lr=0.01, momentum=0.9)),
    (lo.SGD, T.SGD, dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (lo.SGD, T.SGD, dict(lr=0.01, momentum=0.8, dampening=0.5, weight_decay=0.05)),
    (lo.SGD, T.SGD, dict(lr=0.01, momentum=0.9, maximize=True, weight_decay=0.1)),
    (lo.SGD, T.SGD, dict(lr=torch.tensor(0.01), momentum=0.9)),
    (lo.Adagrad, T.Adagrad, dict(lr=0.1)),
    (lo.Adagrad, T.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    (lo.Adagrad, T.Adagrad, dict(lr=0.1, eps=1e-3, maximize=True)),
    (lo.RMSprop, T.RMSprop, dict(lr=0.01)),
    (lo.RMSprop, T.RMSprop, dict(lr=0.01, centered=True, momentum=0.9)),
    (lo.RMSprop, T.RMSprop, dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5, eps=1e-4)),
    (lo.RMSprop, T.RMSprop, dict(lr=0.01, centered=True, maximize=True)),
    (lo.Adadelta, T.Adadelta, dict()),
    (lo.Adadelta, T.Adadelta, dict(lr=0.5, rho=0.95, weight_decay=0.1, eps=1e-5)),
    (lo.Adadelta, T.Adadelta, dict(maximize=True)),
    (lo.Adam, T.Adam, dict(lr=0.01)),
    (lo.Adam, T.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (lo.Adam, T.Adam, dict(lr=0.01, betas=(0.5, 0.6), amsgrad=True)),  # v decreases: max matters
    (lo.Adam, T.Adam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (lo.Adam, T.Adam, dict(lr=0.01, maximize=True, eps=1e-3)),
    (lo.Adam, T.Adam, dict(lr=torch.tensor(0.01))),
    (lo.AdamW, T.AdamW, dict(lr=0.01)),
    (lo.AdamW, T.AdamW, dict(lr=0.01, amsgrad=True, weight_decay=0.2)),
    (lo.Adamax, T.Adamax, dict(lr=0.01)),
    (lo.Adamax, T.Adamax, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    (lo.Adamax, T.Adamax, dict(lr=0.01, maximize=True)),
    (lo.NAdam, T.NAdam, dict(lr=0.01)),
    (lo.NAdam, T.NAdam, dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    (lo.NAdam, T.NAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (lo.NAdam, T.NAdam, dict(lr=0.01, maximize=True)),
    (lo.RAdam, T.RAdam, dict(lr=0.01)),
    (lo.RAdam, T.RAdam, dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),
    (lo.RAdam, T.RAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (lo.RAdam, T.RAdam, dict(lr=0.01, maximize=True)),
    (lo.Adafactor, T.Adafactor, dict(lr=0.01)),
    (lo.Adafactor, T.Adafactor, dict(lr=0.05, weight_decay=0.1, d=2.0)),
    (lo.Adafactor, T.Adafactor, dict(lr=0.01, eps=(1e-20, 1e-3), beta2_decay=-0.5, maximize=True)),
]


def _id(case):
    cls, _, kw = case
    args = ",".join(f"{k}={'T' if isinstance(v, torch.Tensor) else v}" for k, v in kw.items())
    return f"{cls.__name__}({args})"


def _check_parity(case, problem):
    ours, theirs, kw = case
    sign = -1.0 if kw.get("maximize") else 1.0  # maximize(-f) has a maximum
    a, _ = run(lambda p: ours(p, **kw), problem, sign=sign)
    b, _ = run(lambda p: theirs(p, **kw), problem, sign=sign)
    assert max_rel_diff(a, b) <= RTOL
    assert max_rel_diff(b[:4], make_params(problem)[:4]) > 1e-6  # the comparison is not vacuous


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_float64_parity_mlp(case):
    """Every argument combination on a small MLP (5 tensors, one never gets a gradient)."""
    _check_parity(case, "mlp")


FIRST_CASE = {}
for _c in CASES:
    FIRST_CASE.setdefault(_c[0], _c)


@pytest.mark.parametrize("problem", ["quadratic", "nonconvex"])
@pytest.mark.parametrize("case", list(FIRST_CASE.values()), ids=[c[0].__name__ for c in FIRST_CASE.values()])
def test_float64_parity_problems(case, problem):
    """Each optimizer on an ill-conditioned quadratic (kappa 100) and a nonconvex function."""
    _check_parity(case, problem)


GROUP_CASES = [
    (lo.SGD, T.SGD, dict(lr=0.01, momentum=0.9), dict(lr=0.05, nesterov=True, momentum=0.5)),
    (lo.Adam, T.Adam, dict(lr=0.01), dict(lr=0.003, amsgrad=True, weight_decay=0.1)),
    (lo.RMSprop, T.RMSprop, dict(lr=0.01, centered=True), dict(lr=0.002, momentum=0.9)),
    (lo.Adagrad, T.Adagrad, dict(lr=0.1, initial_accumulator_value=3.0), dict(lr=0.05, lr_decay=0.1)),
    (lo.NAdam, T.NAdam, dict(lr=0.01), dict(lr=0.004, decoupled_weight_decay=True, weight_decay=0.1)),
    (lo.RAdam, T.RAdam, dict(lr=0.01), dict(lr=0.02, betas=(0.8, 0.9))),
    (lo.Adamax, T.Adamax, dict(lr=0.01), dict(lr=0.02, weight_decay=0.1)),
    (lo.Adadelta, T.Adadelta, dict(lr=1.0), dict(lr=0.3, rho=0.5)),
    (lo.Adafactor, T.Adafactor, dict(lr=0.01), dict(lr=0.02, d=1.5)),
]


@pytest.mark.parametrize("case", GROUP_CASES, ids=[c[0].__name__ for c in GROUP_CASES])
def test_two_param_groups(case):
    ours, theirs, kw_a, kw_b = case
    a, opt_a = run(lambda p: ours(grouped(p, kw_a, kw_b), lr=0.01), "mlp")
    b, opt_b = run(lambda p: theirs(grouped(p, kw_a, kw_b), lr=0.01), "mlp")
    assert max_rel_diff(a, b) <= RTOL
    # the never-used parameter (grad None) has no state and did not move
    unused = opt_b.param_groups[1]["params"][-1]
    assert unused not in opt_a.state or not opt_a.state[unused] or ours is lo.Adagrad


COMPLEX_CASES = [
    (lo.SGD, T.SGD, dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    (lo.Adagrad, T.Adagrad, dict(lr=0.1, initial_accumulator_value=0.2)),
    (lo.RMSprop, T.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
    (lo.Adadelta, T.Adadelta, dict(weight_decay=0.1)),
    (lo.Adam, T.Adam, dict(lr=0.01, amsgrad=True)),
    (lo.AdamW, T.AdamW, dict(lr=0.01)),
    (lo.Adamax, T.Adamax, dict(lr=0.01)),
    (lo.NAdam, T.NAdam, dict(lr=0.01, weight_decay=0.1)),
    (lo.RAdam, T.RAdam, dict(lr=0.01)),
]


@pytest.mark.parametrize("case", COMPLEX_CASES, ids=[c[0].__name__ for c in COMPLEX_CASES])
def test_complex_params(case):
    ours, theirs, kw = case
    a, _ = run(lambda p: ours(p, **kw), "complex")
    b, _ = run(lambda p: theirs(p, **kw), "complex")
    assert max_rel_diff([torch.view_as_real(x) for x in a], [torch.view_as_real(x) for x in b]) <= RTOL


def test_complex_equals_real_view():
    """Real and imaginary parts are independent coordinates (Adam's v per component)."""
    z = torch.tensor([1.0 + 2.0j, -0.5 + 0.1j], requires_grad=True)
    r = torch.view_as_real(z.detach().clone()).clone().requires_grad_(True)
    oz, orl = lo.Adam([z], lr=0.1), lo.Adam([r], lr=0.1)
    for i in range(20):
        gz = torch.tensor([0.3 - 1.0j, 2.0 + 0.5j]) * (i + 1) ** 0.5
        z.grad, r.grad = gz.clone(), torch.view_as_real(gz).clone()
        oz.step()
        orl.step()
    assert torch.equal(torch.view_as_real(z.detach()), r.detach())


@pytest.mark.parametrize("cls_name", ["SGD", "Adam", "RMSprop", "Adagrad", "NAdam", "Adamax"])
def test_float32_close(cls_name):
    torch.set_default_dtype(torch.float32)
    kw = dict(lr=0.01)
    a, _ = run(lambda p: getattr(lo, cls_name)(p, **kw), "mlp", dtype=torch.float32)
    b, _ = run(lambda p: getattr(T, cls_name)(p, **kw), "mlp", dtype=torch.float32)
    assert all(x.dtype == torch.float32 for x in a)
    assert max_rel_diff(a, b) <= 1e-5


def _sparse_run(make_opt, steps=60, weight_decay_ok=True):
    torch.manual_seed(0)
    emb = torch.randn(20, 4, requires_grad=True)
    opt = make_opt([emb])
    gen = torch.Generator().manual_seed(3)
    for _ in range(steps):
        rows = torch.randint(0, 20, (6,), generator=gen)  # repeated rows: coalescing matters
        vals = torch.randn(6, 4, generator=gen) + emb.detach()[rows]
        emb.grad = torch.sparse_coo_tensor(rows.unsqueeze(0), vals, (20, 4))
        opt.step()
    return emb.detach().clone()


@pytest.mark.parametrize(
    "ours,theirs,kw",
    [
        (lo.SGD, T.SGD, dict(lr=0.05)),
        (lo.SGD, T.SGD, dict(lr=0.05, momentum=0.9)),
        (lo.Adagrad, T.Adagrad, dict(lr=0.1, lr_decay=0.01)),
        (lo.Adagrad, T.Adagrad, dict(lr=0.1, maximize=True)),
        (lo.SparseAdam, T.SparseAdam, dict(lr=0.05)),
        (lo.SparseAdam, T.SparseAdam, dict(lr=0.05, betas=(0.8, 0.9), maximize=True)),
    ],
    ids=["SGD", "SGD-momentum", "Adagrad", "Adagrad-maximize", "SparseAdam", "SparseAdam-maximize"],
)
def test_sparse_gradients(ours, theirs, kw):
    a = _sparse_run(lambda p: ours(p, **kw))
    b = _sparse_run(lambda p: theirs(p, **kw))
    assert max_rel_diff([a], [b]) <= RTOL
    assert not torch.equal(b, _sparse_run(lambda p: theirs(p, **kw), steps=0))


def test_zero_grad_is_a_real_step():
    """A zero gradient moves AdamW (decay) and SGD-with-momentum; None moves nothing."""
    for ours, kw in [(lo.AdamW, dict(lr=0.1)), (lo.SGD, dict(lr=0.1, momentum=0.9))]:
        x = torch.ones(3, requires_grad=True)
        opt = ours([x], **kw)
        x.grad = torch.ones(3)
        opt.step()
        before = x.detach().clone()
        x.grad = torch.zeros(3)
        opt.step()
        assert not torch.equal(x.detach(), before)
        x.grad = None
        before = x.detach().clone()
        opt.step()
        assert torch.equal(x.detach(), before)


def test_independent_step_counters():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    opt = lo.Adam([a, b], lr=0.1)
    b.grad = torch.ones(2)
    opt.step()
    a.grad = torch.ones(2)
    opt.step()
    assert opt.state[a]["step"].item() == 1.0 and opt.state[b]["step"].item() == 2.0
    ref = T.Adam([x := torch.ones(2, requires_grad=True), y := torch.ones(2, requires_grad=True)], lr=0.1)
    y.grad = torch.ones(2)
    ref.step()
    x.grad = torch.ones(2)
    ref.step()
    assert torch.equal(a.detach(), x.detach()) and torch.equal(b.detach(), y.detach())


def test_sgd_first_buffer_ignores_dampening():
    x = torch.zeros(1, requires_grad=True)
    opt = lo.SGD([x], lr=1.0, momentum=0.9, dampening=0.5)
    x.grad = torch.tensor([2.0])
    opt.step()
    assert opt.state[x]["momentum_buffer"].item() == 2.0
    opt.step()
    assert opt.state[x]["momentum_buffer"].item() == pytest.approx(0.9 * 2 + 0.5 * 2, rel=1e-15)


def test_radam_first_five_steps_are_momentum_steps():
    x = torch.zeros(3, requires_grad=True)
    y = torch.zeros(3, requires_grad=True)
    radam, sgdlike = lo.RAdam([x], lr=0.1), []
    m = torch.zeros(3)
    gen = torch.Generator().manual_seed(0)
    for t in range(1, 7):
        g = torch.randn(3, generator=gen)
        x.grad = g.clone()
        before = x.detach().clone()
        radam.step()
        m = 0.9 * m + 0.1 * g
        sgdlike.append(torch.allclose(x.detach(), before - 0.1 * m / (1 - 0.9**t), rtol=1e-12, atol=1e-15))
    assert sgdlike == [True] * 5 + [False]
    del y


def test_closure_returns_loss_and_enables_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = lo.Adam([x], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (x**2).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0 and x.grad is not None


def test_torch_scheduler_drives_lrbook_optimizer():
    x = torch.ones(2, requires_grad=True)
    opt = lo.SGD([x], lr=1.0)
    sched = T.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        x.grad = torch.ones(2)
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]
