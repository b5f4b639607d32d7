"""Attributes the backend adds to each item for its listing index, and nothing else.

The global secondary index is keyed on a constant partition and ``createdAt#generationId``,
so a page newest first (or oldest first) is one ``Query`` that reads about a page of items
however large the table grows. The search, language and last-change attributes are
normalized copies that ``FilterExpression`` can compare (DynamoDB has no ``lower()``).
All of them start with ``_gennie`` and are stripped on every read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...documents import CREATED, ID_FIELD, UPDATED
from ...errors import StorageValidationError
from ...paging import SortKey, created_sort_value

INDEX_NAME = "gennie-created-index"
PREFIX = "_gennie"
SHARD = f"{PREFIX}Shard"
CREATED_KEY = f"{PREFIX}Created"
SEARCH_ID = f"{PREFIX}SearchId"
SEARCH_PROMPT = f"{PREFIX}SearchPrompt"
LANGUAGE = f"{PREFIX}Language"
LAST_CHANGE = f"{PREFIX}LastChange"
#: Every attribute ``index_attributes`` may write.
INDEX_NAMES = (SHARD, CREATED_KEY, SEARCH_ID, SEARCH_PROMPT, LANGUAGE, LAST_CHANGE)
#: One partition: a single GSI partition takes ~1,000 writes/s, far above a video pipeline's rate,
#: and reading one partition keeps a page at one request (sharding would read every shard per page).
SHARD_VALUE = "all"
MAX_SORT_KEY_BYTES = 1024


def index_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """Every index attribute of a whole document."""
    return {
        SHARD: SHARD_VALUE,
        CREATED_KEY: sort_value((created_sort_value(item.get(CREATED)), item[ID_FIELD])),
        SEARCH_ID: item[ID_FIELD].casefold(),
        **prompt_attributes(item.get("initialParams")),
        **last_change_attribute(item),
    }


def prompt_attributes(initial_params: object) -> dict[str, str]:
    """The search and language attributes, which depend on ``initialParams`` only."""
    params = initial_params if isinstance(initial_params, Mapping) else {}
    # The backfill reads other producers' items unvalidated: a prompt or language may be anything.
    prompt, language = params.get("prompt"), params.get("language")
    return {
        SEARCH_PROMPT: prompt.casefold() if isinstance(prompt, str) else "",
        LANGUAGE: language.lower() if isinstance(language, str) else "",
    }


def last_change_attribute(item: Mapping[str, Any]) -> dict[str, str]:
    """The normalized time the stalled filter compares: ``updatedAt``, else ``createdAt``."""
    moment = created_sort_value(item.get(UPDATED)) or created_sort_value(item.get(CREATED))
    return {LAST_CHANGE: moment} if moment else {}


def sort_value(key: SortKey) -> str:
    """``createdAt#generationId``: sorts like the (createdAt, id) keys of ``paging`` since every
    time has the same width and an absent time (``""``) sorts first, as ``#`` < ``0``.

    A sort key holds at most 1,024 bytes, so a very long id is cut there: such items still sort
    by time, and readers compare the full (createdAt, id) to place a page's boundary.
    """
    created, generation_id = key
    prefix = f"{created}#"
    room = MAX_SORT_KEY_BYTES - len(prefix.encode())
    return prefix + generation_id.encode()[:room].decode("utf-8", "ignore")


def created_of(value: str) -> str:
    """The normalized createdAt part of a sort value."""
    return value.partition("#")[0]


def strip_index(item: dict[str, Any]) -> dict[str, Any]:
    """The document alone, as other backends store it."""
    return {key: value for key, value in item.items() if not key.startswith(PREFIX)}


def refuse_index_names(names: object) -> None:
    """Documents may not use the backend's own attribute names (they would be dropped on read)."""
    for name in names:
        if isinstance(name, str) and name.startswith(PREFIX):
            raise StorageValidationError(f"attribute name {name!r} is reserved by the DynamoDB backend")
