"""factory_boy factories for accounts; other apps add theirs beside them."""

from __future__ import annotations

import factory
from django.utils import timezone

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

PASSWORD = "correct-horse-battery"


def district(code: str = "110108") -> District:
    """Districts come from the data migration; tests look them up, never create them."""
    return District.objects.get(code=code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = User.Role.CITIZEN
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy passes the object
        if create:
            obj.save()

    @factory.post_generation
    def totp(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy passes the object
        """Users who must have a second factor (accounts.roles.mfa_required) get a TOTP
        authenticator with tests.support.mfa.TOTP_SECRET; UserFactory(totp=False) for
        one without, UserFactory(totp=True) for anyone with."""
        from accounts.roles import mfa_required
        from tests.support.mfa import give_totp

        wanted = mfa_required(obj) if extracted is None else extracted
        if create and wanted:
            give_totp(obj)


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"测试学校{n}")
    district = factory.LazyFunction(district)
    region = factory.LazyAttribute(lambda school: school.district.region)
    enrolment = 1200

    @factory.post_generation
    def stages(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy passes the object
        """SchoolFactory(stages=["primary", "junior"]); junior secondary by default."""
        if create:
            for stage in extracted or [School.Stage.JUNIOR]:
                SchoolStage.objects.create(school=obj, stage=stage)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"测试街道{n}")
    kind = Unit.Kind.STREET_OFFICE
    region = factory.LazyFunction(lambda: Region.objects.get(slug="haidian"))


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    user = factory.SubFactory(UserFactory)
    nickname = factory.Sequence(lambda n: f"玩家{n}")
    population_group = Profile.PopulationGroup.OTHER
    birth_year = 1985
    district = factory.LazyFunction(district)


def adult(**kwargs) -> User:
    return ProfileFactory(**kwargs).user


def child(*, age: int = 11, **kwargs) -> User:
    """A student whose birth year makes them (possibly) under 14."""
    school = kwargs.pop("school", None) or SchoolFactory()
    profile = ProfileFactory(
        user=UserFactory(role=User.Role.STUDENT),
        population_group=Profile.PopulationGroup.STUDENT,
        birth_year=timezone.localdate().year - age,
        school=school,
        district=school.district,
        grade=min(max(age - 6, 1), 12),
        **kwargs,
    )
    return profile.user


class GuardianConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuardianConsent

    child = factory.LazyFunction(child)
    action = GuardianConsent.Action.GRANT
    guardian_contact = "parent@example.org"
    relationship = GuardianConsent.Relationship.MOTHER
    allow_processing = True
    allow_public_display = False
    notice_version = "2026-11"


class ConsentRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentRequest

    child = factory.LazyFunction(child)
    guardian_contact = "parent@example.org"
    relationship = GuardianConsent.Relationship.MOTHER


def signup_form_data(**overrides) -> dict:
    """What a browser posts to allauth's sign-up view (POST /accounts/signup/): an adult
    citizen unless overridden. Pass a field as None to leave it out."""
    data = {
        "username": "lihua",
        "email": "lihua@example.org",
        "phone": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "nickname": "李华",
        "role": User.Role.CITIZEN,
        "population_group": Profile.PopulationGroup.WORKER,
        "birth_year": "1990",
        "district": str(district().pk),
        "school": "",
        "grade": "",
        "guardian_contact": "",
        "guardian_relationship": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def child_signup_form_data(*, age: int = 11, in_school: School | None = None, **overrides) -> dict:
    """A student under 14 with a guardian's contact. Override form fields by name
    ("school": "" for none); `in_school` picks the school (and its district)."""
    school = in_school or SchoolFactory()
    return signup_form_data(
        **{
            "username": "xiaoming",
            "email": "",
            "nickname": "小明",
            "role": User.Role.STUDENT,
            "population_group": Profile.PopulationGroup.STUDENT,
            "birth_year": str(timezone.localdate().year - age),
            "district": str(school.district_id),
            "school": str(school.pk),
            "grade": str(min(max(age - 6, 1), 12)),
            "guardian_contact": "mother@example.org",
            "guardian_relationship": GuardianConsent.Relationship.MOTHER,
            **overrides,
        }
    )
