"""An absence marked on the attendance is news for the contacts who asked to hear of it.

A facilitator marks him absent on the group's page (or a program's system through the
attendance API, or a roster import); Caminar Latino gives her "general updates on the abusive
partner's attendance and progress" (seeds/001) and PCADV advises her of his attendance
(seeds/004 item 4). So the mark is recorded as the same `absent` event the events API takes,
and the status updates she asked for open from it as from any other event (issue 20 item 8).
The facilitator's answer is the attendance row alone: nothing of a contact reaches them (S7).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import EventType, Severity
from outreach.models import Group, Participant, Program
from outreach.services.attempts import tasks
from outreach.services.intake import events
from outreach.services.records.audit import Actor


def marked_absent(
    session: Session,
    profiles: tasks.Profiles,
    *,
    actor: Actor,
    participant: Participant,
    day: date,
    now: datetime,
) -> None:
    """In the caller's transaction: his absence from the session of `day`, as an event.

    A mark for a session before his record existed (a past roster brought in) is history, not
    news: no event can be dated before his record, so none is made (issue 19)."""
    at = min(_session_start(session, participant, day), now)
    if at.astimezone(UTC) < participant.created_at.astimezone(UTC):
        return
    events.record_event(
        session,
        profiles,
        actor=actor,
        participant=participant,
        event_type=EventType.ABSENT.value,
        at=at,
        severity=Severity.ROUTINE.value,
        now=now,
    )


def _session_start(session: Session, participant: Participant, day: date) -> datetime:
    """When the session he missed began, in his group's zone; midnight in the program's zone
    for a participant not placed in a group."""
    group = None if participant.group_id is None else session.get(Group, participant.group_id)
    if group is not None:
        return datetime.combine(day, group.start_time, ZoneInfo(group.timezone))
    program = session.get(Program, participant.program_id)
    zone = ZoneInfo(program.timezone) if program is not None else ZoneInfo("UTC")
    return datetime.combine(day, time(0), zone)
