"""The letters she allowed: composed from the approved text, printed and mailed by the liaison.

A completion or termination letter goes only to a contact who allowed mail and named a safe
address (seeds/001 "Massachusetts"; S1); its envelope names nothing (S9), its text is in her
language (S12), and its mailing is recorded as one `letter_sent` attempt (S5).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.domain import scripts
from outreach.domain.attempt_rules import LETTER_REASONS
from outreach.domain.referrals import ReferralError
from outreach.domain.vocabulary import Channel, Consent, DeliveryKind, EntryPoint, Outcome
from outreach.models import Delivery, OutboxMessage, OutreachTask
from outreach.security.vault import place
from outreach.services.attempts import attempt_log, call_panel, tasks
from outreach.services.contact_persons import preferences
from outreach.services.delivery.outward import Outward
from outreach.services.delivery.sending import delivery_row
from outreach.services.delivery.targets import Target, render, target_for
from outreach.services.errors import Conflict, Invalid
from outreach.services.intake import referrals
from outreach.services.records.audit import Actor, record_reveal

log = logging.getLogger("outreach.deliveries")


@dataclass(frozen=True)
class Letter:
    """A letter as printed: the approved text in her language, and its envelope (S9, S12)."""

    language: str
    body: str
    # The envelope's sender line (the approved `mail/envelope` text) and the neutral return
    # address from the settings: nothing on the outside names the program.
    sender: str
    return_address: tuple[str, ...]
    to_name: str
    to_address: tuple[str, ...]

    def as_text(self) -> str:
        outside = [self.sender, *self.return_address, "", self.to_name, *self.to_address]
        return "\n".join([*outside, "", self.body])


def compose_letter(
    session: Session, out: Outward, *, task_id: uuid.UUID, now: datetime, actor: Actor
) -> Letter:
    """Write the completion or termination letter, for a contact who allowed mail and named a
    safe address (seeds/001 "Massachusetts"; S1). Opening her name and address is audited in
    the caller's transaction; nothing else is written."""
    target = _letter_target(session, out, task_id, now, actor)
    values = {
        "date": _letter_date(now, target),
        "program_name": target.program.name,
        # The program's referrals in her language, as its call scripts read them.
        "resources": _resources(target),
    }
    body = render(out, target, "mail", target.task.script, values)
    sender = render(out, target, "mail", "envelope")
    return_address = _return_address(out, target)
    record_reveal(session, actor=actor, contact=target.contact, purpose="letter", now=now)
    name = target.cipher.open(
        place("contact_person", "name", target.contact.id), target.contact.name_sealed
    )
    return Letter(target.language, body, sender, return_address, name, target.address())


def produce_letter(
    session: Session,
    out: Outward,
    *,
    task_id: uuid.UUID,
    now: datetime,
    actor: Actor,
    via: EntryPoint = EntryPoint.WEB,
) -> Delivery:
    """Record the letter the liaison printed and mailed: the delivery, a sealed copy of what
    was printed, and a `letter_sent` attempt on the mail channel that completes the letter
    task (attempt_rules). All in one transaction; refused, nothing is written."""
    letter = compose_letter(session, out, task_id=task_id, now=now, actor=actor)
    task = session.get(OutreachTask, task_id)
    assert task is not None  # compose_letter found it
    if any(
        a.outcome == Outcome.LETTER_SENT for a in attempt_log.standing_attempts(session, task_id)
    ):
        # A double click or a second tab: one letter went, and the log says one.
        raise Conflict("the letter is already recorded as mailed; close the task")
    target_contact = task.contact_id
    delivery = delivery_row(
        session, task, DeliveryKind.LETTER, task.script, letter.language, actor, now, sent=True
    )
    cipher = out.vault.cipher_for(session, target_contact)
    session.add(
        OutboxMessage(
            delivery_id=delivery.id,
            contact_id=target_contact,
            channel=Channel.MAIL,
            kind=DeliveryKind.LETTER,
            script=task.script,
            text_sealed=cipher.seal(place("outbox_message", "text", delivery.id), letter.as_text()),
            at=now,
        )
    )
    attempt = attempt_log.append_attempt(
        session,
        out.vault,
        actor=actor,
        task_id=task_id,
        channel=Channel.MAIL.value,
        at=now,
        outcome=Outcome.LETTER_SENT.value,
        now=now,
        entry=attempt_log.Entry(via),
        by_service=True,
    )
    delivery.attempt_id = attempt.id
    session.commit()
    log.info("delivery %s produced kind=letter", delivery.id)
    return delivery


def _letter_target(
    session: Session, out: Outward, task_id: uuid.UUID, now: datetime, actor: Actor
) -> Target:
    """The letter's contact, or the reason there is none: 422 naming the field where she has
    not allowed mail or named no safe address, so the liaison calls instead (S1)."""
    task = tasks.task_to_work(session, actor, task_id, now)
    prefs = preferences.current_preferences(session, task.contact_id)
    if prefs.consent == Consent.CONSENTED and not prefs.mail:
        raise Invalid(
            "she has not allowed letters: no letter may be sent; the liaison calls instead",
            {"mail": "preference mail is off"},
        )
    # S1/S8: declined or never asked: refused as every outward action is.
    target = target_for(session, out, task_id, DeliveryKind.LETTER, now, actor=actor, hours=False)
    if target.contact.address_sealed is None:
        raise Invalid(
            "she has named no safe mailing address: no letter may be sent; record the address "
            "she names, or call her instead",
            {"mailing_address": "none on file"},
        )
    if task.reason not in LETTER_REASONS or Channel.MAIL.value not in task.channels:
        raise Invalid("this task is not a letter", {"task": "not a letter"})
    return target


def _letter_date(now: datetime, target: Target) -> str:
    day = now.astimezone(ZoneInfo(target.program.timezone)).date()
    return call_panel.long_date(day, target.language)


def _return_address(out: Outward, target: Target) -> tuple[str, ...]:
    """S9: the envelope's return address names nothing; checked against the program's name
    and the identifying words, as a neutral text is (digits are an address's, not a number)."""
    lines = out.settings.letter_return_address
    if not lines:
        raise Conflict("not sent: no return address is set for letters (letter_return_address)")
    found = scripts.check_neutral_text(
        "\n".join(lines),
        kind="mail",
        extra_terms=(*out.library.extra_terms, target.program.name, target.program.key),
    )
    if any(f.rule != "phone-number" for f in found):
        raise Conflict("not sent: the letters' return address names the program or a service")
    return lines


def _resources(target: Target) -> str:
    """The program's referrals in her language (PRODUCT.md "Referrals are data": letters name
    them, never invent them); no list means no letter rather than one naming nothing."""
    try:
        return referrals.script_values(target.program, target.language)["resources"]
    except ReferralError as exc:
        raise Conflict(f"not sent: {exc}") from None
