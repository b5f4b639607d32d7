"""The file backend's listing index, and how a document file is read.

The index keeps, per process, what the filters and the sort need of every document (no stage
contents), keyed by file name and (inode, mtime, size). Each ``scan`` is one ``os.scandir``;
only files whose key changed, written here or by another process, are read again, so a page
over 10,000 documents costs a directory scan and a filter in memory, not 10,000 reads.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from stat import S_ISREG
from typing import Any, TypeVar

from ...base import OnSkip
from ...documents import ID_FIELD, MAX_DEPTH, present_stages, read_item
from ...errors import StorageCorruptDocumentError
from ...models import GenerationState, SkippedDocument
from .names import file_name_for, is_document_name

#: What listing needs of each stage map: enough for status, current stage, language and search.
_SUMMARY_KEYS = frozenset({"status", "error", "prompt", "language"})

T = TypeVar("T")
StatKey = tuple[int, int, int]
#: A file's stat key and its summary (None: the file is corrupt or unreadable).
IndexEntry = tuple[StatKey, GenerationState | None]


class DirectoryIndex:
    """Summaries of the documents in one directory, refreshed by ``scan``. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._entries: dict[str, IndexEntry] = {}
        self._lock = threading.Lock()

    def scan(self, on_skip: OnSkip) -> dict[str, IndexEntry]:
        """Every document's entry, reading again only the files changed since the last scan; a file
        that cannot be read is indexed without a summary and told to ``on_skip`` once.

        Files are read without holding the lock, so this process's writers never wait on a long
        scan; an entry a writer stores meanwhile may be dropped, and is then read again.
        Raises ``OSError`` if the directory cannot be read.
        """
        with self._lock:
            known = self._entries
        fresh: dict[str, IndexEntry] = {}
        with os.scandir(self._directory) as entries:
            for entry in entries:
                if not is_document_name(entry.name):
                    continue
                if (indexed := self._entry(entry, known.get(entry.name), on_skip)) is not None:
                    fresh[entry.name] = indexed
        with self._lock:
            self._entries = fresh
        return dict(fresh)  # a copy: writers go on adding to the index

    def remember(self, name: str, key: StatKey, item: Mapping[str, Any]) -> None:
        """Index a document this process just wrote, so the next scan need not read it."""
        with self._lock:
            self._entries[name] = (key, summary_of(item))

    def _entry(self, entry: os.DirEntry[str], cached: IndexEntry | None, on_skip: OnSkip) -> IndexEntry | None:
        """The cached entry while the file is unchanged, else one read afresh; None if the file
        vanished. A corrupt or unreadable file is indexed without a summary."""
        try:
            listed = key_of(entry.stat())
        except FileNotFoundError:
            return None  # deleted since the directory was read
        if cached is not None and cached[0] == listed:
            return cached
        return read_entry(entry, _summary_of_file, on_skip)

    def corrupt_names(self) -> set[str]:
        """The files the last scan found corrupt or unreadable (none before the first scan)."""
        with self._lock:
            return {name for name, (_, row) in self._entries.items() if row is None}


def read_entry(
    entry: os.DirEntry[str], check: Callable[[str, bytes], T], on_skip: OnSkip
) -> tuple[StatKey, T | None] | None:
    """Read the file of a directory entry and ``check(name, data)`` it: the key of what was read and
    what the check made of it, None in its place if the file is corrupt or unreadable (told to
    ``on_skip`` by its file name); None altogether if the file vanished."""
    try:
        key, data = read_document_file(entry.path)
    except FileNotFoundError:
        return None  # deleted since the directory was read
    except OSError as exc:
        on_skip(SkippedDocument(reason=f"unreadable: {exc.strerror or exc}", location=entry.name))
        try:
            return key_of(entry.stat()), None
        except OSError:
            return None  # not even its size and time can be read: reported, and left out of the index
    try:
        return key, check(entry.name, data)
    except StorageCorruptDocumentError as exc:
        on_skip(SkippedDocument(reason=exc.reason, location=entry.name))
        return key, None


class NotARegularFileError(OSError):
    """A directory entry named like a document is a directory, a FIFO, a socket or a device."""


def read_document_file(path: str | os.PathLike[str]) -> tuple[StatKey, bytes]:
    """The stat key and bytes of a document file. Opened without blocking and checked to be a
    regular file before reading, so a FIFO named ``x.json`` never hangs a reader."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as file:
        stat = os.fstat(fd)  # the key of exactly what is read
        if not S_ISREG(stat.st_mode):
            raise NotARegularFileError(errno.EINVAL, "not a regular file")
        return key_of(stat), file.read()


def parse_document(name: str, data: bytes, generation_id: str | None) -> tuple[GenerationState, dict[str, Any]]:
    """The document in the bytes of file ``name``, which must hold ``generation_id`` (None: the id
    the file is named for). Anything else is corrupt, named by the id asked for, else the file."""
    item = decode_document(name, data, generation_id)
    return read_item(generation_id or name, item), item


def decode_document(name: str, data: bytes, generation_id: str | None) -> dict[str, Any]:
    """The raw item in the bytes of file ``name``, checked as far as JSON and the id go (not the
    model: ``parse_document`` does that). Raises ``StorageCorruptDocumentError`` as it does."""
    label = generation_id or name
    try:
        item = json.loads(data)
    except ValueError as exc:  # also bytes that are not UTF-8
        raise StorageCorruptDocumentError(label, f"invalid JSON: {exc}") from exc
    except RecursionError:  # nested past what Python's JSON decoder can follow
        raise StorageCorruptDocumentError(label, f"nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(item, dict):
        raise StorageCorruptDocumentError(label, "not a JSON object", raw=item)
    # Only a document named for its own id is that id's (this also checks hashed names).
    stored_id = item.get(ID_FIELD)
    named_for_it = isinstance(stored_id, str) and file_name_for(stored_id) == name
    if not named_for_it or generation_id not in (None, stored_id):
        raise StorageCorruptDocumentError(label, f"file {name} holds generation {stored_id!r}", raw=item)
    return item


def _summary_of_file(name: str, data: bytes) -> GenerationState:
    return summary_of(parse_document(name, data, None)[1])


def summary_of(item: Mapping[str, Any]) -> GenerationState:
    """The fields the filters and the sort read, so the index stays small without stage contents."""
    summary = {key: item[key] for key in (ID_FIELD, "createdAt", "updatedAt") if key in item}
    for stage in present_stages(item):
        summary[stage] = {key: value for key, value in item[stage].items() if key in _SUMMARY_KEYS}
    return GenerationState.from_item(summary)


def key_of(stat: os.stat_result) -> StatKey:
    # A rename puts a new inode in place, so the inode tells rewrites apart even within one mtime tick.
    return stat.st_ino, stat.st_mtime_ns, stat.st_size
