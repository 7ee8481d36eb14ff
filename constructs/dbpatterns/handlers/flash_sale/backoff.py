"""How long a message that failed for a transient reason stays invisible before SQS delivers it again.

The queue's visibility timeout (at least 6 x the function timeout plus the batching window) is sized
for a *running* invocation, not as a retry delay: a transient ``TransactionConflict`` on the hot
product item clears in milliseconds. So the processor shortens the visibility of such a message with
``ChangeMessageVisibility`` to ``visibility_backoff_seconds(receive_count)``: exponential in the
number of receives, with "equal jitter" (a random value between half the ceiling and the ceiling), so
retries spread out, never come back at once, and back off further while the conflicts last.

Receive 1: 1-2 s, 2: 2-4 s, 3: 4-8 s, 4: 8-16 s, 5: 16-32 s, 6: 32-64 s, then 60-120 s. Each receive
counts towards the queue's maxReceiveCount; with 5 receives a message spends at least 15 s backing off
before the dead-letter queue, with 10 at least about 4 minutes (see NOTES for the construct's default).
"""

from __future__ import annotations

import random
from typing import Final

BASE_SECONDS: Final = 2
"""Ceiling of the first backoff."""
CAP_SECONDS: Final = 120
"""Largest ceiling: two minutes, still shorter than the queue's visibility timeout."""


def visibility_backoff_seconds(receive_count: int, rng: random.Random | None = None) -> int:
    """Seconds of invisibility for a message received ``receive_count`` times (1-based), at least 1."""
    exponent = min(max(receive_count, 1) - 1, 16)  # 2**16 * 2 s is far above the cap: no overflow
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2**exponent)
    draw = (rng or _rng).randint(ceiling // 2, ceiling)
    return max(1, draw)


_rng: Final = random.Random()  # noqa: S311 - jitter spreads retries, it protects no secret
