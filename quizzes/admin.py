from django.contrib import admin

from quizzes.models import AuditEntry, Bank, Question, QuestionVersion


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    list_display = ["name", "is_demo", "created_at"]
    filter_horizontal = ["owners", "reviewers", "shared_with"]
    search_fields = ["name"]


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
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["id", "bank", "exposure_count", "is_demo", "created_at"]
    list_filter = ["bank", "is_demo"]
    readonly_fields = ["uid", "exposure_count", "created_by", "created_at"]
    inlines = [VersionInline]


@admin.register(QuestionVersion)
class QuestionVersionAdmin(admin.ModelAdmin):
    """Read-only: versions change through the organizer pages (services, audit trail)."""

    list_display = ["__str__", "status", "type", "dimension", "topic", "difficulty"]
    list_filter = ["status", "type", "dimension", "topic", "difficulty"]
    search_fields = ["search_text"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "bank", "question", "actor", "action"]
    list_filter = ["action"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
