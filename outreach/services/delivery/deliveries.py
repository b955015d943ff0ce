"""Everything outward goes through here: calls, SMS, letters (S1-S4, S9, S12).

Each action writes and commits its delivery row, claims it, then calls the provider, then
records what the provider said. A crash between claim and result leaves a `sending` row for
reconciliation to settle; nothing is ever sent twice blindly.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from outreach.channels.base import (
    BridgedCall,
    Callbacks,
    ChannelError,
    SafeCheckCall,
    Sent,
    Sms,
)
from outreach.domain import scripts
from outreach.domain.attempt_rules import LETTER_REASONS
from outreach.domain.calling import (
    Permission,
    calling_hours_apply,
    contact_zones,
    within_calling_hours,
)
from outreach.domain.phones import may_receive_sms
from outreach.domain.referrals import ReferralError
from outreach.domain.script_library import RenderError
from outreach.domain.vocabulary import Channel, Consent, EntryPoint, Outcome, TaskStatus
from outreach.models import ContactPerson, Delivery, OutboxMessage, OutreachTask, Program, User
from outreach.security.vault import ContactCipher, place
from outreach.services.attempts import attempt_log, call_panel, tasks
from outreach.services.contact_persons import contacts
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict, Invalid, NotFound, ServiceError
from outreach.services.intake import referrals
from outreach.services.records.audit import SYSTEM, Actor, AuditAction, record
from outreach.services.staff import users
from outreach.services.supervision import holds

log = logging.getLogger("outreach.deliveries")
SMS_SCRIPTS = ("reminder", "safe_check")
# Heard on the liaison's own phone before a bridged call dials the contact.
BRIDGE_CONFIRM_PROMPT = "bridge_confirm_prompt"
# Said when her phone answers, before anything that names her (S3, issue 24).
SCREEN_PROMPT = "screen_prompt"


@dataclass(frozen=True)
class _Target:
    task: OutreachTask
    contact: ContactPerson
    program: Program
    permission: Permission
    language: str
    zones: tuple[str, ...]
    cipher: ContactCipher

    def phone(self) -> str:
        return self.cipher.open(
            place("contact_person", "phone", self.contact.id), self.contact.phone_sealed
        )

    def address(self) -> tuple[str, ...]:
        sealed = self.contact.address_sealed
        assert sealed is not None  # _letter_target refused a contact without one
        text = self.cipher.open(place("contact_person", "address", self.contact.id), sealed)
        return tuple(text.splitlines())

    def first_name(self) -> str:
        name = self.cipher.open(
            place("contact_person", "name", self.contact.id), self.contact.name_sealed
        )
        return name.split()[0]


# --- the actions ---------------------------------------------------------------------


def request_bridged_call(
    session: Session, out: Outward, *, actor: Actor, task_id: uuid.UUID, now: datetime
) -> Delivery:
    """Ring the liaison's phone; once they press 1 the contact is dialled from the neutral
    number."""
    target = _target(session, out, task_id, "bridged_call", now, actor=actor)
    _by_call(target.task)
    liaison_phone = _liaison_phone(session, out, actor)
    # Refuse before ringing anyone: without this prompt the contact could never be dialled.
    _confirm_prompt(out, target.program, target.language)
    delivery = _new_delivery(session, target, "bridged_call", target.task.script, actor, now)
    _keep_outbox(
        session,
        out,
        delivery,
        target,
        "voice",
        "(bridged call: the liaison is rung "
        "first, then the contact is dialled from the neutral number)",
        now,
    )
    return _dispatch(
        session,
        out,
        delivery,
        now,
        lambda cb: out.channel.place_bridged_call(
            BridgedCall(liaison_phone, out.settings.neutral_number, cb)
        ),
    )


def place_safe_check_call(
    session: Session, out: Outward, *, task_id: uuid.UUID, now: datetime, actor: Actor
) -> Delivery:
    """An automated call asking the contact to press 1 (talk now) or 2 (later)."""
    target = _target(session, out, task_id, "safe_check_call", now, actor=actor)
    _by_call(target.task)
    prompt = _render(out, target, "voice", "safe_check_prompt")  # refuse before dialling
    delivery = _new_delivery(session, target, "safe_check_call", "safe_check_prompt", actor, now)
    _keep_outbox(session, out, delivery, target, "voice", prompt, now)
    phone = _reveal_for_sending(session, target, actor, now)
    return _dispatch(
        session,
        out,
        delivery,
        now,
        lambda cb: out.channel.place_safe_check_call(
            SafeCheckCall(phone, out.settings.neutral_number, cb)
        ),
    )


def send_sms(
    session: Session,
    out: Outward,
    *,
    task_id: uuid.UUID,
    script: str,
    now: datetime,
    actor: Actor,
    expires_at: datetime | None = None,
) -> Delivery:
    """Send an approved neutral text to a contact who allowed SMS (S2)."""
    if script not in SMS_SCRIPTS:
        raise NotFound(f"no SMS script named {script!r}")
    target = _target(session, out, task_id, "sms", now, actor=actor)
    phone = _reveal_for_sending(session, target, actor, now)
    if not may_receive_sms(phone):
        raise Conflict("the contact's number cannot receive SMS")
    body = _render(out, target, "sms", script)
    delivery = _new_delivery(session, target, "sms", script, actor, now, expires_at=expires_at)
    _keep_outbox(session, out, delivery, target, "sms", body, now)
    return _dispatch(
        session,
        out,
        delivery,
        now,
        lambda cb: out.channel.send_sms(Sms(phone, out.settings.neutral_number, body, cb)),
    )


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
    body = _render(out, target, "mail", target.task.script, values)
    sender = _render(out, target, "mail", "envelope")
    return_address = _return_address(out, target)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_REVEALED,
        object_type="contact",
        object_id=target.contact.id,
        program_id=target.contact.program_id,
        purpose="letter",
    )
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
    delivery = _delivery_row(
        session, task, "letter", task.script, letter.language, actor, now, sent=True
    )
    cipher = out.vault.cipher_for(session, target_contact)
    session.add(
        OutboxMessage(
            delivery_id=delivery.id,
            contact_id=target_contact,
            channel="mail",
            kind="letter",
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
) -> _Target:
    """The letter's contact, or the reason there is none: 422 naming the field where she has
    not allowed mail or named no safe address, so the liaison calls instead (S1)."""
    task = tasks.task_to_work(session, actor, task_id, now)
    prefs = contacts.current_preferences(session, task.contact_id)
    if prefs.consent == Consent.CONSENTED and not prefs.mail:
        raise Invalid(
            "she has not allowed letters: no letter may be sent; the liaison calls instead",
            {"mail": "preference mail is off"},
        )
    # S1/S8: declined or never asked: refused as every outward action is.
    target = _target(session, out, task_id, "letter", now, actor=actor, hours=False)
    if target.contact.address_sealed is None:
        raise Invalid(
            "she has named no safe mailing address: no letter may be sent; record the address "
            "she names, or call her instead",
            {"mailing_address": "none on file"},
        )
    if task.reason not in LETTER_REASONS or Channel.MAIL.value not in task.channels:
        raise Invalid("this task is not a letter", {"task": "not a letter"})
    return target


def _letter_date(now: datetime, target: _Target) -> str:
    day = now.astimezone(ZoneInfo(target.program.timezone)).date()
    return call_panel.long_date(day, target.language)


def _return_address(out: Outward, target: _Target) -> tuple[str, ...]:
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


def spoken_text(
    session: Session, out: Outward, delivery: Delivery, kind: str, name: str, now: datetime
) -> str:
    """Render a voice prompt or the neutral voicemail for a delivery's contact (S3, S12)."""
    task = session.get(OutreachTask, delivery.task_id)
    assert task is not None
    target = _load_target(session, out, task)
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.CONTACT_REVEALED,
        object_type="contact",
        object_id=target.contact.id,
        program_id=target.contact.program_id,
        purpose="prompt",
    )
    session.commit()
    return _render(out, target, kind, name)


def liaison_prompt(session: Session, out: Outward, delivery: Delivery) -> str:
    """Render what the liaison hears on their own phone before the contact is dialled.

    It names no one, so nothing of the contact is opened or audited. It is in the call's
    language, the one the liaison is about to speak (S12)."""
    task = session.get(OutreachTask, delivery.task_id)
    assert task is not None
    program = session.get(Program, task.program_id)
    assert program is not None
    return _confirm_prompt(out, program, delivery.language)


def screen_prompt(session: Session, out: Outward, delivery: Delivery) -> str:
    """Render the key-press screen said when her phone answers, in her language.

    It names no one (the lint refuses a placeholder in it), so a voicemail that records it
    keeps nothing of her or of the program, and nothing of the contact is opened (S3)."""
    task = session.get(OutreachTask, delivery.task_id)
    assert task is not None
    program = session.get(Program, task.program_id)
    assert program is not None
    return _checked_render(out, program, delivery.language, "voice", SCREEN_PROMPT, {})


def _confirm_prompt(out: Outward, program: Program, language: str) -> str:
    return _checked_render(out, program, language, "voice", BRIDGE_CONFIRM_PROMPT, {})


# --- checks --------------------------------------------------------------------------


def _target(
    session: Session,
    out: Outward,
    task_id: uuid.UUID,
    action: str,
    now: datetime,
    *,
    actor: Actor,
    hours: bool = True,
) -> _Target:
    """Load the task's contact and refuse anything the safety rules forbid."""
    task = tasks.task_to_work(session, actor, task_id, now)
    if task.status != TaskStatus.OPEN:
        raise Conflict("the task is closed")
    target = _load_target(session, out, task)
    # S1/S8: a declined contact only on a duty to warn a supervisor confirmed.
    refusal = target.permission.refusal(action, override=holds.override_confirmed(session, task))
    if refusal:
        raise Conflict(f"not sent: {refusal}")
    if (
        hours
        and calling_hours_apply(task.reason)  # S8: a duty to warn is callable at any hour
        and not within_calling_hours(
            now, target.zones, out.settings.calling_start, out.settings.calling_end
        )
    ):
        raise Conflict("not sent: outside calling hours in the contact's time zone")  # S4
    return target


def _by_call(task: OutreachTask) -> None:
    """S1: a task uses only the channels its protocol and her permissions both allow; a letter
    task (she allowed mail and named a safe address) is not a call, and a call made on it could
    never have its outcome recorded."""
    if Channel.VOICE not in task.channels:
        raise Conflict("not sent: this task is not made by call")


def _load_target(session: Session, out: Outward, task: OutreachTask) -> _Target:
    contact = session.get(ContactPerson, task.contact_id)
    program = session.get(Program, task.program_id)
    assert contact is not None
    assert program is not None
    prefs = contacts.current_preferences(session, contact.id)
    zones = contact_zones(prefs.timezone, contact.phone_zones, program.timezone)
    return _Target(
        task,
        contact,
        program,
        contacts.permission_of(prefs),
        prefs.language,
        zones,
        out.vault.cipher_for(session, contact.id),
    )


def _resources(target: _Target) -> str:
    """The program's referrals in her language (PRODUCT.md "Referrals are data": letters name
    them, never invent them); no list means no letter rather than one naming nothing."""
    try:
        return referrals.script_values(target.program, target.language)["resources"]
    except ReferralError as exc:
        raise Conflict(f"not sent: {exc}") from None


def _render(
    out: Outward, target: _Target, kind: str, name: str, extra: dict[str, str] | None = None
) -> str:
    values = {
        "first_name": target.first_name(),
        "liaison_first_name": out.settings.sender_first_name,
        **(extra or {}),
    }
    return _checked_render(out, target.program, target.language, kind, name, values)


def _checked_render(
    out: Outward, program: Program, language: str, kind: str, name: str, values: dict[str, str]
) -> str:
    try:
        return scripts.render(
            out.library, kind, name, language, values, forbidden=(program.name, program.key)
        )
    except RenderError as exc:
        # The findings name the rule, never the value that broke it.
        rules = ", ".join(sorted({f.rule for f in exc.findings}))
        raise Conflict(f"not sent: the text failed the safety check ({rules})") from None


def _reveal_for_sending(session: Session, target: _Target, actor: Actor, now: datetime) -> str:
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_REVEALED,
        object_type="contact",
        object_id=target.contact.id,
        program_id=target.contact.program_id,
        purpose="send",
    )
    return target.phone()


def _liaison_phone(session: Session, out: Outward, actor: Actor) -> str:
    user = session.get(User, actor.user_id) if actor.user_id else None
    phone = None if user is None else users.own_phone(out.vault.keyring, user)
    if phone is None:
        raise Conflict(
            "add your own phone number first: a bridged call rings you before the contact"
        )
    return phone


# --- the claim-send-settle sequence ----------------------------------------------------


def _new_delivery(
    session: Session,
    target: _Target,
    kind: str,
    script: str,
    actor: Actor,
    now: datetime,
    *,
    expires_at: datetime | None = None,
) -> Delivery:
    return _delivery_row(
        session, target.task, kind, script, target.language, actor, now, expires_at=expires_at
    )


def _delivery_row(
    session: Session,
    task: OutreachTask,
    kind: str,
    script: str,
    language: str,
    actor: Actor,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    sent: bool = False,
) -> Delivery:
    """A delivery a person asked for, pending, or already `sent` (a letter they mailed)."""
    delivery = Delivery(
        task_id=task.id,
        contact_id=task.contact_id,
        kind=kind,
        script=script,
        language=language,
        status="sent" if sent else "pending",
        code=secrets.token_urlsafe(32),
        requested_by=actor.user_id,
        due_at=now,
        expires_at=expires_at,
        created_at=now,
        sent_at=now if sent else None,
    )
    delivery.ensure_id()
    session.add(delivery)
    session.flush()
    return delivery


def _dispatch(
    session: Session,
    out: Outward,
    delivery: Delivery,
    now: datetime,
    send: Callable[[Callbacks], Sent],
) -> Delivery:
    session.commit()  # the row exists before the provider hears of it
    if not claim(session, delivery.id, now):
        raise Conflict("this delivery is already being sent")
    return _send_claimed(session, out, delivery, now, send)


def send_scheduled_sms(session: Session, out: Outward, delivery: Delivery, now: datetime) -> None:
    """Send a reminder the scheduler claimed, checking every safety rule again now (S1-S4):
    consent, permissions and calling hours may have changed since it was planned."""
    try:
        target = _target(session, out, delivery.task_id, "sms", now, actor=SYSTEM)
        phone = _reveal_for_sending(session, target, SYSTEM, now)
        if not may_receive_sms(phone):
            raise Conflict("the contact's number cannot receive SMS")
        body = _render(out, target, "sms", delivery.script)
    except ServiceError as refused:
        _settle_unsent(session, delivery, "refused", now)
        log.info("scheduled delivery %s refused: %s", delivery.id, refused.message)
        return
    _keep_outbox(session, out, delivery, target, "sms", body, now)
    # The reveal and the outbox copy are committed before the pacer's wait and the provider
    # call: no lock (the audit chain's, SQLite's write lock) is held across either (issue 21
    # finding 14). The row is already `sending`: a crash from here on leaves it for
    # reconciliation, never for a second send.
    session.commit()
    with contextlib.suppress(Conflict):  # a provider refusal is already recorded on the row
        _send_claimed(
            session,
            out,
            delivery,
            now,
            lambda cb: out.channel.send_sms(Sms(phone, out.settings.neutral_number, body, cb)),
        )


def _settle_unsent(session: Session, delivery: Delivery, status: str, now: datetime) -> None:
    session.rollback()  # nothing half-done from the refused attempt goes in
    row = session.get(Delivery, delivery.id)
    assert row is not None
    row.status, row.settled_at = status, now
    session.commit()


def _send_claimed(
    session: Session,
    out: Outward,
    delivery: Delivery,
    now: datetime,
    send: Callable[[Callbacks], Sent],
) -> Delivery:
    callbacks = Callbacks(out.settings.public_url, delivery.code)
    try:
        sent = send(callbacks)
    except ChannelError as exc:
        _failed(session, delivery, exc, now)
        raise Conflict(f"not sent: {exc}") from None
    delivery.status, delivery.provider_sid = "sent", sent.sid
    delivery.provider_status, delivery.sent_at = sent.status, now
    session.commit()
    log.info("delivery %s sent kind=%s", delivery.id, delivery.kind)
    return delivery


def claim(session: Session, delivery_id: uuid.UUID, now: datetime) -> bool:
    """Move a delivery from pending to sending; only one caller ever wins (run-twice safe)."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "pending")
        .values(status="sending", claimed_at=now)
    )
    session.commit()
    session.expire_all()
    return result.rowcount == 1


def _failed(session: Session, delivery: Delivery, exc: ChannelError, now: datetime) -> None:
    delivery.status, delivery.error_code = "failed", exc.code
    delivery.permanent_failure, delivery.settled_at = exc.permanent, now
    if exc.opted_out:  # S2: the carrier says STOP was sent; SMS ends for good
        contacts.revoke_sms(
            session, contact_id=delivery.contact_id, now=now, source="carrier_opt_out"
        )
    session.commit()
    log.warning("delivery %s failed code=%s permanent=%s", delivery.id, exc.code, exc.permanent)


def _keep_outbox(
    session: Session,
    out: Outward,
    delivery: Delivery,
    target: _Target,
    channel: str,
    text: str,
    now: datetime,
) -> None:
    if not out.keeps_outbox:
        return
    sealed = target.cipher.seal(place("outbox_message", "text", delivery.id), text)
    session.add(
        OutboxMessage(
            delivery_id=delivery.id,
            contact_id=target.contact.id,
            channel=channel,
            kind=delivery.kind,
            script=delivery.script,
            text_sealed=sealed,
            at=now,
        )
    )
