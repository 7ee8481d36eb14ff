"""Builds every stack of the app from an :class:`AppConfig`; app.py and the tests both use it."""

from __future__ import annotations

from aws_cdk import App, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.config import AppConfig
from stacks.dynamodb_showcase_stack import DynamoDbShowcaseStack
from stacks.elasticache_secondary_stack import ElastiCacheSecondaryStack
from stacks.elasticache_showcase_stack import ElastiCacheShowcaseStack
from stacks.flash_sale_stack import FlashSaleStack


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
        FlashSaleStack(
            app,
            "DbPatterns-FlashSale",
            env=env,
            profile=config.profile,
            description="dbpatterns use case 1: flash-sale orders (API -> SQS -> Lambda -> DAX -> DynamoDB)",
        ),
        *_elasticache_stacks(app, config),
    ]


#: Stack IDs of the ElastiCache global datastore's secondary regions (a global datastore has at most two).
ELASTICACHE_SECONDARY_STACK_IDS = ("DbPatterns-ElastiCacheSecondary1", "DbPatterns-ElastiCacheSecondary2")


def _elasticache_stacks(app: App, config: AppConfig) -> list[Stack]:
    """The primary region's caches and global datastore, then one stack per secondary region.

    The global datastore refuses a third secondary region, so the two IDs are enough. Each secondary
    depends on the one before it: ElastiCache adds one region to a global datastore at a time.
    """
    primary = ElastiCacheShowcaseStack(
        app,
        "DbPatterns-ElastiCacheShowcase",
        env=config.env(),
        profile=config.profile,
        secondary_regions=config.secondary_regions,
        description="dbpatterns: ElastiCache replication group, global datastore and Memcached",
    )
    stacks: list[Stack] = [primary]
    for stack_id, region in zip(ELASTICACHE_SECONDARY_STACK_IDS, config.secondary_regions, strict=False):
        secondary = ElastiCacheSecondaryStack(
            app,
            stack_id,
            env=config.env(region),
            profile=config.profile,
            global_datastore=primary.global_datastore,
            description="dbpatterns: ElastiCache global datastore secondary region",
        )
        secondary.add_stack_dependency(
            stacks[-1], "ElastiCache adds one region to a global datastore at a time"
        )
        stacks.append(secondary)
    return stacks


def add_compliance_checks(app: App) -> None:
    """cdk-nag AwsSolutions on every stack: any unacknowledged finding fails synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
