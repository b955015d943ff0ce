"""The Twilio adapter: the real SDK, an explicit timeout, recording off, AMD as Twilio wants it.

The only module that imports `twilio.rest`. It adds no text of its own and logs only SIDs.
"""

from __future__ import annotations

import logging

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from outreach.channels.base import (
    BridgedCall,
    ChannelError,
    ProviderRecord,
    SafeCheckCall,
    Sent,
    Sms,
)
from outreach.channels.pacing import Pacer

log = logging.getLogger("outreach.channels.twilio")

HTTP_TIMEOUT_SECONDS = 10
RING_SECONDS = 25
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
OPTED_OUT = 21610
# Codes that will fail the same way however often they are retried.
PERMANENT_CODES = {
    21211: "the number is not a valid phone number",
    21214: "the number cannot be reached",
    21217: "the number is not a valid phone number",
    21408: "the number's region is not enabled for this account",
    21612: "the number cannot receive messages from this sender",
    21614: "the number cannot receive SMS",
    21635: "the number is a landline and cannot receive SMS",
    OPTED_OUT: "the contact opted out of SMS",
}
# 21611: the sender's queue of messages is full; it drains, so the send is tried again
# (twilio.com/docs/api/errors/21611).
TRANSIENT_CODES = frozenset({21611})


def make_client(account_sid: str, auth_token: str, http_client: HttpClient | None = None) -> Client:
    """Build the client with an explicit timeout: a hung provider must not hang a request."""
    return Client(
        account_sid,
        auth_token,
        http_client=http_client or TwilioHttpClient(timeout=HTTP_TIMEOUT_SECONDS),
    )


class TwilioChannel:
    name = "twilio"

    def __init__(self, client: Client, pacer: Pacer, *, messaging_service_sid: str = "") -> None:
        self._client = client
        self._pacer = pacer
        self._service = messaging_service_sid

    def place_bridged_call(self, call: BridgedCall) -> Sent:
        """Ring the liaison; the bridge TwiML then dials the contact from the neutral number."""
        return self._call(
            to=call.liaison_phone,
            from_=call.neutral_number,
            url=call.callbacks.url("voice/bridge"),
            status_callback=call.callbacks.url("voice/status", leg="liaison"),
            fallback_url=call.callbacks.url("voice/fallback"),
        )

    def place_safe_check_call(self, call: SafeCheckCall) -> Sent:
        """Call the contact with answering-machine detection; a machine gets nothing (S3).

        Detection is synchronous: Twilio asks for the call's TwiML only once it has decided,
        and says what answered, so not a word can reach a machine while detection runs."""
        return self._call(
            to=call.contact_phone,
            from_=call.neutral_number,
            url=call.callbacks.url("voice/safe-check"),
            status_callback=call.callbacks.url("voice/status", leg="contact"),
            fallback_url=call.callbacks.url("voice/fallback"),
            machine_detection="Enable",
        )

    def send_sms(self, sms: Sms) -> Sent:
        self._pacer.wait()
        try:
            message = self._client.messages.create(
                to=sms.contact_phone,
                from_=sms.neutral_number,
                body=sms.body,
                status_callback=sms.callbacks.url("sms/status"),
                validity_period=sms.validity_seconds,
                # Through the Messaging Service, so its Advanced Opt-Out (our neutral replies,
                # our keyword lists) governs the number: twilio.com/docs/messaging/tutorials/
                # advanced-opt-out. `from_` keeps the neutral number as the sender (S9).
                **({"messaging_service_sid": self._service} if self._service else {}),
            )
        except TwilioRestException as exc:
            raise _channel_error(exc) from None
        except TwilioException:
            raise ChannelError("Twilio could not be reached", permanent=False) from None
        log.info("sms accepted sid=%s", message.sid)
        return Sent(sid=str(message.sid), status=str(message.status))

    def hang_up(self, sid: str) -> None:
        try:
            self._client.calls(sid).update(status="completed")
        except (TwilioRestException, TwilioException):
            log.warning("hang-up not accepted sid=%s", sid)

    def fetch_record(self, sid: str, *, leg_dialled: bool = False) -> ProviderRecord | None:
        """Ask Twilio for a call or a text as it stands (`calls(sid).fetch()`,
        `messages(sid).fetch()`; a bridged call's own `<Dial>` leg by `ParentCallSid`):
        twilio.com/docs/voice/api/call-resource, twilio.com/docs/messaging/api/message-resource."""
        try:
            if sid.startswith("SM") or sid.startswith("MM"):
                message = self._client.messages(sid).fetch()
                code = message.error_code
                return ProviderRecord(
                    str(message.status), None, None if code is None else str(code)
                )
            if leg_dialled:
                children = self._client.calls.list(parent_call_sid=sid, limit=1)
                if not children:
                    return None
                call = children[0]
            else:
                call = self._client.calls(sid).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise _channel_error(exc) from None
        except TwilioException:
            raise ChannelError("Twilio could not be reached", permanent=False) from None
        return ProviderRecord(str(call.status), call.answered_by or None)

    def erase_record(self, sid: str) -> None:
        """Delete Twilio's record of a call (CA…) or a text (SM…, MM…): its numbers and, for a
        text, its body. Twilio answers 404 for a record it no longer has: that is erased too."""
        if sid.startswith("CA"):
            record = self._client.calls(sid)
        elif sid.startswith(("SM", "MM")):
            record = self._client.messages(sid)
        else:
            raise ChannelError("not a call or message SID", permanent=True)
        try:
            record.delete()
        except TwilioRestException as exc:
            if exc.status != 404:
                raise _channel_error(exc) from None
        except TwilioException:
            raise ChannelError("Twilio could not be reached", permanent=False) from None
        log.info("record erased sid=%s", sid)

    def _call(self, *, fallback_url: str, **fields: object) -> Sent:
        try:
            call = self._client.calls.create(
                record=False,  # recording off everywhere, explicitly
                timeout=RING_SECONDS,
                status_callback_event=CALL_EVENTS,
                # If our TwiML cannot be fetched, Twilio asks this instead of speaking its own
                # error message on the call (twilio.com/docs/usage/security/availability-
                # reliability): it hangs up in silence (webhooks/fallback.py).
                fallback_url=fallback_url,
                **fields,
            )
        except TwilioRestException as exc:
            raise _channel_error(exc) from None
        except TwilioException:
            raise ChannelError("Twilio could not be reached", permanent=False) from None
        log.info("call accepted sid=%s", call.sid)
        return Sent(sid=str(call.sid), status=str(call.status))


def _channel_error(exc: TwilioRestException) -> ChannelError:
    code = exc.code
    if code in PERMANENT_CODES:
        return ChannelError(
            PERMANENT_CODES[code], permanent=True, code=str(code), opted_out=code == OPTED_OUT
        )
    transient = exc.status == 429 or exc.status >= 500 or code in TRANSIENT_CODES
    return ChannelError(
        f"Twilio answered {exc.status}",
        permanent=not transient,
        code=None if code is None else str(code),
    )
