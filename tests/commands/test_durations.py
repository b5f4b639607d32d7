from __future__ import annotations

from datetime import timedelta

import pytest

from gennie_admin.management.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("3600", timedelta(hours=1)),
        (" 12H ", timedelta(hours=12)),
        ("0", timedelta(0)),
    ],
)
def test_accepted_forms(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "1.5h", "-1d", "7 days", "1y", "10m5s", "P1D"])
def test_anything_else_is_refused_naming_the_accepted_forms(text):
    with pytest.raises(ValueError, match=r"invalid age .*90m, 24h, 7d"):
        parse_duration(text)


def test_an_age_beyond_the_calendar_is_refused():
    with pytest.raises(ValueError, match="too large"):
        parse_duration("99999999999d")
