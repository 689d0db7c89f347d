"""Themed practice (专项). The themes are the topics with at least THEMED_QUESTIONS
published questions in a bank open for practice: a bank with a blueprint open to
players (any practice mode, for everyone or the player's population group), so a
contest's private bank never leaks through it. A session is an untimed paper of
THEMED_QUESTIONS questions of the topic drawn at random without repeats, from a
themed blueprint made on demand per bank and topic (one cell: the topic); it is
answered and marked like any paper (quizzes.play.finish.paper_submit), then shows the
results with explanations. Themed practice is for accounts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from quizzes.models import (
    Bank,
    Blueprint,
    Paper,
    QuestionVersion,
    Topic,
    VersionStatus,
)
from quizzes.papers.blueprints import (
    audience_of,
)
from quizzes.papers.drawing import paper_resume_or_draw

THEMED_QUESTIONS = 10


THEMED_POINTS = 10


def theme_banks(*, user: User) -> QuerySet[Bank]:
    """Banks open for practice to this player: those with a blueprint open to players,
    for everyone or for the player's population group (themed ones aside)."""
    open_blueprints = Blueprint.objects.filter(
        Q(audience="") | Q(audience=audience_of(user)), open_to_players=True
    ).exclude(mode=Blueprint.Mode.THEMED)
    return Bank.objects.filter(pk__in=open_blueprints.values("bank_id"))


def themes(*, user: User) -> list[dict[str, Any]]:
    """The themes open to the player: per bank open for practice, each topic with at
    least THEMED_QUESTIONS published questions, in the Topic list's order."""
    rows = (
        QuestionVersion.objects.filter(
            status=VersionStatus.PUBLISHED, question__bank__in=theme_banks(user=user)
        )
        .values("question__bank_id", "question__bank__name", "topic")
        .annotate(count=Count("id"))
        .filter(count__gte=THEMED_QUESTIONS)
        .order_by()
    )
    order = {value: n for n, value in enumerate(Topic.values)}
    labels = dict(Topic.choices)
    found = [
        {
            "bank_id": row["question__bank_id"],
            "bank": row["question__bank__name"],
            "topic": row["topic"],
            "label": labels.get(row["topic"], row["topic"]),
            "count": row["count"],
        }
        for row in rows
    ]
    return sorted(found, key=lambda t: (order.get(t["topic"], len(order)), t["bank"]))


def theme_blueprint_get(*, bank: Bank, topic: str) -> Blueprint:
    """The bank's themed blueprint for a topic, made on first use: THEMED_QUESTIONS
    questions of the topic, untimed, no exposure cap. Not open to players by itself
    (it must not open its bank for themes): theme_start checks the bank."""
    if topic not in Topic.values:
        raise ValidationError(_("There is no such theme."))
    with translation.override(settings.LANGUAGE_CODE):
        name = f"{Topic(topic).label} · {_('Themed practice')}"
    defaults = {
        "cells": [{"topic": topic, "count": THEMED_QUESTIONS, "points": THEMED_POINTS}],
        "exposure_cap": 1.0,
        "shuffle_questions": True,
    }
    try:
        with transaction.atomic():
            blueprint, _created = Blueprint.objects.get_or_create(
                bank=bank, name=name, mode=Blueprint.Mode.THEMED, defaults=defaults
            )
    except IntegrityError:  # made at the same moment, or the name is taken by another mode
        blueprint = Blueprint.objects.filter(
            bank=bank, name=name, mode=Blueprint.Mode.THEMED
        ).first()
        if blueprint is None:
            raise ValidationError(_("This theme cannot start at the moment.")) from None
    return blueprint


def theme_start(*, bank: Bank, topic: str, user: User) -> Paper:
    """A themed practice paper for the player, or the one of this theme still not
    submitted. PermissionDenied when the bank is not open for practice to the
    player; BlueprintError when it has too few questions of the topic."""
    if not theme_banks(user=user).filter(pk=bank.pk).exists():
        raise PermissionDenied(_("This quiz is not open to you."))
    blueprint = theme_blueprint_get(bank=bank, topic=topic)
    return paper_resume_or_draw(blueprint=blueprint, user=user)
