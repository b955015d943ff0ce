"""Logging that cannot carry a phone number or forge a line, stamped in UTC (S10).

Every record passes a filter that masks phone numbers and escapes line breaks and other control
characters, so text taken from a request cannot start a line of its own (ASVS 16.4.1). Times
are UTC with a `Z` (ASVS 16.2.2). Records go to stderr only, one line each; the log inventory
is in docs/security/controls.md.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable

# Seven or more digits, possibly with +, spaces, dots, dashes or brackets between them.
_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SECURITY = "outreach.security"


# Record ids (UUIDs, dashed or as 32 hex digits) are kept whole: their digit runs are not
# numbers, and masking them would cut the one thing that ties a log line to a record. Only
# an id with a letter in it counts: a run of decimal digits is masked whatever its length.
_RECORD_ID = re.compile(
    r"\b(?=[0-9-]*[a-fA-F])"
    r"(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32})\b"
)


def mask_phone_numbers(text: str) -> str:
    """Mask anything that could be a phone number; leave record ids readable."""
    pieces, last = [], 0
    for found in _RECORD_ID.finditer(text):
        pieces.append(_PHONE_LIKE.sub("[number removed]", text[last : found.start()]))
        pieces.append(found.group())
        last = found.end()
    pieces.append(_PHONE_LIKE.sub("[number removed]", text[last:]))
    return "".join(pieces)


def escape_controls(text: str) -> str:
    """Write line breaks and other control characters as visible escapes."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = escape_controls(mask_phone_numbers(record.getMessage()))
        record.args = None
        return True


class UtcFormatter(logging.Formatter):
    """ISO 8601 times in UTC, such as 2026-11-17T20:00:00.000Z."""

    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    @staticmethod
    def converter(seconds: float | None = None) -> time.struct_time:
        return time.gmtime(seconds)


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    handler.setFormatter(UtcFormatter(FORMAT))
    root = logging.getLogger("outreach")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def security_event(event: str, *, level: int = logging.WARNING, **detail: object) -> None:
    """Log a refused request: a bad token, signature or CSRF token, or refused input.

    Pass names, paths and counts only, never a submitted value (ASVS 16.2.5, 16.3.3).
    """
    fields = " ".join(f"{name}={value}" for name, value in sorted(detail.items()))
    logging.getLogger(SECURITY).log(level, "%s %s", event, fields)


def request_refused(path: str, status: int, kind: str, fields: Iterable[str]) -> None:
    """Log refused input or a refused step by its kind and the names of the fields at fault."""
    names = ",".join(sorted(fields)) or "-"
    security_event(
        "request.refused", level=logging.INFO, path=path, status=status, kind=kind, fields=names
    )
