"""The question bank.

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


# --- Papers: blueprints, drawn papers, responses, item statistics -------------------


class Blueprint(models.Model):
    """How to draw a paper from a bank: cells (see quizzes.papers.blueprint) and an exposure cap.

    An adaptive blueprint (the literacy self-test) draws one item at a time
    (quizzes.play.adaptive): its cells' counts give each dimension's share of the test, and
    the test stops at `se_target` between `min_items` and `max_items`.

    A daily blueprint (quizzes.play.daily) draws one set of questions per day from its
    cells, the same for every player of its `audience`; a challenge blueprint gives
    its bank's auto-marked questions one at a time at random until a wrong answer or
    `time_limit` seconds have passed. A themed blueprint (quizzes.play.themes) is made on
    demand per bank and topic: one cell of that topic, untimed."""

    class Mode(models.TextChoices):
        FIXED = "fixed", _("Fixed paper")
        ADAPTIVE = "adaptive", _("Adaptive test")
        DAILY = "daily", _("Daily quiz")
        CHALLENGE = "challenge", _("Timed challenge")
        THEMED = "themed", _("Themed practice")

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="blueprints")
    name = models.CharField(_("name"), max_length=100)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.FIXED)
    min_items = models.PositiveSmallIntegerField(_("fewest items"), default=15)
    max_items = models.PositiveSmallIntegerField(_("most items"), default=30)
    se_target = models.FloatField(
        _("target standard error"),
        default=0.30,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.0)],
    )
    # [{"type"?, "dimension"?, "topic"?, "difficulty"?, "count", "points"}, ...]: each
    # attribute a value or a list of values; validated by quizzes.papers.blueprint.parse_cells.
    cells = models.JSONField(_("cells"), default=list)
    # Most share of this blueprint's papers one item may appear in (1 = no cap).
    exposure_cap = models.FloatField(
        _("exposure cap"),
        default=1.0,
        validators=[MinValueValidator(0.001), MaxValueValidator(1.0)],
    )
    shuffle_questions = models.BooleanField(_("shuffle question order"), default=True)
    seconds_per_question = models.PositiveIntegerField(
        _("seconds per question"), null=True, blank=True
    )
    # Players may draw a practice paper from it themselves (POST /papers/start/<id>/).
    # Off by default: a contest's blueprint is not for drawing at will.
    open_to_players = models.BooleanField(_("open to players"), default=False)
    # The population group it is meant for; empty for everyone (daily quizzes, challenges).
    audience = models.CharField(
        _("audience"),
        max_length=20,
        choices=Profile.PopulationGroup.choices,
        blank=True,
        default="",
    )
    # A timed challenge's clock: the attempt ends this many seconds after it starts.
    time_limit = models.PositiveSmallIntegerField(
        _("time limit (seconds)"), default=100, validators=[MinValueValidator(1)]
    )
    # Papers drawn so far; the draw increments it first, which also serialises draws.
    draw_count = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["bank_id", "name"]
        verbose_name = _("blueprint")
        verbose_name_plural = _("blueprints")
        constraints = [
            models.UniqueConstraint(fields=["bank", "name"], name="blueprint_name_unique"),
            models.CheckConstraint(
                condition=Q(exposure_cap__gt=0) & Q(exposure_cap__lte=1),
                name="blueprint_exposure_cap_0_1",
            ),
            models.CheckConstraint(
                condition=Q(min_items__gte=1) & Q(min_items__lte=F("max_items")),
                name="blueprint_item_bounds",
            ),
            models.CheckConstraint(condition=Q(time_limit__gte=1), name="blueprint_time_limit"),
        ]

    def __str__(self) -> str:
        return self.name


class ItemExposure(models.Model):
    """How many papers of one blueprint an item is in (the exposure cap reads it)."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="exposures")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="exposures")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "question"], name="item_exposure_unique"),
        ]
        # A draw reads the items at or over the cap: WHERE blueprint = ? AND count >= ?.
        indexes = [models.Index(fields=["blueprint", "count"], name="item_exposure_count")]

    def __str__(self) -> str:
        return f"{self.blueprint_id}/Q{self.question_id}: {self.count}"


class Paper(models.Model):
    """One attempt's paper, drawn from a blueprint. The seed reproduces the draw."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.PROTECT, related_name="papers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="papers",
    )  # empty for guests
    seed = models.BigIntegerField()
    # 1 for the blueprint's first paper: with the seed, what an appeal needs to replay.
    draw_number = models.PositiveIntegerField()
    total_points = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set once by papers.paper_submit; keys and explanations are due from then on.
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # A daily quiz's day (Asia/Shanghai): one paper per player, blueprint and day.
    day = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("paper")
        verbose_name_plural = _("papers")
        constraints = [
            models.UniqueConstraint(
                fields=["blueprint", "user", "day"],
                condition=Q(day__isnull=False),
                name="one_daily_paper_per_player_and_day",
            ),
        ]

    def __str__(self) -> str:
        return f"P{self.pk}"


class PaperItem(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()  # 1-based, in the player's order
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(QuestionVersion, on_delete=models.PROTECT, related_name="+")
    # Option ids in this player's order ([] for questions without options).
    option_order = models.JSONField(default=list, blank=True)
    points = models.PositiveIntegerField()
    cell = models.PositiveSmallIntegerField()  # index of the blueprint cell it fills

    class Meta:
        ordering = ["paper_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "position"], name="paper_item_position"),
            models.UniqueConstraint(fields=["paper", "question"], name="paper_item_question"),
        ]

    def __str__(self) -> str:
        return f"P{self.paper_id}#{self.position}"


class Response(models.Model):
    """A player's answer to one paper item: one per item, never changed."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="responses")
    item = models.ForeignKey(PaperItem, on_delete=models.CASCADE, related_name="responses")
    answer = models.JSONField()
    is_correct = models.BooleanField()
    score = models.PositiveIntegerField(default=0)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["paper_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "item"], name="one_response_per_paper_item"),
        ]

    def __str__(self) -> str:
        return f"P{self.paper_id} item {self.item_id}"


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


# --- Practice: daily quizzes and timed challenges (quizzes.play.daily, .challenge) ----------


class DailySet(models.Model):
    """The questions of one daily blueprint on one day, drawn once for everyone: each
    player's paper copies them. `seed` (from the blueprint and the day) and
    `draw_number` replay the draw."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    seed = models.BigIntegerField()
    draw_number = models.PositiveIntegerField()
    # [{"question", "version", "cell", "points", "options": [ids]}, ...] in paper order.
    items = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "blueprint_id"]
        verbose_name = _("daily question set")
        verbose_name_plural = _("daily question sets")
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "day"], name="one_daily_set_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.blueprint_id} {self.day}"


class Challenge(models.Model):
    """The timed side of a challenge paper: the server's clock and the outcome. The
    paper gets one item at a time; it is submitted when the challenge ends."""

    class End(models.TextChoices):
        WRONG = "wrong", _("A wrong answer")
        TIME = "time", _("Time ran out")
        CLEARED = "cleared", _("Every question answered")

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, related_name="challenge")
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    correct = models.PositiveSmallIntegerField(default=0)
    ended_by = models.CharField(max_length=10, choices=End.choices, blank=True)
    success = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("timed challenge")
        verbose_name_plural = _("timed challenges")
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gt=F("started_at")), name="challenge_deadline_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"challenge {self.paper_id}"


# --- Adaptive tests and IRT calibration (quizzes.play.adaptive, quizzes.irt) ---------


class AdaptiveTest(models.Model):
    """The adaptive side of a paper drawn from an adaptive blueprint: the engine's
    state between items, and once finished the report. `population_group`, `district`
    and `birth_year` are copied at the start for the anonymised district monitoring
    (quizzes.play.monitoring.literacy_monitoring), which never reads the user."""

    class Level(models.TextChoices):
        LOW = "low", _("Below basic")
        BASIC = "basic", _("Basic")
        LITERATE = "literate", _("Scientifically literate")
        ADVANCED = "advanced", _("Advanced")

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, related_name="adaptive")
    # quizzes.irt.cat session state (plain lists and numbers).
    state = models.JSONField(default=dict)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    theta = models.FloatField(null=True, blank=True)
    theta_se = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)  # on the 100-point scale
    score_low = models.FloatField(null=True, blank=True)  # score at θ − SE
    score_high = models.FloatField(null=True, blank=True)  # score at θ + SE
    level = models.CharField(max_length=10, choices=Level.choices, blank=True)
    # {"<dimension>": {"answered", "correct", "score"}}
    dimensions = models.JSONField(default=dict, blank=True)
    population_group = models.CharField(
        max_length=20, choices=Profile.PopulationGroup.choices, blank=True
    )
    district = models.ForeignKey(
        "accounts.District", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("adaptive test")
        verbose_name_plural = _("adaptive tests")

    def __str__(self) -> str:
        return f"adaptive {self.paper_id}"


class CalibrationRun(models.Model):
    """One calibration of a bank's items from recorded answers (quizzes.tasks)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="calibrations")
    model = models.CharField(max_length=3, default="2pl")  # "2pl" or "3pl"
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    message = models.CharField(max_length=300, blank=True)
    # {"items", "persons", "responses", "iterations", "converged", "drifted", "anchors"}
    summary = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

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
