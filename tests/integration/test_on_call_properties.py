"""Property test (S8): whoever is on call, however often the scheduler runs and whoever claims
what, every duty to warn gets exactly one on-call notice; only the neutral text goes out, and
only to the on-call supervisor's own phone, never hers; one that cannot go out says why; and
the banner lists exactly the duties to warn nobody holds or has tried."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import Sms
from outreach.domain.protocols.loading import load_profiles
from outreach.domain.script_library import default_root, load_library
from outreach.models import Delivery, OutreachTask
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.delivery.outward import Outward
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling.claims import claim_task
from outreach.services.staff import users
from outreach.services.supervision import on_call, on_call_notice
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import World, report_event
from tests.fakes import RecordingChannel

PROFILES = load_profiles(PROTOCOLS_DIR)
LIBRARY = load_library(default_root())
SUPERVISOR_PHONE = "+14045550177"
NOTICE = "An urgent task is waiting for you. Please sign in now."
WHY = {"nobody": "no_on_call", "no_phone": "no_phone"}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    who=st.sampled_from(["nobody", "no_phone", "phone"]),
    claims=st.lists(st.booleans(), min_size=1, max_size=3),
    runs=st.integers(min_value=1, max_value=3),
)
def test_every_duty_to_warn_gets_one_neutral_notice_to_the_on_call_phone_alone(
    db: Session,
    vault: Vault,
    world: World,
    settings: Settings,
    who: str,
    claims: list[bool],
    runs: int,
) -> None:
    channel = RecordingChannel()
    out = Outward(channel, vault, LIBRARY, settings)
    supervisor = world.users["supervisor"]
    _put_on_call(db, vault, world, who)
    raised = [report_event(db, PROFILES, world, "duty_to_warn", now=NOW)[0] for _ in claims]
    for task, claimed in zip(raised, claims, strict=True):
        if claimed:
            claim_task(db, actor=world.actor("liaison"), task_id=task.id, now=NOW)
    for _ in range(runs):  # the tick and the two-second job, as often as they run
        jobs.notify_duty_to_warn(db, NOW)
        on_call_notice.send_due(db, out, NOW)

    notices = _notices(db)
    for task in _duties_to_warn(db):
        assert len(notices.get(task.id, [])) == 1  # exactly one, however often it ran
    for task in raised:
        [notice] = notices[task.id]
        if who == "phone":
            assert (notice.status, notice.recipient_id) == ("sent", supervisor.id)
        else:  # never dropped silently: refused, with the reason
            assert (notice.status, notice.error_code) == ("refused", WHY[who])
    texts = [s for s in channel.sent if isinstance(s, Sms)]
    assert len(texts) == (len(raised) if who == "phone" else 0)
    for text in texts:
        assert (text.contact_phone, text.body) == (SUPERVISOR_PHONE, NOTICE)
    banner = {w.task_id for w in on_call_notice.waiting(db, world.actor("supervisor"), NOW)}
    unclaimed = {t.id for t in _duties_to_warn(db) if t.claimed_by is None}
    assert banner == unclaimed


def _put_on_call(db: Session, vault: Vault, world: World, who: str) -> None:
    supervisor = world.users["supervisor"]
    named = None if who == "nobody" else supervisor.username
    on_call.set_on_call(db, program_key=world.home.key, username=named, now=NOW, actor=SYSTEM)
    if who == "phone":
        users.set_phone(
            db, vault, user_id=supervisor.id, phone=SUPERVISOR_PHONE, now=NOW, actor=SYSTEM
        )
    else:
        supervisor.phone_sealed = None
        db.commit()


def _duties_to_warn(db: Session) -> list[OutreachTask]:
    db.expire_all()
    return list(
        db.scalars(
            select(OutreachTask).where(
                OutreachTask.reason == "duty_to_warn", OutreachTask.status == "open"
            )
        )
    )


def _notices(db: Session) -> dict[object, list[Delivery]]:
    found: dict[object, list[Delivery]] = {}
    for notice in db.scalars(select(Delivery).where(Delivery.kind == "on_call_sms")):
        found.setdefault(notice.task_id, []).append(notice)
    return found
