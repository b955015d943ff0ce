"""How a followed call's stage is read from its stored callbacks (issue 22 item 2).

Callbacks arrive in any order and some twice (issue 24): the stage must not depend on their
order, and a machine must never be shown as a person who should be asked how it went (S3,
S14)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from outreach.models import Delivery
from outreach.services.attempts.call_progress import Event, Stage, stage_of

AT = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)


def _event(route: str, key: str = "", leg: str = "", status: str = "") -> Event:
    return Event(route, key, leg, status, AT)


# Every callback a bridged call may store, as services/delivery/inbox.py keeps them.
ALL = [
    _event("status", "status:liaison:CA1:ringing", "liaison", "ringing"),
    _event("bridge", "bridge:CA1"),
    _event("status", "status:liaison:CA1:in-progress", "liaison", "in-progress"),
    _event("bridge-confirm", "bridge-confirm:CA1:1"),
    _event("status", "status:contact:CA2:ringing", "contact", "ringing"),
    _event("screen", "screen:CA2"),
    _event("screen-answer", "screen-digits:CA2:1"),
    _event("status", "status:contact:CA2:completed", "contact", "completed"),
    _event("status", "status:liaison:CA1:completed", "liaison", "completed"),
]


def _call(**fields: object) -> Delivery:
    values: dict[str, object] = {"kind": "bridged_call", "status": "sent"}
    values.update(fields)
    return Delivery(**values)


def test_each_step_of_a_call_shows_in_words_in_order() -> None:
    call = _call(provider_status="queued")
    seen = [stage_of(call, ALL[:n]) for n in range(len(ALL))]
    assert seen[0] is Stage.RINGING_YOU
    assert seen[2] is Stage.PRESS_ONE
    assert seen[4] is Stage.DIALLING_HER
    assert seen[6] is Stage.SCREENING
    assert stage_of(_call(status="pending"), []) is Stage.PLACING


@given(st.permutations(ALL), st.sampled_from([None, "unknown", "machine_start", "human"]))
def test_the_stage_does_not_depend_on_the_order_callbacks_came_in(
    events: list[Event], answered_by: str | None
) -> None:
    call = _call(answered_by=answered_by, status="in_progress")
    assert stage_of(call, events) is stage_of(call, ALL)
    doubled = events + events[: len(events) // 2]  # repeated callbacks change nothing
    assert stage_of(call, doubled) is stage_of(call, ALL)


@given(
    st.lists(st.sampled_from(ALL)),
    st.sampled_from([None, "unknown", "machine_start", "fax"]),
    st.sampled_from(["sent", "in_progress", "settled", "unknown", "refused"]),
)
def test_only_a_person_who_pressed_1_is_ever_asked_about(
    events: list[Event], answered_by: str | None, status: str
) -> None:
    # S3: no key on her screen is a machine; S14: only a person's call asks for its outcome.
    stage = stage_of(_call(answered_by=answered_by, status=status), events)
    assert stage not in (Stage.PERSON, Stage.RECORDED)


def test_her_leg_ending_unanswered_or_busy_says_so_before_the_applier_runs() -> None:
    ended = ALL[:5]
    no_answer = [*ended, _event("status", "", "contact", "no-answer")]
    busy = [*ended, _event("status", "", "contact", "busy")]
    assert stage_of(_call(), no_answer) is Stage.NO_ANSWER
    assert stage_of(_call(), busy) is Stage.BUSY
    unconfirmed = [ALL[1], _event("status", "", "liaison", "completed")]
    assert stage_of(_call(), unconfirmed) is Stage.NOT_PLACED  # she was never dialled
