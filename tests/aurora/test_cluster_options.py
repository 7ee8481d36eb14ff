"""AuroraCluster options beyond the showcase: provisioned instances and the engine capacity ranges."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Match, Template

from dbpatterns.aurora.cluster import AuroraCluster, AuroraClusterProps, serverless_v2_range
from dbpatterns.common.profile import DeploymentProfile


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        (
            rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_04_0),
            (0.5, 128.0),
        ),
        (
            rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_06_0),
            (0.5, 256.0),
        ),
        (
            rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_08_0),
            (0.0, 256.0),
        ),
        (
            rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_15_4),
            (0.5, 128.0),
        ),
        (
            rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_9),
            (0.0, 256.0),
        ),
        (rds.DatabaseClusterEngine.AURORA_MYSQL, (0.5, 128.0)),  # unpinned: only what every version allows
    ],
)
def test_serverless_v2_range_follows_the_engine_version(
    engine: rds.IClusterEngine, expected: tuple[float, float]
) -> None:
    assert serverless_v2_range(engine) == expected


@pytest.mark.synth
def test_provisioned_cluster_uses_the_instance_class_and_no_serverless_scaling(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, vpc = vpc_stack
    cluster = AuroraCluster(
        stack,
        "Reporting",
        AuroraClusterProps(
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_16_9
            ),
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
            instance_type=ec2.InstanceType("r7g.large"),
            readers=1,
        ),
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    cluster.grant_connect(reader, "reporting")
    template = Template.from_stack(stack)

    template.resource_properties_count_is("AWS::RDS::DBInstance", {"DBInstanceClass": "db.r7g.large"}, 2)
    template.has_resource_properties(
        "AWS::RDS::DBInstance", {"PromotionTier": 0, "DBInstanceClass": "db.r7g.large"}
    )
    template.has_resource_properties(
        "AWS::RDS::DBCluster",
        {"ServerlessV2ScalingConfiguration": Match.absent(), "BacktrackWindow": Match.absent()},
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [Match.object_like({"Action": "rds-db:connect"})],
                "Version": "2012-10-17",
            }
        },
    )
