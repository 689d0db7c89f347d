"""Forms for accounts. The sign-up form adds the profile fields to allauth's own."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import MIN_BIRTH_YEAR, District, GuardianConsent, Profile, School, User

PHONE_HINT = _("a mainland mobile number such as 13800138000")


def normalise_guardian_contact(value: str) -> str:
    """An email address, or a mainland mobile number in E.164 form (+86…)."""
    value = value.strip()
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(
                _("Enter the guardian's email address or mobile number."), code="contact"
            ) from None
        return value.lower()
    digits = value.replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if len(digits) == 11 and digits.isdigit() and digits.startswith("1"):
        return "+86" + digits
    raise ValidationError(
        _("Enter the guardian's email address or mobile number (%(hint)s).") % {"hint": PHONE_HINT},
        code="contact",
    )


class SignupProfileForm(forms.Form):
    """Extra sign-up fields; allauth calls `signup()` once the user is saved."""

    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=30,
        help_text=_("Shown on leaderboards instead of your name."),
    )
    role = forms.ChoiceField(
        label=_("I am"),
        choices=[(User.Role.CITIZEN, _("A citizen")), (User.Role.STUDENT, _("A student"))],
        initial=User.Role.CITIZEN,
        widget=forms.RadioSelect,
    )
    population_group = forms.ChoiceField(
        label=_("Population group"),
        choices=Profile.PopulationGroup.choices,
        initial=Profile.PopulationGroup.OTHER,
    )
    birth_year = forms.IntegerField(
        label=_("Birth year"),
        help_text=_("Only the year: we never ask for your birth date."),
    )
    district = forms.ModelChoiceField(
        label=_("District"), queryset=District.objects.all(), required=False
    )
    school = forms.ModelChoiceField(
        label=_("School"),
        queryset=School.objects.select_related("district"),
        required=False,
    )
    grade = forms.TypedChoiceField(
        label=_("Grade"),
        choices=[("", "—")] + [(n, str(n)) for n in range(1, 13)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    guardian_contact = forms.CharField(
        label=_("Guardian's email or mobile number"),
        max_length=254,
        required=False,
        help_text=_("Needed if you are under 14: we ask your guardian to agree first."),
    )
    guardian_relationship = forms.ChoiceField(
        label=_("Guardian is your"),
        choices=[("", "—"), *GuardianConsent.Relationship.choices],
        required=False,
    )

    def clean_birth_year(self) -> int:
        year = self.cleaned_data["birth_year"]
        this_year = timezone.localdate().year
        if year < MIN_BIRTH_YEAR or year > this_year:
            raise ValidationError(
                _("Enter a birth year between %(low)s and %(high)s.")
                % {"low": MIN_BIRTH_YEAR, "high": this_year},
                code="birth_year_range",
            )
        return year

    def clean(self):
        data = super().clean()
        role = data.get("role")
        school = data.get("school")
        district = data.get("district")
        if role == User.Role.STUDENT:
            if school is None:
                self.add_error("school", _("Students choose their school."))
            if data.get("grade") is None:
                self.add_error("grade", _("Students choose their grade."))
            data["population_group"] = Profile.PopulationGroup.STUDENT
        if school is not None and district is not None and school.district_id != district.pk:
            self.add_error("school", _("This school is not in the district you chose."))
        if school is not None and district is None:
            data["district"] = school.district
        year = data.get("birth_year")
        if year is not None and Profile(birth_year=year).needs_guardian_consent:
            contact = data.get("guardian_contact", "")
            if not contact:
                self.add_error(
                    "guardian_contact",
                    _("You are under 14: enter a parent's or guardian's email or mobile number."),
                )
            else:
                try:
                    data["guardian_contact"] = normalise_guardian_contact(contact)
                except ValidationError as error:
                    self.add_error("guardian_contact", error)
            if not data.get("guardian_relationship"):
                self.add_error("guardian_relationship", _("Say who your guardian is."))
        return data

    def signup(self, request, user) -> None:
        from .services import user_complete_signup

        user_complete_signup(user=user, data=self.cleaned_data, request=request)
