"""The simulator's stories: who answers a simulated call (a person, a machine, nobody, busy),
which keys she and the liaison press, whether a text is delivered, and how orderly Twilio's
status callbacks arrive: calm for the demo, realistic (shuffled, some twice) for the tests.
A seeded generator draws them, so a demo or a failing test replays the same story; nothing
drawn here is a secret."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

Post = Callable[[], object]  # one callback, posted when called
# Twilio's AnsweredBy values for anything but a person (docs/voice/answering-machine-detection).
MACHINE_ANSWERS = (
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
)


class Realism:
    """Calm (no generator): each status callback once, in order. Realistic: a seeded
    generator shuffles each call's status callbacks and repeats some."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng

    @classmethod
    def realistic(cls, seed: int = 24) -> Realism:
        return cls(random.Random(seed))  # noqa: S311 - a replayable story, not a secret

    @property
    def calm(self) -> bool:
        return self._rng is None

    def order(self, callbacks: list[Post]) -> list[Post]:
        if self._rng is None:
            return callbacks
        played = callbacks + [c for c in callbacks if self._rng.random() < 0.3]
        self._rng.shuffle(played)
        return played

    def machine(self, waits_for_the_beep: bool) -> str:
        if self._rng is None:
            return "machine_end_beep" if waits_for_the_beep else "machine_start"
        return self._rng.choice(MACHINE_ANSWERS)


class Scenario:
    """Who answers: "human", "machine", "no-answer" or "busy"; digits for safe-checks; the key
    the liaison presses on their own leg of a bridged call."""

    def next_call(self) -> str:
        raise NotImplementedError

    def next_digits(self) -> str:
        raise NotImplementedError

    def next_sms(self) -> str:
        raise NotImplementedError

    def next_liaison_key(self) -> str:
        # A liaison at their desk presses 1; "" plays their own voicemail answering instead.
        return "1"


class RandomScenario(Scenario):
    """A seeded mix, so every demo shows the same story."""

    def __init__(self, seed: int = 2026) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - a story, not a secret

    def next_call(self) -> str:
        return self._rng.choices(["human", "machine", "no-answer", "busy"], [5, 3, 2, 1])[0]

    def next_digits(self) -> str:
        return self._rng.choices(["1", "2", ""], [5, 2, 1])[0]

    def next_sms(self) -> str:
        return self._rng.choices(["delivered", "undelivered"], [9, 1])[0]


@dataclass
class ScriptedScenario(Scenario):
    """Outcomes in a given order, for tests: calls like "machine", "human"; digits; SMS; the
    liaison's keys on bridged calls ("" for their voicemail)."""

    calls: list[str] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    sms: list[str] = field(default_factory=list)
    liaison_keys: list[str] = field(default_factory=list)

    def next_call(self) -> str:
        return self.calls.pop(0) if self.calls else "human"

    def next_digits(self) -> str:
        return self.digits.pop(0) if self.digits else "1"

    def next_sms(self) -> str:
        return self.sms.pop(0) if self.sms else "delivered"

    def next_liaison_key(self) -> str:
        return self.liaison_keys.pop(0) if self.liaison_keys else "1"
