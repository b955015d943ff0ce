"""A purged contact's calls and texts in the provider's own log: queued, then deleted there (S10).

Twilio keeps a record of every call and text it carried: her number, the times, and a text's
body. Crypto-shredding cannot reach those, so retention's end must delete them too. The request
cannot run inside the purge's transaction (a slow or unreachable provider must not hold the
database), and the SIDs must not be lost with the rows that held them. So the purge queues the
SIDs in the contact's own transaction, and `outreach purge` then works the queue, one record per
transaction. A record the provider no longer has counts as erased; a refused one stays queued,
with its reason, and is tried again at the next purge.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from outreach.channels.base import Channel, ChannelError
from outreach.models import ProviderErasure
from outreach.services.records.audit import SYSTEM, AuditAction, record


@dataclass(frozen=True)
class Erasure:
    """One queued record tried: erased, or the provider's reason for refusing."""

    erased: bool
    refusal: str | None = None


def queue(session: Session, sids: Iterable[str], *, now: datetime) -> int:
    """Queue the provider records for erasure in the caller's transaction; answer how many.

    A SID queued already (a text that came from a number two contacts shared) is queued once.
    """
    wanted = set(sids)
    if not wanted:
        return 0
    known = set(session.scalars(select(ProviderErasure.sid).where(ProviderErasure.sid.in_(wanted))))
    session.add_all(ProviderErasure(sid=sid, queued_at=now) for sid in sorted(wanted - known))
    return len(wanted)


def waiting(session: Session) -> int:
    """How many provider records are still to be erased."""
    return int(session.scalar(select(func.count()).select_from(ProviderErasure)) or 0)


def erase_waiting(session: Session, channel: Channel, *, now: datetime) -> Iterator[Erasure]:
    """Ask the provider to delete each queued record; yield how each went.

    Each record is settled in its own transaction, after the provider answered, so no
    transaction stays open across a network call and a stopped run loses nothing.
    """
    queued = list(session.execute(select(ProviderErasure.id, ProviderErasure.sid)))
    session.rollback()  # end the read: nothing is held while the provider answers
    for row_id, sid in queued:
        try:
            channel.erase_record(sid)
        except ChannelError as exc:
            yield _refused(session, row_id, _reason(exc), now)
        else:
            yield _erased(session, row_id)


def record_run(session: Session, channel: str, erased: int, refused: int, now: datetime) -> None:
    """One audit event for a run that tried anything: counts only, never a SID."""
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.PROVIDER_RECORDS_ERASED,
        object_type="provider",
        object_id=channel,
        erased=erased,
        refused=refused,
    )
    session.commit()


def _erased(session: Session, row_id: uuid.UUID) -> Erasure:
    session.execute(delete(ProviderErasure).where(ProviderErasure.id == row_id))
    session.commit()
    return Erasure(erased=True)


def _refused(session: Session, row_id: uuid.UUID, reason: str, now: datetime) -> Erasure:
    row = session.get(ProviderErasure, row_id)
    if row is not None:  # another purge running beside this one erased it meanwhile
        row.tries += 1
        row.last_tried_at, row.last_refusal = now, reason
    session.commit()
    return Erasure(erased=False, refusal=reason)


def _reason(exc: ChannelError) -> str:
    # ChannelError's text holds a provider code and a short reason, never a number or a name.
    code = f" ({exc.code})" if exc.code else ""
    return f"{exc}{code}"[:80]
