"""The capacity planner follows DynamoDB's published sizing rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dbpatterns.capacity import KB, CapacityPlan, ReadConsistency, Workload, main, plan
from dbpatterns.errors import PropValidationError


def test_eventually_consistent_reads_of_10_kb_items_round_up_to_three_read_units() -> None:
    # 10 KB rounds up to 12 KB = 3 read units; eventual consistency halves the cost:
    # 100 reads/s x 3 x 0.5 = 150 RCU. (The 125 RCU skips the round-up; AWS rounds up.)
    result = plan(Workload.from_kb(10, reads_per_second=100, read_consistency=ReadConsistency.EVENTUAL))
    assert result.read_units_per_item == 3
    assert result.read_capacity_units == 150


def test_writes_of_2_kb_items_cost_two_write_units_each() -> None:
    result = plan(Workload.from_kb(2, writes_per_second=50))
    assert result.write_units_per_item == 2
    assert result.write_capacity_units == 100


@pytest.mark.parametrize(
    ("consistency", "expected_rcu"),
    [(ReadConsistency.EVENTUAL, 50), (ReadConsistency.STRONG, 100), (ReadConsistency.TRANSACTIONAL, 200)],
)
def test_read_cost_follows_consistency(consistency: ReadConsistency, expected_rcu: int) -> None:
    assert plan(
        Workload.from_kb(4, reads_per_second=100, read_consistency=consistency)
    ).read_capacity_units == (expected_rcu)


def test_transactional_writes_cost_double() -> None:
    plain = plan(Workload.from_kb(1, writes_per_second=30))
    transactional = plan(Workload.from_kb(1, writes_per_second=30, transactional_writes=True))
    assert (plain.write_capacity_units, transactional.write_capacity_units) == (30, 60)


def test_item_size_rounds_up_to_the_next_unit_from_one_byte_over() -> None:
    at_limit = plan(
        Workload(item_size_bytes=4 * KB, reads_per_second=1, read_consistency=ReadConsistency.STRONG)
    )
    one_over = plan(
        Workload(item_size_bytes=4 * KB + 1, reads_per_second=1, read_consistency=ReadConsistency.STRONG)
    )
    assert (at_limit.read_units_per_item, one_over.read_units_per_item) == (1, 2)
    assert plan(Workload(item_size_bytes=1025, writes_per_second=1)).write_units_per_item == 2


def test_capacity_is_never_below_the_provisioned_minimum_of_one() -> None:
    result = plan(Workload.from_kb(1, reads_per_second=1))  # 0.5 RCU, no writes
    assert (result.read_capacity_units, result.write_capacity_units) == (1, 1)


def test_headroom_scales_capacity_to_the_auto_scaling_target() -> None:
    result = CapacityPlan(
        read_capacity_units=70, write_capacity_units=7, read_units_per_item=1, write_units_per_item=1
    )
    assert result.with_headroom(70) == CapacityPlan(100, 10, 1, 1)


@pytest.mark.parametrize("size", [0, -1, 400 * KB + 1])
def test_rejects_item_sizes_outside_dynamodb_limits(size: int) -> None:
    with pytest.raises(PropValidationError, match=r"item_size_bytes=.*allowed: 1 to 409600 bytes"):
        Workload(item_size_bytes=size, reads_per_second=1)


def test_rejects_zero_item_size_in_kb() -> None:
    with pytest.raises(PropValidationError, match=r"item_size_kb=0.*allowed: a number > 0"):
        Workload.from_kb(0)


def test_rejects_negative_rates() -> None:
    with pytest.raises(PropValidationError, match=r"writes_per_second=-5.*allowed: a finite number >= 0"):
        Workload.from_kb(1, writes_per_second=-5)


def test_cli_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--item-size-kb", "10", "--reads", "100", "--consistency", "eventual"]) == 0
    assert "RCU: 150" in capsys.readouterr().out


def test_cli_reports_bad_input_as_an_error_exit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--item-size-bytes", "0", "--writes", "1"]) == 2
    assert "item_size_kb=0.0" in capsys.readouterr().err


def test_cli_runs_as_a_module_with_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dbpatterns.capacity", "--help"], capture_output=True, text=True, check=True
    )
    assert "--item-size-kb" in result.stdout
    assert "--transactional-writes" in result.stdout
