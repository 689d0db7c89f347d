"""People and the places they compete for.

Administrative districts (GB/T 2260) and competition regions are kept apart: the
Beijing Economic-Technological Development Area is no district and has no code, yet
it competes as a 17th region (DOMAIN.md).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

# Children under this age need a guardian's consent before their data is processed
# (PIPL art. 28 and 31).
CONSENT_AGE = 14
MIN_BIRTH_YEAR = 1900


class BilingualName(models.Model):
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if translation.get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_zh


class District(BilingualName):
    """An administrative district of Beijing with its GB/T 2260 code."""

    code = models.CharField(_("GB/T 2260 code"), max_length=6, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^1101[0-9]{2}$"), name="district_code_is_beijing"
            )
        ]


class Region(BilingualName):
    """A competition region: one of the 16 districts, or the Development Area."""

    slug = models.SlugField(unique=True)
    district = models.OneToOneField(
        District, null=True, blank=True, on_delete=models.PROTECT, related_name="region"
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "slug"]
        verbose_name = _("competition region")
        verbose_name_plural = _("competition regions")


SCHOOL_CODE_PATTERN = r"^[0-9]{10}$"


class School(models.Model):
    """A school of the directory (organizers import and edit it: accounts.directory).

    `code` is the national school code (学校标识码: two digits of school category, two
    of province, six of sequence), unique when present. A school stands in an
    administrative district and competes for a region: the district's own, or the
    Development Area. It teaches one or more stages (SchoolStage rows): a nine-year
    school (九年一贯制) is primary and junior secondary.
    """

    class Stage(models.TextChoices):
        PRIMARY = "primary", _("Primary school")
        JUNIOR = "junior", _("Junior secondary school")
        SENIOR = "senior", _("Senior secondary school")
        VOCATIONAL = "vocational", _("Vocational school")
        UNIVERSITY = "university", _("University or college")
        SPECIAL = "special", _("Special education school")

    code = models.CharField(
        _("national school code"),
        max_length=10,
        null=True,
        blank=True,
        unique=True,
        validators=[RegexValidator(SCHOOL_CODE_PATTERN, _("A school code is 10 digits."))],
    )
    name = models.CharField(_("name"), max_length=120)
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="schools", verbose_name=_("district")
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="schools",
        verbose_name=_("competition region"),
    )
    enrolment = models.PositiveIntegerField(_("enrolment"), null=True, blank=True)

    class Meta:
        ordering = ["region__sort_order", "name"]
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="school_unique_in_region"),
            models.CheckConstraint(
                condition=Q(code__isnull=True) | Q(code__regex=SCHOOL_CODE_PATTERN),
                name="school_code_ten_digits",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stage_values(self) -> list[str]:
        """The stages taught, in the order of School.Stage (prefetch `stages`)."""
        have = {row.stage for row in self.stages.all()}
        return [value for value in School.Stage.values if value in have]

    @property
    def stage_labels(self) -> list[str]:
        return [str(School.Stage(value).label) for value in self.stage_values]


class SchoolStage(models.Model):
    """One stage a school teaches. Contests select "students of given school stages"
    with `Profile.objects.filter(school__stages__stage__in=[...])`."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(_("stage"), max_length=20, choices=School.Stage.choices)

    class Meta:
        verbose_name = _("school stage")
        verbose_name_plural = _("school stages")
        constraints = [
            models.UniqueConstraint(fields=["school", "stage"], name="school_stage_once"),
        ]

    def __str__(self) -> str:
        return f"{self.school_id} {self.stage}"


class Unit(models.Model):
    """Any other body that fields a team: street office, enterprise, government body…"""

    class Kind(models.TextChoices):
        STREET_OFFICE = "street_office", _("Street office")
        TOWNSHIP = "township", _("Township")
        ENTERPRISE = "enterprise", _("Enterprise")
        GOVERNMENT = "government", _("Government body")
        SCHOOL_BOARD = "school_board", _("Education board")
        PARTY_SCHOOL = "party_school", _("Party school")
        COMMUNITY = "community", _("Community")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="units", verbose_name=_("region")
    )

    class Meta:
        ordering = ["region__sort_order", "name"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="unit_unique_in_region")
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    class Role(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        STUDENT = "student", _("Student")
        TEACHER = "teacher", _("Teacher")
        ORGANIZER = "organizer", _("Organizer")
        ADMIN = "admin", _("Administrator")

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CITIZEN)
    # Stored in E.164 form (+8613800138000); allauth's phone login reads and writes it
    # through accounts.adapter.AccountAdapter.
    phone = models.CharField(_("phone number"), max_length=20, null=True, blank=True, unique=True)
    phone_verified = models.BooleanField(_("phone verified"), default=False)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_organizer(self) -> bool:
        return self.role in {self.Role.ORGANIZER, self.Role.ADMIN} or self.is_superuser

    @property
    def is_staff_member(self) -> bool:
        """Teachers, organizers and admins: people who run things rather than play."""
        return self.role in {self.Role.TEACHER, self.Role.ORGANIZER, self.Role.ADMIN}


def user_display(user: User) -> str:
    profile = getattr(user, "profile", None)
    if profile is not None and profile.nickname:
        return profile.nickname
    return user.get_username()


def validate_birth_year(value: int) -> None:
    this_year = timezone.localdate().year
    if value < MIN_BIRTH_YEAR or value > this_year:
        raise ValidationError(
            _("Enter a birth year between %(low)s and %(high)s."),
            params={"low": MIN_BIRTH_YEAR, "high": this_year},
            code="birth_year_range",
        )


class Profile(models.Model):
    class PopulationGroup(models.TextChoices):
        STUDENT = "student", _("Student")
        FARMER = "farmer", _("Farmer")
        WORKER = "worker", _("Industrial worker")
        ELDERLY = "elderly", _("Elderly")
        CIVIL_SERVANT = "civil_servant", _("Official or civil servant")
        OTHER = "other", _("Other")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    nickname = models.CharField(_("nickname"), max_length=30, blank=True)
    population_group = models.CharField(
        _("population group"),
        max_length=20,
        choices=PopulationGroup.choices,
        default=PopulationGroup.OTHER,
    )
    # Birth year, never birth date: collect the minimum (DOMAIN.md).
    birth_year = models.PositiveSmallIntegerField(
        _("birth year"), null=True, blank=True, validators=[validate_birth_year]
    )
    district = models.ForeignKey(
        District, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("district")
    )
    region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("competition region"),
    )
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("school")
    )
    # "My school is not listed" at sign-up: the name typed, kept until an organizer
    # places the student in a school of the directory (accounts.directory), which
    # empties it. The district typed with it is the profile's district.
    pending_school_name = models.CharField(
        _("school not yet in the directory"), max_length=120, blank=True
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("unit")
    )
    grade = models.PositiveSmallIntegerField(
        _("grade"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("1–6 primary, 7–9 junior secondary, 10–12 senior secondary."),
    )
    elder_mode = models.BooleanField(_("elder mode"), default=False)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=12),
                name="profile_grade_1_to_12",
            ),
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True) | Q(birth_year__gte=MIN_BIRTH_YEAR),
                name="profile_birth_year_plausible",
            ),
        ]

    def __str__(self) -> str:
        return self.nickname or str(self.user)

    @property
    def needs_guardian_consent(self) -> bool:
        """True if the holder may be under 14.

        We know only the birth year, so someone born in (this year − 14) may still be 13:
        we take the safe side and ask for consent until the year they surely turn 14.
        """
        if self.birth_year is None:
            return False
        return timezone.localdate().year - self.birth_year <= CONSENT_AGE


class GuardianConsent(models.Model):
    """An append-only record of a guardian granting or withdrawing consent.

    The current state is the newest record for the child. Rows are never updated:
    `save()` refuses to change an existing row and services only insert.
    """

    class Action(models.TextChoices):
        GRANT = "grant", _("Granted")
        WITHDRAW = "withdraw", _("Withdrawn")

    class Relationship(models.TextChoices):
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        GRANDPARENT = "grandparent", _("Grandparent")
        GUARDIAN = "guardian", _("Other legal guardian")

    child = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guardian_consents"
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    guardian_contact = models.CharField(_("guardian contact"), max_length=254)
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    # Purposes, consented to separately (PIPL art. 25 and 31).
    allow_processing = models.BooleanField(_("processing of the child's data"), default=False)
    allow_public_display = models.BooleanField(
        _("public display of name and school"), default=False
    )
    notice_version = models.CharField(_("notice version"), max_length=20)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("guardian consent record")
        verbose_name_plural = _("guardian consent records")
        constraints = [
            models.CheckConstraint(
                condition=Q(action="withdraw", allow_processing=False, allow_public_display=False)
                | Q(action="grant", allow_processing=True),
                name="consent_grant_covers_processing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.child_id} {self.action} {self.created_at:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        # Only ever INSERT: a loaded row cannot be saved again, and a new object given
        # the id of an existing row fails instead of overwriting it.
        if not self._state.adding:
            raise ValueError("Guardian consent records are append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)


class ConsentRequest(models.Model):
    """An append-only record of a consent link sent to a guardian.

    The newest request holds the guardian contact to which a new link is sent when the
    child asks again; the count of recent requests caps how often that may happen.
    Deleted with the account (it is the guardian's personal data).
    """

    child = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_requests"
    )
    guardian_contact = models.CharField(_("guardian contact"), max_length=254)
    relationship = models.CharField(
        _("relationship"), max_length=20, choices=GuardianConsent.Relationship.choices
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("guardian consent request")
        verbose_name_plural = _("guardian consent requests")

    def __str__(self) -> str:
        return f"{self.child_id} request {self.created_at:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        # Only ever INSERT: a loaded row cannot be saved again, and a new object given
        # the id of an existing row fails instead of overwriting it.
        if not self._state.adding:
            raise ValueError("Guardian consent requests are append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)


class DirectoryChange(models.Model):
    """The audit trail of the school and unit directory: every import, edit, merge and
    placement of a student whose school was not listed, with who did it and what it
    touched (ids and counts, no personal data). Rows are only inserted."""

    class Action(models.TextChoices):
        IMPORT = "import", _("Import")
        EDIT = "edit", _("Edit")
        MERGE = "merge", _("Merge")
        PLACE = "place", _("Placement")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="directory_changes",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    summary = models.JSONField(_("summary"), default=dict)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("directory change")
        verbose_name_plural = _("directory changes")

    def __str__(self) -> str:
        return f"{self.action} {self.created_at:%Y-%m-%d %H:%M}"
