"""Bulk delete benchmark: the dashboard's bulk-delete flow (preview POST, then confirm POST) on SQLite or DynamoDB.

    .venv/bin/python bench/bulk_delete_bench.py                                     # SQLite, 100,000, delete 5,000
    .venv/bin/python bench/bulk_delete_bench.py --keep var/export-bench             # reuse export_bench's file
    .venv/bin/python bench/bulk_delete_bench.py --backend dynamodb -n 20000         # dynalite, in memory

The storage is filled as bench/export_bench.py fills it (``filled_storage``: demo generations; a
SQLite file reused with ``--keep``, or a table on a dynalite server of its own, started by
bench/dynalite.py as bench/dynamodb_scale.py does). A kept SQLite file is copied first (SQLite's
backup API), and the copy is what loses generations, so ``--keep`` stays reusable.

Then, with Django set up on a scratch database in this process (``DEBUG=1``, logging at WARNING), a
superuser's test client does what the list's form does with "Delete all matching these
filters…": ``POST /bulk-delete/`` with ``scope=filtered`` and the list filters whose set is
closest to ``--delete`` (a created date range and a language, chosen by ``choose_filter``; ticked
rows are at most one page of 200, so a set of 5,000 is a filtered one), which renders the
confirmation page (the set counted by walking ``list_summaries`` pages of 500, the first 20 rows
read), then ``POST /bulk-delete/`` with its signed token and the typed count. (The test client does not
check CSRF tokens; the view is the same.) Prints each step's seconds, ids/s, the process's CPU
time, and what the audit entry says: deleted, already gone, failed, not attempted because the
view's ``TIME_BUDGET_SECONDS`` ran out. Afterwards the storage's count is checked against it.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project root holds the packages

from bench.export_bench import _setup_django, _work_dir, filled_storage  # noqa: E402
from storage_backends import ListQuery, StorageFactory  # noqa: E402

DEFAULT_COUNT = {"sqlite": 100_000, "dynamodb": 20_000}
PAGE = 500
#: The bulk delete's ``MAX_PER_REQUEST``.
MAX_SET = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument("-n", "--count", type=int, help="generations in the storage (100,000 SQLite, 20,000 DynamoDB)")
    parser.add_argument("--delete", type=int, default=5_000, help="generations to bulk-delete")
    parser.add_argument("--keep", type=Path, help="a directory to keep (and reuse) the filled SQLite file in")
    args = parser.parse_args()
    count = args.count or DEFAULT_COUNT[args.backend]

    with _work_dir(args.keep) as work, filled_storage(args.backend, work, count) as url, \
            tempfile.TemporaryDirectory(prefix="bulk-delete-bench-") as scratch:
        if args.backend == "sqlite":
            url = _copy_sqlite(url, Path(scratch) / "generations.sqlite3")
        _setup_django(Path(scratch), url)
        filters, size = choose_filter(url, args.delete)
        print(f"Bulk delete of the {size:,} matching {filters} from {args.backend} holding {count:,} generations; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        _run(url, filters, count)


def _copy_sqlite(url: str, target: Path) -> str:
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    started = time.perf_counter()
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    print(f"Copied the SQLite file in {time.perf_counter() - started:.1f} s", flush=True)
    return f"sqlite:///{target}"


def choose_filter(url: str, target: int) -> tuple[dict[str, str], int]:
    """The list filters (a created date range, and a language or none) whose set is closest to
    ``target`` generations, and its size: a set the list's "Delete all matching these filters…"
    sends. (Ticked rows are at most a page, 200; 5,000 in one request is a filtered set.)"""
    by_day: dict[tuple[date, str | None], int] = defaultdict(int)
    with StorageFactory.from_url(url, create=False) as storage:
        cursor = None
        while True:
            page = storage.list_summaries(ListQuery(limit=PAGE, cursor=cursor))
            for summary in page.items:
                if summary.created_at is not None:
                    created = datetime.fromisoformat(summary.created_at).astimezone(timezone.utc)
                    by_day[created.date(), summary.language] += 1
            if (cursor := page.next_cursor) is None:
                break
    days = sorted({day for day, _ in by_day})
    languages = sorted({language for _, language in by_day if language})
    best: tuple[int, dict[str, str], int] | None = None
    for language in (None, *languages):
        per_day = [sum(n for (d, lang), n in by_day.items() if d == day and (language is None or lang == language))
                   for day in days]
        for first in range(len(days)):
            total = 0
            for last in range(first, len(days)):
                total += per_day[last]
                if total > MAX_SET:
                    break
                filters = {"created_from": days[first].isoformat(), "created_to": days[last].isoformat()}
                if language:
                    filters["language"] = language
                if best is None or abs(total - target) < best[0]:
                    best = (abs(total - target), filters, total)
    assert best is not None, "the storage is empty"
    return best[1], best[2]


def _run(url: str, filters: dict[str, str], count: int) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from gennie_admin.models import AuditEntry
    from gennie_admin.views.bulk_delete import TIME_BUDGET_SECONDS

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)

    started, cpu = time.perf_counter(), time.process_time()
    preview = client.post("/bulk-delete/", {"scope": "filtered", **filters, "next": "/"})
    preview_s, preview_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert preview.status_code == 200, preview.status_code
    counted = preview.context["count"]
    print(f"  preview POST  {counted:>6,} counted  {preview_s:7.2f} s  {counted / preview_s:8,.0f} ids/s  "
          f"CPU {preview_cpu:.2f} s", flush=True)

    started, cpu = time.perf_counter(), time.process_time()
    confirm = client.post("/bulk-delete/", {"token": preview.context["token"], "confirm_count": str(counted),
                                            "next": "/"})
    confirm_s, confirm_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert confirm.status_code == 302, confirm.status_code
    entry = AuditEntry.objects.filter(action="bulk_delete").latest("id")
    deleted = entry.count or 0
    print(f"  confirm POST  {deleted:>6,} deleted  {confirm_s:7.2f} s  {deleted / confirm_s:8,.0f} deletes/s  "
          f"CPU {confirm_cpu:.2f} s", flush=True)
    print(f"  total         {preview_s + confirm_s:7.2f} s; audit: {entry.detail}")
    if deleted < counted:
        print(f"  FINDING: {counted - deleted:,} of {counted:,} not deleted within TIME_BUDGET_SECONDS "
              f"({TIME_BUDGET_SECONDS:g} s)")
    with StorageFactory.from_url(url, create=False) as storage:
        left = storage.get_metrics().active_generations
    print(f"  storage now holds {left:,} (expected {count - deleted:,})")


if __name__ == "__main__":
    main()
