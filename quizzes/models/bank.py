"""The question bank, and what is measured of its items (item statistics, IRT
calibrations). Papers and the practice records are quizzes.models.papers'.

A `Question` is an item's identity inside a bank; its content lives in immutable-once-
published `QuestionVersion`s. Editing a published version makes a new draft version;
answers point at the version the player saw. Each version moves draft → in review →
published → retired (or superseded by a newer published version), and the reviewer
who publishes is never its author: the database checks both rules.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from quizzes.models.jobs import BackgroundJob


class Bank(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="owned_banks", verbose_name=_("owners")
    )
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="reviewed_banks",
        blank=True,
        verbose_name=_("reviewers"),
    )
    # Organizers the bank is shared with may draw papers from it; they do not see keys.
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="shared_banks",
        blank=True,
        verbose_name=_("shared with"),
    )
    is_demo = models.BooleanField(_("demo content"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("question bank")
        verbose_name_plural = _("question banks")

    def __str__(self) -> str:
        return self.name


class QuestionType(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUE_FALSE = "true_false", _("True or false")
    FILL = "fill", _("Fill in the blank")
    NUMERIC = "numeric", _("Numeric")
    ORDERING = "ordering", _("Ordering")


CHOICE_TYPES = {QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.ORDERING}


class Dimension(models.TextChoices):
    """The four parts of the national literacy instrument (40/20/20/20 points)."""

    KNOWLEDGE = "knowledge", _("Scientific knowledge")
    METHOD = "method", _("Scientific methods")
    SPIRIT = "spirit", _("Scientific spirit and thinking")
    APPLICATION = "application", _("Applying science")


class Difficulty(models.TextChoices):
    EASY = "easy", _("Easy")
    MEDIUM = "medium", _("Medium")
    HARD = "hard", _("Hard")


class GradeBand(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary")


class Topic(models.TextChoices):
    HEALTH = "health", _("Health")
    EMERGENCY = "emergency", _("Emergency preparedness")
    ANTI_FRAUD = "anti_fraud", _("Anti-fraud")
    DIGITAL_LIFE = "digital_life", _("Digital life")
    AGRICULTURE = "agriculture", _("Agriculture")
    CHEMISTRY_HOME = "chemistry_home", _("Chemistry at home")
    SPACE = "space", _("Space")
    ENERGY = "energy", _("Energy")
    ENVIRONMENT = "environment", _("Environment")
    PHYSICS = "physics", _("Physics and technology")
    LIFE_SCIENCE = "life_science", _("Life sciences")
    EARTH_SCIENCE = "earth_science", _("Earth sciences")
    SCIENTIFIC_METHOD = "scientific_method", _("Scientific method")
    DIGITAL_TECH = "digital_tech", _("Digital technology")
    OTHER = "other", _("Other")


AUDIENCES = {value for value, _label in Profile.PopulationGroup.choices}


class Question(models.Model):
    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="questions")
    # Stable across versions and exports, so a bank can go out and come back.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # How many drawn papers included this item (exposure control reads it).
    exposure_count = models.PositiveIntegerField(default=0)
    is_demo = models.BooleanField(default=False)

    class Meta:
        ordering = ["bank", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return f"Q{self.pk}"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")
    RETIRED = "retired", _("Retired")


OPEN_STATUSES = (VersionStatus.DRAFT, VersionStatus.IN_REVIEW)


class QuestionVersion(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    type = models.CharField(_("type"), max_length=12, choices=QuestionType.choices)
    # Sanitised HTML (quizzes.rich_text): safe to render with |safe.
    stem = models.TextField(_("stem"))
    explanation = models.TextField(_("explanation"), blank=True)
    # [{"id": "<opaque>", "text": "<sanitised html>"}, ...]; empty for fill/numeric/true_false.
    options = models.JSONField(default=list, blank=True)
    # single/multiple: {"options": [ids]}; true_false: {"value": bool};
    # fill: {"accepted": [str]}; numeric: {"value": float, "tolerance": float, "unit": str};
    # ordering: {"order": [ids]}.
    key = models.JSONField()
    source = models.CharField(_("source / reference"), max_length=300, blank=True)
    difficulty = models.CharField(
        _("difficulty"), max_length=8, choices=Difficulty.choices, default=Difficulty.MEDIUM
    )
    dimension = models.CharField(_("dimension"), max_length=12, choices=Dimension.choices)
    benchmark = models.PositiveSmallIntegerField(
        _("benchmark"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(26)],
    )
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    audience = models.JSONField(_("audience"), default=list, blank=True)
    grade_band = models.CharField(
        _("grade band"), max_length=8, choices=GradeBand.choices, blank=True
    )
    collection = models.CharField(_("themed collection"), max_length=50, blank=True)
    # Optional English text, where a translation exists.
    stem_en = models.TextField(blank=True)
    explanation_en = models.TextField(blank=True)
    # IRT parameters: empty until calibrated.
    irt_a = models.FloatField(null=True, blank=True)
    irt_b = models.FloatField(null=True, blank=True)
    irt_c = models.FloatField(null=True, blank=True)
    calibrated_at = models.DateTimeField(null=True, blank=True)
    calibration_n = models.PositiveIntegerField(null=True, blank=True)
    # Normalised stem text for search and near-duplicate checks.
    search_text = models.TextField(blank=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["question_id", "-number"]
        verbose_name = _("question version")
        verbose_name_plural = _("question versions")
        constraints = [
            models.UniqueConstraint(fields=["question", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["question"],
                condition=Q(status="published"),
                name="one_published_version_per_question",
            ),
            models.UniqueConstraint(
                fields=["question"],
                condition=Q(status__in=["draft", "in_review"]),
                name="one_open_version_per_question",
            ),
            models.CheckConstraint(
                condition=Q(reviewer__isnull=True) | ~Q(reviewer=F("author")),
                name="reviewer_is_not_author",
            ),
            models.CheckConstraint(
                condition=Q(benchmark__isnull=True) | Q(benchmark__gte=1, benchmark__lte=26),
                name="benchmark_1_to_26",
            ),
        ]
        indexes = [models.Index(fields=["status", "dimension", "topic", "difficulty"])]

    def __str__(self) -> str:
        return f"Q{self.question_id} v{self.number}"


class AuditEntry(models.Model):
    """Who changed what in a bank: one row per action, never updated."""

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="audit")
    question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.CASCADE, related_name="audit"
    )
    version = models.ForeignKey(
        QuestionVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"


# --- Measurement: item statistics and IRT calibration (quizzes.bank, quizzes.irt) ----


class ItemStatistics(models.Model):
    """Classical item statistics of one question version, from paper responses
    (computed by quizzes.tasks.item_statistics; see quizzes.bank.statistics)."""

    version = models.OneToOneField(
        QuestionVersion, on_delete=models.CASCADE, related_name="statistics"
    )
    responses = models.PositiveIntegerField(default=0)
    exposure_count = models.PositiveIntegerField(default=0)  # papers it was drawn into
    facility = models.FloatField(null=True, blank=True)  # proportion correct
    discrimination = models.FloatField(null=True, blank=True)  # corrected point-biserial
    # {"<option id or true/false>": times chosen}
    distractors = models.JSONField(default=dict, blank=True)
    # [{"code": "negative_discrimination"} | {"code": "unused_distractor", "option": id}]
    flags = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("item statistics")
        verbose_name_plural = _("item statistics")

    def __str__(self) -> str:
        return f"stats {self.version}"


class CalibrationRun(BackgroundJob):
    """One calibration of a bank's items from recorded answers (quizzes.tasks). Its
    status, task id, heartbeat and expiry follow the background-job rule
    (quizzes.models.jobs): a killed worker or a lost task never locks the bank."""

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="calibrations")
    model = models.CharField(max_length=3, default="2pl")  # "2pl" or "3pl"
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    # {"items", "persons", "responses", "iterations", "converged", "drifted", "anchors"}
    summary = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("calibration run")
        verbose_name_plural = _("calibration runs")

    def __str__(self) -> str:
        return f"calibration {self.pk} ({self.status})"


class ItemParameters(models.Model):
    """IRT parameters of one question version, from the last calibration that had
    enough answers for it. Versions without a row get priors from their difficulty
    label (quizzes.irt.model.prior_params)."""

    version = models.OneToOneField(QuestionVersion, on_delete=models.CASCADE, related_name="irt")
    a = models.FloatField()
    b = models.FloatField()
    c = models.FloatField(default=0.0)
    se_a = models.FloatField(null=True, blank=True)
    se_b = models.FloatField(null=True, blank=True)
    responses = models.PositiveIntegerField(default=0)
    # An anchor keeps its parameters in later calibrations, holding the scale.
    anchor = models.BooleanField(default=False)
    # [{"code": "b_moved", "from", "to"}, ...] from the last calibration
    drift = models.JSONField(default=list, blank=True)
    run = models.ForeignKey(
        CalibrationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    calibrated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("item parameters")
        verbose_name_plural = _("item parameters")
        constraints = [
            models.CheckConstraint(condition=Q(a__gt=0), name="irt_a_positive"),
            models.CheckConstraint(condition=Q(c__gte=0) & Q(c__lt=1), name="irt_c_0_1"),
        ]

    def __str__(self) -> str:
        return f"irt {self.version_id}: a={self.a:.2f} b={self.b:.2f}"
