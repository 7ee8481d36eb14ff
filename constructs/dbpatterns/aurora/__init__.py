"""Aurora building blocks: a cluster (provisioned or Serverless v2), global secondaries, fast clones."""

from dbpatterns.aurora.clone import AuroraClone, AuroraCloneProps
from dbpatterns.aurora.cluster import AuroraCluster, AuroraClusterProps
from dbpatterns.aurora.global_database import AuroraGlobalSecondary, AuroraGlobalSecondaryProps

__all__ = [
    "AuroraClone",
    "AuroraCloneProps",
    "AuroraCluster",
    "AuroraClusterProps",
    "AuroraGlobalSecondary",
    "AuroraGlobalSecondaryProps",
]
