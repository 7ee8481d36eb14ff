"""Cursors: opaque, signed, bound to their query, expiring."""

from __future__ import annotations

import pytest

from dbpatterns.handlers.social.cursor import CursorCodec, InvalidCursorError
from tests.handlers.social.support import FakeClock

KEY = b"k" * 32


def test_a_cursor_round_trips_its_state() -> None:
    codec = CursorCodec(KEY)
    cursor = codec.encode("feed", {"b": 1, "p": {"0": "X"}})
    assert codec.decode("feed", cursor) == {"b": 1, "p": {"0": "X"}}


def test_rejects_an_altered_cursor() -> None:
    codec = CursorCodec(KEY)
    body, mac = codec.encode("feed", {"b": 1}).split(".")
    forged = CursorCodec(b"x" * 32).encode("feed", {"b": 2}).split(".")[0]
    with pytest.raises(InvalidCursorError, match="altered"):
        codec.decode("feed", f"{forged}.{mac}")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    with pytest.raises(InvalidCursorError):
        codec.decode("feed", f"{flipped}.{mac}")


def test_rejects_a_cursor_of_another_query() -> None:
    codec = CursorCodec(KEY)
    cursor = codec.encode("posts|A", {"before": "X"})
    with pytest.raises(InvalidCursorError, match="another query"):
        codec.decode("posts|B", cursor)


def test_rejects_an_expired_cursor() -> None:
    clock = FakeClock()
    codec = CursorCodec(KEY, max_age_seconds=60, clock=clock)
    cursor = codec.encode("feed", {})
    clock.advance(61)
    with pytest.raises(InvalidCursorError, match="expired"):
        codec.decode("feed", cursor)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "!!!.???", "x" * 3000])
def test_rejects_garbage(garbage: str) -> None:
    with pytest.raises(InvalidCursorError):
        CursorCodec(KEY).decode("feed", garbage)


def test_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        CursorCodec(b"short")
