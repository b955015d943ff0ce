"""Property: no task channel or accepted attempt ever uses a channel or a voicemail she
refused (S1, S3, issue 19 finding "her voice-off is ignored").

She sets her channels, the program reports an event, she may change her mind, and the
liaison logs an attempt on any channel with any outcome. A task only uses channels both the
protocol and her permissions allow; an attempt on a channel she has off, or a voicemail she
did not allow, is refused with 422 naming the preference.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Channel, Outcome
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import her_channels
from outreach.services.errors import Invalid
from outreach.services.intake import events
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.supervision import holds
from tests.conftest import NOW
from tests.factories import World, make_contact, make_participant

PROFILES: dict[str, Profile] = load_profiles(PROTOCOLS_DIR)


@dataclass(frozen=True)
class Her:
    voice: bool
    sms: bool
    mail: bool
    voicemail: bool

    def allows(self, channel: str) -> bool:
        return bool(getattr(self, channel))


hers = st.builds(Her, st.booleans(), st.booleans(), st.booleans(), st.booleans())


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=hers,
    then=st.none() | hers,
    event=st.sampled_from(["enrolled", "duty_to_warn", "leave_of_absence"]),
    channel=st.sampled_from([c.value for c in Channel]),
    outcome=st.sampled_from([Outcome.NO_ANSWER.value, Outcome.VOICEMAIL_NEUTRAL.value]),
)
def test_no_task_channel_or_accepted_attempt_uses_what_she_refused(
    db: Session,
    vault: Vault,
    world: World,
    first: Her,
    then: Her | None,
    event: str,
    channel: str,
    outcome: str,
) -> None:
    participant = make_participant(db, world.group, now=NOW)
    contact = make_contact(db, vault, participant, now=NOW, consent="consented", **first.__dict__)
    _, opened = events.report_event(
        db,
        PROFILES,
        actor=world.actor("facilitator"),
        participant_id=participant.id,
        event_type=event,
        at=NOW,
        severity="routine",
        now=NOW,
    )
    for task in opened:
        if not holds.is_held(db, task):
            assert all(first.allows(c) for c in task.channels), (task.reason, task.channels)
    her = first
    if then is not None:
        her_channels.change_preferences(
            db,
            PROFILES,
            actor=world.actor("liaison"),
            contact_id=contact.id,
            changes=then.__dict__,
            now=NOW,
        )
        her = then
        for task in opened:  # her word reaches her open tasks (S1)
            db.refresh(task)
            if not task.consent_override:
                assert all(her.allows(c) for c in task.channels), (task.reason, task.channels)
    for task in opened:
        if holds.is_held(db, task):
            continue
        fields = _attempt(db, vault, world, task.id, channel, outcome)
        if fields is None:  # accepted
            assert her.allows(channel)  # S1
            assert outcome != Outcome.VOICEMAIL_NEUTRAL or her.voicemail  # S3
        elif channel in task.channels and not her.allows(channel):
            assert fields == {"channel": f"preference {channel} is off"}


def _attempt(
    db: Session, vault: Vault, world: World, task_id: uuid.UUID, channel: str, outcome: str
) -> dict[str, str] | None:
    """Log the attempt; answer the refused fields, or None when it was accepted."""
    try:
        attempt_log.record_attempt(
            db,
            vault,
            actor=world.actor("liaison"),
            task_id=task_id,
            channel=channel,
            at=NOW,
            outcome=outcome,
            now=NOW,
        )
    except Invalid as refused:
        db.rollback()
        return refused.fields
    return None
