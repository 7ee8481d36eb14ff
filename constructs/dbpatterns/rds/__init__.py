"""RDS building blocks: an encrypted, TLS-only instance and its read replicas (same or other region)."""

from dbpatterns.rds.engines import EngineFamily
from dbpatterns.rds.instance import RdsInstance, RdsInstanceProps
from dbpatterns.rds.read_replica import RdsReadReplica, RdsReadReplicaProps

__all__ = ["EngineFamily", "RdsInstance", "RdsInstanceProps", "RdsReadReplica", "RdsReadReplicaProps"]
