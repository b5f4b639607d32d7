"""Insights sums, kept per hour in tables of their own by triggers on the generations table.

Each row contributes its hour (the first 13 characters of ``created_key``), its phase, its
failure group and its stages' duration bins (``storage_backends.insights.contribution``, held in
the row's columns). An insert adds them, a delete takes them away, an update does both when
any of them changed, so every write path (save, save_many, update, delete) keeps the sums
right inside its own transaction. Cleanup is the exception: it sets ``keep_on_delete`` for its
transaction, so the sums keep the history of generations it removes (last week's trend stays
after its documents are gone). ``rebuild`` makes the sums again from the rows, for the hours
that still hold rows; older hours keep their history.

A call reads O(hours + groups) rows: the window's sums (the in-progress ones kept by the hour of
their last change too, so stalled is told from them), the in-progress rows last changed in the
cutoff's own hour (a range of the waiting index), and per group returned its five latest rows
and its first.

A language or stage filter has no sums of its own (``read_filtered``): one range query of the
window's matching rows, which reads the columns each contribution is made of (the ``by_created``,
``by_language`` or ``by_stage`` index, never a document), added up in one pass
(``storage_backends.insights.add_up``): O(the window's matching rows).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime

from ...insights import (
    EXAMPLES,
    Contribution,
    Counted,
    Examples,
    Insights,
    InsightsQuery,
    Sums,
    add_up,
    build_insights,
    counted_row,
    hour_of,
    hourly_examples,
    hours_of,
    top_groups,
    window_bounds,
)
from ...models import format_timestamp, parse_timestamp

_TABLES = """
CREATE TABLE insight_phases (hour TEXT NOT NULL, phase TEXT NOT NULL, count INTEGER NOT NULL,
                             PRIMARY KEY (hour, phase)) WITHOUT ROWID;
CREATE TABLE insight_failures (hour TEXT NOT NULL, failure TEXT NOT NULL, count INTEGER NOT NULL,
                               PRIMARY KEY (hour, failure)) WITHOUT ROWID;
CREATE TABLE insight_durations (hour TEXT NOT NULL, stage TEXT NOT NULL, bin INTEGER NOT NULL,
                                count INTEGER NOT NULL, PRIMARY KEY (hour, stage, bin)) WITHOUT ROWID;
-- What a group is called, from its first member: it outlives its generations.
CREATE TABLE failure_groups (failure TEXT PRIMARY KEY, stage TEXT NOT NULL, message TEXT NOT NULL,
                             example TEXT NOT NULL) WITHOUT ROWID;
-- In-progress rows by created hour and the hour of their last change: the stalled split.
CREATE TABLE insight_waiting (hour TEXT NOT NULL, last_hour TEXT NOT NULL, count INTEGER NOT NULL,
                              PRIMARY KEY (hour, last_hour)) WITHOUT ROWID;
CREATE TABLE insight_state (id INTEGER PRIMARY KEY CHECK (id = 1), keep_on_delete INTEGER NOT NULL);
INSERT INTO insight_state VALUES (1, 0);
"""


#: A row that counts in ``insight_waiting``: in progress, with a readable last change.
_WAITING = "{row}.phase = 'in_progress' AND {row}.updated_key > ''"


def _add(row: str) -> list[str]:
    """Statements adding ``row``'s (``new`` or ``old``) contribution to the sums."""
    hour = f"substr({row}.created_key, 1, 13)"
    return [
        f"INSERT INTO insight_phases VALUES ({hour}, {row}.phase, 1)"
        " ON CONFLICT (hour, phase) DO UPDATE SET count = count + 1",
        f"INSERT INTO insight_failures SELECT {hour}, {row}.failure, 1 WHERE {row}.failure IS NOT NULL"
        " ON CONFLICT (hour, failure) DO UPDATE SET count = count + 1",
        # An upsert, not OR IGNORE: the statement that fires a trigger overrides its conflict clauses.
        f"INSERT INTO failure_groups SELECT {row}.failure, {row}.summary_failed_stage,"
        f" {row}.failure_message, coalesce({row}.summary_error, '') WHERE {row}.failure IS NOT NULL"
        " ON CONFLICT (failure) DO NOTHING",
        f"INSERT INTO insight_durations SELECT {hour}, key, value, 1 FROM json_each({row}.duration_bins) WHERE 1"
        " ON CONFLICT (hour, stage, bin) DO UPDATE SET count = count + 1",
        f"INSERT INTO insight_waiting SELECT {hour}, substr({row}.updated_key, 1, 13), 1"
        f" WHERE {_WAITING.format(row=row)} ON CONFLICT (hour, last_hour) DO UPDATE SET count = count + 1",
    ]


def _remove(row: str) -> list[str]:
    """Statements taking ``row``'s contribution away from the sums."""
    hour = f"substr({row}.created_key, 1, 13)"
    return [
        f"UPDATE insight_phases SET count = count - 1 WHERE hour = {hour} AND phase = {row}.phase",
        f"UPDATE insight_failures SET count = count - 1 WHERE hour = {hour} AND failure = {row}.failure",
        f"UPDATE insight_durations SET count = count - 1 WHERE hour = {hour}"
        f" AND (stage, bin) IN (SELECT key, value FROM json_each({row}.duration_bins))",
        f"UPDATE insight_waiting SET count = count - 1 WHERE hour = {hour}"
        f" AND last_hour = substr({row}.updated_key, 1, 13) AND {_WAITING.format(row=row)}",
    ]


def _trigger(name: str, event: str, table: str, when: str, statements: list[str]) -> str:
    body = "".join(f"    {statement};\n" for statement in statements)
    return f"CREATE TRIGGER {table}_insights_{name} AFTER {event} ON {table} WHEN {when} BEGIN\n{body}END"


def create(conn: sqlite3.Connection, table: str) -> None:
    """Make the sums' tables and triggers, and fill them from the rows there are."""
    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    dated = "{row}.created_key > ''"
    changed = " OR ".join(f"old.{column} IS NOT new.{column}"
                          for column in ("created_key", "updated_key", "phase", "failure", "duration_bins"))
    kept = "(SELECT keep_on_delete FROM insight_state) = 0"
    # The in-progress rows by last change: the stalled split reads one hour of it.
    conn.execute(f"CREATE INDEX {table}_waiting ON {table} (updated_key) WHERE phase = 'in_progress'")
    conn.execute(_trigger("insert", "INSERT", table, dated.format(row="new"), _add("new")))
    conn.execute(_trigger("delete", "DELETE", table, f"{dated.format(row='old')} AND {kept}", _remove("old")))
    conn.execute(_trigger("update_old", "UPDATE", table, f"({changed}) AND {dated.format(row='old')}",
                          _remove("old")))
    conn.execute(_trigger("update_new", "UPDATE", table, f"({changed}) AND {dated.format(row='new')}",
                          _add("new")))
    rebuild(conn, table)


def keep_on_delete(conn: sqlite3.Connection, keep: bool) -> None:
    """Whether this transaction's deletes leave the sums as they are (cleanup's)."""
    conn.execute("UPDATE insight_state SET keep_on_delete = ?", (int(keep),))


def rebuild(conn: sqlite3.Connection, table: str) -> int:
    """Make the sums of every hour that holds rows again from those rows; returns how many rows."""
    hours = f"(SELECT DISTINCT substr(created_key, 1, 13) FROM {table} WHERE created_key > '')"
    for sums in ("insight_phases", "insight_failures", "insight_durations", "insight_waiting"):
        conn.execute(f"DELETE FROM {sums} WHERE hour IN {hours}")
    dated = f"FROM {table} WHERE created_key > ''"
    conn.execute(f"INSERT INTO insight_phases SELECT substr(created_key, 1, 13), phase, count(*) {dated} GROUP BY 1, 2")
    conn.execute(f"INSERT INTO insight_failures SELECT substr(created_key, 1, 13), failure, count(*) {dated}"
                 " AND failure IS NOT NULL GROUP BY 1, 2")
    conn.execute(f"INSERT OR IGNORE INTO failure_groups SELECT failure, summary_failed_stage, failure_message,"
                 f" coalesce(summary_error, '') {dated} AND failure IS NOT NULL")
    conn.execute(f"INSERT INTO insight_durations SELECT substr(created_key, 1, 13), key, value, count(*)"
                 f" FROM {table}, json_each({table}.duration_bins) WHERE created_key > '' GROUP BY 1, 2, 3")
    conn.execute(f"INSERT INTO insight_waiting SELECT substr(created_key, 1, 13), substr(updated_key, 1, 13), count(*)"
                 f" {dated} AND {_WAITING.format(row=table)} GROUP BY 1, 2")
    return conn.execute(f"SELECT count(*) {dated}").fetchone()[0]


def read(conn: sqlite3.Connection, table: str, query: InsightsQuery, now: datetime) -> Insights:
    """The insights of the window from the sums (one read transaction: ``conn`` is a snapshot)."""
    hours = hours_of(query)
    first, last = hours[0], hours[-1]
    sums = Sums()
    for hour, phase, count in conn.execute(
            "SELECT hour, phase, count FROM insight_phases WHERE hour BETWEEN ? AND ? AND count > 0", (first, last)):
        sums.phases.setdefault(hour, {})[phase] = count
    for hour, failure, count in conn.execute(
            "SELECT hour, failure, count FROM insight_failures WHERE hour BETWEEN ? AND ? AND count > 0",
            (first, last)):
        sums.failures.setdefault(failure, {})[hour] = count
    for stage, index, count in conn.execute(
            "SELECT stage, bin, sum(count) FROM insight_durations WHERE hour BETWEEN ? AND ? AND count > 0"
            " GROUP BY stage, bin", (first, last)):
        sums.durations.setdefault(stage, {})[index] = count
    groups = top_groups(sums, query.max_groups)
    for failure, stage, message, example in conn.execute(
            f"SELECT failure, stage, message, example FROM failure_groups WHERE failure IN"
            f" ({', '.join('?' * len(groups))})", groups):
        sums.groups[failure] = (stage, message, example)
    for hour, last_hour, count in conn.execute(
            "SELECT hour, last_hour, count FROM insight_waiting WHERE hour BETWEEN ? AND ? AND count > 0",
            (first, last)):
        sums.waiting.setdefault(hour, {})[last_hour] = count
    low, high = (format_timestamp(moment) for moment in window_bounds(query))
    cutoff = now - query.stalled_after
    # Of the cutoff's own hour, the rows changed before it: one hour of the waiting index.
    boundary = dict(conn.execute(
        f"SELECT substr(created_key, 1, 13), count(*) FROM {table} INDEXED BY {table}_waiting"
        " WHERE phase = 'in_progress' AND updated_key >= ? AND updated_key < ? AND created_key >= ? AND created_key < ?"
        " GROUP BY 1", (f"{hour_of(cutoff)}:00:00.000Z", format_timestamp(cutoff), low, high)).fetchall())
    stalled = sums.stalled_by_hour(cutoff, boundary)
    examples = ({failure: _examples(conn, table, failure, low, high, sums.failures[failure]) for failure in groups}
                if query.examples else {})
    return build_insights(query, sums, stalled_by_hour=stalled, examples=examples)


def _examples(conn: sqlite3.Connection, table: str, failure: str, low: str, high: str,
              by_hour: dict[str, int]) -> Examples:
    """The group's latest rows and its first and last member's created times; a group whose
    rows cleanup removed is seen to the hour, from its sums."""
    latest = conn.execute(
        f"SELECT generation_id, created_key FROM {table} WHERE failure = ? AND created_key >= ? AND created_key < ?"
        f" ORDER BY created_key DESC, generation_id DESC LIMIT {EXAMPLES}", (failure, low, high)).fetchall()
    earliest = conn.execute(
        f"SELECT created_key FROM {table} WHERE failure = ? AND created_key >= ? AND created_key < ?"
        " ORDER BY created_key, generation_id LIMIT 1", (failure, low, high)).fetchone()
    if not latest:
        return hourly_examples(by_hour)
    return Examples(ids=[generation_id for generation_id, _ in latest], first_seen=parse_timestamp(earliest[0]),
                    last_seen=parse_timestamp(latest[0][1]))


#: The columns a row's contribution is made of, in the order ``_counted`` takes them.
_COUNTED_COLUMNS = ("generation_id", "created_key", "updated_key", "phase", "failure", "summary_failed_stage",
                    "failure_message", "summary_error", "duration_bins")


def read_filtered(conn: sqlite3.Connection, table: str, query: InsightsQuery, now: datetime) -> Insights:
    """The insights of the window's rows that pass the language and stage filters, added up from
    their columns (the sums are kept for every row, not per language or stage)."""
    from .query import filter_clauses  # here: query imports schema, which imports this module

    clauses, params = filter_clauses(query.filters, now)
    low, high = (format_timestamp(moment) for moment in window_bounds(query))
    rows = conn.execute(
        f"SELECT {', '.join(_COUNTED_COLUMNS)} FROM {table} WHERE {' AND '.join(clauses)}"
        " AND created_key >= ? AND created_key < ?", (*params, low, high))
    return add_up(_counted(rows, query, now), query)


def _counted(rows: Iterable[tuple], query: InsightsQuery, now: datetime) -> Iterator[Counted]:
    """Each row as the one-pass sum counts it: what the triggers add to the sums, from the same columns."""
    for generation_id, created, updated, phase, failure, stage, message, example, bins in rows:
        failed = {"failure": failure, "failure_stage": stage, "failure_message": message,
                  "failure_example": example or ""} if failure else {}
        waiting = updated[:13] if phase == "in_progress" and updated else None
        item = Contribution(hour=created[:13], phase=phase, duration_bins=json.loads(bins) if bins else {},
                            waiting_hour=waiting, **failed)
        yield counted_row(item, created=created, last_change=updated, generation_id=generation_id, now=now,
                          stalled_after=query.stalled_after)
