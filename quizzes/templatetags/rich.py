"""`{{ value|rich }}`: render stored rich text. It was sanitised when written; it is
sanitised again here, so a row written around the services still renders inert."""

from django import template
from django.utils.safestring import mark_safe

from quizzes.rich_text import sanitise

register = template.Library()


@register.filter
def rich(value) -> str:
    return mark_safe(sanitise(str(value or "")).html)  # noqa: S308 - nh3 output
