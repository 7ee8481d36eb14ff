"""ElastiCache building blocks: Valkey/Redis OSS replication groups, global datastores, Memcached."""

from dbpatterns.elasticache.global_datastore import CacheGlobalDatastore, CacheGlobalDatastoreProps
from dbpatterns.elasticache.memcached import MemcachedCluster, MemcachedClusterProps
from dbpatterns.elasticache.replication_group import (
    CacheEngine,
    CacheReplicationGroup,
    CacheReplicationGroupProps,
)
from dbpatterns.elasticache.secondary import (
    CacheSecondaryReplicationGroup,
    CacheSecondaryReplicationGroupProps,
)

__all__ = [
    "CacheEngine",
    "CacheGlobalDatastore",
    "CacheGlobalDatastoreProps",
    "CacheReplicationGroup",
    "CacheReplicationGroupProps",
    "CacheSecondaryReplicationGroup",
    "CacheSecondaryReplicationGroupProps",
    "MemcachedCluster",
    "MemcachedClusterProps",
]
