"""IAM gate: no wildcard action or resource anywhere in the app unless one entry of
``security_acknowledgments.toml`` justifies it.

Walked: every ``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy``, the inline ``Policies`` of roles
(users, groups), and the resource policies - key policies, bucket, queue, topic, secret, backup-vault,
VPC-endpoint, API and table policies, and role trust policies. Resource policies count because an
``Allow`` there grants as much as an identity policy does. Only ``Allow`` statements are checked: a
wildcard in a ``Deny`` takes permissions away (the TLS-only statements deny ``s3:*``/``sqs:*`` to
``*``). In key, secret and vault policies ``Resource: "*"`` is that key/secret/vault itself, so only
their wildcard actions are findings.

A wildcard is ``*`` or ``service:*`` as an action, ``*`` as a resource, or any ``NotAction`` /
``NotResource`` in an ``Allow``. Prefix wildcards (``kms:GenerateDataKey*``) are bounded families
left to cdk-nag's AwsSolutions-IAM5 acknowledgments. AWS managed policies attached by ARN are not in
the templates; cdk-nag's AwsSolutions-IAM4 gates those.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.gates.acknowledgments import load, unacknowledged_grants, unused_wildcard_acknowledgments
from tests.gates.app_templates import app_templates
from tests.gates.template_walk import Templates, WildcardGrant, wildcard_grants

ACKNOWLEDGMENTS = load()

#: A role policy with one wildcard action, one wildcard resource and a narrow grant; a queue policy
#: whose TLS-only Deny uses ``sqs:*``; a key policy whose ``kms:*`` goes to another account.
_FRAGMENT: Templates = {
    "Hand-Made": {
        "Resources": {
            "WriterRoleDefaultPolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::orders/*"},
                            {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
                            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:x"},
                        ]
                    }
                },
            },
            "ReaderRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "x"}}
                        ]
                    },
                    "Policies": [
                        {
                            "PolicyName": "Inline",
                            "PolicyDocument": {"Statement": [{"Effect": "Allow", "NotAction": "iam:*"}]},
                        }
                    ],
                },
            },
            "QueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Deny", "Action": "sqs:*", "Principal": {"AWS": "*"}}]
                    }
                },
            },
            "SharedKey": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "kms:*",
                                "Principal": {"AWS": "arn:aws:iam::210987654321:user/x"},
                                "Resource": "*",
                            }
                        ]
                    }
                },
            },
        }
    }
}


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_wildcard_grant_is_acknowledged(profile: DeploymentProfile) -> None:
    grants = wildcard_grants(app_templates(profile))
    assert grants, "the walk found no wildcard at all: it is probably not reading the policies"
    unacknowledged = unacknowledged_grants(grants, ACKNOWLEDGMENTS.iam_wildcards)
    assert [str(g) for g in unacknowledged] == []


@pytest.mark.synth
def test_every_wildcard_acknowledgment_still_matches_a_grant() -> None:
    grants = [g for profile in DeploymentProfile for g in wildcard_grants(app_templates(profile))]
    assert unused_wildcard_acknowledgments(grants, ACKNOWLEDGMENTS.iam_wildcards) == []


def test_reports_wildcard_actions_and_resources_in_allow_statements_only() -> None:
    found = {(g.logical_id, g.action, g.resource, g.principal) for g in wildcard_grants(_FRAGMENT)}
    assert found == {
        ("WriterRoleDefaultPolicy", "s3:*", "arn:aws:s3:::orders/*", ""),
        ("WriterRoleDefaultPolicy", "dynamodb:GetItem", "*", ""),
        ("ReaderRole", "NotAction:iam:*", "", ""),
        ("SharedKey", "kms:*", "*", '{"AWS":"arn:aws:iam::210987654321:user/x"}'),
    }


def test_fails_on_a_wildcard_no_entry_acknowledges() -> None:
    unacknowledged = unacknowledged_grants(wildcard_grants(_FRAGMENT), ACKNOWLEDGMENTS.iam_wildcards)
    assert {g.logical_id for g in unacknowledged} == {"WriterRoleDefaultPolicy", "ReaderRole", "SharedKey"}


def test_an_entry_covers_only_its_own_actions() -> None:
    xray = next(a for a in ACKNOWLEDGMENTS.iam_wildcards if "xray:PutTraceSegments" in a.actions)
    grant = WildcardGrant(
        "DbPatterns-X", "FnRolePolicy1", "AWS::IAM::ManagedPolicy", "PolicyDocument", "", "*", ""
    )
    assert xray.covers(replace(grant, action="xray:PutTraceSegments"))
    assert not xray.covers(replace(grant, action="s3:GetObject"))
    assert not xray.covers(replace(grant, action="xray:PutTraceSegments", resource_type="AWS::KMS::Key"))


def test_fails_on_an_acknowledgment_that_matches_nothing() -> None:
    unused = unused_wildcard_acknowledgments(wildcard_grants(_FRAGMENT), ACKNOWLEDGMENTS.iam_wildcards)
    assert len(unused) >= len(ACKNOWLEDGMENTS.iam_wildcards)


def test_rejects_an_acknowledgment_without_a_specific_reason(tmp_path: Path) -> None:
    data = tmp_path / "acks.toml"
    data.write_text(
        '[[iam_wildcard]]\npaths = ["*/*"]\nresource_type = "AWS::IAM::Policy"\n'
        'actions = ["*"]\nresource = "*"\nreason = "needed"\n'
    )
    with pytest.raises(ValueError, match="too short"):
        load(data)
