"""Global social platform (use case 2): the global table, the regional app tier, VPC peering.

Runtime code: :mod:`dbpatterns.handlers.social`. Stacks composing these constructs with the
ElastiCache global datastore: ``stacks/social_*.py``.
"""

from dbpatterns.social.peering import PeerRoutes, VpcPeering, VpcPeeringProps
from dbpatterns.social.regional_api import (
    ApiDomain,
    HomeRegionAccess,
    SessionCacheAccess,
    SocialRegionalApi,
    SocialRegionalApiProps,
)
from dbpatterns.social.table import SocialTable, SocialTableProps

__all__ = [
    "ApiDomain",
    "HomeRegionAccess",
    "PeerRoutes",
    "SessionCacheAccess",
    "SocialRegionalApi",
    "SocialRegionalApiProps",
    "SocialTable",
    "SocialTableProps",
    "VpcPeering",
    "VpcPeeringProps",
]
