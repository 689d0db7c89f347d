"""Lazy messages with values, for problem reports (spreadsheets.report: imports and
exports of questions, rosters and registrations; question cleaning).

Django's lazy strings interpolate at once, in the language active at that moment; a
report must render in the language active when it is shown: the command line's, or the
organizer page's.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as django_gettext_lazy


class LazyText:
    """A lazy translation whose %-interpolation is lazy too."""

    def __init__(self, message: Any, params: Any = None) -> None:
        self.message = message
        self.params = params

    def __mod__(self, params: Any) -> LazyText:
        return LazyText(self.message, params)

    def __str__(self) -> str:
        text = str(self.message)
        return text if self.params is None else text % self.params

    def __repr__(self) -> str:
        return repr(str(self))

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __contains__(self, part: str) -> bool:
        return part in str(self)


def gettext_lazy(message: str) -> LazyText:
    return LazyText(django_gettext_lazy(message))
