"""The simulator plays Twilio as Twilio behaves, and the flows hold under it (issue 24 item 8).

Callbacks out of order and repeated (REFERENCE.md section 2), every machine verdict Twilio
sends, `SequenceNumber` counting on, the `<Dial action>` with `DialCallSid`, and 21610 after a
STOP Twilio itself received (REFERENCE.md section 4).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import Callbacks, ChannelError, Sms
from outreach.channels.pacing import Pacer
from outreach.channels.simulator import Poster, SimulatorChannel
from outreach.channels.simulator_scenarios import MACHINE_ANSWERS, Realism, ScriptedScenario
from outreach.models import Attempt, Delivery, OutreachTask
from outreach.runtime import runtime
from outreach.services.contact_persons import preferences
from outreach.services.delivery import calls, inbox
from outreach.services.delivery.outward import Outward
from tests.conftest import NOW
from tests.factories import World

CONTACT = "+14045550123"


class Recorder(Poster):
    """The real poster, keeping each callback's path and fields as posted."""

    def __init__(self, app: Flask) -> None:
        rt = runtime(app)
        super().__init__(app, rt.settings.webhook_token, rt.settings.public_url)
        self.posted: list[tuple[str, dict[str, str]]] = []

    def post(self, url: str, fields: dict[str, str]) -> str:
        self.posted.append((url.split("?")[0].rsplit("/twilio/", 1)[-1], dict(fields)))
        return super().post(url, fields)


def _channel(app: Flask, scenario: ScriptedScenario, seed: int) -> tuple[SimulatorChannel, Any]:
    recorder = Recorder(app)
    channel = SimulatorChannel(
        recorder,
        scenario,
        Pacer(1000, sleep=lambda _: None),
        background=False,
        realism=Realism.realistic(seed),
    )
    runtime(app).channel = channel
    return channel, recorder


def _outcomes(db: Session, task: OutreachTask) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(Attempt.outcome).where(Attempt.task_id == task.id)))


def _statuses(recorder: Recorder) -> list[dict[str, str]]:
    return [fields for route, fields in recorder.posted if route == "voice/status"]


def test_realistic_callbacks_come_out_of_order_and_twice_with_one_sequence_per_call(
    app: Flask, db: Session, world: World, intake: OutreachTask
) -> None:
    seen_disorder = seen_twice = False
    for seed in range(8):
        scenario = ScriptedScenario(calls=["machine"])
        channel, recorder = _channel(app, scenario, seed)
        calls.request_bridged_call(
            db, runtime(app).outward(), actor=world.actor("liaison"), task_id=intake.id, now=NOW
        )
        channel.run_pending()
        for sid in {f["CallSid"] for f in _statuses(recorder)}:
            numbers = [int(f["SequenceNumber"]) for f in _statuses(recorder) if f["CallSid"] == sid]
            assert set(numbers) == set(range(max(numbers) + 1))  # counted on, never restarted
            seen_disorder |= numbers != sorted(numbers)
            seen_twice |= len(numbers) != len(set(numbers))
        inbox.drain(db, NOW)
    assert seen_disorder
    assert seen_twice


def test_the_dial_action_names_her_leg_as_twilio_does(
    app: Flask, db: Session, world: World, intake: OutreachTask
) -> None:
    channel, recorder = _channel(app, ScriptedScenario(calls=["human"]), seed=1)
    calls.request_bridged_call(
        db, runtime(app).outward(), actor=world.actor("liaison"), task_id=intake.id, now=NOW
    )
    channel.run_pending()
    [done] = [fields for route, fields in recorder.posted if route == "voice/dial-done"]
    her_leg = {f["CallSid"] for f in _statuses(recorder)} - {done["CallSid"]}
    assert done["DialCallSid"] in her_leg
    assert done["DialCallStatus"] == "completed"


def test_every_machine_verdict_twilio_sends_is_a_machine_to_the_safe_check() -> None:
    realism = Realism.realistic(3)
    seen = {realism.machine(False) for _ in range(200)}
    assert seen == set(MACHINE_ANSWERS)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    answer=st.sampled_from(["human", "machine", "no-answer", "busy"]),
    digits=st.sampled_from(["1", "2", ""]),
)
def test_whatever_order_twilio_posts_in_a_safe_check_ends_the_same(
    app: Flask,
    db: Session,
    world: World,
    intake: OutreachTask,
    seed: int,
    answer: str,
    digits: str,
) -> None:
    """S5, S6: one attempt per call, and the outcome the person on the phone chose."""
    before = len(_outcomes(db, intake))
    channel, _ = _channel(app, ScriptedScenario(calls=[answer], digits=[digits]), seed)
    delivery = calls.place_safe_check_call(
        db, runtime(app).outward(), task_id=intake.id, now=NOW, actor=world.actor("liaison")
    )
    channel.run_pending()
    inbox.drain(db, NOW)
    expected = {
        "no-answer": "no_answer",
        "busy": "busy",
        "machine": "machine_hung_up",
    }.get(answer) or {"1": "reached_safe", "2": "reached_not_safe", "": "no_answer"}[digits]
    assert len(_outcomes(db, intake)) == before + 1  # one attempt, however often posted
    settled = db.get(Delivery, delivery.id)
    assert settled is not None
    assert settled.status == "settled"
    attempt = db.get(Attempt, settled.attempt_id)
    assert attempt is not None
    assert attempt.outcome == expected


def test_after_she_texts_stop_to_twilio_a_send_is_refused_with_21610(
    app: Flask, db: Session, world: World, intake: OutreachTask
) -> None:
    channel, _ = _channel(app, ScriptedScenario(), seed=5)
    inbound = runtime(app).settings.public_url + "/webhooks/twilio/sms/inbound"
    channel.text_from(CONTACT, "STOP", inbound)
    assert channel.keyword_replies == [(CONTACT, "STOP")]  # Twilio answered it itself
    assert preferences.current_preferences(db, world.contact.id).sms is False  # S2, at once
    out: Outward = runtime(app).outward()
    with pytest.raises(ChannelError) as refused:
        channel.send_sms(Sms(CONTACT, out.settings.neutral_number, "Hi", _links()))
    assert refused.value.code == "21610"
    assert refused.value.opted_out
    channel.text_from(CONTACT, "START", inbound)
    channel.send_sms(Sms(CONTACT, out.settings.neutral_number, "Hi", _links()))


def _links() -> Callbacks:
    return Callbacks("", "code-reminder")
