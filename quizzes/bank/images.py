"""Images in questions are uploaded here, never hot-linked (rich_text drops any image
whose src is not under MEDIA_URL). Only raster formats, recognised by their magic
bytes: SVG can carry scripts, so it is refused."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

MAX_BYTES = 2 * 1024 * 1024
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


def _extension(head: bytes) -> str | None:
    for magic, extension in SIGNATURES.items():
        if head.startswith(magic):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def image_upload(*, upload) -> str:
    """Store an uploaded image; return its URL for an <img src>."""
    if upload.size > MAX_BYTES:
        raise ValidationError(_("Images may be at most 2 MB."))
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError(_("Images may be at most 2 MB."))
    extension = _extension(data[:16])
    if extension is None:
        raise ValidationError(_("Upload a PNG, JPEG, GIF or WebP image."))
    name = default_storage.save(f"questions/{secrets.token_hex(12)}.{extension}", ContentFile(data))
    return default_storage.url(name)
