"""The runtime tenant directory's DynamoDB table (tenant -> database -> endpoint)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_instance, construct_label
from dbpatterns.dynamodb.table import DynamoTable, DynamoTableProps

#: The partition key the runtime directory (``dbpatterns.runtime.tenancy.directory``) reads and writes.
PARTITION_KEY = "pk"
#: What the example API needs: consistent single-item reads.
LOOKUP_ACTIONS = ("dynamodb:GetItem",)
#: What the directory custom resource needs: conditional puts, reads and conditional deletes.
REGISTER_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")


@dataclass(frozen=True, kw_only=True)
class TenantDirectoryTableProps:
    """Props of :class:`TenantDirectoryTable`."""

    profile: DeploymentProfile
    """Sandbox or production: removal policy and deletion protection follow it (PITR and the
    customer-managed key are on in both)."""


class TenantDirectoryTable(Construct):
    """The directory table: items ``tenant#<id>`` and ``database#<id>`` under partition key ``pk``.

    A :class:`~dbpatterns.dynamodb.table.DynamoTable` (on demand, PITR, customer-managed key). Exposes
    ``table`` (the ``DynamoTable``) and ``table_name``; ``grant_lookup`` and ``grant_register`` grant
    exactly the item actions of the API and of the directory custom resource.
    """

    def __init__(self, scope: Construct, construct_id: str, props: TenantDirectoryTableProps) -> None:
        check_instance(
            construct_label(type(self), scope, construct_id), "profile", props.profile, DeploymentProfile
        )
        super().__init__(scope, construct_id)
        self.table = DynamoTable(
            self,
            "Resource",
            DynamoTableProps(
                partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
                profile=props.profile,
            ),
        )
        self.table_name: str = self.table.table.table_name

    def grant_lookup(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read single items (the API resolving a tenant); IAM only."""
        return self.table.grant(grantee, *LOOKUP_ACTIONS)

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Create, read and delete items (the directory custom resource); IAM only."""
        return self.table.grant(grantee, *REGISTER_ACTIONS)
