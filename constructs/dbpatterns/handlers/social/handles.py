"""Handles unique worldwide: every claim is a conditional write in one home region.

**Why a home region and not multi-region strong consistency.** DynamoDB's multi-Region strong
consistency (MRSC, ``MultiRegionConsistency.STRONG``) would make a conditional put in any region see
every other region's writes. It works only inside one region set: US (us-east-1, us-east-2,
us-west-2), EU (eu-west-1, eu-west-2, eu-west-3, eu-central-1) or AP (ap-northeast-1, ap-northeast-2,
ap-northeast-3), with exactly three replicas or two plus a witness, on a table created empty, and its
writes pay a cross-region round trip each. us-east-1 + eu-west-1 + ap-southeast-1 spans three sets
(and ap-southeast-1 is in none), so MRSC cannot serve this platform.

**So claims are serialized in the home region** (the primary region, ``HOME_REGION``): the claim item
``HANDLE#<lowercase handle>`` is put with ``attribute_not_exists(pk)`` on the home replica, in one
transaction with the user's ``#HANDLE`` item (and, at registration, the profile and credential).
Two regions claiming the same handle at the same moment both send their transaction to the home
replica, which runs them one after the other: exactly one succeeds. Handlers outside the home
region reach it through the home VPC's DynamoDB interface endpoint over VPC peering (one round
trip: ~70 ms from eu-west-1, ~230 ms from ap-southeast-1), which is acceptable for an action a user
takes once. If the home region cannot be reached, claims fail with 503 ``HOME_REGION_UNAVAILABLE``
and ``Retry-After``; every other feature keeps working. Claims replicate to the other regions like
any item (typically < 1 s), where sign-in reads them locally and falls back to the home region on a miss.

Do not move the home region while the old one may still accept writes: two homes could each grant
the same handle. Move it only after the old region's writes have stopped (see the failover runbook).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dbpatterns.handlers.social import aws, keys
from dbpatterns.handlers.social.errors import (
    ConflictError,
    HandleTakenError,
    HomeRegionUnavailableError,
    NotFoundError,
)
from dbpatterns.handlers.social.store import Item, TransactionCancelledError, n, s, text
from dbpatterns.handlers.social.times import iso_from_ms


class HandleService:
    """Claims, changes and resolves handles; writes go to the home region's replica only."""

    def __init__(
        self,
        *,
        home_client: Any,
        local_client: Any,
        table: str,
        home_region: str,
        local_region: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home_client
        self.local = local_client
        self.table = table
        self.home_region = home_region
        self.local_region = local_region
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _claim_put(self, user_id: str, handle: str, now: int, *, reclaim: bool) -> Item:
        condition = "attribute_not_exists(pk)" + (" OR user_id = :user" if reclaim else "")
        put: Item = {
            "TableName": self.table,
            "Item": {
                "pk": s(keys.handle_pk(handle)),
                "sk": s(keys.CLAIM_SK),
                "user_id": s(user_id),
                "handle": s(handle),
                "claimed_at": n(now),
                "origin_region": s(self.home_region),
            },
            "ConditionExpression": condition,
        }
        if reclaim:
            put["ExpressionAttributeValues"] = {":user": s(user_id)}
        return {"Put": put}

    def _handle_put(self, user_id: str, handle: str, now: int) -> Item:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": s(keys.user_pk(user_id)),
                    "sk": s(keys.HANDLE_SK),
                    "handle": s(handle),
                    "updated_at": n(now),
                    "origin_region": s(self.home_region),
                },
            }
        }

    def _transact_home(self, items: list[Item]) -> None:
        try:
            self.home.transact_write_items(TransactItems=items)
        except aws.ClientError as error:
            codes = aws.cancellation_codes(error)
            if any(code == "ConditionalCheckFailed" for code in codes):
                raise TransactionCancelledError(codes) from None
            if "TransactionConflict" in codes:
                raise ConflictError("another change of this handle is in flight; retry") from None
            raise
        except Exception as error:
            if aws.is_unreachable(error):
                raise HomeRegionUnavailableError(
                    f"handle changes are made in {self.home_region}, which cannot be reached now; retry later"
                ) from None
            raise

    def register(self, *, user_id: str, handle: str, display_name: str, password_hash: str) -> None:
        """Create the account: claim, handle, profile and credential in one home-region transaction."""
        now = self._now_ms()
        user = keys.user_pk(user_id)
        stamp = {"origin_region": s(self.home_region), "updated_at": n(now)}
        try:
            self._transact_home(
                [
                    self._claim_put(user_id, handle, now, reclaim=False),
                    self._handle_put(user_id, handle, now),
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": s(user),
                                "sk": s(keys.PROFILE_SK),
                                "user_id": s(user_id),
                                "display_name": s(display_name),
                                "bio": s(""),
                                "created_at": s(iso_from_ms(now)),
                                **stamp,
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": s(user),
                                "sk": s(keys.CREDENTIAL_SK),
                                "password_hash": s(password_hash),
                                **stamp,
                            },
                        }
                    },
                ]
            )
        except TransactionCancelledError as cancelled:
            if cancelled.failed(0):
                raise HandleTakenError(f"the handle {handle!r} is taken") from None
            raise ConflictError("the account id is already in use; retry") from None

    def change(self, user_id: str, new_handle: str) -> str | None:
        """Move the user to ``new_handle``; returns the old handle. The old one is released."""
        now = self._now_ms()
        current = self._home_get(keys.user_pk(user_id), keys.HANDLE_SK)
        if current is None:
            raise NotFoundError(f"no user {user_id}")
        old = text(current, "handle")
        if old == new_handle:
            return old
        items = [
            self._claim_put(user_id, new_handle, now, reclaim=True),
            {
                "Put": {
                    **self._handle_put(user_id, new_handle, now)["Put"],
                    # Two changes by the same user at once: the second sees the first's handle.
                    "ConditionExpression": "handle = :old",
                    "ExpressionAttributeValues": {":old": s(old)},
                }
            },
        ]
        if old.lower() != new_handle.lower():
            items.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": s(keys.handle_pk(old)), "sk": s(keys.CLAIM_SK)},
                        "ConditionExpression": "user_id = :user",
                        "ExpressionAttributeValues": {":user": s(user_id)},
                    }
                }
            )
        try:
            self._transact_home(items)
        except TransactionCancelledError as cancelled:
            if cancelled.failed(0):
                raise HandleTakenError(f"the handle {new_handle!r} is taken") from None
            raise ConflictError("the handle changed at the same time; retry") from None
        return old

    def _home_get(self, pk: str, sk: str) -> Item | None:
        try:
            response = self.home.get_item(
                TableName=self.table, Key={"pk": s(pk), "sk": s(sk)}, ConsistentRead=True
            )
        except Exception as error:
            if aws.is_unreachable(error):
                raise HomeRegionUnavailableError(
                    f"handle changes are made in {self.home_region}, which cannot be reached now; retry later"
                ) from None
            raise
        item: Item | None = response.get("Item")
        return item

    def get(self, pk: str, sk: str) -> Item | None:
        """Read locally; on a miss ask the home region (the item may not have replicated yet)."""
        response = self.local.get_item(TableName=self.table, Key={"pk": s(pk), "sk": s(sk)})
        item: Item | None = response.get("Item")
        if item is not None or self.home_region == self.local_region:
            return item
        return self._home_get(pk, sk)

    def resolve(self, handle: str) -> str | None:
        """The user id holding ``handle``, or None."""
        claim = self.get(keys.handle_pk(handle), keys.CLAIM_SK)
        return text(claim, "user_id") if claim is not None else None
