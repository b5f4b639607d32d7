"""Ages written the way operators write them in crontabs: ``90m``, ``24h``, ``7d`` or seconds."""

from __future__ import annotations

import re
from datetime import timedelta

ACCEPTED_FORMS = "a number of seconds (3600) or a whole number with a unit: 90s, 90m, 24h, 7d, 2w"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"(\d+)([smhdw]?)")


def parse_duration(text: str) -> timedelta:
    """The age ``text`` stands for; ``ValueError`` naming the accepted forms otherwise."""
    match = _PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"invalid age {text!r}: use {ACCEPTED_FORMS}")
    number, unit = match.groups()
    try:
        return timedelta(seconds=int(number) * _UNITS[unit or "s"])
    except OverflowError:
        raise ValueError(f"age {text!r} is too large") from None
