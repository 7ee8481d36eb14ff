"""CloudWatch log groups with an explicit retention and removal policy."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile


def create_log_group(
    scope: Construct,
    construct_id: str,
    *,
    profile: DeploymentProfile,
    retention: logs.RetentionDays | None = None,
    encryption_key: kms.IKey | None = None,
) -> logs.LogGroup:
    """A log group that does not keep logs forever and is cleaned up with a sandbox.

    :param retention: how long to keep events - the profile's retention (1 year in production,
        1 week in a sandbox) by default.
    :param encryption_key: a KMS key for the log data - CloudWatch Logs' own encryption by default.
        The key policy must allow the ``logs.<region>.amazonaws.com`` principal.
    """
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention or profile.log_retention,
        encryption_key=encryption_key,
        removal_policy=profile.removal_policy,
    )
