"""Execute the book's notebooks in parallel into the build's execution cache.

``jupyter-book build`` (``execute_notebooks: cache``) executes every notebook
whose code is not yet in ``_build/.jupyter_cache``, one after the other. This
script fills that cache first, ``--jobs`` notebooks at a time, each in a fresh
kernel in its own folder, exactly as myst-nb would (same executor, timeout and
``allow_errors``); the build then only renders. A notebook that raises stops
the script with its traceback (exit 1), so this is also a check.

Usage: python scripts/execute_notebooks.py [--jobs 2] [--cache _build/.jupyter_cache] [NOTEBOOK ...]
(default: every notebook listed in _toc.yml)
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # lrbook_exec_info (a book extension)


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The .ipynb pages of _toc.yml, in toc order."""
    text = (root / "_toc.yml").read_text()
    entries = re.findall(r"(?:file|root):\s*([^\s#]+)", text)
    out = []
    for entry in entries:
        path = root / (entry if entry.endswith(".ipynb") else entry + ".ipynb")
        if path.exists():
            out.append(path)
    return out


def _execute(path: str, timeout: int, allow_errors: bool) -> tuple[str, dict, float, str | None, dict]:
    from jupyter_cache.executors.utils import single_nb_execution
    from lrbook_exec_info import EXEC_INFO_CELL, parse_exec_info

    nb = nbformat.read(path, as_version=4)
    # one extra cell, run in the notebook's kernel after its last cell, reports the device
    # and scale it ran at (for the execution-statistics page); removed before caching
    nb.cells.append(nbformat.v4.new_code_cell(EXEC_INFO_CELL))
    result = single_nb_execution(
        nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=allow_errors, meta_override=True
    )
    info = parse_exec_info(nb.cells.pop().get("outputs", []))
    return path, nb, result.time, (result.exc_string if result.err is not None else None), info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")

    config = yaml.safe_load((ROOT / "_config.yml").read_text()).get("execute", {})
    timeout = int(config.get("timeout", 30))
    allow_errors = bool(config.get("allow_errors", False))

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(args.cache))
    notebooks = [p.resolve() for p in (args.notebooks or toc_notebooks())]
    todo = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
            print(f"cached   {path.relative_to(ROOT)}", flush=True)
        except KeyError:
            todo.append(path)

    failures: list[tuple[Path, str]] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(_execute, str(p), timeout, allow_errors) for p in todo]
        for future in as_completed(futures):
            path, nb, seconds, error, info = future.result()
            rel = Path(path).relative_to(ROOT)
            if error is not None:
                failures.append((rel, error))
                print(f"FAILED   {rel} after {seconds:.1f} s", flush=True)
                continue
            record = cache.add_nb_to_project(path)
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, record.uri, data={"execution_seconds": seconds, **info}),
                check_validity=False,
                overwrite=True,
            )
            print(f"executed {rel} in {seconds:.1f} s", flush=True)
    print(f"{len(todo)} notebooks executed ({args.jobs} at a time) in {time.perf_counter() - t0:.1f} s")
    for rel, error in failures:
        print(f"\n===== {rel} =====\n{error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
