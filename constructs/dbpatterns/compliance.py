"""cdk-nag integration: hold one part of an app to a stricter cdk-nag pack.

This is the only module of the library that imports cdk-nag, so it needs the ``nag`` extra
(``pip install "dbpatterns[nag]"``). The constructs themselves only *acknowledge* findings
(:func:`dbpatterns.common.nag.acknowledge`, plain aws-cdk-lib), so they work in an app that runs no
cdk-nag pack at all, or another policy-validation plugin.
"""

from __future__ import annotations

import jsii
from aws_cdk import IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport
from constructs import IConstruct

try:
    from cdk_nag import NagPack
except ModuleNotFoundError as error:  # pragma: no cover - depends on what is installed
    raise ModuleNotFoundError(
        "dbpatterns.compliance wraps cdk-nag packs and needs cdk-nag: "
        'pip install "dbpatterns[nag]" (or pip install "cdk-nag>=3,<4")',
        name=error.name,
    ) from error

__all__ = ["ScopedNagPack"]


# cdk-nag 3 packs are validation plugins of the App: ``Validations.of(stack).add_plugins(pack)`` still
# registers the pack on the enclosing Stage, and it then walks the whole app. To hold one stack to a
# stricter pack (PCI DSS 3.2.1 for the ledger), wrap the pack so it validates that subtree only.
@jsii.implements(IPolicyValidationPlugin)
class ScopedNagPack:
    """``pack`` applied to ``scope`` and its children only. Register it on the App::

    Validations.of(app).add_plugins(ScopedNagPack(PCIDSS321Checks(), ledger_stack))
    """

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
