"""The Aurora showcase: Serverless v2 MySQL with backtrack and a clone, and a global PostgreSQL primary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import stack_template

pytestmark = pytest.mark.synth

CLUSTER = "AWS::RDS::DBCluster"
INSTANCE = "AWS::RDS::DBInstance"


def _cluster(template: Template, engine: str) -> tuple[str, Mapping[str, Any]]:
    clusters = template.find_resources(
        CLUSTER, {"Properties": {"Engine": engine, "MasterUsername": Match.any_value()}}
    )
    assert len(clusters) == 1
    return next(iter(clusters.items()))


def _instances_of(template: Template, cluster_id: str) -> Mapping[str, Any]:
    return template.find_resources(INSTANCE, {"Properties": {"DBClusterIdentifier": {"Ref": cluster_id}}})


def test_orders_is_serverless_v2_from_half_to_128_acu_on_the_lts_release(production: Template) -> None:
    _, orders = _cluster(production, "aurora-mysql")
    assert orders["Properties"]["EngineVersion"] == "8.0.mysql_aurora.3.10.4"
    assert orders["Properties"]["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0.5,
        "MaxCapacity": 128,
    }


def test_sandbox_clusters_pause_when_idle() -> None:
    # 0 ACU minimum: an idle sandbox cluster costs its storage, not half an ACU per hour.
    sandbox = stack_template("DbPatterns-AuroraShowcase", DeploymentProfile.SANDBOX)
    _, orders = _cluster(sandbox, "aurora-mysql")
    assert orders["Properties"]["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0


def test_production_clusters_have_a_writer_and_two_readers(production: Template) -> None:
    for engine in ("aurora-mysql", "aurora-postgresql"):
        cluster_id, _ = _cluster(production, engine)
        instances = _instances_of(production, cluster_id)
        assert len(instances) == 3
        assert {i["Properties"]["DBInstanceClass"] for i in instances.values()} == {"db.serverless"}


def test_sandbox_clusters_have_only_a_writer(sandbox: Template) -> None:
    cluster_id, _ = _cluster(sandbox, "aurora-mysql")
    assert len(_instances_of(sandbox, cluster_id)) == 1


def test_reader_endpoint_is_an_output_for_reporting_traffic(production: Template) -> None:
    cluster_id, _ = _cluster(production, "aurora-mysql")
    production.has_output("*", {"Value": {"Fn::GetAtt": [cluster_id, "ReadEndpoint.Address"]}})


def test_clusters_are_encrypted_with_rotating_customer_managed_keys(production: Template) -> None:
    keys = production.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
    for engine in ("aurora-mysql", "aurora-postgresql"):
        _, cluster = _cluster(production, engine)
        assert cluster["Properties"]["StorageEncrypted"] is True
        assert cluster["Properties"]["KmsKeyId"]["Fn::GetAtt"][0] in keys


def test_clusters_back_up_daily_keep_copies_and_are_protected(production: Template) -> None:
    for engine in ("aurora-mysql", "aurora-postgresql"):
        _, cluster = _cluster(production, engine)
        props = cluster["Properties"]
        assert props["BackupRetentionPeriod"] == 7
        assert props["PreferredBackupWindow"] == "03:00-04:00"
        assert props["PreferredMaintenanceWindow"] == "Sun:04:30-Sun:05:30"
        assert props["CopyTagsToSnapshot"] is True
        assert props["DeletionProtection"] is True
        assert cluster["DeletionPolicy"] == "Snapshot"


def test_sandbox_clusters_can_be_torn_down(sandbox: Template) -> None:
    _, cluster = _cluster(sandbox, "aurora-mysql")
    assert cluster["Properties"]["DeletionProtection"] is False
    assert cluster["DeletionPolicy"] == "Delete"
    assert cluster["Properties"]["StorageEncrypted"] is True


def test_cluster_parameter_groups_require_tls(production: Template) -> None:
    groups = production.find_resources("AWS::RDS::DBClusterParameterGroup")
    for engine, setting in (
        ("aurora-mysql", ("require_secure_transport", "ON")),
        ("aurora-postgresql", ("rds.force_ssl", "1")),
    ):
        _, cluster = _cluster(production, engine)
        group = groups[cluster["Properties"]["DBClusterParameterGroupName"]["Ref"]]
        assert group["Properties"]["Parameters"][setting[0]] == setting[1]


def test_iam_authentication_and_rotated_secrets(production: Template) -> None:
    for engine in ("aurora-mysql", "aurora-postgresql"):
        _, cluster = _cluster(production, engine)
        assert cluster["Properties"]["EnableIAMDatabaseAuthentication"] is True
        assert "{{resolve:secretsmanager:" in str(cluster["Properties"]["MasterUserPassword"])
    schedules = production.find_resources(
        "AWS::SecretsManager::RotationSchedule",
        {"Properties": {"RotationRules": {"ScheduleExpression": "rate(30 days)"}}},
    )
    assert len(schedules) == 2


def test_database_insights_and_enhanced_monitoring(production: Template) -> None:
    cluster_id, cluster = _cluster(production, "aurora-postgresql")
    props = cluster["Properties"]
    assert props["PerformanceInsightsEnabled"] is True
    assert props["DatabaseInsightsMode"] == "standard"
    assert props["PerformanceInsightsKmsKeyId"] == props["KmsKeyId"]
    for instance in _instances_of(production, cluster_id).values():
        assert instance["Properties"]["MonitoringInterval"] == 60
        assert "MonitoringRoleArn" in instance["Properties"]
        assert instance["Properties"]["PubliclyAccessible"] is False


def test_mysql_exports_all_four_logs_and_postgresql_its_log(production: Template) -> None:
    _, mysql = _cluster(production, "aurora-mysql")
    _, postgres = _cluster(production, "aurora-postgresql")
    assert mysql["Properties"]["EnableCloudwatchLogsExports"] == ["audit", "error", "general", "slowquery"]
    assert postgres["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql"]


def test_backtrack_is_on_for_mysql_only(production: Template) -> None:
    _, mysql = _cluster(production, "aurora-mysql")
    _, postgres = _cluster(production, "aurora-postgresql")
    assert mysql["Properties"]["BacktrackWindow"] == 24 * 3600
    assert "BacktrackWindow" not in postgres["Properties"]


def test_catalog_is_the_primary_of_a_global_database(production: Template) -> None:
    catalog_id, _ = _cluster(production, "aurora-postgresql")
    production.has_resource(
        "AWS::RDS::GlobalCluster",
        {
            "Properties": {"SourceDBClusterIdentifier": {"Ref": catalog_id}, "DeletionProtection": True},
            "DeletionPolicy": "Retain",
        },
    )


def test_staging_is_a_copy_on_write_clone_of_orders(production: Template) -> None:
    orders_id, orders = _cluster(production, "aurora-mysql")
    clone = production.find_resources(CLUSTER, {"Properties": {"RestoreType": "copy-on-write"}})
    assert len(clone) == 1
    clone_id, resource = next(iter(clone.items()))
    props = resource["Properties"]
    assert props["SourceDBClusterIdentifier"] == {"Ref": orders_id}
    assert props["UseLatestRestorableTime"] is True
    assert props["KmsKeyId"] == orders["Properties"]["KmsKeyId"]
    assert "MasterUsername" not in props
    assert props["EnableIAMDatabaseAuthentication"] is True
    orders_instances = set(_instances_of(production, orders_id))
    assert orders_instances <= set(resource["DependsOn"])  # cloned once the source is up
    assert len(_instances_of(production, clone_id)) == 1


def test_security_groups_admit_no_open_ingress(production: Template) -> None:
    for group in production.find_resources("AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"
    for rule in production.find_resources("AWS::EC2::SecurityGroupIngress").values():
        assert "SourceSecurityGroupId" in rule["Properties"]


def test_secondary_joins_the_global_database_without_credentials(secondary_production: Template) -> None:
    clusters = secondary_production.find_resources(CLUSTER)
    assert len(clusters) == 1
    cluster_id, cluster = next(iter(clusters.items()))
    props = cluster["Properties"]
    assert props["GlobalClusterIdentifier"]["Fn::GetStackOutput"]["Region"] == "us-east-1"
    for credential in ("MasterUsername", "MasterUserPassword", "ManageMasterUserPassword"):
        assert credential not in props
    assert props["StorageEncrypted"] is True
    keys = secondary_production.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
    assert props["KmsKeyId"]["Fn::GetAtt"][0] in keys
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["DeletionProtection"] is True
    assert props["EngineVersion"] == "16.13"
    assert props["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 16}
    groups = secondary_production.find_resources("AWS::RDS::DBClusterParameterGroup")
    assert (
        groups[props["DBClusterParameterGroupName"]["Ref"]]["Properties"]["Parameters"]["rds.force_ssl"]
        == "1"
    )
    assert len(_instances_of(secondary_production, cluster_id)) == 2
    assert cluster["DeletionPolicy"] == "Snapshot"
