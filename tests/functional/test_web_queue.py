"""Issue 22 item 4: the queue a liaison works from. She lands on it after signing in, finds a
contact by reference, narrows it by program, reason, overdue, window open now and her own
claims, and reads every time with the zone it is in; overdue and duty to warn are told apart.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.models import OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_word
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling.queue import reference
from tests.conftest import NOW
from tests.factories import World, make_contact, make_participant
from tests.functional.web import csrf, open_tasks, post


def _second_contact_with_a_task(
    app: Flask, db: Session, world: World, vault: Vault
) -> OutreachTask:
    # Recorded before the warning he is reported for: no event predates his record (issue 19).
    participant = make_participant(db, world.group, now=NOW - timedelta(days=11))
    contact = make_contact(
        db, vault, participant, now=NOW, name="Brooke Sample", phone="+14045550124"
    )
    _, opened = events.report_event(
        db,
        runtime(app).profiles,
        actor=SYSTEM,
        participant_id=participant.id,
        event_type="duty_to_warn",
        at=NOW - timedelta(days=10),
        severity="high",
        now=NOW,
    )
    assert opened
    assert opened[0].contact_id == contact.id
    return opened[0]


def _sign_in(client: FlaskClient, world: World, role: str = "liaison") -> str:
    data = {"username": world.users[role].username, "password": "correct horse battery staple"}
    answer = client.post("/login", data={**data, "csrf_token": csrf(client)})
    assert answer.status_code == 302
    return str(answer.headers["Location"])


def _rows(client: FlaskClient, query: str = "") -> str:
    page = client.get(f"/queue{query}").get_data(as_text=True)
    return page.split("<tbody>")[1].split("</tbody>")[0]


def test_each_role_lands_on_the_page_its_work_starts_from(app: Flask, world: World) -> None:
    landing = {
        "liaison": "/queue",
        "supervisor": "/review/compliance",
        "facilitator": "/groups",
        "admin": "/admin/users",
    }
    for role, path in landing.items():
        assert _sign_in(app.test_client(), world, role) == path


def test_a_liaison_finds_a_contact_by_reference_and_narrows_the_queue(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    mine = open_tasks(app, db, world, NOW)[0]
    warn = _second_contact_with_a_task(app, db, world, vault)
    _sign_in(client, world)
    ours, theirs = reference(world.contact.id), reference(warn.contact_id)
    everything = _rows(client)
    assert ours in everything
    assert theirs in everything
    found = _rows(client, f"?ref={ours.lower()}")
    assert ours in found
    assert theirs not in found
    assert theirs in _rows(client, f"?ref={theirs[:5]}")  # the start of one is enough
    assert ours not in _rows(client, "?reason=duty_to_warn")
    assert theirs not in _rows(client, "?reason=intake")
    assert ours not in _rows(client, "?overdue=1")
    assert theirs in _rows(client, "?overdue=1")
    assert "No open task matches these filters." in _rows(client, "?mine=1")
    post(client, f"/tasks/{mine.id}/claim")
    claimed = _rows(client, "?mine=1")
    assert ours in claimed
    assert theirs not in claimed
    assert "No open task matches" in _rows(client, f"?program={world.other.id}")
    assert ours in _rows(client, f"?program={world.home.id}")
    assert " open tasks; 1 matches the filters." in client.get("/queue?mine=1").get_data(
        as_text=True
    )


def test_a_window_open_now_filter_keeps_only_tasks_callable_now(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault, clock: object
) -> None:
    open_tasks(app, db, world, NOW)
    _sign_in(client, world)
    # 15:00 in New York: tonight's group meets at 18:30, so no window is open yet (S4) ...
    assert "No open task matches" in _rows(client, "?open_now=1")
    clock.at = NOW + timedelta(hours=4)  # type: ignore[attr-defined]  # 19:00: in the session
    _sign_in(client, world)
    assert reference(world.contact.id) in _rows(client, "?open_now=1")


def test_overdue_and_duty_to_warn_are_distinct_flags_and_times_name_their_zone(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    _second_contact_with_a_task(app, db, world, vault)
    _sign_in(client, world)
    first = _rows(client).split("</tr>")[0]
    assert '<strong class="flag dtw">duty to warn</strong>' in first
    assert '<strong class="flag overdue">overdue</strong>' in first
    assert '<span class="zone">New York time</span>' in first
    assert "duty_to_warn" not in re.sub(r"<[^>]+>", "", first)  # words, not internal names


def test_a_facilitator_reads_the_group_schedule_in_words(
    app: Flask, client: FlaskClient, world: World
) -> None:
    # Issue 22 item 6: "Tuesdays, 18:30 to 20:30", never "FREQ=WEEKLY;BYDAY=TU".
    _sign_in(client, world, "facilitator")
    listing = client.get("/groups").get_data(as_text=True)
    group = client.get(f"/groups/{world.group.id}").get_data(as_text=True)
    for page in (listing, group):
        assert "Tuesdays, 18:30 to 20:30, New York time" in page
        assert "FREQ=" not in page


def test_the_language_filter_keeps_the_contacts_who_speak_it_now(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    # Issue 22 item 4: a Spanish-speaking liaison picks the contacts whose language is Spanish
    # now: her latest preferences decide (S1: a change is a new version; S12).
    open_tasks(app, db, world, NOW)
    second = _second_contact_with_a_task(app, db, world, vault)
    her_word.change_preferences(
        db, actor=SYSTEM, contact_id=second.contact_id, changes={"language": "es"}, now=NOW
    )
    _sign_in(client, world)
    page = client.get("/queue").get_data(as_text=True)
    assert '<label for="f-language">Her language</label>' in page
    assert '<option value="es">Spanish</option>' in page
    spanish = _rows(client, "?language=es")
    assert reference(second.contact_id) in spanish
    assert reference(world.contact.id) not in spanish
    english = _rows(client, "?language=en")
    assert reference(world.contact.id) in english
    assert reference(second.contact_id) not in english
    her_word.change_preferences(  # she speaks English with us again: the newest version counts
        db, actor=SYSTEM, contact_id=second.contact_id, changes={"language": "en"}, now=NOW
    )
    assert "No open task matches" in _rows(client, "?language=es")
    assert reference(second.contact_id) in _rows(client, "?language=en")
    assert reference(second.contact_id) in _rows(client, "?language=xx")  # unknown: not applied
