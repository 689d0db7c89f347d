"""Sanitised rich text for stems, options and explanations (nh3, strict allow-list).

Only simple formatting survives. Images must be files uploaded to this site (under
MEDIA_URL); anything else, every event handler, `javascript:` URL and script is
removed. `sanitise()` also says what it removed, so imports can report it.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from functools import lru_cache

import nh3
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "b", "strong", "i", "em", "u", "sub", "sup", "code", "ul", "ol", "li", "img", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"img": {"src", "alt", "width", "height"}}

_SCRIPT = re.compile(r"<\s*script", re.I)
_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
_JS_URL = re.compile(r"(?:java|vb)script\s*:", re.I)
_BLOCK_TAG = re.compile(r"<(?:br|/p|/li)\s*/?>", re.I)
_EMPTY_IMG = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>", re.I)
_SPACE = re.compile(r"\s+")
# Sanitised texts kept per process (rich_html): a few thousand stems and options.
RICH_CACHE_SIZE = 8192


@dataclass
class Cleaned:
    html: str
    removed: list[str] = field(default_factory=list)


def _local_images_only(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.startswith(settings.MEDIA_URL) and "//" not in value else None
    return value


def sanitise(html: str) -> Cleaned:
    """Clean `html`; `removed` names what was taken out (for import warnings)."""
    removed = []
    if _SCRIPT.search(html):
        removed.append("script")
    if _HANDLER.search(html):
        removed.append("event handler")
    if _JS_URL.search(html):
        removed.append("javascript: URL")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_local_images_only,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )
    if "<img" in html.lower() and cleaned.lower().count("src=") < html.lower().count("src="):
        removed.append("external image")
    cleaned = _EMPTY_IMG.sub("", cleaned)
    return Cleaned(html=cleaned.strip(), removed=removed)


def rich_html(text: object) -> SafeString:
    """Stored rich text as safe HTML to show (sanitised again: a row written around
    the services still renders inert). Cached per process by text and MEDIA_URL:
    question texts are shown again and again, and sanitising is a pure function."""
    return _rich_html(str(text or ""), settings.MEDIA_URL)


@lru_cache(maxsize=RICH_CACHE_SIZE)
def _rich_html(text: str, media_url: str) -> SafeString:
    return mark_safe(sanitise(text).html)  # noqa: S308 - nh3 output


def plain_text(html: str) -> str:
    """The visible text of a sanitised fragment, whitespace collapsed."""
    text = nh3.clean(_BLOCK_TAG.sub(" ", html), tags=set(), clean_content_tags={"script", "style"})
    return _SPACE.sub(" ", html_lib.unescape(text)).strip()
