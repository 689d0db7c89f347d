"""Near-duplicate questions: equal normalised text, or character-bigram Jaccard ≥ 0.85,
where the text is the whole question (`question_text`: the stem and every option), so
that questions sharing a stock stem ("下列说法中，正确的是（　）") with different options
are not taken for copies. Pure Python and numpy, no Django.

How, in time linear in the number of questions whatever the file holds:

1. Equal texts are matched at once through a dict (similarity 1.0); a copy is neither
   indexed nor probed further, since whatever is near it is near its first copy.
2. The others are blocked with MinHash and locality-sensitive hashing (Broder 1997;
   Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets", ch. 3): each text's set
   of bigrams gets BANDS × ROWS min-hashes (one numpy expression per text), and two
   texts become candidates when all ROWS min-hashes of some band agree. Two texts of
   Jaccard s agree on a min-hash with probability s, so they become candidates with
   probability 1 − (1 − s^ROWS)^BANDS: 0.9999 at s = 0.85 (the threshold), 0.27 at
   s = 0.5, 0.015 at s = 0.3.
3. Each candidate is checked exactly (the Jaccard of the two sets), so a warning is
   never given below the threshold.

A band's bucket keeps its first BUCKET_KEEP texts only, so a probe costs at most
BANDS × BUCKET_KEEP exact checks: a file of ten thousand near-copies costs no more per
question than a file of strangers. The price is recall, not precision: a pair at the
threshold is missed with probability about 1e-4, and a pair can be missed when each
band it shares is a bucket already full of earlier texts, which takes more than
BUCKET_KEEP near-copies of one question (flagged many times over anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.85
BANDS = 20
ROWS = 6
BUCKET_KEEP = 8
SEPARATOR = "\x1f"  # between the stem and the options: no text holds it
_PRIME = (1 << 31) - 1
_rng = np.random.default_rng(20261207)
_A = _rng.integers(1, _PRIME, size=BANDS * ROWS, dtype=np.int64)
_B = _rng.integers(0, _PRIME, size=BANDS * ROWS, dtype=np.int64)


def question_text(stem: str, options: list[str] | tuple[str, ...] = ()) -> str:
    """The text two questions are compared by: the normalised stem and options."""
    return SEPARATOR.join([stem, *options]) if options else stem


def bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset([text]) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


@dataclass(frozen=True)
class Match:
    index: int  # the row's index in `new`
    other: int  # index in `new` (an earlier row) or in `existing`
    in_existing: bool
    similarity: float


def _signature(tokens: frozenset[str], ids: dict[str, int]) -> list[bytes]:
    """The text's band keys: BANDS byte strings of ROWS min-hashes each."""
    codes = np.fromiter((ids.setdefault(token, len(ids) + 1) for token in tokens), dtype=np.int64)
    hashes = (_A[:, None] * codes[None, :] + _B[:, None]) % _PRIME
    minima = hashes.min(axis=1)
    return [minima[band * ROWS : (band + 1) * ROWS].tobytes() for band in range(BANDS)]


def near_duplicates(
    new: list[str], existing: list[str] | tuple[str, ...] = (), threshold: float = THRESHOLD
) -> dict[int, Match]:
    """For each text in `new` that is near another (an earlier one in `new`, or one
    in `existing`), its closest match among the candidates. Texts are already
    normalised (search_text, question_text)."""
    texts = list(existing) + list(new)
    offset = len(existing)
    best: dict[int, tuple[float, int]] = {}  # later record -> (score, earlier record)
    first_with_text: dict[str, int] = {}
    ids: dict[str, int] = {}
    buckets: list[dict[bytes, list[int]]] = [{} for _band in range(BANDS)]
    sets: dict[int, frozenset[str]] = {}

    for number, text in enumerate(texts):
        if not text:
            continue
        earlier = first_with_text.setdefault(text, number)
        if earlier != number:
            if number >= offset:
                best[number] = (1.0, earlier)
            continue
        tokens = bigrams(text)
        sets[number] = tokens
        keys = _signature(tokens, ids)
        if number >= offset:
            candidates: dict[int, None] = {}
            for band, key in enumerate(keys):
                for other in buckets[band].get(key, ()):
                    candidates[other] = None
            size = len(tokens)
            for other in candidates:
                other_tokens = sets[other]
                other_size = len(other_tokens)
                if min(size, other_size) < threshold * max(size, other_size):
                    continue
                shared = len(tokens & other_tokens)
                score = shared / (size + other_size - shared)
                if score >= threshold and (number not in best or score > best[number][0]):
                    best[number] = (score, other)
        for band, key in enumerate(keys):
            members = buckets[band].setdefault(key, [])
            if len(members) < BUCKET_KEEP:
                members.append(number)

    return {
        later - offset: _match(later - offset, earlier, offset, score)
        for later, (score, earlier) in best.items()
    }


def _match(row: int, other: int, offset: int, score: float) -> Match:
    if other < offset:
        return Match(row, other, True, score)
    return Match(row, other - offset, False, score)
