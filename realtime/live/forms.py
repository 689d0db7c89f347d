"""Forms of the live-round pages: a new round, and the host's lobby setup (teams, the
turns of the stage finals, a roster file). They only parse and check input; the
writes are realtime.live.services', called by the views."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import School
from quizzes.bank.content import without_controls
from quizzes.models import Bank, QuestionVersion, VersionStatus

from ..models import LiveQuestion, LiveRound, LiveTeam

MIN_SECONDS, MAX_SECONDS = 5, 300
MAX_QUESTIONS = 100
# What a round's frames carry of its title and teams (every snapshot lists the teams;
# leaderboards name them): bounded so that frames stay within the client's message cap
# (docs/protocol.md, "Frame sizes"), with the question limits of quizzes.bank.content.
MAX_TITLE = 120
MAX_TEAMS = 12
MAX_TEAM_NAME = 30
MAX_VALUE = 100
ROSTER_EXTENSIONS = (".xlsx", ".csv")
ROSTER_MAX_BYTES = 1024 * 1024
NAMED_TURNS = (LiveQuestion.Turn.COMPULSORY, LiveQuestion.Turn.RISK)


class RoundForm(forms.Form):
    field_order = [
        "title",
        "seconds_per_question",
        "kind",
        "team_mode",
        "join_mode",
        "versions",
    ]

    title = forms.CharField(label=gettext_lazy("Title"), max_length=MAX_TITLE)
    versions = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Questions"),
        queryset=QuestionVersion.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Published questions of this bank, played in this order."),
        error_messages={
            "required": gettext_lazy("Choose at least one question."),
            "invalid_choice": gettext_lazy("Choose published questions of this bank only."),
            "invalid_pk_value": gettext_lazy("Choose published questions of this bank only."),
        },
    )
    seconds_per_question = forms.IntegerField(
        label=gettext_lazy("Seconds per question"),
        min_value=MIN_SECONDS,
        max_value=MAX_SECONDS,
        initial=20,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Scoring"),
        choices=LiveRound.Kind.choices,
        initial=LiveRound.Kind.CLASSIC,
        widget=forms.RadioSelect,
    )
    team_mode = forms.ChoiceField(
        label=gettext_lazy("Team play"),
        choices=LiveRound.TeamMode.choices,
        initial=LiveRound.TeamMode.NONE,
        required=False,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "The stage finals are always played by teams, with one device per team."
        ),
    )
    join_mode = forms.ChoiceField(
        label=gettext_lazy("Joining"),
        choices=LiveRound.JoinMode.choices,
        initial=LiveRound.JoinMode.OPEN,
        required=False,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "With a roster, you upload the list of students before the start and print "
            "a join slip for each."
        ),
    )

    def __init__(self, *args, bank: Bank, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["versions"]
        field.queryset = (
            QuestionVersion.objects.filter(question__bank=bank, status=VersionStatus.PUBLISHED)
            .select_related("question")
            .order_by("question_id")
        )
        field.label_from_instance = self.version_label

    @staticmethod
    def version_label(version: QuestionVersion) -> str:
        stem = Truncator(strip_tags(version.stem)).chars(80)
        return f"#{version.question_id} · {version.get_type_display()} · {stem}"

    def clean_versions(self):
        versions = list(self.cleaned_data["versions"])
        if len(versions) > MAX_QUESTIONS:
            raise ValidationError(
                _("A live round has at most %(n)s questions.") % {"n": MAX_QUESTIONS}
            )
        return versions

    def clean_title(self) -> str:
        title = " ".join(without_controls(self.cleaned_data["title"]).split())
        if not title:
            raise ValidationError(self.fields["title"].error_messages["required"])
        return title

    def clean_join_mode(self) -> str:
        return self.cleaned_data.get("join_mode") or LiveRound.JoinMode.OPEN

    def clean_team_mode(self) -> str:
        return self.cleaned_data.get("team_mode") or LiveRound.TeamMode.NONE

    def clean(self):
        data = super().clean()
        if data.get("kind") == LiveRound.Kind.FINALS:
            if data.get("team_mode") == LiveRound.TeamMode.MEAN:
                self.add_error(
                    "team_mode",
                    _("The stage finals are played with one device per team, not a mean."),
                )
            else:
                data["team_mode"] = LiveRound.TeamMode.DEVICE
        return data


# --- the lobby setup of the host console ---------------------------------------------------


def school_choices() -> list:
    """Schools grouped by district, for a select that a keyboard can search by typing."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for school in School.objects.select_related("district").order_by("district__code", "name"):
        groups.setdefault(str(school.district), []).append((str(school.pk), school.name))
    return [("", "—"), *groups.items()]


class TeamForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Team name"), max_length=MAX_TEAM_NAME)
    school = forms.ChoiceField(label=gettext_lazy("School (optional)"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "setup-team-%s")
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = school_choices()

    def clean_name(self) -> str:
        name = " ".join(without_controls(self.cleaned_data["name"]).split())
        if not name:
            raise ValidationError(_("A team needs a name."))
        return name

    def clean_school(self) -> School | None:
        value = self.cleaned_data.get("school")
        if not value:
            return None
        school = School.objects.filter(pk=value).first()
        if school is None:  # ChoiceField already refuses ids it did not offer
            raise ValidationError(_("Choose a school from the list."))
        return school


class TurnsForm(forms.Form):
    """One row per question of the finals: who answers it, and for how many points."""

    def __init__(self, *args, live: LiveRound, **kwargs) -> None:
        kwargs.setdefault("auto_id", "setup-%s")
        super().__init__(*args, **kwargs)
        self.live = live
        self.teams = {str(t.pk): t for t in live.teams.all()}
        self.questions = list(live.questions.select_related("version", "team").order_by("position"))
        team_choices = [("", "—"), *((pk, t.name) for pk, t in self.teams.items())]
        for question in self.questions:
            n = question.position
            self.fields[f"turn_{n}"] = forms.ChoiceField(
                label=gettext_lazy("Turn"),
                choices=LiveQuestion.Turn.choices,
                initial=question.turn,
            )
            self.fields[f"team_{n}"] = forms.ChoiceField(
                label=gettext_lazy("Team"),
                choices=team_choices,
                required=False,
                initial=str(question.team_id or ""),
            )
            self.fields[f"value_{n}"] = forms.IntegerField(
                label=gettext_lazy("Points"),
                min_value=1,
                max_value=MAX_VALUE,
                initial=question.value,
            )

    def rows(self) -> list[dict]:
        """For the template: each question with its three fields."""
        return [
            {
                "question": q,
                "number": q.position + 1,
                "stem": Truncator(strip_tags(q.version.stem)).chars(60),
                "turn": self[f"turn_{q.position}"],
                "team": self[f"team_{q.position}"],
                "value": self[f"value_{q.position}"],
            }
            for q in self.questions
        ]

    def clean(self):
        data = super().clean()
        for question in self.questions:
            n = question.position
            turn, team = data.get(f"turn_{n}"), data.get(f"team_{n}")
            if turn in NAMED_TURNS and not team:
                self.add_error(f"team_{n}", _("Name the team whose turn it is."))
        return data

    def turns(self) -> list[tuple[int, str, LiveTeam | None, int]]:
        """(position, turn, team, value) of every question, once the form is valid."""
        data = self.cleaned_data
        result = []
        for question in self.questions:
            n = question.position
            turn = data[f"turn_{n}"]
            team = self.teams.get(data.get(f"team_{n}") or "") if turn in NAMED_TURNS else None
            result.append((n, turn, team, data[f"value_{n}"]))
        return result


class RosterForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Roster file"),
        help_text=gettext_lazy(
            "Excel (.xlsx) or CSV with the columns 姓名 (name) and 学校 (school), and 队伍 "
            "(team) in team rounds; at most 1 MB. The whole file is taken, or none of it."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ROSTER_EXTENSIONS)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ROSTER_EXTENSIONS):
            raise ValidationError(_("Upload the roster as .xlsx or .csv."))
        too_big = _("The roster file is larger than 1 MB.")
        if upload.size > ROSTER_MAX_BYTES:
            raise ValidationError(too_big)
        data = upload.read(ROSTER_MAX_BYTES + 1)
        if len(data) > ROSTER_MAX_BYTES:
            raise ValidationError(too_big)
        self.file_bytes = data
        self.filename = Path(upload.name).name
        return upload
