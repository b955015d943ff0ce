"""Group time only while he is in group, as a Georgia liaison lives it (S4, S13, issue 19).

The world: a Georgia FVIP program; his group meets Tuesdays 18:30-20:30 in New York; it is
Tuesday 17 November 2026, 15:00 there. She told the liaison Wednesday mornings are safe.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role, WindowKind
from outreach.models import AuditEvent, OutreachTask, ProgramEvent
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.attempts import task_page
from outreach.services.contact_persons import her_word
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.scheduling import claims, planning, queue
from outreach.services.staff.tokens import issue_token
from tests.conftest import NOW
from tests.factories import World, make_user, report_event

NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY_MORNING = [{"days": "WE", "start": "10:00", "end": "12:00"}]


@pytest.fixture
def tokens(db: Session, world: World) -> dict[str, str]:
    return {
        persona: issue_token(db, username=user.username, days=90, now=NOW, actor=SYSTEM).token
        for persona, user in world.users.items()
    }


def call(
    client: FlaskClient, token: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = client.open(
        f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.get_json()


def _she_names_wednesday_mornings(db: Session, world: World) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"safe_times": WEDNESDAY_MORNING},
        now=NOW,
    )


def _plan(db: Session, app: Flask) -> Any:
    rt = runtime(app)
    return planning.plan_open_tasks(
        db,
        rt.profiles,
        now=NOW,
        days=14,
        calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
    )


def test_georgia_terminated_tuesday_her_next_window_is_a_time_she_named_never_group(
    db: Session, world: World, app: Flask, vault: Vault, client: FlaskClient,
    tokens: dict[str, str],
) -> None:  # fmt: skip
    profiles = runtime(app).profiles
    [intake] = report_event(db, profiles, world, "enrolled", now=NOW)
    before = _plan(db, app)
    assert WindowKind.GROUP in {w.kind for w in before.windows}  # tonight's group, while in it
    _she_names_wednesday_mornings(db, world)

    [termination] = report_event(db, profiles, world, "terminated", now=NOW)
    after = _plan(db, app)
    for task in (intake, termination):
        mine = [w for w in after.windows if w.task_id == str(task.id)]
        assert mine, "she named Wednesday mornings: there is a window"
        assert {w.kind for w in mine} == {WindowKind.PREFERRED}
        assert all(w.start.astimezone(NEW_YORK).weekday() == 2 for w in mine)  # Wednesdays

    # The liaison's task page says why, in words.
    claims.claim_task(db, actor=world.actor("liaison"), task_id=termination.id, now=NOW)
    page = task_page.task_page(
        db, vault, profiles, actor=world.actor("liaison"), task_id=termination.id, now=NOW,
        calling_hours=(runtime(app).settings.calling_start, runtime(app).settings.calling_end),
    )  # fmt: skip
    assert page.participant_status is not None
    assert page.participant_status.status.value == "terminated"
    assert page.why == [
        "He left the program (terminated) on 17 Nov: group time is no longer safe; "
        "only the times she named."
    ]

    # The program's systems see the same through the API.
    status, listed = call(client, tokens["liaison"], "GET", "/tasks")
    assert status == 200
    by_id = {row["id"]: row for row in listed}
    row = by_id[str(termination.id)]
    assert row["participant_status"] == "terminated"
    assert "group_time_after_exit" in row["refused"]
    assert {w["kind"] for w in row["windows"]} == {"preferred"}
    assert "participant_not_active" in by_id[str(intake.id)]["refused"]


def test_the_queue_says_when_she_named_no_time_and_no_window_is_proposed(
    db: Session, world: World, app: Flask
) -> None:
    profiles = runtime(app).profiles
    report_event(db, profiles, world, "enrolled", now=NOW)
    report_event(db, profiles, world, "completed", now=NOW)
    rt = runtime(app)
    page = queue.call_queue(
        db, profiles, actor=world.actor("liaison"), now=NOW,
        calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
    )  # fmt: skip
    completion = [r for r in page.rows if r.reason == "completed"]
    assert completion
    assert completion[0].next_window is None
    assert completion[0].participant_status == "completed"
    assert completion[0].why == (
        "He completed the program on 17 Nov: group time is no longer safe; she has named no "
        "safe time, so no window is proposed: ask her for one.",
    )


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([("returned_from_leave", 0)], "type"),  # no leave before it
        ([("enrolled", -400)], "at"),  # dated before he was recorded (a year before NOW)
        # A leave on day 3 and his return on day 5; a termination dated day 4 would leave
        # the return without a leave: out of order.
        ([("leave_of_absence", 3), ("returned_from_leave", 5), ("terminated", 4)], "at"),
    ],
)
def test_an_impossible_history_is_refused_naming_the_field_and_nothing_is_written(
    db: Session, world: World, client: FlaskClient, tokens: dict[str, str],
    events: list[tuple[str, int]], field: str,
) -> None:  # fmt: skip
    path = f"/participants/{world.participant.id}/events"
    *accepted, (kind, days) = events
    for good, day in accepted:
        at = (NOW + timedelta(days=day)).isoformat()
        status, _ = call(client, tokens["facilitator"], "POST", path, {"type": good, "at": at})
        assert status == 201
    events_before = db.scalar(select(func.count()).select_from(ProgramEvent))
    tasks_before = db.scalar(select(func.count()).select_from(OutreachTask))
    at = (NOW + timedelta(days=days)).isoformat()
    status, answer = call(client, tokens["facilitator"], "POST", path, {"type": kind, "at": at})
    assert status == 422
    assert list(answer["fields"]) == [field]
    assert db.scalar(select(func.count()).select_from(ProgramEvent)) == events_before
    assert db.scalar(select(func.count()).select_from(OutreachTask)) == tasks_before


# --- her permissions at every attempt (S1, S3) -------------------------------------------


@pytest.mark.parametrize(
    ("changes", "body", "field", "words"),
    [
        ({"voice": False}, {"channel": "voice", "outcome": "no_answer"}, "channel", "voice"),
        (
            {"voicemail": False},
            {"channel": "voice", "outcome": "voicemail_neutral"},
            "outcome",
            "voicemail",
        ),
    ],
)
def test_an_attempt_on_what_she_refused_answers_422_naming_the_preference(
    db: Session, world: World, app: Flask, client: FlaskClient, tokens: dict[str, str],
    changes: dict[str, bool], body: dict[str, str], field: str, words: str,
) -> None:  # fmt: skip
    [intake] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    her_word.change_preferences(
        db, actor=world.actor("liaison"), contact_id=world.contact.id, changes=changes, now=NOW
    )
    path = f"/tasks/{intake.id}/attempts"
    status, answer = call(client, tokens["liaison"], "POST", path, {**body, "at": NOW.isoformat()})
    assert status == 422
    assert words in answer["fields"][field]


# --- what she is told is true (S13) --------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Current status in the program: discharged without completing the program on "
         "November 17, 2026."),
        ("es", "Situación en el programa: dado de baja sin terminar el programa el 17 de "
         "noviembre de 2026."),
    ],
)  # fmt: skip
def test_after_his_termination_a_duty_to_warn_tells_her_his_real_status(
    db: Session, world: World, app: Flask, vault: Vault, language: str, said: str
) -> None:
    # Issue 19: she heard "enrolled", a guess from the task's reason.
    profiles = runtime(app).profiles
    her_word.change_preferences(
        db, actor=world.actor("liaison"), contact_id=world.contact.id,
        changes={"language": language}, now=NOW,
    )  # fmt: skip
    report_event(db, profiles, world, "enrolled", now=NOW)
    report_event(db, profiles, world, "terminated", now=NOW)
    [warning] = report_event(db, profiles, world, "duty_to_warn", now=NOW, severity="high")
    # A liaison with a first name to say ("liaison-7" would be refused as a role word).
    jordan = Actor.of(make_user(db, Role.LIAISON, [world.home], now=NOW, username="jordan.lee"))
    claims.claim_task(db, actor=jordan, task_id=warning.id, now=NOW)
    rt = runtime(app)
    page = task_page.task_page(
        db, vault, profiles, actor=jordan, task_id=warning.id, now=NOW,
        calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
    )  # fmt: skip
    assert page.script_problem is None
    spoken = "\n".join(body for _, body in page.script)
    assert said in spoken


def test_the_spanish_acceptance_script_speaks_of_him_in_the_masculine(app: Flask) -> None:
    from outreach.domain import scripts

    text = scripts.load_library(scripts.default_root()).get("call", "accepted", "es")
    assert text is not None
    assert "fue aceptado en el programa" in text.text
    assert "aceptada" not in text.text


def test_her_change_of_channels_reaches_her_open_tasks_both_ways_and_is_audited(
    db: Session, world: World, app: Flask, client: FlaskClient, tokens: dict[str, str]
) -> None:
    # S1: "no calls, texts are fine", then "calls are fine again".
    [intake] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    assert "voice" in intake.channels
    path = f"/contacts/{world.contact.id}/preferences"
    assert call(client, tokens["liaison"], "PATCH", path, {"voice": False})[0] == 200
    db.expire_all()
    assert "voice" not in db.get_one(OutreachTask, intake.id).channels
    assert call(client, tokens["liaison"], "PATCH", path, {"voice": True})[0] == 200
    db.expire_all()
    assert "voice" in db.get_one(OutreachTask, intake.id).channels
    changes = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "task.channels_rederived")
    ).all()
    assert len(changes) == 2
