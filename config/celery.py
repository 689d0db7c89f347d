"""The Celery app. Tasks take ids, are idempotent, and are enqueued with
transaction.on_commit (see docs/architecture.md). Without REDIS_URL tasks run eagerly.
A task whose worker dies is delivered again (config/settings.py says how); a background
job is claimed by its task id, so the redelivery takes over its own job
(quizzes.models.jobs)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sciarena")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
