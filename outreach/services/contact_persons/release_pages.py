"""What the release pages show, gathered through the audited reads (S7, S10).

The contact's page shows the contact's releases to a liaison (to revoke one on their word) and, to a
supervisor, the recipients, their words and the compelled disclosures too. The overview
shows a supervisor what is live and what awaits a second supervisor, by reference only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from outreach.models import CompelledDisclosure, ContactRelease, OutreachTask, Program
from outreach.security.permissions import Permission
from outreach.security.vault import Vault
from outreach.services.contact_persons import disclosures, releases
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import queue
from outreach.services.staff.access import allowed, require


@dataclass(frozen=True)
class ContactReleasesPage:
    contact_id: uuid.UUID
    reference: str
    zone: ZoneInfo
    releases: list[releases.ReleaseView]
    disclosures: list[disclosures.DisclosureView]
    may_grant: bool
    may_record_disclosures: bool
    tasks: list[OutreachTask]  # where a liaison can tell the contact of a disclosure


@dataclass(frozen=True)
class OverviewRow:
    contact_id: uuid.UUID
    reference: str
    zone: ZoneInfo
    release: ContactRelease | None = None
    disclosure: CompelledDisclosure | None = None


@dataclass(frozen=True)
class Overview:
    live: list[OverviewRow]
    awaiting_confirmation: list[OverviewRow]


def contact_page(
    session: Session, vault: Vault, *, actor: Actor, contact_id: uuid.UUID, now: datetime
) -> ContactReleasesPage:
    """A contact's releases (and, for a supervisor, their compelled disclosures)."""
    views = releases.releases_of(session, vault, actor=actor, contact_id=contact_id, now=now)
    contact = releases.contact_of(session, contact_id)
    may_disclose = allowed(actor, Permission.DISCLOSURE_RECORD, contact.program_id)
    found = (
        disclosures.disclosures_of(session, vault, actor=actor, contact_id=contact_id, now=now)
        if may_disclose
        else []
    )
    return ContactReleasesPage(
        contact_id=contact_id,
        reference=queue.reference(contact_id),
        zone=releases.program_zone(session, contact),
        releases=views,
        disclosures=found,
        may_grant=allowed(actor, Permission.RELEASE_GRANT, contact.program_id),
        may_record_disclosures=may_disclose,
        tasks=disclosures.notice_tasks(session, contact_id) if may_disclose else [],
    )


def overview(session: Session, *, actor: Actor, now: datetime) -> Overview:
    """Live releases and unconfirmed reasons not to tell, in the actor's programs (audited)."""
    require(session, actor, Permission.RELEASE_GRANT, None, now=now, object_type="release_list")
    scope = None if actor.user_id is None else list(actor.program_ids)
    live = [
        OverviewRow(r.contact_id, queue.reference(r.contact_id), ZoneInfo(zone), release=r)
        for r, zone in _live(session, scope, now)
    ]
    waiting = [
        OverviewRow(d.contact_id, queue.reference(d.contact_id), ZoneInfo(zone), disclosure=d)
        for d, zone in _awaiting(session, scope)
    ]
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.RELEASES_READ,
        object_type="release_list",
        live=len(live),
        awaiting_confirmation=len(waiting),
    )
    session.commit()
    return Overview(live, waiting)


def _live(
    session: Session, scope: list[uuid.UUID] | None, now: datetime
) -> list[tuple[ContactRelease, str]]:
    query = (
        select(ContactRelease, Program.timezone)
        .join(Program, Program.id == ContactRelease.program_id)
        .where(
            ContactRelease.granted_at <= now,
            ContactRelease.expires_at > now,
            or_(ContactRelease.revoked_at.is_(None), ContactRelease.revoked_at > now),
        )
        .order_by(ContactRelease.expires_at)
    )
    if scope is not None:
        query = query.where(ContactRelease.program_id.in_(scope))
    return [(r, z) for r, z in session.execute(query)]


def _awaiting(
    session: Session, scope: list[uuid.UUID] | None
) -> list[tuple[CompelledDisclosure, str]]:
    query = (
        select(CompelledDisclosure, Program.timezone)
        .join(Program, Program.id == CompelledDisclosure.program_id)
        .where(
            CompelledDisclosure.danger_reason_sealed.is_not(None),
            CompelledDisclosure.danger_confirmed_by.is_(None),
        )
        .order_by(CompelledDisclosure.disclosed_at)
    )
    if scope is not None:
        query = query.where(CompelledDisclosure.program_id.in_(scope))
    return [(d, z) for d, z in session.execute(query)]
