"""One region of the social platform: its copy of the session cache (secondaries) and the app tier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.handlers.social import keys
from dbpatterns.social.peering import PeerRoutes
from dbpatterns.social.regional_api import (
    ApiDomain,
    HomeRegionAccess,
    SessionCacheAccess,
    SocialRegionalApi,
    SocialRegionalApiProps,
)
from stacks.base import ReferenceStack
from stacks.social_cache import SessionCache, add_secondary_session_cache
from stacks.social_config import SocialDomainConfig
from stacks.social_global_stack import SocialGlobalStack


@dataclass(frozen=True, kw_only=True)
class RegionNetwork:
    """The region's VPC (its network stack's) and data key (from its base stack, or the global stack in
    the primary region)."""

    vpc: ec2.IVpc
    cidr: str
    key: kms.IKey
    #: (peer CIDR, peering connection ID) routes this region still needs (the requester side already
    #: routes its own).
    routes: Sequence[tuple[str, str]] = ()


class SocialRegionStack(ReferenceStack):
    """The regional app tier (:class:`SocialRegionalApi`) over the local table replica; in a secondary
    region also the global datastore's secondary group. Outputs the regional URL and health check."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        regions: Sequence[str],
        network: RegionNetwork,
        global_stack: SocialGlobalStack,
        peer_cidrs: Sequence[str],
        domain: SocialDomainConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        primary = self.region == global_stack.region
        for index, (peer_cidr, connection_id) in enumerate(network.routes):
            PeerRoutes(
                self, f"PeerRoutes{index}", vpc=network.vpc, peer_cidr=peer_cidr, connection_id=connection_id
            )

        cache: SessionCache
        auth_token: secretsmanager.ISecret
        if primary:
            cache = global_stack.session_cache
            auth_token = global_stack.global_datastore.primary.auth_token
            cursor_secret: secretsmanager.ISecret = global_stack.cursor_secret
        else:
            cache = add_secondary_session_cache(
                self,
                profile=profile,
                vpc=network.vpc,
                global_datastore=global_stack.global_datastore,
                peer_cidrs=peer_cidrs,
            )
            auth_token = secretsmanager.Secret.from_secret_complete_arn(
                self,
                "SessionCacheAuthToken",
                global_stack.replica_secret_arn(self, "SessionCacheAuthTokenName"),
            )
            cursor_secret = secretsmanager.Secret.from_secret_complete_arn(
                self, "CursorKey", global_stack.replica_secret_arn(self, "CursorKeyName")
            )

        table = dynamodb.TableV2.from_table_attributes(
            self,
            "SocialTable",
            table_name=global_stack.table.table_name,
            global_indexes=[keys.TIMELINE_INDEX],
        )
        api_domain = None
        if domain is not None:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name
            )
            certificate_arn = domain.certificate_arns.get(self.region)
            api_domain = ApiDomain(
                domain_name=domain.domain_name,
                hosted_zone=zone,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
                if certificate_arn
                else None,
            )
        self.api = SocialRegionalApi(
            self,
            "Api",
            SocialRegionalApiProps(
                profile=profile,
                vpc=network.vpc,
                # The primary region's account stack or the region's base stack sets it; this stack
                # depends on that one (stacks/social_app.py).
                account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
                table=table,
                table_key=network.key,
                regions=regions,
                home=None
                if primary
                else HomeRegionAccess(
                    region=global_stack.region,
                    table=global_stack.table.table,
                    encryption_key=global_stack.key,
                    endpoint_url=global_stack.published(self, "HomeTableEndpointUrl"),
                ),
                cursor_secret=cursor_secret,
                cursor_secret_key=network.key,
                cache=SessionCacheAccess(
                    reader_endpoint=cache.reader_endpoint,
                    primary_endpoint=cache.primary_endpoint,
                    primary_region=global_stack.region,
                    port=cache.port,
                    auth_token=auth_token,
                    auth_token_key=network.key,
                    connections=cache.connections,
                ),
                domain=api_domain,
            ),
        )
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Regional URL of the social API")
        CfnOutput(
            self,
            "HealthCheckId",
            value=self.api.health_check.health_check_id,
            description="Route 53 health check of this region (GET /health)",
        )
        if domain is not None:
            CfnOutput(
                self, "DomainName", value=domain.domain_name, description="Latency-routed name of the API"
            )
