"""Phone numbers: parse any format phonenumbers understands, keep only E.164.

Error messages never repeat the number (S10): they may end up in logs or API answers.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as phone_timezone

DEFAULT_REGION = "US"

# NANP numbers all come back FIXED_LINE_OR_MOBILE, so "maybe" is the best phonenumbers can say;
# the carrier's answer (Twilio 21614) settles it later.
_SMS_MAYBE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhone(ValueError):
    """The text is not a valid, dialable phone number."""


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Parse a phone number written any common way and return it in E.164."""
    number = _parse(raw, region)
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("phone number is not a valid, assigned number")
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def may_receive_sms(e164: str) -> bool:
    """Return False for numbers that surely cannot take SMS (landlines, toll-free...). S2"""
    return phonenumbers.number_type(_parse(e164, DEFAULT_REGION)) in _SMS_MAYBE


def masked(e164: str) -> str:
    """Show only the last two digits, for consoles and logs."""
    return "•" * max(len(e164) - 2, 0) + e164[-2:]


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        raise InvalidPhone("phone number is missing or too long")
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("phone number cannot be read") from None


def zones_for_number(e164: str) -> tuple[str, ...]:
    """Answer the IANA zones the number's range may be in; () when it says nothing useful."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    known = _known_zones()
    return tuple(
        dict.fromkeys(z for z in phone_timezone.time_zones_for_number(number) if z in known)
    )


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # phonenumbers answers "Etc/Unknown" for numbers it cannot place; that is no zone at all.
    return frozenset(available_timezones())
