"""Organizer forms for the question bank. Validation is clean_question()'s, so the
editor accepts exactly what imports accept."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from quizzes.bank.content import (
    MAX_EXPLANATION,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_SOURCE,
    MAX_STEM,
    MAX_UNIT,
    clean_question,
)
from quizzes.models import (
    Bank,
    Difficulty,
    Dimension,
    GradeBand,
    QuestionType,
    Topic,
    VersionStatus,
)

LETTERS = "ABCDEFGH"[:MAX_OPTIONS]


def _blank(label):
    return [("", label)]


class BankForm(forms.ModelForm):
    class Meta:
        model = Bank
        fields = ["name", "description"]


class QuestionForm(forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=QuestionType.choices)
    # The limits are clean_question()'s (checked there on the stored text too); here
    # they also give the browser its maxlength.
    stem = forms.CharField(
        label=_("Stem"), max_length=MAX_STEM, widget=forms.Textarea(attrs={"rows": 3})
    )
    key = forms.CharField(
        label=_("Answer"),
        required=False,
        help_text=_(
            "Letters for choice questions (A, or ACD), in order for ordering; 对/错 for "
            "true or false; accepted answers separated by | for fill-in; a number for numeric."
        ),
    )
    tolerance = forms.CharField(label=_("Tolerance"), required=False)
    unit = forms.CharField(label=_("Unit"), required=False, max_length=MAX_UNIT)
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        max_length=MAX_EXPLANATION,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    source = forms.CharField(label=_("Source / reference"), required=False, max_length=MAX_SOURCE)
    difficulty = forms.ChoiceField(label=_("Difficulty"), choices=Difficulty.choices)
    dimension = forms.ChoiceField(label=_("Dimension"), choices=Dimension.choices)
    benchmark = forms.IntegerField(label=_("Benchmark (1–26)"), required=False)
    topic = forms.ChoiceField(label=_("Topic"), choices=Topic.choices)
    audience = forms.MultipleChoiceField(
        label=_("Audience"),
        choices=Profile.PopulationGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    grade_band = forms.ChoiceField(
        label=_("Grade band"), choices=_blank("—") + list(GradeBand.choices), required=False
    )
    collection = forms.CharField(label=_("Themed collection"), required=False, max_length=50)
    stem_en = forms.CharField(
        label=_("Stem in English"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    explanation_en = forms.CharField(
        label=_("Explanation in English"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(MAX_OPTIONS):
            self.fields[f"option_{index}"] = forms.CharField(
                label=_("Option %(letter)s") % {"letter": LETTERS[index]},
                required=False,
                max_length=MAX_OPTION,
            )
        self.option_ids: list[str | None] = [None] * MAX_OPTIONS
        self.warnings: list[str] = []

    def option_fields(self):
        return [self[f"option_{i}"] for i in range(MAX_OPTIONS)]

    @classmethod
    def from_version(cls, version) -> QuestionForm:
        initial: dict[str, Any] = {
            name: getattr(version, name)
            for name in (
                "type", "stem", "explanation", "source", "difficulty", "dimension", "benchmark",
                "topic", "audience", "grade_band", "collection", "stem_en", "explanation_en",
            )
        }  # fmt: skip
        for index, option in enumerate(version.options):
            initial[f"option_{index}"] = option["text"]
        initial["key"] = key_as_text(version)
        if version.type == QuestionType.NUMERIC:
            initial["key"] = _number_text(version.key["value"])
            initial["tolerance"] = _number_text(version.key["tolerance"])
            initial["unit"] = version.key.get("unit", "")
        form = cls(initial=initial)
        form.option_ids = [o["id"] for o in version.options] + [None] * (
            MAX_OPTIONS - len(version.options)
        )
        return form

    def raw(self) -> dict[str, Any]:
        """The loose input clean_question() takes."""
        data = self.cleaned_data
        options = []
        for index in range(MAX_OPTIONS):
            text = data.get(f"option_{index}", "")
            if text.strip():
                options.append({"id": self.option_ids[index], "text": text})
        return {**data, "options": options}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        # Keep option ids across edits when the editor posts them back.
        for index in range(MAX_OPTIONS):
            posted = self.data.get(f"option_id_{index}", "")
            self.option_ids[index] = posted if posted.isalnum() and len(posted) <= 16 else None
        result = clean_question(self.raw())
        for problem in result.errors:
            name = problem.field
            if name == "options" and problem.option is not None:
                name = f"option_{problem.option}"
            if name not in self.fields:
                name = None
            self.add_error(name, str(problem.message))
        self.warnings = [str(p.message) for p in result.warnings]
        self.question_data = result.data
        return data


def key_as_text(version) -> str:
    """The stored key in the form an editor types it (letters, 对/错, a|b, number)."""
    key = version.key
    ids = [o["id"] for o in version.options]
    if version.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return "".join(LETTERS[ids.index(i)] for i in key["options"] if i in ids)
    if version.type == QuestionType.ORDERING:
        return "".join(LETTERS[ids.index(i)] for i in key["order"] if i in ids)
    if version.type == QuestionType.TRUE_FALSE:
        return "对" if key["value"] else "错"
    if version.type == QuestionType.FILL:
        return "|".join(key["accepted"])
    if version.type == QuestionType.NUMERIC:
        text = _number_text(key["value"])
        if key.get("tolerance"):
            text += f" ± {_number_text(key['tolerance'])}"
        return f"{text} {key.get('unit', '')}".strip()
    return ""


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=_blank(_("Any status")) + list(VersionStatus.choices),
        required=False,
    )
    type = forms.ChoiceField(
        label=_("Type"), choices=_blank(_("Any type")) + list(QuestionType.choices), required=False
    )
    dimension = forms.ChoiceField(
        label=_("Dimension"),
        choices=_blank(_("Any dimension")) + list(Dimension.choices),
        required=False,
    )
    topic = forms.ChoiceField(
        label=_("Topic"), choices=_blank(_("Any topic")) + list(Topic.choices), required=False
    )
    difficulty = forms.ChoiceField(
        label=_("Difficulty"),
        choices=_blank(_("Any difficulty")) + list(Difficulty.choices),
        required=False,
    )
    audience = forms.ChoiceField(
        label=_("Audience"),
        choices=_blank(_("Any audience")) + list(Profile.PopulationGroup.choices),
        required=False,
    )
    grade_band = forms.ChoiceField(
        label=_("Grade band"),
        choices=_blank(_("Any grade band")) + list(GradeBand.choices),
        required=False,
    )
    benchmark = forms.IntegerField(label=_("Benchmark"), required=False, min_value=1, max_value=26)
    collection = forms.CharField(label=_("Themed collection"), required=False)
