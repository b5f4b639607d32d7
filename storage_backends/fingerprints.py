"""Failure groups: one key for every failure with the same cause, whatever its volatile parts.

``fingerprint_error(stage, error)`` is the stage plus the error's message (``error_message``)
normalized the way Sentry groups messages, and then some: numbers, hex and UUID-like tokens,
quoted values, the paths and queries of URLs, e-mail addresses and timestamps become
placeholders, so "TTS answered 429 (request 7f3a9c)" and "... (request 0b12ee)" share a group
while "ffmpeg exited with code 137" does not. The key is a short hash of the stage and the
normalized message: stable across processes and versions of Python, URL-safe.
``describe_error`` gives the normalized message itself, for display.

Known limits: a hex id of letters only (``deadbe``) cannot be told from a word and stays; every
number is volatile, so "exited with code 1" and "code 137" share a group (their words alike).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import GenerationState

#: Characters of the key after the stage: 12 hex digits, 48 bits (collisions need ~16 M causes).
_HASH_CHARS = 12

#: Only the start of a message is normalized: the cause is told there, and the rules stay linear.
_MAX_CHARS = 2000
# Token edges: not next to a letter or digit (``\b`` would treat ``_`` as part of a word: req_7f3a9c).
_A, _Z = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
# Order matters: whole structures first (a URL holds numbers, a timestamp digits).
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(https?|s3|gs|ftp)://([^/\s?#\"'<>]+)[^\s\"'<>]*", re.I), r"\1://\2/<path>"),
    (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(rf"\b(({_DAYS}), )?\d{{1,2}} ({_MONTHS}) \d{{4}} \d{{2}}:\d{{2}}(:\d{{2}})?( GMT| UTC| [+-]\d{{4}})?"),
     "<time>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b"), "<time>"),
    (re.compile(rf"{_A}[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}{_Z}", re.I), "<uuid>"),
    # Quoted values; an apostrophe inside a word (couldn't) opens nothing.
    (re.compile(r"\"[^\"]*\"|(?<!\w)'[^']*'(?!\w)|`[^`]*`"), "<value>"),
    # Hex tokens (0x…, or 4+ hex digits holding a digit) and numbers are one placeholder: a random
    # id is sometimes all digits. Numbers inside identifiers too (worker-12, v2.3.1, 30s).
    (re.compile(rf"{_A}0x[0-9a-f]+{_Z}|{_A}(?=[0-9a-f]*\d)[0-9a-f]{{4,}}{_Z}", re.I), "<n>"),
    (re.compile(r"\d+(\.\d+)*"), "<n>"),
)
_SPACES = re.compile(r"\s+")


def error_message(error: Any) -> str | None:
    """A stage's error as text: a string as it is, the ``message`` of an error map, else the
    error as JSON; None for no error (None, "" or {})."""
    if error in (None, "", {}):
        return None
    if isinstance(error, str):
        return error
    if isinstance(error, Mapping) and isinstance(error.get("message"), str) and error["message"]:
        return error["message"]
    return json.dumps(error, sort_keys=True, ensure_ascii=False, default=str)


def describe_error(error: Any) -> str:
    """The error message with its volatile parts as placeholders (``<n>``, ``<uuid>``…): what a
    failure group is called. A map without a ``message`` keeps its keys: only its values vary."""
    if isinstance(error, Mapping) and error_message(error) != error.get("message"):
        return "{" + ", ".join(f"{key}: {describe_error(value)}" for key, value in sorted(error.items(), key=str)) + "}"
    message = (error_message(error) or "")[:_MAX_CHARS]
    for pattern, placeholder in _RULES:
        message = pattern.sub(placeholder, message)
    return _SPACES.sub(" ", message).strip()


def fingerprint_error(stage: str, error: Any) -> str:
    """A short, stable, URL-safe key for a failure at ``stage`` (a ``Stage`` or its name):
    ``<stage>-<12 hex digits>`` of the stage and ``describe_error(error)``."""
    stage_name = getattr(stage, "value", stage)
    digest = hashlib.sha256(f"{stage_name}\n{describe_error(error)}".encode()).hexdigest()[:_HASH_CHARS]
    return f"{stage_name}-{digest}"


def failure_of(state: GenerationState) -> str | None:
    """The fingerprint of a document's failure (its first failed stage's); None if none failed."""
    failed = state.failed_stage
    return fingerprint_error(failed, state.stage(failed).error) if failed is not None else None
