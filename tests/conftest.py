"""Shared pytest set-up.

pytest-xdist runs one worker per core (``-n 2`` in ``make test``). Left alone,
each worker's torch would also start one OpenMP thread per core, and the
spinning threads of two workers starve each other: tiny tensor operations
became ~80× slower in the full suite. One intra-op thread per worker avoids it.
"""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def float64_default():
    """float64 as torch's default dtype for one test, restored afterwards.

    Tests share worker processes: a default dtype changed at module level leaks
    into every later test of the same worker. Use it module-wide with
    ``pytestmark = pytest.mark.usefixtures("float64_default")``.
    """
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
