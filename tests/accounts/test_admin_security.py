"""The Django admin: signed in only through allauth, only with a second factor, and
showing people's contact data to superusers alone (accounts.admin, accounts.roles,
accounts.middleware). Bank membership changed there is audited (quizzes.admin).

Every test goes through real requests; sessions that passed the MFA stage are made by
signing in through allauth's pages with a TOTP code (tests.support.mfa)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from quizzes.bank import services as bank_services
from quizzes.models import AuditEntry
from tests.factories import PASSWORD, GuardianConsentFactory, UserFactory, adult
from tests.support.mfa import give_totp, sign_in_with_totp, totp_code

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"


def superuser(**kwargs) -> User:
    user = UserFactory(role=User.Role.ADMIN, is_staff=True, is_superuser=True, **kwargs)
    give_totp(user)
    return user


def organizer(**kwargs) -> User:
    """An organizer with admin access (is_staff) and the role's permissions."""
    from accounts.roles import roles_sync

    user = UserFactory(role=User.Role.ORGANIZER, is_staff=True, **kwargs)
    give_totp(user)
    roles_sync()
    return User.objects.get(pk=user.pk)  # no cached permissions


def grant(user: User, *names: str) -> None:
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


# --- the admin's sign-in is allauth's --------------------------------------------------


def test_the_admin_login_page_sends_visitors_to_allauths_login_with_next(client):
    response = client.get("/admin/login/?next=/admin/accounts/school/")
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("account_login") + "?next=%2Fadmin%2Faccounts%2Fschool%2F"
    )
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login") + "?next=")
    assert response.status_code == 200 and "admin/login.html" not in [
        t.name for t in response.templates
    ]


def test_the_right_password_posted_to_the_admin_login_signs_no_one_in(client):
    user = superuser()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    assert client.get(ADMIN).status_code == 302


def test_a_session_signed_in_with_a_password_alone_is_sent_to_give_a_code(client):
    # client.login() is exactly what Django's admin form did: the password, checked by
    # the authentication backends, and nothing else.
    user = superuser()
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(ADMIN)
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 302

    # the code, through allauth's re-authentication, opens the admin
    response = client.post(response["Location"], {"code": totp_code()})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_signing_in_with_password_and_code_opens_the_admin(client):
    user = superuser()
    sign_in_with_totp(client, user)
    assert client.get(ADMIN).status_code == 200
    assert client.get("/admin/login/").status_code == 302  # already in: to the index


def test_a_signed_in_player_gets_no_admin(client):
    client.force_login(adult())
    assert client.get("/admin/login/").status_code == 403
    assert client.get(ADMIN).status_code == 302


def test_the_admin_logout_is_allauths(client):
    user = superuser()
    sign_in_with_totp(client, user)
    response = client.post(reverse("admin:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(ADMIN).status_code == 302


# --- TOTP required for organizers, admins and staff --------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: UserFactory(role=User.Role.ORGANIZER, totp=False),
        lambda: UserFactory(role=User.Role.ADMIN, totp=False),
        lambda: UserFactory(role=User.Role.TEACHER, is_staff=True, totp=False),
        lambda: UserFactory(role=User.Role.CITIZEN, is_superuser=True, totp=False),
    ],
    ids=["organizer", "admin", "staff", "superuser"],
)
def test_people_who_run_things_must_set_up_totp_before_anything_else(client, make):
    user = make()
    client.force_login(user)
    for url in ("/", reverse("accounts:me"), reverse("quizzes:banks"), ADMIN):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("mfa_activate_totp")), url
    response = client.post(reverse("quizzes:bank_create"), {"name": "x"})
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    # what setting it up needs, and the way out, stay open
    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("frontend:healthz")).status_code in (200, 503)
    assert client.post(reverse("set_language"), {"language": "en"}).status_code == 302
    assert client.get(reverse("account_reauthenticate")).status_code == 200
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


def test_with_totp_set_up_they_go_on(client):
    user = UserFactory(role=User.Role.ORGANIZER, totp=False)
    give_totp(user)
    client.force_login(user)
    assert client.get(reverse("quizzes:banks")).status_code == 200


def test_teachers_are_not_forced_unless_the_setting_says_so(client, settings):
    teacher = UserFactory(role=User.Role.TEACHER, totp=False)
    client.force_login(teacher)
    assert client.get(reverse("quizzes:banks")).status_code == 200
    settings.MFA_REQUIRED_ROLES = ["organizer", "admin", "teacher"]
    response = client.get(reverse("quizzes:banks"))
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


# --- what organizers see in the admin ----------------------------------------------

PEOPLE = [
    "admin:accounts_user_changelist",
    "admin:accounts_profile_changelist",
    "admin:accounts_guardianconsent_changelist",
    "admin:accounts_consentrequest_changelist",
    "admin:account_emailaddress_changelist",
    "admin:mfa_authenticator_changelist",
    "admin:auth_group_changelist",
]


def test_an_organizer_keeps_schools_and_units_and_sees_no_people(client):
    person = adult(user__phone="+8613900139000")
    GuardianConsentFactory()
    staff = organizer()
    sign_in_with_totp(client, staff)
    assert client.get(reverse("admin:accounts_school_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_school_add")).status_code == 200
    assert client.get(reverse("admin:accounts_unit_changelist")).status_code == 200
    for name in PEOPLE:
        assert client.get(reverse(name)).status_code == 403, name
    user_page = reverse("admin:accounts_user_change", args=[person.pk])
    assert client.get(user_page).status_code in (302, 403)
    index = client.get(ADMIN).content.decode()
    assert "/admin/accounts/user/" not in index and "/admin/quizzes/" not in index
    assert "+8613900139000" not in index and person.email not in index


def test_people_stay_hidden_from_an_organizer_even_with_permissions_granted(client):
    person = adult()
    staff = organizer()
    grant(
        staff,
        "accounts.view_user",
        "accounts.change_user",
        "accounts.view_profile",
        "accounts.view_guardianconsent",
        "auth.change_group",
        "quizzes.view_questionversion",
        "quizzes.view_question",
        "quizzes.view_auditentry",
    )
    sign_in_with_totp(client, staff)
    for name in [
        *PEOPLE,
        "admin:quizzes_questionversion_changelist",
        "admin:quizzes_question_changelist",
        "admin:quizzes_auditentry_changelist",
    ]:
        assert client.get(reverse(name)).status_code == 403, name
    response = client.post(
        reverse("admin:accounts_user_change", args=[person.pk]),
        {"username": person.username, "is_superuser": "on"},
    )
    assert response.status_code in (302, 403)
    person.refresh_from_db()
    assert not person.is_superuser


def test_a_superuser_still_sees_people(client):
    sign_in_with_totp(client, superuser())
    for name in PEOPLE:
        assert client.get(reverse(name)).status_code == 200, name


def test_sync_roles_gives_the_role_its_permissions_takes_contact_data_away_and_is_idempotent():
    from accounts.roles import ROLE_PERMISSIONS, role_group_name

    staff = UserFactory(role=User.Role.ORGANIZER, is_staff=True)
    teacher = UserFactory(role=User.Role.TEACHER)
    grant(staff, "accounts.view_user", "accounts.view_profile", "accounts.view_guardianconsent")
    admin = superuser()
    grant(admin, "accounts.view_user")

    out = StringIO()
    call_command("sync_roles", stdout=out)
    assert "permissions on personal data revoked: 3" in out.getvalue()
    staff = User.objects.get(pk=staff.pk)
    expected = set(ROLE_PERMISSIONS[User.Role.ORGANIZER])
    assert staff.get_all_permissions() == expected
    assert not User.objects.get(pk=teacher.pk).get_all_permissions()
    assert staff.groups.get().name == role_group_name(User.Role.ORGANIZER)
    assert admin.user_permissions.exists(), "a superuser's own grants are left alone"

    out = StringIO()
    call_command("sync_roles", stdout=out)
    assert out.getvalue().strip() == (
        "role groups updated: 0, memberships changed: 0, permissions on personal data revoked: 0"
    )
    # a user whose role changes leaves the group on the next run
    User.objects.filter(pk=staff.pk).update(role=User.Role.TEACHER)
    call_command("sync_roles", stdout=StringIO())
    assert not User.objects.get(pk=staff.pk).groups.exists()


# --- bank membership: audited, superusers only --------------------------------------


def make_bank(owner: User):
    return bank_services.bank_create(name="应急题库", owner=owner)


def bank_form(bank, **members) -> dict:
    data = {"name": bank.name, "description": "", "created_at_0": "2026-01-01"}
    data["created_at_1"] = "00:00:00"
    for role in ("owners", "reviewers", "shared_with"):
        data[role] = [str(u.pk) for u in members.get(role, getattr(bank, role).all())]
    return data


def test_an_organizer_cannot_make_itself_owner_of_another_teachers_bank_in_the_admin(client):
    teacher = UserFactory(role=User.Role.TEACHER)
    bank = make_bank(teacher)
    staff = organizer()
    grant(staff, "quizzes.view_bank", "quizzes.change_bank")
    sign_in_with_totp(client, staff)
    url = reverse("admin:quizzes_bank_change", args=[bank.pk])
    response = client.post(url, bank_form(bank, owners=[teacher, staff], reviewers=[staff]))
    assert response.status_code == 302  # saved: the members were read-only, not refused
    assert list(bank.owners.all()) == [teacher]
    assert not bank.reviewers.exists()
    assert not AuditEntry.objects.filter(action="bank_members").exists()


def test_a_superusers_membership_change_in_the_admin_is_audited_with_before_and_after(client):
    teacher = UserFactory(role=User.Role.TEACHER)
    other = UserFactory(role=User.Role.TEACHER)
    bank = make_bank(teacher)
    admin = superuser()
    sign_in_with_totp(client, admin)
    url = reverse("admin:quizzes_bank_change", args=[bank.pk])
    response = client.post(url, bank_form(bank, owners=[teacher, other], shared_with=[admin]))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(bank.owners.all()) == {teacher, other}
    entry = AuditEntry.objects.get(action="bank_members")
    assert entry.actor == admin and entry.bank == bank
    assert entry.changes == {
        "owners": {"before": [teacher.pk], "after": sorted([teacher.pk, other.pk])},
        "shared_with": {"before": [], "after": [admin.pk]},
    }
    # saving the same again writes nothing more
    client.post(url, bank_form(bank))
    assert AuditEntry.objects.filter(action="bank_members").count() == 1


def test_the_membership_service_refuses_non_superusers_and_an_empty_owner_list():
    teacher = UserFactory(role=User.Role.TEACHER)
    bank = make_bank(teacher)
    with pytest.raises(PermissionDenied):
        bank_services.bank_members_set(bank=bank, actor=teacher, owners=[teacher, adult()])
    with pytest.raises(ValidationError):
        bank_services.bank_members_set(bank=bank, actor=superuser(), owners=[])
    assert list(bank.owners.all()) == [teacher]
    assert not AuditEntry.objects.filter(action="bank_members").exists()


def test_the_demo_organizer_signs_in_with_the_printed_secret_and_keeps_to_schools(
    client, seeded_demo
):
    from accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET

    assert DEMO_TOTP_SECRET in seeded_demo
    staff = User.objects.get(username="demo_organizer")
    sign_in_with_totp(client, staff, password=DEMO_PASSWORD, secret=DEMO_TOTP_SECRET)
    assert client.get(reverse("quizzes:banks")).status_code == 200
    assert client.get(reverse("admin:accounts_school_changelist")).status_code == 200
    for name in PEOPLE:
        assert client.get(reverse(name)).status_code == 403, name
