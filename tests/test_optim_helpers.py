"""Shared helpers for the lrbook.optim tests (no tests here: problems, runners, comparison)."""

from __future__ import annotations

import functools

import torch


def make_params(problem: str, dtype=torch.float64, complex_=False):
    """Leaf tensors of a test problem (deterministic start)."""
    g = torch.Generator().manual_seed(1234)
    if problem == "quadratic":
        x = torch.randn(10, generator=g, dtype=dtype)
        return [x.requires_grad_(True)]
    if problem == "nonconvex":
        return [torch.randn(4, 5, generator=g, dtype=dtype).requires_grad_(True)]
    if problem == "mlp":
        shapes = [(8, 5), (8,), (3, 8), (3,), (4,)]  # the last one never gets a gradient
        return [(0.5 * torch.randn(s, generator=g, dtype=dtype)).requires_grad_(True) for s in shapes]
    if problem == "complex":
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        return [torch.randn(6, generator=g, dtype=cdtype).requires_grad_(True)]
    raise ValueError(problem)


@functools.cache
def _quadratic_hessian(dtype):
    g = torch.Generator().manual_seed(99)
    q, _ = torch.linalg.qr(torch.randn(10, 10, generator=g, dtype=torch.float64))
    eig = torch.logspace(0, 2, 10, dtype=torch.float64)  # condition number 100
    return (q @ torch.diag(eig) @ q.T).to(dtype)


@functools.cache
def _mlp_data(dtype):
    g = torch.Generator().manual_seed(7)
    X = torch.randn(32, 5, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randn(32, 3, generator=g, dtype=torch.float64).to(dtype)
    return X, y


def loss_fn(problem: str, params):
    p = params
    if problem == "quadratic":
        H = _quadratic_hessian(p[0].dtype)
        return 0.5 * p[0] @ H @ p[0]
    if problem == "nonconvex":
        x = p[0]
        return (0.5 * x**2 + torch.sin(3 * x)).sum() + 0.1 * (x[:, :-1] * x[:, 1:]).sum()
    if problem == "mlp":
        X, y = _mlp_data(p[0].dtype)
        h = torch.tanh(X @ p[0].T + p[1])
        return ((h @ p[2].T + p[3] - y) ** 2).mean()
    if problem == "complex":
        x = p[0]
        w = torch.arange(1, 7, dtype=x.real.dtype)
        return (w * x.abs() ** 2).sum() + torch.sin(x.real).sum() + torch.cos(x.imag).sum()
    raise ValueError(problem)


def run(make_opt, problem, *, steps=200, dtype=torch.float64, noise=0.05, sign=1.0, seed=0):
    """Run ``steps`` optimizer steps with seeded additive gradient noise; return params and opt."""
    params = make_params(problem, dtype)
    opt = make_opt(params)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        opt.zero_grad()
        loss = sign * loss_fn(problem, params)
        loss.backward()
        for q in params:
            if q.grad is not None:
                q.grad.add_(noise * torch.randn(q.shape, generator=gen, dtype=q.dtype))
        opt.step()
    return [q.detach().clone() for q in params], opt


def max_rel_diff(a_list, b_list):
    """max over tensors of max|a-b| / max|b| (SEMANTICS §0.2); NaN/inf fail."""
    worst = 0.0
    for a, b in zip(a_list, b_list, strict=True):
        assert torch.isfinite(a).all() and torch.isfinite(b).all()
        scale = b.abs().max().item() if b.numel() else 0.0
        diff = (a - b).abs().max().item() if b.numel() else 0.0
        worst = max(worst, diff / max(scale, 1e-300))
    return worst


def grouped(params, kw_a, kw_b):
    """Two param groups: the first two tensors with kw_a, the rest with kw_b."""
    return [dict(params=params[:2], **kw_a), dict(params=params[2:], **kw_b)]


