"""Sphinx extension: the execution-statistics table also says on what device and
at what scale each notebook ran.

``scripts/execute_notebooks.py`` executes every notebook into the build's
jupyter-cache and appends, for that run only, one cell that prints the kernel's
``lrbook.device()`` (with the GPU's name, or the CPU thread count) and
``lrbook.scale()``; it stores them in the cache record's data next to
``execution_seconds`` (the cell itself is removed before caching, so the
notebook's hash and outputs are those of the notebook). A notebook that the
build executed itself (a cache miss) ran in a kernel started by this build
process with its environment, so its device and scale are this process's
``lrbook.device()`` and ``lrbook.scale()``; a cached record with neither says
"not recorded".

This extension replaces myst-nb's ``nb-exec-table`` placeholder (before myst-nb
does) by myst-nb's own table plus the columns *Device* and *Scale*, less the
column *Method* (always "cache" here), so that the table fits the page.

Loaded from ``_config.yml`` (``sphinx: local_extensions: lrbook_exec_info: scripts/``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

EXEC_INFO_MARKER = "LRBOOK_EXEC_INFO "

# the cell that scripts/execute_notebooks.py appends (and removes again) to learn where a
# notebook ran: in the notebook's own kernel, after the notebook's last cell
EXEC_INFO_CELL = f"""\
import json as _json, os as _os
import torch as _torch
import lrbook as _lrbook
_dev = _lrbook.device()
print({EXEC_INFO_MARKER!r} + _json.dumps({{
    "device": (f"cuda ({{_torch.cuda.get_device_name(_dev)}})" if _dev.type == "cuda"
               else f"{{_dev.type}} ({{_torch.get_num_threads()}} thread"
                    f"{{'s' if _torch.get_num_threads() != 1 else ''}})"),
    "scale": _lrbook.scale(),
    "seed_offset": _os.environ.get("LRBOOK_SEED", "0"),
}}))
"""


def parse_exec_info(outputs: list[dict]) -> dict[str, str]:
    """The dict printed by :data:`EXEC_INFO_CELL` from that cell's outputs (``{}`` if absent)."""
    for output in outputs:
        text = output.get("text", "")
        text = "".join(text) if isinstance(text, list) else text
        for line in text.splitlines():
            if line.startswith(EXEC_INFO_MARKER):
                return json.loads(line[len(EXEC_INFO_MARKER) :])
    return {}


def this_process_info() -> dict[str, str]:
    """Device and scale of a kernel this build starts (it inherits this environment)."""
    import torch

    import lrbook

    dev = lrbook.device()
    name = (
        f"cuda ({torch.cuda.get_device_name(dev)})"
        if dev.type == "cuda"
        else f"{dev.type} ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''})"
    )
    return {"device": name, "scale": lrbook.scale()}


def _cache(app: Sphinx):
    from jupyter_cache import get_cache

    # myst-nb's resolved setting (default: <outdir>/../.jupyter_cache)
    config = getattr(app.env, "mystnb_config", None)
    path = getattr(config, "execution_cache_path", None) or Path(app.outdir).parent / ".jupyter_cache"
    if not Path(path).is_dir():
        raise FileNotFoundError(path)  # never create an empty cache
    return get_cache(str(path))


def _on_builder_inited(app: Sphinx) -> None:
    # records already in the cache before this build; any other one the build created
    try:
        app.env._lrbook_cached_before = {r.pk for r in _cache(app).list_cache_records()}
    except FileNotFoundError:  # no cache yet: whatever is cached later, this build executed
        app.env._lrbook_cached_before = set()


def run_info(app: Sphinx, docname: str, exec_data: dict) -> dict[str, str]:
    """Device and scale of one executed notebook (``"not recorded"`` when unknown)."""
    unknown = {"device": "not recorded", "scale": "not recorded"}
    path = Path(app.env.doc2path(docname))
    if exec_data.get("method") != "cache" or path.suffix != ".ipynb":
        return unknown
    import nbformat

    try:
        record = _cache(app).match_cache_notebook(nbformat.read(path, as_version=4))
    except (KeyError, OSError, ValueError):  # not in the cache, or no cache
        return unknown
    data = record.data or {}
    if data.get("device") and data.get("scale"):
        return {"device": str(data["device"]), "scale": str(data["scale"])}
    before = getattr(app.env, "_lrbook_cached_before", None)
    if before is not None and record.pk not in before:  # executed by this build
        return this_process_info()
    return unknown


class ExecInfoTable(SphinxPostTransform):
    """myst-nb's execution table with two more columns: Device and Scale."""

    default_priority = 7  # before myst-nb's own post-transform (8) replaces the node

    def run(self, **kwargs: Any) -> None:
        from myst_nb.ext.execution_tables import ExecutionStatsNode, make_stat_table
        from myst_nb.sphinx_ import NbMetadataCollector

        for node in list(self.document.findall(ExecutionStatsNode)):
            metadata = NbMetadataCollector.get_doc_data(self.env)
            table = make_stat_table(self.env.docname, metadata)
            docnames = [d for d in sorted(metadata) if metadata[d].get("exec_data")]
            add_columns(
                table,
                ["Device", "Scale"],
                [
                    [info["device"], info["scale"]]
                    for info in (
                        run_info(self.app, d, metadata[d]["exec_data"]) for d in docnames
                    )
                ],
            )
            # every notebook of this book runs through the cache: the column says nothing
            # and makes the table wider than the page
            remove_column(table, "Method")
            # words, not emoji (the PDF's fonts and many browsers have no ✅)
            for text in list(table.findall(nodes.Text)):
                if text.astext() in ("✅", "❌"):  # (a failure keeps its error as a tooltip)
                    text.parent.replace(text, nodes.Text("ok" if text.astext() == "✅" else "failed"))
            node.replace_self(table)


def add_columns(table: nodes.table, headers: list[str], rows: list[list[str]]) -> None:
    """Append columns to a docutils table (one value per body row, in order)."""
    tgroup = next(iter(table.findall(nodes.tgroup)))
    ncols = int(tgroup["cols"]) + len(headers)
    tgroup["cols"] = ncols
    for colspec in tgroup.findall(nodes.colspec):
        colspec["colwidth"] = round(100 / ncols, 2)
    for _ in headers:
        tgroup.insert(ncols - len(headers), nodes.colspec(colwidth=round(100 / ncols, 2)))
    head_row = next(iter(tgroup.findall(nodes.thead))).children[0]
    for header in headers:
        head_row.append(nodes.entry("", nodes.paragraph(text=header)))
    body_rows = next(iter(tgroup.findall(nodes.tbody))).children
    if len(body_rows) != len(rows):
        raise ValueError(f"rows: {len(rows)} values for {len(body_rows)} table rows")
    for row, values in zip(body_rows, rows, strict=True):
        for value in values:
            row.append(nodes.entry("", nodes.paragraph(text=value)))


def remove_column(table: nodes.table, header: str) -> None:
    """Remove the column whose header cell reads ``header`` (no-op when there is none)."""
    tgroup = next(iter(table.findall(nodes.tgroup)))
    head_row = next(iter(tgroup.findall(nodes.thead))).children[0]
    names = [entry.astext() for entry in head_row.children]
    if header not in names:
        return
    index = names.index(header)
    for row in tgroup.findall(nodes.row):
        row.remove(row.children[index])
    colspecs = list(tgroup.findall(nodes.colspec))
    tgroup.remove(colspecs[index])
    tgroup["cols"] = int(tgroup["cols"]) - 1
    for colspec in tgroup.findall(nodes.colspec):
        colspec["colwidth"] = round(100 / tgroup["cols"], 2)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    app.add_post_transform(ExecInfoTable)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
