"""Custom resource: apply the tenant schema to one database at deploy time.

Runs in the VPC next to the database (the CDK Provider framework's ``onEvent`` function), with the
database's master secret (RDS-managed, ``{"username": ..., "password": ...}``) read from Secrets
Manager and TLS verify-full against the RDS CA bundle shipped with the function.

Resource properties (strings, as CloudFormation passes them):

- ``Host``, ``Port``, ``Database``: the writer endpoint and database name;
- ``MasterSecretArn``: the master user secret;
- ``IamAuth``: ``"true"`` to ``GRANT rds_iam`` to the app role (the AWS default);
- ``OwnerRole``, ``AppRole``: role names (default ``tenancy_owner`` / ``tenancy_app``);
- ``SchemaVersion``: the newest migration version of the code; changing it makes CloudFormation send
  an Update, which applies the new migrations.

Environment: ``RDS_CA_BUNDLE`` (path of the CA bundle in the function package); ``TLS_MODE``
(``verify-full``, the default; ``disable`` is accepted only for a loopback host, i.e. in tests).

Create and Update migrate (idempotently); Delete does nothing: the schema lives and dies with its
database, whose own removal policy decides (snapshot in production).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import pg8000.native
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.runtime.tenancy.connection import ConnectionSettings, TlsMode, open_connection
from dbpatterns.runtime.tenancy.migrate import DEFAULT_APP_ROLE, DEFAULT_OWNER_ROLE, RoleNames, migrate
from dbpatterns.runtime.tenancy.schema import MIGRATIONS

logger = Logger()

#: The version a stack should pass as ``SchemaVersion`` (the CDK side imports it).
SCHEMA_VERSION = str(max(m.version for m in MIGRATIONS))


def physical_id(properties: Mapping[str, Any]) -> str:
    """Stable per database: a new endpoint or database name is a new resource (the old one's Delete
    is then a no-op)."""
    return f"tenancy-schema:{properties['Host']}:{properties.get('Port', '5432')}/{properties['Database']}"


def master_credentials(secrets_client: Any, secret_arn: str) -> tuple[str, str]:
    secret = json.loads(secrets_client.get_secret_value(SecretId=secret_arn)["SecretString"])
    return str(secret["username"]), str(secret["password"])


def apply_schema(
    properties: Mapping[str, Any],
    *,
    secrets_client: Any,
    ca_bundle: str | None,
    tls: TlsMode = TlsMode.VERIFY_FULL,
    connect: Callable[[ConnectionSettings], pg8000.native.Connection] = open_connection,
) -> dict[str, Any]:
    """Migrate the database the properties describe; the custom resource's response."""
    username, password = master_credentials(secrets_client, str(properties["MasterSecretArn"]))
    settings = ConnectionSettings(
        host=str(properties["Host"]),
        port=int(properties.get("Port", 5432)),
        database=str(properties["Database"]),
        user=username,
        password=lambda: password,
        tls=tls,
        ca_bundle=ca_bundle,
        application_name="dbpatterns-schema-resource",
    )
    roles = RoleNames(
        owner=str(properties.get("OwnerRole", DEFAULT_OWNER_ROLE)),
        app=str(properties.get("AppRole", DEFAULT_APP_ROLE)),
    )
    connection = connect(settings)
    try:
        report = migrate(
            connection, roles=roles, iam_auth=str(properties.get("IamAuth", "true")).lower() == "true"
        )
    finally:
        connection.close()
    logger.info(
        "schema applied",
        extra={"database": physical_id(properties), "applied": report.applied, "roles": report.roles_created},
    )
    return {
        "PhysicalResourceId": physical_id(properties),
        "Data": {"SchemaVersion": str(report.schema_version), "AppRole": roles.app},
    }


@logger.inject_lambda_context
def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    properties = event["ResourceProperties"]
    if event["RequestType"] == "Delete":
        logger.info("delete: the schema stays with its database", extra={"database": physical_id(properties)})
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or physical_id(properties)}
    import boto3  # only the deployed function talks to Secrets Manager

    return apply_schema(
        properties,
        secrets_client=boto3.client("secretsmanager"),
        ca_bundle=os.environ.get("RDS_CA_BUNDLE"),
        tls=TlsMode(os.environ.get("TLS_MODE", TlsMode.VERIFY_FULL.value)),
    )
