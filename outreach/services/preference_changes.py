"""Her word on how she is contacted, and what follows from it in the same transaction (S1, S13).

The API and the task page record a preferences change here: the new version, and the open
check-ins that follow her rhythm when she changed it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.models import ContactPerson, ContactPreferences, Program
from outreach.services import contacts, tasks
from outreach.services.audit import Actor
from outreach.services.contacts import Profiles


def change_preferences(
    session: Session,
    profiles: Profiles,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
    source: str,
) -> ContactPreferences:
    """Record a new preferences version; a new rhythm reschedules or closes her check-ins."""
    rhythm_before = contacts.current_preferences(session, contact_id).cadence
    row = contacts.record_preferences(
        session,
        actor=actor,
        contact_id=contact_id,
        changes=changes,
        now=now,
        source=source,
        profiles=profiles,
    )
    if row.cadence != rhythm_before:
        session.flush()  # her new rhythm is what the check-ins read
        _follow_rhythm(session, profiles, contact_id, actor, now)
    session.commit()
    return row


def _follow_rhythm(
    session: Session, profiles: Profiles, contact_id: uuid.UUID, actor: Actor, now: datetime
) -> None:
    contact = session.get(ContactPerson, contact_id)
    assert contact is not None  # record_preferences found her
    program = session.get(Program, contact.program_id)
    assert program is not None
    tasks.follow_rhythm(session, profiles[program.protocol], contact, actor, now)
