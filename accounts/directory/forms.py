"""Forms of the directory pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms import SchoolChoiceField, clean_school_name
from accounts.models import District, Region, School, Unit
from spreadsheets import Limits, megabytes, read_upload, too_large_message

from . import files

ACCEPTED = (".xlsx", ".csv")


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("The file lists"),
        choices=[(files.SCHOOLS, _("Schools")), (files.UNITS, _("Units"))],
        initial=files.SCHOOLS,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=_("Directory file"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED)}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "Excel (.xlsx) or CSV in the template's columns; at most %(mb)s MB."
        ) % {"mb": megabytes(Limits.from_settings().max_upload_bytes)}

    def clean_file(self):
        """The upload, read no further than SPREADSHEET_MAX_UPLOAD_BYTES (the limits of
        every spreadsheet read, spreadsheets.limits)."""
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ACCEPTED):
            raise ValidationError(_("Use an Excel (.xlsx) or CSV (.csv) file."))
        data = read_upload(upload)
        if data is None:
            raise ValidationError(str(too_large_message()))
        self.file_bytes = data
        return upload


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or code"), required=False, max_length=120)
    region = forms.ModelChoiceField(
        label=_("District or region"),
        queryset=Region.objects.all(),
        required=False,
        empty_label=_("All"),
    )


class SchoolForm(forms.Form):
    code = forms.RegexField(
        label=_("National school code (学校标识码)"),
        regex=r"^[0-9]{10}$",
        required=False,
        error_messages={"invalid": _("A school code is 10 digits.")},
    )
    name = forms.CharField(label=_("Name"), max_length=files.MAX_NAME)
    district = forms.ModelChoiceField(label=_("District"), queryset=District.objects.all())
    region = forms.ModelChoiceField(
        label=_("Competition region"),
        queryset=Region.objects.all(),
        required=False,
        help_text=_("Leave empty for the district's own; choose the Development Area if so."),
    )
    stages = forms.MultipleChoiceField(
        label=_("Stages"), choices=School.Stage.choices, widget=forms.CheckboxSelectMultiple
    )
    enrolment = forms.IntegerField(
        label=_("Enrolment"), required=False, min_value=0, max_value=files.MAX_ENROLMENT
    )

    def __init__(self, *args, school: School | None = None, **kwargs) -> None:
        self.school = school
        if school is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": school.code or "",
                "name": school.name,
                "district": school.district_id,
                "region": school.region_id,
                "stages": school.stage_values,
                "enrolment": school.enrolment,
            }
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = clean_school_name(self.cleaned_data["name"])
        if not name:
            raise ValidationError(_("The school's name is empty."))
        return name

    def clean(self):
        data = super().clean()
        district, region = data.get("district"), data.get("region")
        if district is None:
            return data
        if region is None:
            region = data["region"] = Region.objects.get(district=district)
        elif region.district_id not in (None, district.pk):
            self.add_error(
                "region",
                _("A school competes for its own district or for the Development Area."),
            )
            return data
        others = School.objects.exclude(pk=getattr(self.school, "pk", None))
        if data.get("name") and others.filter(region=region, name=data["name"]).exists():
            self.add_error(
                "name",
                _("This region already has a school of this name: merge them instead."),
            )
        if data.get("code") and others.filter(code=data["code"]).exists():
            self.add_error("code", _("Another school has this code."))
        return data


class UnitForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=files.UNIT_MAX_NAME)
    kind = forms.ChoiceField(label=_("Kind"), choices=Unit.Kind.choices)
    region = forms.ModelChoiceField(label=_("Competition region"), queryset=Region.objects.all())

    def __init__(self, *args, unit: Unit | None = None, **kwargs) -> None:
        self.unit = unit
        if unit is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": unit.name, "kind": unit.kind, "region": unit.region_id}
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        name = clean_school_name(data.get("name", ""))
        data["name"] = name
        if not name:
            self.add_error("name", _("The unit's name is empty."))
        elif data.get("region") is not None:
            others = Unit.objects.exclude(pk=getattr(self.unit, "pk", None))
            if others.filter(region=data["region"], name=name).exists():
                self.add_error(
                    "name", _("This region already has a unit of this name: merge them instead.")
                )
        return data


class SchoolMergeForm(forms.Form):
    target = SchoolChoiceField(
        label=_("Keep this school"),
        queryset=School.objects.all(),
        help_text=_("Everything that names the school shown above moves to it."),
    )

    def __init__(self, *args, source: School, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = School.objects.exclude(pk=source.pk)


class UnitMergeForm(forms.Form):
    target = forms.ModelChoiceField(
        label=_("Keep this unit"),
        queryset=Unit.objects.none(),
        help_text=_("Everything that names the unit shown above moves to it."),
    )

    def __init__(self, *args, source: Unit, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = Unit.objects.exclude(pk=source.pk).select_related("region")


class PlaceForm(forms.Form):
    """Place the students waiting with one typed name: into a school of the list, or a
    new school made from the name."""

    district = forms.ModelChoiceField(queryset=District.objects.all(), widget=forms.HiddenInput)
    name = forms.CharField(max_length=files.MAX_NAME, widget=forms.HiddenInput)
    school = forms.ModelChoiceField(
        label=_("Attach to"), queryset=School.objects.all(), required=False
    )
    create = forms.BooleanField(required=False, widget=forms.HiddenInput)
    stages = forms.MultipleChoiceField(
        label=_("Stages of the new school"),
        choices=School.Stage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self):
        data = super().clean()
        if data.get("create"):
            if not data.get("stages"):
                self.add_error("stages", _("Tick the stages the new school teaches."))
        elif data.get("school") is None and "school" not in self.errors:
            self.add_error("school", _("Choose the school to attach them to."))
        return data
