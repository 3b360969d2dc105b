"""Checkpoint/resume of lrbook.optim: state_dict round trips are exact (==),
also through torch.save/torch.load(weights_only=True), and interchangeable with
torch.optim's state dicts. Lookahead against its definition."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from test_optim_helpers import loss_fn, make_params

import lrbook.optim as lo

T = torch.optim

OPTIMIZERS = [
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adadelta", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
    ("Adafactor", dict(lr=0.01)),
]


def _steps(params, opt, n, seed):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(n):
        opt.zero_grad()
        loss_fn("mlp", params).backward()
        for q in params:
            if q.grad is not None:
                q.grad.add_(0.05 * torch.randn(q.shape, generator=gen, dtype=q.dtype))
        opt.step()


def _roundtrip(sd):
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


@pytest.mark.parametrize("via_file", [False, True], ids=["in-memory", "torch.save"])
@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_resume_is_exact(name, kw, via_file):
    # float64 default dtype: otherwise NAdam's float32 mu_product is cast to the
    # float64 param dtype by load_state_dict (torch does the same; see below)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _resume(name, kw, via_file)
    finally:
        torch.set_default_dtype(old)


def test_nadam_mu_product_dtype_after_load_matches_torch():
    """load_state_dict casts NAdam's mu_product to the param dtype, in torch and here."""
    dtypes = []
    for mod in (T, lo):
        p = [torch.zeros(2, dtype=torch.float64, requires_grad=True)]
        opt = mod.NAdam(p)
        p[0].grad = torch.ones(2, dtype=torch.float64)
        opt.step()
        before = opt.state[p[0]]["mu_product"].dtype
        opt.load_state_dict(opt.state_dict())
        dtypes.append((before, opt.state[p[0]]["mu_product"].dtype))
    assert dtypes[0] == dtypes[1]


def _resume(name, kw, via_file):
    cls = getattr(lo, name)
    full = make_params("mlp")
    opt = cls(full, **kw)
    _steps(full, opt, 7, seed=1)
    _steps(full, opt, 5, seed=2)

    first = make_params("mlp")
    opt1 = cls(first, **kw)
    _steps(first, opt1, 7, seed=1)
    sd = copy.deepcopy(opt1.state_dict())
    if via_file:
        sd = _roundtrip(sd)
    resumed = [q.detach().clone().requires_grad_(True) for q in first]
    opt2 = cls(resumed, **kw)
    opt2.load_state_dict(sd)
    _steps(resumed, opt2, 5, seed=2)
    for a, b in zip(resumed, full, strict=True):
        assert torch.equal(a.detach(), b.detach())
    step = opt2.state[resumed[0]].get("step")
    if step is not None:
        assert isinstance(step, torch.Tensor) and step.dim() == 0 and step.item() == 12.0


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_state_dict_interchangeable_with_torch(name, kw):
    """Same layout as torch's; a torch checkpoint continues identically in lrbook."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        pt, pl = make_params("mlp"), make_params("mlp")
        ot, ol = getattr(T, name)(pt, **kw), getattr(lo, name)(pl, **kw)
        _steps(pt, ot, 6, seed=3)
        _steps(pl, ol, 6, seed=3)
        st, sl = ot.state_dict(), ol.state_dict()
        assert st["param_groups"] == sl["param_groups"]
        assert st["state"].keys() == sl["state"].keys()
        for i in st["state"]:
            assert st["state"][i].keys() == sl["state"][i].keys()
            for key, v in st["state"][i].items():
                w = sl["state"][i][key]
                assert type(v) is type(w)
                if isinstance(v, torch.Tensor):
                    assert v.dtype == w.dtype and v.shape == w.shape
        # continue from torch's checkpoint with lrbook and vice versa: same numbers
        qa = [q.detach().clone().requires_grad_(True) for q in pt]
        qb = [q.detach().clone().requires_grad_(True) for q in pt]
        oa, ob = getattr(lo, name)(qa, **kw), getattr(T, name)(qb, **kw)
        oa.load_state_dict(copy.deepcopy(st))
        ob.load_state_dict(copy.deepcopy(st))
        _steps(qa, oa, 4, seed=4)
        _steps(qb, ob, 4, seed=4)
        for a, b in zip(qa, qb, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    finally:
        torch.set_default_dtype(old)


def test_sparse_adam_resume():
    def run(opt_params, opt, steps, seed):
        gen = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            rows = torch.randint(0, 10, (3,), generator=gen)
            opt_params[0].grad = torch.sparse_coo_tensor(rows.unsqueeze(0), torch.randn(3, 2, generator=gen), (10, 2))
            opt.step()

    full = [torch.ones(10, 2, requires_grad=True)]
    o = lo.SparseAdam(full, lr=0.1)
    run(full, o, 4, 1)
    run(full, o, 3, 2)
    part = [torch.ones(10, 2, requires_grad=True)]
    o1 = lo.SparseAdam(part, lr=0.1)
    run(part, o1, 4, 1)
    sd = _roundtrip(o1.state_dict())
    res = [part[0].detach().clone().requires_grad_(True)]
    o2 = lo.SparseAdam(res, lr=0.1)
    o2.load_state_dict(sd)
    run(res, o2, 3, 2)
    assert torch.equal(res[0], full[0]) and o2.state[res[0]]["step"] == 7


def test_adagrad_state_is_eager_and_ignores_group_initial_value():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt = lo.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 5.0}],
                     initial_accumulator_value=0.5)
    assert opt.state[a]["step"].item() == 0.0
    assert torch.equal(opt.state[b]["sum"], torch.full((3,), 0.5))  # not 5.0, like torch
    ref = T.Adagrad([{"params": [torch.zeros(2)]}, {"params": [torch.zeros(3)], "initial_accumulator_value": 5.0}],
                    initial_accumulator_value=0.5)
    assert torch.equal(list(ref.state.values())[1]["sum"], opt.state[b]["sum"])


def test_no_state_for_params_without_grad():
    x, y = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = lo.Adam([x, y], lr=0.1)
    x.grad = torch.ones(2)
    opt.step()
    assert y not in opt.state and set(opt.state_dict()["state"]) == {0}
    sgd = lo.SGD([x], lr=0.1)
    sgd.step()
    assert sgd.state_dict()["state"] == {}  # momentum 0 keeps no state, like torch


# ------------------------------------------------------------------ Lookahead
def _quadratic_lookahead(k, alpha, steps, lr=0.1):
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    la = lo.Lookahead(lo.SGD([x], lr=lr), k=k, alpha=alpha)
    for _ in range(steps):
        la.zero_grad()
        (0.5 * (x**2).sum()).backward()
        la.step()
    return x.detach(), la


@pytest.mark.parametrize("k,alpha", [(1, 0.5), (3, 0.5), (5, 0.8), (4, 1.0), (2, 0.0)])
def test_lookahead_matches_definition(k, alpha):
    steps = 3 * k + 2  # ends mid-cycle
    got, la = _quadratic_lookahead(k, alpha, steps)
    # by hand: on f = x²/2 an SGD step multiplies x by (1 - lr)
    slow = [1.0, -2.0]
    fast = list(slow)
    for t in range(1, steps + 1):
        fast = [f * (1 - 0.1) for f in fast]
        if t % k == 0:
            slow = [s + alpha * (f - s) for s, f in zip(slow, fast, strict=True)]
            fast = list(slow)
    assert got.tolist() == pytest.approx(fast, rel=1e-14)
    assert la.state[la.param_groups[0]["params"][0]]["slow_param"].tolist() == pytest.approx(slow, rel=1e-14)


def test_lookahead_alpha_one_is_inner_optimizer():
    got, _ = _quadratic_lookahead(3, 1.0, 9)
    ref = torch.tensor([1.0, -2.0], dtype=torch.float64) * 0.9**9
    torch.testing.assert_close(got, ref, rtol=1e-14, atol=0)


@pytest.mark.parametrize("via_file", [False, True])
def test_lookahead_state_dict_round_trip(via_file):
    def make():
        p = make_params("mlp")
        return p, lo.Lookahead(lo.Adam(p, lr=0.01), k=4, alpha=0.5)

    full, la = make()
    _steps(full, la, 6, seed=1)
    _steps(full, la, 7, seed=2)
    part, la1 = make()
    _steps(part, la1, 6, seed=1)  # mid-cycle: slow weights differ from fast ones
    sd = la1.state_dict()
    if via_file:
        sd = _roundtrip(sd)
    resumed = [q.detach().clone().requires_grad_(True) for q in part]
    la2 = lo.Lookahead(lo.Adam(resumed, lr=0.01), k=4, alpha=0.5)
    la2.load_state_dict(sd)
    _steps(resumed, la2, 7, seed=2)
    for a, b in zip(resumed, full, strict=True):
        assert torch.equal(a.detach(), b.detach())


def test_lookahead_works_with_schedulers_and_groups():
    x = torch.ones(2, requires_grad=True)
    la = lo.Lookahead(lo.SGD([x], lr=1.0), k=2)
    sched = T.lr_scheduler.StepLR(la, step_size=1, gamma=0.5)
    x.grad = torch.ones(2)
    la.step()
    sched.step()
    assert la.optimizer.param_groups[0]["lr"] == 0.5
    y = torch.ones(3, requires_grad=True)
    la.add_param_group({"params": [y], "lr": 0.1})
    assert len(la.optimizer.param_groups) == 2 and torch.equal(la.state[y]["slow_param"], torch.ones(3))
