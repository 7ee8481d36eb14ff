#!/usr/bin/env python3
"""CDK entry point. The only module that reads CDK context or environment variables.

Context keys (defaults in cdk.json; override with ``cdk synth -c key=value``):
  account            target account ID (12 digits)
  primary_region     region of single-region stacks and primary of multi-region ones
  secondary_regions  comma-separated other regions of the multi-region stacks
  profile            ``sandbox`` (removable, smallest sizes) or ``production`` (retained, HA)
"""

from __future__ import annotations

from aws_cdk import App

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import add_compliance_checks, build_stacks
from stacks.config import AppConfig


def config_from_context(app: App) -> AppConfig:
    def context(key: str) -> str:
        value = app.node.try_get_context(key)
        return "" if value is None else str(value)

    defaults = AppConfig()
    secondary = context("secondary_regions")
    return AppConfig(
        account=context("account") or defaults.account,
        primary_region=context("primary_region") or defaults.primary_region,
        secondary_regions=tuple(r.strip() for r in secondary.split(",") if r.strip())
        if secondary
        else defaults.secondary_regions,
        profile=DeploymentProfile.from_name(context("profile") or defaults.profile.value),
    )


def main() -> None:
    app = App()
    build_stacks(app, config_from_context(app))
    add_compliance_checks(app)
    app.synth()


if __name__ == "__main__":
    main()
