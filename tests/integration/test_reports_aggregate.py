"""Reports hold no contact data (S7): the compliance figures are counts, and the few lines a
supervisor must follow up name a contact only by opaque reference; the CSV export of the
attempt log carries no name, number, note or release text either."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.supervision import attempt_export, compliance
from tests.conftest import NOW
from tests.factories import World, make_release, report_event
from tests.functional.web import log_in

PROFILES = load_profiles(PROTOCOLS_DIR)
# The world's contact, an attempt note, and what the world's release holds.
SECRETS = (
    "Avery",
    "Sample",
    "4045550123",
    "555-0123",
    "moved to a shelter",
    "Rivera",
    "kept away",
)
REFERENCE = re.compile(r"C-[0-9A-F]{8}")


def _history(db: Session, vault: Vault, world: World) -> None:
    """Attempts with a sensitive note, a duty to warn, and a live release."""
    # He has been on the roster for two months: no event may predate him (issue 19).
    world.participant.created_at = NOW - timedelta(days=60)
    db.commit()
    opened = report_event(db, PROFILES, world, "enrolled", now=NOW - timedelta(days=30))
    opened += report_event(db, PROFILES, world, "duty_to_warn", now=NOW - timedelta(days=2))
    for task in opened:
        attempt_log.record_attempt(
            db,
            vault,
            actor=world.actor("liaison"),
            task_id=task.id,
            channel="voice",
            at=NOW - timedelta(days=1),
            outcome="reached_safe",
            now=NOW,
            notes="Avery moved to a shelter on Elm Street",
        )
    make_release(db, vault, world, now=NOW)


def test_the_compliance_figures_are_counts_and_name_contacts_by_reference_only(
    db: Session, vault: Vault, world: World
) -> None:
    _history(db, vault, world)
    found = compliance.compliance(db, actor=world.actor("supervisor"), now=NOW)
    for secret in SECRETS:
        assert secret not in repr(found)
    assert found.duty_to_warn_minutes, "the duty to warn is measured"
    per_contact = list(found.closed_too_early) + [ref for ref, _ in found.duty_to_warn_minutes]
    assert all(REFERENCE.fullmatch(ref) for ref in per_contact)
    counts = [*found.overdue.values()]
    counts += [
        n for pair in (*found.reach_by_kind.values(), *found.reach_by_hour.values()) for n in pair
    ]
    assert counts
    assert all(isinstance(n, int) for n in counts)


def test_the_compliance_page_and_the_csv_export_hold_no_contact_data(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _history(db, runtime(app).vault, world)
    log_in(client, world.users["supervisor"])
    page = client.get("/review/compliance").get_data(as_text=True)
    export = client.get("/review/attempts.csv").get_data(as_text=True)
    assert len(export.strip().splitlines()) > 1
    for secret in SECRETS:
        assert secret not in page
        assert secret not in export


def test_the_csv_export_columns_carry_no_contact_fields() -> None:
    assert "contact_reference" in attempt_export.CSV_COLUMNS
    for column in attempt_export.CSV_COLUMNS:
        assert not {"name", "phone", "note", "notes", "recipient", "statement"} & set(
            column.split("_")
        )
