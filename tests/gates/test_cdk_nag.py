"""cdk-nag gate: the app has no unacknowledged finding of any pack, and each pack really fails on one.

AwsSolutions, NIST 800-53 rev. 5 and HIPAA Security check every stack; PCI DSS 3.2.1 the ledger, the
flash sale and the primary network only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import add_compliance_checks, build_stacks, pci_stacks
from stacks.config import AppConfig
from tests.support.synth import new_app, synthesize, synthesized_app, tenant_catalog

FRAMEWORK_PACKS = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


def _findings(outdir: Path) -> set[tuple[str, str]]:
    """(rule, construct path) of every violation in the validation report ``outdir`` holds."""
    report = json.loads((outdir / "validation-report.json").read_text())
    return {
        (v["ruleName"], c["constructPath"])
        for p in report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    }


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


@pytest.mark.synth
def test_nist_and_hipaa_fail_synth_on_an_unencrypted_log_group_in_any_stack(tmp_path: Path) -> None:
    app = new_app(str(tmp_path))
    stack = Stack(app, "NonCompliant")
    logs.CfnLogGroup(stack, "PlainLogs", retention_in_days=7)  # no KMS key
    add_compliance_checks(app)

    with pytest.raises(Exception, match=r"[Vv]alidation"):
        app.synth()

    path = "NonCompliant/PlainLogs"
    assert {
        ("NIST.800.53.R5-CloudWatchLogGroupEncrypted", path),
        ("HIPAA.Security-CloudWatchLogGroupEncrypted", path),
    } <= _findings(tmp_path)
    assert not [rule for rule, _ in _findings(tmp_path) if rule.startswith("PCI.DSS.321")]


@pytest.mark.synth
def test_pci_fails_synth_in_the_ledger_and_not_in_other_stacks(tmp_path: Path) -> None:
    app = new_app(str(tmp_path))
    stacks = {
        stack.node.id: stack
        for stack in build_stacks(app, AppConfig(profile=DeploymentProfile.SANDBOX), tenant_catalog())
    }
    for stack_id in ("DbPatterns-FintechLedger", "DbPatterns-DynamoDbShowcase"):
        logs.CfnLogGroup(stacks[stack_id], "PlainLogs", retention_in_days=7)
    add_compliance_checks(app)

    with pytest.raises(Exception, match=r"[Vv]alidation"):
        app.synth()

    by_pack = {
        pack: {path for rule, path in _findings(tmp_path) if rule == f"{pack}-CloudWatchLogGroupEncrypted"}
        for pack in FRAMEWORK_PACKS
    }
    both = {"DbPatterns-FintechLedger/PlainLogs", "DbPatterns-DynamoDbShowcase/PlainLogs"}
    # The sandbox's default showcases (none: no AWS Backup plan) are otherwise clean.
    assert {path for _, path in _findings(tmp_path)} == both
    assert by_pack == {
        "NIST.800.53.R5": both,
        "HIPAA.Security": both,
        "PCI.DSS.321": {"DbPatterns-FintechLedger/PlainLogs"},
    }


@pytest.mark.synth
def test_pci_checks_the_ledger_the_flash_sale_and_the_network_they_run_in() -> None:
    stacks = pci_stacks(synthesized_app(DeploymentProfile.PRODUCTION))
    assert [stack.node.id for stack in stacks] == [
        "DbPatterns-Network",
        "DbPatterns-FlashSale",
        "DbPatterns-FintechLedger",
    ]
