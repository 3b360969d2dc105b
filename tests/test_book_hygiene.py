"""Cheap checks on the book's sources, run before anything is executed.

- notebooks are stored without outputs, execution counts or widget state, use
  the ``python3`` kernel, have a title and never download data;
- every page under ``book/`` is in ``_toc.yml`` and every toc entry exists;
- every ``{cite}`` key exists in ``book/references.bib`` (and keys are unique);
- every ``{glue}`` key used in a notebook's text is glued by that notebook, and no
  ``{glue:figure}`` value is also shown as its cell's output (it would appear twice);
- ``_config.yml`` points at vendored JavaScript that exists (no CDN);
- the helpers of ``scripts/lrbook_offline.py`` and ``tests/browser_check.py``
  do what the build and the browser check rely on.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SKIP_PARTS = {"_static", "_build", ".ipynb_checkpoints", "__pycache__"}


def _pages(suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for p in BOOK.rglob("*")
        if p.suffix in suffixes
        and p.is_file()
        and not SKIP_PARTS.intersection(p.relative_to(BOOK).parts)
    )


NOTEBOOKS = _pages((".ipynb",))
PAGES = _pages((".ipynb", ".md"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _read_nb(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# --- notebooks --------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_is_valid_and_stripped(path: Path) -> None:
    nb = _read_nb(path)
    nbformat.validate(nb)
    dirty = [
        f"cell {i}: {len(cell.get('outputs', []))} outputs, execution_count={cell.get('execution_count')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{_rel(path)} is stored with outputs; strip them with "
        f"`.venv/bin/python scripts/strip_notebooks.py {_rel(path)}`:\n" + "\n".join(dirty)
    )
    assert "widgets" not in nb.metadata, (
        f"{_rel(path)} stores ipywidgets state in its metadata; "
        f"run `.venv/bin/python scripts/strip_notebooks.py {_rel(path)}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_kernel_is_python3(path: Path) -> None:
    kernelspec = _read_nb(path).metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{_rel(path)}: kernelspec {kernelspec!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_has_a_title(path: Path) -> None:
    nb = _read_nb(path)
    titles = [
        line
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if re.match(r"#\s+\S", line)
    ]
    assert len(titles) == 1, f"{_rel(path)} needs exactly one '# ' title, found {titles!r}"


FORBIDDEN_CODE = [
    (re.compile(r"\bget_dataset\s*\("), "mnist1d get_dataset downloads; use make_dataset"),
    (re.compile(r"download\s*=\s*True"), "no downloads at run time"),
    (re.compile(r"\burlretrieve\b|\brequests\.get\b|\burlopen\b"), "no network access at run time"),
    (re.compile(r"^\s*[!%]\s*pip\b", re.M), "no pip installs in notebooks"),
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_stays_offline(path: Path) -> None:
    code = "\n".join(c.source for c in _read_nb(path).cells if c.cell_type == "code")
    problems = [why for pattern, why in FORBIDDEN_CODE if pattern.search(code)]
    assert not problems, f"{_rel(path)}: {problems}"


GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\s*\{glue(?::[a-z]+)?\}\s+(\S+)", re.M)


def _glued_names(code: str) -> set[str] | None:
    """Names passed as a literal first argument to ``glue(...)``; None if any is dynamic."""
    names: set[str] = set()
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython magics: fall back to a regular expression
        for match in re.finditer(r"\bglue\s*\(\s*([^,)]+)", code):
            arg = match.group(1).strip()
            if not re.fullmatch(r"""(['"])[^'"]+\1""", arg):
                return None
            names.add(arg[1:-1])
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "glue" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
                else:
                    return None
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_glue_keys_are_glued(path: Path) -> None:
    nb = _read_nb(path)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    used = {m.split(":")[0].strip() for m in GLUE_ROLE.findall(text)}
    used |= set(GLUE_DIRECTIVE.findall(text))
    used = {key for key in used if "::" not in key}  # keys from other pages are not checked
    code = "\n".join(
        "\n".join(
            line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for c in nb.cells
        if c.cell_type == "code"
    )
    glued = _glued_names(code)
    if glued is None:
        pytest.skip("names are glued dynamically; the strict build checks them")
    missing = sorted(used - glued)
    assert not missing, f"{_rel(path)} uses glue keys that no cell glues: {missing}"


def _shown_twice(cell_source: str, figure_keys: set[str]) -> list[str]:
    """Glue keys of ``{glue:figure}`` directives whose value the same cell also displays.

    A cell that glues ``x`` for a captioned ``{glue:figure}`` and then ends with the bare
    expression ``x`` shows the table or figure twice on the page: once as the cell's
    output, once in the figure.
    """
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return []
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return []
    shown = ast.dump(tree.body[-1].value)
    twice = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "glue"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in figure_keys
            and ast.dump(node.args[1]) == shown
        ):
            twice.append(node.args[0].value)
    return twice


def test_shown_twice_detects_a_displayed_glued_value() -> None:
    code = 'table = 1\nglue("t", table, display=False)\ntable'
    assert _shown_twice(code, {"t"}) == ["t"]
    assert _shown_twice(code.rsplit("\n", 1)[0], {"t"}) == []
    assert _shown_twice(code, {"other"}) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_glued_figures_are_not_also_displayed(path: Path) -> None:
    nb = _read_nb(path)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    figure_keys = set(re.findall(r"\{glue:figure\}\s*([A-Za-z0-9_]+)", text))
    twice = [
        key
        for c in nb.cells
        if c.cell_type == "code"
        for key in _shown_twice(c.source, figure_keys)
    ]
    assert not twice, f"{_rel(path)} displays these glued figures twice (cell output and figure): {twice}"


# --- table of contents ------------------------------------------------------------------


def _toc_files(node) -> list[str]:
    files: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                files.append(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def _toc_entries() -> list[str]:
    return _toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8")))


def _resolve(entry: str) -> Path | None:
    base = ROOT / entry
    if base.suffix in (".md", ".ipynb") and base.is_file():
        return base
    for suffix in (".ipynb", ".md"):
        if base.with_suffix(suffix).is_file():
            return base.with_suffix(suffix)
    return None


def test_toc_entries_exist() -> None:
    entries = _toc_entries()
    assert entries, "_toc.yml lists no pages"
    missing = [entry for entry in entries if _resolve(entry) is None]
    assert not missing, f"_toc.yml entries without a book/<name>.ipynb or .md page: {missing}"
    assert len(entries) == len(set(entries)), "_toc.yml lists a page twice"


def test_every_page_is_in_toc() -> None:
    listed = {p.resolve() for p in map(_resolve, _toc_entries()) if p is not None}
    orphans = [_rel(p) for p in PAGES if p.resolve() not in listed]
    assert not orphans, (
        f"pages in book/ missing from _toc.yml (only_build_toc_files skips them): {orphans}"
    )


def test_no_page_exists_twice() -> None:
    stems = [p.with_suffix("").as_posix() for p in PAGES]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    assert not duplicates, f"both .md and .ipynb for: {duplicates}"


# --- citations --------------------------------------------------------------------------

BIB_KEY = re.compile(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", re.M)
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def _bib_keys() -> list[str]:
    return BIB_KEY.findall((BOOK / "references.bib").read_text(encoding="utf8"))


def _page_text(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join(c.source for c in _read_nb(path).cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf8")


def test_bib_keys_are_unique() -> None:
    keys = _bib_keys()
    assert keys, "book/references.bib has no entries"
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate keys in book/references.bib: {duplicates}"


@pytest.mark.parametrize("path", PAGES, ids=_rel)
def test_cited_keys_exist(path: Path) -> None:
    keys = set(_bib_keys())
    cited = {
        key.strip() for group in CITE_ROLE.findall(_page_text(path)) for key in group.split(",")
    }
    missing = sorted(cited - keys)
    assert not missing, f"{_rel(path)} cites keys missing from book/references.bib: {missing}"


# --- configuration: offline assets --------------------------------------------------------


def _sphinx_config() -> dict:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    return config["sphinx"]["config"]


def test_config_points_at_vendored_javascript() -> None:
    sphinx = _sphinx_config()
    static = [ROOT / p for p in sphinx["html_static_path"]]
    assert static == [BOOK / "_static"]
    files = [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]
    assert not [f for f in files if "://" in f], f"CDN URLs in _config.yml: {files}"
    missing = [f for f in files if not (BOOK / "_static" / f).is_file()]
    assert not missing, f"vendored files missing from book/_static (run `make vendor`): {missing}"
    cdn = [
        v for opts in sphinx["nb_ipywidgets_js"].values() for v in opts.values() if "://" in str(v)
    ]
    assert not cdn, f"ipywidgets would load modules from a CDN: {cdn}"


def test_mathjax_fonts_are_vendored() -> None:
    fonts = list((BOOK / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, "MathJax CHTML fonts are missing (run `make vendor`)"


def test_vendored_size_is_modest() -> None:
    size = sum(p.stat().st_size for p in (BOOK / "_static").rglob("*") if p.is_file())
    assert size < 12 * 2**20, f"book/_static holds {size / 2**20:.1f} MiB"


# --- the helpers the build and the browser check rely on ------------------------------------


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def offline():
    return _load(ROOT / "scripts" / "lrbook_offline.py", "lrbook_offline")


@pytest.fixture(scope="module")
def browser_check():
    return _load(ROOT / "tests" / "browser_check.py", "browser_check")


def test_cdn_links_are_rewritten(offline) -> None:
    html = '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/font-awesome.min.css">'
    out = offline.rewrite_cdn_links(html, lambda path, resource: "../" + path)
    assert out == '<link rel="stylesheet" href="../_static/fontawesome4/css/font-awesome.min.css">'
    assert (BOOK / "_static/fontawesome4/css/font-awesome.min.css").is_file()
    untouched = '<a href="https://example.org/x.css">'
    assert offline.rewrite_cdn_links(untouched, lambda p, r: p) == untouched


def test_duplicate_scripts_are_dropped(offline) -> None:
    from sphinx.builders.html._assets import _JavaScript

    scripts = [
        _JavaScript("_static/a.js"),
        _JavaScript(None, body="const X = 1"),
        _JavaScript("_static/b.js", **{"async": "async"}),
        _JavaScript("", body="const X = 1"),  # same inline script, registered again
        _JavaScript("_static/a.js"),
        _JavaScript("", body="const Y = 2"),
    ]
    kept = offline.dedupe_scripts(scripts)
    assert [(s.filename, s.attributes) for s in kept] == [
        ("_static/a.js", {}),
        (None, {"body": "const X = 1"}),
        ("_static/b.js", {"async": "async"}),
        ("", {"body": "const Y = 2"}),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "the step $\\eta$ is",
        "display $$x$$ math",
        "inline \\(x\\) math",
        "a \\frac{1}{2} half",
        "\\begin{align} x \\end{align}",
        "the rate \\eta left over",
    ],
)
def test_raw_tex_is_detected(browser_check, text: str) -> None:
    assert browser_check.raw_tex_problems(text)


@pytest.mark.parametrize(
    "text",
    ["it costs $5 and $10 at most", "plain prose with no maths", "a path C:\\frames\\x", "US$ 3"],
)
def test_plain_text_passes_raw_tex_check(browser_check, text: str) -> None:
    assert browser_check.raw_tex_problems(text) == []


def test_pages_and_redirects_are_found(browser_check, tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "x.html").write_text("<html></html>")
    (tmp_path / "book" / "a.html").write_text("<html></html>")
    (tmp_path / "index.html").write_text(
        '<html><head><meta http-equiv="Refresh" content="0; url=book/a.html" /></head></html>'
    )
    assert browser_check.find_pages(tmp_path) == ["book/a.html", "index.html"]
    assert browser_check.redirect_target(tmp_path, "index.html") == "book/a.html"
    assert browser_check.redirect_target(tmp_path, "book/a.html") is None
