"""The one place that reads the wall clock; tests and `outreach tick` pass a fixed one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told; `advance` moves it on."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs a timezone-aware time")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.at += timedelta(**delta)
