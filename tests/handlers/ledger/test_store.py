"""Appending to the event store: optimistic concurrency, bounded retry, idempotency races."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbpatterns.handlers.ledger._aws import dynamodb_client
from dbpatterns.handlers.ledger.events import EventType, LedgerEvent
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import (
    AppendCommand,
    AppendResult,
    CurrencyMismatchError,
    OverdraftError,
    VersionConflictError,
    append,
    next_event,
)
from tests.handlers.ledger.conftest import Ledger
from tests.handlers.ledger.support import CompetingWriter


def command(kind: EventType, amount: int, key: str, account_id: str = "acc-1") -> AppendCommand:
    return AppendCommand(
        account_id=account_id,
        idempotency_key=key,
        request=TransactionRequest(type=kind, amount=amount, currency="EUR"),
        default_correlation_id="corr-1",
    )


def run(ledger: Ledger, cmd: AppendCommand, **options: Any) -> AppendResult:
    return append(dynamodb_client(), ledger.tables, cmd, sleep=lambda _: None, **options)


def stored_events(ledger: Ledger, account_id: str = "acc-1") -> list[LedgerEvent]:
    return [LedgerEvent.from_item(item) for item in ledger.event_items(account_id)]


def test_two_appends_at_the_same_version_exactly_one_wins(ledger: Ledger) -> None:
    run(ledger, command(EventType.DEPOSIT, 1_000, "seed-key-1"))
    competitor = CompetingWriter(ledger.events_table, limit=1)

    with competitor.racing(dynamodb_client()), pytest.raises(VersionConflictError) as conflict:
        run(ledger, command(EventType.WITHDRAWAL, 200, "loser-key-1"), max_attempts=1)

    assert conflict.value.attempts == 1
    events = stored_events(ledger)
    assert [event.version for event in events] == [1, 2]
    assert events[1].event_id.startswith("competitor-")


def test_losing_append_retries_at_the_next_version_and_nothing_is_lost(ledger: Ledger) -> None:
    run(ledger, command(EventType.DEPOSIT, 1_000, "seed-key-1"))
    competitor = CompetingWriter(ledger.events_table, limit=1)

    with competitor.racing(dynamodb_client()):
        result = run(ledger, command(EventType.WITHDRAWAL, 200, "retry-key-1"))

    assert result.attempts == 2
    assert result.event.version == 3
    events = stored_events(ledger)
    assert [(event.version, event.type, event.amount, event.balance_after) for event in events] == [
        (1, EventType.DEPOSIT, 1_000, 1_000),
        (2, EventType.DEPOSIT, 1, 1_001),
        (3, EventType.WITHDRAWAL, 200, 801),
    ]


def test_fails_with_version_conflict_after_the_bounded_attempts(ledger: Ledger) -> None:
    run(ledger, command(EventType.DEPOSIT, 1_000, "seed-key-1"))
    competitor = CompetingWriter(ledger.events_table)

    with competitor.racing(dynamodb_client()), pytest.raises(VersionConflictError):
        run(ledger, command(EventType.DEPOSIT, 5, "always-loses"), max_attempts=3)

    assert competitor.writes == 3
    assert all(event.event_id.startswith("competitor-") for event in stored_events(ledger)[1:])


def test_same_key_racing_itself_returns_the_winners_event(ledger: Ledger) -> None:
    """Both requests miss the key on their first read; the loser's transaction fails on the key and
    on the version, and it answers with the winner's event instead of retrying."""
    run(ledger, command(EventType.DEPOSIT, 1_000, "seed-key-1"))
    twin = command(EventType.DEPOSIT, 50, "twin-key-01")
    winner: list[AppendResult] = []

    def send_twin_first(**_: Any) -> None:
        if not winner:
            winner.append(append(_twin_client(), ledger.tables, twin))

    client = dynamodb_client()
    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", send_twin_first)
    try:
        result = run(ledger, twin)
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", send_twin_first)

    assert result.replayed
    assert result.event == winner[0].event
    assert [event.version for event in stored_events(ledger)] == [1, 2]


def _twin_client() -> Any:
    import boto3  # type: ignore[import-untyped, unused-ignore]

    return boto3.client("dynamodb")


def test_overdraft_is_refused_from_the_latest_events_balance(ledger: Ledger) -> None:
    run(ledger, command(EventType.DEPOSIT, 300, "deposit-key-1"))
    run(ledger, command(EventType.WITHDRAWAL, 100, "withdraw-key-1"))

    with pytest.raises(OverdraftError) as refused:
        run(ledger, command(EventType.WITHDRAWAL, 201, "withdraw-key-2"))

    assert refused.value.balance == 200
    assert len(stored_events(ledger)) == 2


def test_next_event_never_moves_occurred_at_backwards() -> None:
    latest = LedgerEvent(
        account_id="acc-1",
        version=4,
        event_id="event-4",
        type=EventType.DEPOSIT,
        amount=10,
        currency="EUR",
        balance_after=10,
        occurred_at="2025-03-01T12:00:00.500Z",
        correlation_id="c",
        prev_hash="ab" * 32,
    )
    slow_clock = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

    event = next_event(
        latest, command(EventType.DEPOSIT, 5, "k-00000001"), event_id="event-5", now=slow_clock
    )

    assert event.occurred_at == "2025-03-01T12:00:00.500Z"
    assert event.version == 5
    assert event.balance_after == 15


def test_next_event_fixes_the_currency_with_the_first_event() -> None:
    first = next_event(
        None, command(EventType.DEPOSIT, 5, "k-00000001"), event_id="e1", now=datetime.now(UTC)
    )
    usd = AppendCommand(
        account_id="acc-1",
        idempotency_key="k-00000002",
        request=TransactionRequest(type=EventType.DEPOSIT, amount=5, currency="USD"),
        default_correlation_id="c",
    )

    with pytest.raises(CurrencyMismatchError):
        next_event(first, usd, event_id="e2", now=datetime.now(UTC) + timedelta(seconds=1))


def test_idempotency_record_expires_after_the_ttl(ledger: Ledger) -> None:
    moment = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    run(
        ledger,
        command(EventType.DEPOSIT, 5, "ttl-key-001"),
        now=lambda: moment,
        idempotency_ttl=timedelta(hours=2),
    )

    item = ledger.dynamodb.get_item(
        TableName=ledger.idempotency_table, Key={"pk": {"S": "acc-1#ttl-key-001"}}
    )["Item"]
    assert int(item["expires_at"]["N"]) == int((moment + timedelta(hours=2)).timestamp())
