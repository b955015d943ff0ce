"""Court progress reports, as a Caminar Latino victim advocate lives them (issue 20 item 6).

seeds/001, Caminar Latino: "Victim advocates always check in with victims before submitting
progress reports to the court to see if the victim would like anything about the abusive
partner's behavior to be included in the report." And, for programs: "In progress reports,
use language that indicates that commentary about the abusive partner's behavior comes from
observation and not the victim, unless the victim has specifically requested to add the
information and a safety plan is developed. In these cases, it is best to have a written
release from the victim." S7: what she says goes onward only under a recorded release.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.models import Attempt, OutreachTask, ProgramEvent
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import releases
from outreach.services.errors import Invalid
from outreach.services.intake import events
from outreach.services.intake.programs import PROTOCOLS_DIR
from tests.conftest import NOW
from tests.factories import World, make_contact, make_release

NEW_YORK = ZoneInfo("America/New_York")
REPORT_DATE = date(2026, 12, 10)  # the court report, three weeks after NOW


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


def _report_due(
    db: Session, profiles: dict[str, Profile], world: World, **days: date | None
) -> list[OutreachTask]:
    _, opened = events.report_event(
        db, profiles, actor=world.actor("facilitator"), participant_id=world.participant.id,
        event_type="progress_report_due", at=NOW, severity="routine", now=NOW, days=days,
    )  # fmt: skip
    return opened


def test_the_check_in_is_due_before_the_report_goes_to_the_court(
    db: Session, profiles: dict[str, Profile], world: World
) -> None:
    # world: a Georgia program; its contact consented to contact.
    [check_in] = _report_due(db, profiles, world, report_date=REPORT_DATE)

    assert check_in.reason == "progress_report_check_in"
    # "before submitting progress reports": three days ahead, in the program's time zone.
    assert check_in.due_by == datetime(2026, 12, 7, tzinfo=NEW_YORK)
    assert check_in.channels == ["voice"]
    event = db.scalars(select(ProgramEvent)).one()
    assert event.planned_for == REPORT_DATE


def test_only_a_contact_who_agreed_to_contact_is_asked_about_a_report(
    db: Session, vault: Vault, profiles: dict[str, Profile], world: World
) -> None:
    """Caminar Latino: "Victims are entitled to these check-ins"; only those who consented
    are asked (the profile's consented_only); a decline gets nothing (S1)."""
    for consent, phone in (("not_asked", "404-555-0171"), ("declined", "404-555-0172")):
        make_contact(
            db, vault, world.participant, now=NOW, phone=phone, consent=consent,
            voice=consent != "declined",
        )  # fmt: skip

    opened = _report_due(db, profiles, world, report_date=REPORT_DATE)

    assert [task.contact_id for task in opened] == [world.contact.id]


def test_what_she_says_is_sealed_and_reaches_the_report_only_under_her_release(
    db: Session, vault: Vault, profiles: dict[str, Profile], world: World
) -> None:
    [check_in] = _report_due(db, profiles, world, report_date=REPORT_DATE)
    called = NOW + timedelta(days=2)
    words = "Include that he came to the house on the 3rd. Leave out my new job."

    attempt = attempt_log.record_attempt(
        db, vault, actor=world.actor("liaison"), task_id=check_in.id, channel="voice",
        at=called, outcome="reached_safe", now=called, notes=words,
    )  # fmt: skip

    stored = db.get(Attempt, attempt.id)
    assert stored is not None
    assert stored.notes_sealed is not None
    assert b"new job" not in stored.notes_sealed  # S10: sealed under her key
    share = {
        "actor": world.actor("supervisor"), "contact_id": world.contact.id,
        "recipient_kind": "court", "purpose": "progress_report", "items": ["statement"],
    }  # fmt: skip
    with pytest.raises(releases.NoLiveRelease):  # S7: not without her written release
        releases.require_release(db, now=called, **share)  # type: ignore[arg-type]
    make_release(db, vault, world, now=called, statement="He came to the house on the 3rd.")
    assert releases.require_release(db, now=called, **share)  # type: ignore[arg-type]


def test_the_script_asks_what_she_would_like_included_and_what_must_stay_out() -> None:
    from outreach.domain import scripts

    library = scripts.load_library(scripts.default_root())
    values = {
        "first_name": "Ana", "liaison_first_name": "Rosa", "program_name": "Programa",
        "participant_status": "enrolled", "resources": "-",
    }  # fmt: skip
    english = scripts.render(library, "call", "progress_report_check_in", "en", values)
    spanish = scripts.render(library, "call", "progress_report_check_in", "es", values)

    assert "that you would like included in the report" in english
    assert "anything that must not be in it" in english
    assert "le gustaría que se incluyera en el informe" in spanish
    assert "algo que no debe aparecer en el informe" in spanish


@pytest.mark.parametrize(
    ("days", "field"),
    [
        ({}, "report_date"),
        ({"report_date": date(2026, 11, 16)}, "report_date"),  # already past
        ({"report_date": REPORT_DATE, "discharge_on": REPORT_DATE}, "discharge_on"),
    ],
)
def test_a_report_without_its_date_is_refused_and_nothing_is_written(
    db: Session, profiles: dict[str, Profile], world: World, days: dict[str, date], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        _report_due(db, profiles, world, **days)

    assert field in refused.value.fields
    db.rollback()
    assert db.scalars(select(ProgramEvent)).all() == []
    assert db.scalars(select(OutreachTask)).all() == []


def test_ny_opdv_never_checks_in_about_a_report(
    db: Session, profiles: dict[str, Profile], world: World
) -> None:
    """seeds/000: contacting a victim "to check on the abusive partner or to measure progress"
    is to be discouraged: the NY profile has no rule for it."""
    world.home.protocol = "ny_opdv"
    db.commit()

    assert _report_due(db, profiles, world, report_date=REPORT_DATE) == []
