"""Admin for the question bank, for superusers: the organizer pages are where banks are
run, scoped by bank role and written through the services with their audit trail.
Questions, versions (with their keys) and the audit trail are shown to superusers only,
whatever permissions anyone else holds; who owns, reviews or shares a bank changes
through quizzes.bank.services.bank_members_set, which audits every change."""

from django.contrib import admin

from accounts.admin import SuperuserOnlyAdmin
from quizzes.bank import services
from quizzes.models import AuditEntry, Bank, Question, QuestionVersion


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    list_display = ["name", "is_demo", "created_at"]
    filter_horizontal = ["owners", "reviewers", "shared_with"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += list(services.MEMBER_ROLES)
        return readonly

    def save_related(self, request, form, formsets, change):
        members = {
            role: form.cleaned_data[role]
            for role in services.MEMBER_ROLES
            if role in form.cleaned_data
        }
        if members:
            # The service sets and audits; the form's own save then finds nothing to do.
            services.bank_members_set(bank=form.instance, actor=request.user, **members)
        super().save_related(request, form, formsets, change)


class VersionInline(admin.TabularInline):
    model = QuestionVersion
    fields = ["number", "status", "type", "dimension", "topic", "difficulty", "author", "reviewer"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Question)
class QuestionAdmin(SuperuserOnlyAdmin):
    list_display = ["id", "bank", "exposure_count", "is_demo", "created_at"]
    list_filter = ["bank", "is_demo"]
    readonly_fields = ["uid", "exposure_count", "created_by", "created_at"]
    inlines = [VersionInline]


@admin.register(QuestionVersion)
class QuestionVersionAdmin(SuperuserOnlyAdmin):
    """Read-only: versions change through the organizer pages (services, audit trail)."""

    list_display = ["__str__", "status", "type", "dimension", "topic", "difficulty"]
    list_filter = ["status", "type", "dimension", "topic", "difficulty"]
    search_fields = ["search_text"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(SuperuserOnlyAdmin):
    list_display = ["at", "bank", "question", "actor", "action"]
    list_filter = ["action"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
