"""The audit log is a keyed hash chain: any changed, deleted or moved row is found (S10)."""

from __future__ import annotations

import itertools
import os
import random
import threading
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, delete, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from outreach.db import alembic_config, make_engine, migrate, schema_change
from outreach.models import AuditEvent
from outreach.security.vault import Vault
from outreach.services.contact_persons import contacts
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.services.records.audit_chain import (
    GENESIS,
    AuditKeyMissing,
    BreakKind,
    ChainHead,
    ChainReport,
    verify_chain,
)
from outreach.services.staff import tokens, users
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import World, make_contact
from tests.sessions import app_sessions

TABLE = AuditEvent.__table__
CONTENT = ("at", "actor_id", "actor_role", "action", "object_type", "object_id", "detail")
CONTENT += ("program_id",)
TAMPERINGS = 1000


@pytest.fixture
def key(settings: Settings) -> bytes:
    return settings.secrets.audit_key


@pytest.fixture
def busy_log(db: Session, world: World, vault: Vault) -> list[dict[str, Any]]:
    """A log written by ordinary work: accounts, contacts, phones, reveals, a token."""
    liaison = world.actor("liaison")
    for n in range(3):
        users.add_user(
            db,
            username=f"staff.{n}",
            role="liaison",
            password=None,
            program_keys=[world.home.key],
            now=NOW + timedelta(minutes=n),
            actor=SYSTEM,
        )
        contact = make_contact(
            db, vault, world.participant, now=NOW, phone=f"+1404555020{n}", consent="consented"
        )
        for purpose in ("call", "review"):
            contacts.reveal_contact(
                db, vault, actor=liaison, contact_id=contact.id, now=NOW, purpose=purpose
            )
    users.set_phone(
        db, vault, user_id=world.users["liaison"].id, phone="+14045550111", now=NOW, actor=SYSTEM
    )
    tokens.issue_token(db, username="staff.0", days=90, now=NOW, actor=SYSTEM)
    return [dict(row._mapping) for row in db.execute(select(TABLE).order_by(TABLE.c.seq))]


def _disable_append_only(db: Session) -> None:
    """Tamper as an attacker with database access would: around the triggers (test only)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        # DDL is transactional in SQLite: the test's rollback puts the triggers back.
        db.execute(text("DROP TRIGGER audit_event_no_update"))
        db.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_the_chain_verifies_after_ordinary_work(
    db: Session, busy_log: list[dict[str, Any]], key: bytes
) -> None:
    report = verify_chain(db, key)
    assert report.intact, report.first_break
    assert report.events == len(busy_log) >= 15
    assert report.unchained == 0
    assert report.head == ChainHead(busy_log[-1]["seq"], busy_log[-1]["mac"])
    assert [row["seq"] for row in busy_log] == list(range(1, len(busy_log) + 1))
    assert busy_log[0]["prev_mac"] == GENESIS
    assert all(b["prev_mac"] == a["mac"] for a, b in itertools.pairwise(busy_log))


def test_a_verifier_with_another_key_trusts_nothing(
    db: Session, busy_log: list[dict[str, Any]]
) -> None:
    report = verify_chain(db, b"k" * 32)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (1, BreakKind.CHANGED)


def test_a_thousand_single_row_tamperings_are_each_caught(
    db: Session, busy_log: list[dict[str, Any]], key: bytes, world: World
) -> None:
    head = verify_chain(db, key).head
    _disable_append_only(db)
    rng = random.Random(20261117)  # fixed, so a failure can be replayed
    kinds: Counter[str] = Counter()
    for _ in range(TAMPERINGS):
        tampering = rng.choice((_change_a_field, _delete_a_row, _swap_two_rows))
        savepoint = db.begin_nested()
        seq, expected, tail = tampering(db, rng, busy_log, world)
        with_anchor = verify_chain(db, key, anchor=head)
        without_anchor = verify_chain(db, key)
        savepoint.rollback()
        _assert_caught(with_anchor, seq, expected, tampering.__name__)
        # Without a kept head only cutting off the newest event goes unseen (see audit.md).
        assert without_anchor.intact == tail, (tampering.__name__, seq)
        kinds[tampering.__name__] += 1
    assert verify_chain(db, key).intact  # every tampering was rolled back
    assert sum(kinds.values()) == TAMPERINGS
    assert min(kinds.values()) > 250


def _assert_caught(report: ChainReport, seq: int, expected: set[BreakKind], what: str) -> None:
    assert report.first_break is not None, (what, seq)
    assert report.first_break.seq == seq, (what, report.first_break)
    assert report.first_break.kind in expected, (what, report.first_break)


Tampering = tuple[int, set[BreakKind], bool]


def _change_a_field(
    db: Session, rng: random.Random, log: list[dict[str, Any]], world: World
) -> Tampering:
    row = rng.choice(log)
    column = rng.choice((*CONTENT, "prev_mac", "mac", "seq"))
    value = _other_value(rng, column, row, world, last_seq=log[-1]["seq"])
    db.execute(update(TABLE).where(TABLE.c.seq == row["seq"]).values({column: value}))
    if column == "seq":
        # The row moved past the end: the chain has a hole where it was, even at the end.
        return row["seq"], {BreakKind.DELETED}, False
    return row["seq"], {BreakKind.CHANGED}, False


def _other_value(
    rng: random.Random, column: str, row: dict[str, Any], world: World, *, last_seq: int
) -> Any:
    old = row[column]
    if column == "at":
        return old + timedelta(microseconds=rng.randint(1, 10**9))
    if column in ("prev_mac", "mac"):
        i = rng.randrange(64)
        return old[:i] + ("0" if old[i] != "0" else "1") + old[i + 1 :]
    if column == "seq":
        return last_seq + rng.randint(1, 5)
    if column == "detail":
        return {**old, "tampered": rng.choice((True, 1, "x"))}
    if column == "actor_id":
        choices = [u.id for u in world.users.values() if u.id != old]
        return None if old is not None and rng.random() < 0.3 else rng.choice(choices)
    if column == "program_id":
        return world.other.id if old != world.other.id else world.home.id
    return f"t{uuid.uuid4().hex[:8]}"


def _delete_a_row(
    db: Session, rng: random.Random, log: list[dict[str, Any]], world: World
) -> Tampering:
    row = rng.choice(log)
    db.execute(delete(TABLE).where(TABLE.c.seq == row["seq"]))
    return row["seq"], {BreakKind.DELETED}, row["seq"] == log[-1]["seq"]


def _swap_two_rows(
    db: Session, rng: random.Random, log: list[dict[str, Any]], world: World
) -> Tampering:
    """Swap two rows' contents in place; with their MACs, or leaving the MACs behind."""
    with_macs = rng.random() < 0.5
    columns = (*CONTENT, "prev_mac", "mac") if with_macs else CONTENT
    while True:
        a, b = sorted(rng.sample(log, 2), key=lambda r: r["seq"])
        if any(a[c] != b[c] for c in CONTENT):  # identical contents swap to no change
            break
    for target, source in ((a, b), (b, a)):
        values = {c: source[c] for c in columns}
        db.execute(update(TABLE).where(TABLE.c.seq == target["seq"]).values(values))
    return a["seq"], {BreakKind.REORDERED} if with_macs else {BreakKind.CHANGED}, False


def test_cutting_off_the_newest_event_is_caught_against_a_kept_head(
    db: Session, busy_log: list[dict[str, Any]], key: bytes
) -> None:
    head = verify_chain(db, key).head
    _disable_append_only(db)
    db.execute(delete(TABLE).where(TABLE.c.seq == head.seq))
    report = verify_chain(db, key, anchor=head)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (head.seq, BreakKind.DELETED)


def test_without_an_audit_key_nothing_is_written_and_nothing_revealed(
    connection: object, db: Session, world: World, vault: Vault
) -> None:
    before = db.scalar(select(func.count()).select_from(TABLE))
    keyless = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",  # type: ignore[call-overload]
        expire_on_commit=False,
    )
    with keyless() as session:
        with pytest.raises(AuditKeyMissing):
            record(session, now=NOW, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)
        session.rollback()
        with pytest.raises(AuditKeyMissing):
            contacts.reveal_contact(
                session,
                vault,
                actor=world.actor("liaison"),
                contact_id=world.contact.id,
                now=NOW,
                purpose="call",
            )
        session.rollback()
    assert db.scalar(select(func.count()).select_from(TABLE)) == before


def test_a_short_key_is_refused_like_a_missing_one(connection: object) -> None:
    weak = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",  # type: ignore[call-overload]
        info={"audit_key": b"short"},
    )
    with weak() as session, pytest.raises(AuditKeyMissing):
        record(session, now=NOW, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)


def test_events_from_before_the_chain_are_sealed_by_the_first_chained_one(
    db: Session, world: World, key: bytes
) -> None:
    _disable_append_only(db)
    db.execute(delete(TABLE))
    legacy = [{"seq": s, "at": NOW, "action": "legacy.event", "detail": {}} for s in (1, 2, 5)]
    db.execute(insert(TABLE), legacy)  # as migration 0004 finds them: no MACs, a seq gap
    record(db, now=NOW, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)
    record(db, now=NOW, actor=SYSTEM, action=AuditAction.OUTBOX_READ)
    report = verify_chain(db, key)
    assert report.intact, report.first_break
    assert (report.events, report.unchained, report.head.seq) == (5, 3, 7)
    db.execute(update(TABLE).where(TABLE.c.seq == 2).values(action="legacy.other"))
    broken = verify_chain(db, key).first_break
    assert broken is not None
    assert (broken.seq, broken.kind) == (6, BreakKind.CHANGED)


def test_racing_writers_never_fork_the_chain(own_engine: Engine) -> None:
    key = os.urandom(32)
    sessions = app_sessions(own_engine, audit_key=key)
    start = threading.Barrier(8)

    def write() -> None:
        start.wait()
        for _ in range(10):
            with sessions() as session:
                record(session, now=NOW, actor=SYSTEM, action=AuditAction.OUTBOX_READ)
                session.commit()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sessions() as session:
        report = verify_chain(session, key)
    assert report.intact, report.first_break
    assert report.events == 80


@pytest.mark.parametrize("verb", ["update", "delete"])
def test_the_triggers_survive_migration_0004_both_ways(tmp_path: Path, verb: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    with schema_change(engine) as connection:
        command.downgrade(alembic_config(connection), "0003")
    migrate(engine)
    triggers = _trigger_names(engine)
    assert {"audit_event_no_update", "audit_event_no_delete"} <= triggers
    assert {"prev_mac", "mac"} <= {c["name"] for c in inspect(engine).get_columns("audit_event")}
    sessions = app_sessions(engine, audit_key=b"k" * 32)
    with sessions() as session:
        record(session, now=NOW, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)
        session.commit()
        statement = update(TABLE).values(action="x") if verb == "update" else delete(TABLE)
        with pytest.raises(Exception, match="append-only"):
            session.execute(statement)
    engine.dispose()


def _trigger_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        return {row.name for row in rows}


def test_the_application_role_can_append_but_never_rewrite_the_log(
    db: Session, key: bytes, project_root: Path
) -> None:
    if db.get_bind().dialect.name != "postgresql":
        _sqlite_refuses_rewrites(db)  # SQLite has no roles: its triggers are the guard
        return
    role = f"outreach_app_t{os.getpid()}"
    script = (project_root / "config" / "postgres_roles.sql").read_text()
    db.execute(text(f"CREATE ROLE {role} NOLOGIN"))  # rolled back with the test
    db.connection().exec_driver_sql(script.replace("outreach_app", role))
    db.execute(text(f"SET LOCAL ROLE {role}"))
    record(db, now=NOW, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)
    assert verify_chain(db, key).intact
    for statement in (
        "UPDATE audit_event SET action = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "ALTER TABLE audit_event DISABLE TRIGGER USER",
    ):
        savepoint = db.begin_nested()
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
            db.execute(text(statement))
        savepoint.rollback()
    db.execute(text("RESET ROLE"))


def _sqlite_refuses_rewrites(db: Session) -> None:
    record(db, now=NOW, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)
    db.commit()  # appended as its transaction commits, before the savepoints below
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        savepoint = db.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(statement))
        savepoint.rollback()
