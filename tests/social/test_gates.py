"""The social stacks with a custom domain pass cdk-nag (AwsSolutions) and cfn-lint, each template in its
own region and in all three target regions. Without a domain they are part of the whole app, which
``tests/gates`` checks the same way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.social.support import synthesize, template_paths
from tests.support.synth import REPO_ROOT

pytestmark = pytest.mark.synth

TARGET_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")


def cfn_lint(regions: tuple[str, ...], templates: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, our own files
        [str(Path(sys.executable).with_name("cfn-lint")), "--regions", *regions, "--", *map(str, templates)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_cdk_nag_reports_nothing_unacknowledged(profile: DeploymentProfile) -> None:
    # The app's compliance checks are registered; a finding would make synth raise ValidationFailed.
    assembly = synthesize(profile, with_domain=True)
    # The three regional networks and the six social stacks.
    assert len(assembly.stacks) == 9


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_each_template_passes_cfn_lint_in_its_own_region(profile: DeploymentProfile) -> None:
    assembly = synthesize(profile, True)
    by_region: dict[str, list[Path]] = {}
    for stack in assembly.stacks:
        by_region.setdefault(stack.environment.region, []).append(
            Path(assembly.directory) / stack.template_file
        )
    problems = []
    for region, templates in sorted(by_region.items()):
        result = cfn_lint((region,), templates)
        if result.returncode != 0:
            problems.append(f"{region}:\n{result.stdout}{result.stderr}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_template_passes_cfn_lint_in_every_target_region(profile: DeploymentProfile) -> None:
    result = cfn_lint(TARGET_REGIONS, sorted(template_paths(profile, with_domain=True).values()))
    assert result.returncode == 0, f"cfn-lint found problems:\n{result.stdout}{result.stderr}"
