"""Live rounds. The database owns the game (docs/architecture.md, live-round rule 1): status,
current question, deadlines and the broadcast sequence number live here, and answers
are rows with a unique constraint per question and player. Consumers hold only their
connections."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LiveRound(models.Model):
    class Status(models.TextChoices):
        LOBBY = "lobby", _("Lobby")
        QUESTION_OPEN = "question_open", _("Question open")
        QUESTION_CLOSED = "question_closed", _("Question closed")
        REVEALED = "revealed", _("Answer revealed")
        LEADERBOARD = "leaderboard", _("Leaderboard")
        PAUSED = "paused", _("Paused")
        FINISHED = "finished", _("Finished")
        ABORTED = "aborted", _("Aborted")

    class Kind(models.TextChoices):
        CLASSIC = "classic", _("Classic (speed and accuracy)")
        ACCURACY = "accuracy", _("Accuracy only")
        # Teams of three on stage, one device (the captain's) per team; every team
        # starts at 100; compulsory, buzzer and risk questions (docs/scoring.md, 6).
        FINALS = "finals", _("Stage finals (teams; compulsory, buzzer and risk questions)")

    class TeamMode(models.TextChoices):
        NONE = "", _("Individual")
        MEAN = "mean", _("Teams: the mean of the members' points")
        DEVICE = "device", _("Teams: one device per team")

    class JoinMode(models.TextChoices):
        OPEN = "open", _("Open: anyone with the PIN, with a nickname")
        ROSTER = "roster", _("Roster: students with a join token")

    title = models.CharField(_("title"), max_length=120)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_rounds"
    )
    pin = models.CharField(_("PIN"), max_length=6, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CLASSIC)
    join_mode = models.CharField(max_length=8, choices=JoinMode.choices, default=JoinMode.OPEN)
    team_mode = models.CharField(
        max_length=8, choices=TeamMode.choices, default=TeamMode.NONE, blank=True
    )
    streak_bonus = models.BooleanField(_("streak bonus"), default=False)
    seconds_per_question = models.PositiveSmallIntegerField(default=20)
    grace_ms = models.PositiveIntegerField(default=500)
    locked = models.BooleanField(_("locked: no more players may join"), default=False)

    # Engine state (realtime.engine.RoundState), changed only by services with
    # conditional updates on `seq`.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LOBBY)
    question_index = models.IntegerField(default=-1)
    opened_at = models.BigIntegerField(null=True, blank=True)  # server ms since epoch
    closes_at = models.BigIntegerField(null=True, blank=True)
    paused_from = models.CharField(max_length=16, blank=True)
    remaining_ms = models.IntegerField(null=True, blank=True)
    seq = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("live round")
        verbose_name_plural = _("live rounds")
        constraints = [
            # A PIN names one round while it can still be joined or played.
            models.UniqueConstraint(
                fields=["pin"],
                condition=~Q(status__in=["finished", "aborted"]),
                name="pin_unique_while_active",
            ),
            models.CheckConstraint(condition=Q(pin__regex=r"^[0-9]{6}$"), name="pin_six_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.pin})"

    @property
    def group_name(self) -> str:
        return f"round.{self.pk}"

    @property
    def plays_as_teams(self) -> bool:
        return self.kind == self.Kind.FINALS or bool(self.team_mode)

    @property
    def captains_answer(self) -> bool:
        """One device per team: only each team's captain answers, buzzes and stakes."""
        return self.kind == self.Kind.FINALS or self.team_mode == self.TeamMode.DEVICE


class LiveTeam(models.Model):
    round = models.ForeignKey(LiveRound, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("team name"), max_length=60)
    school = models.ForeignKey(
        "accounts.School", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["round", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "name"], name="team_name_in_round")]

    def __str__(self) -> str:
        return self.name


class LiveQuestion(models.Model):
    class Turn(models.TextChoices):
        ALL = "all", _("Everyone answers")
        COMPULSORY = "compulsory", _("Compulsory (必答): one named team answers")
        BUZZER = "buzzer", _("Buzzer (抢答): the first team to buzz answers")
        RISK = "risk", _("Risk (风险): one named team stakes 10, 20 or 30 first")
        TIEBREAK = "tiebreak", _("Tie-break: no points, breaks ties")

    round = models.ForeignKey(LiveRound, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    # The exact version players saw: answers point at it, edits to the bank do not.
    version = models.ForeignKey("quizzes.QuestionVersion", on_delete=models.PROTECT)
    points = models.PositiveIntegerField(default=1000)  # P: 1000, 2000 double, 0 none
    seconds = models.PositiveSmallIntegerField(null=True, blank=True)
    voided = models.BooleanField(default=False)
    # Stage finals: who answers, and for how much (compulsory and buzzer questions).
    turn = models.CharField(max_length=10, choices=Turn.choices, default=Turn.ALL)
    team = models.ForeignKey(
        LiveTeam, null=True, blank=True, on_delete=models.SET_NULL, related_name="turns"
    )
    value = models.PositiveSmallIntegerField(default=10)
    # Server ms when this question opened (the round keeps only the current one).
    opened_at = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["round", "position"], name="live_question_position"),
            models.CheckConstraint(
                condition=~Q(turn__in=["compulsory", "risk"]) | Q(team__isnull=False),
                name="named_turn_has_a_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}#{self.position}"


def new_player_token() -> str:
    return secrets.token_urlsafe(24)


def new_permutation_seed() -> int:
    return secrets.randbits(62)


class LivePlayer(models.Model):
    round = models.ForeignKey(LiveRound, on_delete=models.CASCADE, related_name="players")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    nickname = models.CharField(max_length=30)
    # The secret a phone keeps to resume as the same player after a reconnect.
    token = models.CharField(max_length=64, unique=True, default=new_player_token)
    # Seed of this player's private option order (sent only to this player at join).
    permutation_seed = models.BigIntegerField(default=new_permutation_seed)
    kicked = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)
    team = models.ForeignKey(
        LiveTeam, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # The team's device in one-device-per-team rounds and finals: the first to join it.
    is_captain = models.BooleanField(default=False)
    # Which device holds the player's seat: counts up each time the join slip is used on
    # another device, which takes the seat over (realtime.live.services.roster_join).
    device = models.PositiveIntegerField(default=0)
    # Where the player competes for (school and district leaderboards): fixed by the
    # roster in roster mode, from the profile of a signed-in player otherwise.
    school = models.ForeignKey(
        "accounts.School", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    district = models.ForeignKey(
        "accounts.District", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["round", "joined_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team"], condition=Q(is_captain=True), name="one_captain_per_team"
            ),
            models.UniqueConstraint(fields=["round", "nickname"], name="nickname_unique_in_round"),
            models.UniqueConstraint(
                fields=["round", "user"],
                condition=Q(user__isnull=False),
                name="one_player_per_user_in_round",
            ),
        ]

    def __str__(self) -> str:
        return self.nickname


class TimedAnswer(models.Model):
    """An accepted answer, judged by the server's receive time (live rounds and PK)."""

    answer_id = models.CharField(max_length=64)  # chosen by the client, for idempotency
    response = models.JSONField()
    received_at = models.BigIntegerField()  # server ms since epoch, when it arrived
    elapsed_ms = models.IntegerField()
    correct = models.BooleanField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.player_id}@{self.question_id}"


class LiveAnswer(TimedAnswer):
    round = models.ForeignKey(LiveRound, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(LiveQuestion, on_delete=models.CASCADE, related_name="answers")
    player = models.ForeignKey(LivePlayer, on_delete=models.CASCADE, related_name="answers")

    class Meta:
        ordering = ["question", "received_at"]
        constraints = [
            models.UniqueConstraint(fields=["question", "player"], name="one_answer_per_question"),
            models.UniqueConstraint(fields=["player", "answer_id"], name="answer_id_unique"),
        ]


class LiveBuzz(models.Model):
    """A team's buzz on a buzzer question, stamped with the server's receive time. The
    first valid one by that time answers; buzzes less than 1 ms apart are a tie the host
    awards to one of them (realtime.scoring.buzzer_outcome)."""

    question = models.ForeignKey(LiveQuestion, on_delete=models.CASCADE, related_name="buzzes")
    team = models.ForeignKey(LiveTeam, on_delete=models.CASCADE, related_name="+")
    player = models.ForeignKey(LivePlayer, on_delete=models.CASCADE, related_name="+")
    received_at = models.BigIntegerField()  # server ms since epoch (what frames show)
    # The same receive time in µs, stamped as the socket took the message in: what
    # orders buzzes and finds ties.
    received_us = models.BigIntegerField()
    # The host gave the question to this buzz after a tie (at most one per question).
    awarded = models.BooleanField(default=False)

    class Meta:
        ordering = ["question", "received_us", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question", "team"], name="one_buzz_per_team"),
            models.UniqueConstraint(
                fields=["question"], condition=Q(awarded=True), name="one_award_per_question"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}@{self.question_id}:{self.received_at}"


class LiveStake(models.Model):
    """The stake (10, 20 or 30) a team chose for a risk question before it was shown."""

    question = models.ForeignKey(LiveQuestion, on_delete=models.CASCADE, related_name="stakes")
    team = models.ForeignKey(LiveTeam, on_delete=models.CASCADE, related_name="+")
    player = models.ForeignKey(LivePlayer, on_delete=models.CASCADE, related_name="+")
    stake = models.PositiveSmallIntegerField()
    chosen_at = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "team"], name="one_stake_per_team"),
            models.CheckConstraint(condition=Q(stake__in=[10, 20, 30]), name="stake_10_20_30"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}@{self.question_id}:{self.stake}"


def new_roster_token() -> str:
    return secrets.token_urlsafe(12)


class RosterEntry(models.Model):
    """A student on a roster-mode round's list, with a join token printed on a slip:
    the student joins with it and types nothing; school and district come from here."""

    round = models.ForeignKey(LiveRound, on_delete=models.CASCADE, related_name="roster")
    name = models.CharField(_("name on the leaderboard"), max_length=30)
    school = models.ForeignKey("accounts.School", on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(
        LiveTeam, null=True, blank=True, on_delete=models.SET_NULL, related_name="roster"
    )
    token = models.CharField(max_length=32, unique=True, default=new_roster_token)
    player = models.OneToOneField(
        LivePlayer, null=True, blank=True, on_delete=models.SET_NULL, related_name="roster_entry"
    )

    class Meta:
        ordering = ["round", "school", "name"]
        constraints = [
            models.UniqueConstraint(fields=["round", "name"], name="roster_name_unique_in_round")
        ]

    def __str__(self) -> str:
        return self.name


# --- 1-v-1 PK (realtime.pk): two players, the same questions, the clock decides ---------


class PkMatch(models.Model):
    """A 1-v-1 PK match. Its state is a `realtime.engine.RoundState` like a live
    round's (lobby → question_open → question_closed → revealed → … → finished), moved
    by the clock instead of a host: `realtime.pk.clock.match_advance`, with conditional
    updates on `seq`."""

    status = models.CharField(
        max_length=16, choices=LiveRound.Status.choices, default=LiveRound.Status.LOBBY
    )
    question_index = models.IntegerField(default=-1)
    opened_at = models.BigIntegerField(null=True, blank=True)  # server ms since epoch
    closes_at = models.BigIntegerField(null=True, blank=True)
    # When the clock moves the match on from the lobby (the first question) or from a
    # reveal (the next question, or the result).
    next_at = models.BigIntegerField(null=True, blank=True)
    seq = models.PositiveIntegerField(default=0)
    question_ms = models.PositiveIntegerField(default=15_000)
    reveal_ms = models.PositiveIntegerField(default=3_000)
    grace_ms = models.PositiveIntegerField(default=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("PK match")
        verbose_name_plural = _("PK matches")

    def __str__(self) -> str:
        return f"PK {self.pk}"

    @property
    def group_name(self) -> str:
        return f"pk.{self.pk}"


class PkQuestion(models.Model):
    """A question of a match, with its own window once opened: answers are judged by
    their arrival stamp against it, whatever the match's clock has done since."""

    match = models.ForeignKey(PkMatch, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    version = models.ForeignKey("quizzes.QuestionVersion", on_delete=models.PROTECT)
    opened_at = models.BigIntegerField(null=True, blank=True)  # server ms, as scheduled
    closes_at = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["match", "position"]
        constraints = [
            models.UniqueConstraint(fields=["match", "position"], name="pk_question_position")
        ]

    def __str__(self) -> str:
        return f"PK {self.match_id}#{self.position}"


class PkPlayer(models.Model):
    """One of the two players of a match: seat 0 waited first. The opponent sees only
    `nickname` (a minor's name and school never leave the server)."""

    match = models.ForeignKey(PkMatch, on_delete=models.CASCADE, related_name="players")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seat = models.PositiveSmallIntegerField()
    nickname = models.CharField(max_length=30)
    token = models.CharField(max_length=64, unique=True, default=new_player_token)
    permutation_seed = models.BigIntegerField(default=new_permutation_seed)

    class Meta:
        ordering = ["match", "seat"]
        constraints = [
            models.UniqueConstraint(fields=["match", "seat"], name="pk_seat_once"),
            models.UniqueConstraint(fields=["match", "user"], name="pk_user_once"),
            models.CheckConstraint(condition=Q(seat__in=[0, 1]), name="pk_two_seats"),
        ]

    def __str__(self) -> str:
        return self.nickname


class PkEntry(models.Model):
    """A player waiting in the PK queue: one row per waiting user (a second find is the
    same entry), deleted when the user is matched, cancels or the wait ends. Matching
    claims waiting rows in bulk and deletes them in the transaction that makes the
    matches (realtime.pk.matching), so two server processes never pair a player twice.
    Waiting ends at `since` + the wait."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pk_entry"
    )
    since = models.BigIntegerField(db_index=True)  # server ms when this wait began

    def __str__(self) -> str:
        return f"{self.user_id} since {self.since}"


class PkAnswer(TimedAnswer):
    match = models.ForeignKey(PkMatch, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(PkQuestion, on_delete=models.CASCADE, related_name="answers")
    player = models.ForeignKey(PkPlayer, on_delete=models.CASCADE, related_name="answers")

    class Meta:
        ordering = ["question", "received_at"]
        constraints = [
            models.UniqueConstraint(fields=["question", "player"], name="pk_one_answer"),
            models.UniqueConstraint(fields=["player", "answer_id"], name="pk_answer_id_unique"),
        ]
