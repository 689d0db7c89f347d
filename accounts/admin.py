"""Admin for accounts. Places from the data migration and consent records are read-only:
districts and regions are fixed by law and by the contest, and consent records are
append-only (only a guardian's link writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ConsentRequest, District, GuardianConsent, Profile, Region, School, Unit, User


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: nothing is added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
class ProfileAdmin(admin.ModelAdmin):
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
class GuardianConsentAdmin(ReadOnlyAdmin):
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
class ConsentRequestAdmin(ReadOnlyAdmin):
    list_display = ("child", "relationship", "created_at")
    list_select_related = ("child",)
    search_fields = ("child__username",)
    date_hierarchy = "created_at"
