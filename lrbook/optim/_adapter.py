"""The one adapter that turns a pure update rule into a ``torch.optim.Optimizer``.

Every optimizer in :mod:`lrbook.optim` is a *rule*: a short function

.. code-block:: python

    def rule(param, grad, state, *, lr, ...hyperparameters) -> None

that updates ``param`` and the tensors in ``state`` **in place**, exactly as the
algorithm box of its chapter says. Everything that is not the algorithm lives
here, once, for all optimizers:

- construction, param groups, defaults filling, ``add_param_group``,
  ``zero_grad``, ``state_dict``/``load_state_dict`` and hooks are inherited
  unchanged from :class:`torch.optim.Optimizer` (so checkpoints are
  interchangeable with torch's, step counter included);
- ``step(closure=None)``: evaluates the closure under ``torch.enable_grad()``,
  then, under ``torch.no_grad()``, visits every parameter **whose gradient is
  not None** (parameters without a gradient are skipped entirely: no state, no
  step-counter increment, no weight decay);
- ``maximize=True``: the rule receives ``-grad`` (so maximizing ``f`` is
  minimizing ``-f``, weight decay included);
- complex parameters: the rule sees ``torch.view_as_real`` views of the
  parameter, the gradient and the complex state tensors, so real and imaginary
  parts are independent coordinates (as in torch);
- sparse gradients: an optimizer that cannot handle them raises torch's
  ``RuntimeError`` in ``step()`` before touching the group;
- lazy state: ``init_state(param, group)`` runs at the first step in which a
  parameter has a gradient (Adagrad, like torch, initialises eagerly instead).
- checkpoints written by older torch versions are upgraded on load, as the
  optimizers' ``__setstate__`` do in torch: a per-parameter ``step`` (and
  NAdam's ``mu_product``) stored as a Python number becomes the 0-d tensor
  torch uses now, and a param group that lacks a key added by a later torch
  version (``decoupled_weight_decay``, ``amsgrad``, ``nesterov``,
  ``centered``, ``maximize``, ...) gets the default of the optimizer's
  constructor. torch fills in only the keys it lists per optimizer; lrbook
  fills every missing constructor argument (a superset: torch would raise
  ``KeyError`` at ``step()`` for the others).

A subclass declares only: its ``__init__`` (torch's arguments, defaults and
validation, then ``super().__init__(params, defaults)``), ``rule``,
``init_state`` and ``hyperparameters(group)`` (the keyword arguments of the rule,
read from a param group).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "RuleOptimizer",
    "new_step_counter",
    "zero_buffers",
    "check_non_negative",
    "check_lr",
    "check_betas",
    "reject_unsupported_flags",
]


def new_step_counter() -> Tensor:
    """A fresh step counter ``t = 0``, stored like torch stores it.

    A 0-d CPU tensor of dtype float32, or float64 when the default dtype is
    float64 (torch's ``_get_scalar_dtype``). Rules increment it in place and read
    it with ``.item()``, so bias corrections use a Python float ``t``.
    """
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    return torch.tensor(0.0, dtype=dtype, device="cpu")


def zero_buffers(param: Tensor, *names: str) -> dict[str, Tensor]:
    """Zero state buffers called ``names``, each shaped and laid out like ``param``.

    The moment estimates of every adaptive rule start at zero; this is where
    they are made, so ``init_state`` lists only what an algorithm keeps.
    """
    return {name: torch.zeros_like(param, memory_format=torch.preserve_format) for name in names}


def check_lr(lr: float | Tensor) -> None:
    """Validate a learning rate as torch does (tensor lr must have one element)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_non_negative(value: float | Tensor, what: str) -> None:
    """Raise torch's ``ValueError("Invalid {what}: {value}")`` when ``value < 0``.

    ``what`` is the phrase torch uses, e.g. ``"epsilon value"``,
    ``"weight_decay value"``, ``"momentum value"``.
    """
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {value}")


def check_betas(betas: tuple[Any, Any]) -> None:
    """Validate ``0 <= beta_i < 1`` with torch's message naming the index."""
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def reject_unsupported_flags(**flags: Any) -> None:
    """Refuse torch's alternative-kernel flags that lrbook does not implement.

    lrbook implements the single-tensor path only (the one torch runs on CPU by
    default). ``foreach`` is accepted and ignored (same mathematics), but
    ``fused``, ``capturable`` and ``differentiable`` change what ``step`` does,
    so asking for them raises ``NotImplementedError`` (a ``RuntimeError``, which
    is also what torch raises for its invalid flag combinations).
    """
    for name, value in flags.items():
        if value:
            raise NotImplementedError(
                f"lrbook.optim implements the single-tensor path only: {name}=True is not supported"
            )


def _to_scalar(value: Any) -> Any:
    """Squeeze a 1-element tensor hyperparameter to 0-d, as torch does."""
    if isinstance(value, Tensor) and value.dim() != 0:
        return value.squeeze()
    return value


class RuleOptimizer(torch.optim.Optimizer):
    """Base class: a ``torch.optim.Optimizer`` driven by one pure update rule.

    Class attributes a subclass may set:

    ``rule``
        ``staticmethod`` ``rule(param, grad, state, **hyperparameters)``.
    ``sparse_error``
        message of the ``RuntimeError`` raised when a gradient is sparse, or
        ``None`` if the rule handles sparse gradients itself.
    ``complex_error``
        message of the ``RuntimeError`` raised for a complex parameter, or
        ``None`` if complex parameters are supported.
    ``complex_as_real``
        whether complex parameters are handed to the rule as real views
        (``True`` for every adaptive method; SGD works on complex numbers
        directly, like torch).
    """

    rule: Callable[..., None]
    sparse_error: str | None = None
    complex_error: str | None = None
    complex_as_real: bool = True

    # --- what a subclass declares -------------------------------------------------
    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """Return the initial state of ``param`` (default: no state)."""
        return {}

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        """Return the rule's keyword arguments read from ``group``."""
        raise NotImplementedError

    # --- the shared machinery -----------------------------------------------------
    #: per-parameter state entries that old torch versions stored as Python numbers
    _scalar_state_keys: tuple[str, ...] = ("step", "mu_product")
    #: where torch's ``__setstate__`` fills a missing key with something other
    #: than the constructor's default (SGD: ``fused=False``, not ``None``)
    _upgrade_defaults: dict[str, Any] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Upgrade state from older torch versions (``load_state_dict`` ends here)."""
        super().__setstate__(state)
        signature = inspect.signature(type(self).__init__).parameters
        defaults = {name: p.default for name, p in signature.items()
                    if name in self.defaults and p.default is not inspect.Parameter.empty}
        defaults.update(self._upgrade_defaults)
        for group in self.param_groups:
            for key, value in defaults.items():
                group.setdefault(key, value)
            group.update(self._forced_group_values())
        for param_state in self.state.values():
            for key in self._scalar_state_keys:
                if key in param_state and not torch.is_tensor(param_state[key]):
                    counter = new_step_counter()
                    counter.fill_(float(param_state[key]))
                    param_state[key] = counter

    def _forced_group_values(self) -> dict[str, Any]:
        """Group values a subclass always has, whatever the checkpoint says (AdamW's
        ``decoupled_weight_decay=True``, as torch's ``AdamW.__setstate__``)."""
        return {}

    def check_grads(self, params: list[Tensor]) -> None:
        """Raise torch's ``RuntimeError`` for gradients the rule cannot take.

        Called once per group, before any parameter of the group is updated.
        """
        for p in params:
            if self.complex_error is not None and torch.is_complex(p):
                raise RuntimeError(self.complex_error)
            if self.sparse_error is not None and p.grad.is_sparse:
                raise RuntimeError(self.sparse_error)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; return the closure's loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        rule = type(self).rule
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            self.check_grads(params)
            hyper = {k: _to_scalar(v) for k, v in self.hyperparameters(group).items()}
            maximize = group.get("maximize", False)
            for param in params:
                grad = -param.grad if maximize else param.grad
                state = self.state.get(param)
                if state is None:
                    state = self.init_state(param, group)
                    if state:
                        self.state[param] = state
                if self.complex_as_real and torch.is_complex(param) and not grad.is_sparse:
                    self._complex_step(rule, param, grad, state, hyper)
                else:
                    rule(param, grad, state, **hyper)
                if state and param not in self.state:  # the rule created state (SGD)
                    self.state[param] = state
        return loss

    @staticmethod
    def _complex_step(rule, param, grad, state, hyper) -> None:
        """Run ``rule`` on real views of a complex parameter and its state."""
        real_state = {
            k: torch.view_as_real(v) if isinstance(v, Tensor) and v.is_complex() else v
            for k, v in state.items()
        }
        rule(torch.view_as_real(param), torch.view_as_real(grad), real_state, **hyper)
        for k, v in real_state.items():  # keys the rule added (none for the built-ins)
            if k not in state:
                state[k] = v
