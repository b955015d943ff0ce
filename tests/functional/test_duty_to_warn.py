"""A duty to warn is callable at once at any hour (S8 as amended, issue 19), as a liaison
at an Emerge program lives it: the facilitator raises it on Friday night at 23:30 in
New York, and the liaison on call rings her at once, from the neutral number, with the
safe-to-talk check first. Routine work at that hour is still refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.simulator import SimulatorChannel
from outreach.channels.simulator_scenarios import ScriptedScenario
from outreach.domain.vocabulary import WindowKind
from outreach.models import AuditEvent, OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import her_word
from outreach.services.delivery import calls
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM, AuditAction
from outreach.services.scheduling import claims, planning, queue
from outreach.services.staff import tokens, users
from outreach.services.supervision import compliance
from tests.conftest import NOW
from tests.factories import Case, World, build_case, report_event

NEW_YORK = ZoneInfo("America/New_York")
FRIDAY_2330 = datetime(2026, 11, 20, 23, 30, tzinfo=NEW_YORK).astimezone(UTC)
FRIDAY_2210 = datetime(2026, 11, 20, 22, 10, tzinfo=NEW_YORK).astimezone(UTC)
LIAISON_PHONE = "+14045550112"


def _report(db: Session, app: Flask, case: Case, kind: str, at: datetime) -> list[OutreachTask]:
    _, opened = events.report_event(
        db,
        runtime(app).profiles,
        actor=case.facilitator,
        participant_id=case.participant.id,
        event_type=kind,
        at=at,
        severity="high" if kind == "duty_to_warn" else "routine",
        now=at,
    )
    return opened


def _emerge(db: Session, vault: Vault) -> Case:
    case = build_case(db, vault, now=NOW, protocol="emerge")
    assert case.liaison.user_id is not None
    users.set_phone(
        db, vault, user_id=case.liaison.user_id, phone=LIAISON_PHONE, now=NOW, actor=SYSTEM
    )
    return case


def test_emerge_duty_to_warn_friday_2330_is_callable_at_once_and_routine_work_waits(
    db: Session,
    vault: Vault,
    app: Flask,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
) -> None:
    case = _emerge(db, vault)
    [intake] = _report(db, app, case, "enrolled", NOW)
    [warning] = _report(db, app, case, "duty_to_warn", FRIDAY_2330)
    rt = runtime(app)
    hours = (rt.settings.calling_start, rt.settings.calling_end)

    # The plan: her window opens the moment it was raised, at 23:30.
    plan = planning.plan_open_tasks(
        db, rt.profiles, now=FRIDAY_2330, days=7, calling_hours=hours, task_ids=[warning.id]
    )
    [window] = plan.windows
    assert window.kind is WindowKind.DUTY_TO_WARN
    assert window.start == FRIDAY_2330

    # The Call button: the liaison is rung first, then she is dialled from the neutral number.
    scenario.calls += ["human"]
    call = calls.request_bridged_call(
        db, out, actor=case.liaison, task_id=warning.id, now=FRIDAY_2330
    )
    assert call.kind == "bridged_call"

    # The routine intake at the same hour is still refused: calling hours govern it (S4).
    later = FRIDAY_2330 + timedelta(minutes=1)
    with pytest.raises(Conflict, match="calling hours"):
        calls.request_bridged_call(db, out, actor=case.liaison, task_id=intake.id, now=later)


# --- a declined contact: held until a supervisor confirms (S1, S8) ------------------------


def _call_api(
    client: FlaskClient, token: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = client.open(
        f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.get_json()


def test_declined_then_duty_to_warn_is_held_until_a_supervisor_confirms_then_callable(
    db: Session,
    vault: Vault,
    app: Flask,
    world: World,
    client: FlaskClient,
    out: Outward,
    simulator: SimulatorChannel,
) -> None:
    profiles = runtime(app).profiles
    liaison, supervisor = world.actor("liaison"), world.actor("supervisor")
    assert liaison.user_id is not None
    users.set_phone(db, vault, user_id=liaison.user_id, phone=LIAISON_PHONE, now=NOW, actor=SYSTEM)
    token = {
        persona: tokens.issue_token(
            db, username=user.username, days=90, now=NOW, actor=SYSTEM
        ).token
        for persona, user in world.users.items()
    }
    her_word.change_preferences(
        db,
        actor=liaison,
        contact_id=world.contact.id,
        changes={"consent": "declined", "voice": False},
        now=NOW,
    )
    # She declined everything. Then the facilitator raises a duty to warn.
    [warning] = report_event(db, profiles, world, "duty_to_warn", now=NOW, severity="high")

    # Held: the liaison neither sees it nor can call, claim or confirm it.
    status, listed = _call_api(client, token["liaison"], "GET", "/tasks")
    assert status == 200
    assert str(warning.id) not in {row["id"] for row in listed}
    with pytest.raises(Conflict, match="supervisor"):
        calls.request_bridged_call(db, out, actor=liaison, task_id=warning.id, now=NOW)
    with pytest.raises(Conflict, match="supervisor"):
        claims.claim_task(db, actor=liaison, task_id=warning.id, now=NOW)
    for persona in ("liaison", "facilitator"):
        assert _call_api(client, token[persona], "POST", f"/tasks/{warning.id}/confirm")[0] == 403

    # The supervisor sees it, held, and confirms it.
    status, listed = _call_api(client, token["supervisor"], "GET", "/tasks")
    [row] = [r for r in listed if r["id"] == str(warning.id)]
    assert row["held"] is True
    assert row["windows"] == []
    rt = runtime(app)
    hours = (rt.settings.calling_start, rt.settings.calling_end)
    page = queue.call_queue(db, profiles, actor=supervisor, now=NOW, calling_hours=hours)
    assert [r.held for r in page.rows if r.task_id == warning.id] == [True]
    status, answer = _call_api(client, token["supervisor"], "POST", f"/tasks/{warning.id}/confirm")
    assert (status, answer["held"]) == (200, False)
    confirmed = db.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DUTY_TO_WARN_CONFIRMED.value)
    ).all()
    assert [e.actor_id for e in confirmed] == [supervisor.user_id]

    # Now it behaves as any duty to warn: in the liaison's queue, callable at once.
    db.expire_all()
    page = queue.call_queue(db, profiles, actor=liaison, now=NOW, calling_hours=hours)
    [mine] = [r for r in page.rows if r.task_id == warning.id]
    assert mine.next_window is not None
    assert mine.next_window.kind is WindowKind.DUTY_TO_WARN
    call = calls.request_bridged_call(db, out, actor=liaison, task_id=warning.id, now=NOW)
    assert call.kind == "bridged_call"


# --- an immediate safety concern (S8 as amended) -----------------------------------------


def test_emerge_explicit_threat_friday_2210_is_callable_at_once_within_her_calling_hours(
    db: Session,
    vault: Vault,
    app: Flask,
    out: Outward,
    simulator: SimulatorChannel,
) -> None:
    # She lives in Los Angeles: 22:10 in New York is 19:10 where she is.
    case = _emerge(db, vault)
    her_word.change_preferences(
        db,
        actor=case.liaison,
        contact_id=case.contact.id,
        changes={"timezone": "America/Los_Angeles"},
        now=NOW,
    )
    [concern] = _report(db, app, case, "safety_concern", FRIDAY_2210)
    rt = runtime(app)
    hours = (rt.settings.calling_start, rt.settings.calling_end)
    plan = planning.plan_open_tasks(
        db, rt.profiles, now=FRIDAY_2210, days=7, calling_hours=hours, task_ids=[concern.id]
    )
    first = min(plan.windows, key=lambda w: w.start)
    assert first.kind is WindowKind.IMMEDIATE
    assert first.start == FRIDAY_2210  # not Tuesday's group session
    # The queue ranks it right after duty to warn, flagged overdue once past due.
    page = queue.call_queue(
        db, rt.profiles, actor=case.liaison, now=FRIDAY_2210 + timedelta(minutes=5),
        calling_hours=hours,
    )  # fmt: skip
    [row] = [r for r in page.rows if r.task_id == concern.id]
    assert row.section is queue.Section.IMMEDIATE
    assert row.overdue
    call = calls.request_bridged_call(
        db, out, actor=case.liaison, task_id=concern.id, now=FRIDAY_2210
    )
    assert call.kind == "bridged_call"


# --- response time (S8) ------------------------------------------------------------------


def test_the_supervisor_sees_each_duty_to_warns_response_time_and_breaches(
    db: Session, vault: Vault, app: Flask, world: World
) -> None:
    profiles = runtime(app).profiles
    liaison, supervisor = world.actor("liaison"), world.actor("supervisor")
    [answered] = report_event(db, profiles, world, "duty_to_warn", now=NOW, severity="high")
    # Rung 10 minutes after it was raised, reached on the second try 5 minutes later.
    for minutes, outcome in ((10, "no_answer"), (15, "reached_safe")):
        at = NOW + timedelta(minutes=minutes)
        attempt_log.record_attempt(
            db, vault, actor=liaison, task_id=answered.id, channel="voice", at=at,
            outcome=outcome, now=at,
        )  # fmt: skip
    other = build_case(db, vault, now=NOW, protocol="georgia_fvip")
    _, [waiting] = events.report_event(
        db, profiles, actor=other.facilitator, participant_id=other.participant.id,
        event_type="duty_to_warn", at=NOW, severity="high", now=NOW,
    )  # fmt: skip
    later = NOW + timedelta(hours=2)
    found = compliance.compliance(db, actor=supervisor, now=later)
    by_task = {r.task_id: r for r in found.warn_responses}
    assert (by_task[answered.id].to_first_attempt, by_task[answered.id].to_reached) == (10, 15)
    assert by_task[answered.id].breached is False
    # The other program's warning is not this supervisor's; a supervisor of both would see
    # it unanswered for two hours, past the one-hour target.
    assert waiting.id not in by_task
    everyone = compliance.warn_responses(db, None, later)
    assert [r.breached for r in everyone if r.task_id == waiting.id] == [True]
    csv = compliance.warn_responses_csv(db, actor=supervisor, now=later)
    assert csv[0].startswith("contact,task,raised_at,minutes_to_first_attempt")
    assert any(",10.0,15.0,60.0,no," in line for line in csv[1:])
    assert not any("Avery" in line or "Sample" in line for line in csv)  # S7: no contact data
