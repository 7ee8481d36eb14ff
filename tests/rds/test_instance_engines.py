"""Engine-specific behaviour of RdsInstance: TLS setting, logs, IAM auth, replica backups, grants."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.rds.instance import RdsInstance, RdsInstanceProps
from dbpatterns.rds.read_replica import RdsReadReplica, RdsReadReplicaProps

pytestmark = pytest.mark.synth


def test_mysql_requires_secure_transport_and_its_replicas_keep_backups(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, vpc = vpc_stack
    db = RdsInstance(
        stack,
        "Db",
        RdsInstanceProps(
            engine=rds.DatabaseInstanceEngine.mysql(version=rds.MysqlEngineVersion.VER_8_4_6),
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
        ),
    )
    RdsReadReplica(stack, "Replica", RdsReadReplicaProps(source=db, profile=db.profile, vpc=vpc))
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::RDS::DBParameterGroup",
        {"Family": "mysql8.4", "Parameters": Match.object_like({"require_secure_transport": "ON"})},
    )
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {"Engine": "mysql", "EnableCloudwatchLogsExports": ["error", "slowquery"]},
    )
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {"SourceDBInstanceIdentifier": Match.any_value(), "BackupRetentionPeriod": 7},
    )


def test_oracle_requires_native_network_encryption_without_iam_auth(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    RdsInstance(
        stack,
        "Db",
        RdsInstanceProps(
            engine=rds.DatabaseInstanceEngine.oracle_ee(version=rds.OracleEngineVersion.VER_19),
            license_model=rds.LicenseModel.BRING_YOUR_OWN_LICENSE,
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
        ),
    )
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::RDS::OptionGroup",
        {
            "OptionConfigurations": [
                Match.object_like(
                    {
                        "OptionName": "NATIVE_NETWORK_ENCRYPTION",
                        "OptionSettings": Match.array_with(
                            [{"Name": "SQLNET.ENCRYPTION_SERVER", "Value": "REQUIRED"}]
                        ),
                    }
                )
            ]
        },
    )
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "DBInstanceClass": "db.t3.small",
            "OptionGroupName": Match.any_value(),
            "EnableIAMDatabaseAuthentication": Match.absent(),
        },
    )


def test_grants_iam_connect_and_opens_the_port_only_to_granted_peers(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, vpc = vpc_stack
    db = RdsInstance(
        stack,
        "Db",
        RdsInstanceProps(
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6),
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
        ),
    )
    app_role = iam.Role(stack, "AppRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    app_group = ec2.SecurityGroup(stack, "AppGroup", vpc=vpc)
    db.grant_connect(app_role, "orders_app")
    db.connections.allow_default_port_from(app_group, "orders app")
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [Match.object_like({"Action": "rds-db:connect", "Effect": "Allow"})],
                "Version": "2012-10-17",
            }
        },
    )
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "Description": "orders app",
            "SourceSecurityGroupId": {"Fn::GetAtt": [Match.any_value(), "GroupId"]},
        },
    )
