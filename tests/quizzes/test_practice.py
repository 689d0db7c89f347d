"""Practice modes (quizzes.play.daily, quizzes.play.challenge): the daily quiz and the
timed challenge, through their services and their pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, User
from quizzes.demo import DEMO_CHALLENGE, DEMO_DAILY
from quizzes.models import (
    Blueprint,
    Challenge,
    DailySet,
    ItemExposure,
    Paper,
    Response,
)
from quizzes.papers import blueprints
from quizzes.play import challenge as challenges
from quizzes.play import daily as daily_quiz
from quizzes.play import practice
from quizzes.play.adaptive import current_item
from quizzes.play.finish import paper_submit
from tests.factories import PASSWORD, adult
from tests.quizzes.factories import BankFactory, fill_bank
from tests.quizzes.helpers import DAILY_CELLS, DIMENSIONS, answer_for, form_value, opened

pytestmark = pytest.mark.django_db

DAY = date(2026, 5, 1)


@pytest.fixture
def bank():
    bank = BankFactory()
    fill_bank(
        bank,
        {("single", d): 5 for d in DIMENSIONS}
        | {("true_false", d): 2 for d in DIMENSIONS}
        | {("multiple", "knowledge"): 2, ("fill", "knowledge"): 3, ("numeric", "method"): 3},
    )
    return bank


@pytest.fixture
def daily(bank):
    # An exposure cap below 1: counting exposure per player would change the set.
    return opened(
        practice.daily_blueprint_create(
            bank=bank,
            name="每日答题",
            actor=bank.owners.first(),
            cells=DAILY_CELLS,
            exposure_cap=0.2,
        )
    )


@pytest.fixture
def challenge_blueprint(bank):
    return opened(
        practice.challenge_blueprint_create(bank=bank, name="百秒挑战", actor=bank.owners.first())
    )


def questions(paper: Paper) -> list[int]:
    return list(paper.items.order_by("position").values_list("question_id", flat=True))


# --- Daily quiz --------------------------------------------------------------------------


def test_everyone_gets_the_same_five_questions_on_a_day_and_others_the_next_day(daily):
    first = daily_quiz.daily_start(blueprint=daily, user=adult(), day=DAY)
    second = daily_quiz.daily_start(blueprint=daily, user=adult(), day=DAY)
    assert len(questions(first)) == practice.DAILY_QUESTIONS
    assert questions(first) == questions(second)
    assert first.day == second.day == DAY
    # One draw for the day, whoever came: exposure counts the day once, not per player.
    day_set = DailySet.objects.get(blueprint=daily, day=DAY)
    assert day_set.seed == daily_quiz.daily_seed(daily.pk, DAY) == first.seed
    counts = ItemExposure.objects.filter(blueprint=daily).values_list("count", flat=True)
    assert sorted(counts) == [1] * practice.DAILY_QUESTIONS
    # The next day: another set, the same again for everyone.
    next_day = DAY + timedelta(days=1)
    third = daily_quiz.daily_start(blueprint=daily, user=adult(), day=next_day)
    fourth = daily_quiz.daily_start(blueprint=daily, user=adult(), day=next_day)
    assert questions(third) == questions(fourth)
    assert set(questions(third)) != set(questions(first))


def test_the_day_is_the_date_in_beijing_whatever_the_active_time_zone():
    late_evening_utc = datetime(2026, 5, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 May in Beijing
    with timezone.override("UTC"):
        assert practice.practice_day(late_evening_utc) == date(2026, 5, 2)
    assert settings.TIME_ZONE == "Asia/Shanghai"


def test_a_player_has_one_daily_paper_a_day(daily):
    user = adult()
    paper = daily_quiz.daily_start(blueprint=daily, user=user, day=DAY)
    assert daily_quiz.daily_start(blueprint=daily, user=user, day=DAY) == paper
    paper_submit(paper=paper, answers={})
    # Submitted: starting again the same day still gives the same paper, not a new one.
    assert daily_quiz.daily_start(blueprint=daily, user=user, day=DAY) == paper
    with pytest.raises(IntegrityError), transaction.atomic():
        Paper.objects.create(blueprint=daily, user=user, day=DAY, seed=1, draw_number=1)
    assert Paper.objects.filter(blueprint=daily, user=user).count() == 1


def test_a_daily_quiz_for_one_group_is_only_for_that_group(bank, daily):
    farmers = opened(
        practice.daily_blueprint_create(
            bank=bank,
            name="农民每日答题",
            actor=bank.owners.first(),
            cells=DAILY_CELLS,
            audience=Profile.PopulationGroup.FARMER,
        )
    )
    farmer = adult(population_group=Profile.PopulationGroup.FARMER)
    worker = adult(population_group=Profile.PopulationGroup.WORKER)
    mode = Blueprint.Mode.DAILY
    assert set(blueprints.practice_blueprints(mode=mode, user=farmer)) == {daily, farmers}
    assert set(blueprints.practice_blueprints(mode=mode, user=worker)) == {daily}
    assert daily_quiz.daily_start(blueprint=farmers, user=farmer, day=DAY)
    with pytest.raises(PermissionDenied):
        daily_quiz.daily_start(blueprint=farmers, user=worker, day=DAY)


def test_a_daily_quiz_has_five_questions(bank):
    with pytest.raises(ValidationError):
        practice.daily_blueprint_create(
            bank=bank, name="太多", actor=bank.owners.first(), cells=DAILY_CELLS * 2
        )
    assert not Blueprint.objects.filter(name="太多").exists()


# --- Timed challenge ----------------------------------------------------------------------

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def reply(paper: Paper, *, right: bool, at: datetime) -> challenges.Marked:
    item = current_item(paper)
    return challenges.challenge_answer(
        paper=paper, item=item, answer=answer_for(item, right=right), now=at
    )


def play(paper: Paper, rights: int) -> Challenge:
    for n in range(rights):
        assert reply(paper, right=True, at=T0 + timedelta(seconds=n + 1)).counted
        paper.refresh_from_db()
    reply(paper, right=False, at=T0 + timedelta(seconds=rights + 1))
    return Challenge.objects.get(paper=paper)


def test_a_wrong_answer_ends_the_challenge(challenge_blueprint):
    paper = challenges.challenge_start(blueprint=challenge_blueprint, user=adult(), now=T0)
    assert paper.items.count() == 1
    challenge = play(paper, 2)
    assert challenge.ended_by == Challenge.End.WRONG
    assert (challenge.correct, challenge.success) == (2, False)
    paper.refresh_from_db()
    assert paper.submitted_at is not None  # keys and explanations are due now
    assert Response.objects.filter(paper=paper).count() == 3
    # The same answer sent again (a double click) gets the first one back, nothing new.
    last = paper.items.last()
    again = challenges.challenge_answer(paper=paper, item=last, answer="x", now=T0)
    assert again.response.item_id == last.pk and not again.response.is_correct
    assert Response.objects.filter(paper=paper).count() == 3


@pytest.mark.parametrize(("rights", "success"), [(4, False), (5, True)])
def test_five_right_is_a_success(challenge_blueprint, rights, success):
    user = adult()
    paper = challenges.challenge_start(blueprint=challenge_blueprint, user=user, now=T0)
    challenge = play(paper, rights)
    assert (challenge.correct, challenge.success) == (rights, success)
    assert challenges.personal_bests(user=user) == {challenge_blueprint.pk: rights}


def test_an_answer_after_the_deadline_is_not_counted_and_ends_the_challenge(challenge_blueprint):
    user = adult()
    paper = challenges.challenge_start(blueprint=challenge_blueprint, user=user, now=T0)
    challenge = Challenge.objects.get(paper=paper)
    assert challenge.deadline == T0 + timedelta(seconds=100)
    # Just in time (within the stated grace for the network): counted.
    assert reply(paper, right=True, at=challenge.deadline + challenges.ANSWER_GRACE).counted
    late = challenge.deadline + challenges.ANSWER_GRACE + timedelta(milliseconds=1)
    marked = reply(paper, right=True, at=late)
    assert not marked.counted and marked.response is None
    challenge.refresh_from_db()
    assert challenge.ended_by == Challenge.End.TIME
    assert challenge.correct == 1
    assert Response.objects.filter(paper=paper).count() == 1
    # Starting again is a new attempt with its own clock.
    again = challenges.challenge_start(blueprint=challenge_blueprint, user=user, now=late)
    assert again != paper


def test_an_attempt_whose_time_ran_out_is_closed_when_the_player_comes_back(challenge_blueprint):
    user = adult()
    paper = challenges.challenge_start(blueprint=challenge_blueprint, user=user, now=T0)
    assert challenges.challenge_start(blueprint=challenge_blueprint, user=user, now=T0) == paper
    later = T0 + timedelta(seconds=200)
    new = challenges.challenge_start(blueprint=challenge_blueprint, user=user, now=later)
    assert new != paper
    assert Challenge.objects.get(paper=paper).ended_by == Challenge.End.TIME


def test_a_bad_answer_is_refused_and_changes_nothing(challenge_blueprint):
    paper = challenges.challenge_start(blueprint=challenge_blueprint, user=adult(), now=T0)
    item = current_item(paper)
    for bad in ("not an option", ["x"], 3, None):
        with pytest.raises(ValidationError):
            challenges.challenge_answer(paper=paper, item=item, answer=bad, now=T0)
    challenge = Challenge.objects.get(paper=paper)
    assert challenge.finished_at is None and challenge.correct == 0
    assert current_item(paper) == item
    assert not Response.objects.filter(paper=paper).exists()


def test_questions_are_auto_marked_and_never_repeat_until_the_bank_runs_out(bank):
    small = BankFactory()
    fill_bank(small, {("single", "knowledge"): 3, ("true_false", "method"): 2})
    fill_bank(small, {("fill", "knowledge"): 2, ("ordering", "knowledge"): 2})
    blueprint = opened(
        practice.challenge_blueprint_create(bank=small, name="小挑战", actor=small.owners.first())
    )
    paper = challenges.challenge_start(blueprint=blueprint, user=adult(), now=T0)
    for n in range(5):
        assert reply(paper, right=True, at=T0 + timedelta(seconds=n)).counted
        paper.refresh_from_db()
    challenge = Challenge.objects.get(paper=paper)
    assert challenge.ended_by == Challenge.End.CLEARED
    assert (challenge.correct, challenge.success) == (5, True)
    given = paper.items.select_related("version")
    assert len({item.question_id for item in given}) == 5
    assert {item.version.type for item in given} == {"single", "true_false"}


# --- pages --------------------------------------------------------------------------------


def login(client, user, *, elder: bool = False) -> None:
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if elder:
        client.cookies[settings.ELDER_MODE_COOKIE_NAME] = "1"


def explanations(paper: Paper) -> list[str]:
    return [item.version.explanation for item in paper.items.select_related("version")]


def test_the_daily_quiz_pages_from_home_to_results(client, daily, challenge_blueprint):
    user = adult()
    login(client, user)
    home = client.get(reverse("practice:home")).content.decode()
    assert daily.name in home and "Not done yet today." in home
    assert challenge_blueprint.name in home and "Not played yet" in home
    started = client.post(reverse("practice:daily_start", args=[daily.pk]))
    paper = Paper.objects.get(user=user, blueprint=daily)
    assert started.url == reverse("practice:daily", args=[paper.pk])
    page = client.get(started.url).content.decode()
    for item in paper.items.select_related("version"):
        assert item.version.stem in page
        assert item.version.explanation not in page
    assert "✓" not in page
    data = client.get(reverse("papers:data", args=[paper.pk])).json()
    assert "results" not in data and "解析" not in str(data)
    # A second start the same day: the same paper.
    again = client.post(reverse("practice:daily_start", args=[daily.pk]))
    assert again.url == started.url
    items = list(paper.items.select_related("version"))
    answers = {f"item-{item.pk}": form_value(item, right=True) for item in items}
    submitted = client.post(reverse("practice:daily_submit", args=[paper.pk]), answers)
    assert submitted.status_code == 302
    results = client.get(started.url).content.decode()
    assert "100 of 100 points" in results
    for text in explanations(paper):
        assert text in results
    home = client.get(reverse("practice:home")).content.decode()
    assert "Done today" in home and "100 of 100 points" in home


def test_a_bad_daily_answer_is_refused_and_nothing_is_submitted(client, daily):
    user = adult()
    login(client, user)
    client.post(reverse("practice:daily_start", args=[daily.pk]))
    paper = Paper.objects.get(user=user, blueprint=daily)
    item = paper.items.exclude(version__type="true_false").first()
    response = client.post(
        reverse("practice:daily_submit", args=[paper.pk]), {f"item-{item.pk}": "Z"}
    )
    assert response.status_code == 200
    assert "This answer does not fit the question." in response.content.decode()
    paper.refresh_from_db()
    assert paper.submitted_at is None
    assert not Response.objects.filter(paper=paper).exists()


def test_papers_are_served_only_by_their_own_pages(client, daily, challenge_blueprint):
    user = adult()
    login(client, user)
    day_paper = daily_quiz.daily_start(blueprint=daily, user=user)
    timed = challenges.challenge_start(blueprint=challenge_blueprint, user=user)
    # The whole-paper pages would show (and submit) a challenge's questions untimed.
    assert client.get(reverse("papers:detail", args=[timed.pk])).status_code == 404
    assert client.post(reverse("papers:submit", args=[timed.pk])).status_code == 404
    assert client.get(reverse("papers:detail", args=[day_paper.pk])).status_code == 404
    assert client.get(reverse("practice:daily", args=[timed.pk])).status_code == 404
    assert client.get(reverse("practice:challenge", args=[day_paper.pk])).status_code == 404
    login(client, adult())
    assert client.get(reverse("practice:daily", args=[day_paper.pk])).status_code == 404
    assert client.get(reverse("practice:challenge", args=[timed.pk])).status_code == 404


def start_challenge(client, blueprint: Blueprint) -> Paper:
    """A player signs in and starts the challenge through its page."""
    user = adult()
    login(client, user)
    started = client.post(reverse("practice:challenge_start", args=[blueprint.pk]))
    paper = Paper.objects.get(user=user)
    assert started.url == reverse("practice:challenge", args=[paper.pk])
    return paper


def test_a_challenge_played_in_pages_until_a_wrong_answer(client, challenge_blueprint):
    paper = start_challenge(client, challenge_blueprint)
    page_url = reverse("practice:challenge", args=[paper.pk])
    url = reverse("practice:challenge_answer", args=[paper.pk])
    for right in (True, True, False):
        item = current_item(paper)
        page = client.get(page_url).content.decode()
        assert item.version.stem in page and "data-remaining-ms" in page
        assert item.version.explanation not in page and "the answer" not in page
        assert "解析" not in str(client.get(reverse("papers:data", args=[paper.pk])).json())
        value = form_value(item, right=right)
        assert client.post(url, {"item": item.pk, f"item-{item.pk}": value}).status_code == 302
        paper.refresh_from_db()
    result = client.get(page_url).content.decode()
    assert "2 right" in result and "Not a success this time" in result
    assert "A wrong answer" in result and "Your best: 2 right" in result
    missed = paper.items.select_related("version").last()
    assert missed.version.explanation in result
    home = client.get(reverse("practice:home")).content.decode()
    assert "Your best: 2 right" in home


def test_bad_or_empty_challenge_answers_are_refused_and_change_nothing(client, challenge_blueprint):
    paper = start_challenge(client, challenge_blueprint)
    item = current_item(paper)
    url = reverse("practice:challenge_answer", args=[paper.pk])
    empty = client.post(url, {"item": item.pk})
    assert empty.status_code == 400 and "Choose an answer." in empty.content.decode()
    if item.version.type != "true_false":
        bad = client.post(url, {"item": item.pk, f"item-{item.pk}": "nonsense"})
        assert bad.status_code == 400
        assert "This answer does not fit the question." in bad.content.decode()
    assert not Response.objects.filter(paper=paper).exists()
    assert Challenge.objects.get(paper=paper).finished_at is None
    assert current_item(paper) == item


def test_a_late_answer_in_pages_is_not_counted(client, challenge_blueprint):
    paper = start_challenge(client, challenge_blueprint)
    item = current_item(paper)
    now = timezone.now()
    Challenge.objects.filter(paper=paper).update(
        started_at=now - timedelta(seconds=150), deadline=now - timedelta(seconds=50)
    )
    response = client.post(
        reverse("practice:challenge_answer", args=[paper.pk]),
        {"item": item.pk, f"item-{item.pk}": form_value(item, right=True)},
        follow=True,
    )
    page = response.content.decode()
    assert "Too late: the time was up when your answer arrived." in page
    assert "Time ran out" in page
    assert "0 right" in page
    assert item.version.explanation in page  # the question it ended on, now marked
    assert not Response.objects.filter(paper=paper).exists()


def test_elder_mode_never_starts_the_clock_unasked(client, challenge_blueprint):
    user = adult()
    login(client, user, elder=True)
    home = client.get(reverse("practice:home")).content.decode()
    assert "data-elder-note" in home
    assert reverse("papers:list") in home
    assert "Play the timed challenge anyway" in home
    start = reverse("practice:challenge_start", args=[challenge_blueprint.pk])
    refused = client.post(start)
    assert refused.url.startswith(reverse("practice:home"))
    assert not Paper.objects.filter(user=user).exists()
    chosen = client.post(start, {"timed": "1"})
    paper = Paper.objects.get(user=user)
    assert chosen.url == reverse("practice:challenge", args=[paper.pk])


def test_seed_demo_opens_a_daily_quiz_and_a_challenge_a_demo_citizen_can_play(
    settings, seeded_demo
):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())  # idempotent
    daily = Blueprint.objects.get(name=DEMO_DAILY, mode=Blueprint.Mode.DAILY)
    challenge = Blueprint.objects.get(name=DEMO_CHALLENGE, mode=Blueprint.Mode.CHALLENGE)
    assert daily.open_to_players and challenge.open_to_players
    assert challenge.time_limit == 100
    farmer = User.objects.get(username="demo_farmer")
    assert daily_quiz.daily_start(blueprint=daily, user=farmer).items.count() == 5
    assert challenges.challenge_start(blueprint=challenge, user=farmer).items.count() == 1
