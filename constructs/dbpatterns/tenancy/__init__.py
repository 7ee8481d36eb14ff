"""Use case 3, the CDK side: a hybrid multi-tenant fleet driven by the tenant catalog.

- :class:`TenantDirectoryTable`, :class:`TenantDatabaseGroups`, :class:`TenantProvisioning`,
  :class:`TenantApi`: what a region's fleet shares (one of each, in the shared stack);
- :class:`TenantDatabase`: one pooled shard, standard tenant or enterprise tenant (one stack each),
  with :class:`ShardDashboard` on pooled shards;
- :class:`TenantMoveStateMachine` (shared) and :class:`TenantReplication` (per planned move, with its
  :class:`TenantDmsEndpoint` s): moving a tenant between tiers with DMS Serverless and Step Functions.

The runtime side (catalog, migrations, data access) is :mod:`dbpatterns.runtime.tenancy`.
"""

from dbpatterns.tenancy.database_groups import TenantDatabaseGroups, TenantDatabaseGroupsProps
from dbpatterns.tenancy.directory_table import TenantDirectoryTable, TenantDirectoryTableProps
from dbpatterns.tenancy.dms_endpoint import EndpointRole, TenantDmsEndpoint, TenantDmsEndpointProps
from dbpatterns.tenancy.move_state_machine import TenantMoveStateMachine, TenantMoveStateMachineProps
from dbpatterns.tenancy.provisioning import TenantProvisioning, TenantProvisioningProps
from dbpatterns.tenancy.shard_dashboard import ShardDashboard, ShardDashboardProps
from dbpatterns.tenancy.tenant_api import ConnectScope, TenantApi, TenantApiProps
from dbpatterns.tenancy.tenant_database import TenantDatabase, TenantDatabaseProps
from dbpatterns.tenancy.tenant_replication import TenantReplication, TenantReplicationProps

__all__ = [
    "ConnectScope",
    "EndpointRole",
    "ShardDashboard",
    "ShardDashboardProps",
    "TenantApi",
    "TenantApiProps",
    "TenantDatabase",
    "TenantDatabaseGroups",
    "TenantDatabaseGroupsProps",
    "TenantDatabaseProps",
    "TenantDirectoryTable",
    "TenantDirectoryTableProps",
    "TenantDmsEndpoint",
    "TenantDmsEndpointProps",
    "TenantMoveStateMachine",
    "TenantMoveStateMachineProps",
    "TenantProvisioning",
    "TenantProvisioningProps",
    "TenantReplication",
    "TenantReplicationProps",
]
