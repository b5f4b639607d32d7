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
import random
import re
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from ...base import GenerationStateStorage, OnSkip
from ...documents import CREATED, ID_FIELD, MAX_DEPTH, STAGE_TIMES, UPDATED, apply_update, read_item, stamp_for_save
from ...errors import (
    StorageCorruptDocumentError,
    StorageInitializationError,
    StorageNotFoundError,
    StorageOperationError,
)
from ...exact_first import promotes
from ...insights import (
    Contribution,
    Insights,
    InsightsQuery,
    build_insights,
    hour_of,
    hours_of,
    top_groups,
    window_bounds,
)
from ...models import GenerationState, GenerationStatus, ListQuery, Page, SkippedDocument, format_timestamp, utcnow
from ...options import as_count, as_flag, as_number, as_text
from ...prefetch import interleaved
from ...summaries import GenerationSummary, SummaryPage, stored_summary, summarize
from . import rollups
from .batch import Backoff, at_once, get_all, write_all
from .client import ClientSettings, DynamoDBCalls, make_client
from .counts import TimedCache, count_stalled, scan_pages
from .derived import (
    COUNTED_NAMES,
    DERIVED_NAMES,
    PHASE,
    SUMMARY,
    WRITE_TOKEN,
    contribution_of,
    derived_attributes,
    rollup_changes,
    summary_fields_of,
)
from .expiry import EXPIRES, expiry_attributes
from .expressions import Expression, projection
from .floats import float_hints, restore_floats
from .index import CREATED_KEY, INDEX_NAME, SHARD, refuse_index_names, strip_index
from .insights import boundary_stalled, filtered_insights, group_examples
from .items import check_item_size, from_attribute_value, from_item_values, to_item_values
from .listing import RowPage, page_rows
from .rollups import ROLLUP_PREFIX, Changes, refuse_rollup_id
from .streams.checkpoints import indexer_status, indexer_table_name
from .table import PAY_PER_REQUEST, PROVISIONED, TableLayout, ensure_table

DEFAULT_TABLE = "video-gennie-generations"
DEFAULT_REGION = "us-east-1"
CONDITION_FAILED = "ConditionalCheckFailedException"
#: Seconds ``active_generations`` is kept by default; with ``stream_indexer``, whose totals move in another process.
COUNT_CACHE_SECONDS, STREAM_COUNT_CACHE_SECONDS = 30.0, 1.0
#: A conditional write is retried this often when another writer changed the item in between.
_WRITE_ATTEMPTS = 5
#: Parallel Scan segments of a read in any order (``_iter_any_order``: a migration's source).
SCAN_SEGMENTS = 8
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


class DynamoDBStorage(GenerationStateStorage):
    """One DynamoDB table keyed by ``generationId``, with the listing index this backend maintains."""

    backend_name = "dynamodb"
    write_concurrency = 8  # BatchWriteItem calls wait on the network, not on each other

    def __init__(
        self, *, table_name: str = DEFAULT_TABLE, region: str | None = None, endpoint: str | None = None,
        access_key_id: str | None = None, secret_access_key: str | None = None, session_token: str | None = None,
        profile: str | None = None, connect_timeout: float | str = 2.0, read_timeout: float | str = 2.0,
        max_attempts: int | str = 3, create: bool | str | None = None,
        create_table: bool | str = True, count_cache_seconds: float | str | None = None,
        list_read_budget: int | str = 2000, batch_deadline_seconds: float | str = 30.0,
        table_wait_seconds: float | str = 120.0, billing_mode: str = "pay_per_request",
        read_capacity: int | str | None = None, write_capacity: int | str | None = None,
        ttl_days: float | str | None = None, stream_indexer: bool | str = False,
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
        timeouts = {"connect_timeout": as_number("connect_timeout", connect_timeout, minimum=0.1),
                    "read_timeout": as_number("read_timeout", read_timeout, minimum=0.1),
                    "max_attempts": as_count("max_attempts", max_attempts, minimum=1)}
        self._calls = DynamoDBCalls(partial(make_client, settings, **timeouts))
        # The change stream's client, made on first use (by the stream indexer alone).
        self._stream_calls = DynamoDBCalls(partial(make_client, settings, **timeouts, service="dynamodbstreams"))
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
            stream=as_flag("stream_indexer", stream_indexer),
        )
        # The indexer moves the totals from another process: kept a second, not 30 (a new row's count
        # then shows within a second of the indexer's pass, at one small read a second at most).
        default_cache = STREAM_COUNT_CACHE_SECONDS if self._layout.stream else COUNT_CACHE_SECONDS
        self._counts = TimedCache(as_number("count_cache_seconds", default_cache if count_cache_seconds in (None, "")
                                            else count_cache_seconds, minimum=0))
        self._roller = rollups.Roller(self._calls, self._table, applied=self._counts.clear)
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
            self._roll(rollup_changes(response.get("Attributes"), encoded))
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
                refuse_rollup_id(item[ID_FIELD])
            else:
                self._check(item, now)
        if not preserve_timestamps:
            created = self._stored_created_at([item[ID_FIELD] for item in latest if not item.get(CREATED)])
            latest = [stamp_for_save(item, now, existing_created_at=created.get(item[ID_FIELD])) for item in latest]
        puts = [{"PutRequest": {"Item": self._encode(item)}} for item in latest]  # all checked before any write
        self._ensure_ready()
        # BatchWriteItem returns no old images: what the items counted as before is read first (a
        # write by someone else in between can put a sum off until the next recount).
        before = self._counted_now([item[ID_FIELD] for item in latest])
        write_all(self._calls, self._table, puts, deadline_seconds=self._batch_deadline)
        moved = Changes()
        for put in puts:
            item = put["PutRequest"]["Item"]
            moved.merge(rollup_changes(before.get(item[ID_FIELD]["S"]), item))
        self._roll(moved)

    def _update(self, generation_id: str, changes: dict[str, Any], now: str) -> GenerationState:
        """Read, merge, and put back on the condition that nobody wrote in between (optimistic
        locking, as AWS's DynamoDBMapper does with a version attribute): the derived attributes
        and rollups follow from the whole new document in the same single write. A strongly
        consistent read costs a quarter of what a second write of the item would."""
        refuse_index_names(changes)
        if generation_id.startswith(ROLLUP_PREFIX):
            raise StorageNotFoundError(generation_id)
        # As in every backend, stage times are the storage's to keep (see documents.apply_update).
        changes = {name: value for name, value in changes.items() if name != STAGE_TIMES}
        # A change too big on its own is refused before any request; the merged item is checked too.
        check_item_size(f"the change to generation {generation_id!r}", to_item_values(changes))
        # Writers racing on one item retry after a short random wait, so one of them wins each round.
        conflicts = Backoff(self._batch_deadline, base=0.005, cap=0.1)
        while True:
            raw = self._get_raw(generation_id)
            if raw is None:
                raise StorageNotFoundError(generation_id)
            item = apply_update(self._read(raw).to_item(), changes, now)
            encoded = self._encode(item)
            expr = Expression()
            try:
                self._request("put_item", Item=encoded, ConditionExpression=_unchanged_since(expr, raw),
                              **expr.params())
            except StorageOperationError as exc:
                if exc.code != CONDITION_FAILED:
                    raise
                if not conflicts.wait():
                    raise StorageOperationError(
                        f"generation {generation_id!r} kept changing while being updated", code=CONDITION_FAILED,
                        generation_id=generation_id) from exc
                continue
            self._roll(rollup_changes(raw, encoded))
            return read_item(generation_id, item)

    def _refresh(self, raw: dict[str, Any]) -> bool:
        """Bring a stored item's derived attributes in line with its document (an item another
        producer wrote, or one an earlier version indexed) and the rollups with them; False when
        they were right already, or when the item changed meanwhile (its writer settled them).

        One conditional UpdateItem, which also changes the write token: an update that read the
        item before then finds it changed, reads again, and does not count its phase twice."""
        wanted = derived_attributes(strip_index(from_item_values(raw)))
        encoded = to_item_values(wanted)
        sets = {name: value for name, value in wanted.items() if raw.get(name) != encoded[name]}
        removes = [name for name in DERIVED_NAMES if name in raw and name not in wanted]
        if not sets and not removes:
            return False
        expr = Expression()
        assignments = [f"{expr.name(name)} = {expr.value(value)}" for name, value in {**sets, **new_token()}.items()]
        update = "SET " + ", ".join(assignments)
        if removes:
            update += " REMOVE " + ", ".join(expr.name(name) for name in removes)
        try:
            self._request("update_item", Key=_key(raw[ID_FIELD]["S"]), UpdateExpression=update,
                          ConditionExpression=_unchanged_since(expr, raw), **expr.params())
        except StorageOperationError as exc:
            if exc.code == CONDITION_FAILED:
                return False
            raise
        refreshed = {**{name: value for name, value in raw.items() if name not in removes}, **encoded}
        self._roll(rollup_changes(raw, refreshed))
        return True

    def _delete(self, generation_id: str) -> bool:
        if generation_id.startswith(ROLLUP_PREFIX):
            return False  # the rollups' own items are no generation's
        response = self._request("delete_item", Key=_key(generation_id), ReturnValues="ALL_OLD")
        old = response.get("Attributes")
        self._roll(rollup_changes(old, None))
        return old is not None

    def _delete_many(self, generation_ids: list[str]) -> list[str]:
        """What each item counts as (``BatchGetItem``s of the counted attributes, sent at once),
        then ``BatchWriteItem`` deletes of those found, then one update per rollup item touched:
        1/100 + 1/25 requests a generation plus one per hour touched, instead of ``delete``'s
        three a generation. An item changed between the read and its deletion is taken off as it
        was read (``recount`` repairs that), as with ``cleanup``."""
        self._ensure_ready()
        wanted = [generation_id for generation_id in generation_ids if not generation_id.startswith(ROLLUP_PREFIX)]
        found = self._counted_now(wanted) if wanted else {}
        moved = Changes()
        for raw in found.values():
            moved.merge(rollup_changes(raw, None))
        deletes = ({"DeleteRequest": {"Key": _key(generation_id)}} for generation_id in found)
        write_all(self._calls, self._table, deletes, deadline_seconds=self._batch_deadline)
        self._roll(moved)
        return [generation_id for generation_id in generation_ids if generation_id in found]

    # -- reads ----------------------------------------------------------------------------

    def _get(self, generation_id: str) -> GenerationState:
        raw = self._get_raw(generation_id) if not generation_id.startswith(ROLLUP_PREFIX) else None
        if raw is None:
            raise StorageNotFoundError(generation_id)
        return self._read(raw)

    def _exists(self, generation_id: str) -> bool:
        return not generation_id.startswith(ROLLUP_PREFIX) and self._get_raw(generation_id, ID_FIELD) is not None

    def _list(self, query: ListQuery, on_skip: OnSkip) -> Page:
        """Index items, then their documents (``BatchGetItem``, 100 a request). An item deleted in
        between, or whose document cannot be read (told to ``on_skip``), gives its place to the next."""
        states: dict[str, GenerationState] = {}

        def readable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            documents = self._documents([row[ID_FIELD]["S"] for row in rows])
            for generation_id, raw in documents.items():
                if (state := self._readable(raw, on_skip=on_skip)) is not None:
                    states[generation_id] = state
            return [row for row in rows if row[ID_FIELD]["S"] in states]

        page = self._page_rows(query, keep=readable)
        return Page(items=[states[row[ID_FIELD]["S"]] for row in page.rows], next_cursor=page.next_cursor,
                    prev_cursor=page.prev_cursor)

    def _list_summaries(self, query: ListQuery, on_skip: OnSkip, at: datetime) -> SummaryPage:
        """From the index items alone. An item indexed before summaries were kept (until
        ``prepare_for_listing`` completes it) is summarized from its document."""
        summaries: dict[str, GenerationSummary] = {}

        def summarized(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            decoded = [from_item_values(row) for row in rows]
            for row in decoded:
                if SUMMARY in row and PHASE in row:
                    summaries[row[ID_FIELD]] = stored_summary(
                        row[ID_FIELD], summary_fields_of(row), phase=row[PHASE], created_at=row.get(CREATED),
                        updated_at=row.get(UPDATED), at=at, stalled_after=query.stalled_after)
            unsummarized = [row[ID_FIELD] for row in decoded if row[ID_FIELD] not in summaries]
            for generation_id, raw in self._documents(unsummarized).items():
                if (state := self._readable(raw, on_skip=on_skip)) is not None:
                    summaries[generation_id] = summarize(state, at=at, stalled_after=query.stalled_after)
            return [row for row in rows if row[ID_FIELD]["S"] in summaries]

        page = self._page_rows(query, keep=summarized)
        return SummaryPage(items=[summaries[row[ID_FIELD]["S"]] for row in page.rows], next_cursor=page.next_cursor,
                           prev_cursor=page.prev_cursor)

    def _page_rows(self, query: ListQuery, *, keep: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> RowPage:
        """The index items of a page that ``keep`` keeps. The first page of a search that may be an
        id reads one Query at most: the id itself is one ``GetItem`` (see ``exact_first``), and
        further matches follow on later pages."""
        self._ensure_ready()
        first_of_exact = promotes(query) and query.cursor is None
        page = page_rows(self._calls, self._table, query, budget=self._read_budget,
                         max_requests=1 if first_of_exact else None, keep=keep)
        with self._list_lock:
            self._list_read = (page.scanned, self._list_read[1] + page.scanned)
        return page

    def _documents(self, generation_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Whole items by id (eventually consistent, as the index they were listed from)."""
        if not generation_ids:
            return {}
        found = get_all(self._calls, self._table, [_key(i) for i in generation_ids], projection={},
                        consistent=False, deadline_seconds=self._batch_deadline)
        return {raw[ID_FIELD]["S"]: raw for raw in found}

    def _count(self) -> int:
        self._ensure_ready()
        return self._counts.get("generations", lambda: sum(self._read_totals().phases.values()))

    def _count_by_status(self, stalled_after: timedelta) -> dict[GenerationStatus, int]:
        """From the totals (one BatchGetItem) and the stalled ones' key range of the phase index:
        no request grows with the table. Not cached here: a caller that shows them keeps them."""
        self._ensure_ready()
        totals = self._read_totals()
        counts = {GenerationStatus(phase): count for phase, count in totals.phases.items()}
        cutoff = utcnow() - stalled_after
        cutoff_hour = hour_of(cutoff)
        stalled = sum(count for hour, count in totals.waiting.items() if hour < cutoff_hour)
        stalled += count_stalled(self._calls, self._table, f"{cutoff_hour}:00:00.000Z", cutoff)
        counts[GenerationStatus.STALLED] = min(stalled, counts[GenerationStatus.IN_PROGRESS])
        counts[GenerationStatus.IN_PROGRESS] -= counts[GenerationStatus.STALLED]
        return counts

    def _read_totals(self) -> rollups.Totals:
        return rollups.read_totals(self._calls, self._table, deadline_seconds=self._batch_deadline)

    def _counted_now(self, generation_ids: list[str]) -> dict[str, dict[str, Any]]:
        """What each of these items counts as now: the attributes ``contribution_of`` reads."""
        expr = Expression()
        found = get_all(self._calls, self._table, [_key(i) for i in generation_ids],
                        projection={"ProjectionExpression": projection(expr, ID_FIELD, *COUNTED_NAMES),
                                    **expr.params()},
                        deadline_seconds=self._batch_deadline)
        return {raw[ID_FIELD]["S"]: raw for raw in found}

    def _roll(self, change: Changes) -> None:
        """Move the rollups by what a write of this library changed; with ``stream_indexer`` the
        indexer moves them from the stream's images instead, for every producer's writes alike."""
        if not self._layout.stream:
            self._roller.roll(change)

    def _stream_parts(self) -> StreamParts:
        """What the stream indexer (``streams``, in this package) works with."""
        return StreamParts(enabled=self._layout.stream, table=self._table, calls=self._calls,
                           stream_calls=self._stream_calls, refresh=self._refreshed_if_unchanged)

    def _refreshed_if_unchanged(self, raw: dict[str, Any]) -> bool:
        self._ensure_ready()
        return self._refresh(raw)

    def bulk_load(self) -> AbstractContextManager[None]:
        """Rollups merged and applied every few seconds and at the end instead of per batch (see
        ``rollups.Roller``): counts and insights lag this object's writes by as much meanwhile."""
        return self._roller.deferred()

    def _insights(self, query: InsightsQuery, now: datetime) -> Insights:
        """From the hourly rollups (``BatchGetItem``s of the window's hours), the stalled ones among
        the window's in-progress items (a range of the status index) and, for each group
        returned, its latest members and its first (two small Queries of the failure index). A
        language or stage filter, which the rollups do not keep, reads the window's matching items
        instead (see ``insights.filtered_insights``)."""
        self._ensure_ready()
        if query.filtered:
            return filtered_insights(self._calls, self._table, query, now, deadline_seconds=self._batch_deadline)
        sums = rollups.read_hours(self._calls, self._table, hours_of(query), deadline_seconds=self._batch_deadline)
        low, high = (format_timestamp(moment) for moment in window_bounds(query))
        cutoff = now - query.stalled_after
        stalled = sums.stalled_by_hour(cutoff, boundary_stalled(self._calls, self._table, cutoff, low, high))
        groups = top_groups(sums, query.max_groups) if query.examples else []
        found = at_once(lambda fingerprint: group_examples(self._calls, self._table, fingerprint, low, high),
                        groups, workers=8)
        examples = {fingerprint: example for fingerprint, example in zip(groups, found, strict=True) if example}
        return build_insights(query, sums, stalled_by_hour=stalled, examples=examples)

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
                           ProjectionExpression=projection(expr, ID_FIELD, *COUNTED_NAMES), **expr.params())
        found = (raw for page in pages for raw in page["Items"])
        if dry_run:
            return sum(1 for _ in found)
        moved = Changes()

        def deletes() -> Iterator[dict[str, Any]]:
            for raw in found:
                # Off the totals only: the hours keep the history of what cleanup removes. With the
                # stream indexer, which takes a deletion off both, the hours get it back from here.
                if self._layout.stream:
                    moved.merge(rollup_changes(None, raw, totals=False))
                else:
                    moved.merge(rollup_changes(raw, None, hours=False))
                yield {"DeleteRequest": {"Key": _key(raw[ID_FIELD]["S"])}}

        # One stream of deletes across scan pages, so every batch but the last is full. An item
        # another cleanup deleted first is taken off its total twice: recount puts that right.
        removed = write_all(self._calls, self._table, deletes(), deadline_seconds=self._batch_deadline)
        self._roller.roll(moved)
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
            **({"stream_indexer": indexer_status(self._calls, indexer_table_name(self._table))}
               if self._layout.stream else {}),
        }

    def describe(self) -> dict[str, Any]:
        return {"table": self._table, "region": self._settings.region, "endpoint": self._settings.endpoint,
                "index": INDEX_NAME, "create_table": self._layout.create,
                "billing_mode": self._layout.billing_mode, "ttl_days": self._ttl_days,
                "stream_indexer": self._layout.stream}

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
        self._stream_calls.close()

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
        refuse_rollup_id(item[ID_FIELD])
        self._encode(stamp_for_save(item, now, existing_created_at=None))

    def _encode(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as sent, index attributes included, after DynamoDB's limits are checked."""
        values = to_item_values({**item, **derived_attributes(item), **float_hints(item),
                                 **expiry_attributes(item, self._ttl_days), **new_token()})
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

    def _iter_any_order(self, batch_size: int, on_skip: OnSkip) -> Iterator[GenerationState]:
        """Every document by ``SCAN_SEGMENTS`` parallel Scan segments (strongly consistent, the
        rollup items left out): whole items read straight from the table, a page of up to
        ``batch_size`` per request, instead of index pages and a ``BatchGetItem`` per 100. Items
        another producer wrote without derived attributes are read too."""
        self._ensure_ready()
        expr = Expression()
        documents = f"NOT begins_with({expr.name(ID_FIELD)}, {expr.value(ROLLUP_PREFIX)})"
        params = {"TableName": self._table, "FilterExpression": documents, "ConsistentRead": True,
                  "Limit": batch_size, "TotalSegments": SCAN_SEGMENTS, **expr.params()}

        def segment(number: int) -> Iterator[list[dict[str, Any]]]:
            for page in scan_pages(self._calls, Segment=number, **params):
                yield page["Items"]

        for items in interleaved([segment(number) for number in range(SCAN_SEGMENTS)], depth=SCAN_SEGMENTS):
            for raw in items:
                if (state := self._readable(raw, on_skip=on_skip)) is not None:
                    yield state

    def prepare_for_listing(self) -> int:
        """Give items written by other producers (or indexed by an earlier version) the derived
        attributes, so they are listed, counted and cleaned up; returns how many were completed.
        One Scan for items without them: safe at any time and more than once."""
        self._ensure_ready()
        expr = Expression()
        # A document that does not validate never gets a summary: it is looked at again, not rewritten.
        missing = (f"(attribute_not_exists({expr.name(SHARD)}) OR attribute_not_exists({expr.name(SUMMARY)}))"
                   f" AND NOT begins_with({expr.name(ID_FIELD)}, {expr.value(ROLLUP_PREFIX)})")
        pages = scan_pages(self._calls, TableName=self._table, FilterExpression=missing, **expr.params())
        return sum(self._refresh(raw) for page in pages for raw in page["Items"])

    def recount(self) -> int:
        """Set the totals and the hourly sums from the documents themselves (one Scan of the whole
        table), after refreshing stale derived attributes; returns how many documents were
        counted. Hours without documents keep their history. Writes made while it runs may be
        counted in or out: run it when the table is quiet (cron)."""
        self._ensure_ready()
        expr = Expression()
        documents = f"NOT begins_with({expr.name(ID_FIELD)}, {expr.value(ROLLUP_PREFIX)})"

        def counted() -> Iterator[Contribution]:
            for page in scan_pages(self._calls, TableName=self._table, FilterExpression=documents, **expr.params()):
                for raw in page["Items"]:
                    self._refresh(raw)
                    wanted = derived_attributes(strip_index(from_item_values(raw)))
                    if (item := contribution_of(to_item_values(wanted))) is not None:
                        yield item

        total = rollups.replace(self._calls, self._table, counted(), deadline_seconds=self._batch_deadline)
        self._counts.clear()
        return total


def _key(generation_id: str) -> dict[str, Any]:
    return {ID_FIELD: {"S": generation_id}}


def _unchanged(expr: Expression, existing: dict[str, Any] | None) -> str:
    """A condition that holds while the item is as ``existing`` (its id and createdAt) was read."""
    if existing is None:
        return f"attribute_not_exists({expr.name(ID_FIELD)})"
    if CREATED not in existing:
        return f"attribute_exists({expr.name(ID_FIELD)}) AND attribute_not_exists({expr.name(CREATED)})"
    return f"{expr.name(CREATED)} = {expr.value(existing[CREATED])}"


def new_token() -> dict[str, str]:
    """A fresh write token: every write of this backend changes it, so a conditional write can
    tell that the item was written since it was read (``updatedAt`` alone may repeat in a millisecond)."""
    return {WRITE_TOKEN: f"{random.getrandbits(64):016x}"}  # unique, not secret: no need for secrets


def _unchanged_since(expr: Expression, raw: dict[str, Any]) -> str:
    """A condition that holds while the item is as ``raw`` was read: present, with the same write
    token and ``updatedAt`` (other producers change the latter, this backend both)."""
    parts = [f"attribute_exists({expr.name(ID_FIELD)})"]
    for name in (WRITE_TOKEN, UPDATED):
        parts.append(f"{expr.name(name)} = {expr.value(from_attribute_value(raw[name]))}" if name in raw
                     else f"attribute_not_exists({expr.name(name)})")
    return " AND ".join(parts)


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


@dataclass(frozen=True)
class StreamParts:
    """The backend's parts the stream indexer uses: whether the option is on, the table, its
    client and the stream's, and the conditional refresh of an item's derived attributes."""

    enabled: bool
    table: str
    calls: DynamoDBCalls
    stream_calls: DynamoDBCalls
    refresh: Callable[[dict[str, Any]], bool]
