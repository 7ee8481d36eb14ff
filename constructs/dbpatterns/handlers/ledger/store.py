"""Appending to the event store: optimistic concurrency and idempotency in one transaction.

An accepted command costs two reads and exactly one write call:

1. ``GetItem`` (consistent) on the idempotency table: a known key returns the stored result and
   appends nothing.
2. ``Query`` (consistent, newest first, ``Limit=1``) for the account's latest event, whose
   ``balance_after`` is the current balance; ``next_event`` decides (pure) the new event or refuses
   an overdraft.
3. ``TransactWriteItems`` with two puts, each conditional on ``attribute_not_exists``: the event at
   version n+1, and the idempotency record holding the event (with a TTL). Either both land or
   neither does.

If the transaction is cancelled because the idempotency record now exists (the same request racing
itself), the stored result is returned. If it is cancelled because version n+1 was taken, the
account changed under us: read again and retry, at most ``max_attempts`` times in all, then raise
VersionConflictError (HTTP 409). A key reused with a different request raises
IdempotencyKeyReusedError (HTTP 422, as the IETF Idempotency-Key draft recommends).

``transfer`` does the same for ``POST /transfers``: one ``GetItem`` for the key, one ``Query``
per account, and one ``TransactWriteItems`` with three conditional puts (the debit at the paying
account's next version, the credit at the receiving account's next version, the idempotency
record), so both versions are checked and the money moves entirely or not at all. Transfer keys
live in their own namespace (``{from_account_id}#transfer#{key}``), apart from transaction keys.

The DynamoDB client is a parameter, so the functions are testable with any client.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from dbpatterns.handlers.ledger._aws import ClientError, error_code
from dbpatterns.handlers.ledger.events import (
    GENESIS_HASH,
    EventType,
    LedgerEvent,
    event_hash,
    format_timestamp,
)
from dbpatterns.handlers.ledger.schema import TransactionRequest, TransferRequest
from dbpatterns.handlers.ledger.tables import (
    EVENTS_PARTITION_KEY,
    IDEMPOTENCY_PARTITION_KEY,
    IDEMPOTENCY_TTL_ATTRIBUTE,
)

DEFAULT_MAX_ATTEMPTS: Final = 3
DEFAULT_IDEMPOTENCY_TTL: Final = timedelta(hours=24)
"""Keys are honoured at least this long; DynamoDB deletes expired items some time after expiry."""

_BACKOFF_BASE_MS: Final = 20
# Cancellation codes that mean "someone else wrote first": read again and retry.
_CONFLICT_CODES: Final = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class LedgerError(Exception):
    """A command the ledger refuses; the subclass says why."""


class OverdraftError(LedgerError):
    def __init__(
        self, *, account_id: str, balance: int, amount: int, currency: str, kind: str = "withdrawal"
    ) -> None:
        super().__init__(
            f"{kind} of {amount} {currency} minor units from account {account_id} "
            f"would overdraw its balance of {balance}"
        )
        self.balance = balance
        self.amount = amount


class CurrencyMismatchError(LedgerError):
    def __init__(self, *, account_id: str, account_currency: str, requested: str) -> None:
        super().__init__(
            f"account {account_id} holds {account_currency}; a {requested} transaction cannot post to it"
        )


class VersionConflictError(LedgerError):
    def __init__(self, *, account_id: str, attempts: int) -> None:
        super().__init__(
            f"account {account_id} changed concurrently on each of {attempts} attempts; retry the request "
            "with the same Idempotency-Key"
        )
        self.attempts = attempts


class IdempotencyKeyReusedError(LedgerError):
    def __init__(self, *, account_id: str) -> None:
        super().__init__(
            f"this Idempotency-Key was already used for a different request on account {account_id}; "
            "use a new key for a new request"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerTables:
    events: str
    idempotency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendCommand:
    account_id: str
    idempotency_key: str
    request: TransactionRequest
    default_correlation_id: str
    """Used when the request carries no correlation id (the API passes its request id)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendResult:
    event: LedgerEvent
    replayed: bool
    """True when the Idempotency-Key was known: ``event`` is the original one, nothing was written."""
    attempts: int
    """Transactions tried (0 for a replay found by the first read)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferCommand:
    idempotency_key: str
    request: TransferRequest
    default_correlation_id: str
    """Used for both legs when the request carries no correlation id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferResult:
    debit: LedgerEvent
    """The TRANSFER_OUT on the paying account."""
    credit: LedgerEvent
    """The TRANSFER_IN on the receiving account."""
    replayed: bool
    attempts: int

    @property
    def transfer_id(self) -> str:
        return str(self.debit.transfer_id)

    def to_document(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "debit": self.debit.to_document(),
            "credit": self.credit.to_document(),
        }


def idempotency_pk(account_id: str, idempotency_key: str) -> str:
    return f"{account_id}#{idempotency_key}"


def transfer_idempotency_pk(from_account_id: str, idempotency_key: str) -> str:
    """Keys contain no '#', so this never equals a transaction key ``{account}#{key}``."""
    return f"{from_account_id}#transfer#{idempotency_key}"


def transfer_fingerprint(command: TransferCommand) -> str:
    request = command.request
    canonical = {
        "kind": "transfer",
        "from_account_id": request.from_account_id,
        "to_account_id": request.to_account_id,
        "amount": request.amount,
        "currency": request.currency,
        "correlation_id": request.correlation_id,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def request_fingerprint(command: AppendCommand) -> str:
    """SHA-256 of what the client sent, to detect a key reused for a different request."""
    request = command.request
    canonical = {
        "account_id": command.account_id,
        "type": request.type.value,
        "amount": request.amount,
        "currency": request.currency,
        "correlation_id": request.correlation_id,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def next_event(
    latest: LedgerEvent | None, command: AppendCommand, *, event_id: str, now: datetime
) -> LedgerEvent:
    """Decide the event a command produces after ``latest`` (None for a new account). Pure.

    The first event fixes the account's currency; ``prev_hash`` chains the event to ``latest``.
    ``occurred_at`` never goes backwards within an account (a writer with a slightly slow clock
    reuses the latest time), which lets replay find a starting point by time with a binary search
    over versions.
    """
    request = command.request
    if latest is not None and request.currency != latest.currency:
        raise CurrencyMismatchError(
            account_id=command.account_id, account_currency=latest.currency, requested=request.currency
        )
    balance = latest.balance_after if latest is not None else 0
    change = request.amount if request.type is EventType.DEPOSIT else -request.amount
    if balance + change < 0:
        raise OverdraftError(
            account_id=command.account_id, balance=balance, amount=request.amount, currency=request.currency
        )
    occurred_at = now if latest is None else max(now, latest.occurred_at_datetime)
    return LedgerEvent(
        account_id=command.account_id,
        version=1 if latest is None else latest.version + 1,
        event_id=event_id,
        type=request.type,
        amount=request.amount,
        currency=request.currency,
        balance_after=balance + change,
        occurred_at=format_timestamp(occurred_at),
        correlation_id=request.correlation_id or command.default_correlation_id,
        prev_hash=GENESIS_HASH if latest is None else event_hash(latest),
    )


def next_transfer_events(
    latest_from: LedgerEvent | None,
    latest_to: LedgerEvent | None,
    command: TransferCommand,
    *,
    transfer_id: str,
    debit_id: str,
    credit_id: str,
    now: datetime,
) -> tuple[LedgerEvent, LedgerEvent]:
    """Decide a transfer's two legs after each account's latest event. Pure.

    Same rules as a withdrawal on the paying account (its currency, no overdraft; an account
    without events has nothing to pay with) and as a deposit on the receiving one (its currency,
    or a new account opened in the transfer's currency). Both legs share ``occurred_at``, the
    latest of now and both accounts' latest times, so neither account's times go backwards.
    """
    request = command.request
    for account_id, latest in ((request.from_account_id, latest_from), (request.to_account_id, latest_to)):
        if latest is not None and latest.currency != request.currency:
            raise CurrencyMismatchError(
                account_id=account_id, account_currency=latest.currency, requested=request.currency
            )
    balance = latest_from.balance_after if latest_from is not None else 0
    if balance < request.amount:
        raise OverdraftError(
            account_id=request.from_account_id,
            balance=balance,
            amount=request.amount,
            currency=request.currency,
            kind="transfer",
        )
    moment = max(
        [now] + [latest.occurred_at_datetime for latest in (latest_from, latest_to) if latest is not None]
    )
    debit_version = 1 if latest_from is None else latest_from.version + 1
    credit_version = 1 if latest_to is None else latest_to.version + 1
    occurred_at = format_timestamp(moment)
    correlation_id = request.correlation_id or command.default_correlation_id
    debit = LedgerEvent(
        account_id=request.from_account_id,
        version=debit_version,
        event_id=debit_id,
        type=EventType.TRANSFER_OUT,
        amount=request.amount,
        currency=request.currency,
        balance_after=balance - request.amount,
        occurred_at=occurred_at,
        correlation_id=correlation_id,
        prev_hash=GENESIS_HASH if latest_from is None else event_hash(latest_from),
        transfer_id=transfer_id,
        counterparty_account_id=request.to_account_id,
        counterparty_version=credit_version,
    )
    credit = LedgerEvent(
        account_id=request.to_account_id,
        version=credit_version,
        event_id=credit_id,
        type=EventType.TRANSFER_IN,
        amount=request.amount,
        currency=request.currency,
        balance_after=(latest_to.balance_after if latest_to is not None else 0) + request.amount,
        occurred_at=occurred_at,
        correlation_id=correlation_id,
        prev_hash=GENESIS_HASH if latest_to is None else event_hash(latest_to),
        transfer_id=transfer_id,
        counterparty_account_id=request.from_account_id,
        counterparty_version=debit_version,
    )
    return debit, credit


def latest_event(client: Any, table: str, account_id: str) -> LedgerEvent | None:
    """The account's newest event (strongly consistent), or None if it has none."""
    response = client.query(
        TableName=table,
        KeyConditionExpression="account_id = :account",
        ExpressionAttributeValues={":account": {"S": account_id}},
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    )
    items = response.get("Items", [])
    return LedgerEvent.from_item(items[0]) if items else None


def append(
    client: Any,
    tables: LedgerTables,
    command: AppendCommand,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    new_event_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    sleep: Callable[[float], None] = time.sleep,
) -> AppendResult:
    """Append the command's event, or return the original result for a known Idempotency-Key.

    Raises OverdraftError, CurrencyMismatchError, IdempotencyKeyReusedError or VersionConflictError.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    key = idempotency_pk(command.account_id, command.idempotency_key)
    fingerprint = request_fingerprint(command)

    stored = _get_idempotency_record(client, tables.idempotency, key)
    if stored is not None:
        return _replay(stored, fingerprint, command, attempts=0)

    for attempt in range(1, max_attempts + 1):
        latest = latest_event(client, tables.events, command.account_id)
        moment = now()
        event = next_event(latest, command, event_id=new_event_id(), now=moment)
        try:
            client.transact_write_items(
                TransactItems=[
                    _put_event(tables.events, event),
                    _put_idempotency_record(
                        tables.idempotency,
                        key,
                        fingerprint,
                        {"event": event.to_document()},
                        created=moment,
                        ttl=idempotency_ttl,
                    ),
                ]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons: Sequence[Mapping[str, Any]] = error.response.get("CancellationReasons", [])
            event_code, key_code = _reason_code(reasons, 0), _reason_code(reasons, 1)
            if not {event_code, key_code} & _CONFLICT_CODES:
                raise
            # The same key recorded since our first read (this request racing itself) wins over a
            # version conflict: the response must be the one that request got.
            stored = reasons[1].get("Item") if key_code == "ConditionalCheckFailed" else None
        else:
            return AppendResult(event=event, replayed=False, attempts=attempt)
        if key_code == "ConditionalCheckFailed":
            stored = stored or _get_idempotency_record(client, tables.idempotency, key)
            if stored is not None:
                return _replay(stored, fingerprint, command, attempts=attempt)
        if attempt < max_attempts:
            sleep(_backoff_seconds(attempt))
    raise VersionConflictError(account_id=command.account_id, attempts=max_attempts)


def _put_event(table: str, event: LedgerEvent) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": event.to_item(),
            # With a composite key this checks that no item has this (account_id, version).
            "ConditionExpression": f"attribute_not_exists({EVENTS_PARTITION_KEY})",
        }
    }


def _put_idempotency_record(
    table: str,
    key: str,
    fingerprint: str,
    results: Mapping[str, Mapping[str, Any]],
    *,
    created: datetime,
    ttl: timedelta,
) -> dict[str, Any]:
    """The key's record, holding the result documents by name (``event``, or ``debit`` and
    ``credit``) as JSON strings."""
    expires_at = int((created + ttl).timestamp())
    return {
        "Put": {
            "TableName": table,
            "Item": {
                IDEMPOTENCY_PARTITION_KEY: {"S": key},
                "request_fingerprint": {"S": fingerprint},
                **{name: {"S": json.dumps(document, sort_keys=True)} for name, document in results.items()},
                "created_at": {"S": format_timestamp(created)},
                IDEMPOTENCY_TTL_ATTRIBUTE: {"N": str(expires_at)},
            },
            "ConditionExpression": f"attribute_not_exists({IDEMPOTENCY_PARTITION_KEY})",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _get_idempotency_record(client: Any, table: str, key: str) -> Mapping[str, Any] | None:
    response = client.get_item(
        TableName=table, Key={IDEMPOTENCY_PARTITION_KEY: {"S": key}}, ConsistentRead=True
    )
    item: Mapping[str, Any] | None = response.get("Item")
    return item


def _replay(
    stored: Mapping[str, Any], fingerprint: str, command: AppendCommand, *, attempts: int
) -> AppendResult:
    if stored["request_fingerprint"]["S"] != fingerprint or "event" not in stored:
        raise IdempotencyKeyReusedError(account_id=command.account_id)
    event = LedgerEvent.from_document(json.loads(stored["event"]["S"]))
    return AppendResult(event=event, replayed=True, attempts=attempts)


def transfer(
    client: Any,
    tables: LedgerTables,
    command: TransferCommand,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    new_event_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    sleep: Callable[[float], None] = time.sleep,
) -> TransferResult:
    """Move the money, or return the original result for a known Idempotency-Key.

    Raises OverdraftError, CurrencyMismatchError, IdempotencyKeyReusedError or VersionConflictError
    (either account changed on every attempt).
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    request = command.request
    key = transfer_idempotency_pk(request.from_account_id, command.idempotency_key)
    fingerprint = transfer_fingerprint(command)

    stored = _get_idempotency_record(client, tables.idempotency, key)
    if stored is not None:
        return _replay_transfer(stored, fingerprint, command, attempts=0)

    for attempt in range(1, max_attempts + 1):
        latest_from = latest_event(client, tables.events, request.from_account_id)
        latest_to = latest_event(client, tables.events, request.to_account_id)
        moment = now()
        debit, credit = next_transfer_events(
            latest_from,
            latest_to,
            command,
            transfer_id=new_event_id(),
            debit_id=new_event_id(),
            credit_id=new_event_id(),
            now=moment,
        )
        results = {"debit": debit.to_document(), "credit": credit.to_document()}
        try:
            client.transact_write_items(
                TransactItems=[
                    _put_event(tables.events, debit),
                    _put_event(tables.events, credit),
                    _put_idempotency_record(
                        tables.idempotency, key, fingerprint, results, created=moment, ttl=idempotency_ttl
                    ),
                ]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons: Sequence[Mapping[str, Any]] = error.response.get("CancellationReasons", [])
            codes = {_reason_code(reasons, index) for index in range(3)}
            if not codes & _CONFLICT_CODES:
                raise
            if _reason_code(reasons, 2) == "ConditionalCheckFailed":
                stored = reasons[2].get("Item") or _get_idempotency_record(client, tables.idempotency, key)
                if stored is not None:
                    return _replay_transfer(stored, fingerprint, command, attempts=attempt)
        else:
            return TransferResult(debit=debit, credit=credit, replayed=False, attempts=attempt)
        if attempt < max_attempts:
            sleep(_backoff_seconds(attempt))
    raise VersionConflictError(
        account_id=f"{request.from_account_id} or {request.to_account_id}", attempts=max_attempts
    )


def _replay_transfer(
    stored: Mapping[str, Any], fingerprint: str, command: TransferCommand, *, attempts: int
) -> TransferResult:
    if stored["request_fingerprint"]["S"] != fingerprint or "debit" not in stored:
        raise IdempotencyKeyReusedError(account_id=command.request.from_account_id)
    return TransferResult(
        debit=LedgerEvent.from_document(json.loads(stored["debit"]["S"])),
        credit=LedgerEvent.from_document(json.loads(stored["credit"]["S"])),
        replayed=True,
        attempts=attempts,
    )


def _reason_code(reasons: Sequence[Mapping[str, Any]], index: int) -> str:
    return str(reasons[index].get("Code", "None")) if index < len(reasons) else "None"


def _backoff_seconds(attempt: int) -> float:
    """Full jitter: a random wait up to 20 ms, 40 ms, ... so racing writers spread out."""
    ceiling_ms = _BACKOFF_BASE_MS * 2 ** (attempt - 1)
    return secrets.randbelow(ceiling_ms + 1) / 1000
