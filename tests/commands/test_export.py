"""``manage.py export``: the dashboard's export from a shell, to a file or stdout, one line on failure."""

from __future__ import annotations

import csv
import io
import json
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from gennie_admin.export import COLUMNS
from gennie_admin.models import AuditEntry
from storage_backends import ListQuery
from tests.factories import BASE_TIME, iso, make_item

from .conftest import open_url, run, run_failing

pytestmark = pytest.mark.django_db

MANAGE = str(Path(__file__).resolve().parents[2] / "manage.py")
FAILED = {"script": {"status": "failed", "error": "LLM timeout after 30s"}}


def at(minutes: int) -> str:
    return iso(BASE_TIME + timedelta(minutes=minutes))


@pytest.fixture
def filled(sqlite_url: str) -> str:
    """1,100 generations a minute apart from BASE_TIME (more than two pages); two in three failed, the
    multiples of 10 in French."""
    with open_url(sqlite_url) as storage:
        storage.save_many([
            make_item(f"gen-{n:04d}", prompt=f"Otters number {n}", language="fr" if n % 10 == 0 else "en",
                      created_at=at(n), updated_at=at(n), **(FAILED if n % 3 else {}))
            for n in range(1100)
        ], preserve_timestamps=True)
    return sqlite_url


def ids(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows[1:]]


def csv_text_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def test_csv_to_a_file_is_the_filtered_set_and_says_so_in_one_line(filled, tmp_path):
    target = tmp_path / "failed.csv"

    out, err = run("export", "--storage", filled, "--format", "csv", "--status", "failed", "-o", str(target))

    rows = csv_text_rows(target.read_text(encoding="utf-8"))
    assert tuple(rows[0]) == COLUMNS
    assert ids(rows) == [f"gen-{n:04d}" for n in reversed(range(1100)) if n % 3]
    assert rows[1][-1] == "/generations/gen-1099/"  # a path without --base-url
    assert out.startswith(f"Exported 733 generations as csv from sqlite ({filled.removeprefix('sqlite:///')}) "
                          f"to {target} in ")
    assert out.count("\n") == 1 and err == ""
    # Written beside the target and renamed once complete; private, as it holds customers' prompts.
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".partial")] == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_jsonl_to_stdout_is_the_stored_documents_and_reports_on_stderr(filled):
    out, err = run("export", "--storage", filled, "--format", "jsonl", "--language", "fr", "--oldest-first")

    documents = [json.loads(line) for line in out.split("\n") if line]
    assert [document["generationId"] for document in documents] == [f"gen-{n:04d}" for n in range(0, 1100, 10)]
    with open_url(filled) as storage:
        assert documents[3] == storage.get("gen-0030").to_item()
    assert err.startswith("Exported 110 generations as jsonl from sqlite (") and "to stdout in " in err


def test_stdout_with_a_byte_buffer_gets_the_bytes_as_they_are(filled):
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8")

    call_command("export", "--storage", filled, "--format", "csv", "--search", "gen-1099", stdout=stdout,
                 stderr=io.StringIO())

    stdout.flush()
    data = raw.getvalue()
    assert data.startswith(b"\xef\xbb\xbfid,status,") and data.count(b"\r\n") == 2
    assert b"\ngen-1099,failed," in data


def test_created_bounds_are_iso_times_after_included_before_excluded(filled):
    out, _ = run("export", "--storage", filled, "--format", "csv", "--created-after", at(10),
                 "--created-before", iso(BASE_TIME + timedelta(minutes=13)).replace("Z", "+00:00"), "--oldest-first")

    assert ids(csv_text_rows(out)) == ["gen-0010", "gen-0011", "gen-0012"]


def test_a_date_alone_is_midnight_utc(filled):
    out, _ = run("export", "--storage", filled, "--format", "csv", "--created-before", "2026-01-01T00:02")

    assert ids(csv_text_rows(out)) == ["gen-0001", "gen-0000"]
    out, _ = run("export", "--storage", filled, "--format", "csv", "--created-after", "2026-01-02")
    assert ids(csv_text_rows(out)) == []


def test_stage_and_failure_group_filters(filled):
    with open_url(filled) as storage:
        failure = storage.list_summaries(ListQuery(limit=1, search="gen-0001")).items[0].failure

    by_stage, _ = run("export", "--storage", filled, "--format", "csv", "--stage", "script")
    by_failure, _ = run("export", "--storage", filled, "--format", "csv", "--failure", failure)

    assert ids(csv_text_rows(by_stage)) == ids(csv_text_rows(by_failure))
    assert len(ids(csv_text_rows(by_failure))) == 733


def test_base_url_makes_detail_urls_absolute(filled):
    out, _ = run("export", "--storage", filled, "--format", "csv", "--search", "gen-0007",
                 "--base-url", "https://admin.example.com/")

    assert csv_text_rows(out)[1][-1] == "https://admin.example.com/generations/gen-0007/"


def test_each_export_is_an_audit_entry_of_the_command_line(filled):
    run("export", "--storage", filled, "--format", "csv", "--status", "failed", "--oldest-first",
        "--created-after", "2026-01-01")

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.user, entry.username, entry.count) == ("export", None, "(command line)", 733)
    assert entry.filters == {"status": "failed", "sort": "oldest", "created_after": "2026-01-01T00:00:00+00:00"}
    assert entry.detail.startswith("csv: complete; from sqlite (") and entry.detail.endswith(" to stdout")


@pytest.mark.parametrize(("arguments", "message"), [
    (["--format", "xml"], "--format must be csv or jsonl, not 'xml'"),
    ([], "--format must be csv or jsonl"),
    (["--format", "csv", "--created-after", "yesterday"],
     "--created-after: 'yesterday' is not an ISO date or time, e.g. 2026-12-01 or 2026-12-01T15:30Z"),
    (["--format", "csv", "--created-after", "2026-02-01", "--created-before", "2026-01-01"],
     "--created-before must be later than --created-after"),
    (["--format", "csv", "--status", "broken"], "--status must be one of in_progress, completed, failed, stalled"),
    (["--format", "csv", "--stage", "render"], "--stage must be one of initialParams, script"),
    (["--format", "csv", "--language", "english!"], "--language: Enter a language code such as en or pt-BR."),
    (["--format", "csv", "--failure", "nope"], "--failure: Enter a failure group"),
    (["--format", "csv", "--base-url", "admin.example.com"], "--base-url must start with http:// or https://"),
])
def test_bad_arguments_are_one_line(filled, arguments, message):
    error, out, _ = run_failing("export", "--storage", filled, *arguments)

    assert error.startswith(message) and "\n" not in error
    assert out == ""
    assert not AuditEntry.objects.exists()


def test_a_mistyped_storage_is_one_line_and_never_created(tmp_path):
    missing = tmp_path / "typo.sqlite3"

    error, _, _ = run_failing("export", "--storage", f"sqlite:///{missing}", "--format", "csv")

    assert error.startswith(f"cannot open storage sqlite:///{missing}: ") and "opened without creating one" in error
    assert not missing.exists()


def test_an_unknown_storage_scheme_is_one_line():
    error, _, _ = run_failing("export", "--storage", "nosuch://x", "--format", "csv")

    assert error.startswith("cannot open storage nosuch://x: ") and "\n" not in error


def test_an_output_that_cannot_be_written_is_one_line(filled, tmp_path):
    error, _, _ = run_failing("export", "--storage", filled, "--format", "csv", "-o", str(tmp_path / "no" / "x.csv"))

    assert error.startswith(f"cannot write {tmp_path / 'no' / 'x.csv'}: ") and "\n" not in error


@pytest.mark.parametrize(("arguments", "start"), [
    (["--created-after", "tomorrow"], "CommandError: --created-after: 'tomorrow' is not an ISO date"),
    (["--storage", "sqlite:////nonexistent/dir/typo.sqlite3"], "CommandError: cannot open storage sqlite:////"),
])
def test_from_the_shell_a_failure_exits_1_with_one_line(arguments, start):
    process = subprocess.run([sys.executable, MANAGE, "export", "--format", "csv", *arguments, "--skip-checks"],
                             capture_output=True, text=True, timeout=60)

    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr.count("\n") == 1 and process.stderr.startswith(start)
