"""One question's stem and answer inputs as HTML, for every page that asks questions
(a whole paper's form, the one-question pages): what quizzes/_answer_inputs.html
showed, built in Python because a paper's page is mostly this, once per item, and the
template engine spent most of the page's CPU on it (issue 13: a 20-question paper
page). The markup is the template's, escaped the same way.

Stems and options are rich text, sanitised again on the way out (quizzes.rich_text);
the sanitised HTML of a text is cached per process (rich_html): question versions
never change once published, so the same texts come back on every page.
"""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from quizzes.models import QuestionType
from quizzes.rich_text import rich_html


def _choice(kind: str, name: str, value: str, checked: bool, label: str) -> str:
    mark = " checked" if checked else ""
    return (
        f'<div><label><input type="{kind}" name="{name}" value="{escape(value)}"{mark}>'
        f" {label}</label></div>"
    )


def _text(item: dict[str, Any], name: str, label: str, extra: str, maxlength: int) -> str:
    invalid = ' aria-invalid="true"' if item["error"] else ""
    return (
        f'<div>\n    <label for="{name}">{escape(label)}</label>\n'
        f'    <input type="text"{extra} id="{name}" name="{name}" value="{escape(item["value"])}"'
        f' maxlength="{maxlength}" autocomplete="off"{invalid}>\n  </div>'
    )


def answer_inputs(item: dict[str, Any]) -> SafeString:
    """The stem, the error if any and the inputs of one question; `item` is an entry
    of quizzes.papers.pages.form_items (field name, options with their state, value)."""
    name = escape(item["field"])
    qtype = item["type"]
    parts = [f'<div class="stem">{rich_html(item["stem"])}</div>']
    if item["error"]:
        parts.append(
            f'<ul class="errorlist" id="q-{item["position"]}-error">'
            f"<li>{escape(item['error'])}</li></ul>"
        )
    options = item["options"]
    if qtype == QuestionType.SINGLE:
        parts += [
            _choice("radio", name, o["id"], o.get("checked", False), rich_html(o["text"]))
            for o in options
        ]
    elif qtype == QuestionType.MULTIPLE:
        parts.append(f'<p class="form-help">{escape(_("Choose every option that applies."))}</p>')
        parts += [
            _choice("checkbox", name, o["id"], o.get("checked", False), rich_html(o["text"]))
            for o in options
        ]
    elif qtype == QuestionType.TRUE_FALSE:
        parts.append(_choice("radio", name, "true", item["value"] == "true", escape(_("True"))))
        parts.append(_choice("radio", name, "false", item["value"] == "false", escape(_("False"))))
    elif qtype == QuestionType.ORDERING:
        help_text = _(
            "Put the options in order: give each one a place from 1 (first) to %(count)s (last)."
        ) % {"count": len(options)}
        parts.append(f'<p class="form-help">{escape(help_text)}</p>')
        for option in options:
            field = f"{name}-{escape(option['id'])}"
            places = "".join(
                f'<option value="{place}"{" selected" if option.get("place") == place else ""}>'
                f"{place}</option>"
                for place in item["places"]
            )
            parts.append(
                f'<div>\n    <label for="{field}">{rich_html(option["text"])}</label>\n'
                f'    <select id="{field}" name="{field}">\n'
                f'      <option value="">—</option>\n      {places}\n    </select>\n  </div>'
            )
    elif qtype == QuestionType.NUMERIC:
        parts.append(_text(item, name, _("Your answer (a number)"), ' inputmode="decimal"', 50))
    else:
        parts.append(_text(item, name, _("Your answer"), "", 500))
    return mark_safe("\n".join(parts))  # noqa: S308 - every value above is escaped or sanitised


def paper_fieldset(item: dict[str, Any]) -> SafeString:
    """One question of a whole paper's form: its fieldset with the legend (number and
    points), the inputs and the line where paper-autosave.js says "Saved" (a no-break
    space until then, so that the text takes no new room)."""
    n = item["position"]
    described = f' aria-describedby="q-{n}-error"' if item["error"] else ""
    return mark_safe(  # noqa: S308 - escaped or built above
        f'<fieldset class="card stack" id="q-{n}" data-item="{item["item"]}"'
        f' data-type="{escape(item["type"])}"{described}>\n'
        f"    <legend>{escape(item['legend'])}</legend>\n"
        f"    {item['inputs']}\n"
        '    <p class="form-help" data-save-status aria-live="polite">&nbsp;</p>\n'
        "  </fieldset>"
    )
