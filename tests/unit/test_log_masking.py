"""The log filter masks every phone number and leaves record ids whole."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from outreach.logs import mask_phone_numbers

ids = st.uuids(version=4)
numbers = st.sampled_from(["+14045550123", "(404) 555-0123", "404.555.0123", "4045550123"])


@given(record=ids, number=numbers, dashed=st.booleans())
def test_a_number_beside_a_record_id_is_masked_and_the_id_is_kept(
    record: uuid.UUID, number: str, dashed: bool
) -> None:
    shown = str(record) if dashed else record.hex
    masked = mask_phone_numbers(f"delivery {shown} to {number} failed")
    assert shown in masked
    assert number not in masked
    assert "[number removed]" in masked


def test_a_long_run_of_decimal_digits_is_masked_even_at_the_length_of_an_id() -> None:
    digits = "14045550123" * 3
    assert digits[:32] not in mask_phone_numbers(f"x {digits[:32]} y")
