"""`outreach purge` on a real SQLite file: after a demo run, the years a program keeps its
records, and a purge, no seeded name or number is left in the database, its WAL or a log (S10).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from sqlalchemy import select

from outreach.clock import FixedClock
from outreach.domain.vocabulary import Role
from outreach.models import ContactPerson, Group, OutreachTask, User
from outreach.runtime import Runtime, runtime
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import contacts
from outreach.services.delivery import calls, outward, texts
from outreach.services.demo_data import demo_callable, demo_practice, demo_programs
from outreach.services.errors import Conflict
from outreach.services.intake import programs
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.supervision import duty_to_warn, holds
from tests.functional.test_cli import run

RETENTION_YEARS = 3  # every demo program's profile keeps contact records three years


@dataclass
class Person:
    name: str
    phone: str

    def needles(self) -> list[bytes]:
        digits = self.phone.lstrip("+")
        return [self.name.encode(), self.phone.encode(), digits.encode(), digits[1:].encode()]


def _app(instance: Path, at: datetime) -> Flask:
    from outreach import create_app
    from outreach.settings import load_settings

    # The SMS pace is the provider's limit; the simulator has none worth waiting for.
    environ = {"OUTREACH_INSTANCE_PATH": str(instance), "OUTREACH_SMS_RATE_PER_SECOND": "100"}
    settings = load_settings(environ)
    # TESTING: the simulator plays its callbacks when asked, not on a thread of its own.
    return create_app({"TESTING": True}, settings=settings, clock=FixedClock(at))


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def _log(instance: Path, name: str, text: str) -> None:
    """Keep what a command printed (its output and its log lines) as a log file of the run."""
    logs = instance / "logs"
    logs.mkdir(exist_ok=True)
    (logs / f"{name}.log").write_text(text, encoding="utf-8")


def _seeded_at(instance: Path) -> datetime:
    db = sqlite3.connect(instance / "outreach.db")
    try:
        [raw] = db.execute("SELECT min(created_at) FROM program").fetchone()
    finally:
        db.close()
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


def _people(rt: Runtime) -> list[Person]:
    """Open every seeded contact through the app's own vault (audited, as any reveal is)."""
    found = []
    with rt.session() as session:
        for contact_id in session.scalars(select(ContactPerson.id)):
            shown = contacts.reveal_contact(
                session, rt.vault, actor=SYSTEM, contact_id=contact_id, now=rt.clock.now(),
                purpose="retention proof",
            )  # fmt: skip
            found.append(Person(shown.name, shown.phone))
    return found


def _work_every_task(rt: Runtime, at: datetime) -> None:
    """What liaisons do in the weeks after the demo's events: call, text where allowed,
    reach each contact safely and close the task. Nothing is left open."""
    out = rt.outward()
    with rt.session() as session:
        for task in list(
            session.scalars(select(OutreachTask).where(OutreachTask.status == "open"))
        ):
            liaison = _liaison_of(session, task)
            if holds.is_held(session, task):  # S1/S8: a supervisor confirms it first
                supervisor = _liaison_of(session, task, Role.SUPERVISOR)
                duty_to_warn.confirm(session, actor=supervisor, task_id=task.id, now=at)
            for reach in (calls.request_bridged_call, _text):
                try:
                    reach(session, out, actor=liaison, task_id=task.id, now=at)
                except Conflict:
                    session.rollback()  # the safety rules refused this one (S1, S2): fine
            rt.channel.run_pending()  # type: ignore[union-attr]
            if task.status == "open":
                # A call she answered is the one to record (S14); else the task's own channel.
                answered = attempt_log.calls_awaiting_outcome(session, task.id)
                channel = "voice" if answered else task.channels[0]
                attempt_log.record_attempt(
                    session, rt.vault, actor=liaison, task_id=task.id, channel=channel, at=at,
                    outcome="reached_safe", now=at, notes="Safety plan reviewed; prefers mornings",
                )  # fmt: skip
                closing.close_task(
                    session, actor=liaison, task_id=task.id, resolution="completed", now=at
                )


def _text(session: object, out: outward.Outward, **kwargs: object) -> None:
    texts.send_sms(session, out, script="reminder", **kwargs)  # type: ignore[arg-type]


def _liaison_of(session: object, task: OutreachTask, role: Role = Role.LIAISON) -> Actor:
    liaisons = session.scalars(select(User).where(User.role == role.value))  # type: ignore[attr-defined]
    return next(Actor.of(u) for u in liaisons if task.program_id in {p.id for p in u.programs})


def _files(instance: Path) -> Iterator[Path]:
    yield from (p for p in instance.iterdir() if p.name.startswith("outreach.db"))
    yield from (instance / "logs").iterdir()


def _found(instance: Path, needles: list[bytes]) -> set[bytes]:
    """Answer the needles that occur in any database file or log of the run (grep -a -F)."""
    contents = [path.read_bytes() for path in _files(instance)]
    return {needle for needle in needles if any(needle in content for content in contents)}


def _sealed_values(instance: Path) -> list[bytes]:
    """Every sealed value, wrapped key and blind index of contact data, as stored."""
    db = sqlite3.connect(instance / "outreach.db")
    queries = (
        "SELECT name_sealed FROM contact_person",
        "SELECT phone_sealed FROM contact_person",
        "SELECT phone_index FROM contact_person",
        "SELECT wrapped_key FROM contact_key",
        "SELECT text_sealed FROM outbox_message",
        "SELECT notes_sealed FROM attempt WHERE notes_sealed IS NOT NULL",
    )
    try:
        values = [row[0] for query in queries for row in db.execute(query)]
    finally:
        db.close()
    return [v.encode() if isinstance(v, str) else bytes(v) for v in values]


def _count(instance: Path, table: str) -> int:
    db = sqlite3.connect(instance / "outreach.db")
    try:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        db.close()


def test_after_a_demo_run_and_a_purge_no_seeded_name_or_number_is_left_in_any_file(
    instance: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    seeded = run(instance, "demo", "--no-serve", OUTREACH_LOG_LEVEL="DEBUG")
    assert seeded.returncode == 0, seeded.stderr
    _log(instance, "demo", seeded.stdout + seeded.stderr)
    seeded_at = _seeded_at(instance)
    ticked = run(instance, "tick", "--now", (seeded_at + timedelta(hours=1)).isoformat())
    assert ticked.returncode == 0, ticked.stderr
    _log(instance, "tick", ticked.stdout + ticked.stderr)

    # The next afternoon (inside calling hours from New York to Los Angeles) liaisons work
    # every task to its end, and a facilitator cancels a session: the control value below.
    worked_at = (seeded_at + timedelta(days=1)).replace(hour=19, minute=0)
    marker = f"holiday closure {secrets.token_hex(8)}"
    rt = runtime(_app(instance, worked_at))
    people = _people(rt)
    # Sixty, the Spanish-first program's few (S12), the Emerge contacts whose letters wait
    # (services/demo_data/demo_practice.py), and the contact who is callable now, when some zone was
    # inside calling hours at the hour the demo was seeded (services/demo_data/demo_callable.py).
    callable_now = sum(p.name == demo_callable.CALLABLE.name for p in people)
    assert callable_now <= 1
    letters = len(demo_practice.LETTERS.people)
    seeded_contacts = 60 + demo_programs.SPANISH_FIRST.contacts + letters + callable_now
    assert len(people) == seeded_contacts
    _work_every_task(rt, worked_at)
    with rt.session() as session:
        group = session.scalars(select(Group)).first()
        assert group is not None
        programs.cancel_session(
            session, rt.profiles, group_id=group.id,
            session_date=worked_at.date() + timedelta(days=7), reason=marker, now=worked_at,
            actor=SYSTEM,
        )  # fmt: skip
    _work_every_task(rt, worked_at)  # the partners' calls the cancelled class opened (Georgia)
    assert _count(instance, "outreach_task WHERE status = 'open'") == 0
    assert _count(instance, "delivery") > 0
    assert _count(instance, "outbox_message") > 0
    rt.engine.dispose()

    # Control: before the purge the grep does find every sealed value and blind index.
    sealed = _sealed_values(instance)
    assert len(sealed) > 3 * 60
    assert _found(instance, sealed) == set(sealed)

    # Years later the program's retention has run out; the operator purges.
    purge_at = worked_at + relativedelta(years=RETENTION_YEARS) + timedelta(days=1)
    app = _app(instance, purge_at)
    with app.app_context():  # the `outreach` entry point pushes one; the bare group does not
        counted = app.test_cli_runner().invoke(args=["purge", "--dry-run"])
        assert "dry run: nothing was deleted" in counted.output
        assert _count(instance, "contact_person") == seeded_contacts
        purged = app.test_cli_runner().invoke(args=["purge"])
    assert purged.exit_code == 0, purged.output
    assert f"purged {seeded_contacts} contact record(s)" in purged.output
    assert "write-ahead log emptied" in purged.output
    # The simulator's calls and texts were queued for erasure like Twilio's, and its own
    # record of them (the sealed outbox) went with the rows.
    assert "simulator: " in purged.output
    assert _count(instance, "provider_erasure") == 0
    _log(instance, "purge", purged.output)
    needles = [n for person in people for n in person.needles()] + sealed
    assert _found(instance, needles) == set()  # the purging process is still connected
    runtime(app).engine.dispose()

    verified = run(instance, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    _log(instance, "audit-verify", verified.stdout + verified.stderr)
    captured = capfd.readouterr()
    _log(instance, "in-process", captured.out + captured.err)

    assert _count(instance, "contact_person") == 0
    assert _count(instance, "contact_key") == 0
    assert _count(instance, "attempt") == 0
    assert _count(instance, "audit_event WHERE action = 'contact.purged'") == seeded_contacts
    assert _found(instance, needles) == set()
    assert _found(instance, [marker.encode()]) == {marker.encode()}


def test_the_purge_command_explains_itself(instance: Path) -> None:
    result = run(instance, "purge", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for words in ("--dry-run", "--program", "retention_years", "data key", "running it again"):
        assert words in text


def test_an_unknown_program_is_a_usage_error(instance: Path) -> None:
    assert run(instance, "init").returncode == 0
    result = run(instance, "purge", "--program", "no-such-program")
    assert result.returncode == 2
    assert "no program with the key" in result.stderr
