"""What ElastiCache runs: node types per engine and the engine versions, as tables with their source.

aws-cdk-lib has no ElastiCache L2 and no enums for node types or engine versions, so these tables are
the reference the constructs check against at synth time. Update them when AWS adds a node family or
an engine version (the error message names this module).

Sources, read 2026-12-01:

- node types and the oldest engine version each runs: Amazon ElastiCache User Guide, "Supported node
  types" (``CacheNodes.SupportedTypes``), current-generation tables for Memcached, Valkey and Redis
  OSS. T2 nodes are previous generation there ("You will no longer be able to create new ElastiCache
  clusters using T2 instances"), so they are left out; so are all other previous-generation families.
- engine versions: Amazon ElastiCache User Guide, "Engine versions and upgrading" (Valkey 7.2-8.2,
  Redis OSS 4.0.10-7.1 without the deprecated 5.0.0-5.0.5, Memcached) and "Comparing node-based
  Valkey, Memcached, and Redis OSS clusters" (Valkey 9.0). Memcached is limited to the versions with
  encryption in transit (1.6.12 and later), which these constructs always turn on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dbpatterns.common.validation import PropValidationError

VALKEY, REDIS_OSS, MEMCACHED = "valkey", "redis", "memcached"
_ENGINE_NAMES = MappingProxyType({VALKEY: "Valkey", REDIS_OSS: "Redis OSS", MEMCACHED: "Memcached"})

#: Engine versions a new node-based cache can be created with, per engine (``EngineVersion``).
ENGINE_VERSIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        VALKEY: ("7.2", "8.0", "8.1", "8.2", "9.0"),
        REDIS_OSS: ("4.0.10", "5.0.6", "6.0", "6.2", "7.0", "7.1"),
        MEMCACHED: ("1.6.12", "1.6.17", "1.6.22"),
    }
)

_LARGE_TO_16XL = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_X86_5 = ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge")
_BURSTABLE = ("micro", "small", "medium")


@dataclass(frozen=True)
class NodeFamily:
    """One node family: its sizes and the oldest version of each engine it runs (``None``: not at all)."""

    sizes: tuple[str, ...]
    valkey: tuple[int, ...] | None
    redis_oss: tuple[int, ...] | None
    memcached: tuple[int, ...] | None
    #: r6gd nodes keep part of the data on SSD and need ``DataTieringEnabled``.
    data_tiering: bool = False

    def minimum(self, engine: str) -> tuple[int, ...] | None:
        return {VALKEY: self.valkey, REDIS_OSS: self.redis_oss, MEMCACHED: self.memcached}[engine]


#: Current-generation node families (``cache.<family>.<size>``).
NODE_FAMILIES: Mapping[str, NodeFamily] = MappingProxyType(
    {
        "m8g": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=None, memcached=(1, 6, 6)),
        "m7g": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=(6, 2), memcached=(1, 5, 16)),
        "m6g": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=(5, 0, 6), memcached=(1, 5, 16)),
        "m5": NodeFamily(_X86_5, valkey=(7, 2), redis_oss=(4, 0, 10), memcached=(1, 5, 16)),
        "m4": NodeFamily(
            ("large", "xlarge", "2xlarge", "4xlarge", "10xlarge"),
            valkey=(7, 2),
            redis_oss=(4, 0, 10),
            memcached=(1, 5, 16),
        ),
        # t4g.micro runs Redis OSS from 4.0.10, small and medium from 5.0.6: the stricter one for all.
        "t4g": NodeFamily(_BURSTABLE, valkey=(7, 2), redis_oss=(5, 0, 6), memcached=(1, 5, 16)),
        "t3": NodeFamily(_BURSTABLE, valkey=(7, 2), redis_oss=(4, 0, 10), memcached=(1, 5, 16)),
        "r8g": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=None, memcached=(1, 6, 6)),
        "r7g": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=(6, 2), memcached=(1, 5, 16)),
        "r6g": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=(5, 0, 6), memcached=(1, 5, 16)),
        "r5": NodeFamily(_X86_5, valkey=(7, 2), redis_oss=(4, 0, 10), memcached=(1, 5, 16)),
        "r4": NodeFamily(
            ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"),
            valkey=(7, 2),
            redis_oss=(4, 0, 10),
            memcached=(1, 5, 16),
        ),
        "r6gd": NodeFamily(
            _LARGE_TO_16XL[1:], valkey=(7, 2), redis_oss=(6, 2), memcached=None, data_tiering=True
        ),
        "c8gn": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=None, memcached=(1, 6, 6)),
        "c7gn": NodeFamily(_LARGE_TO_16XL, valkey=(7, 2), redis_oss=(6, 2), memcached=(1, 6, 6)),
    }
)

_NODE_TYPE = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.(?P<size>[a-z0-9]+)$")


def version_tuple(version: str) -> tuple[int, ...]:
    """``"7.1"`` -> ``(7, 1)``, for comparing engine versions."""
    return tuple(int(part) for part in version.split("."))


def check_engine_version(construct: str, engine: str, version: object, prop: str = "engine_version") -> str:
    """Fail unless ``version`` is one of :data:`ENGINE_VERSIONS` for ``engine``; returns it."""
    allowed = ENGINE_VERSIONS[engine]
    if not isinstance(version, str) or version not in allowed:
        raise PropValidationError(
            construct,
            prop,
            version,
            f"allowed: {_ENGINE_NAMES[engine]} {', '.join(allowed)} "
            "(dbpatterns.elasticache.supported.ENGINE_VERSIONS)",
        )
    return version


def check_node_type(
    construct: str, prop: str, node_type: object, *, engine: str, version: str
) -> tuple[str, str]:
    """Fail unless ``node_type`` is a current-generation node that runs ``engine`` ``version``.

    Returns (family, size). Data-tiering (r6gd) nodes are refused: these constructs do not turn data
    tiering on, which such nodes require.
    """
    match = _NODE_TYPE.match(node_type) if isinstance(node_type, str) else None
    family = NODE_FAMILIES.get(match["family"]) if match else None
    if match is None or family is None or match["size"] not in family.sizes:
        raise PropValidationError(
            construct,
            prop,
            node_type,
            "allowed: a current-generation node type such as 'cache.r7g.large' "
            f"(families {', '.join(NODE_FAMILIES)}; dbpatterns.elasticache.supported.NODE_FAMILIES)",
        )
    name = _ENGINE_NAMES[engine]
    minimum = family.minimum(engine)
    if minimum is None:
        raise PropValidationError(construct, prop, node_type, f"allowed: a node type that runs {name}")
    if version_tuple(version) < minimum:
        raise PropValidationError(
            construct,
            prop,
            node_type,
            f"allowed with {name} {version}: a node type that runs it (cache.{match['family']} needs "
            f"{name} {'.'.join(map(str, minimum))} or newer)",
        )
    if family.data_tiering:
        raise PropValidationError(
            construct,
            prop,
            node_type,
            "allowed: a node type without data tiering (r6gd nodes need DataTieringEnabled, which "
            "these constructs do not turn on)",
        )
    return match["family"], match["size"]
