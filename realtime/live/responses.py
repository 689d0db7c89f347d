"""Whether a response has the shape its question asks for: one rule for live rounds and
the 1-v-1 PK. `question_response_fits` is what realtime calls; the rule itself
(`response_fits`) is to come from quizzes (a shared pure function with this signature),
and then only its definition here is replaced by that import."""

from __future__ import annotations

from typing import Any

from quizzes.models import QuestionType

from ..models import LiveQuestion, PkQuestion
from ..protocol import MAX_TEXT_ANSWER


def response_fits(qtype: str, option_ids: set[str], response: Any) -> bool:
    """The shape of a response: choices must name options of the question."""
    if qtype == QuestionType.SINGLE:
        return isinstance(response, str) and response in option_ids
    if qtype in (QuestionType.MULTIPLE, QuestionType.ORDERING):
        return (
            isinstance(response, list)
            and 0 < len(response) <= len(option_ids)
            and all(isinstance(r, str) and r in option_ids for r in response)
            and len(set(response)) == len(response)
        )
    if qtype == QuestionType.TRUE_FALSE:
        return isinstance(response, bool)
    if qtype == QuestionType.FILL:
        return isinstance(response, str) and 0 < len(response) <= MAX_TEXT_ANSWER
    if qtype == QuestionType.NUMERIC:
        return not isinstance(response, bool) and (
            isinstance(response, (int, float))
            or (isinstance(response, str) and len(response) <= 50)
        )
    return False


def question_response_fits(question: LiveQuestion | PkQuestion, response: Any) -> bool:
    """A response to a question of a live round or a 1-v-1 PK fits its version."""
    version = question.version
    return response_fits(version.type, {o["id"] for o in version.options}, response)
