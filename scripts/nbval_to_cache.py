"""pytest plugin: nbval's run of each notebook also yields the executed notebook for the build.

``make test`` runs every notebook under nbval (the check) and the strict book build
renders every notebook from ``_build/.jupyter_cache``. Without this plugin each
notebook ran twice: once under nbval, once more to fill the cache
(``scripts/execute_notebooks.py``). With it, nbval's run is the one run:

    python -m pytest --nbval-lax --nbval-current-env -p scripts.nbval_to_cache \\
        --nbval-executed-dir DIR book/

writes, for every notebook whose code cells ALL passed, ``DIR/<stem>-<hash>.ipynb``
(the notebook with its outputs) and ``DIR/<stem>-<hash>.json`` (its source path,
execution seconds, the longest cell's seconds, and the device and scale it ran
at); ``scripts/execute_notebooks.py --executed DIR`` then puts them into the
cache exactly as it caches the notebooks it executes itself.

How the outputs are made. nbval sends each code cell to the notebook's kernel and
reads the kernel's IOPub messages until the cell is done. This plugin sees every
message nbval reads (it wraps the notebook's ``get_kernel_message`` and the
kernel's ``execute_cell_input``) and hands the current cell's messages to
nbclient's own ``NotebookClient.process_message``, the code that myst-nb's and
jupyter-cache's executor runs on the same messages. So the cell outputs are
nbclient's: streams as nbclient keeps them (not nbval's coalesced copy),
``clear_output``, display-id updates, and widgets (an ``interact``'s Output widget
captures its figure into the notebook's widget state, syncing it back to the
kernel as a front end does). Execution counts are 1, 2, ... over the executed
(non-empty) code cells, as nbclient assigns them; ``language_info`` comes from the
kernel's ``kernel_info`` reply, and after the last cell the kernel runs
``lrbook_exec_info.EXEC_INFO_CELL`` (device and scale) as ``execute_notebooks.py``
does. The notebook's cells, sources and metadata are nbval's copy of the file, so
jupyter-cache's hash is that of the notebook on disk.

A notebook is written only if every one of its code cells ran and passed (none
failed, skipped or xfailed) and nothing in this plugin raised; anything else is
left for ``execute_notebooks.py`` to execute. With pytest-xdist the notebook's
cells must run in one worker (``--dist loadfile``, as ``make test`` uses).
Without ``--nbval-executed-dir`` the plugin does nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import time
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # lrbook_exec_info

_ATTR = "_lrbook_recording"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("nbval").addoption(
        "--nbval-executed-dir",
        default=None,
        metavar="DIR",
        help="write each notebook that passed, with its outputs, into DIR "
        "(for scripts/execute_notebooks.py --executed DIR)",
    )


def _is_cell(item: pytest.Item) -> bool:
    from nbval.plugin import IPyNbCell

    return isinstance(item, IPyNbCell) and bool(item.config.getoption("nbval_executed_dir"))


class Recording:
    """One notebook's run under nbval, turned into an executed notebook by nbclient's rules."""

    def __init__(self, nbfile: Any) -> None:
        from nbclient import NotebookClient

        self.path = Path(str(nbfile.fspath)).resolve()
        self.original = nbfile.nb  # nbval's copy of the file, read at collection
        self.nb = copy.deepcopy(nbfile.nb)
        # as jupyter-cache's single_nb_execution (execute_notebooks.py) runs it: no timing metadata
        self.client = NotebookClient(self.nb, record_timing=False)
        self.code_cells = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
        self.passed: set[int] = set()
        self.problem: str | None = None  # why this notebook is not written
        self.t0 = time.perf_counter()
        self.max_cell_seconds = 0.0
        self.msg_id: str | None = None
        self.index: int | None = None  # the notebook cell now running
        self.hooked = False

    def fail(self, why: str) -> None:
        self.problem = self.problem or why

    def hook(self, nbfile: Any) -> None:
        """Route the kernel's messages that nbval reads through :meth:`on_message`."""
        if self.hooked or nbfile.kernel is None:
            return
        kernel = nbfile.kernel
        self.client.kc = kernel.kc  # the Output widget mimic syncs its state to the kernel
        execute, get_message = kernel.execute_cell_input, nbfile.get_kernel_message

        def execute_cell_input(cell_input: str, allow_stdin: Any = None) -> str:
            self.msg_id = execute(cell_input, allow_stdin=allow_stdin)
            return self.msg_id

        def get_kernel_message(timeout: float | None = None, stream: str = "iopub") -> dict:
            msg = get_message(timeout=timeout, stream=stream)
            if stream == "iopub":
                self.on_message(msg)
            return msg

        kernel.execute_cell_input = execute_cell_input
        nbfile.get_kernel_message = get_kernel_message
        self.hooked = True

    def start_cell(self, cell_num: int) -> None:
        self.index = self.code_cells[cell_num]
        self.msg_id = None
        cell = self.nb.cells[self.index]
        cell.outputs = []
        cell.execution_count = None
        self.client.clear_before_next_output = False

    def on_message(self, msg: dict) -> None:
        from nbclient.exceptions import CellExecutionComplete

        if self.index is None or self.msg_id is None:
            return
        if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
            return  # nbclient, too, reads only the running cell's messages
        try:
            self.client.process_message(msg, self.nb.cells[self.index], self.index)
        except CellExecutionComplete:
            pass
        except Exception as exc:  # never break nbval's check; just do not write this notebook
            self.fail(f"{type(exc).__name__}: {exc}")

    def end_cell(self, seconds: float) -> None:
        cell = self.nb.cells[self.index]
        self.max_cell_seconds = max(self.max_cell_seconds, seconds)
        if cell.source.strip():  # nbclient skips empty cells: no count, no outputs
            self.client.code_cells_executed += 1
            cell.execution_count = self.client.code_cells_executed
            for out in cell.outputs:
                if out.output_type == "execute_result":
                    out.execution_count = cell.execution_count
        else:  # as the file has it
            original = self.original.cells[self.index]
            cell.outputs, cell.execution_count = original.outputs, original.execution_count
        self.index = None

    def finish(self, kernel: Any, out_dir: Path) -> Path | None:
        """Write the executed notebook and its sidecar (if every code cell passed)."""
        seconds = time.perf_counter() - self.t0
        missing = set(range(len(self.code_cells))) - self.passed
        if missing:
            self.fail(f"code cells {sorted(missing)} did not pass")
        if kernel is None or not kernel.is_alive():
            self.fail("the kernel is not running")
        stem = f"{self.path.stem}-{hashlib.sha1(str(self.path).encode()).hexdigest()[:10]}"
        sidecar: dict[str, Any] = {"source": str(self.path)}
        out_dir.mkdir(parents=True, exist_ok=True)
        if self.problem is None:
            try:
                self.nb.metadata["language_info"] = _language_info(kernel)
                info = _exec_info(kernel)
                self.client.set_widgets_metadata()
                nbformat.write(self.nb, out_dir / f"{stem}.ipynb")
                sidecar.update(
                    execution_seconds=seconds, max_cell_seconds=self.max_cell_seconds, info=info
                )
            except Exception as exc:
                self.fail(f"{type(exc).__name__}: {exc}")
        if self.problem is not None:  # no notebook: the sidecar says why
            (out_dir / f"{stem}.ipynb").unlink(missing_ok=True)
            sidecar = {"source": str(self.path), "problem": self.problem}
        # the sidecar last: a notebook is cached only with a sidecar that has no problem
        (out_dir / f"{stem}.json").write_text(json.dumps(sidecar, indent=1) + "\n")
        return None if self.problem else out_dir / f"{stem}.ipynb"


def _language_info(kernel: Any) -> dict:
    """The kernel's language_info, as nbclient stores it in the notebook's metadata."""
    msg_id = kernel.kc.kernel_info()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = kernel.kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]["language_info"]
    raise TimeoutError("no kernel_info reply")


def _exec_info(kernel: Any) -> dict:
    """Device and scale, printed by lrbook_exec_info.EXEC_INFO_CELL in the notebook's kernel."""
    from lrbook_exec_info import EXEC_INFO_CELL, parse_exec_info

    msg_id = kernel.kc.execute(
        EXEC_INFO_CELL, store_history=False, allow_stdin=False, stop_on_error=False
    )
    outputs = []
    while True:
        try:
            msg = kernel.kc.get_iopub_msg(timeout=60)
        except Empty:
            return {}
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            outputs.append(msg["content"])
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return parse_exec_info(outputs)


def _recording(item: pytest.Item) -> Recording:
    nbfile = item.parent
    if getattr(nbfile, _ATTR, None) is None:
        setattr(nbfile, _ATTR, Recording(nbfile))
    return getattr(nbfile, _ATTR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    if _is_cell(item):
        _recording(item)  # the clock starts before the kernel does, as in execute_notebooks.py
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    if not _is_cell(item):
        return (yield)
    rec = _recording(item)
    rec.hook(item.parent)
    rec.start_cell(item.cell_num)
    t0 = time.perf_counter()
    try:
        return (yield)
    finally:
        rec.end_cell(time.perf_counter() - t0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if _is_cell(item):
        rec = _recording(item)
        if report.failed:
            rec.fail(f"cell {item.cell_num} {report.when} failed")
        elif report.when == "call" and report.passed:
            rec.passed.add(item.cell_num)
        elif report.skipped:
            rec.fail(f"cell {item.cell_num} skipped")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    # before the runner's teardown: after the notebook's last cell its kernel still runs
    if _is_cell(item) and (nextitem is None or nextitem.parent is not item.parent):
        out_dir = Path(item.config.getoption("nbval_executed_dir"))
        _recording(item).finish(item.parent.kernel, out_dir)
    return (yield)
