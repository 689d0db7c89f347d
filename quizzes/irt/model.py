"""Item response models: 1PL, 2PL and 3PL probabilities and Fisher information.

Parameters use the logistic metric without the 1.7 scaling constant:

    P(correct | θ) = c + (1 − c) / (1 + exp(−a (θ − b)))

1PL is a = 1, c = 0; 2PL is c = 0. Every function broadcasts: θ of shape (n,) against
items of shape (m,) gives (n, m) when called with ``theta[:, None]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

# Arrays of item parameters, abilities, probabilities and so on.
FloatArray: TypeAlias = npt.NDArray[np.float64]

# P is kept inside (EPS, 1 − EPS) so logs and ratios stay finite.
EPS = 1e-9


@dataclass(frozen=True)
class ItemParams:
    """Parameters of m items, as float arrays of shape (m,)."""

    a: FloatArray
    b: FloatArray
    c: FloatArray

    @classmethod
    def of(cls, a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike | None = None) -> ItemParams:
        a_ = np.asarray(a, dtype=float)
        b_ = np.asarray(b, dtype=float)
        c_ = np.zeros_like(b_) if c is None else np.asarray(c, dtype=float)
        a_, b_, c_ = np.broadcast_arrays(a_, b_, c_)
        return cls(a_.copy(), b_.copy(), c_.copy())

    def __len__(self) -> int:
        return int(self.b.shape[0])

    def take(
        self, index: npt.NDArray[np.integer[Any]] | npt.NDArray[np.bool_] | slice
    ) -> ItemParams:
        return ItemParams(self.a[index], self.b[index], self.c[index])


def probability(
    theta: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike = 0.0
) -> FloatArray:
    """P(correct | θ) under the 3PL (2PL when c = 0)."""
    z = np.asarray(a) * (np.asarray(theta) - np.asarray(b))
    p = np.asarray(c) + (1.0 - np.asarray(c)) / (1.0 + np.exp(-z))
    return np.clip(p, EPS, 1.0 - EPS)


def information(
    theta: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike = 0.0
) -> FloatArray:
    """Fisher information of an item at θ: a² (P − c)² Q / ((1 − c)² P).

    For c = 0 this is a² P Q.
    """
    a_ = np.asarray(a)
    c_ = np.asarray(c)
    p = probability(theta, a_, b, c_)
    return a_ * a_ * (p - c_) ** 2 * (1.0 - p) / ((1.0 - c_) ** 2 * p)


# Priors for items that have not been calibrated yet, from the difficulty label an
# author gave them: (mean of b, sd of b). a gets 1.0, c gets 0 (single and true/false
# items guessed at are calibrated as 3PL once there are answers).
LABEL_PRIORS = {
    "easy": (-1.0, 0.8),
    "medium": (0.0, 0.8),
    "hard": (1.0, 0.8),
}
DEFAULT_A = 1.0


def prior_params(labels: Iterable[str]) -> ItemParams:
    """Working parameters for uncalibrated items from their difficulty labels."""
    b = np.array([LABEL_PRIORS.get(label, LABEL_PRIORS["medium"])[0] for label in labels])
    return ItemParams.of(np.full(b.shape, DEFAULT_A), b)
