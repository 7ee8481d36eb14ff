"""Bad props of RdsInstance and RdsReadReplica: a clear PropValidationError before anything is defined."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
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
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


def _props(vpc: ec2.IVpc | None, **overrides: Any) -> RdsInstanceProps:
    values: dict[str, Any] = {"engine": POSTGRES, "profile": DeploymentProfile.PRODUCTION, "vpc": vpc}
    values.update(overrides)
    return RdsInstanceProps(**values)


def _rejects(stack_vpc: tuple[Stack, ec2.Vpc], match: str, **overrides: Any) -> None:
    stack, vpc = stack_vpc
    scope = Construct(stack, "Scope")
    values: dict[str, Any] = {"vpc": vpc, **overrides}
    with pytest.raises(PropValidationError, match=match):
        RdsInstance(scope, "Db", _props(**values))
    assert scope.node.children == []


def test_rejects_backup_retention_of_zero_days_naming_the_construct_path(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    _rejects(
        vpc_stack,
        r"^RdsInstance 'Unit/Scope/Db': invalid backup_retention='Duration.days\(0\)'; "
        r"allowed: Duration.days\(1\) to Duration.days\(35\), in whole days$",
        backup_retention=Duration.days(0),
    )


def test_rejects_backup_retention_of_36_days(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid backup_retention='Duration.days\(36\)'", backup_retention=Duration.days(36))


def test_rejects_backup_retention_that_is_not_whole_days(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid backup_retention='Duration.hours\(36\)'; allowed: a whole number of days",
        backup_retention=Duration.hours(36),
    )


def test_rejects_backup_retention_given_as_a_number(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid backup_retention=7; allowed: a Duration", backup_retention=7)


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
    _rejects(
        vpc_stack,
        r"invalid monitoring_interval='Duration.seconds\(45\)'; allowed: Duration.seconds\(1\), .*or None",
        monitoring_interval=Duration.seconds(45),
    )


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
        PropValidationError,
        match=r"RdsReadReplica 'Unit/Scope/Replica': invalid backup_retention='Duration.days\(7\)'; "
        r"allowed: None for postgres",
    ):
        RdsReadReplica(
            scope,
            "Replica",
            RdsReadReplicaProps(source=source, vpc=vpc, backup_retention=Duration.days(7)),
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


def test_rejects_a_secret_rotation_shorter_than_four_hours(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid secret_rotation='Duration.hours\(2\)'; allowed: Duration.hours\(4\) to "
        r"Duration.days\(1000\), in whole hours",
        secret_rotation=Duration.hours(2),
    )


def test_rejects_a_secret_rotation_in_part_hours(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid secret_rotation='Duration.minutes\(390\)'; allowed: a whole number of hours",
        secret_rotation=Duration.minutes(390),
    )


def test_rejects_a_monitoring_interval_given_as_seconds(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid monitoring_interval=60; allowed: a Duration", monitoring_interval=60)


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("1admin", "starting with a letter"),
        ("db-admin", "letters, digits and underscores"),
        ("a" * 17, "1-16"),
        ("rdsadmin", "not reserved by postgres"),
        ("admin", "not reserved by postgres"),
        ("user", "not reserved by postgres"),
        ("pg_admin", "not reserved by postgres"),
    ],
)
def test_rejects_master_user_names_rds_refuses(
    vpc_stack: tuple[Stack, ec2.Vpc], username: str, reason: str
) -> None:
    _rejects(
        vpc_stack, rf"invalid master_username='{username}'; allowed: .*{reason}", master_username=username
    )


def test_accepts_admin_as_the_mysql_master_user(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    db = RdsInstance(stack, "Db", _props(vpc, engine=MYSQL, master_username="admin"))
    assert db.secret is not None


@pytest.mark.parametrize(
    ("engine", "database_name", "reason"),
    [
        (POSTGRES, "postgres", "not reserved by postgres and not one of its built-in databases"),
        (POSTGRES, "1orders", "1-63 letters, digits and underscores, starting with a letter"),
        (POSTGRES, "o" * 64, "1-63"),
        (MYSQL, "mysql", "not reserved by mysql"),
        (MYSQL, "orders-db", "1-64 letters"),
        (ORACLE, "ORDERSDB1", "1-8 letters and digits"),
        (SQLSERVER, "orders", "None for SQL Server"),
    ],
)
def test_rejects_database_names_rds_refuses(
    vpc_stack: tuple[Stack, ec2.Vpc], engine: Any, database_name: str, reason: str
) -> None:
    _rejects(
        vpc_stack,
        rf"invalid database_name='{database_name}'; allowed: .*{reason}",
        engine=engine,
        database_name=database_name,
        license_model=rds.LicenseModel.LICENSE_INCLUDED if engine is SQLSERVER else None,
    )


def test_rejects_an_engine_given_as_a_string(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack, r"invalid engine='postgres'; allowed: a MySQL, MariaDB, PostgreSQL", engine="postgres"
    )


def test_rejects_an_engine_without_a_pinned_version(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid engine='postgres without a version'; allowed: .* with a pinned version",
        engine=rds.DatabaseInstanceEngine.POSTGRES,
    )


def test_rejects_a_version_aws_cdk_lib_does_not_list(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid engine='postgres 17.99'; allowed: a version listed in aws-cdk-lib's "
        r"rds.PostgresEngineVersion",
        engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.of("17.99", "17")),
    )


@pytest.mark.parametrize("count", [1.0, "1", True])
def test_rejects_a_read_replica_count_that_is_not_an_int(
    vpc_stack: tuple[Stack, ec2.Vpc], count: Any
) -> None:
    _rejects(vpc_stack, r"invalid read_replicas=.*; allowed: a whole number \(int\)", read_replicas=count)


def test_rejects_allocated_storage_as_a_float(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack, r"invalid allocated_storage_gib=20.5; allowed: a whole number", allocated_storage_gib=20.5
    )


def test_rejects_provisioned_iops_storage_it_cannot_configure(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid storage_type=.*allowed: rds.StorageType.GP3 or GP2",
        storage_type=rds.StorageType.IO2,
    )


def test_rejects_a_storage_type_given_as_a_string(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid storage_type='gp3'; allowed: a StorageType", storage_type="gp3")


@pytest.mark.parametrize("name", ["db.t4g.micro", "q9.large", "m7g.huge"])
def test_rejects_an_instance_class_aws_cdk_lib_does_not_know(
    vpc_stack: tuple[Stack, ec2.Vpc], name: str
) -> None:
    _rejects(
        vpc_stack,
        rf"invalid instance_type='{name}'; allowed: an instance class and size of aws-cdk-lib's",
        instance_type=ec2.InstanceType(name),
    )


def test_rejects_an_instance_class_given_as_a_string(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid instance_type='m7g.large'; allowed: an ec2.InstanceType",
        instance_type="m7g.large",
    )


def test_rejects_advanced_database_insights_that_would_be_dropped(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid database_insights_mode='ADVANCED'; allowed: STANDARD when Performance Insights is off",
        performance_insights=False,
        database_insights_mode=rds.DatabaseInsightsMode.ADVANCED,
    )


def test_rejects_a_profile_given_as_a_string(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid profile='production'; allowed: a DeploymentProfile", profile="production")


def test_rejects_a_missing_vpc(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid vpc=None; required", vpc=None)


def test_rejects_a_parameter_value_that_is_not_a_string(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid parameters=.*allowed: a mapping of parameter names to string values",
        parameters={"log_min_duration_statement": 500},
    )


def test_rejects_a_replica_without_a_vpc_in_another_region() -> None:
    primary, replica_stack, _ = _cross_region_pair()
    key = kms.Key(replica_stack, "Key", enable_key_rotation=True)
    scope = Construct(replica_stack, "Scope")
    with pytest.raises(
        PropValidationError, match=r"RdsReadReplica 'Replica/Scope/Replica': invalid vpc=None"
    ):
        primary.add_read_replica("Replica", scope=scope, encryption_key=key)
    assert scope.node.children == []


def test_rejects_a_replica_in_a_stack_whose_region_is_unknown() -> None:
    app = App()
    primary_stack = Stack(app, "Primary", env=AppConfig().env())
    primary = RdsInstance(
        primary_stack, "Db", _props(ec2.Vpc(primary_stack, "Vpc", max_azs=2, nat_gateways=0))
    )
    agnostic = Stack(app, "Agnostic")
    vpc = ec2.Vpc(agnostic, "Vpc", max_azs=2, nat_gateways=0)
    scope = Construct(agnostic, "Scope")
    with pytest.raises(PropValidationError, match=r"invalid scope=.*two stacks with concrete regions"):
        primary.add_read_replica("Replica", scope=scope, vpc=vpc, encryption_key=kms.Key(agnostic, "Key"))
    assert scope.node.children == []


def test_rejects_parameters_with_an_existing_parameter_group(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, _ = vpc_stack
    group = rds.ParameterGroup(stack, "Shared", engine=POSTGRES)
    _rejects(
        vpc_stack,
        r"RdsInstance 'Unit/Scope/Db'.*parameters.*none with parameter_group",
        parameter_group=group,
        parameters={"log_min_duration_statement": "500"},
    )


def test_rejects_vpc_subnets_with_an_existing_subnet_group(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    group = rds.SubnetGroup(stack, "Shared", vpc=vpc, description="shared", vpc_subnets=ISOLATED)
    _rejects(
        vpc_stack,
        r"vpc_subnets.*None with subnet_group",
        subnet_group=group,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )


def test_rejects_a_parameter_group_name_where_a_group_is_needed(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"parameter_group.*rds.IParameterGroup", parameter_group="default.postgres17")


def test_rejects_a_subnet_group_name_where_a_group_is_needed(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"subnet_group.*rds.ISubnetGroup", subnet_group="shared-subnets")
