"""A test-only app builder for the social stacks: cdk.json's context, cdk-nag, one synth per profile.

The lead wires ``build_social_stacks`` into ``stacks/app_builder.py`` (see NOTES-social.md); until
then these tests build an app of the social stacks alone, the way ``app.py`` builds the real one.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from aws_cdk import App, cx_api

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import add_compliance_checks
from stacks.config import AppConfig
from stacks.social_app import build_social_stacks
from stacks.social_config import SocialDomainConfig
from tests.support.synth import new_app

DOMAIN = SocialDomainConfig(
    domain_name="api.social.example.com",
    hosted_zone_id="Z0123456789ABCDEFGHIJ",
    hosted_zone_name="social.example.com",
    certificate_arns={
        "us-east-1": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    },
)


def build_app(profile: DeploymentProfile, *, domain: SocialDomainConfig | None = None) -> App:
    app = new_app()
    build_social_stacks(app, AppConfig(profile=profile), domain=domain)
    add_compliance_checks(app)  # the app's packs: AwsSolutions, NIST 800-53 R5, HIPAA Security
    return app


@functools.cache
def synthesize(profile: DeploymentProfile, with_domain: bool = False) -> cx_api.CloudAssembly:
    return build_app(profile, domain=DOMAIN if with_domain else None).synth()


def template(stack_name: str, profile: DeploymentProfile, with_domain: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = synthesize(profile, with_domain).get_stack_by_name(stack_name).template
    return result


def template_paths(profile: DeploymentProfile, with_domain: bool = False) -> dict[str, Path]:
    assembly = synthesize(profile, with_domain)
    return {stack.stack_name: Path(assembly.directory) / stack.template_file for stack in assembly.stacks}


def resources(template_json: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template_json["Resources"].items() if r["Type"] == resource_type}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
