"""Whether a response has the shape its question asks for, in a live round or a 1-v-1
PK. The rule is the one papers use too (quizzes.bank.answers.response_fits: a blank,
malformed, too long or non-finite answer does not fit; docs/scoring.md, "What counts as an
answer"); this only hands it the question's type and option ids."""

from __future__ import annotations

from typing import Any

from quizzes.bank.answers import response_fits

from ..models import LiveQuestion, PkQuestion


def question_response_fits(question: LiveQuestion | PkQuestion, response: Any) -> bool:
    """A response to a question of a live round or a 1-v-1 PK fits its version."""
    version = question.version
    return response_fits(version.type, [o["id"] for o in version.options], response)
