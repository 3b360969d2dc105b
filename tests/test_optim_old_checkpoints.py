"""Checkpoints written by older torch versions load into lrbook.optim as into torch.optim.

Two older formats, as torch's optimizers' ``__setstate__`` upgrade them:
a per-parameter ``step`` (and NAdam's ``mu_product``) stored as a Python
number (torch < 1.12), and param groups without the keys later versions
added. After loading, lrbook must step like torch and save the same state.
"""

from __future__ import annotations

import copy

import pytest
import torch
from test_optim_helpers import make_params
from test_optim_state import _steps

import lrbook.optim as lo

T = torch.optim

# (name, constructor kwargs, group keys a checkpoint from an older torch lacks)
OLD = [
    ("SGD", dict(lr=0.01, momentum=0.9), ["nesterov", "maximize", "foreach", "differentiable", "fused"]),
    ("Adagrad", dict(lr=0.1), ["foreach", "maximize", "differentiable", "fused"]),
    ("RMSprop", dict(lr=0.01), ["momentum", "centered", "foreach", "maximize", "differentiable", "capturable"]),
    ("Adadelta", dict(), ["foreach", "maximize", "differentiable", "capturable"]),
    ("Adam", dict(lr=0.01), ["amsgrad", "maximize", "foreach", "capturable", "differentiable",
                             "decoupled_weight_decay", "fused"]),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), ["decoupled_weight_decay", "amsgrad", "maximize"]),
    ("Adamax", dict(lr=0.01), ["foreach", "maximize", "differentiable", "capturable"]),
    ("NAdam", dict(lr=0.01), ["maximize", "foreach", "capturable", "differentiable", "decoupled_weight_decay"]),
    ("RAdam", dict(lr=0.01), ["foreach", "maximize", "differentiable", "decoupled_weight_decay", "capturable"]),
    ("Adafactor", dict(lr=0.01), []),
]


def _old_format(state_dict, float_step: bool, missing: list[str]):
    old = copy.deepcopy(state_dict)
    if float_step:
        for param_state in old["state"].values():
            for key in ("step", "mu_product"):
                if key in param_state:
                    param_state[key] = param_state[key].item()
    for group in old["param_groups"]:
        for key in missing:
            group.pop(key, None)
    return old


@pytest.mark.parametrize("fmt", ["float-step", "missing-keys", "both"])
@pytest.mark.parametrize("name, kw, missing", OLD, ids=[o[0] for o in OLD])
def test_old_checkpoint_loads_and_continues_like_torch(name, kw, missing, fmt):
    if fmt == "missing-keys" and not missing:
        pytest.skip("no group key was added to this optimizer after its introduction")
    source = make_params("mlp")
    saver = getattr(T, name)(source, **kw)
    _steps(source, saver, 2, seed=0)
    old = _old_format(saver.state_dict(), fmt != "missing-keys", missing if fmt != "float-step" else [])

    results = []
    for package in (T, lo):
        params = [p.detach().clone().requires_grad_(True) for p in source]
        opt = getattr(package, name)(params, **kw)
        opt.load_state_dict(copy.deepcopy(old))
        _steps(params, opt, 3, seed=0)
        results.append((params, opt.state_dict()))
    (tp, ts), (lp, ls) = results
    for a, b in zip(lp, tp, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    assert ls["param_groups"] == ts["param_groups"]
    for key, torch_state in ts["state"].items():
        for entry, value in torch_state.items():
            ours = ls["state"][key][entry]
            assert type(ours) is type(value), (entry, type(ours), type(value))
            if torch.is_tensor(value):
                assert ours.dtype == value.dtype, entry
                torch.testing.assert_close(ours, value, rtol=1e-12, atol=0)


@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_tensor_betas_with_foreach_rejected_like_torch(cls):
    params = make_params("mlp")
    betas = (torch.tensor(0.9), torch.tensor(0.999))
    for package in (T, lo):
        with pytest.raises(ValueError, match=r"betas\[0\] as a Tensor is not supported for capturable=False and foreach=True"):
            getattr(package, cls)(params, lr=0.01, betas=betas, foreach=True)
        getattr(package, cls)(params, lr=0.01, betas=betas, foreach=False)  # accepted without foreach
