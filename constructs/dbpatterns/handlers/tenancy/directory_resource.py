"""Custom resource: register one database and its tenants in the runtime tenant directory.

Each database stack (pooled shard, standard tenant, enterprise tenant) has one; the shared stack
owns the DynamoDB table. Resource properties:

- ``TableName``: the directory table;
- ``Database``: the database record's fields (``database_id``, ``tier``, ``writer_host``,
  ``reader_host`` (optional), ``port``, ``database_name``, ``db_user``, ``region``, ``stack_name``);
- ``Tenants``: the tenant ids whose rows live in this database (from the catalog).

Create/Update: the database record is written (endpoints may change on replacement); each tenant
gets a record (status active) unless it already has one pointing here; a record pointing at another
database fails the deployment (the catalog and the directory disagree: finish the tenant's move
first). Tenants dropped from the list on Update are deregistered if they still point here; one that
still points here *and is moving* fails the deployment before anything is written (the catalog was
edited - ``complete-move`` - before the move's flip).
Delete: the tenants still pointing here and the database record are removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import (
    Auth,
    DatabaseRecord,
    DirectoryConflictError,
    TenantDirectory,
    TenantRecord,
    UnknownTenantError,
)

logger = Logger()


def database_record(fields: Mapping[str, Any]) -> DatabaseRecord:
    return DatabaseRecord(
        database_id=str(fields["database_id"]),
        tier=Tier(fields["tier"]),
        writer_host=str(fields["writer_host"]),
        reader_host=str(fields["reader_host"]) if fields.get("reader_host") else None,
        port=int(fields.get("port", 5432)),
        database_name=str(fields["database_name"]),
        db_user=str(fields["db_user"]),
        region=str(fields["region"]),
        auth=Auth(fields.get("auth", Auth.IAM.value)),
        stack_name=str(fields["stack_name"]) if fields.get("stack_name") else None,
    )


def register(
    directory: TenantDirectory, properties: Mapping[str, Any], old: Mapping[str, Any] | None
) -> dict[str, Any]:
    database = database_record(properties["Database"])
    tenants: Sequence[str] = list(properties.get("Tenants", []))
    gone = sorted(set(old.get("Tenants", [])) - set(tenants)) if old is not None else []
    for tenant_id in gone:
        _refuse_dropping_a_moving_tenant(directory, tenant_id, database.database_id)
    directory.put_database(database)
    created = [
        t
        for t in tenants
        if directory.register_tenant(
            TenantRecord(tenant_id=t, tier=database.tier, database_id=database.database_id)
        )
    ]
    removed = [t for t in gone if directory.deregister_tenant(t, database.database_id)]
    logger.info(
        "registered",
        extra={"database": database.database_id, "tenants_created": created, "tenants_removed": removed},
    )
    return {
        "PhysicalResourceId": f"tenancy-directory:{database.database_id}",
        "Data": {"TenantCount": str(len(tenants))},
    }


def _refuse_dropping_a_moving_tenant(directory: TenantDirectory, tenant_id: str, database_id: str) -> None:
    try:
        record = directory.get_tenant(tenant_id)
    except UnknownTenantError:
        return
    if record.database_id == database_id and record.move is not None:
        raise DirectoryConflictError(
            f"tenant {tenant_id!r} is moving ({record.status.value}) from {database_id!r} to "
            f"{record.move.target_database_id!r}; finish or roll back its move before deploying a catalog "
            "without it here"
        )


def deregister(directory: TenantDirectory, properties: Mapping[str, Any]) -> list[str]:
    database_id = str(properties["Database"]["database_id"])
    removed = [t for t in properties.get("Tenants", []) if directory.deregister_tenant(t, database_id)]
    directory.remove_database(database_id)
    logger.info("deregistered", extra={"database": database_id, "tenants_removed": removed})
    return removed


@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    import boto3  # only the deployed function talks to DynamoDB

    properties = event["ResourceProperties"]
    directory = TenantDirectory(boto3.resource("dynamodb").Table(properties["TableName"]), ttl_seconds=0)
    if event["RequestType"] == "Delete":
        deregister(directory, properties)
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    old = event.get("OldResourceProperties") if event["RequestType"] == "Update" else None
    return register(directory, properties, old)
