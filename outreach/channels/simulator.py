"""The simulator: plays Twilio's side on this machine, webhooks included.

For each call or SMS it posts the callbacks Twilio would post (ringing, answered, AnsweredBy,
keypad digits, delivered or undelivered), signed with the real validator, to the app's real
webhook routes, and follows the TwiML the app answers. The scenario decides who answers, and
what the liaison presses when a bridged call asks them to confirm (simulator_scenarios).

Two ways to play (issue 24 item 8), each from Twilio's documentation as gathered in
../shared/design/REFERENCE.md sections 2-4:
- calm (the demo): every status callback once, in the order things happened;
- realistic (the tests): status callbacks "aren't guaranteed to be sent in order" and a failed
  connection is retried (REFERENCE.md section 2: twilio-firebase-extensions PR 21,
  docs/usage/webhooks/webhooks-connection-overrides), so they come shuffled, some twice, with
  "completed" anywhere among them; `SequenceNumber` counts each call's callbacks without
  restarting; a machine's `AnsweredBy` is any of Twilio's values; the `<Dial action>` carries
  `DialCallStatus` and `DialCallSid`; a number that texted STOP is refused with 21610 until
  it texts START, and Twilio's own keyword replies are kept in `keyword_replies`.
The requests a call waits on (TwiML fetches, `<Gather>` actions) keep their order in both,
since Twilio makes them one after the other on the live call.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from xml.etree import ElementTree

from flask import Flask
from twilio.request_validator import RequestValidator

from outreach.channels.base import (
    BridgedCall,
    Callbacks,
    ChannelError,
    ProviderRecord,
    SafeCheckCall,
    Sent,
    Sms,
)
from outreach.channels.pacing import Pacer
from outreach.channels.simulator_scenarios import Post, Realism, Scenario
from outreach.domain.phones import masked

log = logging.getLogger("outreach.channels.simulator")
Job = Callable[[], None]
# Twilio's keyword handling as the Messaging Service's Advanced Opt-Out is set up by
# docs/operations.md: Twilio's own English words plus the Spanish ones, YES dropped from the
# opt-in list (REFERENCE.md section 4; twilio.com/docs/messaging/tutorials/advanced-opt-out).
# A whole message, in any case, is a keyword; Twilio answers it and posts `OptOutType`.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
    | {"PARAR", "ALTO", "DETENER", "CANCELAR", "BAJA", "FIN", "PARA"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "COMENZAR", "INICIAR"})
HELP_WORDS = frozenset({"HELP", "INFO", "AYUDA"})


class Poster:
    """Posts signed callbacks to the app in-process, as Twilio would over the network."""

    def __init__(self, app: Flask, token: str, public_url: str) -> None:
        self._app, self._token, self._public_url = app, token, public_url

    def post(self, url: str, fields: dict[str, str]) -> str:
        signature = RequestValidator(self._token).compute_signature(url, fields)
        path = url.removeprefix(self._public_url)
        response = self._app.test_client().post(
            path, data=fields, headers={"X-Twilio-Signature": signature}
        )
        if response.status_code != 200:
            log.warning("simulated callback answered %s", response.status_code)
        return response.get_data(as_text=True)


class SimulatorChannel:
    name = "simulator"

    def __init__(
        self,
        poster: Poster,
        scenario: Scenario,
        pacer: Pacer,
        *,
        background: bool,
        step_seconds: float = 0.5,
        realism: Realism | None = None,
    ) -> None:
        self._poster, self._scenario, self._pacer = poster, scenario, pacer
        self._realism = realism or Realism()
        self._jobs: queue.Queue[Job] = queue.Queue()
        self._hung_up: set[str] = set()
        self._sequence: dict[str, int] = {}
        self._held: list[Post] = []  # status callbacks of the call being played
        self._opted_out: set[str] = set()
        self.keyword_replies: list[tuple[str, str]] = []  # (number, keyword) Twilio answered
        # Every phone a text went to, with its SID: the contact's, or an on-call supervisor's.
        self.texted: list[tuple[str, str]] = []
        # What a REST fetch would answer: each call or text as it last stood, and her leg.
        self._records: dict[str, ProviderRecord] = {}
        self._dialled: dict[str, str] = {}
        self._step = step_seconds if background else 0.0
        if background:
            threading.Thread(target=self._work, name="simulator", daemon=True).start()

    # -- the channel protocol --

    def place_bridged_call(self, call: BridgedCall) -> Sent:
        sid = _sid("CA")
        answer, key = self._scenario.next_call(), self._scenario.next_liaison_key()
        self._jobs.put(lambda: self._play_bridged(call.callbacks, sid, answer, key))
        return Sent(sid, "queued")

    def place_safe_check_call(self, call: SafeCheckCall) -> Sent:
        sid = _sid("CA")
        answer, digits = self._scenario.next_call(), self._scenario.next_digits()
        self._jobs.put(lambda: self._play_safe_check(call.callbacks, sid, answer, digits))
        return Sent(sid, "queued")

    def send_sms(self, sms: Sms) -> Sent:
        self._pacer.wait()
        if sms.contact_phone in self._opted_out:
            # docs/api/errors/21610: "Attempt to send to unsubscribed recipient".
            raise ChannelError(
                "the contact opted out of SMS", permanent=True, code="21610", opted_out=True
            )
        sid = _sid("SM")
        self.texted.append((sms.contact_phone, sid))
        log.info("simulated text to %s", masked(sms.contact_phone))
        result = self._scenario.next_sms()
        self._jobs.put(lambda: self._play_sms(sms.callbacks, sid, result))
        return Sent(sid, "queued")

    def hang_up(self, sid: str) -> None:
        self._hung_up.add(sid)

    def erase_record(self, sid: str) -> None:
        """Nothing: the simulator keeps no log of its own; what it "sent" lives only in the
        database's sealed outbox, which the purge has already deleted."""

    def text_from(self, number: str, body: str, inbound_url: str) -> str:
        """She texts the neutral number. Twilio's keyword handling comes first: an opt-out
        word blocks the number (later sends answer 21610), an opt-in word lifts the block, and
        Twilio answers those and HELP itself; then it posts the message to the app, with
        `OptOutType` when it took the message as a keyword."""
        word = body.strip().upper()
        fields = {"MessageSid": _sid("SM"), "From": number, "Body": body}
        if word in OPT_OUT_WORDS:
            self._opted_out.add(number)
            fields["OptOutType"] = "STOP"
        elif word in OPT_IN_WORDS:
            self._opted_out.discard(number)
            fields["OptOutType"] = "START"
        elif word in HELP_WORDS:
            fields["OptOutType"] = "HELP"
        if "OptOutType" in fields:
            self.keyword_replies.append((number, word))
        return self._post(inbound_url, **fields)

    def fetch_record(self, sid: str, *, leg_dialled: bool = False) -> ProviderRecord | None:
        """As Twilio's REST API would answer: the call or text as it stands, whether or not
        its callbacks reached the app."""
        if leg_dialled:
            child = self._dialled.get(sid)
            return None if child is None else self._records.get(child)
        return self._records.get(sid)

    def run_pending(self) -> int:
        """Play every queued scenario now (tests and `outreach tick` use this)."""
        played = 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return played
            job()
            played += 1

    # -- playing Twilio's side --

    def _post(self, url: str, **fields: str) -> str:
        if self._step:
            time.sleep(self._step)
        return self._poster.post(url, fields)

    def _statuses(self, url: str, sid: str, statuses: Iterable[str]) -> None:
        """Status callbacks: posted at once when calm; held until the call's story ends, then
        posted shuffled and some twice, when realistic."""
        for status in statuses:
            number = self._sequence.get(sid, 0)
            self._sequence[sid] = number + 1
            self._note(sid, status=status)

            def post(status: str = status, number: int = number) -> None:
                self._post(
                    url,
                    CallSid=sid,
                    CallStatus=status,
                    SequenceNumber=str(number),
                    CallbackSource="call-progress-events",
                )

            if self._realism.calm:
                post()
            else:
                self._held.append(post)

    def _note(self, sid: str, **change: str | None) -> None:
        old = self._records.get(sid, ProviderRecord("queued"))
        self._records[sid] = ProviderRecord(
            str(change.get("status", old.status)),
            change.get("answered_by", old.answered_by),
            change.get("error_code", old.error_code),
        )

    def _release(self) -> None:
        held, self._held = self._held, []
        for post in self._realism.order(held):
            post()

    def _play_bridged(self, links: Callbacks, sid: str, answer: str, key: str) -> None:
        liaison_status = links.url("voice/status", leg="liaison")
        self._statuses(liaison_status, sid, ["ringing", "in-progress"])
        dial = self._liaison_confirms(links, sid, key)
        if dial is not None:
            self._play_contact_leg(sid, dial, answer)
        self._statuses(liaison_status, sid, ["completed"])
        self._release()

    def _liaison_confirms(self, links: Callbacks, sid: str, key: str) -> ElementTree.Element | None:
        """The liaison's leg answers the prompt to press 1; the contact's number comes back
        only in the answer to that keypress, as a `<Dial>`."""
        gather = _first(
            self._post(links.url("voice/bridge"), CallSid=sid, CallStatus="in-progress"), "Gather"
        )
        if gather is None:
            return None
        confirmed = self._post(
            gather.get("action", ""), CallSid=sid, CallStatus="in-progress", Digits=key
        )
        return _first(confirmed, "Dial")

    def _play_contact_leg(self, parent: str, dial: ElementTree.Element, answer: str) -> None:
        """Her leg of a bridged call. As Twilio documents `<Number url>`, the URL is asked for
        once she answers, before the legs are connected, with the call's usual parameters and
        no `AnsweredBy` (that goes only to an `amdStatusCallback`, which we do not set):
        twilio.com/docs/voice/twiml/number. A person presses 1 at the screen; a machine
        presses nothing, and `actionOnEmptyResult` still posts the action
        (twilio.com/docs/voice/twiml/gather). When her leg ends, Twilio asks the `<Dial
        action>` on the liaison's call with `DialCallStatus` and `DialCallSid`
        (twilio.com/docs/voice/twiml/dial)."""
        number = dial.find("Number")
        if number is None:
            return
        sid, status_url = _sid("CA"), number.get("statusCallback", "")
        self._dialled[parent] = sid
        self._statuses(status_url, sid, ["initiated", "ringing"])
        if answer in ("no-answer", "busy"):
            self._statuses(status_url, sid, [answer])
            self._dial_done(dial, parent, sid, answer)
            return
        self._statuses(status_url, sid, ["in-progress"])
        screen = self._post(number.get("url", ""), CallSid=sid, CallStatus="in-progress")
        self._press(screen, sid, ["1" if answer == "human" else ""])
        self._statuses(status_url, sid, ["completed"])
        self._dial_done(dial, parent, sid, "completed")

    def _dial_done(self, dial: ElementTree.Element, parent: str, child: str, status: str) -> None:
        if dial.get("action"):
            self._post(
                dial.get("action", ""),
                CallSid=parent,
                DialCallSid=child,
                DialCallStatus=status,
                DialCallDuration="0" if status != "completed" else "42",
            )

    def _play_safe_check(self, links: Callbacks, sid: str, answer: str, digits: str) -> None:
        status_url = links.url("voice/status", leg="contact")
        self._statuses(status_url, sid, ["initiated", "ringing"])
        if answer in ("no-answer", "busy"):
            self._statuses(status_url, sid, [answer])
            self._release()
            return
        self._statuses(status_url, sid, ["in-progress"])
        # Synchronous detection: the call's TwiML is asked for with the verdict.
        verdict = "human" if answer == "human" else self._realism.machine(False)
        self._note(sid, answered_by=verdict)
        first = self._post(
            links.url("voice/safe-check"), CallSid=sid, CallStatus="in-progress", AnsweredBy=verdict
        )
        keys = ["1", digits] if answer == "human" else [""]
        last = self._press(first, sid, keys)
        liaison = _first(last, "Number")
        if liaison is not None and liaison.get("url"):
            self._play_liaison_leg(liaison)
        self._statuses(status_url, sid, ["completed"])
        self._release()

    def _play_liaison_leg(self, number: ElementTree.Element) -> None:
        """The liaison's phone, dialled for a contact who pressed 1: its screen asks for their
        own 1 before the legs are connected (their voicemail presses nothing)."""
        sid = _sid("CA")
        screen = self._post(number.get("url", ""), CallSid=sid, CallStatus="in-progress")
        self._press(screen, sid, [self._scenario.next_liaison_key()])

    def _press(self, twiml: str, sid: str, keys: list[str]) -> str:
        """Answer each `<Gather>` in turn with the next key ("" for none), as long as the call
        is up, and answer the last TwiML the app returned."""
        for key in keys:
            gather = _first(twiml, "Gather")
            if gather is None or sid in self._hung_up:
                break
            digits = {"Digits": key} if key else {}
            twiml = self._post(
                gather.get("action", ""), CallSid=sid, CallStatus="in-progress", **digits
            )
        return twiml

    def _play_sms(self, links: Callbacks, sid: str, result: str) -> None:
        url = links.url("sms/status")
        extra = {"ErrorCode": "30003"} if result == "undelivered" else {}
        self._note(sid, status=result, error_code=extra.get("ErrorCode"))
        posts: list[Post] = [
            lambda: self._post(url, MessageSid=sid, MessageStatus="sent"),
            lambda: self._post(url, MessageSid=sid, MessageStatus=result, **extra),
        ]
        for post in self._realism.order(posts):
            post()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # a broken story must not stop the demo's later ones
                log.exception("simulated scenario failed")


def _first(xml: str, tag: str) -> ElementTree.Element | None:
    try:
        # Our own app's TwiML, never XML from outside.
        root = ElementTree.fromstring(xml)  # noqa: S314  # nosec B314
    except ElementTree.ParseError:
        return None
    return root.find(f".//{tag}")


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)
