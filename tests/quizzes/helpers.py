"""Helpers shared by the quizzes tests: publishing one question of each type, the
practice blueprints' cells, opening a blueprint to players, and answering right or
wrong (through the services or the pages). Test modules import these, never each
other."""

from __future__ import annotations

from django.urls import reverse

from quizzes.bank import services
from quizzes.models import Blueprint, Paper, PaperItem
from quizzes.papers.blueprints import blueprint_open_to_players
from quizzes.play import adaptive

MARK = "ZQX"
FILL_KEY = f"FILLKEY{MARK}"
NUMERIC_KEY = "314159.26"
TYPES = ("single", "multiple", "true_false", "fill", "numeric", "ordering")
# One whole question as the editor posts it (every field the bank pages ask for).
EDITOR_RAW = {
    "type": "single",
    "stem": "地震时在室内应该怎样做？",
    "options": ["立即乘电梯下楼", "伏地、遮挡、手抓牢", "跳窗逃生", "站在窗边观察"],
    "key": "B",
    "explanation": "“伏地、遮挡、手抓牢”可减少被坠物砸伤的风险。",
    "dimension": "application",
    "topic": "emergency",
    "difficulty": "easy",
    "audience": ["student", "elderly"],
    "source": "应急管理部《地震应急避险指南》",
}

RAWS = {
    "single": {
        "stem": "地震时在室内应该怎样做？",
        "options": ["立即乘电梯下楼", "伏地、遮挡、手抓牢", "跳窗逃生", "站在窗边观察"],
        "key": "B",
    },
    "multiple": {
        "stem": "下列哪些是可再生能源？",
        "options": ["太阳能", "煤炭", "风能", "石油"],
        "key": "AC",
    },
    "true_false": {"stem": "声音在真空中不能传播。", "options": [], "key": "对"},
    "fill": {"stem": "水的化学式是____。", "options": [], "key": f"{FILL_KEY}|H2O{MARK}"},
    "numeric": {"stem": "圆周率乘以十万约是多少？", "options": [], "key": NUMERIC_KEY},
    "ordering": {
        "stem": "把洗手的步骤排好顺序。",
        "options": ["打湿双手", "涂抹洗手液", "搓洗二十秒", "冲净擦干"],
        "key": "ABCD",
    },
}


def publish(bank, qtype: str):
    raw = {
        "type": qtype,
        **RAWS[qtype],
        "tolerance": 0.01,
        "unit": "",
        "explanation": f"<p>科普解析：EXPLAIN{qtype}{MARK}</p>",
        "dimension": "knowledge",
        "topic": "health",
        "difficulty": "medium",
        "source": f"SOURCE{MARK}",
    }
    author = bank.owners.first()
    question = services.question_create(bank=bank, author=author, raw=raw)
    version = question.versions.get()
    services.version_submit(version=version, actor=author)
    services.version_publish(version=version, reviewer=bank.reviewers.first())
    return question


DIMENSIONS = ("knowledge", "method", "spirit", "application")
DAILY_CELLS = [
    {"dimension": "knowledge", "type": "single", "count": 2, "points": 20},
    {"type": "true_false", "count": 1, "points": 20},
    {"dimension": ["method", "spirit"], "type": "single", "count": 1, "points": 20},
    {"dimension": "application", "count": 1, "points": 20},
]


def opened(blueprint: Blueprint) -> Blueprint:
    blueprint_open_to_players(
        blueprint=blueprint, actor=blueprint.bank.owners.first(), is_open=True
    )
    blueprint.refresh_from_db()
    return blueprint


def answer_for(item: PaperItem, *, right: bool):
    key = item.version.key
    if item.version.type == "true_false":
        return key["value"] if right else not key["value"]
    if item.version.type == "multiple":
        wrong = [o for o in item.option_order if o not in key["options"]]
        return list(key["options"]) if right else wrong[:1]
    wrong = [o for o in item.option_order if o not in key["options"]]
    return key["options"][0] if right else wrong[0]


def form_value(item: PaperItem, *, right: bool):
    value = answer_for(item, right=right)
    return str(value).lower() if isinstance(value, bool) else value


def answer(paper: Paper, *, right: bool):
    item = adaptive.current_item(paper)
    assert item is not None
    key = item.version.key
    if item.version.type == "true_false":
        given = key["value"] if right else not key["value"]
    else:
        wrong = [o for o in item.option_order if o not in key["options"]]
        given = key["options"][0] if right else wrong[0]
    return adaptive.adaptive_answer(paper=paper, item=item, answer=given)


def post_answer(client, paper: Paper, *, right: bool, item=None):
    item = item or adaptive.current_item(paper)
    key = item.version.key
    if item.version.type == "true_false":
        value = str(key["value"] if right else not key["value"]).lower()
    else:
        value = (
            key["options"][0]
            if right
            else next(o for o in item.option_order if o not in key["options"])
        )
    return client.post(
        reverse("practice:test_answer", args=[paper.pk]),
        {"item": item.pk, f"item-{item.pk}": value},
    )
