"""Use case 3, shared part: what every tenant database of the region uses (directory, groups,
custom-resource providers, the example tenant API). No VPC of its own: the region's network stack
passes it in."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.runtime.tenancy.catalog import POSTGRES_MAJOR_VERSIONS
from dbpatterns.tenancy.database_groups import TenantDatabaseGroups, TenantDatabaseGroupsProps
from dbpatterns.tenancy.directory_table import TenantDirectoryTable, TenantDirectoryTableProps
from dbpatterns.tenancy.driver_layer import pg8000_layer
from dbpatterns.tenancy.move_state_machine import TenantMoveStateMachine, TenantMoveStateMachineProps
from dbpatterns.tenancy.provisioning import TenantProvisioning, TenantProvisioningProps
from dbpatterns.tenancy.tenant_api import ConnectScope, TenantApi, TenantApiProps
from stacks.base import ReferenceStack

#: The feature flag that chooses how aws-cdk-lib renders cross-stack references (``strong``: exports,
#: the default; ``weak``: ``Fn::GetStackOutput``; ``both``) - aws-cdk-lib reads the same context key.
CROSS_STACK_REFERENCES_FLAG = "@aws-cdk/core:defaultCrossStackReferences"


class TenancyStack(ReferenceStack):
    """The tenant directory table, the shared DB subnet and parameter groups, the schema and directory
    providers, the tenant API (Cognito user pool, REST API, function in the VPC) and the tenant move
    state machine (each planned move's replication, in its own stack, lets it run).

    Everything a tenant database stack takes from here is exported up front (:meth:`_pin_exports`),
    so onboarding a tenant - even the first on a new PostgreSQL major version - leaves this stack's
    template unchanged, and removing the last consumer of a value never breaks its export.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        vpc: ec2.IVpc,
        connect_scope: ConnectScope = ConnectScope.PER_DATABASE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.profile = profile
        self.vpc = vpc
        self.directory = TenantDirectoryTable(self, "Directory", TenantDirectoryTableProps(profile=profile))
        self.groups = TenantDatabaseGroups(self, "DatabaseGroups", TenantDatabaseGroupsProps(vpc=vpc))
        driver = pg8000_layer(self, "Pg8000")
        self.provisioning = TenantProvisioning(
            self,
            "Provisioning",
            TenantProvisioningProps(profile=profile, vpc=vpc, directory=self.directory, driver_layer=driver),
        )
        self.api = TenantApi(
            self,
            "Api",
            TenantApiProps(
                profile=profile,
                vpc=vpc,
                directory=self.directory,
                # DbPatterns-ApiGatewayAccount sets it; app_builder makes this stack depend on that one.
                account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
                driver_layer=driver,
                connect_scope=connect_scope,
            ),
        )
        self.moves = TenantMoveStateMachine(
            self, "Moves", TenantMoveStateMachineProps(directory=self.directory, profile=profile)
        )
        self._pin_exports()

        CfnOutput(self, "ApiUrl", value=self.api.api.url, description="Base URL of the tenant API (v1 stage)")
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id, description="Tenant users")
        CfnOutput(
            self,
            "UserPoolClientId",
            value=self.api.user_pool_client.user_pool_client_id,
            description="App client for SRP sign-in (ID token carries custom:tenant_id)",
        )
        CfnOutput(
            self,
            "MoveStateMachineArn",
            value=self.moves.state_machine.state_machine_arn,
            description="Tenant move state machine (aws stepfunctions start-execution)",
        )
        CfnOutput(
            self,
            "DirectoryTableName",
            value=self.directory.table_name,
            description="Runtime tenant directory (tenant# and database# items)",
        )

    def _pin_exports(self) -> None:
        """Publish every value a tenant database stack reads, whether or not one does yet.

        aws-cdk-lib turns a cross-stack reference into an output of this stack, added when the first
        consumer appears: an export (``Fn::ImportValue``, strong references, the default) or an
        output under ``Publish`` read with ``Fn::GetStackOutput`` (weak references, this repository's
        ``cdk.json``). Both are created here for the values tenant stacks use, with the IDs aws-cdk-lib
        would give them (it reuses an existing one), so the template never depends on the tenants;
        ``tests/tenancy`` checks that it does not.
        """
        strength = str(self.node.try_get_context(CROSS_STACK_REFERENCES_FLAG) or "strong")
        for value in self._published_values():
            if strength in ("strong", "both"):
                self.export_value(value)
            if strength in ("weak", "both"):
                self._publish(value)

    def _publish(self, value: str) -> None:
        """The output aws-cdk-lib's weak references create (``Publish/Output<resolved reference>``)."""
        found = self.node.try_find_child("Publish")
        scope = found if isinstance(found, Construct) else Construct(self, "Publish")
        output_id = "Output" + json.dumps(self.resolve(value), separators=(",", ":"))
        if scope.node.try_find_child(output_id) is None:
            CfnOutput(scope, output_id, value=value)

    def _published_values(self) -> list[str]:
        values = [
            self.directory.table_name,
            self.groups.subnet_group.subnet_group_name,
            self.provisioning.schema_service_token,
            self.provisioning.directory_service_token,
            self.provisioning.security_group.security_group_id,
            self.provisioning.schema_role.role_arn,
            self.api.security_group.security_group_id,
            self.api.role.role_name,
            self.moves.role.role_name,
        ]
        for major in POSTGRES_MAJOR_VERSIONS:
            values.append(self.groups.instance_parameter_group(major).bind_to_instance().parameter_group_name)
            values.append(self.groups.cluster_parameter_group(major).bind_to_cluster().parameter_group_name)
        return values
