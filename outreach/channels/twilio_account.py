"""The pre-flight check of a Twilio account before it carries a single call (`outreach
twilio-check`, issue 24).

It reads the account as Twilio's REST API describes it and compares it with what the product
needs: the credentials work, the neutral number belongs to the account and takes calls and
texts, its webhooks and fallbacks point at this deployment, and the Messaging Service sends
from that number and hands its inbound texts to us. It changes nothing on the account. The
client comes from `channels.twilio.make_client` (the only importer of `twilio.rest`).
Each line names a setting or a URL, never a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

from outreach.settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def check_account(client: Any, settings: Settings) -> list[Check]:
    """Every check in order; a failed look-up stops the checks that depend on it."""
    found: list[Check] = []
    try:
        found.append(_credentials(client, settings))
        if found[-1].ok:
            found.extend(_number_checks(client, settings))
            found.extend(_service_checks(client, settings))
    except TwilioRestException as exc:
        found.append(Check("twilio", False, f"Twilio answered {exc.status} (code {exc.code})"))
    except TwilioException:
        found.append(Check("twilio", False, "Twilio could not be reached"))
    return found


def expected_urls(settings: Settings) -> dict[str, str]:
    """What the neutral number and the Messaging Service must call (docs/operations.md)."""
    base = f"{settings.public_url}/webhooks/twilio"
    return {
        "voice_url": f"{base}/voice/incoming",
        "voice_fallback_url": f"{base}/voice/fallback",
        "inbound_request_url": f"{base}/sms/inbound",
        "fallback_url": f"{base}/sms/fallback",
    }


def _credentials(client: Any, settings: Settings) -> Check:
    account = client.api.v2010.accounts(settings.secrets.twilio_account_sid).fetch()
    return Check("credentials", account.status == "active", f"account is {account.status}")


def _number_checks(client: Any, settings: Settings) -> Iterator[Check]:
    numbers = client.incoming_phone_numbers.list(phone_number=settings.neutral_number, limit=1)
    if not numbers:
        yield Check("neutral number", False, f"{settings.neutral_number} is not on this account")
        return
    number = numbers[0]
    yield Check("neutral number", True, f"{settings.neutral_number} is on this account")
    able = number.capabilities or {}
    missing = [kind for kind in ("voice", "sms") if not able.get(kind)]
    yield Check("calls and texts", not missing, "both" if not missing else f"no {missing}")
    wanted = expected_urls(settings)
    for field in ("voice_url", "voice_fallback_url"):
        yield _same_url(f"number {field}", getattr(number, field, None), wanted[field])


def _service_checks(client: Any, settings: Settings) -> Iterator[Check]:
    sid = settings.messaging_service_sid
    if not sid:
        yield Check("messaging service", False, "OUTREACH_MESSAGING_SERVICE_SID is not set")
        return
    service = client.messaging.v1.services(sid).fetch()
    yield Check("messaging service", True, f"{service.friendly_name!s} found")
    senders = {n.phone_number for n in client.messaging.v1.services(sid).phone_numbers.list()}
    yield Check(
        "service sender",
        senders == {settings.neutral_number},
        "the neutral number alone"
        if senders == {settings.neutral_number}
        else f"senders are {sorted(senders)}; the neutral number must be the only one",
    )
    wanted = expected_urls(settings)
    yield Check(
        "service inbound",
        not service.use_inbound_webhook_on_number,
        "the service sends its own webhook"
        if not service.use_inbound_webhook_on_number
        else "set 'Send a webhook' on the service, not 'Defer to sender's webhook'",
    )
    for field in ("inbound_request_url", "fallback_url"):
        yield _same_url(f"service {field}", getattr(service, field, None), wanted[field])


def _same_url(name: str, found: str | None, wanted: str) -> Check:
    if found == wanted:
        return Check(name, True, wanted)
    return Check(name, False, f"is {found or 'not set'}; must be {wanted}")


FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def place_test_call(
    client: Any,
    settings: Settings,
    phone: str,
    prompt: str,
    *,
    wait: Callable[[float], None] = time.sleep,
    polls: int = 60,
) -> Iterator[tuple[str, str]]:
    """Place one call from the neutral number to a phone the operator holds, and yield
    ("sid", SID) and then each status Twilio reports for it, as ("status", status).

    She hears the key-press screen; her key is posted, signed, to `/voice/preflight`, so a
    key that reaches the product proves the public URL and the auth token (docs/voice/twiml/
    gather). The TwiML travels inline (`Twiml`, docs/voice/api/call-resource): no task, no
    contact, nothing recorded about anyone."""
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=10,
        action=f"{settings.public_url}/webhooks/twilio/voice/preflight",
        action_on_empty_result=True,
    )
    gather.say(prompt)
    response.hangup()
    call = client.calls.create(
        to=phone, from_=settings.neutral_number, twiml=str(response), record=False, timeout=25
    )
    yield "sid", str(call.sid)
    seen = ""
    for _ in range(polls):
        status = str(client.calls(call.sid).fetch().status)
        if status != seen:
            seen = status
            yield "status", status
        if status in FINAL:
            return
        wait(2)
