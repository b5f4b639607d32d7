"""Shared template helpers: safe links, times, durations, labels, list links."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gennie_admin.forms import ListParams
from gennie_admin.templatetags.gennie_tags import (
    duration,
    list_url,
    safe_url,
    stage_label,
    status_label,
    time_parts,
    timestamp,
)
from storage_backends import GenerationStatus, Stage
from tests.factories import ago


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.mp4", "http://example.com", "HTTPS://EXAMPLE.COM/x"])
def test_safe_url_keeps_http_and_https(url):
    assert safe_url(url) == url


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>",
    "vbscript:msgbox", "//evil.example.com/x", "/relative/path", "https://", "ftp://example.com/x",
    "http://[::1", "", None, 42, ["https://example.com"],
])
def test_safe_url_refuses_everything_else(url):
    assert safe_url(url) == ""


def relative_time(value):
    return time_parts(value)[2]


def test_relative_time():
    assert relative_time(ago(seconds=3)) == "just now"
    assert relative_time(ago(seconds=45)) == "45 s ago"
    assert relative_time(ago(minutes=12, seconds=5)) == "12 min ago"
    assert relative_time(ago(hours=5, minutes=1)) == "5 h ago"
    assert relative_time(ago(days=3, minutes=1)) == "3 d ago"
    assert relative_time(datetime.now(timezone.utc) + timedelta(minutes=2, seconds=5)) == "in 2 min"
    assert relative_time("2020-02-03T04:05:06Z") == "2020-02-03"
    assert time_parts("not a time") is time_parts(None) is None


def test_exact_time_is_utc_to_the_millisecond():
    assert time_parts("2026-01-01T12:00:03.25+02:00")[1] == "2026-01-01 10:00:03.250 UTC"


def test_timestamp_markup_escapes_and_shows_both_times():
    html = timestamp("2026-01-01T12:00:03.250Z")

    assert html.startswith('<time datetime="2026-01-01T12:00:03.250Z" title="2026-01-01 12:00:03.250 UTC">')
    assert timestamp('"><script>') == '<span class="muted">—</span>'


@pytest.mark.parametrize(("value", "text"), [
    (0.0004, "0.4 ms"), (0.85, "850 ms"), (4.21, "4.2 s"), (185, "3 min 05 s"), (7620, "2 h 07 min"),
    (timedelta(days=1, hours=3), "1 d 3 h"), (-4.21, "-4.2 s"), ("12", ""), (True, ""), (None, ""),
])
def test_duration(value, text):
    assert duration(value) == text


def test_labels():
    assert stage_label(Stage.BASE_VIDEO) == stage_label("baseVideo") == "Base video"
    assert status_label(GenerationStatus.IN_PROGRESS) == status_label("in_progress") == "In progress"
    assert stage_label("somethingElse") == "somethingElse"


def test_list_url_keeps_filters_and_drops_the_cursor_unless_given():
    params = ListParams(q="otter", status=GenerationStatus.FAILED, per_page=25, cursor="abc")

    assert list_url(params) == "/?q=otter&status=failed&per_page=25"
    assert list_url(params, status=None) == "/?q=otter&per_page=25"
    assert list_url(params, cursor="next") == "/?q=otter&status=failed&per_page=25&cursor=next"
    assert list_url(ListParams()) == "/"


def test_timestamp_of_a_naive_datetime_reads_it_as_utc():
    html = timestamp(datetime(2026, 1, 1, 12, 0, 3, 250000))

    assert html.startswith('<time datetime="2026-01-01T12:00:03.250Z" title="2026-01-01 12:00:03.250 UTC">')
