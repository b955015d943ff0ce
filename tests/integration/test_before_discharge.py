"""Before discharge, as Colorado's treatment victim advocate lives it (issue 20 item 7).

seeds/001, Colorado: the multidisciplinary treatment team, the advocate among them, "must be
consulted at certain points during treatment, such as initial placement in treatment, changes
to level of treatment, if there are safety issues, and prior to discharge." The program
reports a planned discharge with its day; the advocate's call to her is due before that day,
in the program's own time zone, and what the program reports later adds nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.models import OutreachTask, ProgramEvent
from outreach.security.vault import Vault
from outreach.services.errors import Invalid
from outreach.services.intake import check_ins, events
from outreach.services.intake.programs import PROTOCOLS_DIR
from tests.conftest import NOW
from tests.factories import (
    Case,
    build_case,
    make_contact,
    report_case_event,
)

DENVER = ZoneInfo("America/Denver")
ENROLLED_AT = NOW - timedelta(days=90)
DISCHARGE_ON = date(2026, 12, 8)  # three weeks after NOW (17 November)


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


@pytest.fixture
def case(db: Session, vault: Vault) -> Case:
    case = build_case(db, vault, now=ENROLLED_AT, protocol="colorado_dvomb")
    case.program.timezone = "America/Denver"
    case.participant.created_at = ENROLLED_AT - timedelta(days=1)
    db.commit()
    return case


def _plan_discharge(
    db: Session, profiles: dict[str, Profile], case: Case, day: date | None, **more: date | None
) -> list[OutreachTask]:
    _, opened = events.report_event(
        db, profiles, actor=case.facilitator, participant_id=case.participant.id,
        event_type="discharge_planned", at=NOW, severity="routine", now=NOW,
        days={"discharge_on": day, **more},
    )  # fmt: skip
    return opened


def test_the_advocate_is_called_a_week_before_the_planned_discharge(
    db: Session, vault: Vault, profiles: dict[str, Profile], case: Case
) -> None:
    report_case_event(db, profiles, case, "enrolled", at=ENROLLED_AT, now=ENROLLED_AT)

    [task] = _plan_discharge(db, profiles, case, DISCHARGE_ON)

    # "prior to discharge": due a week before the day begins in Denver, opened at the news.
    assert task.reason == "before_discharge"
    assert task.script == "before_discharge"
    assert task.contact_id == case.contact.id
    assert task.opens_at == NOW
    assert task.due_by == datetime(2026, 12, 1, 0, 0, tzinfo=DENVER)
    assert task.channels == ["voice"]
    assert task.min_attempts >= 2  # S5
    event = db.scalars(select(ProgramEvent).where(ProgramEvent.type == "discharge_planned")).one()
    assert event.planned_for == DISCHARGE_ON


def test_a_planned_discharge_is_not_a_discharge(
    db: Session, vault: Vault, profiles: dict[str, Profile], case: Case
) -> None:
    """S13: what she is told about him is his real status: still in the program until the
    program reports the discharge itself; the discharge then opens its own call."""
    report_case_event(db, profiles, case, "enrolled", at=ENROLLED_AT, now=ENROLLED_AT)
    _plan_discharge(db, profiles, case, DISCHARGE_ON)
    on_the_day = datetime(2026, 12, 8, 17, 0, tzinfo=DENVER)

    assert not check_ins._out_of(db, case.contact, on_the_day - timedelta(days=1))
    [completed] = report_case_event(db, profiles, case, "completed", at=on_the_day, now=on_the_day)

    assert completed.reason == "completed"
    assert check_ins._out_of(db, case.contact, on_the_day)


def test_news_of_a_discharge_days_away_is_due_at_once(
    db: Session, profiles: dict[str, Profile], case: Case
) -> None:
    [task] = _plan_discharge(db, profiles, case, NOW.astimezone(DENVER).date() + timedelta(2))

    assert task.due_by == NOW  # later than a week ahead: at the top of her queue now


def test_she_who_declined_gets_no_call_before_his_discharge(
    db: Session, vault: Vault, profiles: dict[str, Profile], case: Case
) -> None:
    declined = make_contact(
        db, vault, case.participant, now=ENROLLED_AT, phone="720-555-0144",
        consent="declined", voice=False,
    )  # fmt: skip

    opened = _plan_discharge(db, profiles, case, DISCHARGE_ON)

    # seeds/001: "If the victim does not want contact, it is not required." S1.
    assert declined.id not in {task.contact_id for task in opened}
    assert [task.contact_id for task in opened] == [case.contact.id]


@pytest.mark.parametrize(
    ("day", "more", "field"),
    [
        (None, {}, "discharge_on"),  # the day is required
        (date(2026, 11, 16), {}, "discharge_on"),  # already past in Denver
    ],
)
def test_a_planned_discharge_without_a_day_to_come_is_refused_and_writes_nothing(
    db: Session,
    profiles: dict[str, Profile],
    case: Case,
    day: date | None,
    more: dict[str, date],
    field: str,
) -> None:
    with pytest.raises(Invalid) as refused:
        _plan_discharge(db, profiles, case, day, **more)

    assert field in refused.value.fields
    db.rollback()
    assert (
        db.scalars(select(ProgramEvent).where(ProgramEvent.type == "discharge_planned")).all() == []
    )
    assert db.scalars(select(OutreachTask)).all() == []


def test_a_day_given_with_another_event_is_refused(
    db: Session, profiles: dict[str, Profile], case: Case
) -> None:
    with pytest.raises(Invalid) as refused:
        events.report_event(
            db, profiles, actor=case.facilitator, participant_id=case.participant.id,
            event_type="level_change", at=NOW, severity="routine", now=NOW,
            days={"discharge_on": DISCHARGE_ON},
        )  # fmt: skip

    assert refused.value.fields == {"discharge_on": "not expected"}
