"""Validation of construct props, done in constructors before any child is defined.

Every failure is a :class:`PropValidationError` (a ``ValueError``) whose message names the
prop, the value given and what is allowed, so a user sees a Python error, never a jsii
JavaScript traceback. Unresolved CDK tokens are skipped: their value is only known at deploy time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from aws_cdk import Stack, Token
from constructs import IConstruct

from dbpatterns.errors import PropValidationError

__all__ = [
    "PropValidationError",
    "check_concrete_region",
    "check_count",
    "check_instance",
    "check_int",
    "check_one_of",
    "check_range",
    "check_required",
    "check_unique",
    "construct_label",
    "is_unresolved",
    "require",
]


def construct_label(construct_class: type | str, scope: IConstruct, construct_id: str) -> str:
    """How errors name a construct that is not defined yet: its class and the path it will have.

    ``RdsInstance 'DbPatterns-RdsShowcase/Orders'``: with three instances of one class in an app, the
    path says which one failed. Call it first thing in a constructor, before ``super().__init__``.
    """
    kind = construct_class if isinstance(construct_class, str) else construct_class.__name__
    parent = scope.node.path
    path = f"{parent}/{construct_id}" if parent else construct_id
    return f"{kind} {path!r}"


def check_required(construct: str, prop: str, value: Any) -> None:
    """Fail when a required prop is ``None`` (dataclasses do not stop an explicit ``None``)."""
    if value is None:
        raise PropValidationError(construct, prop, value, "required: a value must be given")


def check_int(construct: str, prop: str, value: Any, *, optional: bool = False) -> None:
    """Fail unless ``value`` is an ``int`` (``bool``, ``float`` and ``str`` are refused); tokens pass.

    ``optional`` lets ``None`` through (a prop whose ``None`` means "use the default").
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        if is_unresolved(value):
            return
        raise PropValidationError(construct, prop, value, "allowed: a whole number (int)")


def check_instance(
    construct: str, prop: str, value: Any, expected: type | tuple[type, ...], *, optional: bool = False
) -> None:
    """Fail unless ``value`` is an instance of ``expected`` (e.g. an enum member, not its string)."""
    if value is None and optional:
        return
    if not isinstance(value, expected):
        names = expected if isinstance(expected, tuple) else (expected,)
        shown = " or ".join(t.__name__ for t in names)
        raise PropValidationError(construct, prop, value, f"allowed: a {shown}")


def is_unresolved(value: Any) -> bool:
    """True when ``value`` is a CDK token (a deploy-time value that cannot be checked now)."""
    return Token.is_unresolved(value)


def check_range(
    construct: str,
    prop: str,
    value: float | None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> None:
    """Fail unless ``minimum <= value <= maximum``; ``None`` values and tokens pass."""
    if value is None or is_unresolved(value):
        return
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if minimum is not None and maximum is not None:
            allowed = f"allowed: {minimum} to {maximum}"
        elif minimum is not None:
            allowed = f"allowed: at least {minimum}"
        else:
            allowed = f"allowed: at most {maximum}"
        raise PropValidationError(construct, prop, value, allowed)


def check_count(construct: str, prop: str, items: Collection[Any], *, maximum: int) -> None:
    """Fail when a list prop has more than ``maximum`` entries (the value shown is the count)."""
    if len(items) > maximum:
        raise PropValidationError(construct, prop, f"{len(items)} entries", f"allowed: at most {maximum}")


def check_unique(construct: str, prop: str, names: Iterable[str]) -> None:
    """Fail when ``names`` repeats a name."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PropValidationError(construct, prop, name, "names must be unique")
        seen.add(name)


def check_one_of(construct: str, prop: str, value: Any, allowed: Collection[Any]) -> None:
    """Fail unless ``value`` is one of ``allowed``."""
    if value is None or is_unresolved(value):
        return
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise PropValidationError(construct, prop, value, f"allowed: {shown}")


def require(condition: bool, construct: str, prop: str, value: Any, allowed: str) -> None:
    """Fail with ``allowed`` as the explanation unless ``condition`` holds."""
    if not condition:
        raise PropValidationError(construct, prop, value, allowed)


def check_concrete_region(
    construct: str, scope: IConstruct, prop: str, value: Any, *, because: str, alternative: str | None = None
) -> None:
    """Fail when ``scope`` is in an environment-agnostic stack (its region is known only at deploy time).

    For settings CDK can render only for a known region. ``because`` says why; ``alternative`` is
    another prop value that works anywhere, if there is one.
    """
    if is_unresolved(Stack.of(scope).region):
        allowed = (
            f"allowed only in a stack with a concrete region, because {because}: create the stack with "
            "env=Environment(account=..., region=...)"
        )
        raise PropValidationError(
            construct, prop, value, allowed + (f"; or {alternative}" if alternative else "")
        )
