"""app.py turns CDK context into typed config; bad context is a clear error."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from aws_cdk import App

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.errors import PropValidationError
from stacks.config import AppConfig
from stacks.social_config import SocialDomainConfig
from tests.support.synth import REPO_ROOT, cdk_json_context

spec = importlib.util.spec_from_file_location("app_entry", REPO_ROOT / "app.py")
assert spec is not None
assert spec.loader is not None
app_entry = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app_entry)


def test_cdk_json_defaults_give_a_sandbox_app_in_us_east_1() -> None:
    config = app_entry.config_from_context(App(context=cdk_json_context()))
    assert config == AppConfig(
        account="123456789012",
        primary_region="us-east-1",
        secondary_regions=("eu-west-1", "ap-southeast-1"),
        profile=DeploymentProfile.SANDBOX,
    )


def test_context_overrides_profile_account_and_regions() -> None:
    app = App(
        context={
            "profile": "Production",
            "account": "210987654321",
            "primary_region": "eu-west-1",
            "secondary_regions": "us-east-1, ap-southeast-1",
        }
    )
    config = app_entry.config_from_context(app)
    assert config.profile is DeploymentProfile.PRODUCTION
    assert (config.account, config.primary_region) == ("210987654321", "eu-west-1")
    assert config.secondary_regions == ("us-east-1", "ap-southeast-1")


def test_rejects_an_unknown_profile() -> None:
    with pytest.raises(PropValidationError, match=r"profile='staging'; allowed: 'sandbox', 'production'"):
        app_entry.config_from_context(App(context={"profile": "staging"}))


def test_rejects_a_malformed_account() -> None:
    with pytest.raises(PropValidationError, match=r"account='12345'; allowed: a 12-digit AWS account ID"):
        AppConfig(account="12345")


def test_rejects_the_primary_region_among_the_secondaries() -> None:
    with pytest.raises(PropValidationError, match=r"secondary_regions=\['us-east-1'\]"):
        AppConfig(secondary_regions=("us-east-1",))


def test_constructs_import_is_the_cdk_library_not_our_folder() -> None:
    import constructs

    assert constructs.__file__ is not None
    assert Path(constructs.__file__).resolve().is_relative_to(REPO_ROOT / ".venv") or "site-packages" in str(
        constructs.__file__
    )
    assert hasattr(constructs, "Construct")


def test_cdk_json_carries_the_cli_feature_flags() -> None:
    context = cdk_json_context()
    flags = [key for key in context if key.startswith("@aws-cdk")]
    assert len(flags) >= 80
    assert context["@aws-cdk/aws-ec2:restrictDefaultSecurityGroup"] is True


def test_social_domain_comes_from_context_with_its_zone_and_certificates() -> None:
    app = App(
        context={
            "social_domain": "api.social.example.com",
            "social_hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "social_hosted_zone_name": "social.example.com",
            "social_certificate_arns": "us-east-1=arn:aws:acm:us-east-1:123456789012:certificate/abc, "
            "eu-west-1=arn:aws:acm:eu-west-1:123456789012:certificate/def",
        }
    )
    assert app_entry.config_from_context(app).social_domain == SocialDomainConfig(
        domain_name="api.social.example.com",
        hosted_zone_id="Z0123456789ABCDEFGHIJ",
        hosted_zone_name="social.example.com",
        certificate_arns={
            "us-east-1": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            "eu-west-1": "arn:aws:acm:eu-west-1:123456789012:certificate/def",
        },
    )


def test_no_social_domain_by_default() -> None:
    assert app_entry.config_from_context(App(context=cdk_json_context())).social_domain is None


def test_rejects_a_social_domain_without_its_hosted_zone() -> None:
    app = App(context={"social_domain": "api.social.example.com", "social_hosted_zone_name": "x.com"})
    with pytest.raises(PropValidationError, match=r"social_hosted_zone_id=None; required with social_domain"):
        app_entry.config_from_context(app)


def test_rejects_malformed_social_certificate_arns() -> None:
    context = {
        "social_domain": "api.social.example.com",
        "social_hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "social_hosted_zone_name": "social.example.com",
        "social_certificate_arns": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    }
    with pytest.raises(PropValidationError, match=r"social_certificate_arns=.*allowed: 'region=arn"):
        app_entry.config_from_context(App(context=context))
