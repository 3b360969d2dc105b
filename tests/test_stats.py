"""lrbook.stats (the fair protocol's small functions) and lrbook.seed/seeds."""

import math

import numpy as np
import pytest

import lrbook
from lrbook import stats


def test_mean_se_matches_definition():
    x = [0.5, 0.7, 0.6, 0.9]
    m = stats.mean_se(x)
    assert m.mean == pytest.approx(0.675)
    sd = math.sqrt(sum((v - 0.675) ** 2 for v in x) / 3)  # ddof = 1
    assert m.sd == pytest.approx(sd, rel=1e-12)
    assert m.se == pytest.approx(sd / 2, rel=1e-12)
    assert m.n == 4
    assert str(m) == f"{0.675:.3f} ± {sd / 2:.3f}"
    assert m.fmt(".1%") == f"{0.675:.1%} ± {sd / 2:.1%}"


@pytest.mark.parametrize("bad", [[1.0], [], [1.0, float("inf")], [float("nan"), 1.0]])
def test_mean_se_rejects_too_few_or_non_finite(bad):
    with pytest.raises(ValueError, match="values"):
        stats.mean_se(bad)


def test_paired_difference_removes_shared_seed_variation():
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(0, 1.0, size=20)  # large, shared by both methods
    a = seed_effect + 0.10 + rng.normal(0, 0.01, size=20)
    b = seed_effect + rng.normal(0, 0.01, size=20)
    paired = stats.diff_se(a, b, paired=True)
    unpaired = stats.diff_se(a, b, paired=False)
    assert paired.mean == pytest.approx(unpaired.mean, rel=1e-12)
    assert paired.mean == pytest.approx(0.10, abs=0.02)
    assert abs(paired.mean) > 2 * paired.se  # resolved when paired
    assert abs(unpaired.mean) < 2 * unpaired.se  # hidden by the seed variation when not
    expected = math.sqrt(np.var(a, ddof=1) / 20 + np.var(b, ddof=1) / 20)
    assert unpaired.se == pytest.approx(expected, rel=1e-12)


def test_paired_difference_needs_equal_lengths():
    with pytest.raises(ValueError, match="paired"):
        stats.diff_se([1.0, 2.0, 3.0], [1.0, 2.0], paired=True)


def test_log_grid():
    g = stats.log_grid(1e-3, 1.0, per_decade=3)
    assert len(g) == 10
    assert g[0] == pytest.approx(1e-3) and g[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(np.diff(np.log10(g)), 1 / 3, rtol=1e-12)
    assert len(stats.log_grid(1e-2, 1.0, per_decade=2)) == 5


@pytest.mark.parametrize(
    "low, high, per_decade, match",
    [(0.0, 1.0, 3, "low"), (1.0, 0.5, 3, "low"), (1e-3, 1.0, 1, "per_decade"), (1e-3, 1.0, 2.5, "per_decade")],
)
def test_log_grid_rejects_bad_input(low, high, per_decade, match):
    with pytest.raises(ValueError, match=match):
        stats.log_grid(low, high, per_decade)


def test_best_interior_picks_minimum_and_treats_nan_as_worst():
    grid = [0.001, 0.01, 0.1, 1.0]
    assert stats.best_interior(grid, [3.0, 1.0, 2.0, float("nan")]) == 0.01
    assert stats.best_interior(grid, [0.1, 0.5, 0.9, 0.2], minimize=False) == 0.1
    # unsorted input is sorted together with its scores
    assert stats.best_interior([1.0, 0.001, 0.1, 0.01], [9.0, 9.0, 2.0, 5.0]) == 0.1


@pytest.mark.parametrize("scores, edge", [([0.5, 1.0, 2.0], "smallest"), ([3.0, 2.0, 1.0], "largest")])
def test_best_interior_refuses_edges(scores, edge):
    with pytest.raises(stats.GridEdgeError, match=edge):
        stats.best_interior([0.01, 0.1, 1.0], scores)
    assert issubclass(stats.GridEdgeError, ValueError)


def test_best_interior_rejects_bad_shapes():
    with pytest.raises(ValueError, match="length"):
        stats.best_interior([0.1, 1.0, 10.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 3"):
        stats.best_interior([0.1, 1.0], [1.0, 2.0])


def test_seed_offsets(monkeypatch):
    monkeypatch.delenv("LRBOOK_SEED", raising=False)
    assert lrbook.seed() == 0 and lrbook.seed(5) == 5
    assert lrbook.seeds(3, start=100) == [100, 101, 102]
    monkeypatch.setenv("LRBOOK_SEED", "2")
    assert lrbook.seed(5) == 7
    assert lrbook.seeds(2) == [2, 3]


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_seed_rejects_bad_environment(monkeypatch, value):
    monkeypatch.setenv("LRBOOK_SEED", value)
    with pytest.raises(ValueError, match="LRBOOK_SEED"):
        lrbook.seed()


def test_seed_rejects_bad_arguments(monkeypatch):
    monkeypatch.delenv("LRBOOK_SEED", raising=False)
    with pytest.raises(ValueError, match="k must"):
        lrbook.seed(-1)
    with pytest.raises(ValueError, match="n must"):
        lrbook.seeds(0)
