"""Use case 1: the flash-sale order pipeline in the region's network."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from constructs import Construct

from dbpatterns.common.alarm_topic import check_email_address
from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import construct_label
from dbpatterns.flash_sale.pipeline import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps
from stacks.base import ReferenceStack


class FlashSaleStack(ReferenceStack):
    """API Gateway -> SQS -> Lambda -> DAX -> DynamoDB, with nothing reachable from the internet
    but the IAM-authorized API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        network: IsolatedNetwork,
        alarm_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``alarm_email``: who the alarm topic emails (after confirming) - nobody by default."""
        check_email_address(construct_label(type(self), scope, construct_id), "alarm_email", alarm_email)
        super().__init__(scope, construct_id, **kwargs)
        self.network = network
        self.pipeline = FlashSaleOrderPipeline(
            self,
            "Orders",
            FlashSaleOrderPipelineProps(
                profile=profile,
                vpc=self.network.vpc,
                # DbPatterns-ApiGatewayAccount sets it; this stack depends on that one.
                account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
                alarm_email=alarm_email,
            ),
        )
        CfnOutput(
            self,
            "ApiKeyId",
            value=self.pipeline.api.api_key.key_id,
            description="aws apigateway get-api-key --api-key <this> --include-value: the x-api-key header",
        )
