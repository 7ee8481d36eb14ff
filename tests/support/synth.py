"""Synthesizing the app once per test session, with the same context as `cdk synth`.

`cdk synth` passes cdk.json's context (feature flags and our settings) to app.py. Tests build
the app through the same :func:`stacks.app_builder.build_stacks` with that context, so the
templates they check are the ones the CLI writes. Each profile is synthesized once per session.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack, cx_api
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.runtime.tenancy.catalog import TenantCatalog, load_catalog
from stacks.app_builder import add_compliance_checks, build_stacks
from stacks.config import AppConfig, Showcase

REPO_ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(outdir: str | None = None) -> App:
    """An App with cdk.json's feature flags and no built-in template validation (cfn-lint covers it)."""
    return App(
        context=cdk_json_context(),
        outdir=outdir or tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


@functools.cache
def tenant_catalog() -> TenantCatalog:
    """The repository's tenant catalog, as app.py loads it."""
    return load_catalog(REPO_ROOT / "tenants.json")


@functools.cache
def synthesized_app(profile: DeploymentProfile) -> App:
    """The whole app with every showcase and the repo's tenant catalog, with cdk-nag, in ``profile``;
    built and synthesized once per session."""
    app = new_app()
    build_stacks(app, AppConfig(profile=profile, showcases=frozenset(Showcase)), tenant_catalog())
    add_compliance_checks(app)
    app.synth()
    return app


def synthesize(profile: DeploymentProfile) -> cx_api.CloudAssembly:
    """The cloud assembly of :func:`synthesized_app` (``App.synth`` returns the one it made)."""
    return synthesized_app(profile).synth()


@functools.cache
def stack_template_json(stack_name: str, profile: DeploymentProfile) -> dict[str, Any]:
    template: dict[str, Any] = synthesize(profile).get_stack_by_name(stack_name).template
    return template


def stack_template(stack_name: str, profile: DeploymentProfile) -> Template:
    return Template.from_json(stack_template_json(stack_name, profile))


_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask_assets(template: dict[str, Any]) -> Any:
    """The template with asset hashes replaced, so editing handler code does not churn snapshots."""
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    return json.loads(text)


def isolated_vpc_stack() -> tuple[Stack, ec2.Vpc]:
    """A bare stack with a two-AZ isolated VPC, for construct-level tests that need not synthesize."""
    stack = Stack(new_app(), "Unit", env=AppConfig().env())
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    return stack, vpc
