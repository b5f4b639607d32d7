"""Drives producer.mjs, the TypeScript pipeline's DynamoDB writes, from the tests.

``ensure_installed()`` runs ``npm ci`` from the pinned lock file when node_modules is missing or
older than it; ``Producer`` keeps one node process for a test and sends it one command a line::

    with Producer(moto_server, table) as js:
        js.create_table(stream=True)
        js.put({"generationId": "g1", "initialParams": {"prompt": "Otters"}})

A missing node or npm, or a failed install, raises: the tests that need the producer fail, never skip.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "producer.mjs"
LOCK_FILE = HERE / "package-lock.json"
NODE_MODULES = HERE / "node_modules"
#: npm writes this last in an install, so its time says when node_modules was completed.
INSTALLED_MARKER = NODE_MODULES / ".package-lock.json"
INSTALL_COMMAND = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel", "error"]
#: The pinned AWS SDK's engines field: on an older node it fails in ways that name no version.
NODE_MAJOR = 20


class ProducerError(RuntimeError):
    """The producer could not be installed or started, or a command of it failed."""


def _up_to_date() -> bool:
    return INSTALLED_MARKER.exists() and INSTALLED_MARKER.stat().st_mtime >= LOCK_FILE.stat().st_mtime


@functools.cache
def _check_node_version() -> None:
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        raise ProducerError(f"the JavaScript producer's AWS SDK needs Node.js >= {NODE_MAJOR}; node is {version}")


def ensure_installed() -> Path:
    """The producer's directory, its pinned packages installed; a file lock keeps parallel
    pytest workers from running ``npm ci`` (which first deletes node_modules) over each other."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise ProducerError(f"the JavaScript producer needs {tool} on PATH to run "
                                f"`{' '.join(INSTALL_COMMAND)}` in {HERE} (Debian: apt-get install nodejs npm)")
    _check_node_version()
    if _up_to_date():
        return HERE
    with open(LOCK_FILE) as lock:  # flock needs no write access: the tracked lock file serves
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _up_to_date():  # another worker may have installed while this one waited
            result = subprocess.run(INSTALL_COMMAND, cwd=HERE, capture_output=True, text=True, timeout=600)
            if result.returncode != 0 or not INSTALLED_MARKER.exists():
                raise ProducerError(f"`{' '.join(INSTALL_COMMAND)}` in {HERE} failed "
                                    f"(exit {result.returncode}):\n{result.stderr or result.stdout}")
    return HERE


class Producer:
    """One long-lived ``node producer.mjs`` on ``table`` at ``endpoint``; each method sends one
    command, waits up to ``timeout`` seconds for its result line and returns it parsed."""

    def __init__(self, endpoint: str, table: str, region: str = "us-east-1", *, timeout: float = 30) -> None:
        self.argv = ["node", str(SCRIPT), "--endpoint", endpoint, "--region", region, "--table", table]
        self.timeout = timeout
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []

    def __enter__(self) -> Producer:
        ensure_installed()
        env = {**os.environ, "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
               "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test")}
        self.process = subprocess.Popen(self.argv, cwd=HERE, env=env, text=True, encoding="utf-8", bufsize=1,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Readers on threads: a timeout per command without blocking on a pipe, stderr never filling up.
        threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None:
            return
        try:
            self.process.stdin.close()  # the producer's loop ends with its stdin
            self.process.wait(timeout=10)
        except BrokenPipeError:
            self.process.wait()
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _read_stdout(self, stream) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self, stream) -> None:
        for line in stream:
            self._stderr.append(line)

    def send(self, op: str, **fields: Any) -> dict[str, Any]:
        """Run one command; its result without ``ok``, or ProducerError with the producer's error."""
        if self.process is None:
            raise ProducerError("the producer is not running: use it as `with Producer(...) as js:`")
        command = json.dumps({"op": op, **fields}, ensure_ascii=False)
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
            line = self._lines.get(timeout=self.timeout)
        except BrokenPipeError:
            line = None
        except queue.Empty:
            self.process.kill()  # a late answer would be taken for the next command's
            raise ProducerError(f"no answer to {op} within {self.timeout:g} s; the producer was stopped") from None
        if line is None:
            raise ProducerError(f"the producer exited during {op}: {''.join(self._stderr)[-2000:]}")
        result = json.loads(line)
        if not result.pop("ok"):
            raise ProducerError(f"{op} failed: {result['error']}")
        return result

    def create_table(self, *, stream: bool = False) -> str | None:
        """The seed's table; with ``stream``, NEW_AND_OLD_IMAGES streams and their ARN returned."""
        return self.send("createTable", stream=stream)["streamArn"]

    def put(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as written: createdAt and updatedAt added when absent."""
        return self.send("put", item=item)["item"]

    def update(self, generation_id: str, updates: dict[str, Any]) -> dict[str, Any]:
        """The whole item after the update (of an existing item only, as the seed's)."""
        return self.send("update", id=generation_id, updates=updates)["item"]

    def update_stage(self, generation_id: str, stage: str, value: Any) -> dict[str, Any]:
        return self.send("updateStage", id=generation_id, stage=stage, value=value)["item"]

    def delete(self, generation_id: str) -> None:
        self.send("delete", id=generation_id)

    def get(self, generation_id: str) -> dict[str, Any] | None:
        return self.send("get", id=generation_id)["item"]
