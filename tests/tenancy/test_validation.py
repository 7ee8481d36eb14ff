"""Bad props and catalogs: a PropValidationError naming the construct path (or the catalog entry),
the prop and what is allowed, before anything is defined."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.runtime.tenancy.catalog import DatabaseOverrides, Tier
from dbpatterns.runtime.tenancy.fleet import generate_fleet
from dbpatterns.tenancy.database_groups import TenantDatabaseGroups, TenantDatabaseGroupsProps
from dbpatterns.tenancy.directory_table import TenantDirectoryTable, TenantDirectoryTableProps
from dbpatterns.tenancy.provisioning import TenantProvisioning, TenantProvisioningProps
from dbpatterns.tenancy.tenant_api import MAX_PER_DATABASE_GRANTS, ConnectScope, TenantApi, TenantApiProps
from dbpatterns.tenancy.tenant_database import TenantDatabase, TenantDatabaseProps
from dbpatterns.tenancy.tiers import database_settings
from stacks.config import AppConfig
from stacks.tenancy_stacks import tenancy_stacks
from tests.support.synth import isolated_vpc_stack, new_app

ELSEWHERE = AccountCloudWatchRole.MANAGED_ELSEWHERE
PROFILE = DeploymentProfile.PRODUCTION


@pytest.fixture(scope="module")
def parts() -> dict[str, Any]:
    stack, vpc = isolated_vpc_stack()
    directory = TenantDirectoryTable(stack, "Directory", TenantDirectoryTableProps(profile=PROFILE))
    groups = TenantDatabaseGroups(stack, "Groups", TenantDatabaseGroupsProps(vpc=vpc))
    provisioning = TenantProvisioning(
        stack, "Provisioning", TenantProvisioningProps(profile=PROFILE, vpc=vpc, directory=directory)
    )
    api = TenantApi(
        stack,
        "Api",
        TenantApiProps(profile=PROFILE, vpc=vpc, directory=directory, account_cloud_watch_role=ELSEWHERE),
    )
    return {
        "stack": stack,
        "props": TenantDatabaseProps(
            database_id="pool-001",
            tier=Tier.POOLED,
            tenants=["bluth"],
            profile=PROFILE,
            vpc=vpc,
            groups=groups,
            provisioning=provisioning,
            directory=directory,
            api=api,
        ),
    }


def _rejects(parts: dict[str, Any], match: str, **changes: Any) -> None:
    scope = Construct(parts["stack"], f"Scope{len(parts['stack'].node.children)}")
    with pytest.raises(PropValidationError, match=match):
        TenantDatabase(scope, "Db", replace(parts["props"], **changes))
    assert scope.node.children == []


def test_rejects_a_database_id_of_another_tier_naming_the_construct_path(parts: dict[str, Any]) -> None:
    _rejects(
        parts,
        r"TenantDatabase 'Unit/Scope\d+/Db': invalid database_id='std-acme'.*'pool-001'",
        database_id="std-acme",
    )


def test_rejects_a_dedicated_database_with_someone_elses_tenant(parts: dict[str, Any]) -> None:
    _rejects(
        parts,
        r"tenants=\['globex'\].*exactly \['acme'\]",
        database_id="std-acme",
        tier=Tier.STANDARD,
        tenants=["globex"],
    )


def test_rejects_more_than_100_tenants_on_a_shard(parts: dict[str, Any]) -> None:
    _rejects(parts, r"101 tenants.*at most 100", tenants=[f"t{i:03d}" for i in range(101)])


def test_rejects_a_tenant_id_that_is_not_a_slug(parts: dict[str, Any]) -> None:
    _rejects(parts, r"tenants='Bluth'", tenants=["Bluth"])


def test_rejects_a_pooled_shard_class_without_performance_insights(parts: dict[str, Any]) -> None:
    _rejects(
        parts,
        r"overrides.instance_class='db.t4g.micro'.*Performance Insights",
        overrides=DatabaseOverrides(instance_class="db.t4g.micro"),
    )


def test_rejects_an_instance_class_aws_cdk_lib_does_not_know(parts: dict[str, Any]) -> None:
    _rejects(
        parts,
        r"overrides.instance_class='zz9.large'",
        overrides=DatabaseOverrides(instance_class="db.zz9.large"),
    )


def test_rejects_a_dashboard_on_an_aurora_database(parts: dict[str, Any]) -> None:
    _rejects(
        parts,
        r"dashboard=True",
        database_id="ent-acme",
        tier=Tier.ENTERPRISE,
        tenants=["acme"],
        dashboard=True,
    )


def test_rejects_a_string_where_the_api_is_needed(parts: dict[str, Any]) -> None:
    _rejects(parts, r"api='tenant-api'.*TenantApi", api="tenant-api")


def test_rejects_storage_that_leaves_no_room_for_autoscaling() -> None:
    with pytest.raises(
        PropValidationError, match=r"'std-acme': invalid overrides.allocated_storage_gib=65536"
    ):
        database_settings(
            "'std-acme'", Tier.STANDARD, DatabaseOverrides(allocated_storage_gib=65_536), PROFILE
        )


def test_groups_refuse_a_major_version_the_catalog_does_not_allow(parts: dict[str, Any]) -> None:
    with pytest.raises(
        PropValidationError,
        match=r"TenantDatabaseGroups 'Unit/Groups': invalid major=14; allowed: 15, 16, 17",
    ):
        parts["props"].groups.instance_parameter_group(14)


def test_api_refuses_a_connect_scope_given_as_a_string() -> None:
    stack, vpc = isolated_vpc_stack()
    directory = TenantDirectoryTable(stack, "Directory", TenantDirectoryTableProps(profile=PROFILE))
    with pytest.raises(PropValidationError, match=r"TenantApi 'Unit/Api': invalid connect_scope='account'"):
        TenantApi(
            stack,
            "Api",
            TenantApiProps(
                profile=PROFILE,
                vpc=vpc,
                directory=directory,
                account_cloud_watch_role=ELSEWHERE,
                connect_scope="account",  # type: ignore[arg-type]
            ),
        )
    with pytest.raises(PropValidationError, match=r"invalid rate_limit=0"):
        TenantApi(
            stack,
            "Api",
            TenantApiProps(
                profile=PROFILE,
                vpc=vpc,
                directory=directory,
                account_cloud_watch_role=ELSEWHERE,
                rate_limit=0,
            ),
        )
    assert stack.node.try_find_child("Api") is None


def _network(app: App) -> tuple[Stack, ec2.Vpc]:
    stack = Stack(app, "Net", env=AppConfig().env())
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    return stack, vpc


def test_builder_refuses_per_database_logins_for_a_fleet_above_the_iam_limit() -> None:
    app = new_app()
    _, vpc = _network(app)
    fleet = generate_fleet(pooled=100, standard=MAX_PER_DATABASE_GRANTS, enterprise=0)
    with pytest.raises(
        PropValidationError,
        match=rf"connect_scope='PER_DATABASE with {MAX_PER_DATABASE_GRANTS + 1} databases'",
    ):
        tenancy_stacks(app, AppConfig(), fleet, vpc)
    assert [c.node.id for c in app.node.children] == ["Net"]


def test_builder_refuses_a_vpc_of_another_region() -> None:
    app = new_app()
    stack = Stack(app, "Elsewhere", env=AppConfig().env("eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    with pytest.raises(PropValidationError, match=r"a VPC in eu-west-1.*primary region us-east-1"):
        tenancy_stacks(app, AppConfig(), generate_fleet(pooled=1, standard=0, enterprise=0), vpc)


def test_builder_with_account_scope_grants_one_statement_and_no_per_database_policies() -> None:
    app = new_app()
    _, vpc = _network(app)
    fleet = generate_fleet(pooled=1, standard=1, enterprise=0)
    stacks = tenancy_stacks(app, AppConfig(), fleet, vpc, connect_scope=ConnectScope.ACCOUNT)
    from aws_cdk.assertions import Match, Template

    shared = Template.from_stack(stacks[0])
    shared.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "rds-db:connect",
                            "Effect": "Allow",
                            "Resource": "arn:aws:rds-db:us-east-1:123456789012:dbuser:*/tenancy_app",
                        }
                    ]
                ),
                "Version": "2012-10-17",
            }
        },
    )
    for stack in stacks[1:]:
        assert not [
            p
            for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
            if "rds-db:connect" in str(p)
        ]


def test_a_dedicated_database_may_await_its_tenant_while_a_move_is_planned(parts: dict[str, Any]) -> None:
    scope = Construct(parts["stack"], f"Scope{len(parts['stack'].node.children)}")

    database = TenantDatabase(
        scope, "Db", replace(parts["props"], database_id="std-acme", tier=Tier.STANDARD, tenants=[])
    )

    assert database.tenants == ()
