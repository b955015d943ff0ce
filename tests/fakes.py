"""Small fakes that stand in for the outside world without patching libraries."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from twilio.http import HttpClient
from twilio.http.response import Response

from outreach.channels.base import (
    BridgedCall,
    ChannelError,
    ProviderRecord,
    SafeCheckCall,
    Sent,
    Sms,
)


@dataclass
class RecordedRequest:
    method: str
    url: str
    data: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    params: dict[str, Any] = field(default_factory=dict)


class RecordingHttpClient(HttpClient):
    """Twilio's HTTP client seam: records each request and answers a canned response."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]] | None = None) -> None:
        super().__init__(logging.getLogger("tests.twilio"), is_async=False)
        self.requests: list[RecordedRequest] = []
        self.answers = answers or []

    def request(
        self,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> Response:
        self.requests.append(
            RecordedRequest(method, uri, dict(data or {}), params=dict(params or {}))
        )
        status, body = self.answers.pop(0) if self.answers else (201, _default_body(uri))
        return Response(status, json.dumps(body))


def _default_body(uri: str) -> dict[str, Any]:
    kind = "SM" if uri.endswith("Messages.json") else "CA"
    return {"sid": f"{kind}{'0' * 32}", "status": "queued", "account_sid": "AC" + "0" * 32}


@dataclass
class FailingChannel:
    """A channel whose every send fails the way a provider would."""

    error: ChannelError
    name: str = "twilio"
    attempts: list[str] = field(default_factory=list)

    def place_bridged_call(self, call: BridgedCall) -> Sent:
        self.attempts.append("bridged_call")
        raise self.error

    def place_safe_check_call(self, call: SafeCheckCall) -> Sent:
        self.attempts.append("safe_check_call")
        raise self.error

    def send_sms(self, sms: Sms) -> Sent:
        self.attempts.append("sms")
        raise self.error

    def hang_up(self, sid: str) -> None:
        self.attempts.append("hang_up")

    def fetch_record(self, sid: str, *, leg_dialled: bool = False) -> ProviderRecord | None:
        self.attempts.append("fetch_record")
        raise self.error

    def erase_record(self, sid: str) -> None:
        self.attempts.append("erase_record")
        raise self.error


@dataclass
class RecordingChannel:
    """A channel that accepts everything and keeps what it was asked to send."""

    name: str = "twilio"
    sent: list[Any] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)
    # What a fetch answers, by SID ("leg:" + SID for a bridged call's dialled leg).
    records: dict[str, ProviderRecord] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def place_bridged_call(self, call: BridgedCall) -> Sent:
        self.sent.append(call)
        return Sent(f"CA{uuid.uuid4().hex}", "queued")

    def place_safe_check_call(self, call: SafeCheckCall) -> Sent:
        self.sent.append(call)
        return Sent(f"CA{uuid.uuid4().hex}", "queued")

    def send_sms(self, sms: Sms) -> Sent:
        self.sent.append(sms)
        return Sent(f"SM{uuid.uuid4().hex}", "queued")

    def hang_up(self, sid: str) -> None:
        self.sent.append(("hang_up", sid))

    def fetch_record(self, sid: str, *, leg_dialled: bool = False) -> ProviderRecord | None:
        key = f"leg:{sid}" if leg_dialled else sid
        self.fetched.append(key)
        return self.records.get(key)

    def erase_record(self, sid: str) -> None:
        self.erased.append(sid)
