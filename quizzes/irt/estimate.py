"""Ability estimation: EAP on a fixed grid, updated one answer at a time; MAP and WLE.

EAP uses an N(μ, σ²) prior evaluated on 81 equally spaced nodes on [−4, 4] (the
rectangle rule, which converges geometrically for these smooth posteriors). A
:class:`Posterior` keeps the log-likelihood on the grid and adds one item's log P or
log Q per answer, so every estimate costs O(grid), not O(items × grid).

MAP (posterior mode, same prior) and WLE (Warm's weighted likelihood, no prior) are
for the final report; each comes with its standard error.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq, minimize_scalar

from .model import EPS, FloatArray, ItemParams, information, probability

# EAP quadrature: 0.1 apart on [-6, 6]. A narrower grid (±4) cut off up to 0.2 % of the
# posterior mass of someone who answers every easy item right, and biased the EAP by
# more than 0.002 (tests/quizzes/irt/test_estimate.py found it).
GRID = np.linspace(-6.0, 6.0, 121)
# MAP and WLE search this interval; an estimate at an end means "at least/at most".
BOUNDS = (-6.0, 6.0)


def _as_arrays(
    params: ItemParams, responses: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    u = np.asarray(responses, dtype=float)
    return params.a, params.b, params.c, u


class Posterior:
    """Posterior of θ on a fixed grid, updated incrementally."""

    __slots__ = ("log_prior", "loglik", "nodes")

    def __init__(self, nodes: FloatArray = GRID, mean: float = 0.0, sd: float = 1.0) -> None:
        self.nodes = nodes
        self.log_prior = -0.5 * ((nodes - mean) / sd) ** 2
        self.loglik = np.zeros_like(nodes)

    def add(self, a: float, b: float, c: float, correct: bool) -> None:
        """Multiply in one answer: add log P (correct) or log Q (wrong) on the grid."""
        p = probability(self.nodes, a, b, c)
        self.loglik += np.log(p if correct else 1.0 - p)

    def weights(self) -> FloatArray:
        """Normalised posterior weights on the grid."""
        log_post = self.loglik + self.log_prior
        w = np.exp(log_post - log_post.max())
        return w / w.sum()

    def eap(self) -> tuple[float, float]:
        """Posterior mean and standard deviation."""
        w = self.weights()
        mean = float(w @ self.nodes)
        var = float(w @ (self.nodes - mean) ** 2)
        return mean, math.sqrt(max(var, 0.0))


def eap(
    params: ItemParams,
    responses: npt.ArrayLike,
    nodes: FloatArray = GRID,
    mean: float = 0.0,
    sd: float = 1.0,
) -> tuple[float, float]:
    """EAP θ and posterior SD from scratch (all answers at once)."""
    posterior = Posterior(nodes, mean, sd)
    a, b, c, u = _as_arrays(params, responses)
    if len(u):
        p = probability(nodes[:, None], a, b, c)
        posterior.loglik = (np.log(p) * u + np.log(1.0 - p) * (1.0 - u)).sum(axis=1)
    return posterior.eap()


def log_likelihood(theta: float, params: ItemParams, responses: npt.ArrayLike) -> float:
    """log L(θ) of a response pattern."""
    a, b, c, u = _as_arrays(params, responses)
    p = probability(theta, a, b, c)
    return float(np.sum(u * np.log(p) + (1.0 - u) * np.log(1.0 - p)))


def total_information(theta: float, params: ItemParams) -> float:
    """Sum of the items' Fisher information at θ."""
    return float(np.sum(information(theta, params.a, params.b, params.c)))


def map_estimate(
    params: ItemParams, responses: npt.ArrayLike, mean: float = 0.0, sd: float = 1.0
) -> tuple[float, float]:
    """Posterior mode under an N(mean, sd²) prior; SE = (I(θ) + 1/sd²)^−½."""

    def negative(theta: float) -> float:
        return -log_likelihood(theta, params, responses) + 0.5 * ((theta - mean) / sd) ** 2

    result = minimize_scalar(negative, bounds=BOUNDS, method="bounded", options={"xatol": 1e-7})
    theta = float(result.x)
    return theta, 1.0 / math.sqrt(total_information(theta, params) + 1.0 / sd**2)


def _derivatives(theta: float, params: ItemParams) -> tuple[FloatArray, FloatArray, FloatArray]:
    """P, P′ and P″ of each item at θ (3PL)."""
    a, b, c = params.a, params.b, params.c
    s = 1.0 / (1.0 + np.exp(-a * (theta - b)))
    p = np.clip(c + (1.0 - c) * s, EPS, 1.0 - EPS)
    d1 = (1.0 - c) * a * s * (1.0 - s)
    d2 = d1 * a * (1.0 - 2.0 * s)
    return p, d1, d2


def wle_score(theta: float, params: ItemParams, responses: npt.ArrayLike) -> float:
    """Warm's weighted score: ∂ log L/∂θ + J(θ) / (2 I(θ))."""
    u = np.asarray(responses, dtype=float)
    p, d1, d2 = _derivatives(theta, params)
    pq = p * (1.0 - p)
    score = np.sum((u - p) * d1 / pq)
    info = np.sum(d1 * d1 / pq)
    j = np.sum(d1 * d2 / pq)
    return float(score + j / (2.0 * info))


def wle(params: ItemParams, responses: npt.ArrayLike) -> tuple[float, float]:
    """Warm's weighted likelihood estimate and SE = I(θ)^−½, θ clamped to BOUNDS.

    The WLE is finite for all-correct and all-wrong patterns under the 1PL/2PL; under
    the 3PL it may not be, and the nearer bound is returned.
    """
    if len(params) == 0:
        return 0.0, math.inf
    lo, hi = BOUNDS
    f_lo, f_hi = wle_score(lo, params, responses), wle_score(hi, params, responses)
    if f_lo <= 0.0:
        theta = lo
    elif f_hi >= 0.0:
        theta = hi
    else:
        theta = float(brentq(wle_score, lo, hi, args=(params, responses), xtol=1e-8))
    return theta, 1.0 / math.sqrt(total_information(theta, params))
