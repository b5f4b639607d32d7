"""Export benchmark: rows per second of the CSV and JSON Lines exports from SQLite, and their memory.

    .venv/bin/python bench/export_bench.py                                  # 100,000 generations
    .venv/bin/python bench/export_bench.py -n 10000 --keep var/export-bench  # reuse the filled file next time

Fills a SQLite file with ``storage_backends.demo`` generations (``save_many`` with
``preserve_timestamps``; reused with ``--keep``), then, in this process, with Django set up on a
scratch database (``DEBUG=1``, logging at WARNING):

- **generator**: ``gennie_admin.export.export_stream`` end to end without HTTP, behind the
  dashboard's guarded storage as the view uses it (a worker-thread hop and a deadline per page
  of 500), every chunk produced and its bytes counted;
- **test client**: ``GET /export.csv`` / ``/export.jsonl`` through Django's test client as a
  superuser (middleware, permission, ``StreamingHttpResponse``, the audit entry at the end), the
  body read to its last byte;

for the whole set (CSV and JSON Lines) and one filtered set (``status=failed``, CSV). Prints
rows, seconds, rows/s, the process's CPU time (all its threads) and rows per CPU second (what an
export costs, however busy the machine is), MB written and the peak growth of the process's RSS
during the export (sampled every 10 ms): flat memory shows as a few MB whatever the size. Figures, not assertions;
the issue's target is at least 5,000 rows/s from SQLite at 100,000 generations.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
# Run as a script from anywhere: the project root holds the packages.
sys.path.insert(0, str(ROOT))

from storage_backends import GenerationStatus, ListQuery, StorageFactory  # noqa: E402
from storage_backends.demo import save_demo  # noqa: E402

SEED = 7
FILL_CHUNK = 1000
SAMPLE_SECONDS = 0.01


@dataclass(frozen=True)
class Case:
    name: str
    #: Runs the export; returns (rows, bytes).
    run: Callable[[], tuple[int, int]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=100_000, help="generations in the storage")
    parser.add_argument("--keep", type=Path, help="a directory to keep (and reuse) the filled database in")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()

    with _work_dir(args.keep) as work:
        storage_path = work / "generations.sqlite3"
        _fill_storage(storage_path, args.count)
        _setup_django(work, storage_path)
        cases = [case for case in _cases() if args.only in case.name]
        print(f"Exports from sqlite, {args.count:,} generations; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
        print(f"{'case':<34}{'rows':>9}{'seconds':>9}{'rows/s':>9}{'CPU s':>8}{'rows/CPU s':>11}{'MB':>7}"
              f"{'peak RSS +MB':>14}")
        for case in cases:
            for _ in range(args.repeat):
                print(_measure(case), flush=True)


@contextmanager
def _work_dir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        yield Path(tmp)


def _fill_storage(path: Path, count: int) -> None:
    with StorageFactory.from_url(f"sqlite:///{path}") as storage:
        present = storage.get_metrics().active_generations
        if present == count:
            return
        if present:
            sys.exit(f"{path} holds {present:,} generations, not {count:,}: use another --keep directory")
        started = time.perf_counter()
        save_demo(storage, count, seed=SEED, batch_size=FILL_CHUNK)
        print(f"Filled {count:,} generations in {time.perf_counter() - started:.1f} s")


def _setup_django(work: Path, storage_path: Path) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "gennie_admin.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{work / 'django.sqlite3'}",
        "GENNIE_STORAGE_URL": f"sqlite:///{storage_path}",
        "LOG_LEVEL": "WARNING",
    })
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, "testserver", is allowed
    call_command("migrate", verbosity=0, interactive=False)


def _cases() -> list[Case]:
    from django.contrib.auth.models import User
    from django.test import Client

    from gennie_admin.export import ExportFormat, detail_url_maker, export_stream
    from gennie_admin.models import AuditEntry
    from gennie_admin.selectors import stalled_after
    from gennie_admin.storage import get_storage

    def generator(export_format: ExportFormat, status: GenerationStatus | None = None) -> Callable[[], tuple[int, int]]:
        def run() -> tuple[int, int]:
            query = ListQuery(status=status, stalled_after=stalled_after())
            stream = export_stream(get_storage(), query, export_format, detail_url=detail_url_maker("http://bench"),
                                   on_finish=lambda count, outcome: None)
            size = _drain(stream)
            return stream.count.rows, size
        return run

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)

    def through_client(url: str) -> Callable[[], tuple[int, int]]:
        def run() -> tuple[int, int]:
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            size = _drain(response.streaming_content)
            return AuditEntry.objects.latest("id").count or 0, size
        return run

    return [
        Case("csv, generator", generator(ExportFormat.CSV)),
        Case("csv, test client", through_client("/export.csv")),
        Case("jsonl, generator", generator(ExportFormat.JSONL)),
        Case("jsonl, test client", through_client("/export.jsonl")),
        Case("csv status=failed, generator", generator(ExportFormat.CSV, GenerationStatus.FAILED)),
        Case("csv status=failed, test client", through_client("/export.csv?status=failed")),
    ]


def _drain(chunks: Iterable[bytes]) -> int:
    return sum(len(chunk) for chunk in chunks)


def _measure(case: Case) -> str:
    gc.collect()
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    rows, size = case.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    done.set()
    sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    return (f"{case.name:<34}{rows:>9,}{seconds:>9.2f}{rows / seconds:>9,.0f}{cpu:>8.2f}{rows / cpu:>11,.0f}"
            f"{size / 1e6:>7.1f}{(peak[0] - baseline) / 1e6:>14.1f}")


if __name__ == "__main__":
    main()
