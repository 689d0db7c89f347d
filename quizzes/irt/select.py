"""Item selection: maximum information, exposure control and content balancing.

Everything works on whole-bank numpy arrays and boolean masks (used, eligible,
dimension open), so one selection step has no Python loop over the bank.

- :class:`Bank`: item parameters and dimensions as flat arrays; uncalibrated items
  get working parameters from their difficulty label (:func:`model.prior_params`).
- :class:`Blueprint`: dimension shares, whole-item quotas for a test length and the
  lengths at which a test may end with its quotas met exactly.
- :class:`ItemEligibility`: exposure control by the item-eligibility method with a
  running-rate cap (docs/adaptive.md says why this one).
- :func:`select_item`: maximum information at θ̂, or posterior-weighted information
  for the first items, randomesque among the top k.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .model import ItemParams, prior_params

# Tolerance for shares times lengths that are whole numbers in exact arithmetic.
_EPS = 1e-9

# Posterior-weighted information is computed on this many items, the best by point
# information at θ̂, so that it costs O(PWI_CANDIDATES × grid) whatever the bank size.
PWI_CANDIDATES = 128


class Bank:
    """A bank as flat arrays: parameters a, b, c, a dimension per item, and item ids.

    Positions (0 … m−1) index the arrays; ids are the caller's keys (question ids),
    positions themselves when not given.
    """

    def __init__(
        self,
        params: ItemParams,
        dimensions: Sequence[str] | None = None,
        ids: Sequence[int] | None = None,
    ) -> None:
        self.params = params
        self.a = np.ascontiguousarray(params.a, dtype=float)
        self.b = np.ascontiguousarray(params.b, dtype=float)
        self.c = np.ascontiguousarray(params.c, dtype=float)
        self.a2 = self.a * self.a
        self.two_pl = not np.any(self.c)
        self.size = len(params)
        self.dimensions = None if dimensions is None else np.asarray(dimensions, dtype=object)
        if self.dimensions is not None and len(self.dimensions) != self.size:
            raise ValueError("one dimension per item")
        self.ids = None if ids is None else [int(i) for i in ids]
        self._positions = None if self.ids is None else {i: n for n, i in enumerate(self.ids)}
        if self._positions is not None and len(self._positions) != self.size:
            raise ValueError("item ids must be unique, one per item")
        self._codes: dict[tuple[str, ...], np.ndarray] = {}

    @classmethod
    def build(
        cls,
        a: Sequence[float | None],
        b: Sequence[float | None],
        c: Sequence[float | None] | None = None,
        *,
        labels: Sequence[str] | None = None,
        dimensions: Sequence[str] | None = None,
        ids: Sequence[int] | None = None,
    ) -> Bank:
        """A bank where items with a or b missing (None/NaN) get prior_params(label)."""
        a_ = np.array([np.nan if x is None else x for x in a], dtype=float)
        b_ = np.array([np.nan if x is None else x for x in b], dtype=float)
        c_ = np.zeros_like(b_) if c is None else np.array([x or 0.0 for x in c], dtype=float)
        missing = np.isnan(a_) | np.isnan(b_)
        if missing.any():
            names = ["medium"] * len(b_) if labels is None else list(labels)
            prior = prior_params([names[n] for n in np.flatnonzero(missing)])
            a_[missing], b_[missing], c_[missing] = prior.a, prior.b, prior.c
        return cls(ItemParams.of(a_, b_, c_), dimensions, ids)

    def information(self, theta: float, index: np.ndarray | None = None) -> np.ndarray:
        """Fisher information of the items (all, or those at index) at θ."""
        if index is None:
            a, b, c, a2 = self.a, self.b, self.c, self.a2
        else:
            a, b, c, a2 = self.a[index], self.b[index], self.c[index], self.a2[index]
        s = 1.0 / (1.0 + np.exp(a * (b - theta)))
        if self.two_pl:
            return a2 * s * (1.0 - s)
        p = c + (1.0 - c) * s  # I = a² (P − c)² Q / ((1 − c)² P) = a² s² Q / P
        return a2 * s * s * (1.0 - p) / p

    def dimension_codes(self, names: tuple[str, ...]) -> np.ndarray:
        """Per item, the index of its dimension in names; len(names) for any other."""
        codes = self._codes.get(names)
        if codes is None:
            lookup = {name: n for n, name in enumerate(names)}
            if self.dimensions is None:
                codes = np.full(self.size, len(names), dtype=np.intp)
            else:
                codes = np.array(
                    [lookup.get(d, len(names)) for d in self.dimensions], dtype=np.intp
                )
            self._codes[names] = codes
        return codes

    def position(self, item_id: int) -> int:
        """Array position of an item id."""
        if self._positions is None:
            if not 0 <= int(item_id) < self.size:
                raise KeyError(item_id)
            return int(item_id)
        return self._positions[int(item_id)]

    def item_id(self, position: int) -> int:
        """Item id at an array position."""
        return int(position) if self.ids is None else self.ids[int(position)]


@functools.lru_cache(maxsize=256)
def _quota_method(proportions: tuple[float, ...], n: int) -> tuple[int, ...]:
    """Balinski and Young's quota method: items handed out one at a time (so quotas
    never shrink as the test grows), each to the dimension with the largest
    share / (items + 1) among those still under their upper quota. Unlike a divisor
    method alone (Webster gives 9 of 17 items to a 60 % share), it stays within one
    item of every exact share, so a whole share is met exactly.
    """
    seats = [0] * len(proportions)
    for length in range(1, n + 1):
        eligible = [
            d
            for d, share in enumerate(proportions)
            if seats[d] + 1 <= math.ceil(share * length - _EPS)
        ]
        best = max(eligible, key=lambda d: proportions[d] / (seats[d] + 1))
        seats[best] += 1
    return tuple(seats)


@dataclass(frozen=True)
class Blueprint:
    """Shares of the test per dimension, e.g. knowledge 0.4 and three others 0.2."""

    dimensions: tuple[str, ...]
    proportions: tuple[float, ...]

    @classmethod
    def of(cls, shares: Mapping[str, float]) -> Blueprint:
        total = float(sum(shares.values()))
        if total <= 0 or any(v < 0 for v in shares.values()):
            raise ValueError("blueprint shares must be non-negative and not all zero")
        return cls(tuple(shares), tuple(float(v) / total for v in shares.values()))

    def is_exact(self, n: int) -> bool:
        """Whether every dimension's share of n items is a whole number."""
        raw = np.asarray(self.proportions) * n
        return bool(np.all(np.abs(raw - np.round(raw)) < _EPS))

    def quotas(self, n: int) -> np.ndarray:
        """Whole items per dimension for an n-item test: within one item of each exact
        share (so the exact share when it is whole), never fewer than for n - 1."""
        return np.array(_quota_method(self.proportions, n), dtype=np.intp)

    def stop_lengths(self, min_length: int, max_length: int) -> tuple[int, ...]:
        """Lengths in [min, max] at which a test may end: those where the shares are
        whole items (15, 20, 25, 30 for 40/20/20/20), or every length if there are none.
        """
        if not 1 <= min_length <= max_length:
            raise ValueError("need 1 <= min_length <= max_length")
        lengths = range(min_length, max_length + 1)
        exact = tuple(n for n in lengths if self.is_exact(n))
        return exact or tuple(lengths)

    def open_dimensions(self, counts: np.ndarray, stops: Sequence[int]) -> np.ndarray:
        """Dimensions that may take the next item: below their quota for the next stop.

        Quotas never shrink as the length grows, and every stop's quota is met before
        the test passes it, so the test meets the quota of whichever stop it ends at.
        """
        length = int(np.sum(counts))
        following = next((s for s in stops if s > length), None)
        if following is None:
            return np.zeros(len(self.dimensions), dtype=bool)
        return self.quotas(following) > counts

    def met(self, counts: Sequence[int] | np.ndarray) -> bool:
        """Whether the counts are exactly the quotas for their total."""
        have = np.asarray(counts)
        return bool(np.array_equal(have, self.quotas(int(have.sum()))))


class ItemEligibility:
    """Item-eligibility exposure control (van der Linden & Veldkamp 2004, 2007).

    Before each test every item is made eligible with probability
    min(1, r_max · ε_i / α_i), where ε_i counts the tests for which item i was eligible
    and α_i those in which it was given (their ratio estimates P(given | eligible)).
    A used item whose running rate α_i / n would pass r_max with one more use is not
    eligible at all (the cap), so the realised exposure stays at or below r_max once
    n ≥ 1 / r_max.
    Counts can fade (multiplied by ``fading`` per test) so that a long-running bank
    follows recent use; 1.0 keeps them all.
    """

    def __init__(self, size: int, r_max: float = 0.2, fading: float = 1.0) -> None:
        if not 0.0 < r_max <= 1.0:
            raise ValueError("r_max must be in (0, 1]")
        self.r_max = float(r_max)
        self.fading = float(fading)
        self.administered = np.zeros(size)
        self.eligible = np.zeros(size)
        self.tests = 0.0

    def probabilities(self) -> np.ndarray:
        """P(eligible) of every item for the next test."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.r_max * self.eligible / self.administered
        p = np.where(self.administered > 0, np.minimum(ratio, 1.0), 1.0)
        # The cap: one more use would lift the running rate above r_max. Unused items
        # are exempt, so the first tests are spread rather than all relaxed.
        capped = (self.administered > 0) & (
            self.administered + 1.0 > self.r_max * (self.tests + 1.0)
        )
        p[capped] = 0.0
        return p

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Eligible mask for one test."""
        p = self.probabilities()
        return rng.random(p.shape[0]) < p

    def update(self, eligible: np.ndarray, administered: Sequence[int]) -> None:
        """Count one finished test: its eligible mask and the positions it gave."""
        if self.fading != 1.0:
            self.administered *= self.fading
            self.eligible *= self.fading
            self.tests *= self.fading
        self.eligible += eligible
        self.administered[np.asarray(administered, dtype=np.intp)] += 1.0
        self.tests += 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "r_max": self.r_max,
            "fading": self.fading,
            "administered": self.administered.tolist(),
            "eligible": self.eligible.tolist(),
            "tests": self.tests,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemEligibility:
        control = cls(len(data["administered"]), data["r_max"], data["fading"])
        control.administered = np.asarray(data["administered"], dtype=float)
        control.eligible = np.asarray(data["eligible"], dtype=float)
        control.tests = float(data["tests"])
        return control


def _top(scores: np.ndarray, k: int, rng: np.random.Generator | None) -> int:
    """Position of the best score, or of one of the k best at random (−inf excluded)."""
    if k <= 1 or rng is None:
        best = int(np.argmax(scores))
        return best if np.isfinite(scores[best]) else -1
    k = min(k, scores.shape[0])
    top = np.argpartition(scores, -k)[-k:]
    top = top[np.isfinite(scores[top])]
    if top.shape[0] == 0:
        return -1
    return int(top[rng.integers(top.shape[0])])


def select_item(
    bank: Bank,
    theta: float,
    candidates: np.ndarray,
    *,
    k: int = 1,
    rng: np.random.Generator | None = None,
    nodes: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    criterion: str = "mi",
) -> int:
    """Position of the next item among the candidates (a boolean mask), −1 if none.

    criterion "mi": maximum Fisher information at θ. With the posterior (``weights`` on
    ``nodes``), "pwi": posterior-weighted information Σ_q w_q I(θ_q), or "mepv": minimum
    expected posterior variance after the answer; both are computed on the
    PWI_CANDIDATES items most informative at θ. With k > 1, one of the k best at
    random (randomesque).
    """
    scores = np.where(candidates, bank.information(theta), -np.inf)
    if criterion == "mi" or weights is None:
        return _top(scores, k, rng)
    m = min(PWI_CANDIDATES, bank.size)
    short = np.argpartition(scores, -m)[-m:]
    short = short[np.isfinite(scores[short])]
    if short.shape[0] == 0:
        return -1
    if nodes is None:
        raise TypeError("the posterior criteria need the nodes the weights are on")
    keep = weights > 1e-9 * weights.max()
    w, x = weights[keep], nodes[keep]
    if criterion == "pwi":
        score = w @ bank_information_grid(bank, x, short)
    elif criterion == "mepv":
        score = -expected_posterior_variance(bank, x, w, short)
    else:
        raise ValueError(f"unknown criterion {criterion!r}")
    pick = _top(score, k, rng)
    return int(short[pick])


def expected_posterior_variance(
    bank: Bank, nodes: np.ndarray, weights: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """E over the answer of Var(θ | answers so far and this item's answer), per item."""
    a, b, c = bank.a[index], bank.b[index], bank.c[index]
    p = c + (1.0 - c) / (1.0 + np.exp(a * (b - nodes[:, None])))
    w1, wx, wxx = weights @ p, (weights * nodes) @ p, (weights * nodes * nodes) @ p
    total, total_x, total_xx = weights.sum(), weights @ nodes, weights @ (nodes * nodes)
    w0, wx0, wxx0 = total - w1, total_x - wx, total_xx - wxx
    # p1·Var1 + p0·Var0 with p1 = w1/total: (wxx − wx²/w1 + wxx0 − wx0²/w0) / total
    return (wxx - wx * wx / w1 + wxx0 - wx0 * wx0 / w0) / total


def bank_information_grid(bank: Bank, nodes: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Information of the items at index on each node: shape (len(nodes), len(index))."""
    a, b, c = bank.a[index], bank.b[index], bank.c[index]
    s = 1.0 / (1.0 + np.exp(a * (b - nodes[:, None])))
    if bank.two_pl:
        return a * a * s * (1.0 - s)
    p = c + (1.0 - c) * s
    return a * a * s * s * (1.0 - p) / p
