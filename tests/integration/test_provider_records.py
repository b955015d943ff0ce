"""Retention reaches the provider: a purge queues its records of her calls and texts, and the
provider is asked to delete each one; a refused record waits for the next run (S10)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import ChannelError
from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.models import AuditEvent, InboundMessage, ProviderErasure
from outreach.security.vault import Vault, place
from outreach.services.delivery import provider_records
from outreach.services.intake import events
from outreach.services.records import purge, retention
from outreach.services.records.audit_chain import verify_chain
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import World, leave_provider_trail, make_contact, make_participant
from tests.fakes import FailingChannel, RecordingChannel

LATER = NOW + relativedelta(years=3) + timedelta(days=1)  # Georgia keeps records 3 years
REFUSAL = ChannelError("Twilio answered 503", permanent=False, code="20503")


@pytest.fixture
def profiles() -> dict[str, Profile]:
    from outreach.services.intake.programs import PROTOCOLS_DIR

    return load_profiles(PROTOCOLS_DIR)


def _purge_all(db: Session, profiles: dict[str, Profile], now: datetime) -> list[purge.Purged]:
    due = retention.find_due(db, profiles, now=now)
    return [p for p in purge.purge_due(db, due, now=now) if p is not None]


def _queued(db: Session) -> set[str]:
    return set(db.scalars(select(ProviderErasure.sid)))


def _text_from_a_shared_number(db: Session, vault: Vault, contact_id: uuid.UUID, sid: str) -> None:
    """A text from a number two contacts share is kept once for each
    (services/delivery/inbound.py)."""
    row_id = uuid.uuid4()
    body = vault.cipher_for(db, contact_id).seal(place("inbound_message", "body", row_id), "ok")
    db.add(
        InboundMessage(
            id=row_id, contact_id=contact_id, provider_sid=f"{sid}:{contact_id}",
            received_at=NOW, body_sealed=body,
        )
    )  # fmt: skip
    db.commit()


def test_a_purge_queues_the_providers_record_of_every_call_leg_and_text_of_hers_only(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    trail = leave_provider_trail(db, vault, profiles, world, now=NOW)
    other = make_participant(db, world.group, now=NOW)
    at_work = make_contact(db, vault, other, now=NOW, name="Quinn Example")
    _text_from_a_shared_number(db, vault, at_work.id, "SM" + "7" * 32)
    events.report_event(  # her case is open: nothing of hers may go
        db, profiles, actor=world.actor("facilitator"), participant_id=other.id,
        event_type="enrolled", at=NOW, severity="routine", now=NOW,
    )  # fmt: skip

    [purged] = [p for p in _purge_all(db, profiles, LATER) if p.contact_id == world.contact.id]

    # Both legs of the bridged call (the liaison's, and the one that rang her), her reminder
    # and her reply; nothing of the contact whose case is still open.
    assert _queued(db) == trail
    assert purged.provider_records == 6
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.purged"))
    assert event.detail["provider_records"] == 6


def test_a_text_two_purged_contacts_shared_is_queued_once_by_its_own_sid(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    second = make_contact(db, vault, make_participant(db, world.group, now=NOW), now=NOW)
    shared = "SM" + "5" * 32
    for contact_id in (world.contact.id, second.id):
        _text_from_a_shared_number(db, vault, contact_id, shared)

    assert len(_purge_all(db, profiles, LATER)) == 2
    assert _queued(db) == {shared}


def test_the_provider_is_asked_to_erase_each_record_and_the_queue_empties(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile], settings: Settings
) -> None:
    trail = leave_provider_trail(db, vault, profiles, world, now=NOW)
    _purge_all(db, profiles, LATER)
    channel = RecordingChannel()

    results = list(provider_records.erase_waiting(db, channel, now=LATER))
    provider_records.record_run(db, channel.name, len(results), 0, LATER)

    assert sorted(channel.erased) == sorted(trail)
    assert all(r.erased for r in results)
    assert provider_records.waiting(db) == 0
    [event] = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "system.provider_records_erased")
    )
    assert (event.object_id, event.detail) == ("twilio", {"erased": 6, "refused": 0})
    assert verify_chain(db, settings.secrets.audit_key).first_break is None


def test_a_refused_record_stays_queued_with_its_reason_and_is_tried_again(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    trail = leave_provider_trail(db, vault, profiles, world, now=NOW)
    _purge_all(db, profiles, LATER)
    down = FailingChannel(REFUSAL)

    first = list(provider_records.erase_waiting(db, down, now=LATER))
    second = list(provider_records.erase_waiting(db, down, now=LATER + timedelta(days=1)))

    assert {r.refusal for r in first + second} == {"Twilio answered 503 (20503)"}
    rows = db.scalars(select(ProviderErasure)).all()
    assert {row.sid for row in rows} == trail
    assert {(row.tries, row.last_tried_at) for row in rows} == {(2, LATER + timedelta(days=1))}
    assert {row.last_refusal for row in rows} == {"Twilio answered 503 (20503)"}

    back = RecordingChannel()
    assert all(r.erased for r in provider_records.erase_waiting(db, back, now=LATER))
    assert set(back.erased) == trail
    assert provider_records.waiting(db) == 0


def test_a_stopped_erasure_keeps_every_record_it_did_not_reach(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    trail = leave_provider_trail(db, vault, profiles, world, now=NOW)
    _purge_all(db, profiles, LATER)
    channel = RecordingChannel()

    run = provider_records.erase_waiting(db, channel, now=LATER)
    next(run)
    run.close()  # the operator pressed Ctrl-C after one record

    assert _queued(db) == trail - set(channel.erased)
    assert len(channel.erased) == 1


def test_nothing_is_queued_for_a_contact_whose_record_is_kept(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    leave_provider_trail(db, vault, profiles, world, now=NOW)
    assert _purge_all(db, profiles, LATER - timedelta(days=2)) == []
    assert provider_records.waiting(db) == 0
