"""Guests play the daily quiz, the timed challenge and the literacy self-test; their
papers and progress move to an account on sign-up or sign-in.

Issue 5 (gamification): "Guests can play; progress moves to an account on sign-up."
A guest's paper has no user and only the session that started it may open it
(quizzes.play.guest); new guest papers are limited per session and client IP an hour.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, User
from quizzes.bank import calibrations
from quizzes.bank.item_statistics import item_statistics_update
from quizzes.models import (
    AdaptiveTest,
    Blueprint,
    Challenge,
    DailySet,
    ItemStatistics,
    Paper,
    PaperItem,
    Response,
)
from quizzes.models.progress import PersonalBest, Progress, XpAward
from quizzes.models.review import ReviewCard
from quizzes.papers.blueprints import blueprint_create
from quizzes.play import adaptive, practice
from quizzes.play import daily as daily_quiz
from quizzes.play.claim import guest_papers_claim
from quizzes.play.finish import paper_submit
from quizzes.play.guest import SESSION_KEY
from quizzes.play.monitoring import literacy_monitoring
from tests.factories import PASSWORD, adult, child, child_signup_form_data, signup_form_data
from tests.quizzes.factories import BankFactory, fill_bank
from tests.quizzes.helpers import (
    DAILY_CELLS,
    DIMENSIONS,
    answer,
    answer_for,
    form_value,
    opened,
    post_answer,
)
from tests.support.i18n import zh

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank():
    bank = BankFactory()
    fill_bank(
        bank,
        {("single", d): 5 for d in DIMENSIONS} | {("true_false", d): 3 for d in DIMENSIONS},
    )
    return bank


@pytest.fixture
def daily(bank):
    return opened(
        practice.daily_blueprint_create(
            bank=bank, name="每日答题", actor=bank.owners.first(), cells=DAILY_CELLS
        )
    )


@pytest.fixture
def self_test(bank):
    return opened(
        adaptive.adaptive_blueprint_create(
            bank=bank,
            name="科学素质自测",
            actor=bank.owners.first(),
            min_items=4,
            max_items=6,
            exposure_cap=1.0,
        )
    )


@pytest.fixture
def challenge_blueprint(bank):
    return opened(
        practice.challenge_blueprint_create(bank=bank, name="百秒挑战", actor=bank.owners.first())
    )


@pytest.fixture
def fixed(bank):
    return opened(
        blueprint_create(
            bank=bank,
            name="家庭安全练习",
            cells=[{"type": "true_false", "count": 1}],
            actor=bank.owners.first(),
        )
    )


def guest_client(*, english: bool = False, ip: str = "127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    if english:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def start(client: Client, name: str, blueprint: Blueprint):
    return client.post(reverse(name, args=[blueprint.pk]))


def play_daily(client: Client, daily: Blueprint, *, right: bool = True) -> Paper:
    """Start today's quiz through its page and submit every answer (right or wrong)."""
    started = start(client, "practice:daily_start", daily)
    assert started.status_code == 302
    paper = Paper.objects.latest("id")
    assert started.url == reverse("practice:daily", args=[paper.pk])
    assert client.get(started.url).status_code == 200
    answers = {
        f"item-{item.pk}": form_value(item, right=right)
        for item in paper.items.select_related("version")
    }
    submitted = client.post(reverse("practice:daily_submit", args=[paper.pk]), answers)
    assert submitted.status_code == 302
    paper.refresh_from_db()
    assert paper.submitted_at is not None
    return paper


def play_self_test(client: Client, self_test: Blueprint) -> tuple[Paper, str]:
    """Take the self-test through its pages to the report; every other answer right."""
    started = start(client, "practice:test_start", self_test)
    assert started.status_code == 302
    paper = Paper.objects.latest("id")
    assert started.url == reverse("practice:test", args=[paper.pk])
    given = 0
    while adaptive.current_item(paper) is not None:
        assert client.get(started.url).status_code == 200
        assert post_answer(client, paper, right=given % 2 == 0).status_code == 302
        given += 1
        paper.refresh_from_db()
    return paper, client.get(started.url).content.decode()


def play_challenge(client: Client, blueprint: Blueprint, *, rights: int) -> Paper:
    """Start the challenge through its page, answer `rights` right, then one wrong."""
    started = start(client, "practice:challenge_start", blueprint)
    assert started.status_code == 302
    paper = Paper.objects.latest("id")
    assert started.url == reverse("practice:challenge", args=[paper.pk])
    for n in range(rights + 1):
        item = adaptive.current_item(paper)
        item = PaperItem.objects.select_related("version").get(pk=item.pk)
        answered = client.post(
            reverse("practice:challenge_answer", args=[paper.pk]),
            {"item": item.pk, f"item-{item.pk}": form_value(item, right=n < rights)},
        )
        assert answered.status_code == 302
    assert Challenge.objects.get(paper=paper).finished_at is not None
    return paper


# --- playing as a guest ------------------------------------------------------------------


def test_the_practice_home_shows_a_guest_what_they_can_play_and_asks_them_to_sign_up(
    daily, self_test, challenge_blueprint
):
    for_students = Blueprint.objects.get(pk=self_test.pk)
    for_students.pk = None
    for_students.name = "中学生自测"
    for_students.audience = Profile.PopulationGroup.STUDENT
    for_students.save()

    response = guest_client().get(reverse("practice:home"))

    assert response.status_code == 200
    page = response.content.decode()
    for name in (daily.name, self_test.name, challenge_blueprint.name):
        assert name in page
    assert "中学生自测" not in page  # meant for an audience: not for guests
    assert zh("Daily quiz") in page and zh("Literacy self-test") in page
    assert zh("Not done yet today.") in page
    assert zh("You are playing as a guest.") in page
    assert "data-guest-note" in page and "data-guest-account-only" in page
    assert reverse("account_signup") in page
    # The account-only parts give way to the sign-up link.
    assert zh("My progress") not in page
    assert zh("Review my mistakes") not in page
    assert reverse("practice:progress") not in page
    assert reverse("practice:review") not in page
    assert reverse("realtime:pk") not in page


def test_a_guest_plays_the_daily_quiz_to_its_results_with_everyones_questions(daily):
    client = guest_client()
    paper = play_daily(client, daily)

    assert paper.user is None
    assert paper.day == practice.practice_day()
    assert client.session[SESSION_KEY] == [paper.pk]
    # One stored set a day: the guest's questions are everyone's.
    assert DailySet.objects.filter(blueprint=daily).count() == 1
    players = daily_quiz.daily_start(blueprint=daily, user=adult())
    assert list(paper.items.values_list("question_id", flat=True)) == list(
        players.items.values_list("question_id", flat=True)
    )
    results = client.get(reverse("practice:daily", args=[paper.pk])).content.decode()
    assert zh("Your result") in results
    assert "data-guest-note" in results
    home = client.get(reverse("practice:home")).content.decode()
    assert zh("Done today") in home
    # A second start the same day: the same paper.
    assert start(client, "practice:daily_start", daily).url == reverse(
        "practice:daily", args=[paper.pk]
    )
    assert Paper.objects.filter(user__isnull=True).count() == 1
    assert not XpAward.objects.exists()
    assert not ReviewCard.objects.exists()


def test_a_guest_takes_the_self_test_to_its_report(self_test):
    client = guest_client()
    paper, report = play_self_test(client, self_test)

    test = AdaptiveTest.objects.get(paper=paper)
    assert paper.user is None and paper.submitted_at is not None
    assert test.score is not None
    assert zh("Your result") in report and "data-score" in report
    assert "data-guest-note" in report
    assert test.population_group == "" and test.district_id is None and test.birth_year is None
    home = client.get(reverse("practice:home")).content.decode()
    assert reverse("practice:test", args=[paper.pk]) in home  # under "My results"
    assert not XpAward.objects.exists()


def test_a_guest_plays_the_timed_challenge_and_keeps_a_best_in_the_session(
    challenge_blueprint,
):
    client = guest_client()
    paper = play_challenge(client, challenge_blueprint, rights=2)

    assert paper.user is None
    result = client.get(reverse("practice:challenge", args=[paper.pk])).content.decode()
    assert zh("Your best: %(best)s right", best=2) in result
    # Another guest's attempt is not this guest's best.
    play_challenge(guest_client(), challenge_blueprint, rights=3)
    home = client.get(reverse("practice:home")).content.decode()
    assert zh("Your best: %(best)s right", best=2) in home


def test_a_guest_cannot_start_what_is_meant_for_an_audience(daily, self_test):
    Blueprint.objects.filter(pk__in=[daily.pk, self_test.pk]).update(
        audience=Profile.PopulationGroup.STUDENT
    )
    client = guest_client()
    assert start(client, "practice:daily_start", daily).url == reverse("practice:home")
    assert start(client, "practice:test_start", self_test).url == reverse("practice:home")
    assert not Paper.objects.exists()


def test_another_session_cannot_open_a_guests_papers(daily, self_test, challenge_blueprint):
    client = guest_client()
    day_paper = play_daily(client, daily)
    start(client, "practice:test_start", self_test)
    test_paper = Paper.objects.latest("id")
    start(client, "practice:challenge_start", challenge_blueprint)
    timed = Paper.objects.latest("id")

    other = guest_client()
    start(other, "practice:daily_start", daily)  # a session of their own
    player = Client()
    assert player.login(username=adult().username, password=PASSWORD)
    for visitor in (other, player):
        assert visitor.get(reverse("practice:daily", args=[day_paper.pk])).status_code == 404
        assert (
            visitor.post(reverse("practice:daily_submit", args=[day_paper.pk])).status_code == 404
        )
        assert visitor.get(reverse("practice:test", args=[test_paper.pk])).status_code == 404
        assert post_answer(visitor, test_paper, right=True).status_code == 404
        assert visitor.get(reverse("practice:challenge", args=[timed.pk])).status_code == 404
        assert (
            visitor.post(reverse("practice:challenge_answer", args=[timed.pk])).status_code == 404
        )
        assert visitor.get(reverse("papers:data", args=[test_paper.pk])).status_code == 404
    assert not test_paper.responses.exists()


# --- claiming on sign-up and sign-in -----------------------------------------------------


def test_signing_up_moves_the_guests_daily_quiz_self_test_and_challenge_with_progress(
    daily, self_test, challenge_blueprint
):
    client = guest_client()
    day_paper = play_daily(client, daily, right=False)
    test_paper, _report = play_self_test(client, self_test)
    timed = play_challenge(client, challenge_blueprint, rights=2)
    test = AdaptiveTest.objects.get(paper=test_paper)

    response = client.post(reverse("account_signup"), signup_form_data())

    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(username="lihua")
    for paper in (day_paper, test_paper, timed):
        paper.refresh_from_db()
        assert paper.user == user
    awards = dict(XpAward.objects.filter(user=user).values_list("kind", "ref"))
    assert awards == {
        "daily": str(day_paper.pk),
        "self_test": str(test_paper.pk),
        "challenge": str(timed.pk),
    }
    progress = Progress.objects.get(user=user)
    assert progress.xp == sum(XpAward.objects.filter(user=user).values_list("amount", flat=True))
    assert progress.streak == 1
    bests = dict(PersonalBest.objects.filter(user=user).values_list("kind", "value"))
    assert bests == {"self_test": test.score, "challenge": 2}
    # Every daily answer was wrong: the five questions are in the new account's deck.
    assert ReviewCard.objects.filter(user=user).count() >= practice.DAILY_QUESTIONS
    # The claimed test now carries the account's group and district.
    test.refresh_from_db()
    assert test.population_group == Profile.PopulationGroup.WORKER
    assert test.district_id == user.profile.district_id
    assert client.session.get(SESSION_KEY, []) == []
    home = client.get(reverse("practice:home")).content.decode()
    assert zh("Done today") in home
    assert reverse("practice:test", args=[test_paper.pk]) in home


def test_signing_in_claims_a_guests_unfinished_self_test_which_earns_when_it_ends(self_test):
    player = adult()
    client = guest_client()
    start(client, "practice:test_start", self_test)
    paper = Paper.objects.get()
    assert post_answer(client, paper, right=True).status_code == 302

    response = client.post(
        reverse("account_login"), {"login": player.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.user == player
    assert not XpAward.objects.exists()  # not finished yet
    while adaptive.current_item(paper) is not None:
        assert post_answer(client, paper, right=True).status_code == 302
        paper.refresh_from_db()
    assert XpAward.objects.filter(user=player, kind="self_test", ref=str(paper.pk)).exists()


def test_a_daily_quiz_the_account_already_did_that_day_is_not_claimed_twice(daily, self_test):
    player = adult()
    own = daily_quiz.daily_start(blueprint=daily, user=player)
    paper_submit(paper=own, answers={})
    assert XpAward.objects.filter(user=player, kind="daily").count() == 1
    client = guest_client()
    guest_day = play_daily(client, daily)
    test_paper, _report = play_self_test(client, self_test)

    response = client.post(
        reverse("account_login"), {"login": player.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    guest_day.refresh_from_db()
    test_paper.refresh_from_db()
    assert guest_day.user is None  # left unclaimed: the account's own paper stands
    assert test_paper.user == player  # the rest is claimed as usual
    assert XpAward.objects.filter(user=player, kind="daily").count() == 1
    assert XpAward.objects.filter(user=player, kind="self_test").count() == 1
    assert Paper.objects.filter(user=player, blueprint=daily).get() == own
    home = client.get(reverse("practice:home")).content.decode()
    assert reverse("practice:daily", args=[own.pk]) in home


def test_a_daily_quiz_of_another_day_is_claimed(daily):
    player = adult()
    yesterday = practice.practice_day() - timedelta(days=1)
    own = daily_quiz.daily_start(blueprint=daily, user=player, day=yesterday)
    guest_day = daily_quiz.guest_daily_start(blueprint=daily, session_paper_ids=[])

    assert guest_papers_claim(session_paper_ids=[guest_day.pk], user=player) == [guest_day.pk]
    assert set(Paper.objects.filter(user=player).values_list("pk", flat=True)) == {
        own.pk,
        guest_day.pk,
    }


def test_a_child_awaiting_consent_claims_nothing(daily, self_test):
    client = guest_client()
    day_paper = play_daily(client, daily)
    test_paper, _report = play_self_test(client, self_test)

    response = client.post(reverse("account_signup"), child_signup_form_data())

    assert response.status_code == 302, response.content.decode()
    for paper in (day_paper, test_paper):
        paper.refresh_from_db()
        assert paper.user is None  # PIPL: nothing of the child's is processed before consent
    assert not XpAward.objects.exists()
    assert not ReviewCard.objects.exists()
    assert AdaptiveTest.objects.get(paper=test_paper).population_group == ""
    assert guest_papers_claim(session_paper_ids=[day_paper.pk], user=child()) == []


def test_a_guests_self_test_counts_in_the_monitoring_only_with_the_claimants_profile(
    self_test,
):
    """The monitoring reads the test's own group and district: a guest's test has none,
    and claiming gives it the account's (not whatever another test of the account says)."""
    player = adult(population_group=Profile.PopulationGroup.FARMER)
    own = adaptive.adaptive_start(blueprint=self_test, user=player)
    while adaptive.current_item(own) is not None:
        answer(own, right=True)
        own.refresh_from_db()
    paper, _report = play_self_test(guest_client(), self_test)
    guest_test = AdaptiveTest.objects.get(paper=paper)
    assert guest_test.finished_at is not None
    assert (guest_test.population_group, guest_test.district_id) == ("", None)
    (cell,) = literacy_monitoring()
    assert cell.group_code == Profile.PopulationGroup.FARMER

    # The player's group changes; the claimed guest test (newer) is described afresh.
    Profile.objects.filter(user=player).update(population_group=Profile.PopulationGroup.WORKER)
    player.refresh_from_db()
    assert guest_papers_claim(session_paper_ids=[paper.pk], user=player) == [paper.pk]

    guest_test.refresh_from_db()
    assert guest_test.population_group == Profile.PopulationGroup.WORKER
    assert guest_test.district_id == player.profile.district_id
    (cell,) = literacy_monitoring()  # the latest test per person: the claimed one
    assert cell.code == player.profile.district.code
    assert cell.group_code == Profile.PopulationGroup.WORKER


# --- unclaimed guest papers feed no item statistics and no calibration --------------------


def account_daily(daily: Blueprint, user: User, *, right: bool) -> Paper:
    """An account's daily quiz, every answer right or wrong (today's shared questions)."""
    paper = daily_quiz.daily_start(blueprint=daily, user=user)
    answers = {
        item.pk: answer_for(item, right=right) for item in paper.items.select_related("version")
    }
    assert paper_submit(paper=paper, answers=answers)
    return paper


def answer_rows(bank) -> list[tuple[int, int, bool]]:
    papers, versions, correct = calibrations._answers(bank)
    return sorted(zip(papers.tolist(), versions.tolist(), correct, strict=True))


def response_rows(*papers: Paper) -> list[tuple[int, int, bool]]:
    return sorted(
        Response.objects.filter(paper__in=papers).values_list(
            "paper_id", "item__version_id", "is_correct"
        )
    )


def test_a_guests_answers_feed_the_calibration_only_once_an_account_claims_the_paper(daily):
    own = account_daily(daily, adult(), right=True)
    guest = play_daily(guest_client(), daily, right=False)
    assert guest.responses.count() == practice.DAILY_QUESTIONS

    assert answer_rows(daily.bank) == response_rows(own)  # the guest's answers left out

    claimant = adult()
    assert guest_papers_claim(session_paper_ids=[guest.pk], user=claimant) == [guest.pk]
    rows = answer_rows(daily.bank)
    assert rows == response_rows(own, guest)
    assert len(rows) == 2 * practice.DAILY_QUESTIONS


def test_item_statistics_read_account_papers_only_until_a_guest_paper_is_claimed(daily):
    own = account_daily(daily, adult(), right=True)
    guest = play_daily(guest_client(), daily, right=False)
    versions = set(own.items.values_list("version_id", flat=True))
    assert versions == set(guest.items.values_list("version_id", flat=True))  # one set a day

    assert item_statistics_update(bank=daily.bank) == practice.DAILY_QUESTIONS
    for row in ItemStatistics.objects.filter(version_id__in=versions):
        # Only the account's right answers: a guest's wrong ones would make it 0.5.
        assert (row.responses, row.facility) == (1, 1.0), row.version_id
        assert sum(row.distractors.values()) == 1

    assert guest_papers_claim(session_paper_ids=[guest.pk], user=adult()) == [guest.pk]
    item_statistics_update(bank=daily.bank)
    for row in ItemStatistics.objects.filter(version_id__in=versions):
        assert (row.responses, row.facility) == (2, 0.5), row.version_id
        assert sum(row.distractors.values()) == 2


# --- a claimed paper counts the day it was played for the streak -------------------------


def played_on(paper: Paper, when) -> None:
    Paper.objects.filter(pk=paper.pk).update(submitted_at=when)


def test_a_guest_paper_played_yesterday_and_claimed_today_counts_yesterday(daily, self_test):
    paper, _report = play_self_test(guest_client(), self_test)
    played_on(paper, timezone.now() - timedelta(days=1))
    player = adult()

    assert guest_papers_claim(session_paper_ids=[paper.pk], user=player) == [paper.pk]

    progress = Progress.objects.get(user=player)
    assert progress.last_day == timezone.localdate() - timedelta(days=1)
    assert progress.streak == 1
    # Playing today as well carries the streak on from yesterday.
    account_daily(daily, player, right=True)
    progress.refresh_from_db()
    assert (progress.last_day, progress.streak) == (timezone.localdate(), 2)


def test_a_guest_paper_played_today_counts_today(self_test):
    paper, _report = play_self_test(guest_client(), self_test)
    player = adult()

    assert guest_papers_claim(session_paper_ids=[paper.pk], user=player) == [paper.pk]

    progress = Progress.objects.get(user=player)
    assert (progress.last_day, progress.streak) == (timezone.localdate(), 1)


def test_guest_papers_of_two_days_claimed_together_make_a_two_day_streak(
    self_test, challenge_blueprint
):
    client = guest_client()
    test_paper, _report = play_self_test(client, self_test)
    played_on(test_paper, timezone.now() - timedelta(days=1))
    timed = play_challenge(client, challenge_blueprint, rights=1)
    player = adult()

    claimed = guest_papers_claim(session_paper_ids=[test_paper.pk, timed.pk], user=player)

    assert sorted(claimed) == sorted([test_paper.pk, timed.pk])
    progress = Progress.objects.get(user=player)
    assert (progress.last_day, progress.streak) == (timezone.localdate(), 2)


# --- the abuse guard ---------------------------------------------------------------------


def test_over_the_hourly_limit_a_session_starts_nothing_more(
    settings, daily, self_test, challenge_blueprint, fixed
):
    settings.GUEST_STARTS_PER_HOUR = 2
    client = guest_client(english=True)
    assert start(client, "practice:daily_start", daily).status_code == 302
    assert start(client, "practice:test_start", self_test).status_code == 302
    papers, challenges, tests = (
        Paper.objects.count(),
        Challenge.objects.count(),
        AdaptiveTest.objects.count(),
    )

    refused = client.post(
        reverse("practice:challenge_start", args=[challenge_blueprint.pk]), follow=True
    )

    assert refused.redirect_chain[-1][0] == reverse("practice:home")
    assert "Many quizzes have been started as a guest" in refused.content.decode()
    assert start(client, "papers:start", fixed).url == reverse("papers:list")
    assert (Paper.objects.count(), Challenge.objects.count(), AdaptiveTest.objects.count()) == (
        papers,
        challenges,
        tests,
    )
    # Going back to an unfinished paper is no new start: never refused.
    day_paper = Paper.objects.get(blueprint=daily)
    assert start(client, "practice:daily_start", daily).url == reverse(
        "practice:daily", args=[day_paper.pk]
    )
    # Signed-in players are not limited.
    assert client.login(username=adult().username, password=PASSWORD)
    assert start(client, "practice:challenge_start", challenge_blueprint).url.startswith(
        "/practice/challenges/paper/"
    )


def test_the_limit_holds_per_client_ip_across_new_sessions(settings, daily, fixed):
    settings.GUEST_STARTS_PER_HOUR = 2
    for _n in range(2):
        assert start(guest_client(), "papers:start", fixed).status_code == 302
    assert Paper.objects.count() == 2

    fresh = guest_client(english=True)  # a new session (no cookie) from the same address
    refused = fresh.post(reverse("papers:start", args=[fixed.pk]), follow=True)
    assert "Many quizzes have been started as a guest" in refused.content.decode()
    assert start(fresh, "practice:daily_start", daily).url == reverse("practice:home")
    assert Paper.objects.count() == 2
    assert not DailySet.objects.exists()

    elsewhere = guest_client(ip="10.1.2.3")
    started = start(elsewhere, "papers:start", fixed)
    assert Paper.objects.count() == 3
    assert started.url == reverse("papers:detail", args=[Paper.objects.latest("id").pk])


def test_an_ipv6_client_cannot_rotate_through_its_64_to_lift_the_limit(settings, fixed):
    # One household or school holds a whole /64: counted by single address, it could
    # start papers for ever (accounts.counters.address_key, as texts and PINs count).
    settings.GUEST_STARTS_PER_HOUR = 2
    for n in range(2):
        assert (
            start(guest_client(ip=f"2001:db8:1:2::{n + 1}"), "papers:start", fixed).status_code
            == 302
        )
    refused = guest_client(english=True, ip="2001:db8:1:2:ffff::9").post(
        reverse("papers:start", args=[fixed.pk]), follow=True
    )
    assert "Many quizzes have been started as a guest" in refused.content.decode()
    assert Paper.objects.count() == 2
    assert start(guest_client(ip="2001:db8:1:3::1"), "papers:start", fixed).status_code == 302
    assert Paper.objects.count() == 3


def written() -> tuple[int, ...]:
    """Every row a guest start writes."""
    return (
        Paper.objects.count(),
        PaperItem.objects.count(),
        Challenge.objects.count(),
        AdaptiveTest.objects.count(),
        DailySet.objects.count(),
    )


REFUSED = "Many quizzes have been started as a guest"


def test_a_session_that_changes_its_address_is_still_refused_over_the_limit(
    settings, daily, self_test, challenge_blueprint, fixed
):
    settings.GUEST_STARTS_PER_HOUR = 2
    client = guest_client(english=True)
    started = client.post(reverse("practice:daily_start", args=[daily.pk]), REMOTE_ADDR="10.0.0.1")
    assert started.url == reverse("practice:daily", args=[Paper.objects.latest("id").pk])
    started = client.post(
        reverse("practice:test_start", args=[self_test.pk]), REMOTE_ADDR="10.0.0.2"
    )
    assert started.url == reverse("practice:test", args=[Paper.objects.latest("id").pk])
    assert Paper.objects.count() == 2
    before, kept = written(), client.session[SESSION_KEY]

    # A third start, from a third address: that address is fresh, the session is not.
    refused = client.post(
        reverse("practice:challenge_start", args=[challenge_blueprint.pk]),
        REMOTE_ADDR="10.0.0.3",
        follow=True,
    )
    assert refused.redirect_chain[-1][0] == reverse("practice:home")
    assert REFUSED in refused.content.decode()
    again = client.post(reverse("papers:start", args=[fixed.pk]), REMOTE_ADDR="10.0.0.4")
    assert again.url == reverse("papers:list")
    assert written() == before
    assert client.session[SESSION_KEY] == kept
    # The refusal was the session's: another session from one of those addresses starts.
    fresh = start(guest_client(ip="10.0.0.4"), "papers:start", fixed)
    assert fresh.url == reverse("papers:detail", args=[Paper.objects.latest("id").pk])
    assert Paper.objects.count() == 3


def test_two_sessions_from_one_address_share_its_limit(
    settings, daily, self_test, challenge_blueprint, fixed
):
    settings.GUEST_STARTS_PER_HOUR = 2
    first, second = guest_client(english=True), guest_client(english=True)
    assert start(first, "practice:daily_start", daily).status_code == 302
    assert start(second, "practice:test_start", self_test).status_code == 302
    before = written()
    kept = (first.session[SESSION_KEY], second.session[SESSION_KEY])

    for client, name, blueprint in (
        (first, "practice:challenge_start", challenge_blueprint),
        (second, "practice:challenge_start", challenge_blueprint),
        (first, "papers:start", fixed),
        (second, "practice:daily_start", daily),
    ):
        refused = client.post(reverse(name, args=[blueprint.pk]), follow=True)
        assert REFUSED in refused.content.decode(), (client, name)

    assert written() == before
    assert (first.session[SESSION_KEY], second.session[SESSION_KEY]) == kept
    # Each session's own unfinished paper is still theirs to go back to.
    day_paper = Paper.objects.get(blueprint=daily)
    assert start(first, "practice:daily_start", daily).url == reverse(
        "practice:daily", args=[day_paper.pk]
    )


def test_an_unreadable_address_counts_per_session_not_for_everyone(
    settings, monkeypatch, daily, self_test
):
    """If the client's address cannot be read (frontend.clientip finds no IP address,
    e.g. daphne on a Unix socket), the sessions still count, each on its own: one guest
    using up the limit does not refuse the next."""
    monkeypatch.setattr("quizzes.play.guest.client_ip", lambda request: None)
    settings.GUEST_STARTS_PER_HOUR = 1
    first, second = guest_client(english=True), guest_client(english=True)
    assert start(first, "practice:daily_start", daily).status_code == 302
    refused = first.post(reverse("practice:test_start", args=[self_test.pk]), follow=True)
    assert REFUSED in refused.content.decode()
    assert start(second, "practice:test_start", self_test).status_code == 302
    assert Paper.objects.filter(blueprint=self_test).count() == 1
