"""Builds every stack of the app from an :class:`AppConfig`; app.py and the tests both use it."""

from __future__ import annotations

from aws_cdk import App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, PCIDSS321Checks

from dbpatterns.compliance import ScopedNagPack
from stacks.api_gateway_account_stack import ApiGatewayAccountStack
from stacks.aurora_secondary_stack import AuroraSecondaryStack
from stacks.aurora_showcase_stack import AuroraShowcaseStack
from stacks.config import AppConfig
from stacks.dynamodb_showcase_stack import DynamoDbShowcaseStack
from stacks.elasticache_secondary_stack import ElastiCacheSecondaryStack
from stacks.elasticache_showcase_stack import ElastiCacheShowcaseStack
from stacks.fintech_ledger_stack import FintechLedgerStack
from stacks.flash_sale_stack import FlashSaleStack
from stacks.rds_replica_stack import RdsReplicaStack
from stacks.rds_showcase_stack import RdsShowcaseStack


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
        *_api_stacks(app, config),
        *_elasticache_stacks(app, config),
        *_rds_aurora_stacks(app, config),
    ]


def _api_stacks(app: App, config: AppConfig) -> list[Stack]:
    """The two use cases with a REST API, after the account-level API Gateway logging role they share."""
    env = config.env()
    account = ApiGatewayAccountStack(
        app,
        "DbPatterns-ApiGatewayAccount",
        env=env,
        description="dbpatterns: API Gateway's account-level CloudWatch Logs role (one per account+region)",
    )
    flash_sale = FlashSaleStack(
        app,
        "DbPatterns-FlashSale",
        env=env,
        profile=config.profile,
        description="dbpatterns use case 1: flash-sale orders (API -> SQS -> Lambda -> DAX -> DynamoDB)",
    )
    ledger = FintechLedgerStack(
        app,
        "DbPatterns-FintechLedger",
        env=env,
        profile=config.profile,
        description="dbpatterns use case 4: event-sourced ledger (API -> Lambda -> DynamoDB -> Streams)",
    )
    for api_stack in (flash_sale, ledger):
        api_stack.add_stack_dependency(account, "Stage execution logging needs the account's CloudWatch role")
    return [account, flash_sale, ledger]


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


def _rds_aurora_stacks(app: App, config: AppConfig) -> list[Stack]:
    """RDS and Aurora showcases, each with a companion stack in the first secondary region (a
    cross-region read replica, a global database secondary)."""
    rds_showcase = RdsShowcaseStack(
        app,
        "DbPatterns-RdsShowcase",
        env=config.env(),
        profile=config.profile,
        description="dbpatterns: RDS PostgreSQL instance (Multi-AZ in production) with a read replica",
    )
    aurora_showcase = AuroraShowcaseStack(
        app,
        "DbPatterns-AuroraShowcase",
        env=config.env(),
        profile=config.profile,
        description="dbpatterns: Aurora Serverless v2 clusters, fast clone, global database primary",
    )
    stacks: list[Stack] = [rds_showcase, aurora_showcase]
    if config.secondary_regions:
        region = config.secondary_regions[0]
        stacks += [
            RdsReplicaStack(
                app,
                "DbPatterns-RdsReplica",
                env=config.env(region),
                profile=config.profile,
                source=rds_showcase.database,
                description="dbpatterns: cross-region RDS read replica with its own KMS key",
            ),
            AuroraSecondaryStack(
                app,
                "DbPatterns-AuroraSecondary",
                env=config.env(region),
                profile=config.profile,
                primary=aurora_showcase.catalog,
                description="dbpatterns: Aurora global database secondary region (read-only)",
            ),
        ]
    return stacks


def add_compliance_checks(app: App) -> None:
    """cdk-nag AwsSolutions on every stack, and PCI DSS 3.2.1 on the ledger stack only (a pack
    registered on a stack would walk the whole app): any unacknowledged finding fails synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    for stack in app.node.children:
        if isinstance(stack, FintechLedgerStack):
            Validations.of(app).add_plugins(ScopedNagPack(PCIDSS321Checks(), stack))
