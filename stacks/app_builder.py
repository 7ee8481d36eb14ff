"""Builds every stack of the app from an :class:`AppConfig`; app.py and the tests both use it."""

from __future__ import annotations

from aws_cdk import App, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.config import AppConfig
from stacks.dynamodb_showcase_stack import DynamoDbShowcaseStack


def build_stacks(app: App, config: AppConfig) -> list[Stack]:
    """Add every stack of the reference app to ``app``."""
    env = config.env()
    return [
        DynamoDbShowcaseStack(
            app,
            "DbPatterns-DynamoDbShowcase",
            env=env,
            profile=config.profile,
            description="dbpatterns: DynamoDB table building block",
        ),
    ]


def add_compliance_checks(app: App) -> None:
    """cdk-nag AwsSolutions on every stack: any unacknowledged finding fails synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
