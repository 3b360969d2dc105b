"""Every lrbook module imports after installing what its documentation asks for.

A module's "documented install" is the core dependencies of ``pyproject.toml``
plus each extra the module names as ``lrbook[EXTRA]`` anywhere in its source
(docstring or error messages); a module that names none must import with the
core dependencies alone. The check is static (``ast``): every import executed
when the module is imported (module level, including ``try`` blocks, excluding
``if TYPE_CHECKING:``) must be the standard library, lrbook itself, or a
distribution in the dependency closure of that install (the declared packages
and everything they require, read from the installed metadata). Imports inside
functions run only when the function is called: they must at least be declared
in some extra. The whole package is scanned, so new modules are covered.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lrbook"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PYPROJECT.get("optional-dependencies", {})


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(specs: list[str]) -> list[Requirement]:
    """Requirements of a list, with ``lrbook[...]`` self-references expanded."""
    out = []
    for spec in specs:
        req = Requirement(spec)
        if _norm(req.name) == "lrbook":
            for extra in req.extras:
                out.extend(_requirements(EXTRAS[extra]))
        else:
            out.append(req)
    return out


@cache
def _closure(extras: tuple[str, ...]) -> frozenset[str]:
    """Normalised names of every distribution installed by core + ``extras``."""
    todo = _requirements(PYPROJECT["dependencies"])
    for extra in extras:
        todo.extend(_requirements(EXTRAS[extra]))
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = _norm(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue  # declared but not installed here: its own deps are unknown
        for spec in requires:
            sub = Requirement(spec)
            wanted = sub.marker is None or sub.marker.evaluate({"extra": ""})
            wanted = wanted or any(sub.marker.evaluate({"extra": e}) for e in req.extras)
            if wanted:
                todo.append(sub)
    return frozenset(seen)


@cache
def _distributions_of(top_level: str) -> frozenset[str]:
    names = metadata.packages_distributions().get(top_level, [])
    return frozenset(_norm(n) for n in names) or frozenset({_norm(top_level)})


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Top-level names imported at import time, and those imported inside functions."""
    eager: set[str] = set()
    lazy: set[str] = set()

    def names(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name.split(".")[0] for alias in node.names]
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            return [node.module.split(".")[0]]
        return []

    def visit(body: list[ast.stmt], into: set[str]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                for sub in ast.walk(node):
                    lazy.update(names(sub))
            elif isinstance(node, ast.If) and _is_type_checking(node):
                continue
            elif isinstance(node, ast.ClassDef):
                visit(node.body, into)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(node, field, []), into)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, into)
            else:
                into.update(names(node))

    visit(tree.body, eager)
    return eager, lazy


def _third_party(names: set[str]) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("lrbook", "__future__")}


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _named_extras(source: str) -> tuple[str, ...]:
    return tuple(sorted(set(re.findall(r"lrbook\[([a-z0-9_-]+)\]", source))))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_with_its_documented_install(path: Path) -> None:
    source = path.read_text()
    eager, lazy = _imports(ast.parse(source))
    extras = _named_extras(source)
    for extra in extras:
        assert extra in EXTRAS, f"{path.name} names lrbook[{extra}], which pyproject.toml does not define"
    installs = [(extra,) for extra in extras] or [()]
    for install in installs:
        available = _closure(install)
        missing = {n for n in _third_party(eager) if not _distributions_of(n) & available}
        label = "core" + "".join(f" + [{e}]" for e in install)
        assert not missing, (
            f"{path.relative_to(ROOT)} imports {sorted(missing)} at module level, which {label} "
            "does not install: declare it there, import it inside the function that needs it, "
            "or name the extra that provides it as lrbook[EXTRA] in the module docstring"
        )
    everything = _closure(tuple(EXTRAS))
    undeclared = {n for n in _third_party(lazy) if not _distributions_of(n) & everything}
    assert not undeclared, f"{path.relative_to(ROOT)} imports {sorted(undeclared)}, declared in no extra"


def test_the_check_sees_a_missing_declaration() -> None:
    """The checker itself: scikit-learn is not part of the core install, optuna is in [search]."""
    assert not _distributions_of("sklearn") & _closure(())
    assert not _distributions_of("optuna") & _closure(("book",))
    assert _distributions_of("numpy") & _closure(())
    assert _distributions_of("optuna") & _closure(("search",))
    eager, lazy = _imports(ast.parse(
        "import numpy\ntry:\n    import pandas as pd\nexcept ImportError:\n    pass\n"
        "if TYPE_CHECKING:\n    import scipy\n"
        "def f():\n    import optuna\n"))
    assert eager == {"numpy", "pandas"} and lazy == {"optuna"}
