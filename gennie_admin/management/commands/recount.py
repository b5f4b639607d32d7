"""``manage.py recount``: set the sums a backend maintains (counts, insights) from the documents again."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from ..storages import failures_as_command_errors, open_storage, storage_label


class Command(BaseCommand):
    help = (
        "Recount the sums the storage keeps as it is written (DynamoDB's counts by status; SQLite's and "
        "DynamoDB's hourly insights) from the documents themselves: a full pass, for a quiet hour from cron. "
        "Hours without documents keep their history. Memory and file compute from their documents directly "
        "and have nothing to repair."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--storage", metavar="URL", help="storage URL to recount instead of the configured one")

    def handle(self, *args: object, storage: str | None, verbosity: int, **options: object) -> None:
        started = time.monotonic()
        with open_storage(storage, create=False) as store:
            label = storage_label(store)
            with failures_as_command_errors(f"recount of {label} failed"):
                counted = store.recount()
        if verbosity >= 1:
            self.stdout.write(f"Recounted {counted:,} generations of {label} in {time.monotonic() - started:.2f}s")
