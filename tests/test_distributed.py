"""lrbook.distributed: DDP with 2 gloo processes equals one process (float64), and cleans up."""

import socket

import pytest
import torch

from lrbook import distributed as D


def _data(n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 8, generator=g, dtype=torch.float64)
    return X, torch.sin(X.sum(1, keepdim=True))


def test_two_processes_equal_one_process():
    X, Y = _data()
    single = D.run_single(X, Y, steps=8, batch_size=32)
    ddp, seconds = D.run_ddp(X, Y, world_size=2, steps=8, batch_size=32, timeout=180)
    diff = max((a - b).abs().max().item() for a, b in zip(single, ddp, strict=True))
    assert diff <= 1e-12
    assert seconds > 0
    # and the result is not trivially equal to the start
    start = [p.detach() for p in D.make_model(8, 16, 1, seed=0).parameters()]
    assert max((a - b).abs().max().item() for a, b in zip(start, ddp, strict=True)) > 1e-3


def test_taken_port_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        X, Y = _data()
        with pytest.raises(RuntimeError, match="already in use"):
            D.run_ddp(X, Y, port=port)


def test_bad_sizes():
    X, Y = _data()
    with pytest.raises(ValueError, match="divisible"):
        D.run_ddp(X, Y, world_size=2, batch_size=33)
    with pytest.raises(ValueError, match="backend"):
        D.run_ddp(X, Y, backend="mpi")


def test_accumulate_gradients_equals_full_batch_gradient():
    X, Y = _data(n=50)
    full = D.make_model(8, 16, 1, seed=1)
    torch.mean((full(X) - Y) ** 2).backward()
    for micro in (1, 7, 16, 50, 64):  # uneven last micro-batch included
        acc = D.make_model(8, 16, 1, seed=1)
        loss = D.accumulate_gradients(acc, D._mse, X, Y, micro)
        assert abs(loss - torch.mean((full(X) - Y) ** 2).item()) <= 1e-12
        for a, b in zip(full.parameters(), acc.parameters(), strict=True):
            assert (a.grad - b.grad).abs().max().item() <= 1e-12
    with pytest.raises(ValueError, match="micro_batch_size"):
        D.accumulate_gradients(acc, D._mse, X, Y, 0)
    with pytest.raises(ValueError, match="at least one row"):
        D.accumulate_gradients(acc, D._mse, X[:0], Y[:0], 4)


def test_single_process_accumulation_equals_large_batch():
    X, Y = _data()
    big = D.run_single(X, Y, steps=6, batch_size=64)
    acc = D.run_single(X, Y, steps=6, batch_size=64, accumulation_steps=4)
    assert max((a - b).abs().max().item() for a, b in zip(big, acc, strict=True)) <= 1e-12


def test_two_processes_with_accumulation_equal_one_large_batch():
    X, Y = _data()
    k, b = 4, 8  # 2 processes × 4 micro-batches × 8 rows = batch 64
    single = D.run_single(X, Y, steps=6, batch_size=2 * k * b)
    ddp, _ = D.run_ddp(X, Y, world_size=2, steps=6, batch_size=2 * k * b, accumulation_steps=k,
                       timeout=180)
    diff = max((a - c).abs().max().item() for a, c in zip(single, ddp, strict=True))
    assert diff <= 1e-12
    # a different batch size gives a different result: the check can fail
    other = D.run_single(X, Y, steps=6, batch_size=32)
    assert max((a - c).abs().max().item() for a, c in zip(other, ddp, strict=True)) > 1e-6


def test_bad_accumulation_sizes():
    X, Y = _data()
    with pytest.raises(ValueError, match="accumulation_steps must be"):
        D.run_ddp(X, Y, accumulation_steps=0)
    with pytest.raises(ValueError, match="world_size × accumulation_steps"):
        D.run_ddp(X, Y, world_size=2, batch_size=32, accumulation_steps=3)
    with pytest.raises(ValueError, match="multiple of batch_size"):
        D.run_single(X[:100], Y[:100], batch_size=32)
