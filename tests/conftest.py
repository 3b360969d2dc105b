"""Shared pytest set-up.

pytest-xdist runs one worker per core (``-n 2`` in ``make test``). Left alone,
each worker's torch would also start one OpenMP thread per core, and the
spinning threads of two workers starve each other: tiny tensor operations
became ~80× slower in the full suite. One intra-op thread per worker avoids it.
"""

import torch

torch.set_num_threads(1)
