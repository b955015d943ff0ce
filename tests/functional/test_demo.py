"""`outreach demo` seeds synthetic data that is varied, and sealed on disk (S10)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outreach.services.demo_data import demo, demo_programs
from outreach.services.records.audit import SYSTEM
from tests.functional.test_cli import run


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    instance = tmp_path_factory.mktemp("demo-instance")
    result = run(instance, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert "liaison-demo-password" in result.stdout  # the logins are printed
    return instance


def _seeded_people(instance: Path) -> tuple[list[str], list[str]]:
    """Open every seeded contact through the app's own vault (the test is allowed to)."""
    from outreach import create_app
    from outreach.models import ContactPerson
    from outreach.runtime import runtime
    from outreach.services.contact_persons.contacts import reveal_contact
    from outreach.services.records.audit import SYSTEM
    from outreach.settings import load_settings

    app = create_app(settings=load_settings({"OUTREACH_INSTANCE_PATH": str(instance)}))
    rt = runtime(app)
    names, phones = [], []
    with rt.session() as session:
        for contact in session.query(ContactPerson).all():
            details = reveal_contact(
                session,
                rt.vault,
                actor=SYSTEM,
                contact_id=contact.id,
                now=rt.clock.now(),
                purpose="test",
            )
            names.append(details.name)
            phones.append(details.phone)
    rt.engine.dispose()
    return names, phones


def test_no_seeded_name_or_number_is_in_the_database_files(seeded: Path) -> None:
    names, phones = _seeded_people(seeded)
    # 60 in groups, the one callable now (issue 22 item 7), the Spanish-first program's 4 and
    # the two Emerge contacts whose letters wait to be printed.
    assert len(phones) == 67
    files = [p for p in seeded.iterdir() if p.name.startswith("outreach.db")]
    assert files, "the demo database exists"
    content = b"".join(p.read_bytes() for p in files)
    needles = [n.encode() for n in names] + [p.encode() for p in phones]
    needles += [p.lstrip("+").encode() for p in phones] + [p[2:].encode() for p in phones]
    leaked = [n for n in needles if n in content]
    assert leaked == []


def test_the_demo_data_has_the_variety_the_product_needs(seeded: Path) -> None:
    db = sqlite3.connect(seeded / "outreach.db")
    count = lambda table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731,S608
    assert count("program") == 5
    assert len({r[0] for r in db.execute("SELECT protocol FROM program")}) == 4
    assert count("program_group") == 8
    assert count("participant") == 67
    assert count("contact_person") == 67
    assert count("session_cancellation") >= 1
    assert count("attendance") > 60 * 5
    rules = [r[0] for r in db.execute("SELECT rrule FROM program_group")]
    assert any("," in rule.split("BYDAY=")[1] for rule in rules)  # a twice-weekly group
    assert len({r[0] for r in db.execute("SELECT timezone FROM program_group")}) >= 2
    prefs = db.execute(
        "SELECT consent, language, sms, timezone FROM contact_preferences"
    ).fetchall()
    assert set(Counter(p[0] for p in prefs)) == {"not_asked", "consented", "declined"}
    assert {p[1] for p in prefs} == {"en", "es"}
    assert {bool(p[2]) for p in prefs} == {True, False}
    assert any(p[3] for p in prefs)
    # Issue 19: each case shows: his exit (no group time then), a duty to warn, and one
    # held for a supervisor because its contact declined.
    exits = db.execute("SELECT count(*) FROM outreach_task WHERE reason = 'terminated'")
    assert exits.fetchone()[0] >= 1
    held = db.execute(
        "SELECT count(*) FROM outreach_task t JOIN program_event e ON e.id = t.event_id "
        "WHERE t.reason = 'duty_to_warn' AND t.consent_override AND e.confirmed_by IS NULL"
    )
    assert held.fetchone()[0] == 1


def test_seeding_twice_changes_nothing(seeded: Path) -> None:
    result = run(seeded, "demo", "--no-serve")
    assert "already present" in result.stdout
    db = sqlite3.connect(seeded / "outreach.db")
    assert db.execute("SELECT count(*) FROM contact_person").fetchone()[0] == 67


def test_the_demo_shows_a_spanish_first_program(seeded: Path) -> None:
    # S12: "a Spanish-first program makes Spanish the default for its contacts" (Caminar
    # Latino, seeds/001, on the Georgia profile); its contacts were added without a language.
    db = sqlite3.connect(seeded / "outreach.db")
    [(key, language)] = db.execute("SELECT key, language FROM program WHERE language IS NOT NULL")
    assert (key, language) == (demo_programs.SPANISH_FIRST.key, "es")
    spoken = db.execute(
        "SELECT DISTINCT p.language FROM contact_preferences p "
        "JOIN contact_person c ON c.id = p.contact_id JOIN program g ON g.id = c.program_id "
        "WHERE g.key = ?",
        (key,),
    ).fetchall()
    assert spoken == [("es",)]
    intake = db.execute(
        "SELECT count(*) FROM outreach_task t JOIN program g ON g.id = t.program_id "
        "WHERE g.key = ? AND t.reason = 'intake'",
        (key,),
    )
    assert intake.fetchone()[0] >= 1


def test_the_demo_logins_cover_every_role() -> None:
    assert {login.role for login in demo.LOGINS} == {
        "liaison",
        "supervisor",
        "facilitator",
        "admin",
    }


def test_the_demo_shows_each_case_of_safe_timing_and_emergencies_on_its_pages(
    seeded: Path,
) -> None:
    """Issue 19's demo: a terminated participant's contact with no group window and the reason
    in words; a duty to warn raised at night that is callable; a held duty to warn for a
    declined contact on the supervisor's page, with the on-call banner (S4, S8, S1)."""
    from outreach import create_app
    from outreach.runtime import runtime
    from outreach.services.staff import tokens
    from outreach.settings import load_settings

    app = create_app(settings=load_settings({"OUTREACH_INSTANCE_PATH": str(seeded)}))
    supervisor = app.test_client()
    login = next(d for d in demo.LOGINS if d.username == demo.ON_CALL)
    csrf = _csrf(supervisor.get("/login").get_data(as_text=True))
    signed = supervisor.post(
        "/login", data={"username": login.username, "password": login.password, "csrf_token": csrf}
    )
    assert signed.status_code == 302
    page = supervisor.get("/queue?reason=duty_to_warn").get_data(as_text=True)
    assert "duty to warn, held: a supervisor must confirm" in page
    assert "Duty to warn waiting" in page  # the on-call banner, until someone claims it
    exits = supervisor.get("/queue?reason=terminated").get_data(as_text=True)
    assert "group time is no longer safe" in exits

    rt = runtime(app)
    with rt.session() as session:
        token = tokens.issue_token(
            session, username=login.username, days=1, now=rt.clock.now(), actor=SYSTEM
        )
    listed = (
        app.test_client()
        .get("/api/v1/tasks", headers={"Authorization": f"Bearer {token.token}"})
        .get_json()
    )
    rt.engine.dispose()
    for row in (r for r in listed if r["reason"] == "terminated"):
        assert all(w["kind"] != "group" for w in row["windows"])  # S4: he may be home
        assert row["participant_status"] == "terminated"
    kinds = {w["kind"] for r in listed for w in r["windows"]}
    assert "immediate" in kinds  # the demo's explicit threat: callable at once (S8)
    [night] = [r for r in listed if r["reason"] == "duty_to_warn" and not r["held"]]
    db = sqlite3.connect(seeded / "outreach.db")
    raised, zone = db.execute(
        "SELECT e.at, p.timezone FROM outreach_task t JOIN program_event e ON e.id = t.event_id "
        "JOIN program p ON p.id = t.program_id WHERE t.id = ?",
        (night["id"].replace("-", ""),),
    ).fetchone()
    local = datetime.fromisoformat(raised).astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute) == (23, 30)  # raised at night...
    assert night["windows"][0]["kind"] == "duty_to_warn"  # ...and callable at once (S8)
    assert datetime.fromisoformat(night["windows"][0]["start"]) <= rt.clock.now()
    # `outreach plan --json` shows the same: immediate windows, his status per task.
    planned = json.loads(run(seeded, "plan", "--json", "--days", "7").stdout)
    assert "immediate" in {w["kind"] for w in planned["windows"]}
    assert planned["participant_status"][night["id"]] == night["participant_status"]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_demo_shows_each_programs_victim_driven_practice(seeded: Path) -> None:
    """Issue 20's demo: her rhythm (S13: a Colorado contact monthly, a Caring Dads mother
    fortnightly), a cancelled Georgia class with its calls (seeds/001 "the program cancels class
    for any reason"), and an Emerge letter to print in English and in Spanish (seeds/001
    "Massachusetts"), each where the printed lines say."""
    db = sqlite3.connect(seeded / "outreach.db")
    rhythms = db.execute(
        "SELECT p.key, cp.cadence FROM contact_preferences cp "
        "JOIN contact_person c ON c.id = cp.contact_id JOIN program p ON p.id = c.program_id "
        "WHERE cp.cadence IS NOT NULL"
    ).fetchall()
    assert sorted(rhythms) == [("front-range", "monthly"), ("lakeside-dads", "fortnightly")]
    cancelled = db.execute(
        "SELECT count(*) FROM outreach_task t JOIN program p ON p.id = t.program_id "
        "WHERE p.key = 'north-metro' AND t.reason = 'class_cancelled' AND t.status = 'open'"
    ).fetchone()[0]
    assert cancelled >= 1
    letters = db.execute(
        "SELECT t.channels, cp.language FROM outreach_task t "
        "JOIN contact_preferences cp ON cp.contact_id = t.contact_id "
        "WHERE t.reason = 'completion_letter' AND t.status = 'open' AND cp.version = "
        "(SELECT max(version) FROM contact_preferences WHERE contact_id = t.contact_id)"
    ).fetchall()
    assert sorted(letters) == [('["mail"]', "en"), ('["mail"]', "es")]
    printed = run(seeded, "demo", "--no-serve").stdout
    assert "chose a monthly rhythm" in printed
    assert "two completion letters to print" in printed
