"""The protocol engine's status updates (issue 20 item 8): which event opens one, for whom,
on what channel, and what a profile may offer.

seeds/001 Caminar Latino: "general updates on the abusive partner's attendance and progress";
seeds/004 (PCADV) item 4: "attendance"; seeds/001 Emerge: "monthly participant progress
reports". Only where she wants them; never for a declined contact (S1) nor once he may be
the victim (S11).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outreach.domain.protocols.engine import channels_for, offers_updates, update_due
from outreach.domain.protocols.loading import ProfileError, load_profile, load_profiles
from outreach.domain.protocols.profile import Permissions, Profile, TaskSpec
from outreach.domain.vocabulary import Channel, Consent, EventType, TaskReason
from outreach.services.intake.programs import PROTOCOLS_DIR

AT = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)
PROFILES = load_profiles(PROTOCOLS_DIR)
CONSENTED = Permissions(Consent.CONSENTED, voice=True, sms=True)
HEADER = 'name = "Test"\nretention_years = 3\n'


def _due(
    profile: Profile,
    event: EventType,
    permissions: Permissions = CONSENTED,
    *,
    wants: bool = True,
    participant_may_be_victim: bool = False,
) -> TaskSpec | None:
    return update_due(
        profile, event, at=AT, permissions=permissions, wants_updates=wants,
        participant_may_be_victim=participant_may_be_victim,
    )  # fmt: skip


def test_the_seed_programs_that_offer_updates_and_those_that_do_not() -> None:
    offering = {key for key, profile in PROFILES.items() if offers_updates(profile)}
    assert offering == {"georgia_fvip", "pcadv", "emerge"}


@pytest.mark.parametrize(
    ("protocol", "events"),
    [
        ("georgia_fvip", {"absent", "leave_of_absence", "returned_from_leave", "progress_summary"}),
        ("pcadv", {"absent", "leave_of_absence", "returned_from_leave"}),
        ("emerge", {"progress_summary"}),
    ],
)
def test_each_program_updates_on_what_its_standard_names(protocol: str, events: set[str]) -> None:
    profile = PROFILES[protocol]
    opened = {e.value for e in EventType if _due(profile, e) is not None}
    assert opened == events


def test_an_update_is_a_routine_call_due_within_the_programs_week() -> None:
    spec = _due(PROFILES["georgia_fvip"], EventType.ABSENT)
    assert spec is not None
    assert spec.reason is TaskReason.STATUS_UPDATE
    assert spec.channels == (Channel.VOICE,)
    assert spec.due_by == AT + timedelta(days=7)
    assert spec.min_attempts >= 2  # S5


def test_none_for_a_contact_who_did_not_ask_declined_or_was_not_asked() -> None:
    georgia = PROFILES["georgia_fvip"]
    assert _due(georgia, EventType.ABSENT, wants=False) is None
    assert _due(georgia, EventType.ABSENT, Permissions(Consent.DECLINED)) is None  # S1
    assert _due(georgia, EventType.ABSENT, Permissions(Consent.NOT_ASKED)) is None
    assert _due(georgia, EventType.ABSENT, participant_may_be_victim=True) is None  # S11


def test_texts_over_calls_make_it_a_text_and_neither_makes_nothing() -> None:
    georgia = PROFILES["georgia_fvip"]
    texts_only = Permissions(Consent.CONSENTED, voice=False, sms=True)
    spec = _due(georgia, EventType.PROGRESS_SUMMARY, texts_only)
    assert spec is not None
    assert spec.channels == (Channel.SMS,)
    neither = Permissions(Consent.CONSENTED, voice=False, sms=False)
    assert _due(georgia, EventType.PROGRESS_SUMMARY, neither) is None
    assert channels_for(georgia, TaskReason.STATUS_UPDATE, neither) == ()
    assert channels_for(PROFILES["colorado_dvomb"], TaskReason.STATUS_UPDATE, CONSENTED) == ()


def _error(tmp_path: Path, updates: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(HEADER + updates, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    return str(caught.value)


def test_a_profile_offers_updates_only_on_attendance_and_progress(tmp_path: Path) -> None:
    """A discharge or a duty to warn has its own contact in every profile (S8)."""
    found = _error(tmp_path, '[updates]\non = ["duty_to_warn"]\n')
    assert "p.toml:4" in found
    assert "not duty_to_warn" in found


def test_an_update_is_never_a_letter(tmp_path: Path) -> None:
    found = _error(tmp_path, '[updates]\non = ["absent"]\nfallback_channels = ["mail"]\n')
    assert "a call or a text" in found


def test_an_update_offer_lists_its_events(tmp_path: Path) -> None:
    assert "on must list events" in _error(tmp_path, "[updates]\noffered = true\n")


def test_offered_false_is_no_offer(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(HEADER + '[updates]\noffered = false\non = ["absent"]\n', encoding="utf-8")
    assert not offers_updates(load_profile(path))
