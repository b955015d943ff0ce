"""Voice callbacks: the bridge and the liaison's 1, the answer screen, keypad safe-checks, AMD
and call status."""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from outreach.channels.base import Callbacks
from outreach.models import Delivery
from outreach.services import callbacks, inbox
from outreach.services.callbacks import Answer, BridgeTarget, Screen
from outreach.services.deliveries import liaison_prompt, spoken_text
from webhooks import bp
from webhooks.common import code, db, form, now, outward, say_language, stored, twiml

RING_SECONDS = 25
# How long the keypad waits: the contact for her answer, the liaison for their 1.
ANSWER_SECONDS = 6
CONFIRM_SECONDS = 8
CALL_EVENTS = "initiated ringing answered completed"
EMPTY = str(VoiceResponse())


def _hang_up() -> Response:
    response = VoiceResponse()
    response.hangup()
    return twiml(response)


@bp.post("/voice/bridge")
def bridge() -> Response:
    """The liaison's phone answered: ask for a 1 before dialling anyone, since their own
    voicemail may have answered instead (S3, S9)."""
    delivery = callbacks.delivery_by_code(db(), code())
    if delivery is None:
        return _hang_up()
    inbox.remember(db(), "bridge", f"bridge:{form('CallSid')}", request.form, now(), delivery)
    if not callbacks.bridge_answered(db(), delivery, now()):
        return _hang_up()
    prompt = liaison_prompt(db(), outward(), delivery)
    links = Callbacks(outward().settings.public_url, delivery.code)
    return _ask(prompt, delivery.language, links.url("voice/bridge/confirm"), CONFIRM_SECONDS)


@bp.post("/voice/bridge/confirm")
def bridge_confirm() -> Response:
    """The liaison pressed 1: dial the contact from the neutral number, recording off (S9).
    Any other key, or none, hangs up and the contact is never dialled."""
    delivery = inbox.delivery_caught_up(db(), code(), now())
    if delivery is None:
        return _hang_up()
    sid, digits = form("CallSid"), form("Digits")
    key = callbacks.bridge_confirm_key(sid, digits)
    # A repeat dials no one and opens nothing again: Twilio acts on one answer per keypress,
    # and a replayed request must never learn the contact's number.
    if not inbox.remember(db(), "bridge-confirm", key, request.form, now(), delivery):
        db().commit()
        return _hang_up()
    target = callbacks.confirm_bridge(db(), outward().vault, delivery, sid, digits, now())
    if target is None:
        return _hang_up()
    return _dial_contact(delivery, target)


def _dial_contact(delivery: Delivery, target: BridgeTarget) -> Response:
    links = Callbacks(outward().settings.public_url, delivery.code)
    response = VoiceResponse()
    dial = response.dial(
        caller_id=outward().settings.neutral_number,
        record="do-not-record",
        timeout=RING_SECONDS,
        action=links.url("voice/dial-done"),
    )
    dial.number(
        target.contact_phone,
        url=links.url("voice/screen"),
        # Waiting for the greeting's end is needed only to leave a neutral message.
        machine_detection="DetectMessageEnd" if target.leave_voicemail else "Enable",
        status_callback=links.url("voice/status", leg="contact"),
        status_callback_event=CALL_EVENTS,
    )
    return twiml(response)


def _ask(prompt: str, language: str, action: str, seconds: int) -> Response:
    """Say a prompt and wait for one key; the action is asked for even when none is pressed."""
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=seconds,
        action=action,
        action_on_empty_result=True,
    )
    gather.say(prompt, language=say_language(language))
    response.hangup()
    return twiml(response)


@bp.post("/voice/screen")
def screen() -> Response:
    """The contact's phone answered: bridge a person, say nothing to a machine (S3)."""
    delivery = inbox.delivery_caught_up(db(), code(), now())
    if delivery is None:
        return _hang_up()
    inbox.remember(db(), "screen", f"screen:{form('CallSid')}", request.form, now(), delivery)
    decision = callbacks.screen(db(), delivery, form("AnsweredBy"), now())
    if decision is Screen.BRIDGE:
        return twiml(VoiceResponse())  # an empty answer connects the two legs
    if decision is Screen.VOICEMAIL:
        text = spoken_text(db(), outward(), delivery, "voicemail", "neutral", now())
        # Locked again, so that this and the applier never both settle on a stale reading.
        delivery = inbox.delivery_caught_up(db(), code(), now()) or delivery
        callbacks.voicemail_left(db(), delivery, now())
        response = VoiceResponse()
        response.say(text, language=say_language(delivery.language))
        response.hangup()
        return twiml(response)
    return _hang_up()


@bp.post("/voice/dial-done")
def dial_done() -> Response:
    inbox.remember(
        db(), "dial-done", f"dial:{form('CallSid')}:{form('DialCallStatus')}", request.form, now()
    )
    db().commit()
    return _hang_up()


@bp.post("/voice/status")
def status() -> Response:
    """A call leg's progress: stored for the inbox applier; the contact's leg ending settles."""
    leg = request.args.get("leg", "contact")
    stored("status", f"status:{leg}:{form('CallSid')}:{form('CallStatus')}", leg=leg)
    return twiml(EMPTY)


@bp.post("/voice/safe-check")
def safe_check() -> Response:
    """An automated call was answered and machine detection has decided (it is synchronous):
    anything but a person is hung up on before a word is said (S3), as is a call whose
    request says nothing of what answered; a person is asked 1 (talk now) or 2 (later)."""
    delivery = callbacks.delivery_by_code(db(), code())
    if delivery is None or delivery.kind != "safe_check_call":
        return _hang_up()
    # The look-up's transaction ends first: the verdict is stored in one of its own, and on
    # SQLite a transaction left open here would hold the write lock that storing waits for.
    db().commit()
    answered_by = form("AnsweredBy") or "unknown"
    # The verdict settles the attempt, stored as the asynchronous one used to be.
    stored("amd", f"amd:{form('CallSid')}:{answered_by}")
    if callbacks.must_hang_up(answered_by):
        return _hang_up()
    inbox.remember(db(), "safe-check", f"prompt:{form('CallSid')}", request.form, now(), delivery)
    prompt = spoken_text(db(), outward(), delivery, "voice", "safe_check_prompt", now())
    links = Callbacks(outward().settings.public_url, delivery.code)
    return _ask(prompt, delivery.language, links.url("voice/safe-check/answer"), ANSWER_SECONDS)


@bp.post("/voice/safe-check/answer")
def safe_check_answer() -> Response:
    """1 connects to the liaison, 2 is "not now" (S6), nothing hangs up."""
    delivery = inbox.delivery_caught_up(db(), code(), now())
    if delivery is None:
        return _hang_up()
    key = f"digits:{form('CallSid')}:{form('Digits')}"
    inbox.remember(db(), "answer", key, request.form, now(), delivery)
    answer = callbacks.safe_check_answer(db(), delivery, form("Digits"), now())
    liaison = callbacks.liaison_phone_for(db(), outward().vault, delivery)
    if answer is Answer.CONNECT and liaison:
        response = VoiceResponse()
        response.dial(
            liaison,
            caller_id=outward().settings.neutral_number,
            record="do-not-record",
            timeout=RING_SECONDS,
        )
        return twiml(response)
    return _hang_up()


@bp.post("/voice/amd")
def amd() -> Response:
    """Async machine detection, asked for by safe-check calls placed before detection became
    synchronous: anything but a person is hung up on at once, silently (S3); what it tells
    about the attempt is stored for the inbox applier."""
    answered_by = form("AnsweredBy")
    fresh = stored("amd", f"amd:{form('CallSid')}:{answered_by}")
    if fresh and callbacks.must_hang_up(answered_by):
        outward().channel.hang_up(form("CallSid"))
    return twiml(EMPTY)
