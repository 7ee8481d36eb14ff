"""A DynamoDB table with durable, encrypted defaults and validated capacity settings."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.capacity import Workload, plan
from dbpatterns.common.encryption import create_key
from dbpatterns.common.metrics import metric_kwargs
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    PropValidationError,
    check_concrete_region,
    check_count,
    check_instance,
    check_int,
    check_range,
    check_required,
    check_unique,
    construct_label,
    is_unresolved,
    require,
)

#: DynamoDB service limits (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
MAX_GSI_COUNT = 20
MAX_LSI_COUNT = 5
MIN_PITR_DAYS, MAX_PITR_DAYS = 1, 35
MIN_TARGET_UTILIZATION, MAX_TARGET_UTILIZATION = 20, 90
#: Table and index names: 3-255 characters of a-z, A-Z, 0-9, ``_``, ``-`` and ``.``
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
#: Key and TTL attribute names: 1-255 bytes of UTF-8 (same page, "Attribute names").
MAX_KEY_ATTRIBUTE_BYTES = 255
#: Warm throughput every new on-demand table already has; asking for less or as much changes nothing
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html).
ON_DEMAND_WARM_READS, ON_DEMAND_WARM_WRITES = 12_000, 4_000


class CapacityMode(enum.Enum):
    """How the table is billed."""

    #: Pay per request; no capacity planning (the default).
    ON_DEMAND = "on_demand"
    #: Provisioned RCU/WCU with target-tracking auto scaling.
    PROVISIONED = "provisioned"


class TableEncryption(enum.Enum):
    """Who owns the key that encrypts the table at rest (DynamoDB always encrypts)."""

    #: A customer-managed KMS key: key policy, rotation and CloudTrail records are yours (the default).
    CUSTOMER_MANAGED = "customer_managed"
    #: A key owned by DynamoDB: free, but you cannot audit or restrict its use.
    AWS_OWNED = "aws_owned"


@dataclass(frozen=True, kw_only=True)
class TableReplica:
    """A replica of the table in another region: the table becomes a global table."""

    #: The replica's region (not the stack's own region, which holds the table itself).
    region: str
    #: The customer-managed key that encrypts the replica, in ``region`` - required with
    #: ``encryption=CUSTOMER_MANAGED`` (a KMS key never leaves its region), refused with ``AWS_OWNED``.
    encryption_key: kms.IKey | None = None


@dataclass(frozen=True, kw_only=True)
class DynamoTableProps:
    """Props of :class:`DynamoTable`."""

    #: Partition key attribute.
    partition_key: dynamodb.Attribute
    #: Sandbox or production: removal policy and deletion protection follow it.
    profile: DeploymentProfile
    #: Sort key attribute - none by default.
    sort_key: dynamodb.Attribute | None = None
    #: Global secondary indexes (at most 20) - none by default.
    global_secondary_indexes: Sequence[dynamodb.GlobalSecondaryIndexPropsV2] = ()
    #: Local secondary indexes (at most 5; the table needs a sort key) - none by default.
    local_secondary_indexes: Sequence[dynamodb.LocalSecondaryIndexProps] = ()
    #: On-demand or provisioned - on-demand by default.
    capacity_mode: CapacityMode = CapacityMode.ON_DEMAND
    #: Provisioned only: the workload the capacity planner sizes the table for. Give this or
    #: ``read_capacity``/``write_capacity``, not both.
    workload: Workload | None = None
    #: Provisioned only: minimum read capacity units (auto scaling floor).
    read_capacity: int | None = None
    #: Provisioned only: minimum write capacity units (auto scaling floor).
    write_capacity: int | None = None
    #: Provisioned only: auto scaling ceiling for reads - 4 x the minimum by default.
    max_read_capacity: int | None = None
    #: Provisioned only: auto scaling ceiling for writes - 4 x the minimum by default.
    max_write_capacity: int | None = None
    #: Provisioned only: auto scaling target utilization in percent (20-90) - 70 by default.
    target_utilization_percent: int = 70
    #: On-demand only: ceiling on read request units per second (a cost guard) - none by default.
    max_read_request_units: int | None = None
    #: On-demand only: ceiling on write request units per second (a cost guard) - none by default.
    max_write_request_units: int | None = None
    #: Name of the TTL attribute (epoch seconds) - no TTL by default.
    time_to_live_attribute: str | None = None
    #: What the table's stream carries - no stream by default.
    stream: dynamodb.StreamViewType | None = None
    #: Point-in-time recovery - on by default.
    point_in_time_recovery: bool = True
    #: How far back PITR can restore (whole days, 1-35) - 35 days by default.
    recovery_period: Duration = field(default_factory=lambda: Duration.days(MAX_PITR_DAYS))
    #: Deletion protection - on in production, off in a sandbox by default.
    deletion_protection: bool | None = None
    #: Key ownership - a customer-managed key by default.
    encryption: TableEncryption = TableEncryption.CUSTOMER_MANAGED
    #: The customer-managed key to use - a new key with rotation by default.
    encryption_key: kms.IKey | None = None
    #: CloudWatch Contributor Insights (most-accessed and most-throttled keys) - off by default.
    contributor_insights: bool = False
    #: Pre-warmed throughput for a known peak (e.g. a flash sale) - none by default. On an on-demand
    #: table each value given must exceed what a new table already has (12,000 reads/s, 4,000 writes/s).
    warm_throughput: dynamodb.WarmThroughput | None = None
    #: Physical table name - generated by CloudFormation by default (lets stacks be deployed twice).
    table_name: str | None = None
    #: Replicas in other regions (a global table; the stack needs a concrete region) - none by default.
    #: Each replica gets the table's PITR, deletion protection and contributor insights settings.
    #: CloudFormation adds or removes one replica per deployment: change this list one region at a time.
    replicas: Sequence[TableReplica] = ()


class DynamoTable(Construct):
    """A DynamoDB table (``AWS::DynamoDB::GlobalTable`` through ``TableV2``) with safe defaults.

    Defaults: on-demand, PITR for 35 days, customer-managed KMS key with rotation, deletion
    protection and RETAIN in production. Exposes ``table`` and ``encryption_key`` (``None`` for
    AWS-owned encryption), plus ``grant_*`` and ``metric_*`` helpers.
    """

    def __init__(self, scope: Construct, construct_id: str, props: DynamoTableProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        _validate(name, props)
        _validate_replicas(name, props, Stack.of(scope).region)
        if props.encryption is TableEncryption.CUSTOMER_MANAGED:
            check_concrete_region(
                name,
                scope,
                "encryption",
                props.encryption.name,
                because="TableV2 renders customer-managed-key settings per region",
                alternative="use encryption=TableEncryption.AWS_OWNED",
            )
        super().__init__(scope, construct_id)

        self.encryption_key: kms.IKey | None = None
        if props.encryption is TableEncryption.CUSTOMER_MANAGED:
            self.encryption_key = props.encryption_key or create_key(
                self,
                "Key",
                description=f"Encrypts the DynamoDB table {self.node.path}",
                profile=props.profile,
            )
            encryption = dynamodb.TableEncryptionV2.customer_managed_key(
                self.encryption_key,
                {
                    replica.region: replica.encryption_key.key_arn
                    for replica in props.replicas
                    if replica.encryption_key is not None
                }
                or None,
            )
        else:
            encryption = dynamodb.TableEncryptionV2.dynamo_owned_key()

        deletion_protection = props.profile.pick(props.deletion_protection, production=True, sandbox=False)
        self.table = dynamodb.TableV2(
            self,
            "Resource",
            partition_key=props.partition_key,
            sort_key=props.sort_key,
            table_name=props.table_name,
            billing=_billing(props),
            global_secondary_indexes=list(props.global_secondary_indexes) or None,
            local_secondary_indexes=list(props.local_secondary_indexes) or None,
            time_to_live_attribute=props.time_to_live_attribute,
            dynamo_stream=props.stream,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=props.point_in_time_recovery,
                recovery_period_in_days=int(props.recovery_period.to_days())
                if props.point_in_time_recovery
                else None,
            ),
            deletion_protection=deletion_protection,
            encryption=encryption,
            contributor_insights_specification=dynamodb.ContributorInsightsSpecification(enabled=True)
            if props.contributor_insights
            else None,
            warm_throughput=props.warm_throughput,
            removal_policy=props.profile.removal_policy,
            replicas=[dynamodb.ReplicaTableProps(region=replica.region) for replica in props.replicas]
            or None,
        )

    # Grants (they include the KMS permissions a customer-managed key needs).
    def grant_read_data(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.table.grant_read_data(grantee)

    def grant_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.table.grant_write_data(grantee)

    def grant_read_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.table.grant_read_write_data(grantee)

    def grant_stream_read(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.table.grant_stream_read(grantee)

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Exactly ``actions`` on the table and its indexes, plus decrypt/encrypt on its key."""
        grant = self.table.grant(grantee, *actions)
        if self.encryption_key is not None:
            # Named actions, not CDK's encrypt/decrypt set (kms:ReEncrypt*, GenerateDataKey* wildcards).
            self.encryption_key.grant(
                grantee, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"
            )
        return grant

    # Metrics: named for DynamoDB's CloudWatch metrics, options passed through to TableV2's own methods.
    def metric_throttled_requests_for_operations(
        self, operations: Sequence[dynamodb.Operation], props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.IMetric:
        """``ThrottledRequests`` summed over ``operations``."""
        return self.table.metric_throttled_requests_for_operations(
            operations=list(operations), **metric_kwargs(props)
        )

    def metric_system_errors_for_operations(
        self, operations: Sequence[dynamodb.Operation], props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.IMetric:
        """``SystemErrors`` summed over ``operations``."""
        return self.table.metric_system_errors_for_operations(
            operations=list(operations), **metric_kwargs(props)
        )

    def metric_user_errors(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``UserErrors`` (account-wide in the region, as DynamoDB publishes it)."""
        return self.table.metric_user_errors(**metric_kwargs(props))

    def metric_conditional_check_failed_requests(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``ConditionalCheckFailedRequests``: refused conditional writes (duplicates, lost races)."""
        return self.table.metric_conditional_check_failed_requests(**metric_kwargs(props))

    def metric_consumed_write_capacity_units(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``ConsumedWriteCapacityUnits``."""
        return self.table.metric_consumed_write_capacity_units(**metric_kwargs(props))

    def metric_consumed_read_capacity_units(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``ConsumedReadCapacityUnits``."""
        return self.table.metric_consumed_read_capacity_units(**metric_kwargs(props))


def _validate(name: str, props: DynamoTableProps) -> None:
    _validate_types(name, props)
    _validate_names(name, props)
    check_warm_throughput(name, props.warm_throughput, props.capacity_mode)
    check_count(name, "global_secondary_indexes", props.global_secondary_indexes, maximum=MAX_GSI_COUNT)
    check_count(name, "local_secondary_indexes", props.local_secondary_indexes, maximum=MAX_LSI_COUNT)
    require(
        not props.local_secondary_indexes or props.sort_key is not None,
        name,
        "local_secondary_indexes",
        [i.index_name for i in props.local_secondary_indexes],
        "allowed only on a table with a sort_key (an LSI shares the table's partition key)",
    )
    check_unique(
        name,
        "index names",
        [i.index_name for i in props.global_secondary_indexes]
        + [i.index_name for i in props.local_secondary_indexes],
    )
    days = props.recovery_period.to_hours() / 24
    require(
        days == int(days) and MIN_PITR_DAYS <= days <= MAX_PITR_DAYS,
        name,
        "recovery_period (days)",
        days,
        f"allowed: whole days from {MIN_PITR_DAYS} to {MAX_PITR_DAYS}",
    )
    require(
        props.encryption_key is None or props.encryption is TableEncryption.CUSTOMER_MANAGED,
        name,
        "encryption_key",
        "a key with encryption=AWS_OWNED",
        "allowed: only with encryption=CUSTOMER_MANAGED",
    )

    provisioned_props = {
        "workload": props.workload,
        "read_capacity": props.read_capacity,
        "write_capacity": props.write_capacity,
        "max_read_capacity": props.max_read_capacity,
        "max_write_capacity": props.max_write_capacity,
    }
    if props.capacity_mode is CapacityMode.ON_DEMAND:
        for prop, value in provisioned_props.items():
            require(value is None, name, prop, value, "allowed only with capacity_mode=PROVISIONED")
        check_range(name, "max_read_request_units", props.max_read_request_units, minimum=1)
        check_range(name, "max_write_request_units", props.max_write_request_units, minimum=1)
        return

    for prop in ("max_read_request_units", "max_write_request_units"):
        value = getattr(props, prop)
        require(value is None, name, prop, value, "allowed only with capacity_mode=ON_DEMAND")
    explicit = props.read_capacity is not None or props.write_capacity is not None
    if props.workload is None and not (props.read_capacity is not None and props.write_capacity is not None):
        raise PropValidationError(
            name,
            "workload",
            None,
            "capacity_mode=PROVISIONED needs a workload, or both read_capacity and write_capacity",
        )
    require(
        props.workload is None or not explicit,
        name,
        "read_capacity/write_capacity",
        (props.read_capacity, props.write_capacity),
        "give a workload or explicit capacity, not both",
    )
    minimum_read, minimum_write = _minimum_capacity(props)
    check_range(name, "read_capacity", minimum_read, minimum=1)
    check_range(name, "write_capacity", minimum_write, minimum=1)
    for prop, floor, ceiling in (
        ("max_read_capacity", minimum_read, props.max_read_capacity),
        ("max_write_capacity", minimum_write, props.max_write_capacity),
    ):
        if ceiling is not None and ceiling < floor:
            raise PropValidationError(name, prop, ceiling, f"allowed: at least the minimum capacity {floor}")
    check_range(
        name,
        "target_utilization_percent",
        props.target_utilization_percent,
        minimum=MIN_TARGET_UTILIZATION,
        maximum=MAX_TARGET_UTILIZATION,
    )


#: A region name such as ``eu-west-1`` (or ``us-gov-west-1``).
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


def _validate_replicas(name: str, props: DynamoTableProps, stack_region: str) -> None:
    """Replica regions: concrete, distinct, not the table's own; one key per replica for a CMK."""
    if not props.replicas:
        return
    for replica in props.replicas:
        check_instance(name, "replicas[]", replica, TableReplica)
    require(
        not is_unresolved(stack_region),
        name,
        "replicas",
        [replica.region for replica in props.replicas],
        "allowed: only in a stack with a concrete region (env=Environment(region=...)): a global table's "
        "replicas are placed relative to the stack's region",
    )
    regions = [replica.region for replica in props.replicas]
    check_unique(name, "replicas[].region", regions)
    for replica in props.replicas:
        require(
            isinstance(replica.region, str) and bool(_REGION_PATTERN.match(replica.region)),
            name,
            "replicas[].region",
            replica.region,
            "allowed: a region name such as 'eu-west-1'",
        )
        require(
            replica.region != stack_region,
            name,
            "replicas[].region",
            replica.region,
            f"allowed: a region other than the stack's ({stack_region}), which holds the table itself",
        )
        if props.encryption is TableEncryption.CUSTOMER_MANAGED:
            require(
                replica.encryption_key is not None,
                name,
                f"replicas[{replica.region}].encryption_key",
                None,
                "required with encryption=CUSTOMER_MANAGED: a KMS key in the replica's region "
                "(keys never leave their region)",
            )
            key_region = replica.encryption_key.env.region if replica.encryption_key is not None else None
            require(
                key_region is None or is_unresolved(key_region) or key_region == replica.region,
                name,
                f"replicas[{replica.region}].encryption_key",
                f"a key in {key_region}",
                f"allowed: a key in {replica.region}, the replica's region",
            )
        else:
            require(
                replica.encryption_key is None,
                name,
                f"replicas[{replica.region}].encryption_key",
                "a key with encryption=AWS_OWNED",
                "allowed: only with encryption=CUSTOMER_MANAGED",
            )


def _validate_types(name: str, props: DynamoTableProps) -> None:
    """Types first: a string where an enum belongs would otherwise fail deep inside jsii."""
    check_required(name, "partition_key", props.partition_key)
    check_instance(name, "partition_key", props.partition_key, dynamodb.Attribute)
    check_instance(name, "sort_key", props.sort_key, dynamodb.Attribute, optional=True)
    check_instance(name, "profile", props.profile, DeploymentProfile)
    check_instance(name, "capacity_mode", props.capacity_mode, CapacityMode)
    check_instance(name, "encryption", props.encryption, TableEncryption)
    check_instance(name, "stream", props.stream, dynamodb.StreamViewType, optional=True)
    check_instance(name, "recovery_period", props.recovery_period, Duration)
    check_instance(name, "point_in_time_recovery", props.point_in_time_recovery, bool)
    check_instance(name, "contributor_insights", props.contributor_insights, bool)
    check_instance(name, "deletion_protection", props.deletion_protection, bool, optional=True)
    for prop in (
        "read_capacity",
        "write_capacity",
        "max_read_capacity",
        "max_write_capacity",
        "max_read_request_units",
        "max_write_request_units",
    ):
        check_int(name, prop, getattr(props, prop), optional=True)
    check_int(name, "target_utilization_percent", props.target_utilization_percent)


def _check_name(name: str, prop: str, value: str | None) -> None:
    if value is None or is_unresolved(value):
        return
    require(
        isinstance(value, str) and bool(NAME_PATTERN.match(value)),
        name,
        prop,
        value,
        "allowed: 3-255 characters of letters, digits, '_', '-' and '.'",
    )


def _check_attribute_name(name: str, prop: str, value: str | None) -> None:
    if value is None or is_unresolved(value):
        return
    require(
        isinstance(value, str) and 0 < len(value.encode()) <= MAX_KEY_ATTRIBUTE_BYTES,
        name,
        prop,
        value,
        f"allowed: a non-empty attribute name of at most {MAX_KEY_ATTRIBUTE_BYTES} bytes",
    )


def _validate_names(name: str, props: DynamoTableProps) -> None:
    _check_name(name, "table_name", props.table_name)
    _check_attribute_name(name, "partition_key.name", props.partition_key.name)
    if props.sort_key is not None:
        _check_attribute_name(name, "sort_key.name", props.sort_key.name)
    _check_attribute_name(name, "time_to_live_attribute", props.time_to_live_attribute)
    for index in props.global_secondary_indexes:
        _check_name(name, "global_secondary_indexes[].index_name", index.index_name)
        if index.partition_key is not None:
            _check_attribute_name(name, f"{index.index_name}.partition_key.name", index.partition_key.name)
        if index.sort_key is not None:
            _check_attribute_name(name, f"{index.index_name}.sort_key.name", index.sort_key.name)
    for local in props.local_secondary_indexes:
        _check_name(name, "local_secondary_indexes[].index_name", local.index_name)
        _check_attribute_name(name, f"{local.index_name}.sort_key.name", local.sort_key.name)


def check_warm_throughput(
    name: str,
    warm: dynamodb.WarmThroughput | None,
    capacity_mode: CapacityMode = CapacityMode.ON_DEMAND,
    prop: str = "warm_throughput",
) -> None:
    """Fail unless ``warm`` pre-warms something: whole units, and on an on-demand table more than a
    new table already has. Constructs that create a table for the caller call it before defining it."""
    if warm is None:
        return
    reads, writes = warm.read_units_per_second, warm.write_units_per_second
    require(
        reads is not None or writes is not None,
        name,
        prop,
        "neither read_units_per_second nor write_units_per_second",
        "allowed: at least one of the two",
    )
    check_int(name, f"{prop}.read_units_per_second", reads, optional=True)
    check_int(name, f"{prop}.write_units_per_second", writes, optional=True)
    if capacity_mode is not CapacityMode.ON_DEMAND:
        check_range(name, f"{prop}.read_units_per_second", reads, minimum=1)
        check_range(name, f"{prop}.write_units_per_second", writes, minimum=1)
        return
    for field_name, value, default in (
        (f"{prop}.read_units_per_second", reads, ON_DEMAND_WARM_READS),
        (f"{prop}.write_units_per_second", writes, ON_DEMAND_WARM_WRITES),
    ):
        if value is not None and not is_unresolved(value) and value <= default:
            raise PropValidationError(
                name,
                field_name,
                value,
                f"allowed: more than {default:,}, what every new on-demand table already has "
                "(a lower value pre-warms nothing); leave it unset instead",
            )


def _minimum_capacity(props: DynamoTableProps) -> tuple[int, int]:
    if props.workload is not None:
        capacity = plan(props.workload)
        return capacity.read_capacity_units, capacity.write_capacity_units
    # _validate guarantees both are set when there is no workload.
    return props.read_capacity or 0, props.write_capacity or 0


def _billing(props: DynamoTableProps) -> dynamodb.Billing:
    if props.capacity_mode is CapacityMode.ON_DEMAND:
        return dynamodb.Billing.on_demand(
            max_read_request_units=props.max_read_request_units,
            max_write_request_units=props.max_write_request_units,
        )
    minimum_read, minimum_write = _minimum_capacity(props)
    return dynamodb.Billing.provisioned(
        read_capacity=dynamodb.Capacity.autoscaled(
            min_capacity=minimum_read,
            max_capacity=props.max_read_capacity or 4 * minimum_read,
            target_utilization_percent=props.target_utilization_percent,
        ),
        write_capacity=dynamodb.Capacity.autoscaled(
            min_capacity=minimum_write,
            max_capacity=props.max_write_capacity or 4 * minimum_write,
            target_utilization_percent=props.target_utilization_percent,
        ),
    )
