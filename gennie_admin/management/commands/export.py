"""``manage.py export``: the dashboard's export from a shell or cron (the same writers, ``gennie_admin.export``)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from storage_backends import GenerationStatus, ListQuery, Stage, StorageError

from ...audit import record
from ...export import PAGE_SIZE, ExportCount, ExportFormat, detail_url_maker, export_stream
from ...forms import (
    FINGERPRINT,
    LANGUAGE_CODE,
    PARAM_FAILURE,
    PARAM_LANGUAGE,
    PARAM_SEARCH,
    PARAM_SORT,
    PARAM_STAGE,
    PARAM_STATUS,
    SORT_OLDEST,
)
from ...selectors import stalled_after
from ..storages import failures_as_command_errors, open_storage, storage_label

STATUSES = [status.value for status in GenerationStatus]
STAGES = [stage.value for stage in Stage]
FORMATS = [export_format.value for export_format in ExportFormat]


class Command(BaseCommand):
    help = (
        "Export the generations matching the filters (all of them by default) as CSV (the list's columns, "
        "one row per generation) or JSON Lines (the stored documents), to stdout or a file. The filters mean "
        "what they mean on the dashboard's list. Never creates the storage it is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # Choices are checked in handle(), so a wrong value is one line, as every other failure.
        parser.add_argument("--format", dest="export_format", metavar="FORMAT",
                            help=f"required: {' or '.join(FORMATS)}")
        parser.add_argument("-o", "--output", metavar="FILE",
                            help="write to FILE (a temporary file beside it, renamed when complete) instead of stdout")
        parser.add_argument("--storage", metavar="URL", help="storage URL to export from instead of the configured one")
        parser.add_argument("--status", help=f"only this status: {', '.join(STATUSES)}")
        parser.add_argument("--stage", help=f"only this current stage: {', '.join(STAGES)}")
        parser.add_argument("--language", help="only this language, e.g. en or pt-BR")
        parser.add_argument("--search", help="id or words of the prompt, as the list's search box")
        parser.add_argument("--created-after", metavar="ISO",
                            help="created at or after, e.g. 2026-12-01 or 2026-12-01T15:30Z (UTC without an offset)")
        parser.add_argument("--created-before", metavar="ISO", help="created before (excluded)")
        parser.add_argument("--failure", metavar="FP",
                            help="only one failure group: <stage>-<12 hex digits>, as the insights page names it")
        parser.add_argument("--oldest-first", action="store_true", help="oldest first (default: newest first)")
        parser.add_argument("--base-url", metavar="URL",
                            help="the dashboard's address (https://admin.example.com): the CSV's detail URLs are "
                                 "absolute with it, paths without it")

    def handle(self, *args: object, export_format: str | None, output: str | None, storage: str | None,
               base_url: str | None, verbosity: int, **options: object) -> None:
        if export_format not in FORMATS:
            given = f", not {export_format!r}" if export_format else ""
            raise CommandError(f"--format must be {' or '.join(FORMATS)}{given}")
        chosen = ExportFormat(export_format)
        if base_url and not base_url.startswith(("http://", "https://")):
            raise CommandError(f"--base-url must start with http:// or https://, not {base_url!r}")
        query, filters = self._query(options)
        started = time.monotonic()
        outcome: list[str] = []
        with open_storage(storage, create=False) as store:
            label = storage_label(store)
            destination = output or "stdout"
            with failures_as_command_errors(f"export from {label} failed"):
                stream = export_stream(store, query, chosen, detail_url=detail_url_maker(base_url or ""),
                                       on_finish=lambda count, how: outcome.append(how))
                try:
                    with self._output(output) as write:
                        for chunk in stream:
                            write(chunk)
                except BrokenPipeError as exc:
                    raise CommandError(f"the output was closed after {stream.count.rows:,} rows") from exc
                finally:
                    stream.close()  # recorded as stopped early unless it ended
                    self._record(filters, stream.count, f"{chosen}: {outcome[0]}; from {label} to {destination}")
        if verbosity >= 1:
            # With the data on stdout, what happened goes to stderr.
            report = self.stdout if output else self.stderr
            rows = stream.count.rows
            report.write(f"Exported {rows:,} generation{'s' * (rows != 1)} as {chosen} from {label} to {destination} "
                         f"in {time.monotonic() - started:.2f}s", style_func=lambda text: text)

    def _query(self, options: dict[str, object]) -> tuple[ListQuery, dict[str, str]]:
        """The storage query, and the filters as the audit log records them (the list's names)."""
        status, stage = options["status"], options["stage"]
        if status is not None and status not in STATUSES:
            raise CommandError(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
        if stage is not None and stage not in STAGES:
            raise CommandError(f"--stage must be one of {', '.join(STAGES)}, not {stage!r}")
        language, failure, search = options["language"], options["failure"], options["search"]
        _check("--language", LANGUAGE_CODE, language)
        _check("--failure", FINGERPRINT, failure)
        after = _moment("--created-after", options["created_after"])
        before = _moment("--created-before", options["created_before"])
        if after and before and after >= before:
            raise CommandError("--created-before must be later than --created-after")
        oldest = bool(options["oldest_first"])
        query = ListQuery(
            status=GenerationStatus(status) if status else None, stage=Stage(stage) if stage else None,
            language=language or None, search=search or None, created_after=after, created_before=before,
            newest_first=not oldest, failure=failure or None, stalled_after=stalled_after(), limit=PAGE_SIZE,
        )
        filters = {
            PARAM_SEARCH: search, PARAM_STATUS: status, PARAM_STAGE: stage, PARAM_LANGUAGE: language,
            "created_after": after.isoformat() if after else None,
            "created_before": before.isoformat() if before else None,
            PARAM_SORT: SORT_OLDEST if oldest else None, PARAM_FAILURE: failure,
        }
        return query, {name: str(value) for name, value in filters.items() if value}

    @contextmanager
    def _output(self, path: str | None) -> Iterator[Callable[[bytes], object]]:
        """Where the chunks go: stdout's bytes (text for a text-only stream, as in tests), or a file
        that appears under its name only once it is complete."""
        if path is None:
            buffer = getattr(self.stdout, "buffer", None)
            if buffer is None:
                yield lambda chunk: self.stdout.write(chunk.decode("utf-8"), ending="")
                return
            self.stdout.flush()
            yield buffer.write
            buffer.flush()
            return
        target = Path(path)
        try:
            # Mode 0600 (mkstemp's): an export holds customers' prompts.
            descriptor, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(descriptor, "wb") as handle:
                yield handle.write
            os.replace(partial, target)
        except StorageError:  # an OSError too (StorageOperationError), but not the file's fault
            Path(partial).unlink(missing_ok=True)
            raise
        except OSError as exc:
            Path(partial).unlink(missing_ok=True)
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def _record(self, filters: dict[str, str], count: ExportCount, detail: str) -> None:
        try:
            record(None, "export", filters=filters, count=count.rows, detail=detail)
        except DatabaseError as exc:
            raise CommandError(f"the audit entry of the export could not be written: {exc}") from exc


def _check(option: str, validator: Callable[[str], None], value: object) -> None:
    if value:
        try:
            validator(str(value))
        except ValidationError as exc:
            raise CommandError(f"{option}: {' '.join(exc.messages)}") from exc


def _moment(option: str, value: object) -> datetime | None:
    """An ISO date or time (``Z`` or an offset; UTC without one)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        example = "e.g. 2026-12-01 or 2026-12-01T15:30Z"
        raise CommandError(f"{option}: {value!r} is not an ISO date or time, {example}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
