"""Key layout of the ledger's tables, shared by the handlers and the CDK construct.

- Event store: partition key ``account_id`` (S), sort key ``version`` (N); stream view NEW_IMAGE.
- Idempotency table: partition key ``pk`` (S) = ``"{account_id}#{idempotency_key}"``;
  TTL attribute ``expires_at`` (epoch seconds).
- Balance projection: partition key ``account_id`` (S).
- Fraud alerts: partition key ``alert_id`` (S) = ``"{event_id}:{rule}"``; no sort key, no TTL.
- Audit archive (S3): one object per event at ``events/{account_id}/{event_id}.json``.

This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

from typing import Final

EVENTS_PARTITION_KEY: Final = "account_id"
EVENTS_SORT_KEY: Final = "version"
IDEMPOTENCY_PARTITION_KEY: Final = "pk"
IDEMPOTENCY_TTL_ATTRIBUTE: Final = "expires_at"
PROJECTION_PARTITION_KEY: Final = "account_id"
ALERTS_PARTITION_KEY: Final = "alert_id"
AUDIT_KEY_PREFIX: Final = "events/"
