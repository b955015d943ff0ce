"""SMS pacing never exceeds the configured rate, over any span."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from outreach.channels.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@given(
    rate=st.floats(min_value=0.5, max_value=50),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=2, max_size=60),
)
def test_no_two_sends_are_closer_than_the_rate_allows(rate: float, gaps: list[float]) -> None:
    fake = FakeTime()
    pacer = Pacer(rate, clock=fake.clock, sleep=fake.sleep)
    slots = []
    for gap in gaps:
        fake.now += gap  # the caller's own pauses between messages
        slots.append(pacer.wait())
    spacing = [b - a for a, b in itertools.pairwise(slots)]
    assert min(spacing) >= 1 / rate - 1e-9


def test_a_backlog_goes_out_at_the_rate_and_never_faster() -> None:
    fake = FakeTime()
    pacer = Pacer(10, clock=fake.clock, sleep=fake.sleep)
    for _ in range(101):
        pacer.wait()
    # 100 intervals at 10 per second: at least 10 s (never faster), at most 1% slower.
    assert 10.0 <= fake.now <= 10.1 + 1e-9
