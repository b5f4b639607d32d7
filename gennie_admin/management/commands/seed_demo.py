"""``manage.py seed_demo``: fill a storage with realistic demo generations (see ``storage_backends.demo``)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage_backends import ListQuery
from storage_backends.demo import save_demo

from ..storages import failures_as_command_errors, open_storage, storage_label


class Command(BaseCommand):
    help = (
        "Save realistic demo generations: completed, failed at every stage, in progress and stalled. "
        "Ids come from --seed, so running it again replaces them instead of adding more."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=500, help="how many generations (default 500)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the generator and of the ids (default 0)")
        parser.add_argument("--storage", metavar="URL", help="storage URL to fill instead of the configured one")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the storage holds any generation")

    def handle(self, *args: object, count: int, seed: int, storage: str | None, if_empty: bool, verbosity: int,
               **options: object) -> None:
        if count < 0:
            raise CommandError("--count must be 0 or more")
        started = time.monotonic()
        with open_storage(storage) as store:
            label = storage_label(store)
            with failures_as_command_errors(f"seeding {label} failed"):
                if if_empty and store.list_generations(ListQuery(limit=1)).items:
                    if verbosity >= 1:
                        self.stdout.write(f"{label} already holds generations; no demo data added")
                    return
                save_demo(store, count, seed=seed)
        if verbosity >= 1:
            self.stdout.write(
                f"Saved {count} demo generations (seed {seed}) to {label} in {time.monotonic() - started:.2f}s"
            )
