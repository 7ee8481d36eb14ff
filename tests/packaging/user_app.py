"""A small CDK app of a library user's own, run by ``tests/packaging`` outside this repository.

It imports only aws-cdk-lib and the *installed* ``dbpatterns`` distribution: no ``stacks/`` of this
repo, no ``cdk.json`` (the test passes feature flags, or none, through ``CDK_CONTEXT_JSON`` as the CDK
CLI does), plain ``cdk.Stack`` subclasses. Between them the stacks use every public construct.

Environment (set by the test): ``CDK_OUTDIR`` (the cloud assembly), ``CDK_CONTEXT_JSON`` (optional) and
``USER_APP_REPORT``, a JSON file this app writes: the library classes found in the construct tree and
what each construct does in an environment-agnostic stack (``"ok"`` or the error it raised).

All construct calls are in the ``_*`` functions and ``ANYWHERE`` below, so an API change of the library
means editing them only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dbpatterns.aurora import (
    AuroraClone,
    AuroraCloneProps,
    AuroraCluster,
    AuroraClusterProps,
    AuroraGlobalSecondary,
    AuroraGlobalSecondaryProps,
)
from dbpatterns.backup import (
    DatabaseBackupPlan,
    DatabaseBackupPlanProps,
    DatabaseBackupSelection,
    DatabaseBackupSelectionProps,
    EncryptedBackupVault,
    EncryptedBackupVaultProps,
)
from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.network import DeployTimeAzStack, IsolatedNetwork, IsolatedNetworkProps
from dbpatterns.common.network import deploy_time_availability_zones as deploy_time_azs
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue, SecureQueueProps
from dbpatterns.dynamodb import DynamoTable, DynamoTableProps, TableEncryption, TableReplica
from dbpatterns.elasticache import (
    CacheGlobalDatastore,
    CacheGlobalDatastoreProps,
    CacheReplicationGroup,
    CacheReplicationGroupProps,
    CacheSecondaryReplicationGroup,
    CacheSecondaryReplicationGroupProps,
    MemcachedCluster,
    MemcachedClusterProps,
)
from dbpatterns.errors import PropValidationError
from dbpatterns.flash_sale import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps
from dbpatterns.ledger import EventSourcedLedger, EventSourcedLedgerProps
from dbpatterns.rds import RdsInstance, RdsInstanceProps, RdsReadReplica, RdsReadReplicaProps
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.social import (
    PeerRoutes,
    SocialRegionalApi,
    SocialRegionalApiProps,
    SocialTable,
    SocialTableProps,
    VpcPeering,
    VpcPeeringProps,
)
from dbpatterns.tenancy.database_groups import TenantDatabaseGroups, TenantDatabaseGroupsProps
from dbpatterns.tenancy.directory_table import TenantDirectoryTable, TenantDirectoryTableProps
from dbpatterns.tenancy.move_state_machine import TenantMoveStateMachine, TenantMoveStateMachineProps
from dbpatterns.tenancy.provisioning import TenantProvisioning, TenantProvisioningProps
from dbpatterns.tenancy.tenant_api import TenantApi, TenantApiProps
from dbpatterns.tenancy.tenant_database import TenantDatabase, TenantDatabaseProps
from dbpatterns.tenancy.tenant_replication import TenantReplication, TenantReplicationProps

PROFILE = DeploymentProfile.SANDBOX
ACCOUNT = "111111111111"
PRIMARY = cdk.Environment(account=ACCOUNT, region="us-east-1")
SECONDARY = cdk.Environment(account=ACCOUNT, region="eu-west-1")
#: VPC blocks of the two regions: peered VPCs must not overlap.
PRIMARY_CIDR, SECONDARY_CIDR = "10.0.0.0/16", "10.1.0.0/16"
STRING = dynamodb.AttributeType.STRING


# --- the constructs (the only place that calls the library) -----------------------------------------


def _network(scope: Construct, cidr: str = PRIMARY_CIDR) -> IsolatedNetwork:
    return IsolatedNetwork(
        scope,
        "Network",
        IsolatedNetworkProps(
            profile=PROFILE,
            cidr=cidr,
            interface_endpoints={"SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER},
        ),
    )


def _table(scope: Construct, encryption: TableEncryption = TableEncryption.CUSTOMER_MANAGED) -> DynamoTable:
    return DynamoTable(
        scope,
        "Table",
        DynamoTableProps(
            profile=PROFILE, partition_key=dynamodb.Attribute(name="pk", type=STRING), encryption=encryption
        ),
    )


def _queue(scope: Construct) -> SecureQueue:
    key = create_key(scope, "QueueKey", description="user app queue", profile=PROFILE)
    return SecureQueue(scope, "Queue", SecureQueueProps(encryption_key=key))


def _function(scope: Construct) -> HandlerFunction:
    return HandlerFunction(
        scope,
        "Function",
        HandlerFunctionProps(
            handler="dbpatterns.handlers.ledger.replay.handler",
            profile=PROFILE,
            description="user app function",
            service_name="user-app",
        ),
    )


def _rds(scope: Construct, network: IsolatedNetwork) -> RdsInstance:
    return RdsInstance(
        scope,
        "Postgres",
        RdsInstanceProps(
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6),
            profile=PROFILE,
            vpc=network.vpc,
            read_replicas=1,
            secrets_manager_endpoint=network.interface_endpoints["SecretsManager"],
        ),
    )


def _aurora(scope: Construct, network: IsolatedNetwork, *, global_database: bool) -> AuroraCluster:
    engine = (
        rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_9)
        if global_database
        else rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_08_0)
    )
    return AuroraCluster(
        scope,
        "GlobalCatalog" if global_database else "Orders",
        AuroraClusterProps(
            engine=engine,
            profile=PROFILE,
            vpc=network.vpc,
            global_database=global_database,
            secrets_manager_endpoint=network.interface_endpoints["SecretsManager"],
        ),
    )


def _aurora_clone(scope: Construct, source: AuroraCluster) -> AuroraClone:
    return AuroraClone(scope, "OrdersClone", AuroraCloneProps(source=source, profile=PROFILE))


def _caches(scope: Construct, network: IsolatedNetwork, *, global_datastore: bool) -> list[Construct]:
    sessions = CacheReplicationGroup(
        scope,
        "Sessions",
        CacheReplicationGroupProps(
            profile=PROFILE,
            vpc=network.vpc,
            description="user app sessions",
            # A global datastore refuses t-family nodes.
            cache_node_type="cache.m6g.large" if global_datastore else None,
        ),
    )
    pages = MemcachedCluster(scope, "Pages", MemcachedClusterProps(profile=PROFILE, vpc=network.vpc))
    if not global_datastore:
        return [sessions, pages]
    shared = CacheGlobalDatastore(
        scope,
        "GlobalSessions",
        CacheGlobalDatastoreProps(primary=sessions, secondary_regions=[str(SECONDARY.region)]),
    )
    return [sessions, pages, shared]


def _flash_sale(scope: Construct, network: IsolatedNetwork) -> FlashSaleOrderPipeline:
    return FlashSaleOrderPipeline(
        scope,
        "FlashSale",
        FlashSaleOrderPipelineProps(
            profile=PROFILE, vpc=network.vpc, account_cloud_watch_role=AccountCloudWatchRole.CREATE
        ),
    )


def _ledger(scope: Construct) -> EventSourcedLedger:
    return EventSourcedLedger(
        scope,
        "Ledger",
        EventSourcedLedgerProps(profile=PROFILE, account_cloud_watch_role=AccountCloudWatchRole.CREATE),
    )


def _tenancy(scope: Construct, network: IsolatedNetwork) -> TenantReplication:
    """Use case 3 in one stack: the shared parts, one pooled shard (with its dashboard), one
    standard tenant's database and the DMS replication moving that tenant into the shard."""
    directory = TenantDirectoryTable(scope, "TenantDirectory", TenantDirectoryTableProps(profile=PROFILE))
    groups = TenantDatabaseGroups(scope, "TenantGroups", TenantDatabaseGroupsProps(vpc=network.vpc))
    provisioning = TenantProvisioning(
        scope,
        "TenantProvisioning",
        TenantProvisioningProps(profile=PROFILE, vpc=network.vpc, directory=directory),
    )
    api = TenantApi(
        scope,
        "TenantApi",
        TenantApiProps(
            profile=PROFILE,
            vpc=network.vpc,
            directory=directory,
            account_cloud_watch_role=AccountCloudWatchRole.CREATE,
        ),
    )
    shared = {
        "profile": PROFILE,
        "vpc": network.vpc,
        "groups": groups,
        "provisioning": provisioning,
        "directory": directory,
        "api": api,
        "secrets_manager_endpoint": network.interface_endpoints["SecretsManager"],
    }
    pool = TenantDatabase(
        scope,
        "TenantPool",
        TenantDatabaseProps(
            database_id="pool-001",
            tier=Tier.POOLED,
            tenants=["bluth", "vandelay"],
            dashboard_name="UserTenantPool",
            **shared,  # type: ignore[arg-type]
        ),
    )
    standard = TenantDatabase(
        scope,
        "TenantInitech",
        TenantDatabaseProps(
            database_id="std-initech",
            tier=Tier.STANDARD,
            tenants=["initech"],
            **shared,  # type: ignore[arg-type]
        ),
    )
    moves = TenantMoveStateMachine(
        scope, "TenantMoves", TenantMoveStateMachineProps(directory=directory, profile=PROFILE)
    )
    return TenantReplication(
        scope,
        "InitechMove",
        TenantReplicationProps(
            tenant_id="initech",
            source=standard,
            target=pool,
            vpc=network.vpc,
            profile=PROFILE,
            secrets_manager_endpoint=network.interface_endpoints["SecretsManager"],
            operator_role=moves.role,
        ),
    )


def _peering(scope: Construct, network: IsolatedNetwork, peer: IsolatedNetwork) -> VpcPeering:
    """From the secondary region's VPC to the primary's (routes on this side included)."""
    return VpcPeering(
        scope,
        "Peering",
        VpcPeeringProps(
            vpc=network.vpc, peer_vpc=peer.vpc, peer_region=str(PRIMARY.region), peer_cidr=PRIMARY_CIDR
        ),
    )


def _social(
    scope: Construct, network: IsolatedNetwork, peering: VpcPeering, replica_key: kms.IKey
) -> SocialRegionalApi:
    """Use case 2 in its home region: the global table (replica in the secondary region), the regional
    API without a session cache, and the routes back over the secondary region's peering."""
    PeerRoutes(
        scope, "PeerRoutes", vpc=network.vpc, peer_cidr=SECONDARY_CIDR, connection_id=peering.connection_id
    )
    key = create_key(scope, "SocialKey", description="user app social data", profile=PROFILE)
    table = SocialTable(
        scope,
        "SocialTable",
        SocialTableProps(
            profile=PROFILE,
            encryption_key=key,
            replicas=[TableReplica(region=str(SECONDARY.region), encryption_key=replica_key)],
        ),
    )
    cursor = secretsmanager.Secret(scope, "CursorKey", encryption_key=key)
    return SocialRegionalApi(
        scope,
        "SocialApi",
        SocialRegionalApiProps(
            profile=PROFILE,
            vpc=network.vpc,
            account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
            table=table.table,
            table_key=key,
            regions=[str(PRIMARY.region), str(SECONDARY.region)],
            home=None,
            cursor_secret=cursor,
            cursor_secret_key=key,
        ),
    )


# --- the user's stacks -------------------------------------------------------------------------------


class DataStack(DeployTimeAzStack):
    """Databases and caches of the primary region (the library's base class answers the AZs)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, env=PRIMARY, **kwargs)  # type: ignore[arg-type]
        self.network = _network(self)
        self.table = _table(self)
        self.queue = _queue(self)
        self.function = _function(self)
        self.postgres = _rds(self, self.network)
        self.orders = _aurora(self, self.network, global_database=False)
        self.orders_clone = _aurora_clone(self, self.orders)
        self.catalog = _aurora(self, self.network, global_database=True)
        self.sessions, _, self.global_sessions = _caches(self, self.network, global_datastore=True)
        vault = EncryptedBackupVault(self, "BackupVault", EncryptedBackupVaultProps(profile=PROFILE))
        plan = DatabaseBackupPlan(
            self, "BackupPlan", DatabaseBackupPlanProps(profile=PROFILE, vault=vault.vault)
        )
        DatabaseBackupSelection(self, "Backup", DatabaseBackupSelectionProps(plan=plan.plan, role=plan.role))


class ApiStack(cdk.Stack):
    """The use cases with an API; a plain Stack that answers its AZs itself (the other documented way)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id, env=PRIMARY)
        network = _network(self)
        _flash_sale(self, network)
        _ledger(self)
        _tenancy(self, network)

    @property
    def availability_zones(self) -> list[str]:
        return deploy_time_azs()


class DisasterRecoveryStack(DeployTimeAzStack):
    """The secondary region: a cross-region read replica and the global database and cache secondaries."""

    def __init__(self, scope: Construct, construct_id: str, data: DataStack) -> None:
        super().__init__(scope, construct_id, env=SECONDARY)
        network = _network(self, SECONDARY_CIDR)
        self.key = key = create_key(self, "Key", description="user app secondary region", profile=PROFILE)
        self.peering = _peering(self, network, data.network)
        RdsReadReplica(
            self,
            "PostgresReplica",
            RdsReadReplicaProps(source=data.postgres, profile=PROFILE, vpc=network.vpc, encryption_key=key),
        )
        AuroraGlobalSecondary(
            self,
            "CatalogSecondary",
            AuroraGlobalSecondaryProps(
                primary=data.catalog, profile=PROFILE, vpc=network.vpc, encryption_key=key
            ),
        )
        EncryptedBackupVault(
            self, "BackupCopies", EncryptedBackupVaultProps(profile=PROFILE, vault_name="user-app-dr-copies")
        )
        global_sessions = data.global_sessions
        assert isinstance(global_sessions, CacheGlobalDatastore)
        CacheSecondaryReplicationGroup(
            self,
            "SessionsSecondary",
            CacheSecondaryReplicationGroupProps(
                global_datastore=global_sessions, profile=PROFILE, vpc=network.vpc
            ),
        )


class SocialStack(DeployTimeAzStack):
    """Use case 2's home region, in the primary region's VPC, peered with the secondary region's."""

    def __init__(
        self, scope: Construct, construct_id: str, data: DataStack, recovery: DisasterRecoveryStack
    ) -> None:
        super().__init__(scope, construct_id, env=PRIMARY)
        _social(self, data.network, recovery.peering, recovery.key)


#: What the library should do in an environment-agnostic stack: work, or raise PropValidationError
#: saying what to pass. Each entry is tried in a stack of its own.
ANYWHERE: dict[str, Callable[[cdk.Stack], object]] = {
    "IsolatedNetwork": _network,
    "DynamoTable(AWS_OWNED)": lambda s: _table(s, TableEncryption.AWS_OWNED),
    "DynamoTable(CUSTOMER_MANAGED)": _table,
    "SecureQueue": _queue,
    "HandlerFunction": _function,
    "RdsInstance": lambda s: _rds(s, _network(s)),
    "AuroraCluster+AuroraClone": lambda s: _aurora_clone(s, _aurora(s, _network(s), global_database=False)),
    "AuroraCluster(global)": lambda s: _aurora(s, _network(s), global_database=True),
    "CacheReplicationGroup+MemcachedCluster": lambda s: _caches(s, _network(s), global_datastore=False),
    "CacheGlobalDatastore": lambda s: _caches(s, _network(s), global_datastore=True),
    "FlashSaleOrderPipeline": lambda s: _flash_sale(s, _network(s)),
    "EventSourcedLedger": _ledger,
}


def _try_anywhere(app: cdk.App) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for index, (name, build) in enumerate(ANYWHERE.items()):
        stack = cdk.Stack(app, f"Anywhere{index}")
        try:
            build(stack)
        except PropValidationError as error:
            outcomes[name] = f"PropValidationError: {error}"
            app.node.try_remove_child(stack.node.id)
        else:
            outcomes[name] = "ok"
    return outcomes


def _library_classes(app: cdk.App) -> list[str]:
    """Library classes in the tree, including the library base classes of the user's own stacks."""
    return sorted(
        {
            f"{cls.__module__}.{cls.__qualname__}"
            for c in app.node.find_all()
            for cls in type(c).__mro__
            if cls.__module__.startswith("dbpatterns.")
        }
    )


def main() -> None:
    app = cdk.App()
    data = DataStack(app, "UserData")
    apis = ApiStack(app, "UserApis")
    recovery = DisasterRecoveryStack(app, "UserDisasterRecovery", data)
    social = SocialStack(app, "UserSocial", data, recovery)
    social.add_stack_dependency(apis, "The social API's stage logs through the account role UserApis sets")
    anywhere = _try_anywhere(app)
    app.synth()
    report = {"library_classes": _library_classes(app), "anywhere": anywhere}
    Path(os.environ["USER_APP_REPORT"]).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
