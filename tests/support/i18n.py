"""Expected texts in the default language, taken from the catalogue.

Pages and messages come out in Chinese by default; tests name the English msgid and
compare with its Chinese translation, so a missing translation fails here too."""

from __future__ import annotations

from django.utils import translation


def zh(msgid: str, **params) -> str:
    with translation.override("zh-hans"):
        text = translation.gettext(msgid)
    assert text != msgid, f"no Chinese translation for {msgid!r}"
    return text % params if params else text
