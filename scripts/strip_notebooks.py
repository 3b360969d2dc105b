"""Store notebooks the way the book keeps them: no outputs, no execution counts,
no saved widget state.

Usage: .venv/bin/python scripts/strip_notebooks.py book/adam.ipynb [more.ipynb ...]
       .venv/bin/python scripts/strip_notebooks.py            (every book/**/*.ipynb)
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def strip(path: Path) -> bool:
    """Strip ``path`` in place; return True when it changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
    )
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after, encoding="utf8")
        return True
    return False


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [
        p
        for p in sorted((ROOT / "book").rglob("*.ipynb"))
        if not {"_build", "_static", ".ipynb_checkpoints"} & set(p.parts)
    ]
    for path in paths:
        print(("stripped  " if strip(path) else "unchanged ") + str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
