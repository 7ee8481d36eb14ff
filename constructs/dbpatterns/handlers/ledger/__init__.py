"""Event-sourced ledger: the runtime half of use case 4.

Functions and their handler strings (all env vars are required unless noted):

- command API (``POST /accounts/{account_id}/transactions``, ``POST /transfers``),
  ``dbpatterns.handlers.ledger.api.handler``:
  ``EVENTS_TABLE_NAME``, ``IDEMPOTENCY_TABLE_NAME``, optional ``IDEMPOTENCY_TTL_SECONDS``.
- query API (``GET /accounts/{account_id}/balance``, ``GET /accounts/{account_id}/transactions``),
  ``dbpatterns.handlers.ledger.queries.handler``: ``EVENTS_TABLE_NAME``, ``PROJECTION_TABLE_NAME``.
- ledger sink (stream consumer #1: audit archive, then balance projection),
  ``dbpatterns.handlers.ledger.sink.handler``: ``PROJECTION_TABLE_NAME``, ``AUDIT_BUCKET_NAME``,
  ``EVENTS_TABLE_NAME`` (gaps are filled from the event store).
- fraud detection (stream consumer #2, filtered to debits by ``FRAUD_FILTER_PATTERN``),
  ``dbpatterns.handlers.ledger.fraud.handler``: ``EVENTS_TABLE_NAME``, ``ALERT_TOPIC_ARN``,
  ``ALERTS_TABLE_NAME`` (one record per alert id), ``FRAUD_SINGLE_LIMIT_MAJOR`` (major units,
  converted per currency exponent), optional ``FRAUD_SINGLE_LIMITS_MAJOR`` (JSON per-currency
  overrides), ``FRAUD_VELOCITY_COUNT``, ``FRAUD_VELOCITY_WINDOW_MINUTES``.
- replay, ``dbpatterns.handlers.ledger.replay.handler`` (and ``python -m dbpatterns.handlers.ledger.replay``):
  ``EVENTS_TABLE_NAME``; ``PROJECTION_TABLE_NAME`` to rebuild the projection; ``AUDIT_BUCKET_NAME`` to
  backfill the archive.
- failure-queue redrive, ``dbpatterns.handlers.ledger.redrive.handler`` (and ``python -m
  dbpatterns.handlers.ledger.redrive``): ``FAILURE_QUEUE_URL``, ``EVENTS_TABLE_NAME``,
  ``PROJECTION_TABLE_NAME``, ``AUDIT_BUCKET_NAME``; with ``ALERTS_TABLE_NAME`` and ``ALERT_TOPIC_ARN``
  (and the fraud settings) it also re-checks the affected debits for fraud.

``currencies``, ``events``, ``schema``, ``filters`` and ``tables`` import only the standard
library, so CDK code may import ``TRANSACTION_REQUEST_SCHEMA``, ``TRANSFER_REQUEST_SCHEMA``,
``FRAUD_FILTER_PATTERN`` and the key names without pulling in boto3 or Powertools.
"""
