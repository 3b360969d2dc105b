r"""Data-parallel training with ``torch.distributed`` on one machine (CPU: gloo, GPUs: NCCL).

:func:`run_ddp` starts ``world_size`` processes with ``torch.multiprocessing``
(start method ``spawn``), each wrapping the same model in
``DistributedDataParallel``. Every process takes its own ``B / world_size``
rows of each global batch of ``B`` rows; DDP all-reduces (averages) the
gradients, so, with a loss that is a mean over the local rows, every process
applies the gradient of the mean over all ``B`` rows: the same step as one
process with batch ``B`` (:func:`run_single`). In float64 the two agree to
rounding (the order of the additions differs).

Gradient accumulation goes past the number of processes: with
``accumulation_steps = A`` each process splits its ``B / world_size`` rows into
``A`` micro-batches of ``B_micro = B / (world_size A)`` rows, back-propagates each
(:func:`accumulate_gradients`, DDP's ``no_sync`` for all but the last, so the
processes communicate once per step), and steps once. ``world_size`` processes ×
``A`` micro-batches of ``B_micro`` rows is one process with batch ``world_size·A·B_micro``.

Safety: the processes listen on ``127.0.0.1`` only, on a port chosen by binding
to port 0 (:func:`free_port`); a port given by the caller that is already in
use raises ``RuntimeError`` before anything starts; the processes are always
terminated in a ``finally`` block (a failing or hanging worker cannot leave
orphans), and a run that exceeds ``timeout`` seconds raises ``TimeoutError``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

__all__ = ["accumulate_gradients", "free_port", "make_model", "run_ddp", "run_single"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise RuntimeError(f"port {port} on 127.0.0.1 is already in use; pass port=None to "
                               "pick a free one") from exc


def make_model(n_in: int, n_hidden: int, n_out: int, seed: int) -> nn.Module:
    """A small float64 MLP ``n_in → n_hidden → tanh → n_out``, initialised from ``seed``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.Tanh(), nn.Linear(n_hidden, n_out)).double()


def accumulate_gradients(model: nn.Module, loss_fn, X, Y, micro_batch_size: int) -> float:
    r"""Back-propagate ``loss_fn(model(X), Y)`` over ``X`` in micro-batches; return the loss.

    ``loss_fn`` must be a *mean* over rows (``mse``, ``cross_entropy`` with the
    default reduction). Micro-batch :math:`j` of :math:`n_j` rows contributes
    :math:`(n_j/n)\,\nabla f_j`, so the accumulated ``.grad`` is the gradient of
    the mean over all :math:`n` rows of ``X`` (exact up to rounding; a last,
    smaller micro-batch is weighted correctly). Gradients *add* to the existing
    ``.grad``: call ``zero_grad()`` first. If ``model`` is a
    ``DistributedDataParallel`` module, all but the last backward run inside
    ``model.no_sync()`` (one all-reduce per call). Peak activation memory is
    that of one micro-batch.

    Raises ``ValueError`` if ``micro_batch_size < 1`` or ``X`` is empty.
    """
    if int(micro_batch_size) != micro_batch_size or micro_batch_size < 1:
        raise ValueError(f"micro_batch_size must be a positive integer, got {micro_batch_size!r}")
    n = len(X)
    if n == 0:
        raise ValueError("X must hold at least one row")
    starts = range(0, n, micro_batch_size)
    total = 0.0
    for i, start in enumerate(starts):
        xb, yb = X[start:start + micro_batch_size], Y[start:start + micro_batch_size]
        last = i == len(starts) - 1
        ctx = model.no_sync() if (not last and hasattr(model, "no_sync")) else contextlib.nullcontext()
        with ctx:
            loss = loss_fn(model(xb), yb) * (len(xb) / n)  # (n_j / n) f_j
            loss.backward()
        total += loss.item()
    return total


def _mse(out, y):
    return torch.mean((out - y) ** 2)


def _train(model: nn.Module, X, Y, *, lr: float, steps: int, batch_size: int, rank: int,
           world_size: int, accumulation_steps: int = 1) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    local = batch_size // world_size
    micro = local // accumulation_steps
    for t in range(steps):
        start = (t * batch_size) % len(X) + rank * local
        xb, yb = X[start:start + local], Y[start:start + local]
        opt.zero_grad()
        accumulate_gradients(model, _mse, xb, yb, micro)
        opt.step()


def _worker(rank: int, world_size: int, port: int, backend: str, spec: dict, out: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group(backend, rank=rank, world_size=world_size,
                            timeout=timedelta(seconds=60))
    try:
        model = make_model(*spec["shape"], seed=spec["seed"])
        dev = torch.device(f"cuda:{rank}") if backend == "nccl" else torch.device("cpu")
        model.to(dev)
        ddp = nn.parallel.DistributedDataParallel(model, device_ids=[rank] if backend == "nccl" else None)
        X, Y = spec["X"].to(dev), spec["Y"].to(dev)
        dist.barrier()
        start = time.perf_counter()
        _train(ddp, X, Y, lr=spec["lr"], steps=spec["steps"], batch_size=spec["batch_size"],
               rank=rank, world_size=world_size, accumulation_steps=spec["accumulation_steps"])
        seconds = time.perf_counter() - start
        if rank == 0:
            torch.save({"params": [p.detach().cpu() for p in model.parameters()],
                        "seconds": seconds}, out)
    finally:
        dist.destroy_process_group()


def _check_sizes(X, batch_size, world_size, accumulation_steps) -> None:
    if int(world_size) != world_size or world_size < 1:
        raise ValueError(f"world_size must be a positive integer, got {world_size!r}")
    if int(accumulation_steps) != accumulation_steps or accumulation_steps < 1:
        raise ValueError(f"accumulation_steps must be a positive integer, got {accumulation_steps!r}")
    if batch_size % (world_size * accumulation_steps):
        raise ValueError(f"batch_size ({batch_size}) must be divisible by world_size × "
                         f"accumulation_steps ({world_size} × {accumulation_steps})")
    if len(X) % batch_size:
        raise ValueError(f"the number of rows of X ({len(X)}) must be a multiple of batch_size "
                         f"({batch_size}), so that every step sees a full batch")


def run_single(X, Y, *, shape=(8, 16, 1), seed: int = 0, lr: float = 0.1, steps: int = 20,
               batch_size: int = 32, accumulation_steps: int = 1) -> list[torch.Tensor]:
    """Train :func:`make_model` in this process with global batches of ``batch_size`` rows.

    With ``accumulation_steps = A`` each step back-propagates ``A`` micro-batches
    of ``batch_size / A`` rows before it updates (the same step, up to rounding).
    """
    _check_sizes(X, batch_size, 1, accumulation_steps)
    model = make_model(*shape, seed=seed)
    _train(model, X, Y, lr=lr, steps=steps, batch_size=batch_size, rank=0, world_size=1,
           accumulation_steps=accumulation_steps)
    return [p.detach().clone() for p in model.parameters()]


def run_ddp(X, Y, *, world_size: int = 2, shape=(8, 16, 1), seed: int = 0, lr: float = 0.1,
            steps: int = 20, batch_size: int = 32, accumulation_steps: int = 1,
            port: int | None = None,
            backend: str | None = None, timeout: float = 120.0) -> tuple[list[torch.Tensor], float]:
    """Train the same model with ``world_size`` DDP processes; return (rank 0's parameters, seconds).

    ``X`` (N, n_in) and ``Y`` (N, n_out) float64 tensors; step ``t`` uses rows
    ``t·B mod N ...`` (``N`` a multiple of ``B``); ``batch_size`` (``B``, the
    global batch) must be divisible by ``world_size × accumulation_steps``: each
    process back-propagates ``accumulation_steps`` micro-batches of
    ``B / (world_size · accumulation_steps)`` rows per step.
    ``backend``: ``"gloo"`` (CPU), ``"nccl"`` (one GPU per process), default
    NCCL when ``torch.cuda.device_count() >= world_size`` else gloo. The seconds
    are the training loop of rank 0 (after a barrier), not the start-up.

    Raises ``ValueError`` for bad sizes, ``RuntimeError`` if ``port`` is taken
    or a worker fails, ``TimeoutError`` after ``timeout`` seconds (the workers
    are killed in every case).
    """
    _check_sizes(X, batch_size, world_size, accumulation_steps)
    if backend is None:
        backend = "nccl" if torch.cuda.device_count() >= world_size else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}")
    if port is None:
        port = free_port()
    else:
        _check_port(port)
    spec = dict(shape=shape, seed=seed, lr=lr, steps=steps, batch_size=batch_size,
                accumulation_steps=accumulation_steps, X=X.detach().cpu(), Y=Y.detach().cpu())
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "rank0.pt")
        ctx = mp.start_processes(_worker, args=(world_size, port, backend, spec, out),
                                 nprocs=world_size, join=False, start_method="spawn")
        deadline = time.monotonic() + timeout
        try:
            while not ctx.join(timeout=1.0):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"DDP run did not finish within {timeout} s")
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.terminate()
            for p in ctx.processes:
                p.join(5)
                if p.is_alive():
                    p.kill()
        result = torch.load(out)
    return result["params"], float(result["seconds"])
