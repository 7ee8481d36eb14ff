"""Property: with transfers, concurrent writers, lost, repeated and reordered stream records, poison
records and SNS outages, nothing is lost or duplicated.

- Commands (deposits, withdrawals, transfers; some retried with the same key; some racing another
  writer; some malformed) change the accounts exactly as a simple model says, and the model's
  money is conserved by transfers.
- The sink sees each account's newest record at least once and any subset of the others, in any
  order, repeated, mixed with poison records and MODIFY records: every account's projection ends
  at the fold of its events, every event is archived exactly once, and a record the mapping
  discards is always a poison one (a good record never fails).
- The fraud function sees every debit, repeated and reordered, while SNS refuses some publishes;
  after the failure queue is redriven every alert the rules raise has been published exactly once.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from contextlib import nullcontext
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer  # type: ignore[import-untyped, unused-ignore]
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dbpatterns.handlers.ledger import alerts, api, fraud, replay, sink
from dbpatterns.handlers.ledger._aws import dynamodb_client, sns_client
from dbpatterns.handlers.ledger.events import LedgerEvent
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from tests.handlers.ledger.conftest import FRAUD_SINGLE_LIMIT_MINOR, Ledger, mocked_ledger
from tests.handlers.ledger.support import (
    CompetingWriter,
    FakeLambdaContext,
    api_event,
    deliver_like_lambda,
    failing_calls,
    matches_filter,
    stream_record,
    transfer_event,
)

ACCOUNTS = ("acc-a", "acc-b", "acc-c")
OPENING = 3 * FRAUD_SINGLE_LIMIT_MINOR
"""Each account starts with this much, so most debits are accepted and a few large ones alert."""
_DESERIALIZER = TypeDeserializer()

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

amounts = st.one_of(
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=FRAUD_SINGLE_LIMIT_MINOR, max_value=150_000),
)
commands = st.lists(
    st.one_of(
        st.tuples(st.just("DEPOSIT"), st.sampled_from(ACCOUNTS), st.none(), amounts),
        st.tuples(st.just("WITHDRAWAL"), st.sampled_from(ACCOUNTS), st.none(), amounts),
        st.tuples(st.just("TRANSFER"), st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), amounts),
        st.tuples(st.just("MALFORMED"), st.sampled_from(ACCOUNTS), st.none(), st.just(0)),
    ).flatmap(
        lambda command: st.tuples(
            st.just(command),
            st.booleans(),  # the client retries with the same key
            st.sampled_from([None, 0, 1]),  # another writer takes this leg's version first
        )
    ),
    min_size=1,
    max_size=10,
)


def python_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def run_commands(
    ledger: Ledger,
    context: FakeLambdaContext,
    drawn: list[tuple[tuple[str, str, str | None, int], bool, int | None]],
) -> dict[str, int]:
    """Send the commands through the API after an opening deposit on each account; returns the
    model's balances (what must be in the store)."""
    model = dict.fromkeys(ACCOUNTS, OPENING)
    for account in ACCOUNTS:
        opening = {"type": "DEPOSIT", "amount": OPENING, "currency": "EUR"}
        assert (
            api.handler(api_event(account, opening, idempotency_key=f"open-{account}"), context)["statusCode"]
            == 201
        )
    for index, ((kind, account, other, amount), retried, raced_leg) in enumerate(drawn):
        key = f"prop-{index:04d}"
        if kind == "MALFORMED":
            poison = api_event(
                account, {"type": "DEPOSIT", "amount": 1.5, "currency": "EUR"}, idempotency_key=key
            )
            assert api.handler(poison, context)["statusCode"] == 400
            continue
        if kind == "TRANSFER":
            request = transfer_event(
                {"from_account_id": account, "to_account_id": other, "amount": amount, "currency": "EUR"},
                idempotency_key=key,
            )
        else:
            request = api_event(
                account, {"type": kind, "amount": amount, "currency": "EUR"}, idempotency_key=key
            )
        legs = [account] + ([other] if kind == "TRANSFER" and other is not None else [])
        raced = raced_leg is not None and raced_leg < len(legs)
        competitor = CompetingWriter(ledger.events_table, limit=1, item=raced_leg or 0)
        with competitor.racing(dynamodb_client()) if raced else nullcontext():
            responses = [api.handler(request, context) for _ in range(2 if retried else 1)]
        statuses = {response["statusCode"] for response in responses}
        if competitor.writes:
            event("a concurrent writer took a version")
            model[legs[raced_leg or 0]] += 1  # the competitor's deposit of 1 landed first
        if kind == "TRANSFER" and account == other:
            assert statuses == {400}
            continue
        allowed = model[account] >= amount if kind != "DEPOSIT" else True
        if allowed:
            assert statuses == {201}, responses
            assert len({response["body"] for response in responses}) == 1
            event(f"accepted {kind.lower()}")
            if kind == "DEPOSIT":
                model[account] += amount
            else:
                model[account] -= amount
                if kind == "TRANSFER" and other is not None:
                    model[other] += amount
        else:
            assert statuses == {422}
    return model


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(drawn=commands, data=st.data())
def test_nothing_is_lost_or_duplicated_with_transfers_gaps_poison_and_outages(
    monkeypatch: pytest.MonkeyPatch, drawn: Any, data: st.DataObject
) -> None:
    context = FakeLambdaContext()
    with mocked_ledger(monkeypatch) as ledger:
        model = run_commands(ledger, context, drawn)
        items = {account: [python_item(item) for item in ledger.event_items(account)] for account in ACCOUNTS}
        events = {
            account: [LedgerEvent.from_item(item) for item in ledger.event_items(account)]
            for account in ACCOUNTS
        }
        for account in ACCOUNTS:
            assert sum(event.signed_amount for event in events[account]) == model[account]
            result, _ = replay.replay_account(dynamodb_client(), ledger.events_table, account)
            assert result.closing_balance == model[account]  # versions, balances, chain, transfer legs

        # --- The sink: newest record of each account always, others maybe; repeats, order, poison.
        sequence = itertools.count(1)
        records: list[dict[str, Any]] = []
        for account in ACCOUNTS:
            for position, item in enumerate(items[account]):
                newest = position == len(items[account]) - 1
                copies = 1 if newest else data.draw(st.integers(min_value=0, max_value=2))
                if not copies:
                    event("a stream record was lost (gap repair)")
                records += [stream_record(item, sequence_number=next(sequence)) for _ in range(copies)]
        poison_ids: set[str] = set()
        for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
            poison = stream_record(
                {"account_id": "acc-poison", "version": 1, "amount": 1}, sequence_number=next(sequence)
            )
            poison_ids.add(poison["dynamodb"]["SequenceNumber"])
            records.append(poison)
        if data.draw(st.booleans()) and records:
            changed = dict(data.draw(st.sampled_from(records)))
            records.append(
                {
                    **changed,
                    "eventName": "MODIFY",
                    "dynamodb": {**changed["dynamodb"], "SequenceNumber": f"{next(sequence):021d}"},
                }
            )
        delivery = deliver_like_lambda(sink.handler, data.draw(st.permutations(records)), context)

        for message in delivery.failures:
            assert message["DDBStreamBatchInfo"]["startSequenceNumber"] in poison_ids
        if delivery.failures:
            event("the sink discarded poison records")
        total = 0
        for account in ACCOUNTS:
            total += len(events[account])
            projection = ledger.projection_item(account)
            if not events[account]:
                assert projection is None
                continue
            assert projection is not None
            assert (int(projection["balance"]["N"]), int(projection["last_version"]["N"])) == (
                model[account],
                len(events[account]),
            )
        archived = ledger.s3.list_object_versions(Bucket=ledger.bucket).get("Versions", [])
        assert len(archived) == total
        assert len({version["Key"] for version in archived}) == total

        # --- Fraud: every debit, repeated and reordered, while SNS refuses some publishes.
        debits = [
            stream_record(item, sequence_number=next(sequence))
            for account in ACCOUNTS
            for item in items[account]
            if matches_filter(
                FRAUD_FILTER_PATTERN,
                {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": item["type"]}}}},
            )
        ]
        redelivered = data.draw(st.lists(st.sampled_from(debits), max_size=3)) if debits else []
        # SNS refuses the first publishes: long enough (6+) to outlast a record's retries sometimes.
        refused = data.draw(st.integers(min_value=0, max_value=10))
        attempts = itertools.count()
        with failing_calls(sns_client(), "Publish", lambda _: next(attempts) < refused, code="Throttled"):
            fraud_delivery = deliver_like_lambda(
                fraud.handler, data.draw(st.permutations(debits + redelivered)), context
            )
        # The failure queue's redrive: the discarded debits again, then whatever is still PENDING.
        discarded = {
            record["dynamodb"]["SequenceNumber"]: record
            for message in fraud_delivery.failures
            for record in debits + redelivered
            if message["DDBStreamBatchInfo"]["startSequenceNumber"]
            <= record["dynamodb"]["SequenceNumber"]
            <= message["DDBStreamBatchInfo"]["endSequenceNumber"]
        }
        if discarded:
            event("the fraud mapping discarded records during the outage")
            assert deliver_like_lambda(fraud.handler, list(discarded.values()), context).failures == []
        alerts.republish_pending(dynamodb_client(), ledger.alerts_table, sns_client(), ledger.topic_arn)

        settings_now = fraud.FraudSettings.from_env()
        expected = Counter(
            alert.alert_id
            for account in ACCOUNTS
            for stored in events[account]
            for alert in fraud.evaluate(dynamodb_client(), ledger.events_table, stored, settings_now)
        )
        if expected:
            event("fraud alerts were raised")
        published = Counter(
            json.loads(notification["Message"])["alert_id"] for notification in ledger.alerts()
        )
        assert published == expected
        assert all(count == 1 for count in published.values())
