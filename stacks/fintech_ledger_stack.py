"""Use case 4: an event-sourced fintech ledger (API -> Lambda -> DynamoDB event store -> stream)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from dbpatterns.common.alarm_topic import check_email_address
from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import construct_label
from dbpatterns.ledger.ledger import EventSourcedLedger, EventSourcedLedgerProps
from stacks.base import ReferenceStack


class FintechLedgerStack(ReferenceStack):
    """The ledger with its defaults: 7-year COMPLIANCE lock on the audit archive in production."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        alarm_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``alarm_email``: who the alarm topic emails (after confirming) - nobody by default."""
        check_email_address(construct_label(type(self), scope, construct_id), "alarm_email", alarm_email)
        super().__init__(scope, construct_id, **kwargs)
        self.ledger = EventSourcedLedger(
            self,
            "Ledger",
            EventSourcedLedgerProps(
                profile=profile,
                # DbPatterns-ApiGatewayAccount sets it; this stack depends on that one.
                account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
                alarm_email=alarm_email,
            ),
        )
