"""Logging that cannot carry a phone number: every record passes a masking filter (S10)."""

from __future__ import annotations

import logging
import re

# Seven or more digits, possibly with +, spaces, dots, dashes or brackets between them.
_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def mask_phone_numbers(text: str) -> str:
    return _PHONE_LIKE.sub("[number removed]", text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_phone_numbers(record.getMessage())
        record.args = None
        return True


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("outreach")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
