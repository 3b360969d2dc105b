"""Sphinx extension: the API reference of ``lrbook``, driven by ``__all__``.

The directive ``.. lrbook-api:: lrbook`` (used in ``book/api.md``, inside ``{eval-rst}``) writes one
section per public module of the package (every module and subpackage whose
dotted name has no part starting with ``_``), with the module's docstring
(``automodule``) and an ``autoclass`` / ``autofunction`` / ``autodata`` entry
for each public name, so that a module or optimizer added to ``lrbook`` appears
in the book without editing the page.

The public names of a module are its ``__all__`` (or, without one, the
functions and classes it defines whose names do not start with ``_``). A name
that several modules export (``lrbook.optim.Adam`` is also
``lrbook.optim.adam.Adam``) is documented once, under the shortest module path
that exports it (the name readers use); the other modules list it with a link.
A module object in ``__all__`` (``lrbook.optim.keras``) gets its own section.

Loaded from ``_config.yml`` (``sphinx: local_extensions: lrbook_api: scripts/``);
needs ``sphinx.ext.autodoc`` and ``sphinx.ext.napoleon``.
``tests/test_api_reference.py`` checks that the plan covers every public name.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


@dataclass
class ModuleEntry:
    """What the reference shows for one module."""

    name: str
    documented: list[tuple[str, str]] = field(default_factory=list)  # (name, kind) documented here
    elsewhere: list[tuple[str, str]] = field(default_factory=list)  # (full name, kind) of re-exports


def public_modules(package: str) -> list[str]:
    """``package`` and every public module below it, sorted by dotted name."""
    root = importlib.import_module(package)
    names = [package]
    if hasattr(root, "__path__"):
        for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names)


def public_names(module: ModuleType) -> list[str]:
    """``module.__all__``, or the public functions and classes the module defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == module.__name__
    ]


def kind_of(obj: Any) -> str:
    """The autodoc directive for ``obj``: module, class, function or data."""
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if inspect.isroutine(obj) or (callable(obj) and hasattr(obj, "__wrapped__")):
        return "function"  # functions, builtins and functools wrappers (lru_cache)
    return "data"


def _identity(obj: Any) -> Any:
    # plain constants (ints, strings) can be shared by accident; only name them once per module
    return id(obj) if kind_of(obj) in ("class", "function") else None


def api_plan(package: str) -> list[ModuleEntry]:
    """One :class:`ModuleEntry` per public module: where each public name is documented.

    Raises ``AttributeError`` when a module's ``__all__`` names a missing attribute.
    """
    modules = public_modules(package)
    home: dict[int, str] = {}  # id of a class/function -> full name where it is documented
    # shortest module path first: the package's re-exports win over the defining submodule
    for modname in sorted(modules, key=lambda m: (m.count("."), m)):
        module = importlib.import_module(modname)
        for name in public_names(module):
            obj = getattr(module, name)
            key = _identity(obj)
            if key is not None and key not in home:
                home[key] = f"{modname}.{name}"
    plan = []
    for modname in modules:
        module = importlib.import_module(modname)
        entry = ModuleEntry(modname)
        for name in public_names(module):
            obj = getattr(module, name)
            kind = kind_of(obj)
            full = f"{modname}.{name}"
            if kind == "module":
                entry.elsewhere.append((obj.__name__, kind))
                continue
            key = _identity(obj)
            if key is None or home[key] == full:
                entry.documented.append((name, kind))
            else:
                entry.elsewhere.append((home[key], kind))
        plan.append(entry)
    return plan


_ROLE = {"module": "mod", "class": "class", "function": "func", "data": "data"}


def module_rst(entry: ModuleEntry) -> list[str]:
    """The reStructuredText of one module's section (without its title)."""
    lines = [f".. automodule:: {entry.name}", ""]
    if entry.elsewhere:
        links = ", ".join(f":{_ROLE[kind]}:`~{full}`" for full, kind in entry.elsewhere)
        lines += [f"Also exports (documented where shown): {links}.", ""]
    for name, kind in entry.documented:
        full = f"{entry.name}.{name}"
        if kind == "class":
            lines += [f".. autoclass:: {full}", "   :members:", "   :undoc-members:", ""]
        elif kind == "function":
            lines += [f".. autofunction:: {full}", ""]
        else:
            lines += [f".. autodata:: {full}", "   :no-value:", ""]
    return lines


def skip_foreign_member(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any):
    """``autodoc-skip-member``: skip a class attribute that is a function from another
    package (``Task.loss = torch.nn.functional.cross_entropy``): not lrbook's API."""
    if callable(obj) and not inspect.isclass(obj):
        module = getattr(obj, "__module__", None) or ""
        if module and not module.startswith("lrbook"):
            return True
    return None


def drop_type_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]):
    """``autodoc-process-docstring``: a constant without a docstring of its own (``#:``
    comment) would show its type's docstring (``dict``'s); show nothing instead."""
    if what in ("data", "attribute") and not inspect.isroutine(obj) and not inspect.isclass(obj):
        type_doc = inspect.cleandoc(type(obj).__doc__ or "")
        if type_doc and "\n".join(lines).strip() == type_doc.strip():
            lines.clear()


def _instance_attribute(owner: str, target: str) -> bool:
    # ``:attr:`history``` in a class docstring: an attribute the class sets on ``self``
    parts = owner.split(".")
    for k in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        try:
            for part in parts[k:]:
                obj = getattr(obj, part)
            source = inspect.getsource(obj if inspect.isclass(obj) else inspect.getmodule(obj))
        except (AttributeError, OSError, TypeError):
            return False
        return f"self.{target} =" in source or f"self.{target}:" in source
    return False


def aliases(package: str) -> dict[str, str]:
    """Every ``module.name`` of a public ``__all__`` -> the full name it is documented under."""
    out: dict[str, str] = {}
    for entry in api_plan(package):
        for name, _kind in entry.documented:
            out[f"{entry.name}.{name}"] = f"{entry.name}.{name}"
        for full, kind in entry.elsewhere:
            if kind != "module":
                out[f"{entry.name}.{full.rsplit('.', 1)[1]}"] = full
    return out


_ALIASES: dict[str, str] = {}


def _docstring_owner(node: nodes.Node) -> str | None:
    # autodoc sets the source of docstring lines to "<file>:docstring of <full name>"
    source = node.source or ""
    marker = "docstring of "
    return source.split(marker, 1)[1].strip() if marker in source else None


def resolve_lrbook_reference(app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Node):
    """``missing-reference``: resolve a Python reference to an ``lrbook`` object that a
    docstring writes relative to its *defining* module (``:func:`sgd_update``` in
    ``lrbook.optim.sgd.SGD``, shown as ``lrbook.optim.SGD``) or by a re-exported
    name (``lrbook.schedules.functions.linear_warmup``). Anything else stays unresolved
    (and a nitpicky warning)."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    if not _ALIASES:
        _ALIASES.update(aliases("lrbook"))
    table = _ALIASES
    owner = _docstring_owner(node) or ""
    prefixes = [owner.rsplit(".", k)[0] for k in range(1, owner.count(".") + 1)] if owner else []
    prefixes += [p for p in (node.get("py:class"), node.get("py:module")) if p]
    candidates = [target] + [f"{p}.{target}" for p in prefixes]
    domain = env.get_domain("py")
    for candidate in candidates:
        full = table.get(candidate)
        if full is None and candidate.startswith("lrbook.") and candidate in domain.objects:
            full = candidate
        if full is None:
            continue
        new = node.deepcopy()
        new["reftarget"] = full
        new["refspecific"] = False
        resolved = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], full, new, contnode
        )
        if resolved is not None:
            return resolved
    if node["reftype"] == "attr" and "." not in target and owner.startswith("lrbook."):
        if _instance_attribute(owner, target):  # real, but not a documented entry: no link
            return contnode
    return None


class LrbookApiDirective(SphinxDirective):
    """``.. lrbook-api:: package``: the reference of every public module of ``package``."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        result: list[nodes.Node] = []
        source = self.get_source_info()[0] or "<lrbook-api>"
        for entry in api_plan(self.arguments[0]):
            section = nodes.section(ids=[nodes.make_id("api " + entry.name)])
            section += nodes.title(text=entry.name)
            content = StringList(module_rst(entry), source=source)
            self.state.nested_parse(content, self.content_offset, section)
            result.append(section)
        return result


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("lrbook-api", LrbookApiDirective)
    app.connect("autodoc-skip-member", skip_foreign_member)
    app.connect("autodoc-process-docstring", drop_type_docstring)
    app.connect("missing-reference", resolve_lrbook_reference)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
