"""A dynalite server (DynamoDB's API on LevelDB, npm package ``dynalite``) on 127.0.0.1 for benchmarks.

    node_modules go to bench/.dynalite (git-ignored), installed on first use with
    npm install --no-save --prefix bench/.dynalite dynalite

``Dynalite()`` is a context manager: it starts ``node`` with a small launcher that listens on
a free port of 127.0.0.1 (in memory unless ``path`` names a LevelDB directory), tables become
ACTIVE at once (``createTableMs`` 0), and the server exits when its stdin closes, so it never
outlives the benchmark. ``endpoint`` is its URL, ``cpu_seconds()`` the CPU time it has used.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bench import processes

PREFIX = Path(__file__).resolve().parent / ".dynalite"
PACKAGE = PREFIX / "node_modules" / "dynalite"

#: argv: [node, <package dir>, <LevelDB path or "">]; prints the endpoint, exits when stdin closes.
_LAUNCHER = r"""
const [packageDir, path] = process.argv.slice(1)
const options = {createTableMs: 0, deleteTableMs: 0, updateTableMs: 0}
if (path) options.path = path
const server = require(packageDir)(options)
server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port))
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
"""


def ensure_installed() -> Path:
    """The dynalite package directory, installed with npm if it is not there yet."""
    if (PACKAGE / "package.json").exists():
        return PACKAGE
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            sys.exit(f"dynalite needs {tool} on PATH (Debian: apt-get install nodejs npm)")
    print(f"Installing dynalite into {PREFIX} (npm) ...", flush=True)
    subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--loglevel", "error",
                    "--prefix", str(PREFIX), "dynalite"], check=True, stdout=subprocess.DEVNULL)
    if not (PACKAGE / "package.json").exists():
        sys.exit(f"npm did not install dynalite into {PREFIX}")
    return PACKAGE


class Dynalite:
    """One dynalite server process; ``with Dynalite() as server: server.endpoint``."""

    def __init__(self, path: Path | None = None, *, max_heap_mb: int = 8192) -> None:
        self.path = path
        self.max_heap_mb = max_heap_mb
        self.endpoint = ""
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Dynalite:
        package = ensure_installed()
        # The heap limit is raised: 100,000 generations with an ALL-projected index hold ~1 GB.
        self.process = processes.start(
            ["node", f"--max-old-space-size={self.max_heap_mb}", "-e", _LAUNCHER, str(package),
             str(self.path or "")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            processes.stop(self.process)
            sys.exit(f"dynalite did not start (it printed {line!r})")
        self.endpoint = line
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            processes.stop(self.process)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the server has used so far (0 without psutil)."""
        try:
            import psutil
        except ImportError:
            return 0.0
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        try:
            import psutil
        except ImportError:
            return 0.0
        return psutil.Process(self.process.pid).memory_info().rss / 2**20
