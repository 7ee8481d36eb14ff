"""Bad props of RdsInstance and RdsReadReplica: a clear PropValidationError before anything is defined."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.rds.instance import RdsInstance, RdsInstanceProps
from dbpatterns.rds.read_replica import RdsReadReplica, RdsReadReplicaProps
from stacks.config import AppConfig

POSTGRES = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6)
ORACLE = rds.DatabaseInstanceEngine.oracle_ee(version=rds.OracleEngineVersion.VER_19)
SQLSERVER = rds.DatabaseInstanceEngine.sql_server_ee(version=rds.SqlServerEngineVersion.VER_16)
MYSQL = rds.DatabaseInstanceEngine.mysql(version=rds.MysqlEngineVersion.VER_8_4_6)


def _props(vpc: ec2.IVpc, **overrides: Any) -> RdsInstanceProps:
    values: dict[str, Any] = {"engine": POSTGRES, "profile": DeploymentProfile.PRODUCTION, "vpc": vpc}
    values.update(overrides)
    return RdsInstanceProps(**values)


def _rejects(stack_vpc: tuple[Stack, ec2.Vpc], match: str, **overrides: Any) -> None:
    stack, vpc = stack_vpc
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=match):
        RdsInstance(scope, "Db", _props(vpc, **overrides))
    assert scope.node.children == []


def test_rejects_backup_retention_of_zero_days(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack, r"RdsInstance: invalid backup_retention_days=0; allowed: 1 to 35", backup_retention_days=0
    )


def test_rejects_backup_retention_of_36_days(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid backup_retention_days=36; allowed: 1 to 35", backup_retention_days=36)


def test_rejects_16_read_replicas_for_postgresql(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid read_replicas=16; allowed: 0 to 15", read_replicas=16)


def test_rejects_6_read_replicas_for_oracle(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid read_replicas=6; allowed: 0 to 5",
        engine=ORACLE,
        read_replicas=6,
        license_model=rds.LicenseModel.BRING_YOUR_OWN_LICENSE,
    )


def test_rejects_a_sixth_replica_added_to_a_sql_server_instance(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    source = RdsInstance(
        stack,
        "Source",
        _props(vpc, engine=SQLSERVER, read_replicas=5, license_model=rds.LicenseModel.LICENSE_INCLUDED),
    )
    assert source.read_replica_count == 5
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=r"invalid source=.*5 replicas already.*at most 5"):
        RdsReadReplica(scope, "Sixth", RdsReadReplicaProps(source=source, profile=source.profile, vpc=vpc))
    assert scope.node.children == []


def test_rejects_overlapping_backup_and_maintenance_windows(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid preferred_backup_window/preferred_maintenance_window='03:00-04:00 / Sun:03:30-Sun:04:30'; "
        r"allowed: windows that do not overlap",
        preferred_maintenance_window="Sun:03:30-Sun:04:30",
    )


def test_rejects_windows_that_overlap_across_midnight(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"windows that do not overlap",
        preferred_backup_window="23:30-00:30",
        preferred_maintenance_window="Mon:00:00-Mon:00:45",
    )


def test_rejects_a_malformed_backup_window(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid preferred_backup_window='3am'; allowed: 'hh24:mi-hh24:mi'",
        preferred_backup_window="3am",
    )


def test_rejects_a_backup_window_shorter_than_30_minutes(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"at least 30 minutes", preferred_backup_window="03:00-03:15")


def test_rejects_iam_authentication_on_oracle(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid iam_authentication=True", engine=ORACLE, iam_authentication=True)


def test_rejects_a_parameter_that_turns_tls_off(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid parameters\['rds.force_ssl'\]='0'; allowed: '1' only",
        parameters={"rds.force_ssl": "0"},
    )


def test_rejects_a_storage_ceiling_below_the_allocated_storage(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid max_allocated_storage_gib=50; allowed: 101 to 65536",
        allocated_storage_gib=100,
        max_allocated_storage_gib=50,
    )


def test_rejects_performance_insights_on_a_micro_class(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid performance_insights=True; allowed: False or None on t4g.micro",
        instance_type=ec2.InstanceType("t4g.micro"),
        performance_insights=True,
    )


def test_rejects_an_unsupported_monitoring_interval(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid monitoring_interval_seconds=45", monitoring_interval_seconds=45)


def test_rejects_an_aurora_engine(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    aurora: Any = rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_9)
    _rejects(vpc_stack, r"invalid engine='aurora-postgresql'", engine=aurora)


def _cross_region_pair() -> tuple[RdsInstance, Stack, ec2.Vpc]:
    app = App()
    config = AppConfig()
    primary_stack = Stack(app, "Primary", env=config.env())
    replica_stack = Stack(app, "Replica", env=config.env("eu-west-1"))
    primary = RdsInstance(
        primary_stack, "Db", _props(ec2.Vpc(primary_stack, "Vpc", max_azs=2, nat_gateways=0))
    )
    return primary, replica_stack, ec2.Vpc(replica_stack, "Vpc", max_azs=2, nat_gateways=0)


def test_rejects_a_cross_region_replica_without_a_key_for_its_region() -> None:
    primary, replica_stack, vpc = _cross_region_pair()
    scope = Construct(replica_stack, "Scope")
    with pytest.raises(
        PropValidationError,
        match=r"invalid encryption_key=None; allowed: a KMS key in the replica's region eu-west-1",
    ):
        RdsReadReplica(
            scope, "Replica", RdsReadReplicaProps(source=primary, profile=primary.profile, vpc=vpc)
        )
    assert scope.node.children == []


def test_rejects_a_cross_region_replica_with_a_key_from_the_source_region() -> None:
    primary, replica_stack, vpc = _cross_region_pair()
    scope = Construct(replica_stack, "Scope")
    with pytest.raises(PropValidationError, match=r"invalid encryption_key='a key in us-east-1'"):
        RdsReadReplica(
            scope,
            "Replica",
            RdsReadReplicaProps(
                source=primary, profile=primary.profile, vpc=vpc, encryption_key=primary.encryption_key
            ),
        )
    assert scope.node.children == []


def test_rejects_backups_on_a_postgresql_replica(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    source = RdsInstance(stack, "Source", _props(vpc))
    scope = Construct(stack, "Scope")
    with pytest.raises(
        PropValidationError, match=r"invalid backup_retention_days=7; allowed: None for postgres"
    ):
        RdsReadReplica(
            scope,
            "Replica",
            RdsReadReplicaProps(source=source, profile=source.profile, vpc=vpc, backup_retention_days=7),
        )
    assert scope.node.children == []


def test_accepts_a_cross_region_replica_with_a_key_of_its_region() -> None:
    primary, replica_stack, vpc = _cross_region_pair()
    key = kms.Key(replica_stack, "Key", enable_key_rotation=True)
    replica = RdsReadReplica(
        replica_stack,
        "Replica",
        RdsReadReplicaProps(source=primary, profile=primary.profile, vpc=vpc, encryption_key=key),
    )
    assert replica.cross_region
    assert primary.read_replica_count == 1
