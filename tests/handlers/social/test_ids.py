"""ULIDs: time order, range bounds and the predecessor that resumes a query strictly after an item."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbpatterns.handlers.social import ids

TIMES = st.integers(min_value=0, max_value=ids.MAX_TIME_MS)


@given(TIMES, TIMES)
def test_ulids_sort_like_their_times(first: int, second: int) -> None:
    a, b = ids.new_ulid(first), ids.new_ulid(second)
    if first < second:
        assert a < b
    assert ids.ulid_time_ms(a) == first
    assert ids.is_ulid(a)


@given(TIMES)
def test_every_ulid_of_a_millisecond_lies_between_its_bounds(time_ms: int) -> None:
    ulid = ids.new_ulid(time_ms)
    assert ids.lowest_ulid(time_ms) <= ulid <= ids.highest_ulid(time_ms)
    if time_ms < ids.MAX_TIME_MS:
        assert ids.highest_ulid(time_ms) < ids.lowest_ulid(time_ms + 1)


@given(TIMES)
def test_predecessor_is_the_largest_ulid_below(time_ms: int) -> None:
    ulid = ids.new_ulid(time_ms)
    before = ids.predecessor(ulid)
    assert before < ulid
    assert len(before) == ids.LENGTH
    assert ids._decode(ulid) - ids._decode(before) == 1


def test_rejects_a_time_outside_48_bits() -> None:
    with pytest.raises(ValueError, match="outside"):
        ids.new_ulid(-1)
