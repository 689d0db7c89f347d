"""Reads for papers: what a player sees of a drawn paper (no key before it is
submitted), the results once it is, and the papers and blueprints a player or a guest
may open."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Sum, Value, When

from accounts.models import User
from quizzes.models import Blueprint, Paper, QuestionType, QuestionVersion

# The only version fields a player ever gets. Keys, explanations and anything derived
# from them (correct flags, scores) stay out until they are due.
PLAYER_OPTION_FIELDS = ("id", "text")
# What a paper item loads for the player, and what only a submitted paper adds.
PLAYER_ITEM_FIELDS = (
    "id",
    "paper_id",
    "position",
    "points",
    "option_order",
    "version__type",
    "version__stem",
    "version__stem_en",
    "version__options",
)
DUE_AFTER_SUBMISSION = (
    "version__key",
    "version__explanation",
    "version__explanation_en",
    "version__source",
)


def player_entry(
    *,
    item: int,
    position: int,
    version: QuestionVersion,
    option_order: list[str],
    points: int = 0,
    answered: bool = False,
    english: bool = False,
) -> dict[str, Any]:
    """One question as a player sees it before its key is due (JSON-ready): the stem,
    and options as opaque ids with their text in `option_order`. `item` names it in
    the answer form (a paper item's id, or a review card's)."""
    by_id = {option["id"]: option for option in version.options}
    entry: dict[str, Any] = {
        "item": item,
        "position": position,
        "type": version.type,
        "stem": version.stem_en if english and version.stem_en else version.stem,
        "points": points,
        "answered": answered,
    }
    if version.type != QuestionType.TRUE_FALSE:
        entry["options"] = [
            {name: by_id[option_id][name] for name in PLAYER_OPTION_FIELDS}
            for option_id in option_order
            if option_id in by_id
        ]
    return entry


def player_view(paper: Paper, *, english: bool = False) -> dict[str, Any]:
    """The player-facing form of a drawn paper (JSON-ready): stems, and options as
    opaque ids with their text in this player's order. Two queries when the paper
    was fetched with select_related("blueprint"), three otherwise."""
    items = paper.items.select_related("version").only(*PLAYER_ITEM_FIELDS).order_by("position")
    answered = set(paper.responses.order_by().values_list("item_id", flat=True))
    view_items = [
        player_entry(
            item=item.pk,
            position=item.position,
            version=item.version,
            option_order=item.option_order,
            points=item.points,
            answered=item.pk in answered,
            english=english,
        )
        for item in items
    ]
    return {
        "paper": paper.pk,
        "total_points": paper.total_points,
        "seconds_per_question": paper.blueprint.seconds_per_question,
        "items": view_items,
    }


# --- Players: their papers, and results once they are due --------------------------


class KeysNotDueError(Exception):
    """Asked for the keys of a paper that has not been submitted."""


def blueprints_open_to_players() -> QuerySet[Blueprint]:
    """Blueprints players may draw a practice paper from themselves (adaptive tests
    have their own page)."""
    return Blueprint.objects.filter(open_to_players=True, mode=Blueprint.Mode.FIXED).order_by(
        "name", "id"
    )


def blueprints_open_to_guests() -> QuerySet[Blueprint]:
    """The practice papers a guest may take: those open to players and meant for
    everyone (no audience)."""
    return blueprints_open_to_players().filter(audience="")


def papers_of(*, user: User, limit: int = 50) -> QuerySet[Paper]:
    """The player's newest papers with their blueprint; `score` is None until the
    paper is submitted."""
    return _practice_papers(Paper.objects.filter(user=user), limit)


def guest_papers(*, session_paper_ids: list[int], limit: int = 50) -> QuerySet[Paper]:
    """papers_of for a guest: the unclaimed papers whose ids their session keeps."""
    return _practice_papers(
        Paper.objects.filter(pk__in=session_paper_ids, user__isnull=True), limit
    )


def _practice_papers(papers: QuerySet[Paper], limit: int) -> QuerySet[Paper]:
    return (
        papers.filter(blueprint__mode=Blueprint.Mode.FIXED)
        .select_related("blueprint")
        .annotate(
            score=Case(
                When(submitted_at__isnull=True, then=Value(None)),
                default=Sum("responses__score", default=0),
                output_field=IntegerField(),
            )
        )
        .order_by("-created_at", "-id")[:limit]
    )


def paper_of_player(*, paper_id: int, user: User) -> Paper | None:
    """The paper if it is this player's own, with its blueprint; else None."""
    if not user.is_authenticated:
        return None
    paper = Paper.objects.select_related("blueprint").filter(pk=paper_id, user=user).first()
    if paper is not None:
        paper.user = user  # the same row: finishing the paper need not read it again
    return paper


def paper_of_guest(*, paper_id: int, session_paper_ids: list[int]) -> Paper | None:
    """A guest's paper, with its blueprint, if its id is among those the guest's own
    session keeps and no account has claimed it; else None."""
    if paper_id not in session_paper_ids:
        return None
    return Paper.objects.select_related("blueprint").filter(pk=paper_id, user__isnull=True).first()


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def result_entry(
    *,
    item: int,
    position: int,
    version: QuestionVersion,
    option_order: list[str],
    points: int = 0,
    answered: bool,
    answer: Any,
    is_correct: bool,
    score: int = 0,
    english: bool = False,
) -> dict[str, Any]:
    """One marked question with everything due once it is marked (JSON-ready): the
    player's answer, whether it was right, the key and the explanation; options in
    `option_order`, each marked `chosen` and `keyed` for choice questions."""
    key = version.key
    by_id = {option["id"]: option for option in version.options}

    def options(ids: Any) -> list[dict[str, str]]:
        if not isinstance(ids, list):
            return []
        return [{name: by_id[i][name] for name in PLAYER_OPTION_FIELDS} for i in ids if i in by_id]

    entry = player_entry(
        item=item,
        position=position,
        version=version,
        option_order=option_order,
        points=points,
        answered=answered,
        english=english,
    )
    entry.update(
        answer=answer,
        is_correct=is_correct,
        score=score,
        key=key,
        explanation=(
            version.explanation_en if english and version.explanation_en else version.explanation
        ),
        source=version.source,
    )
    if version.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        chosen = {answer} if isinstance(answer, str) else set(answer or [])
        keyed = set(key.get("options", []))
        entry["options"] = [
            {**option, "chosen": option["id"] in chosen, "keyed": option["id"] in keyed}
            for option in entry["options"]
        ]
    elif version.type == QuestionType.ORDERING:
        entry["answer_options"] = options(answer)
        entry["key_options"] = options(key.get("order"))
    elif version.type == QuestionType.FILL:
        entry["key_text"] = " / ".join(key.get("accepted", []))
    elif version.type == QuestionType.NUMERIC:
        text = _number_text(key["value"])
        if key.get("tolerance"):
            text += f" ± {_number_text(key['tolerance'])}"
        entry["key_text"] = f"{text} {key.get('unit', '')}".strip()
    return entry


def paper_results(paper: Paper, *, english: bool = False) -> dict[str, Any]:
    """A submitted paper with everything now due (JSON-ready): per item the player's
    answer, whether it was right, the points scored, the key and the explanation
    (result_entry). Raises KeysNotDueError before the paper is submitted. Two queries."""
    if paper.submitted_at is None:
        raise KeysNotDueError(paper.pk)
    items = (
        paper.items.select_related("version")
        .only(*PLAYER_ITEM_FIELDS, *DUE_AFTER_SUBMISSION)
        .order_by("position")
    )
    responses = {response.item_id: response for response in paper.responses.order_by()}
    result_items = []
    for item in items:
        response = responses.get(item.pk)
        result_items.append(
            result_entry(
                item=item.pk,
                position=item.position,
                version=item.version,
                option_order=item.option_order,
                points=item.points,
                answered=response is not None,
                answer=response.answer if response is not None else None,
                is_correct=bool(response is not None and response.is_correct),
                score=response.score if response is not None else 0,
                english=english,
            )
        )
    return {
        "paper": paper.pk,
        "submitted_at": paper.submitted_at.isoformat(),
        "score": sum(entry["score"] for entry in result_items),
        "total_points": paper.total_points,
        "items": result_items,
    }
