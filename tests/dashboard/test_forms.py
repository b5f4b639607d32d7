"""The list's parameters: parsing, the storage query they make, canonical URLs."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from gennie_admin.forms import InsightsParams, ListParams, parse_insights_params, parse_list_params
from storage_backends import GenerationStatus, Stage

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
STALLED = timedelta(minutes=30)


def test_no_parameters_is_the_default_state():
    assert parse_list_params({}) == (ListParams(), [])


def test_parameters_are_parsed():
    params, problems = parse_list_params({
        "q": " otter ", "status": "stalled", "stage": "baseVideo", "language": "pt-BR", "created": "24h",
        "created_from": "2026-03-01", "created_to": "2026-03-02", "sort": "oldest", "per_page": "100",
        "cursor": "abc", "live": "1",
    })

    assert problems == []
    assert params == ListParams(
        q="otter", status=GenerationStatus.STALLED, stage=Stage.BASE_VIDEO, language="pt-BR", created="24h",
        created_from=date(2026, 3, 1), created_to=date(2026, 3, 2), sort="oldest", per_page=100,
        cursor="abc", live=True,
    )


def test_every_bad_parameter_is_reported_by_name():
    params, problems = parse_list_params({"status": "x", "stage": "y", "per_page": "3"})

    assert params == ListParams()
    assert sorted(problem.split(":")[0] for problem in problems) == ["per_page", "stage", "status"]


def test_query_from_params():
    query = ListParams(
        q="otter", status=GenerationStatus.FAILED, stage=Stage.AUDIO, language="en", sort="oldest", per_page=25,
        created_from=date(2026, 3, 1), created_to=date(2026, 3, 2), cursor="c",
    ).to_query(now=NOW, stalled_after=STALLED)

    assert (query.search, query.status, query.stage, query.language) == ("otter", "failed", "audio", "en")
    assert query.created_after == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert query.created_before == datetime(2026, 3, 3, tzinfo=timezone.utc)  # the whole last day
    assert (query.newest_first, query.limit, query.cursor, query.stalled_after) == (False, 25, "c", STALLED)


def test_a_preset_and_a_start_date_combine_to_the_later_bound():
    query = ListParams(created="1h", created_from=date(2026, 3, 1)).to_query(now=NOW, stalled_after=STALLED)

    assert query.created_after == NOW - timedelta(hours=1)


def test_empty_params_make_an_unfiltered_query():
    query = ListParams().to_query(now=NOW, stalled_after=STALLED)

    assert query.search is query.status is query.created_after is query.created_before is query.cursor is None
    assert query.newest_first and query.limit == 50


def test_filtered_ignores_display_preferences():
    assert not ListParams(sort="oldest", per_page=10, live=True, cursor="c").filtered
    assert ListParams(language="en").filtered


def test_a_failure_group_is_parsed_and_filters_the_query():
    params, problems = parse_list_params({"failure": "baseVideo-0123456789ab"})

    assert problems == [] and params == ListParams(failure="baseVideo-0123456789ab")
    assert params.filtered
    assert params.to_query(now=NOW, stalled_after=STALLED).failure == "baseVideo-0123456789ab"
    assert params.url() == "/?failure=baseVideo-0123456789ab"


def test_a_malformed_failure_group_is_reported_by_name():
    params, problems = parse_list_params({"failure": "baseVideo-01234"})

    assert params == ListParams()
    assert [problem.split(":")[0] for problem in problems] == ["failure"]


def test_insights_window_defaults_to_a_day_and_keeps_its_links_short():
    assert parse_insights_params({}) == (InsightsParams(window="24h"), [])
    assert parse_insights_params({"window": "7d"})[0].url() == "/insights/?window=7d"
    assert InsightsParams().url() == "/insights/"
    # Its counts link to the list of the same window.
    assert InsightsParams(window="1h").list_params.url(status="failed") == "/?status=failed&created=1h"


def test_a_bad_insights_window_is_reported_and_the_default_used():
    params, problems = parse_insights_params({"window": "1y"})

    assert params == InsightsParams() and [problem.split(":")[0] for problem in problems] == ["window"]
