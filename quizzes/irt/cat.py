"""Adaptive test sessions: choose the next item, record answers, stop, report.

A :class:`CatEngine` holds what does not change during a test (the bank's arrays, the
configuration, the blueprint's stop lengths) and is built once per bank. A
:class:`CatSession` is one examinee's test; its state is a dict of plain lists and
numbers (:meth:`CatSession.to_dict`) that the Django side stores in a session or row
and turns back into a session with :meth:`CatEngine.restore`.

    engine = CatEngine(bank, CatConfig(min_length=15, max_length=30, se_target=0.3,
                                       blueprint=Blueprint.of({...})))
    session = engine.start(eligible=control.draw(rng))
    while (item := session.next_item()) is not None:
        session.record(item, correct=ask(item))
    session.report()
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .estimate import GRID, Posterior, map_estimate, wle
from .select import Bank, Blueprint, select_item

STATE_VERSION = 1


@dataclass(frozen=True)
class CatConfig:
    """How a test runs. se_target None means fixed length (max_length items).

    randomesque: pick at random among the k most informative items, k shrinking
    linearly from ``randomesque`` at the first item to 1 at the last when
    ``progressive`` (the default), constant otherwise. pwi_items: how many first
    items are chosen by posterior-weighted information instead of information at θ̂.
    """

    min_length: int = 15
    max_length: int = 30
    se_target: float | None = 0.30
    blueprint: Blueprint | None = None
    randomesque: int = 1
    progressive: bool = True
    pwi_items: int = 1
    criterion: str = "mi"
    prior_mean: float = 0.0
    prior_sd: float = 1.0

    def k_at(self, step: int) -> int:
        """Randomesque k for the item at 0-based position step."""
        if not self.progressive or self.randomesque <= 1:
            return max(1, self.randomesque)
        left = 1.0 - step / max(self.max_length - 1, 1)
        return max(1, math.ceil(self.randomesque * left))


class CatEngine:
    """Fixed context for the tests on one bank: bank arrays, config, stop lengths."""

    def __init__(self, bank: Bank, config: CatConfig | None = None) -> None:
        self.bank = bank
        self.config = config = config or CatConfig()
        blueprint = config.blueprint
        if blueprint is None:
            if not 1 <= config.min_length <= config.max_length:
                raise ValueError("need 1 <= min_length <= max_length")
            self.stops = tuple(range(config.min_length, config.max_length + 1))
            self.codes = None
        else:
            self.stops = blueprint.stop_lengths(config.min_length, config.max_length)
            self.codes = bank.dimension_codes(blueprint.dimensions)
        self.stop_set = frozenset(self.stops)

    def start(self, *, seed: int | None = None, eligible: np.ndarray | None = None) -> CatSession:
        """A new test. eligible: boolean mask from exposure control (all items if None)."""
        if seed is None:
            seed = secrets.randbits(63)
        return CatSession(self, int(seed), eligible)

    def restore(self, state: Mapping[str, Any]) -> CatSession:
        """The session whose :meth:`CatSession.to_dict` gave state."""
        if state.get("version") != STATE_VERSION:
            raise ValueError("unknown CAT state version")
        eligible = None
        if state["ineligible"]:
            eligible = np.ones(self.bank.size, dtype=bool)
            eligible[[self.bank.position(i) for i in state["ineligible"]]] = False
        session = CatSession(self, int(state["seed"]), eligible)
        for item, correct in zip(state["items"], state["responses"], strict=True):
            session.record(item, bool(correct))
        if state.get("pending") is not None:
            session.pending = self.bank.position(state["pending"])
        return session


class CatSession:
    """One examinee's adaptive test."""

    def __init__(self, engine: CatEngine, seed: int, eligible: np.ndarray | None) -> None:
        bank, config = engine.bank, engine.config
        self.engine = engine
        self.seed = seed
        self.used = np.zeros(bank.size, dtype=bool)
        if eligible is None:
            self.free = np.ones(bank.size, dtype=bool)
            self.ineligible: list[int] = []
        else:
            eligible = np.asarray(eligible, dtype=bool)
            if eligible.shape != (bank.size,):
                raise ValueError("eligible must be one flag per item")
            self.free = eligible.copy()
            self.ineligible = [bank.item_id(int(p)) for p in np.flatnonzero(~eligible)]
        n_dims = 0 if config.blueprint is None else len(config.blueprint.dimensions)
        self.counts = np.zeros(n_dims, dtype=np.intp)
        self.posterior = Posterior(GRID, config.prior_mean, config.prior_sd)
        self.theta, self.se = config.prior_mean, config.prior_sd
        self.positions: list[int] = []
        self.responses: list[bool] = []
        self.pending: int | None = None
        self.exhausted = False

    # -- progress ---------------------------------------------------------------------

    @property
    def length(self) -> int:
        return len(self.positions)

    @property
    def finished(self) -> bool:
        """Stop rule: the last stop length, or SE ≤ target at a stop length ≥ min."""
        if self.exhausted:
            return True
        n, engine = len(self.positions), self.engine
        if n >= engine.stops[-1]:
            return True
        target = engine.config.se_target
        return target is not None and n in engine.stop_set and self.se <= target

    def next_item(self) -> int | None:
        """Id of the item to give next (the same until it is answered); None at the end."""
        if self.pending is not None:
            return self.engine.bank.item_id(self.pending)
        if self.finished:
            return None
        position = self._choose()
        if position < 0:
            self.exhausted = True
            return None
        self.pending = position
        return self.engine.bank.item_id(position)

    def record(self, item: int, correct: bool) -> None:
        """Record the answer to item (an id) and update θ̂ and its SE."""
        bank = self.engine.bank
        position = bank.position(item)
        if self.pending is not None and position != self.pending:
            raise ValueError("answer is for another item than the one given")
        if self.used[position]:
            raise ValueError("item already answered")
        self.pending = None
        self.used[position] = True
        self.free[position] = False
        codes = self.engine.codes  # set exactly when there is a blueprint
        if codes is not None:
            code = codes[position]
            if code < len(self.counts):
                self.counts[code] += 1
        self.positions.append(position)
        self.responses.append(bool(correct))
        self.posterior.add(bank.a[position], bank.b[position], bank.c[position], bool(correct))
        self.theta, self.se = self.posterior.eap()

    def _choose(self) -> int:
        engine, config = self.engine, self.engine.config
        step = len(self.positions)
        k = config.k_at(step)
        rng = np.random.default_rng((self.seed, step)) if k > 1 else None
        criterion = "pwi" if step < config.pwi_items else config.criterion
        weights = None if criterion == "mi" else self.posterior.weights()
        masks = [self.free, ~self.used]  # relax exposure before the blueprint
        if config.blueprint is not None:
            opened = config.blueprint.open_dimensions(self.counts, engine.stops)
            dim_ok = np.append(opened, False)[engine.codes]
            masks = [self.free & dim_ok, ~self.used & dim_ok, ~self.used]
        for candidates in masks:
            position = select_item(
                engine.bank,
                self.theta,
                candidates,
                k=k,
                rng=rng,
                nodes=self.posterior.nodes,
                weights=weights,
                criterion=criterion,
            )
            if position >= 0:
                return position
        return -1

    # -- results and state ------------------------------------------------------------

    def blueprint_met(self) -> bool | None:
        blueprint = self.engine.config.blueprint
        if blueprint is None:
            return None
        return len(self.positions) == int(self.counts.sum()) and blueprint.met(self.counts)

    def report(self) -> dict[str, Any]:
        """θ̂ (EAP) with posterior SD, MAP and WLE with SEs, length and content counts."""
        bank, config = self.engine.bank, self.engine.config
        params = bank.params.take(np.asarray(self.positions, dtype=np.intp))
        map_theta, map_se = map_estimate(params, self.responses, config.prior_mean, config.prior_sd)
        wle_theta, wle_se = wle(params, self.responses)
        dimensions = None
        if config.blueprint is not None:
            dimensions = dict(
                zip(config.blueprint.dimensions, (int(n) for n in self.counts), strict=True)
            )
        return {
            "theta": self.theta,
            "se": self.se,
            "map_theta": map_theta,
            "map_se": map_se,
            "wle_theta": wle_theta,
            "wle_se": wle_se,
            "length": len(self.positions),
            "correct": int(sum(self.responses)),
            "dimensions": dimensions,
            "blueprint_met": self.blueprint_met(),
            "finished": self.finished,
            "stopped_by_bank": self.exhausted,
        }

    def to_dict(self) -> dict[str, Any]:
        """State as plain lists and numbers (JSON-ready)."""
        bank = self.engine.bank
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "items": [bank.item_id(p) for p in self.positions],
            "responses": list(self.responses),
            "ineligible": list(self.ineligible),
            "pending": None if self.pending is None else bank.item_id(self.pending),
            "theta": self.theta,
            "se": self.se,
        }
