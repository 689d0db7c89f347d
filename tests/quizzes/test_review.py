"""Mistake review with FSRS (quizzes.play.review) and themed practice (quizzes.play.themes),
through their services and their pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from quizzes.bank import services as bank_services
from quizzes.models import (
    Bank,
    Blueprint,
    Paper,
    ReviewAnswer,
    ReviewCard,
    ReviewSession,
    TopicMastery,
    XpAward,
)
from quizzes.papers.blueprints import blueprint_create
from quizzes.papers.drawing import paper_draw
from quizzes.play import challenge as challenges
from quizzes.play import daily as daily_quiz
from quizzes.play import practice, review
from quizzes.play import themes as themed
from quizzes.play.finish import paper_submit
from tests.factories import PASSWORD, adult
from tests.quizzes.factories import BankFactory, fill_bank
from tests.quizzes.helpers import opened

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The services' messages in English (Chinese is the default)."""
    with translation.override("en"):
        yield


@pytest.fixture
def bank():
    """Twelve health questions (a theme) and two emergency ones (too few for one)."""
    bank = BankFactory()
    fill_bank(bank, {("single", "knowledge"): 8, ("true_false", "method"): 4}, topic="health")
    fill_bank(bank, {("single", "knowledge"): 2}, topic="emergency")
    return bank


@pytest.fixture
def two_questions(bank):
    """An open practice paper of the same two emergency questions every time."""
    pair = bank.questions.filter(versions__topic="emergency").order_by("id")[:2]
    return opened(
        blueprint_create(
            bank=bank,
            name="两题",
            actor=bank.owners.first(),
            cells=[{"topic": "emergency", "count": 2}],
        )
    ), list(pair)


def value_for(version, option_order: list[str], *, right: bool):
    key = version.key
    if version.type == "true_false":
        return key["value"] if right else not key["value"]
    wrong = [o for o in option_order if o not in key["options"]]
    return key["options"][0] if right else wrong[0]


def submit(paper: Paper, *, wrong: set[int] = frozenset()) -> None:
    """Submit the paper, answering the items at the positions in `wrong` wrongly."""
    answers = {
        item.pk: value_for(item.version, item.option_order, right=item.position not in wrong)
        for item in paper.items.select_related("version")
    }
    paper_submit(paper=paper, answers=answers)


def review_value(current: review.Current, *, right: bool):
    return value_for(current.version, current.option_order, right=right)


def reply(session, user, current: review.Current, *, right: bool, now=None):
    """Answer the current card of the session, rightly or not."""
    return review.review_answer(
        session=session,
        user=user,
        card_id=current.card.pk,
        answer=review_value(current, right=right),
        now=now,
    )


def deck_of(user) -> list[int]:
    return list(ReviewCard.objects.filter(user=user).values_list("question_id", flat=True))


# --- the deck -----------------------------------------------------------------------------


def test_a_wrong_answer_makes_one_card_and_a_second_wrong_answer_no_other(two_questions):
    blueprint, _pair = two_questions
    user = adult()
    first = paper_draw(blueprint=blueprint, user=user)
    submit(first, wrong={1})
    missed = first.items.get(position=1).question_id
    assert deck_of(user) == [missed]
    card = ReviewCard.objects.get(user=user)
    assert card.due <= timezone.now()  # due at once
    assert card.state["card_id"] == missed and card.state["last_review"] is None
    second = paper_draw(blueprint=blueprint, user=user)
    submit(second, wrong={1, 2})
    assert sorted(deck_of(user)) == sorted(second.items.values_list("question_id", flat=True))
    assert ReviewCard.objects.filter(user=user, question_id=missed).count() == 1
    # The same paper fed again (a retried task): nothing changes.
    assert review.cards_from_paper(paper=second) == 2
    assert ReviewCard.objects.filter(user=user).count() == 2


def test_a_right_answer_makes_no_card_and_a_guest_has_no_deck(two_questions):
    blueprint, _pair = two_questions
    user = adult()
    submit(paper_draw(blueprint=blueprint, user=user))
    assert deck_of(user) == []
    guest_paper = paper_draw(blueprint=blueprint, user=None)
    submit(guest_paper, wrong={1, 2})
    assert not ReviewCard.objects.exists()


def test_every_kind_of_paper_feeds_the_deck(bank):
    daily = opened(
        practice.daily_blueprint_create(
            bank=bank,
            name="每日",
            actor=bank.owners.first(),
            cells=[{"topic": "health", "count": 5}],
        )
    )
    user = adult()
    daily_paper = daily_quiz.daily_start(blueprint=daily, user=user)
    submit(daily_paper, wrong={2})
    challenge = opened(
        practice.challenge_blueprint_create(bank=bank, name="挑战", actor=bank.owners.first())
    )
    paper = challenges.challenge_start(blueprint=challenge, user=user)
    item = paper.items.select_related("version").get()
    challenges.challenge_answer(
        paper=paper, item=item, answer=value_for(item.version, item.option_order, right=False)
    )
    assert sorted(deck_of(user)) == sorted(
        {daily_paper.items.get(position=2).question_id, item.question_id}
    )


# --- reviewing ----------------------------------------------------------------------------


@pytest.fixture
def player_with_two_cards(two_questions):
    blueprint, _pair = two_questions
    user = adult()
    submit(paper_draw(blueprint=blueprint, user=user), wrong={1, 2})
    assert ReviewCard.objects.filter(user=user).count() == 2
    return user


def test_reviewing_schedules_the_next_review_with_fsrs_later_when_right(player_with_two_cards):
    user = player_with_two_cards
    now = timezone.now()
    assert review.due_count(user=user, now=now) == 2
    session = review.review_start(user=user, now=now)
    first = review.review_current(session)
    assert (first.position, first.total) == (1, 2)
    reply(session, user, first, right=True, now=now)
    second = review.review_current(session)
    reply(session, user, second, right=False, now=now)
    right, wrong = (ReviewCard.objects.get(pk=c.card.pk) for c in (first, second))
    # FSRS's learning steps: Again comes back after a minute, Good after ten.
    assert wrong.due == now + timedelta(minutes=1)
    assert right.due == now + timedelta(minutes=10)
    assert right.due > wrong.due > now
    assert (right.reps, right.lapses, wrong.reps, wrong.lapses) == (1, 0, 1, 1)
    assert right.state["last_review"] == now.isoformat()
    assert right.state["stability"] > wrong.state["stability"]
    assert [a.rating for a in ReviewAnswer.objects.order_by("id")] == [3, 1]
    # Both answered: the session is over, nothing is due until the first card comes back.
    session.refresh_from_db()
    assert session.finished_at is not None
    assert review.due_count(user=user, now=now) == 0
    assert review.due_count(user=user, now=now + timedelta(minutes=2)) == 1
    assert review.next_due(user=user, now=now) == wrong.due


def test_only_due_cards_are_reviewed(player_with_two_cards):
    user = player_with_two_cards
    later = timezone.now() + timedelta(days=3)
    ReviewCard.objects.filter(user=user).update(due=later)
    assert review.due_count(user=user) == 0
    with pytest.raises(ValidationError, match="Nothing is due"):
        review.review_start(user=user)
    assert not ReviewSession.objects.exists()
    card = ReviewCard.objects.filter(user=user).first()
    ReviewCard.objects.filter(pk=card.pk).update(due=timezone.now() - timedelta(hours=1))
    session = review.review_start(user=user)
    assert session.cards == [card.pk]
    # Starting again while it is open gives the same session.
    assert review.review_start(user=user) == session


def test_a_finished_session_awards_review_xp_once(player_with_two_cards):
    user = player_with_two_cards
    session = review.review_start(user=user)
    while (current := review.review_current(session)) is not None:
        reply(session, user, current, right=True)
    award = XpAward.objects.get(user=user, kind="review")
    assert award.ref == str(session.pk) and award.amount == 20 + 2 * 10
    assert not review.review_next(session=session)
    assert XpAward.objects.filter(user=user, kind="review").count() == 1


def test_another_players_card_cannot_be_answered(player_with_two_cards, two_questions):
    owner = player_with_two_cards
    session = review.review_start(user=owner)
    current = review.review_current(session)
    other = adult()
    with pytest.raises(PermissionDenied):
        reply(session, other, current, right=True)
    # Nor through a session of one's own.
    blueprint, _pair = two_questions
    submit(paper_draw(blueprint=blueprint, user=other), wrong={1})
    own = review.review_start(user=other)
    with pytest.raises(ValidationError, match="not waiting for an answer"):
        reply(own, other, current, right=True)
    assert not ReviewAnswer.objects.exists()
    assert ReviewCard.objects.get(pk=current.card.pk).reps == 0


def test_a_bad_answer_is_refused_with_a_clear_error_and_nothing_changes(player_with_two_cards):
    user = player_with_two_cards
    session = review.review_start(user=user)
    current = review.review_current(session)
    before = ReviewCard.objects.get(pk=current.card.pk)
    for bad in ("Z", ["A"], None, 3):
        with pytest.raises(ValidationError, match="does not fit the question"):
            review.review_answer(session=session, user=user, card_id=current.card.pk, answer=bad)
    assert not ReviewAnswer.objects.exists()
    after = ReviewCard.objects.get(pk=current.card.pk)
    assert (after.state, after.due, after.reps) == (before.state, before.due, before.reps)


def test_answering_a_card_again_returns_the_first_answer(player_with_two_cards):
    user = player_with_two_cards
    session = review.review_start(user=user)
    current = review.review_current(session)
    kwargs = {"session": session, "user": user, "card_id": current.card.pk}
    first = review.review_answer(**kwargs, answer=review_value(current, right=False))
    again = review.review_answer(**kwargs, answer=review_value(current, right=True))
    assert again == first and not again.is_correct
    assert ReviewCard.objects.get(pk=current.card.pk).reps == 1


def test_a_retired_questions_card_is_skipped(player_with_two_cards):
    user = player_with_two_cards
    session = review.review_start(user=user)
    current = review.review_current(session)
    question = current.card.question
    bank_services.question_retire(question=question, actor=question.bank.owners.first())
    assert review.due_count(user=user) == 1
    following = review.review_current(session)
    assert following.card.pk != current.card.pk and following.position == 2
    with pytest.raises(ValidationError):
        reply(session, user, current, right=True)


def test_the_options_come_in_an_order_of_the_sessions_own(player_with_two_cards):
    user = player_with_two_cards
    session = review.review_start(user=user)
    current = review.review_current(session)
    ids = [option["id"] for option in current.version.options]
    assert sorted(current.option_order) == sorted(ids)
    assert review.review_current(session).option_order == current.option_order
    entry = review.question_entry(current, english=False)
    assert "key" not in entry and "explanation" not in entry and "is_correct" not in entry


# --- themed practice ----------------------------------------------------------------------


def test_themes_are_topics_with_enough_questions_in_banks_open_for_practice(bank, two_questions):
    closed = BankFactory()
    fill_bank(closed, {("single", "knowledge"): 12}, topic="space")
    user = adult()
    found = themed.themes(user=user)
    assert [(t["bank_id"], t["topic"], t["count"]) for t in found] == [(bank.pk, "health", 12)]
    assert str(found[0]["label"]) == "Health"
    with pytest.raises(PermissionDenied):
        themed.theme_start(bank=closed, topic="space", user=user)
    with pytest.raises(ValidationError):
        themed.theme_start(bank=bank, topic="nonsense", user=user)


def test_a_themed_session_draws_ten_questions_of_its_topic_without_repeats(bank, two_questions):
    user = adult()
    paper = themed.theme_start(bank=bank, topic="health", user=user)
    items = list(paper.items.select_related("version"))
    assert len(items) == themed.THEMED_QUESTIONS
    assert {item.version.topic for item in items} == {"health"}
    assert len({item.question_id for item in items}) == len(items)
    assert paper.blueprint.mode == Blueprint.Mode.THEMED and not paper.blueprint.open_to_players
    # Started again before it is submitted: the same paper; one themed blueprint per topic.
    assert themed.theme_start(bank=bank, topic="health", user=user) == paper
    submit(paper)
    assert themed.theme_start(bank=bank, topic="health", user=user) != paper
    assert Blueprint.objects.filter(mode=Blueprint.Mode.THEMED).count() == 1


def login(client, user) -> None:
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_themed_practice_pages_end_with_results_xp_and_mistakes_to_review(
    client, bank, two_questions
):
    user = adult()
    login(client, user)
    home = client.get(reverse("practice:home")).content.decode()
    assert reverse("practice:themes") in home and "1 theme to choose from" in home
    listing = client.get(reverse("practice:themes")).content.decode()
    start = reverse("practice:theme_start", args=[bank.pk, "health"])
    assert start in listing and "Health" in listing and "Emergency" not in listing
    started = client.post(start)
    paper = Paper.objects.get(user=user, blueprint__mode=Blueprint.Mode.THEMED)
    assert started.url == reverse("practice:themed", args=[paper.pk])
    page = client.get(started.url).content.decode()
    items = list(paper.items.select_related("version"))
    for item in items:
        assert item.version.stem in page and item.version.explanation not in page
    answers = {}
    for item in items:
        value = value_for(item.version, item.option_order, right=item.position > 3)
        answers[f"item-{item.pk}"] = str(value).lower() if isinstance(value, bool) else value
    submitted = client.post(reverse("practice:themed_submit", args=[paper.pk]), answers)
    assert submitted.status_code == 302
    results = client.get(started.url).content.decode()
    assert "70 of 100 points" in results
    for item in items:
        assert item.version.explanation in results
    assert reverse("practice:review") in results
    assert XpAward.objects.get(user=user, kind="themed").amount == 20 + 7 * 10
    assert TopicMastery.objects.get(user=user, topic="health").answered == 10
    assert sorted(deck_of(user)) == sorted(i.question_id for i in items if i.position <= 3)
    # A paper from another mode is not served by the themed pages.
    other = paper_draw(blueprint=two_questions[0], user=user)
    assert client.get(reverse("practice:themed", args=[other.pk])).status_code == 404


# --- review pages -------------------------------------------------------------------------


def test_the_review_pages_ask_mark_explain_and_sum_up(client, player_with_two_cards):
    user = player_with_two_cards
    login(client, user)
    home = client.get(reverse("practice:home")).content.decode()
    assert "2 questions to review" in home and reverse("practice:review") in home
    deck_page = client.get(reverse("practice:review")).content.decode()
    assert 'data-due="2"' in deck_page
    started = client.post(reverse("practice:review_start"))
    session = ReviewSession.objects.get(user=user)
    assert started.url == reverse("practice:review_session", args=[session.pk])
    current = review.review_current(session)
    page = client.get(started.url).content.decode()
    assert current.version.stem in page
    assert current.version.explanation not in page and "✓" not in page
    assert "Question 1 of 2" in page
    answer_url = reverse("practice:review_answer", args=[session.pk])
    # No answer chosen: the question again with the error, nothing recorded.
    empty = client.post(answer_url, {"item": current.card.pk})
    assert empty.status_code == 400 and "Choose an answer." in empty.content.decode()
    bad = client.post(answer_url, {"item": current.card.pk, f"item-{current.card.pk}": "Z"})
    assert bad.status_code == 400 and "does not fit the question" in bad.content.decode()
    assert not ReviewAnswer.objects.exists()
    answered = client.post(
        answer_url,
        {"item": current.card.pk, f"item-{current.card.pk}": review_value(current, right=True)},
    )
    assert answered.url == reverse("practice:review_answered", args=[session.pk, current.card.pk])
    shown = client.get(answered.url).content.decode()
    assert current.version.explanation in shown and 'data-marked="right"' in shown
    assert "comes back in 10" in shown and "Next question" in shown
    # The same form sent again (a double click): back to where the review is, no new answer.
    again = client.post(
        answer_url,
        {"item": current.card.pk, f"item-{current.card.pk}": review_value(current, right=True)},
    )
    assert again.url == started.url and ReviewAnswer.objects.count() == 1
    second = review.review_current(session)
    client.post(
        answer_url,
        {"item": second.card.pk, f"item-{second.card.pk}": review_value(second, right=False)},
    )
    summary = client.get(started.url).content.decode()
    assert "Review finished" in summary and "1 of 2 questions right" in summary
    # Someone else's session is not found.
    login(client, adult())
    assert client.get(started.url).status_code == 404
    assert client.post(answer_url, {"item": second.card.pk}).status_code == 404


def test_the_review_page_says_when_nothing_is_due(client):
    login(client, adult())
    page = client.get(reverse("practice:review")).content.decode()
    assert 'data-due="0"' in page and "Nothing to review yet" in page
    refused = client.post(reverse("practice:review_start"), follow=True)
    assert "Nothing is due for review right now." in refused.content.decode()


def test_the_demo_offers_several_themes(seeded_demo):
    farmer = User.objects.get(username="demo_farmer")
    found = themed.themes(user=farmer)
    assert len(found) >= 3
    paper = themed.theme_start(
        bank=Bank.objects.get(pk=found[0]["bank_id"]), topic=found[0]["topic"], user=farmer
    )
    assert paper.items.count() == themed.THEMED_QUESTIONS
