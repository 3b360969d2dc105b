"""lrbook.self_tuning: train_any equals train_steps for plain optimizers; the unrolled meta-gradient."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lrbook.models import train_steps
from lrbook.optim import SLS, SPS
from lrbook.self_tuning import meta_learn_lr, summarise_runs, train_any, unrolled_val_loss


def _data(n=300, d=12, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, :k].argmax(1) + (X[:, k] > 1).long()) % k
    return X[:200], y[:200], X[200:], y[200:]


def _mlp():
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))


def test_train_any_is_train_steps_for_a_plain_optimizer():
    X, y, Xv, yv = _data()

    def factor(t):
        return 0.5 ** (t // 20)

    ours = train_any(_mlp, lambda p: torch.optim.AdamW(p, 0.01), 3, X, y, {"val": (Xv, yv)}, 50, 32,
                     eval_every=10, factor=factor)
    ref = train_steps(_mlp, lambda p, lr: torch.optim.AdamW(p, lr), 0.01, 3, X, y, {"val": (Xv, yv)}, 50, 32,
                      factor=factor, eval_every=10)
    for col in ("step", "lr", "val_loss", "val_acc"):
        np.testing.assert_allclose(ours.history[col], ref.history[col], rtol=1e-6)
    assert ours.history.forwards.tolist() == ours.history.step.tolist() == ours.history.backwards.tolist()


def test_train_any_counts_line_search_trials_and_uses_closures():
    X, y, Xv, yv = _data()
    run = train_any(_mlp, lambda p: SLS(p, n_batches_per_epoch=7), 0, X, y, {"val": (Xv, yv)}, 30, 32,
                    eval_every=10)
    h = run.history
    assert h.backwards.iloc[-1] == 30 and h.forwards.iloc[-1] >= 60  # ≥ one trial per step
    assert h.val_loss.iloc[-1] < h.val_loss.iloc[0]
    run = train_any(_mlp, lambda p: SPS(p), 0, X, y, {"val": (Xv, yv)}, 30, 32, eval_every=10)
    assert run.history.forwards.iloc[-1] == 30 and run.history.val_loss.iloc[-1] < run.history.val_loss.iloc[0]


class _Modes(torch.optim.SGD):
    """An SGD that records the train/eval calls (the Schedule-Free protocol)."""

    def __init__(self, params):
        super().__init__(params, lr=0.1)
        self.calls = []

    def train(self):
        self.calls.append("train")

    def eval(self):
        self.calls.append("eval")


def test_train_any_switches_modes_around_every_evaluation():
    X, y, Xv, yv = _data()
    made = []
    train_any(_mlp, lambda p: made.append(_Modes(p)) or made[-1], 0, X, y, {"val": (Xv, yv)}, 20, 32,
              eval_every=10)
    assert made[0].calls == ["train"] + ["eval", "train"] * 3 + ["eval"]


def test_train_any_invalid_budget():
    X, y, Xv, yv = _data()
    with pytest.raises(ValueError, match="num_steps"):
        train_any(_mlp, lambda p: torch.optim.SGD(p, 0.1), 0, X, y, {}, 0, 32)


def _functional_problem():
    torch.manual_seed(0)
    X, y, Xv, yv = (t.double() if t.is_floating_point() else t for t in _data())
    W1, W2 = torch.randn(12, 8, dtype=torch.float64) * 0.3, torch.randn(8, 4, dtype=torch.float64) * 0.3

    def forward(params, x):
        return torch.tanh(x @ params[0]) @ params[1]

    batches = [(X[i:i + 25], y[i:i + 25]) for i in range(0, 200, 25)]
    return [W1, W2], forward, batches, Xv, yv


def test_unrolled_meta_gradient_matches_finite_differences():
    params, forward, batches, Xv, yv = _functional_problem()
    for log_lr in (math.log(0.05), math.log(0.5)):
        x = torch.tensor(log_lr, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(unrolled_val_loss(x, params, forward, batches, Xv, yv), x)
        h = 1e-5
        up, down = (float(unrolled_val_loss(torch.tensor(log_lr + s, dtype=torch.float64), params, forward,
                                            batches, Xv, yv).detach()) for s in (h, -h))
        assert float(grad) == pytest.approx((up - down) / (2 * h), rel=1e-6)


def test_meta_learn_lr_descends_and_validates():
    params, forward, batches, Xv, yv = _functional_problem()
    hist = meta_learn_lr(math.log(1e-3), params, forward, batches, Xv, yv, meta_steps=25, meta_lr=0.3)
    assert hist.val_loss.iloc[-1] < hist.val_loss.iloc[0] and hist.lr.iloc[-1] > 1e-3
    assert hist.meta_grad.iloc[0] < 0  # a tiny rate: the validation loss falls as η grows
    with pytest.raises(ValueError, match="meta_steps"):
        meta_learn_lr(0.0, params, forward, batches, Xv, yv, meta_steps=0)
    with pytest.raises(ValueError, match="log_lr0"):
        meta_learn_lr(math.nan, params, forward, batches, Xv, yv)
    with pytest.raises(ValueError, match="meta_lr"):
        meta_learn_lr(0.0, params, forward, batches, Xv, yv, meta_lr=0.0)


def test_train_any_takes_token_ids():
    # integer inputs (token ids) must not be cast: the model keeps float32 weights
    from lrbook.text import BagOfEmbeddings

    g = torch.Generator().manual_seed(0)
    X = torch.randint(1, 50, (120, 7), generator=g)
    y = (X[:, 0] % 3).long()
    run = train_any(lambda: BagOfEmbeddings(50, 8, 3), lambda p: torch.optim.Adam(p, lr=0.05), 0, X[:100],
                    y[:100], {"train": (X[:100], y[:100])}, num_steps=40, batch_size=10, eval_every=20)
    assert run.model.embedding.weight.dtype == torch.float32
    assert list(run.history.step) == [0, 20, 40]
    assert run.history.train_loss.iloc[-1] < run.history.train_loss.iloc[0]


def _hist(val, test, num_steps=30, every=10, forwards=None):
    steps = list(range(0, num_steps + 1, every))
    return pd.DataFrame({"step": steps, "val_acc": val, "test_acc": test,
                         "forwards": steps if forwards is None else forwards})


def test_summarise_runs_counts_tuning_and_time_to_target():
    hs = [_hist([0.1, 0.5, 0.8, 0.9], [0.1, 0.5, 0.8, 0.85]),
          _hist([0.1, 0.7, 0.6, 0.95], [0.1, 0.6, 0.6, 0.95], forwards=[0, 25, 40, 60])]
    row = summarise_runs("m", hs, num_steps=30, target=0.7, cpu_per_run=3.0, tuning_steps=90, tuning_seconds=5.0)
    assert row["runs"] == 4  # 3 tuning runs of 30 steps, plus the report run
    assert row["reached"] == "2/2"
    np.testing.assert_allclose(row["accs"], [0.85, 0.95])
    assert abs(row["test acc"].mean - 0.9) < 1e-12 and abs(row["test acc"].se - 0.05) < 1e-12
    assert row["backward passes to target"] == 90 + (20 + 10) / 2  # first evaluations at or above 0.7
    assert row["forward passes to target"] == 90 + (20 + 25) / 2
    assert abs(row["CPU s to target"] - (5.0 + 3.0 * 15 / 30)) < 1e-12
    # a seed that never reaches the target: no cost to target
    row = summarise_runs("m", hs, num_steps=30, target=0.92, cpu_per_run=3.0)
    assert row["reached"] == "1/2" and row["runs"] == 1
    assert math.isinf(row["backward passes to target"]) and math.isinf(row["CPU s to target"])


def test_summarise_runs_invalid():
    h = _hist([0.1, 0.5, 0.8, 0.9], [0.1, 0.5, 0.8, 0.85])
    with pytest.raises(ValueError, match="at least 2"):
        summarise_runs("m", [h], num_steps=30, target=0.7, cpu_per_run=1.0)
    with pytest.raises(ValueError, match="num_steps=40"):
        summarise_runs("m", [h, h], num_steps=40, target=0.7, cpu_per_run=1.0)
