"""Retention gate: production keeps every stateful resource; a sandbox cleans up after itself.

The stateful set (``template_walk.STATEFUL_TYPES`` and ``is_stateful``): DynamoDB tables and global
tables, S3 buckets, RDS instances that are not cluster members, Aurora clusters and global clusters,
ElastiCache replication groups and serverless caches (and cache clusters other than Memcached), KMS
keys (data encrypted with a deleted key is lost), Secrets Manager secrets (the only copy of database
credentials), log groups (audit and incident evidence), SQS queues (orders and dead letters not yet
handled), backup vaults, Cognito user pools (user identities) and Kinesis streams.

Not stateful, by decision:

- SNS topics: they store no message; subscriptions are recreated with the stack.
- RDS instances in a cluster: the cluster owns the storage (and is snapshotted); CloudFormation
  does not accept ``Snapshot`` on a cluster member.
- ``AWS::ElastiCache::GlobalReplicationGroup``: holds no data; its members are replication groups,
  each snapshotted.
- Memcached cache clusters and DAX clusters: memory-only caches with no persistence or backups; the
  data is the database's (DynamoDB for DAX).

Production: ``DeletionPolicy`` and ``UpdateReplacePolicy`` are Retain or Snapshot, and every
ElastiCache replication group takes automatic snapshots (``SnapshotRetentionLimit`` > 0).
Sandbox: both policies are Delete - a sandbox leaves nothing behind - except what CloudFormation
cannot delete, listed in :data:`SANDBOX_RETAINED`. KMS keys deleted with a sandbox are only
scheduled for deletion (a pending window, 7 days in our keys), so they need no exception.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.gates.app_templates import app_templates
from tests.gates.template_walk import Templates, resources, retention_findings

#: Stateful resources retained even in a sandbox (``stack/logicalId`` glob: why).
SANDBOX_RETAINED = {
    "DbPatterns-Backup/Vault*": (
        "AWS Backup vault: CloudFormation cannot delete a vault that still holds recovery points "
        "(dbpatterns.backup.vault.EncryptedBackupVault)"
    ),
    "DbPatterns-BackupCopies/Copies*": "AWS Backup copy vault: same as the primary vault",
    "DbPatterns-FintechLedger/LedgerAuditArchive*": (
        "Ledger audit archive, its access-log bucket and its key: Object Lock versions cannot be "
        "deleted before they expire, and the archive is unreadable without the key "
        "(dbpatterns.ledger.audit_archive.AuditArchive)"
    ),
}


def _resource(kind: str, policy: str | None, **properties: object) -> dict[str, object]:
    body: dict[str, object] = {"Type": kind, "Properties": properties}
    if policy is not None:
        body |= {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}
    return body


_FRAGMENT: Templates = {
    "Hand-Made": {
        "Resources": {
            "Table": _resource("AWS::DynamoDB::GlobalTable", "Delete"),
            "Queue": _resource("AWS::SQS::Queue", None),
            "Cache": _resource("AWS::ElastiCache::ReplicationGroup", "Snapshot", SnapshotRetentionLimit=0),
            "Cluster": _resource("AWS::RDS::DBCluster", "Snapshot"),
            "Member": _resource("AWS::RDS::DBInstance", "Delete", DBClusterIdentifier={"Ref": "Cluster"}),
            "Memcached": _resource("AWS::ElastiCache::CacheCluster", "Delete", Engine="memcached"),
            "Topic": _resource("AWS::SNS::Topic", None),
            "Key": _resource("AWS::KMS::Key", "Retain"),
        }
    }
}


@pytest.mark.synth
def test_production_retains_or_snapshots_every_stateful_resource() -> None:
    assert [
        str(f) for f in retention_findings(app_templates(DeploymentProfile.PRODUCTION), production=True)
    ] == []


@pytest.mark.synth
def test_production_cache_replication_groups_take_automatic_snapshots() -> None:
    groups = list(
        resources(app_templates(DeploymentProfile.PRODUCTION), "AWS::ElastiCache::ReplicationGroup")
    )
    assert groups, "the app has no ElastiCache replication group to check"
    assert {g.path: g.properties.get("SnapshotRetentionLimit", 0) > 0 for g in groups} == {
        g.path: True for g in groups
    }
    assert {g.deletion_policy for g in groups} == {"Snapshot"}


@pytest.mark.synth
def test_sandbox_deletes_every_stateful_resource_cloudformation_can_delete() -> None:
    findings = retention_findings(app_templates(DeploymentProfile.SANDBOX), production=False)
    left_behind = [str(f) for f in findings if not any(fnmatchcase(f.path, p) for p in SANDBOX_RETAINED)]
    assert left_behind == []
    unused = [p for p in SANDBOX_RETAINED if not any(fnmatchcase(f.path, p) for f in findings)]
    assert unused == [], "sandbox exceptions that match nothing: remove them"


def test_reports_stateful_resources_production_would_lose() -> None:
    assert {(f.logical_id, f.detail) for f in retention_findings(_FRAGMENT, production=True)} == {
        ("Table", "DeletionPolicy Delete in production"),
        ("Table", "UpdateReplacePolicy Delete in production"),
        ("Queue", "DeletionPolicy Delete in production"),
        ("Queue", "UpdateReplacePolicy Delete in production"),
        ("Cache", "SnapshotRetentionLimit 0 in production"),
    }


def test_reports_stateful_resources_a_sandbox_would_leave_behind() -> None:
    assert {(f.logical_id, f.detail) for f in retention_findings(_FRAGMENT, production=False)} == {
        ("Cache", "DeletionPolicy Snapshot in a sandbox"),
        ("Cache", "UpdateReplacePolicy Snapshot in a sandbox"),
        ("Cluster", "DeletionPolicy Snapshot in a sandbox"),
        ("Cluster", "UpdateReplacePolicy Snapshot in a sandbox"),
        ("Key", "DeletionPolicy Retain in a sandbox"),
        ("Key", "UpdateReplacePolicy Retain in a sandbox"),
    }
