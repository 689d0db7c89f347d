"""Question content: validation and normalisation (answer shapes and marking are
quizzes.bank.answers').

One place decides what a valid question is, for the editor form, every import format
and the seed content. `clean_question()` takes loose input (what a spreadsheet row or
a form gives) and returns the stored form plus problems, each naming its field, so an
importer can turn it into a row and column.

A question travels whole in live-round and PK frames, which are held to the client's
message cap (WS_MAX_MESSAGE_BYTES, 16 KiB), so what it may carry is bounded here, where it
is authored: the MAX_* limits below (characters of the stored text, formatting included).
docs/protocol.md ("Frame sizes") adds up the worst case; tests/realtime/test_frame_sizes.py
plays a round with every text at its limit.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from quizzes.bank.answers import normalise_answer_text, number_value
from quizzes.models import (
    AUDIENCES,
    CHOICE_TYPES,
    Difficulty,
    Dimension,
    GradeBand,
    QuestionType,
    Topic,
)
from quizzes.rich_text import plain_text, sanitise
from spreadsheets.i18n import gettext_lazy as _

FIELDS = (
    "type", "stem", "options", "key", "explanation", "source", "difficulty", "dimension",
    "benchmark", "topic", "audience", "grade_band", "collection", "stem_en", "explanation_en",
)  # fmt: skip

# Limits of a question's texts, in characters of the stored text (sanitised HTML: markup
# and entities count). Real content is far below them (the demo bank's longest stem has 88
# characters, its longest option 61); together they keep a question with its reveal, and
# a snapshot around them, within the frame cap (docs/protocol.md, "Frame sizes").
MAX_STEM = 600
MAX_OPTIONS = 8  # options A to H: the editor's and the spreadsheet template's columns
MAX_OPTION = 80
MAX_EXPLANATION = 600
MAX_ACCEPTED = 10  # accepted answers of a fill-in question
MAX_ACCEPTED_TEXT = 50  # characters of each
MAX_UNIT = 20
MAX_SOURCE = 300  # (not in any frame; cut to this length, as before)
LIMITS = {"stem": MAX_STEM, "explanation": MAX_EXPLANATION}
# Control characters other than tab and newlines mean nothing in HTML and are written as
# six bytes (\u0001) in JSON: they become spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def without_controls(text: str) -> str:
    """`text` with its control characters (but tab and newlines) made spaces."""
    return _CONTROL.sub(" ", text)


TRUE_WORDS = {"true", "t", "yes", "y", "1", "对", "正确", "是", "√", "✓"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "错", "错误", "否", "×", "✗"}


@dataclass
class Problem:
    field: str
    message: str
    option: int | None = None  # 0-based option index when the problem is in one option

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class CleanResult:
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def new_option_id() -> str:
    """Opaque option ids: random, so they say nothing about the key or the order."""
    return secrets.token_hex(4)


def search_text(stem_html: str) -> str:
    return normalise_answer_text(plain_text(stem_html))


def _letter_index(token: str, count: int) -> int | None:
    token = unicodedata.normalize("NFKC", token).strip().upper()
    if len(token) == 1 and "A" <= token <= "Z":
        index = ord(token) - ord("A")
    elif token.isdigit():
        index = int(token) - 1
    else:
        return None
    return index if 0 <= index < count else None


def _split_letters(value: Any) -> list[str | int]:
    if isinstance(value, (list, tuple)):
        # ints in a list are 0-based indices, as for a single int (see clean_question)
        return [v if isinstance(v, int) and not isinstance(v, bool) else str(v) for v in value]
    text = unicodedata.normalize("NFKC", str(value)).strip().upper()
    for sep in (",", ";", " ", "、", "|"):
        text = text.replace(sep, ",")
    parts = [p for p in text.split(",") if p]
    if len(parts) == 1 and parts[0].isalpha() and len(parts[0]) > 1:
        return list(parts[0])  # "ACD"
    return parts


def clean_question(raw: dict[str, Any]) -> CleanResult:
    """Validate and normalise one question.

    `raw["options"]` is a list of option texts (or {"id", "text"} dicts to keep ids);
    `raw["key"]` is loose: letters "A"/"ACD"/["A","C"] or 0-based ints for choices,
    true/false words, a list or "|"-separated accepted answers for fill, a number
    (with `tolerance` and `unit` in raw) for numeric, letters in order for ordering.
    """
    result = CleanResult()
    err, warn = result.errors.append, result.warnings.append
    data = result.data

    qtype = str(raw.get("type") or "").strip()
    if qtype not in QuestionType.values:
        err(Problem("type", _("Unknown question type “%(value)s”.") % {"value": qtype}))
        return result
    data["type"] = qtype

    for name in ("stem", "explanation", "stem_en", "explanation_en"):
        cleaned = sanitise(without_controls(str(raw.get(name) or "")))
        data[name] = cleaned.html
        for what in cleaned.removed:
            warn(Problem(name, _("Removed unsafe content: %(what)s.") % {"what": what}))
        if name in LIMITS and len(cleaned.html) > LIMITS[name]:
            err(too_long(name, cleaned.html, LIMITS[name]))
    if not plain_text(data["stem"]) and "<img" not in data["stem"]:
        err(Problem("stem", _("The stem is empty.")))

    options = _clean_options(raw.get("options") or [], err, warn)
    data["options"] = options

    key = raw.get("key")
    if key is None or (isinstance(key, str) and not key.strip()) or key == []:
        err(Problem("key", _("The answer key is missing.")))
    elif qtype in CHOICE_TYPES:
        _clean_choice_key(qtype, key, options, data, err)
    elif qtype == QuestionType.TRUE_FALSE:
        if options:
            warn(
                Problem("options", _("True-or-false questions have no options; they were dropped."))
            )
            data["options"] = []
        _clean_true_false_key(key, data, err)
    elif qtype == QuestionType.FILL:
        accepted = key if isinstance(key, (list, tuple)) else str(key).split("|")
        accepted = [without_controls(str(a)).strip() for a in accepted if str(a).strip()]
        if not accepted:
            err(Problem("key", _("The answer key is missing.")))
        _check_accepted(accepted, err)
        data["options"] = []
        data["key"] = {"accepted": accepted}
    elif qtype == QuestionType.NUMERIC:
        data["options"] = []
        _clean_numeric_key(key, raw, data, err)

    _clean_tags(raw, data, err)
    data["source"] = str(raw.get("source") or "").strip()[:MAX_SOURCE]
    if not data["source"]:
        warn(Problem("source", _("No source or reference is given.")))
    return result


def too_long(name: str, text: str, limit: int, option: int | None = None) -> Problem:
    values = {"n": len(text), "max": limit}
    if name == "unit":  # plain text
        message = _("This text is too long: %(n)s characters, at most %(max)s.") % values
    else:
        message = (
            _("This text is too long: %(n)s characters, at most %(max)s (formatting counts too).")
            % values
        )
    return Problem(name, message, option)


def _check_accepted(accepted: list[str], err) -> None:
    if len(accepted) > MAX_ACCEPTED:
        err(
            Problem(
                "key",
                _("A fill-in question has at most %(max)s accepted answers.")
                % {"max": MAX_ACCEPTED},
            )
        )
    for text in accepted:
        if len(text) > MAX_ACCEPTED_TEXT:
            err(
                Problem(
                    "key",
                    _("The accepted answer “%(value)s” is longer than %(max)s characters.")
                    % {"value": text, "max": MAX_ACCEPTED_TEXT},
                )
            )


def _clean_options(raw_options: list[Any], err, warn) -> list[dict[str, str]]:
    """The options' texts sanitised (empty ones left out), each with an opaque id."""
    options: list[dict[str, str]] = []
    for index, option in enumerate(raw_options):
        text, option_id = (
            (option.get("text"), option.get("id")) if isinstance(option, dict) else (option, None)
        )
        if text is None or str(text).strip() == "":
            continue
        cleaned = sanitise(without_controls(str(text)))
        if len(cleaned.html) > MAX_OPTION:
            err(too_long("options", cleaned.html, MAX_OPTION, index))
        for what in cleaned.removed:
            warn(Problem("options", _("Removed unsafe content: %(what)s.") % {"what": what}, index))
        if not plain_text(cleaned.html) and "<img" not in cleaned.html:
            err(
                Problem(
                    "options", _("Option %(n)s is empty after cleaning.") % {"n": index + 1}, index
                )
            )
        options.append({"id": option_id or new_option_id(), "text": cleaned.html})
    if len(options) > MAX_OPTIONS:
        err(
            Problem(
                "options",
                _("A question has at most %(max)s options.") % {"max": MAX_OPTIONS},
                MAX_OPTIONS,
            )
        )
    return options


def _clean_true_false_key(key: Any, data: dict[str, Any], err) -> None:
    word = normalise_answer_text(key) if not isinstance(key, bool) else ("true" if key else "false")
    if word in TRUE_WORDS:
        data["key"] = {"value": True}
    elif word in FALSE_WORDS:
        data["key"] = {"value": False}
    else:
        err(
            Problem(
                "key",
                _("A true-or-false key must be true or false, not “%(value)s”.") % {"value": key},
            )
        )


def _clean_numeric_key(key: Any, raw: dict[str, Any], data: dict[str, Any], err) -> None:
    value = number_value(key)
    tolerance = number_value(raw.get("tolerance") or 0)
    if value is None:
        err(
            Problem(
                "key", _("A numeric answer must be a number, not “%(value)s”.") % {"value": key}
            )
        )
    elif tolerance is None or tolerance < 0:
        err(Problem("tolerance", _("The tolerance must be a number of zero or more.")))
    else:
        unit = without_controls(str(raw.get("unit") or "")).strip()
        if len(unit) > MAX_UNIT:
            err(too_long("unit", unit, MAX_UNIT))
        data["key"] = {"value": value, "tolerance": tolerance, "unit": unit}


def _clean_choice_key(qtype, key, options, data, err) -> None:
    if len(options) < 2:
        err(Problem("options", _("A choice question needs at least two options.")))
        return
    tokens = [key] if isinstance(key, int) and not isinstance(key, bool) else _split_letters(key)
    indices = []
    for token in tokens:
        index = token if isinstance(token, int) else _letter_index(str(token), len(options))
        if index is None or not 0 <= index < len(options):
            err(Problem("key", _("The key “%(value)s” names no option.") % {"value": token}))
            return
        indices.append(index)
    if qtype == QuestionType.SINGLE and len(indices) != 1:
        err(Problem("key", _("A single-choice question has exactly one correct option.")))
    elif qtype == QuestionType.MULTIPLE and len(set(indices)) < 2:
        err(Problem("key", _("A multiple-choice question has at least two correct options.")))
    elif qtype == QuestionType.ORDERING and sorted(indices) != list(range(len(options))):
        err(Problem("key", _("An ordering key lists every option exactly once.")))
    if qtype == QuestionType.ORDERING:
        data["key"] = {"order": [options[i]["id"] for i in indices]}
    else:
        data["key"] = {"options": [options[i]["id"] for i in sorted(set(indices))]}


def _clean_tags(raw, data, err) -> None:
    def choice(name, choices, required, default=""):
        value = str(raw.get(name) or "").strip()
        if not value:
            if required and not default:
                err(Problem(name, _("This field is required.")))
            return default
        if value not in choices:
            err(Problem(name, _("Unknown value “%(value)s”.") % {"value": value}))
        return value

    data["dimension"] = choice("dimension", Dimension.values, required=True)
    data["topic"] = choice("topic", Topic.values, required=True)
    data["difficulty"] = choice("difficulty", Difficulty.values, required=False, default="medium")
    data["grade_band"] = choice("grade_band", GradeBand.values, required=False)
    benchmark = raw.get("benchmark")
    if benchmark in (None, ""):
        data["benchmark"] = None
    else:
        number = number_value(benchmark)
        if number is None or number != int(number) or not 1 <= number <= 26:
            err(Problem("benchmark", _("A benchmark is a whole number from 1 to 26.")))
            data["benchmark"] = None
        else:
            data["benchmark"] = int(number)
    audience = raw.get("audience") or []
    if isinstance(audience, str):
        audience = [a for a in audience.replace("，", ",").replace(" ", ",").split(",") if a]
    unknown = [a for a in audience if a not in AUDIENCES]
    if unknown:
        err(Problem("audience", _("Unknown audience “%(value)s”.") % {"value": ", ".join(unknown)}))
    data["audience"] = sorted(set(audience) & AUDIENCES)
    data["collection"] = str(raw.get("collection") or "").strip()[:50]
