"""Retention: a contact record is purged once its program's period has run out, and only then;
the purge shreds its key first, leaves no row of it behind, and keeps the audit chain whole (S10).
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from outreach.db import make_engine
from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.models import (
    Attempt,
    AuditEvent,
    Base,
    ContactKey,
    ContactPerson,
    ContactPreferences,
    Delivery,
    InboundMessage,
    OutboxMessage,
    OutreachTask,
    WebhookEvent,
)
from outreach.security.crypto import SealError, open_sealed
from outreach.security.vault import ContactErased, Vault, place
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import contacts, her_word
from outreach.services.errors import Conflict, NotFound
from outreach.services.intake import check_ins, events
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records import purge, retention
from outreach.services.records.audit import Actor
from outreach.services.records.audit_chain import verify_chain
from outreach.services.supervision import sign_offs
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import (
    World,
    build_case,
    make_contact,
    make_participant,
    open_check_ins,
    report_case_event,
    report_event,
)

GEORGIA_YEARS = 3  # config/protocols/georgia_fvip.toml, Ga. Comp. R. & Regs. 105-3-.08(2)


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


def _years_after(at: datetime, years: int = GEORGIA_YEARS) -> datetime:
    return at + relativedelta(years=years)


def _due(db: Session, profiles: dict[str, Profile], world: World, now: datetime) -> set[uuid.UUID]:
    found = retention.find_due(db, profiles, now=now, program_key=world.home.key)
    return {contact_id for _, ids in found.programs for contact_id in ids}


def _purge_all(db: Session, profiles: dict[str, Profile], now: datetime) -> list[purge.Purged]:
    due = retention.find_due(db, profiles, now=now)
    return [p for p in purge.purge_due(db, due, now=now) if p is not None]


def _complete(db: Session, world: World, vault: Vault, task: OutreachTask, at: datetime) -> None:
    """The liaison reaches the contact safely, notes it, and closes the task."""
    _reach_and_close(db, vault, world.actor("liaison"), task, at)


def _reach_and_close(
    db: Session, vault: Vault, liaison: Actor, task: OutreachTask, at: datetime
) -> None:
    attempt_log.record_attempt(
        db, vault, actor=liaison, task_id=task.id, channel="voice", at=at,
        outcome="reached_safe", now=at, notes="Talked; she is moving to her sister's on Elm St",
    )  # fmt: skip
    closing.close_task(db, actor=liaison, task_id=task.id, resolution="completed", now=at)


def _count(db: Session, model: type[Base], *where: object) -> int:
    return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


# --- when a record is due -------------------------------------------------------------


def test_a_record_is_due_exactly_when_its_retention_period_has_run_out(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    kept_until = _years_after(NOW)
    assert world.contact.id not in _due(db, profiles, world, kept_until - timedelta(seconds=1))
    assert world.contact.id in _due(db, profiles, world, kept_until)


def test_an_open_task_keeps_the_record_however_old_it_is(
    db: Session, world: World, profiles: dict[str, Profile], vault: Vault
) -> None:
    [task] = report_event(db, profiles, world, "enrolled", now=NOW)
    assert world.contact.id not in _due(db, profiles, world, _years_after(NOW, 20))

    closed_at = NOW + timedelta(days=3)
    _complete(db, world, vault, task, closed_at)
    # The period runs from the last thing that happened: the closing, not the creation.
    assert world.contact.id not in _due(db, profiles, world, _years_after(NOW, 3))
    assert world.contact.id in _due(db, profiles, world, _years_after(closed_at))


def test_a_duty_to_warn_in_progress_keeps_the_record(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    [task] = report_event(db, profiles, world, "duty_to_warn", now=NOW, severity="high")
    assert (task.reason, task.status) == ("duty_to_warn", "open")
    later = _years_after(NOW, 10)
    assert world.contact.id not in _due(db, profiles, world, later)
    assert _purge_all(db, profiles, later) == []
    assert _count(db, ContactKey, ContactKey.contact_id == world.contact.id) == 1


def test_an_unreachable_closure_waiting_for_sign_off_keeps_the_record(
    db: Session, world: World, profiles: dict[str, Profile], vault: Vault
) -> None:
    [task] = report_event(db, profiles, world, "enrolled", now=NOW)
    liaison = world.actor("liaison")
    for day in (1, 2):
        at = NOW + timedelta(days=day)
        attempt_log.record_attempt(
            db, vault, actor=liaison, task_id=task.id, channel="voice", at=at,
            outcome="no_answer", now=at,
        )  # fmt: skip
    closed_at = NOW + timedelta(days=2)
    closing.close_task(db, actor=liaison, task_id=task.id, resolution="unreachable", now=closed_at)
    assert world.contact.id not in _due(db, profiles, world, _years_after(closed_at, 10))

    signed_at = closed_at + timedelta(days=1)
    sign_offs.sign_off(db, actor=world.actor("supervisor"), task_id=task.id, now=signed_at)
    assert world.contact.id not in _due(db, profiles, world, _years_after(closed_at))
    assert world.contact.id in _due(db, profiles, world, _years_after(signed_at))


def test_an_event_about_the_participant_keeps_the_contact_record_alive(
    db: Session, world: World, profiles: dict[str, Profile], vault: Vault
) -> None:
    participant = make_participant(db, world.group, now=NOW)
    declined = make_contact(db, vault, participant, now=NOW, consent="declined", voice=False)
    completed_at = _years_after(NOW, 2)
    _, opened = events.report_event(
        db, profiles, actor=world.actor("facilitator"), participant_id=participant.id,
        event_type="completed", at=completed_at, severity="routine", now=completed_at,
    )  # fmt: skip
    assert opened == []  # S1: a declined contact gets no task, yet the case was still live
    assert declined.id not in _due(db, profiles, world, _years_after(NOW) + timedelta(days=1))
    assert declined.id in _due(db, profiles, world, _years_after(completed_at))


def _ticks(
    db: Session, profiles: dict[str, Profile], start: datetime, end: datetime, every: timedelta
) -> None:
    """The scheduler's check-in step, run every `every` from `start` to `end`."""
    at = start
    while at <= end:
        check_ins.open_periodic_check_ins(db, profiles, now=at)
        at += every


def test_a_completed_case_with_weekly_check_ins_is_due_once_its_period_has_run_out(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = build_case(db, vault, now=NOW, protocol="caring_dads")  # weekly calls to mothers
    [intake] = report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    _reach_and_close(db, vault, case.liaison, intake, NOW)
    for day in range(1, 36):  # five weeks in group; the liaison calls the day a check-in opens
        at = NOW + timedelta(days=day)
        check_ins.open_periodic_check_ins(db, profiles, now=at)
        for check_in in open_check_ins(db, case) if day < 35 else ():
            _reach_and_close(db, vault, case.liaison, check_in, at)
    [left_open] = open_check_ins(db, case)  # the fifth, not yet called

    completed_at = NOW + timedelta(days=35, hours=12)
    [final] = report_case_event(db, profiles, case, "completed", at=completed_at, now=completed_at)
    closed_at = completed_at + timedelta(days=2)
    _ticks(db, profiles, completed_at, closed_at, timedelta(hours=6))
    for task in (left_open, final):  # closed by the liaison, not by the scheduler
        _reach_and_close(db, vault, case.liaison, task, closed_at)
    kept_until = _years_after(closed_at)
    _ticks(db, profiles, closed_at, closed_at + timedelta(days=60), timedelta(days=1))
    _ticks(db, profiles, closed_at + timedelta(days=60), kept_until, timedelta(days=7))

    due = retention.find_due(db, profiles, now=kept_until, program_key=case.program.key)
    assert due.programs[0][1] == (case.contact.id,)
    early = kept_until - timedelta(seconds=1)
    assert retention.find_due(db, profiles, now=early, program_key=case.program.key).total == 0
    every_check_in = select(OutreachTask).where(OutreachTask.reason == "periodic_check_in")
    assert len(db.scalars(every_check_in).all()) == 5  # none opened after the completion
    [purged] = _purge_all(db, profiles, kept_until)
    assert purged.contact_id == case.contact.id


def test_each_program_keeps_its_records_for_its_own_period(
    db: Session, world: World, profiles: dict[str, Profile], vault: Vault
) -> None:
    from tests.factories import make_group, make_program

    longer = make_program(db, now=NOW, protocol="emerge")
    elsewhere = make_contact(
        db, vault, make_participant(db, make_group(db, longer, now=NOW), now=NOW), now=NOW
    )
    periods = {**profiles, "emerge": dataclasses.replace(profiles["emerge"], retention_years=7)}
    at = _years_after(NOW, 5)
    due = retention.find_due(db, periods, now=at)
    by_program = {rule.program_key: (rule.years, ids) for rule, ids in due.programs}
    assert by_program[world.home.key] == (3, (world.contact.id,))
    assert by_program[longer.key] == (7, ())
    later = retention.find_due(db, periods, now=_years_after(NOW, 7), program_key=longer.key)
    assert later.programs[0][1] == (elsewhere.id,)


def test_a_program_whose_protocol_is_not_loaded_is_refused_not_guessed(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    without = {k: v for k, v in profiles.items() if k != world.home.protocol}
    with pytest.raises(Conflict, match="retention period is unknown"):
        retention.find_due(db, without, now=_years_after(NOW, 50))
    with pytest.raises(NotFound):
        retention.find_due(db, profiles, now=NOW, program_key="no-such-program")


# --- what a purge does ----------------------------------------------------------------


def _full_record(db: Session, world: World, vault: Vault, profiles: dict[str, Profile]) -> str:
    """Give the world's contact a task, a noted attempt, an SMS with its callbacks, and a
    reply; close the task. Answer the SMS's provider SID."""
    [task] = report_event(db, profiles, world, "class_cancelled", now=NOW)
    cipher = vault.cipher_for(db, world.contact.id)
    sid = "SM" + secrets.token_hex(16)
    delivery = Delivery(
        task_id=task.id, contact_id=world.contact.id, kind="sms", script="reminder",
        language="en", status="sent", code=secrets.token_urlsafe(32), provider_sid=sid,
        due_at=NOW, sent_at=NOW, created_at=NOW,
    )  # fmt: skip
    db.add(delivery)
    db.flush()
    outbox_id = uuid.uuid4()
    db.add(
        OutboxMessage(
            id=outbox_id, delivery_id=delivery.id, contact_id=world.contact.id, channel="sms",
            kind="reminder", script="reminder", at=NOW,
            text_sealed=cipher.seal(place("outbox_message", "text", outbox_id), "Hi Avery"),
        )
    )  # fmt: skip
    reply_id, reply_sid = uuid.uuid4(), "SM" + secrets.token_hex(16)
    db.add(
        InboundMessage(
            id=reply_id, contact_id=world.contact.id, provider_sid=reply_sid, received_at=NOW,
            body_sealed=cipher.seal(place("inbound_message", "body", reply_id), "call after 6"),
        )
    )  # fmt: skip
    for key, route, fields in (
        (f"sms:{sid}:delivered:", "sms-status", {"MessageSid": sid, "MessageStatus": "delivered"}),
        (f"inbound:{reply_sid}", "sms-inbound", {"MessageSid": reply_sid}),
    ):
        db.add(WebhookEvent(natural_key=key, route=route, fields=fields, received_at=NOW))
    db.commit()
    _complete(db, world, vault, task, NOW + timedelta(hours=2))
    return sid


def _contact_at_work(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> ContactPerson:
    """Another participant's contact, with an open task: she must come through untouched."""
    participant = make_participant(db, world.group, now=NOW)
    live = make_contact(db, vault, participant, now=NOW, name="Quinn Example")
    events.report_event(
        db, profiles, actor=world.actor("facilitator"), participant_id=participant.id,
        event_type="enrolled", at=NOW, severity="routine", now=NOW,
    )  # fmt: skip
    return live


def test_a_purge_shreds_the_key_first_and_leaves_no_row_of_the_record(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile], settings: Settings
) -> None:
    sid = _full_record(db, world, vault, profiles)
    contact_id = world.contact.id
    name_sealed = world.contact.name_sealed
    task_ids = set(db.scalars(select(OutreachTask.id).where(OutreachTask.contact_id == contact_id)))
    live = _contact_at_work(db, world, vault, profiles)

    [purged] = _purge_all(db, profiles, _years_after(NOW + timedelta(days=1)))

    assert (purged.contact_id, purged.tasks, purged.attempts) == (contact_id, 1, 1)
    assert _count(db, ContactKey, ContactKey.contact_id == contact_id) == 0
    with pytest.raises(ContactErased):
        vault.cipher_for(db, contact_id)
    with pytest.raises(SealError):  # a copy of the sealed name, kept anywhere, stays shut
        open_sealed(
            {"test1": settings.secrets.data_keys[0].secret},
            name_sealed,
            place("contact_person", "name", contact_id),
        )
    assert _count(db, ContactPerson, ContactPerson.id == contact_id) == 0
    assert contacts.find_by_phone(db, vault, "+1 (404) 555-0123") == [live]  # blind index gone
    for model in (ContactPreferences, Delivery, InboundMessage, OutboxMessage):
        assert _count(db, model, model.contact_id == contact_id) == 0  # type: ignore[attr-defined]
    assert _count(db, Attempt, Attempt.task_id.in_(task_ids)) == 0
    assert _count(db, WebhookEvent, WebhookEvent.natural_key.contains(sid)) == 0
    assert _count(db, WebhookEvent, WebhookEvent.route == "sms-inbound") == 0
    for table in Base.metadata.sorted_tables:  # and any table added later that hangs off it
        for fk in table.foreign_keys:
            if fk.column.table.name == "contact_person":
                left = db.scalar(select(func.count()).where(fk.parent == contact_id))
                assert left == 0, table.name

    shown = contacts.reveal_contact(
        db, vault, actor=world.actor("liaison"), contact_id=live.id, now=NOW, purpose="test"
    )
    assert shown.name == "Quinn Example"


def test_the_purge_is_audited_by_opaque_id_and_the_chain_still_verifies(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile], settings: Settings
) -> None:
    _full_record(db, world, vault, profiles)
    _purge_all(db, profiles, _years_after(NOW + timedelta(days=1)))

    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.purged"))
    assert (event.object_type, event.object_id) == ("contact", str(world.contact.id))
    assert {k: event.detail[k] for k in ("retention_years", "tasks", "attempts")} == {
        "retention_years": 3,
        "tasks": 1,
        "attempts": 1,
    }
    assert event.detail["rows"] >= 7  # contact, preferences, task, attempt, SMS, outbox, reply
    assert verify_chain(db, settings.secrets.audit_key).first_break is None


def test_the_attempt_log_is_append_only_again_after_a_purge(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    other = make_contact(db, vault, world.participant, now=NOW, name="Quinn Example")
    [first, second] = report_event(db, profiles, world, "enrolled", now=NOW)
    for task in (first, second):
        _complete(db, world, vault, task, NOW + timedelta(hours=1))
    kept = db.scalar(
        select(Attempt.id).join(OutreachTask).where(OutreachTask.contact_id == other.id)
    )
    purge.purge_contact(
        db,
        retention.find_due(db, profiles, now=_years_after(NOW, 4)).programs[0][0],
        world.contact.id,
        now=_years_after(NOW, 4),
    )
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(delete(Attempt).where(Attempt.id == kept))


def test_a_stopped_purge_is_finished_by_running_it_again(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    for n in range(3):
        make_contact(db, vault, world.participant, now=NOW, phone=f"+1404555014{n}")
    at = _years_after(NOW)
    due = retention.find_due(db, profiles, now=at)
    assert due.total == 4

    run = purge.purge_due(db, due, now=at)
    first = next(run)
    run.close()  # the operator pressed Ctrl-C after one contact
    assert first is not None
    assert retention.find_due(db, profiles, now=at).total == 3

    again = _purge_all(db, profiles, at)
    assert len(again) == 3
    assert retention.find_due(db, profiles, now=at).total == 0
    assert _count(db, ContactPerson) == 0
    assert _count(db, AuditEvent, AuditEvent.action == "contact.purged") == 4


def test_a_record_that_came_alive_after_it_was_counted_is_kept(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    at = _years_after(NOW)
    due = retention.find_due(db, profiles, now=at)
    assert due.total == 1
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"sms": False},
        now=at,
    )
    assert list(purge.purge_due(db, due, now=at)) == [None]
    assert vault.cipher_for(db, world.contact.id) is not None


def test_a_record_last_touched_on_a_leap_day_is_due_from_the_first_of_march(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    leap_day = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    contact = make_contact(db, vault, world.participant, now=leap_day)
    assert contact.id not in _due(db, profiles, world, datetime(2027, 2, 28, 23, 59, tzinfo=UTC))
    assert contact.id in _due(db, profiles, world, datetime(2027, 3, 1, 12, 0, tzinfo=UTC))


# --- the SQLite files -----------------------------------------------------------------


def test_every_sqlite_connection_overwrites_what_it_deletes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()


def test_clearing_old_pages_empties_the_write_ahead_log(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    marker = b"a value that was deleted " + secrets.token_hex(8).encode()
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE note (body BLOB)")
        conn.exec_driver_sql("INSERT INTO note VALUES (?)", (marker,))
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM note")
    wal = tmp_path / "o.db-wal"
    assert marker in wal.read_bytes()  # the page from before the delete is still in the log

    assert purge.clear_old_pages(engine) is True

    assert wal.stat().st_size == 0
    assert marker not in (tmp_path / "o.db").read_bytes()
    engine.dispose()
