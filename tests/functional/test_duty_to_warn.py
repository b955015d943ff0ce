"""A duty to warn is callable at once at any hour (S8 as amended, issue 19), as a liaison
at an Emerge program lives it: the facilitator raises it on Friday night at 23:30 in
New York, and the liaison on call rings her at once, from the neutral number, with the
safe-to-talk check first. Routine work at that hour is still refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from outreach.channels.simulator import ScriptedScenario, SimulatorChannel
from outreach.domain.vocabulary import WindowKind
from outreach.models import OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services import deliveries, planning, tasks, users
from outreach.services.deliveries import Outward
from outreach.services.errors import Conflict
from tests.conftest import NOW
from tests.factories import Case, build_case

NEW_YORK = ZoneInfo("America/New_York")
FRIDAY_2330 = datetime(2026, 11, 20, 23, 30, tzinfo=NEW_YORK).astimezone(UTC)
LIAISON_PHONE = "+14045550112"


def _report(db: Session, app: Flask, case: Case, kind: str, at: datetime) -> list[OutreachTask]:
    _, opened = tasks.report_event(
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
    users.set_phone(db, vault, user_id=case.liaison.user_id, phone=LIAISON_PHONE, now=NOW)
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
    call = deliveries.request_bridged_call(
        db, out, actor=case.liaison, task_id=warning.id, now=FRIDAY_2330
    )
    assert call.kind == "bridged_call"

    # The routine intake at the same hour is still refused: calling hours govern it (S4).
    later = FRIDAY_2330 + timedelta(minutes=1)
    with pytest.raises(Conflict, match="calling hours"):
        deliveries.request_bridged_call(db, out, actor=case.liaison, task_id=intake.id, now=later)
