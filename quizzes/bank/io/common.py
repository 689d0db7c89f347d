"""What every format shares: the record a parser hands to the importer, the value
aliases of the template (Chinese labels are data here), tags for Moodle and GIFT, the
source kept in general feedback, and the portable view of a stored version."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation

from accounts.models import Profile
from quizzes.models import Difficulty, Dimension, GradeBand, QuestionType, QuestionVersion, Topic
from spreadsheets import plain_number  # noqa: F401 - the readers and writers use it

LETTERS = "ABCDEFGH"

# --- What a parser produces -----------------------------------------------------------

Locate = Callable[[str, "int | None"], tuple[str, str]]


@dataclass
class SourceItem:
    """One question as read from a file, before clean_question()."""

    row: int  # spreadsheet row (header is row 1) or line number
    raw: dict[str, Any]  # loose input for clean_question(), values already de-aliased
    locate: Locate  # (field, option index) -> (column letter, header / part name)
    uid: str = ""
    # Problems the reader found itself: (severity, field, option index, message).
    problems: list[tuple[str, str, int | None, Any]] = field(default_factory=list)

    def warn(self, field_name: str, message: Any, option: int | None = None) -> None:
        self.problems.append(("warning", field_name, option, message))

    def error(self, field_name: str, message: Any, option: int | None = None) -> None:
        self.problems.append(("error", field_name, option, message))


# --- Value aliases (the template's Chinese labels are data) ---------------------------

TYPE_ALIASES = {
    QuestionType.SINGLE: ("单选", "单选题", "单项选择", "单项选择题", "single choice"),
    QuestionType.MULTIPLE: ("多选", "多选题", "多项选择", "多项选择题", "multiple choice"),
    QuestionType.TRUE_FALSE: ("判断", "判断题", "是非题", "truefalse", "true or false"),
    QuestionType.FILL: ("填空", "填空题", "fill in the blank", "shortanswer"),
    QuestionType.NUMERIC: ("数值", "数值题", "计算", "计算题", "numerical"),
    QuestionType.ORDERING: ("排序", "排序题"),
}
DIFFICULTY_ALIASES = {
    Difficulty.EASY: ("易", "容易", "简单"),
    Difficulty.MEDIUM: ("中", "中等", "一般"),
    Difficulty.HARD: ("难", "困难", "较难"),
}
DIMENSION_ALIASES = {
    Dimension.KNOWLEDGE: ("科学知识", "知识"),
    Dimension.METHOD: ("科学方法", "方法"),
    Dimension.SPIRIT: ("科学精神", "科学精神与思想", "科学思想", "精神"),
    Dimension.APPLICATION: ("科学应用", "应用", "应用科学"),
}
TOPIC_ALIASES = {
    Topic.HEALTH: ("健康",),
    Topic.EMERGENCY: ("应急避险", "应急", "应急科普", "应急安全"),
    Topic.ANTI_FRAUD: ("防范诈骗", "防诈骗", "反诈", "反诈骗"),
    Topic.DIGITAL_LIFE: ("数字生活", "智慧助老"),
    Topic.AGRICULTURE: ("农业",),
    Topic.CHEMISTRY_HOME: ("生活中的化学", "生活化学"),
    Topic.SPACE: ("航天", "航空航天", "太空"),
    Topic.ENERGY: ("能源",),
    Topic.ENVIRONMENT: ("环境", "生态环境", "环保"),
    Topic.PHYSICS: ("物理与技术", "物理"),
    Topic.LIFE_SCIENCE: ("生命科学",),
    Topic.EARTH_SCIENCE: ("地球科学",),
    Topic.SCIENTIFIC_METHOD: ("科学方法",),
    Topic.DIGITAL_TECH: ("数字技术", "信息技术"),
    Topic.OTHER: ("其他",),
}
P = Profile.PopulationGroup
AUDIENCE_ALIASES = {
    P.STUDENT: ("学生", "青少年"),
    P.FARMER: ("农民",),
    P.WORKER: ("产业工人", "工人"),
    P.ELDERLY: ("老年人", "老人"),
    P.CIVIL_SERVANT: ("公务员", "领导干部和公务员", "领导干部"),
    P.OTHER: ("其他",),
}
GRADE_BAND_ALIASES = {
    GradeBand.PRIMARY: ("小学",),
    GradeBand.JUNIOR: ("初中",),
    GradeBand.SENIOR: ("高中",),
}
# The label written on export, per key (the first alias).
ALIAS_TABLES = {
    "type": (QuestionType, TYPE_ALIASES),
    "difficulty": (Difficulty, DIFFICULTY_ALIASES),
    "dimension": (Dimension, DIMENSION_ALIASES),
    "topic": (Topic, TOPIC_ALIASES),
    "audience": (P, AUDIENCE_ALIASES),
    "grade_band": (GradeBand, GRADE_BAND_ALIASES),
}


def fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


_LOOKUPS: dict[str, dict[str, str]] = {}


def _lookup(name: str) -> dict[str, str]:
    if name not in _LOOKUPS:
        choices, aliases = ALIAS_TABLES[name]
        table: dict[str, str] = {}
        with translation.override("en"):
            for value, label in choices.choices:
                table[fold(label)] = value
        for value, words in aliases.items():
            for word in words:
                table[fold(word)] = value
        for value in choices.values:
            table[fold(value)] = value
        _LOOKUPS[name] = table
    return _LOOKUPS[name]


def dealias(name: str, value: Any) -> Any:
    """A label or alias of `name`'s choices → its key; anything else unchanged, so that
    clean_question() reports it."""
    if value is None or value == "":
        return value
    text = str(value).strip()
    return _lookup(name).get(fold(text), text)


def dealias_audience(value: Any) -> list[str] | str:
    if not value:
        return []
    parts = re.split(r"[,，、;；\s/]+", str(value).strip())
    return [dealias("audience", part) for part in parts if part]


def label(name: str, value: str) -> str:
    """The template's Chinese label of a key (export)."""
    _choices, aliases = ALIAS_TABLES[name]
    words = aliases.get(value)
    return words[0] if words else value


# --- Tags (Moodle <tags>, GIFT [tag:…]) ----------------------------------------------

TAG_FIELDS = ("dimension", "topic", "difficulty", "benchmark", "grade_band", "collection")


def tags_of(version: QuestionVersion) -> list[str]:
    tags = []
    for name in TAG_FIELDS:
        value = getattr(version, name)
        if value not in (None, ""):
            tags.append(f"{name}:{value}")
    tags.extend(f"audience:{value}" for value in version.audience)
    return tags


def raw_from_tags(tags: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Our tags → raw fields; other tags (a Moodle bank's own) are returned apart."""
    raw: dict[str, Any] = {}
    audience: list[str] = []
    others = []
    for tag in tags:
        name, sep, value = tag.partition(":")
        name = name.strip().lower()
        if sep and name == "audience":
            audience.append(value.strip())
        elif sep and name in TAG_FIELDS:
            raw[name] = value.strip()
        else:
            others.append(tag)
    if audience:
        raw["audience"] = audience
    return raw, others


# --- The source, kept in general feedback --------------------------------------------

SOURCE_CLASS = "sciarena-source"
_SOURCE_TAIL = re.compile(
    r'\s*<p class="' + SOURCE_CLASS + r'">(?P<source>.*?)</p>\s*\Z', re.S | re.I
)


def feedback_with_source(explanation: str, source: str) -> str:
    if not source:
        return explanation
    return f'{explanation}<p class="{SOURCE_CLASS}">{html.escape(source, quote=False)}</p>'


def split_source(feedback: str) -> tuple[str, str]:
    match = _SOURCE_TAIL.search(feedback or "")
    if not match:
        return feedback or "", ""
    return feedback[: match.start()], html.unescape(match.group("source"))


# --- A stored version, ready to write -------------------------------------------------


def option_letters(version: QuestionVersion, ids: list[str]) -> str:
    position = {option["id"]: index for index, option in enumerate(version.options)}
    return "".join(LETTERS[position[i]] if position[i] < 8 else "?" for i in ids)
