"""The flash-sale stack: what protects orders from loss, duplication, overload and exposure."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Capture, Match, Template

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.flash_sale.dax_cache import DaxCache, DaxCacheProps
from dbpatterns.flash_sale.order_api import OrderIntakeApi, OrderIntakeApiProps
from dbpatterns.flash_sale.pipeline import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps
from stacks.config import AppConfig
from tests.support.synth import new_app, stack_template

STACK = "DbPatterns-FlashSale"
pytestmark = pytest.mark.synth

ELSEWHERE = AccountCloudWatchRole.MANAGED_ELSEWHERE


@pytest.fixture(scope="module")
def production() -> Template:
    return stack_template(STACK, DeploymentProfile.PRODUCTION)


@pytest.fixture(scope="module")
def sandbox() -> Template:
    return stack_template(STACK, DeploymentProfile.SANDBOX)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def test_queue_redrives_to_a_dead_letter_queue_after_ten_receives(production: Template) -> None:
    production.has_resource_properties(
        "AWS::SQS::Queue",
        {"RedrivePolicy": {"deadLetterTargetArn": Match.any_value(), "maxReceiveCount": 10}},
    )


def test_visibility_timeout_is_six_function_timeouts_plus_the_batching_window(production: Template) -> None:
    production.has_resource_properties("AWS::SQS::Queue", {"VisibilityTimeout": 6 * 30 + 1})
    production.has_resource_properties(
        "AWS::Lambda::Function",
        {"Timeout": 30, "Handler": Match.string_like_regexp("flash_sale.processor.handler")},
    )


def test_queues_and_tables_use_the_customer_managed_key(production: Template) -> None:
    keys = resources(production, "AWS::KMS::Key")
    (key_id,) = [name for name in keys if name.startswith("OrdersKey")]
    # The others: the alarm topic's and the stack's shared CloudWatch Logs key.
    assert sorted(name[: -len("XXXXXXXX")] for name in keys) == [
        "DbPatternsLogsKey",
        "OrdersAlarmTopicKey",
        "OrdersKey",
    ]
    for queue in resources(production, "AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    for table in resources(production, "AWS::DynamoDB::GlobalTable").values():
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        assert table["Properties"]["Replicas"][0]["SSESpecification"] == {
            "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}
        }


def test_queues_refuse_requests_without_tls(production: Template) -> None:
    production.resource_properties_count_is(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
        2,
    )


def test_alarms_watch_dead_letters_and_the_oldest_message(production: Template) -> None:
    production.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "ApproximateNumberOfMessagesVisible"}
    )
    production.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "ApproximateAgeOfOldestMessage"}
    )


def test_mapping_reports_batch_item_failures_and_caps_concurrency(production: Template) -> None:
    production.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 20},
        },
    )


def test_dax_encrypts_in_transit_and_at_rest_with_three_nodes_in_production(production: Template) -> None:
    production.has_resource_properties(
        "AWS::DAX::Cluster",
        {
            "ClusterEndpointEncryptionType": "TLS",
            "SSESpecification": {"SSEEnabled": True},
            "ReplicationFactor": 3,
        },
    )


def test_sandbox_dax_is_a_single_small_node(sandbox: Template) -> None:
    sandbox.has_resource_properties(
        "AWS::DAX::Cluster",
        {
            "ClusterEndpointEncryptionType": "TLS",
            "SSESpecification": {"SSEEnabled": True},
            "ReplicationFactor": 1,
            "NodeType": "dax.t3.small",
        },
    )


def test_dax_admits_only_the_processor_on_the_tls_port(production: Template) -> None:
    source = Capture()
    production.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "IpProtocol": "tcp",
            "FromPort": 9111,
            "ToPort": 9111,
            "SourceSecurityGroupId": {"Fn::GetAtt": [source, "GroupId"]},
        },
    )
    assert source.as_string().startswith("OrdersProcessorSecurityGroup")
    dax_groups = [
        g
        for name, g in resources(production, "AWS::EC2::SecurityGroup").items()
        if name.startswith("OrdersDax")
    ]
    assert len(dax_groups) == 1
    assert "SecurityGroupIngress" not in dax_groups[0]["Properties"]  # no inline (open) rule


def test_processor_runs_in_the_vpc_and_reads_through_dax(production: Template) -> None:
    production.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "VpcConfig": Match.object_like({"SubnetIds": Match.any_value()}),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "DAX_ENDPOINT": {
                            "Fn::GetAtt": [
                                Match.string_like_regexp("OrdersDax"),
                                "ClusterDiscoveryEndpointURL",
                            ]
                        },
                        "ORDERS_TABLE_NAME": Match.any_value(),
                        "PRODUCTS_TABLE_NAME": Match.any_value(),
                    }
                )
            },
            "Layers": Match.array_with([{"Ref": Match.string_like_regexp("OrdersDaxClientLayer")}]),
        },
    )


def test_processor_may_only_put_orders_and_update_or_read_products(production: Template) -> None:
    policies = [
        p
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for name, p in resources(production, policy_type).items()
        if name.startswith("OrdersProcessorRole")
    ]
    actions = {
        a
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    dynamodb_actions = {a for a in actions if a.startswith("dynamodb:")}
    assert dynamodb_actions == {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"}
    assert "dax:GetItem" in actions
    assert not any(a.endswith("*") for a in actions if a.startswith(("kms:", "dynamodb:", "dax:")))


def test_api_validates_bodies_against_the_order_schema(production: Template) -> None:
    production.has_resource_properties("AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True})
    schema = Capture()
    production.has_resource_properties(
        "AWS::ApiGateway::Model", {"ContentType": "application/json", "Schema": schema}
    )
    assert schema.as_object()["additionalProperties"] is False
    assert set(schema.as_object()["required"]) == {"order_id", "customer_id", "product_id", "quantity"}


def test_api_requires_iam_and_an_api_key_and_sends_straight_to_sqs(production: Template) -> None:
    production.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "AWS_IAM",
            "ApiKeyRequired": True,
            "RequestValidatorId": Match.any_value(),
            "Integration": Match.object_like(
                {
                    "Type": "AWS",
                    "Uri": {"Fn::Join": ["", Match.array_with([Match.string_like_regexp(":sqs:path/")])]},
                    "IntegrationResponses": Match.array_with([Match.object_like({"StatusCode": "202"})]),
                }
            ),
        },
    )


def test_api_stage_throttles_traces_and_logs_access(production: Template) -> None:
    production.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {"ThrottlingRateLimit": 1000, "ThrottlingBurstLimit": 2000, "DataTraceEnabled": False}
                    )
                ]
            ),
        },
    )
    production.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {"Throttle": {"RateLimit": 1000, "BurstLimit": 2000}, "Quota": {"Limit": 1000000, "Period": "DAY"}},
    )


def test_tables_keep_pitr_and_deletion_protection_in_production(production: Template) -> None:
    tables = resources(production, "AWS::DynamoDB::GlobalTable")
    assert len(tables) == 2
    for table in tables.values():
        replica = table["Properties"]["Replicas"][0]
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert replica["DeletionProtectionEnabled"] is True
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionPolicy"] == "Retain"


def test_tables_are_not_pre_warmed_because_the_mapping_caps_the_write_rate(production: Template) -> None:
    # 20 concurrent processors writing one hot product item stay far below the 4,000 writes/s a new
    # on-demand table already serves; pre-warming to that value would change nothing.
    for table in resources(production, "AWS::DynamoDB::GlobalTable").values():
        assert "WarmThroughput" not in table["Properties"]


def test_sandbox_tables_are_removable(sandbox: Template) -> None:
    for table in resources(sandbox, "AWS::DynamoDB::GlobalTable").values():
        assert table["DeletionPolicy"] == "Delete"
        assert "WarmThroughput" not in table["Properties"]


# Invalid props: a clear error, nothing defined.


def build(**overrides: Any) -> Stack:
    stack = Stack(new_app(), "Invalid", env=AppConfig().env())
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a", "b"], isolated_subnet_ids=["s-1", "s-2"]
    )
    FlashSaleOrderPipeline(
        stack,
        "Pipeline",
        FlashSaleOrderPipelineProps(
            profile=DeploymentProfile.SANDBOX, vpc=vpc, account_cloud_watch_role=ELSEWHERE, **overrides
        ),
    )
    return stack


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"batch_size": 0}, r"batch_size=0; allowed: 1 to 10000"),
        ({"batch_size": 10_001}, r"batch_size=10001; allowed: 1 to 10000"),
        (
            {"batch_size": 50, "max_batching_window": Duration.seconds(0)},
            r"at most 10 without a max_batching_window",
        ),
        (
            {"visibility_timeout": Duration.seconds(20)},
            r"visibility_timeout \(seconds\)=20; allowed: at least 6 x",
        ),
        ({"dax_node_count": 0}, r"dax_node_count=0; allowed: 1 to 11"),
        ({"dax_node_count": 12}, r"dax_node_count=12; allowed: 1 to 11"),
        ({"max_concurrency": 1}, r"max_concurrency=1; allowed: 2 to 1000"),
        ({"batch_size": 10.0}, r"batch_size=10.0; allowed: a whole number"),
        ({"max_units_per_customer": 0}, r"max_units_per_customer=0; allowed: 1 to 1000000"),
        (
            {"max_batching_window": Duration.seconds(20), "visibility_timeout": Duration.seconds(190)},
            r"visibility_timeout \(seconds\)=190; allowed: at least 6 x function_timeout \+ "
            r"max_batching_window = 200 s",
        ),
        ({"function_timeout": 30}, r"function_timeout=30; allowed: a Duration"),
        ({"environment": {"ORDERS_TABLE_NAME": "x"}}, r"environment=\['ORDERS_TABLE_NAME'\]"),
        (
            {"orders_warm_throughput": dynamodb.WarmThroughput(write_units_per_second=4_000)},
            r"orders_warm_throughput.write_units_per_second=4000; allowed: more than 4,000",
        ),
        ({"order_status_rate_limit": 1_000}, r"order_status_rate_limit=1000; allowed: 1 to 999"),
        ({"order_status_burst_limit": 0}, r"order_status_burst_limit=0; allowed: 1 to 1999"),
        ({"alarm_email": "oncall.example.com"}, r"alarm_email='oncall.example.com'; allowed: one email"),
        (
            {"alarm_topic": "arn:aws:sns:us-east-1:123456789012:ops"},
            r"alarm_topic='arn:.*allowed: an sns.ITopic",
        ),
    ],
    ids=[
        "batch-0",
        "batch-over-max",
        "batch-without-window",
        "visibility-short",
        "dax-0",
        "dax-12",
        "concurrency-1",
        "batch-float",
        "limit-0",
        "visibility-ignores-window",
        "timeout-int",
        "env-overrides-table",
        "warm-at-default",
        "status-rate-not-below-stage",
        "status-burst-0",
        "email-without-at",
        "topic-as-arn-string",
    ],
)
def test_rejects_invalid_pipeline_props(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(
        PropValidationError, match=rf"^FlashSaleOrderPipeline 'Invalid/Pipeline': .*{message}"
    ):
        build(**overrides)


def test_rejects_a_visibility_timeout_shorter_than_the_function_timeout() -> None:
    with pytest.raises(PropValidationError, match=r"visibility_timeout \(seconds\)=60"):
        build(function_timeout=Duration.minutes(2), visibility_timeout=Duration.minutes(1))


def test_defines_nothing_when_props_are_invalid() -> None:
    stack = Stack(new_app(), "Untouched")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a"], isolated_subnet_ids=["s-1"]
    )
    with pytest.raises(PropValidationError):
        FlashSaleOrderPipeline(
            stack,
            "Pipeline",
            FlashSaleOrderPipelineProps(
                profile=DeploymentProfile.SANDBOX, vpc=vpc, account_cloud_watch_role=ELSEWHERE, batch_size=0
            ),
        )
    assert [child.node.id for child in stack.node.children] == ["Vpc"]


def test_stack_outputs_the_api_key_id_a_caller_needs(production: Template) -> None:
    production.has_output("ApiKeyId", {"Value": {"Ref": Match.string_like_regexp("OrdersApiApiKey")}})


def test_api_stage_is_guarded_by_a_waf_web_acl(production: Template) -> None:
    acl = Capture()
    production.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation", {"WebACLArn": {"Fn::GetAtt": [acl, "Arn"]}}
    )
    rules = production.to_json()["Resources"][acl.as_string()]["Properties"]["Rules"]
    assert any("RateBasedStatement" in rule["Statement"] for rule in rules)
    assert any(
        rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesCommonRuleSet"
        for rule in rules
    )


def test_rejects_a_waf_rate_limit_below_wafs_minimum() -> None:
    stack = Stack(new_app(), "Waf")
    props = OrderIntakeApiProps(
        queue=None,  # type: ignore[arg-type]  # never used: validation fails first
        request_schema={},
        profile=DeploymentProfile.SANDBOX,
        account_cloud_watch_role=ELSEWHERE,
        rate_limit_per_ip=5,
    )
    with pytest.raises(PropValidationError, match=r"rate_limit_per_ip=5; allowed: 10 to"):
        OrderIntakeApi(stack, "Api", props)
    assert stack.node.children == []


def test_dax_sets_item_and_query_ttls_explicitly(production: Template) -> None:
    production.has_resource_properties(
        "AWS::DAX::ParameterGroup",
        {"ParameterNameValues": {"record-ttl-millis": "5000", "query-ttl-millis": "1000"}},
    )
    production.has_resource_properties(
        "AWS::DAX::Cluster", {"ParameterGroupName": {"Ref": Match.string_like_regexp("DaxParameterGroup")}}
    )


def test_dax_is_connectable_on_its_tls_port() -> None:
    stack = build()
    pipeline = stack.node.find_child("Pipeline")
    assert isinstance(pipeline, FlashSaleOrderPipeline)
    assert pipeline.dax.connections.default_port is not None
    assert pipeline.dax.connections.default_port.to_string() == "9111"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"node_type": "dax.m5.large"}, r"node_type='dax.m5.large'; allowed: 'dax.t3.small'"),
        ({"item_ttl": Duration.millis(500)}, r"item_ttl \(seconds\)=0.5; allowed: whole seconds"),
        ({"node_count": 2.0}, r"node_count=2.0; allowed: a whole number"),
    ],
)
def test_rejects_invalid_dax_props(props: dict[str, Any], message: str) -> None:
    stack = build()
    pipeline = stack.node.find_child("Pipeline")
    assert isinstance(pipeline, FlashSaleOrderPipeline)
    with pytest.raises(PropValidationError, match=rf"^DaxCache 'Invalid/Other': invalid {message}"):
        DaxCache(
            stack,
            "Other",
            DaxCacheProps(
                table=pipeline.products,
                vpc=cast(ec2.IVpc, stack.node.find_child("Vpc")),
                profile=DeploymentProfile.SANDBOX,
                **props,
            ),
        )


def test_processor_gets_the_queue_url_limit_and_caller_rule(production: Template) -> None:
    production.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": Match.string_like_regexp("flash_sale.processor.handler"),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "ORDER_QUEUE_URL": {"Ref": Match.string_like_regexp("OrdersQueue")},
                        "MAX_UNITS_PER_CUSTOMER": "10",
                        "REQUIRE_CALLER_IDENTITY": "true",
                    }
                )
            },
        },
    )


def test_customer_roles_limit_who_counts_as_a_customer() -> None:
    stack = Stack(new_app(), "Roles", env=AppConfig().env())
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a", "b"], isolated_subnet_ids=["s-1", "s-2"]
    )
    shoppers = iam.Role.from_role_name(stack, "Shoppers", "storefront-shoppers")
    FlashSaleOrderPipeline(
        stack,
        "Pipeline",
        FlashSaleOrderPipelineProps(
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
            account_cloud_watch_role=ELSEWHERE,
            customer_roles=[shoppers],
            max_units_per_customer=2,
        ),
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {"CUSTOMER_ROLE_NAMES": "storefront-shoppers", "MAX_UNITS_PER_CUSTOMER": "2"}
                )
            }
        },
    )


def test_rejects_an_alarm_email_together_with_an_alarm_topic() -> None:
    stack = Stack(new_app(), "Both", env=AppConfig().env())
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a", "b"], isolated_subnet_ids=["s-1", "s-2"]
    )
    topic = sns.Topic.from_topic_arn(stack, "Ops", "arn:aws:sns:us-east-1:123456789012:ops")
    with pytest.raises(
        PropValidationError, match=r"alarm_email='ops@example.com'; allowed: only without alarm_topic"
    ):
        FlashSaleOrderPipeline(
            stack,
            "Pipeline",
            FlashSaleOrderPipelineProps(
                profile=DeploymentProfile.SANDBOX,
                vpc=vpc,
                account_cloud_watch_role=ELSEWHERE,
                alarm_topic=topic,
                alarm_email="ops@example.com",
            ),
        )
    assert [child.node.id for child in stack.node.children] == ["Vpc", "Ops"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status_rate_limit": 1_000}, r"status_rate_limit=1000; allowed: 1 to 999"),
        ({"status_burst_limit": 2_000}, r"status_burst_limit=2000; allowed: 1 to 1999"),
        ({"status_rate_limit": 10.0}, r"status_rate_limit=10.0; allowed: a whole number"),
    ],
)
def test_rejects_an_order_status_throttle_not_below_the_stages(
    overrides: dict[str, Any], message: str
) -> None:
    stack = Stack(new_app(), "Throttle")
    props = OrderIntakeApiProps(
        queue=None,  # type: ignore[arg-type]  # never used: validation fails first
        request_schema={},
        profile=DeploymentProfile.SANDBOX,
        account_cloud_watch_role=ELSEWHERE,
        **overrides,
    )
    with pytest.raises(PropValidationError, match=rf"^OrderIntakeApi 'Throttle/Api': invalid {message}"):
        OrderIntakeApi(stack, "Api", props)
    assert stack.node.children == []
