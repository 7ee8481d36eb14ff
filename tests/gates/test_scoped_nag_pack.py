"""The PCI DSS pack runs on the ledger stack only, and still fails synth on a finding there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Stack, Validations
from aws_cdk import aws_sns as sns
from cdk_nag import PCIDSS321Checks

from dbpatterns.compliance import ScopedNagPack
from tests.support.synth import new_app

pytestmark = pytest.mark.synth


def test_scoped_pack_reports_findings_inside_its_scope_only(tmp_path: Path) -> None:
    app = new_app(str(tmp_path))
    checked = Stack(app, "Checked")
    other = Stack(app, "Other")
    sns.Topic(checked, "PlainTopic")  # no KMS key: PCI.DSS.321-SNSEncryptedKMS
    sns.Topic(other, "PlainTopic")
    Validations.of(app).add_plugins(ScopedNagPack(PCIDSS321Checks(), checked))

    with pytest.raises(Exception, match=r"[Vv]alidation"):
        app.synth()

    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = [v for p in report["pluginReports"] for v in p["violations"]]
    paths = {c["constructPath"] for v in violations for c in v["violatingConstructs"]}
    assert "PCI.DSS.321-SNSEncryptedKMS" in {v["ruleName"] for v in violations}
    assert paths == {"Checked/PlainTopic/Resource"}
