"""Export benchmark: rows per second of the CSV and JSON Lines exports from SQLite or DynamoDB, and their memory.

    .venv/bin/python bench/export_bench.py                                  # 100,000 generations
    .venv/bin/python bench/export_bench.py -n 10000 --keep var/export-bench  # reuse the filled file next time
    .venv/bin/python bench/export_bench.py --backend dynamodb -n 20000      # on dynalite, in memory

Fills a SQLite file (or, with ``--backend dynamodb``, a table in a dynalite server of its own,
started by bench/dynalite.py as bench/dynamodb_scale.py does, in memory, stopped at exit) with
``storage_backends.demo`` generations (``save_many`` with ``preserve_timestamps``; the SQLite
file is reused with ``--keep``), then, in this process, with Django set up on a
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
# Run as a script from anywhere: the project root holds the packages.
sys.path.insert(0, str(ROOT))

from storage_backends import GenerationStatus, ListQuery, StorageFactory  # noqa: E402
from storage_backends.demo import demo_generations, save_demo  # noqa: E402

SEED = 7
FILL_CHUNK = 1000
#: DynamoDB's ``BatchWriteItem`` takes 25 items a request; ``save_many`` of 500 as dynamodb_scale.py fills.
DYNAMODB_FILL_CHUNK = 500
DYNAMODB_TABLE = "bench-export"
SAMPLE_SECONDS = 0.01


@dataclass(frozen=True)
class Case:
    name: str
    #: Runs the export; returns (rows, bytes).
    run: Callable[[], tuple[int, int]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=100_000, help="generations in the storage")
    parser.add_argument("--backend", choices=("sqlite", "dynamodb"), default="sqlite",
                        help="the storage: a SQLite file, or a table on a dynalite server started here")
    parser.add_argument("--keep", type=Path, help="a directory to keep (and reuse) the filled database in (SQLite)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()

    with _work_dir(args.keep) as work, filled_storage(args.backend, work, args.count) as storage_url:
        _setup_django(work, storage_url)
        cases = [case for case in _cases() if args.only in case.name]
        print(f"Exports from {args.backend}, {args.count:,} generations; load average {os.getloadavg()[0]:.1f} "
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


@contextmanager
def filled_storage(backend: str, work: Path, count: int) -> Iterator[str]:
    """The URL of a storage holding ``count`` demo generations: a SQLite file in ``work`` (reused when
    it holds them already), or a table on a dynalite server that lives as long as the context."""
    if backend == "sqlite":
        path = work / "generations.sqlite3"
        _fill_storage(path, count)
        yield f"sqlite:///{path}"
        return
    from bench.dynalite import Dynalite

    # dynalite takes any credentials; never a real profile's.
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_PROFILE", None)
    with Dynalite() as server:
        url = f"dynamodb://{DYNAMODB_TABLE}?region=us-east-1&endpoint={server.endpoint}&read_timeout=30"
        with StorageFactory.from_url(url) as storage:
            started = time.perf_counter()
            # Two batches in flight, as dynamodb_scale.py fills (dynalite, single-threaded, is the bottleneck).
            documents = demo_generations(count, seed=SEED)
            with ThreadPoolExecutor(2) as pool:
                futures = []
                while batch := list(islice(documents, DYNAMODB_FILL_CHUNK)):
                    futures.append(pool.submit(storage.save_many, batch, preserve_timestamps=True))
                    if len(futures) > 4:
                        futures.pop(0).result()
                for future in futures:
                    future.result()
            print(f"Filled {count:,} generations into dynalite ({server.endpoint}) in "
                  f"{time.perf_counter() - started:.1f} s")
        yield url


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


def _setup_django(work: Path, storage_url: str) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "gennie_admin.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{work / 'django.sqlite3'}",
        "GENNIE_STORAGE_URL": storage_url,
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
