"""DynamoDB provisioned-capacity planner: a workload in, read and write capacity units out.

It implements DynamoDB's published sizing rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/provisioned-capacity-mode.html):

* 1 RCU = one strongly consistent read per second, or two eventually consistent reads, of an item
  up to 4 KB; a transactional read costs two RCUs per 4 KB.
* 1 WCU = one write per second of an item up to 1 KB; a transactional write costs two WCUs per 1 KB.
* Item sizes round **up** to the next 4 KB (reads) or 1 KB (writes): a 10 KB item is three 4 KB
  read units and ten 1 KB write units.

Also a command line tool::

    python -m dbpatterns.capacity --item-size-kb 10 --reads 100 --consistency eventual
    python -m dbpatterns.capacity --item-size-kb 2 --writes 50

This module does not import aws_cdk, so the CLI starts instantly.
"""

from __future__ import annotations

import argparse
import enum
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from dbpatterns.errors import PropValidationError

KB = 1024
READ_UNIT_BYTES = 4 * KB
WRITE_UNIT_BYTES = 1 * KB
MAX_ITEM_BYTES = 400 * KB  # DynamoDB's item size limit


class ReadConsistency(enum.Enum):
    """How a read is made; sets its cost in RCUs per 4 KB read unit."""

    EVENTUAL = "eventual"
    STRONG = "strong"
    TRANSACTIONAL = "transactional"

    @property
    def rcu_per_read_unit(self) -> float:
        return {"eventual": 0.5, "strong": 1.0, "transactional": 2.0}[self.value]


@dataclass(frozen=True, kw_only=True)
class Workload:
    """The steady-state traffic of one table (or index)."""

    #: Size of one item in bytes (1 to 400 KB).
    item_size_bytes: int
    #: Reads per second - 0 by default.
    reads_per_second: float = 0
    #: Consistency of those reads - eventually consistent by default.
    read_consistency: ReadConsistency = ReadConsistency.EVENTUAL
    #: Writes per second - 0 by default.
    writes_per_second: float = 0
    #: Whether the writes run inside ``TransactWriteItems`` (twice the cost) - no by default.
    transactional_writes: bool = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not 0 < self.item_size_bytes <= MAX_ITEM_BYTES:
            raise PropValidationError(
                name,
                "item_size_bytes",
                self.item_size_bytes,
                f"allowed: 1 to {MAX_ITEM_BYTES} bytes (DynamoDB's 400 KB item limit)",
            )
        for prop in ("reads_per_second", "writes_per_second"):
            value = getattr(self, prop)
            if value < 0 or math.isnan(value) or math.isinf(value):
                raise PropValidationError(name, prop, value, "allowed: a finite number >= 0")

    @classmethod
    def from_kb(
        cls,
        item_size_kb: float,
        *,
        reads_per_second: float = 0,
        read_consistency: ReadConsistency = ReadConsistency.EVENTUAL,
        writes_per_second: float = 0,
        transactional_writes: bool = False,
    ) -> Workload:
        """Same as the constructor with the item size in KB (1 KB = 1024 bytes)."""
        if not item_size_kb > 0:
            raise PropValidationError(cls.__name__, "item_size_kb", item_size_kb, "allowed: a number > 0")
        return cls(
            item_size_bytes=math.ceil(item_size_kb * KB),
            reads_per_second=reads_per_second,
            read_consistency=read_consistency,
            writes_per_second=writes_per_second,
            transactional_writes=transactional_writes,
        )


@dataclass(frozen=True)
class CapacityPlan:
    """Provisioned capacity that serves a :class:`Workload` at 100 % utilization."""

    read_capacity_units: int
    write_capacity_units: int
    read_units_per_item: int
    write_units_per_item: int

    def with_headroom(self, target_utilization_percent: float) -> CapacityPlan:
        """Capacity needed to run at ``target_utilization_percent`` (what auto scaling targets)."""
        if not 0 < target_utilization_percent <= 100:
            raise PropValidationError(
                "CapacityPlan",
                "target_utilization_percent",
                target_utilization_percent,
                "allowed: more than 0 and at most 100",
            )
        factor = 100 / target_utilization_percent
        return CapacityPlan(
            read_capacity_units=math.ceil(self.read_capacity_units * factor),
            write_capacity_units=math.ceil(self.write_capacity_units * factor),
            read_units_per_item=self.read_units_per_item,
            write_units_per_item=self.write_units_per_item,
        )


def plan(workload: Workload) -> CapacityPlan:
    """Capacity units for ``workload``; each figure is at least 1, the provisioned minimum."""
    read_units = math.ceil(workload.item_size_bytes / READ_UNIT_BYTES)
    write_units = math.ceil(workload.item_size_bytes / WRITE_UNIT_BYTES)
    rcu = workload.reads_per_second * read_units * workload.read_consistency.rcu_per_read_unit
    wcu = workload.writes_per_second * write_units * (2 if workload.transactional_writes else 1)
    return CapacityPlan(
        read_capacity_units=max(1, math.ceil(rcu)),
        write_capacity_units=max(1, math.ceil(wcu)),
        read_units_per_item=read_units,
        write_units_per_item=write_units,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dbpatterns.capacity",
        description="Turn a DynamoDB workload into provisioned read and write capacity units "
        "(DynamoDB's published rules: 4 KB per read unit, 1 KB per write unit, sizes round up).",
    )
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--item-size-kb", type=float, help="item size in KB (1 KB = 1024 bytes)")
    size.add_argument("--item-size-bytes", type=int, help="item size in bytes")
    parser.add_argument("--reads", type=float, default=0, help="reads per second (default 0)")
    parser.add_argument(
        "--consistency",
        choices=[c.value for c in ReadConsistency],
        default="eventual",
        help="read consistency (default eventual)",
    )
    parser.add_argument("--writes", type=float, default=0, help="writes per second (default 0)")
    parser.add_argument("--transactional-writes", action="store_true", help="writes use TransactWriteItems")
    parser.add_argument(
        "--target-utilization",
        type=float,
        default=None,
        help="also print the capacity for this auto-scaling target, in percent",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        size_kb = args.item_size_kb if args.item_size_kb is not None else args.item_size_bytes / KB
        workload = Workload.from_kb(
            size_kb,
            reads_per_second=args.reads,
            read_consistency=ReadConsistency(args.consistency),
            writes_per_second=args.writes,
            transactional_writes=args.transactional_writes,
        )
        result = plan(workload)
        headroom = None if args.target_utilization is None else result.with_headroom(args.target_utilization)
    except PropValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"read units per item:  {result.read_units_per_item} x 4 KB")
    print(f"write units per item: {result.write_units_per_item} x 1 KB")
    print(f"RCU: {result.read_capacity_units}")
    print(f"WCU: {result.write_capacity_units}")
    if headroom is not None:
        print(
            f"at {args.target_utilization:g}% target utilization: "
            f"RCU {headroom.read_capacity_units}, WCU {headroom.write_capacity_units}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
