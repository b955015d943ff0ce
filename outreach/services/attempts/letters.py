"""Letters she allowed, to the mailing address she named as safe (seeds/001 "Massachusetts":
"Within 10 days of program termination or completion, the victim advocate sends a letter to
inform the victim"; PRODUCT.md, Emerge row; S1, S9, S10).

Her address is sealed under her own key like her phone, set and removed only by staff who may
write contact data, and opened only for the letter page of the liaison holding the task's
claim, audited first. The page shows the letter and its envelope; the liaison's "I printed and
mailed it" records the `letter_sent` attempt (mailing.produce_letter).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import EntryPoint
from outreach.models import ContactPerson, Delivery
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.attempts import claimed_work, tasks
from outreach.services.contact_persons import her_channels
from outreach.services.delivery import mailing
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict, Invalid, NotFound, ServiceError
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import claims, queue
from outreach.services.staff.access import require_on_contact

MAX_LINES = 6
MAX_LINE = 80
FIELD = "mailing_address"


# --- her safe mailing address ------------------------------------------------------------


def set_mailing_address(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    address: str | None,
    now: datetime,
) -> bool:
    """Record the address she named as safe for letters, or remove it (None).

    Sealed under her own key (S10); the audit row says only that it changed, never what it is.
    Her open letter tasks follow at once: with no safe address a letter cannot go, so the
    protocol's fallback (a call) applies (S1, her_channels). Answer whether one is on file."""
    contact = _contact(session, contact_id)
    require_on_contact(session, actor, Permission.CONTACT_WRITE, contact, now)
    lines = _lines(address)
    if lines:
        cipher = vault.cipher_for(session, contact_id)
        contact.address_sealed = cipher.seal(_place(contact_id), "\n".join(lines))
    else:
        contact.address_sealed = None
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.PREFERENCES_CHANGED,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
        mailing_address="set" if lines else "removed",
    )
    session.flush()
    her_channels.rederive(session, profiles, actor=actor, contact_id=contact_id, now=now)
    session.commit()
    return bool(lines)


def set_on_task(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    task_id: uuid.UUID,
    address: str | None,
    now: datetime,
) -> bool:
    """The liaison holding the task records (or removes) the address she named on the call."""
    claims.require_claim(session, actor, task_id, now)
    task = tasks.task_to_work(session, actor, task_id, now)
    return set_mailing_address(
        session,
        vault,
        profiles,
        actor=actor,
        contact_id=task.contact_id,
        address=address,
        now=now,
    )


def has_mailing_address(contact: ContactPerson) -> bool:
    """Whether she named a safe address; read without opening it."""
    return contact.address_sealed is not None


def _lines(address: str | None) -> list[str]:
    if address is None:
        return []
    if not isinstance(address, str):
        raise Invalid("a mailing address is text", {FIELD: "invalid"})
    lines = [" ".join(line.split()) for line in address.splitlines()]
    lines = [line for line in lines if line]
    if not lines:  # removing it is its own, deliberate step
        raise Invalid("give the mailing address she named", {FIELD: "required"})
    # The message names the limits, never the value (no contact data in errors).
    if len(lines) > MAX_LINES or any(len(line) > MAX_LINE for line in lines):
        raise Invalid(
            f"a mailing address has at most {MAX_LINES} lines of {MAX_LINE} characters",
            {FIELD: "too long"},
        )
    if any(not line.isprintable() for line in lines):
        raise Invalid("a mailing address has only printable characters", {FIELD: "invalid"})
    return lines


def _place(contact_id: uuid.UUID) -> str:
    return place("contact_person", "address", contact_id)


def _contact(session: Session, contact_id: uuid.UUID) -> ContactPerson:
    contact = session.get(ContactPerson, contact_id)
    if contact is None:
        raise NotFound("no contact with that id", {"contact_id": "unknown"})
    return contact


# --- the letter ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterPage:
    """The letter page: the letter to print, or why there is none (with its status)."""

    reference: str
    letter: mailing.Letter | None = None
    refused: str | None = None
    status: int = 200


def letter_page(
    session: Session, out: Outward, *, actor: Actor, task_id: uuid.UUID, now: datetime
) -> LetterPage:
    """The printable letter and envelope, for the liaison holding the claim; opening it is
    audited (S10) and committed before anything is shown. Refused, with the reason and
    nothing written, when she has not allowed mail or named no safe address (S1)."""
    task = tasks.task_to_work(session, actor, task_id, now)  # staff of her program only
    reference = queue.reference(task.contact_id)
    try:
        claims.require_claim(session, actor, task_id, now)
        letter = mailing.compose_letter(session, out, task_id=task_id, now=now, actor=actor)
    except (Invalid, Conflict) as refused:
        session.rollback()
        return LetterPage(reference, refused=refused.message, status=refused.status)
    session.commit()  # the reveal's audit row, before the page shows her address
    return LetterPage(reference, letter=letter)


def mailed(
    session: Session, out: Outward, *, actor: Actor, task_id: uuid.UUID, now: datetime
) -> Delivery:
    """The liaison holding the claim printed the letter and mailed it: the letter is recorded
    and a `letter_sent` attempt on the mail channel counts toward closing the task."""
    claims.require_claim(session, actor, task_id, now)
    try:
        return mailing.produce_letter(
            session, out, task_id=task_id, now=now, actor=actor, via=EntryPoint.WEB
        )
    except ServiceError:
        session.rollback()  # refused: nothing of the letter is written
        raise


def mailed_for_caller(
    session: Session, out: Outward, *, actor: Actor, task_id: uuid.UUID, now: datetime
) -> Delivery:
    """The API's letter: under the caller's claim, taken on their behalf when nobody holds the
    task, and given back when the letter is refused (nothing written)."""
    took = claimed_work.claim_unless_held(session, actor, task_id, now)
    try:
        return mailing.produce_letter(
            session, out, task_id=task_id, now=now, actor=actor, via=EntryPoint.API
        )
    except ServiceError:
        claimed_work.give_back(session, actor, task_id, took)
        raise
