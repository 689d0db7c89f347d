"""Export and deletion of personal data on request (PIPL art. 45 and 47).

Anyone signed in downloads what we hold about them as JSON, and deletes their account:
personal data goes, the user row stays (anonymised) so results keep adding up.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import time

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import personal_data, services
from accounts.models import ConsentRequest, GuardianConsent, Profile, User
from tests.factories import (
    PASSWORD,
    ConsentRequestFactory,
    GuardianConsentFactory,
    UnitFactory,
    UserFactory,
    adult,
    child,
)
from tests.support.i18n import zh

pytestmark = pytest.mark.django_db

EXPORT = "/me/export.json"
DELETE = "/me/delete/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Password tries are counted in the cache, which outlives a test's database."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def consented_child():
    user = child(nickname="小红")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    ConsentRequestFactory(child=user, guardian_contact="mum@example.org")
    GuardianConsentFactory(child=user, guardian_contact="mum@example.org")
    services.consent_withdraw(child=user, guardian_contact="mum@example.org", relationship="mother")
    return user


# --- export ---------------------------------------------------------------------------


def test_export_requires_sign_in(client):
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_export_is_a_json_download_with_the_profile_and_the_consent_history(consented_child):
    response = signed_in(consented_child).get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".json" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["username"] == consented_child.username
    assert data["account"]["email"] == consented_child.email
    assert [
        {key: e[key] for key in ("email", "verified", "primary")} for e in data["email_addresses"]
    ] == [{"email": consented_child.email, "verified": True, "primary": True}]
    profile = data["profile"]
    assert profile["nickname"] == "小红"
    assert profile["birth_year"] == consented_child.profile.birth_year
    assert profile["school"] == consented_child.profile.school.name
    assert profile["district"] == "110108"
    assert [c["action"] for c in data["guardian_consents"]] == ["grant", "withdraw"]
    assert data["guardian_consents"][0]["notice_version"] == "2026-11"
    assert data["guardian_consent_requests"][0]["guardian_contact"] == "mum@example.org"


def test_export_keeps_chinese_readable(consented_child):
    response = signed_in(consented_child).get(EXPORT)
    assert "小红".encode() in response.content


def test_export_holds_only_the_signed_in_person(consented_child):
    other = adult()
    data = json.loads(signed_in(other).get(EXPORT).content)
    assert data["account"]["username"] == other.username
    assert data["guardian_consents"] == []
    assert consented_child.username not in json.dumps(data)


def test_export_is_get_only(consented_child):
    assert signed_in(consented_child).post(EXPORT).status_code == 405


# --- deletion -------------------------------------------------------------------------


def test_the_delete_page_asks_for_confirmation(consented_child):
    response = signed_in(consented_child).get(DELETE)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="confirm_username"' in page
    assert 'name="password"' in page
    assert consented_child.username in page


def test_deletion_requires_sign_in(client):
    assert client.get(DELETE)["Location"].startswith(reverse("account_login"))
    assert client.post(DELETE, {})["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize(
    ("typed_username", "password", "field"),
    [
        ("", PASSWORD, "confirm_username"),
        ("somebody-else", PASSWORD, "confirm_username"),
        (None, "wrong password", "password"),
        (None, "", "password"),
    ],
)
def test_deletion_without_the_right_confirmation_changes_nothing(
    consented_child, typed_username, password, field
):
    client = signed_in(consented_child)
    data = {
        "confirm_username": consented_child.username if typed_username is None else typed_username,
        "password": password,
    }
    response = client.post(DELETE, data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    fresh = User.objects.get(pk=consented_child.pk)
    assert fresh.username == consented_child.username
    assert fresh.is_active
    assert fresh.deleted_at is None
    assert fresh.profile.nickname == "小红"
    assert fresh.guardian_consents.count() == 2
    assert client.get(reverse("accounts:me")).status_code == 200


def test_deleting_an_account_removes_personal_data_and_keeps_the_row(consented_child):
    user = consented_child
    old_username, old_email = user.username, user.email
    User.objects.filter(pk=user.pk).update(phone="+8613800138000", phone_verified=True)
    school_id, district_id = user.profile.school_id, user.profile.district_id
    client = signed_in(user)

    response = client.post(DELETE, {"confirm_username": old_username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:home")
    assert "_auth_user_id" not in client.session
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["success"]

    gone = User.objects.get(pk=user.pk)  # the row stays, so results keep pointing at it
    assert gone.username != old_username
    assert gone.username.startswith("deleted-")
    assert gone.email == ""
    assert gone.phone is None
    assert not gone.phone_verified
    assert not gone.is_active
    assert not gone.has_usable_password()
    assert gone.deleted_at is not None
    profile = Profile.objects.get(user=gone)
    assert profile.nickname == ""
    assert profile.birth_year is None
    assert profile.grade is None
    # what aggregate statistics need, with no name attached
    assert profile.school_id == school_id
    assert profile.district_id == district_id
    assert not GuardianConsent.objects.filter(child=gone).exists()
    assert not ConsentRequest.objects.filter(child=gone).exists()
    assert not EmailAddress.objects.filter(user=gone).exists()
    assert old_email not in json.dumps(services.user_export_data(user=gone))


def test_a_deleted_account_can_no_longer_sign_in(consented_child):
    username = consented_child.username
    client = signed_in(consented_child)
    client.post(DELETE, {"confirm_username": username, "password": PASSWORD})

    fresh = Client()
    response = fresh.post(reverse("account_login"), {"login": username, "password": PASSWORD})
    assert "_auth_user_id" not in fresh.session
    assert response.status_code == 200
    assert not fresh.login(username=username, password=PASSWORD)


def test_deletion_ends_the_account_s_other_sessions(consented_child):
    phone = Client()
    assert phone.login(username=consented_child.username, password=PASSWORD)
    laptop = Client()
    assert laptop.login(username=consented_child.username, password=PASSWORD)

    laptop.post(DELETE, {"confirm_username": consented_child.username, "password": PASSWORD})

    response = phone.get(reverse("accounts:me"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_adult_without_consent_records_can_delete_too():
    user = adult(unit=UnitFactory())
    client = signed_in(user)
    client.post(DELETE, {"confirm_username": user.username, "password": PASSWORD})
    gone = User.objects.get(pk=user.pk)
    assert gone.deleted_at is not None
    assert gone.profile.unit is None


def test_an_account_without_a_password_confirms_with_the_username_alone():
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    client = signed_in(user)
    assert 'name="password"' not in client.get(DELETE).content.decode()
    response = client.post(DELETE, {"confirm_username": user.username})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).deleted_at is not None


def _still_there(user: User) -> bool:
    fresh = User.objects.get(pk=user.pk)
    return fresh.deleted_at is None and fresh.is_active and fresh.username == user.username


def test_wrong_passwords_on_the_delete_page_are_limited_per_account(consented_child):
    client = signed_in(consented_child)
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    for _ in range(services.DELETE_PASSWORD_TRIES):
        response = client.post(DELETE, wrong)
        assert response.status_code == 400
        assert response.context["form"].errors["password"] == [zh("The password is not correct.")]

    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    response = client.post(DELETE, right)

    assert response.status_code == 429
    [message] = response.context["form"].errors["password"]
    assert message == zh(
        "Too many wrong passwords. Nothing was changed: wait %(minutes)s minutes and try again.",
        minutes=15,
    )
    assert message in response.content.decode()
    assert _still_there(consented_child)
    assert User.objects.get(pk=consented_child.pk).profile.nickname == "小红"
    assert consented_child.guardian_consents.count() == 2
    assert "_auth_user_id" in client.session


def test_the_limit_holds_in_another_session(consented_child):
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    first = signed_in(consented_child)
    for _ in range(services.DELETE_PASSWORD_TRIES):
        first.post(DELETE, wrong)

    second = signed_in(consented_child)
    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    assert second.post(DELETE, right).status_code == 429
    assert _still_there(consented_child)


def test_the_limit_lifts_when_the_window_ends(consented_child, monkeypatch):
    # A one-second window, so the cache itself (locmem or Redis) lets the count expire.
    monkeypatch.setattr(services, "DELETE_PASSWORD_WINDOW", 1)
    client = signed_in(consented_child)
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    for _ in range(services.DELETE_PASSWORD_TRIES):
        client.post(DELETE, wrong)
    assert client.post(DELETE, right).status_code == 429
    assert _still_there(consented_child)

    time.sleep(1.2)
    assert client.post(DELETE, right).status_code == 302
    assert User.objects.get(pk=consented_child.pk).deleted_at is not None


def test_a_right_password_does_not_count_against_the_limit(consented_child):
    client = signed_in(consented_child)
    wrong = {"confirm_username": consented_child.username, "password": "guess"}
    typo = {"confirm_username": "not-me", "password": PASSWORD}
    for _ in range(services.DELETE_PASSWORD_TRIES - 1):
        assert client.post(DELETE, wrong).status_code == 400
    for _ in range(3):  # a mistyped username with the right password
        assert client.post(DELETE, typo).status_code == 400

    right = {"confirm_username": consented_child.username, "password": PASSWORD}
    assert client.post(DELETE, right).status_code == 302
    assert User.objects.get(pk=consented_child.pk).deleted_at is not None


def test_one_account_s_wrong_passwords_do_not_lock_another(consented_child):
    client = signed_in(consented_child)
    for _ in range(services.DELETE_PASSWORD_TRIES + 1):
        client.post(DELETE, {"confirm_username": consented_child.username, "password": "x"})

    other = adult()
    response = signed_in(other).post(
        DELETE, {"confirm_username": other.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=other.pk).deleted_at is not None


def test_deleting_twice_changes_nothing_more(consented_child):
    services.user_delete(user=consented_child)
    first = User.objects.get(pk=consented_child.pk)
    services.user_delete(user=first)
    assert User.objects.get(pk=consented_child.pk).username == first.username


def test_a_guardian_can_delete_the_account_when_withdrawing(django_capture_on_commit_callbacks):
    user = child(nickname="小刚")
    consent = GuardianConsentFactory(child=user, guardian_contact="dad@example.org")
    url = reverse(
        "accounts:consent_withdraw", args=[services.consent_withdraw_token_make(consent=consent)]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(url, {"delete_account": "on"})

    assert response.status_code == 200
    gone = User.objects.get(pk=user.pk)
    assert gone.deleted_at is not None
    assert gone.profile.nickname == ""
    assert not GuardianConsent.objects.filter(child=gone).exists()
    [confirmation] = [m for m in mail.outbox if m.to == ["dad@example.org"]]
    assert "小刚" in confirmation.body
    # the link now leads nowhere, and says so
    assert Client().get(url).status_code == 410


# --- the account page -----------------------------------------------------------------


def test_the_account_page_needs_sign_in(client):
    assert client.get(reverse("accounts:me"))["Location"].startswith(reverse("account_login"))


def test_the_account_page_shows_the_profile_and_the_data_buttons():
    user = child(nickname="小华")
    page = signed_in(user).get(reverse("accounts:me")).content.decode()
    assert "小华" in page
    assert user.profile.school.name in page
    assert user.profile.district.name in page
    assert f'href="{EXPORT}"' in page
    assert f'href="{DELETE}"' in page
    assert f'href="{reverse("account_change_password")}"' in page
    assert f'href="{reverse("account_email")}"' in page
    assert f'href="{reverse("account_change_phone")}"' in page


def test_two_factor_is_offered_to_teachers_and_organizers_only():
    mfa = f'href="{reverse("mfa_index")}"'
    citizen_page = signed_in(adult()).get(reverse("accounts:me")).content.decode()
    assert mfa not in citizen_page
    for role in (User.Role.TEACHER, User.Role.ORGANIZER):
        user = adult(user=UserFactory(role=role))
        assert mfa in signed_in(user).get(reverse("accounts:me")).content.decode()


# --- every table that refers to a person (accounts.personal_data) ----------------------
#
# The acceptance test of issue 12: a person with a row in every table that refers to
# users, found by walking the models (so a new table without a row maker below fails),
# exported (every row present, checked per model) and deleted (nothing that names them
# left anywhere in the database).

# What only this person has: each must be in the export and nowhere after deletion.
MARKS = {
    "username": "zqvictim",
    "first_name": "Zqfirst",
    "last_name": "Zqlast",
    "email": "zq-victim@example.org",
    "phone": "+8613912340099",
    "nickname": "Zq昵称",
    "guardian": "zq-guardian@example.org",
    "typed_school": "Zq自填学校",
    "live_nickname": "Zq擂台名",
    "roster_name": "Zq花名册",
    "pk_nickname": "ZqPK名",
    "typed_answer": "Zq手写答案",
    "review_answer": "Zq复习答案",
}


def user_references() -> list[tuple[type, str]]:
    """(model, field) for every ForeignKey, OneToOneField and ManyToManyField to the
    user model, in every installed app (Django's and allauth's included)."""
    user_model = get_user_model()
    found = []
    for model in django_apps.get_models():
        for field in model._meta.get_fields():
            if field.auto_created or not field.is_relation:
                continue
            if field.related_model is user_model and (field.concrete or field.many_to_many):
                found.append((model, field.name))
    return found


def covered() -> dict[tuple[type, str], str]:
    """(model, field) → the export key that covers it, or "excluded: <reason>"."""
    result = {}
    for registration in personal_data.registrations():
        for name in registration.user_fields:
            result[(registration.model, name)] = registration.key
    for exclusion in personal_data.exclusions():
        for name in exclusion.user_fields:
            result[(exclusion.model, name)] = f"excluded: {exclusion.reason}"
    return result


def test_every_user_reference_is_exported_or_excluded_with_a_reason():
    references = user_references()
    # The walk finds the ones we know of, Django's and allauth's included.
    labels = {f"{m._meta.label}.{f}" for m, f in references}
    assert {"admin.LogEntry.user", "account.EmailAddress.user", "mfa.Authenticator.user"} <= (
        labels
    )
    assert {"quizzes.Paper.user", "realtime.LivePlayer.user", "realtime.PkPlayer.user"} <= labels
    missing = [f"{m._meta.label}.{f}" for m, f in references if (m, f) not in covered()]
    assert not missing, f"register these in accounts.personal_data (or exclude them): {missing}"


def test_every_registration_names_real_user_references_and_says_what_deletion_does():
    references = set(user_references())
    assert any(
        r.model is get_user_model() and r.key == "account" for r in personal_data.registrations()
    )
    for registration in personal_data.registrations():
        for name in registration.user_fields:
            assert (registration.model, name) in references, (registration.key, name)
        assert registration.erase is not None or registration.kept, registration.key
    for exclusion in personal_data.exclusions():
        assert exclusion.reason


def _fill_version():
    from tests.quizzes.factories import BankFactory
    from tests.quizzes.helpers import publish

    return publish(BankFactory(), "fill").versions.get()


def _blueprint(bank=None, **kwargs):
    from quizzes.models import Blueprint
    from tests.quizzes.factories import BankFactory

    return Blueprint.objects.create(bank=bank or BankFactory(), name="蓝图", **kwargs)


def _bank_with(field: str):
    def make(user):
        from tests.quizzes.factories import BankFactory

        bank = BankFactory()
        getattr(bank, field).add(user)
        return bank

    return make


def _version_by(field: str):
    def make(user):
        from quizzes.models import QuestionVersion

        version = _fill_version()
        QuestionVersion.objects.filter(pk=version.pk).update(**{field: user})
        return version

    return make


def _question(user):
    from quizzes.models import Question

    question = _fill_version().question
    Question.objects.filter(pk=question.pk).update(created_by=user)
    return question


def _audit_entry(user):
    from quizzes.models import AuditEntry

    version = _fill_version()
    return AuditEntry.objects.create(
        bank=version.question.bank, question=version.question, actor=user, action="edit"
    )


def _calibration(user):
    from quizzes.models import CalibrationRun
    from tests.quizzes.factories import BankFactory

    return CalibrationRun.objects.create(bank=BankFactory(), started_by=user)


def _paper(user):
    from quizzes.models import AdaptiveTest, Paper, PaperItem, Response

    version = _fill_version()
    paper = Paper.objects.create(
        blueprint=_blueprint(version.question.bank), user=user, seed=1, draw_number=1
    )
    item = PaperItem.objects.create(
        paper=paper, position=1, question=version.question, version=version, points=10, cell=0
    )
    Response.objects.create(paper=paper, item=item, answer=MARKS["typed_answer"], is_correct=False)
    AdaptiveTest.objects.create(paper=paper, birth_year=user.profile.birth_year)
    return paper


def _per_user(model_path: str, **fields):
    def make(user):
        module, name = model_path.rsplit(".", 1)
        model = getattr(importlib.import_module(module), name)
        return model.objects.create(user=user, **fields)

    return make


def _cohort_member(user):
    from quizzes.models import Cohort, CohortMember

    week = timezone.localdate()
    cohort = Cohort.objects.create(week=week, number=1)
    return CohortMember.objects.create(cohort=cohort, user=user, week=week)


def _review_card(user):
    from quizzes.models import ReviewCard

    return ReviewCard.objects.create(
        user=user, question=_fill_version().question, due=timezone.now()
    )


def _review_session(user):
    from quizzes.models import ReviewAnswer, ReviewSession

    card = _review_card(user)
    session = ReviewSession.objects.create(user=user, seed=1, cards=[card.pk])
    ReviewAnswer.objects.create(
        session=session,
        card=card,
        version=card.question.versions.get(),
        answer=MARKS["review_answer"],
        is_correct=False,
        rating=1,
        due_after=timezone.now(),
    )
    return session


def _live_round(host):
    from realtime.models import LiveRound

    pin = str(100000 + LiveRound.objects.count())
    return LiveRound.objects.create(host=host, title="科学擂台", pin=pin)


def _live_player(user):
    from realtime.models import LiveAnswer, LivePlayer, LiveQuestion, RosterEntry

    live = _live_round(adult(user=UserFactory(role=User.Role.TEACHER)))
    question = LiveQuestion.objects.create(round=live, position=0, version=_fill_version())
    player = LivePlayer.objects.create(round=live, user=user, nickname=MARKS["live_nickname"])
    LiveAnswer.objects.create(
        round=live,
        question=question,
        player=player,
        answer_id="a1",
        response=MARKS["typed_answer"],
        received_at=1,
        elapsed_ms=1,
        correct=False,
    )
    RosterEntry.objects.create(
        round=live, name=MARKS["roster_name"], school=user.profile.school, player=player
    )
    return player


def _pk_player(user):
    from realtime.models import PkAnswer, PkMatch, PkPlayer, PkQuestion

    match = PkMatch.objects.create()
    question = PkQuestion.objects.create(match=match, position=0, version=_fill_version())
    player = PkPlayer.objects.create(match=match, user=user, seat=0, nickname=MARKS["pk_nickname"])
    PkAnswer.objects.create(
        match=match,
        question=question,
        player=player,
        answer_id="a1",
        response=MARKS["typed_answer"],
        received_at=1,
        elapsed_ms=1,
        correct=False,
    )
    return player


def _pk_entry(user):
    from realtime.models import PkEntry

    return PkEntry.objects.create(user=user, since=1)


def _admin_entry(user):
    """An admin change of the person's own account: object_repr names them."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    return LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
        object_repr=user.username,
        action_flag=CHANGE,
        change_message="[]",
    )


def _directory_change(user):
    model = django_apps.get_model("accounts", "DirectoryChange")
    return model.objects.create(actor=user, action="edit", summary={})


def _authenticator(user):
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.create(user=user, type="totp", data={"secret": "x"})


# (model label, field) → makes a row of that table for the person and returns the row
# the export must show. A new table that refers to users needs its maker here.
ROW_MAKERS = {
    ("accounts.Profile", "user"): lambda user: user.profile,
    ("accounts.GuardianConsent", "child"): lambda user: GuardianConsentFactory(
        child=user, guardian_contact=MARKS["guardian"]
    ),
    ("accounts.ConsentRequest", "child"): lambda user: ConsentRequestFactory(
        child=user, guardian_contact=MARKS["guardian"]
    ),
    ("accounts.DirectoryChange", "actor"): _directory_change,
    ("account.EmailAddress", "user"): lambda user: EmailAddress.objects.create(
        user=user, email=MARKS["email"], verified=True, primary=True
    ),
    ("mfa.Authenticator", "user"): _authenticator,
    ("admin.LogEntry", "user"): _admin_entry,
    ("quizzes.Bank", "owners"): _bank_with("owners"),
    ("quizzes.Bank", "reviewers"): _bank_with("reviewers"),
    ("quizzes.Bank", "shared_with"): _bank_with("shared_with"),
    ("quizzes.Question", "created_by"): _question,
    ("quizzes.QuestionVersion", "author"): _version_by("author"),
    ("quizzes.QuestionVersion", "reviewer"): _version_by("reviewer"),
    ("quizzes.AuditEntry", "actor"): _audit_entry,
    ("quizzes.CalibrationRun", "started_by"): _calibration,
    ("quizzes.Blueprint", "created_by"): lambda user: _blueprint(created_by=user),
    ("quizzes.Paper", "user"): _paper,
    ("quizzes.Progress", "user"): _per_user("quizzes.models.Progress", xp=10),
    ("quizzes.XpAward", "user"): _per_user(
        "quizzes.models.XpAward", kind="paper", ref="1", amount=10, week=datetime.date.today()
    ),
    ("quizzes.PersonalBest", "user"): _per_user(
        "quizzes.models.PersonalBest", kind="daily", value=1.0
    ),
    ("quizzes.TopicMastery", "user"): _per_user("quizzes.models.TopicMastery", topic="health"),
    ("quizzes.CohortMember", "user"): _cohort_member,
    ("quizzes.ReviewCard", "user"): _review_card,
    ("quizzes.ReviewSession", "user"): _review_session,
    ("realtime.LiveRound", "host"): _live_round,
    ("realtime.LivePlayer", "user"): _live_player,
    ("realtime.PkPlayer", "user"): _pk_player,
    ("realtime.PkEntry", "user"): _pk_entry,
}


@pytest.fixture
def person_everywhere():
    """A child with a row in every table that refers to users; returns (user, rows):
    rows maps each (model, field) to the row made for it."""
    user = child(nickname=MARKS["nickname"])
    User.objects.filter(pk=user.pk).update(
        username=MARKS["username"],
        email=MARKS["email"],
        first_name=MARKS["first_name"],
        last_name=MARKS["last_name"],
    )
    User.objects.filter(pk=user.pk).update(phone=MARKS["phone"], phone_verified=True)
    Profile.objects.filter(user=user).update(pending_school_name=MARKS["typed_school"])
    user = User.objects.get(pk=user.pk)
    made, no_maker = {}, []
    for model, field in user_references():
        maker = ROW_MAKERS.get((model._meta.label, field))
        if maker is None:
            no_maker.append(f"{model._meta.label}.{field}")
            continue
        made[(model, field)] = maker(user)
    assert not no_maker, f"add a row maker to ROW_MAKERS for {no_maker}"
    return user, made


def _ids(exported) -> set:
    items = exported if isinstance(exported, list) else [exported]
    return {item["id"] if isinstance(item, dict) else item for item in items if item}


def _database_text() -> str:
    """Every row of every table, as text."""
    from django.core import serializers

    return "\n".join(
        serializers.serialize("json", model._base_manager.all())
        for model in django_apps.get_models()
    )


def test_the_export_has_every_row_of_every_table_that_refers_to_the_person(person_everywhere):
    user, made = person_everywhere
    response = signed_in(user).get(EXPORT)
    assert response.status_code == 200
    data = json.loads(response.content)

    keys = covered()
    for (model, field), obj in made.items():
        key = keys[(model, field)]
        if key.startswith("excluded:"):
            continue
        assert obj.pk in _ids(data[key]), f"{model._meta.label}.{field}: row {obj.pk} not in {key}"
    text = response.content.decode()
    for name, mark in MARKS.items():
        assert mark in text, f"{name} missing from the export"
    assert data["account"]["id"] == user.pk
    assert data["profile"]["birth_year"] == user.profile.birth_year
    [player] = data["live_round_players"]
    assert player["answers"][0]["response"] == MARKS["typed_answer"]
    assert player["roster_name"] == MARKS["roster_name"]
    [paper] = data["papers"]
    assert paper["items"][0]["response"]["answer"] == MARKS["typed_answer"]
    assert paper["self_test"]["birth_year"] == user.profile.birth_year
    assert data["progress"][0]["xp"] == 10
    for secret in ("password", "token", "permutation_seed"):
        assert f'"{secret}"' not in text


def test_deletion_leaves_nothing_that_names_the_person_in_any_table(person_everywhere):
    from quizzes.models import AdaptiveTest, Paper
    from realtime.models import LivePlayer, PkPlayer, RosterEntry

    user, made = person_everywhere
    live_player = made[(LivePlayer, "user")]
    pk_player = made[(PkPlayer, "user")]
    token = live_player.token
    before = _database_text()
    assert all(mark in before for mark in MARKS.values())

    services.user_delete(user=user)

    after = _database_text()
    left = [name for name, mark in MARKS.items() if mark in after]
    assert not left, f"still in the database after deletion: {left}"
    profile = Profile.objects.get(user=user)
    assert profile.birth_year is None
    assert not AdaptiveTest.objects.filter(paper__user=user, birth_year__isnull=False).exists()
    # Seats and results stay, under a neutral generated name, unique in the round.
    live_player.refresh_from_db()
    pk_player.refresh_from_db()
    assert live_player.nickname == personal_data.neutral_name(live_player.pk)
    assert pk_player.nickname == personal_data.neutral_name(pk_player.pk)
    assert RosterEntry.objects.get(player=live_player).name == live_player.nickname
    assert live_player.token != token  # no device resumes the seat
    assert Paper.objects.filter(user=user).count() == 1
    assert live_player.answers.get().correct is False


def test_deletion_is_one_transaction(person_everywhere, monkeypatch):
    """A registration that fails half-way leaves everything as it was."""
    from realtime import personal_data as realtime_personal_data

    user, _made = person_everywhere
    before = _database_text()

    def broken(_user):
        raise RuntimeError("disk full")

    monkeypatch.setattr(
        personal_data,
        "_registrations",
        {
            **personal_data._registrations,
            "pk_players": dataclasses.replace(
                personal_data._registrations["pk_players"], erase=broken
            ),
        },
    )
    with pytest.raises(RuntimeError):
        services.user_delete(user=user)
    assert _database_text() == before
    assert realtime_personal_data  # the registration replaced above is realtime's


def test_the_export_takes_as_many_queries_for_many_rows_as_for_one(person_everywhere):
    user, _made = person_everywhere
    with CaptureQueriesContext(connection) as one:
        services.user_export_data(user=user)
    for key in (
        ("quizzes.Paper", "user"),
        ("realtime.LivePlayer", "user"),
        ("realtime.PkPlayer", "user"),
    ):
        for _ in range(3):
            ROW_MAKERS[key](user)
    with CaptureQueriesContext(connection) as many:
        data = services.user_export_data(user=user)
    assert len(data["live_round_players"]) == 4
    assert len(data["papers"]) == 4
    assert len(many) == len(one), [q["sql"][:80] for q in many]
