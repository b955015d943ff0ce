"""SMS pacing: messages are spaced so the configured rate is never exceeded, over any span."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Slots are spaced 1% wider than the rate: the provider counts the moments requests reach
# it, not our slots, and scheduling jitter must never push any one-second window over.
MARGIN = 1.01


class Pacer:
    """Hand out send slots at most `rate` per second, evenly spaced.

    Even spacing (not a bucket that allows bursts) is deliberate: carriers flag bursts,
    and "never above the rate" must hold over every window, however short.
    """

    def __init__(
        self,
        rate_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("the SMS rate must be above zero")
        self.interval = MARGIN / rate_per_second
        self._clock, self._sleep = clock, sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next slot is due; answer the time the slot starts."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return slot
