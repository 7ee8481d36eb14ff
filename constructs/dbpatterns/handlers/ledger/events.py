"""The ledger's event model: one immutable fact per accepted command.

An event is stored as one DynamoDB item (partition key ``account_id``, sort key ``version``) and
reaches the stream consumers as the ``NewImage`` of that item, so ``to_item``/``from_item`` speak
DynamoDB JSON (``{"N": "125"}``): numbers travel as decimal strings and are parsed into ``int``,
never through ``float``. ``balance_after`` is the account balance once the event is applied, so
the writer checks an overdraft from the latest event alone and replay can start at any version.

**Hash chain.** Each event carries ``prev_hash``: the SHA-256 (hex) of the previous event of its
account in canonical JSON (``canonical_json(previous.to_document())``: keys sorted, no spaces,
ASCII only), or ``GENESIS_HASH`` (64 zeros) at version 1. The canonical JSON is also the body of
the event's object in the audit archive, so the hash of an archived object is the ``prev_hash`` of
the next event. Replay verifies the chain: rewriting any event but the newest changes its hash
and breaks the link from the event after it. Events of schema version 1 (written before the chain)
have no ``prev_hash``; they still fold, and replay counts them as unchained.

This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from dbpatterns.handlers.ledger.currencies import MINOR_UNIT_EXPONENTS

SCHEMA_VERSION: Final = 2
"""Version of the event layout written by this code. Consumers refuse newer events (deploy them first).
1: the original layout. 2: adds ``prev_hash`` (and the transfer fields on transfer events)."""

GENESIS_HASH: Final = "0" * 64
"""``prev_hash`` of an account's first event."""

SUPPORTED_CURRENCIES: Final = frozenset(MINOR_UNIT_EXPONENTS)
"""ISO 4217 codes the ledger accepts. Amounts are in each currency's minor unit (cents; yen for JPY;
fils for BHD and KWD): see ``currencies.MINOR_UNIT_EXPONENTS``."""

MAX_AMOUNT_MINOR: Final = 1_000_000_000_000
"""Largest amount of one transaction, in minor units (10 billion in a two-decimal currency)."""

ACCOUNT_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
EVENT_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
"""Event ids are UUIDs in practice; the pattern keeps them safe inside an S3 key."""
CORRELATION_ID_PATTERN: Final = r"^[A-Za-z0-9._:-]{1,128}$"

_ACCOUNT_ID_RE: Final = re.compile(ACCOUNT_ID_PATTERN)
_EVENT_ID_RE: Final = re.compile(EVENT_ID_PATTERN)
_INTEGER_RE: Final = re.compile(r"^-?[0-9]+$")
_HASH_RE: Final = re.compile(r"^[0-9a-f]{64}$")

_T = TypeVar("_T")

DynamoItem = Mapping[str, Mapping[str, Any]]
"""An item in DynamoDB JSON, as the low-level client and stream records carry it."""


class EventType(StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER_OUT = "TRANSFER_OUT"
    """The debit leg of a transfer (written with its TRANSFER_IN in one transaction)."""
    TRANSFER_IN = "TRANSFER_IN"
    """The credit leg of a transfer."""


CREDIT_TYPES: Final = frozenset({EventType.DEPOSIT, EventType.TRANSFER_IN})
DEBIT_TYPES: Final = frozenset({EventType.WITHDRAWAL, EventType.TRANSFER_OUT})
TRANSFER_TYPES: Final = frozenset({EventType.TRANSFER_OUT, EventType.TRANSFER_IN})


class InvalidEventError(ValueError):
    """An item or document does not hold a valid ledger event (a poison record for consumers)."""


def is_valid_account_id(value: str) -> bool:
    return bool(_ACCOUNT_ID_RE.fullmatch(value))


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The one serialization that is hashed and archived: sorted keys, no spaces, ASCII only."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def event_hash(event: LedgerEvent) -> str:
    """SHA-256 (hex) of the event's canonical JSON: the next event's ``prev_hash``."""
    return hashlib.sha256(canonical_json(event.to_document())).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a ``Z`` suffix; sorts as text in time order."""
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment!r} has no time zone; ledger times are timezone-aware UTC")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 timestamp that carries a time zone (``Z`` or an offset) into UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; give UTC as 'Z' or an offset such as '+00:00'")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEvent:
    """One accepted deposit, withdrawal or transfer leg, at ``version`` in its account's history.

    A transfer is two events written in one transaction, a TRANSFER_OUT on the paying account and
    a TRANSFER_IN on the receiving one. Both carry the same ``transfer_id`` and point at each
    other with ``counterparty_account_id`` and ``counterparty_version``, so replay can check that
    every leg has its counterpart.
    """

    account_id: str
    version: int
    event_id: str
    type: EventType
    amount: int
    currency: str
    balance_after: int
    occurred_at: str
    correlation_id: str
    prev_hash: str | None = None
    """Hash of the previous event of the account (``GENESIS_HASH`` at version 1); None only in
    events of schema version 1."""
    transfer_id: str | None = None
    """Transfer legs only: the id shared by the two legs."""
    counterparty_account_id: str | None = None
    """Transfer legs only: the other account."""
    counterparty_version: int | None = None
    """Transfer legs only: the version of the other leg in the other account."""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise InvalidEventError("invalid ledger event: " + "; ".join(problems))

    @property
    def signed_amount(self) -> int:
        """The change to the balance: positive for a credit (deposit, transfer in), negative for a
        debit (withdrawal, transfer out)."""
        return self.amount if self.type in CREDIT_TYPES else -self.amount

    @property
    def is_transfer(self) -> bool:
        return self.type in TRANSFER_TYPES

    @property
    def balance_before(self) -> int:
        return self.balance_after - self.signed_amount

    @property
    def occurred_at_datetime(self) -> datetime:
        return parse_timestamp(self.occurred_at)

    def to_item(self) -> dict[str, dict[str, str]]:
        """The event as a DynamoDB item (DynamoDB JSON)."""
        item = {
            "account_id": {"S": self.account_id},
            "version": {"N": str(self.version)},
            "event_id": {"S": self.event_id},
            "type": {"S": self.type.value},
            "amount": {"N": str(self.amount)},
            "currency": {"S": self.currency},
            "balance_after": {"N": str(self.balance_after)},
            "occurred_at": {"S": self.occurred_at},
            "correlation_id": {"S": self.correlation_id},
            "schema_version": {"N": str(self.schema_version)},
        }
        if self.prev_hash is not None:
            item["prev_hash"] = {"S": self.prev_hash}
        if self.transfer_id is not None:
            item["transfer_id"] = {"S": self.transfer_id}
        if self.counterparty_account_id is not None:
            item["counterparty_account_id"] = {"S": self.counterparty_account_id}
        if self.counterparty_version is not None:
            item["counterparty_version"] = {"N": str(self.counterparty_version)}
        return item

    @classmethod
    def from_item(cls, item: DynamoItem) -> LedgerEvent:
        """Read an event from a DynamoDB item or a stream record's ``NewImage``."""
        return cls(
            account_id=_string(item, "account_id"),
            version=_number(item, "version"),
            event_id=_string(item, "event_id"),
            type=_event_type(_string(item, "type")),
            amount=_number(item, "amount"),
            currency=_string(item, "currency"),
            balance_after=_number(item, "balance_after"),
            occurred_at=_string(item, "occurred_at"),
            correlation_id=_string(item, "correlation_id"),
            prev_hash=_optional_string(item, "prev_hash"),
            transfer_id=_optional_string(item, "transfer_id"),
            counterparty_account_id=_optional_string(item, "counterparty_account_id"),
            counterparty_version=_number(item, "counterparty_version")
            if "counterparty_version" in item
            else None,
            schema_version=_number(item, "schema_version"),
        )

    def to_document(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (API responses, alerts, the audit archive, the hash).
        Absent optional fields are left out, so a schema-1 event hashes as it was written."""
        document: dict[str, Any] = {
            "event_id": self.event_id,
            "account_id": self.account_id,
            "version": self.version,
            "type": self.type.value,
            "amount": self.amount,
            "currency": self.currency,
            "balance_after": self.balance_after,
            "occurred_at": self.occurred_at,
            "correlation_id": self.correlation_id,
            "schema_version": self.schema_version,
        }
        optional = {
            "prev_hash": self.prev_hash,
            "transfer_id": self.transfer_id,
            "counterparty_account_id": self.counterparty_account_id,
            "counterparty_version": self.counterparty_version,
        }
        document.update({name: value for name, value in optional.items() if value is not None})
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> LedgerEvent:
        """Inverse of ``to_document``; numbers must be JSON integers, not floats."""
        try:
            return cls(
                account_id=_typed(document, "account_id", str),
                version=_typed(document, "version", int),
                event_id=_typed(document, "event_id", str),
                type=_event_type(_typed(document, "type", str)),
                amount=_typed(document, "amount", int),
                currency=_typed(document, "currency", str),
                balance_after=_typed(document, "balance_after", int),
                occurred_at=_typed(document, "occurred_at", str),
                correlation_id=_typed(document, "correlation_id", str),
                prev_hash=_optional_typed(document, "prev_hash", str),
                transfer_id=_optional_typed(document, "transfer_id", str),
                counterparty_account_id=_optional_typed(document, "counterparty_account_id", str),
                counterparty_version=_optional_typed(document, "counterparty_version", int),
                schema_version=_typed(document, "schema_version", int),
            )
        except KeyError as missing:
            raise InvalidEventError(f"event document has no {missing.args[0]!r}") from None


def _problems(event: LedgerEvent) -> list[str]:
    problems: list[str] = []
    if not is_valid_account_id(event.account_id):
        problems.append(f"account_id {event.account_id!r} does not match {ACCOUNT_ID_PATTERN}")
    if event.version < 1:
        problems.append(f"version {event.version} is not >= 1")
    if not _EVENT_ID_RE.fullmatch(event.event_id):
        problems.append(f"event_id {event.event_id!r} does not match {EVENT_ID_PATTERN}")
    if not 1 <= event.amount <= MAX_AMOUNT_MINOR:
        problems.append(f"amount {event.amount} is outside 1..{MAX_AMOUNT_MINOR}")
    if event.currency not in SUPPORTED_CURRENCIES:
        problems.append(f"currency {event.currency!r} is not one of {sorted(SUPPORTED_CURRENCIES)}")
    if event.balance_after < 0:
        problems.append(f"balance_after {event.balance_after} is negative")
    try:
        parse_timestamp(event.occurred_at)
    except ValueError as error:
        problems.append(f"occurred_at: {error}")
    if not event.correlation_id:
        problems.append("correlation_id is empty")
    if not 1 <= event.schema_version <= SCHEMA_VERSION:
        problems.append(
            f"schema_version {event.schema_version} is not supported by this code (1..{SCHEMA_VERSION})"
        )
    elif event.schema_version == 1:
        if event.prev_hash is not None:
            problems.append("prev_hash is not part of schema version 1")
    elif event.prev_hash is None or not _HASH_RE.fullmatch(event.prev_hash):
        problems.append(f"prev_hash {event.prev_hash!r} is not a lowercase hex SHA-256")
    problems.extend(_transfer_problems(event))
    return problems


def _transfer_problems(event: LedgerEvent) -> list[str]:
    fields = (event.transfer_id, event.counterparty_account_id, event.counterparty_version)
    if not event.is_transfer:
        if any(value is not None for value in fields):
            return [f"{event.type.value} events have no transfer_id or counterparty fields"]
        return []
    problems: list[str] = []
    if event.schema_version < 2:  # transfers came with schema version 2
        problems.append(f"{event.type.value} needs schema_version 2 or later")
    if event.transfer_id is None or not _EVENT_ID_RE.fullmatch(event.transfer_id):
        problems.append(f"transfer_id {event.transfer_id!r} does not match {EVENT_ID_PATTERN}")
    counterparty = event.counterparty_account_id
    if counterparty is None or not is_valid_account_id(counterparty):
        problems.append(f"counterparty_account_id {counterparty!r} does not match {ACCOUNT_ID_PATTERN}")
    elif counterparty == event.account_id:
        problems.append("counterparty_account_id is the event's own account")
    if event.counterparty_version is None or event.counterparty_version < 1:
        problems.append(f"counterparty_version {event.counterparty_version!r} is not >= 1")
    return problems


def _event_type(value: str) -> EventType:
    try:
        return EventType(value)
    except ValueError:
        raise InvalidEventError(f"type {value!r} is not one of {[t.value for t in EventType]}") from None


def _attribute(item: DynamoItem, name: str, kind: str) -> str:
    attribute = item.get(name)
    if attribute is None:
        raise InvalidEventError(f"item has no attribute {name!r}")
    value = attribute.get(kind)
    if not isinstance(value, str):
        raise InvalidEventError(f"attribute {name!r} is {dict(attribute)!r}, expected type {kind}")
    return value


def _string(item: DynamoItem, name: str) -> str:
    return _attribute(item, name, "S")


def _optional_string(item: DynamoItem, name: str) -> str | None:
    return _string(item, name) if name in item else None


def _number(item: DynamoItem, name: str) -> int:
    text = _attribute(item, name, "N")
    if not _INTEGER_RE.fullmatch(text):
        raise InvalidEventError(f"attribute {name!r} is {text!r}, expected an integer")
    return int(text)


def _optional_typed(document: Mapping[str, Any], name: str, kind: type[_T]) -> _T | None:
    return _typed(document, name, kind) if document.get(name) is not None else None


def _typed(document: Mapping[str, Any], name: str, kind: type[_T]) -> _T:
    value = document[name]
    # bool is a subclass of int in Python but never a valid amount or version.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidEventError(f"{name!r} is {value!r}, expected {kind.__name__}")
    return value
