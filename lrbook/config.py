"""Run-time switches shared by the book and the package: device and scale.

The book is written to run on a 2-core CPU in seconds (the *CI scale*). A reader
with more time or a GPU can ask for the *full scale* with an environment
variable, and every chapter that has a heavier experiment scales itself up::

    LRBOOK_SCALE=full jupyter lab        # or: make lab SCALE=full

``LRBOOK_SCALE`` is ``"ci"`` (the default) or ``"full"``. When a CUDA GPU is
present and ``LRBOOK_SCALE`` is unset, the full scale is chosen automatically.
"""

from __future__ import annotations

import os
from typing import TypeVar

import torch

T = TypeVar("T")

_SCALES = ("ci", "full")


def device() -> torch.device:
    """Return ``cuda`` when a CUDA GPU is available, else ``cpu``.

    ``LRBOOK_DEVICE`` (e.g. ``cpu``) overrides the choice, which keeps runs on
    a GPU machine comparable with the CPU figures in the book.
    """
    forced = os.environ.get("LRBOOK_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def scale() -> str:
    """Return the run scale: ``"ci"`` (small, default) or ``"full"``."""
    value = os.environ.get("LRBOOK_SCALE")
    if value is None:
        return "full" if torch.cuda.is_available() else "ci"
    value = value.strip().lower()
    if value not in _SCALES:
        raise ValueError(f"LRBOOK_SCALE must be one of {_SCALES}, got {value!r}")
    return value


def at_scale(ci: T, full: T) -> T:
    """Pick ``ci`` at the CI scale and ``full`` at the full scale.

    Chapters size their experiments with it, e.g.
    ``num_epochs = at_scale(ci=5, full=50)``.
    """
    return ci if scale() == "ci" else full


def seed(k: int = 0) -> int:
    """Return the ``k``-th seed of this run: ``k + LRBOOK_SEED``.

    Every seed a chapter uses goes through this function, so that
    ``LRBOOK_SEED=1`` (or ``2``, ...) re-runs the whole book on other random
    draws; a claim the book asserts must hold for each of them
    (``make test-seeds``). ``LRBOOK_SEED`` is a non-negative integer, default 0.

    Raises ``ValueError`` when ``LRBOOK_SEED`` is not a non-negative integer
    or ``k`` is negative.
    """
    raw = os.environ.get("LRBOOK_SEED", "0").strip() or "0"
    try:
        offset = int(raw)
    except ValueError:
        raise ValueError(f"LRBOOK_SEED must be a non-negative integer, got {raw!r}") from None
    if offset < 0:
        raise ValueError(f"LRBOOK_SEED must be a non-negative integer, got {offset}")
    if int(k) != k or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    return int(k) + offset


def seeds(n: int, start: int = 0) -> list[int]:
    """Return ``n`` consecutive seeds ``seed(start), ..., seed(start + n - 1)``.

    Use disjoint ranges for tuning and reporting, e.g. ``seeds(2)`` to tune and
    ``seeds(5, start=100)`` to report.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return [seed(start + i) for i in range(int(n))]
