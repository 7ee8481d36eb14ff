"""The audit archive's access-log delivery does not depend on the app's feature flags."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.ledger import AuditArchive, AuditArchiveProps
from tests.support.synth import cdk_json_context

pytestmark = pytest.mark.synth
FLAG = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def _s3_resources(context: dict[str, Any]) -> dict[str, Any]:
    stack = Stack(
        App(context=context), "Archive", env=Environment(account="123456789012", region="us-east-1")
    )
    AuditArchive(stack, "Archive", AuditArchiveProps(profile=DeploymentProfile.PRODUCTION))
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return {name: r for name, r in resources.items() if r["Type"].startswith("AWS::S3::")}


def test_same_buckets_and_policies_with_and_without_the_bucket_policy_flag() -> None:
    init_flags = {k: v for k, v in cdk_json_context().items() if k.startswith("@aws-cdk")}
    assert init_flags[FLAG] is True
    assert _s3_resources({}) == _s3_resources(init_flags) == _s3_resources({FLAG: False})


def test_logging_service_may_write_only_this_buckets_logs_under_the_prefix() -> None:
    resources = _s3_resources({})
    (policy,) = [r for name, r in resources.items() if name.startswith("ArchiveAccessLogsPolicy")]
    statement = next(s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow")
    assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert statement["Action"] == "s3:PutObject"
    assert statement["Resource"]["Fn::Join"][1][-1] == "/audit-archive/*"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0].startswith("Archive")
