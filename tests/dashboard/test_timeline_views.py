"""The stage timeline on the detail page and as its own htmx partial."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ago, completed_stages, make_item

pytestmark = pytest.mark.django_db


def timeline_url(generation_id: str = "gen-1") -> str:
    return reverse("generations:timeline", args=[generation_id])


def in_progress(**extra) -> dict:
    return make_item("gen-1", created_at=ago(seconds=40), updated_at=ago(seconds=20),
                     stageTimestamps={"initialParams": ago(seconds=40), "script": ago(seconds=20)},
                     script={"content": "Hello"}, **extra)


def failed() -> dict:
    return make_item("gen-1", created_at=ago(minutes=9), updated_at=ago(minutes=8),
                     stageTimestamps={"initialParams": ago(minutes=9), "script": ago(minutes=8, seconds=30),
                                      "audio": ago(minutes=8)},
                     script={"content": "Hello"}, audio={"error": "TTS quota exceeded"})


def save(storage, item: dict) -> None:
    storage.save_many([item], preserve_timestamps=True)


def test_detail_page_polls_the_timeline_while_in_progress(staff_client, storage):
    save(storage, in_progress())
    html = staff_client.get(reverse("generations:detail", args=["gen-1"])).content.decode()

    assert f'hx-get="{timeline_url()}" hx-trigger="every 3s"' in html
    assert 'aria-live="polite"' in html
    assert 'class="timeline-row step-running"' in html


def test_detail_page_of_a_final_generation_does_not_poll(staff_client, storage):
    save(storage, failed())
    html = staff_client.get(reverse("generations:detail", args=["gen-1"])).content.decode()

    assert 'id="timeline"' in html
    assert "hx-trigger" not in html


def test_htmx_partial_of_an_in_progress_generation_keeps_polling(staff_client, storage, htmx_headers):
    save(storage, in_progress())
    response = staff_client.get(timeline_url(), headers=htmx_headers)
    html = response.content.decode()

    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    assert "<html" not in html
    assert html.count('class="timeline-row ') == 8
    assert "running" in html and "for 2" in html
    # The header's status is refreshed alongside, out of band.
    assert '<dl class="facts" id="detail-facts" hx-swap-oob="true">' in html and "In progress" in html


@pytest.mark.parametrize("item", [failed(), make_item("gen-1", created_at=ago(minutes=5), **completed_stages())])
def test_htmx_partial_of_a_final_generation_stops_polling(staff_client, storage, htmx_headers, item):
    save(storage, item)
    response = staff_client.get(timeline_url(), headers=htmx_headers)

    assert response.status_code == 286
    assert 'class="timeline-row ' in response.content.decode()


def test_failed_stage_is_marked_with_its_error(staff_client, storage, htmx_headers):
    save(storage, failed())
    html = staff_client.get(timeline_url(), headers=htmx_headers).content.decode()

    assert '<li class="timeline-row step-failed" aria-label="Audio: failed">' in html
    assert '<p class="step-error">TTS quota exceeded</p>' in html
    assert html.count("step-pending") == 5
    # The generation is over: the stages after the failure were never reached, not pending.
    assert html.count('<span class="step-state">not reached</span>') == 5
    assert "+30.0 s" in html


def test_bars_are_svg_rects_without_style_attributes(staff_client, storage, htmx_headers):
    save(storage, failed())
    html = staff_client.get(timeline_url(), headers=htmx_headers).content.decode()

    assert '<rect class="bar-fill" x="' in html
    assert "style=" not in html


def test_full_timeline_page_without_htmx(staff_client, storage):
    save(storage, failed())
    response = staff_client.get(timeline_url())
    html = response.content.decode()

    assert response.status_code == 200
    assert "<html" in html and 'id="timeline"' in html and "TTS quota exceeded" in html
    assert "hx-swap-oob" not in html


def test_document_without_stage_times_says_its_times_are_stand_ins(staff_client, storage, htmx_headers):
    save(storage, make_item("gen-1", created_at=ago(minutes=9), updated_at=ago(minutes=1), script={"content": "x"},
                            audio={"url": "https://cdn/a.mp3"}))
    html = staff_client.get(timeline_url(), headers=htmx_headers).content.decode()

    assert "without <code>stageTimestamps</code>" in html
    assert html.count('class="approx"') == 2


def test_stalled_generation_says_so(staff_client, storage, htmx_headers):
    save(storage, make_item("gen-1", created_at=ago(hours=3), updated_at=ago(hours=2), script={"content": "x"}))
    html = staff_client.get(timeline_url(), headers=htmx_headers).content.decode()

    assert 'class="timeline-row step-running is-stalled"' in html
    assert '<span class="step-state">stalled</span>' in html


def test_polling_a_deleted_generation_reloads_the_page(staff_client, htmx_headers):
    response = staff_client.get(timeline_url("gone"), headers=htmx_headers)

    assert response["HX-Refresh"] == "true"
    assert staff_client.get(timeline_url("gone")).status_code == 404


def test_timeline_of_a_corrupt_document_leads_to_its_raw_json(staff_client, storage, htmx_headers):
    storage._items["broken"] = {"generationId": "broken", "script": 3}

    assert staff_client.get(timeline_url("broken"), headers=htmx_headers)["HX-Refresh"] == "true"
    response = staff_client.get(timeline_url("broken"))
    assert response.status_code == 302
    assert response["Location"] == reverse("generations:detail", args=["broken"])
