"""Rules every outward action shares, whatever the channel (S1, S2, S3, S4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from outreach.domain.vocabulary import Consent, DeliveryKind, TaskReason


def calling_hours_apply(reason: str) -> bool:
    """S8 (amended): legal calling hours govern routine outreach, not an emergency warning. A
    duty to warn is callable at once at any hour; every other task keeps calling hours."""
    return reason != TaskReason.DUTY_TO_WARN


def within_calling_hours(at: datetime, zones: Iterable[str], start: time, end: time) -> bool:
    """True only if `at` is inside calling hours in every zone the contact may be in (S4)."""
    return all(start <= at.astimezone(ZoneInfo(zone)).time() < end for zone in zones)


def contact_zones(stated: str | None, phone_zones: str, program_zone: str) -> tuple[str, ...]:
    """The zone the contact gave, else every zone the number may be in, else the program's."""
    if stated:
        return (stated,)
    return tuple(z for z in phone_zones.split(",") if z) or (program_zone,)


@dataclass(frozen=True)
class Permission:
    """What a contact's current preferences allow, as the channel layer reads them."""

    consent: Consent
    voice: bool
    sms: bool
    voicemail: bool
    mail: bool

    def refusal(self, action: DeliveryKind, *, override: bool = False) -> str | None:
        """Answer why `action` is not allowed now, or None when it is."""
        if override and action == DeliveryKind.BRIDGED_CALL:
            return None  # S1/S8: a person's call on a duty to warn a supervisor confirmed
        if self.consent is Consent.DECLINED:
            return "the contact declined all contact"  # S1 (bar a confirmed duty to warn)
        if self.consent is Consent.NOT_ASKED and action != DeliveryKind.BRIDGED_CALL:
            return "consent was not asked yet: only the liaison's own first call is allowed"
        return _channel_refusal(self, action)

    @property
    def leave_voicemail(self) -> bool:
        """S3: a neutral voicemail only where the contact consented to messages."""
        return self.consent is Consent.CONSENTED and self.voicemail


def _channel_refusal(permission: Permission, action: DeliveryKind) -> str | None:
    allowed = {
        DeliveryKind.BRIDGED_CALL: permission.voice,
        DeliveryKind.SAFE_CHECK_CALL: permission.voice,
        DeliveryKind.SMS: permission.sms,
        DeliveryKind.LETTER: permission.mail,
    }
    if action not in allowed:
        raise ValueError(f"unknown outward action {action!r}")
    return None if allowed[action] else f"the contact has not allowed this ({action})"
