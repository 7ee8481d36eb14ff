"""Shared secure defaults: key, queue, network and function, checked in one synthesized stack."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Duration, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from dbpatterns.common.alarm_topic import AlarmTopic, AlarmTopicProps
from dbpatterns.common.encryption import create_key
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.logs import LOGS_KEY_ID
from dbpatterns.common.nag import acknowledge_framework_rule
from dbpatterns.common.network import DeployTimeAzStack, IsolatedNetwork, IsolatedNetworkProps
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue, SecureQueueProps
from dbpatterns.common.validation import PropValidationError
from stacks.app_builder import add_compliance_checks
from tests.support.synth import new_app

pytestmark = pytest.mark.synth
ENV = Environment(account="123456789012", region="eu-west-1")


@pytest.fixture(scope="module")
def template() -> Template:
    """Every shared construct in one production stack, synthesized once with cdk-nag."""
    app = new_app()
    stack = DeployTimeAzStack(app, "Common", env=ENV)
    profile = DeploymentProfile.PRODUCTION
    key = create_key(stack, "Key", description="shared defaults test", profile=profile)
    alarms = AlarmTopic(stack, "Alarms", AlarmTopicProps(profile=profile, encryption_key=key))
    queue = SecureQueue(
        stack,
        "Queue",
        SecureQueueProps(
            encryption_key=key, visibility_timeout=Duration.minutes(3), alarm_topic=alarms.topic
        ),
    )
    network = IsolatedNetwork(
        stack,
        "Network",
        IsolatedNetworkProps(
            profile=profile, interface_endpoints={"Sqs": ec2.InterfaceVpcEndpointAwsService.SQS}
        ),
    )
    function = HandlerFunction(
        stack,
        "Function",
        HandlerFunctionProps(
            handler="dbpatterns.handlers.example.handler",
            profile=profile,
            description="shared defaults test",
            service_name="example",
            vpc=network.vpc,
            reserved_concurrent_executions=5,
        ),
    )
    queue.grant_consume_messages(function.function)
    # How a function is invoked decides its failure handling; this one is never invoked.
    acknowledge_framework_rule(
        function.function,
        "LambdaDLQ",
        "Test function that nothing invokes: no asynchronous event exists whose failure needs keeping.",
    )
    add_compliance_checks(app)
    return Template.from_stack(stack)  # raises on any unacknowledged cdk-nag finding


def test_key_rotates_yearly(template: Template) -> None:
    template.has_resource_properties(
        "AWS::KMS::Key", {"EnableKeyRotation": True, "RotationPeriodInDays": 365}
    )


def test_queue_redrives_to_a_dead_letter_queue(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {"deadLetterTargetArn": Match.any_value(), "maxReceiveCount": 5},
            "VisibilityTimeout": 180,
        },
    )
    template.has_resource_properties("AWS::SQS::Queue", {"MessageRetentionPeriod": 1209600})  # DLQ: 14 days


def test_both_queues_use_the_customer_managed_key(template: Template) -> None:
    (key_id,) = template.find_resources(
        "AWS::KMS::Key", {"Properties": {"Description": "shared defaults test"}}
    )
    queues = template.find_resources("AWS::SQS::Queue")
    assert len(queues) == 2
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_both_queues_refuse_requests_without_tls(template: Template) -> None:
    template.resource_properties_count_is(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sqs:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
        2,
    )


def test_queue_alarms_watch_the_dead_letter_queue_and_message_age(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Threshold": 0,
            "TreatMissingData": "notBreaching",
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "ApproximateAgeOfOldestMessage", "Threshold": 300}
    )


def test_network_has_only_isolated_subnets_and_no_nat(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::Subnet", 3)
    template.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})


def test_network_uses_azs_chosen_at_deploy_time(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::Subnet", {"AvailabilityZone": {"Fn::Select": [2, {"Fn::GetAZs": ""}]}}
    )


def test_network_has_gateway_endpoints_for_dynamodb_and_s3(template: Template) -> None:
    endpoints = template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}}
    )
    services = sorted(str(e["Properties"]["ServiceName"]) for e in endpoints.values())
    assert len(services) == 2
    assert "dynamodb" in services[0]
    assert ".s3" in services[1]


def test_network_logs_all_traffic(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"}
    )


def test_interface_endpoints_admit_https_from_the_vpc_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [
                {
                    "CidrIp": "10.0.0.0/16",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpProtocol": "tcp",
                    "Description": Match.any_value(),
                }
            ]
        },
    )
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Interface", "PrivateDnsEnabled": True}
    )


def test_function_runs_newest_python_on_arm64_with_tracing_json_logs_and_powertools(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
            "ReservedConcurrentExecutions": 5,
            "Layers": [
                {
                    "Fn::Join": [
                        "",
                        Match.array_with(
                            [Match.string_like_regexp("AWSLambdaPowertoolsPythonV3-python314-arm64:")]
                        ),
                    ]
                }
            ],
            "VpcConfig": Match.object_like({"SubnetIds": Match.any_value()}),
        },
    )


def test_function_logs_go_to_its_own_log_group_with_retention(template: Template) -> None:
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert "RetentionInDays" in group["Properties"]


def test_every_log_group_is_encrypted_with_the_stacks_one_logs_key(template: Template) -> None:
    keys = template.find_resources("AWS::KMS::Key")
    (logs_key,) = (name for name in keys if name.startswith(LOGS_KEY_ID))
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == 2  # the flow logs and the function's logs
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [logs_key, "Arn"]}
    statements = keys[logs_key]["Properties"]["KeyPolicy"]["Statement"]
    # The principal is logs.<region>.amazonaws.com, rendered with the AWS::Region pseudo parameter.
    (logs_statement,) = (s for s in statements if '"logs."' in json.dumps(s["Principal"]))
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statement["Condition"]["ArnLike"]


def test_roles_get_their_grants_in_managed_policies_not_inline(template: Template) -> None:
    template.resource_count_is("AWS::IAM::Policy", 0)
    attached = [
        role["Ref"]
        for policy in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for role in policy["Properties"]["Roles"]
    ]
    assert sorted(name[: -len("XXXXXXXX")] for name in attached) == ["FunctionRole", "NetworkFlowLogRole"]


def test_function_role_has_no_aws_managed_policies(template: Template) -> None:
    roles = {
        name: role
        for name, role in template.find_resources("AWS::IAM::Role").items()
        if name.startswith("FunctionRole")
    }
    assert len(roles) == 1
    assert "ManagedPolicyArns" not in next(iter(roles.values()))["Properties"]


def test_rejects_memory_outside_lambda_limits() -> None:
    stack = Stack(new_app(), "Bad")
    with pytest.raises(PropValidationError, match=r"memory_size=64; allowed: 128 to 10240"):
        HandlerFunction(
            stack,
            "F",
            HandlerFunctionProps(
                handler="a.b",
                profile=DeploymentProfile.SANDBOX,
                description="d",
                service_name="s",
                memory_size=64,
            ),
        )
    assert stack.node.children == []


def test_rejects_a_receive_count_of_zero() -> None:
    stack = Stack(new_app(), "Bad")
    key = create_key(stack, "Key", description="k", profile=DeploymentProfile.SANDBOX)
    with pytest.raises(PropValidationError, match=r"max_receive_count=0; allowed: 1 to 1000"):
        SecureQueue(stack, "Q", SecureQueueProps(encryption_key=key, max_receive_count=0))


def test_rejects_a_single_az_network() -> None:
    with pytest.raises(PropValidationError, match=r"max_azs=1; allowed: 2 to 6"):
        IsolatedNetwork(
            Stack(new_app(), "Bad"), "N", IsolatedNetworkProps(profile=DeploymentProfile.SANDBOX, max_azs=1)
        )
