"""DynamoDB backend: the seed's ``DynamoDBStorage``, within the real service's limits.

Items are the seed's documents (camelCase, maps, ISO times) plus a few ``_gennie*`` index
attributes that are never read back into a document. The table (and its listing index) is
checked or created on first use, not in ``__init__``, so a storage can be built, and asked
``is_healthy()``, while DynamoDB is down. Other pieces live beside this module: conversion
and limits (``items``), aliasing (``expressions``), the index
(``index``, ``listing``, ``filters``), batches, counts, the table.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Hashable, Iterator, Mapping
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from ...base import GenerationStateStorage, OnSkip
from ...documents import CREATED, ID_FIELD, MAX_DEPTH, STAGE_TIMES, UPDATED, read_item, stage_times_for, stamp_for_save
from ...errors import (
    StorageCorruptDocumentError,
    StorageInitializationError,
    StorageNotFoundError,
    StorageOperationError,
    StorageValidationError,
)
from ...models import GenerationState, GenerationStatus, ListQuery, Page, SkippedDocument, format_timestamp, utcnow
from ...options import as_count, as_flag, as_number, as_text
from . import counters
from .batch import get_all, write_all
from .client import ClientSettings, DynamoDBCalls, make_client
from .counters import COUNTER_PREFIX, refuse_counter_id
from .counts import TimedCache, count_stalled, scan_pages
from .derived import PHASE, PHASES, add_up, derived_attributes, phase_change, phase_of
from .expiry import EXPIRES, expiry_attributes
from .expressions import Expression, projection
from .floats import float_hints, hint_name, restore_floats, whole_float_paths
from .index import (
    CREATED_KEY,
    INDEX_NAME,
    LAST_CHANGE,
    SHARD,
    prompt_attributes,
    refuse_index_names,
    strip_index,
)
from .items import check_item_size, from_item_values, to_item_values
from .listing import list_page
from .table import PAY_PER_REQUEST, PROVISIONED, TableLayout, ensure_table

DEFAULT_TABLE = "video-gennie-generations"
DEFAULT_REGION = "us-east-1"
CONDITION_FAILED = "ConditionalCheckFailedException"
#: A conditional write is retried this often when another writer changed the item in between.
_WRITE_ATTEMPTS = 5
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


class DynamoDBStorage(GenerationStateStorage):
    """One DynamoDB table keyed by ``generationId``, with the listing index this backend maintains."""

    backend_name = "dynamodb"

    def __init__(
        self, *, table_name: str = DEFAULT_TABLE, region: str | None = None, endpoint: str | None = None,
        access_key_id: str | None = None, secret_access_key: str | None = None, session_token: str | None = None,
        profile: str | None = None, connect_timeout: float | str = 2.0, read_timeout: float | str = 2.0,
        max_attempts: int | str = 3, create: bool | str | None = None,
        create_table: bool | str = True, count_cache_seconds: float | str = 30.0,
        list_read_budget: int | str = 2000, batch_deadline_seconds: float | str = 30.0,
        table_wait_seconds: float | str = 120.0, billing_mode: str = "pay_per_request",
        read_capacity: int | str | None = None, write_capacity: int | str | None = None,
        ttl_days: float | str | None = None,
    ) -> None:
        super().__init__()
        self._table = as_text("table_name", table_name, optional=False)
        if not _TABLE_NAME.fullmatch(self._table):
            raise StorageInitializationError(
                f"table_name {table_name!r} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"
            )
        settings = ClientSettings(
            # As the seed: the option, else the environment (as boto3 would), else us-east-1.
            region=as_text("region", region) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_REGION,
            endpoint=_endpoint(as_text("endpoint", endpoint)),
            access_key_id=as_text("access_key_id", access_key_id),
            secret_access_key=as_text("secret_access_key", secret_access_key),
            session_token=as_text("session_token", session_token),
            profile=as_text("profile", profile),
        )
        if (settings.access_key_id is None) != (settings.secret_access_key is None):
            raise StorageInitializationError("access_key_id and secret_access_key must be given together")
        self._settings = settings
        self._calls = DynamoDBCalls(partial(
            make_client, settings, connect_timeout=as_number("connect_timeout", connect_timeout, minimum=0.1),
            read_timeout=as_number("read_timeout", read_timeout, minimum=0.1),
            max_attempts=as_count("max_attempts", max_attempts, minimum=1),
        ))
        # Health checks get their own client: one attempt, one-second timeouts.
        self._health = DynamoDBCalls(partial(make_client, settings, connect_timeout=1, read_timeout=1, max_attempts=1))
        # ``create_table=false``: neither create the table nor add the listing index to it. ``create``
        # (the option every backend shares; the commands open sources with create=false) decides
        # the table alone: an existing table is still completed, since its data is listed so.
        add_index = as_flag("create_table", create_table)
        self._ttl_days = None if ttl_days in (None, "") else as_number("ttl_days", ttl_days, minimum=0.001)
        self._layout = TableLayout(
            create=add_index if create is None else as_flag("create", create), add_index=add_index,
            billing_mode=_billing_mode(billing_mode),
            read_capacity=None if read_capacity in (None, "") else as_count("read_capacity", read_capacity, minimum=1),
            write_capacity=None if write_capacity in (None, "") else as_count("write_capacity", write_capacity,
                                                                              minimum=1),
            ttl_attribute=EXPIRES if self._ttl_days else None,
            wait_seconds=as_number("table_wait_seconds", table_wait_seconds, minimum=0),
        )
        self._counts = TimedCache(as_number("count_cache_seconds", count_cache_seconds, minimum=0))
        self._read_budget = as_count("list_read_budget", list_read_budget, minimum=1)
        self._batch_deadline = as_number("batch_deadline_seconds", batch_deadline_seconds, minimum=0)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._list_read = (0, 0)  # DynamoDB items read by the last list call, and by all of them
        self._list_lock = threading.Lock()

    # -- writes ---------------------------------------------------------------------------

    def _save(self, item: dict[str, Any], now: str) -> GenerationState:
        self._check(item, now)
        generation_id = item[ID_FIELD]
        for _ in range(_WRITE_ATTEMPTS):
            expr, existing_created = Expression(), None
            if item.get(CREATED):
                condition = None
            else:
                # Keep the stored createdAt, and write only if nobody replaced the item meanwhile.
                existing = self._get_raw(generation_id, ID_FIELD, CREATED)
                existing = from_item_values(existing) if existing is not None else None
                existing_created = existing.get(CREATED) if existing else None
                condition = _unchanged(expr, existing)
            stored = stamp_for_save(item, now, existing_created_at=existing_created)
            params = {"ConditionExpression": condition, **expr.params()} if condition else {}
            encoded = self._encode(stored)
            try:
                response = self._request("put_item", Item=encoded, ReturnValues="ALL_OLD", **params)
            except StorageOperationError as exc:
                if exc.code != CONDITION_FAILED:
                    raise
                continue
            self._count_change(phase_change(_phase(response.get("Attributes")), _phase(encoded)))
            return read_item(generation_id, stored)
        raise StorageOperationError(f"generation {generation_id!r} kept changing while being saved",
                                    code=CONDITION_FAILED, generation_id=generation_id)

    def _save_many(self, items: list[dict[str, Any]], now: str, *, preserve_timestamps: bool) -> None:
        # One BatchWriteItem may not name a key twice: the last of duplicates wins, as with save.
        latest = list({item[ID_FIELD]: item for item in items}.values())
        for item in latest:
            # Items stored as given are checked by encoding the puts below (once: a migration's hot path).
            if preserve_timestamps:
                refuse_index_names(item)
                refuse_counter_id(item[ID_FIELD])
            else:
                self._check(item, now)
        if not preserve_timestamps:
            created = self._stored_created_at([item[ID_FIELD] for item in latest if not item.get(CREATED)])
            latest = [stamp_for_save(item, now, existing_created_at=created.get(item[ID_FIELD])) for item in latest]
        puts = [{"PutRequest": {"Item": self._encode(item)}} for item in latest]  # all checked before any write
        self._ensure_ready()
        # BatchWriteItem returns no old images: the phases counted before are read first (a write by
        # someone else in between can put a counter off until the next recount).
        before = self._stored_phases([item[ID_FIELD] for item in latest])
        write_all(self._calls, self._table, puts, deadline_seconds=self._batch_deadline)
        self._count_change(add_up([phase_change(before.get(put["PutRequest"]["Item"][ID_FIELD]["S"]),
                                                _phase(put["PutRequest"]["Item"])) for put in puts]))

    def _update(self, generation_id: str, changes: dict[str, Any], now: str) -> GenerationState:
        refuse_index_names(changes)
        # As in every backend, stage times are the storage's to keep (see documents.apply_update).
        changes = {name: value for name, value in changes.items() if name != STAGE_TIMES}
        stage_times = stage_times_for(changes, now)
        check_item_size(f"the change to generation {generation_id!r}", to_item_values(changes))
        for _ in range(_WRITE_ATTEMPTS):
            # Most items hold a stageTimestamps map, which is written into; the others get a new one.
            for has_map in (True, False) if stage_times else (None,):
                attributes = self._try_update(generation_id, changes, now, stage_times, has_map)
                if attributes is not None:
                    self._settle_phase(generation_id, attributes)
                    return self._read(attributes)
            if not stage_times or not self._get_raw(generation_id, ID_FIELD):
                raise StorageNotFoundError(generation_id)
        raise StorageOperationError(f"generation {generation_id!r} kept changing while being updated",
                                    code=CONDITION_FAILED, generation_id=generation_id)

    def _try_update(self, generation_id: str, changes: dict[str, Any], now: str,
                    stage_times: dict[str, str], has_map: bool | None) -> dict[str, Any] | None:
        """One conditional UpdateItem; None when its condition failed."""
        expr = Expression()
        values = {**changes, UPDATED: now, LAST_CHANGE: now}
        if "initialParams" in changes:
            values.update(prompt_attributes(changes["initialParams"]))
        sets = [f"{expr.name(name)} = {expr.value(value)}" for name, value in values.items()]
        # Each changed attribute's float hint is replaced with it (or removed: no whole floats now).
        hints = {hint_name(name): whole_float_paths(value) for name, value in changes.items()}
        sets += [f"{expr.name(name)} = {expr.value(paths)}" for name, paths in hints.items() if paths]
        removes = [expr.name(name) for name, paths in hints.items() if not paths]
        condition = f"attribute_exists({expr.name(ID_FIELD)})"
        if has_map is not None:
            is_map = f"attribute_type({expr.name(STAGE_TIMES)}, {expr.value('M')})"
            if has_map:
                sets += [f"{expr.name(STAGE_TIMES, stage)} = {expr.value(at)}" for stage, at in stage_times.items()]
                condition += f" AND {is_map}"
            else:
                sets.append(f"{expr.name(STAGE_TIMES)} = {expr.value(stage_times)}")
                condition += f" AND NOT {is_map}"
        try:
            response = self._request(
                "update_item", Key=_key(generation_id),
                UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                ConditionExpression=condition, ReturnValues="ALL_NEW", **expr.params(),
            )
        except StorageOperationError as exc:
            if exc.code == CONDITION_FAILED:
                return None
            if exc.code == "ValidationException" and "size" in str(exc):
                raise StorageValidationError(f"generation {generation_id!r} would exceed DynamoDB's item size: "
                                             f"{exc}") from exc
            raise
        return response["Attributes"]

    def _settle_phase(self, generation_id: str, raw: dict[str, Any]) -> None:
        """After an update, the item's counted phase (``_genniePhase``, written before the update
        knew the rest of the document) is brought in line with its document, and the counters
        with it. A conditional write swaps the old phase for the new, so of several writers racing
        on one item exactly one moves the counters; the others read again and find it settled."""
        for _ in range(_WRITE_ATTEMPTS):
            counted, actual = _phase(raw), phase_of(strip_index(from_item_values(raw)))
            if counted == actual:
                return
            expr = Expression()
            change = f"SET {expr.name(PHASE)} = {expr.value(actual)}" if actual else f"REMOVE {expr.name(PHASE)}"
            was = (f"{expr.name(PHASE)} = {expr.value(counted)}" if counted
                   else f"attribute_not_exists({expr.name(PHASE)})")
            condition = f"{was} AND {expr.name(UPDATED)} = {expr.value(from_item_values(raw).get(UPDATED))}"
            try:
                self._request("update_item", Key=_key(generation_id), UpdateExpression=change,
                              ConditionExpression=condition, **expr.params())
            except StorageOperationError as exc:
                if exc.code != CONDITION_FAILED:
                    raise
                raw = self._get_raw(generation_id)
                if raw is None:
                    return  # deleted meanwhile: the delete took away the phase it found
                continue
            self._count_change(phase_change(counted, actual))
            return

    def _delete(self, generation_id: str) -> bool:
        response = self._request("delete_item", Key=_key(generation_id), ReturnValues="ALL_OLD")
        old = response.get("Attributes")
        self._count_change(phase_change(_phase(old), None))
        return old is not None

    # -- reads ----------------------------------------------------------------------------

    def _get(self, generation_id: str) -> GenerationState:
        raw = self._get_raw(generation_id) if not generation_id.startswith(COUNTER_PREFIX) else None
        if raw is None:
            raise StorageNotFoundError(generation_id)
        return self._read(raw)

    def _exists(self, generation_id: str) -> bool:
        return not generation_id.startswith(COUNTER_PREFIX) and self._get_raw(generation_id, ID_FIELD) is not None

    def _list(self, query: ListQuery, on_skip: OnSkip) -> Page:
        self._ensure_ready()
        page, read = list_page(self._calls, self._table, query, budget=self._read_budget,
                               read=partial(self._readable, on_skip=on_skip))
        with self._list_lock:
            self._list_read = (read, self._list_read[1] + read)
        return page

    def _count(self) -> int:
        self._ensure_ready()
        return self._counts.get("generations", lambda: sum(self._read_counters().values()))

    def _count_by_status(self, stalled_after: timedelta) -> dict[GenerationStatus, int]:
        """From the counters (one BatchGetItem) and the stalled ones' key range of the phase index:
        no request grows with the table. Not cached here: a caller that shows them keeps them."""
        self._ensure_ready()
        counts = {GenerationStatus(phase): count for phase, count in self._read_counters().items()}
        stalled = count_stalled(self._calls, self._table, format_timestamp(utcnow() - stalled_after))
        counts[GenerationStatus.STALLED] = min(stalled, counts[GenerationStatus.IN_PROGRESS])
        counts[GenerationStatus.IN_PROGRESS] -= counts[GenerationStatus.STALLED]
        return counts

    def _read_counters(self) -> dict[str, int]:
        return counters.read(self._calls, self._table, deadline_seconds=self._batch_deadline)

    def _stored_phases(self, generation_ids: list[str]) -> dict[str, str]:
        """The phase each of these items is counted in now (absent ones are not)."""
        expr = Expression()
        found = get_all(self._calls, self._table, [_key(i) for i in generation_ids],
                        projection={"ProjectionExpression": projection(expr, ID_FIELD, PHASE), **expr.params()},
                        deadline_seconds=self._batch_deadline)
        return {raw[ID_FIELD]["S"]: phase for raw in found if (phase := _phase(raw))}

    def _count_change(self, change: dict[str, int]) -> None:
        if change:
            counters.add(self._calls, self._table, change)
        self._counts.clear()

    # -- cleanup, health, metrics -----------------------------------------------------------

    def _cleanup(self, cutoff: str, *, dry_run: bool) -> int:
        expr = Expression()
        low, high = expr.value("0"), expr.value(cutoff)  # every readable time starts with a digit
        indexed, created = expr.name(CREATED_KEY), expr.name(CREATED)
        # Indexed items compare the normalized time; others (not backfilled yet) the stored one.
        old = (f"({indexed} >= {low} AND {indexed} < {high}) OR "
               f"(attribute_not_exists({indexed}) AND {created} >= {low} AND {created} < {high})")
        self._ensure_ready()
        pages = scan_pages(self._calls, TableName=self._table, FilterExpression=old,
                           ProjectionExpression=projection(expr, ID_FIELD, PHASE), **expr.params())
        found = (raw for page in pages for raw in page["Items"])
        if dry_run:
            return sum(1 for _ in found)
        changes: list[dict[str, int]] = []

        def deletes() -> Iterator[dict[str, Any]]:
            for raw in found:
                changes.append(phase_change(_phase(raw), None))
                yield {"DeleteRequest": {"Key": _key(raw[ID_FIELD]["S"])}}

        # One stream of deletes across scan pages, so every batch but the last is full. An item
        # another cleanup deleted first is taken off its counter twice: recount puts that right.
        removed = write_all(self._calls, self._table, deletes(), deadline_seconds=self._batch_deadline)
        self._count_change(add_up(changes))
        return removed

    def _is_healthy(self) -> bool:
        try:
            table = self._health.call("describe_table", TableName=self._table)["Table"]
        except StorageOperationError as exc:
            if exc.code != "ResourceNotFoundException" or not self._layout.create:
                return False
            # DynamoDB answers and the table is made on first use: make it now (waits until ACTIVE).
            self._ensure_ready()
            return True
        return table["TableStatus"] == "ACTIVE"

    def _metrics_details(self) -> dict[str, Any]:
        return {
            **self._calls.snapshot(),
            "table": self._table,
            "count_cache_seconds": self._counts.max_age,
            "count_ages_seconds": self._counts.ages(),
            "last_list_items_read": self._list_read[0],
            "list_items_read": self._list_read[1],
        }

    def describe(self) -> dict[str, Any]:
        return {"table": self._table, "region": self._settings.region, "endpoint": self._settings.endpoint,
                "index": INDEX_NAME, "create_table": self._layout.create,
                "billing_mode": self._layout.billing_mode, "ttl_days": self._ttl_days}

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        """Building one checks every option (table name, endpoint, numbers) and contacts nothing:
        the clients are made, and the table looked at, on first use."""
        cls(**options).close()

    def identity(self) -> Hashable:
        endpoint = (self._settings.endpoint or "").rstrip("/").lower()
        return ("dynamodb", self._table, self._settings.region, endpoint)

    def close(self) -> None:
        self._calls.close()
        self._health.close()

    # -- helpers --------------------------------------------------------------------------

    def _ensure_ready(self) -> None:
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    ensure_table(self._calls, self._table, self._layout)
                    self._ready = True

    def _request(self, operation: str, **params: Any) -> dict[str, Any]:
        self._ensure_ready()
        return self._calls.call(operation, TableName=self._table, **params)

    def _get_raw(self, generation_id: str, *names: str) -> dict[str, Any] | None:
        """The stored item (only ``names`` if given), strongly consistent; None if absent."""
        expr = Expression()
        params = {"ProjectionExpression": projection(expr, *names), **expr.params()} if names else {}
        return self._request("get_item", Key=_key(generation_id), ConsistentRead=True, **params).get("Item")

    def _stored_created_at(self, generation_ids: list[str]) -> dict[str, str]:
        if not generation_ids:
            return {}
        self._ensure_ready()
        expr = Expression()
        found = get_all(self._calls, self._table, [_key(i) for i in generation_ids],
                        projection={"ProjectionExpression": projection(expr, ID_FIELD, CREATED), **expr.params()},
                        deadline_seconds=self._batch_deadline)
        items = [from_item_values(raw) for raw in found]
        return {item[ID_FIELD]: item[CREATED] for item in items if item.get(CREATED)}

    def _check(self, item: dict[str, Any], now: str) -> None:
        """Refuse what DynamoDB would, before any request (the stored createdAt is not known yet,
        and a different one of the same format would not change the size)."""
        refuse_index_names(item)
        refuse_counter_id(item[ID_FIELD])
        self._encode(stamp_for_save(item, now, existing_created_at=None))

    def _encode(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as sent, index attributes included, after DynamoDB's limits are checked."""
        values = to_item_values(
            {**item, **derived_attributes(item), **float_hints(item), **expiry_attributes(item, self._ttl_days)})
        check_item_size(f"generation {item[ID_FIELD]!r}", values)
        return values

    def _read(self, raw: dict[str, Any]) -> GenerationState:
        try:
            item = strip_index(restore_floats(from_item_values(raw)))
        except RecursionError:  # only a lax server (moto) holds an item DynamoDB could not
            key = raw.get(ID_FIELD, {}).get("S", "?")
            raise StorageCorruptDocumentError(key, f"nested more than {MAX_DEPTH} levels deep") from None
        return read_item(str(item.get(ID_FIELD)), item)

    def _readable(self, raw: dict[str, Any], *, on_skip: OnSkip) -> GenerationState | None:
        """An item as a state for a list or a count; a corrupt one (another producer's) is told to
        ``on_skip`` and left out, as the other backends do, so one bad item does not stop every page."""
        try:
            return self._read(raw)
        except StorageCorruptDocumentError as exc:
            on_skip(SkippedDocument.of(exc))
            return None

    def prepare_for_listing(self) -> int:
        """Give items written by other producers (without this backend's index attributes) those
        attributes, so they are listed, iterated and cleaned up; returns how many. One Scan for
        items without them: safe at any time and more than once."""
        self._ensure_ready()
        expr = Expression()
        # Items without the index attributes, or (indexed before phases were kept) without a phase;
        # a document that does not validate gets the index attributes only, once.
        missing = (f"(attribute_not_exists({expr.name(SHARD)}) OR attribute_not_exists({expr.name(PHASE)}))"
                   f" AND NOT begins_with({expr.name(ID_FIELD)}, {expr.value(COUNTER_PREFIX)})")
        done = 0
        for page in scan_pages(self._calls, TableName=self._table, FilterExpression=missing, **expr.params()):
            for raw in page["Items"]:
                indexed = SHARD in raw
                done += self._backfill_one(strip_index(from_item_values(raw)), indexed=indexed)
        return done

    def _backfill_one(self, item: dict[str, Any], *, indexed: bool) -> bool:
        expr = Expression()
        keys = {SHARD, CREATED_KEY, PHASE}
        attributes = derived_attributes(item)
        if indexed and PHASE not in attributes:
            return False  # a document that does not validate: indexed already, nothing to count
        # Key attributes are set outright; copies an update may have written since the scan are kept.
        sets = [
            f"{expr.name(name)} = {expr.value(value)}" if name in keys
            else f"{expr.name(name)} = if_not_exists({expr.name(name)}, {expr.value(value)})"
            for name, value in attributes.items()
        ]
        completed = PHASE if PHASE in attributes else SHARD
        condition = f"attribute_exists({expr.name(ID_FIELD)}) AND attribute_not_exists({expr.name(completed)})"
        try:
            self._request("update_item", Key=_key(item[ID_FIELD]), UpdateExpression="SET " + ", ".join(sets),
                          ConditionExpression=condition, **expr.params())
        except StorageOperationError as exc:
            if exc.code == CONDITION_FAILED:  # deleted, saved or backfilled by someone else meanwhile
                return False
            raise
        self._count_change(phase_change(None, attributes.get(PHASE)))
        return True

    def recount(self) -> int:
        """Set the counters from the documents themselves (one Scan of the whole table), after
        completing items other producers wrote; returns how many documents were counted. Writes
        made while it runs may be counted in or out: run it when the table is quiet (cron)."""
        self.prepare_for_listing()
        counts = dict.fromkeys(PHASES, 0)
        expr = Expression()
        documents = f"NOT begins_with({expr.name(ID_FIELD)}, {expr.value(COUNTER_PREFIX)})"
        for page in scan_pages(self._calls, TableName=self._table, FilterExpression=documents, **expr.params()):
            for raw in page["Items"]:
                actual = phase_of(strip_index(from_item_values(raw)))
                if actual is None:
                    continue
                if _phase(raw) != actual:
                    self._settle_phase(raw[ID_FIELD]["S"], raw)
                counts[actual] += 1
        counters.replace(self._calls, self._table, counts, deadline_seconds=self._batch_deadline)
        self._counts.clear()
        return sum(counts.values())


def _phase(raw: dict[str, Any] | None) -> str | None:
    """The phase a stored (or about to be stored) item is counted in."""
    return raw.get(PHASE, {}).get("S") if raw else None


def _key(generation_id: str) -> dict[str, Any]:
    return {ID_FIELD: {"S": generation_id}}


def _unchanged(expr: Expression, existing: dict[str, Any] | None) -> str:
    """A condition that holds while the item is as ``existing`` (its id and createdAt) was read."""
    if existing is None:
        return f"attribute_not_exists({expr.name(ID_FIELD)})"
    if CREATED not in existing:
        return f"attribute_exists({expr.name(ID_FIELD)}) AND attribute_not_exists({expr.name(CREATED)})"
    return f"{expr.name(CREATED)} = {expr.value(existing[CREATED])}"


def _billing_mode(value: object) -> str:
    mode = str(value).strip().upper()
    if mode not in (PAY_PER_REQUEST, PROVISIONED):
        raise StorageInitializationError(f"option billing_mode must be pay_per_request or provisioned, got {value!r}")
    return mode


def _endpoint(endpoint: str | None) -> str | None:
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise StorageInitializationError(f"endpoint {endpoint!r} must be an http(s) URL, e.g. http://127.0.0.1:8000")
    return endpoint
