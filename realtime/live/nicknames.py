"""Nicknames for open rounds: cleaned, length-capped, filtered, or generated.

The blocklist is short on purpose: it stops the common abuse seen on a classroom
projector, matched after normalising width, case and spacing (and digits and
punctuation used to split a word). Hosts can kick anything it misses.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from django.utils.translation import gettext as _

from ..protocol import MAX_NICKNAME

MAX_LENGTH = MAX_NICKNAME  # the protocol's limit (realtime.protocol)

BLOCKED = {
    # Chinese
    "傻逼", "傻b", "煞笔", "sb", "操你", "草你", "艹你", "日你", "你妈", "尼玛", "妈的", "他妈",
    "去死", "滚蛋", "贱人", "婊子", "屌", "鸡巴", "狗日", "王八蛋", "脑残", "智障", "废物",
    "色情", "毒品", "赌博", "法轮",
    # English
    "fuck", "shit", "bitch", "cunt", "dick", "asshole", "nigger", "faggot", "porn", "nazi",
}  # fmt: skip

ADJECTIVES = ["勇敢的", "聪明的", "好奇的", "快乐的", "敏捷的", "认真的", "机智的", "闪亮的"]
NOUNS = ["熊猫", "火箭", "星星", "海豚", "卫星", "银杏", "猎豹", "彗星", "灯塔", "蜂鸟"]

_SEPARATORS = re.compile(r"[\s\W_0-9]+", re.UNICODE)


class NicknameError(ValueError):
    pass


def _folded(text: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


def _short_ascii(word: str) -> bool:
    # "sb" inside "Gatsby" is no insult: short Latin words only match a whole token.
    return word.isascii() and len(word) <= 3


def clean_nickname(raw: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise NicknameError(_("A nickname cannot contain control characters."))
    if not name:
        raise NicknameError(_("Choose a nickname."))
    if len(name) > MAX_LENGTH:
        raise NicknameError(_("A nickname has at most %(n)s characters.") % {"n": MAX_LENGTH})
    folded = _folded(name)
    tokens = {_folded(t) for t in re.split(r"[\s\W_0-9]+", name)} | {folded}
    if any(word in tokens if _short_ascii(word) else word in folded for word in BLOCKED):
        raise NicknameError(_("Please choose another nickname."))
    return name


def generated_nickname() -> str:
    """A friendly random nickname, for players who would rather not type one."""
    number = secrets.randbelow(90) + 10
    return f"{secrets.choice(ADJECTIVES)}{secrets.choice(NOUNS)}{number}"
