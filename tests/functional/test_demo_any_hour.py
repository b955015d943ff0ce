"""Issue 22 item 7: whatever the hour `make demo` starts at, a newcomer can place a simulated
call within minutes, and never by relaxing calling hours (S4).

The demo seeds one contact whose named safe time starts this hour, in the first zone where
this hour and the next three are inside calling hours; the task page says so.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.clock import FixedClock
from outreach.domain.calling import within_calling_hours
from outreach.models import AuditEvent, ContactPreferences, Delivery, OutreachTask, Program
from outreach.runtime import runtime
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.contact_persons import preferences
from outreach.services.demo_data import demo, demo_practice
from outreach.services.demo_data.demo_callable import callable_reference, callable_safe_time
from outreach.services.scheduling import queue
from tests.functional.web import csrf, post

HOURS = (time(8), time(21))


def _sign_in_as_the_demo_liaison(client: FlaskClient) -> None:
    login = next(u for u in demo.LOGINS if u.username == "sam.rivera")
    data = {"username": login.username, "password": login.password, "csrf_token": csrf(client)}
    assert client.post("/login", data=data).status_code == 302


@pytest.mark.parametrize("hour", [0, 6, 12, 18])
def test_a_newcomer_places_a_call_whatever_the_hour_the_demo_started(
    app: Flask, client: FlaskClient, db: Session, vault: Vault, clock: FixedClock, hour: int
) -> None:
    clock.at = datetime(2026, 11, 17, hour, 7, tzinfo=UTC)
    demo.seed(db, vault, runtime(app).profiles, now=clock.at, calling_hours=HOURS)
    reference = callable_reference(db, clock.at, HOURS)
    assert reference is not None
    clock.advance(minutes=5)  # she reads the console, signs in, finds the row
    _sign_in_as_the_demo_liaison(client)
    queue = client.get("/queue").get_data(as_text=True)
    task_id = re.search(rf'href="/tasks/([0-9a-f-]+)">{reference}<', queue)
    assert task_id, "the callable contact is in the queue"
    path = f"/tasks/{task_id.group(1)}"
    post(client, f"{path}/claim")
    page = client.get(path).get_data(as_text=True)
    assert "A window is open now until" in page
    assert "a time she named as safe" in page
    assert "Call (your phone rings first)" in page
    # The page names her zone in words ("her time (Los Angeles)", issue 22 item 8): the zone
    # itself is read from her record, and the page must name that one.
    task = db.get(OutreachTask, uuid.UUID(task_id.group(1)))
    assert task is not None
    program = db.get(Program, task.program_id)
    assert program is not None
    zone = preferences.contact_zone(
        preferences.current_preferences(db, task.contact_id), program
    ).key
    assert f"her time ({zone.rsplit('/', 1)[-1].replace('_', ' ')})" in page
    assert within_calling_hours(clock.now(), (zone,), *HOURS)  # S4, never relaxed
    placed = post(client, f"{path}/call")
    landed = client.get(placed.location).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Your phone will ring first" in landed
    assert db.scalar(select(Delivery).where(Delivery.kind == "bridged_call")) is not None
    outside = select(AuditEvent).where(AuditEvent.action == "task.call_outside_window")
    assert db.scalar(outside) is None, "the call went in a proposed window, not around one"


def test_a_demo_started_again_later_moves_her_safe_time_to_now_in_her_history(
    app: Flask, db: Session, vault: Vault
) -> None:
    then = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)
    demo.seed(db, vault, runtime(app).profiles, now=then, calling_hours=HOURS)
    seeded = list(db.scalars(select(ContactPreferences.source))).count("demo")
    later = then + timedelta(hours=9)
    assert callable_reference(db, later, HOURS) is not None
    assert callable_reference(db, later, HOURS) is not None  # unchanged the second time
    sources = list(db.scalars(select(ContactPreferences.source)))
    assert sources.count("demo") == seeded + 1


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_some_zone_is_inside_calling_hours_at_every_instant(now: datetime) -> None:
    found = callable_safe_time(now, HOURS)
    assert found is not None
    zone, safe = found
    local = now.astimezone(ZoneInfo(zone))
    assert time.fromisoformat(safe.start) <= local.time() < time.fromisoformat(safe.end)
    assert safe.days == ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[local.weekday()]


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(0, 23),
    st.integers(1, 24),
)
def test_the_demo_safe_time_never_leaves_calling_hours(
    now: datetime, start: int, span: int
) -> None:
    # S4: calling hours are never relaxed for the demo; too narrow hours give no contact at all.
    end = min(start + span, 23)
    assume(end > start)
    hours = (time(start), time(end))
    found = callable_safe_time(now, hours)
    assume(found is not None)
    assert found is not None
    _, safe = found
    assert hours[0] <= time.fromisoformat(safe.start) < time.fromisoformat(safe.end) <= hours[1]


@pytest.mark.parametrize("hour", [1, 15])
def test_the_demos_consented_heads_up_goes_out_minutes_after_it_starts(
    app: Flask, db: Session, vault: Vault, clock: FixedClock, hour: int
) -> None:
    """PRODUCT.md "Consented reminders", in the demo: a contact who allows texts named a safe
    time starting about ten minutes after the demo starts, in a zone where that is inside
    calling hours (S4); the running scheduler sends her one heads-up at its start, and only
    one however often it runs."""
    clock.at = datetime(2026, 11, 17, hour, 2, tzinfo=UTC)
    demo.seed(db, vault, runtime(app).profiles, now=clock.at, calling_hours=HOURS)
    for minutes in (0, 3, 8, 13, 16, 25):
        clock.at = datetime(2026, 11, 17, hour, 2, tzinfo=UTC) + timedelta(minutes=minutes)
        jobs.tick(runtime(app), clock.at)
    db.expire_all()
    reminders = list(db.scalars(select(Delivery).where(Delivery.script == "reminder")))
    [sent] = [d for d in reminders if d.status in ("sent", "settled")]
    assert demo_practice.banner(db)[-1].startswith(f"north-metro: {_reference(sent)}")
    assert sent.sent_at is not None
    assert timedelta(minutes=5) <= sent.sent_at - datetime(2026, 11, 17, hour, 2, tzinfo=UTC)
    assert sent.sent_at - datetime(2026, 11, 17, hour, 2, tzinfo=UTC) <= timedelta(minutes=15)


def _reference(delivery: Delivery) -> str:
    return queue.reference(delivery.contact_id)
