"""A participant's status over time, read from his program events (S4, S13).

The replay itself is domain/participation.py; this reads the events it needs in one query
for any number of participants.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.domain.participation import STATUS_EVENTS, Mark, Timeline
from outreach.domain.vocabulary import EventType
from outreach.models import Participant, ProgramEvent


def timelines(session: Session, created: Mapping[uuid.UUID, datetime]) -> dict[uuid.UUID, Timeline]:
    """Each participant's timeline; `created` maps his id to when his record was created."""
    marks: dict[uuid.UUID, list[Mark]] = defaultdict(list)
    if created:
        for participant_id, kind, at, recorded_at in session.execute(
            select(
                ProgramEvent.participant_id,
                ProgramEvent.type,
                ProgramEvent.at,
                ProgramEvent.created_at,
            ).where(
                ProgramEvent.participant_id.in_(list(created)),
                ProgramEvent.type.in_([e.value for e in STATUS_EVENTS]),
            )
        ):
            marks[participant_id].append(Mark(EventType(kind), at, recorded_at))
    return {pid: Timeline(marks.get(pid, ()), since) for pid, since in created.items()}


def timeline_of(session: Session, participant: Participant) -> Timeline:
    """One participant's timeline."""
    return timelines(session, {participant.id: participant.created_at})[participant.id]


def marks_of(session: Session, participant_id: uuid.UUID) -> list[Mark]:
    """Every status event recorded for him so far, to check a new one against."""
    return [
        Mark(EventType(kind), at, recorded_at)
        for kind, at, recorded_at in session.execute(
            select(ProgramEvent.type, ProgramEvent.at, ProgramEvent.created_at).where(
                ProgramEvent.participant_id == participant_id,
                ProgramEvent.type.in_([e.value for e in STATUS_EVENTS]),
            )
        )
    ]


def recording_time(session: Session, participant_id: uuid.UUID, now: datetime) -> datetime:
    """When a new event of his is recorded: now, or a microsecond after his last one when the
    clock has not moved since (one import, one request, a frozen clock). Events dated the same
    instant are taken in the order they were recorded (participation.Mark.key), so that order
    must be kept, whatever order the database hands the rows back in."""
    last = session.scalar(
        select(func.max(ProgramEvent.created_at)).where(
            ProgramEvent.participant_id == participant_id
        )
    )
    return now if last is None or last < now else last + timedelta(microseconds=1)
