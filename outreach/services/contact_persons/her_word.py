"""Her word on record: each change of her preferences after the first is a new version, in the
caller's transaction or committed (S1), and what only she can undo stays undone by anyone else.

A decline ends all contact (S1); she comes back only in her own words, confirmed by a supervisor
(opt_back_in.py, then record_opt_back_in here). A STOP she texts, or her carrier reports, turns
texts off until she texts START herself (S2). S13 counts her rhythm from when her present
consent began (consented_since).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Consent
from outreach.models import ContactPreferences
from outreach.security.permissions import Permission
from outreach.services.contact_persons.contacts import known_contact
from outreach.services.contact_persons.preferences import (
    Preferences,
    Profiles,
    check_rhythm,
    check_updates_offered,
    current_preferences,
    newest_to_change,
    preferences_of,
    preferences_row,
)
from outreach.services.errors import Conflict
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import require_on_contact

# What turns SMS off when the contact texted STOP, to us or to her carrier (S2).
STOP_SOURCES = frozenset({"sms_stop", "carrier_opt_out"})


def change_preferences(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
    source: str = "liaison",
    profiles: Profiles | None = None,
) -> ContactPreferences:
    """Record a new preferences version and commit (record_preferences says what is refused)."""
    row = record_preferences(
        session,
        actor=actor,
        contact_id=contact_id,
        changes=changes,
        now=now,
        source=source,
        profiles=profiles,
    )
    session.commit()
    return row


def record_preferences(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
    source: str,
    profiles: Profiles | None,
) -> ContactPreferences:
    """Record a new preferences version in the caller's transaction; earlier versions stay
    as they were (S1).

    What only the contact can undo is refused: a decline (S1: no further contact, ever) and
    a STOP she texted (S2: only her START turns texts back on). A new rhythm must be one her
    program's profile offers (S13), so `profiles` is needed to change it."""
    contact = known_contact(session, contact_id)
    require_on_contact(session, actor, Permission.CONTACT_WRITE, contact, now)
    current = newest_to_change(session, contact_id)
    updated = Preferences.from_mapping(changes, base=preferences_of(current))
    _refuse_undoing_her_word(session, current, updated)
    if updated.cadence != current.cadence:
        check_rhythm(session, profiles, contact.program_id, updated.cadence)
    if updated.updates and not current.updates:
        check_updates_offered(session, profiles, contact.program_id)
    row = preferences_row(contact_id, current.version + 1, updated, actor, now, source=source)
    session.add(row)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.PREFERENCES_CHANGED,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
        consent=updated.consent,
        cadence=updated.cadence,
        updates=updated.updates,
        version=row.version,
    )
    return row


def _refuse_undoing_her_word(
    session: Session, current: ContactPreferences, updated: Preferences
) -> None:
    if current.consent == Consent.DECLINED and updated.consent != Consent.DECLINED:
        raise Conflict(
            "she declined: no further contact of any kind (S1); she opts back in only in her "
            "own words, recorded by a liaison and confirmed by a supervisor; meanwhile only a "
            "duty to warn, confirmed by a supervisor, may still reach her",
            {"consent": "declined stays"},
        )
    if updated.updates and not current.updates and updated.consent == Consent.DECLINED:
        # Issue 20 item 8 and S1: updates are contact; a declined contact gets none.
        raise Conflict(
            "she declined: no status updates either (S1)", {"updates": "she declined contact"}
        )
    if updated.sms and not current.sms and sms_stopped(session, current.contact_id):
        raise Conflict(
            "she texted STOP: texts stay off until she texts START herself (S2)",
            {"sms": "stopped by her STOP"},
        )


def record_decline(
    session: Session, *, actor: Actor, contact_id: uuid.UUID, now: datetime
) -> ContactPreferences:
    """S1: the contact declined; a new version says so, in the caller's transaction."""
    current = newest_to_change(session, contact_id)
    declined = Preferences.from_mapping(
        # Issue 20 item 8: no updates either; she asks for them again if she opts back in.
        {
            "consent": Consent.DECLINED.value,
            "sms": False,
            "voicemail": False,
            "mail": False,
            "updates": False,
        },
        base=preferences_of(current),
    )
    row = preferences_row(contact_id, current.version + 1, declined, actor, now, source="declined")
    session.add(row)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_DECLINED,
        object_type="contact",
        object_id=contact_id,
        version=row.version,
    )
    return row


def record_opt_back_in(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
) -> ContactPreferences:
    """S1: the one way out of a decline, in the caller's transaction: only for a request in
    her words that a supervisor confirmed (opt_back_in.confirm)."""
    current = current_preferences(session, contact_id)
    updated = Preferences.from_mapping(changes, base=preferences_of(current))
    row = preferences_row(
        contact_id, current.version + 1, updated, actor, now, source="opt_back_in"
    )
    session.add(row)
    return row


def revoke_sms(
    session: Session, *, actor: Actor, contact_id: uuid.UUID, now: datetime, source: str
) -> ContactPreferences | None:
    """S2: stop SMS at once and for good (until the contact sends START); in the caller's
    transaction. Voice and every other permission stay as they were.

    Answer the new version if texts were allowed until now, else None. A STOP that comes
    while texts are already off still goes on record (a version that changes nothing), so
    no one turns them back on later (sms_stopped). Her STOP and her carrier's report come
    through the system, which its callers name as `actor`: none is assumed (issue 23 item 5)."""
    current = newest_to_change(session, contact_id)
    if not current.sms and sms_stopped(session, contact_id):
        return None  # already on record
    row = _new_sms_version(
        session, current, False, actor=actor, now=now, source=source, action=AuditAction.SMS_REVOKED
    )
    return row if current.sms else None


def restore_sms(
    session: Session, *, actor: Actor, contact_id: uuid.UUID, now: datetime
) -> ContactPreferences | None:
    """S2: START re-enables SMS only, for a consented contact whose texts a STOP turned off.

    Texts she never allowed, or that were turned off on her word to a liaison, stay off:
    anyone holding her phone can send START."""
    current = newest_to_change(session, contact_id)
    if current.consent != Consent.CONSENTED or current.sms:
        return None
    if _sms_turned_off_by(session, contact_id) not in STOP_SOURCES:
        return None
    return _new_sms_version(
        session,
        current,
        True,
        actor=actor,
        now=now,
        source="sms_start",
        action=AuditAction.SMS_RESTORED,
    )


def sms_stopped(session: Session, contact_id: uuid.UUID) -> bool:
    """S2: she texted STOP, or her carrier reported one, since texts were last allowed."""
    return stop_stands(_sms_history(session, contact_id))


class _SmsVersion(Protocol):
    sms: bool
    source: str


def stop_stands(versions: Iterable[_SmsVersion]) -> bool:
    """sms_stopped, read from versions already loaded (newest first), as the task page has."""
    for version in versions:
        if version.source in STOP_SOURCES:
            return True
        if version.sms:
            return False
    return False


def _sms_turned_off_by(session: Session, contact_id: uuid.UUID) -> str | None:
    """The source of the newest version that turned SMS from allowed to not allowed."""
    for newer, older in itertools.pairwise(_sms_history(session, contact_id)):
        if older.sms and not newer.sms:
            return str(newer.source)
    return None


def _sms_history(session: Session, contact_id: uuid.UUID) -> Sequence[Row[tuple[bool, str]]]:
    """Each version's SMS permission and what made the version, newest first."""
    return session.execute(
        select(ContactPreferences.sms, ContactPreferences.source)
        .where(ContactPreferences.contact_id == contact_id)
        .order_by(ContactPreferences.version.desc())
    ).all()


def _new_sms_version(
    session: Session,
    current: ContactPreferences,
    allowed: bool,
    *,
    actor: Actor,
    now: datetime,
    source: str,
    action: AuditAction,
) -> ContactPreferences:
    contact_id = current.contact_id
    updated = Preferences.from_mapping({"sms": allowed}, base=preferences_of(current))
    row = preferences_row(contact_id, current.version + 1, updated, actor, now, source=source)
    session.add(row)
    record(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="contact",
        object_id=contact_id,
        version=row.version,
        source=source,
    )
    return row


def consented_since(session: Session, contact_id: uuid.UUID) -> datetime | None:
    """When her present consent began (the first of the unbroken run of consented versions
    ending with the newest), or None if she is not consenting now. S13 counts from it."""
    since = None
    for consent, recorded_at in session.execute(
        select(ContactPreferences.consent, ContactPreferences.recorded_at)
        .where(ContactPreferences.contact_id == contact_id)
        .order_by(ContactPreferences.version.desc())
    ):
        if consent != Consent.CONSENTED:
            break
        since = recorded_at
    return since
