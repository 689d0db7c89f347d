"""Admin for accounts. Places from the data migration and consent records are read-only:
districts and regions are fixed by law and by the contest, and consent records are
append-only (only a guardian's link writes them).

People are for superusers only: users, profiles, consents, e-mail addresses, second
factors, groups and permissions (accounts.roles). Signing in to the admin goes through
allauth, so its rate limits, lock-out and MFA stage apply (`secure_admin_site`)."""

from __future__ import annotations

from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.account.utils import get_next_redirect_url
from allauth.account.views import logout as allauth_logout
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from .models import ConsentRequest, District, GuardianConsent, Profile, Region, School, Unit, User
from .roles import has_totp, session_passed_mfa

# --- signing in to the admin through allauth ---------------------------------------


def _with_next(name: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': next_url})}")


def admin_login(request, extra_context=None):
    """The admin's login page, replaced: Django's own form would check the password
    with no rate limit and no second factor. Nobody signs in here; everyone is sent
    to allauth's login (anonymous), to the MFA re-authentication (staff whose session
    has not passed a second factor) or to TOTP set-up (staff without one), with
    next= bringing them back."""
    next_url = get_next_redirect_url(request) or reverse("admin:index")
    user = request.user
    if not user.is_authenticated:
        return _with_next("account_login", next_url)
    if not (user.is_active and user.is_staff):
        raise PermissionDenied
    if not session_passed_mfa(request):
        if has_totp(user):
            return _with_next("mfa_reauthenticate", next_url)
        return _with_next("mfa_activate_totp", next_url)
    return HttpResponseRedirect(next_url)


def admin_logout(request, extra_context=None):
    """The admin's sign-out is allauth's (its signals, its messages, its page)."""
    return allauth_logout(request)


def secure_admin_site(site: admin.AdminSite) -> None:
    """Send the site's sign-in and sign-out through allauth, and let into it only
    active staff whose session passed the MFA stage."""
    default_has_permission = site.has_permission

    def has_permission(request) -> bool:
        return default_has_permission(request) and session_passed_mfa(request)

    site.login = admin_login  # type: ignore[method-assign]
    site.logout = admin_logout  # type: ignore[method-assign]
    site.has_permission = has_permission  # type: ignore[method-assign]


# --- who sees what --------------------------------------------------------------------


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Rows that are personal data (or that hand out permissions): superusers only,
    whatever permissions anyone else was given. Put it first among the bases: it
    narrows what the others allow."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: nothing is added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, DjangoUserAdmin):
    list_display = ("username", "email", "phone", "role", "is_active", "is_staff", "date_joined")
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    search_fields = ("username", "email", "phone")
    readonly_fields = ("deleted_at", "last_login", "date_joined")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("SciArena"), {"fields": ("role", "phone", "phone_verified", "deleted_at")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("SciArena"), {"fields": ("role",)}),
    )


@admin.register(Profile)
class ProfileAdmin(SuperuserOnlyAdmin):
    list_display = ("user", "nickname", "population_group", "district", "school", "grade")
    list_filter = ("population_group", "district")
    list_select_related = ("user", "district", "school")
    search_fields = ("nickname", "user__username")
    autocomplete_fields = ("user", "school", "unit")
    # birth year stays out of the list: it is shown only on the change page


@admin.register(District)
class DistrictAdmin(ReadOnlyAdmin):
    list_display = ("code", "name_zh", "name_en")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ("slug", "name_zh", "name_en", "district", "sort_order")
    list_select_related = ("district",)


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "district", "region", "enrolment")
    list_filter = ("region", "stages__stage")
    list_select_related = ("district", "region")
    search_fields = ("name", "code")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "region")
    list_filter = ("kind", "region")
    list_select_related = ("region",)
    search_fields = ("name",)


@admin.register(GuardianConsent)
class GuardianConsentAdmin(SuperuserOnlyAdmin, ReadOnlyAdmin):
    list_display = (
        "child",
        "action",
        "relationship",
        "allow_processing",
        "allow_public_display",
        "notice_version",
        "created_at",
    )
    list_filter = ("action", "allow_public_display", "notice_version")
    list_select_related = ("child",)
    search_fields = ("child__username",)
    date_hierarchy = "created_at"


@admin.register(ConsentRequest)
class ConsentRequestAdmin(SuperuserOnlyAdmin, ReadOnlyAdmin):
    list_display = ("child", "relationship", "created_at")
    list_select_related = ("child",)
    search_fields = ("child__username",)
    date_hierarchy = "created_at"


# allauth's and Django's own admins of personal data and of permissions, superusers only
for _model, _admin_class in (
    (EmailAddress, EmailAddressAdmin),
    (Authenticator, AuthenticatorAdmin),
    (Group, DjangoGroupAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, type(_admin_class.__name__, (SuperuserOnlyAdmin, _admin_class), {}))
