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
