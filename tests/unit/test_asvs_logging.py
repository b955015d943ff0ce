"""The application log: one line per record, UTC, to stderr only, with no phone number.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterator

import pytest

from outreach import logs


@pytest.fixture
def configured() -> Iterator[logging.Logger]:
    logger = logging.getLogger("outreach")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logs.configure("INFO")
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def _line(handler: logging.Handler, message: str, *args: object) -> str:
    record = logging.LogRecord("outreach.web", logging.WARNING, __file__, 1, message, args, None)
    record.created = 1_794_945_600.25  # 2026-11-17T20:00:00.250Z
    record.msecs = 250.0
    assert handler.filter(record)
    return handler.format(record)


def test_logs_go_to_stderr_only_and_nowhere_else(configured: logging.Logger) -> None:
    """ASVS 16.2.3: the one destination in the log inventory (docs/security/controls.md)."""
    [handler] = configured.handlers
    assert type(handler) is logging.StreamHandler
    assert handler.stream is sys.stderr
    assert configured.propagate is False


def test_every_line_starts_with_a_utc_time_level_and_source(
    configured: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASVS 16.2.1, 16.2.2, 16.2.4: when (UTC, with Z), how bad, where; one parseable format."""
    monkeypatch.setenv("TZ", "America/New_York")  # a host clock set to local time
    time.tzset()
    try:
        line = _line(configured.handlers[0], "refused %s", "something")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line == "2026-11-17T20:00:00.250Z WARNING outreach.web: refused something"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ [\w.]+: .*", line)


@pytest.mark.parametrize(
    "injected",
    [
        "/x\n2026-11-17T20:00:00.000Z INFO outreach.web: all fine",
        "/x\r\nforged",
        "/x\x1b[2Jcleared",
        "/x\x00nul",
    ],
)
def test_text_from_a_request_cannot_start_a_line_of_its_own(
    configured: logging.Logger, injected: str
) -> None:
    """ASVS 16.4.1: line breaks and control characters are written as escapes."""
    line = _line(configured.handlers[0], "unhandled error on %s", injected)
    assert "\n" not in line
    assert "\r" not in line
    assert not re.search(r"[\x00-\x1f\x7f]", line)
    assert "\\n" in line or "\\r" in line or "\\x" in line


@pytest.mark.parametrize(
    "number",
    ["+14045550123", "404-555-0123", "(404) 555-0123", "404.555.0123", "+44 7700 900123"],
)
def test_a_phone_number_never_reaches_the_log(configured: logging.Logger, number: str) -> None:
    """ASVS 16.2.5 (S10): contact data is not logged, whatever code passes it in."""
    line = _line(configured.handlers[0], "lookup for %s failed", number)
    assert "[number removed]" in line
    assert not re.search(r"\d{4}", line.split(" ", 1)[1].replace("outreach", ""))


def test_a_security_event_is_one_warning_of_names_and_values_it_was_given(
    configured: logging.Logger,
) -> None:
    """ASVS 16.3.3: security events have their own logger and a stable, parseable form."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger(logs.SECURITY).addHandler(handler)
    try:
        logs.security_event("web.csrf_refused", path="/login", token_sent=False)
    finally:
        logging.getLogger(logs.SECURITY).removeHandler(handler)
    [record] = seen
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "web.csrf_refused path=/login token_sent=False"
