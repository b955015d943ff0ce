"""Properties of render: whatever the values, it never returns a text that fails the lint."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from outreach.domain import script_rules
from outreach.domain.scripts import (
    RenderError,
    check_neutral_text,
    default_root,
    load_library,
    render,
)

LIBRARY = load_library(default_root())
NEUTRAL = sorted(
    (script.kind, script.name, script.language)
    for script in LIBRARY.scripts.values()
    if script.neutral
)
LETTERS = re.compile(r"[^\W\d_]+")
FULLWIDTH_PROGRAM = "".join(chr(ord(c) + 0xFEE0) for c in "Program")

# Names built from the denylist and from characters that try to hide it.
tricky_names = st.builds(
    "".join,
    st.lists(
        st.sampled_from(
            [*script_rules.identifying_terms()[:40], "Ana", " ", "-", ".", "\u200b", "\u0301", "7"]
        ),
        max_size=5,
    ),
)
names = st.one_of(st.text(max_size=40), tricky_names)


def folded_words(text: str) -> list[str]:
    return LETTERS.findall(script_rules.fold(text))


def contains_term(words: list[str], term: str) -> bool:
    """An independent oracle: does the term's word sequence appear in the text's words?"""
    needle = folded_words(term)
    return any(words[i : i + len(needle)] == needle for i in range(len(words)))


def render_or_none(kind: str, name: str, language: str, first_name: str) -> str | None:
    values = {"first_name": first_name, "liaison_first_name": "Sam"}
    try:
        return render(LIBRARY, kind, name, language, values)
    except RenderError:
        return None


@given(script=st.sampled_from(NEUTRAL), first_name=names)
@example(script=("sms", "reminder", "en"), first_name=FULLWIDTH_PROGRAM)
@example(script=("sms", "reminder", "es"), first_name="vi\u0301ctima")
@example(script=("voicemail", "neutral", "en"), first_name="Ann 5")
def test_a_rendered_neutral_text_always_passes_the_lint(
    script: tuple[str, str, str], first_name: str
) -> None:
    kind, name, language = script
    text = render_or_none(kind, name, language, first_name)
    if text is None:
        return
    assert check_neutral_text(text, kind=kind) == []
    if kind == "sms":
        _, size, limit = script_rules.sms_size(text)
        assert size <= limit


@given(script=st.sampled_from(NEUTRAL), first_name=names)
def test_a_rendered_neutral_text_never_holds_a_listed_word(
    script: tuple[str, str, str], first_name: str
) -> None:
    text = render_or_none(*script, first_name)
    if text is None:
        return
    words = folded_words(text)
    assert not any(contains_term(words, term) for term in script_rules.identifying_terms())


@given(first_name=st.from_regex(r"[A-Z][a-z]{1,15}( [A-Z][a-z]{1,15})?", fullmatch=True))
def test_an_ordinary_name_renders_unless_it_is_a_listed_word(first_name: str) -> None:
    text = render_or_none("sms", "safe_check", "en", first_name)
    listed = any(
        contains_term(folded_words(first_name), t) for t in script_rules.identifying_terms()
    )
    assert (text is None) == listed
