"""`manage.py seed_demo`: demo schools, units and logins, loaded idempotently.

Tests that only look at what the command made take the `seeded_demo` fixture
(tests/conftest.py: one real run per test process, copied after that); tests of a run
itself (a second run, the messages a first run sends, --force, refusals) run it."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core import mail, signing
from django.core.management import CommandError, call_command
from django.test import Client

from accounts import services
from accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, GUARDIAN_CONTACT
from accounts.models import (
    ConsentRequest,
    District,
    GuardianConsent,
    Profile,
    Region,
    School,
    SchoolStage,
    Unit,
    User,
)
from accounts.selectors import user_can_play

pytestmark = pytest.mark.django_db

# No category of the national school code (学校标识码) is numbered 99: they run from
# 11 (kindergartens) to 93. A code starting with 99 cannot be a real school's.
NO_SUCH_CATEGORY = "99"


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


CONSENT_LINK = re.compile(r"(/me/consent/[^\s/]+/)")


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def seed_delivering(capture) -> str:
    """Seed and run what waits for the commit (the guardian's message)."""
    with capture(execute=True):
        return seed()


def snapshot() -> dict[str, int]:
    return {
        "schools": School.objects.count(),
        "units": Unit.objects.count(),
        "users": User.objects.count(),
        "profiles": Profile.objects.count(),
        "emails": EmailAddress.objects.count(),
        "consents": GuardianConsent.objects.count(),
        "consent_requests": ConsentRequest.objects.count(),
        "districts": District.objects.count(),
        "regions": Region.objects.count(),
    }


def test_running_twice_gives_the_same_rows_and_no_duplicates(seeded_demo, debug_on):
    first = snapshot()
    passwords = dict(User.objects.values_list("username", "password"))
    seed()
    assert snapshot() == first
    assert dict(User.objects.values_list("username", "password")) == passwords


def test_the_directory_covers_every_district_and_the_development_area(seeded_demo):
    assert School.objects.count() >= 34
    assert School.objects.values("district").distinct().count() == 16
    assert School.objects.values("region").distinct().count() == 17
    bda = School.objects.filter(region__slug="bda")
    assert bda.exists() and all(s.district.code == "110115" for s in bda)
    assert all(s.enrolment and s.enrolment > 0 for s in School.objects.all())


def test_every_demo_school_is_clearly_fictional_with_a_code_no_school_can_have(seeded_demo):
    for school in School.objects.all():
        assert school.name.endswith("（虚构）"), school.name
        assert len(school.code) == 10 and school.code.isdigit(), school.code
        assert school.code.startswith(NO_SUCH_CATEGORY + "11"), school.code


def test_some_demo_schools_teach_several_stages(seeded_demo):
    nine_year = School.objects.get(name="东城示例九年一贯制学校（虚构）")
    assert nine_year.stage_values == [School.Stage.PRIMARY, School.Stage.JUNIOR]
    assert SchoolStage.objects.values("stage").distinct().count() == len(School.Stage.values)


def test_a_school_named_after_a_district_stands_in_that_district(seeded_demo):
    names = {d.name_zh.removesuffix("区"): d.name_zh for d in District.objects.all()}
    for school in School.objects.select_related("district"):
        for short, name in names.items():
            if school.name.startswith(short):
                assert school.district.name_zh == name, school.name


def test_units_include_a_street_office_and_one_in_the_development_area(seeded_demo):
    assert Unit.objects.count() >= 10
    assert Unit.objects.filter(name="海淀区学院路街道", region__slug="haidian").exists()
    assert Unit.objects.filter(region__slug="bda").exists()
    assert {Unit.Kind.GOVERNMENT, Unit.Kind.PARTY_SCHOOL, Unit.Kind.ENTERPRISE} <= set(
        Unit.objects.values_list("kind", flat=True)
    )


def test_demo_accounts_are_marked_and_cover_every_role(seeded_demo):
    demo = User.objects.filter(username__startswith="demo_")
    assert set(demo.values_list("role", flat=True)) == set(User.Role.values)
    assert demo.filter(role=User.Role.STUDENT).count() >= 6
    assert all(Profile.objects.get(user=user).nickname for user in demo)
    admin = User.objects.get(username="demo_admin")
    assert admin.is_superuser and admin.is_staff and admin.role == User.Role.ADMIN
    organizer = User.objects.get(username="demo_organizer")
    assert organizer.is_staff and not organizer.is_superuser
    assert organizer.has_perm("accounts.view_school")
    # people and their contact data are for superusers only (accounts.roles)
    for codename in ("view_user", "view_profile", "view_guardianconsent", "view_consentrequest"):
        assert not organizer.has_perm(f"accounts.{codename}")
    assert not organizer.has_perm("quizzes.change_bank")
    # both must sign in with the published demo TOTP secret, printed with the logins
    assert DEMO_TOTP_SECRET in seeded_demo
    for staff in (admin, organizer):
        assert staff.authenticator_set.filter(type="totp").exists()
    assert User.objects.get(username="demo_teacher").profile.school is not None


def test_citizens_come_from_the_priority_groups_and_the_elder_has_elder_mode(seeded_demo):
    groups = set(
        Profile.objects.filter(
            user__username__startswith="demo_", user__role=User.Role.CITIZEN
        ).values_list("population_group", flat=True)
    )
    assert {"farmer", "worker", "elderly", "civil_servant"} <= groups
    elder = Profile.objects.get(user__username__startswith="demo_", population_group="elderly")
    assert elder.elder_mode


def test_every_demo_account_has_a_verified_primary_email(seeded_demo):
    for user in User.objects.filter(username__startswith="demo_"):
        address = EmailAddress.objects.get(user=user)
        assert address.verified and address.primary and address.email == user.email


def test_demo_logins_work_with_the_demo_password(client, seeded_demo):
    for user in User.objects.filter(username__startswith="demo_"):
        assert client.login(username=user.username, password=DEMO_PASSWORD), user.username
        client.logout()


def test_a_demo_account_signs_in_through_the_login_page_by_username_and_by_email(
    client, seeded_demo
):
    for login in ("demo_teacher", "demo_teacher@example.org"):
        response = client.post("/accounts/login/", {"login": login, "password": DEMO_PASSWORD})
        assert response.status_code == 302, login
        assert int(client.session["_auth_user_id"]) == User.objects.get(username="demo_teacher").pk
        client.logout()


def test_the_pending_child_cannot_play_and_the_consented_child_can(seeded_demo):
    pending = User.objects.get(username="demo_child_pending")
    consented = User.objects.get(username="demo_child_consented")
    assert pending.profile.needs_guardian_consent
    assert consented.profile.needs_guardian_consent
    assert not user_can_play(user=pending)
    assert user_can_play(user=consented)


def test_a_second_run_does_not_append_another_consent_record(seeded_demo, debug_on):
    seed()
    consented = User.objects.get(username="demo_child_consented")
    assert consented.guardian_consents.count() == 1
    assert not User.objects.get(username="demo_child_pending").guardian_consents.exists()


def test_the_pending_child_s_link_names_a_real_request_sent_to_the_guardian(
    debug_on, django_capture_on_commit_callbacks
):
    output = seed_delivering(django_capture_on_commit_callbacks)
    pending = User.objects.get(username="demo_child_pending")
    contact = GUARDIAN_CONTACT.format(username="demo_child_pending")

    request = ConsentRequest.objects.get(child=pending)
    assert request.guardian_contact == contact
    [link] = CONSENT_LINK.findall(output)
    token = link.split("/")[3]
    assert signing.loads(token, salt=services.CONSENT_SALT) == {
        "child": pending.pk,
        "req": request.pk,
    }
    assert contact not in link
    [message] = [m for m in mail.outbox if m.to == [contact]]
    assert link in message.body

    page = Client().get(link)
    assert page.status_code == 200
    assert page.context["child"] == pending


def test_a_second_run_sends_no_second_consent_request(debug_on, django_capture_on_commit_callbacks):
    first = seed_delivering(django_capture_on_commit_callbacks)
    second = seed_delivering(django_capture_on_commit_callbacks)

    pending = User.objects.get(username="demo_child_pending")
    request = ConsentRequest.objects.get(child=pending)
    assert ConsentRequest.objects.count() == 1
    contact = GUARDIAN_CONTACT.format(username="demo_child_pending")
    assert len([m for m in mail.outbox if m.to == [contact]]) == 1
    # The second run prints a link to the same request, and it works.
    [again] = CONSENT_LINK.findall(second)
    assert signing.loads(again.split("/")[3], salt=services.CONSENT_SALT)["req"] == request.pk
    assert CONSENT_LINK.findall(first)
    assert Client().get(again).status_code == 200


def test_the_output_lists_every_demo_login_with_the_password(seeded_demo):
    output = seeded_demo
    assert DEMO_PASSWORD in output
    for username in User.objects.filter(username__startswith="demo_").values_list(
        "username", flat=True
    ):
        assert username in output
    assert "/me/consent/" in output


def test_refuses_to_run_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.filter(username__startswith="demo_").exists()


def test_runs_with_force_when_debug_is_off(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force", stdout=StringIO())
    assert User.objects.filter(username="demo_admin").exists()


def test_fails_clearly_without_the_districts_of_the_data_migration(debug_on):
    Region.objects.all().delete()
    District.objects.all().delete()
    with pytest.raises(CommandError, match="migrate"):
        seed()
    assert not School.objects.exists()
