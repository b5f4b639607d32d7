"""The generations list ``/``: columns, filters, search, sort, pages, htmx, live refresh, bad input."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from gennie_admin.forms import GenerationFilterForm
from storage_backends.models import utcnow
from tests.factories import ago, completed_stages, iso, make_item

pytestmark = pytest.mark.django_db

LIST = reverse("generations:list")
HTMX = {"HX-Request": "true"}


def ids(response) -> list[str]:
    return [row.generation_id for row in response.context["listing"].rows]


def problems(response) -> tuple[str, ...]:
    return response.context["listing"].problems


@pytest.fixture
def generations(storage):
    """Five generations, one per situation, created at known times."""
    storage.save_many([
        make_item("gen-new-en", prompt="Otters holding hands", language="en",
                  created_at=ago(minutes=10), updated_at=ago(minutes=1),
                  script={"content": "Otters.", "mood": "calm"}),
        make_item("gen-failed-es", prompt="Ballenas en el mar", language="es",
                  created_at=ago(hours=2), updated_at=ago(hours=1),
                  script={"content": "Hola."}, audio={"status": "failed", "error": "TTS quota exceeded"}),
        make_item("gen-done-fr", prompt="La tour Eiffel", language="fr",
                  created_at=ago(days=3), updated_at=ago(days=3), **completed_stages()),
        make_item("gen-stalled-en", prompt="Quantum otters", language="en",
                  created_at=ago(hours=3), updated_at=ago(hours=3),
                  **{k: v for k, v in completed_stages().items() if k in ("script", "audio", "keywords", "clips")}),
        make_item("gen-old-de", prompt="Die Wärmepumpe", language="de",
                  created_at=ago(days=30), updated_at=ago(days=30), **completed_stages()),
    ], preserve_timestamps=True)
    return storage


# -- the page ----------------------------------------------------------------------------

def test_full_page_shows_every_column_newest_first(staff_client, generations):
    response = staff_client.get(LIST)
    html = response.content.decode()

    assert response.status_code == 200
    assert ids(response) == ["gen-new-en", "gen-failed-es", "gen-stalled-en", "gen-done-fr", "gen-old-de"]
    for header in ("Id", "Prompt", "Language", "Aspect", "Stage", "Status", "Created", "Updated"):
        assert f'<th scope="col">{header}</th>' in html
    assert "<!doctype html>" in html and 'id="filters"' in html
    assert "Otters holding hands" in html and "16:9" in html
    assert 'data-reached="2" data-failed="0" role="img" aria-label="Stage 2 of 8: Script"' in html
    assert 'data-reached="3" data-failed="3" role="img" aria-label="Stage 3 of 8: Audio"' in html
    assert '<span class="badge badge-failed" title="Audio failed: TTS quota exceeded">Failed</span>' in html
    assert '<span class="badge badge-stalled">Stalled</span>' in html
    # Relative time, with the exact time on hover and in the datetime attribute.
    assert re.search(r'<time datetime="[0-9T:.\-]+Z" title="[0-9\- :.]+ UTC">10 min ago</time>', html)


def test_rows_link_to_their_detail_page(staff_client, generations):
    html = staff_client.get(LIST).content.decode()

    assert f'href="{reverse("generations:detail", args=["gen-done-fr"])}"' in html


def test_prompt_is_truncated_with_the_full_text_on_hover(staff_client, storage):
    prompt = "A long prompt about otters " * 10  # 270 characters: a row's summary holds it whole
    storage.save({"generationId": "long", "initialParams": {"prompt": prompt}})
    html = staff_client.get(LIST).content.decode()

    assert f'title="{prompt}"' in html
    assert prompt[:60] in html and f">{prompt}<" not in html


def test_a_prompt_longer_than_a_summary_holds_is_cut_on_hover_too(staff_client, storage):
    prompt = "An even longer prompt about otters " * 20
    storage.save({"generationId": "longer", "initialParams": {"prompt": prompt}})
    html = staff_client.get(LIST).content.decode()

    hover = re.search(r'title="(An even longer[^"]*)"', html).group(1)
    assert len(hover) == 300 and hover.endswith("…") and prompt.startswith(hover[:-1])


def test_search_box_is_focused_and_labelled(staff_client):
    html = staff_client.get(LIST).content.decode()

    search = re.search(r'<input type="search"[^>]*>', html, re.S).group(0)
    assert "autofocus" in search and 'id="id_q"' in search
    assert '<label for="id_q">Search</label>' in html


def test_empty_storage_says_so(staff_client):
    response = staff_client.get(LIST)

    assert ids(response) == []
    assert "No generations yet." in response.content.decode()


# -- counts ------------------------------------------------------------------------------

def test_counts_by_status_are_filter_links_with_their_freshness(staff_client, generations):
    html = staff_client.get(LIST + "?language=en").content.decode()

    counts = re.search(r'<nav class="counts".*?</nav>', html, re.S).group(0)
    assert re.search(r'All <span class="count-n">5</span>', counts)
    for label, count in (("In progress", 1), ("Stalled", 1), ("Failed", 1), ("Completed", 2)):
        assert re.search(rf'{label} <span class="count-n">{count}</span>', counts)
    # Each link keeps the other filters and sets the status.
    assert 'href="/?status=failed&amp;language=en"' in counts
    assert "Totals for all generations as of" in html and "recounted every 15 s" in html


def test_counts_are_cached_briefly_per_process(staff_client, generations, settings):
    settings.GENNIE_COUNTS_CACHE_SECONDS = 60
    staff_client.get(LIST)
    generations.save(make_item("gen-later"))

    listing = staff_client.get(LIST).context["listing"]

    assert listing.counts.total == 5  # the cached figure
    assert "gen-later" in [row.generation_id for row in listing.rows]  # rows are always fresh


def test_counts_are_recomputed_once_stale(staff_client, generations, settings):
    settings.GENNIE_COUNTS_CACHE_SECONDS = 0
    staff_client.get(LIST)
    generations.save(make_item("gen-later"))

    assert staff_client.get(LIST).context["listing"].counts.total == 6


# -- filters -----------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("status=in_progress", ["gen-new-en"]),
    ("status=failed", ["gen-failed-es"]),
    ("status=stalled", ["gen-stalled-en"]),
    ("status=completed", ["gen-done-fr", "gen-old-de"]),
    ("stage=clips", ["gen-stalled-en"]),
    ("stage=audio", ["gen-failed-es"]),
    ("language=EN", ["gen-new-en", "gen-stalled-en"]),
    ("created=1h", ["gen-new-en"]),
    ("created=24h", ["gen-new-en", "gen-failed-es", "gen-stalled-en"]),
    ("created=7d", ["gen-new-en", "gen-failed-es", "gen-stalled-en", "gen-done-fr"]),
    ("q=otter", ["gen-new-en", "gen-stalled-en"]),
    ("q=GEN-DONE", ["gen-done-fr"]),
    ("q=otter&status=stalled", ["gen-stalled-en"]),
    ("sort=oldest", ["gen-old-de", "gen-done-fr", "gen-stalled-en", "gen-failed-es", "gen-new-en"]),
])
def test_each_filter_narrows_the_list(staff_client, generations, query, expected):
    response = staff_client.get(f"{LIST}?{query}")

    assert response.status_code == 200
    assert problems(response) == ()
    assert ids(response) == expected


def test_created_date_range_covers_whole_utc_days(staff_client, generations):
    today = utcnow().date()
    week_ago = (today - timedelta(days=7)).isoformat()
    response = staff_client.get(f"{LIST}?created_from={week_ago}&created_to={(today - timedelta(days=1)).isoformat()}")

    assert "gen-done-fr" in ids(response)
    assert "gen-old-de" not in ids(response) and "gen-new-en" not in ids(response)


def test_created_range_including_today(staff_client, generations):
    today = utcnow().date().isoformat()

    assert "gen-new-en" in ids(staff_client.get(f"{LIST}?created_from={today}&created_to={today}"))


def test_the_last_representable_day_is_no_upper_bound(staff_client, generations):
    response = staff_client.get(f"{LIST}?created_from=0001-01-01&created_to=9999-12-31")

    assert response.status_code == 200
    assert problems(response) == ()
    assert len(ids(response)) == 5


def test_no_match_offers_to_clear_the_filters(staff_client, generations):
    html = staff_client.get(f"{LIST}?q=nothing-like-this").content.decode()

    assert "No generation matches these filters." in html
    assert f'<a href="{LIST}">Clear filters</a>' in html


def test_controls_show_the_current_state(staff_client, generations):
    html = staff_client.get(f"{LIST}?q=otter&stage=clips&sort=oldest&per_page=25&live=1").content.decode()

    assert re.search(r'<input type="search" name="q" id="id_q" value="otter"', html)
    assert '<option value="clips" selected>' in html
    assert '<option value="oldest" selected>' in html
    assert '<option value="25" selected>' in html
    assert re.search(r'<input type="checkbox" name="live" value="1" id="id_live" checked>', html)


def test_every_control_is_the_form_field_of_its_name_with_its_label_and_length(staff_client):
    """The form is the one definition of the controls: nothing in the template may drift from it."""
    html = staff_client.get(LIST).content.decode()

    written_out = {name: field for name, field in GenerationFilterForm.base_fields.items()
                   # status comes from the count links, cursor from pages, failure from rows and insights
                   if name not in ("status", "cursor", "failure")}
    for name, field in written_out.items():
        assert f'<label for="id_{name}">{field.label}' in html, name
        control = re.search(rf'<(?:input|select)[^>]* name="{name}"[^>]* id="id_{name}"[^>]*>', html, re.S)
        assert control, name
        if getattr(field, "max_length", None):
            assert f'maxlength="{field.max_length}"' in control.group(0), name
    assert "Created from" in html and "Created to" in html


def test_default_controls_keep_the_default_page_size(staff_client):
    html = staff_client.get(LIST).content.decode()

    assert '<option value="50" selected>' in html
    assert '<option value="newest" selected>' in html


def test_without_javascript_the_form_is_a_plain_get_form(staff_client):
    html = staff_client.get(LIST).content.decode()

    form = re.search(r'<form id="filters"[^>]*>', html).group(0)
    assert 'method="get"' in form and f'action="{LIST}"' in form
    assert '<button type="submit"' in html


def test_status_chosen_by_count_link_is_kept_by_the_form(staff_client, generations):
    html = staff_client.get(f"{LIST}?status=failed").content.decode()

    assert '<input type="hidden" name="status" value="failed" form="filters">' in html


# -- pages -------------------------------------------------------------------------------

@pytest.fixture
def many(storage):
    """25 generations created one minute apart: gen-24 is the newest."""
    storage.save_many([
        make_item(f"gen-{n:02d}", created_at=ago(minutes=100 - n), updated_at=ago(minutes=100 - n))
        for n in range(25)
    ], preserve_timestamps=True)


def link(html: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return unescape(match.group(1)) if match else None


def test_next_and_previous_pages_follow_cursors(staff_client, many):
    first = staff_client.get(f"{LIST}?per_page=10&q=gen")
    assert ids(first) == [f"gen-{n:02d}" for n in range(24, 14, -1)]
    assert link(first.content.decode(), "prev") is None

    second_url = link(first.content.decode(), "next")
    assert parse_qs(urlsplit(second_url).query)["q"] == ["gen"]  # filters kept
    second = staff_client.get(second_url)
    assert ids(second) == [f"gen-{n:02d}" for n in range(14, 4, -1)]

    third = staff_client.get(link(second.content.decode(), "next"))
    assert ids(third) == [f"gen-{n:02d}" for n in range(4, -1, -1)]
    assert link(third.content.decode(), "next") is None

    back = staff_client.get(link(third.content.decode(), "prev"))
    assert ids(back) == ids(second)
    assert ids(staff_client.get(link(back.content.decode(), "prev"))) == ids(first)


def test_back_on_the_first_page_the_url_has_no_cursor(staff_client, many):
    first = staff_client.get(f"{LIST}?per_page=10").content.decode()
    second = staff_client.get(link(first, "next")).content.decode()

    response = staff_client.get(link(second, "prev"), headers=HTMX)

    assert response["HX-Push-Url"] == f"{LIST}?per_page=10"


def test_page_size_is_respected(staff_client, many):
    assert len(ids(staff_client.get(f"{LIST}?per_page=25"))) == 25
    assert len(ids(staff_client.get(LIST))) == 25  # fewer than the default 50
    assert len(ids(staff_client.get(f"{LIST}?per_page=25&q=gen-0"))) == 10


def test_changing_a_filter_drops_the_cursor(staff_client, many):
    page = staff_client.get(f"{LIST}?per_page=10")
    next_url = link(page.content.decode(), "next")
    second_html = staff_client.get(next_url).content.decode()

    counts = re.search(r'<nav class="counts".*?</nav>', second_html, re.S).group(0)
    assert "cursor=" not in counts


# -- htmx --------------------------------------------------------------------------------

def test_htmx_request_gets_only_the_table_section(staff_client, generations):
    response = staff_client.get(f"{LIST}?status=failed", headers=HTMX)
    html = response.content.decode()

    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="table-section"')
    assert "<!doctype html>" not in html and 'id="filters"' not in html
    assert ids(response) == ["gen-failed-es"]
    assert response["HX-Push-Url"] == f"{LIST}?status=failed"
    assert "HX-Request" in response["Vary"]


def test_pushed_url_is_canonical(staff_client, generations):
    response = staff_client.get(f"{LIST}?q=otter&stage=&language=&sort=newest&per_page=50&live=", headers=HTMX)

    assert response["HX-Push-Url"] == f"{LIST}?q=otter"


def test_the_same_url_loaded_directly_renders_the_full_page_in_the_same_state(staff_client, generations):
    partial = staff_client.get(f"{LIST}?q=otter&sort=oldest", headers=HTMX)
    full = staff_client.get(partial["HX-Push-Url"])

    assert ids(full) == ids(partial) == ["gen-stalled-en", "gen-new-en"]
    assert "<!doctype html>" in full.content.decode()


def test_history_restore_gets_the_full_page(staff_client, generations):
    response = staff_client.get(LIST, headers={**HTMX, "HX-History-Restore-Request": "true"})

    assert "<!doctype html>" in response.content.decode()


def test_controls_swap_the_table_and_push_the_url(staff_client):
    html = staff_client.get(LIST).content.decode()

    form = re.search(r'<form id="filters"[^>]*>', html, re.S).group(0)
    assert 'hx-get="/"' in form and 'hx-target="#table-section"' in form and 'hx-push-url="true"' in form
    search = re.search(r'<input type="search"[^>]*>', html, re.S).group(0)
    assert 'hx-trigger="input changed delay:300ms, search"' in search
    assert '<div id="results" class="results" hx-target="#table-section" hx-swap="outerHTML">' in html


def filter_block(html: str) -> str:
    return re.search(r'<details class="filters-more">.*?</details>', html, re.S).group(0)


def test_secondary_filters_fold_into_a_block_that_counts_the_active_ones(staff_client, generations):
    html = staff_client.get(
        f"{LIST}?q=otter&status=failed&stage=clips&language=en&sort=oldest&per_page=25&live=1").content.decode()

    block = filter_block(html)
    # Search and status stay in view, so only the block's narrowing filters are counted.
    assert re.search(r'<summary>Filters<span id="filters-active"> \(2 active\)</span></summary>', block)
    for name in ("stage", "language", "created", "created_from", "created_to", "sort", "per_page", "live"):
        assert f'name="{name}"' in block
    assert 'name="q"' not in block and 'name="q"' in html
    assert html.index('id="id_q"') < html.index('<details class="filters-more">')


def test_the_filter_block_shows_no_count_without_filters(staff_client, generations):
    html = staff_client.get(f"{LIST}?q=otter&sort=oldest").content.decode()

    assert '<summary>Filters<span id="filters-active"></span></summary>' in filter_block(html)


def test_an_htmx_swap_updates_the_filter_count_out_of_band(staff_client, generations):
    html = staff_client.get(f"{LIST}?language=en&created=7d", headers=HTMX).content.decode()

    assert '<span id="filters-active" hx-swap-oob="true"> (2 active)</span>' in html
    assert "<details" not in html  # the form itself is not swapped


def test_only_the_short_status_line_is_a_live_region(staff_client, generations):
    html = staff_client.get(f"{LIST}?language=en").content.decode()

    assert html.count("aria-live") == 1
    assert re.search(r'<p id="results-status" class="visually-hidden" role="status" aria-live="polite">'
                     r'Showing 2 generations matching the filters</p>', html)
    # It is outside the swapped region, so a refresh changes its text instead of replacing it.
    assert html.index('id="results-status"') < html.index('id="results"')


def test_a_refresh_rewrites_the_status_line_and_announces_no_table(staff_client, generations):
    html = staff_client.get(f"{LIST}?live=1&status=failed", headers={**HTMX, "HX-Trigger": "table-section"}
                            ).content.decode()

    assert "aria-live" not in html
    assert '<p id="results-status" hx-swap-oob="innerHTML">Showing 1 generation matching the filters</p>' in html


def test_links_in_the_table_section_are_real_links_and_htmx_requests(staff_client, many):
    html = staff_client.get(f"{LIST}?per_page=10").content.decode()

    for match in re.finditer(r'<a class="[^"]*"[^>]*?href="([^"]+)" hx-get="([^"]+)"', html):
        assert match.group(1) == match.group(2)
    assert re.search(r'rel="next" href="[^"]+" hx-get="[^"]+" hx-push-url="true"', html)


# -- live refresh ------------------------------------------------------------------------

def test_live_refresh_is_off_by_default(staff_client, generations):
    html = staff_client.get(LIST).content.decode()

    assert "hx-trigger=\"every" not in html


def test_live_refresh_polls_while_something_shown_is_in_progress(staff_client, generations, settings):
    settings.GENNIE_LIVE_REFRESH_SECONDS = 7
    html = staff_client.get(f"{LIST}?live=1").content.decode()

    section = re.search(r'<section id="table-section"[^>]*>', html, re.S).group(0)
    assert 'hx-trigger="every 7s"' in section and 'hx-get="/?live=1"' in section
    assert "Live: refreshing every 7 s" in html


def test_poll_answers_286_when_nothing_shown_is_in_progress(staff_client, generations):
    response = staff_client.get(f"{LIST}?live=1&status=completed",
                                headers={**HTMX, "HX-Trigger": "table-section"})

    assert response.status_code == 286
    assert ids(response) == ["gen-done-fr", "gen-old-de"]  # the table is still swapped in
    assert "Live refresh paused" in response.content.decode()
    assert "HX-Push-Url" not in response  # a poll never adds to the history


def test_poll_keeps_going_while_in_progress(staff_client, generations):
    response = staff_client.get(f"{LIST}?live=1", headers={**HTMX, "HX-Trigger": "table-section"})

    assert response.status_code == 200
    assert 'hx-trigger="every' in response.content.decode()


def test_full_page_never_answers_286(staff_client, generations):
    assert staff_client.get(f"{LIST}?live=1&status=completed").status_code == 200


# -- bad parameters ----------------------------------------------------------------------

@pytest.mark.parametrize(("query", "named"), [
    ("status=bogus", "status"),
    ("stage=render", "stage"),
    ("created_from=yesterday", "created_from"),
    ("created_to=2026-02-30", "created_to"),
    ("created_from=2026-03-02&created_to=2026-03-01", "created_to"),
    ("created=2y", "created"),
    ("sort=sideways", "sort"),
    ("per_page=1000", "per_page"),
    ("per_page=ten", "per_page"),
    ("language=<script>", "language"),
    ("cursor=not-a-cursor", "cursor"),
    ("cursor=" + "A" * 40, "cursor"),
    ("q=" + "x" * 201, "q"),
])
def test_a_bad_parameter_shows_a_message_and_the_unfiltered_list(staff_client, generations, query, named):
    for headers in ({}, HTMX):
        response = staff_client.get(f"{LIST}?status=failed&{query}", headers=headers)

        assert response.status_code == 200
        assert any(problem.startswith(f"{named}:") for problem in problems(response)), problems(response)
        assert len(ids(response)) == 5  # unfiltered, status=failed dropped too
        assert "Some parameters were ignored" in response.content.decode()


def test_a_cursor_of_the_other_sort_order_is_refused(staff_client, many):
    page = staff_client.get(f"{LIST}?per_page=10")
    cursor = parse_qs(urlsplit(link(page.content.decode(), "next")).query)["cursor"][0]

    response = staff_client.get(f"{LIST}?per_page=10&sort=oldest&cursor={cursor}")

    assert response.status_code == 200
    assert problems(response) and "other sort order" in problems(response)[0]


def test_bad_parameters_are_dropped_from_the_pushed_url(staff_client, generations):
    response = staff_client.get(f"{LIST}?status=bogus&q=otter", headers=HTMX)

    assert response["HX-Push-Url"] == LIST


def test_unknown_parameters_are_ignored(staff_client, generations):
    response = staff_client.get(f"{LIST}?utm_source=mail&status=failed")

    assert problems(response) == () and ids(response) == ["gen-failed-es"]


def test_parameter_values_are_escaped_in_messages(staff_client):
    html = staff_client.get(f'{LIST}?status="><script>alert(1)</script>').content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- hostile content ---------------------------------------------------------------------

XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


@pytest.mark.parametrize("payload", XSS)
def test_prompts_and_ids_are_escaped_everywhere(staff_client, storage, payload):
    storage.save({"generationId": f"id{payload}", "initialParams": {"prompt": payload, "language": payload,
                  "options": {"aspectRatio": payload}}, "script": {"status": "failed", "error": payload}})

    for headers in ({}, HTMX):
        html = staff_client.get(f"{LIST}?q={payload[:5]}", headers=headers).content.decode()
        assert payload not in html
        assert "<img src=x" not in html and "<script>alert" not in html
        # In text and in title attributes alike.
        assert 'title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html or "&lt;script&gt;" in html


def test_javascript_urls_in_a_prompt_never_become_links(staff_client, storage):
    storage.save({"generationId": "js", "initialParams": {"prompt": "javascript:alert(1)"}})
    html = staff_client.get(LIST).content.decode()

    assert "javascript:alert(1)" in html
    assert 'href="javascript:' not in html and "href='javascript:" not in html


def test_a_generation_without_stages_or_times_still_renders(staff_client, storage):
    storage.save_many([{"generationId": "bare"}], preserve_timestamps=True)
    html = staff_client.get(LIST).content.decode()

    assert "bare" in html and 'aria-label="Stage 0 of 8"' in html


def test_created_from_accepts_iso_dates_only_in_utc_days(staff_client, storage):
    day = date(2026, 1, 1)
    storage.save_many([
        make_item("midnight", created_at="2026-01-01T00:00:00.000Z"),
        make_item("late", created_at="2026-01-01T23:59:59.999Z"),
        make_item("next-day", created_at=iso(utcnow().replace(2026, 1, 2, 0, 0, 0, 0))),
    ], preserve_timestamps=True)

    response = staff_client.get(f"{LIST}?created_from={day}&created_to={day}")

    assert sorted(ids(response)) == ["late", "midnight"]
