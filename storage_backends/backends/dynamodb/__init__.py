"""The DynamoDB backend: the seed's ``DynamoDBStorage`` (see ``backend``). boto3 is imported only here.

``stream_handler`` is the AWS Lambda entry point of the stream indexer (see ``streams``)."""

from .backend import DynamoDBStorage
from .streams import StreamIndexer, stream_handler

__all__ = ["DynamoDBStorage", "StreamIndexer", "stream_handler"]
