"""`outreach import`: rows through the services, every bad row by line, all or nothing.

Runs on a database file of its own: the import commits for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from outreach import create_app
from outreach.clock import FixedClock
from outreach.db import migrate
from outreach.models import ContactPerson, Group, OutreachTask, Participant
from outreach.runtime import runtime
from outreach.settings import load_settings
from tests.conftest import NOW
from tests.factories import make_program

GROUPS = (
    "program,name,timezone,rrule,start_time,duration_minutes,starts_on\n"
    "{key},Tuesday evening,America/New_York,FREQ=WEEKLY;BYDAY=TU,18:30,120,2026-09-01\n"
)
PARTICIPANTS = "program,reference,group\n{key},P-1,Tuesday evening\n{key},P-2,Tuesday evening\n"
CONTACTS = (
    "program,participant,name,phone,relationship,consent,language,safe_times\n"
    "{key},P-1,Robin Example,(404) 555-0188,ex_partner,consented,es,MO 18:00-20:00\n"
    "{key},P-2,Kim Example,not a phone 999,partner,consented,en,\n"
    "{key},P-9,Lee Example,(404) 555-0177,partner,consented,en,\n"
)


@pytest.fixture
def own_app(test_environ: dict[str, str], tmp_path: Path) -> Flask:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    app = create_app(
        {"TESTING": True},
        settings=load_settings({**test_environ, "OUTREACH_DATABASE_URL": url}),
        clock=FixedClock(NOW),  # rows are imported "now": frozen, like every test's time
    )
    migrate(runtime(app).engine)
    return app


def _run(app: Flask, tmp_path: Path, kind: str, text: str) -> object:
    with runtime(app).session() as db:
        key = make_program(db, now=NOW).key if kind == "groups" else _key(app)
    path = tmp_path / f"{kind}.csv"
    path.write_text(text.format(key=key), encoding="utf-8")
    with app.app_context():  # the `outreach` entry point pushes one; the bare group does not
        return app.test_cli_runner().invoke(args=["import", str(path), "--kind", kind])


def _key(app: Flask) -> str:
    from outreach.models import Program

    with runtime(app).session() as db:
        return db.scalars(select(Program.key)).one()


def _count(app: Flask, model: type) -> int:
    with runtime(app).session() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_groups_participants_and_good_contacts_import(own_app: Flask, tmp_path: Path) -> None:
    for kind, text in (("groups", GROUPS), ("participants", PARTICIPANTS)):
        result = _run(own_app, tmp_path, kind, text)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert _count(own_app, Group) == 1
    assert _count(own_app, Participant) == 2
    good = CONTACTS.splitlines()[:2]
    result = _run(own_app, tmp_path, "contacts", "\n".join(good) + "\n")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert _count(own_app, ContactPerson) == 1


def test_bad_rows_are_reported_by_line_without_their_values_and_nothing_is_written(
    own_app: Flask, tmp_path: Path
) -> None:
    _run(own_app, tmp_path, "groups", GROUPS)
    _run(own_app, tmp_path, "participants", PARTICIPANTS)
    result = _run(own_app, tmp_path, "contacts", CONTACTS)
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "line 3: check phone" in output
    assert "line 4: check participant" in output
    assert "nothing was imported" in output
    for value in ("Kim", "Robin", "999", "555-0177", "555-0188"):
        assert value not in output
    assert _count(own_app, ContactPerson) == 0, "the good row went back out with the bad ones"


def test_a_missing_column_is_named(own_app: Flask, tmp_path: Path) -> None:
    result = _run(own_app, tmp_path, "groups", "program,name\nx,y\n")
    assert "missing column(s): timezone" in result.output  # type: ignore[attr-defined]


def test_a_cancellations_file_opens_what_the_protocol_requires_once(
    own_app: Flask, tmp_path: Path
) -> None:
    # seeds/001, Georgia: contact when "the program cancels class for any reason".
    _run(own_app, tmp_path, "groups", GROUPS)
    _run(own_app, tmp_path, "participants", PARTICIPANTS)
    _run(own_app, tmp_path, "contacts", "\n".join(CONTACTS.splitlines()[:2]) + "\n")
    cancellations = "program,group,date,reason\n{key},Tuesday evening,2026-11-24,Holiday\n"
    for _ in range(2):  # the same file twice: the second recording opens nothing new
        result = _run(own_app, tmp_path, "cancellations", cancellations)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    with runtime(own_app).session() as db:
        reasons = db.scalars(select(OutreachTask.reason)).all()
    assert reasons == ["class_cancelled"]


def test_a_cancellation_naming_no_known_group_is_refused_by_line(
    own_app: Flask, tmp_path: Path
) -> None:
    _run(own_app, tmp_path, "groups", GROUPS)
    result = _run(
        own_app, tmp_path, "cancellations", "program,group,date\n{key},Friday,2026-11-24\n"
    )
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "line 2: no group with that name" in result.output  # type: ignore[attr-defined]
