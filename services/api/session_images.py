"""Images attached to a session (LISA's `attachImage`): stored in the sessions bucket under the owner's and the
session's prefix, referenced from the history by `s3_key`, and given fresh presigned URLs each time the session is
read back (so a stored history never holds an expiring URL).

Only keys under the caller's own prefix for that session are ever presigned: a history that names another key
(another user's image, a session body) gets no URL for it.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any, Callable

from core.errors import InvalidInputError, LisaError

DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.DOTALL)
# The types OpenAI image parts take, each with the bytes its files start with.
SIGNATURES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
              "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class ImageTooLargeError(LisaError):
    status = 413
    error = "ImageTooLargeError"


def decode_image(url: str, max_bytes: int) -> tuple[str, bytes]:
    """(content type, bytes) of a base64 data URL holding a PNG, JPEG, GIF or WebP image; else a 4xx."""
    match = DATA_URL.match(url.strip())
    if not match or match.group(1) not in SIGNATURES:
        raise InvalidInputError("send the image as a data URL: data:image/png|jpeg|gif|webp;base64,…",
                                param="message.image_url.url")
    content_type, encoded = match.groups()
    if len(encoded) > (max_bytes * 4) // 3 + 4:
        raise ImageTooLargeError(f"the image is larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("the image is not valid base64", param="message.image_url.url") from None
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"the image is {len(data)} bytes; the limit is {max_bytes}")
    if not data.startswith(SIGNATURES[content_type]) or (content_type == "image/webp" and data[8:12] != b"WEBP"):
        raise InvalidInputError(f"the data is not a {content_type} image", param="message.image_url.url")
    return content_type, data


def image_key(prefix: str, content_type: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}.{EXTENSIONS[content_type]}"


def _image_parts(history: list[dict[str, Any]]):
    for message in history:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url" and "s3_key" in part:
                    yield part


def with_fresh_urls(history: list[dict[str, Any]], prefix: str, presign: Callable[[str], str]) -> list[dict[str, Any]]:
    """The history with every stored image's URL presigned again (in place; keys outside `prefix` get none)."""
    for part in _image_parts(history):
        key = part.get("s3_key")
        url = presign(key) if isinstance(key, str) and key.startswith(prefix) and ".." not in key else ""
        part["image_url"] = {**(part.get("image_url") if isinstance(part.get("image_url"), dict) else {}), "url": url}
    return history


def without_urls(history: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The history as stored: an image kept in S3 is its key, not a URL that expires (in place)."""
    for part in _image_parts(history):
        key = part.get("s3_key")
        if isinstance(key, str) and key.startswith(prefix) and isinstance(part.get("image_url"), dict):
            part["image_url"] = {**part["image_url"], "url": ""}
    return history
