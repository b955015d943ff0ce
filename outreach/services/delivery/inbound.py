"""Inbound SMS: STOP and START keywords, HELP, safe-check replies, and anything else (S2, S6).

A message from an unknown number changes nothing and is audited. Free text is kept sealed
for the liaison and gets no automatic answer.

The answer depends on the message alone, never on who sent it (issue 21 finding 12): whoever
texts from her phone must not learn from the answer that she is on file, so a number on file
and an unknown number get the same reply in the same language, and START, whose confirmation
could only be true for a number on file, gets none.

Opt-out as Twilio does it (issue 24 item 4; docs/operations.md): sends go through a Messaging
Service with Advanced Opt-Out, whose keyword lists and neutral English and Spanish replies are
ours (scripts_text/*/sms/stop_confirmation, start_confirmation, help). Twilio answers those
keywords itself, blocks the number after an opt-out (later sends fail with 21610) and tells us
with `OptOutType` (STOP, START or HELP) on the inbound request
(twilio.com/docs/messaging/tutorials/advanced-opt-out). So a message Twilio has already
answered gets no second reply from us: we record what it did and say nothing. Only a message
Twilio did not take as a keyword ("please stop texting me") gets our own one reply.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Channel, DeliveryKind, EntryPoint, Outcome
from outreach.models import ContactPerson, Delivery, InboundMessage, TextTrace
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import contacts, her_word
from outreach.services.delivery import inbox
from outreach.services.errors import ServiceError
from outreach.services.records.audit import SYSTEM, AuditAction, record

# The carrier-honoured opt-out words, English and Spanish (S2), as the Messaging Service's
# Advanced Opt-Out lists them (docs/operations.md). YES is no opt-in there (its list drops it)
# and no safe-check answer here: Twilio's default lists take YES as an opt-in keyword.
STOP_WORDS = frozenset(
    {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "PARAR",
        "ALTO",
        "DETENER",
        "CANCELAR",
        "BAJA",
        "FIN",
        "PARA",
    }
)
# Inside a longer message these still mean "stop texting me": "please stop", "Stop texting
# me". The words with an everyday meaning (END, QUIT, CANCEL, FIN, ALTO, BAJA) count only as
# a whole message. Written without spaces: "opt out" inside a message is OPT then OUT.
STOP_WORDS_IN_TEXT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "OPTOUT", "REVOKE", "PARAR", "DETENER"}
)
START_WORDS = frozenset({"START", "UNSTOP", "COMENZAR", "INICIAR"})
HELP_WORDS = frozenset({"HELP", "INFO", "AYUDA"})
# The reply is in the language of the keyword, not the contact's: her preferred language
# would tell a stranger holding her phone that she is on file.
SPANISH_WORDS = frozenset(
    {"PARAR", "ALTO", "DETENER", "CANCELAR", "BAJA", "FIN", "PARA", "AYUDA", "COMENZAR", "INICIAR"}
)
# Safe-check answers: keys no list of Twilio's takes as a keyword (issue 24 item 4).
TALK_NOW = frozenset({"1", "SI"})
LATER = frozenset({"2", "NO"})
# Twilio's OptOutType on an inbound request: what its Advanced Opt-Out did with the message.
TWILIO_STOP, TWILIO_START, TWILIO_HELP = "STOP", "START", "HELP"
_KEYWORDS = STOP_WORDS | START_WORDS | HELP_WORDS | TALK_NOW | LATER


class Reply(StrEnum):
    """Which neutral text, if any, answers the message."""

    STOP_CONFIRMATION = "stop_confirmation"
    START_CONFIRMATION = "start_confirmation"
    HELP = "help"
    NONE = "none"


@dataclass(frozen=True)
class Answered:
    reply: Reply
    language: str = "en"
    first_name: str = ""
    # The opaque code our reply's status callback comes back with, so its SID is kept for
    # retention (issue 24 item 5); made for every reply, whoever sent the message.
    reply_code: str = ""


def keyword(body: str) -> str:
    """Normalise a message to compare it with keywords: upper case, no accents, nothing but
    letters and digits, so "Stop," "¿Parar?" "Opt-out" and "stop all" read as keywords."""
    return "".join(words(body))


def words(body: str) -> list[str]:
    """The message's words, upper case and without accents; punctuation separates them."""
    folded = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().upper()
    return re.findall(r"[A-Z0-9]+", folded)


def asks_to_stop(body: str) -> bool:
    """A longer message that says "stop" (S2): SMS ends as for STOP, and, since it may say
    more, it is kept for the liaison as well. Erring this way costs a text, never a safety."""
    found = words(body)
    pairs = {first + second for first, second in itertools.pairwise(found)}
    return not STOP_WORDS_IN_TEXT.isdisjoint({*found, *pairs})


def receive(
    session: Session, vault: Vault, fields: Mapping[str, str], now: datetime
) -> Answered | None:
    """One inbound text as Twilio posts it, stored once and applied (`handle`) in the same
    transaction, which ends here; None for a retry of one already handled."""
    sid = fields.get("MessageSid", "")[:64]
    if not inbox.remember(session, "sms-inbound", f"inbound:{sid}", fields, now):
        return None
    return handle(
        session,
        vault,
        sender=fields.get("From", "")[:40],
        body=fields.get("Body", "")[:1600],
        sid=sid,
        now=now,
        opt_out_type=fields.get("OptOutType", "")[:64],
    )


def handle(
    session: Session,
    vault: Vault,
    *,
    sender: str,
    body: str,
    sid: str,
    now: datetime,
    opt_out_type: str = "",
) -> Answered:
    """Apply one inbound SMS and say which neutral reply to send, if any.

    `opt_out_type` is Twilio's `OptOutType`: set when Twilio took the message as a keyword,
    answered it and blocked or unblocked the number; we then follow it and send nothing."""
    answer = Answered(Reply.NONE) if opt_out_type else reply_to(body)
    if answer.reply is not Reply.NONE:
        answer = replace(answer, reply_code=secrets.token_urlsafe(18))
    found = contacts.find_by_phone(session, vault, sender)
    if not found:
        record(session, now=now, actor=SYSTEM, action=AuditAction.INBOUND_UNKNOWN)
        session.commit()
        return answer
    _trace(session, found, sid, answer, kept=_kept_as_words(body, opt_out_type), now=now)
    word = keyword(body)
    if opt_out_type:
        _as_twilio_did(session, found, opt_out_type, now)
    elif word in STOP_WORDS:
        _stop(session, found, now)
    elif word in START_WORDS:
        _start(session, found, now)
    elif word in TALK_NOW or word in LATER:
        _safe_check_reply(session, found, word in TALK_NOW, now)
    elif word not in HELP_WORDS:
        _keep(session, vault, found, body, sid, now)
        if asks_to_stop(body):
            _stop(session, found, now)  # the kept message goes in with the revocation
    session.commit()
    return answer


def reply_to(body: str) -> Answered:
    """The neutral reply a message gets, from its words alone (S2; issue 21 finding 12).

    STOP, and a longer message that says stop, get the stop confirmation every time (a
    repeated STOP too: silence after the first would tell a number on file from another);
    HELP gets the help text; everything else, START included, gets no answer."""
    word = keyword(body)
    if word in HELP_WORDS:
        reply = Reply.HELP
    elif word in STOP_WORDS or (word not in _KEYWORDS and asks_to_stop(body)):
        reply = Reply.STOP_CONFIRMATION
    else:
        reply = Reply.NONE
    in_text = word not in _KEYWORDS and not SPANISH_WORDS.isdisjoint(words(body))
    return Answered(reply, "es" if word in SPANISH_WORDS or in_text else "en")


def _kept_as_words(body: str, opt_out_type: str) -> bool:
    """Whether `handle` keeps the message itself for the liaison (its SID then goes with it)."""
    word = keyword(body)
    return not opt_out_type and word not in _KEYWORDS


def _trace(
    session: Session,
    found: list[ContactPerson],
    sid: str,
    answer: Answered,
    *,
    kept: bool,
    now: datetime,
) -> None:
    """Leave the SIDs of the provider's records of this exchange with each contact it came
    from: her message, unless it is kept (with its SID) for the liaison, and our reply, whose
    SID its status callback brings (S10; issue 24 item 5)."""
    for contact in found:
        if not kept:
            session.add(TextTrace(contact_id=contact.id, sid=sid[:64], kind="inbound", at=now))
        if answer.reply_code:
            session.add(
                TextTrace(contact_id=contact.id, code=answer.reply_code, kind="reply", at=now)
            )


def reply_sent(session: Session, *, code: str, sid: str) -> None:
    """Our reply's status callback: its SID joins the traces its code names (once)."""
    if not code or not sid:
        return
    session.execute(
        update(TextTrace)
        .where(TextTrace.code == code[:64], TextTrace.sid.is_(None))
        .values(sid=sid[:64])
    )
    session.commit()


def _as_twilio_did(
    session: Session, found: list[ContactPerson], opt_out_type: str, now: datetime
) -> None:
    """Follow Twilio's keyword handling: its block and ours must never disagree (S2)."""
    if opt_out_type.upper() == TWILIO_STOP:
        _stop(session, found, now)
    elif opt_out_type.upper() == TWILIO_START:
        _start(session, found, now)


def _stop(session: Session, found: list[ContactPerson], now: datetime) -> None:
    for contact in found:
        her_word.revoke_sms(
            session, actor=SYSTEM, contact_id=contact.id, now=now, source="sms_stop"
        )


def _start(session: Session, found: list[ContactPerson], now: datetime) -> None:
    for contact in found:
        her_word.restore_sms(session, actor=SYSTEM, contact_id=contact.id, now=now)


def _safe_check_reply(
    session: Session, found: list[ContactPerson], talk_now: bool, now: datetime
) -> None:
    """1/SI: the contact can talk now; 2/NO: not now (S6), logged and planned around."""
    for contact in found:
        delivery = _latest_safe_check(session, contact)
        if delivery is None or delivery.digits is not None:
            continue
        delivery.digits = "1" if talk_now else "2"
        record(
            session,
            now=now,
            actor=SYSTEM,
            action=AuditAction.SAFE_CHECK_ANSWERED,
            object_type="task",
            object_id=delivery.task_id,
            answer=delivery.digits,
        )
        if not talk_now:
            _log_not_now(session, delivery, now)
    session.commit()


def _log_not_now(session: Session, delivery: Delivery, now: datetime) -> None:
    # If the task closed meanwhile, the answer stays on the delivery alone.
    with contextlib.suppress(ServiceError):
        attempt_log.record_attempt(
            session,
            None,
            actor=SYSTEM,
            task_id=delivery.task_id,
            channel=Channel.SMS,
            at=now,
            outcome=Outcome.REACHED_NOT_SAFE,
            now=now,
            made_by=delivery.requested_by,  # S5 "who": whoever sent the safe-check
            answers_our_text=True,
            entry=attempt_log.Entry(EntryPoint.WEBHOOK),
        )


def _latest_safe_check(session: Session, contact: ContactPerson) -> Delivery | None:
    return session.scalar(
        select(Delivery)
        .where(
            Delivery.contact_id == contact.id,
            Delivery.kind == DeliveryKind.SMS,
            Delivery.script == "safe_check",
        )
        .order_by(Delivery.created_at.desc())
        .limit(1)
    )


def kept_sid(sid: str, contact_id: uuid.UUID, *, shared: bool) -> str:
    """The key a kept text is stored under: its SID, or "SID:contact id" when the number is
    shared and the text is kept once for each contact, so each copy stays unique."""
    return f"{sid}:{contact_id}" if shared else sid


def provider_sid(kept: str) -> str:
    """The provider's own SID of a kept text, whichever way `kept_sid` stored it."""
    return kept.split(":")[0]


def _keep(
    session: Session, vault: Vault, found: list[ContactPerson], body: str, sid: str, now: datetime
) -> None:
    """Seal the message for each contact it came from, in the caller's transaction."""
    for contact in found:
        cipher = vault.cipher_for(session, contact.id)
        message = InboundMessage(
            contact_id=contact.id,
            body_sealed=b"",
            provider_sid=kept_sid(sid, contact.id, shared=len(found) > 1),
            received_at=now,
        )
        message_id = message.ensure_id()
        message.body_sealed = cipher.seal(place("inbound_message", "body", message_id), body[:1600])
        session.add(message)
        record(
            session,
            now=now,
            actor=SYSTEM,
            action=AuditAction.INBOUND_STORED,
            object_type="contact",
            object_id=contact.id,
            program_id=contact.program_id,
        )
