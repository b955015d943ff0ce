"""Property: over any sequence of her texts (STOP, START), carrier opt-outs, a decline and
the liaison's changes to her preferences, what only she can undo stays as she left it.

- S2: once she texts STOP (or her carrier reports one), texts stay off until her START turns
  them back on; a liaison who tries to turn them on is refused.
- S1: once she declines, consent stays declined: no change of preferences lifts it.
- And the rules refuse nothing else: a liaison may turn texts on when no STOP stands, and a
  START turns on only what a STOP turned off.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from outreach.models import ContactPerson
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_word, preferences
from outreach.services.delivery import inbound
from outreach.services.errors import Conflict
from outreach.services.records.audit import SYSTEM, Actor
from tests.conftest import NOW
from tests.factories import World, make_contact

EVENTS = (
    "texts STOP",
    "texts START",
    "carrier opt-out",
    "declines",
    "liaison turns texts on",
    "liaison turns texts off",
    "liaison records consent",
)
# Fictional numbers (555-01xx), one per example: a STOP from one reaches only her.
_numbers = itertools.count(30)


@dataclass
class Her:
    """What she has said, as the rules read it."""

    sms: bool
    declined: bool = False
    stop_stands: bool = False  # a STOP since texts were last on
    off_by_stop: bool = False  # texts were last turned off by a STOP (START may undo it)


def _play(
    db: Session,
    vault: Vault,
    liaison: Actor,
    contact: ContactPerson,
    phone: str,
    event: str,
    n: int,
) -> bool:
    """Apply the n-th event, at its own minute; answer False if the service refused it."""
    at = NOW + timedelta(minutes=n)
    if event in ("texts STOP", "texts START"):
        inbound.handle(
            db, vault, sender=phone, body=event.split()[1], sid=f"SM{contact.id.hex}{n}", now=at
        )
        return True
    if event == "carrier opt-out":
        her_word.revoke_sms(
            db, actor=SYSTEM, contact_id=contact.id, now=at, source="carrier_opt_out"
        )
    elif event == "declines":
        her_word.record_decline(db, actor=liaison, contact_id=contact.id, now=at)
    else:
        changes = {
            "liaison turns texts on": {"sms": True},
            "liaison turns texts off": {"sms": False},
            "liaison records consent": {"consent": "consented"},
        }[event]
        try:
            her_word.change_preferences(
                db, actor=liaison, contact_id=contact.id, changes=changes, now=at
            )
        except Conflict:
            db.rollback()
            return False
    db.commit()
    return True


def _expected(her: Her, event: str) -> bool:
    """Move the model by one event; answer whether the service should accept it."""
    if event in ("texts STOP", "carrier opt-out"):
        her.off_by_stop = her.off_by_stop or her.sms
        her.sms, her.stop_stands = False, True
    elif event == "texts START":
        if not her.declined and not her.sms and her.off_by_stop:
            her.sms, her.stop_stands, her.off_by_stop = True, False, False
    elif event == "declines":
        her.off_by_stop = her.off_by_stop and not her.sms
        her.sms, her.declined = False, True
    elif event == "liaison turns texts on":
        if her.stop_stands and not her.sms:
            return False
        her.sms, her.stop_stands = True, False
    elif event == "liaison turns texts off":
        her.off_by_stop = her.off_by_stop and not her.sms
        her.sms = False
    elif event == "liaison records consent":
        return not her.declined
    return True


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sms=st.booleans(), events=st.lists(st.sampled_from(EVENTS), max_size=10))
def test_what_only_she_can_undo_stays_as_she_left_it(
    db: Session, vault: Vault, world: World, sms: bool, events: list[str]
) -> None:
    phone = f"404-555-01{next(_numbers) % 60 + 30:02d}"  # as she texts from it
    contact = make_contact(
        db,
        vault,
        world.participant,
        now=NOW,
        phone=phone,
        consent="consented",
        sms=sms,
    )
    liaison, her = world.actor("liaison"), Her(sms=sms)
    stopped_since_start = declined = False
    for n, event in enumerate(events):
        accepted = _play(db, vault, liaison, contact, phone, event, n)
        assert accepted == _expected(her, event), (n, event)
        stopped_since_start = event in ("texts STOP", "carrier opt-out") or (
            stopped_since_start and not (event == "texts START" and her.sms)
        )
        declined = declined or event == "declines"
        prefs = preferences.current_preferences(db, contact.id)
        assert prefs.sms == her.sms, (n, event)
        if stopped_since_start:  # S2: only her START turns texts back on
            assert prefs.sms is False, (n, event)
        if declined:  # S1: ever
            assert prefs.consent == "declined", (n, event)
        assert her_word.sms_stopped(db, contact.id) == her.stop_stands, (n, event)
