"""Buzzes get a µs receive stamp (ms-only rows get theirs from received_at) and the
host's award after a tie; players get the number of the device that holds their seat."""

from django.db import migrations, models
from django.db.models import F, Q


def stamp_in_us(apps, schema_editor):
    apps.get_model("realtime", "LiveBuzz").objects.update(received_us=F("received_at") * 1000)


class Migration(migrations.Migration):
    dependencies = [
        ("realtime", "0004_pk"),
    ]

    operations = [
        migrations.AddField(
            model_name="livebuzz",
            name="received_us",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(stamp_in_us, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="livebuzz",
            name="received_us",
            field=models.BigIntegerField(),
        ),
        migrations.AddField(
            model_name="livebuzz",
            name="awarded",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterModelOptions(
            name="livebuzz",
            options={"ordering": ["question", "received_us", "id"]},
        ),
        migrations.AddConstraint(
            model_name="livebuzz",
            constraint=models.UniqueConstraint(
                condition=Q(awarded=True), fields=("question",), name="one_award_per_question"
            ),
        ),
        migrations.AddField(
            model_name="liveplayer",
            name="device",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
