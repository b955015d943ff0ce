"""Her word on channels reaches every open task (S1: "a task only uses channels both the
protocol and her current permissions allow").

A change of her preferences re-derives the channels of her open tasks from the protocol and
her new permissions, both ways ("no calls, texts are fine", and later "calls are fine again"),
each change audited. A duty to warn that reaches her over a refusal (consent_override) keeps
its one call: only a supervisor's confirmation governs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.engine import channels_for
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import TaskReason, TaskStatus
from outreach.models import ContactPerson, ContactPreferences, OutreachTask, Program
from outreach.services.contact_persons import her_word, preferences
from outreach.services.records.audit import Actor, AuditAction, record


def change_preferences(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
    source: str = "liaison",
) -> ContactPreferences:
    """Record her new preferences, then re-derive her open tasks' channels."""
    row = her_word.change_preferences(
        session, actor=actor, contact_id=contact_id, changes=changes, now=now, source=source
    )
    rederive(session, profiles, actor=actor, contact_id=contact_id, now=now)
    return row


def rederive(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    now: datetime,
) -> int:
    """Set each open task's channels to what the protocol and her permissions allow now."""
    contact = session.get(ContactPerson, contact_id)
    program = session.get(Program, contact.program_id) if contact else None
    profile = profiles.get(program.protocol) if program else None
    if profile is None:
        return 0
    prefs = preferences.current_preferences(session, contact_id)
    assert contact is not None  # her program was found through her
    permissions = preferences.channel_permissions(prefs, contact)
    changed = 0
    for task in session.scalars(
        select(OutreachTask).where(
            OutreachTask.contact_id == contact_id,
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.consent_override.is_(False),
        )
    ):
        found = [c.value for c in channels_for(profile, TaskReason(task.reason), permissions)]
        if found != list(task.channels):
            record(
                session,
                now=now,
                actor=actor,
                action=AuditAction.TASK_CHANNELS_REDERIVED,
                object_type="task",
                object_id=task.id,
                program_id=task.program_id,
                before=",".join(task.channels),
                after=",".join(found),
            )
            task.channels = found
            changed += 1
    session.commit()
    return changed
