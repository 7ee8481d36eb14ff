"""Exposure gate: nothing in the app is reachable from the internet except the listed APIs.

Checked in both profiles: no security-group ingress from ``0.0.0.0/0`` or ``::/0``; no internet,
egress-only or NAT gateway, elastic IP, gateway route or subnet mapping public IPs (every network is
``IsolatedNetwork``: isolated subnets and VPC endpoints only - no stack has a public subnet); no RDS
instance or cluster ``PubliclyAccessible``; a full public access block on every bucket; no Lambda
function URL or permission for ``*``; and no ``Allow`` to ``Principal: "*"`` in any resource or trust
policy unless a condition confines it to our account, organization, a calling service's source or
our network (``template_walk.RESTRICTING_CONDITION_KEYS``; ``Deny`` statements for everyone, such
as TLS-only ones, are fine).

The API Gateway APIs are the public entry points. They are listed here by logical ID, so a new one
must be added on purpose, and every method of theirs requires authorization (IAM or Cognito) unless
``security_acknowledgments.toml`` lists it as an ``open_api_method`` with its reason (the social
platform authenticates sessions in its handlers, and some of its routes are public by design).
Security-group egress to ``0.0.0.0/0`` is not exposure (isolated subnets have no route out).
"""

from __future__ import annotations

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.gates.acknowledgments import load, unacknowledged_methods, unused_method_acknowledgments
from tests.gates.app_templates import app_templates
from tests.gates.template_walk import Templates, public_exposures, rest_apis, unauthenticated_methods

#: The app's public entry points (``stack/logicalId``): regional REST APIs behind WAF.
PUBLIC_APIS = (
    "DbPatterns-FintechLedger/LedgerCommandApi70FBFC6C",  # ledger commands and queries, IAM auth
    "DbPatterns-FlashSale/OrdersApiB57CB763",  # flash-sale orders, IAM auth
    "DbPatterns-SocialRegion-Primary/Api9AF3637B",  # social platform, us-east-1: sessions in the handler
    "DbPatterns-SocialRegion-Secondary1/Api9AF3637B",  # social platform, eu-west-1
    "DbPatterns-SocialRegion-Secondary2/Api9AF3637B",  # social platform, ap-southeast-1
    "DbPatterns-Tenancy/Api9AF3637B",  # tenant projects and tasks, Cognito user pools
)

OPEN_METHODS = load().open_api_methods

_OPEN_TO_ALL = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}

#: One resource per kind of exposure, and three that are fine.
_FRAGMENT: Templates = {
    "Hand-Made": {
        "Resources": {
            "OpenGroup": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"SecurityGroupIngress": [{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp"}]},
            },
            "OpenV6": {
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {"CidrIpv6": "::/0", "IpProtocol": "-1"},
            },
            "VpcOnly": {
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {"CidrIp": "10.0.0.0/16", "IpProtocol": "tcp"},
            },
            "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
            "PublicSubnet": {"Type": "AWS::EC2::Subnet", "Properties": {"MapPublicIpOnLaunch": True}},
            "PublicDb": {"Type": "AWS::RDS::DBInstance", "Properties": {"PubliclyAccessible": True}},
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}},
            },
            "FunctionUrl": {"Type": "AWS::Lambda::Url", "Properties": {"AuthType": "NONE"}},
            "OpenQueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"PolicyDocument": {"Statement": [_OPEN_TO_ALL]}},
            },
            "ConfinedQueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {**_OPEN_TO_ALL, "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}},
                            {**_OPEN_TO_ALL, "Effect": "Deny"},
                        ]
                    }
                },
            },
            "OpenMethod": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {"HttpMethod": "GET", "AuthorizationType": "NONE"},
            },
            "Preflight": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {"HttpMethod": "OPTIONS", "AuthorizationType": "NONE"},
            },
        }
    }
}


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_nothing_is_reachable_from_the_internet(profile: DeploymentProfile) -> None:
    assert [str(f) for f in public_exposures(app_templates(profile))] == []


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_the_listed_apis_are_the_only_public_entry_points(profile: DeploymentProfile) -> None:
    assert tuple(rest_apis(app_templates(profile))) == PUBLIC_APIS


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_api_method_requires_authorization(profile: DeploymentProfile) -> None:
    findings = unauthenticated_methods(app_templates(profile))
    assert [str(f) for f in unacknowledged_methods(findings, OPEN_METHODS)] == []


@pytest.mark.synth
def test_every_open_method_acknowledgment_still_matches_a_method() -> None:
    findings = [f for p in DeploymentProfile for f in unauthenticated_methods(app_templates(p))]
    assert unused_method_acknowledgments(findings, OPEN_METHODS) == []


def test_an_unlisted_open_method_is_reported_and_an_unused_entry_fails() -> None:
    findings = unauthenticated_methods(_FRAGMENT)
    assert [f.logical_id for f in unacknowledged_methods(findings, OPEN_METHODS)] == ["OpenMethod"]
    assert len(unused_method_acknowledgments(findings, OPEN_METHODS)) == sum(
        len(a.paths) for a in OPEN_METHODS
    )


def test_reports_every_kind_of_exposure() -> None:
    assert {(f.logical_id, f.detail) for f in public_exposures(_FRAGMENT)} == {
        ("OpenGroup", "ingress from 0.0.0.0/0 (tcp)"),
        ("OpenV6", "ingress from ::/0 (-1)"),
        ("Gateway", "connects to the internet"),
        ("PublicSubnet", "public subnet (MapPublicIpOnLaunch)"),
        ("PublicDb", "PubliclyAccessible: true"),
        ("Bucket", "public access block lacks BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets"),
        ("FunctionUrl", "connects to the internet"),
        ("OpenQueuePolicy", "PolicyDocument allows sqs:SendMessage to everyone"),
    }


def test_reports_a_method_anyone_can_call_and_a_new_api() -> None:
    assert [f.logical_id for f in unauthenticated_methods(_FRAGMENT)] == ["OpenMethod"]
    extra = {"Hand-Made": {"Resources": {"Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}}}}}
    assert rest_apis(extra) == ["Hand-Made/Api"]
