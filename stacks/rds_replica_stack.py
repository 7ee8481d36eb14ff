"""RDS building block: a cross-region read replica with its own KMS key, in that region's network."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.rds.instance import RdsInstance
from stacks.base import ReferenceStack


class RdsReplicaStack(ReferenceStack):
    """A read replica of ``source`` in this stack's region: a disaster-recovery copy you can promote."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        network: IsolatedNetwork,
        source: RdsInstance,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = network
        # The source is encrypted with a key of its own region; a replica here needs a key from here.
        self.key = create_key(
            self, "ReplicaKey", description="Encrypts the cross-region RDS read replica", profile=profile
        )
        self.replica = source.add_read_replica(
            "OrdersReplica", scope=self, vpc=self.network.vpc, encryption_key=self.key
        )
