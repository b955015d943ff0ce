"""Opting back in after a decline (S1): her words recorded by a liaison, a supervisor's
confirmation, both audited; until then she stays declined and nothing reaches her.

Anyone may claim to be her on the phone, so one person's word is not enough: the request is
held, and a supervisor other than the person who recorded it confirms it. Her words are
sealed under her own key (S10); the supervisor reads them through an audited reveal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Consent
from outreach.models import ContactPerson, ContactPreferences, OptBackIn, OutreachTask
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.contact_persons import her_word, preferences
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import require_on_contact

MAX_WORDS = 2000
# What she may give back when she opts in: her channels. Everything else stays as it was.
CHANNELS = ("voice", "sms", "voicemail", "mail")


def request(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    words: object,
    channels: Mapping[str, Any],
    now: datetime,
) -> OptBackIn:
    """Hold her request to be contacted again, in her words, until a supervisor confirms it."""
    contact = _contact(session, contact_id)
    require_on_contact(session, actor, Permission.CONTACT_WRITE, contact, now)
    if preferences.current_preferences(session, contact_id).consent != Consent.DECLINED:
        raise Conflict("she has not declined: change her preferences instead")
    said = _words(words)
    held = OptBackIn(
        contact_id=contact_id,
        changes=_channels(channels),
        requested_by=actor.user_id,
        requested_at=now,
    )
    held.ensure_id()
    cipher = vault.cipher_for(session, contact_id)
    held.words_sealed = cipher.seal(place("opt_back_in", "words", held.id), said)
    session.add(held)
    _audit(session, actor, AuditAction.OPT_BACK_IN_REQUESTED, contact, held, now)
    session.commit()
    return held


def request_on_task(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    task_id: uuid.UUID,
    words: str,
    channels: Mapping[str, Any],
    now: datetime,
) -> OptBackIn:
    """The task page's form: her request, recorded from one of her tasks (open or closed)."""
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    return request(
        session,
        vault,
        actor=actor,
        contact_id=task.contact_id,
        words=words,
        channels=channels,
        now=now,
    )


def confirm(
    session: Session, *, actor: Actor, request_id: uuid.UUID, now: datetime
) -> ContactPreferences:
    """A supervisor other than the one who recorded it confirms her request: she consents
    again, on the channels she gave (texts stay off while her STOP stands, S2)."""
    held = _held(session, request_id)
    contact = _contact(session, held.contact_id)
    require_on_contact(session, actor, Permission.OPT_BACK_IN_CONFIRM, contact, now)
    if held.confirmed_at is not None:
        raise Conflict("this request was confirmed already")
    if held.requested_by is not None and held.requested_by == actor.user_id:
        raise Conflict("another supervisor confirms what you recorded")
    held.confirmed_by, held.confirmed_at = actor.user_id, now
    changes = {**held.changes, "consent": Consent.CONSENTED.value}
    if her_word.sms_stopped(session, contact.id):
        changes["sms"] = False  # S2: only her own START turns texts back on
    row = her_word.record_opt_back_in(
        session, actor=actor, contact_id=contact.id, changes=changes, now=now
    )
    _audit(session, actor, AuditAction.OPT_BACK_IN_CONFIRMED, contact, held, now)
    session.commit()
    return row


def pending(session: Session, contact_id: uuid.UUID) -> OptBackIn | None:
    """Her newest request still waiting for a supervisor, if any."""
    return session.scalar(
        select(OptBackIn)
        .where(OptBackIn.contact_id == contact_id, OptBackIn.confirmed_at.is_(None))
        .order_by(OptBackIn.requested_at.desc())
        .limit(1)
    )


def her_words(
    session: Session, vault: Vault, *, actor: Actor, held: OptBackIn, now: datetime
) -> str:
    """Open her words for a supervisor who may confirm them; the read is audited first."""
    contact = _contact(session, held.contact_id)
    require_on_contact(session, actor, Permission.OPT_BACK_IN_CONFIRM, contact, now)
    _audit(session, actor, AuditAction.OPT_BACK_IN_READ, contact, held, now)
    session.commit()
    cipher = vault.cipher_for(session, contact.id)
    return cipher.open(place("opt_back_in", "words", held.id), held.words_sealed)


def _channels(given: Mapping[str, Any]) -> dict[str, bool]:
    unknown = sorted(set(given) - set(CHANNELS))
    if unknown:
        raise Invalid("only her channels can be given back", dict.fromkeys(unknown, "unknown"))
    wrong = sorted(k for k, v in given.items() if not isinstance(v, bool))
    if wrong:
        raise Invalid("channels are true or false", dict.fromkeys(wrong, "must be true or false"))
    if not any(given.values()):
        raise Invalid("name at least one channel she wants", {"channels": "none given"})
    return {k: bool(given.get(k, False)) for k in CHANNELS}


def _words(words: object) -> str:
    text = " ".join(words.split()) if isinstance(words, str) else ""
    if not text or len(text) > MAX_WORDS:
        raise Invalid(
            f"record her request in her own words (1 to {MAX_WORDS} characters)",
            {"her_words": "required"},
        )
    return text


def _audit(
    session: Session,
    actor: Actor,
    action: AuditAction,
    contact: ContactPerson,
    held: OptBackIn,
    now: datetime,
) -> None:
    record(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="contact",
        object_id=contact.id,
        program_id=contact.program_id,
        request=str(held.id),
    )


def _contact(session: Session, contact_id: uuid.UUID) -> ContactPerson:
    contact = session.get(ContactPerson, contact_id)
    if contact is None:
        raise NotFound("no contact with that id", {"contact_id": "unknown"})
    return contact


def _held(session: Session, request_id: uuid.UUID) -> OptBackIn:
    held = session.get(OptBackIn, request_id)
    if held is None:
        raise NotFound("no such request", {"request_id": "unknown"})
    return held
