"""Her check-in's channel follows her word (S1, S13; PRODUCT.md "Consented reminders": "a
consented, check-in-style text where she chose texts over calls"): a call where she allows
calls, a text only where she allows texts and not calls, nothing on a channel she refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from outreach.domain.protocols.engine import cadence_due, channels_for
from outreach.domain.protocols.profile import Permissions
from outreach.domain.vocabulary import Channel, Consent, TaskReason
from tests.unit.test_protocols import PROFILES

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WITH_CADENCE = sorted(key for key, p in PROFILES.items() if p.cadence is not None)


def test_no_calls_texts_are_fine_makes_her_check_in_a_text() -> None:
    texts_only = Permissions(Consent.CONSENTED, voice=False, sms=True)

    spec = cadence_due(
        PROFILES["caring_dads"], permissions=texts_only, cadence_choice="fortnightly",
        last_contact_at=NOW - timedelta(days=14), now=NOW,
    )  # fmt: skip

    assert spec is not None
    assert spec.reason is TaskReason.PERIODIC_CHECK_IN
    assert spec.channels == (Channel.SMS,)


@given(
    profile=st.sampled_from(WITH_CADENCE),
    consent=st.sampled_from(list(Consent)),
    voice=st.booleans(),
    sms=st.booleans(),
)
def test_a_check_in_only_ever_uses_a_channel_she_allows_and_calls_first(
    profile: str, consent: Consent, voice: bool, sms: bool
) -> None:
    permissions = Permissions(consent, voice=voice, sms=sms)
    rhythm = next(iter(PROFILES[profile].cadence.choices))  # type: ignore[union-attr]

    spec = cadence_due(
        PROFILES[profile], permissions=permissions, cadence_choice=rhythm,
        last_contact_at=NOW - timedelta(days=400), now=NOW,
    )  # fmt: skip
    following = channels_for(PROFILES[profile], TaskReason.PERIODIC_CHECK_IN, permissions)

    if consent is not Consent.CONSENTED or not (voice or sms):
        assert spec is None  # S1: periodic contact is hers to want; nothing after a decline
        return
    assert spec is not None
    assert all(permissions.allowed(c) for c in spec.channels)
    assert spec.channels == ((Channel.VOICE,) if voice else (Channel.SMS,))
    assert following == spec.channels  # an open check-in follows her word the same way
