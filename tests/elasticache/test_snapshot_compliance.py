"""ElastiCache snapshots against NIST 800-53 R5 (at least 15 days): production's default passes, a
sandbox's 1-day default is acknowledged, and a short retention someone chooses is still reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from cdk_nag import NIST80053R5Checks

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.elasticache.replication_group import CacheReplicationGroup, CacheReplicationGroupProps
from tests.support.synth import new_app

pytestmark = pytest.mark.synth
RULE = "NIST.800.53.R5-ElastiCacheRedisClusterAutomaticBackup"


def test_only_a_chosen_short_retention_is_reported(tmp_path: Path) -> None:
    app = new_app(str(tmp_path))
    stack = Stack(app, "Caches")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    cases = {
        "ProductionDefault": (DeploymentProfile.PRODUCTION, None),
        "SandboxDefault": (DeploymentProfile.SANDBOX, None),
        "ProductionShort": (DeploymentProfile.PRODUCTION, Duration.days(3)),
    }
    for construct_id, (profile, retention) in cases.items():
        CacheReplicationGroup(
            stack,
            construct_id,
            CacheReplicationGroupProps(
                profile=profile, vpc=vpc, description="Test cache", snapshot_retention=retention
            ),
        )
    Validations.of(app).add_plugins(NIST80053R5Checks())

    with pytest.raises(Exception, match=r"[Vv]alidation"):
        app.synth()

    report = json.loads((tmp_path / "validation-report.json").read_text())
    flagged = {
        c["constructPath"]
        for p in report["pluginReports"]
        for v in p["violations"]
        if v["ruleName"] == RULE
        for c in v["violatingConstructs"]
    }
    assert flagged == {"Caches/ProductionShort/Resource"}
