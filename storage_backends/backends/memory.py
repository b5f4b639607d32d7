"""In-memory backend: for tests and demos. Thread-safe; nothing survives the process."""

from __future__ import annotations

import copy
import threading
from typing import Any

from ..base import GenerationStateStorage, OnSkip
from ..documents import apply_update, read_item, stamp_for_save
from ..errors import StorageNotFoundError
from ..filtering import select_page
from ..models import GenerationState, ListQuery, Page
from ..paging import is_older


class MemoryStorage(GenerationStateStorage):
    """Documents in a dict behind one lock; copies go in and out, so callers never share them."""

    backend_name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()

    def _save(self, item: dict[str, Any], now: str) -> GenerationState:
        with self._lock:
            existing = self._items.get(item["generationId"]) or {}
            stored = stamp_for_save(item, now, existing_created_at=existing.get("createdAt"))
            return self._put(stored)

    def _save_many(self, items: list[dict[str, Any]], now: str, *, preserve_timestamps: bool) -> None:
        with self._lock:
            for item in items:
                if preserve_timestamps:
                    self._put(item)
                else:
                    self._save(item, now)

    def _get(self, generation_id: str) -> GenerationState:
        with self._lock:
            item = self._items.get(generation_id)
            if item is None:
                raise StorageNotFoundError(generation_id)
            return read_item(generation_id, copy.deepcopy(item))

    def _update(self, generation_id: str, changes: dict[str, Any], now: str) -> GenerationState:
        with self._lock:
            existing = self._items.get(generation_id)
            if existing is None:
                raise StorageNotFoundError(generation_id)
            return self._put(apply_update(existing, changes, now))

    def _delete(self, generation_id: str) -> bool:
        with self._lock:
            return self._items.pop(generation_id, None) is not None

    def _exists(self, generation_id: str) -> bool:
        with self._lock:
            return generation_id in self._items

    def _list(self, query: ListQuery, on_skip: OnSkip) -> Page:
        # Only validated copies are kept, so there is never a document to skip.
        with self._lock:
            states = [read_item(key, copy.deepcopy(item)) for key, item in self._items.items()]
        return select_page(states, query)

    def _cleanup(self, cutoff: str, *, dry_run: bool) -> int:
        with self._lock:
            old = [key for key, item in self._items.items() if is_older(item, cutoff)]
            if not dry_run:
                for key in old:
                    del self._items[key]
            return len(old)

    def _count(self) -> int:
        with self._lock:
            return len(self._items)

    def _is_healthy(self) -> bool:
        return True

    def _put(self, item: dict[str, Any]) -> GenerationState:
        self._items[item["generationId"]] = copy.deepcopy(item)
        return read_item(item["generationId"], item)
