"""Why every counter shard belongs to one region: a model of global-table replication.

DynamoDB global tables (MREC) replicate each item *as a whole* after a write, asynchronously, and
resolve concurrent writes to the same item by last-writer-wins on the write timestamp. This model
implements exactly that rule (and nothing else) to show the two counter designs side by side:

- one counter item that every region ADDs to loses increments whenever two regions write it
  within the replication window;
- one shard per region, summed on read, never does, whatever the interleaving.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")


@dataclass
class Version:
    value: int
    timestamp: int


@dataclass
class GlobalTableModel:
    """Replicas that apply local writes at once and receive each other's item images later (LWW)."""

    replicas: dict[str, dict[str, Version]] = field(default_factory=lambda: {r: {} for r in REGIONS})
    in_flight: list[tuple[str, str, Version]] = field(default_factory=list)
    clock: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, region: str, key: str, delta: int) -> None:
        """``UpdateItem ADD`` in ``region``: atomic on that replica, then the new image replicates."""
        current = self.replicas[region].get(key, Version(0, -1))
        image = Version(current.value + delta, next(self.clock))
        self.replicas[region][key] = image
        self.in_flight += [(other, key, image) for other in REGIONS if other != region]

    def deliver(self, index: int) -> None:
        region, key, image = self.in_flight.pop(index % len(self.in_flight))
        local = self.replicas[region].get(key)
        if local is None or image.timestamp > local.timestamp:  # last writer wins
            self.replicas[region][key] = image

    def settle(self) -> None:
        while self.in_flight:
            self.deliver(0)

    def read(self, region: str, keys: list[str]) -> int:
        return sum(self.replicas[region].get(key, Version(0, -1)).value for key in keys)


def test_one_counter_item_written_in_two_regions_loses_an_increment() -> None:
    table = GlobalTableModel()
    table.add("us-east-1", "likes", 1)  # 0 -> 1 in us-east-1
    table.add("eu-west-1", "likes", 1)  # 0 -> 1 in eu-west-1, before us-east-1's image arrived
    table.settle()

    assert {table.read(region, ["likes"]) for region in REGIONS} == {1}  # two likes, count 1


@settings(max_examples=300)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.sampled_from(REGIONS), st.sampled_from([1, -1])),
            st.tuples(st.just("deliver"), st.integers(0, 1_000)),
        ),
        max_size=60,
    )
)
def test_one_shard_per_region_never_loses_an_increment(steps: list[tuple[object, ...]]) -> None:
    table = GlobalTableModel()
    shards = [f"likes#{region}" for region in REGIONS]
    expected = 0
    for step in steps:
        if step[0] == "add":
            _, region, delta = step
            table.add(str(region), f"likes#{region}", int(str(delta)))
            expected += int(str(delta))
        elif table.in_flight:
            table.deliver(int(str(step[1])))
    table.settle()

    assert [table.read(region, shards) for region in REGIONS] == [expected] * len(REGIONS)
