#!/usr/bin/env python3
"""CDK entry point. The only module that reads CDK context, environment variables or files.

Context keys (defaults in cdk.json; override with ``cdk synth -c key=value``):
  account                target account ID (12 digits)
  primary_region         region of single-region stacks and primary of multi-region ones
  secondary_regions      comma-separated other regions of the multi-region stacks
  profile                ``sandbox`` (removable, smallest sizes) or ``production`` (retained, HA)
  showcases              costly parts to deploy: ``all``, ``none`` or a comma-separated list of
                         ``global-cache``, ``cross-region``, ``aurora-clone``, ``backup``, ``tenancy``,
                         ``social`` (default: all in production, none in a sandbox)
  tenant_catalog         the tenant catalog file of use case 3 (``tenants.json``)
  tenancy_connect_scope  ``per_database`` (one rds-db:connect statement per database, up to 40)
                         or ``account``
  alarm_email            an address subscribed to every use case's alarm topic (optional)
  social_domain          use case 2's custom domain, e.g. ``api.social.example.com`` (optional: without
                         it each region answers on its regional API URL and there is no latency record)
  social_hosted_zone_id, social_hosted_zone_name
                         the public hosted zone holding ``social_domain`` (required with it)
  social_certificate_arns
                         ACM certificates of ``social_domain`` per region, ``region=arn,region=arn`` or
                         a JSON object in cdk.json (optional: a DNS-validated one is created per region)
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import TenantCatalog, load_catalog
from dbpatterns.runtime.tenancy.quotas import check_quotas
from dbpatterns.tenancy.tenant_api import ConnectScope
from dbpatterns.tenancy.tiers import fleet_layout
from stacks.app_builder import add_compliance_checks, build_stacks
from stacks.config import AppConfig, Showcase
from stacks.social_config import SocialDomainConfig

ROOT = Path(__file__).resolve().parent


def config_from_context(app: App) -> AppConfig:
    def context(key: str) -> str:
        value = app.node.try_get_context(key)
        return "" if value is None else str(value)

    defaults = AppConfig()
    secondary = context("secondary_regions")
    showcases = app.node.try_get_context("showcases")
    scope = context("tenancy_connect_scope") or ConnectScope.PER_DATABASE.value
    if scope not in {s.value for s in ConnectScope}:
        allowed = ", ".join(repr(s.value) for s in ConnectScope)
        raise PropValidationError("app", "tenancy_connect_scope", scope, f"allowed: {allowed}")
    return AppConfig(
        account=context("account") or defaults.account,
        primary_region=context("primary_region") or defaults.primary_region,
        secondary_regions=tuple(r.strip() for r in secondary.split(",") if r.strip())
        if secondary
        else defaults.secondary_regions,
        profile=DeploymentProfile.from_name(context("profile") or defaults.profile.value),
        showcases=None if showcases is None else Showcase.parse(str(showcases)),
        tenancy_connect_scope=ConnectScope(scope),
        alarm_email=context("alarm_email") or None,
        social_domain=social_domain_from_context(app),
    )


def social_domain_from_context(app: App) -> SocialDomainConfig | None:
    """Use case 2's custom domain from the ``social_*`` context keys, or ``None`` without one."""
    domain = app.node.try_get_context("social_domain")
    if not domain:
        return None
    zone_id = app.node.try_get_context("social_hosted_zone_id")
    zone_name = app.node.try_get_context("social_hosted_zone_name")
    for key, value in (("social_hosted_zone_id", zone_id), ("social_hosted_zone_name", zone_name)):
        if not value:
            raise PropValidationError(
                "app", key, value, f"required with social_domain={domain!r}: the public zone holding it"
            )
    certificates = app.node.try_get_context("social_certificate_arns") or {}
    if isinstance(certificates, str):
        pairs = [item.split("=", 1) for item in certificates.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise PropValidationError(
                "app", "social_certificate_arns", certificates, "allowed: 'region=arn,region=arn'"
            )
        certificates = {region.strip(): arn.strip() for region, arn in pairs}
    if not isinstance(certificates, dict):
        raise PropValidationError(
            "app", "social_certificate_arns", certificates, "allowed: 'region=arn,...' or an object"
        )
    return SocialDomainConfig(
        domain_name=str(domain),
        hosted_zone_id=str(zone_id),
        hosted_zone_name=str(zone_name),
        certificate_arns={str(k): str(v) for k, v in certificates.items()},
    )


def catalog_from_context(app: App) -> TenantCatalog:
    """The tenant catalog file named by the ``tenant_catalog`` context key, relative to this file."""
    return load_catalog(ROOT / (str(app.node.try_get_context("tenant_catalog") or "tenants.json")))


def main() -> None:
    app = App()
    config = config_from_context(app)
    catalog = catalog_from_context(app)
    for warning in check_quotas(catalog, fleet_layout(config.profile)):
        print(f"warning: {warning.message}", file=sys.stderr)
    build_stacks(app, config, catalog)
    add_compliance_checks(app)
    app.synth()


if __name__ == "__main__":
    main()
