"""Sphinx extension: keep the built book free of CDN links.

Notebook outputs can carry links to CDNs that the book vendors in
``book/_static`` (see ``book/_static/VENDORED.txt``). The main one is the Font
Awesome stylesheet that matplotlib's ``FuncAnimation.to_jshtml()`` writes into
every animation. This extension rewrites such links, page by page, to the
vendored copy, so the HTML works offline and requests nothing from other hosts.

It also drops duplicated ``<script>`` entries: sphinx-thebe's inline
configuration (``const THEBE_JS_URL = ...``) is registered twice under
jupyter-book 1.0.4 / Sphinx 7.4, and the second copy is a JavaScript
``SyntaxError`` ("Identifier 'THEBE_JS_URL' has already been declared") on
every page.

Figures get text alternatives: an image (or the frame ``<img>`` of a
``to_jshtml`` animation) inside a captioned figure that has no ``alt`` text of
its own gets the first sentence of the caption as ``alt``, so screen readers
announce what the figure shows rather than a file name.

Loaded from ``_config.yml`` (``sphinx: local_extensions: lrbook_offline: scripts/``).
``tests/browser_check.py`` checks the result in a real browser.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

# regular expression for a CDN URL -> path of the vendored file under _static/
CDN_TO_STATIC: dict[str, str] = {
    r"https?://(?:maxcdn|stackpath|netdna)\.bootstrapcdn\.com/font-awesome/4\.[0-9.]+/css/"
    r"font-awesome(?:\.min)?\.css": "_static/fontawesome4/css/font-awesome.min.css",
    r"https?://cdnjs\.cloudflare\.com/ajax/libs/font-awesome/4\.[0-9.]+/css/"
    r"font-awesome(?:\.min)?\.css": "_static/fontawesome4/css/font-awesome.min.css",
}
_PATTERNS = [(re.compile(cdn), local) for cdn, local in CDN_TO_STATIC.items()]


def rewrite_cdn_links(html: str, pathto: Any) -> str:
    """Replace every known CDN URL in ``html`` by the page-relative vendored path."""
    for pattern, local in _PATTERNS:
        if pattern.search(html):
            html = pattern.sub(pathto(local, 1), html)
    return html


def _script_key(script: Any) -> tuple:
    """Identity of a script entry: its file (or inline body) and attributes."""
    filename = getattr(script, "filename", script) or ""  # inline scripts: None or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def dedupe_scripts(scripts: list) -> list:
    """``scripts`` without repeated entries (first occurrence kept, order unchanged)."""
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def _on_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    body = context.get("body")
    if isinstance(body, str) and "://" in body:
        context["body"] = rewrite_cdn_links(body, context["pathto"])
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        # in place: the list is the builder's own, restored by Sphinx for the next page
        scripts[:] = dedupe_scripts(scripts)


def first_sentence(text: str, limit: int = 250) -> str:
    """The first sentence of a caption (whitespace folded), cut at ``limit`` characters."""
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


_ANIM_IMG = re.compile(r'<img id="(_anim_img[0-9a-f]+)"(?![^>]*\salt=)')


def add_alt_text(doctree: nodes.Node) -> None:
    """Give every image in a captioned figure the caption's first sentence as ``alt``."""
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        alt = first_sentence(captions[0].astext())
        if not alt:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt") or image.get("alt") == image.get("uri"):
                image["alt"] = alt
        for raw in figure.findall(nodes.raw):
            if "_anim_img" in raw.astext():
                tag = r'<img id="\1" alt="' + html_lib.escape(alt, quote=True).replace("\\", "\\\\") + '"'
                new = _ANIM_IMG.sub(tag, raw.astext())
                raw.children = [nodes.Text(new)]


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    add_alt_text(doctree)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _on_page_context)
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
