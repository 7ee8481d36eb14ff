"""cdk-nag gate: the app has no unacknowledged finding, and the gate really fails on one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_sqs as sqs

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import add_compliance_checks
from tests.support.synth import new_app, synthesize


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_app_has_no_unacknowledged_nag_findings(profile: DeploymentProfile) -> None:
    assembly = synthesize(profile)  # raises ValidationFailed on any finding
    report = Path(assembly.directory) / "validation-report.json"
    if report.exists():
        violations = [v for p in json.loads(report.read_text())["pluginReports"] for v in p["violations"]]
        assert violations == []


@pytest.mark.synth
def test_fails_synth_on_a_non_compliant_construct(tmp_path: Path) -> None:
    app = new_app(str(tmp_path))
    stack = Stack(app, "NonCompliant")
    sqs.Queue(stack, "PlainQueue")  # no DLQ, no TLS-only policy
    add_compliance_checks(app)

    with pytest.raises(Exception, match=r"[Vv]alidation"):
        app.synth()

    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_synth_needs_no_aws_lookup(profile: DeploymentProfile) -> None:
    # A lookup (AZs, VPCs, SSM) would need credentials and make `make synth` fail on a fresh machine.
    manifest = json.loads((Path(synthesize(profile).directory) / "manifest.json").read_text())
    assert manifest.get("missing", []) == []
