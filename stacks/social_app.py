"""All stacks of use case 2, the global social platform, in deployment order.

DbPatterns-SocialBase-Secondary1   (1st secondary region)  VPC, data key, API Gateway logging role
DbPatterns-SocialBase-Secondary2   (2nd secondary region)  same, plus peering with Secondary1
DbPatterns-SocialGlobal            (primary region)        global table, cursor key, session cache
                                                           primary + global datastore, peering
DbPatterns-SocialRegion-Primary    (primary region)        app tier
DbPatterns-SocialRegion-Secondary1 (1st secondary region)  cache secondary + app tier
DbPatterns-SocialRegion-Secondary2 (2nd secondary region)  cache secondary + app tier (after Secondary1:
                                                           ElastiCache adds one region at a time)
"""

from __future__ import annotations

from aws_cdk import App, Stack

from dbpatterns.errors import PropValidationError
from stacks.config import AppConfig
from stacks.social_base_stack import SocialBaseStack
from stacks.social_config import SocialDomainConfig
from stacks.social_global_stack import SocialGlobalStack
from stacks.social_region_stack import RegionNetwork, SocialRegionStack

#: One non-overlapping /16 per region (peering refuses overlapping CIDRs): primary first.
SOCIAL_CIDRS = ("10.40.0.0/16", "10.41.0.0/16", "10.42.0.0/16")
#: A global datastore has at most two secondary regions.
MAX_SECONDARY_REGIONS = 2


def build_social_stacks(
    app: App,
    config: AppConfig,
    *,
    domain: SocialDomainConfig | None = None,
    api_gateway_account: Stack | None = None,
) -> list[Stack]:
    """Add the social platform's stacks to ``app`` and return them in deployment order.

    ``api_gateway_account`` is the stack holding API Gateway's CloudWatch role in the primary region
    (``DbPatterns-ApiGatewayAccount``); the secondary regions get theirs in their base stacks.
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
    bases: list[SocialBaseStack] = []
    for index, region in enumerate(secondaries, start=1):
        bases.append(
            SocialBaseStack(
                app,
                f"DbPatterns-SocialBase-Secondary{index}",
                env=config.env(region),
                profile=profile,
                cidr=SOCIAL_CIDRS[index],
                peers=list(bases),
                description=f"dbpatterns use case 2: social platform foundation in {region}",
            )
        )
    global_stack = SocialGlobalStack(
        app,
        "DbPatterns-SocialGlobal",
        env=config.env(),
        profile=profile,
        cidr=SOCIAL_CIDRS[0],
        secondaries=bases,
        description="dbpatterns use case 2: social platform global table and session cache primary",
    )

    region_stacks: list[Stack] = []
    for index, region in enumerate(regions):
        if index == 0:
            network = RegionNetwork(
                vpc=global_stack.network.vpc, cidr=global_stack.cidr, key=global_stack.key
            )
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
            network = RegionNetwork(vpc=base.network.vpc, cidr=base.cidr, key=base.key, routes=routes)
            stack_id = f"DbPatterns-SocialRegion-Secondary{index}"
        stack = SocialRegionStack(
            app,
            stack_id,
            env=config.env(region),
            profile=profile,
            regions=regions,
            network=network,
            global_stack=global_stack,
            peer_cidrs=[cidr for other, cidr in enumerate(SOCIAL_CIDRS[: len(regions)]) if other != index],
            domain=domain,
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
