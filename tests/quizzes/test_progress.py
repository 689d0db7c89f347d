"""Gamification (quizzes.play.progress): XP, streaks with freeze days, mastery, bests, cohorts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from quizzes.models.progress import (
    CohortMember,
    PersonalBest,
    Progress,
    TopicMastery,
    XpAward,
)
from quizzes.play import progress
from tests.factories import GuardianConsentFactory, adult, child

pytestmark = pytest.mark.django_db


def test_an_activity_awards_xp_once():
    user = adult()
    assert progress.activity_finished(user=user, kind="paper", ref=7, correct=3, answered=5)
    assert not progress.activity_finished(user=user, kind="paper", ref=7, correct=3, answered=5)
    mine = Progress.objects.get(user=user)
    assert mine.xp == progress.XP_FOR_FINISHING + 3 * progress.XP_PER_CORRECT
    assert XpAward.objects.filter(user=user).count() == 1
    assert mine.streak == 1 and mine.last_day == timezone.localdate()


def test_levels_grow_with_xp():
    assert [progress.level_of(xp) for xp in (0, 49, 50, 199, 200, 450)] == [1, 1, 2, 2, 3, 4]
    assert progress.next_level_xp(60) == 200


def days(start: date, *offsets: int) -> list[date]:
    return [start + timedelta(days=n) for n in offsets]


def test_a_streak_counts_days_and_a_freeze_day_covers_a_missed_one():
    mine = Progress()
    start = date(2026, 11, 2)
    for day in days(start, *range(7)):  # seven days in a row earn a freeze day
        progress._streak(mine, day)
    assert (mine.streak, mine.freezes) == (7, 1)
    progress._streak(mine, start + timedelta(days=8))  # day 7 missed: the freeze covers it
    assert (mine.streak, mine.freezes) == (8, 0)
    progress._streak(mine, start + timedelta(days=8))  # the same day again: nothing
    assert mine.streak == 8
    progress._streak(mine, start + timedelta(days=11))  # two days missed, no freeze left
    assert (mine.streak, mine.best_streak) == (1, 8)


def test_freeze_days_are_capped():
    mine = Progress()
    for day in days(date(2026, 1, 5), *range(35)):
        progress._streak(mine, day)
    assert mine.freezes == progress.MAX_FREEZES


def test_a_topic_badge_comes_with_enough_answers_mostly_right():
    user = adult()
    answers = [("health", n % 10 != 0) for n in range(progress.MASTERY_ANSWERS - 1)]
    progress.activity_finished(
        user=user, kind="paper", ref=1, correct=0, answered=0, topics=answers
    )
    assert TopicMastery.objects.get(user=user, topic="health").badge_at is None
    progress.activity_finished(
        user=user, kind="paper", ref=2, correct=1, answered=1, topics=[("health", True)]
    )
    row = TopicMastery.objects.get(user=user, topic="health")
    assert row.answered == progress.MASTERY_ANSWERS and row.badge_at is not None


def test_a_personal_best_only_moves_up():
    user = adult()
    assert progress.personal_best_record(user=user, kind="challenge", value=6)
    assert not progress.personal_best_record(user=user, kind="challenge", value=4)
    assert progress.personal_best_record(user=user, kind="challenge", value=9)
    assert PersonalBest.objects.get(user=user, kind="challenge").value == 9


def test_cohorts_fill_to_thirty_and_promote_the_top_next_week():
    players = [adult() for _ in range(progress.COHORT_SIZE + 1)]
    for n, user in enumerate(players):
        progress.activity_finished(user=user, kind="paper", ref=n, correct=n, answered=40)
    week = progress.week_of(timezone.localdate())
    members = CohortMember.objects.filter(week=week)
    assert members.values("cohort").distinct().count() == 2
    first = members.filter(user=players[0]).get().cohort
    assert first.members.count() == progress.COHORT_SIZE
    assert progress.cohorts_close(week=week) == len(players)
    assert progress.cohorts_close(week=week) == 0  # settled once
    tiers = dict(members.values_list("user_id", "next_tier"))
    # In the full cohort (players 0-29, more XP for higher n) the top five go up and
    # the bottom five down (there is no tier below 0).
    assert [tiers[p.pk] for p in players[25:30]] == [1] * 5
    assert all(tiers[p.pk] == 0 for p in players[:25])
    next_week = week + timedelta(days=7)
    progress._cohort_join(players[29], next_week)
    assert CohortMember.objects.get(user=players[29], week=next_week).cohort.tier == 1


def test_a_minor_sees_a_band_and_adults_do_not_see_minors_by_name():
    kid = child(age=12)
    GuardianConsentFactory(child=kid)
    grown = [adult() for _ in range(5)]
    for n, user in enumerate([kid, *grown]):
        progress.activity_finished(user=user, kind="paper", ref=n, correct=10 - n, answered=10)
    kid_view = progress.cohort_view(user=kid)
    assert kid_view.rows == [] and kid_view.band == "top"
    adult_view = progress.cohort_view(user=grown[0])
    assert adult_view.hidden == 1 and len(adult_view.rows) == 5
    assert adult_view.rows[0]["you"] and adult_view.rows[0]["rank"] == 1


def test_the_progress_page_shows_xp_streak_and_group(client):
    user = adult()
    progress.activity_finished(user=user, kind="challenge", ref=1, correct=6, answered=7, best=6)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("practice:progress")).content.decode()
    assert "80 XP" in page and "1 day in a row" in page
    assert "Timed challenge" in page and "<strong>6</strong>" in page
    assert "Tier 1, 1 player this week." in page


def test_submitting_a_paper_awards_xp_and_counts_its_topics():
    from quizzes.papers.blueprints import blueprint_create
    from quizzes.papers.drawing import paper_draw
    from quizzes.play.finish import paper_submit
    from tests.quizzes.factories import BankFactory, fill_bank

    bank = BankFactory()
    fill_bank(bank, {("true_false", "knowledge"): 3}, topic="energy")
    blueprint = blueprint_create(
        bank=bank,
        name="能源",
        cells=[{"type": "true_false", "count": 3, "points": 10}],
        actor=bank.owners.first(),
    )
    user = adult()
    paper = paper_draw(blueprint=blueprint, user=user)
    items = list(paper.items.select_related("version"))
    answers = {item.pk: item.version.key["value"] for item in items[:2]}
    answers[items[2].pk] = not items[2].version.key["value"]
    assert paper_submit(paper=paper, answers=answers)
    assert Progress.objects.get(user=user).xp == progress.XP_FOR_FINISHING + 2 * 10
    energy = TopicMastery.objects.get(user=user, topic="energy")
    assert (energy.answered, energy.correct) == (3, 2)
    assert XpAward.objects.get(user=user).kind == "paper"


def test_the_weekly_task_and_command_settle_a_weeks_cohorts():
    from io import StringIO

    from django.core.management import CommandError, call_command

    from quizzes.tasks import cohorts_close

    user = adult()
    progress.activity_finished(user=user, kind="paper", ref=1, correct=1, answered=1)
    today = timezone.localdate()
    assert cohorts_close() == 0  # last week: nobody
    out = StringIO()
    call_command("close_cohorts", "--week", today.isoformat(), stdout=out)
    assert out.getvalue().strip() == "1"
    assert CohortMember.objects.get(user=user).next_tier == 1
    with pytest.raises(CommandError):
        call_command("close_cohorts", "--week", "last tuesday")
