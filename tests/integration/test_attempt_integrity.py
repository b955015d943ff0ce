"""S14, records a supervisor can trust: every attempt carries when it happened, when it was
entered and by whom; an odd time needs a reason and is flagged for the supervisor; a correction
that takes away the basis of a closure reopens the task (issue 21, findings 2 and 3)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.vocabulary import STAFF_OUTCOMES, AttemptFlag, EntryPoint, Outcome, TaskStatus
from outreach.models import Attempt, AuditEvent, OutreachTask
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import preferences
from outreach.services.errors import Invalid, ServiceError
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM, AuditAction
from outreach.services.scheduling import queue
from outreach.services.supervision import attempt_export, compliance, corrections, review, sign_offs
from tests.conftest import NOW
from tests.factories import World, build_world, report_event

PROFILES = load_profiles(PROTOCOLS_DIR)
PAPER = "entered from the paper log after the outage"
_days = itertools.count(1)


@pytest.fixture
def world(db: Session, vault: Vault) -> World:
    """The personas, with a participant recorded a month ago: his tasks here open days
    before NOW, and no event may be dated before his record (S4, issue 19)."""
    return build_world(db, vault, now=NOW - timedelta(days=30))


def _task(db: Session, world: World, opened: datetime) -> OutreachTask:
    [task] = report_event(db, PROFILES, world, "enrolled", now=opened)
    return task


def _attempt(
    db: Session,
    vault: Vault,
    world: World,
    task: OutreachTask,
    at: datetime,
    *,
    now: datetime = NOW,
    outcome: str = "no_answer",
    reason: str | None = None,
) -> Attempt:
    return attempt_log.record_attempt(
        db,
        vault,
        actor=world.actor("liaison"),
        task_id=task.id,
        channel="voice",
        at=at,
        outcome=outcome,
        now=now,
        entry=attempt_log.Entry(EntryPoint.WEB, reason),
    )


# --- finding 2: back-dated attempts ---------------------------------------------------------


def test_two_attempts_entered_days_later_one_before_the_task_opened_need_reasons_and_are_flagged(
    db: Session, vault: Vault, world: World
) -> None:
    """The supervisor's case: a liaison enters two calls days after the fact, one of them
    dated before the task even opened; they counted "2 of 2" and closed the task unledgered."""
    task = _task(db, world, NOW - timedelta(days=2))
    before_opened, days_ago = NOW - timedelta(days=3), NOW - timedelta(days=2, hours=-3)
    for at in (before_opened, days_ago):
        with pytest.raises(Invalid) as refused:
            _attempt(db, vault, world, task, at)
        assert refused.value.fields == {"reason": "required"}
    assert attempt_log.standing_attempts(db, task.id) == []

    first = _attempt(db, vault, world, task, before_opened, reason=PAPER)
    second = _attempt(db, vault, world, task, days_ago, reason=PAPER)
    assert first.flag_list == [AttemptFlag.BEFORE_TASK_OPENED, AttemptFlag.ENTERED_LATE]
    assert second.flag_list == [AttemptFlag.ENTERED_LATE]
    for entered in (first, second):
        assert entered.recorded_at == NOW  # the service's clock, never the typed time
        assert entered.entered_by == world.users["liaison"].id
        assert entered.entered_via == "web"
        assert entered.reason == PAPER

    found = compliance.compliance(db, actor=world.actor("supervisor"), now=NOW)
    flagged = {(f.at, tuple(f.flags), f.reason, f.entered_by) for f in found.flagged}
    liaison = world.users["liaison"].username
    assert flagged == {
        (before_opened, ("before_task_opened", "entered_late"), PAPER, liaison),
        (days_ago, ("entered_late",), PAPER, liaison),
    }


def test_an_attempt_entered_within_the_day_of_an_open_task_is_not_flagged(
    db: Session, vault: Vault, world: World
) -> None:
    task = _task(db, world, NOW - timedelta(days=2))
    made = _attempt(db, vault, world, task, NOW - timedelta(hours=23))
    assert made.flags == ""
    assert made.reason is None
    found = compliance.compliance(db, actor=world.actor("supervisor"), now=NOW)
    assert found.flagged == []


def test_a_time_in_the_future_is_refused_even_with_a_reason(
    db: Session, vault: Vault, world: World
) -> None:
    task = _task(db, world, NOW - timedelta(days=1))
    with pytest.raises(Invalid) as refused:
        _attempt(db, vault, world, task, NOW + timedelta(hours=1), reason=PAPER)
    assert refused.value.fields == {"at": "in the future"}


def test_the_late_entry_limit_is_a_setting(db: Session, vault: Vault, world: World) -> None:
    task = _task(db, world, NOW - timedelta(days=3))
    strict = attempt_log.Entry(EntryPoint.API, None, timedelta(hours=2))
    with pytest.raises(Invalid, match="more than 2 hours"):
        attempt_log.record_attempt(
            db, vault, actor=world.actor("liaison"), task_id=task.id, channel="voice",
            at=NOW - timedelta(hours=3), outcome="busy", now=NOW, entry=strict,
        )  # fmt: skip


def test_the_services_own_late_outcome_is_flagged_but_never_lost(
    db: Session, vault: Vault, world: World
) -> None:
    """A call's outcome the provider reports a day late is the service's entry, not a person's:
    refusing it would lose a real call (S5), so it is kept, flagged, with no reason asked."""
    task = _task(db, world, NOW - timedelta(days=3))
    made = attempt_log.record_attempt(
        db, vault, actor=SYSTEM, task_id=task.id, channel="voice", at=NOW - timedelta(days=2),
        outcome="no_answer", now=NOW, made_by=world.users["liaison"].id,
        entry=attempt_log.Entry(EntryPoint.WEBHOOK),
    )  # fmt: skip
    assert made.flag_list == [AttemptFlag.ENTERED_LATE]
    assert (made.entered_by, made.entered_via) == (None, "webhook")
    found = compliance.compliance(db, actor=world.actor("supervisor"), now=NOW)
    assert [(f.entered_by, f.reason) for f in found.flagged] == [("system", None)]


def test_the_attempt_log_and_its_csv_show_when_and_by_whom_each_attempt_was_entered(
    db: Session, vault: Vault, world: World, sessions: sessionmaker[Session]
) -> None:
    task = _task(db, world, NOW - timedelta(days=2))
    _attempt(db, vault, world, task, NOW - timedelta(days=3), reason=PAPER)
    supervisor = world.actor("supervisor")
    [row] = review.attempt_log(db, actor=supervisor, filters=review.LogFilter(), now=NOW).rows
    assert (row.entered_at, row.entered_by, row.entered_via) == (
        NOW,
        world.users["liaison"].username,
        "web",
    )
    assert row.flags == ("before_task_opened", "entered_late")
    export = attempt_export.export_csv(
        db, sessions, actor=supervisor, filters=review.LogFilter(), now=NOW
    )
    lines = list(export)
    header, line = lines[0].strip().split(","), lines[1].strip().split(",")
    cells = dict(zip(header, line, strict=True))
    assert cells["entered_at_utc"] == NOW.isoformat()
    assert cells["entered_by"] == world.users["liaison"].username
    assert cells["flags"] == "before_task_opened entered_late"
    assert cells["flag_reason"] == PAPER


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    hours_before_now=st.integers(min_value=0, max_value=120),
    opened_hours_ago=st.integers(min_value=0, max_value=120),
    reason=st.sampled_from([None, "", "   ", PAPER]),
)
def test_a_person_never_enters_an_odd_time_without_a_reason(
    db: Session,
    vault: Vault,
    world: World,
    hours_before_now: int,
    opened_hours_ago: int,
    reason: str | None,
) -> None:
    """S14 as a property: whatever the times, an attempt a person entered is kept without a
    reason only if nothing about its time is odd, and a kept odd one carries its reason."""
    now = NOW + timedelta(days=next(_days) * 10)  # each example gets a task of its own time
    task = _task(db, world, now - timedelta(hours=opened_hours_ago))
    at = now - timedelta(hours=hours_before_now)
    odd = at < task.opens_at or now - at > attempt_log.ENTERED_LATE_AFTER
    if odd and not (reason or "").strip():
        with pytest.raises(Invalid) as refused:
            _attempt(db, vault, world, task, at, now=now, reason=reason)
        assert refused.value.fields == {"reason": "required"}
        return
    made = _attempt(db, vault, world, task, at, now=now, reason=reason)
    assert bool(made.flags) == odd
    if odd:
        assert made.reason == PAPER


# --- finding 3: corrections that take away a closure's basis --------------------------------


def _completed(db: Session, vault: Vault, world: World) -> tuple[OutreachTask, Attempt]:
    task = _task(db, world, NOW - timedelta(hours=5))
    safe = _attempt(db, vault, world, task, NOW - timedelta(hours=4), outcome="reached_safe")
    closing.close_task(
        db, actor=world.actor("liaison"), task_id=task.id, resolution="completed", now=NOW
    )
    return task, safe


def _unreachable(db: Session, vault: Vault, world: World) -> tuple[OutreachTask, list[Attempt]]:
    task = _task(db, world, NOW - timedelta(days=2, hours=1))
    made = [
        _attempt(db, vault, world, task, at, now=at)
        for at in (NOW - timedelta(days=2), NOW - timedelta(days=1), NOW - timedelta(hours=1))
    ]
    closing.close_task(
        db, actor=world.actor("liaison"), task_id=task.id, resolution="unreachable", now=NOW
    )
    return task, made


def _correct(db: Session, world: World, attempt: Attempt, outcome: str) -> Attempt:
    later = NOW + timedelta(hours=1)
    fixed = corrections.correct_attempt(
        db, actor=world.actor("supervisor"), attempt_id=attempt.id, outcome=outcome, now=later
    )
    db.expire_all()
    return fixed


def test_correcting_the_only_safe_conversation_reopens_the_completed_task(
    db: Session, vault: Vault, world: World
) -> None:
    """The supervisor corrects the one "reached safe" to "no answer": nothing is left that the
    completion rests on, so the task is back in the queue and the dashboard says so."""
    task, safe = _completed(db, vault, world)
    _correct(db, world, safe, "no_answer")
    reopened = db.get(OutreachTask, task.id)
    assert reopened is not None
    assert reopened.status == TaskStatus.OPEN
    assert (reopened.closed_at, reopened.closed_by) == (None, None)
    assert reopened.reopened_at == NOW + timedelta(hours=1)
    audit = db.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.TASK_REOPENED)
    ).one()
    assert audit.object_id == str(task.id)
    found = compliance.compliance(db, actor=world.actor("supervisor"), now=NOW + timedelta(hours=2))
    assert [(r.task_id, r.status) for r in found.reopened] == [(task.id, "open")]
    ids = db.scalars(queue.ordered(None, NOW + timedelta(hours=2), actor=SYSTEM)).all()
    assert task.id in ids


def test_a_correction_that_leaves_the_basis_standing_changes_no_closure(
    db: Session, vault: Vault, world: World
) -> None:
    task, made = _unreachable(db, vault, world)
    _correct(db, world, made[0], "busy")  # still a try that did not reach her
    assert db.get(OutreachTask, task.id).status == "unreachable"  # type: ignore[union-attr]
    assert compliance.compliance(db, actor=world.actor("supervisor"), now=NOW).reopened == []


def test_finding_she_was_reached_reopens_a_signed_off_unreachable_closure(
    db: Session, vault: Vault, world: World
) -> None:
    """An attempt counted toward unreachable turns out to have reached her: the closure and
    its sign-off rested on her being unreachable, so both go, and a new closure needs both."""
    task, made = _unreachable(db, vault, world)
    sign_offs.sign_off(db, actor=world.actor("supervisor"), task_id=task.id, now=NOW)
    _correct(db, world, made[1], "reached_not_safe")
    reopened = db.get(OutreachTask, task.id)
    assert reopened is not None
    assert reopened.status == "open"
    assert (reopened.signed_off_by, reopened.signed_off_at) == (None, None)


def test_a_correction_saying_she_declined_stops_contact_instead_of_reopening(
    db: Session, vault: Vault, world: World
) -> None:
    task, safe = _completed(db, vault, world)
    _correct(db, world, safe, "declined")
    assert db.get(OutreachTask, task.id).status == "completed"  # type: ignore[union-attr]
    assert preferences.current_preferences(db, world.contact.id).consent == "declined"  # S1


def test_a_correction_keeps_the_flags_and_reason_of_the_call_it_corrects(
    db: Session, vault: Vault, world: World
) -> None:
    task = _task(db, world, NOW - timedelta(days=2))
    late = _attempt(db, vault, world, task, NOW - timedelta(days=3), reason=PAPER)
    fixed = _correct(db, world, late, "busy")
    assert (fixed.flags, fixed.reason) == (late.flags, PAPER)
    assert (fixed.entered_by, fixed.entered_via) == (world.users["supervisor"].id, "web")
    found = compliance.compliance(db, actor=world.actor("supervisor"), now=NOW)
    assert len(found.flagged) == 1  # the call once, not once per entry


# Calls she allowed: a voicemail she never allowed is refused before it is logged (S1, S3).
# A referral to victim services is refused on this Georgia intake (only an NY OPDV safety
# concern takes it, seeds/000).
OUTCOMES = [
    o.value
    for o in STAFF_OUTCOMES
    if o not in (Outcome.DECLINED, Outcome.VOICEMAIL_NEUTRAL, Outcome.REFERRED_TO_VICTIM_SERVICES)
]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=4),
    corrected=st.integers(min_value=0, max_value=3),
    to=st.sampled_from(OUTCOMES),
)
def test_after_any_correction_a_closed_task_still_rests_on_its_basis(
    db: Session, vault: Vault, world: World, outcomes: list[str], corrected: int, to: str
) -> None:
    """S14 as a property: whatever was logged and however it is corrected, a task whose closure
    rested on its basis and stays completed or unreachable still meets what that closure
    requires; otherwise it reopened."""
    now = NOW + timedelta(days=next(_days) * 10)
    task = _task(db, world, now - timedelta(days=len(outcomes) + 1))
    made = []
    for n, outcome in enumerate(outcomes):
        at = now - timedelta(days=len(outcomes) - n)
        made.append(_attempt(db, vault, world, task, at, now=at, outcome=outcome))
    for resolution in ("completed", "unreachable"):
        try:
            closing.close_task(
                db, actor=world.actor("liaison"), task_id=task.id, resolution=resolution, now=now
            )
            break
        except ServiceError:  # the closure's own rules decide; either may refuse
            db.rollback()
    db.expire_all()
    closed = db.get(OutreachTask, task.id)
    assert closed is not None
    stood = closing.closure_stands(closed, attempt_log.standing_attempts(db, task.id))
    corrections.correct_attempt(
        db,
        actor=world.actor("supervisor"),
        attempt_id=made[corrected % len(made)].id,
        outcome=to,
        now=now,
    )
    db.expire_all()
    after = db.get(OutreachTask, task.id)
    assert after is not None
    if stood and after.status in ("completed", "unreachable"):
        assert closing.closure_stands(after, attempt_log.standing_attempts(db, task.id))
    if not stood:  # a closure already off its basis is the early-closure list's, not reopened
        assert after.status == closed.status
