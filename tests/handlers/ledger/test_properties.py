"""Property: whatever the commands and however the stream redelivers and reorders them, the
projection is the fold of the accepted events, no balance goes negative, and replay agrees."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbpatterns.handlers.ledger import api, replay, sink
from dbpatterns.handlers.ledger._aws import dynamodb_client
from dbpatterns.handlers.ledger.events import LedgerEvent
from tests.handlers.ledger.conftest import mocked_ledger
from tests.handlers.ledger.support import FakeLambdaContext, api_event, deliver_like_lambda, stream_record

ACCOUNTS = ("acc-a", "acc-b")

commands = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        st.sampled_from(["DEPOSIT", "WITHDRAWAL"]),
        st.integers(min_value=1, max_value=500),
        st.booleans(),  # the client retries this request with the same Idempotency-Key
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=commands, data=st.data())
def test_projection_equals_the_fold_of_events_under_redelivery_and_reordering(
    monkeypatch: pytest.MonkeyPatch, commands: list[tuple[str, str, int, bool]], data: st.DataObject
) -> None:
    context = FakeLambdaContext()
    with mocked_ledger(monkeypatch) as ledger:
        # Commands through the API; a simple model says which must be accepted.
        model = dict.fromkeys(ACCOUNTS, 0)
        accepted_order: list[tuple[str, int]] = []
        for index, (account_id, kind, amount, retried) in enumerate(commands):
            body = {"type": kind, "amount": amount, "currency": "EUR"}
            request = api_event(account_id, body, idempotency_key=f"prop-key-{index:04d}")
            responses = [api.handler(request, context) for _ in range(2 if retried else 1)]
            change = amount if kind == "DEPOSIT" else -amount
            if model[account_id] + change >= 0:
                model[account_id] += change
                assert [response["statusCode"] for response in responses] == [201] * len(responses)
                assert len({response["body"] for response in responses}) == 1  # a retry gets the same answer
                accepted_order.append((account_id, json.loads(responses[0]["body"])["version"]))
            else:
                assert [response["statusCode"] for response in responses] == [422] * len(responses)

        # The stream: one record per accepted event, then shuffled, with some delivered twice.
        items = {
            (item["account_id"]["S"], int(item["version"]["N"])): item
            for account_id in ACCOUNTS
            for item in ledger.event_items(account_id)
        }
        assert sorted(items) == sorted(accepted_order)
        records = [
            stream_record(_python(items[key]), sequence_number=position + 1)
            for position, key in enumerate(accepted_order)
        ]
        duplicates = data.draw(st.lists(st.sampled_from(records), max_size=4)) if records else []
        delivery = data.draw(st.permutations(records + duplicates))
        outcome = deliver_like_lambda(sink.handler, delivery, context)
        assert outcome.failures == []  # nothing reaches the failure queue: gaps are filled, not failed

        for account_id in ACCOUNTS:
            events = [LedgerEvent.from_item(item) for item in ledger.event_items(account_id)]
            fold = 0
            for event in events:
                fold += event.signed_amount
                assert fold >= 0
                assert event.balance_after == fold
            assert fold == model[account_id]

            projection = ledger.projection_item(account_id)
            if not events:
                assert projection is None
                continue
            assert projection is not None
            assert int(projection["balance"]["N"]) == fold
            assert int(projection["last_version"]["N"]) == len(events)

            rebuilt, _ = replay.replay_account(dynamodb_client(), ledger.events_table, account_id)
            assert rebuilt.closing_balance == fold

        archived = ledger.s3.list_object_versions(Bucket=ledger.bucket).get("Versions", [])
        assert len(archived) == len(accepted_order)


def _python(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer  # type: ignore[import-untyped, unused-ignore]

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}
