"""The detail page and the raw JSON download, over the Django test client."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from django.urls import resolve, reverse

from tests.factories import ago, completed_stages, make_item

pytestmark = pytest.mark.django_db

ODD_IDS = ["a/b", "a/timeline", "../etc/passwd", ".", "..", "~tilde", "q?x=1#frag", "50%2F50", "ünï cødé 🎬",
           "back\\slash", " spaced ", "<b>id</b>", "x" * 1000]


def detail_url(generation_id: str) -> str:
    return reverse("generations:detail", args=[generation_id])


def save(storage, *items: dict) -> None:
    storage.save_many(items, preserve_timestamps=True)


def completed(generation_id: str = "gen-1", **extra) -> dict:
    stages = {**completed_stages(), "youtube": {"url": "https://youtu.be/otters", "videoId": "otters"}, **extra}
    return make_item(generation_id, created_at=ago(minutes=10), updated_at=ago(minutes=5), **stages)


# -- access ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["detail", "timeline", "download", "delete"])
def test_anonymous_users_are_sent_to_login(client, storage, name):
    save(storage, completed())
    response = client.get(reverse(f"generations:{name}", args=["gen-1"]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["detail", "timeline", "download", "delete"])
def test_non_staff_users_are_refused(plain_client, storage, name):
    save(storage, completed())

    assert plain_client.get(reverse(f"generations:{name}", args=["gen-1"])).status_code == 403


def test_unknown_id_is_a_styled_404(staff_client):
    response = staff_client.get(detail_url("nope<b>"))
    html = response.content.decode()

    assert response.status_code == 404
    assert 'class="error-page card"' in html and "No generation with id &#x27;nope&lt;b&gt;&#x27;." in html
    assert staff_client.get(reverse("generations:download", args=["nope"])).status_code == 404


@pytest.mark.parametrize("path", [
    "/generations/~!!!/",     # not base64url
    "/generations/~YQ/",      # "a", which is never encoded: one URL per id
    "/generations/~YS9i==/",  # "a/b" with padding
    "/generations/~/",        # nothing at all
])
def test_malformed_or_non_canonical_encoded_ids_are_404(staff_client, storage, path):
    save(storage, make_item("a"), make_item("a/b"))

    assert staff_client.get(path).status_code == 404


# -- content -----------------------------------------------------------------------------

def test_staff_sees_header_params_and_every_stage_card(staff_client, storage):
    save(storage, completed(script={"content": "Otters hold hands.\nThey sleep.", "mood": "calm",
                                     "source": "generated"}))
    response = staff_client.get(detail_url("gen-1"))
    html = response.content.decode()

    assert response.status_code == 200
    assert 'id="generation-id"' in html and ">gen-1<" in html
    assert "Completed" in html
    assert "A video about otters" in html and "aspectRatio" in html
    assert "<p>Otters hold hands.<br>They sleep.</p>" in html
    assert "calm" in html and "generated" in html
    assert '<audio class="player" controls preload="none" src="https://cdn.example.com/a.mp3">' in html
    assert '<li class="chip">otter</li>' in html and '<li class="chip">river</li>' in html
    assert 'href="https://cdn.example.com/c1.mp4"' in html and "4.0 s" in html
    assert 'src="https://cdn.example.com/base.mp4"' in html and 'src="https://cdn.example.com/final.mp4"' in html
    assert 'href="https://youtu.be/otters"' in html
    stage_ids = ["initialParams", "script", "audio", "keywords", "clips", "baseVideo", "finalVideo", "youtube"]
    positions = [html.index(f'id="stage-{name}"') for name in stage_ids]
    assert positions == sorted(positions)


def test_unknown_keys_and_attributes_are_shown_as_json(staff_client, storage):
    save(storage, completed(script={"content": "Hi", "voice": {"name": "Ada"}}, priority=7))
    html = staff_client.get(detail_url("gen-1")).content.decode()

    assert '<th scope="row">voice</th>' in html and "&quot;name&quot;: &quot;Ada&quot;" in html
    assert "Other attributes" in html and '<th scope="row">priority</th>' in html


def test_failed_stage_stands_out_with_its_error(staff_client, storage):
    save(storage, make_item("gen-1", created_at=ago(minutes=3), script={"content": "x"},
                            audio={"error": "TTS quota exceeded"}))
    html = staff_client.get(detail_url("gen-1")).content.decode()

    assert 'class="card stage-card is-failed" id="stage-audio"' in html
    assert "This stage failed" in html and "TTS quota exceeded" in html
    assert "Failed" in html


def test_raw_json_is_pretty_collapsible_and_downloadable(staff_client, storage):
    item = completed()
    save(storage, item)
    html = staff_client.get(detail_url("gen-1")).content.decode()

    assert "<details>" in html and "<summary>" in html
    assert 'id="raw-json"' in html and "&quot;generationId&quot;: &quot;gen-1&quot;" in html
    assert 'data-copy-target="raw-json"' in html and 'data-copy-target="generation-id"' in html
    assert f'href="{reverse("generations:download", args=["gen-1"])}" download' in html


def test_download_is_the_stored_document_as_an_attachment(staff_client, storage):
    item = completed()
    save(storage, item)
    response = staff_client.get(reverse("generations:download", args=["gen-1"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="gen-1.json"'
    assert json.loads(response.content) == storage.get("gen-1").to_item()


@pytest.mark.parametrize(("generation_id", "filename"), [
    ("../../etc/passwd", "etc_passwd.json"),
    ('evil"; filename=x.sh', "evil_filename_x.sh.json"),
    ("ünï", "n.json"),
    ("...", "generation.json"),
])
def test_download_filename_is_made_safe(staff_client, storage, generation_id, filename):
    save(storage, make_item(generation_id))
    response = staff_client.get(reverse("generations:download", args=[generation_id]))

    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'


@pytest.mark.parametrize("generation_id", ODD_IDS)
def test_odd_ids_round_trip_through_their_urls(staff_client, storage, generation_id):
    save(storage, make_item(generation_id))
    urls = {name: reverse(f"generations:{name}", args=[generation_id])
            for name in ("detail", "timeline", "download", "delete")}

    assert len(set(urls.values())) == 4
    for name, url in urls.items():
        match = resolve(unquote(url))  # as the server decodes the path before routing
        assert (match.url_name, match.kwargs["generation_id"]) == (name, generation_id)
    response = staff_client.get(urls["detail"])
    assert response.status_code == 200
    assert response.context["generation_id"] == generation_id


def test_readable_ids_keep_readable_urls():
    assert detail_url("gen_123-abc") == "/generations/gen_123-abc/"
    assert detail_url("a/b") == "/generations/~YS9i/"


# -- documents that do not validate ----------------------------------------------------

def test_corrupt_document_renders_raw_json_with_a_warning(staff_client, storage):
    storage._items["broken"] = {"generationId": "broken", "script": "not a map", "note": "<script>x</script>"}
    response = staff_client.get(detail_url("broken"))
    html = response.content.decode()

    assert response.status_code == 200
    assert "This document does not validate" in html and "script" in html
    assert "&quot;not a map&quot;" in html
    assert "<details open>" in html
    assert "<script>x</script>" not in html
    assert 'id="timeline"' not in html


def test_corrupt_document_downloads_raw(staff_client, storage):
    storage._items["broken"] = {"generationId": "broken", "script": "not a map"}
    response = staff_client.get(reverse("generations:download", args=["broken"]))

    assert json.loads(response.content) == {"generationId": "broken", "script": "not a map"}


# -- escaping ------------------------------------------------------------------------------

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


@pytest.mark.parametrize("payload", PAYLOADS)
def test_storage_values_are_escaped_everywhere(staff_client, storage, payload):
    item = completed(
        script={"content": payload, "mood": payload, "source": payload, payload: payload},
        keywords={"keywords": [payload]},
        clips={"clips": [{"url": "https://cdn/x.mp4", payload: payload}]},
        audio={"url": "https://cdn/a.mp3", "error": payload},
        **{payload: payload},
    )
    item["initialParams"] = {"prompt": payload, "language": payload, "options": {payload: payload}}
    save(storage, item, make_item(payload, prompt=payload))

    for url in (detail_url("gen-1"), detail_url(payload), reverse("generations:timeline", args=[payload])):
        html = staff_client.get(url).content.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert 'onerror=alert(1)>"' not in html


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 " JavaScript:alert(1)", "//evil.example/x.mp4"])
def test_only_http_urls_become_links_or_media(staff_client, storage, url):
    save(storage, completed(
        audio={"url": url}, clips={"clips": [{"url": url, "duration": 2}]},
        baseVideo={"url": url}, finalVideo={"url": url}, youtube={"url": url},
    ))
    html = staff_client.get(detail_url("gen-1")).content.decode()
    escaped = url.strip().replace("<", "&lt;").replace(">", "&gt;")

    assert 'src="' + escaped not in html and 'href="' + escaped not in html
    assert "<audio" not in html and "<video" not in html
    assert html.count("Not an http(s) URL") == 4
    assert escaped in html
