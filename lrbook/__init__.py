"""lrbook: reference implementations behind the executable textbook on
learning rates and optimizers.

Subpackages and modules:

- :mod:`lrbook.optim`           torch.optim-compatible optimizers, one readable rule each
- :mod:`lrbook.schedules`       learning-rate schedules (pure functions) and torch-compatible schedulers
- :mod:`lrbook.early_stopping`  Keras-compatible :class:`EarlyStopping` and Prechelt's criteria
- :mod:`lrbook.lr_finder`       the learning-rate range test
- :mod:`lrbook.search`          grid, random and Bayesian (Optuna TPE) hyperparameter search
- :mod:`lrbook.train`           the training loop (``fit``) with schedulers, early stopping, checkpoints
- :mod:`lrbook.data`            small offline datasets and seeded minibatches
- :mod:`lrbook.models`          the case studies' models (MNIST-1D baselines, a small MNIST CNN) and vectorised training
- :mod:`lrbook.problems`        2-D and 1-D test functions with gradients and known minima
- :mod:`lrbook.plotting`        the book's one plotting style
- :mod:`lrbook.config`          device, run-scale and seed switches
- :mod:`lrbook.stats`           means with standard errors, learning-rate grids, tuned-interior checks
- :mod:`lrbook.linear_dynamics` gradient descent and momentum on a quadratic as linear iterations
- :mod:`lrbook.sweeps`          one update rule for many learning rates and seeds at once on small problems
"""

from lrbook.config import at_scale, device, scale, seed, seeds
from lrbook.early_stopping import EarlyStopping

__version__ = "0.1.0"

__all__ = ["EarlyStopping", "__version__", "at_scale", "device", "scale", "seed", "seeds"]
