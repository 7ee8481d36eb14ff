"""Replay from the event store: the CLI and the Lambda handler rebuild and verify balances."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbpatterns.handlers.ledger import replay
from dbpatterns.handlers.ledger._aws import dynamodb_client
from dbpatterns.handlers.ledger.audit import archive_event, audit_key
from dbpatterns.handlers.ledger.events import EventType, LedgerEvent
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import AppendCommand, append
from tests.handlers.ledger.conftest import Ledger

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
# (type, amount) posted one hour apart; balances after each: 1000, 700, 750, 50, 2050
HISTORY = [
    (EventType.DEPOSIT, 1_000),
    (EventType.WITHDRAWAL, 300),
    (EventType.DEPOSIT, 50),
    (EventType.WITHDRAWAL, 700),
    (EventType.DEPOSIT, 2_000),
]


def seed(ledger: Ledger, account_id: str = "acc-1", history: list[tuple[EventType, int]] = HISTORY) -> None:
    for hour, (kind, amount) in enumerate(history):
        append(
            dynamodb_client(),
            ledger.tables,
            AppendCommand(
                account_id=account_id,
                idempotency_key=f"replay-seed-{hour:04d}",
                request=TransactionRequest(type=kind, amount=amount, currency="EUR"),
                default_correlation_id="seed",
            ),
            now=fixed_clock(START + timedelta(hours=hour)),
        )


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]]]:
    code = replay.main(list(argv))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return code, lines


def test_cli_help_runs_as_a_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "dbpatterns.handlers.ledger.replay", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert completed.returncode == 0, completed.stderr
    for option in ("--table", "--account", "--from-version", "--from-time", "--rebuild-projection"):
        assert option in completed.stdout


def test_replay_reproduces_the_balance(ledger: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    seed(ledger)

    code, [result] = run_cli(capsys, "--table", ledger.events_table, "--account", "acc-1")

    assert code == 0
    assert result == {
        "account_id": "acc-1",
        "currency": "EUR",
        "first_version": 1,
        "last_version": 5,
        "opening_balance": 0,
        "closing_balance": 2_050,
        "events_replayed": 5,
        "projection": None,
        "archived": None,
        "unchained_events": 0,
    }


def test_replay_from_a_version_starts_from_the_previous_balance_after(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(ledger)

    code, [result] = run_cli(
        capsys, "--table", ledger.events_table, "--account", "acc-1", "--from-version", "3"
    )

    assert code == 0
    assert (result["first_version"], result["opening_balance"]) == (3, 700)
    assert (result["events_replayed"], result["closing_balance"]) == (3, 2_050)


@pytest.mark.parametrize(
    ("from_time", "first_version", "opening_balance"),
    [
        pytest.param("2025-03-01T11:00:00Z", 3, 700, id="exactly-at-an-event"),
        pytest.param("2025-03-01T11:30:00+00:00", 4, 750, id="between-events"),
        pytest.param("2025-03-01T08:00:00Z", 1, 0, id="before-the-first"),
        pytest.param("2025-03-02T00:00:00Z", 6, 2_050, id="after-the-last"),
    ],
)
def test_replay_from_a_time_finds_the_first_event_at_or_after_it(
    ledger: Ledger,
    capsys: pytest.CaptureFixture[str],
    from_time: str,
    first_version: int,
    opening_balance: int,
) -> None:
    seed(ledger)

    code, [result] = run_cli(
        capsys, "--table", ledger.events_table, "--account", "acc-1", "--from-time", from_time
    )

    assert code == 0
    assert (result["first_version"], result["opening_balance"]) == (first_version, opening_balance)
    assert result["closing_balance"] == 2_050
    assert result["events_replayed"] == 6 - first_version


def test_rebuild_repairs_a_corrupted_projection(ledger: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    seed(ledger)
    ledger.dynamodb.put_item(
        TableName=ledger.projection_table,
        Item={
            "account_id": {"S": "acc-1"},
            "balance": {"N": "999999"},
            "currency": {"S": "EUR"},
            "last_version": {"N": "5"},
            "last_event_id": {"S": "wrong"},
            "last_occurred_at": {"S": "2025-03-01T13:00:00.000Z"},
        },
    )

    code, [result] = run_cli(
        capsys,
        "--table",
        ledger.events_table,
        "--rebuild-projection",
        "--projection-table",
        ledger.projection_table,
    )

    assert code == 0
    assert result["projection"] == replay.PROJECTION_WRITTEN
    item = ledger.projection_item("acc-1")
    assert item is not None
    assert (item["balance"]["N"], item["last_version"]["N"]) == ("2050", "5")
    assert item["last_event_id"]["S"] == ledger.event_items("acc-1")[-1]["event_id"]["S"]


def test_rebuild_leaves_a_projection_that_is_ahead_alone(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(ledger)
    ahead = {
        "account_id": {"S": "acc-1"},
        "balance": {"N": "1"},
        "currency": {"S": "EUR"},
        "last_version": {"N": "6"},
        "last_event_id": {"S": "newer"},
        "last_occurred_at": {"S": "2025-03-01T15:00:00.000Z"},
    }
    ledger.dynamodb.put_item(TableName=ledger.projection_table, Item=ahead)

    code, [result] = run_cli(
        capsys, "--table", ledger.events_table, "--account", "acc-1", "--rebuild-projection"
    )

    assert code == 0
    assert result["projection"] == replay.PROJECTION_SKIPPED
    assert ledger.projection_item("acc-1") == ahead


def test_backfill_writes_only_the_events_missing_from_the_archive(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(ledger)
    events = [LedgerEvent.from_item(item) for item in ledger.event_items("acc-1")]
    for event in events[:3]:  # the sink archived these before its retries ran out
        archive_event(ledger.s3, ledger.bucket, event)

    code, [result] = run_cli(
        capsys, "--table", ledger.events_table, "--backfill-archive", "--audit-bucket", ledger.bucket
    )

    assert code == 0
    assert result["archived"] == 2
    versions = ledger.s3.list_object_versions(Bucket=ledger.bucket)["Versions"]
    assert sorted(version["Key"] for version in versions) == sorted(audit_key(event) for event in events)


def test_replay_covers_every_account(ledger: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    seed(ledger, "acc-1")
    seed(ledger, "acc-2", [(EventType.DEPOSIT, 5)])

    code, results = run_cli(capsys, "--table", ledger.events_table)

    assert code == 0
    assert sorted((result["account_id"], result["closing_balance"]) for result in results) == [
        ("acc-1", 2_050),
        ("acc-2", 5),
    ]


def test_fails_when_a_stored_balance_after_does_not_fold(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(ledger)
    seed(ledger, "acc-2", [(EventType.DEPOSIT, 5)])
    tampered = ledger.event_items("acc-1")[2]
    tampered["balance_after"] = {"N": "1000000"}
    ledger.dynamodb.put_item(TableName=ledger.events_table, Item=tampered)

    code, lines = run_cli(capsys, "--table", ledger.events_table)

    assert code == 1
    failures = [line["failure"] for line in lines if "failure" in line]
    assert failures == [
        {
            "account_id": "acc-1",
            "error": "account acc-1 version 3: replayed balance 750, stored balance_after 1000000",
        }
    ]
    assert [line["account_id"] for line in lines if "failure" not in line] == ["acc-2"]


def test_fails_when_the_projection_table_is_missing_for_a_rebuild(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PROJECTION_TABLE_NAME")

    with pytest.raises(SystemExit) as exit_info:
        replay.main(["--table", ledger.events_table, "--rebuild-projection"])

    assert exit_info.value.code == 2
    assert "--rebuild-projection needs --projection-table" in capsys.readouterr().err


def test_rejects_both_a_version_and_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        replay.main(["--table", "t", "--from-version", "2", "--from-time", "2025-03-01T00:00:00Z"])

    assert "not allowed with argument" in capsys.readouterr().err


def test_lambda_handler_rebuilds_one_account(ledger: Ledger, lambda_context: Any) -> None:
    seed(ledger)

    document = replay.handler(
        {"account_id": "acc-1", "from_version": 2, "rebuild_projection": True}, lambda_context
    )

    assert document["accounts"] == 1
    assert document["projections_written"] == 1
    assert document["failures"] == []
    assert document["results"][0]["closing_balance"] == 2_050
    item = ledger.projection_item("acc-1")
    assert item is not None
    assert item["balance"]["N"] == "2050"


def test_rejects_a_lambda_event_with_a_string_version(ledger: Ledger, lambda_context: Any) -> None:
    with pytest.raises(ValueError, match="'from_version' is '2'; expected int"):
        replay.handler({"account_id": "acc-1", "from_version": "2"}, lambda_context)


def test_unknown_account_replays_nothing(ledger: Ledger) -> None:
    result, closing = replay.replay_account(dynamodb_client(), ledger.events_table, "nobody")

    assert (result.events_replayed, result.closing_balance, closing) == (0, 0, None)
