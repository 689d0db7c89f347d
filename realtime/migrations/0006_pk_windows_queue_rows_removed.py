"""PK (issue 13): each question keeps its own window, so an answer is judged by its
arrival stamp against it; the queue keeps waiting players only (rows of players already
matched are removed, and the link to the match goes)."""

from django.db import migrations, models


def forward(apps, schema_editor):
    PkEntry = apps.get_model("realtime", "PkEntry")
    PkMatch = apps.get_model("realtime", "PkMatch")
    PkQuestion = apps.get_model("realtime", "PkQuestion")
    PkEntry.objects.filter(match__isnull=False).delete()
    # The questions opened so far in matches still on: the window of the current one is
    # the match's; earlier ones closed, their answers already judged.
    for match in PkMatch.objects.exclude(status="finished").exclude(question_index__lt=0):
        PkQuestion.objects.filter(match=match, position=match.question_index).update(
            opened_at=match.opened_at, closes_at=match.closes_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("realtime", "0005_buzz_stamps_and_seat_device"),
    ]

    operations = [
        migrations.AddField(
            model_name="pkquestion",
            name="closes_at",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="pkquestion",
            name="opened_at",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="pkentry",
            name="match",
        ),
    ]
