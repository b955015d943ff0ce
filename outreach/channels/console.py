"""The console channel: says what would be sent, numbers masked, and sends nothing."""

from __future__ import annotations

import secrets
import sys
from typing import TextIO

from outreach.channels.base import BridgedCall, ProviderRecord, SafeCheckCall, Sent, Sms
from outreach.channels.pacing import Pacer
from outreach.domain.phones import masked


class ConsoleChannel:
    name = "console"

    def __init__(self, pacer: Pacer, out: TextIO | None = None) -> None:
        self._pacer = pacer
        self._out = out or sys.stdout

    def place_bridged_call(self, call: BridgedCall) -> Sent:
        self._say(
            f"bridged call: ring liaison {masked(call.liaison_phone)}, then the contact "
            f"from {call.neutral_number}"
        )
        return Sent(_sid("CA"), "queued")

    def place_safe_check_call(self, call: SafeCheckCall) -> Sent:
        self._say(f"safe-check call to {masked(call.contact_phone)} from {call.neutral_number}")
        return Sent(_sid("CA"), "queued")

    def send_sms(self, sms: Sms) -> Sent:
        self._pacer.wait()
        # The text itself stays in the sealed outbox (`outreach outbox`): it holds a first name.
        self._say(
            f"SMS to {masked(sms.contact_phone)} from {sms.neutral_number}, "
            f"{len(sms.body)} characters"
        )
        return Sent(_sid("SM"), "queued")

    def hang_up(self, sid: str) -> None:
        self._say(f"hang up {sid}")

    def fetch_record(self, sid: str, *, leg_dialled: bool = False) -> ProviderRecord | None:
        """Nothing: the console placed no call and sent no text, so there is no record."""
        return None

    def erase_record(self, sid: str) -> None:
        """Nothing: what this channel "sent" lives only in the database's sealed outbox, which
        the purge has already deleted."""

    def _say(self, line: str) -> None:
        print(f"[console channel] {line}", file=self._out, flush=True)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)
