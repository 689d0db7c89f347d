"""Reads for papers: what a player sees of a drawn paper, and item statistics."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Bank, ItemStatistics, Paper, QuestionType

# The only version fields a player ever gets. Keys, explanations and anything derived
# from them (correct flags, scores) stay out until they are due.
PLAYER_OPTION_FIELDS = ("id", "text")


def player_view(paper: Paper, *, english: bool = False) -> dict[str, Any]:
    """The player-facing form of a drawn paper (JSON-ready): stems, and options as
    opaque ids with their text in this player's order. Two queries when the paper
    was fetched with select_related("blueprint"), three otherwise."""
    items = (
        paper.items.select_related("version")
        .only(
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
        .order_by("position")
    )
    answered = set(paper.responses.order_by().values_list("item_id", flat=True))
    view_items = []
    for item in items:
        version = item.version
        by_id = {option["id"]: option for option in version.options}
        stem = version.stem_en if english and version.stem_en else version.stem
        entry: dict[str, Any] = {
            "item": item.pk,
            "position": item.position,
            "type": version.type,
            "stem": stem,
            "points": item.points,
            "answered": item.pk in answered,
        }
        if version.type != QuestionType.TRUE_FALSE:
            entry["options"] = [
                {name: by_id[option_id][name] for name in PLAYER_OPTION_FIELDS}
                for option_id in item.option_order
                if option_id in by_id
            ]
        view_items.append(entry)
    return {
        "paper": paper.pk,
        "total_points": paper.total_points,
        "seconds_per_question": paper.blueprint.seconds_per_question,
        "items": view_items,
    }


def flagged_items(*, bank: Bank) -> QuerySet[ItemStatistics]:
    """Item statistics of the bank's versions with at least one flag, worst first."""
    return (
        ItemStatistics.objects.filter(version__question__bank=bank)
        .exclude(flags=[])
        .select_related("version", "version__question")
        .order_by("discrimination", "version_id")
    )
