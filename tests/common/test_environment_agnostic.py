"""In an environment-agnostic stack a construct works, or says at construction which env to give."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.dynamodb import DynamoTable, DynamoTableProps, TableEncryption
from dbpatterns.flash_sale import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps
from dbpatterns.ledger import EventSourcedLedger, EventSourcedLedgerProps

PROFILE = DeploymentProfile.SANDBOX
ELSEWHERE = AccountCloudWatchRole.MANAGED_ELSEWHERE
ASK_FOR_ENV = (
    r"allowed only in a stack with a concrete region, .*env=Environment\(account=\.\.\., region=\.\.\.\)"
)


def _table(stack: Stack, encryption: TableEncryption) -> None:
    DynamoTable(
        stack,
        "Table",
        DynamoTableProps(
            profile=PROFILE,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            encryption=encryption,
        ),
    )


def _pipeline(stack: Stack) -> None:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a", "b"], isolated_subnet_ids=["s-1", "s-2"]
    )
    FlashSaleOrderPipeline(
        stack,
        "Orders",
        FlashSaleOrderPipelineProps(profile=PROFILE, vpc=vpc, account_cloud_watch_role=ELSEWHERE),
    )


def _ledger(stack: Stack) -> None:
    EventSourcedLedger(
        stack, "Ledger", EventSourcedLedgerProps(profile=PROFILE, account_cloud_watch_role=ELSEWHERE)
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda s: _table(s, TableEncryption.CUSTOMER_MANAGED),
            r"DynamoTable 'Agnostic/Table': invalid encryption='CUSTOMER_MANAGED'; "
            + ASK_FOR_ENV
            + r"; or use encryption=TableEncryption.AWS_OWNED",
        ),
        (_pipeline, r"FlashSaleOrderPipeline 'Agnostic/Orders': invalid stack='Agnostic'; " + ASK_FOR_ENV),
        (_ledger, r"EventSourcedLedger 'Agnostic/Ledger': invalid stack='Agnostic'; " + ASK_FOR_ENV),
    ],
    ids=["table-with-cmk", "flash-sale", "ledger"],
)
def test_fails_before_defining_anything_when_a_customer_managed_table_needs_a_region(
    build: Callable[[Stack], None], message: str
) -> None:
    stack = Stack(App(), "Agnostic")
    with pytest.raises(PropValidationError, match=message):
        build(stack)
    assert [child.node.id for child in stack.node.children if child.node.id != "Vpc"] == []


@pytest.mark.synth
def test_a_table_with_an_aws_owned_key_works_anywhere() -> None:
    stack = Stack(App(), "Agnostic")
    _table(stack, TableEncryption.AWS_OWNED)
    Template.from_stack(stack).resource_count_is("AWS::DynamoDB::GlobalTable", 1)
