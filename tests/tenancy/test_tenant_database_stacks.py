"""The database stacks: IAM auth, TLS, Insights, least-privilege login, custom resources in order."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from dbpatterns.handlers.tenancy.schema_resource import SCHEMA_VERSION as HANDLER_SCHEMA_VERSION
from dbpatterns.runtime.tenancy.migrate import DEFAULT_APP_ROLE
from dbpatterns.tenancy.tenant_api import APP_DB_USER
from dbpatterns.tenancy.tenant_database import SCHEMA_VERSION
from tests.tenancy.support import ENTERPRISE, NETWORK_STACK_ID, POOL, SHARED, STANDARD, Synthesized

pytestmark = pytest.mark.synth


def _one(template: Template, kind: str, props: dict[str, Any] | None = None) -> tuple[str, Mapping[str, Any]]:
    found = template.find_resources(kind, {"Properties": props} if props else {})
    assert len(found) == 1, kind
    return next(iter(found.items()))


def _shared_output(value: Any) -> str:
    """The output of the shared stack a ``Fn::GetStackOutput`` reads."""
    reference = value["Fn::GetStackOutput"]
    assert reference["StackName"] == SHARED
    return str(reference["OutputName"])


def test_names_shared_with_the_runtime_agree() -> None:
    assert APP_DB_USER == DEFAULT_APP_ROLE
    assert SCHEMA_VERSION == HANDLER_SCHEMA_VERSION


@pytest.mark.parametrize(("stack", "family"), [(POOL, "Postgres17"), (STANDARD, "Postgres16")])
def test_rds_databases_use_iam_auth_tls_and_the_shared_groups(
    production: Synthesized, stack: str, family: str
) -> None:
    _, instance = _one(Template.from_json(production.templates[stack]), "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["StorageEncrypted"] is True
    assert props["DBName"] == "app"
    assert props["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    # rds.force_ssl=1 lives in the shared group of the database's major version.
    assert f"DatabaseGroups{family}" in _shared_output(props["DBParameterGroupName"])
    assert "DatabaseGroupsSubnets" in _shared_output(props["DBSubnetGroupName"])


def test_pooled_shard_has_performance_and_database_insights(pool: Template) -> None:
    _, instance = _one(pool, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["EnablePerformanceInsights"] is True
    assert props["DatabaseInsightsMode"] == "standard"
    assert props["MultiAZ"] is True
    assert props["DBInstanceClass"] == "db.m7g.large"


def test_standard_tenant_has_its_overrides_backups_and_multi_az(standard: Template) -> None:
    _, instance = _one(standard, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["EngineVersion"].startswith("16.")
    assert props["AllocatedStorage"] == "50"
    assert props["MaxAllocatedStorage"] == 100
    assert props["BackupRetentionPeriod"] == 7
    assert props["MultiAZ"] is True
    assert instance["DeletionPolicy"] == "Snapshot"


def test_enterprise_tenant_is_an_aurora_cluster_with_iam_auth_and_readers(enterprise: Template) -> None:
    _, cluster = _one(enterprise, "AWS::RDS::DBCluster")
    props = cluster["Properties"]
    assert props["Engine"] == "aurora-postgresql"
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["StorageEncrypted"] is True
    assert "DatabaseGroupsAuroraPostgres17" in _shared_output(props["DBClusterParameterGroupName"])
    instances = enterprise.find_resources("AWS::RDS::DBInstance")
    assert len(instances) == 3  # writer + the catalog's two readers
    assert all(i["Properties"]["DBInstanceClass"] == "db.r7g.large" for i in instances.values())


@pytest.mark.parametrize(
    ("stack", "attribute"),
    [(POOL, "DbiResourceId"), (STANDARD, "DbiResourceId"), (ENTERPRISE, "DBClusterResourceId")],
)
def test_api_may_log_in_as_tenancy_app_to_this_database_only(
    production: Synthesized, stack: str, attribute: str
) -> None:
    template = Template.from_json(production.templates[stack])
    database_id = next(
        iter(
            template.find_resources(
                "AWS::RDS::DBCluster" if attribute.startswith("DBCluster") else "AWS::RDS::DBInstance"
            )
        )
    )
    _, policy = _one(
        template,
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [Match.object_like({"Action": "rds-db:connect"})],
                "Version": Match.any_value(),
            }
        },
    )
    statement = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement == [
        {
            "Action": "rds-db:connect",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:aws:rds-db:us-east-1:123456789012:dbuser:",
                        {"Fn::GetAtt": [database_id, attribute]},
                        f"/{APP_DB_USER}",
                    ],
                ]
            },
        }
    ]
    [role] = policy["Properties"]["Roles"]
    assert "ApiHandlerRole" in _shared_output(role)


def test_schema_function_reads_only_this_databases_secret_through_resource_policies(pool: Template) -> None:
    _, secret_policy = _one(pool, "AWS::SecretsManager::ResourcePolicy")
    allow = [s for s in secret_policy["Properties"]["ResourcePolicy"]["Statement"] if s["Effect"] == "Allow"]
    assert [s["Action"] for s in allow] == ["secretsmanager:GetSecretValue"]
    assert "SchemaFunctionRole" in _shared_output(allow[0]["Principal"]["AWS"])
    _, key = _one(pool, "AWS::KMS::Key")
    decrypt = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if isinstance(s["Principal"]["AWS"], dict) and "Fn::GetStackOutput" in s["Principal"]["AWS"]
    ]
    assert [(s["Action"], s["Condition"]) for s in decrypt] == [
        ("kms:Decrypt", {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}})
    ]


@pytest.mark.parametrize("stack", [POOL, STANDARD, ENTERPRISE])
def test_api_and_schema_function_reach_the_database_on_its_port_only(
    production: Synthesized, stack: str
) -> None:
    template = Template.from_json(production.templates[stack])
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
    sources = sorted(
        _shared_output(r["Properties"]["SourceSecurityGroupId"]).split("GroupId")[0]
        for r in ingress.values()
        if "Fn::GetStackOutput" in r["Properties"]["SourceSecurityGroupId"]
    )
    assert sources == [
        "PublishOutputFnGetAttApiSecurityGroup2D7B9747",
        "PublishOutputFnGetAttProvisioningSecurityGroup6E2094C3",
    ]
    for rule in ingress.values():
        assert rule["Properties"]["FromPort"] == rule["Properties"]["ToPort"]
        assert rule["Properties"]["FromPort"] == 5432  # PostgreSQL's, as a number (not the port token)


@pytest.mark.parametrize("stack", [POOL, STANDARD, ENTERPRISE])
def test_schema_then_registration_then_rotation(production: Synthesized, stack: str) -> None:
    template = Template.from_json(production.templates[stack])
    schema_id, schema = _one(template, "Custom::TenantSchema")
    registration_id, registration = _one(template, "Custom::TenantDirectoryEntry")
    database_ids = set(template.find_resources("AWS::RDS::DBInstance")) | set(
        template.find_resources("AWS::RDS::DBCluster")
    )
    assert database_ids <= set(schema["DependsOn"])
    assert set(template.find_resources("AWS::SecretsManager::ResourcePolicy")) <= set(schema["DependsOn"])
    assert set(template.find_resources("AWS::EC2::SecurityGroupIngress")) <= set(schema["DependsOn"])
    policy_id, _ = _one(template, "AWS::IAM::Policy", {"PolicyName": Match.string_like_regexp("ApiConnect")})
    assert set(registration["DependsOn"]) == {schema_id, policy_id}
    _, rotation = _one(template, "AWS::SecretsManager::RotationSchedule")
    assert schema_id in rotation["DependsOn"]
    assert registration_id not in rotation.get("DependsOn", [])


def test_schema_resource_applies_the_current_migrations_as_the_master_user(pool: Template) -> None:
    _, schema = _one(pool, "Custom::TenantSchema")
    props = schema["Properties"]
    assert props["Database"] == "app"
    assert props["IamAuth"] == "true"
    assert props["AppRole"] == APP_DB_USER
    assert props["SchemaVersion"] == SCHEMA_VERSION
    assert props["MasterSecretArn"] == {"Ref": next(iter(pool.find_resources("AWS::SecretsManager::Secret")))}
    assert "SchemaProvider" in _shared_output(props["ServiceToken"])


def test_registration_names_the_database_and_its_catalog_tenants(
    pool: Template, enterprise: Template
) -> None:
    _, shard = _one(pool, "Custom::TenantDirectoryEntry")
    assert shard["Properties"]["Tenants"] == ["bluth", "vandelay"]
    record = shard["Properties"]["Database"]
    assert {k: v for k, v in record.items() if isinstance(v, str)} == {
        "database_id": "pool-001",
        "tier": "pooled",
        "database_name": "app",
        "db_user": APP_DB_USER,
        "region": "us-east-1",
        "stack_name": POOL,
    }
    assert "reader_host" not in record
    _, dedicated = _one(enterprise, "Custom::TenantDirectoryEntry")
    assert dedicated["Properties"]["Tenants"] == ["acme"]
    assert dedicated["Properties"]["Database"]["reader_host"]["Fn::GetAtt"][1] == "ReadEndpoint.Address"


def test_pooled_shard_dashboard_shows_load_cpu_connections_and_storage(pool: Template) -> None:
    _, dashboard = _one(pool, "AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == POOL
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "DBLoad",
        "DBLoadCPU",
        "DBLoadNonCPU",
        "CPUUtilization",
        "DatabaseConnections",
        "FreeStorageSpace",
    ):
        assert f'\\"{metric}\\"' in body, metric
    assert "application_name" in body


def test_dedicated_databases_have_no_dashboard(standard: Template, enterprise: Template) -> None:
    standard.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    enterprise.resource_count_is("AWS::CloudWatch::Dashboard", 0)


@pytest.mark.parametrize("stack", [POOL, STANDARD, ENTERPRISE])
def test_database_stacks_depend_on_the_shared_and_network_stacks(production: Synthesized, stack: str) -> None:
    assert {SHARED, NETWORK_STACK_ID} <= production.dependencies(stack)


def test_sandbox_is_small_and_removable(sandbox: Synthesized) -> None:
    _, pool = _one(Template.from_json(sandbox.templates[POOL]), "AWS::RDS::DBInstance")
    assert pool["Properties"]["DBInstanceClass"] == "db.t4g.medium"  # the smallest with Insights
    assert pool["Properties"]["EnablePerformanceInsights"] is True
    _, standard = _one(Template.from_json(sandbox.templates[STANDARD]), "AWS::RDS::DBInstance")
    assert standard["Properties"]["DBInstanceClass"] == "db.t4g.micro"
    for instance in (pool, standard):
        assert instance["Properties"]["MultiAZ"] is False
        assert instance["Properties"]["DeletionProtection"] is False
        assert instance["DeletionPolicy"] == "Delete"
    _, cluster = _one(Template.from_json(sandbox.templates[ENTERPRISE]), "AWS::RDS::DBCluster")
    assert cluster["Properties"]["DeletionProtection"] is False
    assert cluster["DeletionPolicy"] == "Delete"


def test_a_shard_stack_stays_far_below_cloudformations_limits(production: Synthesized) -> None:
    template = production.templates[POOL]
    assert len(template["Resources"]) < 50
    assert len(json.dumps(template)) < 100_000
