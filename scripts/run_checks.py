"""Run every check of the book, cheapest first, and print a timing table.

This is what ``make test`` (and so ``.ci/run``) runs, from the repository root:

1. ``unit``     pytest tests -n 2 (unit and parity tests, notebook hygiene)
2. ``nbval``    every notebook in a fresh kernel at LRBOOK_SCALE=ci, under nbval; its run of each
               notebook is also kept, outputs and all (the pytest plugin
               scripts/nbval_to_cache.py, loaded when ``execute`` follows)
3. ``execute``  a clean _build's execution cache filled (scripts/execute_notebooks.py --executed):
               every notebook that passed under nbval goes in as nbval ran it, and only the
               others (none, normally; all of them after ``--only execute,build``) are executed,
               two at a time, so that the build does not run any notebook again
4. ``build``    strict book build (-W -n --keep-going) that renders from that cache
5. ``links``    every internal link, anchor and cross-reference of the built HTML resolves and
               the sidebar reaches every page of _toc.yml (scripts/check_links.py)
6. ``browser``  every built page opened in headless Chromium (tests/browser_check.py)
7. ``live``     the live figures moved slider by slider in Chromium, their numbers compared
               with lrbook's fixtures (tests/live_figures_check.py)

Right after ``unit`` comes ``js``: ``node --test tests/js`` (the live figures' JavaScript
against lrbook's numbers in tests/js/live_fixtures.json).

It stops at the first failing step (``--keep-going`` runs the rest anyway) and
always ends with a table of the step times and of each notebook's time under
nbval and in the build's cache (with who ran it there: nbval or the execute step).

Usage: python scripts/run_checks.py [--keep-going] [--only unit,nbval,execute,build,links,browser]
                                   [--scale ci|full]

``--scale full`` runs the notebooks at LRBOOK_SCALE=full (``make test-full``);
LRBOOK_SEED from the environment is passed on (``make test-seeds``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin/ when run as .venv/bin/python
STEPS = ("unit", "js", "nbval", "execute", "build", "links", "browser", "live")


def _tool(name: str) -> str:
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


def _run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    print("\n$ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env={**os.environ, **(env or {})})


def _banner(text: str) -> None:
    print("\n" + "=" * 78 + f"\n== {text}\n" + "=" * 78, flush=True)


def notebook_times_from_junit(path: Path) -> dict[str, float]:
    """Seconds per notebook from nbval's JUnit XML (the sum over its cells)."""
    times: dict[str, float] = defaultdict(float)
    if not path.exists():
        return {}
    for case in ET.parse(path).getroot().iter("testcase"):
        # nbval items: classname "book.adam.ipynb" (or file="book/adam.ipynb"), name "Cell 3"
        name = case.get("file") or case.get("classname", "")
        if not name.endswith(".ipynb"):
            if ".ipynb" not in name:
                continue
            name = name[: name.index(".ipynb") + len(".ipynb")]
        if "/" not in name:
            name = name[: -len(".ipynb")].replace(".", "/") + ".ipynb"
        times[name] += float(case.get("time", 0.0))
    return dict(times)


def notebook_times_from_cache(
    cache_dir: Path, runs: dict[str, str] | None = None
) -> dict[str, float | str]:
    """Execution seconds per notebook from the book build's jupyter-cache ('failed' if it raised).

    ``runs``, if given, receives who executed each cached notebook: "nbval" (cached from the nbval
    step's run), "execute" (scripts/execute_notebooks.py) or "build" (the build itself).
    """
    if not cache_dir.exists():
        return {}
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_dir))
    times: dict[str, float | str] = {}
    for record in cache.list_cache_records():
        rel = Path(record.uri).resolve()
        key = rel.relative_to(ROOT).as_posix() if rel.is_relative_to(ROOT) else record.uri
        times[key] = float((record.data or {}).get("execution_seconds", float("nan")))
        if runs is not None:
            runs[key] = str((record.data or {}).get("executed_by", "build"))
    for record in cache.list_project_records():
        if getattr(record, "traceback", None):
            rel = Path(record.uri).resolve()
            key = rel.relative_to(ROOT).as_posix() if rel.is_relative_to(ROOT) else record.uri
            times.setdefault(key, "failed")
    return times


def print_table(
    step_times: dict[str, tuple[float, str]], nbval: dict, build: dict, runs: dict | None = None
) -> None:
    _banner("timings")
    print(f"{'step':<12}{'seconds':>10}  result")
    for step, (seconds, result) in step_times.items():
        print(f"{step:<12}{seconds:>10.1f}  {result}")
    print(f"{'total':<12}{sum(s for s, _ in step_times.values()):>10.1f}")
    notebooks = sorted(set(nbval) | set(build))
    if notebooks:
        runs = runs or {}
        print(f"\n{'notebook':<40}{'nbval s':>10}{'cache s':>10}  cached from")

        def fmt(value) -> str:
            if value is None:
                return "-"
            return value if isinstance(value, str) else f"{value:.1f}"

        for nb in notebooks:
            print(f"{nb:<40}{fmt(nbval.get(nb)):>10}{fmt(build.get(nb)):>10}  {runs.get(nb, '-')}")
        nb_sum = sum(v for v in nbval.values() if isinstance(v, float))
        build_sum = sum(v for v in build.values() if isinstance(v, float))
        print(f"{'sum':<40}{nb_sum:>10.1f}{build_sum:>10.1f}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every check of the book.")
    parser.add_argument("--keep-going", action="store_true", help="run later steps after a failure")
    parser.add_argument(
        "--only", default=",".join(STEPS), help="comma-separated subset of " + ",".join(STEPS)
    )
    parser.add_argument("--scale", default="ci", choices=("ci", "full"), help="LRBOOK_SCALE of the notebooks")
    args = parser.parse_args(argv)
    selected = [s for s in STEPS if s in args.only.split(",")]

    os.chdir(ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="lrbook-checks-"))
    step_times: dict[str, tuple[float, str]] = {}
    nbval_times: dict[str, float] = {}
    build_times: dict = {}
    build_runs: dict[str, str] = {}
    executed = tmp / "executed"  # nbval's executed notebooks, for the execute step
    failed: list[str] = []
    python = sys.executable

    commands = {
        "unit": (
            [_tool("pytest"), "tests", "-n", "2", "-p", "no:cacheprovider", "-q", "--durations=15"],
            {},
        ),
        "nbval": (
            [
                python,  # -m: the repository root on sys.path, for -p scripts.nbval_to_cache
                "-m",
                "pytest",
                "--nbval-lax",
                "--nbval-current-env",
                *(
                    ["-p", "scripts.nbval_to_cache", f"--nbval-executed-dir={executed}"]
                    if "execute" in selected
                    else []
                ),
                "-n",
                "2",
                "--dist",
                "loadfile",
                "book/",
                "--durations=0",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={tmp / 'nbval.xml'}",
                "-o",
                "junit_family=xunit1",
            ],
            {"LRBOOK_SCALE": args.scale, "OMP_NUM_THREADS": "1"},
        ),
        "execute": (
            [python, "scripts/execute_notebooks.py", "--jobs", "2", f"--executed={executed}"],
            {"LRBOOK_SCALE": args.scale, "OMP_NUM_THREADS": "1"},
        ),
        "build": (
            [_tool("jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
            {"LRBOOK_SCALE": args.scale},
        ),
        "links": ([python, "scripts/check_links.py", "_build/html"], {}),
        "browser": ([python, "tests/browser_check.py", "_build/html"], {}),
        "js": (["node", "--test", "tests/js/"], {}),
        "live": ([python, "tests/live_figures_check.py", "_build/html"], {}),
    }
    titles = {
        "unit": "unit tests and notebook hygiene (pytest tests -n 2)",
        "nbval": f"notebooks under nbval, fresh kernels, LRBOOK_SCALE={args.scale}, "
        f"LRBOOK_SEED={os.environ.get('LRBOOK_SEED', '0')}",
        "execute": "a clean _build's cache: the notebooks as nbval ran them, any others executed",
        "build": "strict book build, rendered from the execution cache",
        "links": "internal links, anchors, cross-references and the sidebar of the built HTML",
        "browser": "built HTML in headless Chromium",
        "js": "live figures' JavaScript against lrbook's fixtures (node --test tests/js)",
        "live": "live figures in headless Chromium: every control moved, numbers against lrbook",
    }
    try:
        for step in selected:
            if failed and not args.keep_going:
                step_times[step] = (0.0, "skipped")
                continue
            _banner(f"{step}: {titles[step]}")
            if step == "execute" or (step == "build" and "execute" not in selected):
                shutil.rmtree(ROOT / "_build", ignore_errors=True)
            cmd, env = commands[step]
            t0 = time.perf_counter()
            code = _run(cmd, env)
            seconds = time.perf_counter() - t0
            if step == "nbval":
                nbval_times = notebook_times_from_junit(tmp / "nbval.xml")
                if code == 5:  # pytest: no tests collected (no notebooks yet)
                    code = 0
            if step == "build":
                cache_dir = ROOT / "_build" / ".jupyter_cache"
                build_times = notebook_times_from_cache(cache_dir, build_runs)
                index = ROOT / "_build" / "html" / "index.html"
                if code == 0 and not index.exists():
                    code = 1
            step_times[step] = (seconds, "ok" if code == 0 else f"FAILED (exit {code})")
            if code != 0:
                failed.append(step)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        print_table(step_times, nbval_times, build_times, build_runs)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
