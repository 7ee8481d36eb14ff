"""Builds every stack of the app from an :class:`AppConfig`; app.py and the tests both use it."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import App, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks

from dbpatterns.backup import DatabaseBackupSelection, DatabaseBackupSelectionProps, databases_in
from dbpatterns.common.nag import acknowledge_framework_rule
from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.compliance import ScopedNagPack
from dbpatterns.runtime.tenancy.catalog import TenantCatalog
from stacks.api_gateway_account_stack import ApiGatewayAccountStack
from stacks.aurora_secondary_stack import AuroraSecondaryStack
from stacks.aurora_showcase_stack import AuroraShowcaseStack
from stacks.backup_stack import BackupCopyVaultStack, BackupStack
from stacks.config import AppConfig, Showcase
from stacks.dynamodb_showcase_stack import DynamoDbShowcaseStack
from stacks.elasticache_secondary_stack import ElastiCacheSecondaryStack
from stacks.elasticache_showcase_stack import ElastiCacheShowcaseStack
from stacks.fintech_ledger_stack import FintechLedgerStack
from stacks.flash_sale_stack import FlashSaleStack
from stacks.network_stack import NetworkStack
from stacks.rds_replica_stack import RdsReplicaStack
from stacks.rds_showcase_stack import RdsShowcaseStack
from stacks.social_app import build_social_stacks
from stacks.tenancy_stacks import tenancy_stacks

#: Interface endpoints of the primary region's network: Secrets Manager for password rotation (RDS,
#: Aurora, tenant databases), SQS for the flash-sale processor's visibility backoffs.
PRIMARY_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
}
#: Interface endpoints of a secondary region's network: Secrets Manager when the social platform runs
#: there (its handlers read the cursor key and the cache AUTH token, replicated to each region).
SOCIAL_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
}
PRIMARY_NETWORK_STACK_ID = "DbPatterns-Network"
#: Stack IDs of the secondary regions' networks, in the order of ``AppConfig.secondary_regions``.
SECONDARY_NETWORK_STACK_IDS = ("DbPatterns-NetworkSecondary1", "DbPatterns-NetworkSecondary2")
#: The VPC block of each region's network: the primary's, then the secondaries' in order. They do not
#: overlap, so the VPCs can be peered (the social platform does). The primary keeps the library's
#: default, which it had before the secondaries were given blocks of their own.
NETWORK_CIDRS = ("10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16")


class RegionalNetworks:
    """One :class:`NetworkStack` per region, created the first time a stack of that region asks."""

    def __init__(self, app: App, config: AppConfig) -> None:
        self._app = app
        self._config = config
        self._stacks: dict[str, NetworkStack] = {}

    def __call__(self, region: str | None = None) -> IsolatedNetwork:
        return self.stack(region).network

    def stack(self, region: str | None = None) -> NetworkStack:
        """The network stack of ``region`` (the primary region by default)."""
        config = self._config
        region = region or config.primary_region
        if region not in self._stacks:
            if region == config.primary_region:
                stack_id, endpoints, cidr = PRIMARY_NETWORK_STACK_ID, PRIMARY_ENDPOINTS, NETWORK_CIDRS[0]
            else:
                index = config.secondary_regions.index(region)
                stack_id, cidr = SECONDARY_NETWORK_STACK_IDS[index], NETWORK_CIDRS[index + 1]
                endpoints = SOCIAL_ENDPOINTS if config.shows(Showcase.SOCIAL) else {}
            self._stacks[region] = NetworkStack(
                self._app,
                stack_id,
                env=config.env(region),
                profile=config.profile,
                cidr=cidr,
                interface_endpoints=endpoints,
                description=f"dbpatterns: the one isolated VPC of {region} that every stack here uses",
            )
        return self._stacks[region]

    @property
    def stacks(self) -> list[Stack]:
        return list(self._stacks.values())


def build_stacks(app: App, config: AppConfig, catalog: TenantCatalog) -> list[Stack]:
    """Add every stack of the reference app to ``app``: one network per region, then the stacks
    that use it. The costly showcases follow ``config.shows``."""
    networks = RegionalNetworks(app, config)
    api_stacks = _api_stacks(app, config, networks)
    account = api_stacks[0]
    stacks: list[Stack] = [
        DynamoDbShowcaseStack(
            app,
            "DbPatterns-DynamoDbShowcase",
            env=config.env(),
            profile=config.profile,
            description="dbpatterns: DynamoDB table building block",
        ),
        *api_stacks,
        *_elasticache_stacks(app, config, networks),
        *_rds_aurora_stacks(app, config, networks),
    ]
    if config.shows(Showcase.SOCIAL) and config.secondary_regions:
        stacks += build_social_stacks(app, config, networks=networks.stack, api_gateway_account=account)
    if config.shows(Showcase.TENANCY):
        network = networks()
        fleet = tenancy_stacks(
            app,
            config,
            catalog,
            network.vpc,
            network.interface_endpoints["SecretsManager"],
            connect_scope=config.tenancy_connect_scope,
        )
        # The tenant API's stage logs through the account's CloudWatch role, set by that stack.
        fleet[0].add_stack_dependency(account, "Stage execution logging needs the account's CloudWatch role")
        stacks += fleet
    if config.shows(Showcase.BACKUP):
        stacks += _backup(app, config, stacks)
    else:
        acknowledge_no_backup_plan(stacks)
    return [*networks.stacks, *stacks]


def acknowledge_no_backup_plan(stacks: list[Stack]) -> None:
    """Without the backup showcase no AWS Backup plan exists: say so on each database instance that
    the plan would select (``RDSInBackupPlan``); the others carry their own acknowledgment."""
    for stack in stacks:
        for database, _ in databases_in(stack):
            if isinstance(database, rds.CfnDBInstance):
                acknowledge_framework_rule(
                    database,
                    "RDSInBackupPlan",
                    "This configuration leaves out the AWS Backup showcase (-c showcases=...): the "
                    "instance keeps RDS automated backups and point-in-time restore only; add 'backup' "
                    "for the plan that selects it.",
                )


def _backup(app: App, config: AppConfig, stacks: list[Stack]) -> list[Stack]:
    """The backup plan, and in each primary-region stack with databases a selection listing them."""
    copies = (
        BackupCopyVaultStack(
            app,
            "DbPatterns-BackupCopies",
            env=config.env(config.secondary_regions[0]),
            profile=config.profile,
            description="dbpatterns: AWS Backup vault receiving the primary region's copies (DR)",
        )
        if config.secondary_regions
        else None
    )
    plan = BackupStack(
        app,
        "DbPatterns-Backup",
        env=config.env(),
        profile=config.profile,
        copies=copies,
        description="dbpatterns: AWS Backup vault and plan for every database of the primary region",
    )
    for stack in stacks:
        if stack.region == config.primary_region and databases_in(stack):
            DatabaseBackupSelection(
                stack, "Backup", DatabaseBackupSelectionProps(plan=plan.backup.plan, role=plan.backup.role)
            )
    return [*([copies] if copies is not None else []), plan]


def _api_stacks(app: App, config: AppConfig, networks: RegionalNetworks) -> list[Stack]:
    """The two use cases with a REST API, after the account-level API Gateway logging role they share."""
    env = config.env()
    account = ApiGatewayAccountStack(
        app,
        "DbPatterns-ApiGatewayAccount",
        env=env,
        description="dbpatterns: API Gateway's account-level CloudWatch role (one per account+region)",
    )
    flash_sale = FlashSaleStack(
        app,
        "DbPatterns-FlashSale",
        env=env,
        profile=config.profile,
        network=networks(),
        alarm_email=config.alarm_email,
        description="dbpatterns use case 1: flash-sale orders (API -> SQS -> Lambda -> DAX -> DynamoDB)",
    )
    ledger = FintechLedgerStack(
        app,
        "DbPatterns-FintechLedger",
        env=env,
        profile=config.profile,
        alarm_email=config.alarm_email,
        description="dbpatterns use case 4: event-sourced ledger (API -> Lambda -> DynamoDB -> Streams)",
    )
    for api_stack in (flash_sale, ledger):
        api_stack.add_stack_dependency(account, "Stage execution logging needs the account's CloudWatch role")
    return [account, flash_sale, ledger]


#: Stack IDs of the ElastiCache global datastore's secondary regions (a global datastore has at most two).
ELASTICACHE_SECONDARY_STACK_IDS = ("DbPatterns-ElastiCacheSecondary1", "DbPatterns-ElastiCacheSecondary2")


def _elasticache_stacks(app: App, config: AppConfig, networks: RegionalNetworks) -> list[Stack]:
    """The primary region's caches, and with the global-cache showcase a global datastore with one
    stack per secondary region.

    The global datastore refuses a third secondary region, so the two IDs are enough. Each secondary
    depends on the one before it: ElastiCache adds one region to a global datastore at a time.
    """
    secondary_regions = config.secondary_regions if config.shows(Showcase.GLOBAL_CACHE) else ()
    primary = ElastiCacheShowcaseStack(
        app,
        "DbPatterns-ElastiCacheShowcase",
        env=config.env(),
        profile=config.profile,
        network=networks(),
        secondary_regions=secondary_regions,
        description="dbpatterns: ElastiCache replication group (global datastore primary) and Memcached",
    )
    stacks: list[Stack] = [primary]
    if primary.global_datastore is None:
        return stacks
    for stack_id, region in zip(ELASTICACHE_SECONDARY_STACK_IDS, secondary_regions, strict=False):
        secondary = ElastiCacheSecondaryStack(
            app,
            stack_id,
            env=config.env(region),
            profile=config.profile,
            network=networks(region),
            global_datastore=primary.global_datastore,
            description="dbpatterns: ElastiCache global datastore secondary region",
        )
        secondary.add_stack_dependency(
            stacks[-1], "ElastiCache adds one region to a global datastore at a time"
        )
        stacks.append(secondary)
    return stacks


def _rds_aurora_stacks(app: App, config: AppConfig, networks: RegionalNetworks) -> list[Stack]:
    """RDS and Aurora showcases; with the cross-region showcase, a companion stack in the first
    secondary region (a cross-region read replica, a global database secondary)."""
    cross_region = config.shows(Showcase.CROSS_REGION) and bool(config.secondary_regions)
    rds_showcase = RdsShowcaseStack(
        app,
        "DbPatterns-RdsShowcase",
        env=config.env(),
        profile=config.profile,
        network=networks(),
        description="dbpatterns: RDS PostgreSQL instance (Multi-AZ in production) with a read replica",
    )
    aurora_showcase = AuroraShowcaseStack(
        app,
        "DbPatterns-AuroraShowcase",
        env=config.env(),
        profile=config.profile,
        network=networks(),
        clone=config.shows(Showcase.AURORA_CLONE),
        global_database=cross_region,
        description="dbpatterns: Aurora Serverless v2 clusters, fast clone, global database primary",
    )
    stacks: list[Stack] = [rds_showcase, aurora_showcase]
    if cross_region:
        region = config.secondary_regions[0]
        stacks += [
            RdsReplicaStack(
                app,
                "DbPatterns-RdsReplica",
                env=config.env(region),
                profile=config.profile,
                network=networks(region),
                source=rds_showcase.database,
                description="dbpatterns: cross-region RDS read replica with its own KMS key",
            ),
            AuroraSecondaryStack(
                app,
                "DbPatterns-AuroraSecondary",
                env=config.env(region),
                profile=config.profile,
                network=networks(region),
                primary=aurora_showcase.catalog,
                description="dbpatterns: Aurora global database secondary region (read-only)",
            ),
        ]
    return stacks


#: Stacks held to PCI DSS 3.2.1 as well: the ledger moves money, and the flash sale's order pipeline
#: is where a shop would take card payments; its primary-region network hosts the flash sale's
#: functions and DAX cluster (segmentation, flow logs). Other stacks hold no cardholder data.
PCI_STACK_TYPES: tuple[type[Stack], ...] = (FintechLedgerStack, FlashSaleStack)


def add_compliance_checks(app: App) -> None:
    """cdk-nag on the whole app: AwsSolutions, NIST 800-53 rev. 5 and HIPAA Security on every stack,
    PCI DSS 3.2.1 on the stacks that would hold card data (:data:`PCI_STACK_TYPES` and the primary
    network) through :class:`ScopedNagPack` (a pack registered on a stack would walk the whole app).
    Any unacknowledged finding fails synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app), HIPAASecurityChecks(app))
    for stack in pci_stacks(app):
        Validations.of(app).add_plugins(ScopedNagPack(PCIDSS321Checks(), stack))


def pci_stacks(app: App) -> list[Stack]:
    """The stacks of ``app`` that PCI DSS 3.2.1 applies to: see :data:`PCI_STACK_TYPES`."""
    in_scope = [child for child in app.node.children if isinstance(child, PCI_STACK_TYPES)]
    network = app.node.try_find_child(PRIMARY_NETWORK_STACK_ID)
    if in_scope and isinstance(network, Stack):
        in_scope.insert(0, network)
    return in_scope
