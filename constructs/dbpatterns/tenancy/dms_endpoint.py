"""An AWS DMS endpoint on a tenant database: the master secret read by a role DMS assumes, TLS
verify-full against the RDS certificate authorities, and the moved tenant's context on every session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_dms as dms
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.interfaces import check_key
from dbpatterns.common.roles import ManagedPolicyRole
from dbpatterns.common.validation import check_instance, check_required, construct_label, require
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.ids import check_tenant_id
from dbpatterns.tenancy.tenant_database import DATABASE_NAME, TenantDatabase

#: DMS engine names of the tiers' databases (RDS for PostgreSQL, Aurora PostgreSQL).
ENGINE_NAMES = {Tier.POOLED: "postgres", Tier.STANDARD: "postgres", Tier.ENTERPRISE: "aurora-postgresql"}
#: DMS supports ``none``, ``require``, ``verify-ca`` and ``verify-full`` for PostgreSQL and Aurora
#: PostgreSQL; verify-full checks the chain *and* the host name, as the tenant API's driver does.
SSL_MODE = "verify-full"
#: The custom GUC the row-level-security policies read (``dbpatterns.runtime.tenancy.schema``).
TENANT_SETTING = "app.tenant_id"


class EndpointRole(enum.Enum):
    """Which side of the replication the endpoint is (DMS ``EndpointType``)."""

    SOURCE = "source"
    TARGET = "target"


@dataclass(frozen=True, kw_only=True)
class TenantDmsEndpointProps:
    """Props of :class:`TenantDmsEndpoint`."""

    database: TenantDatabase
    """The tenant database DMS reads from or writes to (its master secret, key, host and tier)."""
    role: EndpointRole
    """Source or target."""
    tenant_id: str
    """The tenant being moved: every DMS session sets ``app.tenant_id`` to it, so the forced
    row-level-security policies let DMS read and write that tenant's rows and no other's."""
    certificate: dms.CfnCertificate
    """The imported RDS certificate authorities (``verify-full`` needs them)."""
    encryption_key: kms.IKey
    """The key DMS encrypts the endpoint's connection settings with."""


class TenantDmsEndpoint(Construct):
    """A DMS ``postgres`` / ``aurora-postgresql`` endpoint (``CfnEndpoint``) on a
    :class:`~dbpatterns.tenancy.tenant_database.TenantDatabase`.

    - Credentials: the database's master secret (host, port, user, password), read by DMS through
      ``access_role`` (trusts ``dms.<region>.amazonaws.com``; ``secretsmanager:GetSecretValue`` on that
      secret only, ``kms:Decrypt`` on the secret's key only through Secrets Manager). The master user
      is used because logical replication slots on RDS need ``rds_superuser`` / ``rds_replication``.
    - TLS: ``verify-full`` with ``certificate`` (the RDS CAs); the databases refuse plain text anyway.
    - ``AfterConnectScript`` sets ``app.tenant_id``: the tables force row-level security, so without it
      the full load would read nothing and writes would fail the policy's ``WITH CHECK``; with it the
      policy is a second wall behind the table mapping's ``tenant_id`` filter.
    - Source only: ``CaptureDdls`` off (the schema is managed by migrations on both sides, and DMS
      would otherwise install DDL event triggers in the tenant database); the ``test_decoding`` plugin.

    Exposes ``endpoint`` (the L1), ``endpoint_arn`` and ``access_role``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: TenantDmsEndpointProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        check_instance(label, "database", props.database, TenantDatabase)
        check_instance(label, "role", props.role, EndpointRole)
        check_tenant_id(props.tenant_id, where=label, prop="tenant_id")
        require(
            props.tenant_id in props.database.tenants or props.role is EndpointRole.TARGET,
            label,
            "tenant_id",
            props.tenant_id,
            f"allowed for a source: a tenant of {props.database.database_id} "
            f"({list(props.database.tenants)})",
        )
        check_required(label, "certificate", props.certificate)
        check_instance(label, "certificate", props.certificate, dms.CfnCertificate)
        check_key(label, props.encryption_key, optional=False)
        super().__init__(scope, construct_id)
        database = props.database
        region = Stack.of(self).region

        self.access_role = ManagedPolicyRole(
            self,
            "AccessRole",
            assumed_by=iam.ServicePrincipal(f"dms.{region}.amazonaws.com"),
            description=f"DMS reads the master secret of {database.database_id} "
            f"({props.role.value} endpoint)",
        )
        self.access_role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[database.secret.secret_arn],
            )
        )
        self.access_role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[database.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            )
        )

        settings: dict[str, object] = {
            "secrets_manager_access_role_arn": self.access_role.role_arn,
            "secrets_manager_secret_id": database.secret.secret_arn,
            "after_connect_script": f"SET {TENANT_SETTING} = '{props.tenant_id}'",
        }
        if props.role is EndpointRole.SOURCE:
            settings.update(capture_ddls=False, plugin_name="test-decoding")
        self.endpoint = dms.CfnEndpoint(
            self,
            "Resource",
            endpoint_type=props.role.value,
            engine_name=ENGINE_NAMES[database.tier],
            database_name=DATABASE_NAME,
            ssl_mode=SSL_MODE,
            certificate_arn=props.certificate.ref,
            kms_key_id=props.encryption_key.key_arn,
            postgre_sql_settings=dms.CfnEndpoint.PostgreSqlSettingsProperty(**settings),  # type: ignore[arg-type]
        )
        # DMS tests the connection when the endpoint is used: the role must be able to read by then.
        self.endpoint.node.add_dependency(self.access_role)
        self.endpoint_arn: str = self.endpoint.ref
