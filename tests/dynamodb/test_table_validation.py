"""DynamoTable refuses invalid props with a clear Python error, before defining anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb

from dbpatterns.capacity import Workload
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.dynamodb.table import CapacityMode, DynamoTable, DynamoTableProps, TableEncryption
from stacks.config import AppConfig
from tests.support.synth import new_app

S = dynamodb.AttributeType.STRING
PK = dynamodb.Attribute(name="pk", type=S)
SK = dynamodb.Attribute(name="sk", type=S)


def gsi(name: str) -> dynamodb.GlobalSecondaryIndexPropsV2:
    return dynamodb.GlobalSecondaryIndexPropsV2(
        index_name=name, partition_key=dynamodb.Attribute(name="g", type=S)
    )


def lsi(name: str) -> dynamodb.LocalSecondaryIndexProps:
    return dynamodb.LocalSecondaryIndexProps(index_name=name, sort_key=dynamodb.Attribute(name="l", type=S))


@pytest.fixture
def build() -> Callable[..., Stack]:
    """Builds a DynamoTable from keyword props; returns its (fresh) stack."""
    stack = Stack(new_app(), "Test", env=AppConfig().env())

    def _build(**overrides: Any) -> Stack:
        props: dict[str, Any] = {"partition_key": PK, "profile": DeploymentProfile.PRODUCTION, **overrides}
        DynamoTable(stack, "Table", DynamoTableProps(**props))
        return stack

    return _build


def assert_rejected(build: Callable[..., Stack], match: str, **overrides: Any) -> None:
    with pytest.raises(PropValidationError, match=match) as error:
        build(**overrides)
    assert "Traceback" not in str(error.value)  # a Python message, not a jsii JavaScript trace


@pytest.mark.parametrize("period", [Duration.days(0), Duration.days(36), Duration.hours(36)])
def test_rejects_pitr_period_outside_whole_days_1_to_35(
    build: Callable[..., Stack], period: Duration
) -> None:
    days = period.to_hours() / 24
    assert_rejected(
        build, rf"recovery_period \(days\)={days}; allowed: whole days from 1 to 35", recovery_period=period
    )


def test_error_names_the_construct_path(build: Callable[..., Stack]) -> None:
    assert_rejected(build, r"^DynamoTable 'Test/Table': invalid", recovery_period=Duration.days(99))


@pytest.mark.parametrize(
    ("prop", "value", "match"),
    [
        ("capacity_mode", "on_demand", r"capacity_mode='on_demand'; allowed: a CapacityMode"),
        ("encryption", "aws_owned", r"encryption='aws_owned'; allowed: a TableEncryption"),
        ("stream", "NEW_IMAGE", r"stream='NEW_IMAGE'; allowed: a StreamViewType"),
        ("profile", "production", r"profile='production'; allowed: a DeploymentProfile"),
        ("partition_key", None, r"partition_key=None; required"),
        ("partition_key", "pk", r"partition_key='pk'; allowed: a Attribute"),
        ("target_utilization_percent", 70.5, r"target_utilization_percent=70.5; allowed: a whole number"),
        ("max_read_request_units", "100", r"max_read_request_units='100'; allowed: a whole number"),
        ("recovery_period", 35, r"recovery_period=35; allowed: a Duration"),
    ],
)
def test_rejects_wrong_types_with_a_python_error(
    build: Callable[..., Stack], prop: str, value: object, match: str
) -> None:
    assert_rejected(build, match, **{prop: value})


@pytest.mark.parametrize("name", ["ab", "orders table", "x" * 256, "orders/2026"])
def test_rejects_table_names_dynamodb_refuses(build: Callable[..., Stack], name: str) -> None:
    assert_rejected(build, r"table_name=.*allowed: 3-255 characters", table_name=name)


def test_rejects_index_names_dynamodb_refuses(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build, r"index_name='by customer'; allowed: 3-255", global_secondary_indexes=[gsi("by customer")]
    )


def test_rejects_empty_or_oversized_attribute_names(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"partition_key.name=''; allowed: a non-empty attribute name of at most 255 bytes",
        partition_key=dynamodb.Attribute(name="", type=S),
    )
    assert_rejected(build, r"time_to_live_attribute='ééé", time_to_live_attribute="é" * 128)


@pytest.mark.parametrize(
    ("warm", "match"),
    [
        (
            dynamodb.WarmThroughput(read_units_per_second=12_000),
            r"read_units_per_second=12000; allowed: more",
        ),
        (
            dynamodb.WarmThroughput(write_units_per_second=4_000),
            r"write_units_per_second=4000; allowed: more",
        ),
        (
            dynamodb.WarmThroughput(write_units_per_second=9_000.5),
            r"write_units_per_second=9000.5; allowed: a",
        ),
        (dynamodb.WarmThroughput(), r"warm_throughput=.*at least one of the two"),
    ],
)
def test_rejects_warm_throughput_that_pre_warms_nothing(
    build: Callable[..., Stack], warm: dynamodb.WarmThroughput, match: str
) -> None:
    assert_rejected(build, match, warm_throughput=warm)


def test_accepts_warm_throughput_above_the_on_demand_defaults(build: Callable[..., Stack]) -> None:
    stack = build(warm_throughput=dynamodb.WarmThroughput(write_units_per_second=20_000))
    assert stack.node.try_find_child("Table") is not None


def test_rejects_more_than_20_global_secondary_indexes(build: Callable[..., Stack]) -> None:
    indexes = [gsi(f"gsi{i}") for i in range(21)]
    assert_rejected(
        build, r"global_secondary_indexes='21 entries'; allowed: at most 20", global_secondary_indexes=indexes
    )


def test_rejects_more_than_5_local_secondary_indexes(build: Callable[..., Stack]) -> None:
    indexes = [lsi(f"lsi{i}") for i in range(6)]
    assert_rejected(
        build,
        r"local_secondary_indexes='6 entries'; allowed: at most 5",
        sort_key=SK,
        local_secondary_indexes=indexes,
    )


def test_rejects_a_local_index_on_a_table_without_sort_key(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"local_secondary_indexes=\['by-x'\]; allowed only on a table with a sort_key",
        local_secondary_indexes=[lsi("by-x")],
    )


def test_rejects_duplicate_index_names(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"index names='by-x'; names must be unique",
        sort_key=SK,
        global_secondary_indexes=[gsi("by-x")],
        local_secondary_indexes=[lsi("by-x")],
    )


def test_rejects_provisioned_capacity_without_workload_or_units(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"workload=None; capacity_mode=PROVISIONED needs a workload",
        capacity_mode=CapacityMode.PROVISIONED,
    )


def test_rejects_provisioned_capacity_with_only_read_units(build: Callable[..., Stack]) -> None:
    assert_rejected(build, r"workload=None", capacity_mode=CapacityMode.PROVISIONED, read_capacity=5)


def test_rejects_workload_and_explicit_units_together(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"give a workload or explicit capacity, not both",
        capacity_mode=CapacityMode.PROVISIONED,
        workload=Workload.from_kb(1, writes_per_second=1),
        read_capacity=5,
        write_capacity=5,
    )


def test_rejects_min_capacity_above_max(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"max_read_capacity=5; allowed: at least the minimum capacity 10",
        capacity_mode=CapacityMode.PROVISIONED,
        read_capacity=10,
        write_capacity=10,
        max_read_capacity=5,
    )


def test_rejects_zero_capacity_units(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"write_capacity=0; allowed: at least 1",
        capacity_mode=CapacityMode.PROVISIONED,
        read_capacity=1,
        write_capacity=0,
    )


def test_rejects_a_workload_on_an_on_demand_table(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"workload=.*allowed only with capacity_mode=PROVISIONED",
        workload=Workload.from_kb(1, reads_per_second=1),
    )


def test_rejects_on_demand_ceilings_on_a_provisioned_table(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"max_read_request_units=100; allowed only with capacity_mode=ON_DEMAND",
        capacity_mode=CapacityMode.PROVISIONED,
        read_capacity=1,
        write_capacity=1,
        max_read_request_units=100,
    )


def test_rejects_target_utilization_outside_20_to_90(build: Callable[..., Stack]) -> None:
    assert_rejected(
        build,
        r"target_utilization_percent=95; allowed: 20 to 90",
        capacity_mode=CapacityMode.PROVISIONED,
        read_capacity=1,
        write_capacity=1,
        target_utilization_percent=95,
    )


def test_rejects_a_key_with_aws_owned_encryption(build: Callable[..., Stack]) -> None:
    from aws_cdk import aws_kms as kms

    stack = Stack(new_app(), "KeyStack")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    assert_rejected(
        build,
        r"encryption_key=.*allowed: only with encryption=CUSTOMER_MANAGED",
        encryption=TableEncryption.AWS_OWNED,
        encryption_key=key,
    )


def test_defines_nothing_when_props_are_invalid() -> None:
    stack = Stack(new_app(), "Untouched")
    with pytest.raises(PropValidationError):
        DynamoTable(
            stack,
            "Table",
            DynamoTableProps(
                partition_key=PK, profile=DeploymentProfile.SANDBOX, recovery_period=Duration.days(99)
            ),
        )
    assert stack.node.children == []
