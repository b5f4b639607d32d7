"""Migration benchmark: migrate_storage's throughput into DynamoDB, and its memory as the source grows.

    .venv/bin/python bench/migrate_bench.py                      # 20,000 to DynamoDB; RSS at 20,000 and 100,000
    .venv/bin/python bench/migrate_bench.py --count 5000 --rss-counts 5000 20000
    .venv/bin/python bench/migrate_bench.py --count 0 --rss-sources file   # only file -> sqlite's RSS

1. Migrates ``--count`` demo generations file -> DynamoDB (moto's ThreadedMotoServer on 127.0.0.1,
   started here in a process of its own) with ``storage_backends.migration.migrate``, and writes the
   same items to another table of the same server with raw boto3 ``batch_writer``; the two
   alternate ``--rounds`` times and the best rate of each, and their ratio, are printed.
   Target: migrate >= 0.8 x batch_writer.
2. Migrates file -> SQLite at each of ``--rss-counts`` in a fresh subprocess and prints its peak
   RSS. Target: growth <= 50 MB from 20,000 to 100,000. SQLite -> SQLite is measured the same
   way, to tell the migration's own memory from the source backend's.

Filling a file source is setup, not measured: it runs in its own subprocess with fsync off.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

# Run as a script from anywhere: the project root holds the packages.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage_backends import StorageFactory  # noqa: E402
from storage_backends.demo import demo_generations, save_demo  # noqa: E402
from storage_backends.migration import migrate  # noqa: E402

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
FILL_CHUNK = 1000
TARGET_RATIO = 0.8
TARGET_RSS_GROWTH_MB = 50


def fill(url: str, count: int) -> None:
    """Child: a source of ``count`` demo generations (fsync off: filling is not what is measured)."""
    os.fsync = lambda fd: None
    with StorageFactory.from_url(url) as source:
        save_demo(source, count, now=NOW, batch_size=FILL_CHUNK)


def migrate_between(source_url: str, target_url: str) -> None:
    """Child: migrate source into a fresh target; print seconds, count and peak RSS."""
    with StorageFactory.from_url(source_url) as source, StorageFactory.from_url(target_url) as target:
        report = migrate(source, target)
    print(json.dumps({"seconds": report.seconds, "copied": report.copied, "peak_mb": _peak_rss_mb()}))


def _peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss survives exec (a child starts at its parent's
    peak), so read the high-water mark of this program's own memory map where there is one."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kilobytes) / 1024


def child(*args: str) -> str:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return result.stdout


def serve_moto() -> None:
    """Child: moto's ThreadedMotoServer on 127.0.0.1, until stdin closes; prints its endpoint."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    sys.stdin.read()
    server.stop()


def dynamodb_rates(count: int, rounds: int, workdir: Path) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    child("fill", f"file://{workdir / 'files'}", str(count))
    # The server runs in its own process, as DynamoDB would: in this one it would share the
    # interpreter lock with the client it is measured against.
    server = subprocess.Popen([sys.executable, __file__, "--child", "moto"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    migrate_rates, raw_rates = [], []
    try:
        endpoint = server.stdout.readline().strip()
        # Alternate the two, each round into fresh tables: a busy machine then slows both alike.
        for round_ in range(1, rounds + 1):
            migrate_rates.append(_migrate_rate(workdir, endpoint, count, f"bench-migrate-{round_}"))
            raw_rates.append(_batch_writer_rate(endpoint, count, f"bench-raw-{round_}"))
            print(f"  round {round_}: migrate_storage {migrate_rates[-1]:,.0f}/s, "
                  f"batch_writer {raw_rates[-1]:,.0f}/s", flush=True)
    finally:
        server.communicate("")
    print(f"file -> dynamodb, {count:,} generations (moto's ThreadedMotoServer on 127.0.0.1, own process), "
          f"best of {rounds}")
    print(f"  migrate_storage      {max(migrate_rates):10,.0f} items/s")
    print(f"  boto3 batch_writer   {max(raw_rates):10,.0f} items/s")
    ratio = max(migrate_rates) / max(raw_rates)
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"  ratio                {ratio:10.2f}   (target >= {TARGET_RATIO}: {verdict})")


def _migrate_rate(workdir: Path, endpoint: str, count: int, table: str) -> float:
    with StorageFactory.from_url(f"file://{workdir / 'files'}") as source, \
            StorageFactory.from_url(f"dynamodb://{table}?region=us-east-1&endpoint={endpoint}") as target:
        target.list_generations()  # the table is created on first use: not part of the timing
        report = migrate(source, target)
    assert report.copied == count, report
    return count / report.seconds


def _batch_writer_rate(endpoint: str, count: int, table_name: str) -> float:
    """The same items, written by boto3's batch_writer into a table of the same schema.

    The items carry the backend's index attributes, as the migration's do: the server then
    does the same work (it maintains the listing index) for both.
    """
    import boto3

    from storage_backends.backends.dynamodb.derived import derived_attributes

    with StorageFactory.from_url(f"dynamodb://{table_name}?region=us-east-1&endpoint={endpoint}") as storage:
        storage.list_generations()  # creates the table, with the listing index, as for the migration
    table = boto3.resource("dynamodb", region_name="us-east-1", endpoint_url=endpoint).Table(table_name)
    # boto3's serializer wants Decimal for floats: converted before the clock starts.
    items = [json.loads(json.dumps({**document, **derived_attributes(document)}), parse_float=Decimal)
             for document in demo_generations(count, now=NOW)]
    started = time.monotonic()
    with table.batch_writer() as writer:
        for item in items:
            writer.put_item(Item=item)
    return count / (time.monotonic() - started)


def peak_rss(counts: list[int], sources: list[str]) -> None:
    # sqlite -> sqlite shows the migration's own memory; file -> sqlite adds the file backend's.
    for source in sources:
        peaks = {}
        for count in counts:
            with tempfile.TemporaryDirectory(prefix="migrate-bench-") as tmp:
                urls = {"file": f"file://{tmp}/files", "sqlite": f"sqlite:///{tmp}/source.sqlite3"}
                child("fill", urls[source], str(count))
                figures = json.loads(child("migrate", urls[source], f"sqlite:///{tmp}/target.sqlite3"))
            peaks[count] = figures["peak_mb"]
            print(f"{source} -> sqlite {count:>9,}: {figures['seconds']:7.1f}s  "
                  f"{count / figures['seconds']:8,.0f} items/s  peak RSS {figures['peak_mb']:6.1f} MB", flush=True)
        if len(counts) >= 2:
            growth = peaks[counts[-1]] - peaks[counts[0]]
            verdict = "met" if growth <= TARGET_RSS_GROWTH_MB else "MISSED"
            print(f"  RSS growth {counts[0]:,} -> {counts[-1]:,}: {growth:+.1f} MB "
                  f"(target <= {TARGET_RSS_GROWTH_MB} MB: {verdict})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="generations migrated into DynamoDB")
    parser.add_argument("--rounds", type=int, default=2, help="migrate and batch_writer runs, alternated (best kept)")
    parser.add_argument("--rss-counts", type=int, nargs="*", default=[20_000, 100_000],
                        help="sizes of the runs into SQLite whose peak RSS is compared (none: skip)")
    parser.add_argument("--rss-sources", nargs="+", choices=["file", "sqlite"], default=["file", "sqlite"],
                        help="sources of the runs into SQLite")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        action, *rest = args.child
        if action == "fill":
            fill(rest[0], int(rest[1]))
        elif action == "moto":
            serve_moto()
        else:
            migrate_between(rest[0], rest[1])
        return
    if args.count:
        with tempfile.TemporaryDirectory(prefix="migrate-bench-") as tmp:
            dynamodb_rates(args.count, args.rounds, Path(tmp))
    if args.rss_counts:
        peak_rss(args.rss_counts, args.rss_sources)


if __name__ == "__main__":
    main()
