"""``manage.py dynamodb_indexer``: keep a DynamoDB storage's derived state in step with its change stream."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage_backends.backends.dynamodb import DynamoDBStorage, StreamIndexer

from ..storages import failures_as_command_errors, open_storage, storage_label


class Command(BaseCommand):
    help = (
        "Read every shard of the DynamoDB table's stream and apply each write (this library's or another "
        "producer's) to the listing attributes, counts and insights rollups. Needs a storage with "
        "stream_indexer=true. Leases and checkpoints live in the table <table>-indexer, so several of these "
        "may run at once and a restarted one resumes where it stopped. --once reads what is there and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--storage", metavar="URL", help="a dynamodb:// storage URL instead of the configured one")
        parser.add_argument("--once", action="store_true", help="read every shard to its tip once, then exit")
        parser.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                            help="seconds between polls of the stream (default 1)")

    def handle(self, *args: Any, storage: str | None, once: bool, interval: float, verbosity: int,
               **options: Any) -> None:
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds")
        with open_storage(storage, create=False) as store:
            if not isinstance(store, DynamoDBStorage):
                raise CommandError(f"dynamodb_indexer needs a DynamoDB storage, not {storage_label(store)}")
            with failures_as_command_errors(f"stream indexer on {storage_label(store)} failed"):
                indexer = StreamIndexer(store)
                if once:
                    self._once(indexer, store, verbosity)
                else:
                    self._forever(indexer, store, interval, verbosity)

    def _once(self, indexer: StreamIndexer, store: DynamoDBStorage, verbosity: int) -> None:
        try:
            report = indexer.poll()
        finally:
            indexer.release()
        if verbosity >= 1:
            elsewhere = f"; {len(report.shards_elsewhere)} held by another indexer" if report.shards_elsewhere else ""
            self.stdout.write(f"Read {report.records:,} stream records of {storage_label(store)} "
                              f"({report.applied:,} moved the counts) from {len(report.shards_read)} shards{elsewhere}")

    def _forever(self, indexer: StreamIndexer, store: DynamoDBStorage, interval: float, verbosity: int) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        if verbosity >= 1:
            self.stdout.write(f"Indexing the stream of {storage_label(store)} every {interval:g}s as {indexer.owner}; "
                              "Ctrl-C stops")
        try:
            indexer.run(interval=interval, stop=stop)
        finally:
            indexer.release()
