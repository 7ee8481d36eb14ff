"""The sandbox/production switch.

A profile decides what happens to state when a stack is deleted, and how big things are.
It never relaxes encryption, TLS or access rules: those are the same in both profiles.

========================  ==========================  ===========================
Setting                   ``PRODUCTION``              ``SANDBOX``
========================  ==========================  ===========================
stateful removal policy   RETAIN (SNAPSHOT for RDS)   DESTROY
deletion protection       on                          off
log retention             1 year                      1 week
sizes                     HA (multi-AZ, replicas)     smallest that still works
========================  ==========================  ===========================
"""

from __future__ import annotations

import enum
from typing import TypeVar

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from dbpatterns.common.validation import PropValidationError

_T = TypeVar("_T")


class DeploymentProfile(enum.Enum):
    """Where a stack is deployed: a throwaway sandbox account or production."""

    SANDBOX = "sandbox"
    PRODUCTION = "production"

    @classmethod
    def from_name(cls, name: str) -> DeploymentProfile:
        """Parse the ``profile`` context value (case-insensitive)."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            allowed = ", ".join(repr(p.value) for p in cls)
            raise PropValidationError("app", "profile", name, f"allowed: {allowed}") from None

    @property
    def is_production(self) -> bool:
        return self is DeploymentProfile.PRODUCTION

    def pick(self, value: _T | None, *, production: _T, sandbox: _T) -> _T:
        """``value`` when the caller gave one, else this profile's default.

        The one place a construct turns "``None`` means: depends on the profile" into a value::

            replicas = props.profile.pick(props.replicas, production=2, sandbox=1)
        """
        if value is not None:
            return value
        return production if self.is_production else sandbox

    @property
    def removal_policy(self) -> RemovalPolicy:
        """For stateful resources that cannot be snapshotted (tables, keys, buckets)."""
        return RemovalPolicy.RETAIN if self.is_production else RemovalPolicy.DESTROY

    @property
    def snapshot_removal_policy(self) -> RemovalPolicy:
        """For resources that support a final snapshot (RDS, Aurora, ElastiCache)."""
        return RemovalPolicy.SNAPSHOT if self.is_production else RemovalPolicy.DESTROY

    @property
    def deletion_protection(self) -> bool:
        return self.is_production

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays.ONE_YEAR if self.is_production else logs.RetentionDays.ONE_WEEK
