"""Recording on a task from the liaison's pages: only under the claim, in the contact's time.

The times a liaison types are wall-clock times in the zone the task page shows them in (the
contact's stated zone, else the program's; `contacts.contact_zone` decides for both). They
are made aware here, so a call logged at "19:05" means 19:05 where the contact is, whatever
the server or the program's zone is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.domain import validation
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Channel, EntryPoint, TaskStatus
from outreach.models import Attempt, Delivery, OutreachTask
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing, tasks
from outreach.services.contact_persons import preference_changes
from outreach.services.delivery import calls
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict, Invalid, NotFound, ServiceError
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import claims, queue
from outreach.services.scheduling.planning import plan_open_tasks


def record_attempt(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    task_id: uuid.UUID,
    channel: str,
    local_at: datetime | None,
    outcome: str,
    local_callback: datetime | None,
    notes: str,
    now: datetime,
    reason: str = "",
    late_after: timedelta = attempt_log.ENTERED_LATE_AFTER,
    answered_call: uuid.UUID | None = None,
) -> Attempt:
    """Log an attempt on a task the actor holds; a decline stops all contact (S1).

    An odd time needs the liaison's `reason` (S14). `answered_call` names the call a person
    answered whose outcome this is: it happened when that call was placed, by voice (S14)."""
    # The claim comes first: only its holder (never a facilitator) reaches the contact's zone.
    claims.require_claim(session, actor, task_id, now)
    zone = task_zone(session, task_id)
    at = _aware(local_at, zone, "at") if local_at else now
    if answered_call is not None:
        at, channel = _placed_at(session, answered_call), Channel.VOICE.value
    return attempt_log.record_attempt(
        session,
        vault,
        actor=actor,
        task_id=task_id,
        channel=channel,
        at=at,
        outcome=outcome,
        now=now,
        callback_at=_aware(local_callback, zone, "callback_at") if local_callback else None,
        notes=notes or None,
        entry=attempt_log.Entry(EntryPoint.WEB, reason, late_after),
        answered_call=answered_call,
    )


def _placed_at(session: Session, call_id: uuid.UUID) -> datetime:
    call = session.get(Delivery, call_id)
    if call is None:
        raise Invalid("that call has no outcome to record", {"call": "invalid"})
    return call.sent_at or call.created_at


def record_attempt_for_caller(
    session: Session,
    *,
    actor: Actor,
    task_id: uuid.UUID,
    channel: str,
    at: datetime,
    outcome: str,
    callback_at: datetime | None,
    reason: str | None,
    late_after: timedelta,
    now: datetime,
) -> Attempt:
    """The API's attempt: under the caller's claim, taken on their behalf when nobody holds the
    task (INTERFACES: POST /tasks/{id}/attempts); 409 while another liaison holds it."""
    took = claim_unless_held(session, actor, task_id, now)
    try:
        return attempt_log.record_attempt(
            session,
            None,
            actor=actor,
            task_id=task_id,
            channel=channel,
            at=at,
            outcome=outcome,
            now=now,
            callback_at=callback_at,
            entry=attempt_log.Entry(EntryPoint.API, reason, late_after),
        )
    except ServiceError:
        give_back(session, actor, task_id, took)
        raise


def close_for_caller(
    session: Session, *, actor: Actor, task_id: uuid.UUID, resolution: str, now: datetime
) -> OutreachTask:
    """The API's close: under the caller's claim, taken on their behalf when nobody holds it."""
    took = claim_unless_held(session, actor, task_id, now)
    try:
        return closing.close_task(
            session, actor=actor, task_id=task_id, resolution=resolution, now=now
        )
    except ServiceError:
        give_back(session, actor, task_id, took)
        raise


def claim_unless_held(session: Session, actor: Actor, task_id: uuid.UUID, now: datetime) -> bool:
    """Two liaisons never work one task at once, whatever they work it through (S5, S14).

    The web asks for the claim first; a program system's token has no claim button, so its
    write takes the claim for its liaison (audited as any claim, renewed if already held) and
    is refused while another liaison holds it. A closed task is left to refuse on its own.
    Answers whether the claim was taken just now, for the caller to give back if refused."""
    task = tasks.task_to_work(session, actor, task_id, now)
    if actor.user_id is None or task.status != TaskStatus.OPEN:
        return False
    held = claims.holds_claim(task, actor, now)
    claims.claim_task(session, actor=actor, task_id=task_id, now=now)
    return not held


def give_back(session: Session, actor: Actor, task_id: uuid.UUID, took: bool) -> None:
    """A write the claim was taken for was refused: the task goes back to the queue at once
    rather than stay held for half an hour by a write that never happened."""
    session.rollback()
    task = session.get(OutreachTask, task_id)
    if took and task is not None and task.claimed_by == actor.user_id:
        task.claimed_by, task.claim_expires_at = None, None
        task.claim_version += 1
        session.commit()


def close(
    session: Session, *, actor: Actor, task_id: uuid.UUID, resolution: str, now: datetime
) -> OutreachTask:
    """Close a task the actor holds; unreachable only after the minimum (S5)."""
    claims.require_claim(session, actor, task_id, now)
    return closing.close_task(session, actor=actor, task_id=task_id, resolution=resolution, now=now)


def task_reference(session: Session, actor: Actor, task_id: uuid.UUID, now: datetime) -> str:
    """The contact's opaque reference for a confirmation page (no name, no number), for a
    liaison who may work the task."""
    return queue.reference(tasks.task_to_work(session, actor, task_id, now).contact_id)


def change_rhythm(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    task_id: uuid.UUID,
    cadence: str,
    now: datetime,
) -> None:
    """S13: record the rhythm she chose in conversation, on a task the actor holds."""
    _her_word(session, vault, profiles, actor, task_id, {"cadence": cadence}, now)


def change_updates(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    task_id: uuid.UUID,
    wanted: bool,
    now: datetime,
) -> None:
    """Issue 20 item 8: record, after a conversation, whether she wants status updates on his
    attendance and progress, on a task the actor holds (audited as any preference change)."""
    _her_word(session, vault, profiles, actor, task_id, {"updates": wanted}, now)


def change_channels(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    task_id: uuid.UUID,
    channels: Mapping[str, bool],
    now: datetime,
) -> None:
    """S1: she narrows (or widens) contact by channel in conversation, without declining:
    "please don't call me again" turns voice off and leaves the texts she wants."""
    _her_word(session, vault, profiles, actor, task_id, dict(channels), now)


def _her_word(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    actor: Actor,
    task_id: uuid.UUID,
    changes: dict[str, object],
    now: datetime,
) -> None:
    claims.require_claim(session, actor, task_id, now)
    task = tasks.task_to_work(session, actor, task_id, now)
    preference_changes.change_preferences(
        session,
        vault,
        profiles,
        actor=actor,
        contact_id=task.contact_id,
        changes=changes,
        now=now,
        source="liaison",
    )


def task_zone(session: Session, task_id: uuid.UUID) -> ZoneInfo:
    """The zone the task's page shows times in, so typed times are read in that same zone."""
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    return tasks.contact_zone_of(session, task)


def _aware(local: datetime, zone: ZoneInfo, field: str) -> datetime:
    if local.tzinfo is not None:
        raise Invalid("give a local time without a zone", {field: "invalid"})
    try:
        return validation.local_instant(field, local, zone)
    except validation.InvalidInput as exc:
        raise Invalid(str(exc), {field: "nonexistent"}) from None


class NoWindowOpen(Conflict):
    """No proposed window is open now: the liaison is asked before the call is placed (S4)."""

    def __init__(self, next_window: datetime | None) -> None:
        super().__init__("no proposed call window is open now")
        self.next_window = next_window


def place_call(
    session: Session,
    out: Outward,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    task_id: uuid.UUID,
    now: datetime,
    calling_hours: tuple[time, time],
    outside_window: bool = False,
) -> Delivery:
    """Ring the liaison who holds the task, then the contact from the neutral number (S9).

    Outside a proposed window he may be at home (a session he missed, or no session at all),
    so the call goes only when she says so, and that choice is audited (S4). Refusing it
    outright would fail a contact who just asked to be called now; the windows are proposals.
    """
    claims.require_claim(session, actor, task_id, now)
    windows = plan_open_tasks(
        session, profiles, now=now, days=8, calling_hours=calling_hours, task_ids=[task_id]
    ).windows
    if not any(w.start <= now < w.end for w in windows):
        if not outside_window:
            raise NoWindowOpen(min((w.start for w in windows if w.start > now), default=None))
        record(
            session,
            now=now,
            actor=actor,
            action=AuditAction.CALL_OUTSIDE_WINDOW,
            object_type="task",
            object_id=task_id,
        )
    try:
        return calls.request_bridged_call(session, out, actor=actor, task_id=task_id, now=now)
    except ServiceError:
        session.rollback()  # the audit row goes with the call that was not placed
        raise
