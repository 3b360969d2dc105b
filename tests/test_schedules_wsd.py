"""The warmup-stable-decay schedule against ``pytorch_optimizer.get_wsd_schedule`` (4.1.0)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lrbook.schedules import warmup_stable_decay

pytorch_optimizer = pytest.importorskip("pytorch_optimizer", reason="pytorch-optimizer==4.1.0 "
                                        "(the test extra) is the reference")


def _theirs(lr, warmup, stable, decay, min_ratio, cooldown, num_steps):
    """The rates pytorch_optimizer's LambdaLR sets for updates 0 .. num_steps-1."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = pytorch_optimizer.get_wsd_schedule(opt, warmup, stable, decay, min_lr_ratio=min_ratio,
                                               cooldown_type=cooldown)
    rates = []
    for _ in range(num_steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(rates)


@pytest.mark.parametrize("cooldown", ["1-sqrt", "linear", "cosine", "1-square"])
@pytest.mark.parametrize("warmup, stable, decay", [(100, 700, 200), (0, 50, 7), (13, 0, 31)])
def test_wsd_matches_pytorch_optimizer_over_the_whole_run(cooldown, warmup, stable, decay):
    lr, total = 0.3, warmup + stable + decay + 25  # past the end of the cool-down too
    for min_ratio in ([0.0, 0.1] if cooldown == "cosine" else [0.0]):
        theirs = _theirs(lr, warmup, stable, decay, min_ratio, cooldown, total)
        ours = np.array([warmup_stable_decay(t, lr, warmup, stable, decay, min_ratio * lr, cooldown)
                         for t in range(total)])
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)
        assert ours[warmup] == pytest.approx(lr, rel=1e-12) and ours[-1] == pytest.approx(min_ratio * lr, rel=1e-12)


@pytest.mark.parametrize("cooldown", ["1-sqrt", "linear", "1-square"])
def test_wsd_floor_is_continuous_where_pytorch_optimizer_jumps(cooldown):
    """With a floor, pytorch_optimizer's non-cosine shapes decay to 0 and jump up at the end."""
    lr, floor, (w, s, d) = 1.0, 0.1, (10, 20, 30)
    theirs = _theirs(lr, w, s, d, floor / lr, cooldown, w + s + d + 5)
    ours = np.array([warmup_stable_decay(t, lr, w, s, d, floor, cooldown) for t in range(w + s + d + 5)])
    assert min(theirs[w + s:w + s + d]) < floor  # below their own floor during the cool-down ...
    assert min(ours) == 0.0 and min(ours[w:]) == pytest.approx(floor, rel=1e-12)  # ... ours stays above
    cool = ours[w + s:w + s + d]
    shape = {"1-sqrt": lambda p: 1 - np.sqrt(p), "linear": lambda p: 1 - p, "1-square": lambda p: 1 - p**2}
    np.testing.assert_allclose(cool, floor + (lr - floor) * shape[cooldown](np.arange(d) / d), rtol=1e-12)


def test_wsd_invalid_arguments():
    good = dict(learning_rate=0.1, warmup_steps=5, stable_steps=5, decay_steps=5)
    for key, value in [("learning_rate", -1.0), ("warmup_steps", -1), ("stable_steps", math.inf),
                       ("decay_steps", 0), ("min_learning_rate", -0.1)]:
        with pytest.raises(ValueError, match=key):
            warmup_stable_decay(0, **{**good, key: value})
    with pytest.raises(ValueError, match="min_learning_rate must be <= learning_rate"):
        warmup_stable_decay(0, **good, min_learning_rate=0.2)
    with pytest.raises(ValueError, match="cooldown"):
        warmup_stable_decay(0, **good, cooldown="exp")
    with pytest.raises(ValueError, match="step"):
        warmup_stable_decay(-1, **good)
