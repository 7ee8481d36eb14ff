"""Settings of the social platform that app.py reads from CDK context (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class SocialDomainConfig:
    """The custom domain of the social API (from CDK context; see ``stacks.social_app``)."""

    #: e.g. ``api.social.example.com``.
    domain_name: str
    #: The public hosted zone that holds ``domain_name``, e.g. ``Z0123456789ABCDEFGHIJ``.
    hosted_zone_id: str
    #: That zone's name, e.g. ``social.example.com``.
    hosted_zone_name: str
    #: An ACM certificate ARN per region - a DNS-validated certificate is created where none is given.
    certificate_arns: dict[str, str] = field(default_factory=dict)
