"""Releases of information (S7): granted, revoked at once, and required by every share.

Information a contact person gave goes outside the program only through `sharing.share`,
and that goes only through `require_release`: a written release for that recipient and
purpose, covering what is shared, live at that instant. A revoked or expired release
authorises nothing from the instant it ends. Every grant, revocation, share, refusal and
read is audited, the contact by opaque id and reference only; the recipient's name, the
contact's words and the reasons are sealed with the contact's key (S10).

The share itself is `outreach.services.contact_persons.sharing`; compelled disclosures (court
orders,
subpoenas, statutes) are `outreach.services.contact_persons.disclosures`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from outreach.domain.releases import (
    GivenAs,
    Purpose,
    RecipientKind,
    RevokedHow,
    ScopeItem,
    Term,
    covers,
    term_problem,
)
from outreach.models import ContactPerson, ContactRelease, Program
from outreach.security.permissions import Permission
from outreach.security.vault import ContactCipher, Vault, place
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import queue
from outreach.services.staff.access import allowed, require_on_contact

MAX_RECIPIENT = 200
MAX_STATEMENT = 2000


class NoLiveRelease(Conflict):
    """Nothing may be shared: no live release covers this recipient, purpose and content."""


@dataclass(frozen=True)
class ReleaseTerms:
    """What the contact signed. A date as expiry means through the end of that day in the
    program's zone; a datetime is taken as it is."""

    recipient_kind: str
    recipient: str
    purpose: str
    scope: tuple[str, ...]
    given_as: str
    expires: datetime | date | None
    statement: str = ""


@dataclass(frozen=True)
class ReleaseView:
    row: ContactRelease
    live: bool
    recipient: str | None  # opened only for those who may grant releases
    statement: str | None


# --- the check every onward share makes --------------------------------------------------


def require_release(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    recipient_kind: str,
    purpose: str,
    items: Collection[str],
    now: datetime,
    release_id: uuid.UUID | None = None,
) -> ContactRelease:
    """Answer the live release that covers this share at `now`, or refuse (audited).

    Live means granted_at <= now < expires_at and not revoked at or before now. The rows are
    locked, so a revocation committed meanwhile waits for this share, or this share sees it.
    """
    for row in _candidates(session, contact_id, recipient_kind, purpose, now, release_id):
        covered = covers(
            row.scope,
            row.purpose,
            row.recipient_kind,
            wanted_purpose=purpose,
            wanted_kind=recipient_kind,
            items=items,
        )
        if covered and _term(row).live_at(now):
            return row
    session.rollback()  # nothing half-done goes in with the refusal
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.SHARE_REFUSED,
        object_type="contact",
        object_id=contact_id,
        contact=queue.reference(contact_id),
        release=None if release_id is None else str(release_id),
        recipient_kind=recipient_kind,
        purpose=purpose,
        items=",".join(sorted(items)),
    )
    session.commit()
    raise NoLiveRelease("no live release covers sharing this with this recipient for this purpose")


def _candidates(
    session: Session,
    contact_id: uuid.UUID,
    recipient_kind: str,
    purpose: str,
    now: datetime,
    release_id: uuid.UUID | None,
) -> list[ContactRelease]:
    query = (
        select(ContactRelease)
        .where(
            ContactRelease.contact_id == contact_id,
            ContactRelease.recipient_kind == recipient_kind,
            ContactRelease.purpose == purpose,
            ContactRelease.granted_at <= now,
            ContactRelease.expires_at > now,
            or_(ContactRelease.revoked_at.is_(None), ContactRelease.revoked_at > now),
        )
        .order_by(ContactRelease.granted_at)
        .with_for_update()
    )
    if release_id is not None:
        query = query.where(ContactRelease.id == release_id)
    return list(session.scalars(query))


def _term(row: ContactRelease) -> Term:
    return Term(row.granted_at, row.expires_at, row.revoked_at)


# --- grant and revoke --------------------------------------------------------------------


def grant_release(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    terms: ReleaseTerms,
    now: datetime,
    granted_at: datetime | None = None,
) -> ContactRelease:
    """Record a written release the contact gave; it authorises from granted_at (now)."""
    contact = contact_of(session, contact_id)
    require_on_contact(session, actor, Permission.RELEASE_GRANT, contact, now)
    row = _release_row(session, contact, terms, granted_at or now, now)
    row.recorded_by, row.recorded_at = actor.user_id, now
    cipher = vault.cipher_for(session, contact_id)
    row.recipient_sealed = cipher.seal(sealed_at("recipient", row.id), _recipient(terms.recipient))
    if terms.statement.strip():
        row.statement_sealed = cipher.seal(sealed_at("statement", row.id), terms.statement.strip())
    session.add(row)
    audit_release(session, actor, AuditAction.RELEASE_GRANTED, row, now, given_as=row.given_as)
    session.commit()
    return row


def _release_row(
    session: Session, contact: ContactPerson, terms: ReleaseTerms, granted: datetime, now: datetime
) -> ContactRelease:
    fields: dict[str, str] = {}
    kind = choice(fields, "recipient_kind", terms.recipient_kind, RecipientKind)
    purpose = choice(fields, "purpose", terms.purpose, Purpose)
    given_as = choice(fields, "given_as", terms.given_as, GivenAs)
    scope = _scope(fields, terms)
    if not _recipient(terms.recipient):
        fields["recipient"] = f"name the recipient in 1 to {MAX_RECIPIENT} characters"
    expires = _expiry(fields, terms.expires, program_zone(session, contact))
    if expires is not None and (problem := term_problem(granted, expires, now)):
        fields["expires"] = problem
    if fields:
        raise Invalid("some terms of the release are not valid", fields)
    assert expires is not None
    row = ContactRelease(
        contact_id=contact.id,
        program_id=contact.program_id,
        recipient_kind=kind,
        purpose=purpose,
        scope=scope,
        given_as=given_as,
        granted_at=granted,
        expires_at=expires,
    )
    row.ensure_id()
    return row


def revoke_release(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    release_id: uuid.UUID,
    how: str,
    now: datetime,
) -> ContactRelease:
    """End a release at `now`: from this instant it authorises nothing (S7)."""
    contact = contact_of(session, contact_id)
    require_on_contact(session, actor, Permission.RELEASE_REVOKE, contact, now)
    row = release_of(session, contact_id, release_id, lock=True)
    fields: dict[str, str] = {}
    revoked_how = choice(fields, "how", how, RevokedHow)
    if fields:
        raise Invalid("say how the release was revoked", fields)
    if not _term(row).live_at(now):
        raise Conflict("this release already authorises nothing: it was revoked or has expired")
    row.revoked_at, row.revoked_by, row.revoked_how = now, actor.user_id, revoked_how
    audit_release(session, actor, AuditAction.RELEASE_REVOKED, row, now, how=revoked_how)
    session.commit()
    return row


# --- reading a contact's releases ----------------------------------------------------------


def releases_of(
    session: Session, vault: Vault, *, actor: Actor, contact_id: uuid.UUID, now: datetime
) -> list[ReleaseView]:
    """A contact's releases, newest first; a read of contact data, audited before it is made.

    The recipient and the contact's words are opened only for those who may grant releases:
    a liaison sees what exists and can revoke it, not who it names.
    """
    contact = contact_of(session, contact_id)
    require_on_contact(session, actor, Permission.RELEASE_READ, contact, now)
    rows = list(
        session.scalars(
            select(ContactRelease)
            .where(ContactRelease.contact_id == contact_id)
            .order_by(ContactRelease.recorded_at.desc())
        )
    )
    opened = allowed(actor, Permission.RELEASE_GRANT, contact.program_id)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.RELEASES_READ,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
        contact=queue.reference(contact_id),
        releases=len(rows),
        opened=opened,
    )
    session.commit()
    cipher = vault.cipher_for(session, contact_id) if opened and rows else None
    return [_view(row, now, cipher) for row in rows]


def _view(row: ContactRelease, now: datetime, cipher: ContactCipher | None) -> ReleaseView:
    if cipher is None:
        return ReleaseView(row, _term(row).live_at(now), None, None)
    statement = (
        cipher.open(sealed_at("statement", row.id), row.statement_sealed)
        if row.statement_sealed
        else None
    )
    recipient = cipher.open(sealed_at("recipient", row.id), row.recipient_sealed)
    return ReleaseView(row, _term(row).live_at(now), recipient, statement)


# --- helpers -------------------------------------------------------------------------------


def contact_of(session: Session, contact_id: uuid.UUID) -> ContactPerson:
    contact = session.get(ContactPerson, contact_id)
    if contact is None:
        raise NotFound("no contact with that id", {"contact_id": "unknown"})
    return contact


def release_of(
    session: Session, contact_id: uuid.UUID, release_id: uuid.UUID, *, lock: bool = False
) -> ContactRelease:
    query = select(ContactRelease).where(
        ContactRelease.id == release_id, ContactRelease.contact_id == contact_id
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("this contact has no release with that id", {"release_id": "unknown"})
    return row


def audit_release(
    session: Session,
    actor: Actor,
    action: AuditAction,
    row: ContactRelease,
    now: datetime,
    **detail: str,
) -> None:
    record(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="release",
        object_id=row.id,
        program_id=row.program_id,
        contact=queue.reference(row.contact_id),
        recipient_kind=row.recipient_kind,
        purpose=row.purpose,
        **detail,
    )


def sealed_at(column: str, row_id: uuid.UUID) -> str:
    """Where a release's sealed value lives: binds the ciphertext to its row (S10)."""
    return place("contact_release", column, row_id)


def program_zone(session: Session, contact: ContactPerson) -> ZoneInfo:
    program = session.get(Program, contact.program_id)
    assert program is not None
    return ZoneInfo(program.timezone)


def choice(fields: dict[str, str], name: str, value: str, allowed: type[StrEnum]) -> str:
    try:
        return allowed(value).value
    except ValueError:
        fields[name] = "must be one of " + ", ".join(v.value for v in allowed)
        return ""


def _scope(fields: dict[str, str], terms: ReleaseTerms) -> list[str]:
    scope = [choice(fields, "scope", item, ScopeItem) for item in terms.scope]
    if not scope:
        fields["scope"] = "say what may be shared"
    has_statement = bool(terms.statement.strip())
    if (ScopeItem.STATEMENT in scope) != has_statement:
        fields["statement"] = "write the contact's words exactly when the statement may be shared"
    if len(terms.statement) > MAX_STATEMENT:
        fields["statement"] = f"at most {MAX_STATEMENT} characters"
    return sorted(set(scope))


def _expiry(
    fields: dict[str, str], value: datetime | date | None, zone: ZoneInfo
) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):  # through the end of that day where the program is
        return datetime.combine(value + timedelta(days=1), time(0), tzinfo=zone)
    fields["expires"] = "a release needs an expiry date"
    return None


def _recipient(text: str) -> str:
    """The recipient's name with spaces tidied, or "" when it is empty or too long."""
    name = " ".join(text.split())
    return name if len(name) <= MAX_RECIPIENT else ""
