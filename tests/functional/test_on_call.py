"""The on-call supervisor hears of a duty to warn at once, on their own phone and on every page
(S8: "notifies the on-call supervisor on their own phone and on screen, and its response time
(raised -> first attempt -> reached) is measured and shown"), as an Emerge program lives it:
the facilitator raises a duty to warn on Friday at 23:30 in New York.

Played through the app end to end: the admin's settings page, the supervisor's own phone page,
the program system's API, the scheduler's job, the simulator posting status callbacks signed
with Twilio's own validator to the real webhook routes, the liaison's claim and call.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import ProviderRecord
from outreach.channels.console import ConsoleChannel
from outreach.channels.pacing import Pacer
from outreach.channels.simulator import SimulatorChannel
from outreach.channels.simulator_scenarios import ScriptedScenario
from outreach.clock import FixedClock
from outreach.domain.vocabulary import Role
from outreach.models import AuditEvent, Delivery, OutreachTask, User
from outreach.runtime import runtime
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import preferences
from outreach.services.delivery import reconcile
from outreach.services.delivery.outbox import read_outbox
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens, users
from outreach.services.supervision import compliance, on_call
from tests.conftest import NOW
from tests.factories import Case, World, build_case, make_user, report_event
from tests.fakes import RecordingChannel
from tests.functional.web import csrf, log_in

NEW_YORK = ZoneInfo("America/New_York")
FRIDAY_2330 = datetime(2026, 11, 20, 23, 30, tzinfo=NEW_YORK).astimezone(UTC)
SUPERVISOR_PHONE = "+14045550177"
LIAISON_PHONE = "+14045550112"
NOTICE = "An urgent task is waiting for you. Please sign in now."


def _signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    log_in(client, user)
    return client


def _post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf(client, "/home")})


def _api(client: FlaskClient, token: str, method: str, path: str, body: Any = None) -> Any:
    return client.open(
        f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"}
    )


def _emerge_with_staff(db: Session, vault: Vault) -> tuple[Case, User, User, User]:
    case = build_case(db, vault, now=NOW, protocol="emerge")
    supervisor = make_user(db, Role.SUPERVISOR, [case.program], now=NOW)
    admin = make_user(db, Role.ADMIN, [case.program], now=NOW)
    assert case.liaison.user_id is not None
    users.set_phone(
        db, vault, user_id=case.liaison.user_id, phone=LIAISON_PHONE, now=NOW, actor=SYSTEM
    )
    liaison = db.get(User, case.liaison.user_id)
    assert liaison is not None
    return case, supervisor, admin, liaison


def test_emerge_duty_to_warn_friday_2330_rings_the_on_call_supervisor_and_is_answered_in_time(
    db: Session,
    vault: Vault,
    app: Flask,
    clock: FixedClock,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
) -> None:
    case, supervisor, admin, liaison = _emerge_with_staff(db, vault)
    rt = runtime(app)
    clock.at = FRIDAY_2330 - timedelta(minutes=10)

    # The admin names the on-call supervisor and a 30-minute target on the settings page.
    admin_client = _signed_in(app, admin)
    key = case.program.id
    page = _post(
        admin_client, f"/admin/programs/{key}/on-call", {"supervisor": supervisor.username}
    )
    assert page.status_code == 302
    assert _post(admin_client, f"/admin/programs/{key}/duty-to-warn-target", {"minutes": "30"})
    # The supervisor keeps their own phone, sealed, confirming it is them.
    sup_client = _signed_in(app, supervisor)
    saved = _post(
        sup_client,
        "/account/phone",
        {"phone": "(404) 555-0177", "password": "correct horse battery staple"},
    )
    assert saved.status_code == 302
    db.expire_all()
    assert users.own_phone(vault.keyring, db.get(User, supervisor.id)) == SUPERVISOR_PHONE  # type: ignore[arg-type]
    assert SUPERVISOR_PHONE.encode() not in (db.get(User, supervisor.id).phone_sealed or b"")  # type: ignore[union-attr]

    # Friday 23:30: the program's system raises a duty to warn through the API.
    clock.at = FRIDAY_2330
    system = tokens.issue_token(
        db, username=_name(db, case.facilitator.user_id), days=30, now=NOW, actor=SYSTEM
    )
    raised = _api(
        app.test_client(), system.token, "POST", f"/participants/{case.participant.id}/events",
        {"type": "duty_to_warn", "at": FRIDAY_2330.isoformat(), "severity": "high"},
    )  # fmt: skip
    assert raised.status_code == 201
    [warning] = db.scalars(select(OutreachTask).where(OutreachTask.reason == "duty_to_warn")).all()

    # On screen at once: a banner on every supervisor page, linking to the task.
    for path in ("/review/compliance", "/queue", "/review/attempts"):
        shown = sup_client.get(path).get_data(as_text=True)
        assert "Duty to warn waiting" in shown, path
        assert f"/tasks/{warning.id}" in shown
    assert "Duty to warn waiting" not in _signed_in(app, liaison).get("/queue").get_data(
        as_text=True
    )

    # The scheduler's two-second job sends the notice; the supervisor's phone gets it.
    assert jobs.send_on_call_notices(rt, FRIDAY_2330) == 1
    assert jobs.send_on_call_notices(rt, FRIDAY_2330) == 0  # once, however often it runs
    assert [number for number, _ in simulator.texted] == [SUPERVISOR_PHONE]
    simulator.run_pending()  # Twilio's status callbacks, signed, to /webhooks/twilio/sms/status
    jobs.apply_callbacks(rt, FRIDAY_2330)
    [notice] = db.scalars(select(Delivery).where(Delivery.kind == "on_call_sms")).all()
    db.refresh(notice)
    assert (notice.task_id, notice.provider_status) == (warning.id, "delivered")
    # What it said names no one: not her, her number, the program, nor the participant.
    [sent] = [e for e in read_outbox(db, vault, now=FRIDAY_2330) if e["kind"] == "on_call_sms"]
    assert sent["text"] == NOTICE
    for secret in ("Avery", "Sample", "0190", case.program.name, case.participant.reference):
        assert secret not in sent["text"]

    # Callable at once, at 23:30, though calling hours are over (S8).
    listed = _api(app.test_client(), _token(db, liaison), "GET", "/tasks").get_json()
    [row] = [r for r in listed if r["id"] == str(warning.id)]
    assert row["windows"][0]["kind"] == "duty_to_warn"
    assert row["windows"][0]["start"] == FRIDAY_2330.isoformat()

    # The liaison claims it at 23:34: the banner goes.
    clock.at = FRIDAY_2330 + timedelta(minutes=4)
    liaison_client = _signed_in(app, liaison)
    assert _post(liaison_client, f"/tasks/{warning.id}/claim", {}).status_code == 302
    assert "Duty to warn waiting" not in sup_client.get("/review/compliance").get_data(as_text=True)
    # Her phone rings at 23:35, from the neutral number; she is safe to talk and is warned.
    clock.at = FRIDAY_2330 + timedelta(minutes=5)
    scenario.calls += ["human"]
    assert _post(liaison_client, f"/tasks/{warning.id}/call", {}).status_code == 302
    simulator.run_pending()
    jobs.apply_callbacks(rt, clock.at)
    clock.at = FRIDAY_2330 + timedelta(minutes=12)
    recorded = _api(
        liaison_client, _token(db, liaison), "POST", f"/tasks/{warning.id}/attempts",
        {"channel": "voice", "at": (FRIDAY_2330 + timedelta(minutes=5)).isoformat(),
         "outcome": "reached_safe"},
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.get_json()

    # The response time is shown against the program's own target, and the notice's fate.
    shown = sup_client.get("/review/compliance").get_data(as_text=True)
    for words in ("5.0 min", "30 min", "delivered"):
        assert words in shown
    csv = sup_client.get("/review/duty-to-warn.csv").get_data(as_text=True)
    assert f",{warning.id}," in csv
    assert ",5.0,5.0,30.0,no,delivered" in csv
    actions = db.scalars(select(AuditEvent.action)).all()
    for action in (
        "program.on_call_supervisor_set",
        "program.duty_to_warn_target_set",
        "user.phone_set",
        "task.on_call_notice_queued",
        "task.duty_to_warn_supervisor_notified",
    ):
        assert action in actions


def test_with_nobody_on_call_the_banner_still_shows_and_compliance_says_it_was_not_sent(
    db: Session, vault: Vault, app: Flask, clock: FixedClock, simulator: SimulatorChannel
) -> None:
    case, supervisor, _, _ = _emerge_with_staff(db, vault)
    clock.at = FRIDAY_2330
    _, [warning] = _raise(db, app, case)
    assert jobs.send_on_call_notices(runtime(app), FRIDAY_2330) == 0
    assert simulator.texted == []
    sup_client = _signed_in(app, supervisor)
    shown = sup_client.get("/review/compliance").get_data(as_text=True)
    assert "Duty to warn waiting" in shown
    assert f"/tasks/{warning.id}" in shown
    assert "no on-call supervisor is set for the program" in shown
    assert re.search(r'id="on-call-notices">\s*<h2>[^<]*</h2>\s*<p class="big">1<', shown)
    assert ",not_sent:no_on_call" in sup_client.get("/review/duty-to-warn.csv").get_data(
        as_text=True
    )


def test_an_on_call_supervisor_without_a_phone_is_said_so_and_never_texted(
    db: Session, vault: Vault, app: Flask, clock: FixedClock, simulator: SimulatorChannel
) -> None:
    case, supervisor, _, _ = _emerge_with_staff(db, vault)
    on_call.set_on_call(
        db, program_key=case.program.key, username=supervisor.username, now=NOW, actor=SYSTEM
    )
    _raise(db, app, case)
    assert jobs.send_on_call_notices(runtime(app), NOW) == 0
    assert simulator.texted == []
    shown = _signed_in(app, supervisor).get("/queue").get_data(as_text=True)
    assert "the on-call supervisor has no phone of their own on file" in shown


def test_only_a_supervisor_of_the_program_can_be_put_on_call_and_only_by_its_admin(
    db: Session, vault: Vault, app: Flask
) -> None:
    case, supervisor, admin, liaison = _emerge_with_staff(db, vault)
    admin_client = _signed_in(app, admin)
    key = case.program.id
    refused = _post(
        admin_client, f"/admin/programs/{key}/on-call", {"supervisor": liaison.username}
    )
    assert refused.status_code == 422
    assert _post(
        admin_client, f"/admin/programs/{key}/duty-to-warn-target", {"minutes": "0"}
    ).status_code == 422  # fmt: skip
    for outsider in (supervisor, liaison):
        answer = _post(
            _signed_in(app, outsider), f"/admin/programs/{key}/on-call",
            {"supervisor": supervisor.username},
        )  # fmt: skip
        assert answer.status_code == 403
    assert _signed_in(app, admin).get("/admin/programs/duty-to-warn").status_code == 200
    db.expire_all()
    assert db.get(type(case.program), case.program.id).on_call_supervisor_id is None  # type: ignore[union-attr]


def test_a_supervisor_who_left_is_not_texted_after_the_raise(
    db: Session, vault: Vault, app: Flask, simulator: SimulatorChannel
) -> None:
    case, supervisor, _, _ = _emerge_with_staff(db, vault)
    users.set_phone(db, vault, user_id=supervisor.id, phone=SUPERVISOR_PHONE, now=NOW, actor=SYSTEM)
    on_call.set_on_call(
        db, program_key=case.program.key, username=supervisor.username, now=NOW, actor=SYSTEM
    )
    _raise(db, app, case)
    supervisor.active = False  # disabled between the raise and the send
    db.commit()
    assert jobs.send_on_call_notices(runtime(app), NOW) == 0
    assert simulator.texted == []
    [notice] = db.scalars(select(Delivery).where(Delivery.kind == "on_call_sms")).all()
    assert (notice.status, notice.error_code) == ("refused", "no_on_call")


def _raise(db: Session, app: Flask, case: Case) -> tuple[object, list[OutreachTask]]:
    now = runtime(app).clock.now()
    return events.report_event(
        db, runtime(app).profiles, actor=case.facilitator, participant_id=case.participant.id,
        event_type="duty_to_warn", at=now, severity="high", now=now,
    )  # fmt: skip


def _name(db: Session, user_id: object) -> str:
    user = db.get(User, user_id)
    assert user is not None
    return user.username


def _token(db: Session, user: User) -> str:
    return tokens.issue_token(db, username=user.username, days=30, now=NOW, actor=SYSTEM).token


def test_each_program_is_held_to_its_own_response_target(
    db: Session, vault: Vault, app: Flask, world: World
) -> None:
    # Two duties to warn, each first tried 15 minutes after it was raised: the home program
    # set a 10-minute target, the other keeps the default hour.
    on_call.set_target(db, program_key=world.home.key, minutes=10, now=NOW, actor=SYSTEM)
    strict = report_event(db, runtime(app).profiles, world, "duty_to_warn", now=NOW)[0]
    case = build_case(db, vault, now=NOW, protocol="emerge")
    _, [relaxed] = _raise(db, app, case)
    for task, actor in ((strict, world.actor("liaison")), (relaxed, case.liaison)):
        at = NOW + timedelta(minutes=15)
        attempt_log.record_attempt(
            db, vault, actor=actor, task_id=task.id, channel="voice", at=at,
            outcome="no_answer", now=at,
        )  # fmt: skip
    found = {r.task_id: r for r in compliance.warn_responses(db, None, NOW + timedelta(hours=1))}
    assert (found[strict.id].target_minutes, found[strict.id].breached) == (10, True)
    assert (found[relaxed.id].target_minutes, found[relaxed.id].breached) == (60, False)
    shown = _signed_in(app, world.users["supervisor"]).get("/review/compliance")
    assert "10 min" in shown.get_data(as_text=True)
    assert "breached" in shown.get_data(as_text=True)
    lines = compliance.warn_responses_csv(db, actor=SYSTEM, now=NOW + timedelta(hours=1))
    assert any(f",{strict.id}," in line and ",10.0,yes," in line for line in lines)
    assert any(f",{relaxed.id}," in line and ",60.0,no," in line for line in lines)


def test_a_supervisor_who_texted_stop_is_not_texted_and_her_texts_stay_on(
    db: Session, vault: Vault, app: Flask, world: World, simulator: SimulatorChannel
) -> None:
    supervisor = world.users["supervisor"]
    users.set_phone(db, vault, user_id=supervisor.id, phone=SUPERVISOR_PHONE, now=NOW, actor=SYSTEM)
    on_call.set_on_call(
        db, program_key=world.home.key, username=supervisor.username, now=NOW, actor=SYSTEM
    )
    public = runtime(app).settings.public_url
    simulator.text_from(SUPERVISOR_PHONE, "STOP", f"{public}/webhooks/twilio/sms/inbound")
    report_event(db, runtime(app).profiles, world, "duty_to_warn", now=NOW)
    assert jobs.send_on_call_notices(runtime(app), NOW) == 0
    [notice] = db.scalars(select(Delivery).where(Delivery.kind == "on_call_sms")).all()
    db.refresh(notice)
    assert (notice.status, notice.error_code) == ("failed", "21610")
    # S2: her consent is hers; the carrier's refusal of the supervisor's number changes nothing.
    assert preferences.current_preferences(db, world.contact.id).sms is True
    shown = _signed_in(app, supervisor).get("/review/compliance").get_data(as_text=True)
    assert "the text could not be delivered" in shown


def test_the_console_channel_shows_the_notice_with_the_number_masked(
    db: Session, vault: Vault, app: Flask, world: World
) -> None:
    written = io.StringIO()
    runtime(app).channel = ConsoleChannel(Pacer(1000, sleep=lambda _: None), out=written)
    supervisor = world.users["supervisor"]
    users.set_phone(db, vault, user_id=supervisor.id, phone=SUPERVISOR_PHONE, now=NOW, actor=SYSTEM)
    on_call.set_on_call(
        db, program_key=world.home.key, username=supervisor.username, now=NOW, actor=SYSTEM
    )
    report_event(db, runtime(app).profiles, world, "duty_to_warn", now=NOW)
    assert jobs.send_on_call_notices(runtime(app), NOW) == 1
    said = written.getvalue()
    assert "SMS to" in said
    assert said.count("77") == 1  # the last two digits only
    assert "0177" not in said
    [entry] = [e for e in read_outbox(db, vault, now=NOW) if e["kind"] == "on_call_sms"]
    assert entry["text"] == NOTICE


def test_past_ten_waiting_the_banner_says_how_many_more_and_where(
    db: Session, app: Flask, world: World
) -> None:
    for _ in range(11):
        report_event(db, runtime(app).profiles, world, "duty_to_warn", now=NOW)
    shown = _signed_in(app, world.users["supervisor"]).get("/review/sign-offs")
    page = shown.get_data(as_text=True)
    assert page.count("Open the duty to warn raised") == 10
    assert "and 1 more: the call queue lists them all" in page


def test_a_notice_whose_callbacks_were_lost_settles_from_the_providers_record_alone(
    db: Session, vault: Vault, app: Flask, world: World
) -> None:
    channel = RecordingChannel()
    runtime(app).channel = channel
    supervisor = world.users["supervisor"]
    users.set_phone(db, vault, user_id=supervisor.id, phone=SUPERVISOR_PHONE, now=NOW, actor=SYSTEM)
    on_call.set_on_call(
        db, program_key=world.home.key, username=supervisor.username, now=NOW, actor=SYSTEM
    )
    report_event(db, runtime(app).profiles, world, "duty_to_warn", now=NOW)
    assert jobs.send_on_call_notices(runtime(app), NOW) == 1
    [notice] = db.scalars(select(Delivery).where(Delivery.kind == "on_call_sms")).all()
    assert notice.provider_sid is not None
    # No callback ever came; the carrier refused the supervisor's number (they texted STOP).
    channel.records[notice.provider_sid] = ProviderRecord("undelivered", error_code="21610")
    later = NOW + timedelta(minutes=80)
    assert reconcile.reconcile_quiet(db, channel, later) == 1
    db.expire_all()
    settled = db.get(Delivery, notice.id)
    assert settled is not None
    assert (settled.status, settled.provider_status) == ("settled", "undelivered")
    assert preferences.current_preferences(db, world.contact.id).sms is True  # S2: hers stays
    [row] = compliance.warn_responses(db, None, later)
    assert row.notice_unsent == "the text could not be delivered"


def test_a_screen_left_signed_in_cannot_move_someones_phone_without_their_password(
    db: Session, app: Flask, world: World
) -> None:
    supervisor = world.users["supervisor"]
    client = _signed_in(app, supervisor)
    answer = _post(client, "/account/phone", {"phone": SUPERVISOR_PHONE, "password": "guess"})
    assert answer.status_code in (401, 403, 422)
    db.expire_all()
    assert db.get(User, supervisor.id).phone_sealed is None  # type: ignore[union-attr]
    assert "user.phone_set" not in db.scalars(select(AuditEvent.action)).all()
    assert SUPERVISOR_PHONE not in answer.get_data(as_text=True)
