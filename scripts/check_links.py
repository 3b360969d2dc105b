"""Check the built HTML book: every internal link resolves and the sidebar reaches every page.

Usage: python scripts/check_links.py [_build/html] [--toc _toc.yml]

For every HTML page of the build (skipping ``_static``, ``_sources``, ``_images``):

- every ``href`` of ``<a>`` and ``<link>`` and every ``src`` of ``<img>``, ``<script>``,
  ``<source>`` and ``<iframe>`` that points into the book (no scheme, not ``//host``)
  must name an existing file, and an ``#anchor`` on a page must be an ``id`` (or an
  ``<a name>``) of the target page; a link to a missing page or anchor is reported;
- a cross-reference Sphinx could not resolve (``{ref}``, ``{doc}``, ``{numref}``,
  ``{term}``: an element of class ``xref std`` that is not inside a link) is reported;
- the sidebar (``nav.bd-docs-nav``) of the root page must link every page of
  ``_toc.yml``, and every page of ``_toc.yml`` must have been built.

Exit status 0 when nothing is reported, 1 otherwise. ``make test`` runs it after the
book build (``scripts/run_checks.py``, step ``links``).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads"}
LINK_ATTRS = {
    "a": "href",
    "link": "href",
    "img": "src",
    "script": "src",
    "source": "src",
    "iframe": "src",
}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class PageInfo:
    """What one HTML page defines and links to."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str, int]] = field(default_factory=list)  # (tag, url, line)
    unresolved: list[tuple[str, int]] = field(default_factory=list)  # (text, line)
    sidebar: list[str] = field(default_factory=list)  # hrefs inside nav.bd-docs-nav


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.info = PageInfo()
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, in_link, in_sidebar)
        self._xref: list[int] = []  # stack depth of open unresolved xrefs
        self._xref_text: list[str] = []

    def _state(self) -> tuple[bool, bool]:
        return (self._stack[-1][1], self._stack[-1][2]) if self._stack else (False, False)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        in_link, in_sidebar = self._state()
        line = self.getpos()[0]
        for key in ("id",):
            if a.get(key):
                self.info.ids.add(a[key])
        if tag == "a" and a.get("name"):
            self.info.ids.add(a["name"])
        attr = LINK_ATTRS.get(tag)
        if attr and a.get(attr) is not None and attr in a:
            self.info.links.append((tag, a[attr], line))
            if tag == "a" and in_sidebar:
                self.info.sidebar.append(a[attr])
        classes = a.get("class", "").split()
        if tag == "nav" and "bd-docs-nav" in classes:
            in_sidebar = True
        if "xref" in classes and "std" in classes and not in_link and not self._xref:
            self._xref.append(len(self._stack))
            self._xref_text.append("")
        if tag == "a" and "href" in a:
            in_link = True
        if tag not in VOID:
            self._stack.append((tag, in_link, in_sidebar))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._stack and self._stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        # pop to the matching open tag (HTML in the wild is not always well nested)
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                break
        if self._xref and len(self._stack) <= self._xref[-1]:
            self._xref.pop()
            text = " ".join(self._xref_text.pop().split())
            self.info.unresolved.append((text, self.getpos()[0]))

    def handle_data(self, data: str) -> None:
        if self._xref_text:
            self._xref_text[-1] += data


def parse_page(path: Path) -> PageInfo:
    """Ids, links, unresolved cross-references and sidebar links of one HTML file."""
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf8", errors="replace"))
    parser.close()
    return parser.info


def html_pages(root: Path) -> list[Path]:
    """Every HTML page under ``root`` outside the asset folders."""
    return sorted(
        p for p in root.rglob("*.html")
        if not any(part in SKIP_DIRS or part.startswith(".") for part in p.relative_to(root).parts[:-1])
    )


def toc_pages(toc: Path) -> list[str]:
    """The ``root`` and every ``file`` of a jupyter-book ``_toc.yml``, in order."""
    data = yaml.safe_load(toc.read_text())
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    out.append(re.sub(r"\.(md|ipynb|rst)$", "", node[key]))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return out


def _is_internal(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


def check(root: Path, toc: Path | None = None, stats: dict | None = None) -> list[str]:
    """Every problem found in the build at ``root`` (an empty list when all is well).

    ``stats``, if given, receives the numbers of pages, internal links and anchors checked.
    """
    stats = {} if stats is None else stats
    stats.update(pages=0, links=0, anchors=0)
    root = root.resolve()
    problems: list[str] = []
    pages = html_pages(root)
    infos: dict[Path, PageInfo] = {p.resolve(): parse_page(p) for p in pages}

    def ids_of(path: Path) -> set[str] | None:
        if path not in infos and path.suffix == ".html" and path.is_file():
            infos[path] = parse_page(path)
        return infos[path].ids if path in infos else None

    stats["pages"] = len(pages)
    for page in pages:
        rel = page.relative_to(root).as_posix()
        info = infos[page.resolve()]
        for tag, url, line in info.links:
            if not url or not _is_internal(url) or url.startswith(("javascript:", "data:")):
                continue
            stats["links"] += 1
            parts = urlsplit(url)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
            if parts.path and not target.is_relative_to(root):
                problems.append(f"{rel}:{line}: <{tag}> {url!r} points outside the book")
                continue
            if not target.exists():
                problems.append(f"{rel}:{line}: <{tag}> {url!r}: no such file")
                continue
            if target.is_dir():
                target = target / "index.html"
                if not target.exists():
                    problems.append(f"{rel}:{line}: <{tag}> {url!r}: folder without index.html")
                    continue
            fragment = unquote(parts.fragment)
            if fragment and tag == "a" and target.suffix == ".html":
                ids = ids_of(target)
                stats["anchors"] += 1
                if ids is not None and fragment not in ids:
                    where = "this page" if target == page.resolve() else target.relative_to(root).as_posix()
                    problems.append(f"{rel}:{line}: link {url!r}: no anchor #{fragment} in {where}")
        for text, line in info.unresolved:
            problems.append(f"{rel}:{line}: unresolved cross-reference {text!r}")

    if toc is not None:
        wanted = toc_pages(toc)
        if not wanted:
            problems.append(f"{toc}: no pages")
            return problems
        root_page = (root / (wanted[0] + ".html")).resolve()
        for name in wanted:
            if not (root / (name + ".html")).is_file():
                problems.append(f"{name}: in the toc but not built ({name}.html missing)")
        if root_page in infos:
            reached = {root_page}
            for href in infos[root_page].sidebar:
                path = urlsplit(href).path
                reached.add((root_page.parent / unquote(path)).resolve() if path else root_page)
            for name in wanted:
                target = (root / (name + ".html")).resolve()
                if target.is_file() and target not in reached:
                    problems.append(f"{name}: in the toc but not in the sidebar of {wanted[0]}.html")
            if not infos[root_page].sidebar:
                problems.append(f"{wanted[0]}.html: no sidebar (nav.bd-docs-nav) found")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default=ROOT / "_build" / "html", type=Path)
    parser.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").exists():
        print(f"link check: no built book at {args.html} (build it first)")
        return 1
    stats: dict = {}
    problems = check(args.html, args.toc, stats)
    for problem in problems:
        print(f"FAIL {problem}")
    print(
        f"link check: {stats['pages']} pages, {stats['links']} internal links "
        f"({stats['anchors']} with an #anchor), {len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
