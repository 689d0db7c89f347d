"""Phone numbers as people type them, stored in one form: E.164 (+8613800138000).

Mainland mobile numbers are typed in many ways: 13800138000, 138 0013 8000,
138-0013-8000, +86 138 0013 8000, 0086 13800138000, 8613800138000, or in full-width
digits from a Chinese input method (１３８００１３８０００). They all become
+8613800138000. Numbers from elsewhere must carry their country code (+ or 00).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAINLAND_PREFIX = "+86"
_MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_E164 = re.compile(r"^\+[1-9][0-9]{5,14}$")
_SEPARATORS = re.compile(r"[\s\-().\u00b7]")

INVALID_PHONE_MESSAGE = _(
    "Enter a mainland mobile number such as 13800138000, "
    "or another number with its country code (+…)."
)


def normalise_phone(value: str) -> str:
    """The number in E.164 form, or ValidationError(code="invalid_phone")."""
    text = unicodedata.normalize("NFKC", value or "")
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith(MAINLAND_PREFIX):
        national = text[len(MAINLAND_PREFIX) :]
    elif text.startswith("+"):
        if _E164.match(text):
            return text
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone")
    elif text.startswith("86") and len(text) == 13:
        national = text[2:]
    else:
        national = text
    if _MAINLAND_MOBILE.match(national):
        return MAINLAND_PREFIX + national
    raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone")


def normalise_phone_or_none(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise_phone(value)
    except ValidationError:
        return None
