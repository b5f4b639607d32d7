"""Stream indexer benchmark: records per second through it, and how long a producer's write takes to be listed.

    .venv/bin/python bench/stream_indexer_bench.py                  # backlog 2,000; 60 s at 10 writes/s
    .venv/bin/python bench/stream_indexer_bench.py --backlog 5000 --rate 20 --seconds 120

Starts moto's server (``moto_server``, a process of its own) on 127.0.0.1 with a table opened
``stream_indexer=true``, then:

1. **Throughput**: ``--backlog`` whole items put with raw boto3 as the seed's producer writes
   them (no derived attributes), the indexer stopped; then one ``StreamIndexer.poll()`` reads
   them all: records per second, and the requests it sent per record.
2. **Delay**: a producer thread puts ``--rate`` items a second for ``--seconds``, while the
   indexer polls every ``--interval`` (``manage.py dynamodb_indexer``'s loop, in a thread) and
   a watcher reads the list's first page (``list_summaries``, newest first) and the counts
   (uncached) every 100 ms: for each item, the time from its put to its first appearance in
   the list, and to the first count that includes it (median, p95, worst: every put is a new
   item in progress, applied in order, so the k-th put is counted once k are), and whether the
   counts agree at the end.

moto is not DynamoDB: its times are one Python process's, its stream has one shard, and
everything runs on this machine's cores. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import bisect
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project root holds the packages

from bench import processes  # noqa: E402
from storage_backends import GenerationStatus, ListQuery, StorageFactory  # noqa: E402
from storage_backends.backends.dynamodb import StreamIndexer  # noqa: E402
from storage_backends.models import format_timestamp, utcnow  # noqa: E402

REGION = "us-east-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=2000, help="items put before one indexer pass")
    parser.add_argument("--rate", type=float, default=10.0, help="producer writes per second in the delay run")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the delay run")
    parser.add_argument("--interval", type=float, default=1.0, help="indexer poll interval")
    args = parser.parse_args()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")  # moto takes any credentials
    port = _free_port()
    server = processes.start([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait_until_up(port)
        print(f"moto_server on {endpoint}; stream indexer bench: backlog {args.backlog:,}, "
              f"{args.rate:g} writes/s for {args.seconds:g} s, poll every {args.interval:g} s", flush=True)
        throughput(endpoint, args.backlog)
        delay(endpoint, args.rate, args.seconds, args.interval)
    finally:
        processes.stop(server)


def open_storage(endpoint: str, table: str):
    return StorageFactory.from_url(f"dynamodb://{table}?region={REGION}&endpoint={endpoint}&stream_indexer=true"
                                   "&read_timeout=30&count_cache_seconds=0")


def producer_table(endpoint: str, table: str):
    import boto3

    return boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint).Table(table)


def seed_item(generation_id: str) -> dict[str, Any]:
    """A state as the TypeScript pipeline puts it: the document alone (boto3 wants Decimals)."""
    now = format_timestamp(utcnow())
    return {"generationId": generation_id, "createdAt": now, "updatedAt": now,
            "initialParams": {"prompt": f"Otters {generation_id}", "language": "en",
                              "options": {"fps": Decimal("29.97")}},
            "script": {"content": "Otters hold hands.", "mood": "calm"}}


def throughput(endpoint: str, count: int) -> None:
    table = f"bench-backlog-{uuid.uuid4().hex[:8]}"
    with open_storage(endpoint, table) as storage:
        storage.list_summaries()  # the table, with its stream
        writer = producer_table(endpoint, table)
        started = time.perf_counter()
        with writer.batch_writer() as batch:
            for n in range(count):
                batch.put_item(Item=seed_item(f"backlog-{n:06d}"))
        print(f"\n== throughput ==\n  {count:,} items put in {time.perf_counter() - started:.1f} s (indexer stopped)")
        indexer = StreamIndexer(storage, owner="bench")
        before = _requests(storage)
        started = time.perf_counter()
        report = indexer.poll()
        spent = time.perf_counter() - started
        used = {name: calls - before.get(name, 0) for name, calls in _requests(storage).items()
                if calls != before.get(name, 0)}
        counted = storage.count_by_status()[GenerationStatus.IN_PROGRESS]
        print(f"  one pass: {report.records:,} records in {spent:.1f} s = {report.records / spent:,.0f} records/s; "
              f"{report.applied:,} moved the counts; counted in progress: {counted:,} (expected {count:,})")
        per_record = ", ".join(f"{name} {calls / max(report.records, 1):.2f}" for name, calls in sorted(used.items())
                               if calls / max(report.records, 1) >= 0.005)
        requests = storage.get_metrics().details["requests"]
        waits = ", ".join(f"{name} {requests[name]['average_ms']:.1f} ms"
                          for name in ("update_item", "transact_write_items") if name in requests)
        print(f"  data-table requests per record: {per_record}; average time of one: {waits}")
        print("  (each put is two records: the put, then the indexer's own attribute update, which moves nothing)")


def delay(endpoint: str, rate: float, seconds: float, interval: float) -> None:
    table = f"bench-delay-{uuid.uuid4().hex[:8]}"
    with open_storage(endpoint, table) as storage:
        storage.list_summaries()
        writer = producer_table(endpoint, table)
        written: dict[str, float] = {}
        seen: dict[str, float] = {}
        counts: list[tuple[float, int]] = []
        stop = threading.Event()
        indexer = StreamIndexer(storage, owner="bench")
        polls = _time_polls(indexer)
        threads = [threading.Thread(target=indexer.run, kwargs={"interval": interval, "stop": stop}, daemon=True),
                   threading.Thread(target=_watch, args=(storage, seen, counts, stop), daemon=True)]
        for thread in threads:
            thread.start()
        started, n = time.monotonic(), 0
        while time.monotonic() - started < seconds:
            generation_id = f"live-{n:06d}"
            writer.put_item(Item=seed_item(generation_id))
            written[generation_id] = time.monotonic()
            n += 1
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
        deadline = time.monotonic() + 15
        while len(seen.keys() & written.keys()) < len(written) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        indexer.release()
        listed = sorted(seen[i] - written[i] for i in written if i in seen)
        put_times = list(written.values())  # in the order put
        counted_after = sorted(moment - put_times[count - 1] for count, moment in _first_times(counts)
                               if 0 < count <= len(put_times))
        # The measure: from the start of the first poll after the put (what the put waits
        # for before that is the poll interval, or the pass before still running).
        next_poll = {i: polls[bisect.bisect_left(polls, at)] for i, at in written.items()
                     if bisect.bisect_left(polls, at) < len(polls)}
        from_poll = sorted(seen[i] - next_poll[i] for i in written if i in seen and i in next_poll)
        counted_at = dict(zip(written, (moment for _, moment in _first_times(counts)), strict=False))
        counted_from_poll = sorted(counted_at[i] - next_poll[i] for i in written
                                   if i in counted_at and i in next_poll)
        missing = len(written) - len(listed)
        counted = storage.count_by_status()[GenerationStatus.IN_PROGRESS]
        print(f"\n== delay: {len(written):,} puts at {len(written) / seconds:.1f}/s, "
              f"indexer polling every {interval:g} s ==")
        for what, delays in (("put -> listed", listed), ("put -> counted", counted_after),
                             ("next poll -> listed", from_poll), ("next poll -> counted", counted_from_poll)):
            if delays:
                print(f"  {what + ':':<21} median {statistics.median(delays):.2f} s, p95 "
                      f"{delays[int(0.95 * (len(delays) - 1))]:.2f} s, worst {delays[-1]:.2f} s")
        print(f"  (target: within 2 s of the next poll; polling every {interval:g} s, a put waits up to "
              f"{interval:g} s for it, or for a longer pass before it to end)")
        print(f"  never listed within 15 s of the last put: {missing}; counted in progress at the end: {counted:,} "
              f"(expected {len(written):,})")


def _time_polls(indexer: StreamIndexer) -> list[float]:
    """The start of each pass of ``indexer`` (``time.monotonic``), as it runs."""
    starts: list[float] = []
    poll = indexer.poll

    def timed():
        starts.append(time.monotonic())
        return poll()

    indexer.poll = timed
    return starts


def _first_times(counts: list[tuple[float, int]]) -> list[tuple[int, float]]:
    """For each count reached, the first time the watcher saw it (a jump of several counts
    each of them at that time)."""
    reached, firsts = 0, []
    for moment, count in counts:
        firsts.extend((value, moment) for value in range(reached + 1, count + 1))
        reached = max(reached, count)
    return firsts


def _watch(storage, seen: dict[str, float], counts: list[tuple[float, int]], stop: threading.Event) -> None:
    """Read the list's first page and the counts every 100 ms; note when each id is first
    listed, and the count in progress each time."""
    while not stop.is_set():
        for summary in storage.list_summaries(ListQuery(limit=100)).items:
            seen.setdefault(summary.generation_id, time.monotonic())
        counts.append((time.monotonic(), storage.count_by_status()[GenerationStatus.IN_PROGRESS]))
        stop.wait(0.1)


def _requests(storage) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in storage.get_metrics().details["requests"].items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("moto_server did not start")


if __name__ == "__main__":
    main()
