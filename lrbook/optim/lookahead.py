r"""Lookahead (Zhang, Lucas, Hinton and Ba, 2019): "k steps forward, 1 step back".

Wraps any inner optimizer. The inner optimizer moves the *fast* weights
:math:`\theta`; every :math:`k` inner steps the *slow* weights :math:`\bar\theta` move a
fraction :math:`\phi` (the slow step size, ``alpha``) of the way towards them and the fast weights restart
from there:

.. math::

    \theta_{t,0} &= \bar\theta_{t-1} \\
    \theta_{t,i} &= \theta_{t,i-1} + \text{inner step}, \qquad i = 1, \dots, k \\
    \bar\theta_t &= \bar\theta_{t-1} + \phi\,(\theta_{t,k} - \bar\theta_{t-1}) \\
    \theta_{t+1,0} &= \bar\theta_t

:math:`\bar\theta_0 = \theta_0` (a copy of the parameters when the wrapper is built).
The inner optimizer's state (momentum, second moments) is kept across
synchronisations, the paper's default. The paper uses :math:`k \in \{5, 10\}`,
:math:`\phi \in \{0.5, 0.8\}` (the paper calls it :math:`\alpha`).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any

import torch
from torch import Tensor

__all__ = ["Lookahead"]


class Lookahead(torch.optim.Optimizer):
    r"""``Lookahead(optimizer, k=5, alpha=0.5)``: wrap ``optimizer`` with slow weights.

    Behaves like an optimizer: ``step(closure)``, ``zero_grad()``, and
    ``param_groups`` is the inner optimizer's list (so learning-rate schedulers
    act on the inner optimizer). ``state_dict()`` holds the inner optimizer's
    state dict, the slow weights and the step counter.

    Raises ``ValueError`` unless ``k`` is an integer ``>= 1`` and
    ``0 <= alpha <= 1``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, k: int = 5, alpha: float = 0.5) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"Invalid k (number of inner steps), must be an integer >= 1: {k}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"Invalid alpha value, must be in [0, 1]: {alpha}")
        self.optimizer = optimizer
        self.k = k
        self.alpha = alpha
        self.num_steps = 0  # inner steps taken so far
        # What torch.optim.Optimizer.__init__ sets up (hooks, state), without
        # registering the groups a second time: they belong to the inner optimizer.
        self.defaults = optimizer.defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        self._patch_step_function()
        self.state: defaultdict[Tensor, Any] = defaultdict(dict)  # state[p]["slow_param"] = φ
        for p in self._params():
            self.state[p]["slow_param"] = p.detach().clone()

    # the groups live in the inner optimizer
    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    @param_groups.setter
    def param_groups(self, value: list[dict[str, Any]]) -> None:
        self.optimizer.param_groups = value

    def _params(self) -> list[Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group to the inner optimizer; its slow weights start at its current values."""
        self.optimizer.add_param_group(param_group)
        for p in self.optimizer.param_groups[-1]["params"]:
            self.state[p]["slow_param"] = p.detach().clone()

    @torch.no_grad()
    def synchronize(self) -> None:
        r"""The "1 step back": :math:`\bar\theta \leftarrow \bar\theta + \phi(\theta - \bar\theta)`, :math:`\theta \leftarrow \bar\theta`."""
        for p in self._params():
            slow = self.state[p]["slow_param"]
            slow.add_(p - slow, alpha=self.alpha)
            p.copy_(slow)

    def step(self, closure=None):
        """One inner step; every ``k``-th call also synchronises the weights."""
        loss = self.optimizer.step(closure)
        self.num_steps += 1
        if self.num_steps % self.k == 0:
            self.synchronize()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        """Inner state dict + slow weights (in parameter order) + counters."""
        return {
            "inner": self.optimizer.state_dict(),
            "slow_params": [self.state[p]["slow_param"].clone() for p in self._params()],
            "num_steps": self.num_steps,
            "k": self.k,
            "alpha": self.alpha,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (inner optimizer included)."""
        params = self._params()
        slow = state_dict["slow_params"]
        if len(slow) != len(params):
            raise ValueError(
                f"loaded state dict has {len(slow)} slow weights, the optimizer has {len(params)} parameters"
            )
        self.optimizer.load_state_dict(state_dict["inner"])
        for p, s in zip(params, slow, strict=True):
            self.state[p]["slow_param"] = s.detach().clone().to(dtype=p.dtype, device=p.device)
        self.num_steps = state_dict["num_steps"]
        self.k = state_dict["k"]
        self.alpha = state_dict["alpha"]

    def __repr__(self) -> str:
        return f"Lookahead(k={self.k}, alpha={self.alpha}, optimizer={self.optimizer!r})"
