"""A TCP proxy on 127.0.0.1 that adds latency: each chunk is forwarded ``--delay-ms`` after it arrived.

    .venv/bin/python bench/delay_proxy.py --target 127.0.0.1:4567 --delay-ms 10   # prints host:port

Both directions are delayed, so a request/response round trip gains twice the delay (10 ms each
way: ~20 ms, a client in one AWS region talking to DynamoDB in another, or over a VPN). The
delay is latency only, not a bandwidth cap: chunks are read as soon as they come and each is
written when its own time is up, in order, so many requests in flight (on several connections)
all gain the same ~20 ms. Sockets are TCP_NODELAY. As a script it prints ``host:port`` it
listens on and serves until its stdin closes (so it never outlives the benchmark that started it);
``DelayProxy`` starts it so, in a process of its own (not sharing the GIL with the client measured).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
from pathlib import Path

READ_SIZE = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader -> writer, each chunk written ``delay`` seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()

    async def send() -> None:
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(READ_SIZE):
            queue.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((loop.time() + delay, None))
    await sender


async def _handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                  target: tuple[str, int], delay: float) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()
        return
    for writer in (client_writer, upstream_writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.gather(_pipe(client_reader, upstream_writer, delay),
                             _pipe(upstream_reader, client_writer, delay))
    finally:
        for writer in (client_writer, upstream_writer):
            writer.close()


async def serve(target: tuple[str, int], delay: float, host: str = "127.0.0.1", port: int = 0) -> None:
    server = await asyncio.start_server(lambda r, w: _handle(r, w, target, delay), host, port)
    bound = server.sockets[0].getsockname()
    print(f"{bound[0]}:{bound[1]}", flush=True)
    loop = asyncio.get_running_loop()
    # Serve until stdin closes (the parent ended or let go of us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


class DelayProxy:
    """``with DelayProxy("127.0.0.1", 4567, delay_ms=10) as proxy: proxy.endpoint``."""

    def __init__(self, host: str, port: int, *, delay_ms: float) -> None:
        self.target = (host, port)
        self.delay_ms = delay_ms
        self.endpoint = ""
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> DelayProxy:
        from bench import processes

        self.process = processes.start(
            [sys.executable, str(Path(__file__).resolve()), "--target", f"{self.target[0]}:{self.target[1]}",
             "--delay-ms", str(self.delay_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline().strip()
        if ":" not in line:
            processes.stop(self.process)
            sys.exit(f"the delay proxy did not start (it printed {line!r})")
        self.endpoint = f"http://{line}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        from bench import processes

        if self.process is not None:
            processes.stop(self.process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="delay of each chunk, each direction")
    parser.add_argument("--listen", default="127.0.0.1:0", help="host:port to listen on (port 0: a free one)")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    listen_host, _, listen_port = args.listen.rpartition(":")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve((host, int(port)), args.delay_ms / 1000, listen_host, int(listen_port)))


if __name__ == "__main__":
    main()
