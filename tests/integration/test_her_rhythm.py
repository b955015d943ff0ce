"""Her rhythm (S13), lived the way each seed program's liaison lives it (seeds/001).

She chooses how often she wants a check-in, after a conversation; check-ins open on her
choice, counted from the last time she was reached (or from her consent, if never); she can
change it or reduce it to none without declining anything, and the open check-in follows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.models import AuditEvent, OutreachTask
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import preference_changes, preferences
from outreach.services.errors import Invalid
from outreach.services.intake import check_ins
from outreach.services.intake.programs import PROTOCOLS_DIR
from tests.conftest import NOW
from tests.factories import Case, build_case, open_check_ins, report_case_event

DAY = timedelta(days=1)


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


def _case(db: Session, vault: Vault, profiles: dict[str, Profile], protocol: str) -> Case:
    """He enrols today; she consented when the program first reached her, today too."""
    case = build_case(db, vault, now=NOW, protocol=protocol)
    report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    return case


def _choose(
    db: Session,
    vault: Vault,
    profiles: dict[str, Profile],
    case: Case,
    rhythm: str,
    at: datetime,
) -> None:
    """The liaison records the rhythm she asked for."""
    preference_changes.change_preferences(
        db,
        vault,
        profiles,
        actor=case.liaison,
        contact_id=case.contact.id,
        changes={"cadence": rhythm},
        now=at,
        source="liaison",
    )


def _reach(db: Session, vault: Vault, case: Case, task: OutreachTask, at: datetime) -> None:
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=task.id, channel="voice", at=at,
        outcome="reached_safe", now=at,
    )  # fmt: skip
    closing.close_task(db, actor=case.liaison, task_id=task.id, resolution="completed", now=at)


def _days_until_check_in(
    db: Session, profiles: dict[str, Profile], case: Case, start: datetime
) -> int:
    """The scheduler ticks once a day from `start`; answer the day a check-in opens."""
    for day in range(0, 200):
        check_ins.open_periodic_check_ins(db, profiles, now=start + day * DAY)
        if open_check_ins(db, case):
            return day
    return -1


def _audits(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- Colorado --------------------------------------------------------------------------
# seeds/001 "Colorado": "The frequency of victim contact varies and depends on the victim's
# comfort (e.g., once a month, once every three months)." No default: she chooses.


def test_colorado_opens_no_check_in_until_she_chooses_a_rhythm(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "colorado_dvomb")
    assert _days_until_check_in(db, profiles, case, NOW) == -1


@pytest.mark.parametrize(("rhythm", "every"), [("monthly", 30), ("quarterly", 91)])
def test_colorado_checks_in_on_the_rhythm_she_chose_counted_from_when_she_was_reached(
    db: Session, vault: Vault, profiles: dict[str, Profile], rhythm: str, every: int
) -> None:
    case = _case(db, vault, profiles, "colorado_dvomb")
    _choose(db, vault, profiles, case, rhythm, NOW)
    # Counted from her consent (today) while she has not been reached.
    assert _days_until_check_in(db, profiles, case, NOW) == every
    [first] = open_check_ins(db, case)
    reached = NOW + (every + 3) * DAY  # the liaison reaches her three days in
    _reach(db, vault, case, first, reached)
    assert _days_until_check_in(db, profiles, case, reached) == every  # from that call


def test_colorado_a_slower_rhythm_cancels_the_check_in_it_no_longer_makes_due(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "colorado_dvomb")
    _choose(db, vault, profiles, case, "monthly", NOW)
    assert _days_until_check_in(db, profiles, case, NOW) == 30
    [open_one] = open_check_ins(db, case)
    # On day 31 she tells the liaison once every three months is enough.
    _choose(db, vault, profiles, case, "quarterly", NOW + 31 * DAY)
    assert open_one.status == "cancelled"
    [closed] = [a for a in _audits(db, "task.closed") if a.object_id == str(open_one.id)]
    assert closed.detail["because"] == "rhythm_changed"
    assert _days_until_check_in(db, profiles, case, NOW + 32 * DAY) == 91 - 32


def test_colorado_a_rhythm_she_may_not_choose_is_refused_naming_the_choices(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "colorado_dvomb")
    with pytest.raises(Invalid) as refused:
        _choose(db, vault, profiles, case, "weekly", NOW)
    assert refused.value.fields == {"cadence": "must be one of none, monthly, quarterly"}
    db.rollback()
    assert preferences.current_preferences(db, case.contact.id).cadence is None  # nothing written


# --- Emerge ----------------------------------------------------------------------------
# seeds/001 "Massachusetts": the coordinator "contacts them every eight to ten weeks at a
# minimum, if the victim desires."


def test_emerge_checks_in_from_eight_weeks_and_by_ten_only_if_she_wants(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "emerge")
    assert _days_until_check_in(db, profiles, case, NOW) == -1  # "if the victim desires"
    _choose(db, vault, profiles, case, "every_8_to_10_weeks", NOW + DAY)
    assert _days_until_check_in(db, profiles, case, NOW) == 56
    [check_in] = open_check_ins(db, case)
    assert check_in.due_by == NOW + 70 * DAY  # ten weeks at the most


# --- Caring Dads -----------------------------------------------------------------------
# seeds/001 "Caring Dads": "Mother contact calls are made voluntary for the mothers and they
# can decline. For consenting mothers, calls are made weekly"; S13: she may choose a slower
# rhythm, or none, without declining.


def test_caring_dads_calls_a_consenting_mother_weekly_until_she_chooses_otherwise(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "caring_dads")
    assert _days_until_check_in(db, profiles, case, NOW) == 7


@pytest.mark.parametrize(("rhythm", "every"), [("fortnightly", 14), ("monthly", 30)])
def test_caring_dads_a_mother_may_choose_a_slower_rhythm(
    db: Session, vault: Vault, profiles: dict[str, Profile], rhythm: str, every: int
) -> None:
    case = _case(db, vault, profiles, "caring_dads")
    _choose(db, vault, profiles, case, rhythm, NOW)
    assert _days_until_check_in(db, profiles, case, NOW) == every


def test_caring_dads_a_mother_who_wants_none_gets_no_check_in_yet_stays_consenting(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "caring_dads")
    assert _days_until_check_in(db, profiles, case, NOW) == 7
    [open_one] = open_check_ins(db, case)
    _choose(db, vault, profiles, case, "none", NOW + 8 * DAY)
    assert open_one.status == "cancelled"
    assert _days_until_check_in(db, profiles, case, NOW + 8 * DAY) == -1
    assert preferences.current_preferences(db, case.contact.id).consent == "consented"
    # A duty to warn or his completion still reaches her: she declined nothing (S1).
    [final] = report_case_event(
        db, profiles, case, "completed", at=NOW + 60 * DAY, now=NOW + 60 * DAY
    )
    assert final.reason == "completed"


def test_caring_dads_a_faster_rhythm_moves_the_open_check_ins_deadline_audited(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "caring_dads")
    _choose(db, vault, profiles, case, "monthly", NOW)
    assert _days_until_check_in(db, profiles, case, NOW) == 30
    [open_one] = open_check_ins(db, case)
    assert open_one.due_by == NOW + 37 * DAY
    _choose(db, vault, profiles, case, "weekly", NOW + 31 * DAY)
    db.refresh(open_one)
    assert (open_one.status, open_one.due_by) == ("open", NOW + 9 * DAY)
    [moved] = _audits(db, "task.rescheduled")
    assert moved.object_id == str(open_one.id)
    assert moved.detail["because"] == "rhythm_changed"


def test_a_new_rhythm_opens_a_check_in_at_once_when_it_is_already_due(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "caring_dads")
    _choose(db, vault, profiles, case, "monthly", NOW)
    check_ins.open_periodic_check_ins(db, profiles, now=NOW + 10 * DAY)
    assert open_check_ins(db, case) == []
    _choose(db, vault, profiles, case, "weekly", NOW + 10 * DAY)
    [opened] = open_check_ins(db, case)
    assert opened.opens_at == NOW + 7 * DAY


def test_a_rhythm_change_after_he_left_the_program_opens_nothing(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _case(db, vault, profiles, "caring_dads")
    _choose(db, vault, profiles, case, "monthly", NOW)
    report_case_event(db, profiles, case, "terminated", at=NOW + 5 * DAY, now=NOW + 5 * DAY)
    _choose(db, vault, profiles, case, "weekly", NOW + 10 * DAY)
    assert open_check_ins(db, case) == []
