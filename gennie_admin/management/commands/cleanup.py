"""``manage.py cleanup``: delete old generations; made for cron (one line out, one line on failure)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage_backends.models import format_timestamp, utcnow

from ..durations import ACCEPTED_FORMS, parse_duration
from ..storages import failures_as_command_errors, open_storage, storage_label


class Command(BaseCommand):
    help = (
        "Delete generations created longer ago than --older-than (default 24h). "
        "Safe to run from cron on several hosts at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", default="24h", metavar="AGE", help=f"age of the generations to delete: {ACCEPTED_FORMS}"
        )
        parser.add_argument(
            "-n", "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )
        parser.add_argument("--storage", metavar="URL", help="storage URL to clean instead of the configured one")

    def handle(self, *args: object, older_than: str, dry_run: bool, storage: str | None, verbosity: int,
               **options: object) -> None:
        try:
            age = parse_duration(older_than)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        started = time.monotonic()
        cutoff = format_timestamp(utcnow() - age)
        with open_storage(storage, create=False) as store:
            label = storage_label(store)
            with failures_as_command_errors(f"cleanup of {label} failed"):
                count = store.cleanup(age, dry_run=dry_run)
        if verbosity >= 1:
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(
                f"{verb} {count} generation{'s' * (count != 1)} older than {older_than.strip()} "
                f"(created before {cutoff}) from {label} in {time.monotonic() - started:.2f}s"
            )
