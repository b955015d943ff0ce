"""Releases of information (S7): granted, live up to but not at expiry, revoked at once,
required by every share; compelled disclosures logged with the notice to the contact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.vocabulary import Role
from outreach.models import AuditEvent, CompelledDisclosure, ContactRelease
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import disclosures, releases, sharing
from outreach.services.errors import Conflict, Forbidden, Invalid, NotFound
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records import purge
from outreach.services.records.audit import Actor
from outreach.services.scheduling.queue import reference
from tests.conftest import NOW
from tests.factories import World, make_contact, make_release, make_user, report_event

PROFILES = load_profiles(PROTOCOLS_DIR)

RECIPIENT = "Judge Rivera, Fulton County"
STATEMENT = "He has kept away since the order."


def _allowed(
    db: Session,
    world: World,
    at: datetime,
    *,
    items: tuple[str, ...] = ("statement",),
    recipient_kind: str = "court",
    purpose: str = "progress_report",
) -> bool:
    try:
        releases.require_release(
            db,
            actor=world.actor("supervisor"),
            contact_id=world.contact.id,
            recipient_kind=recipient_kind,
            purpose=purpose,
            items=items,
            now=at,
        )
    except releases.NoLiveRelease:
        return False
    return True


def _actions(db: Session) -> list[str]:
    return [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


# --- the term of a release ---------------------------------------------------------------


def test_a_release_authorises_from_its_grant_up_to_but_not_at_its_expiry(
    db: Session, vault: Vault, world: World
) -> None:
    release = make_release(db, vault, world, now=NOW, days=30)
    expiry = release.expires_at
    assert not _allowed(db, world, NOW - timedelta(microseconds=1))
    assert _allowed(db, world, NOW)
    assert _allowed(db, world, expiry - timedelta(microseconds=1))
    assert not _allowed(db, world, expiry)  # exactly at expiry: no longer valid
    assert not _allowed(db, world, expiry + timedelta(days=1))


def test_a_revocation_takes_effect_at_the_instant_it_is_recorded(
    db: Session, vault: Vault, world: World
) -> None:
    release = make_release(db, vault, world, now=NOW)
    at = NOW + timedelta(hours=2)
    releases.revoke_release(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        release_id=release.id,
        how="oral",
        now=at,
    )
    assert _allowed(db, world, at - timedelta(microseconds=1))
    assert not _allowed(db, world, at)
    with pytest.raises(releases.NoLiveRelease):
        sharing.share(
            db,
            vault,
            actor=world.actor("supervisor"),
            contact_id=world.contact.id,
            release_id=release.id,
            items=["statement"],
            now=at,
        )
    db.expire_all()
    stored = db.get(ContactRelease, release.id)
    assert stored is not None
    assert (stored.revoked_at, stored.revoked_how) == (at, "oral")
    assert stored.revoked_by == world.users["liaison"].id


def test_an_ended_release_cannot_be_revoked_again(db: Session, vault: Vault, world: World) -> None:
    release = make_release(db, vault, world, now=NOW, days=1)
    with pytest.raises(Conflict):
        releases.revoke_release(
            db,
            actor=world.actor("supervisor"),
            contact_id=world.contact.id,
            release_id=release.id,
            how="written",
            now=release.expires_at,
        )


def test_a_release_covers_only_its_own_recipient_purpose_and_scope(
    db: Session, vault: Vault, world: World
) -> None:
    make_release(db, vault, world, now=NOW, scope=("contact_made",), statement="")
    assert _allowed(db, world, NOW, items=("contact_made",))
    assert not _allowed(db, world, NOW, items=("statement",))
    assert not _allowed(db, world, NOW, items=("contact_made", "statement"))
    assert not _allowed(db, world, NOW, items=("contact_made",), recipient_kind="probation")
    assert not _allowed(db, world, NOW, items=("contact_made",), purpose="group_work")


def test_a_release_of_another_contact_authorises_nothing_for_this_one(
    db: Session, vault: Vault, world: World
) -> None:
    other = make_contact(db, vault, world.participant, now=NOW, name="Blake Other")
    make_release(db, vault, world, now=NOW)
    with pytest.raises(releases.NoLiveRelease):
        releases.require_release(
            db,
            actor=world.actor("supervisor"),
            contact_id=other.id,
            recipient_kind="court",
            purpose="progress_report",
            items=["statement"],
            now=NOW,
        )


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"expires": None}, "expires"),
        ({"expires": NOW}, "expires"),  # already over
        ({"expires": NOW + timedelta(days=367)}, "expires"),  # longer than a year
        ({"scope": ()}, "scope"),
        ({"scope": ("everything",)}, "scope"),
        ({"scope": ("contact_made",)}, "statement"),  # words without the statement scope
        ({"statement": ""}, "statement"),  # the statement scope without words
        ({"recipient": "   "}, "recipient"),
        ({"recipient_kind": "participant"}, "recipient_kind"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"given_as": "verbal"}, "given_as"),  # written releases only
    ],
)
def test_a_release_with_bad_terms_is_refused_with_the_field_named(
    db: Session, vault: Vault, world: World, terms: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        make_release(db, vault, world, now=NOW, **terms)
    assert field in refused.value.fields
    assert db.scalar(select(ContactRelease)) is None


def test_a_date_as_expiry_runs_through_the_end_of_that_day_where_the_program_is(
    db: Session, vault: Vault, world: World
) -> None:
    day = (NOW + timedelta(days=10)).date()
    release = make_release(db, vault, world, now=NOW, expires=day)
    # The world's program is in New York: midnight there is 05:00 UTC in winter.
    assert release.expires_at == datetime.fromisoformat(f"{day + timedelta(days=1)}T05:00+00:00")


# --- what is stored and audited ----------------------------------------------------------


def test_the_recipient_and_the_contacts_words_are_sealed_and_never_audited(
    db: Session, vault: Vault, world: World
) -> None:
    release = make_release(db, vault, world, now=NOW)
    sharing.share(
        db,
        vault,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        release_id=release.id,
        items=["statement"],
        now=NOW,
    )
    assert b"Rivera" not in release.recipient_sealed
    assert release.statement_sealed is not None
    assert b"kept away" not in release.statement_sealed
    for event in db.scalars(select(AuditEvent)):
        text = repr(event.detail)
        assert "Rivera" not in text
        assert "kept away" not in text
        assert "Avery" not in text


def test_every_release_action_is_audited_with_the_contact_by_reference(
    db: Session, vault: Vault, world: World
) -> None:
    release = make_release(db, vault, world, now=NOW)
    releases.releases_of(
        db, vault, actor=world.actor("liaison"), contact_id=world.contact.id, now=NOW
    )
    sharing.share(
        db,
        vault,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        release_id=release.id,
        items=["contact_made"],
        now=NOW,
    )
    releases.revoke_release(
        db,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        release_id=release.id,
        how="written",
        now=NOW + timedelta(minutes=1),
    )
    assert not _allowed(db, world, NOW + timedelta(minutes=1))
    ours = [a for a in _actions(db) if a.startswith("release.")]
    assert ours == [
        "release.granted",
        "release.read",
        "release.information_shared",
        "release.revoked",
        "release.share_refused",
    ]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action.like("release.%")))
    assert {e.detail["contact"] for e in events} == {reference(world.contact.id)}


def test_a_liaison_sees_what_releases_exist_but_not_whom_they_name(
    db: Session, vault: Vault, world: World
) -> None:
    make_release(db, vault, world, now=NOW)
    [seen] = releases.releases_of(
        db, vault, actor=world.actor("liaison"), contact_id=world.contact.id, now=NOW
    )
    assert seen.live
    assert (seen.recipient, seen.statement) == (None, None)
    [opened] = releases.releases_of(
        db, vault, actor=world.actor("supervisor"), contact_id=world.contact.id, now=NOW
    )
    assert (opened.recipient, opened.statement) == (RECIPIENT, STATEMENT)


# --- who may do what -----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["facilitator", "outsider", "admin"])
def test_only_a_supervisor_records_a_release(
    db: Session, vault: Vault, world: World, persona: str
) -> None:
    with pytest.raises(Forbidden):
        releases.grant_release(
            db,
            vault,
            actor=world.actor(persona),
            contact_id=world.contact.id,
            terms=releases.ReleaseTerms(
                "court", RECIPIENT, "progress_report", ("contact_made",), "signed_form", NOW
            ),
            now=NOW,
        )
    assert _actions(db)[-1] == "auth.access_denied"


def test_a_typed_disclosure_time_the_clocks_skip_is_refused_and_nothing_is_stored(
    db: Session, vault: Vault, world: World
) -> None:
    # 02:30 on 8 March 2026 never happened in New York, the program's zone.
    with pytest.raises(Invalid) as refused:
        _disclose(db, vault, world, danger_reason="x", disclosed_at=datetime(2026, 3, 8, 2, 30))
    assert "does not exist" in refused.value.fields["disclosed_at"]
    assert db.scalar(select(CompelledDisclosure)) is None


def test_a_typed_disclosure_time_is_read_in_the_programs_zone(
    db: Session, vault: Vault, world: World
) -> None:
    row = _disclose(db, vault, world, danger_reason="x", disclosed_at=datetime(2026, 11, 17, 9))
    assert row.disclosed_at == datetime(2026, 11, 17, 14, tzinfo=UTC)


@pytest.mark.parametrize("persona", ["liaison", "facilitator", "outsider", "admin"])
def test_only_a_supervisor_shares(db: Session, vault: Vault, world: World, persona: str) -> None:
    release = make_release(db, vault, world, now=NOW)
    with pytest.raises(Forbidden):
        sharing.share(
            db,
            vault,
            actor=world.actor(persona),
            contact_id=world.contact.id,
            release_id=release.id,
            items=["statement"],
            now=NOW,
        )


@pytest.mark.parametrize("persona", ["facilitator", "outsider", "admin"])
def test_facilitators_outsiders_and_admins_neither_read_nor_revoke(
    db: Session, vault: Vault, world: World, persona: str
) -> None:
    release = make_release(db, vault, world, now=NOW)
    with pytest.raises(Forbidden):
        releases.releases_of(
            db, vault, actor=world.actor(persona), contact_id=world.contact.id, now=NOW
        )
    with pytest.raises(Forbidden):
        releases.revoke_release(
            db,
            actor=world.actor(persona),
            contact_id=world.contact.id,
            release_id=release.id,
            how="oral",
            now=NOW,
        )
    assert _allowed(db, world, NOW)


def test_a_release_is_found_only_under_its_own_contact(
    db: Session, vault: Vault, world: World
) -> None:
    other = make_contact(db, vault, world.participant, now=NOW, name="Blake Other")
    release = make_release(db, vault, world, now=NOW)
    with pytest.raises(NotFound):
        releases.revoke_release(
            db,
            actor=world.actor("supervisor"),
            contact_id=other.id,
            release_id=release.id,
            how="oral",
            now=NOW,
        )


# --- the sharing summary -------------------------------------------------------------------


def test_the_summary_holds_only_what_was_asked_and_covered(
    db: Session, vault: Vault, world: World
) -> None:
    [task] = report_event(db, PROFILES, world, "enrolled", now=NOW)
    for days, outcome in ((3, "no_answer"), (2, "reached_safe"), (1, "reached_not_safe")):
        attempt_log.record_attempt(
            db,
            vault,
            actor=world.actor("liaison"),
            task_id=task.id,
            channel="voice",
            at=NOW - timedelta(days=days),
            outcome=outcome,
            now=NOW,
            notes="she moved to her sister's place",
            entry=attempt_log.Entry(reason="entered from the paper log"),  # S14: days ago
        )
    release = make_release(db, vault, world, now=NOW)
    summary = sharing.share(
        db,
        vault,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        release_id=release.id,
        items=["contact_made"],
        now=NOW,
    )
    assert summary.statement is None  # covered, but not asked for
    assert summary.contact_made == ((NOW - timedelta(days=2)).astimezone(summary.zone).date(),)
    assert summary.recipient == RECIPIENT
    assert "sister" not in repr(summary)  # notes never go out
    assert "Avery" not in repr(summary)


def test_asking_to_share_nothing_or_something_unknown_is_refused(
    db: Session, vault: Vault, world: World
) -> None:
    release = make_release(db, vault, world, now=NOW)
    for items in ([], ["notes"]):
        with pytest.raises(Invalid):
            sharing.share(
                db,
                vault,
                actor=world.actor("supervisor"),
                contact_id=world.contact.id,
                release_id=release.id,
                items=items,
                now=NOW,
            )


# --- compelled disclosures -----------------------------------------------------------------


def _report(**overrides: object) -> disclosures.DisclosureReport:
    fields: dict[str, object] = {
        "authority": "subpoena",
        "authority_detail": "Case 2026-CV-0099, Superior Court",
        "items": ("attempt_log",),
        "description": "The attempt log for this contact, to the clerk",
        "disclosed_at": NOW - timedelta(hours=1),
    }
    fields.update(overrides)
    return disclosures.DisclosureReport(**fields)  # type: ignore[arg-type]


def _disclose(
    db: Session, vault: Vault, world: World, persona: str = "supervisor", **overrides: object
) -> CompelledDisclosure:
    return disclosures.record_disclosure(
        db,
        vault,
        actor=world.actor(persona),
        contact_id=world.contact.id,
        report=_report(**overrides),
        now=NOW,
    )


def test_a_compelled_disclosure_needs_a_notice_task_or_a_reason_not_to_tell(
    db: Session, vault: Vault, world: World
) -> None:
    with pytest.raises(Invalid) as neither:
        _disclose(db, vault, world)
    assert "notice" in neither.value.fields
    [task] = report_event(db, PROFILES, world, "enrolled", now=NOW)
    with pytest.raises(Invalid) as both:
        _disclose(db, vault, world, notice_task_id=task.id, danger_reason="he reads her mail")
    assert "notice" in both.value.fields
    assert db.scalar(select(CompelledDisclosure)) is None
    told = _disclose(db, vault, world, notice_task_id=task.id)
    assert told.notice_task_id == task.id
    assert "release.compelled_disclosure_recorded" in _actions(db)


def test_the_notice_task_must_be_the_contacts_own(db: Session, vault: Vault, world: World) -> None:
    with pytest.raises(Invalid) as refused:
        _disclose(db, vault, world, notice_task_id=uuid.uuid4())
    assert "notice_task_id" in refused.value.fields


def test_a_reason_not_to_tell_waits_for_a_second_supervisor(
    db: Session, vault: Vault, world: World
) -> None:
    row = _disclose(db, vault, world, danger_reason="He monitors her phone and mail")
    assert row.danger_reason_sealed is not None
    assert b"monitors" not in row.danger_reason_sealed
    [view] = disclosures.disclosures_of(
        db, vault, actor=world.actor("supervisor"), contact_id=world.contact.id, now=NOW
    )
    assert view.awaiting_confirmation
    assert view.danger_reason == "He monitors her phone and mail"
    with pytest.raises(Conflict):  # not the supervisor who recorded it
        disclosures.confirm_danger(
            db,
            actor=world.actor("supervisor"),
            contact_id=world.contact.id,
            disclosure_id=row.id,
            now=NOW,
        )
    second = make_user(db, Role.SUPERVISOR, [world.home], now=NOW)
    disclosures.confirm_danger(
        db,
        actor=Actor.of(second),
        contact_id=world.contact.id,
        disclosure_id=row.id,
        now=NOW + timedelta(minutes=5),
    )
    db.expire_all()
    stored = db.get(CompelledDisclosure, row.id)
    assert stored is not None
    assert stored.danger_confirmed_by == second.id
    assert _actions(db)[-1] == "release.disclosure_danger_confirmed"


def test_a_disclosure_in_the_future_is_refused(db: Session, vault: Vault, world: World) -> None:
    with pytest.raises(Invalid) as refused:
        _disclose(db, vault, world, danger_reason="x", disclosed_at=NOW + timedelta(hours=1))
    assert "disclosed_at" in refused.value.fields


@pytest.mark.parametrize("persona", ["liaison", "facilitator", "outsider", "admin"])
def test_only_a_supervisor_records_a_compelled_disclosure(
    db: Session, vault: Vault, world: World, persona: str
) -> None:
    with pytest.raises(Forbidden):
        _disclose(db, vault, world, persona, danger_reason="x")


def test_the_database_refuses_a_disclosure_without_a_notice(db: Session, world: World) -> None:
    with pytest.raises(IntegrityError):
        db.execute(
            insert(CompelledDisclosure).values(
                id=uuid.uuid4(),
                contact_id=world.contact.id,
                program_id=world.home.id,
                authority="subpoena",
                authority_detail_sealed=b"x",
                disclosed_items=["notes"],
                description_sealed=b"x",
                disclosed_at=NOW,
                recorded_at=NOW,
            )
        )
    db.rollback()


def test_the_contacts_record_for_erasure_includes_their_releases_and_disclosures(
    db: Session, vault: Vault, world: World
) -> None:
    release = make_release(db, vault, world, now=NOW)
    disclosure = _disclose(db, vault, world, danger_reason="x")
    rows = {table.name: ids for table, ids in purge.record_rows(db, world.contact.id).items()}
    assert rows["contact_release"] == {release.id}
    assert rows["compelled_disclosure"] == {disclosure.id}
