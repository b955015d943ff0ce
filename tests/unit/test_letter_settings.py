"""The return address printed on letters (seeds/001 "Massachusetts"; S9: nothing on the
envelope names the program): lines parted by "|", checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.settings import load_settings
from outreach.settings_error import SettingsError

NAME = "OUTREACH_LETTER_RETURN_ADDRESS"


def test_the_shipped_return_address_is_a_post_office_box(tmp_path: Path) -> None:
    settings = load_settings({}, instance_path=tmp_path)
    assert settings.letter_return_address == ("PO Box 4127", "Springfield, IL 62701")


def test_a_site_sets_its_own_on_one_line(tmp_path: Path) -> None:
    settings = load_settings({NAME: " PO Box 9 | Boston, MA 02101 |"}, instance_path=tmp_path)
    assert settings.letter_return_address == ("PO Box 9", "Boston, MA 02101")


@pytest.mark.parametrize("value", ["|".join(["PO Box 9"] * 6), "x" * 61, "PO Box 9\tBoston"])
def test_an_address_that_cannot_be_printed_stops_start_up(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match=NAME):
        load_settings({NAME: value}, instance_path=tmp_path)
