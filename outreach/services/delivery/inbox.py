"""The webhook inbox: every callback stored once under its natural key, status callbacks applied
later in batches.

A status callback (call progress, machine detection, SMS delivery) decides nothing the caller
waits for, so its handler only stores it: one INSERT ... SELECT ... ON CONFLICT DO NOTHING that
finds the delivery by its opaque code, so an unknown code stores nothing and a retry finds its
key taken, in one short transaction. The applier applies stored rows in batches, one
transaction each, and marks each row applied in the transaction that applies it: a crash rolls
both back, so every row is applied exactly once. Effects are order-proof (statuses only move
forward, a delivery settles once its outcome is fully known), so any order ends the same.

A handler that decides something now (the answer screen, the keypad) first applies what is
stored for its delivery, under the delivery's row lock, so it decides on everything Twilio has
already told us. On PostgreSQL appliers claim rows with SKIP LOCKED and lock deliveries in id
order; on SQLite every write transaction holds the database's write lock (outreach/db.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Row, Uuid, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from outreach.db import DriverStatement
from outreach.models import Delivery, WebhookEvent
from outreach.models.base import UTCDateTime
from outreach.services.delivery import callbacks

log = logging.getLogger("outreach.inbox")

# Short batches, so that nothing waits long behind one. On SQLite a batch holds the one
# write lock from start to commit and every webhook waits behind it, so it is shorter still
# (and the scheduler pauses between batches there, see scheduler/jobs.py).
APPLY_BATCH = 25
SQLITE_APPLY_BATCH = 10
# A row that settles a call (its attempt, its audit row) costs milliseconds, several times a
# status that only moves forward: on SQLite a batch also stops taking rows once it has held
# the lock this long, so a webhook never waits behind ten settlements at once.
SQLITE_APPLY_SECONDS = 0.004
# On PostgreSQL a batch stops taking rows once it has held its rows' locks this long: the
# tasks it settles are the ones liaisons are working (issue 21, "no lock held across a wait").
APPLY_SECONDS = 0.05
# Only these fields are ever kept from a callback: SIDs, statuses, digits, codes.
KEPT_FIELDS = (
    "CallSid",
    "CallStatus",
    "AnsweredBy",
    "Digits",
    "DialCallStatus",
    "DialCallSid",
    "MessageSid",
    "MessageStatus",
    "ErrorCode",
    "SequenceNumber",
    "CallbackSource",
    "OptOutType",
)

Effect = Callable[[Session, Delivery, Mapping[str, str], datetime], None]
# What a stored status callback does once applied; `at` is when it was received.
EFFECTS: dict[str, Effect] = {
    "status": lambda session, delivery, fields, at: _call_status(session, delivery, fields, at),
    "amd": lambda session, delivery, fields, at: callbacks.amd_result(
        session, delivery, fields.get("AnsweredBy", ""), at
    ),
    "sms-status": lambda session, delivery, fields, at: callbacks.sms_status(
        session, delivery, fields.get("MessageStatus", ""), fields.get("ErrorCode", ""), at
    ),
}


def _call_status(
    session: Session, delivery: Delivery, fields: Mapping[str, str], at: datetime
) -> None:
    """A call's status; the machine verdict it carries counts too, since the one asked for
    with the TwiML may never have reached us (issue 24 item 6). The first verdict stands."""
    leg = fields.get("leg", "contact")
    if leg == "contact" and fields.get("AnsweredBy"):
        callbacks.amd_result(session, delivery, fields["AnsweredBy"], at)
    callbacks.call_status(session, delivery, leg, fields.get("CallStatus", ""), at)


_EVENTS = WebhookEvent.__table__
_TYPES = (
    bindparam("id", type_=Uuid()),
    bindparam("fields", type_=JSON()),
    bindparam("received_at", type_=UTCDateTime()),
    bindparam("delivery_id", type_=Uuid()),
    bindparam("applied_at", type_=UTCDateTime()),
)
# SQLAlchemy never caches the compiled form of an ON CONFLICT insert, and compiling one costs
# more than running it, so the inbox's two inserts are written out once, here, in SQL that
# SQLite and PostgreSQL read alike.
_STORE = DriverStatement(
    text(
        "INSERT INTO webhook_event (id, natural_key, route, fields, received_at, delivery_id) "
        "SELECT :id, :natural_key, :route, :fields, :received_at, delivery.id FROM delivery "
        "WHERE delivery.code = :code "
        "ON CONFLICT DO NOTHING RETURNING id"
    ).bindparams(*_TYPES[:3])
)
_REMEMBER = text(
    "INSERT INTO webhook_event "
    "(id, natural_key, route, fields, received_at, delivery_id, applied_at) "
    "VALUES (:id, :natural_key, :route, :fields, :received_at, :delivery_id, :applied_at) "
    "ON CONFLICT DO NOTHING RETURNING id"
).bindparams(*_TYPES)


def kept(fields: Mapping[str, str], **ours: str) -> dict[str, str]:
    """The callback's fields worth keeping, plus our own routing details (such as the leg)."""
    return {**{name: fields[name] for name in KEPT_FIELDS if name in fields}, **ours}


# --- storing -------------------------------------------------------------------------------


def store(
    bind: Engine | Connection,
    *,
    code: str,
    route: str,
    key: str,
    fields: dict[str, str],
    now: datetime,
) -> bool:
    """Store a status callback for the applier, in a transaction of its own; False for an
    unknown code or a duplicate.

    Run on a bare driver cursor, not a Session: it is the one statement of the busiest
    webhooks, and a Session with its Connection cost more than the statement itself."""
    if not code or len(code) > 64:
        return False
    values = {
        "id": uuid.uuid4(),
        "natural_key": key[:200],
        "route": route,
        "fields": fields,
        "received_at": now,
        "code": code,
    }
    return _STORE.run_alone(bind, values) is not None


def remember(
    session: Session,
    route: str,
    key: str,
    fields: Mapping[str, str],
    now: datetime,
    delivery: Delivery | None = None,
) -> bool:
    """Store a callback its handler applies itself, in the caller's transaction; answer False
    for a duplicate."""
    row = {
        "id": uuid.uuid4(),
        "natural_key": key[:200],
        "route": route,
        "fields": kept(fields),
        "received_at": now,
        "delivery_id": delivery.id if delivery is not None else None,
        "applied_at": now,
    }
    return session.execute(_REMEMBER, row).first() is not None


def remember_at_once(
    session: Session,
    route: str,
    key: str,
    fields: Mapping[str, str],
    now: datetime,
    delivery: Delivery | None = None,
) -> bool:
    """`remember`, in a transaction of its own that ends here; answer False for a duplicate."""
    fresh = remember(session, route, key, fields, now, delivery)
    session.commit()
    return fresh


# --- applying ------------------------------------------------------------------------------


class Hold:
    """How long one batch may go on taking rows, by a monotonic clock (not the domain's)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock, self._until = clock, clock() + seconds

    def is_up(self) -> bool:
        return self._clock() >= self._until


def delivery_caught_up(session: Session, code: str, now: datetime) -> Delivery | None:
    """The delivery a code names, locked, with every callback stored for it applied, inside
    the caller's transaction."""
    if not code or len(code) > 64:
        return None
    delivery = session.scalar(
        select(Delivery)
        .where(Delivery.code == code)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if delivery is None:
        return None
    # Rows an applier holds right now are left to it: it waits for this delivery's lock.
    rows = session.execute(
        _unapplied().where(_EVENTS.c.delivery_id == delivery.id).with_for_update(skip_locked=True)
    ).all()
    _apply(session, rows, {delivery.id: delivery}, now)
    return delivery


def catch_up_at_once(session: Session, code: str, now: datetime) -> None:
    """`delivery_caught_up`, in a transaction of its own that ends here: for a callback that
    must take effect before the webhook answers (a carrier's opt-out, S2)."""
    delivery_caught_up(session, code, now)
    session.commit()


def apply_pending(
    session: Session,
    now: datetime,
    *,
    limit: int = APPLY_BATCH,
    skip: Collection[uuid.UUID] = (),
    only: uuid.UUID | None = None,
    hold: Hold | None = None,
) -> int:
    """Apply one batch of stored callbacks in one transaction; answer how many it applied.

    Given `hold`, the batch stops once its time is up (after one row at least); the rows it
    did not reach stay stored for the next batch. The session must hold no unsaved work: it
    is expired, so nothing stale is acted on."""
    session.expire_all()
    query = _unapplied().order_by(_EVENTS.c.received_at, _EVENTS.c.id).limit(limit)
    if skip:
        query = query.where(_EVENTS.c.id.not_in(skip))
    if only is not None:
        query = query.where(_EVENTS.c.id == only)
    rows = session.execute(query.with_for_update(skip_locked=True)).all()
    if not rows:
        session.rollback()
        return 0
    deliveries = lock_deliveries(session, {row.delivery_id for row in rows} - {None})
    applied = _apply(session, rows, {d.id: d for d in deliveries}, now, hold)
    session.commit()
    return applied


def lock_deliveries(session: Session, ids: Collection[uuid.UUID]) -> Sequence[Delivery]:
    """Lock deliveries for applying their callbacks, in id order, so two appliers never wait
    on each other in a ring.

    FOR NO KEY UPDATE, the lock an UPDATE that keeps the key takes: it still keeps out every
    other applier and handler, but not the webhooks storing new callbacks, whose foreign-key
    check on the delivery (FOR KEY SHARE) would otherwise wait out the applier's batch."""
    query = select(Delivery).where(Delivery.id.in_(sorted(ids))).order_by(Delivery.id)
    return session.scalars(query.with_for_update(key_share=True)).all()


def drain(
    session: Session,
    now: datetime,
    *,
    limit: int | None = None,
    hold: Callable[[], Hold] | None = None,
    pause: Callable[[], object] = lambda: None,
    leading: Callable[[], bool] = lambda: True,
) -> int:
    """Apply every stored callback, batch by batch; answer how many were applied.

    `hold` gives each batch its time (see apply_pending); `pause` runs between two batches.
    A batch that fails is retried one row per transaction; a row that still fails is logged
    and left stored for the next run, so one bad row never holds back the others. Before each
    batch the scheduler asks `leading` whether it still leads, and stops at once if not: a
    drain of a backlog lasts seconds, and the process that took over applies the rest
    (issue 21, "One leader, proven": bench/soak saw two processes applying at once)."""
    limit = limit or batch_size(session)
    applied, failed = 0, set[uuid.UUID]()
    while leading():
        try:
            budget = hold() if hold is not None else None
            done = apply_pending(session, now, limit=limit, skip=failed, hold=budget)
            more = done > 0
        except Exception:  # a row in the batch is bad: find it below, and apply the rest
            session.rollback()
            done, more = _one_by_one(session, now, limit, failed)
        if not more:
            return applied
        applied += done
        pause()
    return applied


def batch_size(session: Session) -> int:
    """How many callbacks one transaction applies on this session's database."""
    return SQLITE_APPLY_BATCH if session.get_bind().dialect.name == "sqlite" else APPLY_BATCH


def _one_by_one(
    session: Session, now: datetime, limit: int, failed: set[uuid.UUID]
) -> tuple[int, bool]:
    query = _unapplied(_EVENTS.c.id).order_by(_EVENTS.c.received_at, _EVENTS.c.id).limit(limit)
    ids = list(session.scalars(query.where(_EVENTS.c.id.not_in(failed)) if failed else query))
    session.rollback()
    applied = 0
    for row_id in ids:
        try:
            applied += apply_pending(session, now, only=row_id)
        except Exception as exc:
            session.rollback()
            # The type only: a database error's text may quote stored values (S10).
            log.error(
                "callback %s not applied (%s); kept for the next run", row_id, type(exc).__name__
            )
            failed.add(row_id)
    return applied, bool(ids)


def unapplied_count(session: Session) -> int:
    """How many stored callbacks still wait for the applier."""
    found = session.scalar(
        select(func.count()).select_from(_EVENTS).where(_EVENTS.c.applied_at.is_(None))
    )
    return int(found or 0)


def _unapplied(*columns: Any) -> Any:
    wanted = columns or (
        _EVENTS.c.id,
        _EVENTS.c.route,
        _EVENTS.c.fields,
        _EVENTS.c.received_at,
        _EVENTS.c.delivery_id,
    )
    return select(*wanted).where(_EVENTS.c.applied_at.is_(None))


def _apply(
    session: Session,
    rows: Sequence[Row[Any]],
    deliveries: Mapping[uuid.UUID, Delivery],
    now: datetime,
    hold: Hold | None = None,
) -> int:
    """Apply rows to their deliveries, in order, and mark them applied, in the caller's
    transaction; stop early once `hold` is up. Answer how many were applied."""
    done: list[uuid.UUID] = []
    for row in rows:
        if done and hold is not None and hold.is_up():
            break
        delivery = deliveries.get(row.delivery_id)
        effect = EFFECTS.get(row.route)
        if delivery is not None and effect is not None:
            effect(session, delivery, row.fields, row.received_at)
        done.append(row.id)
    if not done:
        return 0
    session.flush()
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id.in_(done), WebhookEvent.applied_at.is_(None))
        .values(applied_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(done)


def preflight_key(session: Session, call_sid: str) -> str | None:
    """The key the operator pressed on a pre-flight test call, if our webhook heard one."""
    found = session.scalar(
        select(WebhookEvent.natural_key).where(
            WebhookEvent.natural_key.like(f"preflight:{call_sid[:40]}:%")
        )
    )
    session.rollback()
    return None if found is None else found.rsplit(":", 1)[-1]
