"""Her word on how she is contacted, and what follows from it in the same transaction (S1, S13).

The API and the task page record a preferences change here: the new version, the open
check-ins that follow her rhythm when she changed it, and her open tasks' channels, re-derived
from the protocol and her new permissions (services/contact_persons/her_channels.py). A declined
contact's
request to consent again is not a change: it is held in her words until a supervisor confirms
it (opt_back_in).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Consent
from outreach.models import ContactPerson, ContactPreferences, OptBackIn, Program
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_channels, her_word, opt_back_in, preferences
from outreach.services.contact_persons.preferences import Profiles
from outreach.services.errors import Invalid
from outreach.services.intake import check_ins, events
from outreach.services.records.audit import Actor


def change_preferences(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
    source: str,
) -> ContactPreferences | OptBackIn:
    """Record a new preferences version; a new rhythm reschedules or closes her check-ins.

    From declined to consented, answer the held request instead (S1): `her_words` carries
    what she said, and only her channels may come with it."""
    current = preferences.current_preferences(session, contact_id)
    if current.consent == Consent.DECLINED and changes.get("consent") == Consent.CONSENTED:
        return _hold(session, vault, actor, contact_id, changes, now)
    rhythm_before, updates_before = current.cadence, current.updates
    row = her_word.record_preferences(
        session,
        actor=actor,
        contact_id=contact_id,
        changes=changes,
        now=now,
        source=source,
        profiles=profiles,
    )
    if row.cadence != rhythm_before:
        session.flush()  # her new rhythm is what the check-ins read
        _follow_rhythm(session, profiles, contact_id, actor, now)
    if updates_before and not row.updates:
        events.withdraw_updates(session, actor, contact_id, now)  # issue 20 item 8
    session.flush()
    # S1: her open tasks use only the channels she allows now, both ways, audited.
    her_channels.rederive(session, profiles, actor=actor, contact_id=contact_id, now=now)
    session.commit()
    return row


def _hold(
    session: Session,
    vault: Vault,
    actor: Actor,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    now: datetime,
) -> OptBackIn:
    other = sorted(set(changes) - {"consent", "her_words", *opt_back_in.CHANNELS})
    if other:
        raise Invalid(
            "opting back in gives back her channels; change the rest once it is confirmed",
            dict.fromkeys(other, "not with opting back in"),
        )
    channels = {k: v for k, v in changes.items() if k in opt_back_in.CHANNELS}
    return opt_back_in.request(
        session,
        vault,
        actor=actor,
        contact_id=contact_id,
        words=changes.get("her_words"),
        channels=channels,
        now=now,
    )


def _follow_rhythm(
    session: Session, profiles: Profiles, contact_id: uuid.UUID, actor: Actor, now: datetime
) -> None:
    contact = session.get(ContactPerson, contact_id)
    assert contact is not None  # record_preferences found her
    program = session.get(Program, contact.program_id)
    assert program is not None
    check_ins.follow_rhythm(session, profiles[program.protocol], contact, actor, now)
