"""A URL converter that round-trips any generation id through one path segment.

Ids may hold any character, slashes included. A ``<path:…>`` route cannot take them: the
server decodes ``%2F`` before routing, so ``generations/a/timeline/`` would be ambiguous
(the id ``a`` or the id ``a/timeline``?), and browsers collapse ``.``/``..`` segments.
Readable ids stay as they are; the others are written as ``~`` + base64url, and an id that
itself starts with ``~`` is always encoded, so every segment decodes to exactly one id.
"""

from __future__ import annotations

import base64
import binascii

from storage_backends.documents import validate_id
from storage_backends.errors import StorageValidationError

ENCODED_PREFIX = "~"


class GenerationIdConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        if not value.startswith(ENCODED_PREFIX):
            return value
        encoded = value[len(ENCODED_PREFIX):]
        try:
            decoded = validate_id(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, StorageValidationError) as exc:
            # Not a URL this converter made: no route matches, so the answer is a 404.
            raise ValueError(f"not an encoded generation id: {value!r}") from exc
        # One URL per id: a non-canonical spelling (stray characters, padding) is refused too.
        if self.to_url(decoded) != value:
            raise ValueError(f"not the canonical URL of generation {decoded!r}")
        return decoded

    def to_url(self, value: str) -> str:
        if _needs_encoding(value):
            encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")
            return ENCODED_PREFIX + encoded
        return value


def _needs_encoding(generation_id: str) -> bool:
    return "/" in generation_id or generation_id in (".", "..") or generation_id.startswith(ENCODED_PREFIX)
