"""The TTL attribute: when DynamoDB may delete a generation by itself (option ``ttl_days``).

DynamoDB's Time to Live deletes an item some time (up to a few days) after the epoch second in
its TTL attribute, without consuming write capacity. The expiry counts from ``createdAt``, the
time ``cleanup`` goes by, so the two agree on what is old; ``cleanup`` still removes exactly
what its cut-off says, whatever TTL has not got round to yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...documents import CREATED
from ...models import parse_timestamp
from .index import PREFIX

EXPIRES = f"{PREFIX}Expires"
DAY_SECONDS = 86_400


def expiry_attributes(item: Mapping[str, Any], ttl_days: float | None) -> dict[str, int]:
    """``{EXPIRES: epoch seconds}`` for an item created at a readable time; nothing without TTL."""
    created = parse_timestamp(item.get(CREATED)) if ttl_days else None
    if created is None:
        return {}
    return {EXPIRES: int(created.timestamp() + ttl_days * DAY_SECONDS)}
