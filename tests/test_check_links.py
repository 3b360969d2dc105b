"""scripts/check_links.py on a tiny hand-written build: it finds each kind of broken link."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import check_links  # noqa: E402

TOC = """\
format: jb-book
root: book/intro
parts:
  - caption: Part
    chapters:
      - file: book/a
      - file: book/b
"""

NAV = """<nav class="bd-links bd-docs-nav" aria-label="Main">
<ul><li><a href="#">Intro</a></li><li><a href="a.html">A</a></li>{extra}</ul></nav>"""


def make_book(tmp_path: Path, *, intro_body: str = "", a_body: str = "", b_built: bool = True,
              nav_b: bool = True) -> tuple[Path, Path]:
    html = tmp_path / "_build" / "html"
    (html / "book").mkdir(parents=True)
    (html / "_static").mkdir()
    (html / "_static" / "style.css").write_text("")
    (html / "index.html").write_text('<meta http-equiv="refresh" content="0; url=book/intro.html">')
    nav = NAV.format(extra='<li><a href="b.html">B</a></li>' if nav_b else "")
    (html / "book" / "intro.html").write_text(
        f'<html><head><link rel="stylesheet" href="../_static/style.css"></head><body>{nav}'
        f'<section id="intro"><h1>Intro</h1>{intro_body}</section></body></html>'
    )
    (html / "book" / "a.html").write_text(
        f'<html><body>{nav}<section id="a-top"><span id="eq-1"></span>'
        f'<a name="old-anchor"></a>{a_body}</section></body></html>'
    )
    if b_built:
        (html / "book" / "b.html").write_text(f"<html><body>{nav}<p id='b'>B</p></body></html>")
    toc = tmp_path / "_toc.yml"
    toc.write_text(TOC)
    return html, toc


def test_a_sound_book_passes(tmp_path):
    body = ('<a class="reference internal" href="a.html#eq-1"><span class="xref std std-ref">Eq. 1</span></a>'
            '<a href="a.html#old-anchor">old</a> <a href="#intro">top</a> '
            '<a href="https://example.org/x.html#nowhere">external</a> <a href="mailto:x@y.z">mail</a>'
            '<img src="../_static/style.css">')
    html, toc = make_book(tmp_path, intro_body=body)
    stats: dict = {}
    assert check_links.check(html, toc, stats) == []
    assert stats["pages"] == 4 and stats["anchors"] == 3 and stats["links"] >= 6
    assert check_links.main([str(html), "--toc", str(toc)]) == 0


def test_missing_page_anchor_and_asset_are_reported(tmp_path):
    body = ('<a href="c.html">gone</a> <a href="a.html#nope">bad anchor</a> '
            '<a href="#missing-here">bad local anchor</a> <img src="../_images/fig.png">')
    html, toc = make_book(tmp_path, intro_body=body)
    problems = check_links.check(html, toc)
    text = "\n".join(problems)
    assert len(problems) == 4, text
    assert "'c.html': no such file" in text
    assert "no anchor #nope in book/a.html" in text
    assert "no anchor #missing-here in this page" in text
    assert "'../_images/fig.png': no such file" in text
    assert check_links.main([str(html), "--toc", str(toc)]) == 1


def test_unresolved_cross_reference_is_reported(tmp_path):
    html, toc = make_book(tmp_path, a_body='see <span class="xref std std-ref">sec-missing</span>.')
    problems = check_links.check(html, toc)
    assert len(problems) == 1 and "unresolved cross-reference 'sec-missing'" in problems[0]


def test_page_missing_from_sidebar_or_build_is_reported(tmp_path):
    html, toc = make_book(tmp_path, nav_b=False)
    problems = check_links.check(html, toc)
    assert problems == ["book/b: in the toc but not in the sidebar of book/intro.html"]
    html2, toc2 = make_book(tmp_path / "2", b_built=False)
    problems = check_links.check(html2, toc2)
    assert any("book/b: in the toc but not built" in p for p in problems)


def test_toc_pages_reads_root_and_files(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(TOC)
    assert check_links.toc_pages(toc) == ["book/intro", "book/a", "book/b"]


def test_the_real_toc_is_read():
    pages = check_links.toc_pages(ROOT / "_toc.yml")
    assert pages[0] == "book/intro" and len(pages) > 10
