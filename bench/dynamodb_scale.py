"""DynamoDB at scale: counts, list pages, insights, stage updates, the dashboard and the migration, on dynalite.

    .venv/bin/python bench/dynamodb_scale.py                 # 20,000 and 100,000 generations (~12 min here)
    .venv/bin/python bench/dynamodb_scale.py --quick         # 2,000 and 10,000, 20 s of dashboard (~2 min)
    .venv/bin/python bench/dynamodb_scale.py --sizes 50000 --dashboard-seconds 30 --migrate-count 2000
    .venv/bin/python bench/dynamodb_scale.py --skip-dashboard --skip-migrate   # storage figures only

The server is dynalite (npm package ``dynalite``, DynamoDB's API on LevelDB, run with node; installed
into bench/.dynalite on first use, see bench/dynalite.py), in memory on 127.0.0.1, in a process of
its own: a fresh one per size. Each size is filled with ``storage.save_many`` of
``storage_backends.demo`` generations (times relative to now) whose failed share is brought down to
``--failed-share`` (default 2.7%: the demo's own ~22% would hide what a rare status costs) by
leaving failed ones out of the demo stream, and whose unfinished ones (in progress or stalled)
are held at ``--in-progress`` (default 1,000) at every size: in a real table they are the work in
flight plus the stalled ones cleanup has not removed yet, bounded by the pipeline, not by the
table (the stalled count reads their keys, see the README); the mix seeded is printed. Then, at each size:

1. Uncached ``count_by_status()`` and ``get_metrics().active_generations`` (a second storage with
   ``count_cache_seconds=0``): median time and DynamoDB requests per call, read from the
   per-operation counters of ``get_metrics().details`` before and after.
   Target: <= 50 ms and <= 10 requests at both sizes.
2. Items read (``list_items_read``, the sum of the Queries' ``ScannedCount``) and read capacity of
   a first page (limit 50), a ``status=failed`` page and an id search (``ListQuery(search=<id>)``),
   through ``list_summaries`` when the storage has it, else ``list_generations``.
3. Insights (``storage.insights``, which keeps no cache: every call reads the table): over the last
   24 hours (hourly buckets) and the last 7 days (daily), median time, requests by operation and
   read capacity per call; then the list page of the most frequent failure group of the 24 hours
   (``ListQuery(failure=<fingerprint>, limit=50)``): items read, read capacity and requests. The
   24 hours' mix is printed (the in-progress set above bounds the stalled ones insights reads).
4. Write capacity per stage update (``update(id, {"audio": {...}})`` on in-progress generations):
   dynalite's own units (it bills the table only, never index writes) and an AWS estimate that
   adds each global secondary index's write from the item's images before and after (the index
   entry's size in 1 KB units; a changed index key is a delete plus a put).
5. The dashboard over HTTP (gunicorn, one worker, DEBUG=0, as bench/dashboard_bench.py serves it)
   on that table: ``--dashboard-requests`` list pages (2 of ``/`` for 1 of ``/?status=failed``)
   spread evenly over ``--dashboard-seconds``, so the counts cache (15 s) expires several times.
   Target: worst <= 3x median. Then ``--dashboard-insights-requests`` each (after one untimed) of
   ``/insights/?window=24h``, ``/insights/?window=7d`` and ``/?failure=<fingerprint>``: median and
   worst, figures only.
Target for 1-4 and the dashboard's median: the larger size's figure <= 1.5x the smaller's.

6. Migration file -> DynamoDB (``storage_backends.migration.migrate``, with ``workers=`` when it
   takes that parameter) beside raw boto3 ``batch_writer`` writing the same items (with the same
   derived attributes: bench/migrate_bench.py's helper) into a fresh dynalite, directly and through
   a TCP proxy adding 10 ms each way (bench/delay_proxy.py: ~20 ms a round trip), best of
   ``--migrate-rounds``. Target: migrate >= 1.0x batch_writer directly, >= 3x through the proxy.

Every figure is printed with its target as PASS/FAIL: figures, not assertions. dynalite is not
DynamoDB: its times are a single-threaded JavaScript server's, its capacity units are computed the
way AWS documents them for reads and for the table's writes. Servers started here are stopped at
exit, also on Ctrl-C or SIGTERM (bench/processes.py).
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project root holds the packages

from bench import processes  # noqa: E402
from bench.delay_proxy import DelayProxy  # noqa: E402
from bench.dynalite import Dynalite  # noqa: E402
from storage_backends import GenerationStatus, InsightsQuery, ListQuery, StorageFactory  # noqa: E402
from storage_backends.demo import demo_generations  # noqa: E402
from storage_backends.migration import migrate  # noqa: E402

SEED = 9
TABLE = "bench-scale"
REGION = "us-east-1"
FILL_CHUNK = 500
FILL_THREADS = 2
#: Targets.
COUNT_MS, COUNT_REQUESTS = 50, 10
SCALE_RATIO = 1.5
WORST_OVER_MEDIAN = 3.0
MIGRATE_PLAIN, MIGRATE_PROXY = 1.0, 3.0
STAGE_UPDATE = {"audio": {"url": "https://cdn.example.com/bench/audio.mp3", "duration": 42.5, "format": "mp3"}}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- reading the storage's counters ---------------------------------------------------------


@dataclass
class Usage:
    """What DynamoDB was asked between two ``get_metrics().details`` snapshots."""

    requests: dict[str, int] = field(default_factory=dict)
    read_units: float = 0.0
    write_units: float = 0.0
    items_read: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def scaled(self, factor: float) -> Usage:
        return Usage({op: n * factor for op, n in self.requests.items()}, self.read_units * factor,
                     self.write_units * factor, self.items_read * factor)

    def __add__(self, other: Usage) -> Usage:
        return self._combine(other, 1)

    def __sub__(self, other: Usage) -> Usage:
        return self._combine(other, -1)

    def _combine(self, other: Usage, sign: int) -> Usage:
        ops = set(self.requests) | set(other.requests)
        return Usage({op: self.requests.get(op, 0) + sign * other.requests.get(op, 0) for op in ops},
                     self.read_units + sign * other.read_units, self.write_units + sign * other.write_units,
                     self.items_read + sign * other.items_read)

    def breakdown(self) -> str:
        parts = [f"{op} {_num(n)}" for op, n in sorted(self.requests.items()) if n]
        return ", ".join(parts) or "none"


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def details(storage) -> dict[str, Any]:
    return storage.get_metrics().details


def usage_between(before: dict[str, Any], after: dict[str, Any]) -> Usage:
    requests = {op: stats["calls"] - before.get("requests", {}).get(op, {}).get("calls", 0)
                for op, stats in after.get("requests", {}).items()}
    return Usage(
        requests={op: n for op, n in requests.items() if n},
        read_units=after.get("read_capacity_units", 0) - before.get("read_capacity_units", 0),
        write_units=after.get("write_capacity_units", 0) - before.get("write_capacity_units", 0),
        # The running total covers every Query a call made (the "last" figure only the last call).
        items_read=after.get("list_items_read", 0) - before.get("list_items_read", 0),
    )


def measured(storage, action: Callable[[], Any], reps: int) -> tuple[list[float], Usage, Any]:
    """``action`` ``reps`` times (after one untimed call): each call's ms, the usage per call, the
    last result. ``storage``'s snapshots must not send requests themselves (its count is cached)."""
    action()
    times, total = [], Usage()
    result = None
    for _ in range(reps):
        before = details(storage)
        started = time.perf_counter()
        result = action()
        times.append(1000 * (time.perf_counter() - started))
        after = details(storage)
        total += usage_between(before, after)
    return times, total.scaled(1 / reps), result


# -- filling ----------------------------------------------------------------------------------


def is_failed(document: dict[str, Any]) -> bool:
    return any(isinstance(value, dict) and (value.get("status") == "failed" or value.get("error"))
               for value in document.values())


def is_completed(document: dict[str, Any]) -> bool:
    return not is_failed(document) and bool(document.get("finalVideo") or document.get("youtube"))


def demo_mix(count: int, failed_share: float | None, in_progress: int | None) -> Iterator[dict[str, Any]]:
    """``count`` demo generations; with ``failed_share``, failed ones beyond that share of the
    documents so far are left out of the demo stream, and with ``in_progress``, unfinished ones
    (in progress or stalled) beyond that many (ids then have gaps; the rest is the demo's)."""
    stream = demo_generations(50 * count + 1000, seed=SEED)
    produced = failed = unfinished = 0
    for document in stream:
        if produced == count:
            return
        if failed_share is not None and is_failed(document):
            if failed + 1 > failed_share * (produced + 1):
                continue
            failed += 1
        elif in_progress is not None and not is_completed(document):
            if unfinished == in_progress:
                continue
            unfinished += 1
        produced += 1
        yield document


@dataclass
class Seeded:
    ids: list[str]
    in_progress: list[str]
    seconds: float


def seed(storage, count: int, failed_share: float | None, in_progress: int | None) -> Seeded:
    """Fill with ``save_many`` batches, ``FILL_THREADS`` at a time (dynalite is the bottleneck)."""
    ids: list[str] = []
    # Not named in_progress: that is the cap handed to demo_mix (a list there never equals a count,
    # so the cap was never applied).
    unfinished_ids: list[str] = []
    documents = demo_mix(count, failed_share, in_progress)
    started = time.perf_counter()
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(FILL_THREADS) as pool:
        while batch := list(itertools.islice(documents, FILL_CHUNK)):
            for document in batch:
                ids.append(document["generationId"])
                if not is_failed(document) and not is_completed(document):
                    unfinished_ids.append(document["generationId"])
            pending.append(pool.submit(storage.save_many, batch, preserve_timestamps=True))
            while len(pending) > 2 * FILL_THREADS:
                pending.popleft().result()
            done = len(ids)
            if done % 10_000 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"    filled {done:,}/{count:,} ({rate:,.0f}/s)", flush=True)
        for future in pending:
            future.result()
    return Seeded(ids, unfinished_ids, time.perf_counter() - started)


# -- DynamoDB item sizes and index writes, as AWS bills them ----------------------------------


def value_size(value: dict[str, Any]) -> int:
    (kind, content), = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        digits = len(content.lstrip("-").replace(".", "").lstrip("0").rstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(inner) + 1 for name, inner in content.items())
    if kind == "L":
        return 3 + sum(value_size(inner) + 1 for inner in content)
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: inner}) for inner in content)
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


def index_writes(index: dict[str, Any], table_keys: list[str], old: dict | None, new: dict | None) -> int:
    """Write units one global secondary index costs for a change from ``old`` to ``new`` (AWS's rules:
    a put or a delete of an index entry costs its size; a changed index key both; a change of
    projected attributes only, an update of the entry; nothing when the entry is unchanged or absent)."""
    keys = [part["AttributeName"] for part in index["KeySchema"]]
    projection = index.get("Projection", {"ProjectionType": "ALL"})

    def entry(item: dict | None) -> dict | None:
        if item is None or any(key not in item for key in keys):
            return None  # sparse: not in this index
        if projection["ProjectionType"] == "ALL":
            return item
        names = set(keys) | set(table_keys)
        if projection["ProjectionType"] == "INCLUDE":
            names |= set(projection.get("NonKeyAttributes", []))
        return {name: value for name, value in item.items() if name in names}

    before, after = entry(old), entry(new)
    if before is None and after is None:
        return 0
    if before is None:
        return write_units(after)
    if after is None:
        return write_units(before)
    if any(before[key] != after[key] for key in keys):
        return write_units(before) + write_units(after)
    return 0 if before == after else write_units(after)


# -- one size -------------------------------------------------------------------------------


@dataclass
class SizeFigures:
    size: int
    values: dict[str, float] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    count_usage: Usage | None = None
    #: The most frequent failure group of the last 24 hours (None: none), for the dashboard's pages.
    top_failure: str | None = None


def table_url(endpoint: str, table: str = TABLE, **options: Any) -> str:
    query = "&".join(f"{name}={value}" for name, value in {"region": REGION, "endpoint": endpoint, **options}.items())
    return f"dynamodb://{table}?{query}"


def measure_size(size: int, args: argparse.Namespace, django: DjangoSite | None) -> SizeFigures:
    figures = SizeFigures(size)
    values = figures.values
    with Dynalite() as server:
        print(f"\n== {size:,} generations (dynalite {server.endpoint}, in memory) ==", flush=True)
        # The snapshots read between calls must cost nothing: the count behind get_metrics() is kept a day.
        storage = StorageFactory.from_url(table_url(server.endpoint, count_cache_seconds=86400, read_timeout=30))
        counting = StorageFactory.from_url(table_url(server.endpoint, count_cache_seconds=0, read_timeout=30))
        try:
            seeded = seed(storage, size, args.failed_share, args.in_progress)
            counts = storage.count_by_status()
            mix = ", ".join(f"{status.value} {counts.get(status, 0):,} ({counts.get(status, 0) / size:.1%})"
                            for status in GenerationStatus)
            print(f"  filled in {seeded.seconds:.0f} s ({size / seeded.seconds:,.0f}/s, save_many of {FILL_CHUNK}, "
                  f"{FILL_THREADS} threads); dynalite RSS {server.rss_mb():,.0f} MB", flush=True)
            print(f"  mix: {mix}")
            _warn_if_snapshots_cost(storage)
            _measure_counts(storage, counting, args.reps, figures)
            _measure_lists(storage, seeded, args.reps, figures)
            _measure_insights(storage, args.reps, figures)
            _measure_updates(storage, seeded, server.endpoint, args.updates, figures)
        finally:
            storage.close()
            counting.close()
        if django is not None:
            _measure_dashboard(django, server, args, figures)
    values["fill_seconds"] = seeded.seconds
    return figures


def _warn_if_snapshots_cost(storage) -> None:
    first = details(storage)
    used = usage_between(first, details(storage))
    if used.total:
        print(f"  NOTE: get_metrics() itself sent {used.total} request(s) ({used.breakdown()}): "
              "the figures below include them")


def _measure_counts(storage, counting, reps: int, figures: SizeFigures) -> None:
    print(f"  uncached counts (median of {reps}):")
    times, used, _ = measured(storage, storage.count_by_status, reps)
    _count_line(figures, "count_by_status()", "count_by_status", times, used)
    # counting keeps no count (count_cache_seconds=0): each get_metrics() counts again, and its
    # details are read after that count, so two calls' details differ by exactly one count.
    previous = details(counting)
    times, total = [], Usage()
    for _ in range(reps):
        started = time.perf_counter()
        metrics = counting.get_metrics()
        times.append(1000 * (time.perf_counter() - started))
        total += usage_between(previous, metrics.details)
        previous = metrics.details
    used = total.scaled(1 / reps)
    figures.count_usage = used  # what one count costs: taken off the update figures if one slipped in
    _count_line(figures, "get_metrics().active_generations", "active_generations", times, used)


def _count_line(figures: SizeFigures, label: str, key: str, times: list[float], used: Usage) -> None:
    median = statistics.median(times)
    ok_ms, ok_requests = median <= COUNT_MS, used.total <= COUNT_REQUESTS
    figures.values[f"{key}_ms"] = median
    figures.values[f"{key}_requests"] = used.total
    figures.values[f"{key}_read_units"] = used.read_units
    figures.checks += [(f"{label} <= {COUNT_MS} ms", ok_ms), (f"{label} <= {COUNT_REQUESTS} requests", ok_requests)]
    print(f"    {label:<34}{median:8.1f} ms (worst {max(times):.1f}) {verdict(ok_ms)}   "
          f"{_num(used.total)} requests ({used.breakdown()}) {verdict(ok_requests)}   "
          f"{_num(used.read_units)} RCU")


def _measure_lists(storage, seeded: Seeded, reps: int, figures: SizeFigures) -> None:
    method = getattr(storage, "list_summaries", None)
    name = "list_summaries" if method else "list_generations"
    method = method or storage.list_generations
    some_id = seeded.ids[len(seeded.ids) // 2]
    cases = [
        ("first page", "first_page", ListQuery(limit=50)),
        ("status=failed page", "failed_page", ListQuery(status=GenerationStatus.FAILED, limit=50)),
        (f"id search ({some_id})", "id_search", ListQuery(search=some_id)),
    ]
    print(f"  list pages through {name}, limit 50 (median of {reps}):")
    for label, key, query in cases:
        times, used, page = measured(storage, lambda q=query: method(q), reps)
        figures.values[f"{key}_items_read"] = used.items_read
        figures.values[f"{key}_read_units"] = used.read_units
        figures.values[f"{key}_ms"] = statistics.median(times)
        more = "more" if getattr(page, "next_cursor", None) else "last"
        print(f"    {label:<34}{statistics.median(times):8.1f} ms   {_num(used.items_read):>7} items read   "
              f"{_num(used.read_units):>7} RCU   {_num(used.total)} requests ({used.breakdown()}); "
              f"{len(page.items)} rows, {more} page")


def last(window: timedelta, bucket: str = "hour") -> InsightsQuery:
    """The window ending now (a fresh one per call), as the dashboard's insights page asks for it."""
    now = datetime.now(timezone.utc)
    return InsightsQuery(created_after=now - window, created_before=now, bucket=bucket)


def _measure_insights(storage, reps: int, figures: SizeFigures) -> None:
    day = storage.insights(last(timedelta(hours=24)))
    totals = {status: sum(bucket.counts[status] for bucket in day.buckets) for status in GenerationStatus}
    mix = ", ".join(f"{status.value} {count:,}" for status, count in totals.items())
    print(f"  insights, uncached (the storage keeps none; median of {reps}): the last 24 h hold "
          f"{sum(totals.values()):,} generations in {len(day.buckets)} hourly buckets ({mix}), "
          f"{len(day.failures)} failure groups returned")
    for label, key, query in (("insights 24 h (hourly)", "insights_24h", lambda: last(timedelta(hours=24))),
                              ("insights 7 d (daily)", "insights_7d", lambda: last(timedelta(days=7), "day"))):
        before = details(storage)
        times, used, result = measured(storage, lambda q=query: storage.insights(q()), reps)
        spent = _request_ms(before, details(storage), reps + 1)  # measured() makes one untimed call first
        median = statistics.median(times)
        figures.values[f"{key}_ms"] = median
        figures.values[f"{key}_requests"] = used.total
        figures.values[f"{key}_read_units"] = used.read_units
        print(f"    {label:<34}{median:8.1f} ms (worst {max(times):.1f})   {_num(used.total)} requests "
              f"({used.breakdown()})   {_num(used.read_units)} RCU; {len(result.buckets)} buckets, "
              f"{len(result.failures)} groups; time in requests (summed over threads): {spent}")
    if not day.failures:
        print("    no failure group in the last 24 h: no failure-group page measured")
        return
    top = day.failures[0]
    figures.top_failure = top.fingerprint
    method = getattr(storage, "list_summaries", None) or storage.list_generations
    query = ListQuery(failure=top.fingerprint, limit=50)
    times, used, page = measured(storage, lambda: method(query), reps)
    figures.values["failure_page_items_read"] = used.items_read
    figures.values["failure_page_read_units"] = used.read_units
    figures.values["failure_page_requests"] = used.total
    figures.values["failure_page_ms"] = statistics.median(times)
    more = "more" if getattr(page, "next_cursor", None) else "last"
    print(f"    {'failure-group page (50)':<34}{statistics.median(times):8.1f} ms   "
          f"{_num(used.items_read):>7} items read   {_num(used.read_units):>7} RCU   {_num(used.total)} requests "
          f"({used.breakdown()}); {len(page.items)} rows, {more} page; group {top.fingerprint} "
          f"({top.count:,} in 24 h: {top.message[:60]})")


def _request_ms(before: dict[str, Any], after: dict[str, Any], calls: int) -> str:
    """Milliseconds spent in each request type per call, from the client's per-operation totals."""
    spent = {op: 1000 * (stats.get("total_seconds", 0.0)
                         - before.get("requests", {}).get(op, {}).get("total_seconds", 0.0)) / calls
             for op, stats in after.get("requests", {}).items()}
    return ", ".join(f"{op} {ms:,.1f} ms" for op, ms in sorted(spent.items()) if ms > 0.05) or "none"


def _measure_updates(storage, seeded: Seeded, endpoint: str, count: int, figures: SizeFigures) -> None:
    import boto3

    raw = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)  # not counted by the storage
    table = raw.describe_table(TableName=TABLE)["Table"]
    table_keys = [part["AttributeName"] for part in table["KeySchema"]]
    indexes = table.get("GlobalSecondaryIndexes", [])
    chosen = seeded.in_progress[:: max(1, len(seeded.in_progress) // count)][:count]
    index_units = dict.fromkeys((index["IndexName"] for index in indexes), 0)
    times = []
    before = details(storage)
    loop_started = time.monotonic()
    for generation_id in chosen:
        key = {"generationId": {"S": generation_id}}
        old = raw.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
        started = time.perf_counter()
        storage.update(generation_id, STAGE_UPDATE)
        times.append(1000 * (time.perf_counter() - started))
        new = raw.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
        for index in indexes:
            index_units[index["IndexName"]] += index_writes(index, table_keys, old, new)
    after = details(storage)
    used = usage_between(before, after)
    # A write that moved a counter empties the storage's count cache; the snapshot then counted once.
    age = after.get("count_ages_seconds", {}).get("generations")
    if age is not None and age < time.monotonic() - loop_started and figures.count_usage is not None:
        used -= figures.count_usage
    n = max(1, len(chosen))
    per = used.scaled(1 / n)
    per_index = {name: units / n for name, units in index_units.items()}
    estimate = per.write_units + sum(per_index.values())
    figures.values["update_dynalite_wcu"] = per.write_units
    figures.values["update_aws_wcu"] = estimate
    figures.values["update_ms"] = statistics.median(times) if times else 0.0
    index_text = ", ".join(f"{name} {_num(units)}" for name, units in per_index.items()) or "no index"
    print(f"  stage update ({n} in-progress generations, update(id, {{'audio': ...}})):")
    print(f"    {statistics.median(times) if times else 0:8.1f} ms median; {_num(per.total)} requests "
          f"({per.breakdown()}); write units per update: dynalite {_num(per.write_units)} (table only), "
          f"AWS estimate {_num(estimate)} (+ indexes: {index_text})")


# -- the dashboard --------------------------------------------------------------------------


@dataclass
class DjangoSite:
    env: dict[str, str]
    cookie: str


def prepare_django(work: Path) -> DjangoSite:
    from bench.dashboard_bench import _prepare_django, _production_env

    env = _production_env(work)
    env["GENNIE_STORAGE_URL"] = "memory://"  # set per size below; migrate/collectstatic do not open it
    return DjangoSite(env, _prepare_django(env))


def _measure_dashboard(site: DjangoSite, server: Dynalite, args: argparse.Namespace, figures: SizeFigures) -> None:
    import psutil

    from bench.dashboard_bench import _free_port, _get

    port = _free_port()
    env = {**site.env, "GENNIE_STORAGE_URL": table_url(server.endpoint)}
    command = [str(Path(sys.executable).parent / "gunicorn"), "gennie_admin.wsgi", "--workers", "1",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    gunicorn = processes.start(command, env=env, cwd=ROOT)
    try:
        _wait_until_up(port, gunicorn)
        worker = psutil.Process(gunicorn.pid).children()[0]
        headers = {"Cookie": site.cookie}
        paths = ["/", "/", "/?status=failed"]
        for path in paths:  # untimed: the worker's first storage call opens the table and the client
            _get(port, path, headers)
        count, seconds = args.dashboard_requests, args.dashboard_seconds
        interval = seconds / count
        samples: list[tuple[str, float, float]] = []  # path, ms, seconds into the run
        errors: dict[int, int] = {}
        cpu_before = _cpu(worker)
        server_before = server.cpu_seconds()
        started = time.monotonic()
        for n in range(count):
            delay = started + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            path = paths[n % len(paths)]
            status, took = _get(port, path, headers)
            if status != 200:
                errors[status] = errors.get(status, 0) + 1
            samples.append((path, 1000 * took, time.monotonic() - started - took))
        span = time.monotonic() - started
        worker_ms = 1000 * (_cpu(worker) - cpu_before) / count
        server_ms = 1000 * (server.cpu_seconds() - server_before) / count
        # After the timed run, so they do not disturb it: the insights pages and a group's list.
        insight_pages = _insight_pages(port, headers, figures.top_failure, args.dashboard_insights_requests)
    finally:
        processes.stop(gunicorn)
    all_ms = [ms for _, ms, _ in samples]
    median, worst = statistics.median(all_ms), max(all_ms)
    ratio = worst / median
    figures.values["dashboard_median_ms"] = median
    figures.values["dashboard_worst_ms"] = worst
    figures.checks.append((f"dashboard worst <= {WORST_OVER_MEDIAN:g}x median", ratio <= WORST_OVER_MEDIAN))
    error_text = f"; non-200 answers: {errors}" if errors else ""
    print(f"  dashboard: {count} list pages over {span:.0f} s (gunicorn, 1 worker, DEBUG=0; 2 '/' : 1 "
          f"'/?status=failed'), worker CPU {worker_ms:.1f} ms/request, dynalite CPU {server_ms:.1f} ms/request"
          f"{error_text}")
    for label, chosen in (("all", all_ms), *((path, [ms for p, ms, _ in samples if p == path])
                                             for path in dict.fromkeys(paths))):
        print(f"    {label:<18} median {statistics.median(chosen):7.1f} ms   p95 {_p95(chosen):7.1f} ms   "
              f"worst {max(chosen):7.1f} ms   worst/median {max(chosen) / statistics.median(chosen):5.2f}"
              + (f"   (target <= {WORST_OVER_MEDIAN:g}: {verdict(ratio <= WORST_OVER_MEDIAN)})"
                 if label == "all" else ""))
    # When the slow ones come tells what they wait for (the counts are taken again every 15 s).
    slowest = sorted(samples, key=lambda sample: -sample[1])[:5]
    print("    slowest: " + ", ".join(f"{ms:.0f} ms at {at:.1f} s ({path})"
                                    for path, ms, at in sorted(slowest, key=lambda sample: sample[2])))
    if insight_pages:
        print(f"  dashboard insights pages ({args.dashboard_insights_requests} requests each after 1 untimed, "
              "one after another):")
    for path, (times, statuses) in insight_pages.items():
        bad = {status: statuses.count(status) for status in set(statuses) if status != 200}
        figures.values[f"dashboard {path} median ms"] = statistics.median(times)
        print(f"    {path:<34} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms"
              + (f"   non-200 answers: {bad}" if bad else ""))


def _insight_pages(port: int, headers: dict[str, str], failure: str | None,
                   requests: int) -> dict[str, tuple[list[float], list[int]]]:
    """Each page's ms and statuses over ``requests`` requests (after one untimed)."""
    from bench.dashboard_bench import _get

    if requests <= 0:
        return {}
    paths = ["/insights/?window=24h", "/insights/?window=7d"]
    if failure:
        paths.append(f"/?failure={failure}")
    found: dict[str, tuple[list[float], list[int]]] = {}
    for path in paths:
        _get(port, path, headers)
        times, statuses = [], []
        for _ in range(requests):
            status, took = _get(port, path, headers)
            times.append(1000 * took)
            statuses.append(status)
        found[path] = (times, statuses)
    return found


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _cpu(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _wait_until_up(port: int, server) -> None:
    from bench.dashboard_bench import _get

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("gunicorn exited before answering")
        try:
            if _get(port, "/healthz", {})[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    sys.exit("gunicorn did not answer /healthz within 60 s")


# -- the migration --------------------------------------------------------------------------


@dataclass
class Run:
    """One timed write of ``count`` items: its rate, and the CPU it cost (ms per 1,000 items) in this
    process (the client, all its threads) and in dynalite: on a shared 2-core machine the CPU
    says which side bounds a rate, and what a rate would be with a core to itself."""

    rate: float
    client_ms: float
    server_ms: float


def measure_migration(args: argparse.Namespace, work: Path) -> list[tuple[str, bool]]:
    from bench.migrate_bench import child as migrate_bench_child

    count, rounds = args.migrate_count, args.migrate_rounds
    source_url = f"file://{work / 'files'}"
    migrate_bench_child("fill", source_url, str(count))  # bench/migrate_bench.py's fill (fsync off)
    takes_workers = "workers" in inspect.signature(migrate).parameters
    options = {"workers": args.migrate_workers} if takes_workers and args.migrate_workers else {}
    how = f"migrate(..., workers={args.migrate_workers})" if options else "migrate(...) (no workers parameter)"
    runs: dict[tuple[str, str], list[Run]] = {}
    with Dynalite() as server:
        address = urlsplit(server.endpoint)
        with DelayProxy(address.hostname, address.port, delay_ms=args.delay_ms) as proxy:
            print(f"\n== migration: {count:,} generations file -> DynamoDB, {how}, beside boto3 batch_writer "
                  f"(fresh dynalite; proxy +{args.delay_ms:g} ms each way) ==", flush=True)
            # Alternate, each run into a fresh table: a busy machine slows all of them alike.
            for round_ in range(1, rounds + 1):
                for route, endpoint in (("direct", server.endpoint), ("proxy", proxy.endpoint)):
                    migrated = _migrate_run(server, source_url, endpoint, count, f"bench-migrate-{route}-{round_}",
                                            options)
                    raw = _batch_writer_run(server, endpoint, count, f"bench-raw-{route}-{round_}")
                    runs.setdefault((route, "migrate"), []).append(migrated)
                    runs.setdefault((route, "raw"), []).append(raw)
                    print(f"  round {round_} {route:<6}: " + "   ".join(
                        f"{name} {run.rate:6,.0f}/s (CPU per 1,000: client {run.client_ms:5,.0f} ms, "
                        f"dynalite {run.server_ms:5,.0f} ms)" for name, run in (("migrate", migrated),
                                                                               ("batch_writer", raw))), flush=True)
    checks = []
    print(f"  best of {rounds}:")
    for route, target in (("direct", MIGRATE_PLAIN), ("proxy", MIGRATE_PROXY)):
        best_migrate = max(run.rate for run in runs[(route, "migrate")])
        best_raw = max(run.rate for run in runs[(route, "raw")])
        ratio = best_migrate / best_raw
        label = "directly" if route == "direct" else f"through the {2 * args.delay_ms:g} ms proxy"
        checks.append((f"migrate >= {target:g}x batch_writer {label}", ratio >= target))
        print(f"    {label:<26} migrate {best_migrate:7,.0f}/s   batch_writer {best_raw:7,.0f}/s   "
              f"ratio {ratio:5.2f} (target >= {target:g}: {verdict(ratio >= target)})")
    for kind, name in (("migrate", "migrate"), ("raw", "batch_writer")):
        kept = max(run.rate for run in runs[("proxy", kind)]) / max(run.rate for run in runs[("direct", kind)])
        print(f"    {name:<12} through the proxy keeps {kept:.0%} of its direct rate")
    return checks


@contextmanager
def _cpu_meter(server: Dynalite, count: int, result: list[float]) -> Iterator[None]:
    client, dynalite = time.process_time(), server.cpu_seconds()
    yield
    result[:] = [1e6 * (time.process_time() - client) / count, 1e6 * (server.cpu_seconds() - dynalite) / count]


def _migrate_run(server: Dynalite, source_url: str, endpoint: str, count: int, table: str,
                 options: dict[str, Any]) -> Run:
    cpu: list[float] = []
    with StorageFactory.from_url(source_url, create=False) as source, \
            StorageFactory.from_url(table_url(endpoint, table)) as target:
        target.list_generations()  # the table is created on first use: not part of the timing
        with _cpu_meter(server, count, cpu):
            report = migrate(source, target, **options)
    if report.copied != count:
        print(f"  NOTE: migrate copied {report.copied:,} of {count:,} (failed: {report.failed.count})")
    return Run(report.copied / report.seconds, *cpu)


def _batch_writer_run(server: Dynalite, endpoint: str, count: int, table_name: str) -> Run:
    """bench/migrate_bench.py's raw write: the same items as its fill, with the index attributes the
    backend would add (so dynalite maintains the same indexes), by boto3's batch_writer."""
    import boto3

    from bench.migrate_bench import NOW

    try:
        from storage_backends.backends.dynamodb.derived import derived_attributes
    except ImportError:  # moved by a later backend: the raw items then carry no index attributes
        print("  NOTE: no derived_attributes to import: batch_writer's items carry no index attributes")

        def derived_attributes(document: dict[str, Any]) -> dict[str, Any]:
            return {}

    with StorageFactory.from_url(table_url(endpoint, table_name)) as storage:
        storage.list_generations()  # creates the table, with its indexes, as for the migration
    table = boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint).Table(table_name)
    # boto3's serializer wants Decimal for floats: converted before the clock starts.
    items = [json.loads(json.dumps({**document, **derived_attributes(document)}), parse_float=Decimal)
             for document in demo_generations(count, now=NOW)]
    cpu: list[float] = []
    started = time.monotonic()
    with _cpu_meter(server, count, cpu), table.batch_writer() as writer:
        for item in items:
            writer.put_item(Item=item)
    return Run(count / (time.monotonic() - started), *cpu)


# -- main -------------------------------------------------------------------------------------


SCALED = [
    ("count_by_status_ms", "count_by_status() ms"),
    ("count_by_status_requests", "count_by_status() requests"),
    ("active_generations_ms", "active_generations ms"),
    ("active_generations_requests", "active_generations requests"),
    ("first_page_items_read", "first page items read"),
    ("first_page_read_units", "first page RCU"),
    ("failed_page_items_read", "status=failed items read"),
    ("failed_page_read_units", "status=failed RCU"),
    ("id_search_items_read", "id search items read"),
    ("id_search_read_units", "id search RCU"),
    ("insights_24h_ms", "insights 24 h ms"),
    ("insights_24h_requests", "insights 24 h requests"),
    ("insights_24h_read_units", "insights 24 h RCU"),
    ("insights_7d_ms", "insights 7 d ms"),
    ("insights_7d_requests", "insights 7 d requests"),
    ("insights_7d_read_units", "insights 7 d RCU"),
    ("failure_page_items_read", "failure-group page items read"),
    ("failure_page_read_units", "failure-group page RCU"),
    ("failure_page_requests", "failure-group page requests"),
    ("update_dynalite_wcu", "update WCU (dynalite)"),
    ("update_aws_wcu", "update WCU (AWS estimate)"),
    ("dashboard_median_ms", "dashboard median ms"),
]


def summary(sizes: list[SizeFigures], migration_checks: list[tuple[str, bool]]) -> None:
    print("\n== targets ==")
    checks: list[tuple[str, bool]] = []
    for figures in sizes:
        for label, ok in figures.checks:
            checks.append((f"{label} at {figures.size:,}", ok))
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(f"  {large.size:,} vs {small.size:,} (target: larger <= {SCALE_RATIO:g}x smaller)")
        for key, label in SCALED:
            if key not in small.values or key not in large.values:
                continue
            a, b = small.values[key], large.values[key]
            ratio = b / a if a else (1.0 if not b else math.inf)
            ok = ratio <= SCALE_RATIO
            checks.append((f"{label} scales", ok))
            print(f"    {label:<30}{_num(a):>10} -> {_num(b):>10}   {ratio:6.2f}x  {verdict(ok)}")
    checks += migration_checks
    for label, ok in checks:
        print(f"  {verdict(ok)}  {label}")
    passed = sum(ok for _, ok in checks)
    print(f"  {passed} of {len(checks)} targets met")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000], help="generations per table")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: sizes 2,000 and 10,000, 100 dashboard requests over 20 s, "
                             "1,000 migrated once, 3 repetitions")
    parser.add_argument("--in-progress", type=int, default=1000,
                        help="unfinished generations (in progress or stalled) at every size, as a pipeline's "
                             "concurrency and the cleanup bound them (default 1,000; -1: the demo's ~28%%)")
    parser.add_argument("--failed-share", type=float, default=0.027,
                        help="share of failed generations seeded (at most the demo's ~0.22; negative: the demo's own)")
    parser.add_argument("--reps", type=int, default=5, help="timed calls per count and list figure")
    parser.add_argument("--updates", type=int, default=50, help="stage updates averaged")
    parser.add_argument("--dashboard-requests", type=int, default=300)
    parser.add_argument("--dashboard-seconds", type=float, default=70.0)
    parser.add_argument("--dashboard-insights-requests", type=int, default=10,
                        help="timed requests of each insights page and of a failure group's list (0: none)")
    parser.add_argument("--migrate-count", type=int, default=5000)
    parser.add_argument("--migrate-rounds", type=int, default=2)
    parser.add_argument("--migrate-workers", type=int, default=4,
                        help="passed as migrate(..., workers=N) when migrate takes it (0: never)")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="the proxy's delay each way")
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--skip-migrate", action="store_true")
    args = parser.parse_args()
    if args.quick:
        defaults = parser.parse_args([])
        for name, quick in (("sizes", [2_000, 10_000]), ("dashboard_requests", 100), ("dashboard_seconds", 20.0),
                            ("migrate_count", 1_000), ("migrate_rounds", 1), ("reps", 3)):
            if getattr(args, name) == getattr(defaults, name):
                setattr(args, name, quick)
    if args.failed_share < 0:
        args.failed_share = None
    if args.in_progress < 0:
        args.in_progress = None

    processes.exit_on_signals()
    # dynalite takes any credentials; the children (gunicorn, the fill) inherit them.
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_PROFILE", None)
    started = time.monotonic()
    print(f"DynamoDB at scale on dynalite: sizes {', '.join(f'{s:,}' for s in args.sizes)}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="dynamodb-scale-") as tmp:
            work = Path(tmp)
            django = None if args.skip_dashboard else prepare_django(work)
            sizes = [measure_size(size, args, django) for size in args.sizes]
            migration_checks = [] if args.skip_migrate else measure_migration(args, work)
            summary(sizes, migration_checks)
    except KeyboardInterrupt:
        print("\nInterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        processes.stop_all()
    print(f"\nTotal {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
