"""The school directory (issue 12): national school codes, a competition region per
school, several stages per school, optional enrolment, "school not listed" at
sign-up, and the directory's audit trail.

A school's one `stage` becomes SchoolStage rows: a nine-year school is primary and
junior, a complete secondary school junior and senior, a twelve-year school all
three. An enrolment of 0 (the old default) meant unknown and becomes empty.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

STAGES = [
    ("primary", "Primary school"),
    ("junior", "Junior secondary school"),
    ("senior", "Senior secondary school"),
    ("vocational", "Vocational school"),
    ("university", "University or college"),
    ("special", "Special education school"),
]
OLD_STAGE = {
    "primary": ["primary"],
    "junior": ["junior"],
    "senior": ["senior"],
    "nine_year": ["primary", "junior"],
    "complete": ["junior", "senior"],
    "twelve_year": ["primary", "junior", "senior"],
    "vocational": ["vocational"],
    "university": ["university"],
}
OLD_STAGE_CHOICES = [
    ("primary", "Primary school"),
    ("junior", "Junior secondary school"),
    ("senior", "Senior secondary school"),
    ("nine_year", "Nine-year school"),
    ("complete", "Complete secondary school"),
    ("twelve_year", "Twelve-year school"),
    ("vocational", "Vocational school"),
    ("university", "University or college"),
]
NEW_TO_OLD = {
    ("primary",): "primary",
    ("junior",): "junior",
    ("senior",): "senior",
    ("junior", "primary"): "nine_year",
    ("junior", "senior"): "complete",
    ("junior", "primary", "senior"): "twelve_year",
    ("vocational",): "vocational",
    ("university",): "university",
}


def forwards(apps, schema_editor):
    School = apps.get_model("accounts", "School")
    SchoolStage = apps.get_model("accounts", "SchoolStage")
    Region = apps.get_model("accounts", "Region")
    region_of = dict(Region.objects.filter(district__isnull=False).values_list("district", "pk"))
    for school in School.objects.all():
        school.region_id = region_of[school.district_id]
        if school.enrolment == 0:
            school.enrolment = None
        school.save(update_fields=["region", "enrolment"])
        SchoolStage.objects.bulk_create(
            SchoolStage(school=school, stage=stage) for stage in OLD_STAGE.get(school.stage, [])
        )


def backwards(apps, schema_editor):
    School = apps.get_model("accounts", "School")
    for school in School.objects.all():
        stages = tuple(sorted(school.stages.values_list("stage", flat=True)))
        school.stage = NEW_TO_OLD.get(stages, stages[0] if stages else "junior")
        school.enrolment = school.enrolment or 0
        school.save(update_fields=["stage", "enrolment"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_consent_request"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SchoolStage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("stage", models.CharField(choices=STAGES, max_length=20, verbose_name="stage")),
                ("school", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="stages", to="accounts.school")),
            ],
            options={"verbose_name": "school stage", "verbose_name_plural": "school stages"},
        ),
        migrations.AddConstraint(
            model_name="schoolstage",
            constraint=models.UniqueConstraint(fields=("school", "stage"), name="school_stage_once"),
        ),
        migrations.AddField(
            model_name="school",
            name="code",
            field=models.CharField(blank=True, max_length=10, null=True, unique=True, validators=[django.core.validators.RegexValidator("^[0-9]{10}$", "A school code is 10 digits.")], verbose_name="national school code"),
        ),
        migrations.AddField(
            model_name="school",
            name="region",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="schools", to="accounts.region", verbose_name="competition region"),
        ),
        migrations.AlterField(
            model_name="school",
            name="enrolment",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="enrolment"),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveConstraint(model_name="school", name="school_unique_in_district"),
        # A default first, so that migrating back can add the column again.
        migrations.AlterField(
            model_name="school",
            name="stage",
            field=models.CharField(choices=OLD_STAGE_CHOICES, default="junior", max_length=20, verbose_name="stage"),
        ),
        migrations.RemoveField(model_name="school", name="stage"),
        migrations.AlterField(
            model_name="school",
            name="region",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="schools", to="accounts.region", verbose_name="competition region"),
        ),
        migrations.AddConstraint(
            model_name="school",
            constraint=models.UniqueConstraint(fields=("region", "name"), name="school_unique_in_region"),
        ),
        migrations.AddConstraint(
            model_name="school",
            constraint=models.CheckConstraint(condition=models.Q(("code__isnull", True), ("code__regex", "^[0-9]{10}$"), _connector="OR"), name="school_code_ten_digits"),
        ),
        migrations.AlterModelOptions(
            name="school",
            options={"ordering": ["region__sort_order", "name"], "verbose_name": "school", "verbose_name_plural": "schools"},
        ),
        migrations.AddField(
            model_name="profile",
            name="pending_school_name",
            field=models.CharField(blank=True, max_length=120, verbose_name="school not yet in the directory"),
        ),
        migrations.CreateModel(
            name="DirectoryChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("action", models.CharField(choices=[("import", "Import"), ("edit", "Edit"), ("merge", "Merge"), ("place", "Placement")], max_length=10, verbose_name="action")),
                ("summary", models.JSONField(default=dict, verbose_name="summary")),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="time")),
                ("actor", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="directory_changes", to=settings.AUTH_USER_MODEL, verbose_name="by")),
            ],
            options={"verbose_name": "directory change", "verbose_name_plural": "directory changes", "ordering": ["-created_at", "-id"]},
        ),
    ]
