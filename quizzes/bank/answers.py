"""What counts as an answer, and whether it is right: the one rule for papers, live
rounds and PK (docs/scoring.md, "What counts as an answer").

Pure: no Django import. Question types are compared as the plain strings that
quizzes.models.QuestionType's values are.

- `response_fits(qtype, option_ids, response)`: the shape check. A blank (None, an
  empty or all-space text, an empty list) never fits: it is not an answer. Papers
  leave a blank item unanswered; live rounds and PK refuse it (reject `bad_response`).
- `is_correct(qtype, key, response)`: marking against a stored key.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection
from typing import Any

SINGLE = "single"
MULTIPLE = "multiple"
TRUE_FALSE = "true_false"
FILL = "fill"
NUMERIC = "numeric"
ORDERING = "ordering"

MAX_TEXT_ANSWER = 200  # characters of a fill-in answer, after stripping spaces
MAX_NUMBER_TEXT = 50  # characters of a number typed as text


def normalise_answer_text(text: str) -> str:
    """Fill-in answers: full-width to half-width (NFKC), case-folded, spaces removed."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    # Removing spaces can bring a base letter and a combining mark together: normalise
    # again so that normalising twice changes nothing.
    return unicodedata.normalize("NFKC", "".join(folded.split()))


def number_value(value: Any) -> float | None:
    """A finite number from an int, a float or a text (full-width digits too); None
    for anything else (a bool, NaN, infinity, text that is not a number)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(unicodedata.normalize("NFKC", str(value)).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def is_number(answer: Any) -> bool:
    """Whether a numeric answer reads as a finite number."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float, str)):
        return False
    return number_value(answer) is not None


def is_blank(response: Any) -> bool:
    """No answer at all: None, an empty or all-space text, an empty list."""
    if response is None:
        return True
    if isinstance(response, str):
        return not response.strip()
    return isinstance(response, (list, tuple)) and not response


def _choices_fit(options: set[str], response: Any) -> bool:
    return (
        isinstance(response, list)
        and 0 < len(response) <= len(options)
        and all(isinstance(choice, str) and choice in options for choice in response)
        and len(set(response)) == len(response)
    )


def response_fits(qtype: str, option_ids: Collection[str], response: Any) -> bool:
    """Whether `response` has the shape of an answer to a question of type `qtype`
    whose options (as the player was shown them) are `option_ids`:

    single: one of the ids; multiple and ordering: a non-empty list of distinct ids,
    at most as many as there are; true/false: a bool; fill: a text of 1 to
    MAX_TEXT_ANSWER characters once stripped; numeric: a finite int or float (not a
    bool), or a text of 1 to MAX_NUMBER_TEXT characters once stripped. Anything
    else, and any other type, does not fit."""
    if qtype == SINGLE:
        return isinstance(response, str) and response in set(option_ids)
    if qtype in (MULTIPLE, ORDERING):
        return _choices_fit(set(option_ids), response)
    if qtype == TRUE_FALSE:
        return isinstance(response, bool)
    if qtype == FILL:
        return isinstance(response, str) and 1 <= len(response.strip()) <= MAX_TEXT_ANSWER
    if qtype == NUMERIC:
        if isinstance(response, bool):
            return False
        if isinstance(response, int):
            return True  # however large (math.isfinite would overflow on 10**400)
        if isinstance(response, float):
            return math.isfinite(response)
        return isinstance(response, str) and 1 <= len(response.strip()) <= MAX_NUMBER_TEXT
    return False


def is_correct(qtype: str, key: dict[str, Any], response: Any) -> bool:
    """Check one response against a stored key (used by papers, live rounds and PK)."""
    if qtype == SINGLE:
        return isinstance(response, str) and [response] == key["options"]
    if qtype == MULTIPLE:
        return isinstance(response, (list, tuple)) and sorted(set(response)) == sorted(
            key["options"]
        )
    if qtype == ORDERING:
        return isinstance(response, (list, tuple)) and list(response) == key["order"]
    if qtype == TRUE_FALSE:
        return isinstance(response, bool) and response == key["value"]
    if qtype == FILL:
        given = normalise_answer_text(response) if isinstance(response, str) else None
        return given is not None and given in {normalise_answer_text(a) for a in key["accepted"]}
    if qtype == NUMERIC:
        value = number_value(response)
        return value is not None and abs(value - key["value"]) <= key["tolerance"] + 1e-9
    return False
