"""Storage benchmark: fill a fresh backend with N realistic generations, print median and p95.

    .venv/bin/python bench/storage_bench.py --backend sqlite            # 100,000 generations
    .venv/bin/python bench/storage_bench.py --backend file -n 10000
    .venv/bin/python bench/storage_bench.py --backend dynamodb          # 20,000, moto's server

Measures save, get, update, the first list page (newest first, 50), a filtered page
(status=failed), a search page (a prompt word) and one cleanup call removing ~10% of the rows.
Figures, not assertions: the targets live in the README. A backend plugs in with one entry in
``TARGETS``: a function that gets a fresh temporary directory and returns a ``Target``;
its optional ``counters`` (e.g. DynamoDB items read) are printed per call beside the times.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# Run as a script from anywhere: the project root holds the packages.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage_backends import GenerationStateStorage, GenerationStatus, ListQuery, StorageFactory  # noqa: E402
from storage_backends.demo import demo_generations  # noqa: E402
from storage_backends.models import parse_timestamp  # noqa: E402

#: Prompt words searched in turn (the demo prompts' languages): a realistic, selective search.
SEARCH_WORDS = ["otters", "paella", "Eiffel", "Wärmepumpe", "富士山", "samba", "solar", "quantum"]
FILL_CHUNK = 1000
SEED = 7


@dataclass
class Target:
    """A backend under test: the storage, how to dispose of it, and optional extra counters."""

    storage: GenerationStateStorage
    teardown: Callable[[], None] = lambda: None
    #: Cumulative backend counters (name -> value); the bench prints their change per call.
    counters: Callable[[], Mapping[str, float]] = dict


@dataclass(frozen=True)
class Setup:
    make: Callable[[Path], Target]
    default_count: int


def _factory_target(config: dict[str, Any]) -> Target:
    storage = StorageFactory.create_storage(config)
    return Target(storage, teardown=storage.close)


def _dynamodb_target(tmp: Path) -> Target:
    """DynamoDB against moto's server on 127.0.0.1: the times are moto's, the request and
    item-read counts are what AWS would see (and bill)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    storage = StorageFactory.create_storage({"type": "dynamodb", "options": {
        "table_name": "bench-generations", "endpoint": f"http://{host}:{port}",
        "access_key_id": "bench", "secret_access_key": "bench",
    }})

    def counters() -> dict[str, float]:
        # Not get_metrics(): its COUNT scan would add requests of its own.
        details = storage._metrics_details()
        calls = {name: stats["calls"] for name, stats in details["requests"].items()}
        return {"requests": sum(calls.values()), "of them scans": calls.get("scan", 0),
                "items read (list)": details["list_items_read"]}

    def teardown() -> None:
        storage.close()
        server.stop()

    return Target(storage, teardown=teardown, counters=counters)


TARGETS: dict[str, Setup] = {
    "dynamodb": Setup(_dynamodb_target, 20_000),
    "memory": Setup(lambda tmp: _factory_target({"type": "memory"}), 10_000),
    "file": Setup(lambda tmp: _factory_target({"type": "file", "options": {"directory": str(tmp / "files")}}), 10_000),
    "sqlite": Setup(lambda tmp: _factory_target({"type": "sqlite", "options": {"path": str(tmp / "bench.sqlite3")}}),
                    100_000),
}


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def row(self) -> str:
        ms = sorted(1000 * s for s in self.seconds)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        extras = "  ".join(f"{name} {value:,.1f}" for name, value in self.counters.items())
        return f"{self.name:<26}{statistics.median(ms):>10.2f}{p95:>10.2f}{len(ms):>9}  {extras} {self.note}".rstrip()


class Bench:
    def __init__(self, target: Target, samples: int, budget: float) -> None:
        self.target = target
        self.samples = samples
        self.budget = budget
        self.results: list[Result] = []

    def measure(self, name: str, call: Callable[[int], object]) -> Result:
        """Time ``call(n)`` for n = 0, 1, … until ``samples`` calls or the time budget (at least 5 calls)."""
        result = Result(name)
        before = dict(self.target.counters())
        started = time.perf_counter()
        while len(result.seconds) < self.samples:
            began = time.perf_counter()
            call(len(result.seconds))
            result.seconds.append(time.perf_counter() - began)
            if time.perf_counter() - started > self.budget and len(result.seconds) >= 5:
                break
        self._count(result, before)
        return result

    def once(self, name: str, call: Callable[[], int], what: str) -> int:
        """Time one call that returns a count, noted beside the time as ``what``."""
        result = Result(name)
        before = dict(self.target.counters())
        began = time.perf_counter()
        value = call()
        result.seconds.append(time.perf_counter() - began)
        result.note = f"{what} {value:,}"
        self._count(result, before)
        return value

    def _count(self, result: Result, before: Mapping[str, float]) -> None:
        after = self.target.counters()
        result.counters = {k: (after[k] - before.get(k, 0)) / len(result.seconds) for k in after}
        self.results.append(result)


def fill(storage: GenerationStateStorage, count: int, now: datetime) -> tuple[list[str], list[str], float]:
    """Write ``count`` demo generations in bulk with their own times; returns ids, createdAts, seconds."""
    ids: list[str] = []
    created: list[str] = []
    chunk: list[dict[str, Any]] = []
    started = time.perf_counter()
    for item in demo_generations(count, seed=SEED, now=now):
        ids.append(item["generationId"])
        created.append(item["createdAt"])
        chunk.append(item)
        if len(chunk) == FILL_CHUNK:
            storage.save_many(chunk, preserve_timestamps=True)
            chunk = []
    if chunk:
        storage.save_many(chunk, preserve_timestamps=True)
    return ids, created, time.perf_counter() - started


def run(backend: str, count: int, samples: int, budget: float) -> None:
    rng = random.Random(SEED)
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="storage-bench-") as tmp:
        target = TARGETS[backend].make(Path(tmp))
        try:
            storage = target.storage
            ids, created, fill_seconds = fill(storage, count, now)
            print(f"{backend}: filled {count:,} generations in {fill_seconds:.1f} s "
                  f"({count / fill_seconds:,.0f}/s, save_many of {FILL_CHUNK})", flush=True)
            bench = Bench(target, samples, budget)
            measure_all(bench, storage, ids, created, rng)
            print(f"\n{'operation':<26}{'median ms':>10}{'p95 ms':>10}{'samples':>9}")
            for result in bench.results:
                print(result.row())
            print(f"\n{storage.get_metrics().active_generations:,} generations left; details: "
                  f"{storage.get_metrics().details}")
        finally:
            target.teardown()


def measure_all(bench: Bench, storage: GenerationStateStorage, ids: list[str], created: list[str],
                rng: random.Random) -> None:
    picked = rng.choices(ids, k=bench.samples)
    bench.measure("get", lambda n: storage.get(picked[n]))
    bench.measure("first page (50)", lambda n: storage.list_generations(ListQuery(limit=50)))
    failed = ListQuery(status=GenerationStatus.FAILED, limit=50)
    bench.measure("filtered page (failed)", lambda n: storage.list_generations(failed))
    searches = [ListQuery(search=word, limit=50) for word in SEARCH_WORDS]
    bench.measure("search page (prompt word)", lambda n: storage.list_generations(searches[n % len(searches)]))
    retry = {"audio": {"url": "https://cdn.example.com/retry/audio.mp3", "duration": 42.5}}
    bench.measure("update", lambda n: storage.update(picked[n], retry))
    fresh = list(demo_generations(bench.samples, seed=SEED + 1))
    bench.measure("save (new)", lambda n: storage.save(fresh[n]))
    # The createdAt below which a tenth of the generations lie.
    cutoff = parse_timestamp(sorted(created)[len(created) // 10])
    older_than = datetime.now(timezone.utc) - cutoff
    bench.once("cleanup 10% (dry run)", lambda: storage.cleanup(older_than, dry_run=True), "counts")
    bench.once("cleanup 10%", lambda: storage.cleanup(older_than), "removed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(TARGETS), default="sqlite")
    parser.add_argument("-n", type=int,
                        help="generations to fill (default: 100,000 sqlite, 20,000 dynamodb, 10,000 others)")
    parser.add_argument("--samples", type=int, default=300, help="calls timed per operation (default 300)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds at most per operation (default 20)")
    args = parser.parse_args(argv)
    run(args.backend, args.n or TARGETS[args.backend].default_count, args.samples, args.budget)


if __name__ == "__main__":
    main()
