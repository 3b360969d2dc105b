"""The small Sphinx extensions of the build: execution info and the PDF's static fallbacks."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat
import pytest
from docutils import nodes
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import lrbook_exec_info  # noqa: E402
import lrbook_latex  # noqa: E402


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 3), color).save(buf, format="PNG")
    return buf.getvalue()


def test_exec_info_cell_reports_device_and_scale(monkeypatch, capsys):
    monkeypatch.setenv("LRBOOK_SCALE", "full")
    monkeypatch.setenv("LRBOOK_DEVICE", "cpu")
    exec(compile(lrbook_exec_info.EXEC_INFO_CELL, "<cell>", "exec"), {})
    out = capsys.readouterr().out
    info = lrbook_exec_info.parse_exec_info([{"output_type": "stream", "name": "stdout", "text": out}])
    assert info["scale"] == "full"
    assert info["device"].startswith("cpu (") and "thread" in info["device"]
    assert lrbook_exec_info.parse_exec_info([{"text": ["no marker\n"]}]) == {}


def test_exec_info_cell_is_valid_notebook_code():
    cell = nbformat.v4.new_code_cell(lrbook_exec_info.EXEC_INFO_CELL)
    compile(cell.source, "<cell>", "exec")


def _table(n_rows: int) -> nodes.table:
    table = nodes.table()
    tgroup = nodes.tgroup(cols=2)
    table += tgroup
    tgroup += [nodes.colspec(colwidth=50), nodes.colspec(colwidth=50)]
    thead = nodes.thead()
    thead += nodes.row("", nodes.entry("", nodes.paragraph(text="a")), nodes.entry("", nodes.paragraph(text="b")))
    tbody = nodes.tbody()
    for i in range(n_rows):
        tbody += nodes.row("", nodes.entry("", nodes.paragraph(text=str(i))), nodes.entry("", nodes.paragraph(text="x")))
    tgroup += [thead, tbody]
    return table


def test_add_columns_appends_header_and_values():
    table = _table(2)
    lrbook_exec_info.add_columns(table, ["Device", "Scale"], [["cpu", "ci"], ["cuda (H200)", "full"]])
    tgroup = next(iter(table.findall(nodes.tgroup)))
    assert tgroup["cols"] == 4 and len(list(tgroup.findall(nodes.colspec))) == 4
    rows = [[e.astext() for e in row.children] for row in table.findall(nodes.row)]
    assert rows == [["a", "b", "Device", "Scale"], ["0", "x", "cpu", "ci"], ["1", "x", "cuda (H200)", "full"]]
    lrbook_exec_info.remove_column(table, "b")
    rows = [[e.astext() for e in row.children] for row in table.findall(nodes.row)]
    assert rows == [["a", "Device", "Scale"], ["0", "cpu", "ci"], ["1", "cuda (H200)", "full"]]
    assert tgroup["cols"] == 3 and len(list(tgroup.findall(nodes.colspec))) == 3
    lrbook_exec_info.remove_column(table, "no such column")
    assert tgroup["cols"] == 3
    with pytest.raises(ValueError, match="rows"):
        lrbook_exec_info.add_columns(_table(2), ["Device"], [["cpu"]])


def test_last_animation_frame_is_decoded():
    first, last = _png((255, 0, 0)), _png((0, 0, 255))
    html = (
        '<img id="_anim_imgabc">\n'
        f'frames[0] = "data:image/png;base64,{base64.b64encode(first).decode()}";\n'
        f'frames[1] = "data:image/png;base64,{base64.b64encode(last).decode()}";\n'
    )
    ext, data = lrbook_latex.last_animation_frame(html)
    assert ext == "png" and data == last
    assert lrbook_latex.last_animation_frame("<p>no animation</p>") is None


def test_widget_image_follows_children_to_the_output_area():
    png = _png((0, 255, 0))
    state = {  # an interact: a box of a slider and an output area that shows the figure
        "b0": {"state": {"children": ["IPY_MODEL_51", "IPY_MODEL_0a"]}},
        "51": {"state": {"value": 0.1}},
        "0a": {"state": {"outputs": [{"output_type": "display_data",
                                      "data": {"image/png": base64.b64encode(png).decode()}}]}},
    }
    assert lrbook_latex.widget_image(state, "b0") == png
    assert lrbook_latex.widget_image(state, "51") is None
    assert lrbook_latex.widget_image({}, "b0") is None
