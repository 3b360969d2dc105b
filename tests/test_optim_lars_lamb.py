"""LARS and LAMB: the papers' equations, resume, errors, and pytorch-optimizer 4.1.0.

References implemented independently below (plain tensors, no optimizer class):
You, Gitman & Ginsburg (2017), Algorithm 1 (LARS); You et al. (2020),
Algorithm 2 (LAMB).
"""

import copy

import pytest
import torch

from lrbook.optim import LAMB, LARS

RTOL = 1e-12


pytestmark = pytest.mark.usefixtures("float64_default")


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    x = torch.randn(16, 5, generator=g, dtype=torch.float64)
    y = torch.randn(16, 2, generator=g, dtype=torch.float64)
    return model, x, y


def _grads(model, x, y):
    model.zero_grad()
    ((model(x) - y) ** 2).mean().backward()
    return [p.grad.clone() for p in model.parameters()]


def _run(opt_factory, steps=6, seed=0, lrs=None):
    model, x, y = _problem(seed)
    opt = opt_factory(model)
    for t in range(steps):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[t]
        _grads(model, x, y)
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


def _paper_lars(steps, lr, mu, wd, k, seed=0, lrs=None):
    """Algorithm 1: q = k‖w‖/(‖g‖+β‖w‖); v = μv + γ q (g + βw); w = w - v."""
    model, x, y = _problem(seed)
    params = list(model.parameters())
    vel = [torch.zeros_like(p) for p in params]
    for t in range(steps):
        gamma = lrs[t] if lrs is not None else lr
        grads = _grads(model, x, y)
        with torch.no_grad():
            for p, g, v in zip(params, grads, vel, strict=True):
                q = k * p.norm() / (g.norm() + wd * p.norm())
                v.copy_(mu * v + gamma * q * (g + wd * p))
                p.sub_(v)
    return [p.detach().clone() for p in params]


def _paper_lamb(steps, lr, b1, b2, eps, wd, seed=0):
    """Algorithm 2 with bias correction and φ = identity."""
    model, x, y = _problem(seed)
    params = list(model.parameters())
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        grads = _grads(model, x, y)
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                r = (m[i] / (1 - b1**t)) / ((v[i] / (1 - b2**t)).sqrt() + eps)
                u = r + wd * p
                p.sub_(lr * p.norm() / u.norm() * u)
    return [p.detach().clone() for p in params]


def _close(a, b, rtol=RTOL):
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=rtol, atol=0)


@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_lars_matches_algorithm_1(wd):
    ours = _run(lambda m: LARS(m.parameters(), lr=0.5, momentum=0.9, weight_decay=wd,
                               trust_coefficient=0.02))
    _close(ours, _paper_lars(6, 0.5, 0.9, wd, 0.02))


def test_lars_matches_algorithm_1_with_a_schedule():
    lrs = [0.5 * (1 - t / 6) ** 2 for t in range(6)]  # the paper's polynomial decay
    ours = _run(lambda m: LARS(m.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3,
                               trust_coefficient=0.02), lrs=lrs)
    _close(ours, _paper_lars(6, 0.5, 0.9, 1e-3, 0.02, lrs=lrs))


@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_lamb_matches_algorithm_2(wd):
    ours = _run(lambda m: LAMB(m.parameters(), lr=0.01, betas=(0.9, 0.99), eps=1e-6,
                               weight_decay=wd))
    _close(ours, _paper_lamb(6, 0.01, 0.9, 0.99, 1e-6, wd))


def test_lamb_step_length_is_lr_times_weight_norm():
    """The trust ratio makes every layer move by η‖θ‖ exactly (χ = identity)."""
    model, x, y = _problem()
    before = [p.detach().clone() for p in model.parameters()]
    opt = LAMB(model.parameters(), lr=0.01, weight_decay=0.1)
    _grads(model, x, y)
    opt.step()
    for b, p in zip(before, model.parameters(), strict=True):
        assert abs((p - b).norm().item() - 0.01 * b.norm().item()) <= 1e-12 * b.norm().item()


def test_adapt_false_is_momentum_sgd_and_adamw():
    ours = _run(lambda m: LARS(m.parameters(), lr=0.05, momentum=0.9, adapt=False))
    ref = _run(lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9))
    _close(ours, ref)
    # LAMB without the trust ratio and without decay is Adam with Adam's ε placement
    ours = _run(lambda m: LAMB(m.parameters(), lr=0.01, eps=1e-8, adapt=False))
    ref = _run(lambda m: torch.optim.Adam(m.parameters(), lr=0.01, eps=1e-8))
    _close(ours, ref, rtol=1e-10)


@pytest.mark.parametrize("factory", [
    lambda p: LARS(p, lr=0.3, weight_decay=1e-3, trust_coefficient=0.02),
    lambda p: LAMB(p, lr=0.01, weight_decay=1e-2),
])
def test_resume_from_state_dict(factory):
    model, x, y = _problem()
    opt = factory(model.parameters())
    for _ in range(3):
        _grads(model, x, y)
        opt.step()
    model2 = copy.deepcopy(model)
    opt2 = factory(model2.parameters())
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    for _ in range(3):
        _grads(model, x, y)
        opt.step()
        _grads(model2, x, y)
        opt2.step()
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("cls,kwargs,match", [
    (LARS, dict(lr=-1.0), "learning rate"),
    (LARS, dict(momentum=1.0), "momentum"),
    (LARS, dict(momentum=-0.1), "momentum"),
    (LARS, dict(weight_decay=-1.0), "weight_decay"),
    (LARS, dict(trust_coefficient=0.0), "trust_coefficient"),
    (LAMB, dict(lr=-1.0), "learning rate"),
    (LAMB, dict(betas=(1.0, 0.999)), "beta parameter at index 0"),
    (LAMB, dict(betas=(0.9, -0.1)), "beta parameter at index 1"),
    (LAMB, dict(eps=-1.0), "epsilon"),
    (LAMB, dict(weight_decay=-1.0), "weight_decay"),
    (LAMB, dict(clamp_value=0.0), "clamp_value"),
])
def test_invalid_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls([torch.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("cls", [LARS, LAMB])
def test_sparse_gradients_are_refused(cls):
    emb = torch.nn.Embedding(5, 3, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        cls(emb.parameters()).step()


def test_zero_weights_fall_back_to_trust_ratio_one():
    p = torch.zeros(3, 2, requires_grad=True)
    p.grad = torch.ones(3, 2)
    LAMB([p], lr=0.1).step()  # ‖θ‖ = 0: q = 1, plain (bias-corrected) Adam direction
    torch.testing.assert_close(p.detach(), torch.full((3, 2), -0.1 / (1 + 1e-6)), rtol=1e-12, atol=0)


# --- cross-check against pytorch-optimizer 4.1.0 ---------------------------------------

pytorch_optimizer = pytest.importorskip("pytorch_optimizer", reason="pytorch-optimizer==4.1.0 "
                                        "(the `test` extra) is not installed")


def _split_groups(model, **adapt_kwargs):
    """pytorch-optimizer skips tensors with ndim <= 1: here, a group with adapt=False."""
    matrices = [p for p in model.parameters() if p.ndim > 1]
    vectors = [p for p in model.parameters() if p.ndim <= 1]
    return [{"params": matrices}, {"params": vectors, "adapt": False, "weight_decay": 0.0}]


@pytest.mark.parametrize("foreach", [False, True])
def test_lars_matches_pytorch_optimizer(foreach):
    ours = _run(lambda m: LARS(_split_groups(m), lr=0.5, momentum=0.9, weight_decay=1e-3,
                               trust_coefficient=0.02))
    theirs = _run(lambda m: pytorch_optimizer.LARS(m.parameters(), lr=0.5, momentum=0.9,
                                                   weight_decay=1e-3, trust_coefficient=0.02,
                                                   foreach=foreach))
    _close(ours, theirs, rtol=1e-11)


def test_lars_differs_from_pytorch_optimizer_under_a_schedule():
    """Their buffer excludes η (torch form), the paper's includes it: a schedule separates them."""
    lrs = [0.5, 0.5, 0.1, 0.1, 0.02, 0.02]
    ours = _run(lambda m: LARS(_split_groups(m), lr=0.5, trust_coefficient=0.02), lrs=lrs)
    theirs = _run(lambda m: pytorch_optimizer.LARS(m.parameters(), lr=0.5, trust_coefficient=0.02,
                                                   foreach=False), lrs=lrs)
    diff = max((a - b).abs().max().item() for a, b in zip(ours, theirs, strict=True))
    assert diff > 1e-4


def test_lamb_matches_pytorch_optimizer_in_its_setting():
    ours = _run(lambda m: LAMB(m.parameters(), lr=0.01, eps=0.0, bias_correction=False,
                               clamp_value=10.0))
    theirs = _run(lambda m: pytorch_optimizer.Lamb(m.parameters(), lr=0.01, eps=0.0,
                                                   adam_debias=True, foreach=False))
    _close(ours, theirs, rtol=1e-11)


def _step_lengths(opt_factory, steps=1):
    model, x, y = _problem()
    before = [p.detach().clone() for p in model.parameters()]
    after = _run(opt_factory, steps=steps)
    return [(a - b).norm().item() for a, b in zip(after, before, strict=True)], [b.norm().item() for b in before]


def test_lamb_documented_differences_from_pytorch_optimizer():
    # 1. their default divides the *step* by 1 - β1^t after the trust ratio (and never corrects
    #    v): the first step of every layer is 1/(1 - β1) = 10 times η‖θ‖ instead of η‖θ‖
    theirs, norms = _step_lengths(lambda m: pytorch_optimizer.Lamb(m.parameters(), lr=0.01,
                                                                   eps=0.0, foreach=False))
    ours, _ = _step_lengths(lambda m: LAMB(m.parameters(), lr=0.01, eps=0.0))
    for a, b, w in zip(theirs, ours, norms, strict=True):
        assert b == pytest.approx(0.01 * w, rel=1e-12)
        assert a == pytest.approx(10 * b, rel=1e-12)
    # 2. the ε in their trust-ratio denominator ‖r‖ + ε changes a step by a relative ~ε/‖r‖
    ours = _run(lambda m: LAMB(m.parameters(), lr=0.01, bias_correction=False, clamp_value=10.0))
    theirs = _run(lambda m: pytorch_optimizer.Lamb(m.parameters(), lr=0.01, adam_debias=True,
                                                   foreach=False))
    _close(ours, theirs, rtol=1e-5)
    diff = max(((a - b).abs() / b.abs()).max().item() for a, b in zip(ours, theirs, strict=True))
    assert diff > 1e-13
    # 3. decoupled decay outside the trust ratio vs the paper's u = r + λθ inside it
    ours = _run(lambda m: LAMB(m.parameters(), lr=0.01, weight_decay=0.1, bias_correction=False,
                               clamp_value=10.0, eps=0.0), steps=2)
    theirs = _run(lambda m: pytorch_optimizer.Lamb(m.parameters(), lr=0.01, weight_decay=0.1,
                                                   eps=0.0, adam_debias=True, foreach=False),
                  steps=2)
    assert max((a - b).abs().max().item() for a, b in zip(ours, theirs, strict=True)) > 1e-5
    # 4. the weight-norm clamp at 10: with φ = identity a large layer moves further
    p1 = torch.full((10, 10), 3.0, requires_grad=True)  # ‖θ‖ = 30 > 10
    p2 = p1.detach().clone().requires_grad_(True)
    p1.grad = torch.ones(10, 10)
    p2.grad = torch.ones(10, 10)
    LAMB([p1], lr=0.01).step()
    LAMB([p2], lr=0.01, clamp_value=10.0).step()
    assert (3.0 - p1.detach()).norm().item() == pytest.approx(0.3, rel=1e-12)
    assert (3.0 - p2.detach()).norm().item() == pytest.approx(0.1, rel=1e-12)
