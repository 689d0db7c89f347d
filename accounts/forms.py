"""Forms for accounts. The sign-up form adds the profile fields to allauth's own."""

from __future__ import annotations

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import gettext_lazy as _

from . import services
from .models import MIN_BIRTH_YEAR, District, GuardianConsent, Profile, School, User
from .phone import normalise_phone

GUARDIAN_CONTACT_ERROR = _(
    "Enter the guardian's email address, or a mobile number such as 13800138000."
)


def normalise_guardian_contact(value: str) -> str:
    """An email address (lower case), or a mobile number in E.164 form (+86…)."""
    value = (value or "").strip()
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(GUARDIAN_CONTACT_ERROR, code="contact") from None
        return value.lower()
    try:
        return normalise_phone(value)
    except ValidationError:
        raise ValidationError(GUARDIAN_CONTACT_ERROR, code="contact") from None


def _own_contacts(email: str | None, phone: str | None) -> set[str]:
    return {c.lower() for c in (email, phone) if c}


class GuardianContactMixin:
    """Checks a guardian contact and relationship pair (sign-up and asking again)."""

    def _clean_guardian(self, data: dict, *, own: set[str]) -> None:
        contact = (data.get("guardian_contact") or "").strip()
        if not contact:
            self.add_error(
                "guardian_contact",
                ValidationError(
                    _("You are under 14: enter a parent's or guardian's email or mobile number."),
                    code="contact_required",
                ),
            )
        else:
            try:
                contact = normalise_guardian_contact(contact)
            except ValidationError as error:
                self.add_error("guardian_contact", error)
            else:
                if contact.lower() in own:
                    self.add_error(
                        "guardian_contact",
                        ValidationError(
                            _("Enter your guardian's email or mobile number, not your own."),
                            code="contact_own",
                        ),
                    )
                else:
                    data["guardian_contact"] = contact
        if not data.get("guardian_relationship"):
            self.add_error(
                "guardian_relationship",
                ValidationError(_("Say who your guardian is."), code="relationship_required"),
            )


MAX_SCHOOL_NAME = School._meta.get_field("name").max_length


def clean_school_name(value: str) -> str:
    """A school name as typed, with control characters dropped and runs of spaces made
    one (sign-up's "not listed" and the directory import)."""
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in value or "")
    return " ".join(text.split())[:MAX_SCHOOL_NAME]


class _SchoolsByRegion(BaseChoiceIterator):
    """The choices of SchoolChoiceField, read when the select is drawn (lazily, as
    Django's own ModelChoiceIterator)."""

    def __init__(self, field: forms.ModelChoiceField) -> None:
        self.field = field

    def __iter__(self):
        yield ("", self.field.empty_label or "—")
        groups: dict[str, list[tuple[int, str]]] = {}
        for school in self.field.queryset.select_related("region").order_by(
            "region__sort_order", "name"
        ):
            groups.setdefault(str(school.region), []).append((school.pk, school.name))
        yield from groups.items()


class SchoolChoiceField(forms.ModelChoiceField):
    """Schools grouped by competition region in the select (a directory holds
    hundreds); a keyboard still finds one by typing its name."""

    def _get_choices(self):
        return _SchoolsByRegion(self)

    choices = property(_get_choices, forms.ChoiceField.choices.fset)


class SignupProfileForm(GuardianContactMixin, forms.Form):
    """Extra sign-up fields.

    allauth makes this the *base* of its own sign-up form, so `clean()` here runs
    with allauth's fields (email, phone) already cleaned. The profile is stored by
    AccountAdapter.save_user(), in the transaction that saves the user.
    """

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
    school = SchoolChoiceField(
        label=_("School"),
        queryset=School.objects.select_related("region"),
        required=False,
        help_text=_("Schools are listed by competition region."),
    )
    school_not_listed = forms.BooleanField(label=_("My school is not listed"), required=False)
    pending_school_name = forms.CharField(
        label=_("Name of your school"),
        max_length=MAX_SCHOOL_NAME,
        required=False,
        help_text=_(
            "Only if your school is not listed: type its full name and choose its "
            "district above. An organizer adds it to the list."
        ),
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

    def clean_nickname(self) -> str:
        nickname = self.cleaned_data["nickname"].strip()
        if not nickname:
            raise ValidationError(_("Choose a nickname."), code="nickname_required")
        return nickname

    def clean_birth_year(self) -> int:
        year = self.cleaned_data["birth_year"]
        this_year = timezone.localdate().year
        if year < MIN_BIRTH_YEAR or year > this_year:
            raise ValidationError(
                _("Enter a birth year between %(low)s and %(high)s."),
                params={"low": MIN_BIRTH_YEAR, "high": this_year},
                code="birth_year_range",
            )
        return year

    def clean(self):
        data = super().clean()
        role = data.get("role")
        district = data.get("district")
        school = self._clean_school_not_listed(data, role=role)
        if role == User.Role.STUDENT:
            unanswered = not data.get("school_not_listed") and "school" not in self.errors
            if school is None and unanswered:
                self.add_error(
                    "school", ValidationError(_("Students choose their school."), code="school")
                )
            if data.get("grade") is None and "grade" not in self.errors:
                self.add_error(
                    "grade", ValidationError(_("Students choose their grade."), code="grade")
                )
            data["population_group"] = Profile.PopulationGroup.STUDENT
        if school is not None and district is not None and school.district_id != district.pk:
            self.add_error(
                "school",
                ValidationError(
                    _("This school is not in the district you chose."), code="school_district"
                ),
            )
        if school is not None and district is None:
            data["district"] = school.district
        year = data.get("birth_year")
        if year is not None and Profile(birth_year=year).needs_guardian_consent:
            self._clean_guardian(data, own=_own_contacts(data.get("email"), data.get("phone")))
        return data

    def _clean_school_not_listed(self, data: dict, *, role) -> School | None:
        """A school from the list, or (ticked "not listed") a typed name and a
        district, kept on the profile until an organizer places it."""
        school = data.get("school")
        if not data.get("school_not_listed"):
            data["pending_school_name"] = ""
            return school
        name = clean_school_name(data.get("pending_school_name", ""))
        data["pending_school_name"] = ""
        if school is not None:
            self.add_error(
                "school_not_listed",
                ValidationError(
                    _("Choose your school from the list or say it is not listed, not both."),
                    code="school_both",
                ),
            )
        elif role != User.Role.STUDENT:
            pass  # only students name a school
        elif len(name) < 2:
            self.add_error(
                "pending_school_name",
                ValidationError(_("Type the full name of your school."), code="school_name"),
            )
        elif data.get("district") is None and "district" not in self.errors:
            self.add_error(
                "district",
                ValidationError(
                    _("Choose the district your school is in."), code="school_district"
                ),
            )
        else:
            data["pending_school_name"] = name
        return school

    def signup(self, request, user) -> None:
        """Does nothing: allauth requires this method of ACCOUNT_SIGNUP_FORM_CLASS and
        calls it after AccountAdapter.save_user(), which has already stored the
        profile (user_complete_signup) in the same transaction as the user, so that
        a failure leaves no account without a profile."""


class ConsentRequestForm(GuardianContactMixin, forms.Form):
    """A child asks for a new consent link, to the same or a corrected contact."""

    guardian_contact = forms.CharField(
        label=_("Guardian's email or mobile number"), max_length=254, required=False
    )
    guardian_relationship = forms.ChoiceField(
        label=_("Guardian is your"),
        choices=[("", "—"), *GuardianConsent.Relationship.choices],
        required=False,
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        self._clean_guardian(data, own=_own_contacts(self.user.email, self.user.phone))
        return data


class ConsentForm(forms.Form):
    """The guardian's decision: two purposes, agreed to separately."""

    allow_processing = forms.BooleanField(
        label=_(
            "I agree that SciArena processes my child's data as described above, so that "
            "my child can take part."
        ),
        required=True,
        error_messages={
            "required": _("Tick this box to give consent. Without it your child cannot take part.")
        },
    )
    allow_public_display = forms.BooleanField(
        label=_(
            "I also agree that my child's nickname and school may be shown on public "
            "pages, such as lists of winners."
        ),
        required=False,
        help_text=_("Optional. Without it, your child can still play."),
    )


class ConsentWithdrawForm(forms.Form):
    delete_account = forms.BooleanField(
        label=_("Also delete the child's account and its personal data now."),
        required=False,
        help_text=_("Results stay only without a name. This cannot be undone."),
    )


class AccountDeleteForm(forms.Form):
    """Deleting an account takes the username typed out and, if there is one, the
    password. Password tries are limited per account (services.DELETE_PASSWORD_TRIES
    per window): once they are used up the password is not even checked."""

    TOO_MANY_TRIES = "too_many_tries"

    confirm_username = forms.CharField(label=_("Type your username to confirm"), max_length=150)
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        if not user.has_usable_password():
            del self.fields["password"]

    def clean_confirm_username(self) -> str:
        value = self.cleaned_data["confirm_username"].strip()
        if value != self.user.get_username():
            raise ValidationError(
                _("That is not your username. Type it exactly as shown."), code="username"
            )
        return value

    def clean_password(self) -> str:
        value = self.cleaned_data["password"]
        if not services.user_delete_password_try(user=self.user):
            raise ValidationError(
                _(
                    "Too many wrong passwords. Nothing was changed: wait %(minutes)s "
                    "minutes and try again."
                ),
                params={"minutes": services.DELETE_PASSWORD_WINDOW // 60},
                code=self.TOO_MANY_TRIES,
            )
        if not self.user.check_password(value):
            raise ValidationError(_("The password is not correct."), code="password")
        services.user_delete_password_try_refund(user=self.user)
        return value

    @property
    def too_many_tries(self) -> bool:
        return self.has_error("password", code=self.TOO_MANY_TRIES)
