"""Calls to a contact: the liaison's bridged call and the automated safe-check call (S1-S4).

A bridged call rings the liaison's own phone first and dials her from the neutral number only
once they press 1; a safe-check call asks her to press 1 (talk now) or 2 (later). The prompts
said on either leg are rendered here, in the call's language (S3, S12).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.channels.base import BridgedCall, SafeCheckCall
from outreach.domain.vocabulary import Channel, DeliveryKind
from outreach.models import Delivery, OutreachTask, Program, User
from outreach.services.delivery.outward import Outward
from outreach.services.delivery.sending import dispatch, keep_outbox, new_delivery
from outreach.services.delivery.targets import (
    by_call,
    checked_render,
    load_target,
    render,
    reveal_for_sending,
    target_for,
)
from outreach.services.errors import Conflict
from outreach.services.records.audit import SYSTEM, Actor, record_reveal
from outreach.services.staff import users

# Heard on the liaison's own phone before a bridged call dials the contact.
BRIDGE_CONFIRM_PROMPT = "bridge_confirm_prompt"
# Said when her phone answers, before anything that names her (S3, issue 24).
SCREEN_PROMPT = "screen_prompt"


def request_bridged_call(
    session: Session, out: Outward, *, actor: Actor, task_id: uuid.UUID, now: datetime
) -> Delivery:
    """Ring the liaison's phone; once they press 1 the contact is dialled from the neutral
    number."""
    target = target_for(session, out, task_id, DeliveryKind.BRIDGED_CALL, now, actor=actor)
    by_call(target.task)
    liaison_phone = _liaison_phone(session, out, actor)
    # Refuse before ringing anyone: without this prompt the contact could never be dialled.
    _confirm_prompt(out, target.program, target.language)
    delivery = new_delivery(
        session, target, DeliveryKind.BRIDGED_CALL, target.task.script, actor, now
    )
    keep_outbox(
        session,
        out,
        delivery,
        target,
        Channel.VOICE,
        "(bridged call: the liaison is rung "
        "first, then the contact is dialled from the neutral number)",
        now,
    )
    return dispatch(
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
    target = target_for(session, out, task_id, DeliveryKind.SAFE_CHECK_CALL, now, actor=actor)
    by_call(target.task)
    prompt = render(out, target, "voice", "safe_check_prompt")  # refuse before dialling
    delivery = new_delivery(
        session, target, DeliveryKind.SAFE_CHECK_CALL, "safe_check_prompt", actor, now
    )
    keep_outbox(session, out, delivery, target, Channel.VOICE, prompt, now)
    phone = reveal_for_sending(session, target, actor, now)
    return dispatch(
        session,
        out,
        delivery,
        now,
        lambda cb: out.channel.place_safe_check_call(
            SafeCheckCall(phone, out.settings.neutral_number, cb)
        ),
    )


def spoken_text(
    session: Session, out: Outward, delivery: Delivery, kind: str, name: str, now: datetime
) -> str:
    """Render a voice prompt or the neutral voicemail for a delivery's contact (S3, S12)."""
    task = session.get(OutreachTask, delivery.task_id)
    assert task is not None
    target = load_target(session, out, task)
    record_reveal(session, actor=SYSTEM, contact=target.contact, purpose="prompt", now=now)
    session.commit()
    return render(out, target, kind, name)


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
    return checked_render(out, program, delivery.language, "voice", SCREEN_PROMPT, {})


def _confirm_prompt(out: Outward, program: Program, language: str) -> str:
    return checked_render(out, program, language, "voice", BRIDGE_CONFIRM_PROMPT, {})


def _liaison_phone(session: Session, out: Outward, actor: Actor) -> str:
    user = session.get(User, actor.user_id) if actor.user_id else None
    phone = None if user is None else users.own_phone(out.vault.keyring, user)
    if phone is None:
        raise Conflict(
            "add your own phone number first: a bridged call rings you before the contact"
        )
    return phone
