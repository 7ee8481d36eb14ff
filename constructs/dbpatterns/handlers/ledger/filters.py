"""Event source mapping filter patterns shared by the CDK construct and the tests.

Lambda evaluates these before invoking the function, so a filtered-out record costs no invocation.
Stream images carry numbers as strings, so the patterns match string attributes only.
This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

from typing import Any, Final

from dbpatterns.handlers.ledger.events import EventType

FRAUD_FILTER_PATTERN: Final[dict[str, Any]] = {
    "eventName": ["INSERT"],
    "dynamodb": {"NewImage": {"type": {"S": [EventType.WITHDRAWAL.value, EventType.TRANSFER_OUT.value]}}},
}
"""Only new debits (withdrawals and the paying leg of transfers) reach the fraud function; credits
and any (unexpected) modification or removal of an event item are filtered out. Render with
``json.dumps`` for ``FilterCriteria``."""
