"""Values from outside are data, never syntax: not in a regular expression, not in a template.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

import pytest

from outreach.domain import script_rules
from outreach.domain.script_library import default_root, load_library
from outreach.domain.scripts import render


@pytest.mark.parametrize("term", [".*", "a|b", "(x+)+$", "C.A.R.E. (Tue)+ [group]*", "\\d{3}"])
def test_listed_terms_with_regex_characters_match_only_as_words(term: str) -> None:
    """ASVS 1.2.9: a program name or local word never becomes a regular expression."""
    pattern = script_rules.term_pattern([term])
    ordinary = "Hi Maria, this is Sam. Reply 1 if now is a good time, 2 if not. 555"
    assert not list(script_rules.find_terms(ordinary, pattern))


def test_a_value_that_looks_like_a_placeholder_is_written_as_it_is() -> None:
    """ASVS 1.3.7, 1.3.10: values fill an approved text once; they are never read as a template."""
    library = load_library(default_root())
    values = {"first_name": "Maria", "liaison_first_name": "{first_name}"}
    text = render(library, "sms", "safe_check", "en", values)
    assert text.startswith("Hi Maria, this is {first_name}.")
