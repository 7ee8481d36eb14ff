"""All stacks of use case 2, the global social platform, in deployment order.

Every stack runs in its region's VPC, the one of the app's network stack there (``networks``); the
regions' CIDR blocks do not overlap, so the social stacks peer those VPCs. The peering carries
session writes from the secondaries to the cache primary and handle claims to the home region's
DynamoDB interface endpoint (the global datastore and the global table replicate without it).

DbPatterns-SocialBase-Secondary1   (1st secondary region)  data key, API Gateway logging role
DbPatterns-SocialBase-Secondary2   (2nd secondary region)  same, plus peering with Secondary1
DbPatterns-SocialGlobal            (primary region)        global table, cursor key, session cache
                                                           primary + global datastore, peering
DbPatterns-SocialRegion-Primary    (primary region)        app tier
DbPatterns-SocialRegion-Secondary1 (1st secondary region)  cache secondary + app tier
DbPatterns-SocialRegion-Secondary2 (2nd secondary region)  cache secondary + app tier (after Secondary1:
                                                           ElastiCache adds one region at a time)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from aws_cdk import App, Stack

from dbpatterns.errors import PropValidationError
from stacks.config import AppConfig
from stacks.network_stack import NetworkStack
from stacks.social_base_stack import SocialBaseStack
from stacks.social_global_stack import SocialGlobalStack
from stacks.social_region_stack import RegionNetwork, SocialRegionStack

#: A global datastore has at most two secondary regions.
MAX_SECONDARY_REGIONS = 2


def build_social_stacks(
    app: App,
    config: AppConfig,
    *,
    networks: Callable[[str], NetworkStack],
    api_gateway_account: Stack | None = None,
) -> list[Stack]:
    """Add the social platform's stacks to ``app`` and return them in deployment order.

    ``networks`` gives the network stack of a region (``stacks.app_builder.RegionalNetworks``); their
    blocks must not overlap (peering refuses overlapping CIDRs). ``api_gateway_account`` is the stack
    holding API Gateway's CloudWatch role in the primary region (``DbPatterns-ApiGatewayAccount``);
    the secondary regions get theirs in their base stacks. The custom domain is
    ``config.social_domain``.
    """
    secondaries = config.secondary_regions
    if not 1 <= len(secondaries) <= MAX_SECONDARY_REGIONS:
        raise PropValidationError(
            "social platform",
            "secondary_regions",
            list(secondaries),
            f"allowed: 1 to {MAX_SECONDARY_REGIONS} regions (an ElastiCache global datastore's limit)",
        )
    profile = config.profile
    regions = (config.primary_region, *secondaries)
    cidrs = [networks(region).cidr for region in regions]
    blocks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    if any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :]):
        raise PropValidationError(
            "social platform",
            "network CIDRs",
            cidrs,
            "allowed: non-overlapping blocks, one per region (VPC peering refuses overlapping ones)",
        )
    bases: list[SocialBaseStack] = []
    for index, region in enumerate(secondaries, start=1):
        bases.append(
            SocialBaseStack(
                app,
                f"DbPatterns-SocialBase-Secondary{index}",
                env=config.env(region),
                profile=profile,
                vpc=networks(region).network.vpc,
                cidr=cidrs[index],
                peers=list(bases),
                description=f"dbpatterns use case 2: social platform foundation in {region}",
            )
        )
    global_stack = SocialGlobalStack(
        app,
        "DbPatterns-SocialGlobal",
        env=config.env(),
        profile=profile,
        vpc=networks(config.primary_region).network.vpc,
        cidr=cidrs[0],
        secondaries=bases,
        description="dbpatterns use case 2: social platform global table and session cache primary",
    )

    region_stacks: list[Stack] = []
    for index, region in enumerate(regions):
        if index == 0:
            network = RegionNetwork(vpc=global_stack.vpc, cidr=global_stack.cidr, key=global_stack.key)
            stack_id = "DbPatterns-SocialRegion-Primary"
        else:
            base = bases[index - 1]
            routes = [(global_stack.cidr, global_stack.peerings[base.stack_name].connection_id)]
            # Peering between secondaries is requested by the later one; the earlier one adds its routes.
            routes += [
                (later.cidr, later.peerings[base.stack_name].connection_id)
                for later in bases[index:]
                if base.stack_name in later.peerings
            ]
            network = RegionNetwork(vpc=base.vpc, cidr=base.cidr, key=base.key, routes=routes)
            stack_id = f"DbPatterns-SocialRegion-Secondary{index}"
        stack = SocialRegionStack(
            app,
            stack_id,
            env=config.env(region),
            profile=profile,
            regions=regions,
            network=network,
            global_stack=global_stack,
            peer_cidrs=[cidr for other, cidr in enumerate(cidrs) if other != index],
            domain=config.social_domain,
            description=f"dbpatterns use case 2: social platform app tier in {region}",
        )
        if index == 0 and api_gateway_account is not None:
            stack.add_stack_dependency(
                api_gateway_account, "Stage execution logging needs the account's role"
            )
        if index >= 2:
            stack.add_stack_dependency(
                region_stacks[-1], "ElastiCache adds one region to a global datastore at a time"
            )
        region_stacks.append(stack)
    return [*bases, global_stack, *region_stacks]
