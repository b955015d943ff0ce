"""The liaison's queue and task page: no contact data in the list, claims, S1, S5, S6."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.clock import FixedClock
from outreach.domain.vocabulary import Role
from outreach.models import Attempt, AuditEvent, ContactPreferences, Delivery, OutreachTask
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_word
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling.queue import reference
from tests.conftest import NOW
from tests.factories import World, make_user
from tests.functional.web import log_in, open_tasks, post

NAME, PHONE = "Avery", "555-0123"


def test_the_queue_lists_tasks_by_reference_without_name_or_number(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    page = client.get("/queue").get_data(as_text=True)
    assert reference(world.contact.id) in page
    assert f"0 of {task.min_attempts}" in page
    assert NAME not in page
    assert PHONE not in page


def test_duty_to_warn_comes_before_everything_else(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    open_tasks(app, db, world, NOW, "enrolled")
    open_tasks(app, db, world, NOW, "duty_to_warn")
    log_in(client, world.users["liaison"])
    page = client.get("/queue").get_data(as_text=True)
    rows = page.split("<tbody>")[1].split("</tr>")
    assert "duty to warn" in rows[0]


def test_the_task_page_shows_the_safe_to_talk_check_before_anything_else(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    # The script names the liaison by first name, taken from a "first.last" username.
    log_in(client, make_user(db, Role.LIAISON, [world.home], now=NOW, username="sam.rivera"))
    before = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert NAME not in before, "nothing is revealed before the claim"
    post(client, f"/tasks/{task.id}/claim")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert NAME in page
    assert "+14045550123" in page
    safe = page.index('id="safe-heading"')
    assert safe < page.index('id="script-safe-to-talk"') < page.index("script-introduction")
    # Issue 22 item 1: who and the Call button come first, with the S6 reminder beside it;
    # the script, opening with the safe-to-talk check, follows.
    call = page.index('id="call-slot"')
    assert page.index(NAME) < call < safe
    assert "Start with the safe-to-talk check" in page[call:safe]
    assert "This is Sam." in page
    assert 'id="call-slot"' in page
    reveals = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.revealed"))
    assert len(list(reveals)) == 1


def test_another_programs_liaison_is_refused_the_task(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["outsider"])
    assert client.get(f"/tasks/{task.id}").status_code == 403
    assert post(client, f"/tasks/{task.id}/claim").status_code == 403  # type: ignore[attr-defined]


def test_a_claimed_task_cannot_be_claimed_by_a_second_liaison_until_the_lease_ends(
    app: Flask, db: Session, world: World, clock: FixedClock
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    other = make_user(db, Role.LIAISON, [world.home], now=NOW)
    first, second = app.test_client(), app.test_client()
    log_in(first, world.users["liaison"])
    log_in(second, other)
    assert post(first, f"/tasks/{task.id}/claim").status_code == 302  # type: ignore[attr-defined]
    assert post(second, f"/tasks/{task.id}/claim").status_code == 409  # type: ignore[attr-defined]
    clock.advance(minutes=31)
    log_in(second, other)  # the idle session ran out too
    assert post(second, f"/tasks/{task.id}/claim").status_code == 302  # type: ignore[attr-defined]


def test_recording_needs_the_claim(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    response = post(client, f"/tasks/{task.id}/attempts", {"outcome": "no_answer"})
    assert response.status_code == 409  # type: ignore[attr-defined]


def test_declined_asks_for_confirmation_then_stops_all_contact(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    first = post(client, f"/tasks/{task.id}/attempts", {"outcome": "declined", "channel": "voice"})
    assert "Stop all contact?" in first.get_data(as_text=True)  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(OutreachTask, task.id).status == "open"  # type: ignore[union-attr]
    data = {"outcome": "declined", "channel": "voice", "confirm": "yes"}
    assert post(client, f"/tasks/{task.id}/attempts", data).status_code == 302  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(OutreachTask, task.id).status == "cancelled"  # type: ignore[union-attr]
    latest = db.scalars(
        select(ContactPreferences)
        .where(ContactPreferences.contact_id == world.contact.id)
        .order_by(ContactPreferences.version.desc())
    ).first()
    assert latest is not None
    assert latest.consent == "declined"


def test_unreachable_needs_two_attempts_in_different_windows_and_frees_the_claim(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    attempt = {
        "outcome": "no_answer",
        "channel": "voice",
        "at": "2026-11-10T19:00",
        "reason": "entered from the paper log",  # S14: days ago, before the task opened
    }
    post(client, f"/tasks/{task.id}/attempts", attempt)
    post(client, f"/tasks/{task.id}/attempts", {**attempt, "at": "2026-11-10T19:30"})
    # Issue 22 item 3: the button is shown disabled, saying why (S5: one window so far) ...
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'value="unreachable" disabled' in page
    assert "Not yet: Unreachable needs 2 attempts in different windows; 1 so far." in page
    # ... and a close sent anyway returns to the task with the reason, not to an error page.
    sure = {"resolution": "unreachable", "confirm": "yes"}
    early = post(client, f"/tasks/{task.id}/close", sure)
    assert early.location.endswith(f"/tasks/{task.id}")  # type: ignore[attr-defined]
    back = client.get(early.location).get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'role="alert"><strong class="kind">Not done:</strong> The task is still open' in back
    assert db.get(OutreachTask, task.id).status == "open"  # type: ignore[union-attr]
    post(client, f"/tasks/{task.id}/attempts", {**attempt, "at": "2026-11-16T12:00"})
    asked = post(client, f"/tasks/{task.id}/close", {"resolution": "unreachable"})
    assert "Close " in asked.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Yes, close as unreachable" in asked.get_data(as_text=True)  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(OutreachTask, task.id).status == "open"  # type: ignore[union-attr]
    done = post(client, f"/tasks/{task.id}/close", sure)
    assert done.location.endswith("/queue")  # type: ignore[attr-defined]
    queue = client.get("/queue").get_data(as_text=True)
    said = f"{reference(world.contact.id)} is closed as unreachable. It has left the queue."
    assert f'role="status"><strong class="kind">Done:</strong> {said}' in queue
    db.expire_all()
    closed = db.get(OutreachTask, task.id)
    assert closed is not None
    assert closed.status == "unreachable"
    assert closed.claimed_by is None


def test_the_week_picture_is_inline_svg_with_the_group_session(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "<svg" in page
    assert 'class="session"' in page
    assert 'class="calling"' in page
    assert "<script" not in page


def test_the_call_button_rings_the_liaison_then_the_contact_through_the_channel_layer(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault, clock: FixedClock
) -> None:
    from outreach.runtime import runtime
    from outreach.services.staff import users

    task = open_tasks(app, db, world, NOW)[0]
    clock.at = IN_TONIGHTS_WINDOW
    liaison = make_user(db, Role.LIAISON, [world.home], now=NOW, username="sam.rivera")
    log_in(client, liaison)
    post(client, f"/tasks/{task.id}/claim")
    refused = post(client, f"/tasks/{task.id}/call")
    assert "add your own phone number" in client.get(refused.location).get_data(  # type: ignore[attr-defined]
        as_text=True
    )
    users.set_phone(db, vault, user_id=liaison.id, phone="+14705550199", now=NOW, actor=SYSTEM)
    answer = post(client, f"/tasks/{task.id}/call")
    assert "Your phone will ring first" in client.get(answer.location).get_data(as_text=True)  # type: ignore[attr-defined]
    played = runtime(app).channel.run_pending()  # type: ignore[union-attr]
    assert played == 1
    delivery = db.scalar(select(Delivery).where(Delivery.task_id == task.id))
    assert delivery is not None
    assert delivery.kind == "bridged_call"
    assert delivery.requested_by == liaison.id
    assert _actions(db, "task.call_outside_window") == []


# Tuesday 17 November 2026, 19:00 in New York: inside the group session's proposed window.
IN_TONIGHTS_WINDOW = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)


def _actions(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_call_outside_a_proposed_window_is_asked_about_first_and_audited(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    from outreach.services.staff import users

    # 15:00 in New York: tonight's group meets at 18:30; he may be at home now (S4).
    task = open_tasks(app, db, world, NOW)[0]
    users.set_phone(
        db, vault, user_id=world.users["liaison"].id, phone="+14705550199", now=NOW, actor=SYSTEM
    )
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    asked = post(client, f"/tasks/{task.id}/call")
    page = asked.get_data(as_text=True)  # type: ignore[attr-defined]
    assert asked.status_code == 200  # type: ignore[attr-defined]
    assert "Call outside a proposed window?" in page
    assert "The next proposed window opens Tue 17 Nov 18:45" in page
    assert db.scalar(select(Delivery)) is None
    assert _actions(db, "task.call_outside_window") == []
    placed = post(client, f"/tasks/{task.id}/call", {"outside_window": "yes"})
    assert "Your phone will ring first" in client.get(placed.location).get_data(as_text=True)  # type: ignore[attr-defined]
    assert db.scalar(select(Delivery).where(Delivery.task_id == task.id)) is not None
    [chosen] = _actions(db, "task.call_outside_window")
    assert (chosen.actor_id, chosen.object_id) == (world.users["liaison"].id, str(task.id))


def test_a_refused_call_outside_a_window_leaves_no_audit_of_a_call(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])  # with no phone of her own on file
    post(client, f"/tasks/{task.id}/claim")
    refused = post(client, f"/tasks/{task.id}/call", {"outside_window": "yes"})
    assert "add your own phone number" in client.get(refused.location).get_data(  # type: ignore[attr-defined]
        as_text=True
    )
    assert _actions(db, "task.call_outside_window") == []
    assert db.scalar(select(Delivery)) is None


def test_only_the_liaison_holding_the_task_can_call(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    response = post(client, f"/tasks/{task.id}/call")
    page = client.get(response.location).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "claim the task first" in page
    assert db.scalar(select(Delivery)) is None


def test_the_claim_holder_reads_earlier_notes_after_an_audited_read_and_nobody_else_does(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    note = "Asked to try after the children are asleep"
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    post(client, f"/tasks/{task.id}/attempts", {"outcome": "no_answer", "notes": note})
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert note in page
    reads = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "contact.revealed", AuditEvent.object_id == str(task.id)
        )
    ).all()
    assert reads, "the notes were shown without an audit row"
    supervisor = app.test_client()
    log_in(supervisor, world.users["supervisor"])
    assert note not in supervisor.get(f"/tasks/{task.id}").get_data(as_text=True)


def _claimed_task_of_a_contact_in_los_angeles(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> OutreachTask:
    """A task the liaison holds; the program (and its Tuesday 18:30 group) runs in New York,
    the contact lives out west."""
    assert world.home.timezone == "America/New_York"
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"timezone": "America/Los_Angeles"},
        now=NOW,
    )
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    return task


def test_typed_times_are_read_in_the_contacts_zone_the_form_names(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = _claimed_task_of_a_contact_in_los_angeles(app, client, db, world)
    form = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    # The zone named in words, not as its key (issue 22 item 8).
    assert "When (Los Angeles time; empty means now)" in form
    assert "Callback time they suggested (Los Angeles time; optional)" in form
    typed = {
        "outcome": "reached_not_safe",
        "channel": "voice",
        "at": "2026-11-10T19:00",
        "callback_at": "2026-11-18T19:00",
        "reason": "entered from the paper log",  # S14: days ago, before the task opened
    }
    assert post(client, f"/tasks/{task.id}/attempts", typed).status_code == 302  # type: ignore[attr-defined]
    attempt = db.scalars(select(Attempt).where(Attempt.task_id == task.id)).one()
    assert attempt.at == datetime(2026, 11, 11, 3, 0, tzinfo=UTC)  # 19:00 in Los Angeles
    assert attempt.callback_at == datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
    # 22:00 in New York: after that evening's group session, so not counted as within it (S5).
    assert attempt.session_date is None
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Tue 10 Nov 19:00" in page
    assert "Asked to be called back at Wed 18 Nov 19:00" in page  # S6, in her zone


@pytest.mark.parametrize(
    "typed",
    [
        {"at": "2026-03-08T02:30"},  # Los Angeles springs forward from 02:00 to 03:00
        {"callback_at": "2027-03-14T02:30"},
    ],
)
def test_a_time_the_clocks_skip_in_the_contacts_zone_is_refused(
    app: Flask, client: FlaskClient, db: Session, world: World, typed: dict[str, str]
) -> None:
    task = _claimed_task_of_a_contact_in_los_angeles(app, client, db, world)
    data = {"outcome": "reached_not_safe", "channel": "voice", **typed}
    refused = post(client, f"/tasks/{task.id}/attempts", data)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "that time does not exist on that day" in refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert db.scalar(select(Attempt).where(Attempt.task_id == task.id)) is None


def test_a_time_the_autumn_fold_repeats_is_read_as_the_first_of_the_two(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = _claimed_task_of_a_contact_in_los_angeles(app, client, db, world)
    typed = {
        "outcome": "no_answer",
        "channel": "voice",
        "at": "2026-11-01T01:30",
        "reason": "entered from the paper log",  # S14: weeks ago, before the task opened
    }
    assert post(client, f"/tasks/{task.id}/attempts", typed).status_code == 302  # type: ignore[attr-defined]
    attempt = db.scalars(select(Attempt).where(Attempt.task_id == task.id)).one()
    assert attempt.at == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # 01:30 PDT, not 01:30 PST


def test_the_task_page_says_when_texts_are_off_by_her_stop_until_her_start(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    """S2: the liaison sees that only her START turns texts back on, not a change by them."""
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    said = "she texted STOP: only her own START turns texts back on"
    assert said not in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    her_word.revoke_sms(db, actor=SYSTEM, contact_id=world.contact.id, now=NOW, source="sms_stop")
    db.commit()
    assert said in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    her_word.restore_sms(db, actor=SYSTEM, contact_id=world.contact.id, now=NOW)
    db.commit()
    assert said not in client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_the_script_shows_no_raw_markers_and_says_its_language(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    # Issue 22 item 8 (part): "go to [not-safe]" is a link to that part, in words; the script
    # carries the contact's language for screen readers (S12).
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, make_user(db, Role.LIAISON, [world.home], now=NOW, username="sam.rivera"))
    post(client, f"/tasks/{task.id}/claim")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'go to <a href="#script-not-safe">Not safe</a>' in page
    assert "[not-safe]" not in page
    assert 'aria-label="Call script" lang="en"' in page
    assert "(S6)" not in page
