"""Organizer forms for paper blueprints: one form per mode and a formset of cell rows.

A cell row is a paper's slot: filters (dimension, type, topic, difficulty; several
values allowed, none for any) with a count of questions and the points of each. Rows
are checked one by one with quizzes.papers.blueprint.parse_cells so that each problem shows
next to its row; wholly empty rows are ignored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from quizzes.models import Blueprint, Difficulty, Dimension, QuestionType, Topic
from quizzes.papers import blueprint as engine
from quizzes.play.adaptive import NATIONAL_SHARES, adaptive_cells, shares_of

Mode = Blueprint.Mode
FILTERS = (
    ("dimension", _("Dimension"), Dimension.choices),
    ("type", _("Type"), QuestionType.choices),
    ("topic", _("Topic"), Topic.choices),
    ("difficulty", _("Difficulty"), Difficulty.choices),
)
MAX_ROWS = 40
# The national literacy scale's split (40/20/20/20) as a starting point: a 20-question
# paper worth 100 points, and a daily quiz of five questions.
FIXED_START = [
    {"dimension": "knowledge", "count": 8, "points": 5},
    {"dimension": "method", "count": 4, "points": 5},
    {"dimension": "spirit", "count": 4, "points": 5},
    {"dimension": "application", "count": 4, "points": 5},
]
DAILY_START = [
    {"dimension": "knowledge", "count": 2, "points": 20},
    {"dimension": "method", "count": 1, "points": 20},
    {"dimension": "spirit", "count": 1, "points": 20},
    {"dimension": "application", "count": 1, "points": 20},
]
CELL_MODES = (Mode.FIXED, Mode.DAILY)


def _label(field: str):
    """The model field's own (translated) name, as a ModelForm would label it."""
    return capfirst(Blueprint._meta.get_field(field).verbose_name)


def _blank(label):
    return [("", label)]


class CellForm(forms.Form):
    dimension = forms.MultipleChoiceField(
        label=_("Dimension"), choices=Dimension.choices, required=False
    )
    type = forms.MultipleChoiceField(label=_("Type"), choices=QuestionType.choices, required=False)
    topic = forms.MultipleChoiceField(label=_("Topic"), choices=Topic.choices, required=False)
    difficulty = forms.MultipleChoiceField(
        label=_("Difficulty"), choices=Difficulty.choices, required=False
    )
    count = forms.IntegerField(label=_("Questions"), min_value=0, max_value=500, required=False)
    points = forms.IntegerField(label=_("Points each"), min_value=0, max_value=1000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, *_rest in FILTERS:
            self.fields[name].widget.attrs.update(size=4, title=gettext("None chosen: any"))

    def clean(self):
        data = super().clean()
        filled = any(data.get(name) for name, *_rest in FILTERS)
        if data.get("count") in (None, "") and not filled:
            self.cell = None  # an empty row
            return data
        if data.get("count") in (None, ""):
            self.add_error("count", gettext("Give the number of questions."))
            return data
        cell: dict[str, Any] = {}
        for name, *_rest in FILTERS:
            values = data.get(name) or []
            if len(values) == 1:
                cell[name] = values[0]
            elif values:
                cell[name] = list(values)
        cell["count"] = data["count"]
        cell["points"] = 1 if data.get("points") in (None, "") else data["points"]
        self.cell = cell
        return data

    @staticmethod
    def initial_of(cell: dict[str, Any]) -> dict[str, Any]:
        row = {name: _as_list(cell.get(name)) for name, *_rest in FILTERS}
        return {**row, "count": cell.get("count"), "points": cell.get("points", 1)}


def _as_list(value) -> list[str]:
    if value in (None, "", []):
        return []
    return [value] if isinstance(value, str) else list(value)


class BaseCellFormSet(forms.BaseFormSet):
    """The rows as cells (`self.cells`) and, for each cell, its row (`self.rows`)."""

    def clean(self):
        self.cells: list[dict[str, Any]] = []
        self.rows: list[int] = []
        if any(form.errors for form in self.forms):
            return
        for index, form in enumerate(self.forms):
            cell = getattr(form, "cell", None)
            if cell is None:
                continue
            try:
                engine.parse_cells([cell])
            except engine.BlueprintError as error:
                if error.cells:  # not "no count above zero", which is about all rows
                    params = {**error.params, "cell": len(self.cells) + 1}
                    form.add_error(None, gettext(error.msgid) % params)
            self.cells.append(cell)
            self.rows.append(index)
        if any(form.errors for form in self.forms):
            return
        try:
            engine.parse_cells(self.cells)
        except engine.BlueprintError as error:
            raise forms.ValidationError(error.message(gettext)) from None

    def add_cell_errors(self, indices, message: str) -> None:
        """Show a problem (the draw check's) next to the rows of these cells."""
        for cell in indices:
            if 0 <= cell < len(self.rows):
                self.forms[self.rows[cell]].add_error(None, message)


CellFormSet = forms.formset_factory(
    CellForm, formset=BaseCellFormSet, extra=2, max_num=MAX_ROWS, validate_max=True
)


def cell_formset(data=None, *, mode: str, blueprint: Blueprint | None = None):
    if mode not in CELL_MODES:
        return None
    if blueprint is not None:
        start = blueprint.cells
    else:
        start = DAILY_START if mode == Mode.DAILY else FIXED_START
    if data is not None:
        # Posted rows stand on their own: against an initial, a row left as it was
        # would count as unchanged and be skipped.
        return CellFormSet(data, prefix="cells")
    return CellFormSet(prefix="cells", initial=[CellForm.initial_of(c) for c in start])


class BlueprintForm(forms.Form):
    """The settings of one mode's blueprint; `values()` gives the service's arguments."""

    name = forms.CharField(label=_label("name"), max_length=100)
    audience = forms.ChoiceField(
        label=_label("audience"),
        choices=_blank(_("Everyone")) + list(Profile.PopulationGroup.choices),
        required=False,
    )
    open_to_players = forms.BooleanField(
        label=_label("open_to_players"),
        required=False,
        help_text=_("Players may start it themselves from the practice pages."),
    )
    exposure_cap = forms.FloatField(
        label=_label("exposure_cap"),
        min_value=0.001,
        max_value=1,
        initial=1.0,
        help_text=_(
            "The largest share of papers one question may appear in (1 = no cap; 0.2 = "
            "at most one paper in five)."
        ),
    )
    shuffle_questions = forms.BooleanField(
        label=_label("shuffle_questions"), required=False, initial=True
    )
    seconds_per_question = forms.IntegerField(
        label=_label("seconds_per_question"), min_value=1, max_value=3600, required=False
    )
    time_limit = forms.IntegerField(
        label=_label("time_limit"), min_value=10, max_value=3600, initial=100
    )
    min_items = forms.IntegerField(
        label=_label("min_items"), min_value=1, max_value=100, initial=15
    )
    max_items = forms.IntegerField(
        label=_label("max_items"), min_value=1, max_value=100, initial=30
    )
    se_target = forms.FloatField(
        label=_label("se_target"),
        min_value=0.05,
        max_value=1,
        initial=0.30,
        help_text=_("The test stops once its estimate is this precise (between the bounds)."),
    )
    topic = forms.ChoiceField(label=_("Topic"), choices=Topic.choices)
    count = forms.IntegerField(label=_("Questions"), min_value=1, max_value=100, initial=10)
    points = forms.IntegerField(label=_("Points each"), min_value=0, max_value=1000, initial=10)

    FIELDS = {
        Mode.FIXED: (
            "name", "audience", "open_to_players", "exposure_cap", "shuffle_questions",
            "seconds_per_question",
        ),
        Mode.DAILY: ("name", "audience", "open_to_players", "exposure_cap"),
        Mode.CHALLENGE: ("name", "audience", "open_to_players", "time_limit"),
        Mode.ADAPTIVE: (
            "name", "audience", "open_to_players", "min_items", "max_items", "se_target",
            "exposure_cap",
        ),
        Mode.THEMED: ("topic", "count", "points", "exposure_cap"),
    }  # fmt: skip

    def __init__(self, *args, mode: str, blueprint: Blueprint | None = None, **kwargs):
        if blueprint is not None and not kwargs.get("initial"):
            kwargs["initial"] = self.initial_of(blueprint)
        super().__init__(*args, **kwargs)
        self.mode = mode
        keep = self.FIELDS[mode]
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if mode == Mode.ADAPTIVE:
            self.fields["exposure_cap"].initial = 0.2
            for value, label in Dimension.choices:
                self.fields[f"share_{value}"] = forms.IntegerField(
                    label=label,
                    min_value=0,
                    max_value=100,
                    initial=NATIONAL_SHARES.get(value, 0),
                    help_text=_("Share of the test (the national scale: 40/20/20/20)."),
                )
        if mode == Mode.THEMED and blueprint is not None:
            self.fields["topic"].disabled = True  # the name follows the topic

    @staticmethod
    def initial_of(blueprint: Blueprint) -> dict[str, Any]:
        initial = {
            name: getattr(blueprint, name)
            for name in (
                "name", "audience", "open_to_players", "exposure_cap", "shuffle_questions",
                "seconds_per_question", "time_limit", "min_items", "max_items", "se_target",
            )
        }  # fmt: skip
        if blueprint.mode == Mode.ADAPTIVE:
            for value, share in shares_of(blueprint).items():
                initial[f"share_{value}"] = round(share)
        if blueprint.mode == Mode.THEMED and blueprint.cells:
            cell = blueprint.cells[0]
            initial.update(
                topic=cell.get("topic"), count=cell.get("count"), points=cell.get("points", 1)
            )
        return initial

    def clean(self):
        data = super().clean()
        if self.mode == Mode.ADAPTIVE:
            low, high = data.get("min_items"), data.get("max_items")
            if low is not None and high is not None and low > high:
                self.add_error(
                    "max_items", gettext("Give the fewest and most items, from 1 to 100.")
                )
            shares = [data.get(f"share_{value}") for value in Dimension.values]
            if all(share is not None for share in shares) and not sum(shares):
                self.add_error(None, gettext("Give at least one dimension a share above zero."))
        return data

    def shares(self) -> dict[str, int]:
        return {value: self.cleaned_data[f"share_{value}"] for value in Dimension.values}

    def cells(self) -> list[dict[str, Any]] | None:
        """The cells this form itself defines (adaptive shares, a themed topic)."""
        data = self.cleaned_data
        if self.mode == Mode.ADAPTIVE:
            return adaptive_cells(self.shares())
        if self.mode == Mode.THEMED:
            return [{"topic": data["topic"], "count": data["count"], "points": data["points"]}]
        return None

    def values(self) -> dict[str, Any]:
        """Keyword arguments for blueprint_add / blueprint_update (cells aside)."""
        data = self.cleaned_data
        values = {
            name: data[name]
            for name in self.FIELDS[self.mode]
            if name not in ("topic", "count", "points")
        }
        if "audience" in values:
            values["audience"] = values["audience"] or ""
        return values
