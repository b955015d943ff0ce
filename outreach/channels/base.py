"""The channel protocol and the requests it carries. Numbers travel only inside requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ChannelError(Exception):
    """A provider refused or failed. `permanent` errors are never retried.

    The message holds a provider code and a short reason, never a number or a name.
    """

    def __init__(
        self, message: str, *, permanent: bool, code: str | None = None, opted_out: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        # 21610: the contact sent STOP to our sender; SMS consent is revoked for good (S2).
        self.opted_out = opted_out


@dataclass(frozen=True)
class Callbacks:
    """Callback URLs for one delivery; each carries only the delivery's opaque code."""

    base: str
    code: str

    def url(self, path: str, **extra: str) -> str:
        query = "".join(f"&{key}={value}" for key, value in sorted(extra.items()))
        return f"{self.base}/webhooks/twilio/{path}?c={self.code}{query}"


@dataclass(frozen=True)
class BridgedCall:
    """Ring the liaison first; when they answer, dial the contact from the neutral number."""

    liaison_phone: str = field(repr=False)
    neutral_number: str
    callbacks: Callbacks


@dataclass(frozen=True)
class SafeCheckCall:
    """An automated call that asks the contact to press 1 to talk now or 2 for later."""

    contact_phone: str = field(repr=False)
    neutral_number: str
    callbacks: Callbacks


@dataclass(frozen=True)
class Sms:
    contact_phone: str = field(repr=False)
    neutral_number: str
    body: str = field(repr=False)
    callbacks: Callbacks
    # Seconds the carrier may keep trying; a reminder that arrives late is worse than none.
    validity_seconds: int = 3600


@dataclass(frozen=True)
class Sent:
    """The provider accepted the request; `sid` identifies it in later callbacks."""

    sid: str
    status: str


@dataclass(frozen=True)
class ProviderRecord:
    """What the provider says of a call or a text now, asked for when its callbacks stopped
    coming (reconciliation). Statuses are Twilio's `CallStatus` or `MessageStatus` values."""

    status: str
    answered_by: str | None = None
    error_code: str | None = None


class Channel(Protocol):
    """What every adapter offers. Adapters never decide whether to send: services do."""

    name: str

    def place_bridged_call(self, call: BridgedCall) -> Sent: ...

    def place_safe_check_call(self, call: SafeCheckCall) -> Sent: ...

    def send_sms(self, sms: Sms) -> Sent: ...

    def hang_up(self, sid: str) -> None: ...

    def fetch_record(self, sid: str, *, leg_dialled: bool = False) -> ProviderRecord | None:
        """The provider's record of a call or text now; with `leg_dialled`, of the call that
        call's `<Dial>` placed (her leg of a bridged call). None: the provider has none."""
        ...

    def erase_record(self, sid: str) -> None:
        """Delete the provider's own record of a call or text (number, body, times) for good.

        A record the provider no longer has counts as erased; any refusal raises ChannelError.
        """
        ...
