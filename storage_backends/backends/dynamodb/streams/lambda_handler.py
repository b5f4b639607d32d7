"""An AWS Lambda entry point for the stream indexer, for teams that run on Lambda with a DynamoDB trigger.

Handler: ``storage_backends.backends.dynamodb.streams.lambda_handler.stream_handler``. The
function reads the storage from the environment as ``StorageFactory.from_env`` does
(``GENNIE_STORAGE_URL=dynamodb://<table>?stream_indexer=true``, or ``GENNIE_STORAGE_TYPE=dynamodb``
with ``DYNAMODB_TABLE_NAME`` and ``DYNAMODB_STREAM_INDEXER=true``). Its event source mapping (see
the README, "Running beside other producers") reads the table's stream from ``TRIM_HORIZON``
with ``FunctionResponseTypes=["ReportBatchItemFailures"]``: Lambda then keeps the shard's
position itself, so no lease is taken here. A batch that fails is reported whole and retried;
records applied before are skipped (``checkpoints``), so nothing counts twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ....errors import StorageError
from ....factory import StorageFactory
from .checkpoints import ensure_indexer_table, indexer_table_name
from .records import RecordApplier

logger = logging.getLogger(__name__)

_applier: RecordApplier | None = None
_lock = threading.Lock()


def stream_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Apply a batch of stream records; on a failure, ask Lambda to retry the batch from its first record."""
    records = event.get("Records", [])
    if not records:
        return {"batchItemFailures": []}
    try:
        _the_applier().apply(records)
    except StorageError as exc:
        logger.error("stream batch of %d records failed, to be retried: %s", len(records), exc)
        return {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}


def _the_applier() -> RecordApplier:
    """One storage per Lambda container, made on the first event (a cold start)."""
    global _applier
    with _lock:
        if _applier is None:
            storage = StorageFactory.from_env()
            parts = storage._stream_parts() if hasattr(storage, "_stream_parts") else None
            if parts is None or not parts.enabled:
                raise StorageError("the stream handler needs a DynamoDB storage with stream_indexer=true "
                                   "(DYNAMODB_STREAM_INDEXER=true or ?stream_indexer=true in GENNIE_STORAGE_URL)")
            ensure_indexer_table(parts.calls, indexer_table_name(parts.table))
            _applier = RecordApplier(parts)
        return _applier
