"""Repairing the one drift the design allows: a like counted in two regions during a race."""

from __future__ import annotations

from dbpatterns.handlers.social import keys, reconcile
from tests.handlers.social.conftest import SocialTable

USER = "01J00000000000000000000USR"
AUTHOR = "01J000000000000000000AUTHR"


def race_a_like_in_two_regions(social: SocialTable) -> str:
    """us-east-1 and eu-west-1 both accepted the same user's like before either had replicated."""
    post_id: str = social.store().create_post(AUTHOR, "hello")["post_id"]
    social.store("us-east-1").like(post_id, USER)
    # eu-west-1's own conditional put also succeeded on its replica and added to its shard; after
    # last-writer-wins, one like item remains and two shards counted it.
    social.store("eu-west-1").transact(
        [social.store("eu-west-1").counter_add(keys.post_pk(post_id), "likes", 1, USER)]
    )
    return post_id


def test_reconcile_removes_the_double_count(social: SocialTable) -> None:
    post_id = race_a_like_in_two_regions(social)
    assert social.store().like_counts([post_id])[post_id] == 2

    result = reconcile.reconcile(
        social.client,
        social.name,
        region="us-east-1",
        entity_pk=keys.post_pk(post_id),
        counter="likes",
        now_ms=social.store().now_ms() + reconcile.DEFAULT_QUIET_MS,
    )

    assert (result.edges, result.counted, result.outcome) == (1, 2, "corrected")
    assert social.store().like_counts([post_id])[post_id] == 1
    again = reconcile.reconcile(
        social.client,
        social.name,
        region="us-east-1",
        entity_pk=keys.post_pk(post_id),
        counter="likes",
        now_ms=social.store().now_ms() + 2 * reconcile.DEFAULT_QUIET_MS,
    )
    assert again.outcome == "consistent"


def test_reconcile_leaves_a_busy_post_alone(social: SocialTable) -> None:
    post_id = race_a_like_in_two_regions(social)

    result = reconcile.reconcile(
        social.client,
        social.name,
        region="us-east-1",
        entity_pk=keys.post_pk(post_id),
        counter="likes",
        now_ms=social.store().now_ms()
        + 1_000,  # the like is a second old: its shard may still be replicating
    )

    assert result.outcome == "busy"
    assert social.store().like_counts([post_id])[post_id] == 2


def test_the_cli_reconciles_posts(social: SocialTable, capsys: object) -> None:
    post_id = race_a_like_in_two_regions(social)
    social.clock.advance(3_600)

    assert (
        reconcile.main(
            ["--table", social.name, "--region", "us-east-1", "--post", post_id], client=social.client
        )
        == 0
    )
    assert social.store().like_counts([post_id])[post_id] == 1
