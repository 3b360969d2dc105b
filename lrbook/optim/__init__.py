"""torch.optim-compatible optimizers, each one short readable rule.

Classes (torch 2.13's names, arguments, defaults and errors):
``GradientDescent`` (plain gradient descent), ``SGD``, ``Adagrad``, ``RMSprop``,
``Adadelta``, ``Adam``, ``AdamW``, ``Adamax``, ``NAdam``, ``RAdam``,
``Adafactor``, ``SparseAdam``; the layer-wise ``LARS`` and ``LAMB``; the wrapper ``Lookahead(optimizer, k=5,
alpha=0.5)``; learning rates that tune themselves: ``SPS`` (stochastic
Polyak step), ``SLS`` (stochastic Armijo line search), ``HypergradientSGD`` and
``HypergradientAdam`` (not in torch; their papers' arguments); ``SGDScheduleFree``,
``AdamWScheduleFree`` (with ``train()``/``eval()``), ``Prodigy``, ``DAdaptSGD`` and
``DAdaptAdam`` (the names, arguments and defaults of schedulefree 1.4.1,
prodigyopt 1.1.2 and dadaptation 3.2); Keras-3 semantics in :mod:`lrbook.optim.keras` (``Adam``,
``RMSprop``, ``Adagrad``, ``Adadelta``, ``Nadam`` with Keras' argument names).

Rule functions, ``rule(param, grad, state, *, lr, ...)`` (update in place):

- :func:`lrbook.optim.gd.gd_update`
- :func:`lrbook.optim.sgd.sgd_update`
- :func:`lrbook.optim.adagrad.adagrad_update`
- :func:`lrbook.optim.rmsprop.rmsprop_update`
- :func:`lrbook.optim.adadelta.adadelta_update`
- :func:`lrbook.optim.adam.adam_update` (Adam and AdamW)
- :func:`lrbook.optim.adamax.adamax_update`
- :func:`lrbook.optim.nadam.nadam_update`
- :func:`lrbook.optim.radam.radam_update`
- :func:`lrbook.optim.adafactor.adafactor_update`
- :func:`lrbook.optim.sparse_adam.sparse_adam_update`
- :func:`lrbook.optim.lars.lars_update`, :func:`lrbook.optim.lamb.lamb_update`
- :func:`lrbook.optim.keras.keras_adam_update`, ``keras_rmsprop_update``,
  ``keras_adagrad_update``

Every class is the shared adapter :class:`lrbook.optim._adapter.RuleOptimizer`
plus a rule: it handles param groups, ``state_dict``, closures, ``maximize``,
complex parameters, sparse-gradient errors and skipping parameters without a
gradient, once for all.

Example::

    import lrbook.optim
    opt = lrbook.optim.Adam(model.parameters(), lr=1e-3)   # same as torch.optim.Adam
"""

from lrbook.optim import keras
from lrbook.optim._adapter import RuleOptimizer
from lrbook.optim.adadelta import Adadelta
from lrbook.optim.adafactor import Adafactor
from lrbook.optim.adagrad import Adagrad
from lrbook.optim.adam import Adam, AdamW
from lrbook.optim.adamax import Adamax
from lrbook.optim.d_adaptation import DAdaptAdam, DAdaptSGD
from lrbook.optim.gd import GradientDescent
from lrbook.optim.hypergradient import HypergradientAdam, HypergradientSGD
from lrbook.optim.lamb import LAMB
from lrbook.optim.lars import LARS
from lrbook.optim.lookahead import Lookahead
from lrbook.optim.nadam import NAdam
from lrbook.optim.prodigy import Prodigy
from lrbook.optim.radam import RAdam
from lrbook.optim.rmsprop import RMSprop
from lrbook.optim.schedule_free import AdamWScheduleFree, SGDScheduleFree
from lrbook.optim.sgd import SGD
from lrbook.optim.sls import SLS
from lrbook.optim.sparse_adam import SparseAdam
from lrbook.optim.sps import SPS

__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "AdamWScheduleFree",
    "Adamax",
    "DAdaptAdam",
    "DAdaptSGD",
    "GradientDescent",
    "HypergradientAdam",
    "HypergradientSGD",
    "LAMB",
    "LARS",
    "Lookahead",
    "NAdam",
    "Prodigy",
    "RAdam",
    "RMSprop",
    "RuleOptimizer",
    "SGDScheduleFree",
    "SLS",
    "SPS",
    "SparseAdam",
    "keras",
]
