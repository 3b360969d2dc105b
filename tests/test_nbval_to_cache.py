"""scripts/nbval_to_cache.py: nbval's run of a notebook becomes the build's executed notebook.

One pytest run under nbval (in a subprocess, as ``make test`` runs it) of two tiny
notebooks: one that passes (a print, a glue, a figure, an empty cell and an
``interact`` widget) and one whose cell raises. The passing one must come out as
jupyter-cache's executor (nbclient, what scripts/execute_notebooks.py and
myst-nb run) makes it from the same file, and be found by myst-nb's cache lookup
after ``execute_notebooks.cache_executed``; the failing one must not be written.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import execute_notebooks  # noqa: E402

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
CELLS = [
    "import sys\nprint('hello')\nprint('to stderr', file=sys.stderr)\n6 * 7",
    "from myst_nb import glue\nglue('answer', 42.5)\nglue('quiet', 3.25, display=False)",
    "",
    "import matplotlib.pyplot as plt\nprint('before the figure')\n"
    "fig, ax = plt.subplots(figsize=(2, 1.5))\nax.plot([0, 1], [1, 0])\nax.set_xlabel('x')\n"
    "plt.show()\nprint('after the figure')",
    "import ipywidgets as widgets\nwidgets.interact(lambda k: print('k =', k), k=widgets.IntSlider(value=3))",
]


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = new_notebook(
        cells=[new_markdown_cell("# tiny"), *map(new_code_cell, cells)],
        metadata={"kernelspec": KERNELSPEC},
    )
    nbformat.write(nb, path)
    return path


def _comparable(nb: nbformat.NotebookNode) -> list:
    """Each code cell's count and outputs, PNGs replaced by their size class (bytes may differ)."""
    cells = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        outputs = []
        for out in cell.outputs:
            out = dict(out)
            if "data" in out:
                data = dict(out["data"])
                if "image/png" in data:
                    assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
                    data["image/png"] = "<png>"
                if "application/vnd.jupyter.widget-view+json" in data:
                    data["application/vnd.jupyter.widget-view+json"] = "<widget>"
                out["data"] = data
            outputs.append(out)
        cells.append((cell.execution_count, outputs))
    return cells


def _widgets(nb: nbformat.NotebookNode) -> list:
    """Widget models (name, and the Output widget's captured outputs), ids aside."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return sorted(
        (m["model_name"], json.dumps(m["state"].get("outputs", None), sort_keys=True))
        for m in state.get("state", {}).values()
    )


def test_nbval_run_becomes_the_cached_notebook(tmp_path):
    # one test (one nbval subprocess, three kernels in all), so that xdist does not split it
    good, bad, out, sidecars = _nbval_run(tmp_path)
    _check_failed_notebook_is_not_written(good, bad, out, sidecars)
    _check_outputs_match_jupyter_cache_executor(good, sidecars)
    _check_cached_notebook_is_found_by_myst_nb_lookup(good, bad, out, tmp_path)


def _nbval_run(tmp):
    good = _notebook(tmp / "good.ipynb", CELLS)
    bad = _notebook(tmp / "bad.ipynb", ["x = 1", "raise ValueError('boom')", "print(x)"])
    out = tmp / "executed"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-n", "0",
         "-p", "scripts.nbval_to_cache", f"--nbval-executed-dir={out}", "-p", "no:cacheprovider",
         "-q", str(good), str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", "LRBOOK_SCALE": "ci"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr  # bad.ipynb fails
    assert "1 failed, 7 passed" in proc.stdout, proc.stdout  # bad.ipynb: cells 0, 2 pass
    sidecars = {json.loads(p.read_text())["source"]: p for p in out.glob("*.json")}
    return good, bad, out, sidecars


def _check_failed_notebook_is_not_written(good, bad, out, sidecars):
    meta = json.loads(sidecars[str(bad)].read_text())
    assert "cell 1 call failed" in meta["problem"]
    assert not sidecars[str(bad)].with_suffix(".ipynb").exists()
    assert sorted(p.name for p in out.glob("*.ipynb")) == [sidecars[str(good)].with_suffix(".ipynb").name]


def _check_outputs_match_jupyter_cache_executor(good, sidecars):
    from jupyter_cache.executors.utils import single_nb_execution

    meta = json.loads(sidecars[str(good)].read_text())
    assert meta["info"]["scale"] == "ci" and meta["info"]["device"].startswith("cpu (1 thread)")
    assert 0 < meta["max_cell_seconds"] <= meta["execution_seconds"]
    ours = nbformat.read(sidecars[str(good)].with_suffix(".ipynb"), as_version=4)

    theirs = nbformat.read(good, as_version=4)
    result = single_nb_execution(theirs, cwd=str(good.parent), timeout=60, allow_errors=False)
    assert result.err is None, result.exc_string

    assert _comparable(ours) == _comparable(theirs)
    assert ours.metadata == {**theirs.metadata, "widgets": ours.metadata.get("widgets")}
    assert ours.metadata.language_info == theirs.metadata.language_info
    assert _widgets(ours) == _widgets(theirs)
    # what the book shows: the glue (mime bundle and metadata), the figure, the widget's output
    counts, outputs = zip(*_comparable(ours), strict=True)
    assert counts == (1, 2, None, 3, 4)
    assert [o["output_type"] for o in outputs[0]] == ["stream", "stream", "execute_result"]
    assert outputs[1][0]["data"] == {"text/plain": "42.5"}
    assert outputs[1][0]["metadata"] == {"scrapbook": {"name": "answer", "mime_prefix": ""}}
    assert outputs[1][1]["metadata"]["scrapbook"]["name"] == "quiet"
    # the streams stay apart, in order (nbval's own copy merges them: the text would jump above)
    assert [o["output_type"] for o in outputs[3]] == ["stream", "display_data", "stream"]
    assert outputs[3][1]["data"]["image/png"] == "<png>"
    assert outputs[3][2]["text"] == "after the figure\n"
    assert ("OutputModel", json.dumps([{"name": "stdout", "output_type": "stream", "text": "k = 3\n"}],
                                      sort_keys=True)) in _widgets(ours)  # fmt: skip


def _check_cached_notebook_is_found_by_myst_nb_lookup(good, bad, out, tmp_path):
    from jupyter_cache import get_cache

    cache = get_cache(str(tmp_path / "cache"))
    done = execute_notebooks.cache_executed(cache, out, [good, bad], timeout=300)
    assert list(done) == [good]
    # myst-nb's lookup: cache.merge_match_into_notebook(the file as it is on disk)
    pk, merged = cache.merge_match_into_notebook(nbformat.read(good, as_version=4))
    data = cache.get_cache_record(pk).data
    assert data["executed_by"] == "nbval" and data["scale"] == "ci"
    assert data["execution_seconds"] == pytest.approx(done[good])
    assert merged.cells[2].outputs[0]["metadata"]["scrapbook"]["name"] == "answer"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(bad, as_version=4))
    # not cached: a longest cell over the build's timeout, or a file edited after nbval ran it
    assert execute_notebooks.cache_executed(get_cache(str(tmp_path / "c2")), out, [good], 0) == {}
    edited = nbformat.read(good, as_version=4)
    edited.cells[1].source += "\nprint('edited')"
    nbformat.write(edited, good)
    assert execute_notebooks.cache_executed(get_cache(str(tmp_path / "c3")), out, [good], 300) == {}
