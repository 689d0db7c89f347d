"""The option ids a live round or a 1-v-1 PK shows, and whether a response fits.

Option ids clients see are opaque per question of a round (or of a PK match): an HMAC,
keyed by a secret derived from settings.SECRET_KEY, of the round (or match), the
question's position and the version's option id, 12 URL-safe characters. The same
question in another round, or again in the same round, has other ids, so a key revealed
once (in a round, a match, a leaked recording) names no option anywhere else: a script
that replays it gets `bad_response` (docs/protocol.md, "Questions, options and the
per-player order"). The version's own ids never leave the server.

Frames go out with public ids (`public_options`, `public_key`, `public_ids`);
a response comes back through `stored_response`, the one place it is mapped to the
version's ids, before the shape rule (quizzes.bank.answers.response_fits, the one papers
use too: a blank, malformed, too long or non-finite answer does not fit; docs/scoring.md,
"What counts as an answer") and before marking and storage. So stored answers, scores,
result exports and item statistics are in the version's ids, as before.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

from quizzes.bank.answers import MULTIPLE, ORDERING, SINGLE, response_fits

from ..models import LiveQuestion, PkQuestion

ID_BYTES = 9  # 72 bits of the HMAC: 12 base64url characters, no padding
_SALT = "realtime.live.responses.public_id"
CHOICE_TYPES = (SINGLE, MULTIPLE, ORDERING)


def _scope(question: LiveQuestion | PkQuestion) -> str:
    """What a question's public ids are unique to: its round (or match) and position."""
    if isinstance(question, PkQuestion):
        return f"pk:{question.match_id}:{question.position}"
    return f"live:{question.round_id}:{question.position}"


@lru_cache(maxsize=4096)
def _public_ids(secret: str, scope: str, option_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The public id of each option id, in order (cached: every frame and every answer
    of a question asks for the same few)."""
    digests = (
        salted_hmac(_SALT, f"{scope}:{option_id}", secret, algorithm="sha256").digest()
        for option_id in option_ids
    )
    return tuple(base64.urlsafe_b64encode(d[:ID_BYTES]).decode() for d in digests)


def public_ids(question: LiveQuestion | PkQuestion) -> dict[str, str]:
    """The question's option ids, version id → the id clients see, in the version's order."""
    ids = tuple(o["id"] for o in question.version.options)
    return dict(zip(ids, _public_ids(settings.SECRET_KEY, _scope(question), ids), strict=True))


def public_options(question: LiveQuestion | PkQuestion) -> list[dict[str, str]]:
    """The options of a question frame: public ids and texts, in the version's order."""
    shown = public_ids(question)
    return [{"id": shown[o["id"]], "text": o["text"]} for o in question.version.options]


def public_key(question: LiveQuestion | PkQuestion) -> dict[str, Any]:
    """The version's key with its option ids as clients see them (revealed frames only)."""
    key = question.version.key
    shown = public_ids(question)
    if "options" in key:
        return {**key, "options": [shown[i] for i in key["options"]]}
    if "order" in key:
        return {**key, "order": [shown[i] for i in key["order"]]}
    return key


def stored_response(question: LiveQuestion | PkQuestion, response: Any) -> Any | None:
    """The response as it is stored (option ids of the version), or None if it does not
    fit the question: a choice that names no public id of this question (another
    round's, or the version's own), a blank, a misfit (docs/scoring.md §9). A response
    that fits is never None (a blank never fits)."""
    version = question.version
    if version.type in CHOICE_TYPES:
        back = {public: own for own, public in public_ids(question).items()}
        if isinstance(response, str):
            response = back.get(response)
        elif isinstance(response, list):
            mapped = [back.get(choice) if isinstance(choice, str) else None for choice in response]
            response = None if None in mapped else mapped
    if not response_fits(version.type, [o["id"] for o in version.options], response):
        return None
    return response
