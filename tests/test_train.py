"""The training loop: history, schedulers, early stopping, divergence and exact resume."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lrbook.optim
from lrbook.data import batches
from lrbook.early_stopping import EarlyStopping
from lrbook.train import History, TrainingDiverged, accuracy, evaluate, fit


def _data(seed: int = 0, n: int = 96):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X[: n * 3 // 4], y[: n * 3 // 4], X[n * 3 // 4 :], y[n * 3 // 4 :]


def _model(seed: int = 0, dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(dropout), torch.nn.Linear(8, 2)
    )


def test_history_content_and_epoch_means():
    Xtr, ytr, Xva, yva = _data()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train = batches(
        Xtr, ytr, 16, generator=torch.Generator().manual_seed(0)
    )  # 72 examples: 16,16,16,16,8
    history = fit(
        model,
        optimizer,
        F.cross_entropy,
        train,
        (Xva, yva),
        num_epochs=3,
        metrics={"accuracy": accuracy},
        progress=False,
    )
    assert len(history) == 3 and history.num_steps == 15
    assert history.keys() == [
        "epoch",
        "lr",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "time",
    ]
    assert history["epoch"].tolist() == [0, 1, 2]
    assert (
        history.steps["step"] == list(range(15))
        and history.steps["epoch"] == [0] * 5 + [1] * 5 + [2] * 5
    )
    assert history.steps["lr"] == [0.1] * 15
    sizes = np.array([16, 16, 16, 16, 8])
    losses = np.array(history.steps["loss"]).reshape(3, 5)
    assert np.allclose(history["train_loss"], (losses * sizes).sum(1) / 72, rtol=1e-12)
    final = evaluate(model, F.cross_entropy, (Xva, yva), {"accuracy": accuracy}, prefix="val_")
    assert final == {
        "val_loss": history["val_loss"][-1],
        "val_accuracy": history["val_accuracy"][-1],
    }
    assert history["val_accuracy"][-1] > 0.7
    frame = history.as_dataframe()
    assert frame.shape == (3, 7) and history.as_dataframe("step").shape == (15, 4)
    assert history.stopped_epoch is None


def test_per_step_scheduler_is_stepped_once_per_batch():
    Xtr, ytr, Xva, yva = _data()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train = batches(Xtr, ytr, 16, generator=torch.Generator().manual_seed(0))
    total = 4 * len(train)
    # OneCycleLR raises on the (total + 1)-th step, so the count must be exact
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=total)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9),
        max_lr=0.5,
        total_steps=total,
    )
    expected = []
    for _ in range(total):
        expected.append(reference.get_last_lr()[0])
        reference.optimizer.step()
        reference.step()
    history = fit(
        model,
        optimizer,
        F.cross_entropy,
        train,
        (Xva, yva),
        num_epochs=4,
        scheduler=scheduler,
        scheduler_interval="step",
        progress=False,
    )
    assert scheduler.last_epoch == total
    assert history.steps["lr"] == expected
    assert history["lr"].tolist() == expected[:: len(train)]


def test_epoch_scheduler_and_plateau_scheduler_get_the_metric():
    Xtr, ytr, Xva, yva = _data()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    seen = []

    class SpyPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, epoch=None):
            seen.append(float(metrics))
            return super().step(metrics)

    plateau = SpyPlateau(optimizer, patience=100)
    history = fit(
        model,
        optimizer,
        F.cross_entropy,
        (Xtr, ytr),
        (Xva, yva),
        num_epochs=3,
        scheduler=scheduler,
        plateau_scheduler=plateau,
        progress=False,
    )
    assert history["lr"].tolist() == [0.1, 0.05, 0.025]
    assert seen == history["val_loss"].tolist()
    assert history.num_steps == 3  # (X, y) tensors: full batch
    with pytest.raises(ValueError, match="plateau_scheduler"):
        fit(
            model,
            optimizer,
            F.cross_entropy,
            (Xtr, ytr),
            num_epochs=1,
            scheduler=plateau,
            progress=False,
        )


def test_plateau_uses_train_loss_without_validation_data():
    Xtr, ytr, _, _ = _data()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []

    class Spy:
        def step(self, metric):
            seen.append(metric)

    history = fit(
        model,
        optimizer,
        F.cross_entropy,
        (Xtr, ytr),
        num_epochs=2,
        plateau_scheduler=Spy(),
        progress=False,
    )
    assert seen == history["train_loss"].tolist() and "val_loss" not in history.keys()


def _scripted_metric(values, val_targets):
    """A metric that returns the next scripted value on the validation batch (0 on training batches)."""
    calls = iter(values)
    return lambda outputs, y: next(calls) if y is val_targets else 0.0


def test_early_stopping_stops_at_the_right_epoch_and_restores_best_weights():
    Xtr, ytr, Xva, yva = _data()
    scores = [1.0, 0.5, 0.75, 0.875, 0.9, 0.1]

    def run(num_epochs, stopper=None):
        model = _model(1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        history = fit(
            model,
            optimizer,
            F.cross_entropy,
            batches(Xtr, ytr, 24, shuffle=False),
            (Xva, yva),
            num_epochs=num_epochs,
            metrics={"score": _scripted_metric(scores, yva)},
            early_stopping=stopper,
            progress=False,
        )
        return model, history

    stopper = EarlyStopping(monitor="val_score", mode="min", patience=2, restore_best_weights=True)
    model, history = run(6, stopper)
    assert len(history) == 4 and history.stopped_epoch == 3 and stopper.stopped_epoch == 3
    assert stopper.best == 0.5 and stopper.best_epoch == 1
    best_model, _ = run(2)  # weights at the end of epoch 1
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), best_model.state_dict().values(), strict=True)
    )
    # a second fit call starts the stopper afresh (Keras' on_train_begin)
    scores[:] = [3.0, 2.0, 1.0]
    _, history = run(3, stopper)
    assert history.stopped_epoch is None and stopper.best == 1.0 and stopper.best_epoch == 2
    scores[:] = [1.0, 0.5, 0.75, 0.875, 0.9, 0.1]
    # without restore_best_weights the last epoch's weights stay
    model, _ = run(6, EarlyStopping(monitor="val_score", mode="min", patience=2))
    last_model, _ = run(4)
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), last_model.state_dict().values(), strict=True)
    )


def test_divergence_raises_with_step_epoch_and_lr():
    Xtr, ytr, _, _ = _data()
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e3)
    target = ytr.float().unsqueeze(1) * 100
    with pytest.raises(TrainingDiverged) as info:
        fit(
            model,
            optimizer,
            F.mse_loss,
            batches(Xtr, target, 8, shuffle=False),
            num_epochs=50,
            progress=False,
        )
    err = info.value
    assert isinstance(err, RuntimeError)
    assert err.lr == 1e3 and err.step == err.history.num_steps and not math.isfinite(err.loss)
    assert err.epoch == err.step // 9
    message = str(err)
    assert (
        f"step {err.step}" in message
        and f"epoch {err.epoch}" in message
        and "learning rate 1000" in message
    )


def test_gradient_clipping_is_applied_and_recorded():
    Xtr, ytr, _, _ = _data()
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        optimizer,
        F.cross_entropy,
        (Xtr, ytr),
        num_epochs=1,
        clip_grad_norm=1e-3,
        progress=False,
    )
    assert len(history.steps["grad_norm"]) == 1 and history.steps["grad_norm"][0] > 1e-3
    change = torch.sqrt(
        sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True))
    )
    assert float(change) == pytest.approx(0.1 * 1e-3, rel=1e-4)


def test_history_argument_continues_numbering():
    Xtr, ytr, _, _ = _data()
    model = _model()
    history = fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        F.cross_entropy,
        (Xtr, ytr),
        num_epochs=2,
        progress=False,
    )
    again = fit(
        model,
        torch.optim.Adam(model.parameters(), lr=1e-3),
        F.cross_entropy,
        (Xtr, ytr),
        num_epochs=3,
        progress=False,
        history=history,
    )
    assert again is history and history["epoch"].tolist() == [0, 1, 2, 3, 4]
    assert history.steps["step"] == [0, 1, 2, 3, 4] and history.steps["lr"][2:] == [1e-3] * 3


def test_history_state_dict_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    Xtr, ytr, Xva, yva = _data()
    model = _model()
    history = fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        F.cross_entropy,
        (Xtr, ytr),
        (Xva, yva),
        num_epochs=2,
        progress=False,
    )
    copy = History()
    copy.load_state_dict(history.state_dict())
    assert copy.epochs == history.epochs and copy.steps == history.steps
    ax = history.plot()
    assert ax.get_xlabel() == "epoch" and len(ax.get_lines()) == 2
    assert history.best("val_loss")[0] in (0, 1)
    with pytest.raises(KeyError):
        history["val_accuracy"]


def test_argument_validation(tmp_path):
    Xtr, ytr, _, _ = _data()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler_interval"):
        fit(
            model,
            optimizer,
            F.cross_entropy,
            (Xtr, ytr),
            scheduler_interval="batch",
            progress=False,
        )
    with pytest.raises(ValueError, match="checkpoint_path"):
        fit(model, optimizer, F.cross_entropy, (Xtr, ytr), resume=True, progress=False)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        fit(model, optimizer, F.cross_entropy, (Xtr, ytr), clip_grad_norm=0.0, progress=False)


# ------------------------------------------------------------------ exact resume


class Interrupt(Exception):
    pass


def _resume_setup(own_generator: bool, interrupt_after_steps: int | None):
    """Everything constructed the same way each time, as a user script would."""
    Xtr, ytr, Xva, yva = _data(n=128)
    model = _model(0, dropout=0.3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=6 * 4)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    stopper = EarlyStopping(patience=100, restore_best_weights=True)
    generator = torch.Generator().manual_seed(5) if own_generator else None
    train = batches(Xtr, ytr, 24, generator=generator)
    calls = {"n": 0}

    def loss_fn(outputs, y):
        # uses NumPy's and Python's global generators too, so their states matter
        if outputs.requires_grad:
            calls["n"] += 1
            if interrupt_after_steps is not None and calls["n"] > interrupt_after_steps:
                raise Interrupt
        scale = 1.0 + 0.01 * float(np.random.standard_normal()) + 0.01 * random.random()
        return F.cross_entropy(outputs, y) * scale

    kwargs = dict(
        val_data=(Xva, yva),
        scheduler=scheduler,
        scheduler_interval="step",
        plateau_scheduler=plateau,
        early_stopping=stopper,
        metrics={"accuracy": accuracy},
        progress=False,
    )
    return model, optimizer, loss_fn, train, kwargs


@pytest.mark.parametrize(
    "own_generator", [True, False], ids=["seeded-generator", "global-generator"]
)
def test_resume_continues_exactly(tmp_path, own_generator):
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    model, optimizer, loss_fn, train, kwargs = _resume_setup(own_generator, None)
    full = fit(model, optimizer, loss_fn, train, num_epochs=6, **kwargs)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    path = tmp_path / "run.pt"
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    # interrupted in the middle of epoch 3 (4 steps per epoch; last checkpoint after epoch 2)
    model, optimizer, loss_fn, train, kwargs = _resume_setup(own_generator, 3 * 4 + 2)
    with pytest.raises(Interrupt):
        fit(model, optimizer, loss_fn, train, num_epochs=6, checkpoint_path=path, **kwargs)
    assert torch.load(path, weights_only=True)["epochs_done"] == 3

    # a new process: different global random state, freshly built objects
    torch.manual_seed(999)
    np.random.seed(999)
    random.seed(999)
    model, optimizer, loss_fn, train, kwargs = _resume_setup(own_generator, None)
    resumed = fit(
        model, optimizer, loss_fn, train, num_epochs=6, checkpoint_path=path, resume=True, **kwargs
    )
    got = model.state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert resumed.steps == full.steps
    strip = lambda h: [{k: v for k, v in r.items() if k != "time"} for r in h.epochs]  # noqa: E731
    assert strip(resumed) == strip(full)
    assert kwargs["early_stopping"].best == full["val_loss"].min()


def test_resume_of_a_finished_run_only_restores(tmp_path):
    Xtr, ytr, Xva, yva = _data()
    path = tmp_path / "done.pt"
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    stopper = EarlyStopping(monitor="val_score", mode="min", patience=0, restore_best_weights=True)
    history = fit(
        model,
        optimizer,
        F.cross_entropy,
        (Xtr, ytr),
        (Xva, yva),
        num_epochs=10,
        metrics={"score": _scripted_metric([1.0, 0.5, 0.75, 0.1], yva)},
        early_stopping=stopper,
        checkpoint_path=path,
        checkpoint_every=5,
        progress=False,
    )
    assert history.stopped_epoch == 2
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model2 = _model(7)
    optimizer2 = torch.optim.SGD(model2.parameters(), lr=0.1)
    stopper2 = EarlyStopping(monitor="val_score", mode="min", patience=0, restore_best_weights=True)
    again = fit(
        model2,
        optimizer2,
        F.cross_entropy,
        (Xtr, ytr),
        (Xva, yva),
        num_epochs=10,
        metrics={"score": _scripted_metric([], yva)},
        early_stopping=stopper2,
        checkpoint_path=path,
        resume=True,
        progress=False,
    )
    assert len(again) == 3 and again.stopped_epoch == 2
    assert all(torch.equal(state[k], v) for k, v in model2.state_dict().items())


def test_fit_switches_schedule_free_modes(tmp_path):
    # Schedule-Free: steps in train mode, evaluation and the returned model at the average point
    torch.manual_seed(0)
    X, y = torch.randn(64, 3), torch.randn(64, 1)
    model = torch.nn.Linear(3, 1)
    optimizer = lrbook.optim.SGDScheduleFree(model.parameters(), lr=0.1)
    calls = []
    for name in ("train", "eval"):
        method = getattr(optimizer, name)
        setattr(optimizer, name, lambda m=method, n=name: (calls.append(n), m())[1])
    fit(model, optimizer, F.mse_loss,
        batches(X, y, 16, generator=torch.Generator().manual_seed(0)),
        num_epochs=3, val_data=(X, y))
    assert calls == ["train", "eval"] * 3
    # in eval mode the model holds x, the average; stepping now is refused by the optimizer
    model(X).sum().backward()
    with pytest.raises(RuntimeError):
        optimizer.step()
