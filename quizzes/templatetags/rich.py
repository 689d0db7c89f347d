"""`{{ value|rich }}`: render stored rich text. It was sanitised when written; it is
sanitised again here (quizzes.rich_text.rich_html, cached per process), so a row
written around the services still renders inert."""

from django import template

from quizzes.rich_text import rich_html

register = template.Library()


@register.filter
def rich(value) -> str:
    return rich_html(value)
