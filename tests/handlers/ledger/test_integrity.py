"""History cannot be rewritten quietly: a hash chain per account, conditional writes everywhere."""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from dbpatterns.handlers.ledger import replay
from dbpatterns.handlers.ledger._aws import dynamodb_client
from dbpatterns.handlers.ledger.audit import archive_event, audit_body, audit_key
from dbpatterns.handlers.ledger.events import GENESIS_HASH, EventType, LedgerEvent, canonical_json, event_hash
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import AppendCommand, append
from tests.handlers.ledger.conftest import Ledger

HANDLERS = Path(replay.__file__).resolve().parent
HISTORY = [
    (EventType.DEPOSIT, 1_000),
    (EventType.WITHDRAWAL, 300),
    (EventType.DEPOSIT, 50),
    (EventType.DEPOSIT, 5),
]


def seed(ledger: Ledger, account_id: str = "acc-1") -> list[LedgerEvent]:
    for index, (kind, amount) in enumerate(HISTORY):
        append(
            dynamodb_client(),
            ledger.tables,
            AppendCommand(
                account_id=account_id,
                idempotency_key=f"chain-key-{index:04d}",
                request=TransactionRequest(type=kind, amount=amount, currency="EUR"),
                default_correlation_id="seed",
            ),
        )
    return [LedgerEvent.from_item(item) for item in ledger.event_items(account_id)]


def rewrite(ledger: Ledger, event: LedgerEvent, **changes: Any) -> None:
    """What an operator with PutItem could do outside the ledger: overwrite an event unconditionally."""
    item = {**event.to_item(), **changes}
    ledger.dynamodb.put_item(TableName=ledger.events_table, Item=item)


def test_each_event_carries_the_hash_of_the_previous_event_of_its_account(ledger: Ledger) -> None:
    events = seed(ledger)
    seed(ledger, "acc-2")

    assert events[0].prev_hash == GENESIS_HASH == "0" * 64
    for previous, event in itertools.pairwise(events):
        expected = hashlib.sha256(
            json.dumps(previous.to_document(), sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        assert event.prev_hash == expected == event_hash(previous)


def test_event_hash_is_the_sha256_of_its_archived_object(ledger: Ledger) -> None:
    first, second, *_ = seed(ledger)
    archive_event(ledger.s3, ledger.bucket, first)

    stored = ledger.s3.get_object(Bucket=ledger.bucket, Key=audit_key(first))["Body"].read()

    assert stored == audit_body(first) == canonical_json(first.to_document())
    assert hashlib.sha256(stored).hexdigest() == second.prev_hash


def test_replay_verifies_an_intact_chain(ledger: Ledger) -> None:
    seed(ledger)

    result, _ = replay.replay_account(dynamodb_client(), ledger.events_table, "acc-1")

    assert (result.events_replayed, result.unchained_events) == (4, 0)


def test_replay_reports_the_first_break_of_the_chain(ledger: Ledger) -> None:
    events = seed(ledger)
    # Rewrites that keep every balance right, so only the chain can tell.
    rewrite(ledger, events[1], correlation_id={"S": "rewritten"})
    rewrite(ledger, events[2], occurred_at={"S": "2030-01-01T00:00:00.000Z"})

    with pytest.raises(replay.ReplayError, match=r"acc-1 version 3: prev_hash .* version 2 .* chain breaks"):
        replay.replay_account(dynamodb_client(), ledger.events_table, "acc-1")


def test_replay_from_a_later_version_checks_the_link_to_the_version_before(ledger: Ledger) -> None:
    events = seed(ledger)
    rewrite(ledger, events[2], correlation_id={"S": "rewritten"})

    with pytest.raises(replay.ReplayError, match="version 4: prev_hash"):
        replay.replay_account(dynamodb_client(), ledger.events_table, "acc-1", from_version=4)


def test_rewritten_first_event_breaks_the_chain_at_version_1(ledger: Ledger) -> None:
    events = seed(ledger)
    rewrite(ledger, events[0], prev_hash={"S": "f" * 64})

    with pytest.raises(replay.ReplayError, match="version 1: prev_hash"):
        replay.replay_account(dynamodb_client(), ledger.events_table, "acc-1")


def test_events_written_before_the_chain_existed_replay_and_are_counted_unchained(ledger: Ledger) -> None:
    events = seed(ledger)
    # Schema 1 had no prev_hash: the first two events as the previous writer stored them.
    for event in events[:2]:
        item = event.to_item()
        del item["prev_hash"]
        item["schema_version"] = {"N": "1"}
        ledger.dynamodb.put_item(TableName=ledger.events_table, Item=item)
    # Version 3 was chained to the schema-2 form of version 2: rechain it to the stored one.
    stored_two = LedgerEvent.from_item(ledger.event_items("acc-1")[1])
    rewrite(ledger, events[2], prev_hash={"S": event_hash(stored_two)})
    rewrite(
        ledger, events[3], prev_hash={"S": event_hash(LedgerEvent.from_item(ledger.event_items("acc-1")[2]))}
    )

    result, _ = replay.replay_account(dynamodb_client(), ledger.events_table, "acc-1")

    assert (result.events_replayed, result.unchained_events, result.closing_balance) == (4, 2, 755)


# --- No write in the ledger's handlers can replace an existing item or object. ---


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    found: list[tuple[str, ast.Call]] = []
    for path in sorted(HANDLERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                found.append((f"{path.name}:{node.lineno}", node))
    return found


def _keywords(call: ast.Call) -> set[str]:
    return {keyword.arg for keyword in call.keywords if keyword.arg is not None}


def _put_requests() -> list[tuple[str, ast.Dict]]:
    """Every ``{"Put": {...}}`` transaction item written as a literal in the handlers."""
    found: list[tuple[str, ast.Dict]] = []
    for path in sorted(HANDLERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "Put" and isinstance(value, ast.Dict):
                        found.append((f"{path.name}:{node.lineno}", value))
    return found


def test_every_put_item_in_the_handlers_is_conditional() -> None:
    calls = _calls("put_item")

    assert calls, "expected at least one put_item call to check"
    assert [where for where, call in calls if "ConditionExpression" not in _keywords(call)] == []


def test_every_put_in_a_transaction_is_conditional() -> None:
    puts = _put_requests()

    assert puts, "expected transaction puts to check"
    unconditional = [
        where
        for where, put in puts
        if "ConditionExpression" not in {key.value for key in put.keys if isinstance(key, ast.Constant)}
    ]
    assert unconditional == []


def test_every_archive_write_keeps_if_none_match() -> None:
    calls = _calls("put_object")

    assert calls
    for where, call in calls:
        values = [keyword.value for keyword in call.keywords if keyword.arg == "IfNoneMatch"]
        assert len(values) == 1, where
        value = values[0]
        assert isinstance(value, ast.Constant), where
        assert value.value == "*", where


def test_no_handler_updates_or_deletes_an_event() -> None:
    """UpdateItem is used on the projection and the alert records only, never on the event store;
    DeleteItem and BatchWriteItem nowhere."""
    assert _calls("delete_item") == []
    assert _calls("batch_write_item") == []
    assert {where.split(":")[0] for where, _ in _calls("update_item")} <= {"projection.py", "alerts.py"}
