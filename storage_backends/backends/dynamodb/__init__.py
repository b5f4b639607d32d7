"""The DynamoDB backend: the seed's ``DynamoDBStorage`` (see ``backend``). boto3 is imported only here."""

from .backend import DynamoDBStorage

__all__ = ["DynamoDBStorage"]
