"""The DynamoDB Streams indexer (option ``stream_indexer=true``): derived state from every producer's writes.

With the option, this library's writes leave the rollups to the indexer, which applies
``derived.derive(old image, new image)`` to each record of the table's change stream: the
writes of this library and of any other producer (the TypeScript pipeline) alike. Two ways to
run it, with one record processor (``records``): ``StreamIndexer`` (``manage.py
dynamodb_indexer``: reads every shard with leases and checkpoints, ``reader``) and
``stream_handler`` (AWS Lambda with a DynamoDB trigger, ``lambda_handler``).
"""

from .lambda_handler import stream_handler
from .reader import PassReport, StreamIndexer

__all__ = ["PassReport", "StreamIndexer", "stream_handler"]
