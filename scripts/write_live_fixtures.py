"""Write tests/js/live_fixtures.json: lrbook's numbers for the live figures' JavaScript.

Usage: python scripts/write_live_fixtures.py [--check]

The fixtures (trajectories and schedule values, float64, see :func:`lrbook.live.fixtures`)
are committed; ``node --test tests/js`` compares the JavaScript in
book/_static/lrbook-live/core.js with them, and tests/test_live.py fails when they are
stale (``--check`` does the same here: exit 1 if the file differs from what lrbook computes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from lrbook.live import fixtures

PATH = Path(__file__).resolve().parents[1] / "tests" / "js" / "live_fixtures.json"


def render() -> str:
    """The fixture file's text (stable: sorted keys, one line per case is not needed)."""
    torch.set_num_threads(1)
    return json.dumps(fixtures(), sort_keys=True, allow_nan=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PATH.exists() or PATH.read_text() != text:
            print(f"{PATH} is stale: run python scripts/write_live_fixtures.py")
            return 1
        print(f"{PATH} is up to date")
        return 0
    PATH.write_text(text)
    print(f"wrote {PATH} ({len(text) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
