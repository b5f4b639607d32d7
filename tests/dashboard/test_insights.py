"""The insights page ``/insights/``, the list filtered to a failure group, and the detail page's
comparisons with recent generations: over the Django test client, on the memory storage."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
from django.urls import reverse

from storage_backends import Stage, fingerprint_error
from tests.factories import ago, completed_stages, iso, make_item

pytestmark = pytest.mark.django_db

INSIGHTS = reverse("insights")
LIST = reverse("generations:list")
TTS_ERROR = "TTS provider answered 429 (request 7f3a9c)"
TTS_GROUP = fingerprint_error("audio", TTS_ERROR)
FFMPEG_GROUP = fingerprint_error("baseVideo", "ffmpeg exited with code 137")


def failed_at_audio(generation_id: str, error: object, **times: str) -> dict:
    return make_item(generation_id, script={"content": "Hello."}, audio={"error": error}, **times)


@pytest.fixture
def generations(storage):
    """Created in the last 24 hours: 3 completed (in one hour), 2 failed the same way (their request
    ids differ), 1 failed otherwise, 1 in progress and 1 stalled; and a failure 3 days ago."""
    two_hours_ago = ago(hours=2)
    base = {k: v for k, v in completed_stages().items() if k != "finalVideo"}
    storage.save_many([
        *(make_item(f"gen-done-{n}", created_at=two_hours_ago, updated_at=two_hours_ago, **completed_stages())
          for n in range(3)),
        failed_at_audio("gen-tts-1", TTS_ERROR, created_at=ago(hours=5), updated_at=ago(hours=5)),
        failed_at_audio("gen-tts-2", "TTS provider answered 429 (request 0b12ee)",
                        created_at=ago(hours=4), updated_at=ago(hours=4)),
        make_item("gen-ffmpeg", created_at=ago(hours=3), updated_at=ago(hours=3),
                  **{**base, "baseVideo": {"error": "ffmpeg exited with code 137"}}),
        make_item("gen-running", created_at=ago(minutes=5), updated_at=ago(minutes=1), script={"content": "Hi."}),
        make_item("gen-stalled", created_at=ago(hours=6), updated_at=ago(hours=6), script={"content": "Hi."}),
        failed_at_audio("gen-tts-old", "TTS provider answered 429 (request 99aa11)",
                        created_at=ago(days=3), updated_at=ago(days=3)),
    ], preserve_timestamps=True)
    return storage


@pytest.fixture
def insights_calls(storage, monkeypatch) -> list[object]:
    """The queries of every ``insights`` call the dashboard makes to its storage."""
    calls: list[object] = []
    backend = storage.storage  # behind the guard
    original = backend.insights

    def counted(query):
        calls.append(query)
        return original(query)

    monkeypatch.setattr(backend, "insights", counted)
    return calls


def totals(response) -> dict[str, int]:
    return {status.value: count for status, _, count in response.context["page"].totals}


# -- access ------------------------------------------------------------------------------
# (anonymous, non-staff, inactive, htmx, GET only: tests/dashboard/test_access.py covers /insights/ too)

def test_the_top_bar_links_to_insights(staff_client):
    html = staff_client.get(INSIGHTS).content.decode()

    assert f'<a href="{INSIGHTS}" aria-current="page">Insights</a>' in html


def test_a_failing_storage_gives_the_503_page(staff_client, failing_storage):
    response = staff_client.get(INSIGHTS)

    assert response.status_code == 503
    assert "Storage unavailable" in response.content.decode()


# -- the page ----------------------------------------------------------------------------

def test_the_page_counts_the_window_by_status_and_bucket(staff_client, generations, insights_calls):
    response = staff_client.get(INSIGHTS)
    html = response.content.decode()

    assert response.status_code == 200
    assert totals(response) == {"completed": 3, "failed": 3, "in_progress": 1, "stalled": 1}
    # 24 hours of hour buckets (the window touches 25 hours), the failed one of 3 days ago left out.
    assert len(insights_calls) == 1 and insights_calls[0].bucket == "hour"
    assert len(response.context["page"].columns) == 25
    # One bar segment per status and bucket, with its figures as its title.
    assert re.search(r'<rect class="segment segment-completed" [^>]*><title>[^<]*UTC: 3 completed</title>', html)
    assert html.count('class="segment segment-failed"') == 3
    assert "Failure rate 50% of the finished ones" in html
    # The same figures as text: a table for screen readers.
    table = re.search(r'<div class="visually-hidden"><table class="chart-data">.*?</table>', html, re.S).group(0)
    assert re.search(r"<td>3</td><td>0</td><td>0</td><td>0</td><td>0%</td>", table)


def test_the_failure_rate_is_a_line_with_a_titled_point_per_bucket_that_has_one(staff_client, generations):
    html = staff_client.get(INSIGHTS).content.decode()

    points = re.findall(r'<circle class="rate-point" [^>]*><title>([^<]*)</title>', html)
    assert sorted(title.split(": ")[1] for title in points) == ["failure rate 0%"] + ["failure rate 100%"] * 3
    assert re.search(r'<path class="rate-line" d="M[\d.]+ [\d.]+( [ML][\d.]+ [\d.]+)*">', html)


def test_week_window_has_day_buckets_and_counts_the_older_failure(staff_client, generations, insights_calls):
    response = staff_client.get(f"{INSIGHTS}?window=7d")

    assert insights_calls[0].bucket == "day"
    assert len(response.context["page"].columns) == 8  # seven days touch eight
    assert totals(response)["failed"] == 4


def test_status_counts_link_to_the_list_of_the_same_window(staff_client, generations):
    html = staff_client.get(f"{INSIGHTS}?window=7d").content.decode()

    assert f'href="{LIST}?created=7d"' in html
    assert f'href="{LIST}?status=failed&amp;created=7d"' in html
    assert f'href="{INSIGHTS}"' in html and f'href="{INSIGHTS}?window=1h"' in html  # the presets


def test_failure_groups_most_frequent_first_with_links(staff_client, generations):
    response = staff_client.get(INSIGHTS)
    html = response.content.decode()

    groups = [row.group for row in response.context["page"].groups]
    assert [(group.fingerprint, group.count) for group in groups] == [(TTS_GROUP, 2), (FFMPEG_GROUP, 1)]
    assert "TTS provider answered &lt;n&gt; (request &lt;n&gt;)" in html  # the readable message
    assert f"e.g. {TTS_ERROR}" in unescape(html)  # and one raw example
    assert re.search(rf'<a class="group-count" href="{LIST}\?created=24h&amp;failure={TTS_GROUP}"[^>]*>2</a>', html)
    for generation_id in ("gen-tts-1", "gen-tts-2", "gen-ffmpeg"):
        assert f'href="{reverse("generations:detail", args=[generation_id])}"' in html
    # A sparkline per group: one titled bar per bucket with failures.
    assert len(re.findall(r'<svg class="mini-chart sparkline"', html)) == 2
    assert html.count('<rect class="mini-bar"') >= 3


def test_a_group_count_opens_the_list_of_exactly_its_generations(staff_client, generations):
    response = staff_client.get(INSIGHTS)
    link = unescape(re.search(rf'href="([^"]*failure={TTS_GROUP})"', response.content.decode()).group(1))

    listing = staff_client.get(link).context["listing"]

    assert listing.problems == ()
    assert sorted(row.generation_id for row in listing.rows) == ["gen-tts-1", "gen-tts-2"]


def test_stage_durations_in_human_units_with_a_histogram(staff_client, storage):
    storage.save_many([
        make_item(f"gen-{n}", created_at=ago(hours=1), updated_at=ago(hours=1), script={"content": "Hi."},
                  stageTimestamps={"initialParams": ago(hours=1), "script": ago(hours=1, seconds=-136)})
        for n in range(4)
    ], preserve_timestamps=True)

    response = staff_client.get(INSIGHTS)
    html = response.content.decode()

    [row] = response.context["page"].durations
    assert row.label == "Script" and row.stats.count == 4
    assert re.search(r'<td data-label="Median" class="num">2 min 1\d s</td>', html)  # within 5 % of 2 min 16 s
    histogram = re.search(r'<svg class="mini-chart histogram"[^>]*aria-label="([^"]*)"', html).group(1)
    assert re.fullmatch(r"1 min \d\d s – \d min \d\d s: 4", histogram)


def test_an_empty_window_says_so(staff_client, insights_calls):
    html = staff_client.get(f"{INSIGHTS}?window=1h").content.decode()

    assert "No generation created in the last hour failed." in html
    assert "No stage times were recorded" in html
    assert "None finished yet" in html


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_failure_messages_are_escaped(staff_client, storage, payload):
    storage.save_many([failed_at_audio("gen-xss", payload, created_at=ago(hours=1), updated_at=ago(hours=1))],
                      preserve_timestamps=True)

    html = staff_client.get(INSIGHTS).content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html or "&lt;img src=x" in html


@pytest.mark.parametrize("query", ["window=2y", "window=", "window=24h&window=<b>"])
def test_bad_parameters_are_reported_and_the_default_window_shown(staff_client, generations, query):
    response = staff_client.get(f"{INSIGHTS}?{query}")
    html = response.content.decode()

    assert response.status_code == 200
    assert response.context["params"].window == "24h"
    if query != "window=":  # empty means the default
        assert "Some parameters were ignored" in html and "window: Select a valid choice." in unescape(html)
    assert "<b>" not in html


def test_the_page_costs_one_insights_call(staff_client, generations, insights_calls):
    staff_client.get(INSIGHTS)
    staff_client.get(INSIGHTS)

    assert len(insights_calls) == 2  # one each: the page is never cached


# -- stage and language filters ------------------------------------------------------------

@pytest.fixture
def languages(storage):
    """Created in the last 24 hours, in French and English: each has a TTS failure (current stage:
    audio), a completed one; French has one in progress (at the script), English an ffmpeg failure."""
    base = {k: v for k, v in completed_stages().items() if k != "finalVideo"}
    storage.save_many([
        failed_at_audio("gen-fr-tts", TTS_ERROR, language="fr", created_at=ago(hours=5), updated_at=ago(hours=5)),
        make_item("gen-fr-done", language="fr", created_at=ago(hours=2), updated_at=ago(hours=2),
                  **completed_stages()),
        make_item("gen-fr-running", language="fr", created_at=ago(minutes=5), updated_at=ago(minutes=1),
                  script={"content": "Salut."}),
        failed_at_audio("gen-en-tts", "TTS provider answered 429 (request 0b12ee)", created_at=ago(hours=4),
                        updated_at=ago(hours=4)),
        make_item("gen-en-ffmpeg", created_at=ago(hours=3), updated_at=ago(hours=3),
                  **{**base, "baseVideo": {"error": "ffmpeg exited with code 137"}}),
        make_item("gen-en-done", created_at=ago(hours=2), updated_at=ago(hours=2), **completed_stages()),
    ], preserve_timestamps=True)
    return storage


FILTERED = f"{INSIGHTS}?window=24h&language=fr&stage=audio"


def test_the_filters_narrow_every_figure_to_the_matching_generations(staff_client, languages, insights_calls):
    response = staff_client.get(FILTERED)
    html = response.content.decode()

    assert response.status_code == 200
    [query] = insights_calls
    assert (query.language, query.stage) == ("fr", Stage.AUDIO)
    assert totals(response) == {"completed": 0, "failed": 1, "in_progress": 0, "stalled": 0}
    groups = [row.group for row in response.context["page"].groups]
    assert [(group.fingerprint, group.count, group.example_ids) for group in groups] == [(TTS_GROUP, 1, ["gen-fr-tts"])]
    assert "gen-fr-tts" in html and "gen-en-tts" not in html and "gen-en-ffmpeg" not in html
    assert "whose current stage is Audio and in language “fr”" in html


def test_one_filter_alone_narrows_too(staff_client, languages):
    french = staff_client.get(f"{INSIGHTS}?language=FR")  # any case, as the list
    at_audio = staff_client.get(f"{INSIGHTS}?stage=audio")

    assert totals(french) == {"completed": 1, "failed": 1, "in_progress": 1, "stalled": 0}
    assert totals(at_audio) == {"completed": 0, "failed": 2, "in_progress": 0, "stalled": 0}
    assert [(row.group.fingerprint, row.group.count) for row in at_audio.context["page"].groups] == [(TTS_GROUP, 2)]


def test_the_presets_the_totals_and_the_group_counts_keep_the_filters(staff_client, languages):
    html = staff_client.get(FILTERED).content.decode()

    assert f'href="{INSIGHTS}?window=1h&amp;stage=audio&amp;language=fr"' in html
    assert f'href="{INSIGHTS}?window=7d&amp;stage=audio&amp;language=fr"' in html
    assert f'href="{INSIGHTS}?stage=audio&amp;language=fr"' in html  # the default window
    assert f'href="{LIST}?status=failed&amp;stage=audio&amp;language=fr&amp;created=24h"' in html
    assert re.search(rf'<a class="group-count" href="{LIST}\?stage=audio&amp;language=fr&amp;created=24h'
                     rf'&amp;failure={TTS_GROUP}"[^>]*>1</a>', html)


def test_a_filtered_count_opens_the_list_of_exactly_what_it_counts(staff_client, languages):
    response = staff_client.get(f"{INSIGHTS}?language=en")
    html = response.content.decode()
    group_link = unescape(re.search(rf'class="group-count" href="([^"]*failure={TTS_GROUP})"', html).group(1))
    all_link = unescape(re.search(r'<a class="count" href="([^"]*)">All', html).group(1))

    group_rows = staff_client.get(group_link).context["listing"].rows
    all_rows = staff_client.get(all_link).context["listing"].rows

    assert [row.generation_id for row in group_rows] == ["gen-en-tts"]
    assert sorted(row.generation_id for row in all_rows) == ["gen-en-done", "gen-en-ffmpeg", "gen-en-tts"]
    assert response.context["page"].total == len(all_rows)


def test_the_filter_form_works_without_javascript_and_keeps_the_window(staff_client, languages):
    html = staff_client.get(f"{INSIGHTS}?window=7d&stage=audio&language=fr").content.decode()

    form = re.search(r'<form class="filters card insights-filters" method="get" action="([^"]*)".*?</form>', html,
                     re.S)
    assert form.group(1) == INSIGHTS
    assert '<input type="hidden" name="window" value="7d">' in form.group(0)
    assert '<option value="audio" selected>Audio</option>' in form.group(0)
    assert 'name="language" id="id_language" value="fr"' in form.group(0)
    assert f'<a class="clear-filters" href="{INSIGHTS}?window=7d">' in form.group(0)


def test_an_unfiltered_page_offers_no_way_back_to_every_generation(staff_client, languages):
    assert 'class="clear-filters"' not in staff_client.get(INSIGHTS).content.decode()


@pytest.mark.parametrize("query", ["stage=rendering", "stage=audio&stage=<b>", "language=fr&stage=Audio"])
def test_a_bad_stage_is_reported_and_every_generation_shown(staff_client, languages, insights_calls, query):
    response = staff_client.get(f"{INSIGHTS}?{query}")
    html = unescape(response.content.decode())

    assert response.status_code == 200
    assert "Some parameters were ignored" in html and "stage: Select a valid choice." in html
    assert insights_calls[0].filtered is False
    assert totals(response) == {"completed": 2, "failed": 3, "in_progress": 1, "stalled": 0}
    assert "<b>" not in response.content.decode()


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "fr' onclick='x"])
def test_a_hostile_language_is_reported_never_echoed_raw(staff_client, languages, payload):
    response = staff_client.get(INSIGHTS, {"language": payload, "window": "1h"})
    html = response.content.decode()

    assert response.status_code == 200
    assert "language: Enter a language code such as en or pt-BR." in unescape(html)
    assert payload not in html and "<script>alert" not in html and "<img src=x" not in html
    assert response.context["params"].language == ""


# -- the list filtered to a failure group --------------------------------------------------

def test_the_list_filters_on_a_failure_group_of_any_time(staff_client, generations):
    response = staff_client.get(f"{LIST}?failure={TTS_GROUP}")
    html = response.content.decode()

    assert sorted(row.generation_id for row in response.context["listing"].rows) == [
        "gen-tts-1", "gen-tts-2", "gen-tts-old"]
    active = re.search(r'<p class="active-filter">.*?</p>', html, re.S).group(0)
    assert "TTS provider answered &lt;n&gt; (request &lt;n&gt;)" in active and TTS_GROUP in active
    assert f'<a href="{LIST}" hx-get="{LIST}" hx-push-url="true">Remove this filter</a>' in active
    # Submitting the filter form keeps it, as it keeps the status.
    assert f'<input type="hidden" name="failure" value="{TTS_GROUP}" form="filters">' in html


@pytest.mark.parametrize("value", ["nope", "audio-XYZ", "audio-7f3a9c", "movie-0123456789ab", "audio-0123456789abc"])
def test_a_malformed_failure_group_is_a_parameter_problem(staff_client, generations, value):
    response = staff_client.get(f"{LIST}?failure={value}")

    problems = response.context["listing"].problems
    assert response.status_code == 200
    assert len(problems) == 1 and problems[0].startswith("failure:")
    assert len(response.context["listing"].rows) == 9  # the unfiltered list


def test_a_failed_row_links_to_its_group_by_its_readable_message(staff_client, generations):
    html = staff_client.get(f"{LIST}?q=gen-tts-1").content.decode()

    link = re.search(r'<a href="([^"]*)" class="failure-link" title="([^"]*)">([^<]*)</a>', html)
    assert link.group(1) == f"{LIST}?failure={TTS_GROUP}"
    assert unescape(link.group(2)).endswith(": TTS provider answered <n> (request <n>)")
    assert unescape(link.group(3)) == "TTS provider answered <n> (request <n>)"


def test_rows_that_did_not_fail_have_no_group_link(staff_client, generations):
    html = staff_client.get(f"{LIST}?status=completed").content.decode()

    assert 'class="failure-link"' not in html


# -- the detail page ----------------------------------------------------------------------

def timed(generation_id: str, script_seconds: float, *, start: datetime, **stages) -> dict:
    """Created at ``start``, its script written ``script_seconds`` later."""
    return make_item(
        generation_id, created_at=iso(start), updated_at=iso(start + timedelta(seconds=script_seconds)),
        stageTimestamps={"initialParams": iso(start), "script": iso(start + timedelta(seconds=script_seconds))},
        script={"content": "Hi."}, **stages,
    )


def test_each_stage_is_compared_with_its_typical_duration_over_a_week(staff_client, storage):
    start = datetime.now(timezone.utc) - timedelta(days=2)
    storage.save_many([*(timed(f"gen-{n}", 44, start=start) for n in range(5)), timed("gen-slow", 136, start=start)],
                      preserve_timestamps=True)

    html = staff_client.get(reverse("generations:detail", args=["gen-slow"])).content.decode()

    typical = re.search(r'\+2 min 16 s <span class="typical is-slow" title="([^"]*)">· ([\d.]+)× typical</span>', html)
    assert typical, "the script row's duration is followed by its comparison"
    assert 2.9 <= float(typical.group(2)) <= 3.3  # the median is read from a histogram: within 5 %
    title = typical.group(1)
    assert title.startswith("Typical (median) over the last 7 days: 4") and title.endswith("of 6 generations")


def test_a_typical_duration_is_not_marked_slow(staff_client, storage):
    start = datetime.now(timezone.utc) - timedelta(days=1)
    storage.save_many([timed(f"gen-{n}", 44, start=start) for n in range(3)], preserve_timestamps=True)

    html = staff_client.get(reverse("generations:detail", args=["gen-0"])).content.decode()

    assert re.search(r'<span class="typical" title="[^"]*">· 1\.0× typical</span>', html)


def test_a_failed_generation_says_how_many_failed_the_same_way_lately(staff_client, generations):
    html = staff_client.get(reverse("generations:detail", args=["gen-tts-1"])).content.decode()

    same = re.search(r'<p class="same-failure">\s*<a href="([^"]*)">([^<]*)</a>', html)
    assert unescape(same.group(1)) == f"{LIST}?created=24h&failure={TTS_GROUP}"
    assert same.group(2) == "1 other generation failed the same way in the last 24 hours"
    # In the failed stage's card, under its error.
    card = re.search(r'<article class="card stage-card is-failed" id="stage-audio".*?</article>', html, re.S).group(0)
    assert 'class="same-failure"' in card


def test_a_failure_older_than_the_window_counts_every_recent_one_as_another(staff_client, generations):
    html = staff_client.get(reverse("generations:detail", args=["gen-tts-old"])).content.decode()

    assert "2 other generations failed the same way in the last 24 hours" in html


def test_a_failure_of_its_own_says_no_other_failed_so(staff_client, generations):
    html = staff_client.get(reverse("generations:detail", args=["gen-ffmpeg"])).content.decode()

    assert "No other generation failed the same way in the last 24 hours." in html


def test_a_generation_that_did_not_fail_says_nothing_of_failures(staff_client, generations):
    html = staff_client.get(reverse("generations:detail", args=["gen-done-0"])).content.decode()

    assert "same-failure" not in html


def test_a_cold_detail_view_costs_two_insights_calls_then_none(staff_client, generations, insights_calls):
    staff_client.get(reverse("generations:detail", args=["gen-tts-1"]))
    assert sorted((call.bucket, call.created_before - call.created_after) for call in insights_calls) == [
        ("day", timedelta(days=7)), ("hour", timedelta(hours=24))]

    staff_client.get(reverse("generations:detail", args=["gen-tts-2"]))
    staff_client.get(reverse("generations:timeline", args=["gen-tts-2"]), headers={"HX-Request": "true"})

    assert len(insights_calls) == 2  # reused for a minute
