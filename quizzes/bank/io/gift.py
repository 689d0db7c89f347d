"""GIFT (Moodle's text format): {=right ~wrong}, {T}/{F}, {=a =b} short answer,
{#value:tolerance}, multiple answers with ~%50%…, general feedback after ####.

Each question is written on one line, preceded by Moodle's own comment metadata,
`// [id:UID] [tag:dimension:knowledge] …` (Moodle 3.6+ reads it), and by SciArena
comment lines `// @unit: …`, `// @stem_en: …`, `// @explanation_en: …`. GIFT has no
ordering question: an ordering item is written as a documented extension inside
comments (`// @type: ordering` then `//@ ::name::stem{~%2%first ~%1%second}` where the
percentage is the option's place in the right order), which Moodle skips and SciArena
reads back; the export report says so.

Whatever does not carry over is a warning at the question's line, never silent: essay
and matching questions (skipped), several answers marked fully right with `=` in a
choice question, unequal or partial weights, partial-credit answers of a fill-in or
numeric question (dropped), and images a file refers to but cannot bring.
"""

from __future__ import annotations

import html
import re

from quizzes.bank.io.common import (
    SourceItem,
    feedback_with_source,
    raw_from_tags,
    split_source,
    tags_of,
)
from quizzes.models import QuestionType, QuestionVersion
from spreadsheets import plain_number
from spreadsheets.i18n import gettext_lazy as _
from spreadsheets.report import LINE, Report

SPECIAL = "~=#{}:"
_PLACEHOLDER = {c: chr(0xE000 + i) for i, c in enumerate("\\" + SPECIAL)}
_RESTORE = {v: k for k, v in _PLACEHOLDER.items()}
_ESCAPE = re.compile(r"\\(.)", re.S)
_TAG = re.compile(r"\[tag:([^\]]*)\]")
_ID = re.compile(r"\[id:([^\]]*)\]")
_META = re.compile(r"^//\s*@(\w+):\s?(.*)$")
_FORMAT = re.compile(r"^\s*\[(html|moodle|plain|markdown)\]", re.I)
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
EXTENSION = "//@ "


def escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for char in SPECIAL:
        text = text.replace(char, "\\" + char)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def _protect(text: str) -> str:
    def one(match: re.Match) -> str:
        char = match.group(1)
        if char == "n":
            return "\n"
        return _PLACEHOLDER.get(char, "\\" + char)

    return _ESCAPE.sub(one, text)


def _restore(text: str) -> str:
    return "".join(_RESTORE.get(c, c) for c in text)


# --- Reading ---------------------------------------------------------------------------


def _locate(field: str, option: int | None) -> tuple[str, str]:
    if field == "options" and option is not None:
        return "", f"answer {option + 1}"
    parts = {
        "stem": "question text",
        "options": "answers",
        "key": "answers",
        "tolerance": "answers",
        "explanation": "####",
        "source": "####",
        "uid": "[id:]",
    }
    return "", parts.get(field, "// " + field if field in ("unit", "stem_en") else "[tag:]")


def read(data: bytes, filename: str, report: Report) -> list[SourceItem]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.error(_("A GIFT file is UTF-8 text."))
        return []
    items: list[SourceItem] = []
    meta: dict = {"tags": [], "uid": "", "ext": {}}
    block: list[str] = []
    start = 0

    def flush() -> None:
        nonlocal block, meta
        if block:
            item = _parse(" ".join(block).strip(), start, meta, report)
            if item is not None:
                items.append(item)
            meta = {"tags": [], "uid": "", "ext": {}}
        block = []

    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("//@"):
            if not block:
                start = number
            block.append(stripped[3:].strip())
            continue
        if stripped.startswith("//"):
            meta["tags"] += _TAG.findall(stripped)
            found = _ID.search(stripped)
            if found:
                meta["uid"] = found.group(1).strip()
            extra = _META.match(stripped)
            if extra:
                meta["ext"][extra.group(1)] = _restore(_protect(extra.group(2)))
            continue
        if not stripped:
            flush()
            continue
        if stripped.startswith("$CATEGORY:"):
            flush()
            continue
        if not block:
            start = number
        block.append(stripped)
    flush()
    return items


def _html(text: str, fmt: str) -> str:
    text = text.strip()
    if fmt in ("plain", "markdown"):
        return html.escape(text, quote=False).replace("\n", "<br>")
    return text


def _parse(text: str, line: int, meta: dict, report: Report) -> SourceItem | None:
    split = _split(_protect(text), line, report)
    if split is None:
        return None
    fmt, stem, answers, feedback = split
    ext = meta["ext"]
    raw = _raw(meta["tags"], _html(_restore(stem), fmt), _restore(feedback.strip()), ext)
    item = SourceItem(row=line, raw=raw, locate=_locate, uid=meta["uid"])
    ordering = ext.get("type") == "ordering"
    if not answers or ("->" in answers and not ordering):
        report.warning(
            _("SciArena has no question type like GIFT's “%(type)s”; it is skipped.")
            % {"type": "essay" if not answers else "matching"},
            row=line,
            header="answers",
            kind=LINE,
        )
        return None
    if "@@PLUGINFILE@@" in text:
        item.warn(
            "stem",
            _(
                "The question's embedded files (images) are not imported; upload them to "
                "the bank and add them in the editor."
            ),
        )
    _answers(answers, ordering, fmt, ext, item)
    return item


def _split(t: str, line: int, report: Report) -> tuple[str, str, str, str] | None:
    """A protected question's format, stem (with any text after the answer block as a
    blank), answers and feedback; None, with an error, if it has no answer block."""
    if t.startswith("::"):
        end = t.find("::", 2)
        t = t[end + 2 :] if end != -1 else t
    fmt = "html"
    found = _FORMAT.match(t)
    if found:
        fmt = found.group(1).lower()
        t = t[found.end() :]
    open_at = t.find("{")
    close_at = t.find("}", open_at + 1)
    if open_at == -1 or close_at == -1:
        report.error(
            _("This GIFT question has no answer block {…}."),
            row=line,
            header="answers",
            kind=LINE,
        )
        return None
    after = t[close_at + 1 :].strip()
    stem = t[:open_at].strip() + (" _____ " + after if after else "")
    answers, _sep, feedback = t[open_at + 1 : close_at].strip().partition("####")
    return fmt, stem, answers.strip(), feedback


def _raw(tags: list[str], stem: str, feedback: str, ext: dict) -> dict:
    explanation, source = split_source(feedback)
    raw, _others = raw_from_tags(tags)
    raw.update(
        stem=stem,
        explanation=explanation,
        source=source,
        stem_en=ext.get("stem_en", ""),
        explanation_en=ext.get("explanation_en", ""),
    )
    return raw


def _answers(answers: str, ordering: bool, fmt: str, ext: dict, item: SourceItem) -> None:
    """The question's type and key (and options) from its answer block."""
    raw = item.raw
    word = answers.split("#", 1)[0].strip().upper()
    if answers.startswith("#"):
        raw["type"] = QuestionType.NUMERIC
        _numeric(answers[1:], raw, ext, item)
    elif word in ("T", "TRUE", "F", "FALSE") and not ordering:
        raw["type"] = QuestionType.TRUE_FALSE
        raw["key"] = word.startswith("T")
    else:
        parsed = _tokens(answers)
        if ordering:
            raw["type"] = QuestionType.ORDERING
            raw["options"] = [_html(body, fmt) for _m, _w, body in parsed]
            raw["key"] = sorted(range(len(parsed)), key=lambda i: parsed[i][1] or 0)
        elif any(marker == "~" for marker, _w, _b in parsed):
            _choice(parsed, raw, fmt, item)
        else:
            _fill(parsed, raw, item)


def _tokens(answers: str) -> list[tuple[str, float | None, str]]:
    """Each `=`/`~` answer as (marker, weight or None, restored text without feedback)."""
    parsed = []
    for token in re.split(r"(?=[=~])", answers):
        if not token.strip():
            continue
        marker, body = token[0], token[1:]
        if marker not in "=~":
            continue
        weight = None
        found = _WEIGHT.match(body)
        if found:
            weight = float(found.group(1))
            body = body[found.end() :]
        body = body.split("#", 1)[0]
        parsed.append((marker, weight, _restore(body).strip()))
    return parsed


def _fill(parsed: list, raw: dict, item: SourceItem) -> None:
    raw["type"] = QuestionType.FILL
    raw["key"] = [body for _m, weight, body in parsed if weight in (None, 100.0)]
    dropped = [body for _m, weight, body in parsed if weight not in (None, 100.0)]
    if dropped:
        item.warn(
            "key",
            _(
                "Answers worth partial credit (%(answers)s) are dropped: only answers "
                "worth 100%% are accepted."
            )
            % {"answers": "、".join(dropped)},
        )


def _choice(parsed: list, raw: dict, fmt: str, item: SourceItem) -> None:
    right = [
        i
        for i, (marker, weight, _b) in enumerate(parsed)
        if (marker == "=" and (weight is None or weight > 0))
        or (marker == "~" and weight is not None and weight > 0)
    ]
    raw["type"] = QuestionType.SINGLE if len(right) == 1 else QuestionType.MULTIPLE
    raw["options"] = [_html(body, fmt) for _m, _w, body in parsed]
    raw["key"] = right
    plain_right = [i for i in right if parsed[i][0] == "=" and parsed[i][1] is None]
    weights = [parsed[i][1] if parsed[i][1] is not None else 100.0 for i in right]
    if len(right) > 1 and len(plain_right) > 1:
        item.warn(
            "key",
            _(
                "%(n)s answers are marked fully right with “=”, which Moodle reads as a "
                "single choice where any of them is right; here all of them must be chosen."
            )
            % {"n": len(plain_right)},
        )
    elif len(right) > 1 and len({round(w, 3) for w in weights}) > 1:
        item.warn(
            "key",
            _(
                "The right answers weigh differently (%(weights)s); here the question is "
                "right when exactly the answers with a positive weight are chosen."
            )
            % {"weights": ", ".join(_weight(w) + "%" for w in weights)},
        )
    elif len(right) == 1 and weights[0] != 100.0:
        item.warn(
            "key",
            _("Partial credit (%(weights)s) is not kept: an answer is right or wrong.")
            % {"weights": _weight(weights[0]) + "%"},
        )


def _numeric(answers: str, raw: dict, ext: dict, item: SourceItem) -> None:
    first = answers.split("=")
    candidates = [c for c in first if c.strip()] or [""]
    if len(candidates) > 1:
        item.warn(
            "key",
            _(
                "Only the first fully right answer is kept; the others (%(n)s: other "
                "values, or partial credit) are dropped."
            )
            % {"n": len(candidates) - 1},
        )
    chosen = candidates[0]
    for candidate in candidates:
        found = _WEIGHT.match(candidate.strip())
        if found is None or float(found.group(1)) == 100:
            chosen = _WEIGHT.sub("", candidate.strip())
            break
    chosen = _restore(chosen.split("#", 1)[0]).strip()
    if ".." in chosen:
        low, _sep, high = chosen.partition("..")
        try:
            lo, hi = float(low), float(high)
            raw["key"] = plain_number((lo + hi) / 2)
            raw["tolerance"] = plain_number((hi - lo) / 2)
        except ValueError:
            raw["key"] = chosen
    else:
        value, _sep, tolerance = chosen.partition(":")
        raw["key"] = value.strip()
        raw["tolerance"] = tolerance.strip() or "0"
    raw["unit"] = ext.get("unit", "")


# --- Writing ---------------------------------------------------------------------------


def _weight(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".")


def question_lines(uid: str, version: QuestionVersion, name: str) -> list[str]:
    meta = " ".join([f"[id:{uid}]", *(f"[tag:{tag}]" for tag in tags_of(version))])
    lines = [f"// {meta}"]
    key = version.key
    if version.type == QuestionType.ORDERING:
        lines.append("// @type: ordering")
    if version.type == QuestionType.NUMERIC and key.get("unit"):
        lines.append(f"// @unit: {escape(key['unit'])}")
    if version.stem_en:
        lines.append(f"// @stem_en: {escape(version.stem_en)}")
    if version.explanation_en:
        lines.append(f"// @explanation_en: {escape(version.explanation_en)}")
    options = version.options
    if version.type == QuestionType.SINGLE:
        answers = [("=" if o["id"] in key["options"] else "~") + escape(o["text"]) for o in options]
    elif version.type == QuestionType.MULTIPLE:
        right = set(key["options"])
        wrong = len(options) - len(right)
        answers = [
            "~%"
            + (_weight(100 / len(right)) if o["id"] in right else _weight(-100 / max(wrong, 1)))
            + "%"
            + escape(o["text"])
            for o in options
        ]
    elif version.type == QuestionType.ORDERING:
        position = {option_id: n for n, option_id in enumerate(key["order"], start=1)}
        answers = [f"~%{position[o['id']]}%" + escape(o["text"]) for o in options]
    elif version.type == QuestionType.TRUE_FALSE:
        answers = ["T" if key["value"] else "F"]
    elif version.type == QuestionType.FILL:
        answers = ["=" + escape(a) for a in key["accepted"]]
    else:
        answers = ["#" + plain_number(key["value"]) + ":" + plain_number(key.get("tolerance", 0))]
    feedback = feedback_with_source(version.explanation, version.source)
    body = " ".join(answers) + (" ####" + escape(feedback) if feedback else "")
    question = f"::{escape(name)}::[html]{escape(version.stem)}{{{body}}}"
    if version.type == QuestionType.ORDERING:
        question = EXTENSION + question
    lines.append(question)
    return lines


def write(bank_name: str, entries: list[tuple[str, QuestionVersion, str]]) -> bytes:
    out = [f"// {escape(bank_name)}", f"$CATEGORY: $course$/top/{escape(bank_name)}", ""]
    for uid, version, name in entries:
        out.extend(question_lines(uid, version, name))
        out.append("")
    return "\n".join(out).encode("utf-8")
