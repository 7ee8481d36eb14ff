"""Acknowledging cdk-nag findings, one finding at a time, with a reason.

cdk-nag 3 reads acknowledgments from construct metadata through aws-cdk-lib's ``Validations`` API.
An acknowledgment covers the construct it is put on and everything below it, so put it on the
narrowest construct that owns the finding, and name one finding (``AwsSolutions-IAM5[Resource::*]``),
never a whole rule family.

Only aws-cdk-lib is needed here: an acknowledgment is construct metadata that any policy-validation
plugin (cdk-nag or another) reads. Scoping a cdk-nag pack to part of an app is
:mod:`dbpatterns.compliance` (the ``nag`` extra).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
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


#: Rule-ID prefixes of cdk-nag's compliance-framework packs, which share rule names (``LambdaDLQ``...):
#: NIST 800-53 rev. 5, HIPAA Security and PCI DSS 3.2.1.
FRAMEWORK_PACKS = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


def acknowledge_framework_rule(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge cdk-nag rule ``rule`` (e.g. ``"LambdaDLQ"``) of each compliance-framework pack
    (:data:`FRAMEWORK_PACKS`) on ``construct``: one finding per pack, for the same reason.

    A pack that has no such rule, or that does not check ``construct``'s stack, ignores it.
    """
    for pack in FRAMEWORK_PACKS:
        acknowledge(construct, f"{pack}-{rule}", reason)
