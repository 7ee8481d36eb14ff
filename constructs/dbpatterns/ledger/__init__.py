"""Event-sourced fintech ledger (use case 4): the CDK half. The handlers live in
``dbpatterns.handlers.ledger``."""

from dbpatterns.ledger.audit_archive import AuditArchive, AuditArchiveProps
from dbpatterns.ledger.command_api import LedgerCommandApi, LedgerCommandApiProps
from dbpatterns.ledger.event_store import LedgerEventStore, LedgerEventStoreProps
from dbpatterns.ledger.ledger import EventSourcedLedger, EventSourcedLedgerProps
from dbpatterns.ledger.stream_consumers import LedgerStreamConsumers, LedgerStreamConsumersProps

__all__ = [
    "AuditArchive",
    "AuditArchiveProps",
    "EventSourcedLedger",
    "EventSourcedLedgerProps",
    "LedgerCommandApi",
    "LedgerCommandApiProps",
    "LedgerEventStore",
    "LedgerEventStoreProps",
    "LedgerStreamConsumers",
    "LedgerStreamConsumersProps",
]
