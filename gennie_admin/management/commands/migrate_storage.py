"""``manage.py migrate_storage``: copy every generation between backends (engine: ``storage_backends.migration``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage_backends import GenerationStateStorage
from storage_backends.migration import (
    DEFAULT_BATCH_SIZE,
    MigrationReport,
    Problems,
    VerifyReport,
    migrate,
    verify,
)

from ..progress import ProgressReporter
from ..storages import failures_as_command_errors, open_storage, storage_label

#: Exit status of a run stopped with Ctrl-C, as shells report it.
INTERRUPTED = 130
#: A bound against typos: more writers than this only wait on each other at the target.
MAX_WORKERS = 64


class Command(BaseCommand):
    help = (
        "Copy every generation from --source to --target (default: the configured storage), keeping "
        "every attribute and time. Run it again to resume or to catch up: what the target already "
        "holds is skipped, and a target document newer by updatedAt is kept unless --overwrite. "
        "Both are first prepared for listing (DynamoDB backfills its index; not in a dry run). The source "
        "must exist (it is never created); the target is created if missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", required=True, metavar="URL", help="storage URL to copy from")
        parser.add_argument("--target", metavar="URL", help="storage URL to copy to (default: the configured one)")
        parser.add_argument("--overwrite", action="store_true", help="also replace target documents that are newer")
        parser.add_argument("-n", "--dry-run", action="store_true", help="count what would be copied, write nothing")
        parser.add_argument(
            "--verify", action="store_true", help="then re-read the target and compare every document with the source"
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help=f"documents per read and write, 1-500 (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument(
            "--workers", type=int, metavar="N",
            help=f"batch writes run at once, 1-{MAX_WORKERS} (default: the target's own, 8 on DynamoDB, 1 elsewhere)",
        )

    def handle(self, *args: object, source: str, target: str | None, overwrite: bool, dry_run: bool, verify: bool,
               batch_size: int, workers: int | None, verbosity: int, **options: object) -> None:
        if not 1 <= batch_size <= 500:
            raise CommandError("--batch-size must be between 1 and 500")
        if workers is not None and not 1 <= workers <= MAX_WORKERS:
            raise CommandError(f"--workers must be between 1 and {MAX_WORKERS}")
        self.verbosity = verbosity
        # The source is only read: a mistyped one must not be created (the target may be).
        with open_storage(source, create=False) as origin, open_storage(target) as destination:
            try:
                self._run(
                    origin, destination, overwrite=overwrite, dry_run=dry_run, check=verify, batch_size=batch_size,
                    workers=destination.write_concurrency if workers is None else workers,
                )
            except KeyboardInterrupt:
                raise CommandError(
                    "interrupted; run the same command again to finish (nothing is copied twice)",
                    returncode=INTERRUPTED,
                ) from None

    def _run(self, source: GenerationStateStorage, target: GenerationStateStorage, *, overwrite: bool,
             dry_run: bool, check: bool, batch_size: int, workers: int) -> None:
        labels = storage_label(source), storage_label(target)
        if source.identity() == target.identity():  # however the two were spelled
            raise CommandError(f"source and target are the same storage: {labels[0]}")
        writers = "" if dry_run else f" ({workers} worker{'s' if workers > 1 else ''})"
        self._say(f"{'Dry run: ' if dry_run else ''}migrating {labels[0]} -> {labels[1]}{writers}")
        if not dry_run:
            for storage, label in zip((source, target), labels, strict=True):
                with failures_as_command_errors(f"indexing {label} failed"):
                    indexed = storage.prepare_for_listing()
                if indexed:
                    self._say(f"Indexed {indexed:,} items of {label} written without the listing index")
        progress = self._progress("copied")
        try:
            with failures_as_command_errors("migration stopped (run the same command again to resume)"):
                report = migrate(
                    source, target, overwrite=overwrite, dry_run=dry_run, batch_size=batch_size, progress=progress,
                    workers=workers,
                )
        finally:
            if progress:
                progress.finish()
        self._summarize(report, dry_run=dry_run)
        differences = self._verify(source, target, batch_size) if check else None
        problems = [f"{report.failed.count} document(s) failed to migrate"] if report.failed.count else []
        if differences and differences.count:
            problems.append(f"{differences.count} document(s) differ between source and target")
        if problems:
            raise CommandError(f"{' and '.join(problems)} (listed above)")

    def _verify(self, source: GenerationStateStorage, target: GenerationStateStorage, batch_size: int) -> Problems:
        progress = self._progress("verified")
        try:
            with failures_as_command_errors("verification stopped"):
                report = verify(source, target, batch_size=batch_size, progress=progress)
        finally:
            if progress:
                progress.finish()
        self._summarize_verify(report)
        return report.differences

    def _summarize(self, report: MigrationReport, *, dry_run: bool) -> None:
        copied = f"Would copy {report.copied:,}" if dry_run else f"Copied {report.copied:,}"
        self._say(
            f"{copied}, skipped {report.skipped:,} ({report.unchanged:,} unchanged, "
            f"{report.newer_in_target:,} newer in the target), failed {report.failed.count:,} "
            f"in {report.seconds:.1f}s"
        )
        self._list(report.failed, "failed")

    def _summarize_verify(self, report: VerifyReport) -> None:
        extra = f"; {report.only_in_target:,} only in the target" if report.only_in_target else ""
        self._say(
            f"Verified {report.checked:,} documents: {report.differences.count:,} difference(s){extra} "
            f"in {report.seconds:.1f}s"
        )
        self._list(report.differences, "differ")

    def _list(self, problems: Problems, what: str) -> None:
        """Always shown, even at -v 0: they explain the exit status."""
        for generation_id, reason in problems.listed.items():
            self.stderr.write(f"  {generation_id}: {reason}")
        if problems.count > len(problems.listed):
            self.stderr.write(f"  … and {problems.count - len(problems.listed):,} more that {what}")

    def _progress(self, label: str) -> ProgressReporter | None:
        if self.verbosity < 1:
            return None
        return ProgressReporter(self.stdout, label=label, tty=self.stdout.isatty())

    def _say(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)
