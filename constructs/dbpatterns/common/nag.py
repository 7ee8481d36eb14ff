"""Acknowledging cdk-nag findings, one finding at a time, with a reason.

cdk-nag 3 reads acknowledgments from construct metadata through aws-cdk-lib's ``Validations`` API.
An acknowledgment covers the construct it is put on and everything below it, so put it on the
narrowest construct that owns the finding, and name one finding (``AwsSolutions-IAM5[Resource::*]``),
never a whole rule family.
"""

from __future__ import annotations

import jsii
from aws_cdk import (
    Acknowledgment,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    Validations,
)
from cdk_nag import NagPack
from constructs import IConstruct

_MIN_REASON_LENGTH = 30


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge ``finding`` on ``construct`` (and its children) because of ``reason``."""
    if len(reason.strip()) < _MIN_REASON_LENGTH:
        raise ValueError(
            f"acknowledge: reason={reason!r} for {finding} is too short; "
            f"say in at least {_MIN_REASON_LENGTH} characters why this resource is fine"
        )
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


# cdk-nag 3 packs are validation plugins of the App: ``Validations.of(stack).add_plugins(pack)`` still
# registers the pack on the enclosing Stage, and it then walks the whole app. To hold one stack to a
# stricter pack (PCI DSS 3.2.1 for the ledger), wrap the pack so it validates that subtree only.
@jsii.implements(IPolicyValidationPlugin)
class ScopedNagPack:
    """``pack`` applied to ``scope`` and its children only. Register it on the App."""

    def __init__(self, pack: NagPack, scope: IConstruct) -> None:
        self._pack = pack
        self._scope = scope

    @property
    def name(self) -> str:
        return self._pack.name

    @property
    def version(self) -> str | None:
        return self._pack.version

    @property
    def rule_ids(self) -> list[str] | None:
        return self._pack.rule_ids

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        return self._pack.validate_scope(self._scope)
