"""Key layout of the social platform's one global table, shared by the handlers and the CDK construct.

**One table (single-table design), because** the reads the platform serves in < 50 ms are item
collections: a profile with its handle and its follower counters is one ``Query`` on ``USER#<id>``
(sort keys starting with ``#``), a post with its like counters is one ``Query`` on ``POST#<id>``, and a
like is one ``TransactWriteItems`` over the like item and a counter in the same partition. One global
table also means one set of replicas, one customer-managed key per region, one PITR setting and one
place to watch replication latency. Nothing needs a second table: sessions live in the cache (with a
fallback record here), and IAM per function is expressed with actions, not table boundaries.

===========================  ==========================  =====================================================
pk                           sk                          item (who writes it, where)
===========================  ==========================  =====================================================
``USER#<user_id>``           ``#PROFILE``                display name, bio (the user, any region)
``USER#<user_id>``           ``#HANDLE``                 the user's current handle (home region only)
``USER#<user_id>``           ``#COUNT#<region>#<n>``     followers/following/posts counter shard (only
                                                         ``<region>`` ever writes it; ADD only)
``USER#<user_id>``           ``CREDENTIAL``              scrypt password hash (home region, at registration)
``USER#<user_id>``           ``POST#<post_id>``          copy of the user's post, for the author's timeline
``USER#<follower>``          ``FOLLOWS#<followee>``      follow edge (any region)
``USER#<followee>``          ``FOLLOWER#<follower>``     reverse edge, for listing followers (same write)
``HANDLE#<handle>``          ``#CLAIM``                  handle -> user_id, the uniqueness claim (home region)
``POST#<post_id>``           ``#POST``                   the post; carries the Timeline GSI keys (any region)
``POST#<post_id>``           ``#COUNT#<region>#<n>``     like counter shard (only ``<region>`` writes it)
``POST#<post_id>``           ``LIKE#<user_id>``          one user's like of the post (any region)
``SESSION#<sha256(token)>``  ``#SESSION``                session record, the cache's fallback (any region)
``SESSION#<sha256(token)>``  ``#REVOKED``                logout tombstone (any region; never overwritten)
``CONFIG#CACHE``             ``#PRIMARY``                override of the cache primary after a failover
===========================  ==========================  =====================================================

Post ids are ULIDs (48-bit millisecond time + 80 random bits, Crockford base32): they sort by time,
so the Timeline GSI sort key is the post id itself. User ids are ULIDs too.

This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

from typing import Final

PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
#: The sparse GSI of the global timeline: only ``#POST`` items carry its keys.
TIMELINE_INDEX: Final = "Timeline"
TIMELINE_PARTITION_KEY: Final = "tl_pk"
TIMELINE_SORT_KEY: Final = "tl_sk"
#: Epoch seconds after which DynamoDB's TTL deletes the item (session records only).
TTL_ATTRIBUTE: Final = "expires_at"
#: Every item records the region that wrote it, so a stream consumer in each region can keep only
#: its own region's writes (a global table's stream also carries the replicated ones).
ORIGIN_REGION_ATTRIBUTE: Final = "origin_region"

PROFILE_SK: Final = "#PROFILE"
HANDLE_SK: Final = "#HANDLE"
CLAIM_SK: Final = "#CLAIM"
POST_SK: Final = "#POST"
SESSION_SK: Final = "#SESSION"
REVOKED_SK: Final = "#REVOKED"
CREDENTIAL_SK: Final = "CREDENTIAL"
COUNT_PREFIX: Final = "#COUNT#"
LIKE_PREFIX: Final = "LIKE#"
FOLLOWS_PREFIX: Final = "FOLLOWS#"
FOLLOWER_PREFIX: Final = "FOLLOWER#"
POST_COPY_PREFIX: Final = "POST#"
#: Sort keys of an entity's "head" (profile/handle/counters, or post/counters) all start with ``#``.
HEAD_PREFIX: Final = "#"

CACHE_CONFIG_PK: Final = "CONFIG#CACHE"
CACHE_PRIMARY_SK: Final = "#PRIMARY"
HEALTH_PK: Final = "HEALTH#CHECK"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def post_pk(post_id: str) -> str:
    return f"POST#{post_id}"


def handle_pk(handle: str) -> str:
    """The claim's key: handles are unique case-insensitively, so the key is lowercase."""
    return f"HANDLE#{handle.lower()}"


def session_pk(token_digest: str) -> str:
    return f"SESSION#{token_digest}"


def counter_sk(region: str, shard: int) -> str:
    """One counter shard of ``region``: only that region's handlers ever write it."""
    return f"{COUNT_PREFIX}{region}#{shard}"


def like_sk(user_id: str) -> str:
    return f"{LIKE_PREFIX}{user_id}"


def follows_sk(followee_id: str) -> str:
    return f"{FOLLOWS_PREFIX}{followee_id}"


def follower_sk(follower_id: str) -> str:
    return f"{FOLLOWER_PREFIX}{follower_id}"


def post_copy_sk(post_id: str) -> str:
    return f"{POST_COPY_PREFIX}{post_id}"
