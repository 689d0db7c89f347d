"""Option ids as a live round or a PK match shows them (realtime.live.responses): a
client answers with these, never with the version's own ids. The helpers turn a
response written in the version's ids (tests.support.live.choice_for) into the one a
client would send, from the question row or from the question frame it was shown."""

from __future__ import annotations

from typing import Any

from realtime.live.responses import public_ids
from tests.support.live import choice_for


def _mapped(ids: dict[str, str], response: Any) -> Any:
    if isinstance(response, str):
        return ids.get(response, response)
    if isinstance(response, list):
        return [ids.get(choice, choice) for choice in response]
    return response


def shown(question, response: Any) -> Any:
    """A response in the version's option ids, in the ids `question` (a LiveQuestion
    or a PkQuestion) shows. Other responses as they are."""
    return _mapped(public_ids(question), response)


def shown_in_frame(version, frame_question: dict, response: Any) -> Any:
    """The same from a question frame (no query): its options are the version's, in
    the version's order."""
    ids = [o["id"] for o in version.options]
    return _mapped(
        dict(zip(ids, [o["id"] for o in frame_question["options"]], strict=True)), response
    )


def choice_shown(version, frame_question: dict, right: bool) -> Any:
    """A well-formed response, right or wrong, as a client shown `frame_question` sends it."""
    return shown_in_frame(version, frame_question, choice_for(version, right))


def key_shown(question) -> dict:
    """The version's key as a reveal of `question` shows it."""
    key = question.version.key
    return {k: shown(question, v) if k in ("options", "order") else v for k, v in key.items()}


def key_in_frame(version, frame_question: dict) -> dict:
    """The version's key as a reveal shows it, from the question frame (no query)."""
    return {
        k: shown_in_frame(version, frame_question, v) if k in ("options", "order") else v
        for k, v in version.key.items()
    }
