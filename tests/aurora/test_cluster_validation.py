"""Bad props of the Aurora constructs: a clear PropValidationError before anything is defined."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.aurora.clone import AuroraClone, AuroraCloneProps
from dbpatterns.aurora.cluster import AuroraCluster, AuroraClusterProps
from dbpatterns.aurora.global_database import AuroraGlobalSecondary, AuroraGlobalSecondaryProps
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from stacks.config import AppConfig

MYSQL = rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_08_0)
OLD_MYSQL = rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_04_0)
POSTGRES = rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_9)
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


def _props(vpc: ec2.IVpc, **overrides: Any) -> AuroraClusterProps:
    values: dict[str, Any] = {"engine": MYSQL, "profile": DeploymentProfile.PRODUCTION, "vpc": vpc}
    values.update(overrides)
    return AuroraClusterProps(**values)


def _rejects(stack_vpc: tuple[Stack, ec2.Vpc], match: str, **overrides: Any) -> None:
    stack, vpc = stack_vpc
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=match):
        AuroraCluster(scope, "Db", _props(vpc, **overrides))
    assert scope.node.children == []


def test_rejects_backtrack_on_postgresql_naming_the_construct_path(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"^AuroraCluster 'Unit/Scope/Db': invalid backtrack_window='Duration.hours\(24\)'; allowed: None for "
        r"aurora-postgresql \(backtrack exists for Aurora MySQL only\)$",
        engine=POSTGRES,
        backtrack_window=Duration.hours(24),
    )


def test_rejects_backtrack_on_a_global_cluster(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid backtrack_window='Duration.hours\(12\)'; allowed: None with global_database=True",
        backtrack_window=Duration.hours(12),
        global_database=True,
    )


def test_rejects_backtrack_over_72_hours(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid backtrack_window='Duration.hours\(73\)'; allowed: at most Duration.hours\(72\)",
        backtrack_window=Duration.hours(73),
    )


def test_rejects_backtrack_given_in_hours_as_a_number(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid backtrack_window=24; allowed: a Duration", backtrack_window=24)


def test_rejects_serverless_min_capacity_above_max(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid serverless_v2_min_capacity=8; allowed: at most serverless_v2_max_capacity \(4\)",
        serverless_v2_min_capacity=8,
        serverless_v2_max_capacity=4,
    )


def test_rejects_serverless_max_capacity_above_the_engine_range(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid serverless_v2_max_capacity=256; allowed: 0.5 to 128.0 ACU in steps of 0.5 "
        r"for aurora-mysql 8.0.mysql_aurora.3.04.0",
        engine=OLD_MYSQL,
        serverless_v2_max_capacity=256,
    )


def test_rejects_auto_pause_on_an_engine_version_without_it(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid serverless_v2_min_capacity=0; allowed: 0.5 to 128.0 ACU",
        engine=OLD_MYSQL,
        serverless_v2_min_capacity=0,
    )


def test_rejects_capacity_that_is_not_a_half_step(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid serverless_v2_max_capacity=10.3", serverless_v2_max_capacity=10.3)


def test_rejects_16_readers(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid readers=16; allowed: 0 to 15", readers=16)


def test_rejects_backup_retention_of_zero_days(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid backup_retention='Duration.days\(0\)'; allowed: Duration.days\(1\) to Duration.days\(35\)",
        backup_retention=Duration.days(0),
    )


def test_rejects_backup_retention_of_36_days(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid backup_retention='Duration.days\(36\)'", backup_retention=Duration.days(36))


def test_rejects_overlapping_backup_and_maintenance_windows(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid preferred_backup_window/preferred_maintenance_window='03:00-04:00 / Tue:03:30-Tue:04:30'",
        preferred_maintenance_window="Tue:03:30-Tue:04:30",
    )


def test_rejects_a_burstable_class_in_a_global_database(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid instance_type='t4g.medium'; allowed in a global database: memory-optimized",
        instance_type=ec2.InstanceType("t4g.medium"),
        global_database=True,
    )


def test_rejects_a_micro_instance(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid instance_type='t4g.micro'; allowed: medium or larger",
        instance_type=ec2.InstanceType("t4g.micro"),
    )


def test_rejects_a_non_aurora_engine(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    engine: Any = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6)
    _rejects(
        vpc_stack, r"invalid engine='postgres'; allowed: an Aurora MySQL or Aurora PostgreSQL", engine=engine
    )


def test_rejects_a_clone_with_capacity_outside_the_engine_range(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    source = AuroraCluster(stack, "Source", _props(vpc, engine=OLD_MYSQL))
    scope = Construct(stack, "Scope")
    with pytest.raises(
        PropValidationError, match=r"AuroraClone 'Unit/Scope/Clone': invalid serverless_v2_max_capacity=200"
    ):
        AuroraClone(
            scope,
            "Clone",
            AuroraCloneProps(source=source, profile=source.profile, serverless_v2_max_capacity=200),
        )
    assert scope.node.children == []


def _global_pair(*, global_database: bool = True) -> tuple[AuroraCluster, Stack, ec2.Vpc]:
    app = App()
    config = AppConfig()
    primary_stack = Stack(app, "Primary", env=config.env())
    secondary_stack = Stack(app, "Secondary", env=config.env("eu-west-1"))
    primary = AuroraCluster(
        primary_stack,
        "Db",
        _props(
            ec2.Vpc(primary_stack, "Vpc", max_azs=2, nat_gateways=0),
            engine=POSTGRES,
            global_database=global_database,
        ),
    )
    return primary, secondary_stack, ec2.Vpc(secondary_stack, "Vpc", max_azs=2, nat_gateways=0)


def test_rejects_a_secondary_of_a_cluster_that_is_not_global() -> None:
    primary, stack, vpc = _global_pair(global_database=False)
    key = kms.Key(stack, "Key")
    scope = Construct(stack, "Scope")
    with pytest.raises(
        PropValidationError,
        match=r"invalid primary='Primary/Db'; allowed: an AuroraCluster created with global_database=True",
    ):
        AuroraGlobalSecondary(
            scope,
            "Secondary",
            AuroraGlobalSecondaryProps(primary=primary, profile=primary.profile, vpc=vpc, encryption_key=key),
        )
    assert scope.node.children == []


def test_rejects_a_secondary_key_from_another_region() -> None:
    primary, stack, vpc = _global_pair()
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=r"invalid encryption_key='a key in us-east-1'"):
        AuroraGlobalSecondary(
            scope,
            "Secondary",
            AuroraGlobalSecondaryProps(
                primary=primary, profile=primary.profile, vpc=vpc, encryption_key=primary.encryption_key
            ),
        )
    assert scope.node.children == []


def test_rejects_a_second_secondary_in_the_same_region() -> None:
    primary, stack, vpc = _global_pair()
    key = kms.Key(stack, "Key")
    AuroraGlobalSecondary(
        stack,
        "First",
        AuroraGlobalSecondaryProps(primary=primary, profile=primary.profile, vpc=vpc, encryption_key=key),
    )
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=r"invalid scope region='eu-west-1'"):
        AuroraGlobalSecondary(
            scope,
            "Second",
            AuroraGlobalSecondaryProps(primary=primary, profile=primary.profile, vpc=vpc, encryption_key=key),
        )
    assert scope.node.children == []


def test_rejects_an_eleventh_secondary_region() -> None:
    app = App()
    config = AppConfig()
    primary_stack = Stack(app, "Primary", env=config.env())
    primary = AuroraCluster(
        primary_stack,
        "Db",
        _props(
            ec2.Vpc(primary_stack, "Vpc", max_azs=2, nat_gateways=0), engine=POSTGRES, global_database=True
        ),
    )
    regions = (
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "eu-west-2",
        "eu-central-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "ca-central-1",
    )
    for region in regions:
        stack = Stack(app, region, env=config.env(region))
        AuroraGlobalSecondary(
            stack,
            "Secondary",
            AuroraGlobalSecondaryProps(
                primary=primary,
                profile=primary.profile,
                vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0),
                encryption_key=kms.Key(stack, "Key"),
            ),
        )
    stack = Stack(app, "Eleventh", env=config.env("sa-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    key = kms.Key(stack, "Key")
    scope = Construct(stack, "Scope")
    with pytest.raises(
        PropValidationError,
        match=r"invalid primary='Primary/Db with 10 secondary regions already'; allowed: at most 10",
    ):
        AuroraGlobalSecondary(
            scope,
            "Secondary",
            AuroraGlobalSecondaryProps(primary=primary, profile=primary.profile, vpc=vpc, encryption_key=key),
        )
    assert scope.node.children == []


def test_rejects_serverless_capacity_with_a_provisioned_instance_class(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    _rejects(
        vpc_stack,
        r"invalid serverless_v2_max_capacity=64; allowed: None with instance_type=r7g.large "
        r"\(capacity applies to Serverless v2 only and would be dropped\)",
        instance_type=ec2.InstanceType("r7g.large"),
        serverless_v2_max_capacity=64,
    )


@pytest.mark.parametrize("capacity", ["16", True, float("nan")])
def test_rejects_a_capacity_that_is_not_a_number(vpc_stack: tuple[Stack, ec2.Vpc], capacity: object) -> None:
    _rejects(
        vpc_stack,
        r"invalid serverless_v2_max_capacity=.*; allowed: a number of ACU",
        serverless_v2_max_capacity=capacity,
    )


@pytest.mark.parametrize("readers", [1.5, "2", False])
def test_rejects_a_reader_count_that_is_not_an_int(vpc_stack: tuple[Stack, ec2.Vpc], readers: object) -> None:
    _rejects(vpc_stack, r"invalid readers=.*; allowed: a whole number \(int\)", readers=readers)


@pytest.mark.parametrize(
    ("engine", "username", "reason"),
    [
        (MYSQL, "db_admin", "1-16 letters and digits"),
        (POSTGRES, "admin", "not reserved by aurora-postgresql"),
        (MYSQL, "rdsadmin", "not reserved by aurora-mysql"),
    ],
)
def test_rejects_master_user_names_aurora_refuses(
    vpc_stack: tuple[Stack, ec2.Vpc], engine: rds.IClusterEngine, username: str, reason: str
) -> None:
    _rejects(
        vpc_stack,
        rf"invalid master_username='{username}'; allowed: .*{reason}",
        engine=engine,
        master_username=username,
    )


def test_rejects_a_default_database_name_postgresql_reserves(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid default_database_name='template1'; allowed: a name that is not reserved",
        engine=POSTGRES,
        default_database_name="template1",
    )


def test_rejects_an_aurora_version_aws_cdk_lib_does_not_list(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid engine='aurora-postgresql 16.99'; allowed: a version listed in aws-cdk-lib's "
        r"rds.AuroraPostgresEngineVersion",
        engine=rds.DatabaseClusterEngine.aurora_postgres(
            version=rds.AuroraPostgresEngineVersion.of("16.99", "16")
        ),
    )


def test_rejects_an_unpinned_aurora_engine(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid engine='aurora-mysql without a version'; allowed: .* with a pinned version",
        engine=rds.DatabaseClusterEngine.AURORA_MYSQL,
    )


def test_rejects_a_clone_with_backups_given_in_days_as_a_number(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    source = AuroraCluster(stack, "Source", _props(vpc))
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=r"invalid backup_retention=1; allowed: a Duration"):
        AuroraClone(scope, "Clone", AuroraCloneProps(source=source, backup_retention=1))  # type: ignore[arg-type]
    assert scope.node.children == []


def test_rejects_a_global_secondary_in_an_environment_agnostic_stack() -> None:
    app = App()
    primary_stack = Stack(app, "Primary")
    primary = AuroraCluster(
        primary_stack,
        "Db",
        _props(
            ec2.Vpc(primary_stack, "Vpc", max_azs=2, nat_gateways=0), engine=POSTGRES, global_database=True
        ),
    )
    stack = Stack(app, "Secondary")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    key = kms.Key(stack, "Key")
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=r"invalid scope region=.*stacks with concrete regions"):
        AuroraGlobalSecondary(
            scope, "Secondary", AuroraGlobalSecondaryProps(primary=primary, vpc=vpc, encryption_key=key)
        )
    assert scope.node.children == []


def test_rejects_parameters_with_an_existing_cluster_parameter_group(
    vpc_stack: tuple[Stack, ec2.Vpc],
) -> None:
    stack, _ = vpc_stack
    group = rds.ParameterGroup(stack, "Shared", engine=MYSQL)
    _rejects(
        vpc_stack,
        r"AuroraCluster 'Unit/Scope/Db'.*parameters.*none with parameter_group",
        parameter_group=group,
        parameters={"long_query_time": "1"},
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


def test_rejects_a_group_name_where_a_group_is_needed(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"parameter_group.*cluster parameter group", parameter_group="default.aurora")
