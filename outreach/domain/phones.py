"""Phone numbers: parse any format phonenumbers understands, keep only E.164.

Error messages never repeat the number (S10): they may end up in logs or API answers.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

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
