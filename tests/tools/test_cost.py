"""The idle-cost report: what each billable resource costs per hour, read from templates.

Most tests price small hand-written templates against a price table of round numbers, so the
arithmetic is visible; the last ones check the repository's price table and the real app.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import synthesize
from tools.cost import (
    DEFAULT_PRICES,
    HOURS_PER_MONTH,
    Estimate,
    LineItem,
    Price,
    PriceError,
    PriceTable,
    StackTemplate,
    estimate,
    main,
    short_name,
    stacks_from_assembly,
    stacks_from_cdk_out,
)

SOURCE = "https://aws.amazon.com/pricing/"


def price(
    key: str,
    usd: float,
    unit: str = "hour",
    region: str = "us-east-1",
    confidence: str = "published",
) -> Price:
    return Price(key, region, usd, unit, "2026-12-01", SOURCE, confidence)


PRICES = PriceTable(
    [
        price("rds.instance/postgres/db.t4g.micro", 1.0),
        price("rds.instance/postgres/db.t4g.micro", 2.0, region="eu-west-1"),
        price("rds.storage/gp3", 0.73, "GB-month"),
        price("aurora.serverless-v2/standard", 0.2, "ACU-hour"),
        price("aurora.serverless-v2/io-optimized", 0.3, "ACU-hour"),
        price("aurora.instance/aurora-postgresql/db.r7g.large/standard", 0.5),
        price("dax.node/dax.t3.small", 0.25),
        price("elasticache.node/valkey/cache.m6g.large", 1.0),
        price("elasticache.node/valkey/cache.m6g.large", 3.0, region="ap-southeast-1"),
        price("elasticache.node/memcached/cache.t4g.micro", 0.5),
        price("dynamodb.rcu/standard", 0.001, "RCU-hour"),
        price("dynamodb.wcu/standard", 0.01, "WCU-hour"),
        price("dynamodb.wcu/standard", 0.02, "WCU-hour", region="eu-west-1"),
        price("dynamodb.rcu/standard", 0.002, "RCU-hour", region="eu-west-1"),
        price("vpc.nat-gateway", 0.05),
        price("vpc.public-ipv4", 0.005, region="*"),
        price("vpc.interface-endpoint", 0.01),
        price("kms.key", 1.0, "month", region="*"),
        price("secretsmanager.secret", 0.4, "month", region="*"),
        price("cloudwatch.alarm/standard", 0.1, "month"),
        price("cloudwatch.alarm/high-resolution", 0.3, "month"),
        price("cloudwatch.dashboard", 3.0, "month", confidence="estimate"),
        price("waf.web-acl", 5.0, "month", region="*"),
        price("waf.rule", 1.0, "month", region="*"),
        price("route53.health-check/other-endpoint", 0.75, "month", region="*"),
        price("route53.health-check-feature/other-endpoint", 2.0, "month", region="*"),
    ]
)


def stack(
    resources: dict[str, dict[str, Any]],
    *,
    name: str = "Stack",
    region: str = "us-east-1",
    outputs: dict[str, Any] | None = None,
) -> StackTemplate:
    template: dict[str, Any] = {"Resources": resources}
    if outputs:
        template["Outputs"] = outputs
    return StackTemplate(name, region, template)


def res(resource_type: str, **properties: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": properties}


def priced(*stacks: StackTemplate) -> Estimate:
    return estimate("test", stacks, PRICES)


def hourly(*stacks: StackTemplate) -> float:
    return priced(*stacks).hourly


def only_line(result: Estimate) -> LineItem:
    assert not result.unpriced, result.unpriced
    (line,) = result.lines
    return line


# --- RDS and Aurora ---------------------------------------------------------------------------------

POSTGRES = res(
    "AWS::RDS::DBInstance",
    Engine="postgres",
    DBInstanceClass="db.t4g.micro",
    AllocatedStorage="20",
    StorageType="gp3",
    DBInstanceIdentifier="orders-db",
)


def test_rds_instance_bills_its_class_and_allocated_storage() -> None:
    result = priced(stack({"Db": POSTGRES}))
    # 1.00/h for the instance + 20 GB x 0.73/GB-month / 730 h = 0.02/h
    assert result.hourly == pytest.approx(1.02)
    assert not result.unpriced


def test_multi_az_doubles_instance_hours_and_storage() -> None:
    multi_az = {**POSTGRES, "Properties": {**POSTGRES["Properties"], "MultiAZ": True}}
    assert hourly(stack({"Db": multi_az})) == pytest.approx(2 * 1.02)


def test_cross_region_replica_inherits_engine_and_storage_from_its_source_named_by_arn() -> None:
    source = stack({"Db": POSTGRES}, name="Primary")
    replica = stack(
        {
            "Replica": res(
                "AWS::RDS::DBInstance",
                DBInstanceClass="db.t4g.micro",
                SourceDBInstanceIdentifier="arn:aws:rds:us-east-1:123456789012:db:orders-db",
            )
        },
        name="Replica",
        region="eu-west-1",
    )
    result = priced(source, replica)
    replica_cost = next(s for s in result.stacks if s.name == "Replica")
    # eu-west-1 instance price (2.00) + us-east-1 storage price standing in for eu-west-1 (0.02)
    assert replica_cost.hourly == pytest.approx(2.02)
    assert not result.unpriced


def test_same_region_replica_follows_a_ref_to_its_source() -> None:
    replica = res(
        "AWS::RDS::DBInstance",
        DBInstanceClass="db.t4g.micro",
        SourceDBInstanceIdentifier={"Fn::Join": ["", ["arn:aws:rds:us-east-1:1:db:", {"Ref": "Db"}]]},
    )
    assert hourly(stack({"Db": POSTGRES, "Replica": replica})) == pytest.approx(2 * 1.02)


def aurora(min_acu: float, *, storage: str | None = None, readers: int = 0, **scaling: Any) -> StackTemplate:
    cluster = res(
        "AWS::RDS::DBCluster",
        Engine="aurora-postgresql",
        ServerlessV2ScalingConfiguration={"MinCapacity": min_acu, "MaxCapacity": 16, **scaling},
        **({"StorageType": storage} if storage else {}),
    )
    instances = {
        f"Instance{n}": res(
            "AWS::RDS::DBInstance", DBClusterIdentifier={"Ref": "Cluster"}, DBInstanceClass="db.serverless"
        )
        for n in range(1 + readers)
    }
    return stack({"Cluster": cluster, **instances})


def test_serverless_v2_instances_bill_the_cluster_minimum_acu_each() -> None:
    # writer + 1 reader, each at 0.5 ACU x 0.20/ACU-hour
    assert hourly(aurora(0.5, readers=1)) == pytest.approx(2 * 0.5 * 0.2)


def test_serverless_v2_with_zero_minimum_costs_nothing_while_paused() -> None:
    result = priced(aurora(0, SecondsUntilAutoPause=300))
    line = only_line(result)
    assert line.hourly == 0
    assert "auto-pauses after 300 s" in line.note


def test_io_optimized_cluster_uses_the_io_optimized_acu_price() -> None:
    assert hourly(aurora(1, storage="aurora-iopt1")) == pytest.approx(0.3)


def test_provisioned_aurora_instance_bills_its_class() -> None:
    template = stack(
        {
            "Cluster": res("AWS::RDS::DBCluster", Engine="aurora-postgresql"),
            "Writer": res(
                "AWS::RDS::DBInstance", DBClusterIdentifier={"Ref": "Cluster"}, DBInstanceClass="db.r7g.large"
            ),
        }
    )
    assert hourly(template) == pytest.approx(0.5)


def test_rds_managed_master_secret_bills_like_a_secret() -> None:
    cluster = res("AWS::RDS::DBCluster", Engine="aurora-postgresql", ManageMasterUserPassword=True)
    assert hourly(stack({"Cluster": cluster})) == pytest.approx(0.4 / HOURS_PER_MONTH)


# --- caches -----------------------------------------------------------------------------------------


def test_dax_bills_node_type_times_replication_factor() -> None:
    dax = res("AWS::DAX::Cluster", NodeType="dax.t3.small", ReplicationFactor=3)
    assert hourly(stack({"Dax": dax})) == pytest.approx(0.75)


def test_replication_group_bills_every_replica_of_every_shard() -> None:
    sharded = res(
        "AWS::ElastiCache::ReplicationGroup",
        Engine="valkey",
        CacheNodeType="cache.m6g.large",
        NumNodeGroups=2,
        ReplicasPerNodeGroup=1,
    )
    assert hourly(stack({"Cache": sharded})) == pytest.approx(4.0)


def test_replication_group_without_shards_bills_its_cache_clusters() -> None:
    group = res(
        "AWS::ElastiCache::ReplicationGroup",
        Engine="valkey",
        CacheNodeType="cache.m6g.large",
        NumCacheClusters=3,
    )
    assert hourly(stack({"Cache": group})) == pytest.approx(3.0)


def test_global_datastore_secondary_takes_node_type_from_the_primary_in_another_stack() -> None:
    primary = stack(
        {
            "Cache": res(
                "AWS::ElastiCache::ReplicationGroup",
                Engine="valkey",
                CacheNodeType="cache.m6g.large",
                NumCacheClusters=2,
            ),
            "Global": res(
                "AWS::ElastiCache::GlobalReplicationGroup",
                Members=[{"ReplicationGroupId": {"Ref": "Cache"}, "Role": "PRIMARY"}],
            ),
        },
        name="Primary",
        outputs={"GlobalId": {"Value": {"Ref": "Global"}}},
    )
    # The secondary's logical ID is the primary's: the lookup must follow the primary's stack.
    secondary = stack(
        {
            "Cache": res(
                "AWS::ElastiCache::ReplicationGroup",
                NumCacheClusters=2,
                GlobalReplicationGroupId={
                    "Fn::GetStackOutput": {
                        "StackName": "Primary",
                        "Region": "us-east-1",
                        "OutputName": "GlobalId",
                    }
                },
            )
        },
        name="Secondary",
        region="ap-southeast-1",
    )
    result = priced(primary, secondary)
    assert not result.unpriced
    by_stack = {s.name: s.hourly for s in result.stacks}
    assert by_stack == pytest.approx({"Primary": 2 * 1.0, "Secondary": 2 * 3.0})


def test_memcached_cluster_bills_each_node() -> None:
    memcached = res(
        "AWS::ElastiCache::CacheCluster", Engine="memcached", CacheNodeType="cache.t4g.micro", NumCacheNodes=3
    )
    assert hourly(stack({"Cache": memcached})) == pytest.approx(1.5)


# --- DynamoDB ---------------------------------------------------------------------------------------


def test_provisioned_global_table_bills_its_autoscaling_floor_in_every_replica_region() -> None:
    table = res(
        "AWS::DynamoDB::GlobalTable",
        BillingMode="PROVISIONED",
        WriteProvisionedThroughputSettings={
            "WriteCapacityAutoScalingSettings": {"MinCapacity": 50, "MaxCapacity": 200}
        },
        Replicas=[
            {"Region": region, "ReadProvisionedThroughputSettings": {"ReadCapacityUnits": 100}}
            for region in ("us-east-1", "eu-west-1")
        ],
    )
    # us-east-1: 100 x 0.001 + 50 x 0.01; eu-west-1 (replicated writes): 100 x 0.002 + 50 x 0.02
    assert hourly(stack({"Table": table})) == pytest.approx(0.6 + 1.2)


def test_provisioned_table_bills_table_and_index_capacity() -> None:
    table = res(
        "AWS::DynamoDB::Table",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 5},
        GlobalSecondaryIndexes=[
            {"ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 5}}
        ],
    )
    assert hourly(stack({"Table": table})) == pytest.approx(20 * 0.001 + 10 * 0.01)


def test_on_demand_table_and_contributor_insights_cost_nothing_while_idle() -> None:
    table = res(
        "AWS::DynamoDB::GlobalTable",
        BillingMode="PAY_PER_REQUEST",
        Replicas=[{"Region": "us-east-1", "ContributorInsightsSpecification": {"Enabled": True}}],
    )
    result = priced(stack({"Table": table}))
    assert result.hourly == 0
    assert not result.unpriced
    assert sorted(line.description for line in result.lines) == [
        "DynamoDB Contributor Insights",
        "DynamoDB table, on-demand",
    ]


# --- networking and per-resource charges ------------------------------------------------------------


def test_nat_gateway_and_its_public_address_bill_hourly() -> None:
    template = stack({"Nat": res("AWS::EC2::NatGateway"), "Ip": res("AWS::EC2::EIP")})
    assert hourly(template) == pytest.approx(0.055)


def test_interface_endpoint_bills_each_az_and_gateway_endpoints_are_free() -> None:
    template = stack(
        {
            "Secrets": res(
                "AWS::EC2::VPCEndpoint",
                VpcEndpointType="Interface",
                ServiceName="com.amazonaws.us-east-1.secretsmanager",
                SubnetIds=[{"Ref": "A"}, {"Ref": "B"}, {"Ref": "C"}],
            ),
            "S3": res("AWS::EC2::VPCEndpoint", VpcEndpointType="Gateway", ServiceName="s3"),
        }
    )
    line = only_line(priced(template))
    assert line.quantity == 3
    assert line.hourly == pytest.approx(0.03)


def test_keys_secrets_and_dashboards_bill_per_month() -> None:
    template = stack(
        {
            "Key": res("AWS::KMS::Key", EnableKeyRotation=True),
            "Secret": res("AWS::SecretsManager::Secret"),
            "Dashboard": res("AWS::CloudWatch::Dashboard", DashboardBody="{}"),
        }
    )
    assert hourly(template) == pytest.approx((1.0 + 0.4 + 3.0) / HOURS_PER_MONTH)


def test_alarms_bill_per_metric_and_by_resolution() -> None:
    standard = res("AWS::CloudWatch::Alarm", MetricName="Errors", Period=60)
    high_resolution = res("AWS::CloudWatch::Alarm", MetricName="Errors", Period=10)
    metric_math = res(
        "AWS::CloudWatch::Alarm",
        Metrics=[
            {"Id": "a", "MetricStat": {"Period": 300}},
            {"Id": "b", "MetricStat": {"Period": 300}},
            {"Id": "e", "Expression": "a + b"},
        ],
    )
    template = stack({"Standard": standard, "HighRes": high_resolution, "Math": metric_math})
    assert hourly(template) == pytest.approx((0.1 + 0.3 + 2 * 0.1) / HOURS_PER_MONTH)


def test_web_acl_bills_the_acl_and_each_rule() -> None:
    acl = res("AWS::WAFv2::WebACL", Scope="REGIONAL", Rules=[{"Name": "a"}, {"Name": "b"}, {"Name": "c"}])
    assert hourly(stack({"Acl": acl})) == pytest.approx((5.0 + 3 * 1.0) / HOURS_PER_MONTH)


def test_health_check_bills_its_optional_features() -> None:
    check = res(
        "AWS::Route53::HealthCheck",
        HealthCheckConfig={"Type": "HTTPS_STR_MATCH", "RequestInterval": 10},
    )
    # basic + HTTPS + string matching + fast interval
    assert hourly(stack({"Check": check})) == pytest.approx((0.75 + 3 * 2.0) / HOURS_PER_MONTH)


def test_usage_billed_resources_add_no_idle_cost_and_are_not_unpriced() -> None:
    template = stack(
        {
            "Fn": res("AWS::Lambda::Function"),
            "Queue": res("AWS::SQS::Queue"),
            "Topic": res("AWS::SNS::Topic"),
            "Api": res("AWS::ApiGateway::RestApi"),
            "Stage": res("AWS::ApiGateway::Stage"),
            "Bucket": res("AWS::S3::Bucket"),
            "Vault": res("AWS::Backup::BackupVault"),
            "Custom": res("Custom::VpcRestrictDefaultSG"),
        }
    )
    result = priced(template)
    assert result.hourly == 0
    assert not result.unpriced
    assert not result.lines


def test_peering_and_a_custom_domain_add_no_idle_cost_and_are_not_unpriced() -> None:
    # Use case 2: VPC peering bills the traffic over it; a regional custom domain and its public
    # certificate are free.
    template = stack(
        {
            "Peering": res("AWS::EC2::VPCPeeringConnection", PeerRegion="eu-west-1"),
            "Domain": res("AWS::ApiGateway::DomainName", DomainName="api.example.com"),
            "Mapping": res("AWS::ApiGateway::BasePathMapping"),
            "Certificate": res("AWS::CertificateManager::Certificate", DomainName="api.example.com"),
        }
    )
    result = priced(template)
    assert (result.hourly, result.unpriced, result.lines) == (0, [], [])


# --- what the model does not know -------------------------------------------------------------------


def test_unknown_node_type_is_listed_unpriced_and_not_counted_as_zero() -> None:
    cache = res(
        "AWS::ElastiCache::ReplicationGroup",
        Engine="valkey",
        CacheNodeType="cache.x9.huge",
        NumCacheClusters=2,
    )
    result = priced(stack({"Cache": cache, "Key": res("AWS::KMS::Key")}))
    (unpriced,) = result.unpriced
    assert unpriced.logical_id == "Cache"
    assert "elasticache.node/valkey/cache.x9.huge" in unpriced.reason
    assert [line.logical_id for line in result.lines] == ["Key"]


def test_unknown_resource_type_is_listed_unpriced() -> None:
    result = priced(stack({"Box": res("AWS::EC2::Instance", InstanceType="t3.micro")}))
    (unpriced,) = result.unpriced
    assert (unpriced.resource_type, unpriced.logical_id) == ("AWS::EC2::Instance", "Box")
    assert "not in the cost model" in unpriced.reason


def test_paid_extras_are_listed_unpriced() -> None:
    template = stack(
        {
            "Fn": res(
                "AWS::Lambda::Alias", ProvisionedConcurrencyConfig={"ProvisionedConcurrentExecutions": 2}
            ),
            "Stage": res("AWS::ApiGateway::Stage", CacheClusterEnabled=True, CacheClusterSize="0.5"),
        }
    )
    assert {u.logical_id for u in priced(template).unpriced} == {"Fn", "Stage"}


# --- arithmetic, regions and the price table --------------------------------------------------------


def test_monthly_is_hourly_times_730_for_lines_stacks_and_totals() -> None:
    result = priced(stack({"Db": POSTGRES, "Key": res("AWS::KMS::Key")}))
    pairs = [(i.hourly, i.monthly) for i in result.lines] + [(s.hourly, s.monthly) for s in result.stacks]
    for hour, month in [*pairs, (result.hourly, result.monthly)]:
        assert month == pytest.approx(hour * 730)
    assert result.monthly == pytest.approx(1.02 * 730 + 1.0)


def test_region_without_a_price_falls_back_to_us_east_1_and_is_flagged() -> None:
    nat = only_line(priced(stack({"Nat": res("AWS::EC2::NatGateway")}, region="ap-southeast-1")))
    assert nat.quote is not None
    assert nat.quote.approximated
    assert nat.quote.price.region == "us-east-1"


def test_only_prices_borrowed_from_us_east_1_are_flagged() -> None:
    result = priced(stack({"Db": POSTGRES, "Key": res("AWS::KMS::Key")}, region="eu-west-1"))
    flags = {line.quote.price.key: line.quote.approximated for line in result.lines if line.quote}
    assert flags == {"rds.instance/postgres/db.t4g.micro": False, "rds.storage/gp3": True, "kms.key": False}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit": "fortnight"}, "unit"),
        ({"confidence": "hunch"}, "confidence"),
        ({"source": "https://example.com/prices"}, "AWS pricing page"),
        ({"date": "Dec 2026"}, "date"),
    ],
)
def test_price_table_rejects_malformed_prices(change: dict[str, str], message: str) -> None:
    fields = {**dataclasses.asdict(price("kms.key", 1.0, "month")), **change}
    with pytest.raises(PriceError, match=message):
        PriceTable([Price(**fields)])


def test_price_table_rejects_duplicates() -> None:
    with pytest.raises(PriceError, match="duplicate"):
        PriceTable([price("kms.key", 1.0, "month"), price("kms.key", 2.0, "month")])


def test_repository_price_table_gives_every_price_a_region_unit_date_and_aws_source() -> None:
    table = PriceTable.load(DEFAULT_PRICES)  # validates every entry
    prices = list(table)
    assert prices
    estimates = [p for p in prices if p.confidence == "estimate"]
    assert all(p.note for p in estimates), "every estimate says why it is one"
    published_elsewhere = [p for p in prices if p.confidence == "published" and p.seen_at]
    assert all(p.seen_at and p.seen_at.startswith("https://") for p in published_elsewhere)


def test_short_name_drops_the_cdk_hash() -> None:
    assert short_name("SessionCache9EEA23A0") == "SessionCache"
    assert short_name("BootstrapVersion") == "BootstrapVersion"


# --- reading assemblies and the command line --------------------------------------------------------


def write_cdk_out(directory: Path, stacks: list[StackTemplate]) -> Path:
    artifacts = {}
    for item in stacks:
        (directory / f"{item.name}.template.json").write_text(json.dumps(item.template))
        artifacts[item.name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://123456789012/{item.region}",
            "properties": {"templateFile": f"{item.name}.template.json"},
        }
    artifacts["Tree"] = {"type": "cdk:tree"}
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return directory


def test_reads_stacks_and_regions_from_a_cdk_out_directory(tmp_path: Path) -> None:
    write_cdk_out(tmp_path, [stack({"Db": POSTGRES}, name="B", region="eu-west-1"), stack({}, name="A")])
    assert [(s.name, s.region) for s in stacks_from_cdk_out(tmp_path)] == [
        ("A", "us-east-1"),
        ("B", "eu-west-1"),
    ]


def test_budget_fails_the_command_when_the_idle_cost_exceeds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_cdk_out(
        tmp_path, [stack({"Dax": res("AWS::DAX::Cluster", NodeType="dax.t3.small", ReplicationFactor=1)})]
    )
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {"hours_per_month": 730, "prices": [dataclasses.asdict(price("dax.node/dax.t3.small", 0.25))]}
        )
    )
    common = ["--cdk-out", str(tmp_path), "--profile", "sandbox", "--prices", str(prices)]
    assert main([*common, "--budget", "sandbox=200"]) == 0  # 0.25 x 730 = 182.50
    assert main([*common, "--budget", "sandbox=150"]) == 1
    assert "over the $150.00 budget" in capsys.readouterr().err


def test_strict_fails_the_command_on_unpriced_resources(tmp_path: Path) -> None:
    write_cdk_out(tmp_path, [stack({"Box": res("AWS::EC2::Instance")})])
    assert main(["--cdk-out", str(tmp_path), "--summary"]) == 0
    assert main(["--cdk-out", str(tmp_path), "--summary", "--strict"]) == 1


# --- the real app -----------------------------------------------------------------------------------


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_resource_of_the_app_is_priced_or_free_while_idle(profile: DeploymentProfile) -> None:
    stacks = stacks_from_assembly(synthesize(profile))
    result = estimate(profile.value, stacks, PriceTable.load())
    assert not result.unpriced, "\n".join(f"{u.stack}/{u.logical_id}: {u.reason}" for u in result.unpriced)
    assert result.hourly > 0
    assert {s.name for s in result.stacks} == {s.name for s in stacks}
    print(f"\n{profile.value}: ${result.hourly:.4f}/hour, ${result.monthly:,.2f}/month")
