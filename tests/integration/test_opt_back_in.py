"""Opting back in and narrowing by channel (S1, as amended): "Her word can narrow contact by
channel ('no calls, texts are fine') without declining everything, and she can opt back in:
the liaison records her request in her words, a supervisor confirms it, both audited."
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Channel
from outreach.models import AuditEvent, ContactPerson, OptBackIn, OutreachTask
from outreach.security.vault import Vault
from outreach.services.attempts import tasks
from outreach.services.contact_persons import (
    contacts,
    her_word,
    opt_back_in,
    preference_changes,
    preferences,
)
from outreach.services.delivery import inbound
from outreach.services.errors import Conflict, Forbidden, Invalid
from outreach.services.intake import events
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import Actor
from tests.conftest import NOW
from tests.factories import World, make_contact

PROFILES: dict[str, Profile] = load_profiles(PROTOCOLS_DIR)
WORDS = "I'm ready to hear from you again. Calls are fine, texts too."
_numbers = itertools.count(30)


def _change(
    db: Session, vault: Vault, actor: Actor, contact: ContactPerson, changes: dict[str, Any], n: int
) -> contacts.ContactPreferences | OptBackIn:
    return preference_changes.change_preferences(
        db, vault, PROFILES, actor=actor, contact_id=contact.id, changes=changes,
        now=NOW + timedelta(minutes=n), source="liaison",
    )  # fmt: skip


def _declined(db: Session, vault: Vault, world: World, **prefs: Any) -> ContactPerson:
    phone = f"404-555-01{next(_numbers) % 60 + 30:02d}"
    contact = make_contact(db, vault, world.participant, now=NOW, phone=phone, **prefs)
    her_word.record_decline(db, actor=world.actor("liaison"), contact_id=contact.id, now=NOW)
    db.commit()
    return contact


def _opened(db: Session, world: World, at_minute: int) -> list[OutreachTask]:
    _, opened = events.report_event(
        db, PROFILES, actor=world.actor("facilitator"), participant_id=world.participant.id,
        event_type="class_cancelled", at=NOW + timedelta(minutes=at_minute), severity="routine",
        now=NOW + timedelta(minutes=at_minute),
    )  # fmt: skip
    return opened


def _actions(db: Session) -> list[str]:
    return [a.action for a in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_her_request_is_held_until_a_supervisor_confirms_it_and_both_are_audited(
    db: Session, vault: Vault, world: World
) -> None:
    contact = _declined(db, vault, world, consent="consented", sms=True)
    asks = {"consent": "consented", "her_words": WORDS, "voice": True, "sms": True}
    held = _change(db, vault, world.actor("liaison"), contact, asks, 1)
    assert isinstance(held, OptBackIn)
    # Held: she stays declined, and a program event opens nothing for her (S1).
    assert preferences.current_preferences(db, contact.id).consent == "declined"
    assert [t for t in _opened(db, world, 2) if t.contact_id == contact.id] == []
    assert "contact.opt_back_in_requested" in _actions(db)
    assert WORDS not in str(held.words_sealed)  # sealed under her key (S10)

    prefs = opt_back_in.confirm(db, actor=world.actor("supervisor"), request_id=held.id, now=NOW)
    assert (prefs.consent, prefs.voice, prefs.sms, prefs.source) == (
        "consented", True, True, "opt_back_in",
    )  # fmt: skip
    assert "contact.opt_back_in_confirmed" in _actions(db)
    [task] = [t for t in _opened(db, world, 3) if t.contact_id == contact.id]
    assert task.channels == ["voice", "sms"]


def test_the_one_who_recorded_her_words_cannot_also_confirm_them(
    db: Session, vault: Vault, world: World
) -> None:
    contact = _declined(db, vault, world, consent="consented")
    supervisor = world.actor("supervisor")
    asks = {"consent": "consented", "her_words": WORDS, "voice": True}
    held = _change(db, vault, supervisor, contact, asks, 1)
    assert isinstance(held, OptBackIn)
    with pytest.raises(Conflict):
        opt_back_in.confirm(db, actor=supervisor, request_id=held.id, now=NOW)
    with pytest.raises(Forbidden):  # a liaison holds no confirmation
        opt_back_in.confirm(db, actor=world.actor("liaison"), request_id=held.id, now=NOW)
    assert preferences.current_preferences(db, contact.id).consent == "declined"


@pytest.mark.parametrize(
    ("asks", "field"),
    [
        ({"consent": "consented", "voice": True}, "her_words"),
        ({"consent": "consented", "her_words": "  ", "voice": True}, "her_words"),
        ({"consent": "consented", "her_words": WORDS, "voice": False}, "channels"),
        ({"consent": "consented", "her_words": WORDS, "voice": True, "language": "es"}, "language"),
    ],
)
def test_a_request_without_her_words_or_a_channel_is_refused_naming_the_field(
    db: Session, vault: Vault, world: World, asks: dict[str, Any], field: str
) -> None:
    contact = _declined(db, vault, world, consent="consented")
    with pytest.raises(Invalid) as refused:
        _change(db, vault, world.actor("liaison"), contact, asks, 1)
    assert field in refused.value.fields
    db.rollback()
    assert opt_back_in.pending(db, contact.id) is None


def test_texts_she_stopped_stay_off_when_she_opts_back_in_until_her_start(
    db: Session, vault: Vault, world: World
) -> None:
    phone = "404-555-0199"
    contact = make_contact(
        db, vault, world.participant, now=NOW, phone=phone, consent="consented", sms=True
    )
    inbound.handle(db, vault, sender=phone, body="STOP", sid="SMstop1", now=NOW)
    db.commit()
    her_word.record_decline(db, actor=world.actor("liaison"), contact_id=contact.id, now=NOW)
    db.commit()
    asks = {"consent": "consented", "her_words": WORDS, "voice": True, "sms": True}
    held = _change(db, vault, world.actor("liaison"), contact, asks, 1)
    assert isinstance(held, OptBackIn)
    prefs = opt_back_in.confirm(db, actor=world.actor("supervisor"), request_id=held.id, now=NOW)
    assert (prefs.consent, prefs.voice, prefs.sms) == ("consented", True, False)  # S2


def test_no_calls_texts_are_fine_narrows_without_declining(
    db: Session, vault: Vault, world: World
) -> None:
    contact = make_contact(
        db, vault, world.participant, now=NOW, phone="404-555-0198", consent="consented", sms=True
    )
    _change(db, vault, world.actor("liaison"), contact, {"voice": False}, 1)
    prefs = preferences.current_preferences(db, contact.id)
    assert (prefs.consent, prefs.voice, prefs.sms) == ("consented", False, True)
    [task] = [t for t in _opened(db, world, 2) if t.contact_id == contact.id]
    assert task.channels == ["sms"]


# --- the property ---------------------------------------------------------------------

EVENTS = (
    "liaison: no calls",
    "liaison: calls are fine",
    "liaison: texts on",
    "liaison: texts off",
    "texts STOP",
    "texts START",
    "declines",
    "asks to opt back in",
    "supervisor confirms",
)


@dataclass
class Her:
    voice: bool = True
    sms: bool = True
    declined: bool = False
    stop_stands: bool = False
    off_by_stop: bool = False
    held: bool = False

    def allows(self) -> set[str]:
        if self.declined:
            return set()
        return {c for c, on in (("voice", self.voice), ("sms", self.sms)) if on}


def _model(her: Her, event: str) -> None:
    """What the rules say follows from her word (S1, S2)."""
    if event == "liaison: no calls":
        her.voice = False
    elif event == "liaison: calls are fine":
        her.voice = True
    elif event == "liaison: texts on" and not (her.stop_stands and not her.sms):
        her.sms, her.stop_stands = True, False
    elif event in ("liaison: texts off", "declines"):
        her.off_by_stop = her.off_by_stop and not her.sms
        her.sms = False
        her.declined = her.declined or event == "declines"
    elif event == "texts STOP":
        her.off_by_stop = her.off_by_stop or her.sms
        her.sms, her.stop_stands = False, True
    elif event == "texts START":
        if not her.declined and not her.sms and her.off_by_stop:
            her.sms, her.stop_stands, her.off_by_stop = True, False, False
    elif event == "asks to opt back in":
        her.held = her.held or her.declined
    elif event == "supervisor confirms" and her.held:
        her.held, her.declined, her.voice = False, False, True
        if not her.stop_stands:
            her.sms, her.off_by_stop = True, False


def _play(
    db: Session, vault: Vault, world: World, contact: ContactPerson, phone: str, event: str, n: int
) -> None:
    at = NOW + timedelta(minutes=n)
    liaison = world.actor("liaison")
    changes = {
        "liaison: no calls": {"voice": False},
        "liaison: calls are fine": {"voice": True},
        "liaison: texts on": {"sms": True},
        "liaison: texts off": {"sms": False},
    }
    try:
        if event in changes:
            _change(db, vault, liaison, contact, changes[event], n)
        elif event.startswith("texts "):
            inbound.handle(
                db, vault, sender=phone, body=event.split()[1], sid=f"SM{contact.id.hex}{n}", now=at
            )
        elif event == "declines":
            her_word.record_decline(db, actor=liaison, contact_id=contact.id, now=at)
        elif event == "asks to opt back in":
            asks = {"consent": "consented", "her_words": WORDS, "voice": True, "sms": True}
            _change(db, vault, liaison, contact, asks, n)
        else:
            held = opt_back_in.pending(db, contact.id)
            if held is not None:
                opt_back_in.confirm(db, actor=world.actor("supervisor"), request_id=held.id, now=at)
        db.commit()
    except (Conflict, Invalid):
        # What only she can undo is refused (S1, S2), and so is opting back in when she
        # never declined (her_words belongs only to that request).
        db.rollback()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(st.sampled_from(EVENTS), max_size=10))
def test_nothing_reaches_her_on_a_channel_she_turned_off_and_opting_in_waits_for_confirmation(
    db: Session, vault: Vault, world: World, events: list[str]
) -> None:
    phone = f"404-555-01{next(_numbers) % 60 + 30:02d}"
    contact = make_contact(
        db, vault, world.participant, now=NOW, phone=phone, consent="consented", sms=True
    )
    her = Her()
    for n, event in enumerate(events):
        _play(db, vault, world, contact, phone, event, n)
        _model(her, event)
        prefs = preferences.current_preferences(db, contact.id)
        # Her opt-back-in takes effect only once a supervisor confirms it.
        assert (prefs.consent == "declined") == her.declined, (n, event)
        # S1/S2: the channel gate every task and every send goes through.
        permissions = tasks.permissions(db, contact)
        gate = {c for c in ("voice", "sms") if permissions.allowed(Channel(c))}
        assert gate == her.allows(), (n, event)
        # And a program event opens nothing on a channel she turned off.
        opened = [t for t in _opened(db, world, 100 + n) if t.contact_id == contact.id]
        assert {c for t in opened for c in t.channels} == her.allows(), (n, event)
