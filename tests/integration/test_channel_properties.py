"""Property tests: whatever the contact and their preferences, the channel layer obeys S1-S3."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from outreach.channels.base import Sms
from outreach.domain import scripts
from outreach.domain.calling import Permission
from outreach.domain.protocols.loading import load_profiles
from outreach.domain.script_library import default_root, load_library
from outreach.domain.vocabulary import Consent
from outreach.security.vault import Vault
from outreach.services.delivery import calls, texts
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import World, make_contact, report_event
from tests.fakes import RecordingChannel

PROFILES = load_profiles(PROTOCOLS_DIR)
LIBRARY = load_library(default_root())
preferences = st.fixed_dictionaries(
    {
        "consent": st.sampled_from([c.value for c in Consent]),
        "voice": st.booleans(),
        "sms": st.booleans(),
        "voicemail": st.booleans(),
        "mail": st.booleans(),
        "language": st.sampled_from(["en", "es"]),
    }
)
first_names = st.text(alphabet=st.characters(categories=["L"]), min_size=2, max_size=14)
ACTIONS = ("bridged_call", "safe_check_call", "sms", "letter")


@given(
    consent=st.sampled_from(list(Consent)),
    flags=st.tuples(*[st.booleans()] * 4),
    action=st.sampled_from(ACTIONS),
    override=st.booleans(),
)
def test_the_permission_rules_hold_for_every_combination(
    consent: Consent, flags: tuple[bool, bool, bool, bool], action: str, override: bool
) -> None:
    voice, sms, voicemail, mail = flags
    permission = Permission(consent, voice, sms, voicemail, mail)
    allowed = permission.refusal(action, override=override) is None
    if consent is Consent.DECLINED:  # S1: nothing, bar a confirmed duty-to-warn call
        assert allowed == (override and action == "bridged_call")
    if override and action == "bridged_call":
        # S1/S8 (issue 19): a supervisor's confirmation overrides her refusal, calls off or
        # declined, for a person's call; nothing else (no text, no voicemail: S3).
        assert allowed
    if action == "sms" and allowed:  # S2
        assert consent is Consent.CONSENTED
        assert sms
    if consent is Consent.NOT_ASKED and allowed:  # S1: only the liaison's own first call
        assert action == "bridged_call"
    assert permission.leave_voicemail == (consent is Consent.CONSENTED and voicemail)  # S3


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefs=preferences, first=first_names, action=st.sampled_from(ACTIONS[1:3]))
def test_nothing_leaves_that_the_contact_did_not_allow_and_every_text_is_neutral(
    db: Session,
    vault: Vault,
    world: World,
    settings: Settings,
    prefs: dict[str, Any],
    first: str,
    action: str,
) -> None:
    channel = RecordingChannel()
    out = Outward(channel, vault, LIBRARY, settings)
    contact = make_contact(
        db,
        vault,
        world.participant,
        now=NOW,
        name=f"{first} Sample",
        phone=f"404-555-01{len(channel.sent) % 90 + 10}",
        **prefs,
    )
    opened = report_event(db, PROFILES, world, "class_cancelled", now=NOW)
    mine = [t for t in opened if t.contact_id == contact.id]
    if prefs["consent"] == "declined":
        assert mine == []  # S1: a declined contact does not even get a task
        return
    send = {
        "sms": lambda t: texts.send_sms(
            db,
            out,
            task_id=t.id,
            script="reminder",
            now=NOW + timedelta(minutes=1),
            actor=SYSTEM,
        ),
        "safe_check_call": lambda t: calls.place_safe_check_call(
            db,
            out,
            task_id=t.id,
            now=NOW + timedelta(minutes=1),
            actor=SYSTEM,
        ),
    }[action]
    for task in mine:
        try:
            send(task)
        except Conflict:
            continue
    for item in channel.sent:
        if isinstance(item, Sms):
            assert prefs["consent"] == "consented"
            assert prefs["sms"]
            assert scripts.check_neutral_text(item.body) == []
        else:
            assert prefs["voice"]
            assert prefs["consent"] == "consented"
