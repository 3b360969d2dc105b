"""Small offline data sets and a seeded minibatch iterator.

Everything here works without a network connection and is cheap enough for a
2-core CPU:

- :func:`digits` -- scikit-learn's bundled 8x8 handwritten digits (1797 images,
  64 features, 10 classes), standardised with the training statistics.
- :func:`mnist1d` -- MNIST-1D (Greydanus 2020), generated procedurally by
  ``mnist1d.data.make_dataset`` (never its ``get_dataset``, which downloads),
  cached in memory only.
- :func:`synthetic_regression` -- a linear least-squares problem with a chosen
  condition number, so optimizer behaviour can be tied to the Hessian.
- :class:`Batches` / :func:`batches` -- a re-iterable, seeded minibatch iterator
  over tensors, so training runs are reproducible without ``DataLoader`` workers.

All loaders return ``(X_train, y_train, X_val, y_val)`` as torch tensors.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

__all__ = [
    "Batches",
    "batches",
    "digits",
    "mnist1d",
    "synthetic_regression",
    "standardize",
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
