"""Daily quiz. A daily blueprint's cells say what its questions are (five of them). The
day's questions are drawn once per blueprint and day (Asia/Shanghai, the site's
TIME_ZONE) with the ordinary draw engine (quizzes.papers.drawing.items_draw) and kept in a
DailySet; every player's paper copies them, so the set is the same for everyone on
every process, whoever comes first. The seed comes from a hash of the blueprint and
the date, so a day's draw can be replayed; exposure counts one draw per day (an item
sits out the next days under the blueprint's exposure cap), never one per player,
so a player's arrival cannot change what the next player gets. Each player has one
paper per daily blueprint and day (a database constraint); it is answered like a
fixed paper (quizzes.play.finish.paper_submit) and then shows the results.

Guests (quizzes.play.guest) play it too: guest_daily_start makes a paper without a
user, which only the guest's session may open; it copies the day's set like everyone's.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Callable
from datetime import date

from django.db import IntegrityError, transaction

from accounts.models import User
from quizzes.models import (
    Blueprint,
    DailySet,
    Paper,
    PaperItem,
)
from quizzes.papers.blueprints import (
    blueprint_cells,
)
from quizzes.papers.drawing import MAX_SEED, items_draw
from quizzes.play.practice import check_open, practice_day


def daily_seed(blueprint_id: int, day: date) -> int:
    """The day's seed: the same in every process, different every day."""
    digest = hashlib.sha256(f"daily:{blueprint_id}:{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % MAX_SEED


def daily_set_get(*, blueprint: Blueprint, day: date) -> DailySet:
    """The day's questions, drawn by the first player to ask (once: a unique row per
    blueprint and day; a concurrent first draw loses and reads the winner's)."""
    existing = DailySet.objects.filter(blueprint=blueprint, day=day).first()
    if existing is not None:
        return existing
    blueprint_cells(blueprint)  # BlueprintError before any write
    seed = daily_seed(blueprint.pk, day)
    try:
        with transaction.atomic():
            draw = items_draw(blueprint=blueprint, seed=seed)
            return DailySet.objects.create(
                blueprint=blueprint,
                day=day,
                seed=seed,
                draw_number=draw.number,
                items=[
                    {
                        "question": item.id,
                        "version": draw.versions[item.id],
                        "cell": item.cell,
                        "points": item.points,
                        "options": item.option_order,
                    }
                    for item in draw.items
                ],
            )
    except IntegrityError:  # another process drew this day's set first
        return DailySet.objects.get(blueprint=blueprint, day=day)


def daily_start(*, blueprint: Blueprint, user: User, day: date | None = None) -> Paper:
    """The player's paper of a daily quiz for the day (today when None): the day's
    questions in the day's order, options in an order of the player's own. A second
    start the same day returns the same paper."""
    check_open(blueprint, Blueprint.Mode.DAILY, user)
    day = day or practice_day()
    existing = Paper.objects.filter(blueprint=blueprint, user=user, day=day).first()
    if existing is not None:
        return existing
    day_set = daily_set_get(blueprint=blueprint, day=day)
    try:
        return _daily_paper_create(day_set, user, random.Random(f"{day_set.seed}:{user.pk}"))
    except IntegrityError:  # a second tab started it at the same moment
        return Paper.objects.get(blueprint=blueprint, user=user, day=day)


def guest_daily_start(
    *,
    blueprint: Blueprint,
    session_paper_ids: list[int],
    day: date | None = None,
    guard: Callable[[], None] | None = None,
) -> Paper:
    """daily_start for a guest (quizzes.play.guest): the day's questions, the same as
    everyone's, on a paper without a user. The guest's paper of this quiz and day
    among `session_paper_ids` is returned if there is one; otherwise `guard` is
    called (it may raise to refuse the start; nothing is written then) and a paper is
    made. Only quizzes meant for everyone (no audience) are open to guests."""
    check_open(blueprint, Blueprint.Mode.DAILY, None)
    day = day or practice_day()
    existing = (
        Paper.objects.filter(
            pk__in=session_paper_ids, blueprint=blueprint, user__isnull=True, day=day
        )
        .order_by("-id")
        .first()
    )
    if existing is not None:
        return existing
    blueprint_cells(blueprint)  # BlueprintError before the guard counts a start
    if guard is not None:
        guard()
    day_set = daily_set_get(blueprint=blueprint, day=day)
    return _daily_paper_create(day_set, None, random.Random(secrets.randbits(64)))


def _daily_paper_create(day_set: DailySet, user: User | None, shuffle: random.Random) -> Paper:
    with transaction.atomic():
        paper = Paper.objects.create(
            blueprint_id=day_set.blueprint_id,
            user=user,
            day=day_set.day,
            seed=day_set.seed,
            draw_number=day_set.draw_number,
            total_points=sum(entry["points"] for entry in day_set.items),
        )
        PaperItem.objects.bulk_create(
            PaperItem(
                paper=paper,
                position=position,
                question_id=entry["question"],
                version_id=entry["version"],
                option_order=shuffle.sample(entry["options"], len(entry["options"])),
                points=entry["points"],
                cell=entry["cell"],
            )
            for position, entry in enumerate(day_set.items, start=1)
        )
    return paper
