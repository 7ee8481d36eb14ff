"""Bad props of the Aurora constructs: a clear PropValidationError before anything is defined."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
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


def test_rejects_backtrack_on_postgresql(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"AuroraCluster: invalid backtrack_window_hours=24; allowed: None for aurora-postgresql "
        r"\(backtrack exists for Aurora MySQL only\)",
        engine=POSTGRES,
        backtrack_window_hours=24,
    )


def test_rejects_backtrack_on_a_global_cluster(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(
        vpc_stack,
        r"invalid backtrack_window_hours=12; allowed: None with global_database=True",
        backtrack_window_hours=12,
        global_database=True,
    )


def test_rejects_backtrack_over_72_hours(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid backtrack_window_hours=73; allowed: 1 to 72", backtrack_window_hours=73)


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
    _rejects(vpc_stack, r"invalid backup_retention_days=0; allowed: 1 to 35", backup_retention_days=0)


def test_rejects_backup_retention_of_36_days(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    _rejects(vpc_stack, r"invalid backup_retention_days=36; allowed: 1 to 35", backup_retention_days=36)


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
        vpc_stack, r"invalid engine='postgres'; allowed: Aurora MySQL or Aurora PostgreSQL", engine=engine
    )


def test_rejects_a_clone_with_capacity_outside_the_engine_range(vpc_stack: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = vpc_stack
    source = AuroraCluster(stack, "Source", _props(vpc, engine=OLD_MYSQL))
    scope = Construct(stack, "Scope")
    with pytest.raises(PropValidationError, match=r"AuroraClone: invalid serverless_v2_max_capacity=200"):
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
