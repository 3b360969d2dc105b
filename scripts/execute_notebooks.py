"""Execute the book's notebooks in parallel into the build's execution cache.

``jupyter-book build`` (``execute_notebooks: cache``) executes every notebook
whose code is not yet in ``_build/.jupyter_cache``, one after the other. This
script fills that cache first, ``--jobs`` notebooks at a time, each in a fresh
kernel in its own folder, exactly as myst-nb would (same executor, timeout and
``allow_errors``); the build then only renders. A notebook that raises stops
the script with its traceback (exit 1), so this is also a check.

``--executed DIR`` first caches the notebooks that nbval has already executed
(``scripts/nbval_to_cache.py``, the pytest plugin that ``make test``'s nbval step
loads, wrote them into DIR with their execution time, device and scale): each
notebook whose code cells all passed under nbval, whose code and metadata are
still those of the file, and whose longest cell stayed within ``execute.timeout``
of _config.yml goes into the cache as it is, and only the others are executed
here. Without DIR (or with an empty one) every notebook not yet in the cache is
executed, as before.

Usage: python scripts/execute_notebooks.py [--jobs 2] [--cache _build/.jupyter_cache]
                                          [--executed DIR] [NOTEBOOK ...]
(default: every notebook listed in _toc.yml)
"""

from __future__ import annotations

import argparse
import json
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


def cache_executed(cache, executed: Path, notebooks: list[Path], timeout: int) -> dict[Path, float]:
    """Cache the notebooks nbval executed (see ``--executed``); {source: execution seconds}."""
    from jupyter_cache.base import CacheBundleIn

    wanted = set(notebooks)
    done: dict[Path, float] = {}
    for sidecar in sorted(executed.glob("*.json")) if executed.is_dir() else []:
        meta = json.loads(sidecar.read_text())
        source = Path(meta["source"]).resolve()
        if source not in wanted:
            continue
        rel = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
        if "problem" in meta:
            print(f"nbval    {rel} not cached ({meta['problem']})", flush=True)
            continue
        if meta["max_cell_seconds"] > timeout:  # the build's executor would have timed out
            print(
                f"nbval    {rel} not cached (a cell took {meta['max_cell_seconds']:.0f} s "
                f"> execute.timeout {timeout} s)",
                flush=True,
            )
            continue
        nb = nbformat.read(sidecar.with_suffix(".ipynb"), as_version=4)
        source_nb = nbformat.read(source, as_version=4)
        if cache.create_hashed_notebook(nb)[1] != cache.create_hashed_notebook(source_nb)[1]:
            # the file changed after nbval read it
            print(f"nbval    {rel} not cached (changed since nbval ran it)", flush=True)
            continue
        record = cache.add_nb_to_project(str(source))
        seconds = float(meta["execution_seconds"])
        cache.cache_notebook_bundle(
            CacheBundleIn(
                nb,
                record.uri,
                data={"execution_seconds": seconds, **meta["info"], "executed_by": "nbval"},
            ),
            check_validity=False,
            overwrite=True,
        )
        done[source] = seconds
        print(f"cached   {rel} as nbval executed it in {seconds:.1f} s", flush=True)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    parser.add_argument(
        "--executed",
        type=Path,
        default=None,
        metavar="DIR",
        help="cache first the notebooks that nbval executed into DIR (scripts/nbval_to_cache.py)",
    )
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
    if args.executed is not None:
        t0 = time.perf_counter()
        done = cache_executed(cache, args.executed, notebooks, timeout)
        print(f"{len(done)} notebooks cached from nbval's run in {time.perf_counter() - t0:.1f} s")
    else:
        done = {}
    todo = []
    for path in notebooks:
        try:  # myst-nb's lookup at build time
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
            if path not in done:
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
                CacheBundleIn(
                    nb,
                    record.uri,
                    data={"execution_seconds": seconds, **info, "executed_by": "execute"},
                ),
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
