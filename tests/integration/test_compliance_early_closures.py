"""The dashboard's first figure (must be zero): tasks closed unreachable before the minimum."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.scheduling import queue
from outreach.services.supervision import compliance
from tests.conftest import NOW
from tests.factories import World, report_event

PROFILES = load_profiles(PROTOCOLS_DIR)


def test_only_a_closure_with_too_few_windows_is_listed(
    db: Session, vault: Vault, world: World
) -> None:
    early, proper = (
        report_event(db, PROFILES, world, "enrolled", now=NOW)[:1]
        + report_event(db, PROFILES, world, "terminated", now=NOW)[:1]
    )
    liaison = world.actor("liaison")
    for task, days in ((early, [0]), (proper, [0, 1])):
        for day in days:
            at = NOW + timedelta(days=day)
            attempt_log.record_attempt(
                db, vault, actor=liaison, task_id=task.id, channel="voice", at=at,
                outcome="no_answer", now=at,
            )  # fmt: skip
    # One closed properly through the service; the other as a record from before the S5 check.
    closing.close_task(
        db, actor=liaison, task_id=proper.id, resolution="unreachable", now=NOW + timedelta(days=2)
    )
    early.status = "unreachable"
    db.commit()
    found = compliance.compliance(db, actor=world.actor("supervisor"), now=NOW + timedelta(days=2))
    assert found.closed_too_early == [queue.reference(early.contact_id)]
