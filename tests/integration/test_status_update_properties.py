"""Property: whatever she says about updates and contact, and whatever his events, no status
update opens for a contact who did not ask for them or who declined (issue 20 item 8; S1),
none opens on a channel she turned off or for a text after her STOP (S1, S2), and at most
one is open at a time.

seeds/001 Caminar Latino: "general updates on the abusive partner's attendance and progress"
(PRODUCT.md table, Georgia: "where she wants them").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.models import OutreachTask
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import her_word, preference_changes, preferences
from outreach.services.errors import ServiceError
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import Case, build_case, report_case_event

PROFILES: dict[str, Profile] = load_profiles(PROTOCOLS_DIR)
SAYS = (
    "asks for updates",
    "wants no more updates",
    "turns calls off",
    "turns calls on",
    "allows texts",
    "texts STOP",
    "consent recorded as not asked",
    "consents",
    "declines",
)
CHANGES: dict[str, dict[str, object]] = {
    "asks for updates": {"updates": True},
    "wants no more updates": {"updates": False},
    "turns calls off": {"voice": False},
    "turns calls on": {"voice": True},
    "allows texts": {"sms": True},
    "consent recorded as not asked": {"consent": "not_asked"},
    "consents": {"consent": "consented"},
}
HIS = ("absent", "progress_summary")
REACHED = "the liaison completes the open update"
STEPS = st.lists(st.sampled_from((*SAYS, *HIS, REACHED)), max_size=14)


@dataclass
class Her:
    """What she has said, as the rules read it."""

    wants: bool = False
    consented: bool = True
    declined: bool = False
    voice: bool = True
    sms: bool = False
    stopped: bool = False


def _says(db: Session, vault: Vault, case: Case, step: str, at: datetime) -> None:
    if step == "texts STOP":
        her_word.revoke_sms(
            db, actor=SYSTEM, contact_id=case.contact.id, now=at, source="sms_keyword"
        )
        db.commit()
        return
    if step == "declines":
        attempt_log.stop_all_contact(db, case.liaison, case.contact.id, at)
        db.commit()
        return
    changes: dict[str, object] = CHANGES[step]
    try:
        preference_changes.change_preferences(
            db, vault, PROFILES, actor=case.liaison, contact_id=case.contact.id,
            changes=changes, now=at, source="liaison",
        )  # fmt: skip
    except ServiceError:
        db.rollback()  # refused (a decline, a STOP): nothing written


def _move(her: Her, step: str) -> None:
    if step == "asks for updates" and not her.declined:
        her.wants = True
    elif step == "wants no more updates":
        her.wants = False
    elif step == "declines":
        her.wants, her.declined, her.sms = False, True, False
    elif step == "turns calls off":
        her.voice = False
    elif step == "turns calls on":
        her.voice = True
    elif step == "allows texts" and not her.stopped:
        her.sms = True
    elif step == "texts STOP":
        her.sms, her.stopped = False, True
    elif step == "consent recorded as not asked" and not her.declined:
        her.consented = False
    elif step == "consents" and not her.declined:
        her.consented = True


def _open_updates(db: Session, case: Case) -> list[OutreachTask]:
    return list(
        db.scalars(
            select(OutreachTask).where(
                OutreachTask.contact_id == case.contact.id,
                OutreachTask.reason == "status_update",
                OutreachTask.status == "open",
            )
        )
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_no_update_reaches_a_contact_who_did_not_ask_or_declined(
    db: Session, vault: Vault, steps: list[str]
) -> None:
    case = build_case(db, vault, now=NOW, protocol="georgia_fvip")
    report_case_event(db, PROFILES, case, "enrolled", at=NOW, now=NOW)
    her = Her()
    for n, step in enumerate(steps, start=1):
        at = NOW + timedelta(hours=n)
        if step in HIS:
            opened = report_case_event(db, PROFILES, case, step, at=at, now=at)
            if opened:
                assert her.wants, (n, step)
                assert her.consented, (n, step)
                assert not her.declined, (n, step)
                [update] = opened
                allowed = {"voice"} if her.voice else {"sms"} if her.sms else set()
                assert set(update.channels) == allowed, (n, step)
        elif step == REACHED:
            for task in _open_updates(db, case):
                _complete(db, vault, case, task, at)
        else:
            _says(db, vault, case, step, at)
            _move(her, step)
        prefs = preferences.current_preferences(db, case.contact.id)
        assert prefs.updates == her.wants, (n, step)
        still_open = _open_updates(db, case)
        assert len(still_open) <= 1, (n, step)
        if not her.wants or her.declined:
            assert still_open == [], (n, step)


def _complete(db: Session, vault: Vault, case: Case, task: OutreachTask, at: datetime) -> None:
    """A liaison reaches her safely on the channel the task allows, and closes it."""
    if task.channels != ["voice"]:
        return  # a text-only update is the service's own send (check_ins)
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=task.id, channel="voice", at=at,
        outcome="reached_safe", now=at,
    )  # fmt: skip
    closing.close_task(db, actor=case.liaison, task_id=task.id, resolution="completed", now=at)
