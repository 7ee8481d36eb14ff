"""cdk-nag (during synth, both profiles), cfn-lint and one snapshot per stack type."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import REPO_ROOT, mask_assets
from tests.tenancy.support import ENTERPRISE, MOVE, POOL, SHARED, STANDARD, Synthesized, synthesized

pytestmark = pytest.mark.synth

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_no_unacknowledged_nag_finding(profile: DeploymentProfile) -> None:
    result = synthesized(profile)  # synth raises on any finding
    report = result.directory / "validation-report.json"
    if report.exists():
        assert [v for p in json.loads(report.read_text())["pluginReports"] for v in p["violations"]] == []


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_templates_pass_cfn_lint(profile: DeploymentProfile) -> None:
    result = synthesized(profile)
    templates = [
        str(result.directory / f"{name}.template.json") for name in (SHARED, POOL, STANDARD, ENTERPRISE, MOVE)
    ]
    completed = subprocess.run(  # noqa: S603 - fixed argv, our own files
        [str(Path(sys.executable).with_name("cfn-lint")), "--regions", *REGIONS, "--", *templates],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("stack", [SHARED, POOL, STANDARD, ENTERPRISE, MOVE])
def test_template_matches_snapshot(production: Synthesized, stack: str, snapshot: Any) -> None:
    assert mask_assets(production.templates[stack]) == snapshot(extension_class=JSONSnapshotExtension)
