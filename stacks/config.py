"""Typed configuration that app.py builds from CDK context and passes down to the stacks."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from aws_cdk import Environment

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.errors import PropValidationError
from dbpatterns.tenancy.tenant_api import ConnectScope
from stacks.social_config import SocialDomainConfig

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Showcase(enum.Enum):
    """Parts of the app that cost real money while idle: on in production, opt-in in a sandbox.

    Idle cost in a sandbox, from ``make cost`` (us-east-1 prices where a region has none)."""

    #: ElastiCache global datastore over three regions (global datastores refuse t-family nodes, so
    #: six cache.m6g.large nodes): about $570 a month. Without it the showcase's cache is one region's.
    GLOBAL_CACHE = "global-cache"
    #: RDS cross-region read replica and Aurora global database secondary (and the primary cluster's
    #: global membership, which keeps it from auto-pausing): about $65 a month plus the primary's floor.
    CROSS_REGION = "cross-region"
    #: A copy-on-write clone of the Aurora showcase cluster (its own Serverless v2 instance).
    AURORA_CLONE = "aurora-clone"
    #: AWS Backup: a daily and monthly plan over every database of the primary region, copied to the
    #: first secondary region. Idle it costs nothing; its vaults are retained when the stacks are
    #: deleted (a vault holding recovery points cannot be), which a sandbox would have to clean by hand.
    BACKUP = "backup"
    #: Use case 3's fleet from tenants.json (a pooled shard, standard and enterprise tenants): about
    #: $310 a month with the sample catalog.
    TENANCY = "tenancy"
    #: Use case 2, the global social platform over the three regions: its session cache is a global
    #: datastore (six cache.m6g.large nodes in a sandbox), plus a WAF and a health check per region and
    #: a Secrets Manager endpoint in each secondary network: about $670 a month.
    SOCIAL = "social"

    @classmethod
    def parse(cls, text: str) -> frozenset[Showcase]:
        """``"all"``, ``"none"`` / ``""``, or comma-separated values such as ``"global-cache,tenancy"``."""
        words = [w.strip().lower() for w in text.split(",") if w.strip()]
        if words == ["all"]:
            return frozenset(cls)
        if words in ([], ["none"]):
            return frozenset()
        try:
            return frozenset(cls(word) for word in words)
        except ValueError:
            allowed = ", ".join(["all", "none", *(repr(s.value) for s in cls)])
            raise PropValidationError("app", "showcases", text, f"allowed: {allowed}") from None


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
    #: The costly parts to deploy - every :class:`Showcase` in production, none in a sandbox.
    showcases: frozenset[Showcase] | None = None
    #: Who the tenant API may log in as: one IAM statement per database (up to 40) or account-wide.
    tenancy_connect_scope: ConnectScope = ConnectScope.PER_DATABASE
    #: An email address subscribed to each use case's alarm topic - none by default.
    alarm_email: str | None = None
    #: The social API's custom domain (use case 2) - none by default: each region answers on its
    #: regional API Gateway URL, with no latency record.
    social_domain: SocialDomainConfig | None = None

    def __post_init__(self) -> None:
        if self.alarm_email is not None and not _EMAIL.match(self.alarm_email):
            raise PropValidationError("app", "alarm_email", self.alarm_email, "allowed: an email address")
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

    def shows(self, showcase: Showcase) -> bool:
        """Whether ``showcase`` is deployed (see :attr:`showcases`)."""
        chosen = self.profile.pick(self.showcases, production=frozenset(Showcase), sandbox=frozenset())
        return showcase in chosen

    def env(self, region: str | None = None) -> Environment:
        return Environment(account=self.account, region=region or self.primary_region)
