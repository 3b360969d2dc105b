"""lrbook.recsys: splits, the synthetic generator, baselines, MF training, buckets."""

import numpy as np
import pytest
import torch

import lrbook.data
from lrbook import recsys as R


def _splits(seed=0):
    return R.split_ratings(*R.synthetic_ratings(n_users=120, n_items=200, n_ratings=6000, seed=3),
                           seed=seed)


def test_split_sizes_disjoint_and_seeded():
    u, i, r = R.synthetic_ratings(n_users=50, n_items=80, n_ratings=1000, seed=1)
    s = R.split_ratings(u, i, r, seed=0)
    assert (len(s.train), len(s.val), len(s.test)) == (800, 100, 100)
    key = lambda part: set(zip(part.user.tolist(), part.item.tolist(), part.rating.tolist(),  # noqa: E731
                               strict=True))
    total = len(s.train) + len(s.val) + len(s.test)
    assert total == 1000
    s2 = R.split_ratings(u, i, r, seed=0)
    assert torch.equal(s.test.user, s2.test.user)
    s3 = R.split_ratings(u, i, r, seed=1)
    assert not torch.equal(s.test.user, s3.test.user)
    assert s.n_users == len(np.unique(u)) and s.n_items == len(np.unique(i))
    assert key(s.test) and s.train.rating.dtype == torch.float32


def test_synthetic_ratings_power_law_and_range():
    u, i, r = R.synthetic_ratings(n_items=500, n_ratings=50_000, popularity_exponent=1.0, seed=0)
    assert r.min() >= 1 and r.max() <= 5
    counts = np.bincount(i, minlength=500)
    # Zipf with exponent 1: item 1 is drawn about 10x as often as item 10
    assert 7 < counts[0] / counts[9] < 14
    assert counts[:10].sum() > counts[250:].sum()


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_users=0), "n_users"), (dict(rank=1.5), "rank"), (dict(noise=-1.0), "noise"),
])
def test_synthetic_ratings_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        R.synthetic_ratings(**kwargs)


def test_split_invalid():
    with pytest.raises(ValueError, match="val_fraction"):
        R.split_ratings([1, 2], [1, 2], [3, 4], val_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ValueError, match="length"):
        R.split_ratings([1, 2], [1], [3, 4])


def test_biases_beat_the_global_mean_and_solve_their_equations():
    s = _splits()
    mean, bu, bi = R.fit_biases(s, reg=5.0, iters=50)
    pred = torch.clamp(mean + bu[s.test.user] + bi[s.test.item], 1, 5)
    rmse = float(torch.sqrt(torch.mean((pred - s.test.rating.double()) ** 2)))
    assert rmse < R.global_mean_rmse(s) - 0.05
    # the last half-step solves the user equations exactly: b_u (reg + n_u) = Σ (r - mean - b_i)
    tr = s.train
    resid = torch.bincount(tr.user, tr.rating.double() - mean - bi[tr.item], s.n_users)
    n_u = torch.bincount(tr.user, minlength=s.n_users).double()
    torch.testing.assert_close(bu * (5.0 + n_u), resid, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(R.OPTIMIZERS))
def test_train_mf_learns_with_every_optimizer(name):
    s = _splits()
    lr = {"SGD": 1.0, "Adagrad": 0.1, "Adam": 0.01, "SparseAdam": 0.01}[name]
    res = R.train_mf(s, name, lr, seed=0, dim=8, epochs=4, batch_size=512)
    assert res.best_val < R.global_mean_rmse(s, "val")
    assert res.test_sq_error.shape == (len(s.test),)
    assert np.isclose(np.sqrt(res.test_sq_error.mean()), res.best_test)
    cls, sparse = R.OPTIMIZERS[name]
    assert (res.state_bytes == 0) == (name == "SGD")


def test_train_mf_returns_the_trained_model_and_optimizer_state():
    s = _splits()
    res = R.train_mf(s, "Adagrad", 0.1, seed=0, dim=4, epochs=2, batch_size=512)
    with torch.no_grad():  # the returned model is the one after the last epoch
        pred = res.model(s.test.user, s.test.item).clamp(1, 5)
    rmse = float(torch.sqrt(torch.mean((pred.double() - s.test.rating.double()) ** 2)))
    assert np.isclose(rmse, res.test_rmse[-1], rtol=1e-12)
    G = res.optimizer.state[res.model.item.weight]["sum"]  # Adagrad's G: only rows seen in training
    seen = torch.as_tensor(s.item_counts() > 0)
    assert (G[seen] > 0).all() and (G[~seen] == 0).all()


def test_train_mf_reports_divergence_as_nan_and_rejects_bad_input():
    s = _splits()
    res = R.train_mf(s, "SGD", 1e6, seed=0, dim=4, epochs=3, batch_size=512)
    assert np.isnan(res.val_rmse[-1])
    with pytest.raises(ValueError, match="optimizer"):
        R.train_mf(s, "Nope", 0.1, seed=0)
    with pytest.raises(ValueError, match="lr"):
        R.train_mf(s, "SGD", 0.0, seed=0)


def test_sparse_embeddings_give_sparse_gradients():
    m = R.BiasedMF(5, 7, 3, 3.0, sparse=True)
    (m(torch.tensor([0, 1]), torch.tensor([2, 3])).sum() + m.penalty(torch.tensor([0]),
                                                                      torch.tensor([1]))).backward()
    assert all(p.grad.is_sparse for p in m.parameters())


def test_bucket_rmse():
    sq = np.array([1.0, 4.0, 9.0, 16.0])
    items = np.array([0, 1, 2, 2])
    counts = np.array([1, 5, 50])
    out = R.bucket_rmse(sq, items, counts, (0, 2, 10, 100, 1000))
    np.testing.assert_allclose(out[:3], [1.0, 2.0, np.sqrt(12.5)])
    assert np.isnan(out[3])


def test_movielens100k_real_file():
    try:
        s = lrbook.data.movielens100k(seed=0)
    except FileNotFoundError as exc:
        pytest.skip(f"MovieLens 100k is not in the data cache (run `make data`): {exc}")
    assert (len(s.train), len(s.val), len(s.test)) == (80_000, 10_000, 10_000)
    assert (s.n_users, s.n_items) == (943, 1682)
    assert float(s.train.rating.min()) == 1.0 and float(s.train.rating.max()) == 5.0
