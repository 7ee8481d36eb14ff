"""AWS Backup over the app: every database of the primary region is in the plan, copied to the DR vault."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import synthesize

pytestmark = pytest.mark.synth

PRIMARY = "us-east-1"


def _backed_up(resource: dict[str, Any]) -> bool:
    """Whether AWS Backup should cover this resource (what dbpatterns.backup.databases_in selects)."""
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::RDS::DBInstance":
        return "DBClusterIdentifier" not in props and "SourceDBInstanceIdentifier" not in props
    if resource["Type"] == "AWS::RDS::DBCluster":
        global_secondary = "GlobalClusterIdentifier" in props and "MasterUsername" not in props
        return "SourceDBClusterIdentifier" not in props and not global_secondary
    return resource["Type"] in {"AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"}


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_database_of_the_primary_region_is_in_a_backup_selection(profile: DeploymentProfile) -> None:
    missing = []
    for stack in synthesize(profile).stacks:
        if stack.environment.region != PRIMARY:
            continue
        resources = stack.template["Resources"]
        selections = json.dumps(
            [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Backup::BackupSelection"]
        )
        for logical_id, resource in resources.items():
            if _backed_up(resource) and f'"{logical_id}"' not in selections:
                missing.append(f"{stack.stack_name}/{logical_id}")
    assert missing == []


def test_daily_and_monthly_recovery_points_are_copied_to_the_first_secondary_region() -> None:
    template = synthesize(DeploymentProfile.PRODUCTION).get_stack_by_name("DbPatterns-Backup").template
    (plan,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Backup::BackupPlan"]
    rules = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert {rule["RuleName"] for rule in rules} == {"Daily", "Monthly"}
    for rule in rules:
        (copy,) = rule["CopyActions"]
        assert "eu-west-1" in json.dumps(copy["DestinationBackupVaultArn"])
        assert "dbpatterns-dr-copies" in json.dumps(copy["DestinationBackupVaultArn"])
