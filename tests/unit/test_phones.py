"""Phone numbers are stored E.164 and never echoed in errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.domain.phones import InvalidPhone, masked, may_receive_sms, normalize_phone


@pytest.mark.parametrize(
    "written",
    [
        "(404) 555-0123",
        "404-555-0123",
        "404.555.0123",
        "+1 404 555 0123",
        "1-404-555-0123",
        "+14045550123",
    ],
)
def test_any_common_way_of_writing_a_number_gives_e164(written: str) -> None:
    assert normalize_phone(written) == "+14045550123"


@pytest.mark.parametrize("written", ["555-1234", "12345", "", "call me", "+1 000 000 0000"])
def test_a_number_that_cannot_be_dialled_is_refused(written: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(written)


@given(st.text(max_size=40))
def test_an_error_never_repeats_the_number(raw: str) -> None:
    digits = "".join(ch for ch in raw if ch.isdigit())
    message = ""
    try:
        normalize_phone(raw)
    except InvalidPhone as exc:
        message = str(exc)
    assert len(digits) < 3 or digits not in message


def test_a_toll_free_number_cannot_take_sms_but_a_uk_mobile_can() -> None:
    assert not may_receive_sms("+18005550199")
    assert may_receive_sms("+447911123456")


def test_a_masked_number_shows_only_its_last_two_digits() -> None:
    assert masked("+14045550123").endswith("23")
    assert "4045550" not in masked("+14045550123")
