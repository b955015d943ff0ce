"""S2: a STOP is a STOP however it is typed: case, accents, punctuation, spaces, hyphens."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from outreach.services.delivery import inbound

# What people put around and inside a one-word reply.
noise = st.text(alphabet=" .,!?¡¿'\"-\t*():;", max_size=4)


def _typed(word: str, case: str) -> str:
    return {"upper": word.upper(), "lower": word.lower(), "title": word.title()}[case]


@given(
    word=st.sampled_from(sorted(inbound.STOP_WORDS)),
    case=st.sampled_from(["upper", "lower", "title"]),
    before=noise,
    after=noise,
)
def test_a_stop_word_with_any_case_and_punctuation_reads_as_stop(
    word: str, case: str, before: str, after: str
) -> None:
    assert inbound.keyword(before + _typed(word, case) + after) in inbound.STOP_WORDS


@given(
    word=st.sampled_from(sorted(inbound.STOP_WORDS_IN_TEXT)),
    before=st.sampled_from(["Please ", "ok ", "I said ", ""]),
    after=st.sampled_from([" texting me", " now.", ", call me Thursday", ""]),
)
def test_a_stop_word_inside_a_message_asks_to_stop(word: str, before: str, after: str) -> None:
    assert inbound.asks_to_stop(before + word.lower() + after)


def test_two_word_opt_outs_read_as_their_keyword() -> None:
    assert {inbound.keyword(t) for t in ("Opt out", "opt-out", "STOP ALL")} <= inbound.STOP_WORDS
    assert inbound.asks_to_stop("please opt out this number")


def test_everyday_words_inside_a_message_do_not_stop() -> None:
    for text in ("The end of the week", "para mi esta bien", "I quit my job", "alto y claro"):
        assert not inbound.asks_to_stop(text)
