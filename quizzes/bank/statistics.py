"""Classical item statistics (pure: numpy, no Django import).

Papers are drawn per attempt, so examinees answer different items: the data is a
*long* response table (examinee, item, score 0/1), not a full matrix.
`analyse_matrix` takes the dense form (NaN = not presented) for small cases.

- **Facility**: proportion of responses that are correct.
- **Discrimination**: the corrected point-biserial correlation between the item score
  and the examinee's *rest score*, the proportion correct on the other items they
  answered (the item itself left out, so it does not correlate with itself). With a
  full matrix the rest proportion is the rest sum divided by a constant, so this is the
  usual corrected item-total correlation. Undefined (None) when the item score or the
  rest score does not vary, or fewer than 2 examinees answered other items too.
- **Distractor counts**: how often each option was chosen.
- **Flags**: negative discrimination; a distractor nobody picks. Flags need
  `MIN_RESPONSES` responses, since with a handful every distractor goes unpicked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_RESPONSES = 20
NEGATIVE_DISCRIMINATION = "negative_discrimination"
UNUSED_DISTRACTOR = "unused_distractor"
CHOICE_TYPES = ("single", "multiple")


@dataclass
class ItemAnalysis:
    items: np.ndarray  # item ids, sorted
    responses: np.ndarray  # responses per item
    facility: np.ndarray  # proportion correct (NaN without responses)
    discrimination: np.ndarray  # corrected point-biserial (NaN when undefined)

    def as_dict(self) -> dict[Any, dict[str, Any]]:
        return {
            item.item(): {
                "responses": int(n),
                "facility": _or_none(f),
                "discrimination": _or_none(d),
            }
            for item, n, f, d in zip(
                self.items, self.responses, self.facility, self.discrimination, strict=True
            )
        }


def _or_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def analyse(
    examinees: Sequence[int] | np.ndarray,
    items: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
) -> ItemAnalysis:
    """Facility and corrected point-biserial per item from a long response table
    (one row per response; an examinee answers an item at most once)."""
    examinees = np.asarray(examinees)
    items = np.asarray(items)
    x = np.asarray(scores, dtype=float)
    if not len(x):
        empty = np.array([], dtype=float)
        return ItemAnalysis(np.array([], dtype=int), np.array([], dtype=int), empty, empty)
    item_ids, item_index = np.unique(items, return_inverse=True)
    _people, person_index = np.unique(examinees, return_inverse=True)

    answered = np.bincount(person_index)
    total = np.bincount(person_index, weights=x)
    others = answered[person_index] - 1
    has_rest = others > 0
    rest = np.divide(
        total[person_index] - x, others, out=np.zeros_like(x), where=has_rest
    )  # proportion correct on the examinee's other items

    k = len(item_ids)
    n = np.bincount(item_index, minlength=k)
    facility = np.full(k, np.nan)
    np.divide(np.bincount(item_index, weights=x, minlength=k), n, out=facility, where=n > 0)

    # Pearson r of (x, rest) per item over responses with a rest score; two-pass.
    idx, xs, ys = item_index[has_rest], x[has_rest], rest[has_rest]
    m = np.bincount(idx, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.bincount(idx, weights=xs, minlength=k) / m
        mean_y = np.bincount(idx, weights=ys, minlength=k) / m
        dx, dy = xs - mean_x[idx], ys - mean_y[idx]
        sxy = np.bincount(idx, weights=dx * dy, minlength=k)
        sxx = np.bincount(idx, weights=dx * dx, minlength=k)
        syy = np.bincount(idx, weights=dy * dy, minlength=k)
        denominator = np.sqrt(sxx * syy)
        tiny = 1e-12
        defined = (m >= 2) & (sxx > tiny) & (syy > tiny)
        discrimination = np.where(defined, sxy / np.where(defined, denominator, 1), np.nan)
    return ItemAnalysis(item_ids, n, facility, np.clip(discrimination, -1.0, 1.0))


def analyse_matrix(matrix: Sequence[Sequence[float]] | np.ndarray) -> ItemAnalysis:
    """The same from a dense examinees × items matrix of 0/1 scores (NaN = not
    presented); items are the column indices."""
    data = np.asarray(matrix, dtype=float)
    people, columns = np.nonzero(~np.isnan(data))
    return analyse(people, columns, data[people, columns])


def distractor_counts(qtype: str, option_ids: Sequence[str], answers: Iterable[Any]) -> dict:
    """How often each option was chosen: option id → count for single and multiple
    choice (every option listed, 0 included), "true"/"false" for true-or-false, and
    {} for types without options to pick (ordering, fill, numeric)."""
    if qtype in CHOICE_TYPES:
        counts = dict.fromkeys(option_ids, 0)
        for answer in answers:
            chosen = [answer] if isinstance(answer, str) else answer or []
            for option in set(chosen) if isinstance(chosen, (list, tuple)) else ():
                if option in counts:
                    counts[option] += 1
        return counts
    if qtype == "true_false":
        counts = {"true": 0, "false": 0}
        for answer in answers:
            if isinstance(answer, bool):
                counts["true" if answer else "false"] += 1
        return counts
    return {}


def keyed_options(qtype: str, key: dict) -> set[str]:
    """The options that are not distractors."""
    if qtype in CHOICE_TYPES:
        return set(key.get("options", []))
    if qtype == "true_false":
        return {"true" if key.get("value") else "false"}
    return set()


def item_flags(
    *,
    qtype: str,
    key: dict,
    responses: int,
    discrimination: float | None,
    distractors: dict[str, int],
    min_responses: int = MIN_RESPONSES,
) -> list[dict[str, str]]:
    """Flags for review: negative discrimination; each distractor nobody picked."""
    if responses < min_responses:
        return []
    flags: list[dict[str, str]] = []
    if discrimination is not None and discrimination < 0:
        flags.append({"code": NEGATIVE_DISCRIMINATION})
    keyed = keyed_options(qtype, key)
    flags.extend(
        {"code": UNUSED_DISTRACTOR, "option": option}
        for option, count in distractors.items()
        if option not in keyed and count == 0
    )
    return flags
