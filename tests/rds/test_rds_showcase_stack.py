"""The RDS showcase: every security and durability property of the primary and its replicas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

pytestmark = pytest.mark.synth

DB_INSTANCE = "AWS::RDS::DBInstance"


def _primary(template: Template) -> Mapping[str, Any]:
    instances = template.find_resources(
        DB_INSTANCE, {"Properties": {"SourceDBInstanceIdentifier": Match.absent()}}
    )
    assert len(instances) == 1
    return next(iter(instances.values()))


def _primary_id(template: Template) -> str:
    instances = template.find_resources(
        DB_INSTANCE, {"Properties": {"SourceDBInstanceIdentifier": Match.absent()}}
    )
    return next(iter(instances))


def _key_ids(template: Template) -> set[str]:
    return set(template.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}}))


def test_primary_is_encrypted_with_a_rotating_customer_managed_key(production: Template) -> None:
    props = _primary(production)["Properties"]
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"]["Fn::GetAtt"][0] in _key_ids(production)


def test_production_primary_has_a_multi_az_standby(production: Template) -> None:
    assert _primary(production)["Properties"]["MultiAZ"] is True


def test_sandbox_primary_is_single_az_on_the_smallest_graviton_class(sandbox: Template) -> None:
    props = _primary(sandbox)["Properties"]
    assert props["MultiAZ"] is False
    assert props["DBInstanceClass"] == "db.t4g.micro"


def test_primary_keeps_seven_days_of_backups_in_separate_windows(production: Template) -> None:
    props = _primary(production)["Properties"]
    assert props["BackupRetentionPeriod"] == 7
    assert props["PreferredBackupWindow"] == "03:00-04:00"
    assert props["PreferredMaintenanceWindow"] == "Sun:04:30-Sun:05:30"
    assert props["CopyTagsToSnapshot"] is True
    assert props["DeleteAutomatedBackups"] is False


def test_production_primary_is_protected_and_snapshotted_on_delete(production: Template) -> None:
    primary = _primary(production)
    assert primary["Properties"]["DeletionProtection"] is True
    assert primary["DeletionPolicy"] == "Snapshot"
    assert primary["UpdateReplacePolicy"] == "Snapshot"


def test_sandbox_primary_can_be_torn_down_but_keeps_backups_on(sandbox: Template) -> None:
    primary = _primary(sandbox)
    assert primary["Properties"]["DeletionProtection"] is False
    assert primary["DeletionPolicy"] == "Delete"
    assert primary["Properties"]["BackupRetentionPeriod"] == 7
    assert primary["Properties"]["StorageEncrypted"] is True


def test_parameter_group_forces_tls(production: Template) -> None:
    group = Capture()
    production.has_resource_properties(
        "AWS::RDS::DBParameterGroup",
        {"Family": "postgres17", "Parameters": Match.object_like({"rds.force_ssl": "1"})},
    )
    production.has_resource_properties(
        DB_INSTANCE,
        {"SourceDBInstanceIdentifier": Match.absent(), "DBParameterGroupName": {"Ref": group}},
    )
    params = production.find_resources("AWS::RDS::DBParameterGroup")[group.as_string()]
    assert params["Properties"]["Parameters"]["rds.force_ssl"] == "1"


def test_iam_database_authentication_is_on(production: Template) -> None:
    assert _primary(production)["Properties"]["EnableIAMDatabaseAuthentication"] is True


def test_master_credentials_live_in_secrets_manager_and_rotate_monthly(production: Template) -> None:
    props = _primary(production)["Properties"]
    assert "{{resolve:secretsmanager:" in str(props["MasterUserPassword"])
    production.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"KmsKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}, "GenerateSecretString": Match.any_value()},
    )
    production.has_resource_properties(
        "AWS::SecretsManager::RotationSchedule", {"RotationRules": {"ScheduleExpression": "rate(30 days)"}}
    )


def test_rotation_function_runs_in_the_vpc_and_reaches_secrets_manager_privately(
    production: Template,
) -> None:
    production.has_resource_properties(
        "AWS::Serverless::Application",
        {
            "Parameters": Match.object_like(
                {"vpcSubnetIds": Match.any_value(), "vpcSecurityGroupIds": Match.any_value()}
            )
        },
    )
    # The Secrets Manager interface endpoint is the region network's (tests/stacks/test_network_stack.py).


def test_performance_insights_are_encrypted_in_production(production: Template) -> None:
    props = _primary(production)["Properties"]
    assert props["EnablePerformanceInsights"] is True
    assert props["DatabaseInsightsMode"] == "standard"
    assert props["PerformanceInsightsRetentionPeriod"] == 7
    assert props["PerformanceInsightsKMSKeyId"] == props["KmsKeyId"]


def test_sandbox_skips_insights_on_a_class_without_them(sandbox: Template) -> None:
    props = _primary(sandbox)["Properties"]
    assert props["EnablePerformanceInsights"] is False
    assert "DatabaseInsightsMode" not in props


def test_enhanced_monitoring_every_minute_with_its_role(production: Template) -> None:
    props = _primary(production)["Properties"]
    assert props["MonitoringInterval"] == 60
    role = props["MonitoringRoleArn"]["Fn::GetAtt"][0]
    assert production.find_resources("AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ][0]["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}


def test_logs_are_exported_with_a_retention(production: Template) -> None:
    assert _primary(production)["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    primary_id = _primary_id(production)
    for log in ("postgresql", "upgrade"):
        production.has_resource_properties(
            "Custom::LogRetention",
            {
                "LogGroupName": {"Fn::Join": ["", ["/aws/rds/instance/", {"Ref": primary_id}, f"/{log}"]]},
                "RetentionInDays": 365,
            },
        )


def test_storage_autoscales_to_a_ceiling(production: Template) -> None:
    props = _primary(production)["Properties"]
    assert props["AllocatedStorage"] == "20"
    assert props["MaxAllocatedStorage"] == 100
    assert props["StorageType"] == "gp3"


def test_database_security_groups_admit_no_open_ingress_and_send_nothing(production: Template) -> None:
    for group in production.find_resources("AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"
    primary_group = _primary(production)["Properties"]["VPCSecurityGroups"][0]["Fn::GetAtt"][0]
    egress = production.find_resources("AWS::EC2::SecurityGroup")[primary_group]["Properties"][
        "SecurityGroupEgress"
    ]
    assert [rule["CidrIp"] for rule in egress] == ["255.255.255.255/32"]  # CDK's "no egress" marker
    ingress = production.find_resources(
        "AWS::EC2::SecurityGroupIngress",
        {"Properties": {"GroupId": {"Fn::GetAtt": [primary_group, "GroupId"]}}},
    )
    # Only the rotation function is admitted; applications are added with connections.allow_*.
    assert len(ingress) == 1
    rule = next(iter(ingress.values()))["Properties"]
    assert rule["FromPort"] == rule["ToPort"] == 5432  # the engine's port as a number, not a token
    assert rule["SourceSecurityGroupId"]["Fn::GetAtt"][0].startswith("OrdersRotationSingleUserSecurityGroup")


def test_instances_are_private(production: Template) -> None:
    for instance in production.find_resources(DB_INSTANCE).values():
        assert instance["Properties"]["PubliclyAccessible"] is False


def test_same_region_replica_follows_the_primary_encrypted_with_tls(production: Template) -> None:
    replicas = production.find_resources(
        DB_INSTANCE, {"Properties": {"SourceDBInstanceIdentifier": Match.any_value()}}
    )
    assert len(replicas) == 1
    props = next(iter(replicas.values()))["Properties"]
    assert "StorageEncrypted" not in props  # inherited; CloudFormation refuses it on a replica
    assert props["KmsKeyId"] == _primary(production)["Properties"]["KmsKeyId"]
    assert props["EnableIAMDatabaseAuthentication"] is True
    params = production.find_resources("AWS::RDS::DBParameterGroup")[props["DBParameterGroupName"]["Ref"]]
    assert params["Properties"]["Parameters"]["rds.force_ssl"] == "1"
    assert "BackupRetentionPeriod" not in props  # PostgreSQL replicas have no backups of their own


def test_cross_region_replica_uses_a_key_of_its_own_region(replica_production: Template) -> None:
    replica = replica_production.find_resources(DB_INSTANCE)
    assert len(replica) == 1
    props = next(iter(replica.values()))["Properties"]
    key = props["KmsKeyId"]["Fn::GetAtt"][0]
    assert key in _key_ids(replica_production)
    source = str(props["SourceDBInstanceIdentifier"])
    assert "arn:aws:rds:us-east-1:123456789012:db:" in source
    assert props["DeletionProtection"] is True
    assert props["StorageType"] == "gp3"
    assert props["MaxAllocatedStorage"] == 100
