"""File backend: one JSON document per generation in a directory (the seed's file storage).

Writes go to a temp file in the same directory, are fsynced and renamed over the document,
so a reader sees the old or the new document, never part of one. Read-modify-writes hold an
``flock`` on one of a few lock files (picked by the document's name), which excludes other
threads and other processes alike. File names come from ``names.file_name_for``.

Listing filters the summaries of ``index.DirectoryIndex``, refreshed by one directory
scan per call, and reads whole documents for the page's items only. ``iter_generations`` does
without the index: one pass keeps each document's sort key only, then documents are read in that
order, so streaming 100,000 documents holds 100,000 short keys, not 100,000 summaries. The
number of generations and the metrics come from one scan of the directory, opening no file;
``count_by_status`` reads the listing index. POSIX only (``fcntl``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import time
import zlib
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

from ...base import GenerationStateStorage, OnSkip, log_skip
from ...documents import ID_FIELD, apply_update, read_item, refusing_non_json, stamp_for_save
from ...errors import (
    StorageCorruptDocumentError,
    StorageInitializationError,
    StorageNotFoundError,
    StorageOperationError,
)
from ...filtering import count_statuses, select_page
from ...models import GenerationState, GenerationStatus, ListQuery, Page, SkippedDocument
from ...options import as_flag
from ...paging import SortKey, is_older, sort_key
from .index import (
    DirectoryIndex,
    IndexEntry,
    NotARegularFileError,
    StatKey,
    decode_document,
    key_of,
    parse_document,
    read_document_file,
    read_entry,
)
from .names import file_name_for, is_document_name

#: Lock files shared by all documents; enough that unrelated writers rarely wait on each other.
LOCK_STRIPES = 64
TEMP_SUFFIX = ".tmp"
#: A temp file this old was left by a crashed writer; ``cleanup`` removes it.
STALE_TEMP_AGE = timedelta(hours=1)


class FileStorage(GenerationStateStorage):
    """One JSON file per generation in ``directory``, which is created if absent."""

    backend_name = "file"

    def __init__(self, directory: str | os.PathLike[str], *, create: bool | str = True) -> None:
        """Use ``directory``, creating it if needed (``create``), which must then be writable.
        Without ``create`` it must exist, and may be read-only: reading takes no lock."""
        super().__init__()
        if not isinstance(directory, str | os.PathLike) or not str(directory) or "\x00" in str(directory):
            raise StorageInitializationError(f"file storage needs a directory path, got {directory!r}")
        self._directory = Path(directory)
        if as_flag("create", create):
            self._create_directory()
        elif not self._directory.is_dir():
            raise StorageInitializationError(
                f"no file storage directory at {str(directory)!r} (opened without creating one: check the path)"
            )
        elif not os.access(self._directory, os.R_OK | os.X_OK):
            raise StorageInitializationError(f"storage directory {str(directory)!r} cannot be read")
        self._index = DirectoryIndex(self._directory)

    def _create_directory(self) -> None:
        where = str(self._directory)
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageInitializationError(f"cannot create storage directory {where!r}: {exc}") from exc
        try:
            self._touch_lock_file()
        except OSError as exc:
            raise StorageInitializationError(f"storage directory {where!r} is not writable: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        return {"directory": str(self._directory)}

    def identity(self) -> Hashable:
        try:
            stat = os.stat(self._directory)
        except OSError:
            return ("file", str(self._directory.resolve()))
        return ("file", stat.st_dev, stat.st_ino)

    # -- writes -------------------------------------------------------------------------

    def _save(self, item: dict[str, Any], now: str) -> GenerationState:
        return self._store(item, now)

    def _save_many(self, items: list[dict[str, Any]], now: str, *, preserve_timestamps: bool) -> None:
        for item in items:
            _encode(item)  # refuse an item JSON cannot hold before writing any
        for item in items:
            self._store(item, None if preserve_timestamps else now, sync_directory=False)
        self._sync_directory()  # once for the whole batch

    def _store(self, item: dict[str, Any], now: str | None, *, sync_directory: bool = True) -> GenerationState:
        """Create or replace one document: stamped as ``save`` does, or exactly as given without ``now``."""
        name = file_name_for(item[ID_FIELD])
        with self._locked(name):
            if now is not None:
                created = self._stored_created_at(name, item[ID_FIELD])
                item = stamp_for_save(item, now, existing_created_at=created)
            return self._write(name, item, sync_directory=sync_directory)

    def _update(self, generation_id: str, changes: dict[str, Any], now: str) -> GenerationState:
        name = file_name_for(generation_id)
        with self._locked(name):
            _, existing = self._load(name, generation_id)
            return self._write(name, apply_update(existing, changes, now))

    def _delete(self, generation_id: str) -> bool:
        name = file_name_for(generation_id)
        with self._locked(name):
            return self._unlink(name, generation_id)

    def _cleanup(self, cutoff: str, *, dry_run: bool) -> int:
        entries = self._scan(log_skip)
        old = [
            (name, key, row) for name, (key, row) in entries.items()
            if row is not None and is_older(row, cutoff)
        ]
        if dry_run:
            return len(old)
        self._remove_stale_temp_files()
        removed = 0
        for name, key, row in old:
            with self._locked(name):
                # A document rewritten since the scan is left for the next run.
                if self._stat_key(name) == key:
                    removed += self._unlink(name, row.generation_id)
        return removed

    # -- reads --------------------------------------------------------------------------

    def _get(self, generation_id: str) -> GenerationState:
        return self._load(file_name_for(generation_id), generation_id)[0]

    def _exists(self, generation_id: str) -> bool:
        name = file_name_for(generation_id)
        try:
            return (self._directory / name).is_file()  # False for a missing file, not an error
        except OSError as exc:
            raise _failure(f"check {name}", exc, generation_id) from exc

    def _list(self, query: ListQuery, on_skip: OnSkip) -> Page:
        page = select_page(self._summaries(on_skip), query)
        items = [state for row in page.items if (state := self._full(row.generation_id, on_skip)) is not None]
        return page.model_copy(update={"items": items})

    def _iter(self, batch_size: int, on_skip: OnSkip) -> Iterator[GenerationState]:
        # Each document is read as it is consumed, so ``batch_size`` changes nothing here.
        # Documents written after the first pass are not seen: a migration run again copies them.
        for _, generation_id in self._sort_keys(on_skip):
            if (state := self._full(generation_id, on_skip)) is not None:
                yield state

    def _count(self) -> int:
        """Document files, corrupt ones included: counting them all opens none."""
        return sum(1 for _ in self._document_entries())

    def _count_by_status(self, stalled_after: timedelta) -> dict[GenerationStatus, int]:
        return count_statuses(self._summaries(log_skip), stalled_after)

    def _is_healthy(self) -> bool:
        """The directory can be listed (a read-only store is healthy for reading)."""
        try:
            os.scandir(self._directory).close()
        except OSError:
            return False
        return True

    def _metrics_details(self) -> dict[str, Any]:
        """Files and bytes from one scan without reading a file; corrupt files as far as listing
        has met them (reading every file to find them would make metrics cost a full read)."""
        corrupt = self._index.corrupt_names()
        files = size = corrupt_files = 0
        for entry in self._document_entries():
            try:
                size += entry.stat().st_size
            except FileNotFoundError:
                continue  # deleted since the directory was read
            except OSError as exc:
                raise _failure(f"measure {entry.name}", exc) from exc
            files += 1
            corrupt_files += entry.name in corrupt
        return {"directory": str(self._directory), "files": files, "bytes": size, "corrupt_files": corrupt_files}

    # -- documents ----------------------------------------------------------------------

    def _load(self, name: str, generation_id: str) -> tuple[GenerationState, dict[str, Any]]:
        """The document of ``generation_id`` stored in ``name``, and its raw item."""
        try:
            data = read_document_file(self._directory / name)[1]
        except FileNotFoundError:
            raise StorageNotFoundError(generation_id) from None
        except NotARegularFileError as exc:
            raise StorageCorruptDocumentError(generation_id, str(exc)) from exc
        except OSError as exc:
            raise _failure(f"read {name}", exc, generation_id) from exc
        return parse_document(name, data, generation_id)

    def _stored_created_at(self, name: str, generation_id: str) -> str | None:
        """``createdAt`` of the document being replaced; a corrupt one is replaced as new."""
        try:
            return self._load(name, generation_id)[1].get("createdAt")
        except (StorageNotFoundError, StorageCorruptDocumentError):
            return None

    def _write(self, name: str, item: dict[str, Any], *, sync_directory: bool = True) -> GenerationState:
        data = _encode(item)
        state = read_item(item[ID_FIELD], item)
        temp = self._directory / f".{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            with open(temp, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
                key = key_of(os.fstat(file.fileno()))
            os.replace(temp, self._directory / name)
        except OSError as exc:
            with suppress(OSError):
                temp.unlink(missing_ok=True)
            raise _failure(f"write {name}", exc, item[ID_FIELD]) from exc
        if sync_directory:
            self._sync_directory()
        self._index.remember(name, key, item)
        return state

    def _unlink(self, name: str, generation_id: str) -> bool:
        try:
            (self._directory / name).unlink()
        except FileNotFoundError:
            return False  # already gone (another process, or never there): not an error
        except OSError as exc:
            raise _failure(f"delete {name}", exc, generation_id) from exc
        return True

    def _full(self, generation_id: str, on_skip: OnSkip) -> GenerationState | None:
        """The whole document of a listed id; None if it was deleted since the scan, or spoiled or
        unreadable (told to ``on_skip``)."""
        name = file_name_for(generation_id)
        try:
            return self._load(name, generation_id)[0]
        except StorageNotFoundError:
            return None
        except StorageOperationError as exc:  # corrupt, or an I/O error on this one file
            on_skip(SkippedDocument.of(exc, location=name))
            return None

    # -- files and locks ----------------------------------------------------------------

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """Hold the lock stripe of ``name``. Each call opens its own descriptor, so ``flock``
        excludes other threads of this process as well as other processes."""
        path = self._lock_path(zlib.crc32(name.encode()) % LOCK_STRIPES)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise _failure(f"open lock {path.name}", exc) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise _failure(f"take lock {path.name}", exc) from exc
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _lock_path(self, stripe: int) -> Path:
        return self._directory / f".lock-{stripe:02d}"

    def _touch_lock_file(self) -> None:
        """Open (creating it if needed) a lock file: proof that the directory is there and writable,
        even for root, whom permission bits do not stop."""
        os.close(os.open(self._lock_path(0), os.O_RDWR | os.O_CREAT, 0o666))

    def _scan(self, on_skip: OnSkip) -> dict[str, IndexEntry]:
        try:
            return self._index.scan(on_skip)
        except OSError as exc:
            raise _failure("list the directory", exc) from exc

    def _summaries(self, on_skip: OnSkip) -> list[GenerationState]:
        return [row for _, row in self._scan(on_skip).values() if row is not None]

    def _document_entries(self) -> Iterator[os.DirEntry[str]]:
        """The directory's document files, from one ``scandir``: no file is opened."""
        try:
            with os.scandir(self._directory) as entries:
                yield from (entry for entry in entries if is_document_name(entry.name))
        except OSError as exc:
            raise _failure("list the directory", exc) from exc

    def _sort_keys(self, on_skip: OnSkip) -> list[SortKey]:
        """Every readable document's sort key, ascending. The file name follows from the id, so
        a key is all a document costs here: a corrupt or unreadable file is told to ``on_skip``."""
        keys = []
        for entry in self._document_entries():
            read = read_entry(entry, _sort_key_of_file, on_skip)
            if read is not None and read[1] is not None:
                keys.append(read[1])
        keys.sort()
        return keys

    def _stat_key(self, name: str) -> StatKey | None:
        try:
            return key_of(os.stat(self._directory / name))
        except OSError:
            return None

    def _sync_directory(self) -> None:
        """Make renames durable: a directory entry is only on disk once the directory is synced."""
        try:
            fd = os.open(self._directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise _failure("sync the directory", exc) from exc

    def _remove_stale_temp_files(self) -> None:
        """Remove temp files left by writers that crashed; a live writer's are younger."""
        cutoff = time.time() - STALE_TEMP_AGE.total_seconds()
        for path in self._directory.glob(f".*{TEMP_SUFFIX}"):
            with suppress(OSError):  # gone already, or not ours to remove: harmless either way
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def _sort_key_of_file(name: str, data: bytes) -> SortKey:
    return sort_key(decode_document(name, data, None))


def _encode(item: dict[str, Any]) -> bytes:
    with refusing_non_json(item):
        return json.dumps(item, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _failure(action: str, exc: OSError, generation_id: str | None = None) -> StorageOperationError:
    code = errno.errorcode.get(exc.errno) if exc.errno else None
    return StorageOperationError(f"file storage could not {action}: {exc}", code=code, generation_id=generation_id)
