"""The languages contacts speak, as the queue filters and shows them (S12; issue 22 item 4).

A contact's language is the one her current preferences name: the latest version, since a
change is a new version (S1). The queue offers the languages the scripts exist in.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from outreach.models import ContactPreferences

# The languages approved scripts exist in (scripts_text/en, scripts_text/es), in words.
NAMES = {"en": "English", "es": "Spanish"}


def speaking(language: str) -> Select[tuple[uuid.UUID]]:
    """The contacts whose current preferences name this language."""
    latest = (
        select(ContactPreferences.contact_id, func.max(ContactPreferences.version).label("v"))
        .group_by(ContactPreferences.contact_id)
        .subquery()
    )
    return (
        select(ContactPreferences.contact_id)
        .join(
            latest,
            and_(
                latest.c.contact_id == ContactPreferences.contact_id,
                latest.c.v == ContactPreferences.version,
            ),
        )
        .where(ContactPreferences.language == language)
    )


def current(session: Session, contact_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The language each contact's current preferences name."""
    found: dict[uuid.UUID, tuple[int, str]] = {}
    for contact_id, version, language in session.execute(
        select(
            ContactPreferences.contact_id, ContactPreferences.version, ContactPreferences.language
        ).where(ContactPreferences.contact_id.in_(contact_ids))
    ):
        if contact_id not in found or version > found[contact_id][0]:
            found[contact_id] = (version, language)
    return {contact_id: language for contact_id, (_, language) in found.items()}
