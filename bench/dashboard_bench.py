"""Dashboard benchmark: the pages as production serves them, over HTTP, on 100,000 generations.

    .venv/bin/python bench/dashboard_bench.py                        # 100,000 generations, 200 requests a page
    .venv/bin/python bench/dashboard_bench.py -n 10000 --requests 50
    .venv/bin/python bench/dashboard_bench.py --keep var/dashboard-bench   # reuse the filled data next time

Set-up: the sqlite backend filled with ``storage_backends.demo`` generations (``save_many`` with
``preserve_timestamps``), Django's own tables in SQLite, static files collected, then gunicorn
with one worker on 127.0.0.1, DEBUG=0 with a SECRET_KEY and ALLOWED_HOSTS (SECURE_SSL_REDIRECT
off: there is no TLS on loopback). Every request carries a staff user's session cookie and is
timed from connect to the last byte. Prints the median and p95 of each page beside its target,
and the worker's CPU time per request (what the page costs, however busy the machine is).
The insights pages (``/insights/?window=24h`` and ``7d``) and the list of one failure group
(``/?failure=<fingerprint>``, the most frequent group of the last 24 hours, asked of the storage
once before gunicorn starts; also as the insights page links it, with ``&created=24h``) are
measured the same way. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project root holds the packages

from bench.storage_bench import SEARCH_WORDS  # noqa: E402
from storage_backends import InsightsQuery, StorageFactory  # noqa: E402
from storage_backends.demo import demo_id, save_demo  # noqa: E402

SEED = 11
FILL_CHUNK = 2000
HOST = "127.0.0.1"
HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Case:
    name: str
    #: The path of request ``n``, given a random generation's id (a detail page varies each time).
    path: Callable[[int, str], str]
    headers: dict[str, str]
    target_ms: float | None


def cases(failure: str | None) -> list[Case]:
    """The pages measured; ``failure`` is a failure group's fingerprint (None: no group pages)."""
    measured = [
        Case("list page (full)", lambda n, some_id: "/", {}, 20),
        Case("list page (htmx partial)", lambda n, some_id: "/", HTMX, 20),
        Case("filtered: status=failed", lambda n, some_id: "/?status=failed", {}, 20),
        Case("prompt search", lambda n, some_id: "/?q=" + quote(SEARCH_WORDS[n % len(SEARCH_WORDS)]), {}, 30),
        Case("detail page", lambda n, some_id: f"/generations/{some_id}/", {}, 13),
        Case("timeline partial (htmx)", lambda n, some_id: f"/generations/{some_id}/timeline/", HTMX, None),
        Case("insights 24h", lambda n, some_id: "/insights/?window=24h", {}, None),
        Case("insights 7d", lambda n, some_id: "/insights/?window=7d", {}, None),
    ]
    if failure:
        # A filtered list page like status=failed: the same target.
        measured += [
            Case("failure group list", lambda n, some_id: f"/?failure={failure}", {}, 20),
            Case("failure group, created=24h", lambda n, some_id: f"/?failure={failure}&created=24h", {}, 20),
        ]
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=100_000, help="generations in the storage")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page first")
    parser.add_argument("--keep", type=Path, help="a directory to keep (and reuse) the filled databases in")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--only", default="", help="measure only the pages whose name contains this")
    args = parser.parse_args()

    with _work_dir(args.keep) as work:
        env = _production_env(work)
        _fill_storage(work / "generations.sqlite3", args.count)
        failure = _top_failure(work / "generations.sqlite3")
        cookie = _prepare_django(env)
        port = args.port or _free_port()
        with _gunicorn(env, port) as worker:
            print(f"Dashboard over HTTP: gunicorn, 1 worker, DEBUG=0, sqlite, {args.count:,} generations, "
                  f"{args.requests} requests a page (after {args.warmup} untimed); "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print(f"{'page':<28}{'median ms':>10}{'p95 ms':>10}{'worker CPU':>12}  target (median)")
            for case in (case for case in cases(failure) if args.only in case.name):
                times, cpu = _measure(case, port, cookie, worker, args.count, args.warmup, args.requests)
                print(_row(case, times, cpu))


@contextmanager
def _work_dir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp:
        yield Path(tmp)


def _production_env(work: Path) -> dict[str, str]:
    secret_file = work / "secret_key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(50))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gennie_admin.settings",
        "DEBUG": "0",
        "SECRET_KEY": secret_file.read_text(),
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{work / 'django.sqlite3'}",
        "GENNIE_STORAGE_URL": f"sqlite:///{work / 'generations.sqlite3'}",
        "LOG_LEVEL": "WARNING",
    }


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


def _top_failure(path: Path) -> str | None:
    """The most frequent failure group of the last 24 hours (the insights page's first row)."""
    with StorageFactory.from_url(f"sqlite:///{path}") as storage:
        until = datetime.now(timezone.utc)
        day = storage.insights(InsightsQuery(created_after=until - timedelta(hours=24), created_before=until))
    held = sum(bucket.total for bucket in day.buckets)
    if not day.failures:
        print(f"No failure group in the last 24 hours ({held:,} generations): no failure group pages")
        return None
    top = day.failures[0]
    print(f"Last 24 hours: {held:,} generations; most frequent failure group {top.fingerprint} "
          f"({top.count:,} generations): {top.message[:80]}")
    return top.fingerprint


def _prepare_django(env: dict[str, str]) -> str:
    """Migrate, collect static files, and sign a staff user in; returns its session cookie."""
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    sign_in = (
        "from django.conf import settings\n"
        "from django.contrib.auth.models import User\n"
        "from django.test import Client\n"
        "user, _ = User.objects.get_or_create(username='bench', defaults={'is_staff': True})\n"
        "client = Client(); client.force_login(user)\n"
        "print(f'{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}')"
    )
    result = subprocess.run([*manage, "shell", "-c", sign_in], env=env, check=True, cwd=ROOT,
                            capture_output=True, text=True)
    return result.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def _gunicorn(env: dict[str, str], port: int) -> Iterator[psutil.Process]:
    """Serve with gunicorn; yields its worker process, whose CPU time the bench reads."""
    command = [str(Path(sys.executable).parent / "gunicorn"), "gennie_admin.wsgi", "--workers", "1",
               "--bind", f"{HOST}:{port}", "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        _wait_until_up(port, server)
        yield psutil.Process(server.pid).children()[0]
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("gunicorn exited before answering")
        try:
            if _get(port, "/healthz", {})[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    sys.exit("gunicorn did not answer /healthz within 30 s")


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    """One request on a fresh connection (gunicorn's sync worker closes each one); status and seconds."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": HOST, **headers})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    return response.status, time.perf_counter() - started


def _measure(case: Case, port: int, cookie: str, worker: psutil.Process, count: int, warmup: int,
             requests: int) -> tuple[list[float], float]:
    """The wall time of each timed request, and the worker's CPU seconds per request.

    CPU time is what a page costs the server whatever else the machine runs: on a busy
    machine the wall times include waiting for a core.
    """
    rng = random.Random(case.name)
    headers = {"Cookie": cookie, **case.headers}
    times = []
    for n in range(warmup + requests):
        if n == warmup:
            cpu_before = _cpu_seconds(worker)
        path = case.path(n, demo_id(SEED, rng.randrange(count)))
        status, seconds = _get(port, path, headers)
        # 286 is htmx's "stop polling": the timeline of a finished generation.
        if status not in (200, 286):
            sys.exit(f"{case.name}: GET {path} answered {status}")
        if n >= warmup:
            times.append(seconds)
    return times, (_cpu_seconds(worker) - cpu_before) / requests


def _cpu_seconds(process: psutil.Process) -> float:
    cpu = process.cpu_times()
    return cpu.user + cpu.system


def _row(case: Case, seconds: list[float], cpu_seconds: float) -> str:
    ms = sorted(1000 * s for s in seconds)
    median, p95 = statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    if case.target_ms is None:
        target = ""
    else:
        target = f"≤ {case.target_ms:g} ms {'met' if median <= case.target_ms else 'MISSED'}"
    return f"{case.name:<28}{median:>10.2f}{p95:>10.2f}{1000 * cpu_seconds:>9.2f} ms  {target}"


if __name__ == "__main__":
    main()
