"""cfn-lint gate: every synthesized template, both profiles, in every target region."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import REPO_ROOT, synthesize

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")


@pytest.mark.synth
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_template_passes_cfn_lint_in_every_target_region(profile: DeploymentProfile) -> None:
    assembly = synthesize(profile)
    templates = sorted(str(Path(assembly.directory) / s.template_file) for s in assembly.stacks_recursively)
    assert templates, "the app synthesized no stack"
    result = subprocess.run(  # noqa: S603 - fixed argv, our own files
        [str(Path(sys.executable).with_name("cfn-lint")), "--regions", *REGIONS, "--", *templates],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, f"cfn-lint found problems:\n{result.stdout}{result.stderr}"
