"""Each task's program time zone, for the supervisor's pages (issue 22 item 5).

A supervisor reads every time on the compliance and sign-off pages in the zone of the program
the task belongs to, named beside it, as the attempt log and the task page do: "15:00 New York
time", never a bare UTC time a Denver supervisor has to convert in her head.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import OutreachTask, Program


def task_zones(session: Session, task_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ZoneInfo]:
    """The program zone of each task named; the caller has already checked who may see them."""
    wanted = list(set(task_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(OutreachTask.id, Program.timezone)
        .join(Program, Program.id == OutreachTask.program_id)
        .where(OutreachTask.id.in_(wanted))
    )
    return {task_id: ZoneInfo(zone) for task_id, zone in rows}
