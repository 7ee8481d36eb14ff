"""Customer-managed KMS keys with the defaults every construct here wants."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile


def create_key(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    profile: DeploymentProfile,
    alias: str | None = None,
) -> kms.Key:
    """A symmetric KMS key with yearly automatic rotation.

    In production the key is retained when the stack is deleted (data encrypted with it stays
    readable); in a sandbox it is scheduled for deletion after the 7-day minimum waiting period.

    :param description: what the key protects, shown in the KMS console.
    :param alias: an alias such as ``alias/orders`` - none by default.
    """
    return kms.Key(
        scope,
        construct_id,
        description=description,
        alias=alias,
        enable_key_rotation=True,
        rotation_period=Duration.days(365),
        removal_policy=profile.removal_policy,
        pending_window=Duration.days(30 if profile.is_production else 7),
    )


def allow_cloudwatch_logs(key: kms.Key) -> None:
    """Let CloudWatch Logs in this region use ``key`` for the log groups of this account only."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                    )
                }
            },
        )
    )
