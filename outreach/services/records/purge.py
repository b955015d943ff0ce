"""Purge: delete a due contact record for good, one contact per transaction (S10).

The contact's data key goes first (crypto-shredding: anything sealed with it, wherever a copy
lies, can never be opened again), then every row whose foreign keys lead to the contact —
tasks, attempts, deliveries, outbox, inbound messages, preferences, the sealed name and number
and the phone's blind index — and the provider callbacks that name its calls and texts. The
provider's own records of those calls and texts are queued, in the same transaction, for the
provider to delete (services/delivery/provider_records.py). The audit log keeps one `contact.purged`
event with the contact's opaque id; nothing in the chain is touched.

The attempt log is append-only by trigger (S5, migration 0001). A purge is the one sanctioned
way to delete from it: inside the purge's own transaction the trigger is lifted and put back,
so no other writer ever sees it gone. On PostgreSQL only the tables' owner may do that, which
keeps the everyday application role from ever deleting an attempt (docs/security/retention.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, or_, select
from sqlalchemy.orm import Session

from outreach.models import (
    Base,
    ContactKey,
    ContactPerson,
    Delivery,
    InboundMessage,
    TextTrace,
    WebhookEvent,
)
from outreach.services.delivery import inbound, provider_records
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.services.records.retention import (
    ATTEMPT,
    CONTACT,
    TASK,
    DueRecords,
    Retention,
    is_due,
)


@dataclass(frozen=True)
class Purged:
    """What one contact's purge deleted (counts only: the record itself is gone)."""

    contact_id: uuid.UUID
    program_key: str
    tasks: int
    attempts: int
    rows: int
    provider_records: int


def purge_due(session: Session, due: DueRecords, *, now: datetime) -> Iterator[Purged | None]:
    """Purge each due contact in its own transaction; yield what went (None: no longer due).

    Stopping half-way leaves every contact either whole or gone; running again finishes.
    """
    for rule, contact_ids in due.programs:
        for contact_id in contact_ids:
            yield purge_contact(session, rule, contact_id, now=now)


def purge_contact(
    session: Session, rule: Retention, contact_id: uuid.UUID, *, now: datetime
) -> Purged | None:
    """Delete one contact's whole record if it is still due, and audit it; None otherwise."""
    locked = select(ContactPerson.id).where(ContactPerson.id == contact_id).with_for_update()
    if session.scalar(locked) is None or not is_due(session, rule, contact_id):
        session.rollback()  # gone already, or something happened on it since it was counted
        return None
    # S10: the key goes first; from here on nothing sealed for this contact can be opened.
    session.execute(delete(ContactKey).where(ContactKey.contact_id == contact_id))
    sids = _delete_callbacks(session, _provider_sids(session, contact_id))
    rows = record_rows(session, contact_id)
    _delete_rows(session, rows)
    purged = Purged(
        contact_id=contact_id,
        program_key=rule.program_key,
        tasks=len(rows.get(TASK, ())),
        attempts=len(rows.get(ATTEMPT, ())),
        rows=sum(len(ids) for ids in rows.values()),
        provider_records=provider_records.queue(session, sids, now=now),
    )
    _audit(session, rule, purged, now)
    session.commit()
    return purged


def record_rows(session: Session, contact_id: uuid.UUID) -> dict[Table, set[Any]]:
    """Answer the primary keys of every row whose foreign keys lead to the contact, by table.

    Walking the schema rather than a list means a table added later is never forgotten: if a
    row hangs off the contact, however many steps away, it is part of the record.
    """
    found: dict[Table, set[Any]] = {CONTACT: {contact_id}}
    todo = [CONTACT]
    while todo:
        parent = todo.pop()
        for child, column in children(parent):
            key = _primary_key(child)
            ids = set(session.scalars(select(key).where(column.in_(found[parent]))))
            new = ids - found.setdefault(child, set())
            if new:
                found[child] |= new
                todo.append(child)
    return {table: ids for table, ids in found.items() if ids}


def children(parent: Table) -> list[tuple[Table, Any]]:
    """Answer (table, column) for every foreign key in the schema that points at `parent`."""
    tables = [t for t in Base.metadata.sorted_tables if isinstance(t, Table)]
    return [
        (table, fk.parent)
        for table in tables
        for fk in table.foreign_keys
        if fk.column.table is parent
    ]


# Deleting through the mapped class also drops the rows' objects from the session.
_MAPPED: dict[Table, Any] = {
    mapper.local_table: mapper.class_
    for mapper in Base.registry.mappers
    if isinstance(mapper.local_table, Table)
}


def _primary_key(table: Table) -> Any:
    columns = list(table.primary_key.columns)
    if len(columns) != 1:
        raise TypeError(f"{table.name}: a contact's rows need a one-column primary key")
    return columns[0]


def _delete_rows(session: Session, rows: Mapping[Table, set[Any]]) -> None:
    # Children before parents, so every foreign key holds at each statement.
    for table in reversed(Base.metadata.sorted_tables):
        ids = rows.get(table)
        if not ids:
            continue
        statement = delete(_MAPPED.get(table, table)).where(_primary_key(table).in_(ids))
        if table is ATTEMPT:
            with _attempt_log_opened(session):
                session.execute(statement)
        else:
            session.execute(statement)


def _provider_sids(session: Session, contact_id: uuid.UUID) -> set[str]:
    calls = select(Delivery.provider_sid).where(
        Delivery.contact_id == contact_id, Delivery.provider_sid.is_not(None)
    )
    texts = select(InboundMessage.provider_sid).where(InboundMessage.contact_id == contact_id)
    # Her keywords and answers, and our replies to her (issue 24 item 5).
    traces = select(TextTrace.sid).where(
        TextTrace.contact_id == contact_id, TextTrace.sid.is_not(None)
    )
    found = session.scalars(calls.union(texts, traces))
    return {inbound.provider_sid(sid) for sid in found if sid}


def _delete_callbacks(session: Session, sids: set[str]) -> set[str]:
    """Delete the stored provider callbacks that name the contact's calls and texts; answer
    every SID of the provider's records, the second legs of bridged calls included.

    They hold only SIDs, statuses and digits, but a SID is a pointer to the provider's own log
    of that call, number included. The second leg of a bridged call, the one that rang the
    contact, has its own SID, which the dial result names; that is followed too.
    """
    rows = _callbacks_naming(session, sids)
    legs = {str(row.fields.get("DialCallSid")) for row in rows if row.fields.get("DialCallSid")}
    rows += _callbacks_naming(session, legs - sids)
    if rows:
        ids = {row.id for row in rows}
        session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids)))
    return sids | legs


def _callbacks_naming(session: Session, sids: set[str]) -> list[WebhookEvent]:
    if not sids:
        return []
    # Natural keys are "route:SID" or "route:SID:status..."; SIDs have a fixed length.
    naming = [WebhookEvent.natural_key.contains(f":{sid}", autoescape=True) for sid in sids]
    return list(session.scalars(select(WebhookEvent).where(or_(*naming))))


@contextmanager
def _attempt_log_opened(session: Session) -> Iterator[None]:
    """Lift the attempt log's delete guard for this transaction only, and put it back.

    The guard is migration 0001's trigger. Inside the transaction nobody else sees it lifted:
    SQLite holds the write lock (BEGIN IMMEDIATE), and PostgreSQL's ALTER TABLE holds a lock
    that keeps every other writer off the table until commit. If anything fails, the rollback
    restores the trigger with everything else.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE attempt DISABLE TRIGGER attempt_append_only")
        yield
        conn.exec_driver_sql("ALTER TABLE attempt ENABLE TRIGGER attempt_append_only")
        return
    guard = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'attempt_no_delete'"
    ).scalar()
    if guard is not None:
        conn.exec_driver_sql("DROP TRIGGER attempt_no_delete")
    yield
    if guard is not None:
        conn.exec_driver_sql(str(guard))


def _audit(session: Session, rule: Retention, purged: Purged, now: datetime) -> None:
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.CONTACT_PURGED,
        object_type="contact",
        object_id=purged.contact_id,
        program_id=rule.program_id,
        retention_years=rule.years,
        tasks=purged.tasks,
        attempts=purged.attempts,
        rows=purged.rows,
        provider_records=purged.provider_records,
    )


# --- the files ------------------------------------------------------------------------


def clear_old_pages(engine: Engine) -> bool:
    """Empty SQLite's write-ahead log so no page from before the purge lingers in it.

    Every connection runs with `secure_delete=ON` (outreach/db.py), so deleted rows are
    zeroed in the pages that held them; old copies of those pages can still sit in the WAL
    until a checkpoint writes them back and truncates it. Answer False when a reader kept the
    log from being emptied (run the purge again once the application is idle). PostgreSQL
    needs VACUUM instead, which the operator runs (docs/security/retention.md).
    """
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        # On the driver's own connection: a checkpoint cannot run inside a transaction.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    return int(busy) == 0
