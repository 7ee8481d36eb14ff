"""Typed configuration that app.py builds from CDK context and passes down to the stacks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aws_cdk import Environment

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.errors import PropValidationError

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """Where and how the app deploys."""

    #: Target AWS account (12 digits).
    account: str = "123456789012"
    #: Region of single-region stacks and primary region of multi-region ones.
    primary_region: str = "us-east-1"
    #: Other regions of the multi-region stacks (global tables, global datastores, replicas).
    secondary_regions: tuple[str, ...] = field(default=("eu-west-1", "ap-southeast-1"))
    #: Sandbox (cheap, removable) or production (retained, highly available).
    profile: DeploymentProfile = DeploymentProfile.SANDBOX

    def __post_init__(self) -> None:
        if not _ACCOUNT.match(self.account):
            raise PropValidationError("app", "account", self.account, "allowed: a 12-digit AWS account ID")
        for region in (self.primary_region, *self.secondary_regions):
            if not _REGION.match(region):
                raise PropValidationError(
                    "app", "region", region, "allowed: an AWS region such as 'eu-west-1'"
                )
        if self.primary_region in self.secondary_regions or len(set(self.secondary_regions)) != len(
            self.secondary_regions
        ):
            raise PropValidationError(
                "app",
                "secondary_regions",
                list(self.secondary_regions),
                "allowed: distinct regions other than primary_region",
            )

    def env(self, region: str | None = None) -> Environment:
        return Environment(account=self.account, region=region or self.primary_region)
