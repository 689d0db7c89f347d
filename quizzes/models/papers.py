"""Papers: blueprints (how to draw a paper from a bank), the papers drawn per attempt
with their items and responses, exposure counts, and the practice modes' records: the
daily quiz's shared set, timed challenges and adaptive self-tests.

A paper's items point at the question version the player saw; a response is marked once
(one per paper item, a database constraint). Keys and explanations are due only after
the paper is submitted (quizzes.papers.selectors).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from quizzes.models.bank import Bank, Question, QuestionVersion


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
    # Set once by quizzes.papers.marking.paper_close; keys and explanations are due from then on.
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


class PaperDraft(models.Model):
    """The answer a player last saved (autosaved) to one item of a whole paper not yet
    submitted (quizzes.papers.autosave): one row per item, the latest save wins.
    `answer` is None when the player cleared it. `answer_id` is the client's id of the
    save that wrote it and `earlier_ids` those of the saves before it (the newest
    EARLIER_IDS), so a save sent again, even after a newer one, changes nothing.
    Submitting the paper turns the drafts into responses and deletes them."""

    item = models.OneToOneField(
        PaperItem, primary_key=True, on_delete=models.CASCADE, related_name="draft"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="drafts")
    answer = models.JSONField(null=True, blank=True)
    answer_id = models.CharField(max_length=64)
    earlier_ids = models.JSONField(default=list, blank=True)
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("saved answer")
        verbose_name_plural = _("saved answers")

    def __str__(self) -> str:
        return f"P{self.paper_id} item {self.item_id} (saved)"


# --- Practice: daily quizzes and timed challenges (quizzes.play.daily, .challenge) ----


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


# --- Adaptive tests (quizzes.play.adaptive) ---------------------------------------------


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
