"""Emerge's letter, through the services (issue 20 item 5; PRODUCT.md, Emerge row).

seeds/001 "Massachusetts": "Within 10 days of program termination or completion, the victim
advocate sends a letter to inform the victim." PRODUCT.md: "a letter ... produced from an
approved neutral template to a mailing address she named as safe, and recorded as an attempt
on the mail channel".
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.domain.script_library import default_root, load_library
from outreach.models import Attempt, AuditEvent, ContactPerson, Delivery, OutreachTask
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing, letters
from outreach.services.contact_persons import preference_changes
from outreach.services.delivery import calls
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict, Invalid
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.scheduling import claims
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import Case, build_case, report_case_event
from tests.fakes import RecordingChannel

ADDRESS = "12 Quiet Lane\nApt 3\nSomerville, MA 02143"
LIBRARY = load_library(default_root())


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


@pytest.fixture
def out(vault: Vault, settings: Settings) -> Outward:
    return Outward(RecordingChannel(), vault, LIBRARY, settings)


def _her_word(
    db: Session, vault: Vault, profiles: dict[str, Profile], case: Case, **changes: object
) -> None:
    preference_changes.change_preferences(
        db, vault, profiles, actor=case.liaison, contact_id=case.contact.id,
        changes=changes, now=NOW, source="liaison",
    )  # fmt: skip


def _address(
    db: Session, vault: Vault, profiles: dict[str, Profile], case: Case, text: str | None
) -> bool:
    return letters.set_mailing_address(
        db, vault, profiles, actor=case.liaison, contact_id=case.contact.id, address=text,
        now=NOW,
    )  # fmt: skip


def _completed(db: Session, profiles: dict[str, Profile], case: Case) -> OutreachTask:
    """He enrols, then completes; answer the letter task it opens (claimed by the liaison)."""
    report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    opened = report_case_event(db, profiles, case, "completed", at=NOW, now=NOW)
    [letter] = [t for t in opened if t.reason == "completion_letter"]
    claims.claim_task(db, actor=case.liaison, task_id=letter.id, now=NOW)
    return letter


def _emerge(db: Session, vault: Vault, profiles: dict[str, Profile], **prefs: object) -> Case:
    case = build_case(db, vault, now=NOW, protocol="emerge")
    if prefs:
        _her_word(db, vault, profiles, case, **prefs)
    return case


def _written(db: Session) -> tuple[int, int]:
    deliveries = db.scalar(select(func.count()).select_from(Delivery))
    attempts = db.scalar(select(func.count()).select_from(Attempt))
    return int(deliveries or 0), int(attempts or 0)


def _letter_reveals(db: Session) -> list[AuditEvent]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.revealed"))
    return [r for r in rows if (r.detail or {}).get("purpose") == "letter"]


def test_a_letter_to_the_address_she_named_is_printed_recorded_and_completes_the_task(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    case = _emerge(db, vault, profiles, mail=True)
    assert _address(db, vault, profiles, case, ADDRESS) is True
    task = _completed(db, profiles, case)
    assert task.channels == ["mail"]

    page = letters.letter_page(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert page.refused is None
    assert page.letter is not None
    letter = page.letter
    assert letter.to_name == "Avery Sample"
    assert letter.to_address == ("12 Quiet Lane", "Apt 3", "Somerville, MA 02143")
    assert letter.body.startswith("November 17, 2026\n")  # her program's day, written out
    assert "Dear Avery," in letter.body
    assert case.program.name in letter.body  # the letter inside may name the program
    assert "1-800-799-7233" in letter.body  # {resources}, as the call scripts read them
    # S9: the outside names nothing: the sender's first name and a post office box.
    assert letter.sender == "From: Sam"
    assert letter.return_address == ("PO Box 4127", "Springfield, IL 62701")
    assert case.program.name not in " ".join((letter.sender, *letter.return_address))
    assert len(_letter_reveals(db)) == 1  # S10: opening her name and address is audited

    delivery = letters.mailed(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert (delivery.kind, delivery.status, delivery.language) == ("letter", "sent", "en")
    [attempt] = attempt_log.standing_attempts(db, task.id)
    assert (attempt.channel, attempt.outcome) == ("mail", "letter_sent")
    assert attempt.made_by == case.liaison.user_id
    closed = closing.close_task(
        db, actor=case.liaison, task_id=task.id, resolution="completed", now=NOW
    )
    assert closed.status == "completed"


def test_her_address_is_sealed_and_never_in_the_audit(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    case = _emerge(db, vault, profiles, mail=True)
    _address(db, vault, profiles, case, ADDRESS)
    contact = db.get(ContactPerson, case.contact.id)
    assert contact is not None
    assert contact.address_sealed is not None
    assert b"Quiet" not in contact.address_sealed  # S10: sealed under her own key
    rows = db.scalars(select(AuditEvent).where(AuditEvent.object_id == str(case.contact.id)))
    assert "Quiet" not in repr([(r.action, r.detail) for r in rows])


def test_without_a_safe_address_the_letter_is_refused_and_she_is_called_instead(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    """S1 and the Emerge profile's fallback_channels: no letter may go without an address she
    named as safe, so the letter task is a call until she names one."""
    case = _emerge(db, vault, profiles, mail=True)
    task = _completed(db, profiles, case)
    assert task.channels == ["voice"]
    page = letters.letter_page(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert page.letter is None
    assert page.status == 422
    assert page.refused is not None
    assert "safe mailing address" in page.refused
    with pytest.raises(Invalid) as refused:
        letters.mailed(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert refused.value.fields == {"mailing_address": "none on file"}
    assert _written(db) == (0, 0)
    assert _letter_reveals(db) == []

    # On the call she names one: the open letter task becomes a letter again (audited).
    letters.set_on_task(
        db, vault, profiles, actor=case.liaison, task_id=task.id, address=ADDRESS, now=NOW
    )
    db.refresh(task)
    assert task.channels == ["mail"]
    assert letters.letter_page(db, out, actor=case.liaison, task_id=task.id, now=NOW).letter


def test_without_her_mail_permission_the_letter_is_refused_naming_it(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    case = _emerge(db, vault, profiles)  # consented; mail is off unless she allows it
    _address(db, vault, profiles, case, ADDRESS)
    task = _completed(db, profiles, case)
    assert task.channels == ["voice"]  # the profile's fallback: a call
    with pytest.raises(Invalid) as refused:
        letters.mailed(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert refused.value.fields == {"mail": "preference mail is off"}
    assert _written(db) == (0, 0)


def test_removing_her_address_turns_the_open_letter_back_into_a_call(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    case = _emerge(db, vault, profiles, mail=True)
    _address(db, vault, profiles, case, ADDRESS)
    task = _completed(db, profiles, case)
    assert _address(db, vault, profiles, case, None) is False
    contact = db.get(ContactPerson, case.contact.id)
    assert contact is not None
    assert contact.address_sealed is None
    db.refresh(task)
    assert task.channels == ["voice"]
    assert letters.letter_page(db, out, actor=case.liaison, task_id=task.id, now=NOW).refused


def test_a_spanish_speaker_gets_her_letter_in_spanish(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    """S12: the approved text in her language; never a fallback to another."""
    case = _emerge(db, vault, profiles, mail=True, language="es")
    _address(db, vault, profiles, case, ADDRESS)
    report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    [task] = report_case_event(db, profiles, case, "terminated", at=NOW, now=NOW)
    claims.claim_task(db, actor=case.liaison, task_id=task.id, now=NOW)
    letter = letters.letter_page(db, out, actor=case.liaison, task_id=task.id, now=NOW).letter
    assert letter is not None
    assert letter.language == "es"
    assert "Hola, Avery:" in letter.body
    assert "fue dada de baja" in letter.body  # the termination letter
    assert "Línea Nacional" in letter.body  # resources in Spanish
    assert letter.sender == "De: Sam"


def test_a_return_address_that_names_the_program_is_refused(
    db: Session, vault: Vault, profiles: dict[str, Profile], settings: Settings
) -> None:
    """S9: nothing on the envelope names the program."""
    case = _emerge(db, vault, profiles, mail=True)
    _address(db, vault, profiles, case, ADDRESS)
    task = _completed(db, profiles, case)
    named = dataclasses.replace(settings, letter_return_address=(case.program.name, "PO Box 4127"))
    out = Outward(RecordingChannel(), vault, LIBRARY, named)
    with pytest.raises(Conflict, match="return address"):
        letters.mailed(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert _written(db) == (0, 0)


def test_staff_cannot_type_a_letter_sent(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    """Only the service records `letter_sent`, on the liaison's confirmation of a letter it
    produced: a log cannot claim a letter that was never written."""
    case = _emerge(db, vault, profiles, mail=True)
    _address(db, vault, profiles, case, ADDRESS)
    task = _completed(db, profiles, case)
    with pytest.raises(Invalid) as refused:
        attempt_log.record_attempt(
            db, vault, actor=case.liaison, task_id=task.id, channel="mail", at=NOW,
            outcome="letter_sent", now=NOW,
        )  # fmt: skip
    assert refused.value.fields == {"outcome": "invalid"}


@pytest.mark.parametrize(
    ("text", "fault"),
    [("", "required"), ("\n".join(["Elm"] * 7), "too long"), ("Elm" * 27, "too long")],
)
def test_a_malformed_address_is_refused_naming_the_field_and_nothing_changes(
    db: Session, vault: Vault, profiles: dict[str, Profile], text: str, fault: str
) -> None:
    case = _emerge(db, vault, profiles, mail=True)
    with pytest.raises(Invalid) as refused:
        _address(db, vault, profiles, case, text)
    assert refused.value.fields == {"mailing_address": fault}
    assert "Elm" not in refused.value.message  # never the value
    contact = db.get(ContactPerson, case.contact.id)
    assert contact is not None
    assert contact.address_sealed is None


def test_only_the_liaison_holding_the_claim_opens_the_letter(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    case = _emerge(db, vault, profiles, mail=True)
    _address(db, vault, profiles, case, ADDRESS)
    task = _completed(db, profiles, case)
    tasks_ = db.get(OutreachTask, task.id)
    assert tasks_ is not None
    tasks_.claimed_by, tasks_.claim_expires_at = None, None
    db.commit()
    page = letters.letter_page(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert page.letter is None
    assert page.status == 409
    assert _letter_reveals(db) == []


def test_a_letter_is_recorded_as_mailed_once(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    """A second "I printed and mailed it" (a double click, a second tab) records nothing:
    one letter went, and the log says one."""
    case = _emerge(db, vault, profiles, mail=True)
    _address(db, vault, profiles, case, ADDRESS)
    task = _completed(db, profiles, case)
    letters.mailed(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    with pytest.raises(Conflict, match="already recorded"):
        letters.mailed(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    assert _written(db) == (1, 1)


def test_a_letter_task_is_not_called_and_a_call_is_made_once_it_falls_back(
    db: Session, vault: Vault, profiles: dict[str, Profile], out: Outward
) -> None:
    """S1: a task uses only the channels its protocol and her permissions both allow. While the
    contact is the letter, no call is placed on its task (its outcome could never be recorded:
    attempts by voice are refused there); once she removes her address it is a call again."""
    case = _emerge(db, vault, profiles, mail=True)
    _address(db, vault, profiles, case, ADDRESS)
    task = _completed(db, profiles, case)
    before = _written(db)
    with pytest.raises(Conflict, match="not made by call"):
        calls.request_bridged_call(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    with pytest.raises(Conflict, match="not made by call"):
        calls.place_safe_check_call(db, out, actor=case.liaison, task_id=task.id, now=NOW)
    db.rollback()
    assert _written(db) == before
    _address(db, vault, profiles, case, None)
    db.refresh(task)
    assert "voice" in task.channels
