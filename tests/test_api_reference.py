"""The API reference (book/api.md, scripts/lrbook_api.py) covers every public name once."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import lrbook_api  # noqa: E402


def test_every_public_name_is_documented_exactly_once():
    plan = lrbook_api.api_plan("lrbook")
    modules = {entry.name for entry in plan}
    assert {"lrbook", "lrbook.optim", "lrbook.schedules", "lrbook.stats"} <= modules
    documented = {}  # id of object -> full names documenting it
    for entry in plan:
        module = importlib.import_module(entry.name)
        for name, kind in entry.documented:
            obj = getattr(module, name)
            if kind in ("class", "function"):
                documented.setdefault(id(obj), []).append(f"{entry.name}.{name}")
    assert all(len(names) == 1 for names in documented.values()), [
        n for n in documented.values() if len(n) > 1
    ]
    for entry in plan:
        module = importlib.import_module(entry.name)
        listed = {name for name, _ in entry.documented}
        elsewhere = {full.rsplit(".", 1)[1] for full, _ in entry.elsewhere}
        for name in lrbook_api.public_names(module):
            obj = getattr(module, name)
            assert name in listed or name in elsewhere, f"{entry.name}.{name} is not in the reference"
            if name in elsewhere and lrbook_api.kind_of(obj) in ("class", "function"):
                assert id(obj) in documented, f"{entry.name}.{name} re-exported but documented nowhere"


def test_reexports_are_documented_under_the_short_name():
    plan = {entry.name: entry for entry in lrbook_api.api_plan("lrbook")}
    assert ("Adam", "class") in plan["lrbook.optim"].documented
    assert ("lrbook.optim.Adam", "class") in plan["lrbook.optim.adam"].elsewhere
    assert ("adam_update", "function") in plan["lrbook.optim.adam"].documented
    assert ("device", "function") in plan["lrbook"].documented
    assert plan["lrbook.config"].documented == []
    assert ("lrbook.optim.keras", "module") in plan["lrbook.optim"].elsewhere
    # every optimizer class that lrbook.optim exports is documented there
    import lrbook.optim

    documented = {name for name, _ in plan["lrbook.optim"].documented}
    assert set(lrbook.optim.__all__) - {"keras"} <= documented


def test_private_modules_are_not_listed():
    assert not [m for m in lrbook_api.public_modules("lrbook") if "._" in m]


def test_module_rst_uses_autodoc():
    entry = lrbook_api.ModuleEntry(
        "lrbook.stats", documented=[("mean_se", "function"), ("MeanSE", "class")],
        elsewhere=[("lrbook.device", "function")],
    )
    text = "\n".join(lrbook_api.module_rst(entry))
    assert ".. automodule:: lrbook.stats" in text
    assert ".. autofunction:: lrbook.stats.mean_se" in text
    assert ".. autoclass:: lrbook.stats.MeanSE\n   :members:" in text
    assert ":func:`~lrbook.device`" in text


@pytest.mark.parametrize("obj, kind", [(len, "function"), (1.0, "data"), (Path, "class"), (sys, "module")])
def test_kind_of(obj, kind):
    assert lrbook_api.kind_of(obj) == kind


def test_the_page_uses_the_directive():
    assert ".. lrbook-api:: lrbook" in (ROOT / "book" / "api.md").read_text()
