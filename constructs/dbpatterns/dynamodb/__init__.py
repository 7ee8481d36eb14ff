"""DynamoDB building blocks."""

from dbpatterns.dynamodb.table import (
    CapacityMode,
    DynamoTable,
    DynamoTableProps,
    TableEncryption,
    TableReplica,
)

__all__ = ["CapacityMode", "DynamoTable", "DynamoTableProps", "TableEncryption", "TableReplica"]
