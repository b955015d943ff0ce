"""The keyed hash chain over the audit log, and the walk that verifies it (S10).

Each event stores ``mac = HMAC-SHA256(audit key, prev_mac || canonical_json(event))`` and the
``prev_mac`` it was chained to. A plain hash could be recomputed by anyone who can write to the
database; the key lives only in the application's settings (REFERENCE.md C.3).

What the chain proves: no event was changed, deleted from the middle, inserted or moved. It
cannot see the newest events being cut off the end; for that, keep the head that
``verify_chain`` reports somewhere else and pass it back as ``anchor`` (ASVS 16.4.3).

Events written before migration 0004 carry no MAC. They are chained implicitly, from GENESIS
over their contents, and the first event with a MAC is chained to that result, so it seals them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import TextClause, select, text
from sqlalchemy import event as event_api
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from outreach.db import AUDIT_KEY
from outreach.models import AuditEvent

GENESIS = "0" * 64
# The advisory lock that serialises appends on PostgreSQL, in the two-int key space (the
# scheduler's leader lock is in it too, under its own first int, "outr"): "audt" names the
# chain; the schema's hash keeps deployments or test runs sharing one server from queueing.
LOCK_CLASS = 0x61756474
BATCH = 1000

_TABLE = AuditEvent.__table__


class AuditKeyMissing(RuntimeError):
    """The session has no audit key: refuse to write an unchained audit row (S10, fail closed)."""


class BreakKind(StrEnum):
    CHANGED = "changed"
    DELETED = "deleted"
    REORDERED = "reordered"


class ChainFields(Protocol):
    """The columns an audit MAC covers; an AuditEvent or a row selected from audit_event."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor_id(self) -> uuid.UUID | None: ...
    @property
    def actor_role(self) -> str | None: ...
    @property
    def action(self) -> str: ...
    @property
    def object_type(self) -> str | None: ...
    @property
    def object_id(self) -> str | None: ...
    @property
    def program_id(self) -> uuid.UUID | None: ...
    @property
    def detail(self) -> dict[str, Any]: ...


def audit_key_of(session: Session) -> bytes:
    """Return the audit key the session factory installed; raise AuditKeyMissing without one."""
    key = session.info.get(AUDIT_KEY)
    if not isinstance(key, bytes) or len(key) < 32:
        raise AuditKeyMissing("this session has no audit key; no audit event can be written")
    return key


def canonical(event: ChainFields, *, seq: int | None = None) -> bytes:
    """The event's fields as canonical JSON: sorted keys, no spaces, ASCII, UTC microseconds."""
    if event.at.utcoffset() is None:
        # astimezone() would guess the machine's zone; the MAC must never rest on a guess.
        raise ValueError("naive datetime refused: pass a timezone-aware value")
    fields = {
        "seq": event.seq if seq is None else seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": _text(event.actor_id),
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "program_id": _text(event.program_id),
        "detail": event.detail,
    }
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return encoded.encode("ascii")


def compute_mac(key: bytes, prev_mac: str, event: ChainFields, *, seq: int | None = None) -> str:
    # prev_mac is always 64 hex characters, so the concatenation is unambiguous.
    message = prev_mac.encode("ascii") + canonical(event, seq=seq)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


# --- appending -------------------------------------------------------------------------------


# Where a session keeps the audit events of its open transaction until they are appended.
PENDING = "audit_pending"


def append_at_commit(session: Session, event: AuditEvent) -> None:
    """Keep the event with the session's transaction; it is chained and written as that
    transaction commits, and dropped if it rolls back.

    Appending last keeps one lock order for every transaction: its own rows first (task plans,
    deliveries, tasks), the append lock last, held only for the append. An append made
    mid-transaction held the lock while the transaction went on to wait for rows another
    writer held, and that writer could be waiting for the append lock (issue 21 finding 15)."""
    if not event_api.contains(session, "before_commit", _append_pending):
        event_api.listen(session, "before_commit", _append_pending)
        event_api.listen(session, "after_soft_rollback", _drop_rolled_back)
        event_api.listen(session, "do_orm_execute", _append_before_reading_the_log)
    pending: list[tuple[AuditEvent, SessionTransaction | None]] = session.info.setdefault(
        PENDING, []
    )
    pending.append((event, session.get_nested_transaction() or session.get_transaction()))


def _append_pending(session: Session) -> None:
    """Chain the transaction's events after every event already written, and add them.

    Each seq is chosen here as max(seq) + 1 under the append lock rather than left to the
    autoincrement: the MAC covers seq, and the append-only trigger forbids setting the MAC by
    an UPDATE after the insert. It also keeps seq gapless (a rolled-back append frees its
    number, where a PostgreSQL sequence would not), so any gap in the log means a deletion.
    """
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    # The transaction's own writes go first: the audit rows refer to them by foreign key, and
    # their row locks (and a dropped plan's) are taken before the append lock, never after.
    session.flush()
    key = audit_key_of(session)
    _lock(session)
    last_seq, last_mac = _head(session, key)
    for event, _ in pending:
        last_seq += 1
        event.seq, event.prev_mac = last_seq, last_mac
        event.mac = last_mac = compute_mac(key, event.prev_mac, event)
        session.add(event)
    session.flush()


def _append_before_reading_the_log(state: ORMExecuteState) -> None:
    """A transaction that reads the audit log after writing to it sees its own events: they
    are appended first (review pages and checks only; no write path reads the log)."""
    if PENDING in state.session.info and _names_the_log(state.statement):
        _append_pending(state.session)


def _names_the_log(statement: Any) -> bool:
    if isinstance(statement, TextClause):
        return AuditEvent.__tablename__ in statement.text
    table = getattr(statement, "table", None)  # an UPDATE or DELETE
    if table is not None:
        return bool(table is _TABLE)
    froms = getattr(statement, "get_final_froms", None)
    found = froms() if froms is not None else []
    return any(_TABLE in getattr(f, "tables", [f]) for f in found)


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the events of a transaction (or savepoint) that rolled back."""
    pending = session.info.get(PENDING)
    if pending:
        pending[:] = [(event, tx) for event, tx in pending if not _within(tx, previous_transaction)]


def _within(tx: SessionTransaction | None, ended: SessionTransaction) -> bool:
    if tx is None:  # recorded before the session began its transaction: it belongs to the root
        return ended.parent is None
    while tx is not None:
        if tx is ended:
            return True
        tx = tx.parent
    return False


def _lock(session: Session) -> None:
    # Two appends must never read the same head, or the chain would fork. SQLite needs
    # nothing here: every write transaction starts with BEGIN IMMEDIATE (outreach/db.py).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(current_schema()))"),
            {"lock_class": LOCK_CLASS},
        )


def _head(session: Session, key: bytes) -> tuple[int, str]:
    newest = session.execute(
        select(_TABLE.c.seq, _TABLE.c.mac).order_by(_TABLE.c.seq.desc()).limit(1)
    ).first()
    if newest is None:
        return 0, GENESIS
    if newest.mac is not None:
        return int(newest.seq), str(newest.mac)
    # Only the first append after migration 0004 gets here: chain over the older events.
    prev = GENESIS
    for row in _rows(session):
        prev = compute_mac(key, prev, row)
    return int(newest.seq), prev


def _rows(session: Session) -> Iterator[Any]:
    """Every audit row in seq order, fetched in batches so a long log never sits in memory."""
    after = 0
    while True:
        batch = session.execute(
            select(_TABLE).where(_TABLE.c.seq > after).order_by(_TABLE.c.seq).limit(BATCH)
        ).all()
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1].seq


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    kind: BreakKind
    why: str


@dataclass(frozen=True)
class ChainHead:
    """The newest event's seq and MAC: keep it outside the database to detect truncation."""

    seq: int
    mac: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.mac}"


@dataclass(frozen=True)
class ChainReport:
    events: int
    unchained: int
    head: ChainHead
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


@dataclass
class _Walk:
    seq: int = 0
    mac: str = GENESIS
    events: int = 0
    unchained: int = 0
    mac_at_anchor: str | None = None


def verify_chain(session: Session, key: bytes, *, anchor: ChainHead | None = None) -> ChainReport:
    """Recompute every MAC in seq order and report the first break, if any."""
    walk = _Walk()
    for row in _rows(session):
        found = _step(session, key, walk, row)
        if found is not None:
            return _report(walk, found)
        if anchor is not None and walk.seq == anchor.seq:
            walk.mac_at_anchor = walk.mac
    return _report(walk, _check_anchor(walk, anchor))


def _report(walk: _Walk, found: ChainBreak | None) -> ChainReport:
    return ChainReport(walk.events, walk.unchained, ChainHead(walk.seq, walk.mac), found)


def _step(session: Session, key: bytes, walk: _Walk, row: Any) -> ChainBreak | None:
    if row.mac is None:
        return _step_unchained(key, walk, row)
    if row.seq != walk.seq + 1:
        return ChainBreak(walk.seq + 1, BreakKind.DELETED, "an event is missing here")
    expected = compute_mac(key, walk.mac, row)
    if row.prev_mac != walk.mac or not hmac.compare_digest(expected, row.mac):
        return _classify(session, key, walk, row)
    walk.seq, walk.mac = row.seq, row.mac
    walk.events += 1
    return None


def _step_unchained(key: bytes, walk: _Walk, row: Any) -> ChainBreak | None:
    if walk.events > walk.unchained:
        # A MAC stripped from an event after the chain began: no honest write does that.
        return ChainBreak(row.seq, BreakKind.CHANGED, "the event's MAC was removed")
    # Events from before migration 0004 may have seq gaps (PostgreSQL sequences skip on
    # rollback); their contents are still covered, through the first chained event.
    walk.seq, walk.mac = row.seq, compute_mac(key, walk.mac, row)
    walk.events += 1
    walk.unchained += 1
    return None


def _classify(session: Session, key: bytes, walk: _Walk, row: Any) -> ChainBreak:
    """Name what happened at a broken link: an authentic event moved, or something changed."""
    if walk.unchained and walk.events == walk.unchained and _authentic_at(key, row, row.seq):
        return ChainBreak(row.seq, BreakKind.CHANGED, "an event from before the chain changed")
    moved_from = _original_seq(session, key, row)
    if moved_from is not None and moved_from != row.seq:
        return ChainBreak(row.seq, BreakKind.REORDERED, f"this event was written as {moved_from}")
    return ChainBreak(row.seq, BreakKind.CHANGED, "the event does not match its MAC")


def _authentic_at(key: bytes, row: Any, seq: int) -> bool:
    return hmac.compare_digest(compute_mac(key, row.prev_mac or GENESIS, row, seq=seq), row.mac)


def _original_seq(session: Session, key: bytes, row: Any) -> int | None:
    # The MAC covers seq, so an event's contents moved to another seq verify only at the seq
    # they were written with. Trying each seq costs one HMAC per event, and only once a break
    # is already found.
    last = session.scalar(select(_TABLE.c.seq).order_by(_TABLE.c.seq.desc()).limit(1)) or 0
    for seq in range(1, last + 1):
        if _authentic_at(key, row, seq):
            return int(seq)
    return None


def _check_anchor(walk: _Walk, anchor: ChainHead | None) -> ChainBreak | None:
    if anchor is None:
        return None
    if walk.seq < anchor.seq:
        return ChainBreak(walk.seq + 1, BreakKind.DELETED, f"events up to {anchor.seq} are gone")
    kept = walk.mac_at_anchor
    if kept is None or not hmac.compare_digest(kept, anchor.mac):
        return ChainBreak(anchor.seq, BreakKind.CHANGED, "the event differs from the kept head")
    return None
