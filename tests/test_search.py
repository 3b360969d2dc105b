"""Grid, random and TPE search on a synthetic objective with a known optimum."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lrbook.search import (
    Choice,
    LogUniform,
    Uniform,
    aggregate,
    bayes_search,
    grid_search,
    plot_search,
    random_search,
)

BEST_LR = 1e-2


def objective(config: dict, seed: int) -> float:
    """(log10 lr - log10 0.01)^2 + penalty for the wrong optimizer + seeded noise."""
    noise = 0.01 * np.random.default_rng(seed).standard_normal()
    penalty = 0.0 if config.get("optimizer", "sgd") == "sgd" else 0.5
    momentum = config.get("momentum", 0.9)
    return (
        (math.log10(config["lr"]) - math.log10(BEST_LR)) ** 2
        + penalty
        + (momentum - 0.9) ** 2
        + noise
    )


def test_grid_search_shape_order_and_optimum():
    grid = {"lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "optimizer": ["sgd", "adam"]}
    df = grid_search(objective, grid, seeds=[0, 1, 2])
    assert list(df.columns) == ["lr", "optimizer", "seed", "objective"]
    assert len(df) == 5 * 2 * 3
    assert df.iloc[:3]["seed"].tolist() == [0, 1, 2] and df.iloc[3]["optimizer"] == "adam"
    assert df.loc[0, "objective"] == objective({"lr": 1e-4, "optimizer": "sgd"}, 0)
    table = aggregate(df)
    assert list(table.columns) == ["lr", "optimizer", "mean", "std", "min", "max", "count"]
    assert len(table) == 10 and (table["count"] == 3).all()
    assert table.iloc[0]["lr"] == BEST_LR and table.iloc[0]["optimizer"] == "sgd"
    rows = df[(df.lr == BEST_LR) & (df.optimizer == "sgd")]["objective"]
    assert table.iloc[0]["mean"] == pytest.approx(rows.mean()) and table.iloc[0][
        "std"
    ] == pytest.approx(rows.std())


def test_aggregate_keeps_divergence_visible():
    df = pd.DataFrame(
        {"lr": [0.1, 0.1, 1.0, 1.0], "seed": [0, 1, 0, 1], "objective": [1.0, 2.0, 0.5, math.nan]}
    )
    table = aggregate(df)
    assert table.iloc[0]["lr"] == 0.1 and math.isnan(table.iloc[1]["mean"])


def test_objective_seeds_are_passed_through():
    seen = []
    grid_search(lambda c, s: seen.append((c["lr"], s)) or 0.0, {"lr": [1, 2]}, seeds=[5, 9])
    assert seen == [(1, 5), (1, 9), (2, 5), (2, 9)]


def test_log_uniform_gives_each_decade_the_same_share():
    rng = np.random.default_rng(0)
    samples = np.array([LogUniform(1e-5, 1e-1).sample(rng) for _ in range(4000)])
    assert samples.min() >= 1e-5 and samples.max() <= 1e-1
    counts = np.histogram(np.log10(samples), bins=[-5, -4, -3, -2, -1])[0]
    assert counts.min() > 850 and counts.max() < 1150
    u = np.array([Uniform(2.0, 3.0).sample(rng) for _ in range(1000)])
    assert 2.0 <= u.min() and u.max() <= 3.0 and abs(u.mean() - 2.5) < 0.05
    assert {Choice(["a", "b"]).sample(rng) for _ in range(50)} == {"a", "b"}


def test_random_search_reproducible_and_near_optimum():
    space = {
        "lr": LogUniform(1e-5, 1.0),
        "momentum": Uniform(0.5, 0.99),
        "optimizer": Choice(["sgd", "adam"]),
    }
    df = random_search(objective, space, num_trials=60, seed=0, seeds=[0, 1])
    assert list(df.columns) == ["trial", "lr", "momentum", "optimizer", "seed", "objective"]
    assert len(df) == 120 and df["trial"].nunique() == 60
    assert df.equals(random_search(objective, space, num_trials=60, seed=0, seeds=[0, 1]))
    assert not df.equals(random_search(objective, space, num_trials=60, seed=1, seeds=[0, 1]))
    best = aggregate(df).iloc[0]
    assert best["optimizer"] == "sgd" and abs(math.log10(best["lr"]) + 2) < 0.5


def test_bayes_search_finds_the_optimum():
    pytest.importorskip("optuna")
    space = {"lr": LogUniform(1e-6, 1.0)}
    df = bayes_search(objective, space, num_trials=30, seed=0, n_startup_trials=8)
    assert list(df.columns) == ["trial", "lr", "seed", "objective"] and len(df) == 30
    assert df.equals(bayes_search(objective, space, num_trials=30, seed=0, n_startup_trials=8))
    best = aggregate(df).iloc[0]
    assert abs(math.log10(best["lr"]) + 2) < 0.3
    # TPE concentrates later trials near the optimum more than the random start-up phase
    start = np.abs(np.log10(df["lr"][:8]) + 2).mean()
    later = np.abs(np.log10(df["lr"][-10:]) + 2).mean()
    assert later < start


def test_bayes_search_survives_diverging_trials():
    pytest.importorskip("optuna")

    def sometimes_nan(config, seed):
        return math.nan if config["lr"] > 0.1 else objective(config, seed)

    df = bayes_search(
        sometimes_nan, {"lr": LogUniform(1e-4, 10.0)}, num_trials=15, seed=1, n_startup_trials=5
    )
    assert len(df) == 15 and df["objective"].isna().any()


def test_validation():
    with pytest.raises(ValueError):
        LogUniform(0.0, 1.0)
    with pytest.raises(ValueError):
        Uniform(1.0, 1.0)
    with pytest.raises(ValueError):
        Choice([])
    with pytest.raises(ValueError):
        grid_search(objective, {})
    with pytest.raises(ValueError):
        grid_search(objective, {"lr": [0.1]}, seeds=[])
    with pytest.raises(TypeError):
        random_search(objective, {"lr": [0.1, 0.2]}, num_trials=2)
    with pytest.raises(ValueError):
        random_search(objective, {"seed": Uniform(0, 1)}, num_trials=2)


def test_plot_search():
    import matplotlib

    matplotlib.use("Agg")
    df = grid_search(
        objective, {"lr": [1e-3, 1e-2, 1e-1], "optimizer": ["sgd", "adam"]}, seeds=[0, 1]
    )
    ax = plot_search(df, param="lr", hue="optimizer")
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "lr"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sgd", "adam"]
    with pytest.raises(ValueError):
        plot_search(df, param="momentum")


def _train_curve(config: dict, seed: int):
    """Per-epoch records that fall towards (log10 lr + 2)^2, scaled by 1/epoch."""
    base = (math.log10(config["lr"]) + 2.0) ** 2
    for epoch in range(1, 100):
        yield {"val": base + 1.0 / epoch, "test": base + 1.0 / epoch + 0.01}


def test_optuna_search_counts_epochs_and_prunes():
    import optuna

    from lrbook.search import best_trial, optuna_search

    space = {"lr": LogUniform(1e-4, 1.0)}
    plain = optuna_search(_train_curve, space, optuna.samplers.RandomSampler(seed=0), 9,
                          num_trials=8)
    assert len(plain) == 8 and (plain["epochs"] == 9).all() and (plain["state"] == "complete").all()
    np.testing.assert_allclose(plain["val"], (np.log10(plain["lr"]) + 2) ** 2 + 1 / 9)
    pruned = optuna_search(
        _train_curve, space, optuna.samplers.RandomSampler(seed=0), 9, budget_epochs=60,
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    )
    assert pruned["epochs"].sum() == 60                     # the budget is spent exactly
    assert (pruned["state"] == "pruned").any() and len(pruned) > 60 // 9
    assert set(pruned["state"]) <= {"complete", "pruned", "cut"}
    best = best_trial(pruned)
    assert best["state"] == "complete" and best["epochs"] == 9
    qmc = optuna_search(_train_curve, space, optuna.samplers.QMCSampler(seed=0, scramble=True),
                        2, num_trials=4)
    assert len(qmc) == 4 and qmc["lr"].nunique() == 4


def test_optuna_search_errors_and_failures():
    import optuna

    from lrbook.search import best_trial, optuna_search

    space = {"lr": LogUniform(1e-4, 1.0)}
    sampler = optuna.samplers.RandomSampler(seed=0)
    with pytest.raises(ValueError, match="exactly one"):
        optuna_search(_train_curve, space, sampler, 3)
    with pytest.raises(ValueError, match="max_epochs"):
        optuna_search(_train_curve, space, sampler, 0, num_trials=2)

    def diverging(config, seed):
        yield {"val": float("nan")}

    failed = optuna_search(diverging, space, sampler, 3, num_trials=2)
    assert (failed["state"] == "fail").all()
    with pytest.raises(ValueError, match="no completed"):
        best_trial(failed)


def test_optuna_search_enqueued_grid():
    import optuna

    from lrbook.search import optuna_search

    grid = [{"lr": lr} for lr in (1e-4, 1e-3, 1e-2, 1e-1)]
    res = optuna_search(_train_curve, {"lr": LogUniform(1e-4, 1.0)},
                        optuna.samplers.RandomSampler(seed=0), 3, num_trials=4, enqueue=grid)
    np.testing.assert_allclose(res["lr"], [g["lr"] for g in grid])
    assert res.loc[res["val"].idxmin(), "lr"] == pytest.approx(1e-2)
