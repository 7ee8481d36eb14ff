"""The security gates' acknowledgments, loaded and checked from ``security_acknowledgments.toml``.

The file is the one place an IAM wildcard, a resource without a customer-managed key or an API
method without API Gateway authorization is accepted. Loading refuses an entry with a missing or
unknown field, an empty pattern list or a reason too short to say anything specific.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from tests.gates.template_walk import Finding, WildcardGrant

ACKNOWLEDGMENTS_FILE = Path(__file__).with_name("security_acknowledgments.toml")
MIN_REASON_LENGTH = 80


@dataclass(frozen=True)
class WildcardAcknowledgment:
    """Accepts the wildcard grants of ``actions`` on ``resource`` in the resources ``paths`` match."""

    paths: tuple[str, ...]
    resource_type: str
    actions: tuple[str, ...]
    resource: str
    reason: str
    #: Glob of the statement's principal as compact JSON (resource policies); ``None``: identity policy.
    principal: str | None = None

    def covers(self, grant: WildcardGrant, action: str | None = None) -> bool:
        """Whether this entry accepts ``grant`` (only through ``action``, when given)."""
        wanted = self.actions if action is None else (action,)
        return (
            grant.resource_type == self.resource_type
            and grant.action in wanted
            and any(fnmatchcase(grant.path, p) for p in self.paths)
            and fnmatchcase(grant.resource, self.resource)
            and (
                grant.principal == ""
                if self.principal is None
                else fnmatchcase(grant.principal, self.principal)
            )
        )

    def label(self) -> str:
        return f"iam_wildcard {list(self.paths)} {self.resource_type}"


@dataclass(frozen=True)
class EncryptionException:
    """Accepts one observed encryption ``detail`` of the resources ``paths`` match."""

    paths: tuple[str, ...]
    resource_type: str
    detail: str
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            finding.resource_type == self.resource_type
            and finding.detail == self.detail
            and any(fnmatchcase(finding.path, p) for p in self.paths)
        )

    def label(self) -> str:
        return f"without_customer_managed_key {list(self.paths)} {self.resource_type}"


@dataclass(frozen=True)
class OpenMethodAcknowledgment:
    """Accepts the API Gateway methods ``paths`` match having no API Gateway authorization."""

    paths: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.resource_type == "AWS::ApiGateway::Method" and any(
            fnmatchcase(finding.path, p) for p in self.paths
        )

    def label(self) -> str:
        return f"open_api_method {list(self.paths)}"


@dataclass(frozen=True)
class Acknowledgments:
    iam_wildcards: tuple[WildcardAcknowledgment, ...]
    without_customer_managed_key: tuple[EncryptionException, ...]
    open_api_methods: tuple[OpenMethodAcknowledgment, ...]


def load(path: Path = ACKNOWLEDGMENTS_FILE) -> Acknowledgments:
    data = tomllib.loads(path.read_text())
    unknown = set(data) - {"iam_wildcard", "without_customer_managed_key", "open_api_method"}
    if unknown:
        raise ValueError(f"{path.name}: unknown tables {sorted(unknown)}")
    return Acknowledgments(
        iam_wildcards=tuple(
            WildcardAcknowledgment(
                paths=_patterns(entry, "paths"),
                resource_type=_text(entry, "resource_type"),
                actions=_patterns(entry, "actions"),
                resource=_text(entry, "resource"),
                reason=_reason(entry),
                principal=entry.get("principal"),
            )
            for entry in _entries(data, "iam_wildcard", {"paths", "resource_type", "actions", "resource"})
        ),
        without_customer_managed_key=tuple(
            EncryptionException(
                paths=_patterns(entry, "paths"),
                resource_type=_text(entry, "resource_type"),
                detail=_text(entry, "detail"),
                reason=_reason(entry),
            )
            for entry in _entries(data, "without_customer_managed_key", {"paths", "resource_type", "detail"})
        ),
        open_api_methods=tuple(
            OpenMethodAcknowledgment(paths=_patterns(entry, "paths"), reason=_reason(entry))
            for entry in _entries(data, "open_api_method", {"paths"})
        ),
    )


def _entries(data: Mapping[str, Any], table: str, required: set[str]) -> list[Mapping[str, Any]]:
    entries: list[Mapping[str, Any]] = data.get(table, [])
    allowed = required | {"reason", "principal"} if table == "iam_wildcard" else required | {"reason"}
    for index, entry in enumerate(entries):
        missing, extra = (required | {"reason"}) - set(entry), set(entry) - allowed
        if missing or extra:
            raise ValueError(f"{table}[{index}]: missing {sorted(missing)}, unknown {sorted(extra)}")
    return entries


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _patterns(entry: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = entry[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{key} must be a non-empty list of strings, got {value!r}")
    return tuple(value)


def _reason(entry: Mapping[str, Any]) -> str:
    reason = _text(entry, "reason")
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(
            f"reason {reason!r} is too short to be specific (at least {MIN_REASON_LENGTH} chars)"
        )
    return reason


def unacknowledged_grants(
    grants: Iterable[WildcardGrant], acknowledgments: Sequence[WildcardAcknowledgment]
) -> list[WildcardGrant]:
    return [g for g in grants if not any(a.covers(g) for a in acknowledgments)]


def unused_wildcard_acknowledgments(
    grants: Sequence[WildcardGrant], acknowledgments: Sequence[WildcardAcknowledgment]
) -> list[str]:
    """Each (entry, action) that accepts no grant: stale, or wider than what it acknowledges."""
    return [
        f"{ack.label()} action {action}"
        for ack in acknowledgments
        for action in ack.actions
        if not any(ack.covers(g, action) for g in grants)
    ] + [
        f"{ack.label()} path {path}"
        for ack in acknowledgments
        for path in ack.paths
        if not any(ack.covers(g) and fnmatchcase(g.path, path) for g in grants)
    ]


def unexcepted_findings(
    findings: Iterable[Finding], exceptions: Sequence[EncryptionException]
) -> list[Finding]:
    return [f for f in findings if not any(e.covers(f) for e in exceptions)]


def unused_encryption_exceptions(
    findings: Sequence[Finding], exceptions: Sequence[EncryptionException]
) -> list[str]:
    return [
        f"{exc.label()} path {path}"
        for exc in exceptions
        for path in exc.paths
        if not any(exc.covers(f) and fnmatchcase(f.path, path) for f in findings)
    ]


def unacknowledged_methods(
    findings: Iterable[Finding], acknowledgments: Sequence[OpenMethodAcknowledgment]
) -> list[Finding]:
    return [f for f in findings if not any(a.covers(f) for a in acknowledgments)]


def unused_method_acknowledgments(
    findings: Sequence[Finding], acknowledgments: Sequence[OpenMethodAcknowledgment]
) -> list[str]:
    return [
        f"{ack.label()} path {path}"
        for ack in acknowledgments
        for path in ack.paths
        if not any(ack.covers(f) and fnmatchcase(f.path, path) for f in findings)
    ]
