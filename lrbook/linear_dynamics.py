r"""Gradient descent and momentum on a quadratic, as linear iterations.

On :math:`f(\theta) = \tfrac12 (\theta - \theta^\star)^\top H (\theta - \theta^\star)`
every optimizer of the gradient-descent and momentum chapters is a *linear*
iteration of the error :math:`e_t = \theta_t - \theta^\star`, and in the
eigenbasis of :math:`H` each eigendirection (curvature :math:`h_i`) evolves on
its own. Everything about one direction then depends on two numbers: the
step-size-times-curvature product :math:`z = \eta h_i` (dimensionless) and the
momentum :math:`\mu`.

* gradient descent: :math:`e_t = (1 - z)\, e_{t-1}`, contraction factor
  :math:`r = |1 - z|`;
* heavy ball (Polyak 1964; torch's ``SGD(momentum=mu)``):
  :math:`e_t = (1 + \mu - z)\, e_{t-1} - \mu\, e_{t-2}`;
* Nesterov (Sutskever et al. 2013; torch's ``nesterov=True``):
  :math:`e_t = (1 + \mu)(1 - z)\, e_{t-1} - \mu (1 - z)\, e_{t-2}`.

The two-step recursions have the iteration matrix
:math:`\begin{pmatrix} a & -b \\ 1 & 0 \end{pmatrix}` acting on
:math:`(e_{t-1}, e_{t-2})`, whose eigenvalues solve :math:`x^2 - a x + b = 0`;
the **contraction factor per step** :math:`r` is their largest modulus (the
spectral radius). The error shrinks like :math:`r^t` (times a polynomial in
:math:`t` at a double root), so :math:`r < 1` is exactly the condition for
convergence from every start. The phase picture of the momentum chapter
follows Goh (2017), *Why Momentum Really Works*, Distill.

All functions broadcast over NumPy arrays and return ``float`` arrays.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "REGIMES",
    "critical_momentum",
    "gd_contraction_factor",
    "iteration_matrix",
    "momentum_contraction_factor",
    "momentum_regime",
    "polyak_parameters",
    "stability_limit",
]

#: names of the codes returned by :func:`momentum_regime`
REGIMES = ("monotone", "ringing", "flipping", "divergent")


def _check_mu(mu: np.ndarray) -> None:
    if np.any(~np.isfinite(mu)) or np.any(mu < 0) or np.any(mu >= 1):
        raise ValueError(f"mu (the momentum) must lie in [0, 1), got {mu}")


def _coefficients(z, mu, nesterov: bool) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(z, dtype=float)
    mu = np.asarray(mu, dtype=float)
    _check_mu(mu)
    if np.any(~np.isfinite(z)):
        raise ValueError(f"z = eta * h must be finite, got {z}")
    if nesterov:
        return (1 + mu) * (1 - z), mu * (1 - z)
    return 1 + mu - z, mu + 0 * z


def _roots(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two (complex) roots of x^2 - a x + b = 0, larger modulus first."""
    sq = np.sqrt((a * a - 4 * b).astype(complex))
    x1, x2 = (a + sq) / 2, (a - sq) / 2
    swap = np.abs(x2) > np.abs(x1)
    return np.where(swap, x2, x1), np.where(swap, x1, x2)


def iteration_matrix(z: float, mu: float, nesterov: bool = False) -> np.ndarray:
    r"""The 2x2 matrix that maps :math:`(e_{t-1}, e_{t-2})` to :math:`(e_t, e_{t-1})`.

    ``z`` is :math:`\eta h` (learning rate times curvature), ``mu`` the momentum
    in ``[0, 1)``; ``nesterov`` selects torch's ``nesterov=True``. Scalars only;
    returns an array of shape ``(2, 2)``. Raises ``ValueError`` for ``mu``
    outside ``[0, 1)`` or a non-finite ``z``.
    """
    a, b = _coefficients(z, mu, nesterov)
    if a.ndim or b.ndim:
        raise ValueError("iteration_matrix takes scalars z and mu")
    return np.array([[float(a), -float(b)], [1.0, 0.0]])


def momentum_contraction_factor(z, mu, nesterov: bool = False) -> np.ndarray:
    r"""Contraction factor per step :math:`r` of heavy ball (or Nesterov) on one direction.

    ``z = eta * h`` and ``mu`` broadcast against each other; the result has
    their broadcast shape. :math:`r` is the spectral radius of
    :func:`iteration_matrix`; ``mu = 0`` gives gradient descent's
    :math:`|1 - z|`. For complex roots of the heavy ball :math:`r = \sqrt\mu`
    whatever ``z`` is. Raises ``ValueError`` for ``mu`` outside ``[0, 1)``.
    """
    a, b = _coefficients(z, mu, nesterov)
    x1, _ = _roots(a, b)
    return np.abs(x1)


def gd_contraction_factor(eta, curvatures) -> np.ndarray:
    r"""Gradient descent's contraction factor :math:`r(\eta) = \max_i |1 - \eta h_i|`.

    ``eta`` is a scalar or array of learning rates, ``curvatures`` the 1-D
    eigenvalues :math:`h_i` of the Hessian (all :math:`> 0`); the result has the
    shape of ``eta``. Raises ``ValueError`` for non-positive curvatures.
    """
    h = np.asarray(curvatures, dtype=float).ravel()
    if h.size == 0 or np.any(~(h > 0)):
        raise ValueError(f"curvatures must be positive, got {h}")
    eta = np.asarray(eta, dtype=float)
    return np.abs(1 - eta[..., None] * h).max(-1)


def momentum_regime(z, mu) -> np.ndarray:
    r"""Classify heavy-ball dynamics on one direction: codes into :data:`REGIMES`.

    0 ``monotone`` (real roots, positive dominant root: the error keeps its
    sign eventually), 1 ``ringing`` (complex roots: the error spirals in at
    rate :math:`\sqrt\mu`), 2 ``flipping`` (negative dominant root: the sign
    changes every step), 3 ``divergent`` (:math:`r \ge 1`). Broadcasts ``z``
    and ``mu``; returns an ``int`` array.
    """
    a, b = _coefficients(z, mu, nesterov=False)
    x1, _ = _roots(a, b)
    disc = a * a - 4 * b
    kind = np.where(disc < 0, 1, np.where(x1.real >= 0, 0, 2))
    return np.where(np.abs(x1) >= 1, 3, kind).astype(int)


def stability_limit(mu, nesterov: bool = False) -> np.ndarray:
    r"""Largest stable :math:`z = \eta h`: :math:`2(1+\mu)`, or :math:`2(1+\mu)/(1+2\mu)` for Nesterov.

    The recursion converges exactly for :math:`0 < z <` this limit (Jury's
    criterion for :math:`x^2 - a x + b`: :math:`|b| < 1` and :math:`|a| < 1 + b`).
    """
    mu = np.asarray(mu, dtype=float)
    _check_mu(mu)
    return 2 * (1 + mu) / (1 + 2 * mu) if nesterov else 2 * (1 + mu)


def critical_momentum(z) -> np.ndarray:
    r"""The fastest heavy-ball momentum for a given :math:`z \in (0, 1]`: :math:`(1 - \sqrt z)^2`.

    There the two roots meet (critical damping) and :math:`r = 1 - \sqrt z`,
    against :math:`1 - z` without momentum. Raises ``ValueError`` outside
    ``(0, 1]``.
    """
    z = np.asarray(z, dtype=float)
    if np.any(~(z > 0)) or np.any(z > 1):
        raise ValueError(f"z = eta * h must lie in (0, 1], got {z}")
    return (1 - np.sqrt(z)) ** 2


def polyak_parameters(h_min: float, L: float) -> tuple[float, float, float]:
    r"""Polyak's optimal heavy ball for curvatures in :math:`[h_{\min}, L]`: :math:`(\eta^\star, \mu^\star, r^\star)`.

    :math:`\eta^\star = 4/(\sqrt L + \sqrt{h_{\min}})^2`,
    :math:`\mu^\star = \bigl((\sqrt\kappa - 1)/(\sqrt\kappa + 1)\bigr)^2` and
    :math:`r^\star = \sqrt{\mu^\star}` with :math:`\kappa = L/h_{\min}`
    (Polyak 1964). Both ends of the spectrum are critically damped and every
    curvature in between rings at rate :math:`r^\star`. Raises ``ValueError``
    unless ``0 < h_min <= L``.
    """
    if not (0 < h_min <= L < math.inf):
        raise ValueError(f"need 0 < h_min <= L, got h_min={h_min!r}, L={L!r}")
    eta = 4 / (math.sqrt(L) + math.sqrt(h_min)) ** 2
    root_kappa = math.sqrt(L / h_min)
    r = (root_kappa - 1) / (root_kappa + 1)
    return eta, r * r, r
