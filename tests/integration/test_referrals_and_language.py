"""A Spanish-first program's new contacts start in Spanish (S12, issue 20 item 9), and NY OPDV's
safety concern is handled by its referral to the victim services program (seeds/000, issue 20
item 10), through the public services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from outreach.domain import attempt_rules
from outreach.domain.protocols.loading import load_profiles
from outreach.domain.vocabulary import Outcome, TaskReason, TaskStatus
from outreach.models import Program
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import contacts, preferences
from outreach.services.errors import Invalid
from outreach.services.intake import events, programs, referrals
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import build_case, make_group, make_participant

PROFILES = load_profiles(PROTOCOLS_DIR)


def _program(db: Session, key: str, language: str | None) -> Program:
    return programs.create_program(
        db, key=key, name=f"{key} program", protocol="georgia_fvip",
        timezone="America/New_York", now=NOW, actor=SYSTEM, language=language,
    )  # fmt: skip


def _new_contact_language(db: Session, vault: Vault, program: Program, phone: str) -> str:
    participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
    contact = contacts.add_contact(
        db, vault, actor=SYSTEM, participant_id=participant.id, name="Ana Ejemplo",
        phone=phone, relationship="partner", now=NOW, profiles=PROFILES,
        preferences=preferences.Preferences(), language_stated=False,
    )  # fmt: skip
    return preferences.current_preferences(db, contact.id).language


def test_caminar_latino_is_spanish_first_on_the_georgia_profile_others_are_not(
    db: Session, vault: Vault
) -> None:
    # S12: "a Spanish-first program makes Spanish the default for its contacts"; seeds/001:
    # Caminar Latino runs the Georgia standard for Latino families.
    caminar = _program(db, "caminar", "es")
    north = _program(db, "north", None)

    assert referrals.program_language(caminar) == "es"
    assert referrals.program_language(north) == "en"  # the profile's language
    assert _new_contact_language(db, vault, caminar, "404-555-0171") == "es"
    assert _new_contact_language(db, vault, north, "404-555-0172") == "en"


def test_a_program_in_a_language_without_scripts_is_refused_naming_language(db: Session) -> None:
    with pytest.raises(Invalid) as refused:
        _program(db, "elsewhere", "fr")
    assert "language" in refused.value.fields


def test_ny_opdv_safety_concern_referred_to_victim_services_is_handled(
    db: Session, vault: Vault
) -> None:
    # seeds/000: safety concerns "handled with great care, and in conjunction with a victim
    # services program"; "Programs should consult with domestic violence service providers
    # when there are concerns related to victim safety."
    case = build_case(db, vault, now=NOW, protocol="ny_opdv")
    _, opened = events.report_event(
        db, PROFILES, actor=case.facilitator, participant_id=case.participant.id,
        event_type="safety_concern", at=NOW, severity="high", now=NOW,
    )  # fmt: skip
    [concern] = opened
    later = NOW + timedelta(minutes=20)

    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=concern.id, channel="voice", at=later,
        outcome=Outcome.REFERRED_TO_VICTIM_SERVICES.value, now=later,
    )  # fmt: skip
    closed = closing.close_task(
        db, actor=case.liaison, task_id=concern.id, resolution="completed", now=later
    )

    assert closed.status == TaskStatus.COMPLETED


def test_a_referral_is_refused_where_the_protocol_does_not_hand_concerns_over(
    db: Session, vault: Vault
) -> None:
    # Georgia and PCADV call her themselves: a referral there would close a contact nobody made.
    case = build_case(db, vault, now=NOW, protocol="pcadv")
    _, opened = events.report_event(
        db, PROFILES, actor=case.facilitator, participant_id=case.participant.id,
        event_type="safety_concern", at=NOW, severity="high", now=NOW,
    )  # fmt: skip
    with pytest.raises(Invalid) as refused:
        attempt_log.record_attempt(
            db, vault, actor=case.liaison, task_id=opened[0].id, channel="voice", at=NOW,
            outcome=Outcome.REFERRED_TO_VICTIM_SERVICES.value, now=NOW,
        )  # fmt: skip
    assert "outcome" in refused.value.fields
    assert attempt_log.standing_attempts(db, opened[0].id) == []


def test_a_referral_never_closes_an_ny_opdv_intake(db: Session, vault: Vault) -> None:
    case = build_case(db, vault, now=NOW, protocol="ny_opdv")
    _, opened = events.report_event(
        db, PROFILES, actor=case.facilitator, participant_id=case.participant.id,
        event_type="enrolled", at=NOW, severity="routine", now=NOW,
    )  # fmt: skip
    with pytest.raises(Invalid) as refused:
        attempt_log.record_attempt(
            db, vault, actor=case.liaison, task_id=opened[0].id, channel="voice", at=NOW,
            outcome=Outcome.REFERRED_TO_VICTIM_SERVICES.value, now=NOW,
        )  # fmt: skip
    assert refused.value.fields == {"outcome": "not for this task in this program's protocol"}


def test_ada_records_the_referral_on_the_warning_only_once_she_was_reached(
    db: Session, vault: Vault
) -> None:
    # seeds/004 (ADA): no partner contact "unless ... we believed we had a duty to warn/
    # protect", then "offer her the resource of the local Battered Women's Service
    # Organization"; PRODUCT.md: "referral to the local victim service organization recorded".
    case = build_case(db, vault, now=NOW, protocol="no_contact")
    _, opened = events.report_event(
        db, PROFILES, actor=case.facilitator, participant_id=case.participant.id,
        event_type="duty_to_warn", at=NOW, severity="high", now=NOW,
    )  # fmt: skip
    [warning] = opened
    referral = {
        "actor": case.liaison, "task_id": warning.id, "channel": "voice",
        "outcome": Outcome.REFERRED_TO_VICTIM_SERVICES.value,
    }  # fmt: skip

    with pytest.raises(Invalid) as before:
        attempt_log.record_attempt(db, vault, at=NOW, now=NOW, **referral)  # type: ignore[arg-type]
    assert before.value.fields == {"outcome": "she was not reached yet"}
    later = NOW + timedelta(minutes=5)
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=warning.id, channel="voice", at=later,
        outcome=Outcome.REACHED_SAFE.value, now=later,
    )  # fmt: skip
    # She is told of the local victim service organization once the warning is given: the
    # referral is entered a minute later (two entries of one instant have no order).
    referred = later + timedelta(minutes=1)
    attempt_log.record_attempt(db, vault, at=referred, now=referred, **referral)  # type: ignore[arg-type]

    outcomes = [a.outcome for a in attempt_log.standing_attempts(db, warning.id)]
    assert outcomes == ["reached_safe", "referred_to_victim_services"]


def test_a_referral_alone_never_completes_a_warning(db: Session, vault: Vault) -> None:
    # S8: the warning is made by reaching her; a referral never stands in for it.
    assert (
        attempt_rules.why_not_completed(
            TaskReason.DUTY_TO_WARN,
            [_Made(Outcome.REFERRED_TO_VICTIM_SERVICES)],  # type: ignore[list-item]
        )
        is not None
    )


class _Made:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome, self.channel = outcome.value, "voice"
