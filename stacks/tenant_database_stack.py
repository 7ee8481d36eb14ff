"""Use case 3, one database of the fleet per stack: a pooled shard (``DbPatterns-TenantPool-001``) or
a standard / enterprise tenant's own database (``DbPatterns-Tenant-<id>``, and
``DbPatterns-Tenant-<id>--gen<N>`` from its second dedicated database on)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.runtime.tenancy.catalog import DatabaseOverrides, Tier
from dbpatterns.tenancy.tenant_database import TenantDatabase, TenantDatabaseProps
from stacks.base import ReferenceStack
from stacks.tenancy_stack import TenancyStack


class TenantDatabaseStack(ReferenceStack):
    """One :class:`~dbpatterns.tenancy.tenant_database.TenantDatabase` on the shared parts of
    ``shared``. Onboarding a tenant changes only this stack (a pooled shard's tenant list, or a new
    stack for a dedicated tenant)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        shared: TenancyStack,
        database_id: str,
        tier: Tier,
        tenants: Sequence[str],
        overrides: DatabaseOverrides,
        secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tenant_database = TenantDatabase(
            self,
            "Database",
            TenantDatabaseProps(
                database_id=database_id,
                tier=tier,
                tenants=tenants,
                profile=shared.profile,
                vpc=shared.vpc,
                groups=shared.groups,
                provisioning=shared.provisioning,
                directory=shared.directory,
                api=shared.api,
                overrides=overrides,
                secrets_manager_endpoint=secrets_manager_endpoint,
                dashboard_name=construct_id if tier is Tier.POOLED else None,
            ),
        )
        database = self.tenant_database
        CfnOutput(
            self, "WriterEndpoint", value=database.writer_host, description="Writer endpoint (port 5432)"
        )
        if database.reader_host is not None:
            CfnOutput(
                self, "ReaderEndpoint", value=database.reader_host, description="Reader endpoint (reports)"
            )
        CfnOutput(
            self,
            "ResourceId",
            value=database.resource_id,
            description="DbiResourceId / cluster resource id: aws pi --identifier, rds-db:connect ARNs",
        )
