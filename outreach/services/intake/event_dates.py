"""Program events about a day still to come (vocabulary.DATED_EVENTS): a planned discharge
carries `discharge_on`, and the contact it requires is due before that day (seeds/001,
Colorado: the advocate is consulted "prior to discharge"; issue 20 item 7).

The day is the program's, read in the program's own time zone; it is refused, before anything
is written, when missing, given to an event that carries none, or already past.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import DATED_EVENTS, EventType
from outreach.models import Program
from outreach.services.errors import Invalid

# Every field an event may carry a day in, for entry points that read them all.
DAY_FIELDS = tuple(sorted(set(DATED_EVENTS.values())))
# The day in the words of the person at the screen, the field named for a program's system.
_WORDS = {
    "discharge_on": "the day of the planned discharge (discharge_on)",
    "report_date": "the date of the court report (report_date)",
}


@dataclass(frozen=True)
class PlannedDay:
    """The day an event is about, and the instant that day begins for the program."""

    day: date | None = None
    begins: datetime | None = None


def planned_day(
    session: Session,
    program_id: uuid.UUID,
    kind: EventType,
    at: datetime,
    days: Mapping[str, date | None],
) -> PlannedDay:
    """Check the days given with an event and answer the one it is about (422 naming the
    field otherwise)."""
    field = DATED_EVENTS.get(kind)
    for name, value in days.items():
        if value is not None and name != field:
            raise Invalid(
                f"{_WORDS.get(name, name)} goes only with its own event", {name: "not expected"}
            )
    if field is None:
        return PlannedDay()
    day = days.get(field)
    if day is None:
        raise Invalid(f"give {_WORDS[field]}", {field: "required"})
    zone = ZoneInfo(_program(session, program_id).timezone)
    if day < at.astimezone(zone).date():
        raise Invalid(f"{_WORDS[field]} has already passed", {field: "in the past"})
    return PlannedDay(day, datetime.combine(day, time(0), tzinfo=zone))


def _program(session: Session, program_id: uuid.UUID) -> Program:
    program = session.get(Program, program_id)
    assert program is not None  # a participant's program always exists (foreign key)
    return program
