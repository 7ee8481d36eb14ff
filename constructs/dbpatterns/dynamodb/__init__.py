"""DynamoDB building blocks."""

from dbpatterns.dynamodb.table import CapacityMode, DynamoTable, DynamoTableProps, TableEncryption

__all__ = ["CapacityMode", "DynamoTable", "DynamoTableProps", "TableEncryption"]
