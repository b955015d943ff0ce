"""How the liaison's call is going, in words, while it happens (issue 22 item 2).

After "Call" the task page follows the bridged call: her own phone ringing, her "press 1",
the contact's phone ringing, then a person, a machine or no answer. Everything here is read
from the delivery row and the callbacks stored for it (services/delivery/inbox.py), including status
callbacks the applier has not applied yet, so the page keeps up with the call rather than
with the applier. Nothing here names or numbers anyone: the words go to the page and to its
small polling script, never a phone number or a name (S10).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import DeliveryKind, DeliveryStatus
from outreach.models import Delivery, OutreachTask, WebhookEvent
from outreach.security.permissions import Permission
from outreach.services.delivery.callbacks import CALL_RANK, FINAL_CALL
from outreach.services.errors import NotFound
from outreach.services.records.audit import Actor
from outreach.services.scheduling import queue
from outreach.services.staff.access import require_on_task
from outreach.services.supervision import holds

# A call is followed on the task page for this long after "Call" was pressed; past it, what
# became of it is in the attempts (or, for a person who answered, asked until recorded, S14).
FOLLOWED_FOR = timedelta(minutes=30)


class Stage(StrEnum):
    """Where the bridged call is, in the order a call goes through them."""

    PLACING = "placing"
    RINGING_YOU = "ringing_you"
    PRESS_ONE = "press_one"
    DIALLING_HER = "dialling_her"
    SCREENING = "screening"
    PERSON = "person"
    RECORDED = "recorded"
    MACHINE = "machine"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    NOT_PLACED = "not_placed"
    UNKNOWN = "unknown"


WORDS = {
    Stage.PLACING: "Placing the call…",
    Stage.RINGING_YOU: "Your phone is ringing. Answer it.",
    Stage.PRESS_ONE: "Your phone answered. Press 1 on it to have her number dialled.",
    Stage.DIALLING_HER: "You pressed 1. Her phone is ringing; she sees the neutral number.",
    Stage.SCREENING: (
        "Her phone answered. She is asked to press a key before you are put through, "
        "so a voicemail never hears you."
    ),
    Stage.PERSON: (
        "A person answered and you are put through. Safe to talk first; then record how it went."
    ),
    Stage.RECORDED: "A person answered. Its outcome is recorded.",
    Stage.MACHINE: (
        "A machine or no one pressed a key: the call was ended in silence. "
        'It goes in the attempts as "machine, hung up".'
    ),
    Stage.VOICEMAIL: (
        "A machine answered: the neutral message she allowed was left. "
        'It goes in the attempts as "voicemail".'
    ),
    Stage.NO_ANSWER: 'Her phone was not answered. It goes in the attempts as "no answer".',
    Stage.BUSY: 'Her line was busy. It goes in the attempts as "busy".',
    Stage.NOT_PLACED: (
        "The call did not go ahead: her number was never dialled "
        "(your phone was not answered, 1 was not pressed, or the task changed meanwhile). "
        "Nothing is logged about her."
    ),
    Stage.UNKNOWN: (
        "The phone company could not tell us how the call ended. If you spoke with her, "
        "record the outcome below."
    ),
}
# The stages after which nothing more happens on the line the page needs to follow.
FINISHED = frozenset(
    {
        Stage.PERSON,
        Stage.RECORDED,
        Stage.MACHINE,
        Stage.VOICEMAIL,
        Stage.NO_ANSWER,
        Stage.BUSY,
        Stage.NOT_PLACED,
        Stage.UNKNOWN,
    }
)


@dataclass(frozen=True)
class Event:
    """One stored callback of the call, reduced to what its progress needs."""

    route: str
    key: str
    leg: str
    status: str
    at: datetime


@dataclass(frozen=True)
class Progress:
    call_id: uuid.UUID
    stage: Stage
    placed_at: datetime
    # When a person answered: the time the outcome form is filled in with (S14: when it happened).
    answered_at: datetime | None

    @property
    def words(self) -> str:
        return WORDS[self.stage]

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED

    @property
    def asks_outcome(self) -> bool:
        """S14: a person answered and nobody has recorded how it went yet."""
        return self.stage is Stage.PERSON

    def answered_local(self, zone: ZoneInfo) -> str:
        """When she answered, as the outcome form's time field takes it (her wall clock)."""
        moment = self.answered_at or self.placed_at
        return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    def as_json(self, zone: ZoneInfo) -> dict[str, object]:
        return {
            "call": str(self.call_id),
            "stage": self.stage.value,
            "words": self.words,
            "finished": self.finished,
            "asks_outcome": self.asks_outcome,
            "answered_at": self.answered_local(zone) if self.asks_outcome else None,
        }


def stage_of(delivery: Delivery, events: Iterable[Event]) -> Stage:
    """The furthest point the call has reached, from the row and its stored callbacks.

    Callbacks arrive in any order and some twice; each only ever moves the call forward, so
    the answer is the same whatever order they came in."""
    found = list(events)
    settled = _settled_stage(delivery, found)
    if settled is not None:
        return settled
    if any(e.route == "screen" or e.route == "screen-answer" for e in found):
        return Stage.SCREENING
    if any(e.route == "bridge-confirm" and e.key.endswith(":1") for e in found):
        return Stage.DIALLING_HER
    if _contact_status(delivery, found) is not None:
        return Stage.DIALLING_HER
    if any(e.route == "bridge" for e in found):
        return Stage.PRESS_ONE
    if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.IN_PROGRESS):
        return Stage.RINGING_YOU
    return Stage.PLACING


def _settled_stage(delivery: Delivery, events: list[Event]) -> Stage | None:
    """What a call that is over (or answered by a person) came to; None while it goes on."""
    if delivery.answered_by == "human":
        return Stage.RECORDED if delivery.attempt_id is not None else Stage.PERSON
    if delivery.status in (DeliveryStatus.REFUSED, DeliveryStatus.FAILED):
        return Stage.NOT_PLACED
    if delivery.digits == "vm":
        return Stage.VOICEMAIL
    if delivery.answered_by is not None and (
        delivery.status == DeliveryStatus.SETTLED or any(e.route == "screen-answer" for e in events)
    ):
        return Stage.MACHINE  # no 1 on her screen: hung up in silence (S3)
    status = _contact_status(delivery, events)
    if status == "busy":
        return Stage.BUSY
    if status in FINAL_CALL - {"completed", "busy"}:
        return Stage.NO_ANSWER
    if delivery.status == DeliveryStatus.UNKNOWN:
        return Stage.UNKNOWN
    if delivery.status == DeliveryStatus.SETTLED or _liaison_leg_ended_unconfirmed(events):
        return Stage.NOT_PLACED  # settled with nothing from her leg: she was never dialled
    return None


def _contact_status(delivery: Delivery, events: list[Event]) -> str | None:
    """The furthest status of her leg, applied or still waiting in the inbox; None before
    her phone rings (the row's "queued" at placing is the liaison's leg, not hers)."""
    statuses = [e.status for e in events if e.route == "status" and e.leg == "contact"]
    statuses += [delivery.provider_status] if delivery.provider_status else []
    found = max(statuses, key=lambda s: CALL_RANK.get(s, -1), default=None)
    return found if CALL_RANK.get(found or "", -1) >= CALL_RANK["ringing"] else None


def _liaison_leg_ended_unconfirmed(events: list[Event]) -> bool:
    ended = any(
        e.route == "status" and e.leg == "liaison" and e.status in FINAL_CALL for e in events
    )
    confirmed = any(e.route == "bridge-confirm" and e.key.endswith(":1") for e in events)
    return ended and not confirmed


# --- reading ----------------------------------------------------------------------------------


def followed_call(
    session: Session, actor: Actor, task: OutreachTask, now: datetime
) -> Progress | None:
    """The call this liaison placed on the task lately, as it stands; None when there is none
    or its outcome is already in the attempts."""
    call = session.scalar(
        select(Delivery)
        .where(
            Delivery.task_id == task.id,
            Delivery.kind == DeliveryKind.BRIDGED_CALL,
            Delivery.requested_by == actor.user_id,
            Delivery.created_at > now - FOLLOWED_FOR,
        )
        .order_by(Delivery.created_at.desc())
        .limit(1)
    )
    if call is None:
        return None
    found = _progress(session, call)
    return None if found.stage is Stage.RECORDED else found


def call_progress(
    session: Session, actor: Actor, *, task_id: uuid.UUID, call_id: uuid.UUID, now: datetime
) -> Progress:
    """One call of a task, for the page's polling script: anyone who may open the task."""
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no such call", {"call": "unknown"})
    require_on_task(session, actor, Permission.CONTACT_READ, task, now)
    call = session.get(Delivery, call_id)
    if call is None or call.task_id != task_id or call.kind != DeliveryKind.BRIDGED_CALL:
        raise NotFound("no such call", {"call": "unknown"})
    if holds.is_held(session, task) and not queue.sees_held(actor):
        raise NotFound("no such call", {"call": "unknown"})  # S1/S8: as the task page
    return _progress(session, call)


def _progress(session: Session, call: Delivery) -> Progress:
    events = _events(session, call.id)
    stage = stage_of(call, events)
    answered = min((e.at for e in events if e.route == "screen-answer"), default=None)
    return Progress(call.id, stage, call.sent_at or call.created_at, answered)


def _events(session: Session, call_id: uuid.UUID) -> list[Event]:
    rows = session.execute(
        select(
            WebhookEvent.route,
            WebhookEvent.natural_key,
            WebhookEvent.fields,
            WebhookEvent.received_at,
        ).where(WebhookEvent.delivery_id == call_id)
    )
    return [
        Event(route, key, str(fields.get("leg", "")), str(fields.get("CallStatus", "")), at)
        for route, key, fields, at in rows
    ]
