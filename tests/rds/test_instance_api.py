"""RdsInstance and RdsReadReplica behave like aws-cdk L2s: IConnectable, IAM-only grants, metrics with
MetricOptions, Duration props, and a factory for read replicas."""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.rds.instance import RdsInstance, RdsInstanceProps
from dbpatterns.rds.read_replica import RdsReadReplica
from dbpatterns.rds.shared import engine_parameter_group

POSTGRES = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6)


def _db(stack: Stack, vpc: ec2.IVpc, **overrides: object) -> RdsInstance:
    return RdsInstance(
        stack,
        "Db",
        RdsInstanceProps(engine=POSTGRES, profile=DeploymentProfile.SANDBOX, vpc=vpc, **overrides),  # type: ignore[arg-type]
    )


def test_a_peer_reaches_the_instance_through_its_connections(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    db = _db(stack, vpc)
    app = ec2.SecurityGroup(stack, "App", vpc=vpc, allow_all_outbound=False)
    # The peer side reads ``db.connections`` through jsii: RdsInstance is an ec2.IConnectable.
    app.connections.allow_to_default_port(db, "orders app to the database")
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "Description": "orders app to the database",
            "FromPort": 5432,  # the engine's port as a number, not the endpoint's port token
            "SourceSecurityGroupId": {"Fn::GetAtt": [Match.string_like_regexp("^App"), "GroupId"]},
        },
    )


def test_grant_connect_is_iam_only_and_returns_a_grant(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    db = _db(stack, vpc)
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = db.grant_connect(role, "orders_app")
    assert isinstance(grant, iam.Grant)
    assert grant.success
    ingress = Template.from_stack(stack).find_resources("AWS::EC2::SecurityGroupIngress")
    # Only the rotation function's rule: granting IAM access opened no port.
    assert [rule["Properties"]["Description"] for rule in ingress.values()] == [
        "from UnitDbRotationSingleUserSecurityGroup9821C5DC:{IndirectPort}"
    ]


def test_metrics_take_metric_options_and_delegate_to_the_l2(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    db = _db(stack, vpc)
    metric = db.metric_cpu_utilization(
        cloudwatch.MetricOptions(period=Duration.minutes(1), statistic="Maximum")
    )
    assert (metric.namespace, metric.metric_name) == ("AWS/RDS", "CPUUtilization")
    assert metric.period.to_seconds() == 60
    assert metric.statistic == "Maximum"
    assert list(metric.dimensions or {}) == ["DBInstanceIdentifier"]
    assert db.metric_free_storage_space().metric_name == "FreeStorageSpace"
    assert db.metric_read_iops().metric_name == "ReadIOPS"
    assert db.metric("DiskQueueDepth", cloudwatch.MetricOptions(label="queue")).label == "queue"


def test_durations_reach_the_template_in_the_units_aws_wants(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    _db(
        stack,
        vpc,
        backup_retention=Duration.days(14),
        secret_rotation=Duration.hours(12),
        monitoring_interval=Duration.seconds(15),
    )
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::RDS::DBInstance", {"BackupRetentionPeriod": 14, "MonitoringInterval": 15}
    )
    template.has_resource_properties(
        "AWS::SecretsManager::RotationSchedule", {"RotationRules": {"ScheduleExpression": "rate(12 hours)"}}
    )


def test_no_monitoring_interval_turns_enhanced_monitoring_off(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    db = _db(stack, vpc, monitoring_interval=None)
    assert db.monitoring_role is None
    Template.from_stack(stack).has_resource_properties(
        "AWS::RDS::DBInstance", {"MonitoringInterval": Match.absent(), "MonitoringRoleArn": Match.absent()}
    )


def test_add_read_replica_defines_the_replica_under_replicas_and_counts_it(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, vpc = vpc_stack
    db = _db(stack, vpc, read_replicas=1)
    reporting = db.add_read_replica("Reporting", instance_type=ec2.InstanceType("r7g.large"))

    assert isinstance(reporting, RdsReadReplica)
    assert [r.node.path for r in db.replicas] == ["Unit/Db/Replicas/Replica1", "Unit/Db/Replicas/Reporting"]
    assert db.read_replica_count == 2
    metric = reporting.metric_replica_lag(cloudwatch.MetricOptions(period=Duration.minutes(1)))
    assert (metric.metric_name, metric.statistic, metric.period.to_seconds()) == ("ReplicaLag", "Maximum", 60)
    Template.from_stack(stack).resource_properties_count_is(
        "AWS::RDS::DBInstance", {"SourceDBInstanceIdentifier": Match.any_value()}, 2
    )


@pytest.mark.synth
def test_a_replica_is_an_iconnectable_too(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    replica = _db(stack, vpc).add_read_replica("Reporting")
    app = ec2.SecurityGroup(stack, "App", vpc=vpc, allow_all_outbound=False)
    app.connections.allow_to_default_port(replica, "reports")
    Template.from_stack(stack).has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "Description": "reports",
            "FromPort": 5432,
        },
    )


def test_instances_share_an_existing_parameter_group_and_subnet_group(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, vpc = vpc_stack
    shared_parameters = engine_parameter_group(stack, "SharedParameters", POSTGRES, {})
    shared_subnets = rds.SubnetGroup(
        stack,
        "SharedSubnets",
        vpc=vpc,
        description="shared",
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    first = _db(stack, vpc, parameter_group=shared_parameters, subnet_group=shared_subnets)
    RdsInstance(
        stack,
        "Second",
        RdsInstanceProps(
            engine=POSTGRES,
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
            parameter_group=shared_parameters,
            subnet_group=shared_subnets,
        ),
    )
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::RDS::DBParameterGroup", 1)
    template.resource_count_is("AWS::RDS::DBSubnetGroup", 1)
    instances = template.find_resources("AWS::RDS::DBInstance")
    assert len(instances) == 2
    for instance in instances.values():
        assert instance["Properties"]["DBParameterGroupName"]["Ref"].startswith("SharedParameters")
        assert instance["Properties"]["DBSubnetGroupName"]["Ref"].startswith("SharedSubnets")
    assert first.parameter_group is shared_parameters
    assert first.subnet_group is shared_subnets
