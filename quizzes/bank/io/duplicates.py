"""Near-duplicate stems: equal normalised text, or character-bigram Jaccard ≥ 0.85.

A similarity join with prefix filtering (Chaudhuri et al., "AllPairs"): each stem's
bigrams are ordered rarest first; two sets with Jaccard ≥ t share at least
ceil(t·max(|x|, |y|)) bigrams, so their prefixes of |s| − ceil(t·|s|) + 1 bigrams
intersect. Only those prefixes are indexed and probed, so the candidates are few even
at 10,000 stems, and each is checked exactly. Pure Python, no Django.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

THRESHOLD = 0.85


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


def near_duplicates(
    new: list[str], existing: list[str] = (), threshold: float = THRESHOLD
) -> dict[int, Match]:
    """For each text in `new` that is near another (an earlier one in `new`, or one
    in `existing`), its closest match. Texts are already normalised (search_text)."""
    texts = list(existing) + list(new)
    offset = len(existing)
    sets = [bigrams(t) for t in texts]
    frequency = Counter(token for tokens in sets for token in tokens)
    best: dict[int, tuple[float, int]] = {}  # later record -> (score, earlier record)

    def keep(a: int, b: int, score: float) -> None:
        later, earlier = max(a, b), min(a, b)
        if later < offset:
            return  # two questions already in the bank: not this import's business
        if later not in best or score > best[later][0]:
            best[later] = (score, earlier)

    first_with_text: dict[str, int] = {}
    for number, text in enumerate(texts):
        if text:
            earlier = first_with_text.setdefault(text, number)
            if earlier != number:
                keep(number, earlier, 1.0)

    # PPJoin: records by size; probe with the prefix |x| - ceil(t|x|) + 1, index only
    # |x| - ceil(2t/(1+t)|x|) + 1 tokens (enough when smaller records come first), and
    # drop a candidate as soon as the tokens left cannot reach the overlap it needs.
    index: dict[str, list[tuple[int, int]]] = defaultdict(list)
    index_share = 2 * threshold / (1 + threshold)
    overlap_share = threshold / (1 + threshold)
    for number in sorted(range(len(texts)), key=lambda n: len(sets[n])):
        tokens = sets[number]
        size = len(tokens)
        if not size:
            continue
        ordered = sorted(tokens, key=lambda t: (frequency[t], t))
        counts: dict[int, int] = {}
        for i, token in enumerate(ordered[: size - math.ceil(threshold * size) + 1]):
            for other, j in index[token]:
                count = counts.get(other, 0)
                if count < 0:
                    continue
                other_size = len(sets[other])
                if other_size < threshold * size:
                    counts[other] = -1
                    continue
                needed = math.ceil(overlap_share * (size + other_size) - 1e-9)
                if count + 1 + min(size - i - 1, other_size - j - 1) >= needed:
                    counts[other] = count + 1
                else:
                    counts[other] = -1
        for other, count in counts.items():
            if count <= 0 or (number < offset and other < offset):
                continue
            other_tokens = sets[other]
            shared = len(tokens & other_tokens)
            score = shared / (size + len(other_tokens) - shared)
            if score >= threshold:
                keep(number, other, score)
        for j, token in enumerate(ordered[: size - math.ceil(index_share * size) + 1]):
            index[token].append((number, j))

    return {
        later - offset: _match(later - offset, earlier, offset, score)
        for later, (score, earlier) in best.items()
    }


def _match(row: int, other: int, offset: int, score: float) -> Match:
    if other < offset:
        return Match(row, other, True, score)
    return Match(row, other - offset, False, score)
