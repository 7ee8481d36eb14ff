"""An S3 bucket with Object Lock that keeps every ledger event for the retention period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from dbpatterns.common.durations import check_duration, whole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import construct_label
from dbpatterns.handlers.ledger.tables import AUDIT_KEY_PREFIX

#: S3 Object Lock accepts a default retention of 1 day up to 100 years.
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 36_500
#: Default retention: 7 years in production (a common record-keeping period for financial
#: transactions), 1 day in a sandbox so test objects unlock quickly.
PRODUCTION_RETENTION_DAYS, SANDBOX_RETENTION_DAYS = 7 * 365, 1
#: Prefix the audit handler writes under (``events/{account_id}/{event_id}.json``).
EVENTS_PREFIX = AUDIT_KEY_PREFIX  # where the handlers write, one object per event
#: S3's condition key for the ``If-None-Match`` header of conditional writes.
IF_NONE_MATCH_CONDITION_KEY = "s3:if-none-match"
#: Prefix of the archive's server access logs in the access-log bucket.
ACCESS_LOGS_PREFIX = "audit-archive/"


@dataclass(frozen=True, kw_only=True)
class AuditArchiveProps:
    """Props of :class:`AuditArchive`."""

    #: Sandbox or production: the Object Lock mode and the default retention follow it.
    profile: DeploymentProfile
    #: How long each object version is locked (whole days, 1-36500) - 2555 days (7 years) in
    #: production, 1 day in a sandbox.
    retention: Duration | None = None
    #: Customer-managed key for the objects - a new key with yearly rotation by default.
    encryption_key: kms.IKey | None = None
    #: How long the server access logs are kept (whole days) - 365 days in production, 30 in a sandbox.
    access_log_retention: Duration | None = None


class AuditArchive(Construct):
    """A versioned, KMS-encrypted, TLS-only bucket with Object Lock, and its access-log bucket.

    Object Lock mode is COMPLIANCE in production (nobody, not even the root user, can delete or
    shorten the lock of an object version before it expires) and GOVERNANCE in a sandbox (a
    principal with ``s3:BypassGovernanceRetention`` can delete test objects early).

    Both buckets and the key are RETAINED in both profiles: CloudFormation cannot delete a bucket
    that still holds object versions, and ``auto_delete_objects`` cannot remove locked versions, so
    a DESTROY policy would only make ``cdk destroy`` fail halfway. The key is retained with the
    bucket because the archived objects are unreadable without it. To clean up a sandbox after
    the stack is deleted, delete the object versions with ``--bypass-governance-retention`` once
    they are unlocked, then the buckets, then schedule the key for deletion.

    The bucket policy denies every ``s3:PutObject`` under ``events/`` that does not carry
    ``If-None-Match`` (a conditional create), whoever sends it.

    Exposes ``bucket``, ``access_logs_bucket`` and ``encryption_key``; ``grant_archive`` gives a
    writer ``s3:PutObject`` under ``events/`` and nothing that could change or remove an object.
    """

    def __init__(self, scope: Construct, construct_id: str, props: AuditArchiveProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        production = props.profile.is_production
        retention = props.profile.pick(
            props.retention,
            production=Duration.days(PRODUCTION_RETENTION_DAYS),
            sandbox=Duration.days(SANDBOX_RETENTION_DAYS),
        )
        check_duration(
            name,
            "retention",
            retention,
            unit="days",
            minimum=Duration.days(MIN_RETENTION_DAYS),
            maximum=Duration.days(MAX_RETENTION_DAYS),
        )
        log_retention = props.profile.pick(
            props.access_log_retention, production=Duration.days(365), sandbox=Duration.days(30)
        )
        check_duration(name, "access_log_retention", log_retention, unit="days", minimum=Duration.days(1))
        retention_days, log_days = whole(retention, "days"), whole(log_retention, "days")
        super().__init__(scope, construct_id)

        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self, "Key", description="Encrypts the ledger's audit archive", profile=props.profile
        )
        if props.encryption_key is None:
            self.encryption_key.apply_removal_policy(RemovalPolicy.RETAIN)

        # Server access logs go to a bucket of their own. S3 delivers them only to a bucket with
        # SSE-S3 default encryption (not SSE-KMS), and logging the log bucket would log its own
        # deliveries without end, so this bucket is the end of the chain. Object ownership is
        # BUCKET_OWNER_ENFORCED (ACLs off): delivery is allowed by the bucket policy below.
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(log_days),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        retention = Duration.days(retention_days)
        self.bucket = s3.Bucket(
            self,
            "Resource",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(retention)
            if production
            else s3.ObjectLockRetention.governance(retention),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._deliver_access_logs()
        self._require_conditional_event_writes()

        acknowledge(
            self.access_logs_bucket,
            "AwsSolutions-S1",
            "This is the server access log bucket itself: logging its log deliveries into another "
            "bucket would need a log bucket for that one too, without end.",
        )
        acknowledge_framework_rule(
            self.access_logs_bucket,
            "S3BucketLoggingEnabled",
            "This is the server access log bucket itself: logging its log deliveries into another "
            "bucket would need a log bucket for that one too, without end.",
        )
        acknowledge_framework_rule(
            self.access_logs_bucket,
            "S3DefaultEncryptionKMS",
            "S3 delivers server access logs only to buckets with SSE-S3 default encryption; SSE-KMS "
            "would silently stop log delivery. The logs hold request metadata, never ledger data.",
        )
        for bucket in (self.bucket, self.access_logs_bucket):
            acknowledge_framework_rule(
                bucket,
                "S3BucketReplicationEnabled",
                "Single-region reference stack: the archive is durable (11 nines) and locked; "
                "cross-region replication needs a second locked bucket and key in another region, "
                "which a deployment with a DR region adds.",
            )

    def _deliver_access_logs(self) -> None:
        """Server access logs of the archive into the log bucket, allowed by the log bucket's policy.

        Set here on purpose rather than through ``Bucket(server_access_logs_bucket=...)``: that prop
        grants delivery with a bucket policy only when the app sets the feature flag
        ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``, and otherwise with the legacy
        ``LogDeliveryWrite`` ACL, which BUCKET_OWNER_ENFORCED forbids. This gives the same template
        with or without the flag: the logging service may put objects under the prefix only, only for
        this archive bucket and only for this account.
        """
        archive = cast(s3.CfnBucket, self.bucket.node.default_child)
        archive.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=self.access_logs_bucket.bucket_name,
            log_file_prefix=ACCESS_LOGS_PREFIX,
        )
        self.access_logs_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs_bucket.arn_for_objects(f"{ACCESS_LOGS_PREFIX}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                },
            )
        )

    def _require_conditional_event_writes(self) -> None:
        """Deny, to every principal, ``s3:PutObject`` under ``events/`` without ``If-None-Match``.

        ``s3:if-none-match`` is S3's condition key for conditional writes (S3 user guide, "Enforce
        conditional writes on Amazon S3 buckets"); ``Null: true`` matches a request without the
        header. So no role can write an event object that could replace one already archived (Object
        Lock keeps the old version, but the current version would change). Multipart uploads to
        ``events/`` are denied too (their parts carry no such header); nothing uses them, and
        ``CopyObject`` into ``events/`` fails as well.
        """
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyEventWritesWithoutIfNoneMatch",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{EVENTS_PREFIX}*")],
                conditions={"Null": {IF_NONE_MATCH_CONDITION_KEY: "true"}},
            )
        )

    @property
    def archive_write_finding(self) -> str:
        """The cdk-nag finding :meth:`grant_archive` raises (PutObject on ``events/*``), to acknowledge
        on the grantee's role."""
        bucket = self.bucket.node.default_child
        if not isinstance(bucket, CfnResource):  # pragma: no cover - a Bucket's child is its CfnBucket
            raise TypeError(f"unexpected bucket resource {bucket!r}")
        return f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(bucket)}.Arn>/{EVENTS_PREFIX}*]"

    def grant_archive(self, grantee: iam.IGrantable) -> iam.Grant:
        """``s3:PutObject`` under ``events/`` and ``kms:GenerateDataKey`` on the key: enough to add an
        object (conditionally, with ``If-None-Match``), not to overwrite a lock, tag or delete one."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{EVENTS_PREFIX}*")],
        )
        self.encryption_key.grant(grantee, "kms:GenerateDataKey")
        return grant
