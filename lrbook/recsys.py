r"""Explicit-feedback recommendation: rating splits, baselines and biased matrix factorisation.

The recommender case study (``book/case_recommender.ipynb``) uses these pieces:

- :func:`split_ratings` — a seeded random split of (user, item, rating)
  triples into train/validation/test, ids re-indexed to ``0..n-1``;
- :func:`synthetic_ratings` — a documented generator with power-law item
  popularity, for unit tests and for readers without the MovieLens file;
- :func:`global_mean_rmse` and :func:`fit_biases` — the two baselines
  (Koren, 2008: :math:`\hat y_{ui} = \bar y + o_u + o_i`, regularised, fitted
  by alternating closed-form steps);
- :class:`BiasedMF` and :func:`train_mf` — matrix factorisation with biases,
  :math:`\hat y_{ui} = \bar y + o_u + o_i + P_u^\top Q_i` (Koren, Bell & Volinsky,
  2009), trained by minibatch optimisation of the squared error plus an L2
  penalty on the rows a batch touches; the embeddings are
  ``nn.Embedding(sparse=True)`` when the optimizer takes sparse gradients;
- :func:`bucket_rmse` — test error grouped by how often an item was rated in
  the training split.

Symbols (chosen not to clash with the book's optimizer notation): :math:`y_{ui}`
the rating of item :math:`i` by user :math:`u`, :math:`\bar y` the training mean,
:math:`o_u, o_i` the user and item biases (Koren's :math:`b_u, b_i`), :math:`P_u, Q_i`
the user and item vectors (rows of the embedding tables; Koren's :math:`p_u, q_i`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

import lrbook.optim

__all__ = [
    "OPTIMIZERS",
    "BiasedMF",
    "MFResult",
    "RatingSplits",
    "Ratings",
    "bucket_rmse",
    "fit_biases",
    "global_mean_rmse",
    "optimizer_state_bytes",
    "split_ratings",
    "synthetic_ratings",
    "train_mf",
]


@dataclass(frozen=True)
class Ratings:
    """One split: ``user``, ``item`` (int64, 0-based) and ``rating`` (float32) tensors of length n."""

    user: Tensor
    item: Tensor
    rating: Tensor

    def __len__(self) -> int:
        return len(self.rating)


@dataclass(frozen=True)
class RatingSplits:
    """Train/validation/test :class:`Ratings` over ``n_users`` users and ``n_items`` items."""

    train: Ratings
    val: Ratings
    test: Ratings
    n_users: int
    n_items: int

    def item_counts(self) -> np.ndarray:
        """Number of training ratings of each item, shape ``(n_items,)``."""
        return np.bincount(self.train.item.numpy(), minlength=self.n_items)


def split_ratings(user, item, rating, *, seed: int = 0, val_fraction: float = 0.1,
                  test_fraction: float = 0.1) -> RatingSplits:
    """Split rating triples uniformly at random (seeded) into train/validation/test.

    ``user``, ``item``, ``rating``: 1-D arrays of equal length n (any integer
    ids). Ids are re-indexed to ``0..n_users-1`` and ``0..n_items-1`` over the
    whole data, so a user or item seen only in validation/test keeps an index
    (its embedding then stays at its initial value). The permutation is
    ``numpy.random.default_rng(seed).permutation(n)``; the first
    ``round(test_fraction * n)`` rows are test, the next
    ``round(val_fraction * n)`` validation, the rest training.

    Raises ``ValueError`` unless the arrays have equal length and
    ``val_fraction, test_fraction >= 0`` with ``val_fraction + test_fraction < 1``.
    """
    user, item, rating = (np.asarray(a).ravel() for a in (user, item, rating))
    if not len(user) == len(item) == len(rating):
        raise ValueError(f"user, item, rating differ in length: {len(user)}, {len(item)}, {len(rating)}")
    if not (val_fraction >= 0 and test_fraction >= 0 and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction and test_fraction must be >= 0 with a sum < 1, got "
                         f"{val_fraction} and {test_fraction}")
    _, u = np.unique(user, return_inverse=True)
    _, i = np.unique(item, return_inverse=True)
    n = len(rating)
    perm = np.random.default_rng(seed).permutation(n)
    n_test, n_val = round(test_fraction * n), round(val_fraction * n)
    parts = np.split(perm, [n_test, n_test + n_val])

    def take(idx: np.ndarray) -> Ratings:
        return Ratings(torch.as_tensor(u[idx], dtype=torch.int64),
                       torch.as_tensor(i[idx], dtype=torch.int64),
                       torch.as_tensor(rating[idx], dtype=torch.float32))

    test, val, train = (take(p) for p in parts)
    return RatingSplits(train, val, test, int(u.max()) + 1, int(i.max()) + 1)


def synthetic_ratings(n_users: int = 300, n_items: int = 500, n_ratings: int = 20_000, *,
                      rank: int = 4, popularity_exponent: float = 1.0, noise: float = 0.5,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Synthetic 1-5 star ratings with power-law item popularity (for tests).

    Item :math:`j` (``0..n_items-1``) is drawn with probability
    :math:`\propto (j+1)^{-\zeta}` (:math:`\zeta` = ``popularity_exponent``, Zipf-like, as in real
    rating data), users uniformly. The rating is
    :math:`\operatorname{clip}(\operatorname{round}(3.5 + o_u + o_i + P_u^\top Q_i + \xi), 1, 5)`
    with :math:`o_u, o_i \sim N(0, 0.5^2)`, :math:`P_u, Q_i \sim N(0, I/\text{rank})`,
    :math:`\xi \sim N(0, \text{noise}^2)`. Returns ``(user, item, rating)``
    int64 arrays of length ``n_ratings`` (duplicate pairs may occur).
    """
    for name, value in (("n_users", n_users), ("n_items", n_items), ("n_ratings", n_ratings),
                        ("rank", rank)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if popularity_exponent < 0 or noise < 0:
        raise ValueError("popularity_exponent and noise must be >= 0, got "
                         f"{popularity_exponent} and {noise}")
    rng = np.random.default_rng(seed)
    p_item = np.arange(1, n_items + 1, dtype=float) ** -popularity_exponent
    item = rng.choice(n_items, size=n_ratings, p=p_item / p_item.sum())
    user = rng.integers(0, n_users, size=n_ratings)
    bu, bi = rng.normal(0, 0.5, n_users), rng.normal(0, 0.5, n_items)
    pu = rng.normal(0, 1 / np.sqrt(rank), (n_users, rank))
    qi = rng.normal(0, 1 / np.sqrt(rank), (n_items, rank))
    r = 3.5 + bu[user] + bi[item] + np.sum(pu[user] * qi[item], axis=1) + rng.normal(0, noise, n_ratings)
    return user.astype(np.int64), item.astype(np.int64), np.clip(np.rint(r), 1, 5).astype(np.int64)


def _rmse(pred: Tensor, target: Tensor) -> float:
    return float(torch.sqrt(torch.mean((pred.double() - target.double()) ** 2)))


def global_mean_rmse(splits: RatingSplits, part: str = "test") -> float:
    """RMSE of predicting the training mean rating for every pair of ``part``."""
    target = getattr(splits, part).rating
    return _rmse(torch.full_like(target, float(splits.train.rating.double().mean())), target)


def fit_biases(splits: RatingSplits, reg: float = 10.0, iters: int = 10) -> tuple[float, Tensor, Tensor]:
    r"""Regularised user and item biases, :math:`\hat y_{ui} = \bar y + o_u + o_i`.

    Alternating exact minimisation of
    :math:`\sum (y - \bar y - o_u - o_i)^2 + \text{reg}(\sum o_u^2 + \sum o_i^2)`:
    :math:`o_i = \sum_u (y - \bar y - o_u)/(\text{reg} + n_i)`, then the same for
    :math:`o_u`. Returns ``(mean, b_user, b_item)`` (float64 tensors).
    """
    if reg < 0 or int(iters) != iters or iters < 1:
        raise ValueError(f"reg must be >= 0 and iters a positive integer, got {reg}, {iters}")
    tr = splits.train
    r = tr.rating.double()
    mean = float(r.mean())
    n_u = torch.bincount(tr.user, minlength=splits.n_users).double()
    n_i = torch.bincount(tr.item, minlength=splits.n_items).double()
    bu = torch.zeros(splits.n_users, dtype=torch.float64)
    bi = torch.zeros(splits.n_items, dtype=torch.float64)
    for _ in range(iters):
        bi = torch.bincount(tr.item, r - mean - bu[tr.user], splits.n_items) / (reg + n_i)
        bu = torch.bincount(tr.user, r - mean - bi[tr.item], splits.n_users) / (reg + n_u)
    return mean, bu, bi


class BiasedMF(nn.Module):
    r"""Matrix factorisation with biases: :math:`\bar y + o_u + o_i + P_u^\top Q_i`.

    ``mean`` (:math:`\bar y`) is a fixed buffer, so every trainable tensor is an
    embedding table and an optimizer that takes only sparse gradients
    (``SparseAdam``) can train all of them when ``sparse=True``. Embeddings
    start at :math:`N(0, \text{init\_std}^2)`, biases at 0.
    ``forward(user, item)``: int64 tensors of shape ``(B,)`` → predictions ``(B,)``.
    """

    def __init__(self, n_users: int, n_items: int, dim: int, mean: float, *, sparse: bool,
                 init_std: float = 0.1) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.user = nn.Embedding(n_users, dim, sparse=sparse)
        self.item = nn.Embedding(n_items, dim, sparse=sparse)
        self.user_bias = nn.Embedding(n_users, 1, sparse=sparse)
        self.item_bias = nn.Embedding(n_items, 1, sparse=sparse)
        for emb in (self.user, self.item):
            nn.init.normal_(emb.weight, std=init_std)
        for emb in (self.user_bias, self.item_bias):
            nn.init.zeros_(emb.weight)

    def forward(self, user: Tensor, item: Tensor) -> Tensor:
        dot = (self.user(user) * self.item(item)).sum(-1)
        return self.mean + self.user_bias(user)[:, 0] + self.item_bias(item)[:, 0] + dot

    def penalty(self, user: Tensor, item: Tensor) -> Tensor:
        """Mean over the batch of :math:`\\lVert P_u\\rVert^2 + \\lVert Q_i\\rVert^2 + o_u^2 + o_i^2`."""
        parts = (self.user(user), self.item(item), self.user_bias(user), self.item_bias(item))
        return sum(p.pow(2).sum(-1) for p in parts).mean()


#: optimizer name -> (class, whether the embeddings give sparse gradients)
OPTIMIZERS: dict[str, tuple[type, bool]] = {
    "SGD": (lrbook.optim.SGD, True),
    "Adagrad": (lrbook.optim.Adagrad, True),
    "Adam": (lrbook.optim.Adam, False),
    "SparseAdam": (lrbook.optim.SparseAdam, True),
}


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes held by the tensors in ``optimizer.state`` (moments, sums, step counters)."""
    return sum(v.numel() * v.element_size() for s in optimizer.state.values()
               for v in s.values() if torch.is_tensor(v))


@dataclass
class MFResult:
    """What :func:`train_mf` measured.

    ``val_rmse[e]``/``test_rmse[e]``: after epoch ``e + 1``; ``best_epoch`` the
    (0-based) epoch of the lowest validation RMSE; ``test_sq_error``: the test
    squared errors at that epoch, shape ``(len(test),)``; ``epoch_seconds``: mean
    wall-clock seconds of a training epoch; ``state_bytes``: optimizer state;
    ``model`` and ``optimizer``: the trained :class:`BiasedMF` and its optimizer
    (with its state, e.g. Adagrad's sums :math:`G`) after the last epoch run,
    which need not be the best one.
    """

    val_rmse: list[float]
    test_rmse: list[float]
    best_epoch: int
    test_sq_error: np.ndarray
    epoch_seconds: float
    state_bytes: int
    model: BiasedMF | None = None
    optimizer: torch.optim.Optimizer | None = None

    @property
    def best_val(self) -> float:
        return self.val_rmse[self.best_epoch]

    @property
    def best_test(self) -> float:
        return self.test_rmse[self.best_epoch]


def train_mf(splits: RatingSplits, optimizer: str, lr: float, *, seed: int, dim: int = 32,
             epochs: int = 20, batch_size: int = 256, reg: float = 0.02,
             device: torch.device | str = "cpu") -> MFResult:
    """Train :class:`BiasedMF` with one optimizer of :data:`OPTIMIZERS`; evaluate every epoch.

    Loss per batch: mean squared error + ``reg`` × :meth:`BiasedMF.penalty`.
    ``seed`` fixes the initialisation and the order of the minibatches. The
    reported epoch is the one with the best validation RMSE (early stopping
    chosen on validation). A run that produces a non-finite loss stops and
    reports ``nan`` for the remaining epochs.

    Raises ``ValueError`` for an unknown ``optimizer`` or ``lr <= 0``.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    cls, sparse = OPTIMIZERS[optimizer]
    torch.manual_seed(seed)
    device = torch.device(device)
    model = BiasedMF(splits.n_users, splits.n_items, dim, float(splits.train.rating.mean()),
                     sparse=sparse).to(device)
    opt = cls(model.parameters(), lr=lr)
    tr = splits.train
    u, i, r = tr.user.to(device), tr.item.to(device), tr.rating.to(device)
    evals = {k: getattr(splits, k) for k in ("val", "test")}
    evals = {k: (s.user.to(device), s.item.to(device), s.rating.to(device)) for k, s in evals.items()}
    gen = torch.Generator().manual_seed(seed)
    val_curve: list[float] = []
    test_curve: list[float] = []
    sq_errors: list[np.ndarray] = []
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(tr), generator=gen).to(device)
        finite = True
        for b in perm.split(batch_size):
            loss = torch.mean((model(u[b], i[b]) - r[b]) ** 2) + reg * model.penalty(u[b], i[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        finite = bool(torch.isfinite(loss))
        seconds.append(time.perf_counter() - start)
        with torch.no_grad():
            pv = model(*evals["val"][:2]).clamp(1, 5)
            pt = model(*evals["test"][:2]).clamp(1, 5)
        if not finite or not torch.isfinite(pv).all():
            break
        val_curve.append(_rmse(pv, evals["val"][2]))
        test_curve.append(_rmse(pt, evals["test"][2]))
        sq_errors.append(((pt.double() - evals["test"][2].double()) ** 2).cpu().numpy())
    state_bytes = optimizer_state_bytes(opt)
    missing = epochs - len(val_curve)
    if not val_curve:
        return MFResult([float("nan")] * epochs, [float("nan")] * epochs, 0,
                        np.full(len(splits.test), np.nan), float(np.mean(seconds)), state_bytes,
                        model, opt)
    best = int(np.argmin(val_curve))
    return MFResult(val_curve + [float("nan")] * missing, test_curve + [float("nan")] * missing,
                    best, sq_errors[best], float(np.mean(seconds)), state_bytes, model, opt)


def bucket_rmse(sq_error: np.ndarray, test_items: np.ndarray, item_counts: np.ndarray,
                edges: tuple[int, ...]) -> np.ndarray:
    """Test RMSE by item popularity: bucket ``k`` holds test pairs whose item had
    ``edges[k] <= count < edges[k+1]`` training ratings. Returns shape ``(len(edges)-1,)``;
    an empty bucket gives ``nan``."""
    counts = np.asarray(item_counts)[np.asarray(test_items)]
    out = np.full(len(edges) - 1, np.nan)
    for k in range(len(edges) - 1):
        mask = (counts >= edges[k]) & (counts < edges[k + 1])
        if mask.any():
            out[k] = float(np.sqrt(np.mean(np.asarray(sq_error)[mask])))
    return out
