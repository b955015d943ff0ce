"""The inbox applier: every stored status callback is applied exactly once.

Racing appliers, an applier stopped mid-batch and a row that cannot be applied: the rows live
in a database of this test's own, because each batch must really commit.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Mapping
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from outreach.db import make_engine
from outreach.models import Attempt, AuditEvent, Delivery, WebhookEvent
from outreach.runtime import Runtime
from outreach.scheduler import jobs, runner
from outreach.services.delivery import inbox
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM, AuditAction
from tests import databases
from tests.conftest import DATABASES, NOW
from tests.factories import (
    make_contact,
    make_group,
    make_participant,
    make_program,
    make_safe_check_delivery,
)

CALLS = 30
LATER = NOW + timedelta(minutes=5)


class Stopped(BaseException):
    """The applier's process dies: nothing after this point runs, nothing is committed."""


def _seed_calls(rt: Runtime, calls: int = CALLS) -> list[uuid.UUID]:
    """Sent safe-check calls, each with its machine-answered callbacks stored, unapplied."""
    with rt.sessions() as db:
        program = make_program(db, now=NOW)
        participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
        make_contact(db, rt.vault, participant, now=NOW, consent="consented")
        _, [task] = events.report_event(
            db,
            rt.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="enrolled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
        calls_made = [make_safe_check_delivery(db, task, now=NOW) for _ in range(calls)]
        for call in calls_made:
            _store_machine_call(db, call)
        return [call.id for call in calls_made]


def _store_machine_call(db: Session, call: Delivery) -> None:
    sid = call.provider_sid or ""
    for route, key, fields in (
        ("status", f"status:contact:{sid}:ringing", {"CallStatus": "ringing", "leg": "contact"}),
        ("amd", f"amd:{sid}:machine_start", {"AnsweredBy": "machine_start"}),
        (
            "status",
            f"status:contact:{sid}:completed",
            {"CallStatus": "completed", "leg": "contact"},
        ),
    ):
        stored = inbox.store(
            db.get_bind(),
            code=call.code,
            route=route,
            key=key,
            fields={"CallSid": sid, **fields},
            now=NOW,
        )
        assert stored


def _each_applied_once(rt: Runtime, ids: list[uuid.UUID]) -> None:
    with rt.sessions() as db:
        assert inbox.unapplied_count(db) == 0
        assert db.scalar(select(func.count()).select_from(Attempt)) == len(ids)
        recorded = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.ATTEMPT_RECORDED.value)
        )
        assert recorded == len(ids)
        settled = db.execute(
            select(Delivery.status, Delivery.attempt_id).where(Delivery.id.in_(ids))
        )
        assert {(status, attempt is not None) for status, attempt in settled} == {("settled", True)}
        outcomes = db.scalars(select(Attempt.outcome).distinct()).all()
        assert outcomes == ["machine_hung_up"]


def test_racing_appliers_apply_each_callback_exactly_once(own_runtime: Runtime) -> None:
    ids = _seed_calls(own_runtime)
    start = threading.Barrier(4)
    applied: list[int] = []

    def applier() -> None:
        start.wait(timeout=30)
        with own_runtime.sessions() as session:
            applied.append(inbox.drain(session, LATER, limit=7))

    workers = [threading.Thread(target=applier) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert sum(applied) == 3 * CALLS  # every row counted by exactly one applier
    _each_applied_once(own_runtime, ids)


def test_an_applier_stopped_mid_batch_leaves_the_batch_whole_for_the_next_run(
    own_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _seed_calls(own_runtime)
    status = inbox.EFFECTS["status"]
    seen: list[int] = []

    def dies_at_the_twentieth(
        session: Session, delivery: Delivery, fields: Mapping[str, str], at: datetime
    ) -> None:
        seen.append(1)
        if len(seen) == 40:  # well inside the batch, after several calls settled
            raise Stopped
        status(session, delivery, fields, at)

    monkeypatch.setitem(inbox.EFFECTS, "status", dies_at_the_twentieth)
    with own_runtime.sessions() as session, pytest.raises(Stopped):
        inbox.drain(session, LATER, limit=3 * CALLS)  # one batch: all of it, or none of it
    with own_runtime.sessions() as db:
        assert inbox.unapplied_count(db) == 3 * CALLS
        assert db.scalar(select(func.count()).select_from(Attempt)) == 0
    monkeypatch.setitem(inbox.EFFECTS, "status", status)
    with own_runtime.sessions() as session:
        assert inbox.drain(session, LATER) == 3 * CALLS
        assert inbox.drain(session, LATER) == 0
    _each_applied_once(own_runtime, ids)


def _batches_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each batch applies, batch by batch, from here on."""
    batches: list[int] = []
    apply_pending = inbox.apply_pending

    def counted(session: Session, now: datetime, **options: Any) -> int:
        batches.append(apply_pending(session, now, **options))
        return batches[-1]

    monkeypatch.setattr(inbox, "apply_pending", counted)
    return batches


def test_a_batch_whose_time_is_up_leaves_the_rest_stored_for_the_next(
    own_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _seed_calls(own_runtime)
    ticks = iter(range(10_000))  # a clock that moves one second each time it is read
    batches, pauses = _batches_counted(monkeypatch), list[int]()
    with own_runtime.sessions() as session:
        applied = inbox.drain(
            session,
            LATER,
            limit=10,
            hold=lambda: inbox.Hold(2.5, clock=lambda: next(ticks)),
            pause=lambda: pauses.append(1),
        )
    assert applied == 3 * CALLS
    # Read when the hold starts, then before the second, third and fourth row: three a batch.
    assert batches == [3] * CALLS + [0]
    assert len(pauses) == CALLS  # the webhooks get their turn after every batch
    _each_applied_once(own_runtime, ids)


def test_the_scheduler_gives_each_batch_a_few_milliseconds(
    own_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: a batch holds the one write lock. PostgreSQL: it holds the rows of the tasks
    liaisons are working (issue 21, "no lock held across a wait"). Either way it stops taking
    rows once its time is up."""
    ids = _seed_calls(own_runtime, calls=5)
    batches = _batches_counted(monkeypatch)
    monkeypatch.setattr(inbox, "SQLITE_APPLY_SECONDS", 0.0)  # every batch's time is up at once
    monkeypatch.setattr(inbox, "APPLY_SECONDS", 0.0)
    assert jobs.apply_callbacks(own_runtime, LATER) == 3 * 5
    assert batches == [1] * 15 + [0]  # one row each, the least a batch applies
    _each_applied_once(own_runtime, ids)


def test_a_callback_that_cannot_be_applied_is_kept_and_holds_back_no_other(
    own_runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _seed_calls(own_runtime, calls=5)
    amd = inbox.EFFECTS["amd"]

    def breaks_on_the_third_call(
        session: Session, delivery: Delivery, fields: Mapping[str, str], at: datetime
    ) -> None:
        if delivery.id == ids[2]:
            raise ValueError("+14045550123")  # a message that must never reach the log
        amd(session, delivery, fields, at)

    monkeypatch.setitem(inbox.EFFECTS, "amd", breaks_on_the_third_call)
    logger = logging.getLogger("outreach.inbox")  # "outreach" does not propagate to the root
    logger.addHandler(caplog.handler)
    try:
        with own_runtime.sessions() as session:
            assert inbox.drain(session, LATER) == 3 * 5 - 1
    finally:
        logger.removeHandler(caplog.handler)
    assert "ValueError" in caplog.text
    assert "+1404" not in caplog.text
    with own_runtime.sessions() as db:
        kept = db.scalars(select(WebhookEvent.route).where(WebhookEvent.applied_at.is_(None)))
        assert kept.all() == ["amd"]
        assert db.scalar(select(func.count()).select_from(Attempt)) == 4
    monkeypatch.setitem(inbox.EFFECTS, "amd", amd)
    with own_runtime.sessions() as session:
        assert inbox.drain(session, LATER) == 1
    _each_applied_once(own_runtime, ids)


def test_the_scheduler_applies_stored_callbacks_every_few_seconds_where_it_leads(
    own_runtime: Runtime, tmp_path: Path
) -> None:
    ids = _seed_calls(own_runtime, calls=3)
    jobs = {job.id: job for job in runner.build(own_runtime, background=True).get_jobs()}
    assert jobs["apply-callbacks"].trigger.interval.total_seconds() <= 5
    other = runner.Leadership(own_runtime.engine, own_runtime.settings.instance_path)
    assert other.try_acquire()  # another scheduler process leads
    try:
        follower = runner.Leadership(own_runtime.engine, own_runtime.settings.instance_path)
        assert not runner.apply_callbacks_if_leader(own_runtime, follower)
        with own_runtime.sessions() as db:
            assert inbox.unapplied_count(db) == 9
    finally:
        other.release()
    assert runner.apply_callbacks_if_leader(own_runtime, follower)
    follower.release()
    _each_applied_once(own_runtime, ids)


# --- the store's own statement, on a bare driver connection ---------------------------------


def _one_call(rt: Runtime) -> tuple[uuid.UUID, str]:
    """One sent call (its three callbacks already stored): its id and its opaque code."""
    [call_id] = _seed_calls(rt, calls=1)
    with rt.sessions() as db:
        return call_id, db.get_one(Delivery, call_id).code


def _store(rt: Runtime, code: str, key: str, at: datetime = NOW) -> bool:
    return inbox.store(
        rt.engine, code=code, route="status", key=key, fields={"CallStatus": "ringing"}, now=at
    )


def test_a_callback_stored_on_the_bare_driver_reads_back_as_sqlalchemy_would_write_it(
    own_runtime: Runtime,
) -> None:
    call_id, code = _one_call(own_runtime)
    odd_moment = NOW.astimezone(ZoneInfo("America/New_York")) + timedelta(microseconds=7)
    assert _store(own_runtime, code, "status:contact:CAbare:ringing", odd_moment)
    assert not _store(own_runtime, code, "status:contact:CAbare:ringing")  # a duplicate
    assert not _store(own_runtime, "no-such-code", "status:contact:CAnone:ringing")
    with own_runtime.sessions() as db:
        row = db.scalars(
            select(WebhookEvent).where(WebhookEvent.natural_key == "status:contact:CAbare:ringing")
        ).one()
        assert isinstance(row.id, uuid.UUID)
        assert (row.route, row.fields, row.delivery_id) == (
            "status",
            {"CallStatus": "ringing"},
            call_id,
        )
        assert row.received_at == odd_moment
        assert row.received_at.utcoffset() == timedelta(0)
        assert row.applied_at is None
        # Compared in SQL with a time SQLAlchemy binds itself: stored in the same form.
        same = select(func.count()).where(WebhookEvent.received_at == odd_moment)
        assert db.scalar(same.select_from(WebhookEvent)) == 1


def test_a_store_that_fails_leaves_its_connection_clean_for_the_next(
    own_runtime: Runtime,
) -> None:
    _, code = _one_call(own_runtime)
    with pytest.raises(ValueError, match="naive"):  # refused before any SQL runs
        _store(own_runtime, code, "status:contact:CAfail:ringing", NOW.replace(tzinfo=None))
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):  # inside the transaction
        inbox.store(own_runtime.engine, code=code, route=None, key="k", fields={}, now=NOW)  # type: ignore[arg-type]
    assert _store(own_runtime, code, "status:contact:CAfail:ringing")
    with own_runtime.sessions() as db:  # a session's transaction is not kept waiting (SQLite)
        assert db.scalar(select(func.count()).select_from(WebhookEvent)) == 3 * 1 + 1
        db.commit()


if "postgresql" in DATABASES:  # only a PostgreSQL server drops its clients' connections

    @pytest.mark.parametrize("own_engine", ["postgresql"], indirect=True)
    def test_a_store_on_a_connection_the_server_dropped_is_kept_on_a_fresh_one(
        own_runtime: Runtime,
    ) -> None:
        """Issue 21 finding 17: Twilio never retries a callback answered 500, so the store
        runs once more on a fresh connection (it is keyed: running twice is safe)."""
        _, code = _one_call(own_runtime)
        pooled = own_runtime.engine.raw_connection()
        with closing(pooled.cursor()) as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        pooled.close()  # back to the pool: the next store takes this very connection
        admin = make_engine(databases.POSTGRES_URL, poolclass=NullPool)  # not from that pool
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        assert _store(own_runtime, code, "status:contact:CAdrop:ringing")
        assert not _store(own_runtime, code, "status:contact:CAdrop:ringing")  # kept once

    @pytest.mark.parametrize("own_engine", ["postgresql"], indirect=True)
    @pytest.mark.parametrize("holder", ["apply_pending", "delivery_caught_up"])
    def test_a_callback_is_stored_at_once_while_an_applier_holds_its_delivery(
        own_runtime: Runtime, holder: str
    ) -> None:
        """The inbox's row references its delivery: a lock the applier takes on the delivery
        must not make the webhook's foreign-key check wait out the applier's transaction."""
        call_id, code = _one_call(own_runtime)
        stored: list[bool] = []
        with own_runtime.sessions() as applier:
            if holder == "delivery_caught_up":
                assert inbox.delivery_caught_up(applier, code, NOW) is not None
            else:  # the batch's locks, as apply_pending takes them, kept open here
                inbox.lock_deliveries(applier, [call_id])
            webhook = threading.Thread(
                target=lambda: stored.append(_store(own_runtime, code, "status:contact:CAw:busy"))
            )
            webhook.start()
            webhook.join(timeout=5)
            finished_while_held = not webhook.is_alive()
            applier.rollback()
        webhook.join(timeout=30)
        assert finished_while_held
        assert stored == [True]
