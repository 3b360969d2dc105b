"""Sphinx extension: static pictures for the PDF where a notebook output is interactive.

The LaTeX builder cannot show HTML or JavaScript. myst-nb keeps every output as
a bundle of MIME types and picks, per builder, the first one it can show; for
LaTeX that is ``image/png`` (then ``text/latex``, ``text/plain``). Two kinds of
outputs in this book have HTML only, and would print as their ``text/plain``
repr (``<IPython.core.display.HTML object>``, ``interactive(children=...)``):

- matplotlib animations (``FuncAnimation.to_jshtml()``): their frames are
  embedded as base64 PNGs; the *last* frame (the whole trajectory) is added to
  the bundle as ``image/png``;
- ipywidgets (``interact``): the figure that the widget's output area shows in
  its saved state (the default slider values) is added as ``image/png``; a
  widget without such a figure gets a one-line note instead (``text/latex``).

A figure whose body is text (a table printed by a cell, set in ``Verbatim``)
cannot carry a hyperlink in its LaTeX caption (hyperref stops with "Argument of
\\Hy@tempa has an extra }"); for the LaTeX builder the links in such captions
(citations) become plain text.

The root page's sections (who the book is for, notation, ...) come before the
first chapter; in the PDF they are unnumbered chapters, and the chapters proper
are numbered from 1.

And one output has a ``text/latex`` that is not math: IPython's ``Code``
(``lrbook.plotting.show_source``) offers a Pygments ``Verbatim`` block, which
myst-nb would typeset as a formula (a TeX error). That ``text/latex`` is
dropped, so the PDF prints the ``text/plain`` source.

The HTML builders still choose the HTML (it comes first in their order), so the
web pages do not change. Runs when a document has been read (before Sphinx
collects its images), for every builder, since HTML and LaTeX builds share the
environment.

Loaded from ``_config.yml`` (``sphinx: local_extensions: lrbook_latex: scripts/``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

STATIC = ("image/png", "image/jpeg", "application/pdf", "image/svg+xml")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_FRAME = re.compile(r'frames\[(\d+)\]\s*=\s*"data:image/(png|jpeg);base64,([^"]+)"')
_MODEL_REF = re.compile(r"^IPY_MODEL_([0-9a-f]+)$")


def last_animation_frame(html: str) -> tuple[str, bytes] | None:
    """(extension, bytes) of the last embedded frame of a ``to_jshtml`` animation, else None."""
    frames = {int(m.group(1)): (m.group(2), m.group(3)) for m in _FRAME.finditer(html)}
    if not frames:
        return None
    ext, data = frames[max(frames)]
    return ("jpg" if ext == "jpeg" else ext), base64.b64decode(data)


def widget_image(state: dict, model_id: str) -> bytes | None:
    """The first PNG shown inside the widget ``model_id`` (its children, output areas)."""
    seen: set[str] = set()
    todo = [model_id]
    while todo:
        mid = todo.pop(0)
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        model = state[mid].get("state", {})
        for output in model.get("outputs", []) or []:
            png = (output.get("data") or {}).get("image/png")
            if png:
                return base64.b64decode(png if isinstance(png, str) else "".join(png))
        for value in model.values():
            refs = value if isinstance(value, list) else [value]
            for ref in refs:
                match = _MODEL_REF.match(ref) if isinstance(ref, str) else None
                if match:
                    todo.append(match.group(1))
    return None


def _widget_state(env: Any, docname: str) -> dict:
    js_files = getattr(env, "nb_metadata", {}).get(docname, {}).get("js_files", {})
    entry = js_files.get("ipywidgets_state")
    if not entry:
        return {}
    try:
        return json.loads(entry[1]["body"]).get("state", {})
    except (KeyError, TypeError, ValueError):
        return {}


def _image_child(app: Sphinx, data: bytes, ext: str) -> nodes.container:
    folder = Path(app.env.mystnb_config.output_folder) / "lrbook_static"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.{ext}"
    if not path.exists():
        path.write_bytes(data)
    uri = "/" + os.path.relpath(path.resolve(), app.srcdir)  # myst-nb's convention
    child = nodes.container(mime_type=f"image/{'jpeg' if ext == 'jpg' else ext}")
    child += nodes.image(uri=uri)
    return child


def add_static_fallbacks(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    state: dict | None = None
    for bundle in list(doctree.findall(nodes.container)):
        if bundle.get("nb_element") != "mime_bundle":
            continue
        types = {child.get("mime_type"): child for child in bundle.children}
        if "text/latex" in types and "\\begin{Verbatim}" in types["text/latex"].astext():
            bundle.remove(types.pop("text/latex"))
        if any(t in types for t in STATIC):
            continue
        if "text/html" in types:
            frame = last_animation_frame(types["text/html"].astext())
            if frame is not None:
                ext, data = frame
                bundle += _image_child(app, data, ext)
                continue
        if WIDGET_VIEW in types:
            if state is None:
                state = _widget_state(app.env, docname)
            raw = types[WIDGET_VIEW].astext()
            match = re.search(r'"model_id"\s*:\s*"([0-9a-f]+)"', raw)
            data = widget_image(state, match.group(1)) if match else None
            if data is not None:
                bundle += _image_child(app, data, "png")
            else:
                note = nodes.container(mime_type="text/latex")
                note += nodes.paragraph(
                    text="[An interactive widget: see the HTML version of the book.]"
                )
                bundle += note


class UnlinkTextFigureCaptions(SphinxPostTransform):
    """LaTeX only: the links in the caption of a figure without an image become text."""

    default_priority = 900  # after every reference (and citation) is resolved
    formats = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for figure in self.document.findall(nodes.figure):
            if any(True for _ in figure.findall(nodes.image)):
                continue
            for caption in figure.findall(nodes.caption):
                for ref in list(caption.findall(nodes.reference)):
                    ref.replace_self(ref.children or [nodes.Text(ref.astext())])
                # sphinxcontrib-bibtex writes a citation's link for LaTeX as two
                # ``raw_latex`` nodes, "\\hyperlink{cite...}{" and "}": drop both
                for raw in [n for n in caption.findall() if n.tagname == "raw_latex"]:
                    raw.parent.remove(raw)


class UnnumberedFrontMatter(SphinxPostTransform):
    """LaTeX only: the root page's sections are unnumbered; chapter 1 is the first page of the toc."""

    default_priority = 900
    formats = ("latex",)

    def run(self, **kwargs: Any) -> None:
        files = list(self.document.findall(addnodes.start_of_file))
        roots = [s for s in self.document.children if isinstance(s, nodes.section)]
        if not files or not roots:
            return  # not the assembled book
        root = roots[0]
        first = files[0]
        before = nodes.raw(
            "",
            "\\newcounter{lrbooksecnumdepth}\\setcounter{lrbooksecnumdepth}{\\value{secnumdepth}}"
            "\\setcounter{secnumdepth}{-1}\n",
            format="latex",
        )
        after = nodes.raw(
            "",
            "\\setcounter{secnumdepth}{\\value{lrbooksecnumdepth}}\\setcounter{chapter}{0}\n",
            format="latex",
        )
        titles = [i for i, child in enumerate(root.children) if isinstance(child, nodes.title)]
        root.insert(titles[0] + 1 if titles else 0, before)
        first.parent.insert(first.parent.index(first), after)


def setup(app: Sphinx) -> dict[str, Any]:
    # before Sphinx's image collector (priority 500) registers the document's images
    app.connect("doctree-read", add_static_fallbacks, priority=400)
    app.add_post_transform(UnlinkTextFigureCaptions)
    app.add_post_transform(UnnumberedFrontMatter)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
