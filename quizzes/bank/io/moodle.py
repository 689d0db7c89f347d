"""Moodle XML: multichoice, truefalse, shortanswer (fill), numerical and ordering
(the qtype_ordering format: answers with fraction = position in the right order).

Our tags travel as Moodle tags ("dimension:knowledge", "audience:elderly", …), the uid
as <idnumber>, the explanation as <generalfeedback> with the source in a last
<p class="sciarena-source"> paragraph, the English texts in <stem_en>/<explanation_en>
elements that Moodle ignores. Parsing refuses any DOCTYPE or entity declaration (no
entity expansion, no external entities), and a file with more XML elements or deeper
nesting than the spreadsheet limits allow (spreadsheets.limits), before xml.etree sees
the file.

Whatever does not carry over is a warning at the question's line, never silent: a
question type SciArena lacks (the question is skipped), several fully right answers
in a single-choice question (the first is kept), partial credit (an answer worth less
than 100% is wrong here, or dropped from the accepted answers), unequal weights of a
multiple-choice question's right answers, extra numerical answers or units, and
embedded files (images) that are not imported.
"""

from __future__ import annotations

import html
import io
import xml.etree.ElementTree as ET
from xml.parsers import expat

from quizzes.bank.io.common import (
    SourceItem,
    feedback_with_source,
    raw_from_tags,
    split_source,
    tags_of,
)
from quizzes.models import QuestionType, QuestionVersion
from spreadsheets import Limits, plain_number
from spreadsheets.i18n import gettext_lazy as _
from spreadsheets.report import LINE, Report

MOODLE_TYPES = {
    "multichoice": None,  # single or multiple, from <single>
    "truefalse": QuestionType.TRUE_FALSE,
    "shortanswer": QuestionType.FILL,
    "numerical": QuestionType.NUMERIC,
    "ordering": QuestionType.ORDERING,
}
PARTS = {
    "type": "type",
    "stem": "questiontext",
    "options": "answer",
    "key": "answer",
    "tolerance": "tolerance",
    "unit": "units",
    "explanation": "generalfeedback",
    "source": "generalfeedback",
    "stem_en": "stem_en",
    "explanation_en": "explanation_en",
    "uid": "idnumber",
}


class _RefusedError(Exception):
    def __init__(self, message=None):
        super().__init__(str(message))
        self.message = message


def _prescan(data: bytes, limits: Limits) -> list[int]:
    """Refuse DTDs and entities, too many elements, too deep nesting, more questions
    than SPREADSHEET_MAX_ROWS, and more than SPREADSHEET_MAX_XML_LOOSE_ELEMENTS elements
    outside the questions or in any one of them (what read() holds at once); return
    the line of each <question> element under <quiz>."""
    lines: list[int] = []
    parser = expat.ParserCreate()
    counts = {"elements": 0, "depth": 0, "loose": 0, "inside": 0, "question": 0}

    def refuse(*_args):
        raise _RefusedError

    def over(key: str, limit: int, message) -> None:
        counts[key] += 1
        if counts[key] > limit:
            raise _RefusedError(message % {"n": limit, "line": parser.CurrentLineNumber})

    def start(name, _attrs):
        counts["depth"] += 1
        over(
            "elements",
            limits.max_xml_elements,
            _("The file holds more than %(n)s XML elements; split it into smaller files."),
        )
        if counts["depth"] > limits.max_xml_depth:
            raise _RefusedError(
                _("The XML is nested more than %(n)s levels deep; it is refused.")
                % {"n": limits.max_xml_depth}
            )
        if counts["depth"] == 2 and name == "question":
            lines.append(parser.CurrentLineNumber)
            counts["question"], counts["inside"] = 2, 0
            if len(lines) > limits.max_rows:
                raise _RefusedError(
                    _("The file holds more than %(n)s questions; split it into smaller files.")
                    % {"n": limits.max_rows}
                )
        elif counts["question"]:
            over(
                "inside",
                limits.max_xml_loose_elements,
                _("The question at line %(line)s holds more than %(n)s XML elements."),
            )
        else:
            over(
                "loose",
                limits.max_xml_loose_elements,
                _("The file holds more than %(n)s XML elements outside its questions."),
            )

    def end(_name):
        if counts["depth"] == counts["question"]:
            counts["question"] = 0
        counts["depth"] -= 1

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(data, True)
    return lines


def _text(element: ET.Element | None, path: str = "text") -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "") if found is not None else ""


def _html_of(element: ET.Element | None) -> str:
    """A Moodle text element as HTML: plain or Moodle auto-format text is escaped."""
    if element is None:
        return ""
    text = _text(element)
    if element.get("format", "html") in ("html", "markdown"):
        return text
    return html.escape(text, quote=False).replace("\n", "<br>")


def _fraction(answer: ET.Element) -> float:
    try:
        return float(answer.get("fraction", "0"))
    except ValueError:
        return 0.0


def read(data: bytes, filename: str, report: Report) -> list[SourceItem]:
    """The questions under <quiz>, each parsed and dropped in turn (iterparse), so
    memory holds one question's elements at a time besides what _prescan bounds."""
    try:
        lines = _prescan(data, Limits.from_settings())
    except _RefusedError as refused:
        report.error(
            refused.message or _("The XML file declares a DOCTYPE or entities; it is refused.")
        )
        return []
    except expat.ExpatError as exc:
        report.error(_("This is not well-formed XML: %(error)s") % {"error": exc})
        return []
    items: list[SourceItem] = []
    root = None
    depth = 0
    number = 0
    # DOCTYPE and entities were refused above, before ElementTree sees the file.
    for event, element in ET.iterparse(io.BytesIO(data), events=("start", "end")):  # noqa: S314
        if event == "start":
            depth += 1
            if root is None:
                root = element
                if root.tag != "quiz":
                    report.error(_("A Moodle XML file has a <quiz> root element."))
                    return []
            continue
        depth -= 1
        if depth != 1 or element.tag != "question":
            continue
        line = lines[number] if number < len(lines) else 0
        number += 1
        item = _read_question(element, line, report)
        if item is not None:
            items.append(item)
        root.clear()  # the questions read so far, and what lay between them
    return items


def _read_question(question: ET.Element, line: int, report: Report) -> SourceItem | None:
    kind = question.get("type", "")
    if kind == "category":
        return None
    if kind == "description":
        report.warning(
            _("A Moodle description is not a question; it is skipped."), row=line, kind=LINE
        )
        return None
    if kind not in MOODLE_TYPES:
        report.warning(
            _("SciArena has no question type like Moodle's “%(type)s”; it is skipped.")
            % {"type": kind},
            row=line,
            header="type",
            kind=LINE,
        )
        return None
    return _item(question, kind, line)


def _locate(field: str, option: int | None) -> tuple[str, str]:
    if field == "options" and option is not None:
        return "", f"answer {option + 1}"
    return "", PARTS.get(field, "tags")


def _percent(value: float) -> str:
    return plain_number(round(value, 5)) + "%"


def _item(question: ET.Element, kind: str, line: int) -> SourceItem:
    answers = question.findall("answer")
    texts = [_html_of(a) for a in answers]
    fractions = [_fraction(a) for a in answers]
    tags = [_text(tag) for tag in question.findall("tags/tag")]
    raw, _others = raw_from_tags(tags)
    explanation, source = split_source(_html_of(question.find("generalfeedback")))
    raw.update(
        stem=_html_of(question.find("questiontext")),
        explanation=explanation,
        source=source,
        stem_en=_html_of(question.find("stem_en")),
        explanation_en=_html_of(question.find("explanation_en")),
    )
    item = SourceItem(row=line, raw=raw, locate=_locate, uid="")
    qtype = MOODLE_TYPES.get(kind, kind)
    if kind == "multichoice":
        qtype = _multichoice(question, texts, fractions, item)
    elif qtype == QuestionType.TRUE_FALSE:
        _true_false(texts, fractions, item)
    elif qtype == QuestionType.FILL:
        _fill(question, texts, fractions, item)
    elif qtype == QuestionType.NUMERIC:
        _numeric(question, answers, fractions, item)
    elif qtype == QuestionType.ORDERING:
        raw["options"] = texts
        raw["key"] = sorted(range(len(texts)), key=lambda i: fractions[i])
    raw["type"] = qtype
    _warn_files(question, item)
    item.uid = (question.findtext("idnumber") or "").strip()
    return item


def _partial(fractions: list[float]) -> list[float]:
    return [f for f in fractions if 0 < f < 100]


def _multichoice(
    question: ET.Element, texts: list[str], fractions: list[float], item: SourceItem
) -> QuestionType:
    """Options and key of a multichoice question; its type, single or multiple."""
    single = (question.findtext("single") or "true").strip().lower() in ("true", "1")
    item.raw["options"] = texts
    if not single:
        item.raw["key"] = [i for i, f in enumerate(fractions) if f > 0]
        if len({round(f, 3) for f in fractions if f > 0}) > 1:
            item.warn(
                "key",
                _(
                    "The right answers weigh differently in Moodle (%(weights)s); here "
                    "the question is right when exactly the answers with a positive "
                    "weight are chosen."
                )
                % {"weights": ", ".join(_percent(f) for f in fractions if f > 0)},
            )
        return QuestionType.MULTIPLE
    best = max(fractions, default=0)
    right = [i for i, f in enumerate(fractions) if f == best and f > 0]
    item.raw["key"] = right[:1]
    if len(right) > 1:
        item.warn(
            "key",
            _(
                "%(n)s answers are fully right in this single-choice question; only "
                "the first (answer %(first)s) is kept as the key."
            )
            % {"n": len(right), "first": right[0] + 1},
        )
    if partial := _partial(fractions):
        item.warn(
            "key",
            _(
                "Moodle gives partial credit (%(weights)s) here; SciArena marks an "
                "answer right or wrong, so only the key is right."
            )
            % {"weights": ", ".join(_percent(f) for f in partial)},
        )
    return QuestionType.SINGLE


def _true_false(texts: list[str], fractions: list[float], item: SourceItem) -> None:
    right = [texts[i] for i, f in enumerate(fractions) if f >= 100]
    item.raw["key"] = right[0].strip() if right else ""
    if partial := _partial(fractions):
        item.warn(
            "key",
            _("Partial credit (%(weights)s) is not kept: an answer is right or wrong.")
            % {"weights": ", ".join(_percent(f) for f in partial)},
        )


def _fill(question: ET.Element, texts: list[str], fractions: list[float], item: SourceItem) -> None:
    item.raw["key"] = [html.unescape(texts[i]) for i, f in enumerate(fractions) if f >= 100]
    if _partial(fractions):
        dropped = (html.unescape(texts[i]) for i, f in enumerate(fractions) if 0 < f < 100)
        item.warn(
            "key",
            _(
                "Answers worth partial credit (%(answers)s) are dropped: only answers "
                "worth 100%% are accepted."
            )
            % {"answers": "、".join(dropped)},
        )
    if (question.findtext("usecase") or "0").strip() == "1":
        item.warn(
            "key",
            _("Moodle compares these answers case-sensitively; SciArena ignores case."),
        )


def _numeric(
    question: ET.Element, answers: list[ET.Element], fractions: list[float], item: SourceItem
) -> None:
    """The first fully right answer and its tolerance, and the unit of multiplier 1."""
    raw = item.raw
    right = [a for a in answers if _fraction(a) >= 100]
    if right:
        raw["key"] = _text(right[0]).strip()
        raw["tolerance"] = (right[0].findtext("tolerance") or "0").strip()
    if len(right) > 1 or _partial(fractions):
        item.warn(
            "key",
            _(
                "Only the first fully right answer is kept; the others (%(n)s: other "
                "values, or partial credit) are dropped."
            )
            % {"n": len(answers) - 1},
        )
    others = []
    for unit in question.findall("units/unit"):
        multiplier = (unit.findtext("multiplier") or "1").strip()
        name = (unit.findtext("unit_name") or "").strip()
        if multiplier in ("1", "1.0", "1.0000000") and "unit" not in raw:
            raw["unit"] = name
        else:
            others.append(name)
    if others:
        item.warn(
            "unit",
            _("Other units (%(units)s) are dropped: the answer is given in one unit.")
            % {"units": "、".join(others)},
        )


def _warn_files(question: ET.Element, item: SourceItem) -> None:
    files = [f.get("name", "") for f in question.iter("file")]
    if files or any("@@PLUGINFILE@@" in text for text in _all_texts(question)):
        item.warn(
            "stem",
            _(
                "The question's embedded files (images) are not imported%(names)s; upload "
                "them to the bank and add them in the editor."
            )
            % {"names": (": " + "、".join(n for n in files if n)) if any(files) else ""},
        )


def _all_texts(question: ET.Element) -> list[str]:
    return [element.text or "" for element in question.iter("text")]


# --- Writing ---------------------------------------------------------------------------


def _text_element(parent: ET.Element, tag: str, text: str, fmt: str = "html") -> ET.Element:
    element = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(element, "text").text = text
    return element


def _grade(value: float) -> str:
    """Moodle's fractions: 100/3 → 33.33333."""
    return f"{value:.5f}".rstrip("0").rstrip(".")


def write(bank_name: str, entries: list[tuple[str, QuestionVersion, str]]) -> bytes:
    """entries: (uid, version, plain-text name)."""
    quiz = ET.Element("quiz")
    category = ET.SubElement(quiz, "question", {"type": "category"})
    ET.SubElement(ET.SubElement(category, "category"), "text").text = f"$course$/top/{bank_name}"
    for uid, version, name in entries:
        quiz.append(_question(uid, version, name))
    ET.indent(quiz)
    body = ET.tostring(quiz, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _question(uid: str, version: QuestionVersion, name: str) -> ET.Element:
    kind = {
        QuestionType.SINGLE: "multichoice",
        QuestionType.MULTIPLE: "multichoice",
        QuestionType.TRUE_FALSE: "truefalse",
        QuestionType.FILL: "shortanswer",
        QuestionType.NUMERIC: "numerical",
        QuestionType.ORDERING: "ordering",
    }[version.type]
    question = ET.Element("question", {"type": kind})
    ET.SubElement(ET.SubElement(question, "name"), "text").text = name
    _text_element(question, "questiontext", version.stem)
    _text_element(
        question, "generalfeedback", feedback_with_source(version.explanation, version.source)
    )
    ET.SubElement(question, "defaultgrade").text = "1"
    ET.SubElement(question, "penalty").text = "0"
    ET.SubElement(question, "hidden").text = "0"
    ET.SubElement(question, "idnumber").text = uid
    key = version.key
    if version.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        single = version.type == QuestionType.SINGLE
        ET.SubElement(question, "single").text = "true" if single else "false"
        ET.SubElement(question, "shuffleanswers").text = "true"
        ET.SubElement(question, "answernumbering").text = "ABCD"
        right = set(key["options"])
        wrong_count = len(version.options) - len(right)
        for option in version.options:
            if option["id"] in right:
                grade = 100 / len(right)
            else:
                grade = 0 if single or not wrong_count else -100 / wrong_count
            _answer(question, option["text"], _grade(grade))
    elif version.type == QuestionType.TRUE_FALSE:
        _answer(question, "true", "100" if key["value"] else "0", fmt="moodle_auto_format")
        _answer(question, "false", "0" if key["value"] else "100", fmt="moodle_auto_format")
    elif version.type == QuestionType.FILL:
        ET.SubElement(question, "usecase").text = "0"
        for accepted in key["accepted"]:
            _answer(question, accepted, "100", fmt="moodle_auto_format")
    elif version.type == QuestionType.NUMERIC:
        answer = _answer(question, plain_number(key["value"]), "100", fmt="moodle_auto_format")
        ET.SubElement(answer, "tolerance").text = plain_number(key.get("tolerance", 0))
        if key.get("unit"):
            unit = ET.SubElement(ET.SubElement(question, "units"), "unit")
            ET.SubElement(unit, "multiplier").text = "1"
            ET.SubElement(unit, "unit_name").text = key["unit"]
            ET.SubElement(question, "unitgradingtype").text = "0"
            ET.SubElement(question, "showunits").text = "3"
            ET.SubElement(question, "unitsleft").text = "0"
    elif version.type == QuestionType.ORDERING:
        ET.SubElement(question, "layouttype").text = "VERTICAL"
        ET.SubElement(question, "selecttype").text = "ALL"
        ET.SubElement(question, "selectcount").text = "0"
        ET.SubElement(question, "gradingtype").text = "ABSOLUTE_POSITION"
        ET.SubElement(question, "showgrading").text = "SHOW"
        position = {option_id: n for n, option_id in enumerate(key["order"], start=1)}
        for option in version.options:
            _answer(question, option["text"], str(position[option["id"]]))
    if version.stem_en:
        _text_element(question, "stem_en", version.stem_en)
    if version.explanation_en:
        _text_element(question, "explanation_en", version.explanation_en)
    tags = ET.SubElement(question, "tags")
    for tag in tags_of(version):
        ET.SubElement(ET.SubElement(tags, "tag"), "text").text = tag
    return question


def _answer(question: ET.Element, text: str, fraction: str, fmt: str = "html") -> ET.Element:
    answer = ET.SubElement(question, "answer", {"fraction": fraction, "format": fmt})
    ET.SubElement(answer, "text").text = text
    _text_element(answer, "feedback", "")
    return answer
