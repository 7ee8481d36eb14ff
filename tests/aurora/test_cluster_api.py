"""AuroraCluster behaves like an aws-cdk L2: IConnectable, no outputs of its own, metrics with
MetricOptions named for the CloudWatch metric, Duration props."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from dbpatterns.aurora.clone import AuroraClone, AuroraCloneProps
from dbpatterns.aurora.cluster import AuroraCluster, AuroraClusterProps
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.compliance import ScopedNagPack
from dbpatterns.rds.shared import engine_parameter_group
from tests.support.synth import new_app

MYSQL = rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_08_0)
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


def _cluster(stack: Stack, vpc: ec2.IVpc, **overrides: object) -> AuroraCluster:
    return AuroraCluster(
        stack,
        "Orders",
        AuroraClusterProps(engine=MYSQL, profile=DeploymentProfile.SANDBOX, vpc=vpc, **overrides),  # type: ignore[arg-type]
    )


@pytest.mark.synth
def test_a_peer_reaches_the_cluster_and_its_clone_through_connections(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, vpc = vpc_stack
    orders = _cluster(stack, vpc)
    clone = AuroraClone(stack, "Staging", AuroraCloneProps(source=orders))
    app = ec2.SecurityGroup(stack, "App", vpc=vpc, allow_all_outbound=False)
    app.connections.allow_to_default_port(orders, "app to orders")
    tester = ec2.SecurityGroup(stack, "Tester", vpc=vpc, allow_all_outbound=False)
    tester.connections.allow_to_default_port(clone, "tests to staging")
    template = Template.from_stack(stack)

    for description in ("app to orders", "tests to staging"):
        template.has_resource_properties(
            "AWS::EC2::SecurityGroupIngress",
            {
                "Description": description,
                "FromPort": 3306,  # Aurora MySQL's port as a number, not the endpoint's port token
                "GroupId": {"Fn::GetAtt": [Match.string_like_regexp("OrdersSecurityGroup"), "GroupId"]},
            },
        )


@pytest.mark.synth
def test_the_construct_emits_no_stack_outputs(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    _cluster(stack, vpc, global_database=False)
    assert Template.from_stack(stack).find_outputs("*") == {}


def test_serverless_metrics_are_the_l2_metrics_with_metric_options(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    orders = _cluster(stack, vpc)
    capacity = orders.metric_serverless_database_capacity(
        cloudwatch.MetricOptions(statistic="Maximum", period=Duration.minutes(1))
    )
    assert (capacity.namespace, capacity.metric_name) == ("AWS/RDS", "ServerlessDatabaseCapacity")
    assert (capacity.statistic, capacity.period.to_seconds()) == ("Maximum", 60)
    assert list(capacity.dimensions or {}) == ["DBClusterIdentifier"]
    assert orders.metric_acu_utilization().metric_name == "ACUUtilization"
    assert orders.metric_cpu_utilization(cloudwatch.MetricOptions(label="cpu")).label == "cpu"
    assert orders.metric_deadlocks().metric_name == "Deadlocks"
    assert not hasattr(orders, "metric_serverless_capacity")


@pytest.mark.synth
def test_durations_reach_the_template_in_the_units_aws_wants(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    _cluster(
        stack,
        vpc,
        backup_retention=Duration.days(10),
        backtrack_window=Duration.hours(6),
        secret_rotation=Duration.days(7),
    )
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::RDS::DBCluster", {"BackupRetentionPeriod": 10, "BacktrackWindow": 6 * 3600}
    )
    template.has_resource_properties(
        "AWS::SecretsManager::RotationSchedule", {"RotationRules": {"ScheduleExpression": "rate(7 days)"}}
    )


@pytest.mark.synth
def test_a_zero_backtrack_window_turns_backtrack_off_with_its_finding_acknowledged(tmp_path: Path) -> None:
    app = new_app(str(tmp_path))
    stack = Stack(app, "Unit")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    orders = _cluster(stack, vpc, backtrack_window=Duration.seconds(0))
    Validations.of(app).add_plugins(ScopedNagPack(AwsSolutionsChecks(), orders))
    app.synth()  # raises on any unacknowledged AwsSolutions finding inside the cluster

    Template.from_stack(stack).has_resource_properties(
        "AWS::RDS::DBCluster", {"BacktrackWindow": Match.absent()}
    )


def test_clusters_share_an_existing_cluster_parameter_group_and_subnet_group(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, vpc = vpc_stack
    postgres = rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_9)
    shared_parameters = engine_parameter_group(stack, "SharedParameters", postgres, {})
    shared_subnets = rds.SubnetGroup(
        stack, "SharedSubnets", vpc=vpc, description="shared", vpc_subnets=ISOLATED
    )
    clusters = [
        AuroraCluster(
            stack,
            construct_id,
            AuroraClusterProps(
                engine=postgres,
                profile=DeploymentProfile.SANDBOX,
                vpc=vpc,
                parameter_group=shared_parameters,
                subnet_group=shared_subnets,
            ),
        )
        for construct_id in ("First", "Second")
    ]
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::RDS::DBClusterParameterGroup", 1)
    template.resource_count_is("AWS::RDS::DBSubnetGroup", 1)
    template.has_resource_properties(
        "AWS::RDS::DBClusterParameterGroup",
        {"Family": "aurora-postgresql16", "Parameters": Match.object_like({"rds.force_ssl": "1"})},
    )
    found = template.find_resources("AWS::RDS::DBCluster")
    assert len(found) == 2
    for cluster in found.values():
        assert cluster["Properties"]["DBClusterParameterGroupName"]["Ref"].startswith("SharedParameters")
        assert cluster["Properties"]["DBSubnetGroupName"]["Ref"].startswith("SharedSubnets")
    assert all(c.subnet_group is shared_subnets for c in clusters)
