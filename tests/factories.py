"""factory_boy factories for accounts; other apps add theirs beside them."""

from __future__ import annotations

import factory
from django.utils import timezone

from accounts.models import District, GuardianConsent, Profile, Region, School, Unit, User

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
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"测试学校{n}")
    district = factory.LazyFunction(district)
    stage = School.Stage.JUNIOR
    enrolment = 1200


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
