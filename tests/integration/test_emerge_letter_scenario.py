"""Emerge: he completes, within 10 days a letter in Spanish is printed and recorded.

Lived the way Emerge's partner contact coordinator lives it (seeds/001 "Massachusetts";
PRODUCT.md, Emerge row: "a letter within 10 days of termination or completion, produced from
an approved neutral template to a mailing address she named as safe, and recorded as an
attempt on the mail channel").
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.script_library import default_root, load_library
from outreach.models import Delivery, OutboxMessage
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log, closing, letters
from outreach.services.contact_persons import preference_changes
from outreach.services.delivery.outward import Outward
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.scheduling import claims
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import build_case, report_case_event
from tests.fakes import RecordingChannel

DAY = timedelta(days=1)
MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
PROFILES = load_profiles(PROTOCOLS_DIR)


def test_he_completes_and_within_10_days_a_spanish_letter_is_printed_and_recorded(
    db: Session, vault: Vault, settings: Settings
) -> None:
    channel = RecordingChannel()
    out = Outward(channel, vault, load_library(default_root()), settings)
    case = build_case(db, vault, now=NOW, protocol="emerge")

    # Day 0: he enrols; the coordinator's structured interview is due within 14 days
    # (seeds/001: "At the onset of the victim contact process ... a structured interview").
    [intake] = report_case_event(db, PROFILES, case, "enrolled", at=NOW, now=NOW)
    assert intake.reason == "intake"

    # Day 2: the interview. Safe to talk; she speaks Spanish, letters are fine, and she names
    # her sister's address as the safe one: the liaison records her word.
    day2 = NOW + 2 * DAY
    claims.claim_task(db, actor=case.liaison, task_id=intake.id, now=day2)
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=intake.id, channel="voice", at=day2,
        outcome="reached_safe", now=day2,
    )  # fmt: skip
    preference_changes.change_preferences(
        db, vault, PROFILES, actor=case.liaison, contact_id=case.contact.id,
        changes={"language": "es", "mail": True}, now=day2, source="liaison",
    )  # fmt: skip
    letters.set_on_task(
        db, vault, PROFILES, actor=case.liaison, task_id=intake.id,
        address="c/o R. Sample\n45 Elm Street\nMalden, MA 02148", now=day2,
    )  # fmt: skip
    closing.close_task(db, actor=case.liaison, task_id=intake.id, resolution="completed", now=day2)

    # Day 70: he completes the program. seeds/001: "Within 10 days of program termination
    # or completion, the victim advocate sends a letter to inform the victim."
    completed_at = NOW + 70 * DAY
    [letter_task] = report_case_event(
        db, PROFILES, case, "completed", at=completed_at, now=completed_at
    )
    assert letter_task.reason == "completion_letter"
    assert letter_task.channels == ["mail"]  # she allowed mail and named a safe address
    assert letter_task.due_by == completed_at + 10 * DAY

    # Day 73: the coordinator prints the letter in Spanish and mails it.
    day73 = completed_at + 3 * DAY
    claims.claim_task(db, actor=case.liaison, task_id=letter_task.id, now=day73)
    page = letters.letter_page(db, out, actor=case.liaison, task_id=letter_task.id, now=day73)
    assert page.letter is not None
    letter = page.letter
    assert letter.language == "es"  # S12: her language
    local = day73.astimezone(ZoneInfo(case.program.timezone))
    assert letter.body.startswith(f"{local.day} de {MONTHS_ES[local.month - 1]} de {local.year}")
    assert "Hola, Avery:" in letter.body
    assert "terminó el programa" in letter.body
    assert letter.to_address == ("c/o R. Sample", "45 Elm Street", "Malden, MA 02148")
    assert case.program.name not in "\n".join((letter.sender, *letter.return_address))  # S9
    delivery = letters.mailed(db, out, actor=case.liaison, task_id=letter_task.id, now=day73)

    # Recorded as an attempt on the mail channel, within the 10 days, and the task completes.
    [attempt] = attempt_log.standing_attempts(db, letter_task.id)
    assert (attempt.channel, attempt.outcome) == ("mail", "letter_sent")
    assert attempt.at <= letter_task.due_by
    closing.close_task(
        db, actor=case.liaison, task_id=letter_task.id, resolution="completed", now=day73
    )
    assert letter_task.status == "completed"

    # What was printed is kept sealed under her key, in Spanish; nothing else went out: no
    # call was placed and no text sent to her (S1: only the channels she allows).
    [kept] = db.scalars(select(OutboxMessage).where(OutboxMessage.delivery_id == delivery.id))
    text = vault.cipher_for(db, case.contact.id).open(
        place("outbox_message", "text", delivery.id), kept.text_sealed
    )
    assert "45 Elm Street" in text
    assert "Hola, Avery:" in text
    assert b"Elm" not in kept.text_sealed
    assert [d.kind for d in db.scalars(select(Delivery))] == ["letter"]
    assert channel.sent == []
