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
