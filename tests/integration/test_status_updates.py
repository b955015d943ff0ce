"""Status updates she asked for (issue 20 item 8), lived the way each seed program's liaison
lives a case: his events over a few weeks, her choice changing, her channels changing.

seeds/001, Caminar Latino: "Throughout the program, victim advocates also provide general
updates on the abusive partner's attendance and progress." seeds/004 (PCADV) item 4:
"Advising battered partners of the status of the batterer ... including ... attendance".
seeds/001, Emerge: "monthly participant progress reports, which victims are entitled to
receive and discuss with the program." Only where she wants them (PRODUCT.md table,
Georgia: "where she wants them"); never for a contact who declined (S1).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import EntryPoint
from outreach.models import AuditEvent, OutreachTask
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import her_word, preference_changes, preferences
from outreach.services.errors import Invalid
from outreach.services.intake import check_ins, programs
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import Case, build_case, report_case_event

DAY = timedelta(days=1)


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


def _case(db: Session, vault: Vault, profiles: dict[str, Profile], protocol: str) -> Case:
    """He enrols today; she consented when the program first reached her."""
    case = build_case(db, vault, now=NOW, protocol=protocol)
    report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    return case


def _her_word(
    db: Session,
    vault: Vault,
    profiles: dict[str, Profile],
    case: Case,
    changes: dict[str, Any],
    at: datetime,
) -> None:
    preference_changes.change_preferences(
        db, vault, profiles, actor=case.liaison, contact_id=case.contact.id, changes=changes,
        now=at, source="liaison",
    )  # fmt: skip


def _updates(db: Session, case: Case, status: str = "open") -> list[OutreachTask]:
    return list(
        db.scalars(
            select(OutreachTask).where(
                OutreachTask.contact_id == case.contact.id,
                OutreachTask.reason == "status_update",
                OutreachTask.status == status,
            )
        )
    )


def _audits(db: Session, action: str, task: OutreachTask) -> list[AuditEvent]:
    query = select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_id == str(task.id)
    )
    return list(db.scalars(query))


def _reach(db: Session, vault: Vault, case: Case, task: OutreachTask, at: datetime) -> None:
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=task.id, channel="voice", at=at,
        outcome="reached_safe", now=at,
    )  # fmt: skip
    closing.close_task(db, actor=case.liaison, task_id=task.id, resolution="completed", now=at)


# --- Georgia, Caminar Latino: attendance and progress -------------------------------------


def test_caminar_latino_a_month_of_his_attendance_reaches_her_as_she_asked(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """seeds/001 Caminar Latino: "general updates on the abusive partner's attendance and
    progress". She asks for them on the intake call; his missed session, a second one, a leave,
    his return and the progress summary each reach her, one open update at a time."""
    case = _case(db, vault, profiles, "georgia_fvip")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW + DAY)

    # Week 1: he misses group. An update call opens, due within the program's week.
    opened = report_case_event(db, profiles, case, "absent", at=NOW + 2 * DAY, now=NOW + 2 * DAY)
    [update] = _updates(db, case)
    assert [t.id for t in opened] == [update.id]
    assert update.channels == ["voice"]
    assert update.script == "status_update"
    assert update.due_by == NOW + 9 * DAY

    # He misses again before she was reached: recorded on the open update, not a second one.
    again = report_case_event(db, profiles, case, "absent", at=NOW + 4 * DAY, now=NOW + 4 * DAY)
    assert again == []
    assert _updates(db, case) == [update]
    [noted] = _audits(db, "task.event_noted", update)
    assert noted.detail["type"] == "absent"

    _reach(db, vault, case, update, NOW + 5 * DAY)

    # Week 2: a leave. Georgia's protocol calls her about it anyway (seeds/001 "requests a
    # leave of absence"): she hears his status on that call, no second task.
    opened = report_case_event(
        db, profiles, case, "leave_of_absence", at=NOW + 8 * DAY, now=NOW + 8 * DAY
    )
    assert [t.reason for t in opened] == ["leave_of_absence"]
    assert _updates(db, case) == []

    # Week 3: his return and, week 4, the progress summary each open an update.
    report_case_event(
        db, profiles, case, "returned_from_leave", at=NOW + 15 * DAY, now=NOW + 15 * DAY
    )
    [returned] = _updates(db, case)
    _reach(db, vault, case, returned, NOW + 16 * DAY)
    report_case_event(db, profiles, case, "progress_summary", at=NOW + 22 * DAY, now=NOW + 22 * DAY)
    assert len(_updates(db, case)) == 1


def test_an_update_reported_late_is_due_from_the_news(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """The program reports on Friday an absence of Monday: the update is not overdue at once."""
    case = _case(db, vault, profiles, "georgia_fvip")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW)
    report_case_event(db, profiles, case, "absent", at=NOW + DAY, now=NOW + 5 * DAY)
    [update] = _updates(db, case)
    assert update.opens_at == NOW + 5 * DAY
    assert update.due_by == NOW + 12 * DAY


def test_a_contact_who_did_not_ask_for_updates_gets_none(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """Victim-driven (S1; Georgia "where she wants them"): consenting is not asking."""
    case = _case(db, vault, profiles, "georgia_fvip")
    for day, event in enumerate(["absent", "progress_summary"], start=1):
        assert (
            report_case_event(db, profiles, case, event, at=NOW + day * DAY, now=NOW + day * DAY)
            == []
        )
    assert _updates(db, case) == []


def test_she_stops_wanting_updates_and_the_open_one_is_cancelled(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "georgia_fvip")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW)
    report_case_event(db, profiles, case, "absent", at=NOW + DAY, now=NOW + DAY)
    [update] = _updates(db, case)
    _her_word(db, vault, profiles, case, {"updates": False}, NOW + 2 * DAY)
    assert update.status == "cancelled"
    [closed] = _audits(db, "task.closed", update)
    assert closed.detail["because"] == "updates_off"
    report_case_event(db, profiles, case, "absent", at=NOW + 3 * DAY, now=NOW + 3 * DAY)
    assert _updates(db, case) == []


def test_a_declined_contact_never_gets_an_update(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """S1: declined means no further contact, updates she once asked for included."""
    case = _case(db, vault, profiles, "georgia_fvip")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW)
    report_case_event(db, profiles, case, "absent", at=NOW + DAY, now=NOW + DAY)
    [update] = _updates(db, case)
    attempt_log.stop_all_contact(db, case.liaison, case.contact.id, NOW + 2 * DAY)
    db.commit()
    assert update.status == "cancelled"
    assert preferences.current_preferences(db, case.contact.id).updates is False
    report_case_event(db, profiles, case, "absent", at=NOW + 3 * DAY, now=NOW + 3 * DAY)
    assert _updates(db, case) == []


def test_where_she_chose_texts_the_update_is_a_discreet_text_until_her_stop(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """ "No calls, texts are fine" (S1): the update is the neutral check-in text inviting a
    call (never a word about him; the SMS lint holds for it). After her STOP (S2) nothing
    opens: no text, and no call she turned off."""
    case = _case(db, vault, profiles, "georgia_fvip")
    _her_word(db, vault, profiles, case, {"updates": True, "voice": False, "sms": True}, NOW)
    report_case_event(db, profiles, case, "absent", at=NOW + DAY, now=NOW + DAY)
    [update] = _updates(db, case)
    assert update.channels == ["sms"]
    assert check_ins.texted_check_ins(db) == [update.id]
    assert check_ins.SCRIPT == "check_in"  # the neutral text, nothing about him

    _reach_by_text(db, update)
    her_word.revoke_sms(
        db, actor=SYSTEM, contact_id=case.contact.id, now=NOW + 3 * DAY, source="sms_keyword"
    )
    db.commit()
    report_case_event(db, profiles, case, "absent", at=NOW + 4 * DAY, now=NOW + 4 * DAY)
    assert _updates(db, case) == []


def _reach_by_text(db: Session, task: OutreachTask) -> None:
    """The service records its text as the contact made and closes the task (check_ins)."""
    at = NOW + 2 * DAY
    attempt_log.append_attempt(
        db, None, actor=SYSTEM, task_id=task.id, channel="sms", at=at, outcome="text_sent",
        now=at, entry=attempt_log.Entry(EntryPoint.SCHEDULER),
    )  # fmt: skip
    closing.close_task(db, actor=SYSTEM, task_id=task.id, resolution="completed", now=at)


# --- PCADV: attendance --------------------------------------------------------------------


def test_pcadv_advises_her_of_his_attendance_when_she_asked(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """seeds/004 item 4: "Advising battered partners of the status of the batterer ...
    including ... attendance". The leave has its own call; a missed session and his return
    reach her as updates. A progress summary is not in PCADV's offer."""
    case = _case(db, vault, profiles, "pcadv")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW)
    opened = report_case_event(db, profiles, case, "leave_of_absence", at=NOW + DAY, now=NOW + DAY)
    assert [t.reason for t in opened] == ["leave_of_absence"]
    report_case_event(db, profiles, case, "progress_summary", at=NOW + 2 * DAY, now=NOW + 2 * DAY)
    assert _updates(db, case) == []
    report_case_event(
        db, profiles, case, "returned_from_leave", at=NOW + 9 * DAY, now=NOW + 9 * DAY
    )
    assert len(_updates(db, case)) == 1


# --- Emerge: the monthly progress report --------------------------------------------------


def test_emerge_calls_her_about_each_monthly_progress_report_she_wants(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """seeds/001 Emerge: "monthly participant progress reports, which victims are entitled to
    receive and discuss with the program". An absence alone is not an Emerge update."""
    case = _case(db, vault, profiles, "emerge")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW)
    report_case_event(db, profiles, case, "absent", at=NOW + 3 * DAY, now=NOW + 3 * DAY)
    assert _updates(db, case) == []
    for month in (1, 2):
        at = NOW + 30 * month * DAY
        [update] = report_case_event(db, profiles, case, "progress_summary", at=at, now=at)
        assert update.reason == "status_update"
        _reach(db, vault, case, update, at + DAY)
    assert len(_updates(db, case, "completed")) == 2


# --- a program that offers none ------------------------------------------------------------


def test_a_program_without_updates_refuses_them_naming_the_field(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """Colorado's standard offers no status updates: asking answers 422 naming `updates`,
    and nothing is written."""
    case = _case(db, vault, profiles, "colorado_dvomb")
    before = preferences.current_preferences(db, case.contact.id).version
    with pytest.raises(Invalid) as refused:
        _her_word(db, vault, profiles, case, {"updates": True}, NOW)
    assert "updates" in refused.value.fields
    db.rollback()
    assert preferences.current_preferences(db, case.contact.id).version == before


# --- an absence marked on the attendance --------------------------------------------------


def _mark(db: Session, profiles: dict[str, Profile], case: Case, day: int, status: str) -> None:
    """The facilitator marks him on the group's attendance, the day after the session."""
    programs.record_attendance(
        db, profiles, participant_id=case.participant.id,
        session_date=(NOW + day * DAY).date(), status=status, checked_in_at=None,
        now=NOW + (day + 1) * DAY, actor=case.facilitator,
    )  # fmt: skip


def test_an_absence_the_facilitator_marks_reaches_her_as_the_absent_event_does(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """seeds/001 Caminar Latino: "general updates on the abusive partner's attendance": the
    facilitator marks attendance on the group's page, not through an events API, so his
    missed session on that page is what opens her update. Marking it again, or marking him
    present, opens nothing more; the facilitator's answer is the attendance row alone (S7)."""
    case = _case(db, vault, profiles, "georgia_fvip")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW + DAY)

    _mark(db, profiles, case, 7, "present")
    assert _updates(db, case) == []

    _mark(db, profiles, case, 14, "absent")
    [update] = _updates(db, case)
    assert update.script == "status_update"
    assert update.opens_at == NOW + 15 * DAY  # due from the news, not from the session

    _mark(db, profiles, case, 14, "absent")  # the same mark saved again: nothing new
    assert _audits(db, "task.event_noted", update) == []
    _mark(db, profiles, case, 21, "absent")  # a second missed session, noted on the open one
    [noted] = _audits(db, "task.event_noted", update)
    assert noted.detail["type"] == "absent"
    assert _updates(db, case) == [update]


def test_a_marked_absence_opens_nothing_for_a_contact_who_did_not_ask(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """Consenting is not asking (S1): his absences stay attendance, for the plan only (S4)."""
    case = _case(db, vault, profiles, "georgia_fvip")
    _mark(db, profiles, case, 7, "absent")
    assert _updates(db, case) == []
    updates = select(OutreachTask).where(OutreachTask.reason == "status_update")
    assert db.scalars(updates).all() == []


def test_an_absence_from_before_his_record_is_history_not_news(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """A past roster brought in marks sessions from before his record existed: no event can be
    dated before his record (issue 19), so the mark is kept and no update opens."""
    case = _case(db, vault, profiles, "georgia_fvip")
    _her_word(db, vault, profiles, case, {"updates": True}, NOW)
    _mark(db, profiles, case, -30, "absent")
    assert _updates(db, case) == []
