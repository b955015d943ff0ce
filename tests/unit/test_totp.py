"""TOTP (RFC 6238): the published test vector, the ±1 step window, and no replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from outreach.security import totp

SECRET = b"12345678901234567890"  # RFC 6238 appendix B, SHA-1
AT = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)


def test_it_matches_the_rfc_test_vector() -> None:
    assert totp.code_at(SECRET, 59 // 30) == "287082"  # 94287082, last six digits
    assert totp.code_at(SECRET, 1111111109 // 30) == "081804"


def test_a_code_from_the_step_before_or_after_is_accepted_but_not_two_away() -> None:
    step = totp.step_of(AT)
    for drift, ok in ((-1, True), (1, True), (-2, False), (2, False)):
        found = totp.matching_step(SECRET, totp.code_at(SECRET, step + drift), AT, None)
        assert (found is not None) is ok


def test_a_code_is_never_accepted_twice() -> None:
    code = totp.code_at(SECRET, totp.step_of(AT))
    used = totp.matching_step(SECRET, code, AT, None)
    assert used is not None
    assert totp.matching_step(SECRET, code, AT + timedelta(seconds=5), used) is None


def test_the_uri_carries_the_seed_for_an_app_and_nothing_else() -> None:
    uri = totp.provisioning_uri(SECRET, "sam.rivera")
    assert uri.startswith("otpauth://totp/outreach%3Asam.rivera?")
    assert f"secret={totp.base32(SECRET)}" in uri
