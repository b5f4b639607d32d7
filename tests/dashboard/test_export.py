"""Exports of the whole filtered set: /export.csv and /export.jsonl, their permission, content and audit entry."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from gennie_admin.export import COLUMNS, PAGE_SIZE, detail_url_maker, neutralize
from gennie_admin.models import AuditEntry
from storage_backends import StorageOperationError
from tests.factories import BASE_TIME, at_minute, iso, make_item

from .conftest import grant

pytestmark = pytest.mark.django_db

CSV_URL, JSONL_URL = "/export.csv", "/export.jsonl"
FAILED = {"script": {"status": "failed", "error": "LLM timeout after 30s"}}


@pytest.fixture
def exporter(staff_user: User) -> User:
    """A staff user granted the explicit export permission."""
    return grant(staff_user, "export_generations")


@pytest.fixture
def exporter_client(exporter: User, staff_client: Client) -> Client:
    return staff_client


@pytest.fixture
def many(storage) -> list[str]:
    """1,200 generations, a minute apart; two in three failed. Returns the failed ids, newest first."""
    items = [make_item(f"gen-{n:04d}", created_at=at_minute(n), updated_at=at_minute(n), **(FAILED if n % 3 else {}))
             for n in range(1200)]
    storage.save_many(items, preserve_timestamps=True)
    return [f"gen-{n:04d}" for n in reversed(range(1200)) if n % 3]


def body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def jsonl_documents(response) -> list[dict]:
    data = body(response)
    assert not data.startswith(b"\xef\xbb\xbf")
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line]


# --- who may export -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [CSV_URL, JSONL_URL])
def test_anonymous_visitors_go_to_the_login_page(client, url):
    response = client.get(url + "?status=failed")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=/export")


@pytest.mark.parametrize("url", [CSV_URL, JSONL_URL])
def test_staff_without_the_permission_get_403_and_nothing_is_recorded(staff_client, url):
    response = staff_client.get(url)

    assert response.status_code == 403
    assert "gennie_admin.export_generations" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_non_staff_with_the_permission_are_refused(exporter):
    exporter.is_staff = False
    exporter.save()
    client = Client()
    client.force_login(exporter)

    assert client.get(CSV_URL).status_code == 403


@pytest.mark.parametrize("url", [CSV_URL, JSONL_URL])
def test_staff_with_the_permission_get_a_streamed_attachment(exporter_client, storage, url):
    storage.save(make_item("gen-1"))

    response = exporter_client.get(url)

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Accel-Buffering"] == "no"
    body(response)


def test_superusers_have_the_permission_implicitly(admin_client, storage):
    storage.save(make_item("gen-1"))

    response = admin_client.get(CSV_URL)

    assert response.status_code == 200
    assert [row[0] for row in csv_rows(response)[1:]] == ["gen-1"]


def test_only_get_is_allowed(exporter_client):
    assert exporter_client.post(CSV_URL).status_code == 405


# --- what is exported -----------------------------------------------------------------------------------------


def test_csv_is_the_whole_filtered_set_across_pages_in_list_order(exporter_client, many):
    # The page's own parameters (cursor, page size) are ignored: it is every match, not a page.
    response = exporter_client.get(CSV_URL, {"status": "failed", "per_page": "10", "cursor": "junk", "live": "1"})

    rows = csv_rows(response)
    assert len(many) > PAGE_SIZE
    assert [row[0] for row in rows[1:]] == many
    assert {row[1] for row in rows[1:]} == {"failed"}


def test_jsonl_is_the_whole_filtered_set_oldest_first(exporter_client, many):
    documents = jsonl_documents(exporter_client.get(JSONL_URL, {"status": "failed", "sort": "oldest"}))

    assert [document["generationId"] for document in documents] == many[::-1]


def test_filters_mean_what_they_mean_on_the_list(exporter_client, storage):
    storage.save_many([
        make_item("otters-en", prompt="Otters at play", created_at=at_minute(1), updated_at=at_minute(1)),
        make_item("otters-fr", prompt="Otters en France", language="fr", created_at=at_minute(2),
                  updated_at=at_minute(2)),
        make_item("otters-old", prompt="Otters long ago", created_at=iso(BASE_TIME - timedelta(days=3)),
                  updated_at=iso(BASE_TIME - timedelta(days=3))),
        make_item("cats", prompt="Cats", created_at=at_minute(3), updated_at=at_minute(3)),
    ], preserve_timestamps=True)

    response = exporter_client.get(CSV_URL, {"q": "otters", "language": "en", "created_from": "2026-01-01"})

    assert [row[0] for row in csv_rows(response)[1:]] == ["otters-en"]


def test_csv_has_the_columns_in_order_and_one_row_per_generation(exporter_client, storage):
    storage.save(make_item("gen-1", prompt="Otters", language="pt-BR", script={"content": "x"}))
    storage.update("gen-1", {"audio": {"status": "failed", "error": {"message": "TTS quota"}}})

    response = exporter_client.get(CSV_URL)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, row = csv_rows(response)
    assert tuple(header) == COLUMNS == (
        "id", "status", "current_stage", "failed_stage", "error_message", "language", "aspect_ratio", "prompt",
        "created_at", "updated_at", "elapsed_seconds", "detail_url",
    )
    state = storage.get("gen-1")
    elapsed = (state.updated - state.created).total_seconds()
    assert row == ["gen-1", "failed", "audio", "audio", "TTS quota", "pt-BR", "16:9", "Otters",
                   state.created_at, state.updated_at, f"{elapsed:.3f}", "http://testserver/generations/gen-1/"]


def test_csv_starts_with_a_bom_and_ends_lines_with_crlf(exporter_client, storage):
    storage.save(make_item("gen-1", prompt="Ça va, déjà vu"))

    data = body(exporter_client.get(CSV_URL))

    assert data.startswith(b"\xef\xbb\xbfid,status,")
    assert data.endswith(b"\r\n")
    assert "Ça va, déjà vu".encode() in data


def test_an_empty_set_is_the_header_alone(exporter_client):
    rows = csv_rows(exporter_client.get(CSV_URL, {"status": "failed"}))

    assert rows == [list(COLUMNS)]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralized(exporter_client, storage, start):
    payload = f"{start}HYPERLINK(\"http://evil.example\",\"x\")"
    # Ids hold no control characters: tab and CR are tried in the other cells only.
    generation_id = f"{start}id" if start.isprintable() else "gen-1"
    storage.save(make_item(generation_id, prompt=payload, language=f"{start}en",
                           script=FAILED["script"] | {"error": payload}))

    header, row = csv_rows(exporter_client.get(CSV_URL))

    cells = dict(zip(header, row, strict=True))
    assert cells["id"] == (f"'{start}id" if start.isprintable() else "gen-1")
    assert cells["prompt"] == f"'{payload}"
    assert cells["error_message"] == f"'{payload}"
    assert cells["language"] == f"'{start}en"
    # The detail link is still the real id's.
    assert cells["detail_url"] == "http://testserver" + reverse("generations:detail", args=[generation_id])


def test_only_the_formula_starts_are_neutralized():
    assert [neutralize(cell) for cell in ("", "a=b", " =1", "1-2", "'x")] == ["", "a=b", " =1", "1-2", "'x"]


def test_commas_quotes_and_newlines_in_prompts_are_quoted(exporter_client, storage):
    prompt = 'Otters, "the" best\nsecond line\r\nthird'
    storage.save(make_item("gen-1", prompt=prompt))

    response = exporter_client.get(CSV_URL)

    data = body(response).decode("utf-8")
    assert '"Otters, ""the"" best\nsecond line\r\nthird"' in data
    assert list(csv.reader(io.StringIO(data[1:], newline="")))[1][7] == prompt


def test_jsonl_lines_are_the_stored_documents(exporter_client, storage, many):
    response = exporter_client.get(JSONL_URL)

    assert response["Content-Type"] == "application/jsonl"
    documents = jsonl_documents(response)
    assert len(documents) == 1200
    for document in documents[:: 97]:
        assert document == storage.get(document["generationId"]).to_item()


def test_jsonl_keeps_unicode_and_every_document_on_one_line(exporter_client, storage):
    prompt = "Fuji 富士山\nline\u2028separator\x85next"
    storage.save(make_item("gen-1", prompt=prompt, extra={"nested": [1, 2.5, None, True]}))

    data = body(exporter_client.get(JSONL_URL))

    assert "富士山".encode() in data
    assert data.count(b"\n") == 1
    assert len(data.decode("utf-8").splitlines()) == 1
    assert json.loads(data) == storage.get("gen-1").to_item()


def test_the_filename_names_the_filters_and_the_time(exporter_client, monkeypatch):
    moment = datetime(2026, 12, 1, 15, 30, 12, tzinfo=timezone.utc)
    monkeypatch.setattr("gennie_admin.views.export.utcnow", lambda: moment)

    response = exporter_client.get(CSV_URL, {"status": "failed", "stage": "audio", "q": 'x"/../;y', "sort": "oldest"})

    assert response["Content-Disposition"] == (
        'attachment; filename="generations-failed-audio-search-x_y-oldest-20261201T1530Z.csv"')
    plain = exporter_client.get(JSONL_URL)
    assert plain["Content-Disposition"] == 'attachment; filename="generations-20261201T1530Z.jsonl"'


def test_a_bad_parameter_is_refused_not_exported_unfiltered(exporter_client, storage):
    storage.save(make_item("gen-1"))

    response = exporter_client.get(CSV_URL, {"status": "bogus"})

    assert response.status_code == 400
    assert "status:" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_a_storage_down_before_the_first_row_is_the_503_page(exporter_client, failing_storage):
    response = exporter_client.get(CSV_URL)

    assert response.status_code == 503
    assert not isinstance(response, StreamingHttpResponse)


def test_detail_urls_are_written_as_reverse_writes_them():
    make = detail_url_maker("https://admin.example.com/")
    for generation_id in ["gen_1", "a/b", "~x", "..", "富士 山", "50%?#&=+", "-x"]:
        assert make(generation_id) == "https://admin.example.com" + reverse("generations:detail", args=[generation_id])


# --- audit ----------------------------------------------------------------------------------------------------


def test_an_export_is_one_audit_entry_with_its_filters_and_count(exporter_client, exporter, many):
    response = exporter_client.get(CSV_URL, {"status": "failed", "sort": "oldest", "per_page": "10"})
    assert not AuditEntry.objects.exists()  # written when the stream ends: the count is known then

    body(response)

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.user, entry.count) == ("export", exporter, len(many))
    assert entry.filters == {"status": "failed", "sort": "oldest"}
    assert entry.detail == "csv: complete"


def test_a_download_closed_early_records_what_was_written(exporter_client, many):
    response = exporter_client.get(JSONL_URL)
    first = next(iter(response.streaming_content))

    response.close()

    assert first.count(b"\n") == PAGE_SIZE
    entry = AuditEntry.objects.get()
    assert entry.count == PAGE_SIZE
    assert entry.detail.startswith("jsonl: stopped early after 500 rows")


def test_a_storage_failing_midway_ends_the_download_and_records_how_far_it_got(exporter_client, storage, many,
                                                                              monkeypatch):
    real, calls = storage.storage.list_summaries, []

    def failing_after_one_page(query):
        calls.append(query)
        if len(calls) > 1:
            raise StorageOperationError("connection reset", code="Reset")
        return real(query)

    monkeypatch.setattr(storage.storage, "list_summaries", failing_after_one_page)
    response = exporter_client.get(CSV_URL)

    with pytest.raises(StorageOperationError):
        body(response)  # the server drops the connection: the client sees a download that did not finish
    entry = AuditEntry.objects.get()
    assert entry.count == PAGE_SIZE
    assert entry.detail == "csv: failed after 500 rows: StorageOperationError: connection reset"


# --- the list's links -----------------------------------------------------------------------------------------


def test_the_list_links_both_exports_with_its_filters_but_not_its_page(exporter_client, storage):
    storage.save(make_item("gen-1"))

    html = exporter_client.get("/", {"status": "failed", "q": "otters", "per_page": "10", "sort": "oldest"}).content

    text = html.decode()
    assert 'href="/export.csv?q=otters&amp;status=failed&amp;sort=oldest"' in text
    assert 'href="/export.jsonl?q=otters&amp;status=failed&amp;sort=oldest"' in text
    assert "Export CSV" in text and "Export JSON Lines" in text


def test_the_htmx_table_carries_the_links_too(exporter_client, htmx_headers):
    html = exporter_client.get("/", {"stage": "audio"}, headers=htmx_headers).content.decode()

    assert 'href="/export.csv?stage=audio"' in html


def test_staff_without_the_permission_see_no_export_links(staff_client, storage):
    storage.save(make_item("gen-1"))

    html = staff_client.get("/").content.decode()

    assert "/export.csv" not in html
    assert "Export CSV" not in html
