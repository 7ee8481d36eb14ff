#!/usr/bin/env python3
"""CDK entry point. The only module that reads CDK context, environment variables or files.

Context keys (defaults in cdk.json; override with ``cdk synth -c key=value``):
  account                target account ID (12 digits)
  primary_region         region of single-region stacks and primary of multi-region ones
  secondary_regions      comma-separated other regions of the multi-region stacks
  profile                ``sandbox`` (removable, smallest sizes) or ``production`` (retained, HA)
  showcases              costly parts to deploy: ``all``, ``none`` or a comma-separated list of
                         ``global-cache``, ``cross-region``, ``aurora-clone``, ``backup``, ``tenancy``
                         (default: all in production, none in a sandbox)
  tenant_catalog         the tenant catalog file of use case 3 (``tenants.json``)
  tenancy_connect_scope  ``per_database`` (one rds-db:connect statement per database, up to 40)
                         or ``account``
  alarm_email            an address subscribed to every use case's alarm topic (optional)
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
