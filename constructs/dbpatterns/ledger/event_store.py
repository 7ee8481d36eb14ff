"""The ledger's DynamoDB tables: the event store, idempotency records, balance projection and fraud alerts."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_instance, construct_label, require
from dbpatterns.dynamodb.table import DynamoTable, DynamoTableProps
from dbpatterns.handlers.ledger.tables import (
    ALERTS_PARTITION_KEY,
    EVENTS_PARTITION_KEY,
    EVENTS_SORT_KEY,
    IDEMPOTENCY_PARTITION_KEY,
    IDEMPOTENCY_TTL_ATTRIBUTE,
    PROJECTION_PARTITION_KEY,
)

#: The only actions the command writer gets on the event store. ``TransactWriteItems`` is authorized
#: per item, so a transaction of puts needs ``PutItem`` and nothing else: no ``UpdateItem``,
#: ``DeleteItem`` or ``BatchWriteItem``, which is what makes history append-only.
APPEND_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query")
#: Reading the event store (replay, fraud velocity queries).
READ_EVENT_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")
#: Maintaining the balance projection from the stream (a version-gated update, or a first put).
PROJECT_ACTIONS = ("dynamodb:UpdateItem",)  # the sink applies each event with one conditional update
#: Recording a fraud alert once per ``alert_id``: a conditional put (claim), conditional updates
#: (release, mark SENT). Never DeleteItem: alert records are audit records.
RECORD_ALERT_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem")
#: The redrive's sweep of alerts still PENDING (a Scan) plus what recording needs.
SWEEP_ALERT_ACTIONS = ("dynamodb:Scan", *RECORD_ALERT_ACTIONS)


@dataclass(frozen=True, kw_only=True)
class LedgerEventStoreProps:
    """Props of :class:`LedgerEventStore`."""

    #: Sandbox or production: removal policy and deletion protection follow it.
    profile: DeploymentProfile
    #: Customer-managed key for the four tables - a new key with yearly rotation by default.
    encryption_key: kms.IKey | None = None


class LedgerEventStore(Construct):
    """Event store (``account_id`` + ``version``, stream of new images), idempotency table, projection
    and fraud alert records.

    The four tables share one customer-managed key, have PITR for 35 days and, in production,
    deletion protection and RETAIN. The key layout comes from ``dbpatterns.handlers.ledger.tables``,
    the module the handlers use, so the two cannot drift apart. The alerts table has no TTL on
    purpose: a record that expired would let a late redrive publish its alert again.

    Exposes ``events``, ``idempotency``, ``projection``, ``alerts`` (:class:`DynamoTable`) and
    ``encryption_key``; ``grant_append``, ``grant_read_events``, ``grant_project``,
    ``grant_read_projection``, ``grant_record_alerts`` and ``grant_sweep_alerts`` give exactly what
    each role needs.
    """

    def __init__(self, scope: Construct, construct_id: str, props: LedgerEventStoreProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        check_instance(name, "profile", props.profile, DeploymentProfile)
        require(
            props.encryption_key is None or hasattr(props.encryption_key, "key_arn"),
            name,
            "encryption_key",
            props.encryption_key,
            "allowed: a kms.IKey",
        )
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING

        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self,
            "Key",
            description="Encrypts the ledger's event store, idempotency, projection and alerts tables",
            profile=props.profile,
        )
        self.events = DynamoTable(
            self,
            "Events",
            DynamoTableProps(
                profile=props.profile,
                partition_key=dynamodb.Attribute(name=EVENTS_PARTITION_KEY, type=string),
                sort_key=dynamodb.Attribute(name=EVENTS_SORT_KEY, type=dynamodb.AttributeType.NUMBER),
                # New images only: events are never modified, so old images would always be empty.
                stream=dynamodb.StreamViewType.NEW_IMAGE,
                encryption_key=self.encryption_key,
            ),
        )
        self.idempotency = DynamoTable(
            self,
            "Idempotency",
            DynamoTableProps(
                profile=props.profile,
                partition_key=dynamodb.Attribute(name=IDEMPOTENCY_PARTITION_KEY, type=string),
                time_to_live_attribute=IDEMPOTENCY_TTL_ATTRIBUTE,
                encryption_key=self.encryption_key,
            ),
        )
        self.projection = DynamoTable(
            self,
            "Projection",
            DynamoTableProps(
                profile=props.profile,
                partition_key=dynamodb.Attribute(name=PROJECTION_PARTITION_KEY, type=string),
                encryption_key=self.encryption_key,
            ),
        )

        self.alerts = DynamoTable(
            self,
            "Alerts",
            DynamoTableProps(
                profile=props.profile,
                partition_key=dynamodb.Attribute(name=ALERTS_PARTITION_KEY, type=string),
                encryption_key=self.encryption_key,
            ),
        )

    @property
    def stream_arn(self) -> str:
        """ARN of the event store's stream."""
        arn = self.events.table.table_stream_arn
        if arn is None:  # pragma: no cover - the table is always created with a stream
            raise RuntimeError("the event store has no stream")
        return arn

    def grant_append(self, grantee: iam.IGrantable) -> iam.Grant:
        """What the command writer needs: append-only puts on the event store, reads of the latest
        event, and get/put of idempotency records (the transaction's second put)."""
        return self.events.grant(grantee, *APPEND_ACTIONS).combine(
            self.idempotency.grant(grantee, "dynamodb:GetItem", "dynamodb:PutItem")
        )

    def grant_read_events(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read-only access to the event store (and decrypt on its key)."""
        return self.events.grant(grantee, *READ_EVENT_ACTIONS)

    def grant_project(self, grantee: iam.IGrantable) -> iam.Grant:
        """Apply events to the balance projection (conditional updates only), and read missing versions
        from the event store (one consistent ``Query``) to fill a gap before applying an event."""
        return self.projection.grant(grantee, *PROJECT_ACTIONS).combine(
            self.events.grant(grantee, "dynamodb:Query")
        )

    def grant_read_projection(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read one account's projected balance (``GetItem``)."""
        return self.projection.grant(grantee, "dynamodb:GetItem")

    def grant_record_alerts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Record fraud alerts once per ``alert_id`` (conditional put, conditional updates)."""
        return self.alerts.grant(grantee, *RECORD_ALERT_ACTIONS)

    def grant_sweep_alerts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Find alerts still PENDING (``Scan``) and record them as the fraud function does."""
        return self.alerts.grant(grantee, *SWEEP_ALERT_ACTIONS)
