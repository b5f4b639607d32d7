"""Opaque, tamper-evident page cursors.

A cursor is URL-safe base64 of a small JSON payload plus a keyed BLAKE2 digest. The key is
not a secret (cursors carry nothing private); it only makes an edited or truncated cursor
fail loudly with ``StorageValidationError`` instead of silently paging from the wrong place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from .errors import StorageValidationError

_KEY = b"gennie-admin/storage_backends/cursor/v1"
_DIGEST_SIZE = 10


def encode_cursor(payload: dict[str, Any]) -> str:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return _b64(_digest(body) + body)


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The payload of a cursor made by ``encode_cursor``; anything else is a validation error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise StorageValidationError("invalid cursor: not a cursor this storage made") from exc
    digest, body = raw[:_DIGEST_SIZE], raw[_DIGEST_SIZE:]
    if len(digest) != _DIGEST_SIZE or not hmac.compare_digest(digest, _digest(body)):
        raise StorageValidationError("invalid cursor: it was changed or truncated")
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise StorageValidationError("invalid cursor: unexpected payload")
    return payload


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, key=_KEY, digest_size=_DIGEST_SIZE).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
