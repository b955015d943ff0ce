"""Voice callbacks: the bridge and the liaison's 1, the answer screen, keypad safe-checks, AMD
and call status."""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from outreach.channels.base import Callbacks
from outreach.domain import scripts
from outreach.models import Delivery
from outreach.services.attempts import answered_calls
from outreach.services.delivery import call_answers, callbacks, inbox
from outreach.services.delivery.call_answers import Answer, BridgeTarget, Screen
from outreach.services.delivery.calls import liaison_prompt, screen_prompt, spoken_text
from webhooks import bp
from webhooks.common import (
    code,
    db,
    form,
    now,
    outward,
    say_language,
    say_voice,
    stored,
    twiml,
)

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
    if not call_answers.bridge_answered(db(), delivery, now()):
        return _hang_up()
    prompt = liaison_prompt(db(), outward(), delivery)
    links = Callbacks(outward().settings.public_url, delivery.code)
    return _ask(prompt, delivery.language, links.url("voice/bridge/confirm"), CONFIRM_SECONDS)


@bp.post("/voice/bridge/confirm")
def bridge_confirm() -> Response:
    """The liaison pressed 1: dial the contact from the neutral number, recording off (S9).
    Any other key, or none, hangs up and the contact is never dialled."""
    confirmed = answered_calls.bridge_keypress(db(), outward().vault, code(), request.form, now())
    if confirmed is None:
        return _hang_up()
    delivery, target = confirmed
    return _dial_contact(delivery, target)


def _dial_contact(delivery: Delivery, target: BridgeTarget) -> Response:
    """Dial her with a key-press screen on her leg (S3, S9).

    `<Number url>` runs TwiML "on the called party's end, after they answer, but before the
    parties are connected" (twilio.com/docs/voice/twiml/number, attribute `url`): there she
    hears the screen, which names no one, and only her 1 puts the liaison through. No machine
    detection on this leg: on a `<Number>` its verdict goes only to an `amdStatusCallback`
    (warning 21262 when none is given), never to the `url` request."""
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
    gather.say(prompt, language=say_language(language), voice=say_voice(language))
    response.hangup()
    return twiml(response)


@bp.post("/voice/screen")
def screen() -> Response:
    """Her phone answered a bridged call: before anything else, the key-press screen (S3)."""
    delivery = inbox.delivery_caught_up(db(), code(), now())
    if delivery is None:
        return _hang_up()
    key = f"screen:{form('CallSid')}"
    inbox.remember_at_once(db(), "screen", key, request.form, now(), delivery)
    prompt = screen_prompt(db(), outward(), delivery)
    links = Callbacks(outward().settings.public_url, delivery.code)
    return _ask(prompt, delivery.language, links.url("voice/screen/answer"), ANSWER_SECONDS)


@bp.post("/voice/screen/answer")
def screen_answer() -> Response:
    """Her 1 puts the liaison through; no key is a machine: silence, or the neutral voicemail
    where she allowed one (S3)."""
    delivery = inbox.delivery_caught_up(db(), code(), now())
    if delivery is None:
        return _hang_up()
    key = f"screen-digits:{form('CallSid')}:{form('Digits')}"
    inbox.remember(db(), "screen-answer", key, request.form, now(), delivery)
    decision = call_answers.screened(db(), delivery, form("Digits"), now())
    if decision is Screen.BRIDGE:
        # The end of the `<Number url>` document connects the two legs (docs/voice/twiml/number).
        return twiml(VoiceResponse())
    if decision is Screen.VOICEMAIL:
        return _leave_voicemail(delivery)
    return _hang_up()


def _leave_voicemail(delivery: Delivery) -> Response:
    text = spoken_text(db(), outward(), delivery, "voicemail", "neutral", now())
    # Locked again, so that this and the applier never both settle on a stale reading.
    delivery = inbox.delivery_caught_up(db(), code(), now()) or delivery
    call_answers.voicemail_left(db(), delivery, now())
    response = VoiceResponse()
    response.say(text, language=say_language(delivery.language), voice=say_voice(delivery.language))
    response.hangup()
    return twiml(response)


@bp.post("/voice/dial-done")
def dial_done() -> Response:
    key = f"dial:{form('CallSid')}:{form('DialCallStatus')}"
    inbox.remember_at_once(db(), "dial-done", key, request.form, now())
    return _hang_up()


@bp.post("/voice/status")
def status() -> Response:
    """A call leg's progress: stored for the inbox applier; the contact's leg ending settles."""
    leg = request.args.get("leg", "contact")
    stored("status", f"status:{leg}:{form('CallSid')}:{form('CallStatus')}", leg=leg)
    return twiml(EMPTY)


@bp.post("/voice/safe-check")
def safe_check() -> Response:
    """An automated call was answered and machine detection has decided (it is synchronous:
    Twilio asks for the call's TwiML with `AnsweredBy`, twilio.com/docs/voice/answering-machine-
    detection): anything but a person is hung up on before a word is said (S3). AMD leans
    toward "human" and can take a greeting for a person, so a person first hears the key-press
    screen, which names no one, and only her 1 brings the prompt that does."""
    delivery = answered_calls.safe_check_call(db(), code())
    if delivery is None:
        return _hang_up()
    answered_by = form("AnsweredBy") or "unknown"
    # The verdict settles the attempt, stored as the asynchronous one used to be.
    stored("amd", f"amd:{form('CallSid')}:{answered_by}")
    if call_answers.must_hang_up(answered_by):
        return _hang_up()
    key = f"prompt:{form('CallSid')}"
    inbox.remember_at_once(db(), "safe-check", key, request.form, now(), delivery)
    prompt = screen_prompt(db(), outward(), delivery)
    links = Callbacks(outward().settings.public_url, delivery.code)
    return _ask(prompt, delivery.language, links.url("voice/safe-check/screened"), ANSWER_SECONDS)


@bp.post("/voice/safe-check/screened")
def safe_check_screened() -> Response:
    """She pressed 1 at the screen: now, and only now, the prompt that names her (S3, S6).
    No key: nothing more is said, and the call ends as unanswered by a person."""
    delivery = inbox.delivery_caught_up(db(), code(), now())
    if delivery is None:
        return _hang_up()
    key = f"screen-digits:{form('CallSid')}:{form('Digits')}"
    inbox.remember(db(), "screen-answer", key, request.form, now(), delivery)
    if call_answers.screened(db(), delivery, form("Digits"), now()) is not Screen.BRIDGE:
        call_answers.safe_check_answer(db(), delivery, "", now())
        return _hang_up()
    prompt = spoken_text(db(), outward(), delivery, "voice", "safe_check_prompt", now())
    links = Callbacks(outward().settings.public_url, delivery.code)
    return _ask(prompt, delivery.language, links.url("voice/safe-check/answer"), ANSWER_SECONDS)


@bp.post("/voice/safe-check/answer")
def safe_check_answer() -> Response:
    """1 connects to the liaison, who must press 1 on their own phone first; 2 is "not now"
    (S6); nothing hangs up."""
    delivery = inbox.delivery_caught_up(db(), code(), now())
    if delivery is None:
        return _hang_up()
    key = f"digits:{form('CallSid')}:{form('Digits')}"
    inbox.remember(db(), "answer", key, request.form, now(), delivery)
    answer = call_answers.safe_check_answer(db(), delivery, form("Digits"), now())
    liaison = call_answers.liaison_phone_for(db(), outward().vault, delivery)
    if answer is Answer.CONNECT and liaison:
        return _dial_liaison(delivery, liaison)
    return _hang_up()


def _dial_liaison(delivery: Delivery, liaison: str) -> Response:
    """Ring the liaison with a screen on their leg: their own voicemail may answer, and its
    greeting may name the agency; only their 1 connects her (S3, S9)."""
    links = Callbacks(outward().settings.public_url, delivery.code)
    response = VoiceResponse()
    dial = response.dial(
        caller_id=outward().settings.neutral_number, record="do-not-record", timeout=RING_SECONDS
    )
    dial.number(liaison, url=links.url("voice/liaison-screen"))
    return twiml(response)


@bp.post("/voice/liaison-screen")
def liaison_screen() -> Response:
    """The liaison's phone answered a contact waiting on a safe-check call: ask for their 1."""
    delivery = callbacks.delivery_by_code(db(), code())
    if delivery is None:
        return _hang_up()
    prompt = screen_prompt(db(), outward(), delivery)
    links = Callbacks(outward().settings.public_url, delivery.code)
    action = links.url("voice/liaison-screen/answer")
    return _ask(prompt, delivery.language, action, CONFIRM_SECONDS)


@bp.post("/voice/liaison-screen/answer")
def liaison_screen_answer() -> Response:
    """Their 1 connects the two legs (the end of the `<Number url>` document); anything else
    ends the liaison's leg, and her call ends with it."""
    if form("Digits")[:1] == "1":
        return twiml(VoiceResponse())
    return _hang_up()


@bp.post("/voice/amd")
def amd() -> Response:
    """Async machine detection, asked for by safe-check calls placed before detection became
    synchronous: anything but a person is hung up on at once, silently (S3); what it tells
    about the attempt is stored for the inbox applier."""
    answered_by = form("AnsweredBy")
    fresh = stored("amd", f"amd:{form('CallSid')}:{answered_by}")
    if fresh and call_answers.must_hang_up(answered_by):
        outward().channel.hang_up(form("CallSid"))
    return twiml(EMPTY)


@bp.post("/voice/incoming")
def incoming() -> Response:
    """Someone called the neutral number back: she, or whoever holds her phone and wants to
    know who called. They hear one neutral sentence in English and in Spanish, and the call
    ends: nothing names the program, and no one is put through (S9; docs/operations.md)."""
    response = VoiceResponse()
    for language in ("en", "es"):
        text = scripts.render(outward().library, "voice", "incoming_call", language, {})
        response.say(text, language=say_language(language), voice=say_voice(language))
    response.hangup()
    return twiml(response)


@bp.post("/voice/preflight")
def preflight() -> Response:
    """The operator's key on `outreach twilio-check --call-me`: kept, signed as every webhook,
    so the command can say the product heard it. Nothing about anyone is recorded."""
    key = f"preflight:{form('CallSid')}:{form('Digits')[:1] or '-'}"
    inbox.remember_at_once(db(), "preflight", key, request.form, now())
    return _hang_up()
