"""The AWS path of a tenant move: DMS Serverless replication (endpoints, TLS, secrets, table mapping,
network), CDC parameters on the shared groups, and the Step Functions state machine writing the move
contract with conditional UpdateItems, rolling back on failure, with a scoped role."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.runtime.tenancy.catalog import DatabaseOverrides, Tier
from dbpatterns.tenancy.move_state_machine import (
    ROLLBACK_FROM,
    TenantMoveStateMachine,
    TenantMoveStateMachineProps,
)
from dbpatterns.tenancy.tenant_database import TenantDatabase
from dbpatterns.tenancy.tenant_replication import TenantReplication, TenantReplicationProps
from stacks.config import AppConfig
from stacks.tenancy_move_stack import TenantMoveStack
from stacks.tenancy_stack import TenancyStack
from stacks.tenant_database_stack import TenantDatabaseStack
from tests.support.synth import new_app
from tests.tenancy.support import (
    MOVE,
    POOL,
    SHARED,
    STANDARD,
    Synthesized,
    build,
    catalog_of,
)

pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def move(production: Synthesized) -> Template:
    return Template.from_json(production.templates[MOVE])


@pytest.fixture(scope="module")
def definition(production: Synthesized) -> dict[str, Any]:
    resources = production.templates[SHARED]["Resources"]
    (machine,) = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    body = machine["Properties"]["DefinitionString"]
    text = "".join(p if isinstance(p, str) else "TOKEN" for p in body["Fn::Join"][1])
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_the_sample_move_depends_on_both_databases_and_the_shared_stack(production: Synthesized) -> None:
    assert {SHARED, POOL, STANDARD} <= production.dependencies(MOVE)


def test_replication_is_serverless_full_load_and_cdc_with_validation_and_logging(move: Template) -> None:
    move.has_resource_properties(
        "AWS::DMS::ReplicationConfig",
        {
            "ReplicationType": "full-load-and-cdc",
            "ComputeConfig": Match.object_like(
                {
                    "MaxCapacityUnits": 16,
                    "MinCapacityUnits": 1,
                    "MultiAZ": True,
                    "KmsKeyId": Match.any_value(),
                }
            ),
            "ReplicationSettings": Match.object_like(
                {
                    "Logging": {"EnableLogging": True},
                    "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"},
                    "ValidationSettings": Match.object_like({"EnableValidation": True}),
                }
            ),
        },
    )


def test_table_mapping_selects_only_the_tenants_rows_of_every_app_table(move: Template) -> None:
    (config,) = move.find_resources("AWS::DMS::ReplicationConfig").values()
    rules = config["Properties"]["TableMappings"]["rules"]
    assert {r["object-locator"]["table-name"] for r in rules} == {"projects", "tasks"}
    for rule in rules:
        assert rule["rule-type"] == "selection"
        assert rule["rule-action"] == "include"
        assert rule["object-locator"]["schema-name"] == "app"
        assert rule["filters"] == [
            {
                "filter-type": "source",
                "column-name": "tenant_id",
                "filter-conditions": [{"filter-operator": "eq", "value": "initech"}],
            }
        ]
    order = {r["object-locator"]["table-name"]: r["load-order"] for r in rules}
    assert order["projects"] > order["tasks"]  # parents first: tasks reference projects


@pytest.mark.parametrize(("endpoint_type", "engine"), [("source", "postgres"), ("target", "postgres")])
def test_endpoints_use_secrets_manager_and_tls_verify_full(
    move: Template, endpoint_type: str, engine: str
) -> None:
    move.has_resource_properties(
        "AWS::DMS::Endpoint",
        {
            "EndpointType": endpoint_type,
            "EngineName": engine,
            "DatabaseName": "app",
            "SslMode": "verify-full",
            "CertificateArn": {"Ref": Match.string_like_regexp("RdsCa")},
            "KmsKeyId": Match.any_value(),
            "PostgreSqlSettings": Match.object_like(
                {
                    "SecretsManagerAccessRoleArn": Match.any_value(),
                    "SecretsManagerSecretId": Match.any_value(),
                    "AfterConnectScript": "SET app.tenant_id = 'initech'",
                }
            ),
            "Password": Match.absent(),
            "Username": Match.absent(),
        },
    )


def test_the_certificate_is_the_rds_ca_bundle(move: Template) -> None:
    (certificate,) = move.find_resources("AWS::DMS::Certificate").values()
    assert certificate["Properties"]["CertificatePem"].startswith("-----BEGIN CERTIFICATE-----")


def test_endpoint_roles_read_only_their_secret_and_decrypt_only_through_secrets_manager(
    move: Template,
) -> None:
    policies = move.find_resources("AWS::IAM::ManagedPolicy")
    endpoint_policies = [p for name, p in policies.items() if "AccessRole" in name]
    assert len(endpoint_policies) == 2
    for policy in endpoint_policies:
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert [s["Action"] for s in statements] == ["secretsmanager:GetSecretValue", "kms:Decrypt"]
        assert all(s["Resource"] != "*" for s in statements)
        assert "kms:ViaService" in statements[1]["Condition"]["StringEquals"]
    roles = move.find_resources("AWS::IAM::Role")
    for role in roles.values():
        principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        assert principal == "dms.us-east-1.amazonaws.com"


def test_security_group_only_reaches_the_two_databases_and_secrets_manager(move: Template) -> None:
    move.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupEgress": Match.absent(),
            "GroupDescription": Match.string_like_regexp("DMS replication"),
        },
    )
    # The two PostgreSQL databases on the engine's port (a number, not their endpoint's port token)
    # and the Secrets Manager endpoint on 443.
    egress = [r["Properties"] for r in move.find_resources("AWS::EC2::SecurityGroupEgress").values()]
    ingress = [r["Properties"] for r in move.find_resources("AWS::EC2::SecurityGroupIngress").values()]
    assert len(egress) == len(ingress) == 3
    assert sorted(r["FromPort"] for r in egress) == [443, 5432, 5432]
    assert all(r["IpProtocol"] == "tcp" and r["FromPort"] == r["ToPort"] for r in egress + ingress)
    assert all("DestinationSecurityGroupId" in r for r in egress)
    assert all("SourceSecurityGroupId" in r for r in ingress)


def test_subnet_group_is_on_the_isolated_subnets(move: Template) -> None:
    (group,) = move.find_resources("AWS::DMS::ReplicationSubnetGroup").values()
    assert len(group["Properties"]["SubnetIds"]) >= 2


def test_the_state_machine_role_may_run_this_replication_only(move: Template) -> None:
    move.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": [
                                "dms:DescribeReplicationTableStatistics",
                                "dms:StartReplication",
                                "dms:StopReplication",
                            ],
                            "Resource": {
                                "Fn::GetAtt": [
                                    Match.string_like_regexp("Replication"),
                                    "ReplicationConfigArn",
                                ]
                            },
                        }
                    )
                ],
                "Version": "2012-10-17",
            },
            "Roles": [Match.any_value()],
        },
    )


@pytest.mark.parametrize("group", ["AWS::RDS::DBParameterGroup", "AWS::RDS::DBClusterParameterGroup"])
def test_every_shared_group_enables_logical_replication(shared: Template, group: str) -> None:
    groups = shared.find_resources(group)
    assert len(groups) == 3
    for found in groups.values():
        parameters = found["Properties"]["Parameters"]
        assert parameters["rds.logical_replication"] == "1"
        assert parameters["rds.force_ssl"] == "1"
        assert int(parameters["max_replication_slots"]) >= 10
        assert int(parameters["max_wal_senders"]) >= 10


def test_state_machine_logs_encrypted_and_traces(shared: Template) -> None:
    shared.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
            "StateMachineType": Match.absent(),
        },
    )
    log_groups = shared.find_resources("AWS::Logs::LogGroup")
    assert any("KmsKeyId" in g["Properties"] and "Moves" in name for name, g in log_groups.items())


def _updates(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: state["Arguments"]
        for name, state in definition["States"].items()
        if state.get("Resource", "").endswith("aws-sdk:dynamodb:updateItem")
    }


def test_every_transition_is_one_conditional_write_on_status_and_version(definition: dict[str, Any]) -> None:
    updates = _updates(definition)
    assert set(updates) == {
        "MarkCopying",
        "MarkCatchingUp",
        "MarkCutover",
        "MarkVerifying",
        "Flip",
        "Rollback",
    }
    for arguments in updates.values():
        assert arguments["ConditionExpression"].startswith("#status = ")
        assert "#version = :v" in arguments["ConditionExpression"]
        assert "#version = :next" in arguments["UpdateExpression"]
        assert arguments["ExpressionAttributeValues"][":next"] == {"N": "{% $string($version + 1) %}"}
        assert arguments["Key"] == {"pk": {"S": "{% 'tenant#' & $tenant %}"}}
    transitions = {
        name: (
            args["ExpressionAttributeValues"].get(":expected"),
            args["ExpressionAttributeValues"].get(":next_status"),
        )
        for name, args in updates.items()
    }
    assert transitions["MarkCopying"] == ({"S": "active"}, {"S": "copying"})
    assert transitions["MarkCatchingUp"] == ({"S": "copying"}, {"S": "catching_up"})
    assert transitions["MarkCutover"] == ({"S": "catching_up"}, {"S": "cutover"})
    assert transitions["MarkVerifying"] == ({"S": "cutover"}, {"S": "verifying"})


def test_the_start_records_the_move_only_when_none_is_recorded(definition: dict[str, Any]) -> None:
    arguments = _updates(definition)["MarkCopying"]
    assert "attribute_not_exists(#move)" in arguments["ConditionExpression"]
    # An earlier move awaiting cleanup blocks a new one: the flip would overwrite its `previous`.
    assert "attribute_not_exists(#previous)" in arguments["ConditionExpression"]
    assert arguments["ExpressionAttributeNames"]["#previous"] == "previous"
    movable = definition["States"]["MoveOrRollback"]["Choices"][1]["Condition"]
    assert "$not($exists($item.previous))" in movable
    move = arguments["ExpressionAttributeValues"][":move"]["M"]
    assert set(move) == {
        "move_id",
        "source_database_id",
        "target_database_id",
        "source_tier",
        "target_tier",
        "started_at",
    }


def test_the_flip_switches_database_and_tier_keeps_previous_and_removes_the_move(
    definition: dict[str, Any],
) -> None:
    arguments = _updates(definition)["Flip"]
    update = arguments["UpdateExpression"]
    for part in ("database_id = :target", "tier = :target_tier", "#status = :active", "previous = :previous"):
        assert part in update
    assert update.endswith("REMOVE #move")
    assert arguments["ExpressionAttributeValues"][":expected"] == {"S": "verifying"}
    assert set(arguments["ExpressionAttributeValues"][":previous"]["M"]) == {
        "database_id",
        "tier",
        "move_id",
        "cleanup_after",
    }
    assert definition["States"]["Flip"]["Next"] == "StopReplication"


def test_every_failure_after_the_start_rolls_back_then_stops_the_replication(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]
    rollback = _updates(definition)["Rollback"]
    assert rollback["UpdateExpression"] == "SET #status = :active, #version = :next REMOVE #move"
    assert "#move.move_id = :move_id" in rollback["ConditionExpression"]
    assert states["Rollback"]["Next"] == "StopAfterRollback"
    assert states["StopAfterRollback"]["Resource"].endswith("aws-sdk:databasemigration:stopReplication")
    for name in (
        "StartReplication",
        "DescribeFullLoad",
        "MarkCatchingUp",
        "ReadCatchUpLatency",
        "MarkCutover",
        "ReadDrainLatency",
        "MarkVerifying",
        "DescribeTableStatistics",
        "Flip",
    ):
        catchers = states[name]["Catch"]
        assert [c["Next"] for c in catchers] == ["Rollback"], name
    # Before anything was written, a failure changes nothing: no rollback.
    assert [c["Next"] for c in states["MarkCopying"]["Catch"]] == ["TenantNotMovable"]
    # Every polling phase ends in a rollback on timeout or failure.
    for choice in ("FullLoadDone", "CaughtUp", "Drained", "Validated"):
        targets = {rule["Next"] for rule in states[choice]["Choices"]}
        assert "PhaseTimedOut" in targets, choice


def test_cutover_waits_for_the_directory_cache_before_checking_the_drain(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert states["MarkCutover"]["Next"] == "WaitForDirectoryCache"
    assert states["WaitForDirectoryCache"]["Seconds"] == 30
    assert states["WaitForDirectoryCache"]["Next"] == "WaitForDrain"


def test_a_rollback_can_be_requested_for_a_move_in_progress(definition: dict[str, Any]) -> None:
    choice = definition["States"]["RollbackInProgressMove"]
    condition = choice["Choices"][0]["Condition"]
    for status in ROLLBACK_FROM:
        assert status in condition


def test_state_machine_role_is_scoped(shared: Template) -> None:
    policies = shared.find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = [p for name, p in policies.items() if name.startswith("MovesPolicy")]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    directory = next(s for s in statements if "dynamodb:UpdateItem" in s["Action"])
    assert directory["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert directory["Resource"] != "*"
    assert directory["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["tenant#*"]}}
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not any(a.startswith("dms:") and a != "dms:DescribeReplications" for a in actions)
    assert "dynamodb:PutItem" not in actions
    assert "dynamodb:DeleteItem" not in actions


# -- validation --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    app = new_app()
    stacks = build(app, DeploymentProfile.SANDBOX, catalog_of())
    shared = next(s for s in stacks if isinstance(s, TenancyStack))
    databases = {
        s.tenant_database.database_id: s.tenant_database for s in stacks if isinstance(s, TenantDatabaseStack)
    }
    move_stack = next(s for s in stacks if isinstance(s, TenantMoveStack))
    props = TenantReplicationProps(
        tenant_id="initech",
        source=databases["std-initech"],
        target=databases["pool-001"],
        vpc=shared.vpc,
        profile=DeploymentProfile.SANDBOX,
    )
    return {"app": app, "shared": shared, "databases": databases, "props": props, "move": move_stack}


@pytest.mark.parametrize(
    ("changes", "prop"),
    [
        ({"tenant_id": "Not A Slug"}, "tenant_id"),
        ({"tenant_id": "bluth"}, "tenant_id"),  # not on the source
        ({"max_capacity_units": 3}, "max_capacity_units"),
        ({"min_capacity_units": 8, "max_capacity_units": 4}, "min_capacity_units"),
        ({"multi_az": "yes"}, "multi_az"),
        ({"vpc": "vpc-123"}, "vpc"),
        ({"operator_role": "arn:aws:iam::1:role/x"}, "operator_role"),
    ],
)
def test_rejects_bad_replication_props(fleet: dict[str, Any], changes: dict[str, Any], prop: str) -> None:
    stack = fleet["move"]
    before = len(stack.node.children)
    with pytest.raises(PropValidationError, match=prop) as raised:
        TenantReplication(stack, "Bad", replace(fleet["props"], **changes))
    assert "TenantReplication" in str(raised.value)
    assert len(stack.node.children) == before


def test_rejects_a_target_that_is_another_tenants_dedicated_database(fleet: dict[str, Any]) -> None:
    databases: dict[str, TenantDatabase] = fleet["databases"]
    props = replace(fleet["props"], target=databases["ent-acme"])
    with pytest.raises(PropValidationError, match="target"):
        TenantReplication(fleet["move"], "Bad", props)


def test_rejects_an_empty_dedicated_database_of_another_tenant(fleet: dict[str, Any]) -> None:
    databases: dict[str, TenantDatabase] = fleet["databases"]
    awaiting = TenantDatabaseStack(
        fleet["app"],
        "AwaitingVandelay",
        env=AppConfig(profile=DeploymentProfile.SANDBOX).env(),
        shared=fleet["shared"],
        database_id="std-vandelay",
        tier=Tier.STANDARD,
        tenants=[],
        overrides=DatabaseOverrides(),
        secrets_manager_endpoint=None,
    )
    props = replace(fleet["props"], source=databases["std-initech"], target=awaiting.tenant_database)
    with pytest.raises(PropValidationError, match="the dedicated database of 'initech'"):
        TenantReplication(fleet["move"], "Bad", props)


def test_rejects_the_source_as_target(fleet: dict[str, Any]) -> None:
    databases: dict[str, TenantDatabase] = fleet["databases"]
    props = replace(fleet["props"], target=databases["std-initech"])
    with pytest.raises(PropValidationError, match="target"):
        TenantReplication(fleet["move"], "Bad", props)


@pytest.mark.parametrize(
    ("changes", "prop"),
    [
        ({"poll_interval": Duration.seconds(5)}, "poll_interval"),
        ({"poll_interval": 30}, "poll_interval"),
        ({"cutover_timeout": Duration.hours(3)}, "cutover_timeout"),
        ({"cache_ttl": Duration.minutes(15), "cutover_timeout": Duration.minutes(10)}, "cutover_timeout"),
        ({"keep_source_for": Duration.hours(1)}, "keep_source_for"),
        ({"directory": "table"}, "directory"),
        ({"profile": "production"}, "profile"),
    ],
)
def test_rejects_bad_state_machine_props(fleet: dict[str, Any], changes: dict[str, Any], prop: str) -> None:
    shared: TenancyStack = fleet["shared"]
    props = TenantMoveStateMachineProps(directory=shared.directory, profile=DeploymentProfile.SANDBOX)
    before = len(shared.node.children)
    with pytest.raises(PropValidationError, match=prop):
        TenantMoveStateMachine(shared, "BadMoves", replace(props, **changes))
    assert len(shared.node.children) == before


def test_the_move_stack_prints_the_state_machine_input(production: Synthesized) -> None:
    output = production.templates[MOVE]["Outputs"]["MoveInput"]["Value"]
    rendered = "".join(p if isinstance(p, str) else "ARN" for p in output["Fn::Join"][1])
    assert json.loads(rendered) == {
        "tenant_id": "initech",
        "source_database_id": "std-initech",
        "target_database_id": "pool-001",
        "source_tier": "standard",
        "target_tier": "pooled",
        "replication_config_arn": "ARN",
    }


def test_an_enterprise_tenant_moves_off_aurora_through_an_aurora_postgresql_source() -> None:
    app = new_app()
    stacks = build(app, DeploymentProfile.SANDBOX, catalog_of(), moves=False)
    shared = next(s for s in stacks if isinstance(s, TenancyStack))
    databases = {
        s.tenant_database.database_id: s.tenant_database for s in stacks if isinstance(s, TenantDatabaseStack)
    }
    stack = TenantMoveStack(
        app,
        "DownToPool",
        env=AppConfig(profile=DeploymentProfile.SANDBOX).env(),
        shared=shared,
        tenant_id="acme",
        source=databases["ent-acme"],
        target=databases["pool-001"],
        secrets_manager_endpoint=None,
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::DMS::Endpoint",
        {"EndpointType": "source", "EngineName": "aurora-postgresql", "SslMode": "verify-full"},
    )
    template.has_resource_properties(
        "AWS::DMS::ReplicationConfig",
        {"ComputeConfig": Match.object_like({"MaxCapacityUnits": 4, "MultiAZ": False})},
    )
    # No Secrets Manager endpoint given: only the two database rules.
    assert len(template.find_resources("AWS::EC2::SecurityGroupEgress")) == 2
