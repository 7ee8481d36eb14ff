"""The social stacks as the app composes them.

Without a custom domain they are the whole app's (``tests.support.synth``, one synth per profile shared
with the rest of the suite). With one (``AppConfig.social_domain``) they are built by the same
``build_social_stacks`` over the same ``RegionalNetworks``, in an app of their own with cdk-nag.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from aws_cdk import App, cx_api

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import RegionalNetworks, add_compliance_checks
from stacks.config import AppConfig, Showcase
from stacks.social_app import build_social_stacks
from stacks.social_config import SocialDomainConfig
from tests.support import synth

DOMAIN = SocialDomainConfig(
    domain_name="api.social.example.com",
    hosted_zone_id="Z0123456789ABCDEFGHIJ",
    hosted_zone_name="social.example.com",
    certificate_arns={
        "us-east-1": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    },
)


def build_app_with_domain(profile: DeploymentProfile) -> App:
    """The regional networks and the social stacks only, with :data:`DOMAIN`, and cdk-nag."""
    app = synth.new_app()
    config = AppConfig(profile=profile, showcases=frozenset({Showcase.SOCIAL}), social_domain=DOMAIN)
    build_social_stacks(app, config, networks=RegionalNetworks(app, config).stack)
    add_compliance_checks(app)
    return app


@functools.cache
def _synthesize_with_domain(profile: DeploymentProfile) -> cx_api.CloudAssembly:
    return build_app_with_domain(profile).synth()


def synthesize(profile: DeploymentProfile, with_domain: bool = False) -> cx_api.CloudAssembly:
    return _synthesize_with_domain(profile) if with_domain else synth.synthesize(profile)


def template(stack_name: str, profile: DeploymentProfile, with_domain: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = synthesize(profile, with_domain).get_stack_by_name(stack_name).template
    return result


def template_paths(profile: DeploymentProfile, with_domain: bool = False) -> dict[str, Path]:
    assembly = synthesize(profile, with_domain)
    return {stack.stack_name: Path(assembly.directory) / stack.template_file for stack in assembly.stacks}


def resources(template_json: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template_json["Resources"].items() if r["Type"] == resource_type}
